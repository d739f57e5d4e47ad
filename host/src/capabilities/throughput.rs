//! `whatsapp:cloud-api/pacing`: Meta's throughput per sending number and per recipient
//! pair, and the pauses before another try of a send Meta refused as throttled (doubling,
//! with jitter). The component asks before each message and after each throttle; which
//! refusals are throttles is its call, the waiting too.
//!
//! Shared by every instance of the host (one [`Throughput`] in [`crate::Services`]), so
//! that a campaign spread over many instances still keeps to the number's rate.

use crate::bindings::whatsapp::cloud_api::pacing as wit;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Meta's default throughput per phone number, messages per second.
pub const DEFAULT_MPS: u32 = 80;
/// The highest throughput Meta grants a number.
pub const MAX_MPS: u32 = 1000;
/// Pair rate: one message every 6 seconds to the same user, after a burst of up to 45
/// (Cloud API throughput documentation, "pair rate limit", error 131056).
pub const PAIR_INTERVAL: Duration = Duration::from_secs(6);
/// The pair-rate burst.
pub const PAIR_BURST: f64 = 45.0;
/// Buckets kept (numbers, pairs) before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;
/// The longest number, recipient or scope an instance may name (longer ones trap it): a
/// BSUID is up to 131 bytes.
const MAX_KEY: usize = 256;

/// A token bucket: `capacity` tokens, refilled at `rate` per second.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(capacity: f64, rate: f64, now: Instant) -> Self {
        Bucket {
            tokens: capacity,
            capacity,
            rate,
            last: now,
        }
    }

    /// Take a token at `now`; how long the caller must wait before it may go. Tokens may
    /// go negative: each caller reserves its slot, so waits queue up in order.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }

    /// Refill at `rate` from now on (a number's ceiling changed), holding at most a
    /// second's worth.
    fn set_rate(&mut self, rate: f64) {
        if self.rate != rate {
            self.rate = rate;
            self.capacity = rate;
            self.tokens = self.tokens.min(rate);
        }
    }

    fn idle(&self, now: Instant) -> bool {
        self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * self.rate
            >= self.capacity
    }
}

/// The host's pacing and retry policy.
#[derive(Debug)]
pub struct Throughput {
    mps: u32,
    pair_burst: f64,
    /// How many times a throttled send is tried again.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it, plus up to as much again of jitter.
    pub base_backoff: Duration,
    numbers: Mutex<HashMap<String, Bucket>>,
    pairs: Mutex<HashMap<(String, String), Bucket>>,
    /// The reach of each scope, for a host that keeps no outbox database: member →
    /// latest reach (Unix milliseconds), per scope.
    reached: Mutex<HashMap<String, HashMap<String, i64>>>,
}

impl Default for Throughput {
    fn default() -> Self {
        Throughput::new(DEFAULT_MPS)
    }
}

impl Throughput {
    /// Pacing at `mps` messages per second per number (clamped to 1..=1000).
    pub fn new(mps: u32) -> Self {
        Throughput {
            mps: mps.clamp(1, MAX_MPS),
            pair_burst: PAIR_BURST,
            max_retries: 3,
            base_backoff: Duration::from_millis(500),
            numbers: Mutex::default(),
            pairs: Mutex::default(),
            reached: Mutex::default(),
        }
    }

    /// [`OutboxBackend::outbox_reach`](crate::storage::outbox::OutboxBackend::outbox_reach)
    /// in this process's memory, for a host without an outbox database.
    pub fn reach(
        &self,
        scope: &str,
        member: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Option<i64> {
        let mut all = self.reached.lock().unwrap_or_else(|p| p.into_inner());
        let reached = all.entry(scope.to_string()).or_default();
        reached.retain(|_, at| *at > now_ms.saturating_sub(window_ms));
        if let Some(at) = reached.get_mut(member) {
            *at = now_ms.max(*at);
            return None;
        }
        if reached.len() >= limit as usize {
            return reached.values().min().map(|t| t.saturating_add(window_ms));
        }
        reached.insert(member.to_string(), now_ms);
        None
    }

    /// From `WA_MPS_PER_NUMBER`, else the default.
    pub fn from_env() -> Self {
        let mps = std::env::var("WA_MPS_PER_NUMBER")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MPS);
        Throughput::new(mps)
    }

    /// A different pair-rate burst (a load test sending many messages to one sandbox
    /// recipient; Meta's is 45).
    pub fn with_pair_burst(mut self, burst: u32) -> Self {
        self.pair_burst = f64::from(burst.max(1));
        self
    }

