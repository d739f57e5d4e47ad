//! Forwarding recorded events to the platform: every event the webhook server committed
//! is POSTed to `--forward-url` (`https://`, or `http://` on a trusted network), in the
//! order recorded for each tenant, retried with exponential backoff and jitter until it is
//! answered 2xx. Each POST is signed twice over the same body: `X-WA-Signature-256:
//! sha256=<hex>` (HMAC-SHA256 of the body under the forwarding secret), and the Standard
//! Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`), which the
//! Standard Webhooks and Svix libraries verify as they come.
//!
//! **Partitions and leases.** The log is split into [`PARTITIONS`] by tenant (so one
//! tenant's events stay in one, in order), each with a durable cursor of its own. A host
//! forwards a partition only while it holds the partition's lease in the database
//! ([`crate::storage::Backend::lease`]); the hosts sharing a database keep a membership
//! lease each and share the partitions evenly, taking over a stopped host's once its
//! leases lapse ([`LEASE_TTL`]). So several hosts forward together and no event is sent by
//! two of them, unless a host stalls for longer than a lease in the middle of a delivery
//! (the platform dedupes on each event's `seq` then: another host may batch it with
//! others, under another `webhook-id`). A partition is not taken again by a host until
//! its lane there has stopped. Lease expiry is judged by each host's clock: keep them
//! within a few seconds (NTP). Partitions forward concurrently.
//!
//! **Batches.** With `batch` above 1 a POST carries up to that many events of one
//! partition as a JSON array, in order (`webhook-id` `evt_<first>-<last>`); 1 (the
//! default) POSTs each event alone, as an object.
//!
//! After a crash or restart forwarding resumes with the first event not yet acknowledged
//! (at least once). An event the platform refuses for good (a 4xx other than 408 and 429,
//! three times) is put aside as a dead letter and forwarding goes on; `wa-host events
//! dead-letters` lists and replays them ([`replay`]).

use crate::capabilities::pool::Pool;
use crate::signature::sign;
use crate::storage::Database;
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use zeroize::Zeroizing;

/// The sink's name in the database: its dead letters, and the prefix of its partitions'
/// cursors and leases.
pub const CURSOR: &str = "forward";
/// Partitions of the log (by tenant) that hosts forward concurrently and share.
pub const PARTITIONS: u32 = 16;
/// How long a lease lasts unless renewed. A lane renews its partition's before each
/// delivery once a sixth of it has passed, and in every pause between tries, so a
/// delivery (at most 10 s to connect and 10 s to the answer) starts with 25 s left.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How long a renewed lease is trusted without renewing it again.
const RENEW_AFTER: Duration = Duration::from_secs(5);
/// How often a host renews its membership and takes or gives back partitions.
const REBALANCE: Duration = Duration::from_secs(1);
/// Events read from the log at a time.
const READ: u32 = 500;
/// The header carrying our signature.
pub const SIGNATURE_HEADER: &str = "x-wa-signature-256";
/// The header carrying the event's sequence number (for the platform's own dedupe).
pub const SEQ_HEADER: &str = "x-wa-event-seq";
/// How long one delivery may take: to connect, and to the answer's first byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The Standard Webhooks headers of one delivery: `webhook-id` (`evt_<seq>`, or
/// `evt_<first>-<last>` for a batch: the same on every retry, for the platform's dedupe), `webhook-timestamp` (Unix seconds, now) and
/// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`. The key
/// is the secret's bytes, or for a secret written `whsec_<base64>` (the Standard
/// Webhooks form) the bytes it encodes.
pub fn standard_webhook_headers(
    secret: &str,
    id: String,
    timestamp: u64,
    body: &[u8],
) -> [(&'static str, String); 3] {
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
    /// Events per POST: 1 sends each alone (an object), more sends arrays of up to that.
    pub batch: usize,
    /// This host among those sharing the database (its leases' holder): unique per process.
    pub holder: String,
}

/// A holder name unique to this process: the host's name, the process id and a random part.
pub fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    format!("{host}-{}-{}", std::process::id(), hex::encode(b))
}

/// The partition an event of `tenant` (none: unroutable) is forwarded in: FNV-1a of the
/// name, stable across hosts and versions.
pub fn partition(tenant: Option<&str>) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in tenant.unwrap_or("").bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h % PARTITIONS
}

