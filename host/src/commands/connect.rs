//! `wa-host connect`, `wa-host numbers …` and `wa-host health`: connecting a tenant's
//! business through Meta's OAuth dialog, choosing and registering its numbers, and the
//! token's health with the readiness checklist. Nothing printed holds a token.

use super::{out, tenant::stdin_secret};
use crate::{BoxError, Cli};
use clap::Subcommand;
use serde_json::json;
use std::io::BufRead;
use whatsapp_host::admin::query_param as param;
use whatsapp_host::api;
use whatsapp_host::connect::{self, called};
use whatsapp_host::net::{self, Resp};
use whatsapp_host::tenants;

/// `wa-host connect`'s options.
#[derive(clap::Args)]
pub struct ConnectArgs {
    /// The tenant to connect.
    #[arg(long)]
    tenant: String,
    /// Where the browser comes back: a loopback callback is served on this address
    /// (`http://ADDR/callback` must be one of the app's valid OAuth redirect URIs).
    #[arg(long, default_value = "127.0.0.1:8765")]
    listen: String,
    /// Do not serve a callback: print the URL, then read the code (or the whole URL the
    /// browser ended on) from stdin. `--redirect-uri` names where the browser goes.
    #[arg(long)]
    code_stdin: bool,
    /// The redirect URI with `--code-stdin` (an https page of yours that shows the code).
    #[arg(long)]
    redirect_uri: Option<String>,
    /// An Embedded Signup (Facebook Login for Business) configuration id.
    #[arg(long)]
    config_id: Option<String>,
    /// A further permission to ask for (repeatable), e.g. business_management.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Give up waiting for the browser after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

#[derive(Subcommand)]
pub enum NumbersCommand {
    /// The WABA's numbers, one JSON line each (`selected` marks the tenant's own).
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Make these the tenant's sending numbers (the first is the default); webhooks
    /// for them are routed to it.
    Select {
        #[arg(long)]
        tenant: String,
        #[arg(required = true)]
        numbers: Vec<String>,
    },
    /// Register a number on the Cloud API with its six-digit two-step PIN, read from
    /// the first line of stdin.
    Register {
        #[arg(long)]
        tenant: String,
        number: String,
    },
    /// Deregister a number.
    Deregister {
        #[arg(long)]
        tenant: String,
        number: String,
    },
    /// Ask Meta to send the number its verification code.
    RequestCode {
        #[arg(long)]
        tenant: String,
        number: String,
        /// SMS or VOICE.
        #[arg(long, default_value = "SMS")]
        method: String,
        #[arg(long, default_value = "en_US")]
        language: String,
    },
    /// Verify the number with the code it received.
    VerifyCode {
        #[arg(long)]
        tenant: String,
        number: String,
        code: String,
    },
    /// Subscribe the app to the tenant's WABA, optionally to a callback of its own
    /// (its verify token read from the first line of stdin).
    Subscribe {
        #[arg(long)]
        tenant: String,
        /// The override callback URL (Meta checks it with a handshake first).
        #[arg(long)]
        callback: Option<String>,
    },
    /// A number's business profile (the default number's without one).
    Profile {
        #[arg(long)]
        tenant: String,
        number: Option<String>,
    },
    /// Block users (numbers, wa_ids or business-scoped user ids) from writing to the
    /// tenant's sending number; one JSON line per user, with Meta's refusal if any.
    Block {
        #[arg(long)]
        tenant: String,
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Unblock users; one JSON line per user.
    Unblock {
        #[arg(long)]
        tenant: String,
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// The sending number's blocked users, a page at a time (--after: the cursor printed).
    Blocked {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        after: Option<String>,
    },
    /// A number's business username (the default number's without one): print it, claim
    /// or change it with --set, remove it with --delete.
    Username {
        #[arg(long)]
        tenant: String,
        number: Option<String>,
        /// The username to claim (a leading @ is dropped).
        #[arg(long, conflicts_with = "delete")]
        set: Option<String>,
        /// Take the username from another number of the same business portfolio.
        #[arg(long, requires = "set")]
        force_transfer: bool,
        /// Remove the number's username.
        #[arg(long)]
        delete: bool,
    },
    /// For a number shared with the WhatsApp Business app (the default number without
    /// one): ask Meta to synchronize its contacts or its chat history, once each, within
    /// 24 hours of connecting; prints Meta's request id. The data arrives as events.
    Sync {
        #[arg(long)]
        tenant: String,
        number: Option<String>,
        /// What to synchronize.
        #[arg(long, value_enum)]
        kind: SyncArg,
    },
}

/// `numbers sync --kind`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SyncArg {
    /// The app's contacts.
    Contacts,
    /// The app's past chats.
    History,
}

/// Wait for the browser's `GET /callback?code&state` on `listener`; answer it with a
/// short page. The code and state.
async fn wait_for_callback(
    listener: tokio::net::TcpListener,
) -> Result<(String, String), BoxError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<(String, String), String>>(1);
    let tx = std::sync::Arc::new(tx);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(net::serve(
        listener,
        net::Limits::default(),
        tx,
        |tx, req: hyper::Request<hyper::body::Incoming>| async move {
            if req.uri().path() != "/callback" {
                return net::text(hyper::StatusCode::NOT_FOUND, "not found\n");
            }
            let q = req.uri().query().unwrap_or("");
            let outcome = match (
                param(q, "code"),
                param(q, "state"),
                param(q, "error_description").or_else(|| param(q, "error")),
            ) {
                (Some(c), Some(s), _) => Ok((c, s)),
                (_, _, Some(e)) => Err(format!("Meta says: {e}")),
                _ => Err("the callback has no code and state".to_string()),
            };
            let page: Resp = match &outcome {
                Ok(_) => net::text(
                    hyper::StatusCode::OK,
                    "Authorized. wa-host is finishing the connection; you can close this window.\n",
                ),
                Err(e) => net::text(
                    hyper::StatusCode::BAD_REQUEST,
                    format!("Not connected: {e}\n"),
                ),
            };
            let _ = tx.send(outcome).await;
            page
        },
        async {
            let _ = stop_rx.await;
        },
    ));
    let got = rx.recv().await.ok_or("the callback server stopped")?;
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok(got?)
}

pub async fn connect(cli: &Cli, a: &ConnectArgs) -> Result<(), BoxError> {
    let host = super::Host::open(cli)?;
    let cx = host.cx();
    tenants::get(&host.data.db, &a.tenant)?;
    let (listener, redirect_uri) = if a.code_stdin {
        let uri = a
            .redirect_uri
            .clone()
            .ok_or("--code-stdin needs --redirect-uri")?;
        (None, uri)
    } else {
        let l = tokio::net::TcpListener::bind(&a.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", a.listen))?;
        let uri = a
            .redirect_uri
            .clone()
            .unwrap_or(format!("http://{}/callback", l.local_addr()?));
        (Some(l), uri)
    };
    let request = api::AuthorizeRequest {
        redirect_uri: redirect_uri.clone(),
        config_id: a.config_id.clone(),
        extra_scopes: a.scopes.clone(),
    };
    let auth = connect::authorize(&cx, &a.tenant, &request)
        .await
        .map_err(|e| fail_json(&e))?;
    out(
        json!({ "authorize_url": auth.url, "redirect_uri": redirect_uri, "expires_at": auth.expires_at }),
    )?;
    eprintln!(
        "wa-host: open the authorize_url above in a browser and approve; waiting for Meta's redirect"
    );
    let (code, state) = match listener {
        Some(l) => tokio::time::timeout(
            std::time::Duration::from_secs(a.timeout_secs),
            wait_for_callback(l),
        )
        .await
        .map_err(|_| format!("no callback within {} seconds", a.timeout_secs))??,
        None => {
            eprintln!("wa-host: paste the code, or the whole URL the browser ended on:");
            let line = stdin_secret(&mut std::io::stdin().lock().lines(), "code")?;
            match line.split_once('?') {
                Some((_, q)) => (
                    param(q, "code").ok_or("that URL has no code")?,
                    param(q, "state").ok_or("that URL has no state")?,
                ),
                None => (line.to_string(), auth.state.clone()),
            }
        }
    };
    let v = connect::exchange(&cx, &a.tenant, &code, &state, &redirect_uri)
        .await
        .map_err(|e| fail_json(&e))?;
    out(&v)?;
    Ok(())
}

/// Print one JSON line, as a step of a connection command.
fn emit(v: serde_json::Value) -> Result<(), connect::ConnectError> {
    out(v).map_err(|e| connect::ConnectError::Host(e.to_string()))
}

/// A secret from stdin, as a step of a connection command.
fn secret(what: &str) -> Result<zeroize::Zeroizing<String>, connect::ConnectError> {
    stdin_secret(&mut std::io::stdin().lock().lines(), what)
        .map_err(|e| connect::ConnectError::Host(e.to_string()))
}

fn fail_json(e: &connect::ConnectError) -> BoxError {
    let _ = out(e.to_json());
    e.to_string().into()
}

pub async fn health(cli: &Cli, tenant: &str, refresh: bool) -> Result<(), BoxError> {
    let host = super::Host::open(cli)?;
    if refresh {
        let r = async { called(host.cx().instance(tenant).await?.refresh_token().await) }
            .await
            .map_err(|e| fail_json(&e))?;
        out(json!({ "refreshed": r.refreshed, "expires_at": r.expires_at, "note": r.note }))?;
    }
    let v = connect::health(&host.cx(), tenant)
        .await
        .map_err(|e| fail_json(&e))?;
    out(serde_json::to_string_pretty(&v)?)?;
    Ok(())
}

pub async fn numbers(cli: &Cli, command: &NumbersCommand) -> Result<(), BoxError> {
    let host = super::Host::open(cli)?;
    let cx = host.cx();
    let r: Result<(), connect::ConnectError> = async {
        match command {
            NumbersCommand::List { tenant } => {
                let mut i = cx.instance(tenant).await?;
                for n in called(i.list_numbers().await)? {
                    emit(connect::number_json(&n))?;
                }
            }
            NumbersCommand::Select { tenant, numbers } => {
                let t = tenants::select_numbers(&host.data.db, tenant, numbers)?;
                emit(json!({ "tenant": tenant, "phone_number_id": t.phone_number_id, "numbers": t.numbers }))?;
            }
            NumbersCommand::Register { tenant, number } => {
                let pin = secret("two-step PIN")?;
                let mut i = cx.instance(tenant).await?;
                called(i.register_number(number, &pin).await)?;
                emit(json!({ "registered": number }))?;
            }
            NumbersCommand::Deregister { tenant, number } => {
                let mut i = cx.instance(tenant).await?;
                called(i.deregister_number(number).await)?;
                emit(json!({ "deregistered": number }))?;
            }
            NumbersCommand::RequestCode { tenant, number, method, language } => {
                let method = match method.to_ascii_uppercase().as_str() {
                    "SMS" => api::CodeMethod::Sms,
                    "VOICE" => api::CodeMethod::Voice,
                    other => return Err(connect::ConnectError::Host(format!("--method {other:?}: SMS or VOICE"))),
                };
                let mut i = cx.instance(tenant).await?;
                called(i.request_code(number, method, language).await)?;
                emit(json!({ "code_requested": number }))?;
            }
            NumbersCommand::VerifyCode { tenant, number, code } => {
                let mut i = cx.instance(tenant).await?;
                called(i.verify_code(number, code).await)?;
                emit(json!({ "verified": number }))?;
            }
            NumbersCommand::Subscribe { tenant, callback } => {
                let over = match callback {
                    Some(url) => {
                        let token = secret("callback's verify token")?;
                        Some(api::CallbackOverride { url: url.clone(), verify_token: token.to_string() })
                    }
                    None => None,
                };
                let mut i = cx.instance(tenant).await?;
                called(i.subscribe_app(over.as_ref()).await)?;
                emit(json!({ "subscribed": tenant, "callback": callback }))?;
            }
            NumbersCommand::Profile { tenant, number } => {
                let mut i = cx.instance(tenant).await?;
                let p = called(i.business_profile(number.as_deref()).await)?;
                emit(json!({ "about": p.about, "address": p.address, "description": p.description, "email": p.email,
                    "websites": p.websites, "vertical": p.vertical, "profile_picture_url": p.profile_picture_url }))?;
            }
            NumbersCommand::Block { tenant, users } | NumbersCommand::Unblock { tenant, users } => {
                let mut i = cx.instance(tenant).await?;
                let blocking = matches!(command, NumbersCommand::Block { .. });
                let outcomes = if blocking {
                    called(i.block_users(users).await)?
                } else {
                    called(i.unblock_users(users).await)?
                };
                for o in outcomes {
                    emit(json!({ "input": o.input, "wa_id": o.wa_id, "done": o.error.is_none(),
                        "error": o.error.map(|e| json!({ "code": e.code, "message": e.message, "details": e.details })) }))?;
                }
            }
            NumbersCommand::Blocked { tenant, after } => {
                let mut i = cx.instance(tenant).await?;
                let page = called(i.blocked_users(after.as_deref()).await)?;
                emit(json!({ "users": page.users, "next": page.next }))?;
            }
            NumbersCommand::Sync { tenant, number, kind } => {
                let mut i = cx.instance(tenant).await?;
                let wit_kind = match kind {
                    SyncArg::Contacts => api::SyncKind::Contacts,
                    SyncArg::History => api::SyncKind::History,
                };
                let id = called(i.request_sync(number.as_deref(), wit_kind).await)?;
                emit(json!({ "requested": match kind { SyncArg::Contacts => "contacts", SyncArg::History => "history" }, "request_id": id }))?;
            }
            NumbersCommand::Username { tenant, number, set, force_transfer, delete } => {
                let mut i = cx.instance(tenant).await?;
                let number = number.as_deref();
                if let Some(name) = set {
                    let status = called(i.set_business_username(number, name, *force_transfer).await)?;
                    emit(json!({ "requested": name, "status": status }))?;
                } else if *delete {
                    called(i.delete_business_username(number).await)?;
                    emit(json!({ "username": null, "status": "deleted" }))?;
                } else {
                    let u = called(i.business_username(number).await)?;
                    emit(json!({ "username": u.username, "status": u.status }))?;
                }
            }
        }
        Ok(())
    }
    .await;
    r.map_err(|e| fail_json(&e))
}
