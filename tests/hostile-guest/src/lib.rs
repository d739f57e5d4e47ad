//! A component of world `plugin` that misbehaves on purpose, for the host's tests
//! (`tests/hostile.rs`). `webhooks.parse(body)` does what the body says:
//!
//! - `loop`: spins forever (the epoch deadline must stop it);
//! - `grow`: allocates until memory runs out (the tenant's memory cap must stop it);
//! - `flood-http` / `flood-kv`: creates `wasi:http` fields or opens key-value buckets
//!   without ever dropping them (the resource-table cap must stop it);
//! - anything else: returns no events.
//!
//! `connection.info` answers normally, so the same component also serves well-behaved
//! tenants. Every other export refuses with `not-configured`.
#![cfg(target_arch = "wasm32")]

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "plugin",
        generate_all,
    });
}

use bindings::exports::whatsapp::cloud_api::{
    business, calling, catalog, connection, flows, groups, insights, media, messages, templates,
    webhooks,
};
use bindings::wasi::config::store as config;
use bindings::wasi::http::types::Fields;
use bindings::wasi::keyvalue::store as kv;
use bindings::whatsapp::cloud_api::types::{Error, ErrorKind, SendResult};

struct Hostile;
bindings::export!(Hostile with_types_in bindings);

type Result<T> = std::result::Result<T, Error>;

fn refuse<T>() -> Result<T> {
    Err(not_configured(
        "the hostile test component does not do this",
    ))
}

fn not_configured(message: &str) -> Error {
    Error {
        kind: ErrorKind::NotConfigured,
        message: message.into(),
        field: None,
        retry_after_seconds: None,
        graph: None,
    }
}

impl webhooks::Guest for Hostile {
    fn parse(body: Vec<u8>) -> Result<Vec<webhooks::Event>> {
        match body.as_slice() {
            b"loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            b"grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                }
            }
            b"flood-http" => loop {
                std::mem::forget(Fields::new());
            },
            b"flood-kv" => loop {
                match kv::open("flood") {
                    Ok(bucket) => std::mem::forget(bucket),
                    Err(_) => return Err(not_configured("the host refused a bucket")),
                }
            },
            _ => Ok(Vec::new()),
        }
    }
    fn verify_subscription(_: String, _: String, _: String) -> Result<String> {
        refuse()
    }
    fn verify_signature(_: Vec<u8>, _: Option<String>) -> Result<()> {
        refuse()
    }
    fn receive(_: Vec<u8>, _: Option<String>) -> Result<Vec<webhooks::Event>> {
        refuse()
    }
    fn ingest(_: Vec<u8>) -> Result<webhooks::IngestResult> {
        refuse()
    }
}

