//! The events' JSON Schema (draft 2020-12): `json.rs`'s own writers run over a recorder on
//! samples of every event and content kind. Native only; published at [`PATH`], in the host.
//! Regenerate it after a change: `WA_BLESS=1 cargo test -p whatsapp-guest --lib schema`.

use super::json::{self, Sink};
use super::types::*;
use crate::core::error::GraphError;

/// Where the schema is published, from the repository's root.
pub const PATH: &str = "host/schema/events.schema.json";

/// The events' JSON Schema, pretty-printed, keys in a fixed order (the writers' order for
/// an object's properties), with a final newline.
///
/// Panics when the samples miss a kind of event or content, or when the writers write
/// something the schema could not state (a key twice in one object, a list no sample
/// gives an item): a developer's mistake, shown by this module's tests.
pub fn events_schema() -> String {
    let mut rec = Recorder::default();
    let mut kinds: Vec<Kind> = Vec::new();
    let mut covered = (Vec::new(), Vec::new());
    for (about, bodies) in samples() {
        for body in bodies {
            covered.0.push(kind_number(&body));
            if let EventBody::Message(InboundMessage { content, .. })
            | EventBody::Echo(MessageEcho { content, .. }) = &body
            {
                covered.1.push(content_number(content));
            }
            for (e, tenant) in envelopes(body) {
                let o = rec.record(|r| json::event(r, &e, tenant));
                add(&mut kinds, e.body.kind(), about, o);
            }
        }
    }
    check_coverage("EventBody", &covered.0, KINDS);
    check_coverage("MessageContent", &covered.1, CONTENTS);
    for tenant in [Some("acme"), None] {
        let o = rec.record(|r| json::rejected_members(r, tenant, "not JSON", "//4="));
        add(&mut kinds, "rejected", REJECTED, o);
    }
    for e in host_samples() {
        let o = rec.record(|r| host_event(r, &e));
        add(&mut kinds, e.kind(), e.about(), o);
    }
    let mut out = String::new();
    document(&kinds, &rec.sets).write(&mut out, 0, 0);
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------
// The recorder

/// What the values written under one key can be, over every time the key was written.
#[derive(Default)]
struct Shape {
    string: bool,
    /// Values of a closed set (`Sink::tag`), in the order first seen.
    tags: Vec<&'static str>,
    unsigned: bool,
    integer: bool,
    number: bool,
    boolean: bool,
    null: bool,
    /// Raw JSON: any value.
    any: bool,
    /// An array of strings.
    strings: bool,
    object: Option<Object>,
    /// An array of objects: their members.
    items: Option<Object>,
}

impl Shape {
    fn merge(&mut self, o: Shape) {
        self.string |= o.string;
        for t in o.tags {
            if !self.tags.contains(&t) {
                self.tags.push(t);
            }
        }
        self.unsigned |= o.unsigned;
        self.integer |= o.integer;
        self.number |= o.number;
        self.boolean |= o.boolean;
        self.null |= o.null;
        self.any |= o.any;
        self.strings |= o.strings;
        merge_object(&mut self.object, o.object);
        merge_object(&mut self.items, o.items);
    }
}

fn merge_object(a: &mut Option<Object>, b: Option<Object>) {
    match (a.as_mut(), b) {
        (Some(a), Some(b)) => a.merge(b),
        (None, b) => *a = b,
        (Some(_), None) => {}
    }
}

/// The members of the objects written at one place, over every time one was written.
#[derive(Default)]
struct Object {
    /// How many objects were written here.
    written: usize,
    /// Each key, in the order first written: in how many of them, and what it held.
    members: Vec<(&'static str, usize, Shape)>,
    /// The sets of alternatives (`Sink::one_of`) written into them.
    one_of: Vec<&'static str>,
}

impl Object {
    fn merge(&mut self, o: Object) {
        self.written += o.written;
        for (k, n, shape) in o.members {
            match self.members.iter_mut().find(|m| m.0 == k) {
                Some(m) => {
                    m.1 += n;
                    m.2.merge(shape);
                }
                None => self.members.push((k, n, shape)),
            }
        }
        for set in o.one_of {
            if !self.one_of.contains(&set) {
                self.one_of.push(set);
            }
        }
    }

    /// The keys written into every one of the objects.
    fn required(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.members
            .iter()
            .filter(|m| m.1 == self.written)
            .map(|m| m.0)
    }
}

/// A `Sink` that keeps the shape of what is written, not the values. Nullability comes
/// from the method (`opt_str` may write `null` whatever the sample holds); which keys
/// are always there, from the samples.
#[derive(Default)]
struct Recorder {
    /// The objects being written, innermost last.
    open: Vec<Object>,
    /// Each set of alternatives: each alternative, named by the first key it writes.
    sets: Vec<(&'static str, Vec<(&'static str, Object)>)>,
}

impl Recorder {
    /// One object, as `f` writes it.
    fn record(&mut self, f: impl FnOnce(&mut Self)) -> Object {
        self.open.push(Object {
            written: 1,
            ..Object::default()
        });
        f(self);
        self.open.pop().expect("the object opened above")
    }

    fn put(&mut self, k: &'static str, shape: Shape) {
        let o = self.open.last_mut().expect("an object is open");
        assert!(
            !o.members.iter().any(|m| m.0 == k),
            "`{k}` is written twice into one object"
        );
        o.members.push((k, 1, shape));
    }

    fn scalar(&mut self, k: &'static str, set: impl FnOnce(&mut Shape)) {
        let mut shape = Shape::default();
        set(&mut shape);
        self.put(k, shape);
    }
}

impl Sink for Recorder {
    fn str(&mut self, k: &'static str, _: &str) {
        self.scalar(k, |s| s.string = true);
    }

    fn tag(&mut self, k: &'static str, v: &'static str) {
        self.scalar(k, |s| s.tags.push(v));
    }

    fn null(&mut self, k: &'static str) {
        self.scalar(k, |s| s.null = true);
    }

    fn bool(&mut self, k: &'static str, _: bool) {
        self.scalar(k, |s| s.boolean = true);
    }

    fn u64(&mut self, k: &'static str, _: u64) {
        self.scalar(k, |s| s.unsigned = true);
    }

    fn i64(&mut self, k: &'static str, _: i64) {
        self.scalar(k, |s| s.integer = true);
    }

    /// A number, or `null` (the writer's form of a number that is not finite).
    fn f64(&mut self, k: &'static str, _: f64) {
        self.scalar(k, |s| (s.number, s.null) = (true, true));
    }

    fn strs(&mut self, k: &'static str, _: &[String]) {
        self.scalar(k, |s| s.strings = true);
    }

    fn raw(&mut self, k: &'static str, _: &str) {
        self.scalar(k, |s| s.any = true);
    }

    fn obj(&mut self, k: &'static str, f: impl FnOnce(&mut Self)) {
        let object = Some(self.record(f));
        self.put(
            k,
            Shape {
                object,
                ..Shape::default()
            },
        );
    }

    fn list<T>(&mut self, k: &'static str, items: &[T], f: impl Fn(&mut Self, &T)) {
        let mut all = Object::default();
        for item in items {
            all.merge(self.record(|r| f(r, item)));
        }
        self.put(
            k,
            Shape {
                items: Some(all),
                ..Shape::default()
            },
        );
    }

    fn one_of(&mut self, name: &'static str, f: impl FnOnce(&mut Self)) {
        let alternative = self.record(f);
        let first = match alternative.members.first() {
            Some(m) => m.0,
            None => panic!("an alternative of `{name}` writes nothing"),
        };
        let o = self.open.last_mut().expect("an object is open");
        if !o.one_of.contains(&name) {
            o.one_of.push(name);
        }
        let set = match self.sets.iter().position(|s| s.0 == name) {
            Some(i) => &mut self.sets[i].1,
            None => {
                self.sets.push((name, Vec::new()));
                &mut self.sets.last_mut().expect("just pushed").1
            }
        };
        match set.iter_mut().find(|a| a.0 == first) {
            Some(a) => a.1.merge(alternative),
            None => set.push((first, alternative)),
        }
    }

    // Nullable by type, whatever the sample holds.
    fn opt_str(&mut self, k: &'static str, _: Option<&str>) {
        self.scalar(k, |s| (s.string, s.null) = (true, true));
    }

    fn opt_bool(&mut self, k: &'static str, _: Option<bool>) {
        self.scalar(k, |s| (s.boolean, s.null) = (true, true));
    }

    fn opt_u64(&mut self, k: &'static str, _: Option<u64>) {
        self.scalar(k, |s| (s.unsigned, s.null) = (true, true));
    }

    fn opt_i64(&mut self, k: &'static str, _: Option<i64>) {
        self.scalar(k, |s| (s.integer, s.null) = (true, true));
    }

    fn opt_f64(&mut self, k: &'static str, _: Option<f64>) {
        self.scalar(k, |s| (s.number, s.null) = (true, true));
    }
}

// ---------------------------------------------------------------------------------------
// The schema

/// One kind of event: its `type`, what it is, its members over every sample.
struct Kind {
    name: &'static str,
    about: &'static str,
    object: Object,
}

fn add(kinds: &mut Vec<Kind>, name: &'static str, about: &'static str, object: Object) {
    match kinds.iter_mut().find(|k| k.name == name) {
        Some(k) => k.object.merge(object),
        None => kinds.push(Kind {
            name,
            about,
            object,
        }),
    }
}

const DESCRIPTION: &str = "One event as the WhatsApp Cloud API component writes it \
(guest/src/core/webhook/json.rs) and the host stores, lists (`wa-host events list`) and \
forwards it: one flat JSON object whose `type` names its kind. `unroutable` and \
`connection` events are the host's own. Generated from the writers by \
guest/src/core/webhook/schema.rs: do not edit; regenerate with \
`WA_BLESS=1 cargo test -p whatsapp-guest --lib schema`.";

/// The whole schema: `type` names the kind, `oneOf` holds one closed object per kind.
fn document(kinds: &[Kind], sets: &[(&'static str, Vec<(&'static str, Object)>)]) -> J {
    let names: Vec<J> = kinds.iter().map(|k| J::str(k.name)).collect();
    let mut defs = Vec::new();
    for k in kinds {
        let at = k.name;
        let ty = k.object.members.iter().find(|m| m.0 == "type");
        assert!(
            ty.is_some_and(|m| m.1 == k.object.written && m.2.tags == [k.name] && !m.2.string),
            "`{at}`: every event of a kind is written with `type` {at:?} (a tag)"
        );
        let mut schema = vec![
            ("title".to_string(), J::str(k.name)),
            ("description".to_string(), J::str(k.about)),
        ];
        schema.extend(object(&k.object, sets, at));
        // What the host adds when it lists, forwards or publishes an event.
        if let Some((_, J::Obj(properties))) = schema.iter_mut().find(|m| m.0 == "properties") {
            properties.extend(host_added());
        }
        defs.push((k.name.to_string(), J::Obj(schema)));
    }
    for (name, alternatives) in sets {
        assert!(
            !kinds.iter().any(|k| k.name == *name),
            "`{name}` names both a kind and a set"
        );
        let mut one_of = Vec::new();
        let mut keys: Vec<&str> = Vec::new();
        for (first, a) in alternatives {
            for m in &a.members {
                assert!(
                    m.1 == a.written,
                    "`{name}`: the alternative `{first}` writes `{}` only sometimes",
                    m.0
                );
                assert!(
                    !keys.contains(&m.0),
                    "`{name}`: `{}` is written by two alternatives",
                    m.0
                );
                keys.push(m.0);
            }
            one_of.push(J::Obj(vec![(
                "required".into(),
                J::Arr(a.required().map(J::str).collect()),
            )]));
        }
        let about = format!(
            "Exactly one of these members: {}.",
            keys.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        defs.push((
            name.to_string(),
            J::Obj(vec![
                ("description".into(), J::Str(about)),
                ("oneOf".into(), J::Arr(one_of)),
            ]),
        ));
        // Each alternative's members, once, for every object that holds the set.
        for (_, a) in alternatives {
            for (k, _, s) in &a.members {
                let def = format!("{name}.{k}");
                let schema = shape(s, sets, &def);
                defs.push((def, schema));
            }
        }
    }
    J::Obj(vec![
        (
            "$schema".into(),
            J::str("https://json-schema.org/draft/2020-12/schema"),
        ),
        ("title".into(), J::str("WhatsApp Cloud API events")),
        ("description".into(), J::str(DESCRIPTION)),
        ("type".into(), J::str("object")),
        ("required".into(), J::Arr(vec![J::str("type")])),
        (
            "properties".into(),
            J::Obj(vec![(
                "type".into(),
                J::Obj(vec![("enum".into(), J::Arr(names))]),
            )]),
        ),
        (
            "oneOf".into(),
            J::Arr(kinds.iter().map(|k| reference(k.name)).collect::<Vec<_>>()),
        ),
        ("$defs".into(), J::Obj(defs)),
    ])
}

/// The members the host adds to every event it hands on: its place in the log (listed,
/// forwarded, published) and when it was recorded (listed).
fn host_added() -> [(String, J); 2] {
    let integer = |about: &str, minimum: u64| {
        J::Obj(vec![
            ("description".into(), J::str(about)),
            ("type".into(), J::str("integer")),
            ("minimum".into(), J::Num(minimum)),
        ])
    };
    [
        (
            "seq".into(),
            integer(
                "The event's place in the host's log: added when it is listed, forwarded or published.",
                1,
            ),
        ),
        (
            "received_at_ms".into(),
            integer(
                "When the host recorded it, Unix milliseconds: added by `wa-host events list`.",
                0,
            ),
        ),
    ]
}

fn reference(def: &str) -> J {
    J::Obj(vec![("$ref".into(), J::Str(format!("#/$defs/{def}")))])
}

/// A closed object's keywords: the writer writes these members and no others.
fn object(
    o: &Object,
    sets: &[(&'static str, Vec<(&'static str, Object)>)],
    at: &str,
) -> Vec<(String, J)> {
    assert!(
        o.written > 0,
        "`{at}`: no sample writes one (give a full sample a non-empty list)"
    );
    let mut properties: Vec<(String, J)> = Vec::new();
    for (k, _, s) in &o.members {
        properties.push((k.to_string(), shape(s, sets, &format!("{at}.{k}"))));
    }
    for name in &o.one_of {
        let (_, alternatives) = sets
            .iter()
            .find(|s| s.0 == *name)
            .expect("a set written is recorded");
        for (_, a) in alternatives {
            for (k, _, _) in &a.members {
                assert!(
                    !properties.iter().any(|p| p.0 == *k),
                    "`{at}`: `{k}` is written both by `{name}` and beside it"
                );
                properties.push((k.to_string(), reference(&format!("{name}.{k}"))));
            }
        }
    }
    let mut out = vec![
        ("type".to_string(), J::str("object")),
        ("properties".to_string(), J::Obj(properties)),
    ];
    let required: Vec<J> = o.required().map(J::str).collect();
    if !required.is_empty() {
        out.push(("required".into(), J::Arr(required)));
    }
    out.push(("additionalProperties".into(), J::Bool(false)));
    match o.one_of.as_slice() {
        [] => {}
        [one] => out.extend(match reference(one) {
            J::Obj(members) => members,
            _ => unreachable!(),
        }),
        many => out.push((
            "allOf".into(),
            J::Arr(many.iter().map(|s| reference(s)).collect()),
        )),
    }
    out
}