    /// The pace per number.
    pub fn mps(&self) -> u32 {
        self.mps
    }

    /// How long a send from `number` to `recipient` (when known) must wait at `now`.
    /// `ceiling`: the most messages per second Meta allows the number whatever this
    /// host's pace (the component's call; 0 for none).
    pub fn reserve(
        &self,
        number: &str,
        recipient: Option<&str>,
        ceiling: u32,
        now: Instant,
    ) -> Duration {
        let rate = f64::from(match ceiling {
            0 => self.mps,
            c => self.mps.min(c),
        });
        let by_number = {
            let mut m = self.numbers.lock().unwrap_or_else(|p| p.into_inner());
            if m.len() >= MAX_BUCKETS {
                m.retain(|_, b| !b.idle(now));
            }
            let b = m
                .entry(number.to_string())
                .or_insert_with(|| Bucket::new(rate, rate, now));
            b.set_rate(rate);
            b.reserve(now)
        };
        let by_pair = match recipient {
            None => Duration::ZERO,
            Some(r) => {
                let mut m = self.pairs.lock().unwrap_or_else(|p| p.into_inner());
                if m.len() >= MAX_BUCKETS {
                    m.retain(|_, b| !b.idle(now));
                }
                m.entry((number.to_string(), r.to_string()))
                    .or_insert_with(|| {
                        Bucket::new(self.pair_burst, 1.0 / PAIR_INTERVAL.as_secs_f64(), now)
                    })
                    .reserve(now)
            }
        };
        by_number.max(by_pair)
    }

    /// The pause before retry `attempt` (1-based): doubling, plus random jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .base_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        let mut r = [0u8; 4];
        getrandom::fill(&mut r).expect("the OS random source");
        let jitter = f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX);
        base + self.base_backoff.mul_f64(jitter)
    }
}

/// The pacing one instance sees: the host's shared [`Throughput`], and for the messaging
/// limit its tenant and the outbox's database (none: this process's memory).
pub struct Pacing<'a> {
    /// The host's pacing.
    pub throughput: &'a Throughput,
    /// The instance's tenant: its scopes are its own.
    pub tenant: &'a str,
    /// Where the reach of a scope is counted across hosts.
    pub outbox: Option<&'a crate::capabilities::outbox::OutboxService>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl wit::Host for Pacing<'_> {
    fn reserve(
        &mut self,
        number: String,
        recipient: String,
        ceiling: u32,
    ) -> wasmtime::Result<u64> {
        if number.len() > MAX_KEY || recipient.len() > MAX_KEY {
            wasmtime::bail!("pacing.reserve: a number or recipient longer than {MAX_KEY} bytes");
        }
        Ok(nanos(self.throughput.reserve(
            &number,
            Some(&recipient),
            ceiling,
            Instant::now(),
        )))
    }

    fn retry(&mut self, attempt: u32) -> wasmtime::Result<Option<u64>> {
        if attempt == 0 || attempt > self.throughput.max_retries {
            return Ok(None);
        }
        tracing::info!(
            "throttled by Meta; retry {attempt} of {}",
            self.throughput.max_retries
        );
        Ok(Some(nanos(self.throughput.backoff(attempt))))
    }

    fn reach(
        &mut self,
        scope: String,
        member: String,
        limit: u32,
        window_ms: u64,
    ) -> wasmtime::Result<Result<Option<u64>, String>> {
        if scope.len() > MAX_KEY || member.len() > MAX_KEY {
            wasmtime::bail!("pacing.reach: a scope or member longer than {MAX_KEY} bytes");
        }
        // Each tenant's scopes are its own.
        let scope = format!("{}/{scope}", self.tenant);
        let window = i64::try_from(window_ms).unwrap_or(i64::MAX);
        let now = crate::storage::now_ms();
        let until = match self.outbox {
            Some(o) => match o.store().map_err(|e| e.message).and_then(|s| {
                s.outbox_reach(&scope, &member, limit, window, now)
                    .map_err(|e| e.to_string())
            }) {
                Ok(u) => u,
                Err(e) => {
                    tracing::error!("tenant {}: the messaging limit's count: {e}", self.tenant);
                    return Ok(Err(format!("the messaging limit's count: {e}")));
                }
            },
            None => self.throughput.reach(&scope, &member, limit, window, now),
        };
        Ok(Ok(until.map(|t| u64::try_from(t).unwrap_or(0))))
    }
}

struct PacingCap;

impl wasmtime::component::HasData for PacingCap {
    type Data<'a> = Pacing<'a>;
}

