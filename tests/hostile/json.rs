//! Raw JSON text, so that a generated body can hold what `serde_json::Value` cannot: numbers
//! past 2^64 or f64 (`18446744073709551616`, `1e400`, `-0`), duplicate keys, invalid UTF-8, raw
//! NUL bytes and lone surrogates inside strings, and nesting thousands of levels deep.
//!
//! [`Tpl`] describes an endpoint's valid body; [`mutated`] turns it into bodies where any field
//! may be dropped, replaced by any generated value (wrong types, nulls, nested junk), or joined by
//! extra and duplicate keys.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// A JSON text tree.
#[derive(Debug, Clone)]
pub enum J {
    Null,
    Bool(bool),
    /// The number's text, as is.
    Num(String),
    /// A string, escaped properly.
    Str(String),
    /// A string's contents written verbatim between the quotes (may be invalid).
    Raw(Vec<u8>),
    /// Any text written verbatim as a value (deep nesting, say).
    Text(Vec<u8>),
    Arr(Vec<J>),
    /// Keys are `Str` or `Raw`; duplicates allowed.
    Obj(Vec<(J, J)>),
}

impl J {
    pub fn s(s: &str) -> J {
        J::Str(s.to_string())
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            J::Null => out.extend_from_slice(b"null"),
            J::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            J::Num(n) => out.extend_from_slice(n.as_bytes()),
            J::Str(s) => out.extend_from_slice(&serde_json::to_vec(s).expect("string")),
            J::Raw(b) => {
                out.push(b'"');
                out.extend_from_slice(b);
                out.push(b'"');
            }
            J::Text(b) => out.extend_from_slice(b),
            J::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            J::Obj(pairs) => {
                out.push(b'{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    match k {
                        J::Str(_) | J::Raw(_) => k.write(out),
                        other => J::Str(String::from_utf8_lossy(&other.bytes()).into()).write(out),
                    }
                    out.push(b':');
                    v.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Numbers that are valid JSON text but out of range, negative zero, or odd in form.
pub const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "1",
    "-1",
    "1.5",
    "1e400",
    "-1e400",
    "1e-400",
    "1e999",
    "18446744073709551616",
    "18446744073709551615",
    "-9223372036854775809",
    "9223372036854775807",
    "123456789012345678901234567890123456789",
    "1E308",
    "0.1e1",
    "4.9e-324",
];

/// Strings every field should survive.
pub const STRINGS: &[&str] = &[
    "",
    " ",
    "   ",
    "\t\n\r",
    "\0",
    "a\0b",
    "/",
    "a/b",
    "%2F",
    "a%2Fb",
    "..",
    "../..",
    "../../etc/passwd",
    "%00",
    "%ZZ",
    "null",
    "undefined",
    "true",
    "0",
    "-0",
    "1e400",
    "{}",
    "[]",
    "{\"$ne\":null}",
    "{\"$gt\":\"\"}",
    "^((ab)*)+$",
    ".*",
    "(",
    "[",
    "\\",
    "\"",
    "'",
    "<script>alert(1)</script>",
    "__proto__",
    "constructor",
    "@",
    "a@b",
    "@@",
    " A@B.c ",
    "a@b@c",
    "\u{feff}",
    "\u{200b}",
    "\u{202e}evil",
    "\u{fffd}",
    "\u{10ffff}",
    "\u{2}\u{3}",
    "ß",
    "İ",
    "ς",
    "🇺🇳👨‍👩‍👧",
    "ﷺ",
    "guest-1",
    "rocket.cat",
    "admin1",
    "url",
    "+1 555 0100",
    "fixture-token",
    "fixture@example.com",
    "Fixture Visitor",
];

/// String contents written verbatim: invalid UTF-8, raw control bytes, bad escapes, lone
/// surrogates, overlong encodings, code points past U+10FFFF.
pub const RAW_STRINGS: &[&[u8]] = &[
    b"\xff",
    b"a\xfeb",
    b"\xc3\x28",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"a\x00b",
    b"\x00",
    b"\x1f",
    b"line\nbreak",
    b"\\ud800",
    b"\\udc00x",
    b"\\ud800\\ud800",
    b"\\x41",
    b"\\u12",
    b"\\uZZZZ",
    b"\\",
    b"\\u0000",
    b"a\\u0000b",
    b"\\/",
    b"\\ud83d\\ude00",
];

/// Lengths around every limit of the API (64, 256, 1024, 4096, 5000 characters) and beyond.
const LENGTHS: &[usize] = &[
    63, 64, 65, 255, 256, 257, 1024, 1025, 4096, 4097, 5000, 5001, 20_000,
];

/// Any string worth sending.
pub fn string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(STRINGS).prop_map(str::to_string),
        2 => "\\PC{0,24}",
        1 => "[\\x00-\\x1f\\x7f]{1,6}",
        1 => (select(&['a', '/', '%', '.', '\u{0}', 'é', '𝔘', ' ', '@'][..]), select(LENGTHS))
            .prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
        1 => "[a-z]{1,8}@[a-z]{1,8}\\.[a-z]{2,3}",
    ]
    .boxed()
}

