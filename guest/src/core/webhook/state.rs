//! The state events keep, as decisions over values: which status a message stands at
//! (monotonic), whether a contact has stopped marketing messages, when a contact last
//! wrote (the 24-hour window), what a template's status is. [`keep`] applies what an
//! event changes to a [`Store`] of the tenant's key-value buckets, under the keys named
//! here: the component's store is `wasi:keyvalue`, the bench's native baseline its own.
//!
//! Every decision holds when an event comes again or late: deliveries are deduplicated
//! once, by the host (its record of events), and the state a redelivery passes through
//! must not move back. A status only moves forward, a last inbound time only later, and
//! consent and a template's cache keep the time of the change they hold and refuse an
//! older one.

use super::types::{
    DeliveryStatus, Event, EventBody, MessageContent, TemplateUpdate, TemplateUpdateKind,
    UserPreference,
};
use crate::core::error::GraphError;
use crate::core::ids::concat;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Per-contact state: last inbound time and consent.
pub const CONTACTS_BUCKET: &str = "contacts";
/// Per-message delivery state.
pub const STATUS_BUCKET: &str = "statuses";
/// Template definitions and statuses by `name:language`.
pub const TEMPLATES_BUCKET: &str = "templates";

/// The identity a contact's state is kept under: its `wa_id` (the phone number) when Meta
/// gives one, otherwise its business-scoped user id (BSUID, `CC.` and up to 128
/// alphanumerics), which is all Meta gives of a user who hides the number behind a
/// username. The two never collide (a BSUID has a `.`, a `wa_id` is digits). `None`
/// when the event names neither: such state is not kept rather than kept under `""`,
/// where every such contact would share one window and one consent.
///
/// Source: Meta, "Business-scoped user IDs" (webhooks carry `user_id` always and
/// `wa_id` only when the number may be shared).
pub fn contact_id<'a>(wa_id: Option<&'a str>, user_id: Option<&'a str>) -> Option<&'a str> {
    let given = |s: Option<&'a str>| s.filter(|s| !s.trim().is_empty());
    given(wa_id).or(given(user_id))
}

/// The key of a contact's last inbound time to one of the tenant's numbers (Unix
/// seconds, decimal): Meta's 24-hour window is per business number and customer.
/// `contact` is a [`contact_id`].
pub fn last_inbound_key(phone_number_id: &str, contact: &str) -> String {
    concat(&["last-inbound:", phone_number_id, ":", &bounded(contact)])
}

/// The key of a contact's marketing consent (see [`consent_value`]); `contact` is a
/// [`contact_id`].
pub fn consent_key(contact: &str) -> String {
    concat(&["consent:", &bounded(contact)])
}

/// The key of the portfolio's messaging limit in [`CONTACTS_BUCKET`] (every contact key has
/// a `:`, this one none): the number of users (-1 unlimited) and when it was learned, `{n}@{unix
/// seconds}`, as a consent is kept ([`read_consent`] reads it).
pub const LIMIT_KEY: &str = "limit";

/// The key under which a BSUID names the `wa_id` a webhook revealed for it.
pub fn bsuid_key(user_id: &str) -> String {
    concat(&["bsuid:", &bounded(user_id)])
}

/// A consent as stored: `stopped@<unix seconds>` or `ok@<unix seconds>`, the time of the
/// message or preference that gave it.
pub fn consent_value(c: Consent, at: u64) -> String {
    stamped(c.as_str(), at)
}

/// A value and when it was given, `{value}@{unix seconds}`, as consents and the
/// messaging limit are kept ([`read_consent`] reads it back).
pub fn stamped(value: impl std::fmt::Display, at: u64) -> String {
    format!("{value}@{at}")
}

/// A stored consent read back: `stopped` or `ok`, and when it was given (0 for a value
/// stored without a time).
pub fn read_consent(stored: &str) -> (&str, u64) {
    match stored.split_once('@') {
        Some((state, at)) => (state, at.parse().unwrap_or(0)),
        None => (stored, 0),
    }
}

