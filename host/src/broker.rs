//! Events onto Redis Streams: every recorded event is `XADD`ed to its tenant's stream
//! (`<prefix><tenant>`; `<prefix>_unroutable` for events no tenant owns), in the order
//! recorded, in pipelined batches, from a durable cursor of its own (`redis`).
//!
//! Why Redis Streams: platforms already run Redis, a stream per tenant is the per-tenant
//! ordered log a consumer group reads (`XREADGROUP`), and Debian ships the server. And
//! why nothing is sent twice: each entry's stream ID is the event's sequence number
//! (`<seq>-0`), and Redis refuses an ID not above the stream's last. An `XADD` tried again
//! after a crash, a lost reply or by a second host finds its entry there and counts as
//! done, so several hosts may run this sink on one database without leases and no entry
//! is ever written twice.
//!
//! The client is the few commands this needs over RESP2, written here (no client
//! library): `AUTH`, `SELECT`, pipelined `XADD … MAXLEN ~ n`. An entry's fields: `seq`,
//! `kind` and `event` (the event's JSON, as forwarding sends it).

use crate::storage::{Database, EventRow};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use zeroize::Zeroizing;

/// The sink's cursor (and dead-letter list) in the database.
pub const CURSOR: &str = "redis";
/// To connect, and for a batch's replies.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest reply line or bulk string read (an entry ID, an error message).
const MAX_REPLY: usize = 64 << 10;

/// Where the sink writes.
#[derive(Clone)]
pub struct RedisConfig {
    /// `host:port`.
    pub addr: String,
    /// `AUTH` password, if any (and user, for Redis 6 ACLs).
    pub user: Option<String>,
    /// The password.
    pub password: Option<Zeroizing<String>>,
    /// The database number (`SELECT`).
    pub db: u32,
    /// Stream names start with this.
    pub prefix: String,
    /// `MAXLEN ~` of each stream: Redis trims the oldest entries past about this many.
    pub max_len: u64,
}