/// The schema of one key's values.
fn shape(s: &Shape, sets: &[(&'static str, Vec<(&'static str, Object)>)], at: &str) -> J {
    if s.any {
        return J::Obj(vec![(
            "description".into(),
            J::str("Raw JSON as Meta sent it: any value."),
        )]);
    }
    let tags_only = !s.tags.is_empty()
        && !(s.string
            || s.unsigned
            || s.integer
            || s.number
            || s.boolean
            || s.strings
            || s.object.is_some()
            || s.items.is_some());
    if tags_only {
        return match (s.tags.as_slice(), s.null) {
            ([one], false) => J::Obj(vec![("const".into(), J::str(one))]),
            (tags, null) => {
                let mut values: Vec<J> = tags.iter().map(|t| J::str(t)).collect();
                if null {
                    values.push(J::Null);
                }
                J::Obj(vec![("enum".into(), J::Arr(values))])
            }
        };
    }
    let mut types = Vec::new();
    let mut keywords = Vec::new();
    if s.string || !s.tags.is_empty() {
        types.push("string");
    }
    if s.number {
        types.push("number");
    } else if s.integer || s.unsigned {
        types.push("integer");
        if !s.integer {
            keywords.push(("minimum".to_string(), J::Num(0)));
        }
    }
    if s.boolean {
        types.push("boolean");
    }
    if let Some(o) = &s.object {
        types.push("object");
        keywords.extend(object(o, sets, at).into_iter().skip(1));
    }
    match (s.strings, &s.items) {
        (false, None) => {}
        (true, None) => {
            types.push("array");
            keywords.push((
                "items".into(),
                J::Obj(vec![("type".into(), J::str("string"))]),
            ));
        }
        (false, Some(items)) => {
            types.push("array");
            keywords.push((
                "items".into(),
                J::Obj(object(items, sets, &format!("{at}[]"))),
            ));
        }
        (true, Some(_)) => panic!("`{at}`: both an array of strings and one of objects"),
    }
    if s.null {
        types.push("null");
    }
    let ty = match types.as_slice() {
        [one] => J::str(one),
        [] => panic!("`{at}`: written with no value"),
        many => J::Arr(many.iter().map(|t| J::str(t)).collect()),
    };
    let mut out = vec![("type".to_string(), ty)];
    out.extend(keywords);
    J::Obj(out)
}

