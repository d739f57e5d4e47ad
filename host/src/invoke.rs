//! Any operation the component exports, called by name with JSON arguments: what
//! `wa-host call` and the admin API's `POST /tenants/{id}/call/{operation}` run, so that
//! every operation in the WIT is reachable from a shell or over HTTP without a line of
//! host code per operation.
//!
//! The JSON form follows the WIT, read from the component's own types at run time:
//!
//! | WIT | JSON |
//! |---|---|
//! | `bool`, integers, floats, `string`, `char` | the same |
//! | `record` | an object; fields in snake_case (kebab-case is taken too); an `option` field may be left out |
//! | `list<u8>` | base64 text (an array of numbers is taken too) |
//! | `list<T>`, `tuple<…>` | an array |
//! | `option<T>` | `null` or the value |
//! | `enum`, `variant` case without a payload | the case's name, `"invalid-input"` |
//! | `variant` case with a payload | `{"case-name": payload}` |
//! | `flags` | an array of names |
//! | `result<T, E>` | `{"ok": T}` or `{"err": E}` |
//!
//! An operation's own `result<T, error>` is unwrapped: `T` is the answer, and the
//! `error` comes back as the typed [`api::Error`] every other call gives.

use crate::api;
use base64::Engine as _;
use serde_json::{Map, Value, json};
use tracing::Instrument;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, Val};

/// The package whose interfaces can be called.
const PACKAGE: &str = "whatsapp:cloud-api/";
/// Its version, as the interfaces are exported.
const VERSION: &str = "@0.1.0";

/// Why a call by name did not reach the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// No operation of that name (`interface.function`, as `wa-host call --list` prints).
    NoSuchOperation(String),
    /// The arguments do not fit the operation's parameters: where, and why.
    Arguments(String),
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InvokeError::NoSuchOperation(name) => write!(
                f,
                "no operation named {name:?} (interface.function, e.g. flows.get; `wa-host call --list` lists them)"
            ),
            InvokeError::Arguments(why) => write!(f, "arguments: {why}"),
        }
    }
}

impl std::error::Error for InvokeError {}

/// One operation of the component: its name and parameters, for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Operation {
    /// `interface.function`.
    pub name: String,
    /// Each parameter: its JSON name and its WIT type.
    pub params: Vec<(String, String)>,
    /// What it gives back, as WIT.
    pub result: String,
}

impl crate::Runtime {
    /// Every operation the component exports, with its parameters (`wa-host call --list`).
    pub fn operations(&self) -> Vec<Operation> {
        operations(self.pre.component())
    }
}

impl crate::Instance {
    /// Call `operation` (`interface.function`) with JSON arguments (the mapping is
    /// [`crate::invoke`]'s): what `wa-host call` and the admin API run. The outer error is
    /// a trap or host failure; the middle one a name or arguments that do not fit; the
    /// inner one the component's typed error, after which a refused token is noted as
    /// every typed call notes it.
    pub async fn invoke(
        &mut self,
        operation: &str,
        args: &serde_json::Value,
    ) -> wasmtime::Result<Result<Result<serde_json::Value, api::Error>, InvokeError>> {
        let (interface, name) = match locate(operation) {
            Ok(l) => l,
            Err(e) => return Ok(Err(e)),
        };
        let func = self
            .instance
            .get_export_index(&mut self.store, None, &interface)
            .and_then(|i| {
                self.instance
                    .get_export_index(&mut self.store, Some(&i), name)
            })
            .and_then(|f| self.instance.get_func(&mut self.store, f));
        let Some(func) = func else {
            return Ok(Err(InvokeError::NoSuchOperation(operation.to_string())));
        };
        let ty = func.ty(&self.store);
        let params = match arguments(&ty, args) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let mut results = vec![wasmtime::component::Val::Bool(false); ty.results().len()];
        let span = self.start_call(operation);
        func.call_async(&mut self.store, &params, &mut results)
            .instrument(span)
            .await?;
        let answer = answer(results);
        if let Err(api::Error {
            kind: api::ErrorKind::Unauthorized,
            graph: Some(e),
            ..
        }) = &answer
        {
            self.noted(e).await;
        }
        Ok(Ok(answer))
    }
}

