//! Embed the WhatsApp component in your own Rust program: start the Graph sandbox on
//! loopback, bind a tenant, send one text message, print what Meta (the sandbox) answered.
//!
//! Run: `cargo run -p whatsapp-embed-example`. Point `graph-origin` at
//! `https://graph.facebook.com` (and use a real token) to talk to Meta instead.

use std::sync::Arc;
use whatsapp_host::api::{Content, OutgoingMessage, Text};
use whatsapp_host::builder::HostBuilder;
use whatsapp_host::capabilities::{crypto::Vault, http::EgressPolicy};
use whatsapp_host::sandbox::{self, SandboxConfig};
use whatsapp_host::storage::Database;
use whatsapp_host::{TenantBinding, wasmtime};

#[tokio::main]
async fn main() -> wasmtime::Result<()> {
    // 1. A Graph API sandbox on loopback (in your platform: https://graph.facebook.com).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let sandbox = SandboxConfig::default();
    let token = sandbox.access_token.clone();
    tokio::spawn(sandbox::serve(listener, sandbox, std::future::pending()));

    // 2. The host: storage, sealing, and the only origins the guest may call.
    let db = Arc::new(Database::open_in_memory()?);
    let vault = Arc::new(Vault::ephemeral());
    let mut egress = EgressPolicy::default();
    egress.allow(&origin).map_err(wasmtime::Error::msg)?;
    let runtime = HostBuilder::new()
        .database(db.clone())
        .vault(vault.clone())
        .egress(egress)
        .build()
        .map_err(wasmtime::Error::msg)?;

    // 3. A tenant: its settings are bound into the instance; its component seals its
    //    token into its storage.
    let binding = TenantBinding::new(
        "acme",
        [
            ("phone-number-id".into(), "106540352242922".into()),
            ("graph-origin".into(), origin),
            ("window-policy".into(), "off".into()),
        ],
    );
    let mut instance = runtime.instantiate(&binding).await?;
    if let Err(e) = instance.set_access_token(&token).await? {
        eprintln!("token not stored: {e:?}");
        std::process::exit(1);
    }

    // 4. One call; a typed result. (A platform makes one instance per unit of work.)
    let message = OutgoingMessage {
        to: "+15551234567".into(),
        content: Content::Text(Text {
            body: "Hello from an embedded component".into(),
            preview_url: false,
        }),
        reply_to: None,
        biz_opaque_callback_data: None,
    };
    match instance.send(&message).await? {
        Ok(sent) => println!(
            "sent {} to {}",
            sent.message_id,
            sent.wa_id.or(sent.user_id).unwrap_or(sent.input)
        ),
        Err(e) => {
            eprintln!("not sent: {e:?}");
            std::process::exit(1);
        }
    }
    Ok(())
}