/// JSON whose objects keep their members in the order given.
enum J {
    Null,
    Bool(bool),
    Num(u64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn str(s: &str) -> J {
        J::Str(s.to_string())
    }

    /// Pretty, two spaces a level; an array or an object of plain values on one line
    /// when that line ends within 90 columns (`column`: where this value starts).
    fn write(&self, out: &mut String, indent: usize, column: usize) {
        let string = |s: &str| serde_json::to_string(s).expect("a string serializes");
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => out.push_str(&n.to_string()),
            J::Str(s) => out.push_str(&string(s)),
            J::Arr(items) => {
                if let Some(line) = self.inline(column) {
                    return out.push_str(&line);
                }
                out.push('[');
                for (n, i) in items.iter().enumerate() {
                    out.push_str(if n > 0 { ",\n" } else { "\n" });
                    out.push_str(&" ".repeat(indent + 2));
                    i.write(out, indent + 2, indent + 2);
                }
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                out.push(']');
            }
            J::Obj(members) => {
                if let Some(line) = self.inline(column) {
                    return out.push_str(&line);
                }
                out.push('{');
                for (n, (k, v)) in members.iter().enumerate() {
                    out.push_str(if n > 0 { ",\n" } else { "\n" });
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(&string(k));
                    out.push_str(": ");
                    v.write(out, indent + 2, indent + 2 + string(k).len() + 2);
                }
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                out.push('}');
            }
        }
    }

