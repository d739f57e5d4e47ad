//! Events as JSON: one flat object per event, the one form that is stored, listed and
//! forwarded (`wa-host events list`, `webhook parse`, the demo, the forwarder and the
//! webhook-ingress component all show this shape). The component writes it, once, when
//! it ingests an event; the host stores the text it is given.
//!
//! Written straight into a buffer, without a `serde_json::Value` tree: one pass per
//! event, and little code in the component (its size has a budget, `tests/footprint.rs`).
//! Keys come in a fixed order; raw JSON Meta sent (an account update's value, a flow's
//! answers, …) is embedded as it came, compacted onto one line.
//!
//! The writers write through `Sink`: in the component its one implementation, `Obj`,
//! writes bytes; natively, `super::schema` runs the same writers over a recorder to make
//! the events' JSON Schema (`host/schema/events.schema.json`), which so cannot drift.

use super::types::*;
use crate::core::error::GraphError;

/// An event as one flat JSON object on one line; `tenant` is added when known.
pub fn to_json(e: &Event, tenant: Option<&str>) -> String {
    let mut out = Vec::with_capacity(1024);
    object(&mut out, |o| event(o, e, tenant));
    // Only `&str`s and well-formed JSON were written.
    String::from_utf8(out).unwrap_or_default()
}

/// The event for a verified body that could not be read (not JSON, not a webhook
/// payload): kept whole, base64, with the reason, so that it is not lost. The webhook
/// server records it and the ingress forwards it; both answer Meta 200.
pub fn rejected(tenant: Option<&str>, reason: &str, body: &[u8]) -> String {
    let mut out = Vec::with_capacity(64 + body.len() * 4 / 3);
    let body = crate::core::encoding::base64(body);
    object(&mut out, |o| rejected_members(o, tenant, reason, &body));
    String::from_utf8(out).unwrap_or_default()
}

/// The members of a `rejected` event (`body_base64` already encoded).
pub(super) fn rejected_members<S: Sink>(
    o: &mut S,
    tenant: Option<&str>,
    reason: &str,
    body_base64: &str,
) {
    o.tag("type", "rejected");
    o.opt_str("tenant", tenant);
    o.str("reason", reason);
    o.str("body_base64", body_base64);
}