/// Any scalar: null, booleans, odd numbers, strings (escaped or verbatim).
pub fn scalar() -> BoxedStrategy<J> {
    prop_oneof![
        1 => Just(J::Null),
        1 => any::<bool>().prop_map(J::Bool),
        2 => select(NUMBERS).prop_map(|n| J::Num(n.to_string())),
        1 => any::<i64>().prop_map(|n| J::Num(n.to_string())),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| J::Num(format!("{f:?}"))),
        5 => string().prop_map(J::Str),
        1 => select(RAW_STRINGS).prop_map(|b| J::Raw(b.to_vec())),
    ]
    .boxed()
}

/// An object key: one of `known` (duplicates of real keys), any string, or invalid bytes.
pub fn key(known: Vec<&'static str>) -> BoxedStrategy<J> {
    prop_oneof![
        5 => select(known).prop_map(J::s),
        2 => string().prop_map(J::Str),
        1 => select(RAW_STRINGS).prop_map(|b| J::Raw(b.to_vec())),
    ]
    .boxed()
}

/// Keys of every body of the API (so generated objects hit real field names).
pub const KEYS: &[&str] = &[
    "visitor",
    "token",
    "name",
    "email",
    "phone",
    "username",
    "department",
    "customFields",
    "key",
    "value",
    "overwrite",
    "rid",
    "pageInfo",
    "title",
    "change",
    "location",
    "href",
    "msg",
    "_id",
    "user",
    "password",
    "roles",
    "active",
    "userId",
    "data",
    "confirmRelinquish",
    "__proto__",
    "",
];

/// Any JSON value, a few levels deep.
pub fn any_json() -> BoxedStrategy<J> {
    scalar()
        .prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(J::Arr),
                vec((key(KEYS.to_vec()), inner), 0..6).prop_map(J::Obj),
            ]
        })
        .boxed()
}

/// Nesting `depth` levels deep, as raw text: arrays, objects, or both alternating, closed or not.
pub fn deep(depth: usize, kind: u8, closed: bool) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = match kind % 3 {
        0 => (b"[", b"]"),
        1 => (b"{\"a\":", b"}"),
        _ => (b"{\"visitor\":[", b"]}"),
    };
    let mut out = Vec::with_capacity(depth * (open.len() + close.len()) + 2);
    for _ in 0..depth {
        out.extend_from_slice(open);
    }
    out.extend_from_slice(b"1");
    if closed {
        for _ in 0..depth {
            out.extend_from_slice(close);
        }
    }
    out
}