    /// This array or object on one line, if it holds only plain values (or plain arrays)
    /// and fits.
    fn inline(&self, column: usize) -> Option<String> {
        let plain = |j: &J| match j {
            J::Obj(_) => false,
            J::Arr(items) => items.iter().all(|i| !matches!(i, J::Arr(_) | J::Obj(_))),
            _ => true,
        };
        let mut line = String::new();
        match self {
            J::Arr(items) if items.iter().all(|i| !matches!(i, J::Arr(_) | J::Obj(_))) => {
                line.push('[');
                for (n, i) in items.iter().enumerate() {
                    if n > 0 {
                        line.push_str(", ");
                    }
                    i.write(&mut line, 0, 0);
                }
                line.push(']');
            }
            J::Obj(members) if members.iter().all(|(_, v)| plain(v)) => {
                line.push('{');
                for (n, (k, v)) in members.iter().enumerate() {
                    if n > 0 {
                        line.push_str(", ");
                    }
                    J::Str(k.clone()).write(&mut line, 0, 0);
                    line.push_str(": ");
                    v.write(&mut line, 0, 0);
                }
                line.push('}');
            }
            _ => return None,
        }
        // A trailing comma may follow.
        (column + line.len() < 90).then_some(line)
    }
}

// ---------------------------------------------------------------------------------------
// The samples

/// How many variants [`EventBody`] has.
const KINDS: usize = 18;

/// Which variant: no wildcard, so that a new kind of event does not compile until it is
/// numbered here (and [`KINDS`] counts it); the generator then fails until [`samples`]
/// gives it samples.
fn kind_number(b: &EventBody) -> usize {
    match b {
        EventBody::Message(_) => 0,
        EventBody::Status(_) => 1,
        EventBody::Echo(_) => 2,
        EventBody::Template(_) => 3,
        EventBody::Account(_) => 4,
        EventBody::PhoneNumber(_) => 5,
        EventBody::Preference(_) => 6,
        EventBody::Call(_) => 7,
        EventBody::AccountAlert(_) => 8,
        EventBody::AccountReview(_) => 9,
        EventBody::Capability(_) => 10,
        EventBody::Security(_) => 11,
        EventBody::Flow(_) => 12,
        EventBody::Group(_) => 13,
        EventBody::History(_) => 14,
        EventBody::ContactSync(_) => 15,
        EventBody::Errors(_) => 16,
        EventBody::Unknown(_) => 17,
    }
}

/// How many variants [`MessageContent`] has.
const CONTENTS: usize = 21;

/// Which variant, as [`kind_number`] for contents (sampled in [`contents`]).
fn content_number(c: &MessageContent) -> usize {
    use MessageContent as C;
    match c {
        C::Text(_) => 0,
        C::Image(_) => 1,
        C::Video(_) => 2,
        C::Audio(_) => 3,
        C::Document(_) => 4,
        C::Sticker(_) => 5,
        C::Location(_) => 6,
        C::Contacts(_) => 7,
        C::Reaction(_) => 8,
        C::ButtonReply(_) => 9,
        C::ListReply(_) => 10,
        C::FlowReply(_) => 11,
        C::CallPermissionReply(_) => 12,
        C::QuickReply(_) => 13,
        C::Order(_) => 14,
        C::System(_) => 15,
        C::Edit(_) => 16,
        C::Revoke(_) => 17,
        C::RequestWelcome => 18,
        C::Unsupported(_) => 19,
        C::Other(_) => 20,
    }
}

fn check_coverage(what: &str, numbers: &[usize], count: usize) {
    for n in numbers {
        assert!(
            *n < count,
            "{what} variant #{n}: count it in schema.rs's constant"
        );
    }
    for n in 0..count {
        assert!(
            numbers.contains(&n),
            "{what} variant #{n} (as numbered in schema.rs) has no sample: add its full and bare forms there"
        );
    }
}

fn s(v: &str) -> String {
    v.to_string()
}

