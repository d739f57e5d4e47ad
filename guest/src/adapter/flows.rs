//! `flows`: the WIT operations onto `core::flows`; data exchange through the host's
//! `crypto` (the flow private key is opened there, never here).

use super::Component;
use super::bindings::exports::whatsapp::cloud_api::flows as wit;
use super::bindings::wasi::keyvalue::store as kv;
use super::bindings::whatsapp::cloud_api::crypto;
use super::bindings::whatsapp::cloud_api::types::Error;
use super::convert::err;
use super::convert::storage;
use super::tenant::{SECRETS_BUCKET, Tenant};
use crate::core::flows::{self as f, ValidationError};
use crate::core::{encoding, listing};

type Result<T> = std::result::Result<T, Error>;

/// The key of the tenant's sealed flow private key in its `secrets` bucket.
pub const FLOW_PRIVATE_KEY: &str = "flow-private-key";

fn validation(e: ValidationError) -> wit::FlowValidationError {
    wit::FlowValidationError {
        error: e.error,
        error_type: e.error_type,
        message: e.message,
        line_start: e.line_start,
        line_end: e.line_end,
        column_start: e.column_start,
        column_end: e.column_end,
    }
}

fn details(tenant: &Tenant, id: &str) -> Result<f::Details> {
    let req = f::get_request(&tenant.settings, id).map_err(err)?;
    let (status, body) = tenant.call(&req)?;
    f::read_details(status, &body).map_err(err)
}

fn success(tenant: &Tenant, req: crate::core::graph::Request) -> Result<()> {
    let (status, body) = tenant.call(&req)?;
    crate::core::messages::read_success(status, &body).map_err(err)
}

impl wit::Guest for Component {
    fn list(after: Option<String>) -> Result<wit::FlowPage> {
        let tenant = Tenant::bind();
        let req = listing::list_flows_request(&tenant.settings, after.as_deref()).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let page = listing::read_flows(status, &body).map_err(err)?;
        Ok(wit::FlowPage {
            flows: page
                .items
                .into_iter()
                .map(|f| wit::FlowSummary {
                    id: f.id,
                    name: f.name,
                    status: f.status,
                    categories: f.categories,
                })
                .collect(),
            next: page.next,
        })
    }

    fn create(flow: wit::NewFlow) -> Result<String> {
        let tenant = Tenant::bind();
        let req = f::create_request(
            &tenant.settings,
            &flow.name,
            &flow.categories,
            flow.clone_flow_id.as_deref(),
            &flow.endpoint_uri,
        )
        .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        f::read_id(status, &body).map_err(err)
    }

    fn get(flow_id: String) -> Result<wit::FlowDetails> {
        let d = details(&Tenant::bind(), &flow_id)?;
        Ok(wit::FlowDetails {
            id: d.id,
            name: d.name,
            status: d.status,
            categories: d.categories,
            validation_errors: d.validation_errors.into_iter().map(validation).collect(),
            json_version: d.json_version,
            endpoint_uri: d.endpoint_uri,
        })
    }

    fn update(flow_id: String, update: wit::FlowUpdate) -> Result<()> {
        let tenant = Tenant::bind();
        let req = f::update_request(
            &tenant.settings,
            &flow_id,
            &update.name,
            &update.categories,
            &update.endpoint_uri,
        )
        .map_err(err)?;
        success(&tenant, req)
    }

    fn upload_json(flow_id: String, flow_json: String) -> Result<wit::AssetResult> {
        let tenant = Tenant::bind();
        let req = f::upload_json_request(&tenant.settings, &flow_id, &flow_json).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let (ok, errors) = f::read_asset(status, &body).map_err(err)?;
        Ok(wit::AssetResult {
            success: ok,
            validation_errors: errors.into_iter().map(validation).collect(),
        })
    }

    fn publish(flow_id: String) -> Result<()> {
        let tenant = Tenant::bind();
        let req = f::transition_request(&tenant.settings, &flow_id, "publish").map_err(err)?;
        success(&tenant, req)
    }

    fn deprecate(flow_id: String) -> Result<()> {
        let tenant = Tenant::bind();
        let req = f::transition_request(&tenant.settings, &flow_id, "deprecate").map_err(err)?;
        success(&tenant, req)
    }

    fn delete(flow_id: String) -> Result<()> {
        let tenant = Tenant::bind();
        let current = details(&tenant, &flow_id)?;
        let req = f::delete_request(&tenant.settings, &current).map_err(err)?;
        success(&tenant, req)
    }

    fn preview(flow_id: String, invalidate: bool) -> Result<wit::FlowPreview> {
        let tenant = Tenant::bind();
        let req = f::preview_request(&tenant.settings, &flow_id, invalidate).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let p = f::read_preview(status, &body).map_err(err)?;
        Ok(wit::FlowPreview {
            url: p.preview_url,
            expires_at: p.expires_at,
        })
    }

    fn set_public_key(phone_number_id: Option<String>, pem: String) -> Result<()> {
        let tenant = Tenant::on(phone_number_id)?;
        let req = f::set_public_key_request(&tenant.settings, &pem).map_err(err)?;
        success(&tenant, req)
    }

