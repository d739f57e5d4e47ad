//! `templates`: the WIT operations onto `core::templates`, the edit history and the
//! template cache (the one the send pre-flight reads) in the tenant's buckets.

use super::bindings::exports::whatsapp::cloud_api::templates as wit;
use super::bindings::wasi::keyvalue::store::{self as kv, Bucket};
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::err;
use super::convert::storage;
use super::tenant::Tenant;
use super::{Component, now_secs};
use crate::core::templates::{self as t, Details, NewTemplate, library, lifecycle};
use crate::core::webhook::state::{self, CachedTemplate};
use crate::core::{listing, preflight};

type Result<T> = std::result::Result<T, Error>;

/// Where approved edits are counted (Unix seconds, JSON), by template id.
const EDITS_BUCKET: &str = "template-edits";

fn text(x: wit::TextWithExamples) -> t::TextWithExamples {
    t::TextWithExamples {
        text: x.text,
        examples: x.examples,
        named_examples: x.named_examples,
    }
}

fn header(h: wit::TemplateHeader) -> t::Header {
    match h {
        wit::TemplateHeader::Text(x) => t::Header::Text(text(x)),
        wit::TemplateHeader::Image(h) => t::Header::Image(h),
        wit::TemplateHeader::Video(h) => t::Header::Video(h),
        wit::TemplateHeader::Document(h) => t::Header::Document(h),
        wit::TemplateHeader::Location => t::Header::Location,
        wit::TemplateHeader::Product => t::Header::Product,
    }
}

fn button(b: wit::TemplateButton) -> t::Button {
    use wit::TemplateButton as B;
    match b {
        B::QuickReply(x) => t::Button::QuickReply(x),
        B::Url(u) => t::Button::Url {
            text: u.text,
            url: u.url,
            example: u.example,
        },
        B::PhoneNumber(p) => t::Button::PhoneNumber {
            text: p.text,
            phone_number: p.phone_number,
        },
        B::CopyCode(x) => t::Button::CopyCode(x),
        B::Otp(o) => t::Button::Otp {
            otp_type: o.otp_type,
            text: o.text,
            autofill_text: o.autofill_text,
            zero_tap_terms_accepted: o.zero_tap_terms_accepted,
            supported_apps: o
                .supported_apps
                .into_iter()
                .map(|a| t::SupportedApp {
                    package_name: a.package_name,
                    signature_hash: a.signature_hash,
                })
                .collect(),
        },
        B::Flow(f) => t::Button::Flow {
            text: f.text,
            flow_id: f.flow_id,
            flow_name: f.flow_name,
            flow_json: f.flow_json,
            flow_action: f.flow_action,
            navigate_screen: f.navigate_screen,
        },
        B::Catalog(x) => t::Button::Catalog(x),
        B::Mpm(x) => t::Button::Mpm(x),
        B::Spm(x) => t::Button::Spm(x),
    }
}

fn category(c: wit::TemplateCategory) -> t::Category {
    match c {
        wit::TemplateCategory::Marketing => t::Category::Marketing,
        wit::TemplateCategory::Utility => t::Category::Utility,
        wit::TemplateCategory::Authentication => t::Category::Authentication,
    }
}

fn new_template(n: wit::NewTemplate) -> NewTemplate {
    NewTemplate {
        name: n.name,
        language: n.language,
        category: category(n.category),
        named_parameters: n.named_parameters,
        message_send_ttl_seconds: n.message_send_ttl_seconds,
        header: n.header.map(header),
        limited_time_offer: n.limited_time_offer.map(|o| t::LimitedTimeOffer {
            text: o.text,
            has_expiration: o.has_expiration,
        }),
        body: n.body.map(|b| t::Body {
            text: b.text.map(text),
            add_security_recommendation: b.add_security_recommendation,
        }),
        footer: n.footer.map(|f| t::Footer {
            text: f.text,
            code_expiration_minutes: f.code_expiration_minutes,
        }),
        buttons: n.buttons.into_iter().map(button).collect(),
        carousel: n
            .carousel
            .into_iter()
            .map(|c| t::Card {
                header: header(c.header),
                body: c.body.map(text),
                buttons: c.buttons.into_iter().map(button).collect(),
            })
            .collect(),
    }
}