/// The name of partition `p`'s cursor and lease.
pub fn partition_name(p: u32) -> String {
    format!("{CURSOR}#{p}")
}

/// The membership lease of `holder`.
fn member_name(holder: &str) -> String {
    format!("{MEMBERS}{holder}")
}
const MEMBERS: &str = "forward/member/";

/// Where each partition's forwarding is (none: forwarding never ran). A partition not yet
/// started is where the single cursor of earlier versions was, or at 0.
fn positions(db: &Database) -> crate::storage::Result<Option<Vec<i64>>> {
    let legacy = db.cursor(CURSOR)?;
    let at = (0..PARTITIONS)
        .map(|p| db.cursor(&partition_name(p)))
        .collect::<crate::storage::Result<Vec<Option<i64>>>>()?;
    if legacy.is_none() && at.iter().all(Option::is_none) {
        return Ok(None);
    }
    Ok(Some(
        at.into_iter().map(|c| c.or(legacy).unwrap_or(0)).collect(),
    ))
}

/// Events recorded but not yet forwarded, when forwarding has ever run.
pub fn backlog(db: &Database) -> Option<i64> {
    Some(backlog_by_tenant(db)?.iter().map(|(_, n)| n).sum())
}

/// The backlog per tenant (the empty name for unroutable events), when forwarding has
/// ever run: each tenant's events after its partition's cursor.
pub fn backlog_by_tenant(db: &Database) -> Option<Vec<(String, i64)>> {
    let at = positions(db).ok()??;
    let mut by_position: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
    for (p, c) in at.iter().enumerate() {
        by_position.entry(*c).or_default().push(p as u32);
    }
    let mut out = Vec::new();
    for (c, parts) in by_position {
        for (tenant, n) in db.counts_after(c).ok()? {
            let t = (!tenant.is_empty()).then_some(tenant.as_str());
            if parts.contains(&partition(t)) {
                out.push((tenant, n));
            }
        }
    }
    out.sort();
    Some(out)
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
        self.deliver_many(std::slice::from_ref(row)).await
    }

    /// POST recorded events: one alone as its JSON object, several as a JSON array in
    /// order, each with its `seq`; signed both ways. `x-wa-event-seq` lists the seqs.
    pub async fn deliver_many(&self, rows: &[crate::storage::EventRow]) -> Delivery {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Delivery::Delivered;
        };
        let (body, id) = if rows.len() == 1 {
            (outgoing_json(first), format!("evt_{}", first.seq))
        } else {
            let items: Vec<String> = rows.iter().map(outgoing_json).collect();
            (
                format!("[{}]", items.join(",")),
                format!("evt_{}-{}", first.seq, last.seq),
            )
        };
        let body = Bytes::from(body);
        let seqs: Vec<String> = rows.iter().map(|r| r.seq.to_string()).collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut req = hyper::Request::post(&self.url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(self.secret.as_bytes(), &body))
            .header(SEQ_HEADER, seqs.join(","));
        for (name, value) in standard_webhook_headers(&self.secret, id, now, &body) {
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

/// What a lane shares with the others of its host.
struct Shared {
    db: Arc<Database>,
    sender: Sender,
    holder: String,
    poll: Duration,
    max_backoff: Duration,
    batch: usize,
    /// The log's newest seq, as last read (lanes wait on it rather than each polling).
    last_seq: watch::Receiver<i64>,
}

/// A partition's lease, renewed when a third of it has passed.
struct Held<'a> {
    shared: &'a Shared,
    name: String,
    renewed: Option<Instant>,
}

impl Held<'_> {
    /// Whether this host still holds the partition (renewing the lease when due).
    fn still(&mut self) -> bool {
        if self.renewed.is_some_and(|at| at.elapsed() < RENEW_AFTER) {
            return true;
        }
        let ttl = LEASE_TTL.as_millis() as i64;
        match self.shared.db.lease(
            &self.name,
            &self.shared.holder,
            ttl,
            crate::storage::now_ms(),
        ) {
            Ok(true) => {
                self.renewed = Some(Instant::now());
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!("forwarding: cannot renew the lease of {}: {e}", self.name);
                false
            }
        }
    }
}

/// How a chunk's delivery ended.
enum Chunk {
    /// Delivered, or put aside as dead letters.
    Done,
    /// Stopped (shutdown, the partition given back or its lease lost): not delivered.
    Stopped,
}

