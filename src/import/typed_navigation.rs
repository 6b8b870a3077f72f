//! The fast path of [`super::parse_navigation_line`]: the fields an entry has, deserialized
//! straight into a struct instead of a `serde_json::Value` of the whole line (with
//! `preserve_order`, every object an `IndexMap`). Reading lines was the busiest of the
//! import's three threads after its rows moved to their own (`perf` of a 1M-entry import:
//! `Value`'s maps and their allocations most of its samples).
//!
//! It only ever answers for lines the `Value` path takes with the same entry: anything it is
//! not sure of (a missing or empty field, a `ts` not written as `{"$date": …}`, a duplicate
//! key, a value of another type) is `None`, and the line goes to the `Value` path, which says
//! what is wrong with it. Test: `the_typed_path_agrees_with_the_value_path`.

use crate::model::{limits, PageVisit};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "_id")]
    id: Option<String>,
    rid: Option<String>,
    ts: Option<Date>,
    token: Option<String>,
    navigation: Option<Navigation>,
}

#[derive(Deserialize)]
struct Date {
    #[serde(rename = "$date")]
    date: Option<Value>,
}

#[derive(Deserialize)]
struct Navigation {
    token: Option<String>,
    page: Option<Page>,
}

#[derive(Deserialize)]
struct Page {
    title: Option<String>,
    change: Option<String>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Location {
    href: Option<String>,
}

/// A string field as the `Value` path reads it: absent, null and empty are no value.
fn given(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Whether `s` is within `max` characters (as the `Value` path's length checks count).
fn fits(s: &str, max: usize) -> bool {
    !limits::too_long(s, max)
}

/// The entry of a valid line, or `None` (see the module header).
pub(super) fn parse(line: &str) -> Option<PageVisit> {
    let line: Line = serde_json::from_str(line).ok()?;
    let id = given(line.id).filter(|id| fits(id, limits::ID_CHARS))?;
    let rid = given(line.rid);
    if rid
        .as_deref()
        .is_some_and(|rid| !fits(rid, limits::ID_CHARS))
    {
        return None;
    }
    let ts = super::date_member(line.ts?.date.as_ref()?)?;
    let navigation = line.navigation?;
    let token = given(navigation.token)
        .or_else(|| given(line.token))
        .filter(|token| token.len() <= limits::TOKEN_BYTES)?;
    let page = navigation.page?;
    let title = given(page.title).unwrap_or_default();
    let change = given(page.change).unwrap_or_else(|| "url".to_string());
    let href = given(page.location?.href)?;
    if !(fits(&title, limits::TITLE_CHARS)
        && fits(&change, limits::CHANGE_CHARS)
        && fits(&href, limits::HREF_CHARS))
    {
        return None;
    }
    Some(super::imported_entry(
        id, rid, token, ts, title, change, href,
    ))
}