/// Add the pacing import to a linker.
pub fn add_to_linker<T: 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> Pacing<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, PacingCap>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_bursts_to_its_rate_then_paces() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10.0, 10.0, t0);
        for _ in 0..10 {
            assert_eq!(b.reserve(t0), Duration::ZERO);
        }
        // The 11th waits a tenth of a second, the 12th two tenths: slots queue up.
        assert!((b.reserve(t0).as_secs_f64() - 0.1).abs() < 1e-9);
        assert!((b.reserve(t0).as_secs_f64() - 0.2).abs() < 1e-9);
        // A second later the bucket has refilled ten tokens, less the two borrowed.
        let t1 = t0 + Duration::from_secs(1);
        let waits: Vec<Duration> = (0..9).map(|_| b.reserve(t1)).collect();
        assert_eq!(waits.iter().filter(|w| w.is_zero()).count(), 8);
    }

    #[test]
    fn pairs_are_paced_apart_from_the_number() {
        let t = Throughput::new(1000);
        let now = Instant::now();
        for _ in 0..45 {
            assert_eq!(t.reserve("P", Some("A"), 0, now), Duration::ZERO);
        }
        let wait = t.reserve("P", Some("A"), 0, now);
        assert!(
            wait >= Duration::from_secs(5) && wait <= PAIR_INTERVAL,
            "{wait:?}"
        );
        assert_eq!(
            t.reserve("P", Some("B"), 0, now),
            Duration::ZERO,
            "another recipient is not held up"
        );
        assert_eq!(Throughput::new(5000).mps(), MAX_MPS);
    }

    #[test]
    fn a_ceiling_lowers_a_numbers_pace_below_the_hosts() {
        // A number shared with the WhatsApp Business app: 20 a second though the host
        // paces 80; the same number without the ceiling goes back to the host's pace.
        let t = Throughput::new(80);
        let now = Instant::now();
        let waits: Vec<Duration> = (0..21)
            .map(|n| t.reserve("P", Some(&n.to_string()), 20, now))
            .collect();
        assert_eq!(waits.iter().filter(|w| w.is_zero()).count(), 20);
        assert!(
            (waits[20].as_secs_f64() - 0.05).abs() < 1e-9,
            "{:?}",
            waits[20]
        );
        let later = now + Duration::from_secs(2);
        let free = (0..80)
            .filter(|n| t.reserve("P", Some(&format!("x{n}")), 0, later).is_zero())
            .count();
        assert_eq!(free, 80);
        // A ceiling above the host's pace changes nothing.
        let q = Throughput::new(10);
        let free = (0..11)
            .filter(|n| q.reserve("Q", Some(&n.to_string()), 20, now).is_zero())
            .count();
        assert_eq!(free, 10);
    }

    #[test]
    fn retries_pause_longer_each_time_up_to_the_hosts_limit() {
        let t = Throughput::new(80);
        let mut p = Pacing {
            throughput: &t,
            tenant: "acme",
            outbox: None,
        };
        let b1 = wit::Host::retry(&mut p, 1).unwrap().unwrap();
        let base = nanos(t.base_backoff);
        assert!(b1 >= base && b1 <= 2 * base, "{b1}");
        assert!(wit::Host::retry(&mut p, 3).unwrap().unwrap() >= 4 * base);
        assert_eq!(wit::Host::retry(&mut p, t.max_retries + 1).unwrap(), None);
        assert_eq!(wit::Host::retry(&mut p, 0).unwrap(), None);
        assert_eq!(
            wit::Host::reserve(&mut p, "P".into(), "A".into(), 0).unwrap(),
            0
        );
        assert!(wit::Host::reserve(&mut p, "P".repeat(MAX_KEY + 1), "A".into(), 0).is_err());
    }

    #[test]
    fn without_a_database_reach_is_counted_in_memory_per_tenant() {
        let t = Throughput::new(80);
        let reach = |tenant: &str, member: &str| {
            let mut p = Pacing {
                throughput: &t,
                tenant,
                outbox: None,
            };
            wit::Host::reach(&mut p, "waba".into(), member.into(), 1, 60_000)
                .unwrap()
                .unwrap()
        };
        assert_eq!(reach("acme", "a"), None);
        assert_eq!(reach("acme", "a"), None, "counted once");
        let until = reach("acme", "b").expect("full");
        let now = crate::storage::now_ms() as u64;
        assert!(until > now && until <= now + 60_000, "{until}");
        assert_eq!(reach("globex", "b"), None, "another tenant's count");
    }
}