fn from_json(json: &str) -> Result<NewTemplate> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        err(crate::core::Error::invalid(
            "json",
            format!("not JSON: {e}"),
        ))
    })?;
    NewTemplate::from_json(&v).map_err(err)
}

fn cached(d: &Details) -> CachedTemplate {
    CachedTemplate {
        id: d.id.clone(),
        status: Some(d.status.clone()).filter(|s| !s.is_empty()),
        category: Some(d.category.clone()).filter(|s| !s.is_empty()),
        quality: d
            .quality_score
            .as_ref()
            .and_then(|q| q["score"].as_str())
            .map(str::to_string),
        definition: Some(preflight::definition(&d.json())),
        // Meta's clock times webhooks, not ours: any later update applies over this.
        updated_at: 0,
    }
}

fn put(bucket: &Bucket, key: &str, value: &impl serde::Serialize) -> Result<()> {
    bucket
        .set(key, &crate::core::encoding::json_bytes(value))
        .map_err(storage)
}

fn get_details(tenant: &Tenant, id: &str) -> Result<Details> {
    let req = t::get_request(&tenant.settings, id).map_err(err)?;
    let (status, body) = tenant.call(&req)?;
    t::read_details(status, &body).map_err(err)
}

fn create(tenant: &Tenant, n: NewTemplate) -> Result<wit::CreatedTemplate> {
    let req = t::create_request(&tenant.settings, &n).map_err(err)?;
    let (status, body) = tenant.call(&req)?;
    let c = t::read_created(status, &body).map_err(err)?;
    let definition = Some(preflight::definition(&n.to_json()));
    remember_created(&n.name, &n.language, c, definition)
}

/// Cache a created template at once, so that the pre-flight (and the send's route) knows
/// it before any webhook says more.
fn remember_created(
    name: &str,
    language: &str,
    c: t::Created,
    definition: Option<preflight::TemplateDefinition>,
) -> Result<wit::CreatedTemplate> {
    let templates = kv::open(state::TEMPLATES_BUCKET).map_err(storage)?;
    let entry = CachedTemplate {
        id: c.id.clone(),
        status: Some(c.status.clone()).filter(|s| !s.is_empty()),
        category: Some(c.category.clone()).filter(|s| !s.is_empty()),
        quality: None,
        definition,
        updated_at: 0,
    };
    put(&templates, &state::template_key(name, language), &entry)?;
    Ok(wit::CreatedTemplate {
        id: c.id,
        status: c.status,
        category: c.category,
    })
}

fn edit(tenant: &Tenant, id: &str, n: NewTemplate) -> Result<()> {
    let current = get_details(tenant, id)?;
    let edits = kv::open(EDITS_BUCKET).map_err(storage)?;
    let mut history: Vec<u64> = edits
        .get(id)
        .map_err(storage)?
        .and_then(|v| serde_json::from_slice(&v).ok())
        .unwrap_or_default();
    let now = now_secs();
    t::check_edit(&current, Some(n.category), &history, now).map_err(err)?;
    let req = t::edit_request(&tenant.settings, id, &current, &n).map_err(err)?;
    let (status, body) = tenant.call(&req)?;
    t::read_success(status, &body).map_err(err)?;
    // The pre-flight checks sends against the new components from now on.
    let templates = kv::open(state::TEMPLATES_BUCKET).map_err(storage)?;
    let key = state::template_key(&current.name, &current.language);
    let mut entry: CachedTemplate = templates
        .get(&key)
        .map_err(storage)?
        .and_then(|v| serde_json::from_slice(&v).ok())
        .unwrap_or_else(|| cached(&current));
    entry.definition = Some(preflight::definition(&n.to_json()));
    put(&templates, &key, &entry)?;
    if current.status.eq_ignore_ascii_case("APPROVED") {
        // Only what the last 30 days can still count is kept.
        history.retain(|&s| now.saturating_sub(s) < t::limits::EDIT_WINDOW_SECS);
        history.push(now);
        put(&edits, id, &history)?;
    }
    Ok(())
}