/// The members of an event.
pub(super) fn event<S: Sink>(o: &mut S, e: &Event, tenant: Option<&str>) {
    o.tag("type", e.body.kind());
    if let Some(t) = tenant {
        o.str("tenant", t);
    }
    o.str("idempotency_key", &e.idempotency_key);
    o.str("field", &e.field);
    o.str("waba_id", &e.routing.waba_id);
    o.opt_str("phone_number_id", e.routing.phone_number_id.as_deref());
    // A `security` change names its number in its value, not in `metadata`: one key
    // either way (written twice, JSON readers would keep only the last).
    let display = match &e.body {
        EventBody::Security(n) => e
            .routing
            .display_phone_number
            .as_ref()
            .or(n.display_phone_number.as_ref()),
        _ => e.routing.display_phone_number.as_ref(),
    };
    o.opt_str("display_phone_number", display.map(String::as_str));
    o.opt_u64("timestamp", e.timestamp);
    if let Some(c) = &e.contact {
        o.obj("contact", |o| {
            o.opt_str("wa_id", c.wa_id.as_deref());
            o.opt_str("user_id", c.user_id.as_deref());
            o.opt_str("name", c.name.as_deref());
            // Written when given only: most contacts have neither.
            if let Some(u) = &c.username {
                o.str("username", u);
            }
            if let Some(p) = &c.parent_user_id {
                o.str("parent_user_id", p);
            }
        });
    }
    match &e.body {
        EventBody::Message(m) => {
            o.str("message_id", &m.id);
            o.str("from", &m.from);
            if let Some(u) = &m.from_user_id {
                o.str("from_user_id", u);
            }
            o.str("message_type", &m.message_type);
            content(o, &m.content);
            if let Some(c) = &m.context {
                o.obj("context", |o| {
                    o.opt_str("message_id", c.message_id.as_deref());
                    o.opt_str("from", c.from.as_deref());
                    o.bool("forwarded", c.forwarded);
                    o.bool("frequently_forwarded", c.frequently_forwarded);
                });
            }
            if let Some(r) = &m.referral {
                o.obj("referral", |o| {
                    o.opt_str("source_url", r.source_url.as_deref());
                    o.opt_str("source_id", r.source_id.as_deref());
                    o.opt_str("source_type", r.source_type.as_deref());
                    o.opt_str("headline", r.headline.as_deref());
                    o.opt_str("body", r.body.as_deref());
                    o.opt_str("media_type", r.media_type.as_deref());
                    o.opt_str("ctwa_clid", r.ctwa_clid.as_deref());
                });
            }
            errors(o, &m.errors);
        }
        EventBody::Echo(m) => {
            o.str("message_id", &m.id);
            o.str("from", &m.from);
            o.str("to", &m.to);
            o.opt_str("to_user_id", m.to_user_id.as_deref());
            o.str("message_type", &m.message_type);
            content(o, &m.content);
        }
        EventBody::Status(s) => {
            o.str("message_id", &s.message_id);
            o.opt_str("recipient_id", s.recipient_id.as_deref());
            o.tag("status", status_str(s.status));
            errors(o, &s.errors);
            if let Some(c) = &s.conversation {
                o.obj("conversation", |o| {
                    o.str("id", &c.id);
                    o.opt_str("origin_type", c.origin_type.as_deref());
                    o.opt_u64("expiration_timestamp", c.expiration_timestamp);
                });
            }
            if let Some(p) = &s.pricing {
                o.obj("pricing", |o| {
                    o.opt_bool("billable", p.billable);
                    o.opt_str("pricing_model", p.pricing_model.as_deref());
                    o.opt_str("category", p.category.as_deref());
                    o.opt_str("type", p.pricing_type.as_deref());
                });
            }
            if let Some(d) = &s.biz_opaque_callback_data {
                o.str("biz_opaque_callback_data", d);
            }
        }
        EventBody::Template(t) => {
            o.tag(
                "update",
                match t.kind {
                    TemplateUpdateKind::Status => "status",
                    TemplateUpdateKind::Category => "category",
                    TemplateUpdateKind::Quality => "quality",
                    TemplateUpdateKind::Components => "components",
                },
            );
            o.str("template_id", &t.template_id);
            o.opt_str("name", t.name.as_deref());
            o.opt_str("language", t.language.as_deref());
            o.opt_str("value", t.value.as_deref());
            o.opt_str("previous", t.previous.as_deref());
            o.opt_str("reason", t.reason.as_deref());
            o.opt_str("category", t.category.as_deref());
        }
        EventBody::Account(a) => {
            o.str("event", &a.event);
            o.raw("raw", &a.raw);
        }
        EventBody::PhoneNumber(p) => {
            o.tag(
                "update",
                match p.kind {
                    PhoneNumberUpdateKind::Name => "name",
                    PhoneNumberUpdateKind::Quality => "quality",
                },
            );
            o.opt_str("event", p.event.as_deref());
            o.opt_str(
                "requested_verified_name",
                p.requested_verified_name.as_deref(),
            );
            o.opt_str("current_limit", p.current_limit.as_deref());
            o.raw("raw", &p.raw);
        }
        EventBody::Preference(p) => {
            o.opt_str("wa_id", p.wa_id.as_deref());
            if let Some(u) = &p.user_id {
                o.str("user_id", u);
            }
            o.str("category", &p.category);
            o.str("value", &p.value);
            o.opt_str("detail", p.detail.as_deref());
        }
        EventBody::Call(c) => {
            o.str("call_id", &c.id);
            o.str("event", &c.event);
            o.opt_str("direction", c.direction.as_deref());
            o.opt_str("from", c.from.as_deref());
            o.opt_str("to", c.to.as_deref());
            o.opt_str("status", c.status.as_deref());
            o.opt_u64("duration_seconds", c.duration_seconds);
        }
        EventBody::AccountAlert(a) => {
            o.str("entity_type", &a.entity_type);
            o.str("entity_id", &a.entity_id);
            o.str("alert_type", &a.alert_type);
            o.opt_str("severity", a.severity.as_deref());
            o.opt_str("status", a.status.as_deref());
            o.opt_str("description", a.description.as_deref());
        }
        EventBody::AccountReview(decision) => o.str("decision", decision),
        EventBody::Capability(c) => {
            o.opt_i64("messaging_limit", c.messaging_limit);
            o.opt_str("messaging_limit_tier", c.messaging_limit_tier.as_deref());
            o.opt_i64("per_phone_limit", c.per_phone_limit);
            o.opt_u64(
                "max_phone_numbers_per_business",
                c.max_phone_numbers_per_business,
            );
            o.opt_u64("max_phone_numbers_per_waba", c.max_phone_numbers_per_waba);
        }
        EventBody::Security(n) => {
            o.str("event", &n.event);
            o.opt_str("requester", n.requester.as_deref());
        }
        EventBody::Flow(f) => {
            o.str("event", &f.event);
            o.str("flow_id", &f.flow_id);
            o.opt_str("message", f.message.as_deref());
            o.opt_str("old_status", f.old_status.as_deref());
            o.opt_str("new_status", f.new_status.as_deref());
            o.opt_str("alert_state", f.alert_state.as_deref());
            o.opt_f64("threshold", f.threshold);
            o.opt_f64("error_rate", f.error_rate);
            o.opt_u64("p50_latency_ms", f.p50_latency_ms);
            o.opt_u64("p90_latency_ms", f.p90_latency_ms);
            o.opt_u64("requests_count", f.requests_count);
            o.opt_f64("availability", f.availability);
            if !f.errors.is_empty() {
                o.list("errors", &f.errors, |o, e| {
                    o.str("error_type", &e.error_type);
                    o.opt_f64("error_rate", e.error_rate);
                    o.opt_u64("error_count", e.error_count);
                });
            }
        }
        EventBody::Group(g) => {
            o.str("update", &g.update);
            o.str("group_id", &g.group_id);
            o.opt_str("request_id", g.request_id.as_deref());
            o.opt_str("subject", g.subject.as_deref());
            o.opt_str("description", g.description.as_deref());
            o.opt_str("invite_link", g.invite_link.as_deref());
            o.opt_str("join_approval_mode", g.join_approval_mode.as_deref());
            o.opt_str("reason", g.reason.as_deref());
            o.opt_str("initiated_by", g.initiated_by.as_deref());
            o.opt_str("join_request_id", g.join_request_id.as_deref());
            let participant = |o: &mut S, p: &GroupParticipant| {
                o.opt_str("wa_id", p.wa_id.as_deref());
                o.opt_str("user_id", p.user_id.as_deref());
                o.opt_str("input", p.input.as_deref());
            };
            o.list("added", &g.added, participant);
            o.list("removed", &g.removed, participant);
            o.strs("failed", &g.failed);
            errors(o, &g.errors);
            o.raw("raw", &g.raw);
        }
        EventBody::History(h) => {
            o.opt_u64("phase", h.phase);
            o.opt_u64("chunk_order", h.chunk_order);
            o.opt_u64("progress", h.progress);
            o.list("messages", &h.messages, |o, m| {
                o.str("thread", &m.thread);
                o.str("id", &m.id);
                o.str("from", &m.from);
                o.opt_str("to", m.to.as_deref());
                o.opt_u64("timestamp", m.timestamp);
                o.str("message_type", &m.message_type);
                o.opt_str("status", m.status.as_deref());
                content(o, &m.content);
            });
            errors(o, &h.errors);
        }
        EventBody::ContactSync(c) => {
            o.str("action", &c.action);
            o.str("phone_number", &c.phone_number);
            o.opt_str("full_name", c.full_name.as_deref());
            o.opt_str("first_name", c.first_name.as_deref());
        }
        EventBody::Errors(es) => errors(o, es),
        EventBody::Unknown(r) => o.raw("raw", r),
    }
}