/// Every operation of the package's exported interfaces, in the component's order.
pub fn operations(component: &Component) -> Vec<Operation> {
    let engine = component.engine();
    let ty = component.component_type();
    let mut out = Vec::new();
    for (name, item) in ty.exports(engine) {
        let Some(interface) = name
            .strip_prefix(PACKAGE)
            .and_then(|n| n.strip_suffix(VERSION))
        else {
            continue;
        };
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        for (func, item) in instance.exports(engine) {
            if let ComponentItem::ComponentFunc(f) = item.ty {
                out.push(Operation {
                    name: format!("{interface}.{func}"),
                    params: f.params().map(|(n, t)| (snake(n), wit_type(&t))).collect(),
                    result: f
                        .results()
                        .map(|t| wit_type(&t))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    out
}

/// Where `interface.function` is in the component: the exported instance's name and the
/// function's.
pub fn locate(operation: &str) -> Result<(String, &str), InvokeError> {
    let missing = || InvokeError::NoSuchOperation(operation.to_string());
    let (interface, func) = operation.split_once('.').ok_or_else(missing)?;
    if interface.is_empty() || func.is_empty() {
        return Err(missing());
    }
    Ok((format!("{PACKAGE}{interface}{VERSION}"), func))
}

/// The arguments of `func` from `args`: an object keyed by parameter name, an array in
/// parameter order, or `null` (as `{}`: no arguments, or only options left out).
pub fn arguments(func: &ComponentFunc, args: &Value) -> Result<Vec<Val>, InvokeError> {
    let params: Vec<(&str, Type)> = func.params().collect();
    let bad = |why: String| InvokeError::Arguments(why);
    match args {
        Value::Null => arguments(func, &Value::Object(Map::new())),
        Value::Array(items) => {
            if items.len() != params.len() {
                return Err(bad(format!(
                    "{} given, the operation takes {} ({})",
                    items.len(),
                    params.len(),
                    names(&params)
                )));
            }
            params
                .iter()
                .zip(items)
                .map(|((n, t), v)| to_val(t, v, &snake(n)).map_err(bad))
                .collect()
        }
        Value::Object(fields) => {
            for k in fields.keys() {
                if !params.iter().any(|(n, _)| same_name(n, k)) {
                    return Err(bad(format!(
                        "{k}: no such parameter (the operation takes {})",
                        names(&params)
                    )));
                }
            }
            params
                .iter()
                .map(|(n, t)| {
                    let v = fields.iter().find(|(k, _)| same_name(n, k)).map(|(_, v)| v);
                    match (v, t) {
                        (Some(v), t) => to_val(t, v, &snake(n)),
                        (None, Type::Option(_)) => Ok(Val::Option(None)),
                        (None, _) => Err(format!("{}: missing", snake(n))),
                    }
                    .map_err(bad)
                })
                .collect()
        }
        _ => Err(bad(format!(
            "an object keyed by parameter name or an array ({})",
            names(&params)
        ))),
    }
}

fn names(params: &[(&str, Type)]) -> String {
    if params.is_empty() {
        return "no parameters".into();
    }
    params
        .iter()
        .map(|(n, _)| snake(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the operation answered: its value, or the component's typed error.
#[allow(clippy::result_large_err)] // the same `api::Error` every typed call returns
pub fn answer(results: Vec<Val>) -> Result<Value, api::Error> {
    let mut results = results.into_iter();
    match (results.next(), results.next()) {
        (None, _) => Ok(Value::Null),
        (Some(Val::Result(Ok(v))), None) => Ok(v.map_or(Value::Null, |v| to_json(&v))),
        (Some(Val::Result(Err(Some(e)))), None) => match error_of(&e) {
            Some(e) => Err(e),
            None => Ok(json!({ "err": to_json(&e) })),
        },
        (Some(v), None) => Ok(to_json(&v)),
        (Some(first), Some(second)) => {
            let mut all = vec![to_json(&first), to_json(&second)];
            all.extend(results.map(|v| to_json(&v)));
            Ok(Value::Array(all))
        }
    }
}

fn snake(name: &str) -> String {
    name.replace('-', "_")
}

fn same_name(wit: &str, json: &str) -> bool {
    wit.len() == json.len()
        && wit
            .bytes()
            .zip(json.bytes())
            .all(|(a, b)| a == b || (a == b'-' && b == b'_'))
}

fn at(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// `v` as a value of WIT type `ty`; an error names the path into the arguments.
fn to_val(ty: &Type, v: &Value, path: &str) -> Result<Val, String> {
    let want = |what: &str| format!("{path}: expected {what}, got {}", kind(v));
    let int = |lo: i128, hi: i128| -> Result<i128, String> {
        let n = v
            .as_i64()
            .map(i128::from)
            .or_else(|| v.as_u64().map(i128::from))
            .ok_or_else(|| want("an integer"))?;
        if n < lo || n > hi {
            return Err(format!("{path}: {n} is out of range ({lo} to {hi})"));
        }
        Ok(n)
    };
    Ok(match ty {
        Type::Bool => Val::Bool(v.as_bool().ok_or_else(|| want("true or false"))?),
        Type::U8 => Val::U8(int(0, u8::MAX.into())? as u8),
        Type::U16 => Val::U16(int(0, u16::MAX.into())? as u16),
        Type::U32 => Val::U32(int(0, u32::MAX.into())? as u32),
        Type::U64 => Val::U64(int(0, u64::MAX.into())? as u64),
        Type::S8 => Val::S8(int(i8::MIN.into(), i8::MAX.into())? as i8),
        Type::S16 => Val::S16(int(i16::MIN.into(), i16::MAX.into())? as i16),
        Type::S32 => Val::S32(int(i32::MIN.into(), i32::MAX.into())? as i32),
        Type::S64 => Val::S64(int(i64::MIN.into(), i64::MAX.into())? as i64),
        Type::Float32 => Val::Float32(v.as_f64().ok_or_else(|| want("a number"))? as f32),
        Type::Float64 => Val::Float64(v.as_f64().ok_or_else(|| want("a number"))?),
        Type::Char => {
            let s = v.as_str().ok_or_else(|| want("one character"))?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(want("one character")),
            }
        }
        Type::String => Val::String(v.as_str().ok_or_else(|| want("a string"))?.to_string()),
        Type::List(l) => {
            let item = l.ty();
            match (v, &item) {
                (Value::String(s), Type::U8) => Val::List(
                    base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .map_err(|e| format!("{path}: not base64: {e}"))?
                        .into_iter()
                        .map(Val::U8)
                        .collect(),
                ),
                (Value::Array(items), _) => Val::List(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| to_val(&item, v, &format!("{path}[{i}]")))
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(want("an array")),
            }
        }
        Type::Record(r) => {
            let Value::Object(o) = v else {
                return Err(want("an object"));
            };
            for k in o.keys() {
                if !r.fields().any(|f| same_name(f.name, k)) {
                    let known: Vec<String> = r.fields().map(|f| snake(f.name)).collect();
                    return Err(format!(
                        "{}: no such field (fields: {})",
                        at(path, k),
                        known.join(", ")
                    ));
                }
            }
            Val::Record(
                r.fields()
                    .map(|f| {
                        let p = at(path, &snake(f.name));
                        let given = o.iter().find(|(k, _)| same_name(f.name, k)).map(|(_, v)| v);
                        let val = match (given, &f.ty) {
                            (Some(v), t) => to_val(t, v, &p)?,
                            (None, Type::Option(_)) => Val::Option(None),
                            (None, _) => return Err(format!("{p}: missing")),
                        };
                        Ok((f.name.to_string(), val))
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        Type::Tuple(t) => {
            let Value::Array(items) = v else {
                return Err(want("an array"));
            };
            if items.len() != t.types().len() {
                return Err(format!("{path}: expected {} items", t.types().len()));
            }
            Val::Tuple(
                t.types()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (t, v))| to_val(&t, v, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Variant(variant) => {
            let (name, payload) =
                case_of(v).ok_or_else(|| want("a case name or {\"case\": value}"))?;
            let case = variant
                .cases()
                .find(|c| same_name(c.name, name))
                .ok_or_else(|| {
                    let known: Vec<&str> = variant.cases().map(|c| c.name).collect();
                    format!("{path}: no case {name:?} (cases: {})", known.join(", "))
                })?;
            let p = at(path, name);
            let payload = match (&case.ty, payload) {
                (Some(t), Some(v)) => Some(Box::new(to_val(t, v, &p)?)),
                (Some(_), None) => return Err(format!("{p}: this case carries a value")),
                (None, None | Some(Value::Null)) => None,
                (None, Some(_)) => return Err(format!("{p}: this case carries no value")),
            };
            Val::Variant(case.name.to_string(), payload)
        }
        Type::Enum(e) => {
            let s = v.as_str().ok_or_else(|| want("a name"))?;
            let name = e.names().find(|n| same_name(n, s)).ok_or_else(|| {
                format!(
                    "{path}: {s:?} is not one of {}",
                    e.names().collect::<Vec<_>>().join(", ")
                )
            })?;
            Val::Enum(name.to_string())
        }
        Type::Option(o) => match v {
            Value::Null => Val::Option(None),
            v => Val::Option(Some(Box::new(to_val(&o.ty(), v, path)?))),
        },
        Type::Result(r) => match case_of(v) {
            Some(("ok", payload)) => Val::Result(Ok(typed(r.ok(), payload, &at(path, "ok"))?)),
            Some(("err", payload)) => Val::Result(Err(typed(r.err(), payload, &at(path, "err"))?)),
            _ => return Err(want("{\"ok\": …} or {\"err\": …}")),
        },
        Type::Flags(f) => {
            let Value::Array(items) = v else {
                return Err(want("an array of flag names"));
            };
            let mut set = Vec::new();
            for item in items {
                let s = item.as_str().unwrap_or_default();
                let name = f
                    .names()
                    .find(|n| same_name(n, s))
                    .ok_or_else(|| format!("{path}: no flag {item}"))?;
                set.push(name.to_string());
            }
            Val::Flags(set)
        }
        other => {
            return Err(format!(
                "{path}: a {} cannot be given as JSON; call this operation from the library",
                wit_type(other)
            ));
        }
    })
}

fn typed(ty: Option<Type>, v: Option<&Value>, path: &str) -> Result<Option<Box<Val>>, String> {
    match (ty, v) {
        (Some(t), Some(v)) => Ok(Some(Box::new(to_val(&t, v, path)?))),
        (Some(_), None) => Err(format!("{path}: missing")),
        (None, None | Some(Value::Null)) => Ok(None),
        (None, Some(_)) => Err(format!("{path}: carries no value")),
    }
}

/// A case: `"name"` alone, or `{"name": payload}`.
fn case_of(v: &Value) -> Option<(&str, Option<&Value>)> {
    match v {
        Value::String(s) => Some((s, None)),
        Value::Object(o) if o.len() == 1 => o.iter().next().map(|(k, v)| (k.as_str(), Some(v))),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `v` as JSON (the table in the module's documentation).
pub fn to_json(v: &Val) -> Value {
    match v {
        Val::Bool(b) => json!(b),
        Val::U8(n) => json!(n),
        Val::U16(n) => json!(n),
        Val::U32(n) => json!(n),
        Val::U64(n) => json!(n),
        Val::S8(n) => json!(n),
        Val::S16(n) => json!(n),
        Val::S32(n) => json!(n),
        Val::S64(n) => json!(n),
        Val::Float32(n) => json!(n),
        Val::Float64(n) => json!(n),
        Val::Char(c) => json!(c.to_string()),
        Val::String(s) => json!(s),
        Val::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, Val::U8(_))) => {
            let bytes: Vec<u8> = items
                .iter()
                .map(|i| if let Val::U8(b) = i { *b } else { 0 })
                .collect();
            json!(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Val::List(items) | Val::Tuple(items) | Val::FixedLengthList(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
        Val::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (snake(k), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        Val::Variant(name, None) | Val::Enum(name) => json!(name),
        Val::Variant(name, Some(v)) => json!({ name.as_str(): to_json(v) }),
        Val::Option(None) => Value::Null,
        Val::Option(Some(v)) => to_json(v),
        Val::Result(Ok(v)) => json!({ "ok": v.as_deref().map_or(Value::Null, to_json) }),
        Val::Result(Err(v)) => json!({ "err": v.as_deref().map_or(Value::Null, to_json) }),
        Val::Flags(names) => json!(names),
        Val::Map(pairs) => Value::Array(
            pairs
                .iter()
                .map(|(k, v)| json!([to_json(k), to_json(v)]))
                .collect(),
        ),
        Val::Resource(_) | Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            json!("(a handle)")
        }
    }
}

/// The package's `error` record, when `v` is one.
fn error_of(v: &Val) -> Option<api::Error> {
    let f = fields(v)?;
    let kind = match get(f, "kind")? {
        Val::Enum(k) => kind_named(k)?,
        _ => return None,
    };
    Some(api::Error {
        kind,
        message: string(get(f, "message")?)?,
        field: optional(get(f, "field")?, string)?,
        retry_after_seconds: optional(get(f, "retry-after-seconds")?, |v| match v {
            Val::U32(n) => Some(*n),
            _ => None,
        })?,
        graph: optional(get(f, "graph")?, graph_error_of)?,
    })
}

fn graph_error_of(v: &Val) -> Option<api::GraphError> {
    let f = fields(v)?;
    let s32 = |v: &Val| match v {
        Val::S32(n) => Some(*n),
        _ => None,
    };
    Some(api::GraphError {
        code: s32(get(f, "code")?)?,
        subcode: optional(get(f, "subcode")?, s32)?,
        error_type: optional(get(f, "error-type")?, string)?,
        message: string(get(f, "message")?)?,
        details: optional(get(f, "details")?, string)?,
        fbtrace_id: optional(get(f, "fbtrace-id")?, string)?,
        is_transient: matches!(get(f, "is-transient")?, Val::Bool(true)),
        http_status: match get(f, "http-status")? {
            Val::U16(n) => *n,
            _ => return None,
        },
    })
}

fn fields(v: &Val) -> Option<&[(String, Val)]> {
    match v {
        Val::Record(f) => Some(f),
        _ => None,
    }
}

fn get<'a>(fields: &'a [(String, Val)], name: &str) -> Option<&'a Val> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn string(v: &Val) -> Option<String> {
    match v {
        Val::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// `Some(None)` for `none`, `Some(Some(x))` for a `some` that `f` reads, `None` when the
/// value is not an option of that.
fn optional<T>(v: &Val, f: impl Fn(&Val) -> Option<T>) -> Option<Option<T>> {
    match v {
        Val::Option(None) => Some(None),
        Val::Option(Some(v)) => f(v).map(Some),
        _ => None,
    }
}

fn kind_named(name: &str) -> Option<api::ErrorKind> {
    use api::ErrorKind as K;
    [
        K::InvalidInput,
        K::NotConfigured,
        K::Unauthorized,
        K::RateLimited,
        K::OutsideWindow,
        K::TemplateMismatch,
        K::Recipient,
        K::PolicyBlocked,
        K::Meta,
        K::BadSignature,
        K::EgressDenied,
        K::Network,
        K::Ambiguous,
        K::Storage,
        K::Other,
    ]
    .into_iter()
    .find(|k| crate::events::kind_name(*k) == name)
}

/// A WIT type written as WIT, for `--list`.
fn wit_type(t: &Type) -> String {
    match t {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(l) => format!("list<{}>", wit_type(&l.ty())),
        Type::Record(r) => format!(
            "{{{}}}",
            r.fields()
                .map(|f| format!("{}: {}", snake(f.name), wit_type(&f.ty)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Tuple(t) => format!(
            "tuple<{}>",
            t.types()
                .map(|t| wit_type(&t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Variant(v) => v
            .cases()
            .map(|c| match &c.ty {
                Some(t) => format!("{{\"{}\": {}}}", c.name, wit_type(t)),
                None => format!("\"{}\"", c.name),
            })
            .collect::<Vec<_>>()
            .join(" | "),
        Type::Enum(e) => e
            .names()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(" | "),
        Type::Option(o) => format!("option<{}>", wit_type(&o.ty())),
        Type::Result(r) => {
            let ok = r.ok().map_or("_".into(), |t| wit_type(&t));
            match r.err() {
                // The package's own error: the same for every operation, said once.
                Some(Type::Record(e)) if e.fields().any(|f| f.name == "kind") => {
                    format!("result<{ok}, error>")
                }
                Some(e) => format!("result<{ok}, {}>", wit_type(&e)),
                None => format!("result<{ok}>"),
            }
        }
        Type::Flags(f) => format!("flags<{}>", f.names().collect::<Vec<_>>().join(", ")),
        Type::Own(_) | Type::Borrow(_) => "resource".into(),
        Type::Map(_) => "map".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
        Type::FixedLengthList(l) => format!("list<{}, {}>", wit_type(&l.ty()), l.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_snake_or_kebab_case() {
        assert!(same_name("flow-id", "flow_id"));
        assert!(same_name("flow-id", "flow-id"));
        assert!(!same_name("flow-id", "flowid"));
        assert!(
            !same_name("flow_id", "flow-id"),
            "the WIT name is kebab-case"
        );
    }

    #[test]
    fn an_operation_is_interface_dot_function() {
        assert_eq!(
            locate("flows.get").unwrap(),
            ("whatsapp:cloud-api/flows@0.1.0".to_string(), "get")
        );
        for bad in ["flows", ".get", "flows.", ""] {
            assert!(
                matches!(locate(bad), Err(InvokeError::NoSuchOperation(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn values_come_back_as_the_table_says() {
        let v = Val::Record(vec![
            ("message-id".into(), Val::String("wamid.1".into())),
            ("wa-id".into(), Val::Option(None)),
            ("data".into(), Val::List(vec![Val::U8(1), Val::U8(2)])),
            ("state".into(), Val::Enum("sent".into())),
            (
                "content".into(),
                Val::Variant("text".into(), Some(Box::new(Val::U32(3)))),
            ),
        ]);
        assert_eq!(
            to_json(&v),
            json!({ "message_id": "wamid.1", "wa_id": null, "data": "AQI=", "state": "sent", "content": { "text": 3 } })
        );
    }

    #[test]
    fn a_component_error_is_read_back_typed() {
        let graph = Val::Record(vec![
            ("code".into(), Val::S32(190)),
            ("subcode".into(), Val::Option(Some(Box::new(Val::S32(463))))),
            ("error-type".into(), Val::Option(None)),
            ("message".into(), Val::String("expired".into())),
            ("details".into(), Val::Option(None)),
            ("fbtrace-id".into(), Val::Option(None)),
            ("is-transient".into(), Val::Bool(false)),
            ("http-status".into(), Val::U16(401)),
        ]);
        let e = Val::Record(vec![
            ("kind".into(), Val::Enum("unauthorized".into())),
            ("message".into(), Val::String("reconnect".into())),
            ("field".into(), Val::Option(None)),
            ("retry-after-seconds".into(), Val::Option(None)),
            ("graph".into(), Val::Option(Some(Box::new(graph)))),
        ]);
        let e = answer(vec![Val::Result(Err(Some(Box::new(e))))]).unwrap_err();
        assert_eq!(e.kind, api::ErrorKind::Unauthorized);
        assert_eq!(
            e.graph.as_ref().map(|g| (g.code, g.subcode)),
            Some((190, Some(463)))
        );
        assert_eq!(
            answer(vec![Val::Result(Ok(Some(Box::new(Val::String(
                "1".into()
            )))))]),
            Ok(json!("1"))
        );
    }
}