impl wit::Guest for Component {
    fn list(query: wit::ListQuery) -> Result<wit::TemplatePage> {
        let tenant = Tenant::bind();
        let q = listing::TemplateQuery {
            name: query.name,
            status: query.status,
            category: query.category,
            language: query.language,
            limit: query.limit,
            after: query.after,
        };
        let req = listing::list_templates_request(&tenant.settings, &q).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let page = listing::read_templates(status, &body).map_err(err)?;
        Ok(wit::TemplatePage {
            templates: page
                .items
                .into_iter()
                .map(|t| wit::TemplateSummary {
                    id: t.id,
                    name: t.name,
                    language: t.language,
                    status: t.status,
                    category: t.category,
                })
                .collect(),
            next: page.next,
        })
    }

    fn create(template: wit::NewTemplate) -> Result<wit::CreatedTemplate> {
        create(&Tenant::bind(), new_template(template))
    }

    fn create_json(json: String) -> Result<wit::CreatedTemplate> {
        create(&Tenant::bind(), from_json(&json)?)
    }

    fn get(template_id: String) -> Result<wit::TemplateDetails> {
        let d = get_details(&Tenant::bind(), &template_id)?;
        Ok(wit::TemplateDetails {
            components_json: d.components.to_string(),
            id: d.id,
            name: d.name,
            language: d.language,
            status: d.status,
            category: d.category,
            parameter_format: d.parameter_format,
            rejected_reason: d.rejected_reason,
        })
    }

    fn edit(template_id: String, template: wit::NewTemplate) -> Result<()> {
        edit(&Tenant::bind(), &template_id, new_template(template))
    }

    fn edit_json(template_id: String, json: String) -> Result<()> {
        edit(&Tenant::bind(), &template_id, from_json(&json)?)
    }

    fn delete(name: String, template_id: Option<String>) -> Result<()> {
        let tenant = Tenant::bind();
        let req =
            t::delete_request(&tenant.settings, &name, template_id.as_deref()).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        t::read_success(status, &body).map_err(err)?;
        // Out of the cache too: every language of the name, or the one template.
        let templates = kv::open(state::TEMPLATES_BUCKET).map_err(storage)?;
        for key in keys(&templates)? {
            if !key.starts_with(&format!("{name}:")) {
                continue;
            }
            let gone = match &template_id {
                None => true,
                Some(id) => templates
                    .get(&key)
                    .map_err(storage)?
                    .and_then(|v| serde_json::from_slice::<CachedTemplate>(&v).ok())
                    .is_some_and(|c| &c.id == id),
            };
            if gone {
                templates.delete(&key).map_err(storage)?;
            }
        }
        Ok(())
    }

