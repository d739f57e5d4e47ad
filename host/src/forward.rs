//! Forwarding recorded events to the platform: every event the webhook server committed
//! is POSTed to `--forward-url` (`https://`, or `http://` on a trusted network), one at a
//! time in the order recorded (so in order per contact), retried with exponential backoff
//! and jitter until it is answered 2xx. Each POST is signed twice over the same body:
//! `X-WA-Signature-256: sha256=<hex>` (HMAC-SHA256 of the body under the forwarding
//! secret), and the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`), which the Standard Webhooks and Svix libraries verify as they
//! come. The position is a durable cursor in the database: after a crash or restart,
//! forwarding resumes with the first event not yet acknowledged (at least once). An event
//! the platform refuses for good (a 4xx other than 408 and 429, three times) is put aside
//! as a dead letter and forwarding goes on; `wa-host events dead-letters` lists and
//! replays them ([`replay`]).

use crate::capabilities::pool::Pool;
use crate::signature::sign;
use crate::storage::Database;
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// The cursor's name in the database.
pub const CURSOR: &str = "forward";
/// The header carrying our signature.
pub const SIGNATURE_HEADER: &str = "x-wa-signature-256";
/// The header carrying the event's sequence number (for the platform's own dedupe).
pub const SEQ_HEADER: &str = "x-wa-event-seq";
/// How long one delivery may take: to connect, and to the answer's first byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The Standard Webhooks headers of one delivery: `webhook-id` (`evt_<seq>`, the same on
/// every retry, for the platform's dedupe), `webhook-timestamp` (Unix seconds, now) and
/// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`. The key
/// is the secret's bytes, or for a secret written `whsec_<base64>` (the Standard
/// Webhooks form) the bytes it encodes.
pub fn standard_webhook_headers(
    secret: &str,
    seq: i64,
    timestamp: u64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    let id = format!("evt_{seq}");
    let key: Zeroizing<Vec<u8>> = Zeroizing::new(
        secret
            .strip_prefix("whsec_")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_else(|| secret.as_bytes().to_vec()),
    );
    let signature = standard_signature(&key, &id, timestamp, body);
    [
        ("webhook-id", id),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", format!("v1,{signature}")),
    ]
}

fn standard_signature(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `url` is one forwarding can POST to: `https://`, or `http://`.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("--forward-url {url:?}: {e}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("https" | "http"), Some(_)) => Ok(()),
        _ => Err(format!(
            "--forward-url {url:?}: give an https:// (or http://) URL with a host"
        )),
    }
}

/// Where and how to forward.
pub struct Forwarder {
    /// The event log.
    pub db: Arc<Database>,
    /// The platform's URL (`https://` or `http://`).
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

/// An event as it goes onward (forwarded, published): its recorded JSON with its `seq`.
pub fn outgoing_json(row: &crate::storage::EventRow) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&row.json).unwrap_or(serde_json::Value::Null);
    v["seq"] = row.seq.into();
    v.to_string()
}

/// The recorded event at `seq`, if there is one.
pub fn recorded(
    db: &Database,
    seq: i64,
) -> crate::storage::Result<Option<crate::storage::EventRow>> {
    Ok(db
        .events(None, seq - 1, 1)?
        .into_iter()
        .find(|r| r.seq == seq))
}

/// What one delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Answered 2xx.
    Delivered,
    /// Not now: no answer, 5xx, 408 or 429. Tried again, in order, for as long as it takes.
    Later(String),
    /// Refused for good: any other 4xx (the platform says this event is wrong), or a URL
    /// that is not one.
    Refused(String),
}

/// Tries of an event the platform refuses for good before it is put aside as a dead
/// letter (a deploy's glitch can answer 4xx for a moment).
pub const REFUSALS_BEFORE_DEAD_LETTER: u32 = 3;

/// POSTs events to one URL, signed.
pub struct Sender {
    url: String,
    secret: Zeroizing<String>,
    pool: Pool,
}

impl Sender {
    /// A sender to `url`, signing with `secret`, over a keep-alive pool of its own.
    pub fn new(url: &str, secret: Zeroizing<String>) -> Self {
        Sender {
            url: url.to_string(),
            secret,
            pool: Pool::default(),
        }
    }