impl connection::Guest for Hostile {
    fn refresh_token() -> Result<connection::TokenRefresh> {
        refuse()
    }
    fn request_sync(_: Option<String>, _: connection::SyncKind) -> Result<String> {
        refuse()
    }
    fn info() -> Result<connection::TenantInfo> {
        let get = |k: &str| config::get(k).ok().flatten();
        Ok(connection::TenantInfo {
            tenant_id: get("tenant-id").unwrap_or_default(),
            phone_number_id: get("phone-number-id"),
            phone_number_ids: Vec::new(),
            waba_id: get("waba-id"),
            app_id: None,
            api_version: "v23.0".into(),
            graph_origin: "https://graph.facebook.com".into(),
            has_access_token: false,
            has_catalog_token: false,
            has_app_secret: false,
            credential: connection::CredentialState::NotConnected,
        })
    }
    fn status() -> Result<connection::CredentialStatus> {
        refuse()
    }
    fn authorize_url(_: connection::AuthorizeRequest) -> Result<connection::Authorization> {
        refuse()
    }
    fn exchange_code(_: String, _: String, _: String) -> Result<connection::Connected> {
        refuse()
    }
    fn disconnect() -> Result<()> {
        refuse()
    }
    fn set_access_token(_: String) -> Result<u64> {
        refuse()
    }
    fn set_catalog_token(_: String) -> Result<()> {
        refuse()
    }
    fn health() -> Result<connection::TokenHealth> {
        refuse()
    }
    fn list_numbers() -> Result<Vec<connection::PhoneNumber>> {
        refuse()
    }
    fn register_number(_: String, _: String) -> Result<()> {
        refuse()
    }
    fn deregister_number(_: String) -> Result<()> {
        refuse()
    }
    fn set_two_step_pin(_: String, _: String) -> Result<()> {
        refuse()
    }
    fn add_number(_: String, _: String, _: String) -> Result<String> {
        refuse()
    }
    fn request_code(_: String, _: connection::CodeMethod, _: String) -> Result<()> {
        refuse()
    }
    fn verify_code(_: String, _: String) -> Result<()> {
        refuse()
    }
    fn subscribe_app(_: Option<connection::CallbackOverride>) -> Result<()> {
        refuse()
    }
    fn subscriptions() -> Result<Vec<connection::AppSubscription>> {
        refuse()
    }
    fn unsubscribe_app() -> Result<()> {
        refuse()
    }
    fn profile(_: Option<String>) -> Result<connection::BusinessProfile> {
        refuse()
    }
    fn update_profile(_: Option<String>, _: connection::ProfileUpdate) -> Result<()> {
        refuse()
    }
    fn username(_: Option<String>) -> Result<connection::BusinessUsername> {
        refuse()
    }
    fn set_username(_: Option<String>, _: String, _: bool) -> Result<String> {
        refuse()
    }
    fn delete_username(_: Option<String>) -> Result<()> {
        refuse()
    }
    fn check_readiness() -> Result<connection::Readiness> {
        refuse()
    }
}

impl messages::Guest for Hostile {
    fn send(_: messages::OutgoingMessage) -> Result<SendResult> {
        refuse()
    }
    fn send_from(_: String, _: messages::OutgoingMessage) -> Result<SendResult> {
        refuse()
    }
    fn preview(_: messages::OutgoingMessage) -> Result<messages::RequestPreview> {
        refuse()
    }
    fn enqueue(_: Vec<messages::OutboxItem>) -> Result<Vec<messages::Enqueued>> {
        refuse()
    }
    fn history_clear(_: String, _: u64) -> Result<bool> {
        refuse()
    }
    fn deliver(_: String, _: messages::Queued, _: u32) -> messages::Delivery {
        messages::Delivery::Failed(not_configured(
            "the hostile test component does not do this",
        ))
    }
    fn status(_: String) -> Result<Option<messages::DeliveryState>> {
        refuse()
    }
    fn mark_read(_: String, _: bool) -> Result<()> {
        refuse()
    }
    fn block_users(_: Vec<String>) -> Result<Vec<messages::BlockOutcome>> {
        refuse()
    }
    fn unblock_users(_: Vec<String>) -> Result<Vec<messages::BlockOutcome>> {
        refuse()
    }
    fn blocked_users(_: Option<String>) -> Result<messages::BlockedPage> {
        refuse()
    }
}

impl templates::Guest for Hostile {
    fn list(_: templates::ListQuery) -> Result<templates::TemplatePage> {
        refuse()
    }
    fn create(_: templates::NewTemplate) -> Result<templates::CreatedTemplate> {
        refuse()
    }
    fn create_json(_: String) -> Result<templates::CreatedTemplate> {
        refuse()
    }
    fn get(_: String) -> Result<templates::TemplateDetails> {
        refuse()
    }
    fn edit(_: String, _: templates::NewTemplate) -> Result<()> {
        refuse()
    }
    fn edit_json(_: String, _: String) -> Result<()> {
        refuse()
    }
    fn delete(_: String, _: Option<String>) -> Result<()> {
        refuse()
    }
    fn sync() -> Result<templates::SyncReport> {
        refuse()
    }
    fn library(_: templates::LibraryQuery) -> Result<templates::LibraryPage> {
        refuse()
    }
    fn create_from_library(_: templates::FromLibrary) -> Result<templates::CreatedTemplate> {
        refuse()
    }
    fn compare(_: String, _: String, _: u64, _: u64) -> Result<templates::Comparison> {
        refuse()
    }
    fn unpause(_: String) -> Result<()> {
        refuse()
    }
    fn upsert_authentication(
        _: templates::AuthenticationTemplate,
    ) -> Result<Vec<templates::UpsertedTemplate>> {
        refuse()
    }
    fn migrate(_: String, _: Option<u32>) -> Result<templates::TemplateMigration> {
        refuse()
    }
}

