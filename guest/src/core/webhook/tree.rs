//! A borrowed JSON tree for the webhook parser. It reads like `serde_json::Value`, but
//! strings point into the body unless they hold escapes, and objects are short vectors
//! rather than B-trees, so building and dropping one costs a fraction (a webhook is
//! parsed once and read a handful of times).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A JSON value borrowing from the text it was read from.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum J<'a> {
    /// `null` (and what is absent).
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A non-negative integer.
    U(u64),
    /// A negative integer.
    I(i64),
    /// Any other number.
    F(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// An array.
    Arr(Vec<J<'a>>),
    /// An object, in the order of the text.
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

/// Whether two keys are equal, compared inline: in the component a slice comparison
/// calls wasi-libc's `memcmp`, a byte loop behind a call, and a lookup compares a key
/// with most of an object's (they are short, and often of the same length).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// `null`, for lookups that find nothing.
pub static NULL: J<'static> = J::Null;

impl<'a> J<'a> {
    /// The member `k` of an object (the last one, when a key repeats, as serde_json keeps).
    pub fn get(&self, k: &str) -> Option<&J<'a>> {
        match self {
            J::Obj(members) => members
                .iter()
                .rev()
                .find(|(key, _)| same(key.as_bytes(), k.as_bytes()))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            J::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// As `serde_json::Value::as_u64`: integers that fit, not floats.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            J::U(n) => Some(*n),
            _ => None,
        }
    }

    /// As `serde_json::Value::as_i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            J::U(n) => i64::try_from(*n).ok(),
            J::I(n) => Some(*n),
            _ => None,
        }
    }

    /// Any number as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            J::U(n) => Some(*n as f64),
            J::I(n) => Some(*n as f64),
            J::F(n) => Some(*n),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[J<'a>]> {
        match self {
            J::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, J::Obj(_))
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self, J::Arr(_))
    }

    /// A number as serde_json writes it.
    pub fn number_string(&self) -> Option<String> {
        match self {
            J::U(n) => Some(n.to_string()),
            J::I(n) => Some(n.to_string()),
            J::F(f) => serde_json::Number::from_f64(*f).map(|n| n.to_string()),
            _ => None,
        }
    }

    /// Compact JSON with object keys sorted, exactly as `serde_json::Value` (a B-tree map)
    /// writes the same value: raw JSON and the keys derived from it stay as they were.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for J<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::U(n) => s.serialize_u64(*n),
            J::I(n) => s.serialize_i64(*n),
            J::F(f) => s.serialize_f64(*f),
            J::Str(v) => s.serialize_str(v),
            J::Arr(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            J::Obj(members) => {
                // Sorted, and the last of repeated keys, as a B-tree map holds them.
                let mut order: Vec<usize> = (0..members.len()).collect();
                order.sort_by(|&a, &b| members[a].0.cmp(&members[b].0).then(b.cmp(&a)));
                order.dedup_by(|a, b| members[*a].0 == members[*b].0);
                let mut map = s.serialize_map(Some(order.len()))?;
                for i in order {
                    map.serialize_entry(&members[i].0, &members[i].1)?;
                }
                map.end()
            }
        }
    }
}

/// A string that borrows when the text allows it.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for J<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(J::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(J::Null)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                J::<'de>::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(J::Bool(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(J::U(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(if v >= 0 { J::U(v as u64) } else { J::I(v) })
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(J::F(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(J::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(J::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(J::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(v) = seq.next_element::<J<'de>>()? {
                    out.push(v);
                }
                Ok(J::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(Text(k)) = map.next_key()? {
                    out.push((k, map.next_value::<J<'de>>()?));
                }
                Ok(J::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_sorted_keys_as_the_component_s_serde_json_does() {
        // The component's serde_json keeps objects in B-trees: sorted keys, the last of
        // repeated ones. (A native build in this workspace may have `preserve_order`.)
        for (text, expected) in [
            (
                r#"{"b":1,"a":[true,null,-2,3.5,"x\"y"],"c":{"z":"é","y":18446744073709551615},"a":0}"#,
                r#"{"a":0,"b":1,"c":{"y":18446744073709551615,"z":"é"}}"#,
            ),
            (
                r#"[1e300, -0.0, 0, "", {}, []]"#,
                r#"[1e300,-0.0,0,"",{},[]]"#,
            ),
            (r#""\ud83d\ude00 plain""#, "\"\u{1F600} plain\""),
        ] {
            let j: J = serde_json::from_str(text).unwrap();
            assert_eq!(j.to_json_string(), expected, "{text}");
        }
    }

    #[test]
    fn strings_without_escapes_borrow_and_lookups_take_the_last_key() {
        let text = r#"{"k":"plain","e":"esc\n","k":"last"}"#;
        let j: J = serde_json::from_str(text).unwrap();
        assert!(matches!(j.get("e"), Some(J::Str(Cow::Owned(_)))));
        assert!(matches!(j.get("k"), Some(J::Str(Cow::Borrowed("last")))));
        assert_eq!(j.get("missing"), None);
        assert_eq!(NULL.get("k"), None);
    }
}
