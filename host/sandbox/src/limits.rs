//! Meta's sending limits, as the sandbox keeps them when asked ([`crate::SandboxConfig`]):
//! throughput per number (130429), the pair rate (131056), a template Meta pauses after
//! some sends (then 132015), the per-user marketing limit (a 131049 `failed` status),
//! the business portfolio's messaging limit (users reached outside the window in 24
//! hours), statuses that arrive late, twice and out of order, and each message's history
//! (`GET /{phone-number-id}/message_history`). `GET /sandbox/limits` counts what it
//! refused, so a test can hold a sender to zero.

use crate::net::{self, Resp};
use crate::{Sandbox, graph_error, now_secs};
use hyper::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Messages whose history is kept.
const HISTORY_KEPT: usize = 100_000;

/// What the sandbox counts and remembers of the limits.
#[derive(Default)]
pub(crate) struct Limits {
    /// Per number: a token bucket of a second's worth of `mps_per_number`.
    numbers: HashMap<String, (f64, Instant)>,
    /// Per (number, user): a token bucket of the pair rate.
    pairs: HashMap<(String, String), (f64, Instant)>,
    /// Accepted sends per template name (for `pause_template_after`).
    template_sends: HashMap<String, u64>,
    throughput_refusals: u64,
    pair_refusals: u64,
    paused_refusals: u64,
    /// Each message's statuses, by `wamid`: its number and (status, time, webhook
    /// state) in the order they were posted.
    history: HashMap<String, (String, Vec<(String, u64, &'static str)>)>,
    history_order: std::collections::VecDeque<String>,
    /// The portfolio's reach: each user reached outside the window, by when it was last
    /// reached (Unix seconds).
    reached: HashMap<String, u64>,
    /// Sends refused for passing the messaging limit.
    messaging_limit_refusals: u64,
    /// The most users reached in any 24 hours so far.
    reached_peak: usize,
}

pub(crate) fn limits(s: &Sandbox) -> std::sync::MutexGuard<'_, Limits> {
    s.limits.lock().unwrap_or_else(|p| p.into_inner())
}

/// Take a token from a bucket of `capacity` refilled at `rate` a second; whether there was one.
fn take(bucket: &mut (f64, Instant), capacity: f64, rate: f64, now: Instant) -> bool {
    let (tokens, last) = bucket;
    *tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * rate).min(capacity);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

/// Refuse a send Meta's limits would refuse now: the number's throughput, the pair rate,
/// a paused or disabled template. None lets it through (and counts it against them).
pub(crate) fn check(s: &Sandbox, pnid: &str, wa_id: &str, v: &Value) -> Option<Resp> {
    let template = match (
        v["template"]["name"].as_str(),
        v["template"]["language"]["code"].as_str(),
    ) {
        (Some(n), Some(l)) => Some((n, l)),
        _ => None,
    };
    if let Some((name, language)) = template {
        let status = crate::templates::status_of(s, &s.config.waba_id, name, language);
        let refusal = match status.as_deref() {
            Some("PAUSED") => Some((132015, "(#132015) Template is paused")),
            Some("DISABLED") => Some((132016, "(#132016) Template is disabled")),
            _ => None,
        };
        if let Some((code, message)) = refusal {
            limits(s).paused_refusals += 1;
            return Some(graph_error(StatusCode::BAD_REQUEST, code, None, message));
        }
    }
    let now = Instant::now();
    let mut l = limits(s);
    if let Some(mps) = s.config.mps_per_number {
        let mps = f64::from(mps.max(1));
        let bucket = l.numbers.entry(pnid.to_string()).or_insert((mps, now));
        if !take(bucket, mps, mps, now) {
            l.throughput_refusals += 1;
            return Some(graph_error(
                StatusCode::BAD_REQUEST,
                130429,
                None,
                "(#130429) Rate limit hit",
            ));
        }
    }
    if let Some((burst, interval)) = s.config.pair_limit {
        let burst = f64::from(burst.max(1));
        let rate = 1.0 / interval.as_secs_f64().max(0.001);
        let bucket = l
            .pairs
            .entry((pnid.to_string(), wa_id.to_string()))
            .or_insert((burst, now));
        if !take(bucket, burst, rate, now) {
            l.pair_refusals += 1;
            return Some(graph_error(
                StatusCode::BAD_REQUEST,
                131056,
                None,
                "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            ));
        }
    }
    None
}

/// Count a send that reaches `wa_id` outside the window toward the portfolio's messaging
/// limit, or refuse it when the limit is full (Meta documents no error of its own for
/// this: the sandbox's is 131000 with its reason). None lets it through.
pub(crate) fn reach(s: &Sandbox, wa_id: &str, window_open: bool) -> Option<Resp> {
    let limit = s.config.messaging_limit?;
    if window_open {
        return None;
    }
    let now = now_secs();
    let mut l = limits(s);
    l.reached.retain(|_, at| now < *at + crate::WINDOW_SECS);
    if !l.reached.contains_key(wa_id) && l.reached.len() >= limit as usize {
        l.messaging_limit_refusals += 1;
        return Some(graph_error(
            StatusCode::BAD_REQUEST,
            131000,
            None,
            "(#131000) Something went wrong: the business portfolio's messaging limit is reached (sandbox)",
        ));
    }
    l.reached.insert(wa_id.to_string(), now);
    l.reached_peak = l.reached_peak.max(l.reached.len());
    None
}

/// The portfolio's messaging limit as Meta names it (`TIER_250`, `TIER_2K`,
/// `TIER_UNLIMITED`).
pub(crate) fn tier(s: &Sandbox) -> String {
    match s.config.messaging_limit {
        None => "TIER_UNLIMITED".into(),
        Some(n) if n >= 1000 && n % 1000 == 0 => format!("TIER_{}K", n / 1000),
        Some(n) => format!("TIER_{n}"),
    }
}

/// After an accepted send: the template's count, and whether Meta pauses it now.
pub(crate) fn sent_template(s: &Sandbox, v: &Value) -> Option<String> {
    let (name, after) = s.config.pause_template_after.as_ref()?;
    if v["template"]["name"].as_str() != Some(name) {
        return None;
    }
    let mut l = limits(s);
    let n = l.template_sends.entry(name.clone()).or_insert(0);
    *n += 1;
    (*n == *after).then(|| name.clone())
}

/// Whether `wa_id` has reached Meta's per-user marketing limit (one user in
/// `marketing_limited_one_in`, by the number's value).
pub(crate) fn marketing_limited(s: &Sandbox, wa_id: &str, v: &Value) -> bool {
    let Some(n) = s.config.marketing_limited_one_in.filter(|n| *n > 0) else {
        return false;
    };
    let marketing = match (
        v["template"]["name"].as_str(),
        v["template"]["language"]["code"].as_str(),
    ) {
        (Some(name), Some(l)) => crate::templates::find(s, &s.config.waba_id, name, l)
            .is_some_and(|(_, category)| category == "MARKETING"),
        _ => false,
    };
    marketing && wa_id.parse::<u64>().is_ok_and(|w| w % n == 0)
}

/// The statuses of one message in the order they are posted, with the pause before
/// each: in order, or (`chaotic_statuses`) shuffled, one of them twice, each late.
pub(crate) fn schedule(s: &Sandbox, statuses: &[&'static str]) -> Vec<(&'static str, Duration)> {
    let step = s.config.status_delay;
    if !s.config.chaotic_statuses {
        return statuses.iter().map(|st| (*st, step)).collect();
    }
    let mut out: Vec<&'static str> = statuses.to_vec();
    let r = crate::random_bytes::<8>();
    out.push(statuses[usize::from(r[0]) % statuses.len()]);
    for i in (1..out.len()).rev() {
        let j = usize::from(r[i % 8]) % (i + 1);
        out.swap(i, j);
    }
    out.into_iter()
        .enumerate()
        .map(|(i, st)| (st, step * (1 + u32::from(r[(i + 3) % 8]) % 10)))
        .collect()
}

/// Keep an accepted message for its history (with no events yet: Meta has it, its
/// statuses are to come).
pub(crate) fn record_message(s: &Sandbox, pnid: &str, wamid: &str) {
    let mut l = limits(s);
    if l.history_order.len() >= HISTORY_KEPT
        && let Some(old) = l.history_order.pop_front()
    {
        l.history.remove(&old);
    }
    l.history_order.push_back(wamid.to_string());
    l.history
        .insert(wamid.to_string(), (pnid.to_string(), Vec::new()));
}

/// A status of a message about to be posted: its place among the message's events.
pub(crate) fn record_status(s: &Sandbox, wamid: &str, status: &str) -> Option<usize> {
    let mut l = limits(s);
    let events = &mut l.history.get_mut(wamid)?.1;
    events.push((status.to_string(), now_secs(), "PENDING"));
    Some(events.len() - 1)
}

/// Whether the webhook of event `at` of a message was delivered, or given up on.
pub(crate) fn posted(s: &Sandbox, wamid: &str, at: Option<usize>, delivered: bool) {
    let mut l = limits(s);
    if let Some(e) = at.and_then(|i| l.history.get_mut(wamid)?.1.get_mut(i)) {
        e.2 = if delivered { "DELIVERED" } else { "FAILED" };
    }
}

/// `GET /{phone-number-id}/message_history[?message_id=…]`: each message's delivery
/// events, newest message first, 25 a page (`limit` up to 100).
pub(crate) fn history(s: &Sandbox, pnid: &str, query: &str) -> Resp {
    let param = |k: &str| {
        query.split('&').find_map(|p| {
            p.split_once('=')
                .filter(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    };
    let wanted = param("message_id").map(|m| m.replace("%3D", "="));
    let limit = param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let l = limits(s);
    let data: Vec<Value> = l
        .history_order
        .iter()
        .rev()
        .filter(|w| wanted.as_ref().is_none_or(|m| m == *w))
        .filter_map(|w| l.history.get(w).map(|h| (w, h)))
        .filter(|(_, (number, _))| number == pnid)
        .take(limit)
        .enumerate()
        .map(|(i, (wamid, (_, events)))| {
            let events: Vec<Value> = events
                .iter()
                .enumerate()
                .map(|(j, (st, at, hook))| {
                    json!({ "id": format!("{}{j}", 7000 + i), "delivery_status": st.to_uppercase(),
                        "webhook_update_state": hook, "timestamp": at })
                })
                .collect();
            json!({ "id": format!("{}", 9_000_000 + i), "message_id": wamid, "events": { "data": events } })
        })
        .collect();
    net::json(StatusCode::OK, &json!({ "data": data }))
}

/// Sends refused for throughput or the pair rate.
pub(crate) fn refused(s: &Sandbox) -> u64 {
    let l = limits(s);
    l.throughput_refusals + l.pair_refusals
}

/// `GET /sandbox/limits`: what the sandbox refused for Meta's limits.
pub(crate) fn counts(s: &Sandbox) -> Resp {
    let l = limits(s);
    net::json(
        StatusCode::OK,
        &json!({ "throughput_refusals": l.throughput_refusals, "pair_refusals": l.pair_refusals,
            "paused_refusals": l.paused_refusals,
            "messaging_limit": s.config.messaging_limit, "messaging_limit_refusals": l.messaging_limit_refusals,
            "reached_24h": l.reached.len(), "reached_peak": l.reached_peak }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_a_seconds_worth_then_paces() {
        let t0 = Instant::now();
        let mut b = (3.0, t0);
        assert!((0..3).all(|_| take(&mut b, 3.0, 3.0, t0)));
        assert!(!take(&mut b, 3.0, 3.0, t0));
        assert!(take(&mut b, 3.0, 3.0, t0 + Duration::from_millis(340)));
    }
}