impl media::Guest for Hostile {
    fn get(_: String) -> Result<media::MediaInfo> {
        refuse()
    }
    fn upload(_: media::MediaKind, _: String, _: String, _: Vec<u8>) -> Result<String> {
        refuse()
    }
    fn begin_upload(_: media::MediaKind, _: String, _: String, _: u64) -> Result<u32> {
        refuse()
    }
    fn write_upload(_: u32, _: Vec<u8>) -> Result<u64> {
        refuse()
    }
    fn finish_upload(_: u32) -> Result<String> {
        refuse()
    }
    fn start_upload(_: String, _: u64, _: String) -> Result<media::UploadProgress> {
        refuse()
    }
    fn upload_chunk(_: String, _: u64, _: Vec<u8>) -> Result<media::UploadProgress> {
        refuse()
    }
    fn upload_status(_: String) -> Result<media::UploadProgress> {
        refuse()
    }
    fn download(_: String, _: Option<String>) -> Result<media::DownloadedMedia> {
        refuse()
    }
    fn delete(_: String) -> Result<()> {
        refuse()
    }
    fn begin_download(_: String, _: Option<String>) -> Result<media::DownloadInfo> {
        refuse()
    }
    fn read_download(_: u32, _: u32) -> Result<Vec<u8>> {
        refuse()
    }
}

impl catalog::Guest for Hostile {
    fn list_products(_: String, _: Option<String>) -> Result<catalog::ProductPage> {
        refuse()
    }
    fn upsert_products(_: String, _: Vec<catalog::ProductInput>) -> Result<catalog::BatchResult> {
        refuse()
    }
    fn delete_products(_: String, _: Vec<String>) -> Result<catalog::BatchResult> {
        refuse()
    }
    fn create_product(_: String, _: catalog::ProductInput) -> Result<String> {
        refuse()
    }
    fn check_batch(_: String, _: String) -> Result<catalog::BatchStatus> {
        refuse()
    }
    fn minor_units(_: String, _: String) -> Result<u64> {
        refuse()
    }
}

impl flows::Guest for Hostile {
    fn list(_: Option<String>) -> Result<flows::FlowPage> {
        refuse()
    }
    fn create(_: flows::NewFlow) -> Result<String> {
        refuse()
    }
    fn get(_: String) -> Result<flows::FlowDetails> {
        refuse()
    }
    fn update(_: String, _: flows::FlowUpdate) -> Result<()> {
        refuse()
    }
    fn upload_json(_: String, _: String) -> Result<flows::AssetResult> {
        refuse()
    }
    fn publish(_: String) -> Result<()> {
        refuse()
    }
    fn deprecate(_: String) -> Result<()> {
        refuse()
    }
    fn delete(_: String) -> Result<()> {
        refuse()
    }
    fn preview(_: String, _: bool) -> Result<flows::FlowPreview> {
        refuse()
    }
    fn set_public_key(_: Option<String>, _: String) -> Result<()> {
        refuse()
    }
    fn get_public_key(_: Option<String>) -> Result<Option<flows::PublicKey>> {
        refuse()
    }
    fn download_json(_: String) -> Result<String> {
        refuse()
    }
    fn metrics(_: String, _: flows::MetricQuery) -> Result<Vec<flows::MetricPoint>> {
        refuse()
    }
    fn migrate(_: String, _: Option<Vec<String>>) -> Result<flows::Migration> {
        refuse()
    }
    fn decrypt_request(_: Vec<u8>, _: Option<String>) -> Result<flows::FlowExchange> {
        refuse()
    }
    fn encrypt_response(_: flows::FlowExchange, _: String) -> Result<String> {
        refuse()
    }
}