/// Forward partition `p` while this host holds it and `stop` is not set.
async fn lane(shared: Arc<Shared>, p: u32, mut stop: watch::Receiver<bool>) {
    let name = partition_name(p);
    let mut held = Held {
        shared: &shared,
        name: name.clone(),
        renewed: Some(Instant::now()),
    };
    let mut last_seq = shared.last_seq.clone();
    // A partition not yet started starts where the single cursor of earlier versions
    // is, or at 0. A read that fails gives the partition back (taken again later):
    // never a start at 0 by mistake, which would send its whole history again.
    let start = match shared.db.cursor(&name) {
        Ok(None) => shared.db.cursor(CURSOR).map(|c| c.unwrap_or(0)),
        other => other.map(|c| c.unwrap_or(0)),
    };
    let mut after = match start {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("forwarding partition {p}: {e}; trying again later");
            let _ = shared.db.release(&name, &shared.holder);
            return;
        }
    };
    // Where the cursor is in the database. Moved when this partition delivered something
    // (and every 10,000 events read otherwise): a restart re-reads, and skips, at most
    // those of other partitions.
    let mut persisted = after;
    let persist = |seq: i64, held: &mut Held<'_>, persisted: &mut i64| {
        if seq > *persisted && held.still() {
            match shared.db.set_cursor(&name, seq) {
                Ok(()) => *persisted = seq,
                Err(e) => tracing::error!("forwarding: cannot move {name} past {seq}: {e}"),
            }
        }
    };
    'lane: while !*stop.borrow() && held.still() {
        if *last_seq.borrow_and_update() <= after {
            // Either sender gone means the host's forwarding is over.
            tokio::select! {
                r = last_seq.changed() => if r.is_err() { break },
                r = stop.changed() => if r.is_err() { break },
                () = tokio::time::sleep(RENEW_AFTER) => {}
            }
            continue;
        }
        let rows = match shared.db.events(None, after, READ) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!("forwarding partition {p}: {e}");
                tokio::time::sleep(shared.poll).await;
                continue;
            }
        };
        let Some(end) = rows.last().map(|r| r.seq) else {
            tokio::time::sleep(shared.poll).await;
            continue;
        };
        let mine: Vec<_> = rows
            .into_iter()
            .filter(|r| partition(r.tenant.as_deref()) == p)
            .collect();
        for chunk in mine.chunks(shared.batch.max(1)) {
            match deliver_chunk(&shared, chunk, &mut stop, &mut held).await {
                Chunk::Stopped => break 'lane,
                Chunk::Done => {}
            }
            if let Some(last) = chunk.last() {
                after = last.seq;
                persist(last.seq, &mut held, &mut persisted);
            }
        }
        after = end;
        if after - persisted >= 10_000 {
            persist(after, &mut held, &mut persisted);
        }
    }
    persist(after, &mut held, &mut persisted);
    let _ = shared.db.release(&name, &shared.holder);
}

/// Deliver one chunk, retrying with backoff until delivered or put aside.
async fn deliver_chunk(
    shared: &Shared,
    chunk: &[crate::storage::EventRow],
    stop: &mut watch::Receiver<bool>,
    held: &mut Held<'_>,
) -> Chunk {
    let mut delay = Duration::from_millis(100);
    let mut refusals = 0;
    let seqs = || {
        let (first, last) = (chunk[0].seq, chunk[chunk.len() - 1].seq);
        if first == last {
            format!("event {first}")
        } else {
            format!("events {first} to {last}")
        }
    };
    loop {
        if *stop.borrow() || !held.still() {
            return Chunk::Stopped;
        }
        match shared.sender.deliver_many(chunk).await {
            Delivery::Delivered => return Chunk::Done,
            Delivery::Later(why) => {
                tracing::warn!("forwarding {}: {why}; trying again", seqs());
            }
            Delivery::Refused(why) => {
                refusals += 1;
                tracing::warn!("forwarding {}: {why}", seqs());
                if refusals >= REFUSALS_BEFORE_DEAD_LETTER {
                    // Put aside, so that what the platform will not take does not hold
                    // back every later event.
                    let now = crate::storage::now_ms();
                    let put = chunk
                        .iter()
                        .try_for_each(|r| shared.db.add_dead_letter(CURSOR, r.seq, &why, now));
                    match put {
                        Ok(()) => {
                            tracing::error!(
                                "forwarding {}: put aside as dead letters ({why}); `wa-host events dead-letters` lists and replays them",
                                seqs()
                            );
                            return Chunk::Done;
                        }
                        Err(e) => {
                            tracing::error!("forwarding {}: cannot put aside: {e}", seqs())
                        }
                    }
                }
            }
        }
        // The pause, in slices that keep the lease renewed.
        let until = Instant::now() + jitter(delay);
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            tokio::select! {
                () = tokio::time::sleep(left.min(RENEW_AFTER)) => {}
                _ = stop.changed() => return Chunk::Stopped,
            }
            if *stop.borrow() || !held.still() {
                return Chunk::Stopped;
            }
        }
        delay = (delay * 2).min(shared.max_backoff);
    }
}