/// Whether a consent change given at `at` replaces what is stored: not when the stored
/// one is newer (a late or redelivered STOP does not undo a later START).
pub fn consent_applies(stored: Option<&str>, at: u64) -> bool {
    stored.is_none_or(|v| at >= read_consent(v).1)
}

/// The key of a template in the cache.
pub fn template_key(name: &str, language: &str) -> String {
    concat(&[name, ":", language])
}

/// The key of a message's delivery state: its id, [`bounded`].
pub fn status_key(message_id: &str) -> String {
    bounded(message_id).into_owned()
}

/// An id from a webhook as it goes into a key: itself, or its digest when it is longer
/// than 200 bytes. The WIT's key-value store takes keys up to 1 KiB; Meta's ids are far
/// shorter, a malformed body's need not be, and a key refused would fail the whole POST
/// (and Meta would retry it for days).
pub fn bounded(id: &str) -> std::borrow::Cow<'_, str> {
    if id.len() <= 200 {
        id.into()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(id.as_bytes()))).into()
    }
}

/// The tenant's key-value buckets, as the state reads and writes them.
pub trait Store {
    /// What the store fails with.
    type Error;
    /// The value under `key` in `bucket`.
    fn get(&mut self, bucket: &'static str, key: &str) -> Result<Option<Vec<u8>>, Self::Error>;
    /// Store `value` under `key` in `bucket`.
    fn set(&mut self, bucket: &'static str, key: &str, value: &[u8]) -> Result<(), Self::Error>;
}

/// The opt-out and opt-in keywords an inbound text is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Keywords<'a> {
    /// Texts that stop marketing messages.
    pub opt_out: &'a [String],
    /// Texts that allow them again.
    pub opt_in: &'a [String],
}

/// Keep what event `e` changes: a message moves its sender's last inbound time forward
/// and may change consent (a keyword), a status moves its message forward, a
/// preference changes consent, a template update changes the cached template. `now`
/// (Unix seconds) is read only for an event with no time of its own.
pub fn keep<S: Store>(
    store: &mut S,
    keywords: Keywords,
    e: &Event,
    now: fn() -> u64,
) -> Result<(), S::Error> {
    let at = e.timestamp.unwrap_or_else(now);
    match &e.body {
        EventBody::Message(m) => {
            let contact = e.contact.as_ref();
            let wa_id = contact_id(contact.and_then(|c| c.wa_id.as_deref()), Some(&m.from));
            let user_id = contact_id(
                contact.and_then(|c| c.user_id.as_deref()),
                m.from_user_id.as_deref(),
            );
            let Some(id) = wa_id.or(user_id) else {
                return Ok(());
            };
            let number = e.routing.phone_number_id.as_deref().unwrap_or_default();
            if let (Some(wa_id), Some(user_id)) = (wa_id, user_id) {
                link(store, number, user_id, wa_id)?;
            }
            set_last_inbound(store, number, id, at)?;
            if let MessageContent::Text(t) = &m.content
                && let Some(c) = consent_from_text(t, keywords.opt_out, keywords.opt_in)
            {
                set_consent(store, id, c, at)?;
            }
        }
        EventBody::Status(s) => {
            let current = delivery_state(store, &s.message_id)?;
            if let Some(next) = reduce(current.as_ref(), s.status, &s.errors) {
                let json = crate::core::encoding::json_bytes(&next);
                store.set(STATUS_BUCKET, &status_key(&s.message_id), &json)?;
            }
        }
        EventBody::Preference(p) => {
            if let (Some(c), Some(id)) = (
                consent_from_preference(p),
                contact_id(p.wa_id.as_deref(), p.user_id.as_deref()),
            ) {
                set_consent(store, id, c, at)?;
            }
        }
        EventBody::Capability(c) => {
            if let Some(n) = c.messaging_limit {
                let stored = text(store.get(CONTACTS_BUCKET, LIMIT_KEY)?);
                if consent_applies(stored.as_deref(), at) {
                    store.set(CONTACTS_BUCKET, LIMIT_KEY, stamped(n, at).as_bytes())?;
                }
            }
        }
        EventBody::Template(t) => {
            if let (Some(name), Some(lang)) = (&t.name, &t.language) {
                let key = template_key(name, lang);
                let current = store
                    .get(TEMPLATES_BUCKET, &key)?
                    .and_then(|v| serde_json::from_slice(&v).ok());
                if let Some(next) = apply_template_update(current, t, at) {
                    let json = crate::core::encoding::json_bytes(&next);
                    store.set(TEMPLATES_BUCKET, &key, &json)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Note that `user_id` is `wa_id`'s BSUID, the first time a webhook shows both: what was
/// kept under the BSUID while it was all Meta gave (consent, and the window to this
/// `number`) moves to the `wa_id`, unless the `wa_id` holds something newer.
fn link<S: Store>(store: &mut S, number: &str, user_id: &str, wa_id: &str) -> Result<(), S::Error> {
    let key = bsuid_key(user_id);
    if store.get(CONTACTS_BUCKET, &key)?.as_deref() == Some(wa_id.as_bytes()) {
        return Ok(());
    }
    store.set(CONTACTS_BUCKET, &key, wa_id.as_bytes())?;
    if let Some(t) = last_inbound(store, number, user_id)? {
        set_last_inbound(store, number, wa_id, t)?;
    }
    match store.get(CONTACTS_BUCKET, &consent_key(user_id))? {
        Some(v) => {
            let at = read_consent(std::str::from_utf8(&v).unwrap_or("")).1;
            put_consent(store, wa_id, &v, at)
        }
        None => Ok(()),
    }
}

/// A contact's last inbound time to `number`, as stored.
fn last_inbound<S: Store>(
    store: &mut S,
    number: &str,
    contact: &str,
) -> Result<Option<u64>, S::Error> {
    Ok(store
        .get(CONTACTS_BUCKET, &last_inbound_key(number, contact))?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse::<u64>().ok()))
}

/// Store `at` as the contact's last inbound time to `number`, unless a later one is stored.
fn set_last_inbound<S: Store>(
    store: &mut S,
    number: &str,
    contact: &str,
    at: u64,
) -> Result<(), S::Error> {
    if last_inbound(store, number, contact)?.is_none_or(|t| at > t) {
        store.set(
            CONTACTS_BUCKET,
            &last_inbound_key(number, contact),
            at.to_string().as_bytes(),
        )?;
    }
    Ok(())
}

/// What is kept of a contact a message is about to go to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactState {
    /// Its last inbound time to the sending number (Unix seconds).
    pub last_inbound: Option<u64>,
    /// Its consent as stored ([`consent_value`]).
    pub consent: Option<String>,
}

/// What is kept of `contact` (a [`contact_id`]) for a send from `number`. For a BSUID
/// whose number a webhook revealed, the later window and the newer consent of the two
/// (what came after the link is kept under the number).
pub fn contact_state<S: Store>(
    store: &mut S,
    number: &str,
    contact: &str,
) -> Result<ContactState, S::Error> {
    let mut state = ContactState {
        last_inbound: last_inbound(store, number, contact)?,
        consent: text(store.get(CONTACTS_BUCKET, &consent_key(contact))?),
    };
    // A BSUID has a `.`, a number never does: only a BSUID can have a link.
    if contact.contains('.')
        && let Some(wa_id) = text(store.get(CONTACTS_BUCKET, &bsuid_key(contact))?)
    {
        let t = last_inbound(store, number, &wa_id)?;
        state.last_inbound = state.last_inbound.max(t);
        let c = text(store.get(CONTACTS_BUCKET, &consent_key(&wa_id))?);
        let at = |c: &Option<String>| c.as_deref().map(|c| read_consent(c).1);
        if c.is_some() && at(&c) >= at(&state.consent) {
            state.consent = c;
        }
    }
    Ok(state)
}

fn text(v: Option<Vec<u8>>) -> Option<String> {
    v.and_then(|v| String::from_utf8(v).ok())
}

/// Store consent `c`, given at `at`, unless a newer one is stored.
fn set_consent<S: Store>(
    store: &mut S,
    contact: &str,
    c: Consent,
    at: u64,
) -> Result<(), S::Error> {
    put_consent(store, contact, consent_value(c, at).as_bytes(), at)
}

/// Store `value` (a [`consent_value`], given at `at`) unless a newer one is stored.
fn put_consent<S: Store>(
    store: &mut S,
    contact: &str,
    value: &[u8],
    at: u64,
) -> Result<(), S::Error> {
    let key = consent_key(contact);
    let stored = store.get(CONTACTS_BUCKET, &key)?;
    if consent_applies(
        stored.as_deref().and_then(|v| std::str::from_utf8(v).ok()),
        at,
    ) {
        store.set(CONTACTS_BUCKET, &key, value)?;
    }
    Ok(())
}

/// The stored delivery state of a message.
pub fn delivery_state<S: Store>(
    store: &mut S,
    message_id: &str,
) -> Result<Option<DeliveryState>, S::Error> {
    Ok(store
        .get(STATUS_BUCKET, &status_key(message_id))?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

fn rank(s: DeliveryStatus) -> u8 {
    match s {
        DeliveryStatus::Sent => 1,
        DeliveryStatus::Delivered => 2,
        DeliveryStatus::Read => 3,
        DeliveryStatus::Played => 4,
        DeliveryStatus::Deleted => 5,
        DeliveryStatus::Failed => 6,
    }
}

/// Where a message stands, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// The status, Meta's spelling.
    pub status: String,
    /// The errors of a failure: (code, message).
    #[serde(default)]
    pub errors: Vec<(i32, String)>,
}

impl DeliveryState {
    /// The status as a value.
    pub fn status(&self) -> Option<DeliveryStatus> {
        DeliveryStatus::parse(&self.status)
    }
}

/// The monotonic status reducer: the new state if `next` moves the message forward,
/// none if it is late, a duplicate, or the message already failed. `failed` is terminal
/// and keeps its errors; nothing moves a message backwards.
pub fn reduce(
    current: Option<&DeliveryState>,
    next: DeliveryStatus,
    errors: &[GraphError],
) -> Option<DeliveryState> {
    let cur = current.and_then(DeliveryState::status);
    if cur == Some(DeliveryStatus::Failed) {
        return None;
    }
    if cur.is_some_and(|c| rank(next) <= rank(c)) {
        return None;
    }
    Some(DeliveryState {
        status: next.as_str().to_string(),
        errors: errors.iter().map(|e| (e.code, e.message.clone())).collect(),
    })
}

/// A change of a contact's marketing consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// The contact asked not to get marketing messages.
    Stopped,
    /// The contact agreed again.
    Ok,
}

impl Consent {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Stopped => "stopped",
            Consent::Ok => "ok",
        }
    }
}

/// Default opt-out keywords (an inbound text that is exactly one of these, in any case).
pub const DEFAULT_OPT_OUT: &[&str] = &["STOP"];
/// Default opt-in keywords.
pub const DEFAULT_OPT_IN: &[&str] = &["START"];

/// A consent change from an inbound text: the whole text (trimmed, any case) must be a
/// keyword, so that "don't stop" changes nothing.
pub fn consent_from_text(text: &str, opt_out: &[String], opt_in: &[String]) -> Option<Consent> {
    let t = text.trim();
    if opt_out.iter().any(|k| k.eq_ignore_ascii_case(t)) {
        Some(Consent::Stopped)
    } else if opt_in.iter().any(|k| k.eq_ignore_ascii_case(t)) {
        Some(Consent::Ok)
    } else {
        None
    }
}

/// A consent change from a `user_preferences` webhook.
pub fn consent_from_preference(p: &UserPreference) -> Option<Consent> {
    if p.category != "marketing_messages" {
        return None;
    }
    match p.value.to_ascii_lowercase().as_str() {
        "stop" => Some(Consent::Stopped),
        "resume" | "signup" => Some(Consent::Ok),
        _ => None,
    }
}

/// A template as cached.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CachedTemplate {
    /// Its id.
    pub id: String,
    /// Its status.
    #[serde(default)]
    pub status: Option<String>,
    /// Its category.
    #[serde(default)]
    pub category: Option<String>,
    /// Its quality score.
    #[serde(default)]
    pub quality: Option<String>,
    /// What its components expect, when known (from a sync, or seeded).
    #[serde(default)]
    pub definition: Option<crate::core::preflight::TemplateDefinition>,
    /// The time of the last update applied (Meta's `entry.time`, Unix seconds); 0 when
    /// it came from a sync or a create, which any update then replaces.
    #[serde(default)]
    pub updated_at: u64,
}

/// Apply a template update made at `at` to what the cache held (if anything); none when
/// the cache already holds something newer (a late or redelivered update).
pub fn apply_template_update(
    current: Option<CachedTemplate>,
    u: &TemplateUpdate,
    at: u64,
) -> Option<CachedTemplate> {
    let mut t = current.unwrap_or_default();
    if at < t.updated_at {
        return None;
    }
    t.updated_at = at;
    t.id = u.template_id.clone();
    match u.kind {
        TemplateUpdateKind::Status => t.status = u.value.clone().or(t.status),
        TemplateUpdateKind::Category => t.category = u.value.clone().or(t.category),
        TemplateUpdateKind::Quality => t.quality = u.value.clone().or(t.quality),
        TemplateUpdateKind::Components => {}
    }
    if let Some(c) = &u.category {
        t.category = Some(c.clone());
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    fn st(s: DeliveryStatus) -> DeliveryState {
        DeliveryState {
            status: s.as_str().into(),
            errors: vec![],
        }
    }

    #[test]
    fn statuses_only_move_forward_and_failed_is_terminal() {
        assert_eq!(reduce(None, Delivered, &[]).unwrap().status, "delivered");
        assert!(reduce(Some(&st(Read)), Delivered, &[]).is_none());
        assert!(reduce(Some(&st(Read)), Read, &[]).is_none());
        assert_eq!(
            reduce(Some(&st(Read)), Played, &[]).unwrap().status,
            "played"
        );
        let e = GraphError {
            code: 131026,
            message: "undeliverable".into(),
            ..GraphError::default()
        };
        let failed = reduce(Some(&st(Sent)), Failed, &[e]).unwrap();
        assert_eq!(failed.errors, vec![(131026, "undeliverable".to_string())]);
        for s in [Sent, Delivered, Read, Played, Failed] {
            assert!(reduce(Some(&failed), s, &[]).is_none());
        }
    }

    #[test]
    fn every_order_of_updates_ends_at_the_furthest_status() {
        let all = [Sent, Delivered, Read];
        let perms = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for p in perms {
            let mut cur: Option<DeliveryState> = None;
            for i in p {
                if let Some(n) = reduce(cur.as_ref(), all[i], &[]) {
                    cur = Some(n);
                }
            }
            assert_eq!(cur.unwrap().status, "read", "{p:?}");
        }
    }

    #[test]
    fn only_a_whole_keyword_changes_consent() {
        let out = vec!["STOP".to_string(), "unsubscribe".to_string()];
        let inn = vec!["START".to_string()];
        assert_eq!(
            consent_from_text(" stop ", &out, &inn),
            Some(Consent::Stopped)
        );
        assert_eq!(
            consent_from_text("Unsubscribe", &out, &inn),
            Some(Consent::Stopped)
        );
        assert_eq!(consent_from_text("start", &out, &inn), Some(Consent::Ok));
        assert_eq!(consent_from_text("please don't stop", &out, &inn), None);
        let p = |v: &str| UserPreference {
            wa_id: Some("1".into()),
            user_id: None,
            category: "marketing_messages".into(),
            value: v.into(),
            detail: None,
        };
        assert_eq!(consent_from_preference(&p("stop")), Some(Consent::Stopped));
        assert_eq!(consent_from_preference(&p("resume")), Some(Consent::Ok));
        assert_eq!(consent_from_preference(&p("other")), None);
    }

    #[test]
    fn template_updates_merge_into_the_cache() {
        let u = |kind, value: &str| TemplateUpdate {
            kind,
            template_id: "9".into(),
            name: Some("n".into()),
            language: Some("en".into()),
            value: Some(value.into()),
            previous: None,
            reason: None,
            category: None,
            raw: String::new(),
        };
        let t =
            apply_template_update(None, &u(TemplateUpdateKind::Status, "APPROVED"), 10).unwrap();
        let t =
            apply_template_update(Some(t), &u(TemplateUpdateKind::Quality, "YELLOW"), 11).unwrap();
        let t = apply_template_update(Some(t), &u(TemplateUpdateKind::Category, "MARKETING"), 12)
            .unwrap();
        assert_eq!(
            (
                t.status.as_deref(),
                t.quality.as_deref(),
                t.category.as_deref()
            ),
            (Some("APPROVED"), Some("YELLOW"), Some("MARKETING"))
        );
    }

    #[test]
    fn a_late_or_repeated_change_never_moves_consent_or_a_template_back() {
        // STOP at 100, START at 200: STOP delivered again (or late) changes nothing.
        let stop = consent_value(Consent::Stopped, 100);
        assert_eq!(read_consent(&stop), ("stopped", 100));
        let start = consent_value(Consent::Ok, 200);
        assert!(consent_applies(Some(&stop), 200));
        assert!(!consent_applies(Some(&start), 100));
        assert!(
            consent_applies(Some(&start), 200),
            "the same change again is harmless"
        );
        assert!(consent_applies(None, 0));
        // A value stored before times were kept counts as the oldest.
        assert_eq!(read_consent("stopped"), ("stopped", 0));
        assert!(consent_applies(Some("stopped"), 1));

        let u = |value: &str| TemplateUpdate {
            kind: TemplateUpdateKind::Status,
            template_id: "9".into(),
            name: Some("n".into()),
            language: Some("en".into()),
            value: Some(value.into()),
            previous: None,
            reason: None,
            category: None,
            raw: String::new(),
        };
        let paused = apply_template_update(None, &u("PAUSED"), 300).unwrap();
        assert_eq!(
            apply_template_update(Some(paused.clone()), &u("APPROVED"), 299),
            None
        );
        let again = apply_template_update(Some(paused), &u("PAUSED"), 300).unwrap();
        assert_eq!(
            (again.status.as_deref(), again.updated_at),
            (Some("PAUSED"), 300)
        );
        let synced = CachedTemplate {
            status: Some("APPROVED".into()),
            ..CachedTemplate::default()
        };
        assert!(apply_template_update(Some(synced), &u("PAUSED"), 1).is_some());
    }

    /// The tenant's buckets, in memory.
    #[derive(Default)]
    struct Mem(std::collections::HashMap<(&'static str, String), Vec<u8>>);

    impl Store for Mem {
        type Error = std::convert::Infallible;
        fn get(&mut self, b: &'static str, k: &str) -> Result<Option<Vec<u8>>, Self::Error> {
            Ok(self.0.get(&(b, k.to_string())).cloned())
        }
        fn set(&mut self, b: &'static str, k: &str, v: &[u8]) -> Result<(), Self::Error> {
            self.0.insert((b, k.to_string()), v.to_vec());
            Ok(())
        }
    }

    impl Mem {
        fn text(&self, k: &str) -> Option<String> {
            let v = self.0.get(&(CONTACTS_BUCKET, k.to_string()))?;
            Some(String::from_utf8(v.clone()).unwrap())
        }
    }

    /// A text message as Meta sends it: `contact` is the `contacts[]` entry, `from` and
    /// `from_user_id` the message's own fields (each left out when `None`).
    fn text(
        contact: serde_json::Value,
        from: Option<&str>,
        from_user_id: Option<&str>,
        id: &str,
        at: u64,
        body: &str,
    ) -> Event {
        let mut m = serde_json::json!({"id": id, "timestamp": at.to_string(), "type": "text", "text": {"body": body}});
        if let Some(f) = from {
            m["from"] = f.into();
        }
        if let Some(u) = from_user_id {
            m["from_user_id"] = u.into();
        }
        let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [contact], "messages": [m]}}]}]});
        let mut events = crate::core::webhook::parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        events.pop().unwrap()
    }

    fn keep_all(store: &mut Mem, events: &[Event]) {
        let (out, in_) = (["stop".to_string()], ["start".to_string()]);
        let words = Keywords {
            opt_out: &out,
            opt_in: &in_,
        };
        for e in events {
            keep(store, words, e, || 0).unwrap();
        }
    }

    /// A `business_capability_update` at `at` announcing `limit`.
    fn capability(limit: &str, at: u64) -> Event {
        let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "time": at, "changes": [{"field": "business_capability_update", "value": {
            "max_daily_conversations_per_business": limit, "max_phone_numbers_per_business": 2}}]}]});
        let mut events = crate::core::webhook::parse(body.to_string().as_bytes()).unwrap();
        let mut e = events.pop().unwrap();
        e.timestamp = Some(at);
        e
    }

    #[test]
    fn the_messaging_limit_a_webhook_announces_is_kept_never_moved_back() {
        let mut store = Mem::default();
        keep_all(&mut store, &[capability("TIER_2K", 100)]);
        assert_eq!(store.text(LIMIT_KEY).as_deref(), Some("2000@100"));
        // A later raise replaces it; a late or repeated older one does not.
        keep_all(
            &mut store,
            &[capability("TIER_10K", 300), capability("TIER_250", 200)],
        );
        assert_eq!(store.text(LIMIT_KEY).as_deref(), Some("10000@300"));
        keep_all(&mut store, &[capability("TIER_UNLIMITED", 400)]);
        assert_eq!(read_consent(&store.text(LIMIT_KEY).unwrap()), ("-1", 400));
    }

    #[test]
    fn a_message_names_its_contact_by_each_id_for_replies() {
        let both = text(
            serde_json::json!({"wa_id": "15551234567", "user_id": "US.1349"}),
            Some("15551234567"),
            Some("US.1349"),
            "wamid.r1",
            5,
            "hi",
        );
        assert_eq!(
            crate::core::outbox::reply_from(&both),
            ["15551234567", "US.1349"]
        );
        let bsuid_only = text(
            serde_json::json!({"user_id": "US.1349"}),
            None,
            Some("US.1349"),
            "wamid.r2",
            5,
            "hi",
        );
        assert_eq!(crate::core::outbox::reply_from(&bsuid_only), ["US.1349"]);
        assert!(crate::core::outbox::reply_from(&capability("TIER_2K", 1)).is_empty());
    }

    #[test]
    fn contacts_known_only_by_bsuid_keep_their_own_window_and_consent() {
        // Two users with usernames: Meta gives each a BSUID and a username, no number.
        let (ann, bob) = ("US.13491208655302741918", "US.ENT.11815799212886844830");
        let user = |bsuid: &str, name: &str| serde_json::json!({"profile": {"name": name, "username": name}, "user_id": bsuid});
        let mut store = Mem::default();
        keep_all(
            &mut store,
            &[
                text(user(ann, "@ann"), None, Some(ann), "wamid.a1", 100, "hi"),
                text(user(bob, "@bob"), None, Some(bob), "wamid.b1", 200, "STOP"),
            ],
        );
        let window = |s: &Mem, c: &str| s.text(&last_inbound_key("106540352242922", c));
        assert_eq!(window(&store, ann).as_deref(), Some("100"));
        assert_eq!(window(&store, bob).as_deref(), Some("200"));
        assert_eq!(store.text(&consent_key(ann)), None);
        assert_eq!(
            store.text(&consent_key(bob)).as_deref(),
            Some("stopped@200")
        );
        // Nothing is kept under an empty identity.
        assert!(
            store.0.keys().all(|(_, k)| !k.ends_with(':')),
            "{store:?}",
            store = store.0.keys()
        );
        assert_eq!(contact_id(Some(""), Some(" ")), None);
        assert_eq!(contact_id(None, Some(ann)), Some(ann));
        assert_eq!(
            contact_id(Some("15551234567"), Some(ann)),
            Some("15551234567")
        );
    }

    #[test]
    fn a_number_revealed_later_takes_over_what_its_bsuid_kept() {
        let bsuid = "BR.1502576394655843";
        let mut store = Mem::default();
        let username_only = serde_json::json!({"profile": {"name": "Bia"}, "user_id": bsuid});
        let with_number = serde_json::json!({"profile": {"name": "Bia"}, "user_id": bsuid, "wa_id": "5511987654321"});
        keep_all(
            &mut store,
            &[text(
                username_only,
                None,
                Some(bsuid),
                "wamid.1",
                100,
                "stop",
            )],
        );
        assert_eq!(
            store.text(&consent_key(bsuid)).as_deref(),
            Some("stopped@100")
        );
        // The number comes with a later message: the STOP given under the BSUID holds
        // for the number, and the window is the later message's.
        keep_all(
            &mut store,
            &[text(
                with_number.clone(),
                Some("5511987654321"),
                Some(bsuid),
                "wamid.2",
                150,
                "hello",
            )],
        );
        assert_eq!(
            store.text(&bsuid_key(bsuid)).as_deref(),
            Some("5511987654321")
        );
        assert_eq!(
            store.text(&consent_key("5511987654321")).as_deref(),
            Some("stopped@100")
        );
        assert_eq!(
            store
                .text(&last_inbound_key("106540352242922", "5511987654321"))
                .as_deref(),
            Some("150")
        );
        // A START after that applies to the number; the older STOP never comes back.
        keep_all(
            &mut store,
            &[text(
                with_number,
                Some("5511987654321"),
                Some(bsuid),
                "wamid.3",
                200,
                "START",
            )],
        );
        assert_eq!(
            store.text(&consent_key("5511987654321")).as_deref(),
            Some("ok@200")
        );
    }

    #[test]
    fn a_send_to_a_bsuid_sees_what_its_number_keeps() {
        let bsuid = "BR.1502576394655843";
        let number = "106540352242922";
        let mut store = Mem::default();
        assert_eq!(
            contact_state(&mut store, number, bsuid).unwrap(),
            ContactState::default()
        );
        let username_only = serde_json::json!({"user_id": bsuid});
        let with_number = serde_json::json!({"user_id": bsuid, "wa_id": "5511987654321"});
        keep_all(
            &mut store,
            &[
                text(username_only, None, Some(bsuid), "wamid.1", 100, "hi"),
                text(
                    with_number,
                    Some("5511987654321"),
                    Some(bsuid),
                    "wamid.2",
                    150,
                    "stop",
                ),
            ],
        );
        // The later message was kept under the number; a send to the BSUID sees it.
        let s = contact_state(&mut store, number, bsuid).unwrap();
        assert_eq!(
            (s.last_inbound, s.consent.as_deref()),
            (Some(150), Some("stopped@150"))
        );
        let s = contact_state(&mut store, number, "5511987654321").unwrap();
        assert_eq!(
            (s.last_inbound, s.consent.as_deref()),
            (Some(150), Some("stopped@150"))
        );
    }

    #[test]
    fn ids_of_any_length_make_keys_the_store_takes() {
        let (long, other) = ("1".repeat(5000), "2".repeat(5000));
        for key in [
            last_inbound_key("106540352242922", &long),
            consent_key(&long),
            bsuid_key(&long),
            status_key(&long),
        ] {
            assert!(key.len() <= 1024, "{}", key.len());
        }
        assert_ne!(consent_key(&long), consent_key(&other));
        assert_eq!(consent_key(&long), consent_key(&"1".repeat(5000)));
        assert_eq!(consent_key("15551234567"), "consent:15551234567");
    }
}