fn status_str(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Read => "read",
        DeliveryStatus::Played => "played",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Deleted => "deleted",
    }
}

/// `errors`, when there are any.
fn errors<S: Sink>(o: &mut S, es: &[GraphError]) {
    if !es.is_empty() {
        o.list("errors", es, |o, e| {
            o.i64("code", e.code.into());
            o.opt_i64("subcode", e.subcode.map(Into::into));
            o.opt_str("type", e.error_type.as_deref());
            o.str("message", &e.message);
            o.opt_str("details", e.details.as_deref());
            o.opt_str("fbtrace_id", e.fbtrace_id.as_deref());
            o.bool("is_transient", e.is_transient);
            o.i64("http_status", e.http_status.into());
        });
    }
}

/// A message's content, under the key that names its kind (`text`, `image`, …): one
/// such key of the `message_content` set.
fn content<S: Sink>(o: &mut S, c: &MessageContent) {
    use MessageContent as C;
    let media = |o: &mut S, k: &'static str, m: &Media| {
        o.obj(k, |o| {
            o.str("id", &m.id);
            o.opt_str("mime_type", m.mime_type.as_deref());
            o.opt_str("sha256", m.sha256.as_deref());
            o.opt_str("caption", m.caption.as_deref());
            o.opt_str("filename", m.filename.as_deref());
            o.opt_str("url", m.url.as_deref());
            o.bool("voice", m.voice);
            o.bool("animated", m.animated);
        })
    };
    let choice = |o: &mut S, k: &'static str, c: &ReplyChoice| {
        o.obj(k, |o| {
            o.str("id", &c.id);
            o.str("title", &c.title);
            o.opt_str("description", c.description.as_deref());
        })
    };
    o.one_of("message_content", |o| match c {
        C::Text(t) => o.str("text", t),
        C::Image(m) => media(o, "image", m),
        C::Video(m) => media(o, "video", m),
        C::Audio(m) => media(o, "audio", m),
        C::Document(m) => media(o, "document", m),
        C::Sticker(m) => media(o, "sticker", m),
        C::Location(l) => o.obj("location", |o| {
            o.f64("latitude", l.latitude);
            o.f64("longitude", l.longitude);
            o.opt_str("name", l.name.as_deref());
            o.opt_str("address", l.address.as_deref());
            o.opt_str("url", l.url.as_deref());
        }),
        C::Contacts(cards) => o.list("contacts", cards, |o, c| {
            o.opt_str("formatted_name", c.formatted_name.as_deref());
            o.strs("phones", &c.phones);
            o.strs("wa_ids", &c.wa_ids);
            o.strs("emails", &c.emails);
            o.raw("raw", &c.raw);
        }),
        C::Reaction(r) => o.obj("reaction", |o| {
            o.str("message_id", &r.message_id);
            o.opt_str("emoji", r.emoji.as_deref());
        }),
        C::ButtonReply(c) => choice(o, "button_reply", c),
        C::ListReply(c) => choice(o, "list_reply", c),
        C::FlowReply(f) => o.obj("flow_reply", |o| {
            o.opt_str("name", f.name.as_deref());
            o.opt_str("body", f.body.as_deref());
            o.opt_str("flow_token", f.flow_token.as_deref());
            o.raw("response", &f.response_json);
        }),
        C::CallPermissionReply(r) => o.obj("call_permission_reply", |o| {
            o.str("response", &r.response);
            o.opt_u64("expiration_timestamp", r.expiration_timestamp);
            o.opt_str("source", r.source.as_deref());
        }),
        C::QuickReply(q) => o.obj("quick_reply", |o| {
            o.str("payload", &q.payload);
            o.str("text", &q.text);
        }),
        C::Order(ord) => o.obj("order", |o| {
            o.str("catalog_id", &ord.catalog_id);
            o.opt_str("text", ord.text.as_deref());
            o.list("items", &ord.items, |o, i| {
                o.str("product_retailer_id", &i.product_retailer_id);
                o.u64("quantity", i.quantity.into());
                o.f64("item_price", i.item_price);
                o.str("currency", &i.currency);
            });
        }),
        C::System(s) => o.obj("system", |o| {
            o.str("kind", &s.kind);
            o.str("body", &s.body);
            o.opt_str("new_wa_id", s.new_wa_id.as_deref());
        }),
        C::Edit(e) => o.obj("edit", |o| {
            o.str("original_message_id", &e.original_message_id);
            o.str("message_type", &e.message_type);
            o.opt_str("text", e.text.as_deref());
            o.raw("message", &e.raw);
        }),
        C::Revoke(id) => o.obj("revoke", |o| o.str("original_message_id", id)),
        C::RequestWelcome => o.obj("request_welcome", |_| {}),
        C::Unsupported(t) => o.obj("unsupported", |o| o.opt_str("type", t.as_deref())),
        C::Other(r) => o.raw("content", r),
    })
}

