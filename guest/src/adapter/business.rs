//! `business`: the WIT operations onto `core::business`, each for the number the tenant
//! sends from (its default, or another of its own, checked).

use super::Component;
use super::bindings::exports::whatsapp::cloud_api::business as wit;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::buckets;
use super::convert::{err, storage};
use super::tenant::Tenant;
use crate::core::business::{
    automation as a, catalogs, commerce, number_settings as ns, picture, qr_codes as qr,
};
use crate::core::connection::CONNECTION_BUCKET;
use crate::core::graph::Request;
use crate::core::marketing as mm;
use crate::core::messages::read_success;

type Result<T> = std::result::Result<T, Error>;

/// The WABA's Marketing Messages onboarding status: remembered for an hour
/// (`core::marketing`), or read from Meta (always when `fresh`) and remembered.
fn marketing_status(t: &Tenant, fresh: bool) -> Result<String> {
    let now = super::now_secs();
    let kept = buckets::with(CONNECTION_BUCKET, |b| b.get(mm::STATUS_KEY))?.map_err(storage)?;
    if !fresh
        && let Some(status) = kept
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| mm::remembered(v, now))
    {
        return Ok(status.to_string());
    }
    let (status, body) = t.call(&mm::status_request(&t.settings).map_err(err)?)?;
    let got = mm::read_status(status, &body).map_err(err)?;
    let value = mm::remember(&got, now);
    buckets::with(CONNECTION_BUCKET, |b| {
        b.set(mm::STATUS_KEY, value.as_bytes())
    })?
    .map_err(storage)?;
    Ok(got)
}

/// A send's request, moved to `/marketing_messages` when `core::marketing` says so. When
/// the status cannot be read, the send goes through `/messages`, as without MM Lite.
pub(super) fn route_marketing(t: &Tenant, req: Request, category: Option<&str>) -> Request {
    if !mm::candidate(&t.settings, category) {
        return req;
    }
    let status = marketing_status(t, false).ok();
    if mm::use_lite(&t.settings, category, status.as_deref()) {
        mm::to_lite(req)
    } else {
        req
    }
}

fn success(t: &Tenant, req: Request) -> Result<()> {
    let (status, body) = t.call(&req)?;
    read_success(status, &body).map_err(err)
}

fn qr_code(c: qr::QrCode) -> wit::QrCode {
    wit::QrCode {
        code: c.code,
        prefilled_message: c.prefilled_message,
        deep_link_url: c.deep_link_url,
        image_url: c.image_url,
    }
}

fn png(f: Option<wit::QrImageFormat>) -> Option<bool> {
    f.map(|f| matches!(f, wit::QrImageFormat::Png))
}

impl wit::Guest for Component {
    fn get_automation(phone_number_id: Option<String>) -> Result<wit::Automation> {
        let t = Tenant::on(phone_number_id)?;
        let (status, body) = t.call(&a::get_request(&t.settings).map_err(err)?)?;
        let got = a::read(status, &body).map_err(err)?;
        Ok(wit::Automation {
            welcome_message: got.welcome_message,
            prompts: got.prompts,
            commands: got
                .commands
                .into_iter()
                .map(|c| wit::BotCommand {
                    name: c.name,
                    description: c.description,
                })
                .collect(),
        })
    }

    fn set_automation(phone_number_id: Option<String>, automation: wit::Automation) -> Result<()> {
        let t = Tenant::on(phone_number_id)?;
        let wanted = a::Automation {
            welcome_message: automation.welcome_message,
            prompts: automation.prompts,
            commands: automation
                .commands
                .into_iter()
                .map(|c| a::Command {
                    name: c.name,
                    description: c.description,
                })
                .collect(),
        };
        success(&t, a::set_request(&t.settings, &wanted).map_err(err)?)
    }

    fn create_qr_code(
        phone_number_id: Option<String>,
        prefilled_message: String,
        image: Option<wit::QrImageFormat>,
    ) -> Result<wit::QrCode> {
        let t = Tenant::on(phone_number_id)?;
        let req = qr::create_request(&t.settings, &prefilled_message, png(image)).map_err(err)?;
        let (status, body) = t.call(&req)?;
        qr::read_one(status, &body).map(qr_code).map_err(err)
    }