fn some(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Every delivery status (a new one does not compile here until it is listed).
fn statuses() -> [DeliveryStatus; 6] {
    use DeliveryStatus::*;
    let all = [Sent, Delivered, Read, Played, Failed, Deleted];
    match all[0] {
        Sent | Delivered | Read | Played | Failed | Deleted => all,
    }
}

/// Every kind of template update (as [`statuses`]).
fn template_updates() -> [TemplateUpdateKind; 4] {
    use TemplateUpdateKind::*;
    let all = [Status, Category, Quality, Components];
    match all[0] {
        Status | Category | Quality | Components => all,
    }
}

/// Every kind of phone number update (as [`statuses`]).
fn phone_number_updates() -> [PhoneNumberUpdateKind; 2] {
    use PhoneNumberUpdateKind::*;
    let all = [Name, Quality];
    match all[0] {
        Name | Quality => all,
    }
}

/// Two errors: every field given, and none.
fn graph_errors(full: bool) -> Vec<GraphError> {
    if !full {
        return Vec::new();
    }
    vec![
        GraphError {
            code: 131026,
            subcode: Some(2494010),
            error_type: some("OAuthException"),
            message: s("Message undeliverable"),
            details: some("The recipient's phone number is not a WhatsApp phone number."),
            fbtrace_id: some("AbCdEf"),
            is_transient: true,
            http_status: 400,
        },
        GraphError::default(),
    ]
}

/// Every kind of message content, each full (every option given, lists of a full and a
/// bare item) and bare (no option, empty lists).
fn contents() -> Vec<MessageContent> {
    use MessageContent as C;
    let media = Media {
        id: s("1234567890"),
        mime_type: some("image/jpeg"),
        sha256: some("abc="),
        caption: some("A caption"),
        filename: some("file.pdf"),
        url: some("https://lookaside.fbsbx.com/x"),
        voice: true,
        animated: true,
    };
    let choice = ReplyChoice {
        id: s("opt-1"),
        title: s("Yes"),
        description: some("Row description"),
    };
    vec![
        C::Text(s("Hello")),
        C::Text(String::new()),
        C::Image(media.clone()),
        C::Image(Media::default()),
        C::Video(media.clone()),
        C::Video(Media::default()),
        C::Audio(media.clone()),
        C::Audio(Media::default()),
        C::Document(media.clone()),
        C::Document(Media::default()),
        C::Sticker(media),
        C::Sticker(Media::default()),
        C::Location(Location {
            latitude: 52.52,
            longitude: 13.405,
            name: some("Office"),
            address: some("Street 1"),
            url: some("https://example.com"),
        }),
        C::Location(Location::default()),
        C::Contacts(vec![
            ContactCard {
                formatted_name: some("Ana Lima"),
                phones: vec![s("+15551234567")],
                wa_ids: vec![s("15551234567")],
                emails: vec![s("ana@example.com")],
                raw: s(r#"{"name":{"formatted_name":"Ana Lima"}}"#),
            },
            ContactCard::default(),
        ]),
        C::Contacts(Vec::new()),
        C::Reaction(Reaction {
            message_id: s("wamid.R"),
            emoji: some("👍"),
        }),
        C::Reaction(Reaction::default()),
        C::ButtonReply(choice.clone()),
        C::ButtonReply(ReplyChoice::default()),
        C::ListReply(choice),
        C::ListReply(ReplyChoice::default()),
        C::FlowReply(FlowReply {
            name: some("flow"),
            body: some("Sent"),
            response_json: s(r#"{"flow_token":"t","answer":1}"#),
            flow_token: some("t"),
        }),
        C::FlowReply(FlowReply::default()),
        C::CallPermissionReply(CallPermissionReply {
            response: s("accept"),
            expiration_timestamp: Some(1_700_000_000),
            source: some("user_action"),
        }),
        C::CallPermissionReply(CallPermissionReply::default()),
        C::QuickReply(QuickReply {
            payload: s("STOP"),
            text: s("Stop promotions"),
        }),
        C::QuickReply(QuickReply::default()),
        C::Order(Order {
            catalog_id: s("C1"),
            text: some("Thanks"),
            items: vec![
                OrderItem {
                    product_retailer_id: s("SKU-1"),
                    quantity: 2,
                    item_price: 9.5,
                    currency: s("USD"),
                },
                OrderItem::default(),
            ],
        }),
        C::Order(Order::default()),
        C::System(SystemNotice {
            kind: s("user_changed_number"),
            body: s("User changed number"),
            new_wa_id: some("15559876543"),
        }),
        C::System(SystemNotice::default()),
        C::Edit(Edit {
            original_message_id: s("wamid.E"),
            message_type: s("text"),
            text: some("Edited"),
            raw: s(r#"{"type":"text","text":{"body":"Edited"}}"#),
        }),
        C::Edit(Edit::default()),
        C::Revoke(s("wamid.D")),
        C::RequestWelcome,
        C::Unsupported(some("gif")),
        C::Unsupported(None),
        C::Other(s(r#"{"type":"future","future":{}}"#)),
        C::Other(s("{}")),
    ]
}

/// Every kind of event with what it is (the schema's description of it) and its bodies:
/// full (every option given, lists of a full and a bare item) and bare (no option, empty
/// lists), and for a message or an echo one of each per content.
fn samples() -> Vec<(&'static str, Vec<EventBody>)> {
    use EventBody as B;
    let mut out = Vec::new();
    let context = |full: bool| {
        full.then(|| MessageContext {
            message_id: some("wamid.C"),
            from: some("15551234567"),
            forwarded: true,
            frequently_forwarded: true,
        })
    };
    let referral = |full: bool| {
        full.then(|| Referral {
            source_url: some("https://fb.me/x"),
            source_id: some("ad-1"),
            source_type: some("ad"),
            headline: some("Sale"),
            body: some("Today only"),
            media_type: some("image"),
            ctwa_clid: some("clid"),
        })
    };
    let mut messages = Vec::new();
    let mut echoes = Vec::new();
    for content in contents() {
        for full in [true, false] {
            messages.push(B::Message(InboundMessage {
                id: s("wamid.M"),
                from: s("15551234567"),
                from_user_id: full.then(|| s("US.1")),
                message_type: s("text"),
                context: context(full),
                content: content.clone(),
                referral: referral(full),
                errors: graph_errors(full),
            }));
            echoes.push(B::Echo(MessageEcho {
                id: s("wamid.E"),
                from: s("15550001111"),
                to: s("15551234567"),
                to_user_id: full.then(|| s("US.1")),
                message_type: s("text"),
                content: content.clone(),
            }));
        }
    }
    out.push((
        "An inbound message: its content under the key that names its kind (`text`, \
         `image`, …; `content`, raw, for a kind not modelled).",
        messages,
    ));
    out.push((
        "A message the business sent from the WhatsApp Business app \
         (`smb_message_echoes`), its content as a message's.",
        echoes,
    ));
    let mut statuses_ = Vec::new();
    for status in statuses() {
        for full in [true, false] {
            statuses_.push(B::Status(StatusUpdate {
                message_id: s("wamid.S"),
                recipient_id: full.then(|| s("15551234567")),
                status,
                raw_status: s(status.as_str()),
                errors: graph_errors(full),
                conversation: full.then(|| Conversation {
                    id: s("conv-1"),
                    origin_type: some("service"),
                    expiration_timestamp: Some(1_700_086_400),
                }),
                pricing: full.then(|| Pricing {
                    billable: Some(true),
                    pricing_model: some("PMP"),
                    category: some("service"),
                    pricing_type: some("regular"),
                }),
                biz_opaque_callback_data: full.then(|| s("order-42")),
            }));
        }
    }
    out.push(("A status update of a message the business sent.", statuses_));
    let mut templates = Vec::new();
    for kind in template_updates() {
        for full in [true, false] {
            let v = |x: &str| full.then(|| s(x));
            templates.push(B::Template(TemplateUpdate {
                kind,
                template_id: s("T1"),
                name: v("order_ready"),
                language: v("en_US"),
                value: v("APPROVED"),
                previous: v("PENDING"),
                reason: v("NONE"),
                category: v("UTILITY"),
                raw: s("{}"),
            }));
        }
    }
    out.push((
        "A template's status, category, quality or components changed (`update`).",
        templates,
    ));
    out.push((
        "An `account_update` (`event`); `raw` is the change's value.",
        vec![
            B::Account(AccountUpdate {
                event: s("ACCOUNT_RESTRICTION"),
                raw: s(r#"{"event":"ACCOUNT_RESTRICTION"}"#),
            }),
            B::Account(AccountUpdate {
                event: String::new(),
                raw: s("{}"),
            }),
        ],
    ));
    let mut numbers = Vec::new();
    for kind in phone_number_updates() {
        for full in [true, false] {
            let v = |x: &str| full.then(|| s(x));
            numbers.push(B::PhoneNumber(PhoneNumberUpdate {
                kind,
                display_phone_number: v("15550001111"),
                event: v("APPROVED"),
                requested_verified_name: v("Acme"),
                current_limit: v("TIER_1K"),
                raw: s("{}"),
            }));
        }
    }
    out.push((
        "A phone number's name or quality changed (`update`); `raw` is the change's value.",
        numbers,
    ));
    let preference = |full: bool| {
        let v = |x: &str| full.then(|| s(x));
        B::Preference(UserPreference {
            wa_id: v("15551234567"),
            user_id: v("US.1"),
            category: s("marketing_messages"),
            value: s("stop"),
            detail: v("User requested to stop marketing messages"),
        })
    };
    out.push((
        "A user's marketing-message preference (`user_preferences`).",
        vec![preference(true), preference(false)],
    ));
    let call = |full: bool| {
        let v = |x: &str| full.then(|| s(x));
        B::Call(CallEvent {
            id: s("wacid.1"),
            event: s("connect"),
            direction: v("USER_INITIATED"),
            from: v("15551234567"),
            to: v("15550001111"),
            status: v("COMPLETED"),
            duration_seconds: full.then_some(42),
            raw: s("{}"),
        })
    };
    out.push(("A call event (`calls`).", vec![call(true), call(false)]));
    let alert = |full: bool| {
        let v = |x: &str| full.then(|| s(x));
        B::AccountAlert(AccountAlert {
            entity_type: s("PHONE_NUMBER"),
            entity_id: s("106540352242922"),
            alert_type: s("OBA_APPROVED"),
            severity: v("INFORMATIONAL"),
            status: v("ACTIVE"),
            description: v("Approved"),
        })
    };
    out.push((
        "Something about the business or a number needs attention, or no longer does \
         (`account_alerts`).",
        vec![alert(true), alert(false)],
    ));
    out.push((
        "The business account's review decision (`account_review_update`).",
        vec![B::AccountReview(s("APPROVED"))],
    ));
    out.push((
        "The limits Meta applies to the business changed (`business_capability_update`); \
         a messaging limit of -1 is unlimited.",
        vec![
            B::Capability(BusinessCapability {
                messaging_limit: Some(-1),
                messaging_limit_tier: some("TIER_UNLIMITED"),
                per_phone_limit: Some(1000),
                max_phone_numbers_per_business: Some(2),
                max_phone_numbers_per_waba: Some(25),
            }),
            B::Capability(BusinessCapability::default()),
        ],
    ));
    let security = |full: bool| {
        let v = |x: &str| full.then(|| s(x));
        B::Security(SecurityNotice {
            event: s("PIN_CHANGED"),
            display_phone_number: v("15550001111"),
            requester: v("1234"),
        })
    };
    out.push((
        "A number's two-step verification PIN (`security`).",
        vec![security(true), security(false)],
    ));
    let flow = |full: bool| {
        let v = |x: &str| full.then(|| s(x));
        B::Flow(FlowUpdate {
            event: s("ENDPOINT_ERROR_RATE"),
            flow_id: s("F1"),
            message: v("Error rate above threshold"),
            old_status: v("DRAFT"),
            new_status: v("PUBLISHED"),
            alert_state: v("ACTIVATED"),
            threshold: full.then_some(10.0),
            error_rate: full.then_some(12.5),
            p50_latency_ms: full.then_some(100),
            p90_latency_ms: full.then_some(900),
            requests_count: full.then_some(1000),
            availability: full.then_some(99.5),
            errors: if full {
                vec![
                    FlowErrorCount {
                        error_type: s("TIMEOUT"),
                        error_rate: Some(5.0),
                        error_count: Some(50),
                    },
                    FlowErrorCount {
                        error_type: s("INVALID_SCREEN_TRANSITION"),
                        error_rate: None,
                        error_count: None,
                    },
                ]
            } else {
                Vec::new()
            },
        })
    };
    out.push((
        "A flow's status, or an alert on its endpoint's health (`flows`).",
        vec![flow(true), flow(false)],
    ));
    let group = |full: bool| {
        let v = |x: &str| full.then(|| s(x));
        let participants = if full {
            vec![
                GroupParticipant {
                    wa_id: some("15551234567"),
                    user_id: some("US.1"),
                    input: some("+15551234567"),
                },
                GroupParticipant::default(),
            ]
        } else {
            Vec::new()
        };
        B::Group(GroupUpdate {
            update: s("group_participants_add"),
            group_id: s("G1"),
            request_id: v("R1"),
            subject: v("Team"),
            description: v("Our team"),
            invite_link: v("https://chat.whatsapp.com/x"),
            join_approval_mode: v("approval_required"),
            reason: v("invite_link"),
            initiated_by: v("business"),
            join_request_id: v("J1"),
            added: participants.clone(),
            removed: participants,
            failed: if full { vec![s("+1555")] } else { Vec::new() },
            errors: graph_errors(full),
            raw: s("{}"),
        })
    };
    out.push((
        "A change to one of the business's groups, one event per group of the change; \
         `raw` is that group's item.",
        vec![group(true), group(false)],
    ));
    let history = |full: bool| {
        let messages = if full {
            let mut m = HistoryMessage {
                thread: s("15551234567"),
                id: s("wamid.H"),
                from: s("15550001111"),
                to: some("15551234567"),
                timestamp: Some(1_700_000_000),
                message_type: s("text"),
                status: some("READ"),
                content: MessageContent::Text(s("Earlier")),
            };
            let bare = HistoryMessage {
                to: None,
                timestamp: None,
                status: None,
                content: MessageContent::Image(Media::default()),
                ..m.clone()
            };
            m.content = MessageContent::Other(s("{}"));
            vec![m, bare]
        } else {
            Vec::new()
        };
        B::History(HistoryChunk {
            phase: full.then_some(0),
            chunk_order: full.then_some(1),
            progress: full.then_some(50),
            messages,
            errors: graph_errors(full),
        })
    };
    out.push((
        "A chunk of the WhatsApp Business app's chat history (`history`): its messages, \
         each with its content as a message's.",
        vec![history(true), history(false)],
    ));
    let sync = |full: bool| {
        B::ContactSync(ContactSync {
            action: s("add"),
            phone_number: s("15551234567"),
            full_name: full.then(|| s("Ana Lima")),
            first_name: full.then(|| s("Ana")),
        })
    };
    out.push((
        "A contact added, changed or removed in the WhatsApp Business app \
         (`smb_app_state_sync`).",
        vec![sync(true), sync(false)],
    ));
    out.push((
        "Errors Meta reported for a whole change.",
        vec![
            B::Errors(graph_errors(true)),
            B::Errors(graph_errors(false)),
        ],
    ));
    out.push((
        "A change no version of the component models, kept raw.",
        vec![
            B::Unknown(s(r#"{"field":"future","value":{"x":1}}"#)),
            B::Unknown(s("{}")),
        ],
    ));
    out
}

/// An event around `body`: with every envelope option and a full contact, with a bare
/// contact, and with none; each with the tenant's id and without.
fn envelopes(body: EventBody) -> Vec<(Event, Option<&'static str>)> {
    let full_contact = Contact {
        wa_id: some("15551234567"),
        user_id: some("US.1"),
        name: some("Ana"),
        username: some("ana"),
        parent_user_id: some("US.0"),
    };
    let mut out = Vec::new();
    for (full, contact) in [
        (true, Some(full_contact)),
        (false, Some(Contact::default())),
        (false, None),
    ] {
        let e = Event {
            idempotency_key: s("message:wamid.M"),
            field: s("messages"),
            routing: Routing {
                waba_id: s("102290129340398"),
                phone_number_id: full.then(|| s("106540352242922")),
                display_phone_number: full.then(|| s("15550001111")),
            },
            contact,
            timestamp: full.then_some(1_700_000_000),
            body: body.clone(),
        };
        out.push((e.clone(), Some("acme")));
        out.push((e, None));
    }
    out
}

const REJECTED: &str = "A verified body that could not be read (not JSON, not a webhook), \
kept whole, base64, with the reason: written by the webhook ingress component and by the \
host's webhook server (whose tenant is null when the body answered to the host's own app \
secret).";

/// Events the host writes itself into the same log, forwarded like the component's
/// (`host/src/server.rs`, `host/src/runtime.rs`). The host does not link this crate (the
/// WIT is the one contract between them), so their members are stated here, through the
/// same `Sink`; `tests/schema.rs` checks the host's real output against the schema.
enum HostEvent {
    /// A change no tenant owns.
    Unroutable {
        phone_number_id: Option<&'static str>,
    },
    /// The tenant connected: a new token, of this generation, for these WABAs.
    Connected,
    /// Meta refused the tenant's token.
    ReauthRequired,
}

impl HostEvent {
    fn kind(&self) -> &'static str {
        match self {
            HostEvent::Unroutable { .. } => "unroutable",
            HostEvent::Connected | HostEvent::ReauthRequired => "connection",
        }
    }

    fn about(&self) -> &'static str {
        match self {
            HostEvent::Unroutable { .. } => {
                "Written by the host: a change that no tenant owns, kept raw, with no \
                 tenant."
            }
            HostEvent::Connected | HostEvent::ReauthRequired => {
                "Written by the host: the tenant connected (`state` `connected`, with its \
                 WABAs), or Meta refused its token (`reauth-required`, with Meta's error); \
                 `generation` counts the tokens the tenant stored."
            }
        }
    }
}

fn host_samples() -> Vec<HostEvent> {
    vec![
        HostEvent::Unroutable {
            phone_number_id: Some("106540352242922"),
        },
        HostEvent::Unroutable {
            phone_number_id: None,
        },
        HostEvent::Connected,
        HostEvent::ReauthRequired,
    ]
}

/// The members the host writes (`serde_json::json!` there; its key order is not kept).
fn host_event<S: Sink>(o: &mut S, e: &HostEvent) {
    match e {
        HostEvent::Unroutable { phone_number_id } => {
            o.tag("type", "unroutable");
            o.str("waba_id", "102290129340398");
            o.opt_str("phone_number_id", *phone_number_id);
            o.raw("raw", "{}");
        }
        HostEvent::Connected => {
            o.tag("type", "connection");
            o.str("tenant", "acme");
            o.tag("state", "connected");
            o.u64("generation", 1);
            o.strs("waba_ids", &[s("102290129340398")]);
        }
        HostEvent::ReauthRequired => {
            o.tag("type", "connection");
            o.str("tenant", "acme");
            o.tag("state", "reauth-required");
            o.u64("generation", 1);
            o.i64("code", 190);
            o.opt_i64("subcode", Some(463));
            o.str("message", "Error validating access token");
            o.opt_str("fbtrace_id", Some("AbC"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::path::PathBuf;

    fn published() -> PathBuf {
        let guest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        guest
            .parent()
            .expect("the guest is in the workspace")
            .join(PATH)
    }

    #[test]
    fn the_published_schema_is_the_one_the_writers_make() {
        let generated = events_schema();
        let path = published();
        if std::env::var("WA_BLESS").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
            eprintln!("wrote {}", path.display());
            return;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != generated {
            let (n, (was, is)) = committed
                .lines()
                .chain(std::iter::repeat(""))
                .zip(generated.lines().chain(std::iter::repeat("")))
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .unwrap_or((0, ("", "")));
            panic!(
                "{} is not the schema the event writers (json.rs) make: first difference at \
                 line {}:\n  committed: {was}\n  generated: {is}\nRegenerate it with \
                 `WA_BLESS=1 cargo test -p whatsapp-guest --lib schema` and review the diff.",
                path.display(),
                n + 1
            );
        }
    }

    #[test]
    fn every_kind_of_event_and_content_has_samples() {
        let mut kinds = Vec::new();
        let mut contents_ = Vec::new();
        for (_, bodies) in samples() {
            for b in bodies {
                kinds.push(kind_number(&b));
                if let EventBody::Message(m) = &b {
                    contents_.push(content_number(&m.content));
                }
            }
        }
        check_coverage("EventBody", &kinds, KINDS);
        check_coverage("MessageContent", &contents_, CONTENTS);
        let mut from_contents: Vec<usize> = contents().iter().map(content_number).collect();
        from_contents.dedup();
        assert_eq!(from_contents, (0..CONTENTS).collect::<Vec<_>>());
    }

    #[test]
    fn a_missing_sample_fails_the_generator() {
        let r = std::panic::catch_unwind(|| check_coverage("EventBody", &[0, 1, 3], 4));
        assert!(r.is_err());
        let r = std::panic::catch_unwind(|| {
            let mut rec = Recorder::default();
            let o = rec.record(|r| r.list("items", &[] as &[u8], |r, _| r.u64("n", 1)));
            let mut kinds = Vec::new();
            add(&mut kinds, "k", "", o);
            document(&kinds, &rec.sets)
        });
        assert!(r.is_err(), "a list no sample fills has no item schema");
    }

    #[test]
    fn the_schema_is_json_and_each_sample_written_has_exactly_its_kinds_keys() {
        let schema: Value = serde_json::from_str(&events_schema()).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let defs = schema["$defs"].as_object().unwrap();
        let content = &defs["message_content"]["oneOf"];
        assert_eq!(content.as_array().unwrap().len(), CONTENTS);
        let kinds = schema["properties"]["type"]["enum"].as_array().unwrap();
        assert_eq!(kinds.len(), KINDS + 3, "{kinds:?}");
        for (_, bodies) in samples() {
            for body in bodies {
                for (e, tenant) in envelopes(body) {
                    let v: Value = serde_json::from_str(&json::to_json(&e, tenant)).unwrap();
                    let def = &defs[e.body.kind()];
                    let properties = def["properties"].as_object().unwrap();
                    for k in v.as_object().unwrap().keys() {
                        assert!(properties.contains_key(k), "{}: {k}", e.body.kind());
                    }
                    for k in def["required"].as_array().unwrap() {
                        assert!(v.get(k.as_str().unwrap()).is_some(), "{v}: {k}");
                    }
                }
            }
        }
        let v: Value = serde_json::from_str(&json::rejected(None, "why", b"x")).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut required: Vec<&str> = defs["rejected"]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        keys.sort();
        required.sort();
        assert_eq!(keys, required, "{v}");
    }

    #[test]
    fn what_the_samples_fix_is_stated() {
        let schema: Value = serde_json::from_str(&events_schema()).unwrap();
        let message = &schema["$defs"]["message"];
        assert_eq!(
            message["properties"]["type"],
            serde_json::json!({"const": "message"})
        );
        assert_eq!(message["additionalProperties"], false);
        assert_eq!(message["$ref"], "#/$defs/message_content");
        // Always written (null when none), or written only when given.
        let required: Vec<&str> = message["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(required.contains(&"phone_number_id"));
        assert!(!required.contains(&"tenant") && !required.contains(&"contact"));
        assert!(!required.contains(&"text"), "content keys are the set's");
        assert_eq!(
            message["properties"]["phone_number_id"]["type"],
            serde_json::json!(["string", "null"])
        );
        let status = &schema["$defs"]["status"]["properties"]["status"]["enum"];
        assert_eq!(status.as_array().unwrap().len(), 6);
        let contact = &message["properties"]["contact"];
        assert_eq!(
            contact["required"],
            serde_json::json!(["wa_id", "user_id", "name"])
        );
    }
}