/// What the writers above write an object's members into: bytes ([`Obj`], the one
/// implementation in the component), or natively the shape that `super::schema` makes
/// the JSON Schema from. Keys are this file's names, which need no escaping.
pub(super) trait Sink {
    /// A string.
    fn str(&mut self, k: &'static str, v: &str);
    /// A string from a closed set (an event's `type`, a status): written as a string;
    /// the schema lists the values.
    fn tag(&mut self, k: &'static str, v: &'static str) {
        self.str(k, v);
    }
    /// `null`.
    fn null(&mut self, k: &'static str);
    /// `true` or `false`.
    fn bool(&mut self, k: &'static str, v: bool);
    /// An integer of at least 0.
    fn u64(&mut self, k: &'static str, v: u64);
    /// An integer.
    fn i64(&mut self, k: &'static str, v: i64);
    /// A number (`null` when it is not finite).
    fn f64(&mut self, k: &'static str, v: f64);
    /// An array of strings.
    fn strs(&mut self, k: &'static str, vs: &[String]);
    /// Raw JSON kept by the parser: any JSON value.
    fn raw(&mut self, k: &'static str, raw: &str);
    /// An object, whose members `f` writes.
    fn obj(&mut self, k: &'static str, f: impl FnOnce(&mut Self));
    /// An array of objects, each item's members written by `f`.
    fn list<T>(&mut self, k: &'static str, items: &[T], f: impl Fn(&mut Self, &T));
    /// Members of which `f` writes one of a set of alternatives (a message's content):
    /// `name` names the set in the schema.
    fn one_of(&mut self, name: &'static str, f: impl FnOnce(&mut Self)) {
        let _ = name;
        f(self);
    }

    /// A string or `null`.
    fn opt_str(&mut self, k: &'static str, v: Option<&str>) {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    /// A boolean or `null`.
    fn opt_bool(&mut self, k: &'static str, v: Option<bool>) {
        match v {
            Some(v) => self.bool(k, v),
            None => self.null(k),
        }
    }

    /// An integer of at least 0, or `null`.
    fn opt_u64(&mut self, k: &'static str, v: Option<u64>) {
        match v {
            Some(v) => self.u64(k, v),
            None => self.null(k),
        }
    }

    /// An integer or `null`.
    fn opt_i64(&mut self, k: &'static str, v: Option<i64>) {
        match v {
            Some(v) => self.i64(k, v),
            None => self.null(k),
        }
    }

    /// A number or `null`.
    fn opt_f64(&mut self, k: &'static str, v: Option<f64>) {
        match v {
            Some(v) => self.f64(k, v),
            None => self.null(k),
        }
    }
}

/// Write one object into `out`.
fn object<'a>(out: &'a mut Vec<u8>, f: impl FnOnce(&mut Obj<'a>)) {
    let mut o = Obj { out, first: true };
    o.members(f);
}

/// The members of a JSON object being written, and of the objects nested in it (which
/// are written through the same `Obj`: one type, so the writers stay monomorphic).
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Obj<'_> {
    /// The member named `k`: one of this file's names, which need no escaping.
    fn key(&mut self, k: &'static str) -> &mut Vec<u8> {
        debug_assert!(!k.bytes().any(|c| c < 0x20 || c == b'"' || c == b'\\'));
        self.out.reserve(k.len() + 4);
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// `{`, the members `f` writes, `}`; then on with the enclosing object's members
    /// (none of which is first any more).
    fn members(&mut self, f: impl FnOnce(&mut Self)) {
        self.out.push(b'{');
        self.first = true;
        f(self);
        self.first = false;
        self.out.push(b'}');
    }
}

impl Sink for Obj<'_> {
    fn str(&mut self, k: &'static str, v: &str) {
        string(self.key(k), v);
    }

    fn null(&mut self, k: &'static str) {
        self.key(k).extend_from_slice(b"null");
    }

    fn bool(&mut self, k: &'static str, v: bool) {
        let v: &[u8] = if v { b"true" } else { b"false" };
        self.key(k).extend_from_slice(v);
    }

    fn u64(&mut self, k: &'static str, v: u64) {
        decimal(self.key(k), v);
    }

    fn i64(&mut self, k: &'static str, v: i64) {
        let out = self.key(k);
        if v < 0 {
            out.push(b'-');
        }
        decimal(out, v.unsigned_abs());
    }

    /// A float as `serde_json` writes one; one that is not finite is `null`.
    fn f64(&mut self, k: &'static str, v: f64) {
        let out = self.key(k);
        if serde_json::to_writer(&mut *out, &v).is_err() {
            out.extend_from_slice(b"null");
        }
    }

    fn strs(&mut self, k: &'static str, vs: &[String]) {
        let out = self.key(k);
        out.push(b'[');
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, v);
        }
        out.push(b']');
    }

    /// Raw JSON kept by the parser, embedded as JSON on one line (or as a string, if
    /// it is not JSON).
    fn raw(&mut self, k: &'static str, raw: &str) {
        let out = self.key(k);
        if serde_json::from_str::<serde::de::IgnoredAny>(raw).is_ok() {
            compact(out, raw);
        } else {
            string(out, raw);
        }
    }

    fn obj(&mut self, k: &'static str, f: impl FnOnce(&mut Self)) {
        self.key(k);
        self.members(f);
    }

    fn list<T>(&mut self, k: &'static str, items: &[T], f: impl Fn(&mut Self, &T)) {
        self.key(k).push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.members(|o| f(o, item));
        }
        self.out.push(b']');
    }
}

/// `v` in decimal.
fn decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// A JSON string, escaped as `serde_json` escapes it: `"`, `\\` and the control
/// characters, with JSON's short forms where it has one and `\u00xx` otherwise.
///
/// Runs with nothing to escape are copied whole, and found eight bytes at a time: in the
/// component, `serde_json`'s byte-at-a-time loop was a seventh of `webhooks.ingest`.
fn string(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        if let Some(word) = b.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            if !may_need_escape(word) {
                i += 8;
                continue;
            }
        }
        let c = b[i];
        i += 1;
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        out.extend_from_slice(&b[start..i - 1]);
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
        }
        start = i;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes of `w` is a control character, `"` or `\\` (exact:
/// the classic "has a byte less than n" and "has a zero byte" word tricks).
const fn may_need_escape(w: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    const fn has_zero(x: u64) -> u64 {
        x.wrapping_sub(ONES) & !x & HIGH
    }
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let quote = has_zero(w ^ (ONES * b'"' as u64));
    let backslash = has_zero(w ^ (ONES * b'\\' as u64));
    control | quote | backslash != 0
}

/// Valid JSON text without the whitespace between its tokens.
fn compact(out: &mut Vec<u8>, json: &str) {
    let (mut in_string, mut escaped) = (false, false);
    for &b in json.as_bytes() {
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            in_string = b == b'"';
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn value(s: &str) -> Value {
        serde_json::from_str(s).expect("the writer writes JSON")
    }

    #[test]
    fn an_inbound_text_becomes_one_flat_object() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"W1","changes":[{"field":"messages","value":{
            "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"P1"},
            "contacts":[{"profile":{"name":"Ana"},"wa_id":"15551234567"}],
            "messages":[{"from":"15551234567","id":"wamid.X","timestamp":"1700000000","type":"text","text":{"body":"hi \"there\"\n"}}]}}]}]}"#;
        let events = crate::core::webhook::parse(body).unwrap();
        let s = to_json(&events[0], Some("acme"));
        assert!(!s.contains('\n'), "one line: {s}");
        let v = value(&s);
        assert_eq!(v["type"], "message");
        assert_eq!(v["tenant"], "acme");
        assert_eq!(v["text"], "hi \"there\"\n");
        assert_eq!(v["phone_number_id"], "P1");
        assert_eq!(v["contact"]["name"], "Ana");
        assert_eq!(v["timestamp"], 1_700_000_000u64);
        assert_eq!(events[0].body.kind(), "message");
    }

    #[test]
    fn raw_json_is_embedded_on_one_line_and_anything_else_as_a_string() {
        let mut out = Vec::new();
        object(&mut out, |o| {
            o.raw("a", "{ \"k\" :\n [1, \"x y\\\" }\" ] }");
            o.raw("b", "not json");
            o.f64("c", f64::NAN);
            o.f64("d", 1.5);
            o.list("e", &[1u64, 2], |o, n| o.u64("n", *n));
        });
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            r#"{"a":{"k":[1,"x y\" }"]},"b":"not json","c":null,"d":1.5,"e":[{"n":1},{"n":2}]}"#
        );
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = (0u8..=0x7f).map(|c| char::from(c).to_string()).collect();
        let alphabet = [
            "a", "\"", "\\", "\n", "\u{1}", "\u{1f}", "\u{7f}", "é", "€", "😀", " ",
        ];
        // Every short mix, and longer ones so that escapes fall on each offset of a word.
        for a in alphabet {
            for b in alphabet {
                for n in 0..20 {
                    cases.push(format!(
                        "{}{a}{}{b}{}",
                        "x".repeat(n),
                        "y".repeat(n % 9),
                        "z".repeat(n % 5)
                    ));
                }
            }
        }
        cases.push(String::new());
        cases.push("no escapes at all in a longer run of text, plain ASCII".into());
        for s in cases {
            let mut out = Vec::new();
            string(&mut out, &s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn integers_are_written_in_decimal() {
        let mut out = Vec::new();
        object(&mut out, |o| {
            for (k, v) in [("a", 0), ("b", 7), ("c", 10), ("d", u64::MAX)] {
                o.u64(k, v);
            }
            for (k, v) in [("e", -1), ("f", i64::MIN), ("g", i64::MAX)] {
                o.i64(k, v);
            }
        });
        let expected = serde_json::json!({"a": 0, "b": 7, "c": 10, "d": u64::MAX, "e": -1, "f": i64::MIN, "g": i64::MAX});
        assert_eq!(String::from_utf8(out).unwrap(), expected.to_string());
    }

    #[test]
    fn the_word_test_finds_each_escape_in_each_byte() {
        for pos in 0..8 {
            for c in 0u8..=0xff {
                let mut w = [b'a'; 8];
                w[pos] = c;
                let expected = c < 0x20 || c == b'"' || c == b'\\';
                assert_eq!(
                    may_need_escape(u64::from_le_bytes(w)),
                    expected,
                    "{c:#x} at {pos}"
                );
            }
        }
    }

    #[test]
    fn a_security_notice_names_its_number_once() {
        let body = br#"{"entry":[{"id":"W1","changes":[{"field":"security","value":{
            "display_phone_number":"15550001111","event":"PIN_CHANGED"}}]}]}"#;
        let events = crate::core::webhook::parse(body).unwrap();
        let s = to_json(&events[0], None);
        assert_eq!(s.matches("\"display_phone_number\"").count(), 1, "{s}");
        assert_eq!(value(&s)["display_phone_number"], "15550001111");
    }

    #[test]
    fn a_rejected_body_is_kept_whole() {
        let v = value(&rejected(Some("t"), "why", &[0xff, 0xfe]));
        assert_eq!(
            (v["type"].as_str(), v["body_base64"].as_str()),
            (Some("rejected"), Some("//4="))
        );
    }
}