    fn update_qr_code(
        phone_number_id: Option<String>,
        code: String,
        prefilled_message: String,
    ) -> Result<wit::QrCode> {
        let t = Tenant::on(phone_number_id)?;
        let req = qr::update_request(&t.settings, &code, &prefilled_message).map_err(err)?;
        let (status, body) = t.call(&req)?;
        qr::read_one(status, &body).map(qr_code).map_err(err)
    }

    fn list_qr_codes(
        phone_number_id: Option<String>,
        image: Option<wit::QrImageFormat>,
        after: Option<String>,
    ) -> Result<wit::QrPage> {
        let t = Tenant::on(phone_number_id)?;
        let req = qr::list_request(&t.settings, png(image), after.as_deref()).map_err(err)?;
        let (status, body) = t.call(&req)?;
        let (codes, next) = qr::read_page(status, &body).map_err(err)?;
        Ok(wit::QrPage {
            codes: codes.into_iter().map(qr_code).collect(),
            next,
        })
    }

    fn delete_qr_code(phone_number_id: Option<String>, code: String) -> Result<()> {
        let t = Tenant::on(phone_number_id)?;
        success(&t, qr::delete_request(&t.settings, &code).map_err(err)?)
    }

    fn get_commerce_settings(phone_number_id: Option<String>) -> Result<wit::CommerceSettings> {
        let t = Tenant::on(phone_number_id)?;
        let (status, body) = t.call(&commerce::get_request(&t.settings).map_err(err)?)?;
        let c = commerce::read(status, &body).map_err(err)?;
        Ok(wit::CommerceSettings {
            cart_enabled: c.cart_enabled,
            catalog_visible: c.catalog_visible,
        })
    }

    fn set_commerce_settings(
        phone_number_id: Option<String>,
        settings: wit::CommerceSettings,
    ) -> Result<()> {
        let t = Tenant::on(phone_number_id)?;
        let c = commerce::Commerce {
            cart_enabled: settings.cart_enabled,
            catalog_visible: settings.catalog_visible,
        };
        success(&t, commerce::set_request(&t.settings, c).map_err(err)?)
    }

    fn get_number_settings(phone_number_id: Option<String>) -> Result<wit::NumberSettings> {
        let t = Tenant::on(phone_number_id)?;
        let (status, body) = t.call(&ns::get_request(&t.settings).map_err(err)?)?;
        let n = ns::read(status, &body).map_err(err)?;
        Ok(wit::NumberSettings {
            calling_enabled: n.calling_enabled,
            call_icon_visible: n.call_icon_visible,
            callback_permission: n.callback_permission,
            storage_localized: n.storage_localized,
            storage_region: n.storage_region,
        })
    }

    fn set_calling(
        phone_number_id: Option<String>,
        enabled: bool,
        icon_visible: Option<bool>,
        callback_permission: Option<bool>,
    ) -> Result<()> {
        let t = Tenant::on(phone_number_id)?;
        let req = ns::calling_request(&t.settings, enabled, icon_visible, callback_permission)
            .map_err(err)?;
        success(&t, req)
    }

    fn set_storage(phone_number_id: Option<String>, region: Option<String>) -> Result<()> {
        let t = Tenant::on(phone_number_id)?;
        success(
            &t,
            ns::storage_request(&t.settings, region.as_deref()).map_err(err)?,
        )
    }

    fn profile_picture(phone_number_id: Option<String>) -> Result<Option<wit::Picture>> {
        let t = Tenant::on(phone_number_id)?;
        let (status, body) = t.call(&picture::url_request(&t.settings).map_err(err)?)?;
        let Some(download) = picture::read_url(&t.settings, status, &body).map_err(err)? else {
            return Ok(None);
        };
        let (status, body) = t.call(&download)?;
        let (mime_type, data) = picture::read_picture(status, body).map_err(err)?;
        Ok(Some(wit::Picture { mime_type, data }))
    }

    fn catalogs() -> Result<Vec<wit::CatalogSummary>> {
        let t = Tenant::bind();
        let (status, body) = t.call(&catalogs::list_request(&t.settings).map_err(err)?)?;
        Ok(catalogs::read(status, &body)
            .map_err(err)?
            .into_iter()
            .map(|c| wit::CatalogSummary {
                id: c.id,
                name: c.name,
            })
            .collect())
    }

    fn marketing_messages_status() -> Result<String> {
        marketing_status(&Tenant::bind(), true)
    }
}