impl RedisConfig {
    /// From `redis://[user][:password@]host[:port][/db]`, with stream `prefix`.
    pub fn from_url(url: &str, prefix: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or("the Redis URL must start with redis://")?;
        let (auth, hostpart) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let (hostport, db) = match hostpart.split_once('/') {
            Some((h, d)) if !d.is_empty() => (
                h,
                d.parse::<u32>()
                    .map_err(|_| "the Redis URL's database is not a number".to_string())?,
            ),
            Some((h, _)) => (h, 0),
            None => (hostpart, 0),
        };
        if hostport.is_empty() {
            return Err("the Redis URL names no host".into());
        }
        let addr = if hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            hostport.to_string()
        } else {
            format!("{hostport}:6379")
        };
        let (user, password) = match auth {
            None => (None, None),
            Some(a) => match a.split_once(':') {
                Some((u, p)) => (
                    Some(u.to_string()).filter(|u| !u.is_empty()),
                    Some(Zeroizing::new(crate::net::form_decode(p))),
                ),
                None => (Some(a.to_string()).filter(|u| !u.is_empty()), None),
            },
        };
        Ok(RedisConfig {
            addr,
            user,
            password,
            db,
            prefix: prefix.to_string(),
            max_len: 1_000_000,
        })
    }

    /// The stream an event goes to.
    pub fn stream(&self, tenant: Option<&str>) -> String {
        format!("{}{}", self.prefix, tenant.unwrap_or("_unroutable"))
    }
}

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`, or a bulk string.
    Text(String),
    /// `:n`.
    Int(i64),
    /// `-ERR …`.
    Error(String),
    /// `$-1` or `*-1`.
    Nil,
    /// `*n`.
    Array(Vec<Reply>),
}

/// A connection, authenticated and on its database.
pub struct Redis {
    io: BufReader<TcpStream>,
}

fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Redis {
    /// Connect, `AUTH` and `SELECT` as `config` says.
    pub async fn connect(config: &RedisConfig) -> Result<Self, String> {
        let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(&config.addr))
            .await
            .map_err(|_| format!("redis {}: no connection within {TIMEOUT:?}", config.addr))?
            .map_err(|e| format!("redis {}: {e}", config.addr))?;
        let _ = tcp.set_nodelay(true);
        let mut r = Redis {
            io: BufReader::new(tcp),
        };
        if let Some(p) = &config.password {
            let reply = match &config.user {
                Some(u) => r.command(&[b"AUTH", u.as_bytes(), p.as_bytes()]).await?,
                None => r.command(&[b"AUTH", p.as_bytes()]).await?,
            };
            if let Reply::Error(e) = reply {
                // The server's words, never the password.
                return Err(format!("redis {}: AUTH refused: {e}", config.addr));
            }
        }
        if config.db != 0
            && let Reply::Error(e) = r
                .command(&[b"SELECT", config.db.to_string().as_bytes()])
                .await?
        {
            return Err(format!("redis {}: SELECT {}: {e}", config.addr, config.db));
        }
        Ok(r)
    }

    /// Send one command and read its reply.
    pub async fn command(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        let mut out = Vec::new();
        encode(&mut out, args);
        self.send(&out).await?;
        self.reply().await
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        tokio::time::timeout(TIMEOUT, self.io.get_mut().write_all(bytes))
            .await
            .map_err(|_| "redis: the write timed out".to_string())?
            .map_err(|e| format!("redis: {e}"))
    }

    /// Read one reply (within [`TIMEOUT`]).
    pub async fn reply(&mut self) -> Result<Reply, String> {
        tokio::time::timeout(TIMEOUT, self.read_reply())
            .await
            .map_err(|_| "redis: no reply in time".to_string())?
    }

    async fn line(&mut self) -> Result<String, String> {
        let mut line = Vec::new();
        let n = (&mut self.io)
            .take(MAX_REPLY as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("redis: {e}"))?;
        if n == 0 {
            return Err("redis: the server closed the connection".into());
        }
        if !line.ends_with(b"\r\n") {
            return Err("redis: a reply line too long or cut".into());
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|_| "redis: a reply that is not text".into())
    }

    fn read_reply(
        &mut self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Reply, String>> + Send + '_>> {
        Box::pin(async move {
            let line = self.line().await?;
            let (kind, rest) = line.split_at(line.len().min(1));
            let number = || {
                rest.parse::<i64>()
                    .map_err(|_| format!("redis: a malformed reply {line:?}"))
            };
            Ok(match kind {
                "+" => Reply::Text(rest.to_string()),
                "-" => Reply::Error(rest.to_string()),
                ":" => Reply::Int(number()?),
                "$" => {
                    let n = number()?;
                    if n < 0 {
                        return Ok(Reply::Nil);
                    }
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    if n > MAX_REPLY {
                        return Err("redis: a reply larger than expected".into());
                    }
                    let mut buf = vec![0u8; n + 2];
                    self.io
                        .read_exact(&mut buf)
                        .await
                        .map_err(|e| format!("redis: {e}"))?;
                    buf.truncate(n);
                    Reply::Text(String::from_utf8_lossy(&buf).into_owned())
                }
                "*" => {
                    let n = number()?;
                    if n < 0 {
                        return Ok(Reply::Nil);
                    }
                    let mut items = Vec::new();
                    for _ in 0..n.min(MAX_REPLY as i64) {
                        items.push(self.read_reply().await?);
                    }
                    Reply::Array(items)
                }
                _ => return Err(format!("redis: an unknown reply {line:?}")),
            })
        })
    }

    /// `XADD` each event to its stream under ID `<seq>-0`, pipelined, in order: for each,
    /// whether it is in its stream now (added, or there already), or the error Redis gave.
    pub async fn publish(
        &mut self,
        config: &RedisConfig,
        rows: &[EventRow],
    ) -> Result<Vec<Result<(), String>>, String> {
        let max_len = config.max_len.to_string();
        let mut out = Vec::with_capacity(rows.len() * 512);
        for row in rows {
            let stream = config.stream(row.tenant.as_deref());
            let id = format!("{}-0", row.seq);
            let seq = row.seq.to_string();
            let event = crate::forward::outgoing_json(row);
            encode(
                &mut out,
                &[
                    b"XADD",
                    stream.as_bytes(),
                    b"MAXLEN",
                    b"~",
                    max_len.as_bytes(),
                    id.as_bytes(),
                    b"seq",
                    seq.as_bytes(),
                    b"kind",
                    row.kind.as_bytes(),
                    b"event",
                    event.as_bytes(),
                ],
            );
        }
        self.send(&out).await?;
        let mut results = Vec::with_capacity(rows.len());
        for _ in rows {
            results.push(match self.reply().await? {
                Reply::Text(_) => Ok(()),
                // Already there: written before a crash, a lost reply, or by another host.
                Reply::Error(e)
                    if e.contains("equal or smaller than the target stream top item") =>
                {
                    Ok(())
                }
                Reply::Error(e) => Err(e),
                other => Err(format!("an unexpected reply {other:?}")),
            });
        }
        Ok(results)
    }
}

/// Feeds the event log to Redis Streams from its own durable cursor.
pub struct BrokerSink {
    /// The event log.
    pub db: std::sync::Arc<Database>,
    /// Where to.
    pub config: RedisConfig,
    /// Events per pipelined batch.
    pub batch: u32,
    /// How often to look for new events when idle.
    pub poll: Duration,
    /// The longest pause between retries.
    pub max_backoff: Duration,
}

impl BrokerSink {
    /// Publish one batch from the cursor: how many events it moved past (0: nothing new).
    pub async fn step(&self, redis: &mut Option<Redis>) -> Result<usize, String> {
        let after = self
            .db
            .cursor(CURSOR)
            .map_err(|e| e.to_string())?
            .unwrap_or(0);
        let rows = self
            .db
            .events(None, after, self.batch)
            .map_err(|e| e.to_string())?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(0);
        };
        let conn = match redis {
            Some(c) => c,
            None => redis.insert(Redis::connect(&self.config).await?),
        };
        let results = match conn.publish(&self.config, &rows).await {
            Ok(r) => r,
            Err(e) => {
                *redis = None;
                return Err(e);
            }
        };
        for (row, r) in rows.iter().zip(results) {
            if let Err(why) = r {
                // This entry, not the connection (a key that is not a stream, say): put
                // aside, so that it does not hold back every later one.
                tracing::error!("redis sink: event {} put aside: {why}", row.seq);
                self.db
                    .add_dead_letter(CURSOR, row.seq, &why, crate::storage::now_ms())
                    .map_err(|e| e.to_string())?;
            }
        }
        self.db
            .set_cursor(CURSOR, last)
            .map_err(|e| e.to_string())?;
        Ok(rows.len())
    }

    /// Publish until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut redis = None;
        let mut delay = Duration::from_millis(100);
        loop {
            let pause = match self.step(&mut redis).await {
                Ok(0) => self.poll,
                Ok(_) => {
                    delay = Duration::from_millis(100);
                    continue;
                }
                Err(e) => {
                    tracing::warn!("redis sink: {e}; trying again");
                    let d = crate::forward::jitter(delay);
                    delay = (delay * 2).min(self.max_backoff);
                    d
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = &mut shutdown => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_address_credentials_and_database() {
        let c = RedisConfig::from_url("redis://:s%40cret@10.0.0.5:6380/2", "wa:").unwrap();
        assert_eq!(
            (c.addr.as_str(), c.db, c.user.as_deref()),
            ("10.0.0.5:6380", 2, None)
        );
        assert_eq!(c.password.as_deref().map(|p| p.as_str()), Some("s@cret"));
        let c = RedisConfig::from_url("redis://cache", "wa:").unwrap();
        assert_eq!((c.addr.as_str(), c.db), ("cache:6379", 0));
        assert_eq!(c.stream(Some("acme")), "wa:acme");
        assert_eq!(c.stream(None), "wa:_unroutable");
        assert!(RedisConfig::from_url("http://x", "wa:").is_err());
        assert!(RedisConfig::from_url("redis://x/db", "wa:").is_err());
    }

    #[test]
    fn commands_are_resp_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        encode(&mut out, &[b"XADD", b"s", b"1-0"]);
        assert_eq!(out, b"*3\r\n$4\r\nXADD\r\n$1\r\ns\r\n$3\r\n1-0\r\n");
    }
}