impl groups::Guest for Hostile {
    fn create(_: Option<String>, _: String, _: Option<String>, _: bool) -> Result<String> {
        refuse()
    }
    fn list(_: Option<String>, _: Option<String>) -> Result<groups::GroupPage> {
        refuse()
    }
    fn get(_: String) -> Result<groups::GroupInfo> {
        refuse()
    }
    fn update(_: String, _: Option<String>, _: Option<String>) -> Result<Option<String>> {
        refuse()
    }
    fn delete(_: String) -> Result<()> {
        refuse()
    }
    fn invite_link(_: String, _: bool) -> Result<String> {
        refuse()
    }
    fn remove_participants(_: String, _: Vec<String>) -> Result<Option<String>> {
        refuse()
    }
    fn join_requests(_: String, _: Option<String>) -> Result<groups::JoinRequestPage> {
        refuse()
    }
    fn answer_join_requests(
        _: String,
        _: Vec<String>,
        _: bool,
    ) -> Result<Vec<groups::JoinOutcome>> {
        refuse()
    }
}

impl business::Guest for Hostile {
    fn get_automation(_: Option<String>) -> Result<business::Automation> {
        refuse()
    }
    fn set_automation(_: Option<String>, _: business::Automation) -> Result<()> {
        refuse()
    }
    fn create_qr_code(
        _: Option<String>,
        _: String,
        _: Option<business::QrImageFormat>,
    ) -> Result<business::QrCode> {
        refuse()
    }
    fn update_qr_code(_: Option<String>, _: String, _: String) -> Result<business::QrCode> {
        refuse()
    }
    fn list_qr_codes(
        _: Option<String>,
        _: Option<business::QrImageFormat>,
        _: Option<String>,
    ) -> Result<business::QrPage> {
        refuse()
    }
    fn delete_qr_code(_: Option<String>, _: String) -> Result<()> {
        refuse()
    }
    fn get_commerce_settings(_: Option<String>) -> Result<business::CommerceSettings> {
        refuse()
    }
    fn set_commerce_settings(_: Option<String>, _: business::CommerceSettings) -> Result<()> {
        refuse()
    }
    fn get_number_settings(_: Option<String>) -> Result<business::NumberSettings> {
        refuse()
    }
    fn set_calling(_: Option<String>, _: bool, _: Option<bool>, _: Option<bool>) -> Result<()> {
        refuse()
    }
    fn set_storage(_: Option<String>, _: Option<String>) -> Result<()> {
        refuse()
    }
    fn profile_picture(_: Option<String>) -> Result<Option<business::Picture>> {
        refuse()
    }
    fn catalogs() -> Result<Vec<business::CatalogSummary>> {
        refuse()
    }
    fn marketing_messages_status() -> Result<String> {
        refuse()
    }
}

impl insights::Guest for Hostile {
    fn enable_template_analytics() -> Result<()> {
        refuse()
    }
    fn template_analytics(
        _: Vec<String>,
        _: u64,
        _: u64,
        _: Option<String>,
    ) -> Result<insights::TemplateAnalyticsPage> {
        refuse()
    }
    fn pricing(_: insights::UsageQuery) -> Result<Vec<insights::Usage>> {
        refuse()
    }
    fn conversations(_: insights::UsageQuery) -> Result<Vec<insights::Usage>> {
        refuse()
    }
}

impl calling::Guest for Hostile {
    fn permission(_: Option<String>, _: String) -> Result<calling::CallPermission> {
        refuse()
    }
    fn connect(_: Option<String>, _: String, _: String, _: Option<String>) -> Result<String> {
        refuse()
    }
    fn respond(_: Option<String>, _: String, _: calling::CallAction) -> Result<()> {
        refuse()
    }
}