/// A body template: valid values at the leaves.
#[derive(Debug, Clone)]
pub enum Tpl {
    V(J),
    A(Vec<Tpl>),
    O(Vec<(&'static str, Tpl)>),
}

pub fn v(s: &str) -> Tpl {
    Tpl::V(J::s(s))
}

/// The valid body itself.
pub fn valid(t: &Tpl) -> J {
    match t {
        Tpl::V(j) => j.clone(),
        Tpl::A(items) => J::Arr(items.iter().map(valid).collect()),
        Tpl::O(fields) => J::Obj(fields.iter().map(|(k, t)| (J::s(k), valid(t))).collect()),
    }
}

/// Values of every JSON type and odd form, for [`each_field_replaced`].
pub fn wrong_values() -> Vec<J> {
    let n = |s: &str| J::Num(s.to_string());
    vec![
        J::Null,
        J::Bool(true),
        J::Bool(false),
        n("0"),
        n("-0"),
        n("1.5"),
        n("18446744073709551616"),
        n("1e400"),
        J::s(""),
        J::s(" "),
        J::s("\u{0}"),
        J::Raw(b"\\ud800".to_vec()),
        J::Raw(b"\xff".to_vec()),
        J::Arr(vec![]),
        J::Arr(vec![J::s("x")]),
        J::Obj(vec![]),
        J::Obj(vec![(J::s("$ne"), J::Null)]),
        J::Text(deep(200, 0, true)),
        J::Text(deep(100, 2, true)),
    ]
}

/// Every body that is `t`'s valid body with exactly one node (leaf or object or array, the
/// whole body included) replaced by each of [`wrong_values`], or one object key removed.
pub fn each_field_replaced(t: &Tpl) -> Vec<J> {
    let mut out: Vec<J> = wrong_values();
    match t {
        Tpl::V(_) => {}
        Tpl::A(items) => {
            for (i, item) in items.iter().enumerate() {
                for v in each_field_replaced(item) {
                    let mut all: Vec<J> = items.iter().map(valid).collect();
                    all[i] = v;
                    out.push(J::Arr(all));
                }
            }
        }
        Tpl::O(fields) => {
            for (i, (_, child)) in fields.iter().enumerate() {
                let base =
                    || -> Vec<(J, J)> { fields.iter().map(|(k, t)| (J::s(k), valid(t))).collect() };
                let mut without = base();
                without.remove(i);
                out.push(J::Obj(without));
                for v in each_field_replaced(child) {
                    let mut pairs = base();
                    pairs[i].1 = v;
                    out.push(J::Obj(pairs));
                }
            }
        }
    }
    out
}

/// Bodies from `t`: every field kept, dropped, or replaced by any value; objects may be replaced
/// whole, and get extra keys (duplicates of their own keys among them) before or after.
pub fn mutated(t: &Tpl) -> BoxedStrategy<J> {
    match t {
        Tpl::V(j) => prop_oneof![6 => Just(j.clone()), 1 => any_json()].boxed(),
        Tpl::A(items) => {
            let items: Vec<BoxedStrategy<J>> = items.iter().map(mutated).collect();
            prop_oneof![12 => items.prop_map(J::Arr), 1 => any_json()].boxed()
        }
        Tpl::O(fields) => {
            let known: Vec<&'static str> = fields.iter().map(|(k, _)| *k).collect();
            let parts: Vec<BoxedStrategy<Option<(J, J)>>> = fields
                .iter()
                .map(|(k, t)| {
                    let k = J::s(k);
                    prop_oneof![
                        19 => mutated(t).prop_map(move |v| Some((k.clone(), v))),
                        1 => Just(None),
                    ]
                    .boxed()
                })
                .collect();
            let extra = prop_oneof![
                4 => Just(Vec::new()),
                1 => vec((key(known), any_json()), 1..3),
            ];
            let obj = (parts, extra, any::<bool>()).prop_map(|(parts, extra, extra_first)| {
                let parts: Vec<(J, J)> = parts.into_iter().flatten().collect();
                J::Obj(if extra_first {
                    extra.into_iter().chain(parts).collect()
                } else {
                    parts.into_iter().chain(extra).collect()
                })
            });
            prop_oneof![19 => obj, 1 => any_json()].boxed()
        }
    }
}

/// A whole body for a route whose valid body is `t`: mostly mutations of it, sometimes any
/// value, deep nesting, random bytes, or a valid body cut short.
pub fn body(t: &Tpl) -> BoxedStrategy<Vec<u8>> {
    let valid = mutated(t);
    prop_oneof![
        8 => valid.clone().prop_map(|j| j.bytes()),
        2 => any_json().prop_map(|j| j.bytes()),
        1 => (100usize..3000, any::<u8>(), any::<bool>())
            .prop_map(|(d, kind, closed)| deep(d, kind, closed)),
        1 => vec(any::<u8>(), 0..64),
        1 => (valid, any::<prop::sample::Index>()).prop_map(|(j, at)| {
            let b = j.bytes();
            let cut = at.index(b.len().max(1));
            b[..cut.min(b.len())].to_vec()
        }),
    ]
    .boxed()
}
