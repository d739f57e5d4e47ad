//! Forwarding recorded events to the platform: every event the webhook server committed
//! is POSTed to `--forward-url`, one at a time in the order recorded (so in order per
//! contact), signed with `X-WA-Signature-256: sha256=<hex>` (HMAC-SHA256 of the body
//! under the forwarding secret), retried with exponential backoff until it is answered
//! 2xx. The position is a durable cursor in the database: after a crash or restart,
//! forwarding resumes with the first event not yet acknowledged (at least once).

use crate::signature::sign;
use crate::storage::Database;
use bytes::Bytes;
use http_body_util::Full;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// The cursor's name in the database.
pub const CURSOR: &str = "forward";
/// The header carrying our signature.
pub const SIGNATURE_HEADER: &str = "x-wa-signature-256";
/// The header carrying the event's sequence number (for the platform's own dedupe).
pub const SEQ_HEADER: &str = "x-wa-event-seq";

/// Where and how to forward.
pub struct Forwarder {
    /// The event log.
    pub db: Arc<Database>,
    /// The platform's URL (`http://`).
    pub url: String,
    /// The secret the forwarded bodies are signed with.
    pub secret: Zeroizing<String>,
    /// How often to look for new events when idle.
    pub poll: Duration,
    /// The longest pause between retries.
    pub max_backoff: Duration,
}

/// Events recorded but not yet forwarded, when forwarding has ever run.
pub fn backlog(db: &Database) -> Option<i64> {
    let at = db.cursor(CURSOR).ok()??;
    Some(db.last_seq().unwrap_or(0) - at)
}

/// The backlog per tenant (the empty name for unroutable events), when forwarding has
/// ever run.
pub fn backlog_by_tenant(db: &Database) -> Option<Vec<(String, i64)>> {
    let at = db.cursor(CURSOR).ok()??;
    db.counts_after(at).ok()
}

impl Forwarder {
    /// Forward until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        if matches!(self.db.cursor(CURSOR), Ok(None)) {
            let _ = self.db.set_cursor(CURSOR, 0);
        }
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>();
        loop {
            let after = match self.db.cursor(CURSOR) {
                Ok(c) => c.unwrap_or(0),
                Err(e) => {
                    tracing::error!("forwarding: {e}");
                    0
                }
            };
            let rows = self.db.events(None, after, 100).unwrap_or_default();
            if rows.is_empty() {
                tokio::select! {
                    () = tokio::time::sleep(self.poll) => continue,
                    () = &mut shutdown => return,
                }
            }
            for row in rows {
                let mut v: serde_json::Value =
                    serde_json::from_str(&row.json).unwrap_or(serde_json::Value::Null);
                v["seq"] = row.seq.into();
                let body = Bytes::from(v.to_string());
                let signature = sign(self.secret.as_bytes(), &body);
                let mut delay = Duration::from_millis(100);
                loop {
                    let req = hyper::Request::post(&self.url)
                        .header(hyper::header::CONTENT_TYPE, "application/json")
                        .header(SIGNATURE_HEADER, &signature)
                        .header(SEQ_HEADER, row.seq.to_string())
                        .body(Full::new(body.clone()));
                    let ok = match req {
                        Ok(req) => match client.request(req).await {
                            Ok(r) if r.status().is_success() => true,
                            Ok(r) => {
                                tracing::warn!(
                                    "forwarding event {}: the platform answered {}",
                                    row.seq,
                                    r.status()
                                );
                                false
                            }
                            Err(e) => {
                                tracing::warn!("forwarding event {}: {e}", row.seq);
                                false
                            }
                        },
                        Err(e) => {
                            tracing::error!("forwarding: bad URL: {e}");
                            false
                        }
                    };
                    if ok {
                        break;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = &mut shutdown => return,
                    }
                    delay = (delay * 2).min(self.max_backoff);
                }
                if let Err(e) = self.db.set_cursor(CURSOR, row.seq) {
                    tracing::error!("forwarding: cannot move the cursor past {}: {e}", row.seq);
                }
            }
        }
    }
}