    /// POST one recorded event: its JSON with its `seq`, signed both ways.
    pub async fn deliver(&self, row: &crate::storage::EventRow) -> Delivery {
        let body = Bytes::from(outgoing_json(row));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut req = hyper::Request::post(&self.url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(self.secret.as_bytes(), &body))
            .header(SEQ_HEADER, row.seq.to_string());
        for (name, value) in standard_webhook_headers(&self.secret, row.seq, now, &body) {
            req = req.header(name, value);
        }
        let req = match req.body(Full::new(body)) {
            Ok(req) => req,
            Err(e) => return Delivery::Refused(format!("bad URL: {e}")),
        };
        let options = wasmtime_wasi_http::RequestOptions {
            connect_timeout: Some(TIMEOUT),
            first_byte_timeout: Some(TIMEOUT),
            between_bytes_timeout: Some(TIMEOUT),
        };
        match self.pool.send(req, Some(options)).await {
            Ok(r) if r.status().is_success() => Delivery::Delivered,
            Ok(r) => {
                let status = r.status();
                let why = format!("the platform answered {status}");
                let transient = status.is_server_error()
                    || status == hyper::StatusCode::REQUEST_TIMEOUT
                    || status == hyper::StatusCode::TOO_MANY_REQUESTS;
                if transient || !status.is_client_error() {
                    Delivery::Later(why)
                } else {
                    Delivery::Refused(why)
                }
            }
            Err(e) => Delivery::Later(e.to_string()),
        }
    }
}

impl Forwarder {
    /// Forward until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        if matches!(self.db.cursor(CURSOR), Ok(None)) {
            let _ = self.db.set_cursor(CURSOR, 0);
        }
        let sender = Sender::new(&self.url, self.secret.clone());
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
                let mut delay = Duration::from_millis(100);
                let mut refusals = 0;
                loop {
                    match sender.deliver(&row).await {
                        Delivery::Delivered => break,
                        Delivery::Later(why) => {
                            tracing::warn!("forwarding event {}: {why}; trying again", row.seq);
                        }
                        Delivery::Refused(why) => {
                            refusals += 1;
                            tracing::warn!("forwarding event {}: {why}", row.seq);
                            if refusals >= REFUSALS_BEFORE_DEAD_LETTER {
                                // Put aside, so that one event the platform will not take
                                // does not hold back every later one.
                                let put = self.db.add_dead_letter(
                                    CURSOR,
                                    row.seq,
                                    &why,
                                    crate::storage::now_ms(),
                                );
                                match put {
                                    Ok(()) => {
                                        tracing::error!(
                                            "forwarding event {}: put aside as a dead letter ({why}); `wa-host events dead-letters` lists and replays it",
                                            row.seq
                                        );
                                        break;
                                    }
                                    Err(e) => tracing::error!(
                                        "forwarding event {}: cannot put it aside: {e}",
                                        row.seq
                                    ),
                                }
                            }
                        }
                    }
                    tokio::select! {
                        () = tokio::time::sleep(jitter(delay)) => {}
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

/// Send the dead letters of forwarding again (`only`: those sequence numbers; none: all)
/// through `sender`; each one delivered is taken off the list. What each came to, by seq.
pub async fn replay(
    db: &Database,
    sender: &Sender,
    only: Option<&[i64]>,
) -> crate::storage::Result<Vec<(i64, Delivery)>> {
    let mut out = Vec::new();
    for letter in db.dead_letters(CURSOR)? {
        if only.is_some_and(|o| !o.contains(&letter.seq)) {
            continue;
        }
        let Some(row) = recorded(db, letter.seq)? else {
            continue;
        };
        let outcome = sender.deliver(&row).await;
        if outcome == Delivery::Delivered {
            db.remove_dead_letter(CURSOR, letter.seq)?;
        }
        out.push((letter.seq, outcome));
    }
    Ok(out)
}

/// `d` scaled by a random factor in [0.5, 1.5): hosts and sinks that failed together do
/// not retry in step.
pub(crate) fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 2];
    let r = match getrandom::fill(&mut b) {
        Ok(()) => f64::from(u16::from_le_bytes(b)) / 65536.0,
        Err(_) => 0.5,
    };
    d.mul_f64(0.5 + r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (its README), checked here
    /// against our signing.
    #[test]
    fn the_standard_webhooks_example_signs_as_the_specification_says() {
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        assert_eq!(
            standard_signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let [id, ts, sig] = standard_webhook_headers(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            7,
            1614265330,
            b"{}",
        );
        assert_eq!((id.1.as_str(), ts.1.as_str()), ("evt_7", "1614265330"));
        assert_eq!(
            sig.1,
            format!(
                "v1,{}",
                standard_signature(&key, "evt_7", 1614265330, b"{}")
            )
        );
    }

    #[test]
    fn forward_urls_are_http_or_https() {
        assert!(check_url("https://platform.example/wa").is_ok());
        assert!(check_url("http://127.0.0.1:9/events").is_ok());
        assert!(check_url("ftp://x/y").is_err());
        assert!(check_url("platform.example").is_err());
    }

    #[test]
    fn jitter_stays_within_half_and_one_and_a_half() {
        for _ in 0..100 {
            let j = jitter(Duration::from_millis(1000));
            assert!(
                j >= Duration::from_millis(500) && j < Duration::from_millis(1500),
                "{j:?}"
            );
        }
    }
}