    fn get_public_key(phone_number_id: Option<String>) -> Result<Option<wit::PublicKey>> {
        let tenant = Tenant::on(phone_number_id)?;
        let req = f::get_public_key_request(&tenant.settings).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        Ok(f::read_public_key(status, &body)
            .map_err(err)?
            .map(|k| wit::PublicKey {
                pem: k.pem,
                signature_status: k.signature_status,
            }))
    }

    fn download_json(flow_id: String) -> Result<String> {
        let tenant = Tenant::bind();
        let req = f::assets_request(&tenant.settings, &flow_id).map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let download = f::read_flow_json_asset(&tenant.settings, status, &body).map_err(err)?;
        let (status, body) = tenant.call(&download)?;
        f::read_flow_json(status, body).map_err(err)
    }

    fn metrics(flow_id: String, query: wit::MetricQuery) -> Result<Vec<wit::MetricPoint>> {
        use wit::{FlowMetric as M, MetricGranularity as G};
        let tenant = Tenant::bind();
        let metric = match query.metric {
            M::EndpointRequestCount => "ENDPOINT_REQUEST_COUNT",
            M::EndpointRequestError => "ENDPOINT_REQUEST_ERROR",
            M::EndpointRequestErrorRate => "ENDPOINT_REQUEST_ERROR_RATE",
            M::EndpointRequestLatencySecondsCeil => "ENDPOINT_REQUEST_LATENCY_SECONDS_CEIL",
            M::EndpointAvailability => "ENDPOINT_AVAILABILITY",
        };
        let granularity = match query.granularity {
            G::Day => "DAY",
            G::Hour => "HOUR",
            G::Lifetime => "LIFETIME",
        };
        let req = f::metric_request(
            &tenant.settings,
            &flow_id,
            metric,
            granularity,
            query.since.as_deref(),
            query.until.as_deref(),
        )
        .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        Ok(f::read_metric(status, &body)
            .map_err(err)?
            .into_iter()
            .map(|p| wit::MetricPoint {
                timestamp: p.timestamp,
                values: p
                    .values
                    .into_iter()
                    .map(|(key, value)| wit::MetricValue { key, value })
                    .collect(),
            })
            .collect())
    }

    fn migrate(source_waba_id: String, flow_names: Option<Vec<String>>) -> Result<wit::Migration> {
        let tenant = Tenant::bind();
        let req = f::migrate_request(&tenant.settings, &source_waba_id, flow_names.as_deref())
            .map_err(err)?;
        let (status, body) = tenant.call(&req)?;
        let m = f::read_migration(status, &body).map_err(err)?;
        Ok(wit::Migration {
            migrated: m
                .migrated
                .into_iter()
                .map(|f| wit::MigratedFlow {
                    source_name: f.source_name,
                    source_id: f.source_id,
                    migrated_id: f.migrated_id,
                })
                .collect(),
            failed: m
                .failed
                .into_iter()
                .map(|f| wit::FailedMigration {
                    source_name: f.source_name,
                    error_code: f.error_code,
                    error_message: f.error_message,
                })
                .collect(),
        })
    }

    fn decrypt_request(
        body: Vec<u8>,
        signature_header: Option<String>,
    ) -> Result<wit::FlowExchange> {
        // Only Meta, holding the app secret, may make the host spend an RSA decryption.
        Tenant::bind().verify_signature(&body, signature_header.as_deref())?;
        let e = f::exchange_envelope(&body).map_err(err)?;
        let sealed = kv::open(SECRETS_BUCKET)
            .and_then(|b| b.get(FLOW_PRIVATE_KEY))
            .map_err(storage)?
            .ok_or_else(|| {
                Error::not_configured(
                    "the tenant has no flow private key (wa-host flows keygen)".into(),
                )
            })?;
        let opened = crypto::flow_decrypt(&sealed, &e.encrypted_aes_key, &e.iv, &e.encrypted_data)
            .map_err(|e| {
            Error::bad_signature(format!(
                "the request does not decrypt with this tenant's flow key ({}): answer HTTP 421",
                e.name()
            ))
        })?;
        let request_json = String::from_utf8(opened.data)
            .map_err(|_| Error::bad_signature("the decrypted request is not text".into()))?;
        Ok(wit::FlowExchange {
            request_json,
            aes_key: opened.aes_key,
            iv: e.iv,
        })
    }

    fn encrypt_response(exchange: wit::FlowExchange, response_json: String) -> Result<String> {
        serde_json::from_str::<serde_json::Value>(&response_json).map_err(|e| {
            err(crate::core::Error::invalid(
                "response-json",
                format!("not JSON: {e}"),
            ))
        })?;
        let sealed =
            crypto::flow_encrypt(&exchange.aes_key, &exchange.iv, response_json.as_bytes())
                .map_err(|e| {
                    Error::other(format!(
                        "the response could not be encrypted ({})",
                        e.name()
                    ))
                })?;
        Ok(encoding::base64(&sealed))
    }
}