impl Forwarder {
    /// Forward until `shutdown` resolves: keep this host's membership, hold an even share
    /// of the partitions, and forward each held partition in a task of its own.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        if let Ok(None) = positions(&self.db) {
            // Forwarding starts here: every event recorded so far is forwarded.
            let _ = self.db.set_cursor(CURSOR, 0);
        }
        let (seen, last_seq) = watch::channel(self.db.last_seq().unwrap_or(0));
        let shared = Arc::new(Shared {
            sender: Sender::new(&self.url, self.secret.clone()),
            db: self.db.clone(),
            holder: self.holder.clone(),
            poll: self.poll,
            max_backoff: self.max_backoff,
            batch: self.batch,
            last_seq,
        });
        let ttl = LEASE_TTL.as_millis() as i64;
        let member = member_name(&self.holder);
        // Start taking partitions at a place of this host's own, so hosts starting
        // together try different ones first.
        let offset = partition(Some(&self.holder));
        let mut lanes: BTreeMap<u32, (watch::Sender<bool>, tokio::task::JoinHandle<()>)> =
            BTreeMap::new();
        // Lanes told to stop and not yet stopped: a partition is not taken again before
        // its old lane is gone (the two would send the same events, and the old one's
        // release would drop the new one's lease).
        let mut leaving: Vec<(u32, tokio::task::JoinHandle<()>)> = Vec::new();
        let mut rebalanced: Option<Instant> = None;
        loop {
            if let Ok(n) = self.db.last_seq() {
                seen.send_if_modified(|s| std::mem::replace(s, n) != n);
            }
            if rebalanced.is_none_or(|at| at.elapsed() >= REBALANCE) {
                rebalanced = Some(Instant::now());
                lanes.retain(|_, (_, task)| !task.is_finished());
                let now = crate::storage::now_ms();
                if let Err(e) = self.db.lease(&member, &self.holder, ttl, now) {
                    tracing::warn!("forwarding: cannot renew this host's membership: {e}");
                }
                let hosts = self
                    .db
                    .leases()
                    .map(|all| {
                        all.iter()
                            .filter(|l| l.name.starts_with(MEMBERS) && l.expires_at_ms > now)
                            .count()
                    })
                    .unwrap_or(1)
                    .max(1);
                let share = PARTITIONS.div_ceil(hosts as u32) as usize;
                leaving.retain(|(_, task)| !task.is_finished());
                // Give back what is above this host's share (the highest partitions)…
                while lanes.len() > share {
                    if let Some((p, (stop, task))) = lanes.pop_last() {
                        let _ = stop.send(true);
                        leaving.push((p, task));
                    }
                }
                // …and take free partitions up to it.
                for i in 0..PARTITIONS {
                    if lanes.len() >= share {
                        break;
                    }
                    let p = (offset + i) % PARTITIONS;
                    if lanes.contains_key(&p) || leaving.iter().any(|(q, _)| *q == p) {
                        continue;
                    }
                    match self.db.lease(&partition_name(p), &self.holder, ttl, now) {
                        Ok(true) => {
                            let (stop, stopped) = watch::channel(false);
                            let task = tokio::spawn(lane(shared.clone(), p, stopped));
                            lanes.insert(p, (stop, task));
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!("forwarding: cannot take partition {p}: {e}"),
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.poll) => {}
                () = &mut shutdown => break,
            }
        }
        for (p, (stop, task)) in lanes {
            let _ = stop.send(true);
            leaving.push((p, task));
        }
        for (_, task) in leaving {
            let _ = task.await;
        }
        let _ = self.db.release(&member, &self.holder);
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
            "evt_7".into(),
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
