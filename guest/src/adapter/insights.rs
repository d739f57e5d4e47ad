//! `insights`: the WIT operations onto `core::insights`.

use super::Component;
use super::bindings::exports::whatsapp::cloud_api::insights as wit;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::err;
use super::tenant::Tenant;
use crate::core::insights::{self as i, Usage};
use crate::core::messages::read_success;

type Result<T> = std::result::Result<T, Error>;

fn usage(which: Usage, q: wit::UsageQuery) -> Result<Vec<wit::Usage>> {
    let t = Tenant::bind();
    let query = i::UsageQuery {
        start: q.start,
        end: q.end,
        granularity: match q.granularity {
            wit::Granularity::HalfHour => i::Granularity::HalfHour,
            wit::Granularity::Daily => i::Granularity::Daily,
            wit::Granularity::Monthly => i::Granularity::Monthly,
        },
        phone_numbers: q.phone_numbers,
        country_codes: q.country_codes,
    };
    let (status, body) = t.call(&i::usage_request(&t.settings, which, &query).map_err(err)?)?;
    Ok(i::read_usage(which, status, &body)
        .map_err(err)?
        .into_iter()
        .map(|p| wit::Usage {
            start: p.start,
            end: p.end,
            phone_number: p.phone_number,
            country: p.country,
            category: p.category,
            kind: p.kind,
            count: p.count,
            cost: p.cost,
        })
        .collect())
}

impl wit::Guest for Component {
    fn enable_template_analytics() -> Result<()> {
        let t = Tenant::bind();
        let (status, body) = t.call(&i::enable_request(&t.settings).map_err(err)?)?;
        read_success(status, &body).map_err(err)
    }

    fn template_analytics(
        template_ids: Vec<String>,
        start: u64,
        end: u64,
        after: Option<String>,
    ) -> Result<wit::TemplateAnalyticsPage> {
        let t = Tenant::bind();
        let req = i::template_request(&t.settings, &template_ids, start, end, after.as_deref())
            .map_err(err)?;
        let (status, body) = t.call(&req)?;
        let (days, next) = i::read_templates(status, &body).map_err(err)?;
        Ok(wit::TemplateAnalyticsPage {
            days: days
                .into_iter()
                .map(|d| wit::TemplateDay {
                    template_id: d.template_id,
                    start: d.start,
                    end: d.end,
                    sent: d.sent,
                    delivered: d.delivered,
                    read: d.read,
                    clicked: d
                        .clicked
                        .into_iter()
                        .map(|c| wit::ButtonClicks {
                            button: c.button,
                            kind: c.kind,
                            count: c.count,
                        })
                        .collect(),
                    cost: d.cost,
                })
                .collect(),
            next,
        })
    }

    fn pricing(query: wit::UsageQuery) -> Result<Vec<wit::Usage>> {
        usage(Usage::Pricing, query)
    }

    fn conversations(query: wit::UsageQuery) -> Result<Vec<wit::Usage>> {
        usage(Usage::Conversations, query)
    }
}