    fn sync() -> Result<wit::SyncReport> {
        let tenant = Tenant::bind();
        let templates = kv::open(state::TEMPLATES_BUCKET).map_err(storage)?;
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let req = t::sync_page_request(&tenant.settings, after.as_deref()).map_err(err)?;
            let (status, body) = tenant.call(&req)?;
            let page = t::read_sync_page(status, &body).map_err(err)?;
            for d in &page.items {
                let key = state::template_key(&d.name, &d.language);
                put(&templates, &key, &cached(d))?;
                seen.push(key);
            }
            match page.next {
                Some(n) if !page.items.is_empty() => after = Some(n),
                _ => break,
            }
        }
        let mut removed = 0;
        for key in keys(&templates)? {
            if !seen.contains(&key) {
                templates.delete(&key).map_err(storage)?;
                removed += 1;
            }
        }
        // The readiness checklist's "templates synced".
        super::readiness::mark_templates_synced()?;
        Ok(wit::SyncReport {
            templates: seen.len() as u32,
            removed,
        })
    }

    fn library(query: wit::LibraryQuery) -> Result<wit::LibraryPage> {
        let tenant = Tenant::bind();
        let q = library::Query {
            search: query.search,
            topic: query.topic,
            usecase: query.usecase,
            industry: query.industry,
            language: query.language,
            after: query.after,
        };
        let (status, body) =
            tenant.call(&library::list_request(&tenant.settings, &q).map_err(err)?)?;
        let (entries, next) = library::read_page(status, &body).map_err(err)?;
        Ok(wit::LibraryPage {
            templates: entries
                .into_iter()
                .map(|e| wit::LibraryTemplate {
                    name: e.name,
                    language: e.language,
                    category: e.category,
                    topic: e.topic,
                    usecase: e.usecase,
                    body: e.body,
                    json: e.json,
                })
                .collect(),
            next,
        })
    }

    fn create_from_library(template: wit::FromLibrary) -> Result<wit::CreatedTemplate> {
        let tenant = Tenant::bind();
        let wanted = library::FromLibrary {
            name: template.name,
            language: template.language,
            category: category(template.category),
            library_name: template.library_template_name,
            buttons: template
                .buttons
                .into_iter()
                .map(|b| match b {
                    wit::LibraryButton::Url(u) => {
                        library::ButtonInput::Url(u.base_url, u.url_suffix_example)
                    }
                    wit::LibraryButton::PhoneNumber(n) => library::ButtonInput::PhoneNumber(n),
                    wit::LibraryButton::Otp(o) => {
                        library::ButtonInput::Otp(button(wit::TemplateButton::Otp(o)))
                    }
                })
                .collect(),
            body: template.body.map(|b| library::BodyInputs {
                add_contact_number: b.add_contact_number,
                add_learn_more_link: b.add_learn_more_link,
                add_security_recommendation: b.add_security_recommendation,
                add_track_package_link: b.add_track_package_link,
                code_expiration_minutes: b.code_expiration_minutes,
            }),
        };
        let req = library::create_request(&tenant.settings, &wanted).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let c = t::read_created(status, &body).map_err(err)?;
        remember_created(&wanted.name, &wanted.language, c, None)
    }

    fn compare(
        template_id: String,
        other_id: String,
        start: u64,
        end: u64,
    ) -> Result<wit::Comparison> {
        let tenant = Tenant::bind();
        let req = lifecycle::compare_request(&tenant.settings, &template_id, &other_id, start, end)
            .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let c = lifecycle::read_comparison(status, &body).map_err(err)?;
        Ok(wit::Comparison {
            by_block_rate: c.by_block_rate,
            sends: c.sends,
            top_block_reasons: c.top_block_reasons,
        })
    }

    fn unpause(template_id: String) -> Result<()> {
        let tenant = Tenant::bind();
        let req = lifecycle::unpause_request(&tenant.settings, &template_id).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        lifecycle::read_unpause(status, &body).map_err(err)
    }

    fn upsert_authentication(
        template: wit::AuthenticationTemplate,
    ) -> Result<Vec<wit::UpsertedTemplate>> {
        let tenant = Tenant::bind();
        let languages = template.languages;
        let wanted = NewTemplate {
            name: template.name,
            language: String::new(),
            category: t::Category::Authentication,
            named_parameters: false,
            message_send_ttl_seconds: template.message_send_ttl_seconds,
            header: None,
            limited_time_offer: None,
            body: Some(t::Body {
                text: None,
                add_security_recommendation: Some(template.add_security_recommendation),
            }),
            footer: template.code_expiration_minutes.map(|m| t::Footer {
                text: None,
                code_expiration_minutes: Some(m),
            }),
            buttons: vec![button(wit::TemplateButton::Otp(template.otp))],
            carousel: Vec::new(),
        };
        let req = lifecycle::upsert_request(&tenant.settings, &wanted, &languages).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        Ok(lifecycle::read_upserted(status, &body)
            .map_err(err)?
            .into_iter()
            .map(|(id, language, status)| wit::UpsertedTemplate {
                id,
                language,
                status,
            })
            .collect())
    }

    fn migrate(source_waba_id: String, page: Option<u32>) -> Result<wit::TemplateMigration> {
        let tenant = Tenant::bind();
        let req =
            lifecycle::migrate_request(&tenant.settings, &source_waba_id, page).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let m = lifecycle::read_migration(status, &body).map_err(err)?;
        Ok(wit::TemplateMigration {
            migrated: m.migrated,
            failed: m.failed,
        })
    }
}

/// Every key of a bucket.
fn keys(bucket: &Bucket) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let r = bucket.list_keys(cursor).map_err(storage)?;
        out.extend(r.keys);
        match r.cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}
