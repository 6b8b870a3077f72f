//! `visitord import --rocketchat FILE`: loads a `mongoexport` of Rocket.Chat's
//! `rocketchat_livechat_visitor` collection (JSON lines, relaxed extended JSON) into a stopped
//! store, keeping `_id`, `token`, `username`, dates and every field the API knows, with all
//! indexes. Bad lines are reported (line number and reason) and skipped, never fatal.

use crate::model::{limits, LastChat, PageVisit, Visitor};
use crate::store::Store;
use crate::time::{now_ms, Millis};
use chrono::DateTime;
use serde_json::{Map, Value};
use std::io::BufRead;

mod typed_navigation;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub lines: u64,
    pub imported: u64,
    /// `(line number, reason)` of every rejected line.
    pub rejected: Vec<(u64, String)>,
    /// The guest counter after the import.
    pub guest_counter: u64,
}

/// A date in relaxed or canonical extended JSON: `{"$date":"…Z"}`, `{"$date":{"$numberLong":"…"}}`,
/// `{"$date":<ms>}`, or a bare ISO string or number of milliseconds.
fn date(v: &Value) -> Option<Millis> {
    match v {
        Value::Object(m) => date_member(m.get("$date")?),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.timestamp_millis()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// The value of a `$date` member: `{"$numberLong":"…"}`, an ISO string or milliseconds.
fn date_member(v: &Value) -> Option<Millis> {
    match v {
        Value::Object(inner) => inner.get("$numberLong")?.as_str()?.parse().ok(),
        other => date(other),
    }
}

fn string(m: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

/// The first `[{<field>: "…"}]` entry of an array field.
fn first_of(m: &Map<String, Value>, key: &str, field: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => match items.first() {
            None => Ok(None),
            Some(Value::Object(o)) => string(o, field),
            Some(_) => Err(format!("{key}[0] is not an object")),
        },
        Some(_) => Err(format!("{key} is not an array")),
    }
}

fn check_len(field: &str, value: &Option<String>, max: usize) -> Result<(), String> {
    match value {
        Some(v) if limits::too_long(v, max) => Err(format!("{field} is longer than {max}")),
        _ => Ok(()),
    }
}

/// One exported visitor → a visitord visitor.
pub fn parse_line(line: &str, now: Millis) -> Result<Visitor, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(m) = value else {
        return Err("not a JSON object".into());
    };
    if m.get("disabled") == Some(&Value::Bool(true)) {
        return Err("a disabled (GDPR-erased) visitor".into());
    }
    let id = match m.get("_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Object(o)) => match o.get("$oid") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err("_id is not a string or ObjectId".into()),
        },
        _ => return Err("no _id".into()),
    };
    if limits::too_long(&id, limits::ID_CHARS) {
        return Err(format!("_id is longer than {}", limits::ID_CHARS));
    }
    let token = string(&m, "token")?.ok_or("no token")?;
    if !limits::valid_token(&token) {
        return Err(format!(
            "token is empty or longer than {} bytes",
            limits::TOKEN_BYTES
        ));
    }
    let username = string(&m, "username")?.ok_or("no username")?;
    let name = string(&m, "name")?;
    let email = first_of(&m, "visitorEmails", "address")?.map(|e| e.trim().to_lowercase());
    let phone = first_of(&m, "phone", "phoneNumber")?;
    let department = string(&m, "department")?;
    check_len("username", &Some(username.clone()), limits::NAME_CHARS)?;
    check_len("name", &name, limits::NAME_CHARS)?;
    check_len("email", &email, limits::EMAIL_CHARS)?;
    check_len("phone", &phone, limits::PHONE_CHARS)?;
    check_len("department", &department, limits::DEPARTMENT_CHARS)?;
    let ts = m.get("ts").and_then(date).unwrap_or(now);
    let updated_at = m.get("_updatedAt").and_then(date).unwrap_or(ts);
    let mut livechat_data = Vec::new();
    if let Some(Value::Object(data)) = m.get("livechatData") {
        for (k, v) in data {
            let value = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if limits::too_long(k, limits::FIELD_KEY_CHARS) {
                return Err(format!(
                    "livechatData key is longer than {}",
                    limits::FIELD_KEY_CHARS
                ));
            }
            check_len(
                "livechatData value",
                &Some(value.clone()),
                limits::FIELD_VALUE_CHARS,
            )?;
            livechat_data.push((k.clone(), value));
        }
    }
    if livechat_data.len() > limits::CUSTOM_FIELDS {
        return Err(format!(
            "more than {} livechatData fields",
            limits::CUSTOM_FIELDS
        ));
    }
    let last_chat = match m.get("lastChat") {
        Some(Value::Object(lc)) => match (
            lc.get("_id").and_then(Value::as_str),
            lc.get("ts").and_then(date),
        ) {
            (Some(rid), Some(ts)) => Some(LastChat {
                rid: rid.to_string(),
                ts,
            }),
            _ => None,
        },
        _ => None,
    };
    Ok(Visitor {
        id,
        token,
        username,
        ts,
        updated_at,
        seq: 0,
        status: string(&m, "status")?.unwrap_or_else(|| "offline".into()),
        name,
        email: email.filter(|e| !e.is_empty()),
        phone,
        department,
        livechat_data,
        last_chat,
        user_agent: string(&m, "userAgent")?,
        ip: string(&m, "ip")?,
        host: string(&m, "host")?,
    })
}

/// `guest-N` → N.
fn guest_number(username: &str) -> Option<u64> {
    username.strip_prefix("guest-")?.parse().ok()
}

/// Lines the reading thread parses before it hands them over.
const PARSED_CHUNK: usize = 1_024;

/// A chunk of lines as the reading thread leaves them: `(line number, parsed or why not)` of
/// each non-empty line, the number of the last line read and the bytes read so far.
type ParsedChunk<T> = (Vec<(u64, Result<T, String>)>, u64, u64);

/// Reads `input` line by line: every non-empty line is parsed with `parse` and the parsed ones
/// are handed to `write` in batches of `batch` (`write` records their verdicts); unreadable and
/// unparsable lines are rejected with their reason; `progress` is told the bytes read so far.
/// A second thread reads and parses (JSON) while this one writes: on two cores, reading 1M
/// navigation entries for a 100k-visitor store took 7.4 / 7.5 s in one thread, 5.1 / 4.9 s so
/// (`docs/benchmarks.md`).
fn read_batches<T: Send>(
    input: impl BufRead + Send,
    batch: usize,
    summary: &mut ImportSummary,
    parse: impl Fn(&str) -> Result<T, String> + Sync,
    mut write: impl FnMut(&mut Vec<(u64, T)>, &mut ImportSummary) -> Result<(), String>,
    mut progress: impl FnMut(u64),
) -> Result<(), String> {
    std::thread::scope(|scope| {
        let (chunks, parsed) = std::sync::mpsc::sync_channel::<ParsedChunk<T>>(8);
        let parse = &parse;
        scope.spawn(move || {
            let (mut chunk, mut last, mut bytes) = (Vec::with_capacity(PARSED_CHUNK), 0, 0u64);
            for (index, line) in input.lines().enumerate() {
                last = index as u64 + 1;
                match line {
                    Ok(line) => {
                        bytes += line.len() as u64 + 1;
                        if !line.trim().is_empty() {
                            chunk.push((last, parse(&line)));
                        }
                    }
                    Err(e) => chunk.push((last, Err(format!("unreadable: {e}")))),
                }
                if chunk.len() >= PARSED_CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(PARSED_CHUNK));
                    if chunks.send((full, last, bytes)).is_err() {
                        return; // the writer stopped (an error): so does the reader
                    }
                }
            }
            let _ = chunks.send((chunk, last, bytes));
        });
        let mut pending: Vec<(u64, T)> = Vec::with_capacity(batch);
        let mut read = 0u64;
        for (chunk, last, bytes) in parsed {
            summary.lines = last;
            read = bytes;
            for (number, item) in chunk {
                match item {
                    Ok(item) => pending.push((number, item)),
                    Err(reason) => summary.rejected.push((number, reason)),
                }
                if pending.len() >= batch {
                    write(&mut pending, summary)?;
                    progress(read);
                }
            }
        }
        write(&mut pending, summary)?;
        progress(read);
        Ok(())
    })
}

/// Reads every line of `input` as a visitor into a bulk load of the store (see
/// [`Store::visitor_load`]); `progress` is told the bytes read. Returns what was read and the
/// sorted rows, which [`Store::rewrite_merging`] writes into the store: nothing is written
/// before. The guest counter is raised above the highest imported `guest-N`.
pub fn load_visitors(
    store: &Store,
    input: impl BufRead + Send,
    progress: impl FnMut(u64),
) -> Result<(ImportSummary, crate::store::Additions), String> {
    let now = now_ms();
    let mut summary = ImportSummary::default();
    let mut highest_guest = 0u64;
    let mut load = store.visitor_load().map_err(|e| e.to_string())?;
    read_batches(
        input,
        PARSED_CHUNK,
        &mut summary,
        |line| parse_line(line, now),
        |batch, summary| {
            for (line, visitor) in batch.drain(..) {
                let guest = guest_number(&visitor.username).unwrap_or(0);
                match load.add(visitor).map_err(|e| e.to_string())? {
                    None => {
                        summary.imported += 1;
                        highest_guest = highest_guest.max(guest);
                    }
                    Some(reason) => summary.rejected.push((line, reason)),
                }
            }
            Ok(())
        },
        progress,
    )?;
    let additions = load.finish(highest_guest).map_err(|e| e.to_string())?;
    summary.rejected.sort();
    Ok((summary, additions))
}

/// Imports every line of `input` ([`load_visitors`], then the rewrite that writes the loaded
/// rows into the store); `progress` is told the bytes read so far.
pub fn import(
    store: &Store,
    input: impl BufRead + Send,
    progress: impl FnMut(u64),
) -> Result<ImportSummary, String> {
    let (mut summary, additions) = load_visitors(store, input, progress)?;
    store
        .rewrite_merging(additions)
        .map_err(|e| e.to_string())?;
    summary.guest_counter = store.guest_counter().map_err(|e| e.to_string())?;
    Ok(summary)
}

/// One exported navigation entry → a visitord entry (its `seq` and expiry are set by the store).
///
/// The shape is Rocket.Chat's `livechat_navigation_history` message as `mongoexport` writes it:
/// `{"_id", "rid"?, "ts": {"$date"}, "navigation": {"token", "page": {"title", "change",
/// "location": {"href"}}}}`; a top-level `token` is taken too, and a missing `change` is `url`.
pub fn parse_navigation_line(line: &str) -> Result<PageVisit, String> {
    match typed_navigation::parse(line) {
        Some(visit) => Ok(visit),
        None => parse_navigation_value(line),
    }
}

/// An exported entry as visitord stores it (both parsing paths build it here): not yet given
/// its seq or its expiry (the load does), last updated when it was made.
fn imported_entry(
    id: String,
    rid: Option<String>,
    token: String,
    ts: Millis,
    title: String,
    change: String,
    href: String,
) -> PageVisit {
    PageVisit {
        id,
        rid,
        token,
        ts,
        seq: 0,
        title,
        change,
        href,
        updated_at: ts,
        expire_at: None,
    }
}

/// [`parse_navigation_line`] through a `serde_json::Value` of the whole line: every line the
/// typed path is not sure of, and the reasons of those that are refused.
fn parse_navigation_value(line: &str) -> Result<PageVisit, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(m) = value else {
        return Err("not a JSON object".into());
    };
    let id = string(&m, "_id")?.ok_or("no _id")?;
    check_len("_id", &Some(id.clone()), limits::ID_CHARS)?;
    let rid = string(&m, "rid")?;
    check_len("rid", &rid, limits::ID_CHARS)?;
    let ts = m.get("ts").and_then(date).ok_or("no ts")?;
    let empty = Map::new();
    let navigation = match m.get("navigation") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(n)) => n,
        Some(_) => return Err("navigation is not an object".into()),
    };
    let token = match string(navigation, "token")? {
        Some(token) => token,
        None => string(&m, "token")?.ok_or("no token")?,
    };
    if token.len() > limits::TOKEN_BYTES {
        return Err(format!(
            "token is longer than {} bytes",
            limits::TOKEN_BYTES
        ));
    }
    let page = match navigation.get("page") {
        Some(Value::Object(p)) => p,
        _ => return Err("no navigation.page".into()),
    };
    let title = string(page, "title")?.unwrap_or_default();
    check_len("title", &Some(title.clone()), limits::TITLE_CHARS)?;
    let change = string(page, "change")?.unwrap_or_else(|| "url".to_string());
    check_len("change", &Some(change.clone()), limits::CHANGE_CHARS)?;
    let href = match page.get("location") {
        Some(Value::Object(l)) => string(l, "href")?,
        _ => None,
    }
    .ok_or("no navigation.page.location.href")?;
    check_len("href", &Some(href.clone()), limits::HREF_CHARS)?;
    Ok(imported_entry(id, rid, token, ts, title, change, href))
}

/// Reads every line of `input` as a navigation entry (after the visitors they belong to:
/// rooms are created only for tokens that are visitors') into a bulk load of the store (see
/// [`Store::navigation_load`]); `progress` is told the bytes read. Returns what was read and
/// the sorted rows, which [`Store::rewrite_merging`] writes into the store: nothing is written
/// before. `roomless_ttl`: as for `page.visited`.
pub fn load_navigation(
    store: &Store,
    input: impl BufRead + Send,
    roomless_ttl: Option<Millis>,
    progress: impl FnMut(u64),
) -> Result<(ImportSummary, crate::store::Additions), String> {
    let mut summary = ImportSummary::default();
    let mut load = store
        .navigation_load(roomless_ttl)
        .map_err(|e| e.to_string())?;
    read_batches(
        input,
        PARSED_CHUNK,
        &mut summary,
        parse_navigation_line,
        |batch, summary| {
            for (line, visit) in batch.drain(..) {
                match load.add(visit).map_err(|e| e.to_string())? {
                    None => summary.imported += 1,
                    Some(reason) => summary.rejected.push((line, reason)),
                }
            }
            Ok(())
        },
        progress,
    )?;
    let additions = load.finish().map_err(|e| e.to_string())?;
    summary.guest_counter = store.guest_counter().map_err(|e| e.to_string())?;
    summary.rejected.sort();
    Ok((summary, additions))
}

/// [`load_navigation`], then the rewrite that writes the loaded rows into the store.
pub fn import_navigation(
    store: &Store,
    input: impl BufRead + Send,
    roomless_ttl: Option<Millis>,
    progress: impl FnMut(u64),
) -> Result<ImportSummary, String> {
    let (summary, additions) = load_navigation(store, input, roomless_ttl, progress)?;
    store
        .rewrite_merging(additions)
        .map_err(|e| e.to_string())?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mongoexport_lines() {
        let line = r#"{"_id":"hH7ZMm7SeGnQJKRsa","token":"d0bd571dc19c083d8","username":"guest-1","ts":{"$date":"2022-01-01T00:00:57.451Z"},"_updatedAt":{"$date":{"$numberLong":"1645555356812"}},"status":"busy","name":"Richard Ashtonby","visitorEmails":[{"address":" A@B.C "}],"phone":[{"phoneNumber":"55 95 2008-7821"}],"livechatData":{"city":"Lyon","n":3}}"#;
        let v = parse_line(line, 0).unwrap();
        assert_eq!(v.id, "hH7ZMm7SeGnQJKRsa");
        assert_eq!(v.ts, 1_640_995_257_451);
        assert_eq!(v.updated_at, 1_645_555_356_812);
        assert_eq!(v.email.as_deref(), Some("a@b.c"));
        assert_eq!(
            v.livechat_data,
            vec![("city".into(), "Lyon".into()), ("n".into(), "3".into())]
        );
        assert!(parse_line("{", 0).unwrap_err().starts_with("not JSON"));
        assert_eq!(
            parse_line(r#"{"_id":"x","username":"u"}"#, 0).unwrap_err(),
            "no token"
        );
        assert!(parse_line(r#"{"_id":"x","disabled":true}"#, 0)
            .unwrap_err()
            .contains("disabled"));
    }

    #[test]
    fn lines_beyond_the_apis_limits_are_refused() {
        let line = |extra: &str| format!(r#"{{"_id":"A","token":"t","username":"u"{extra}}}"#);
        assert!(parse_line(&line(""), 0).is_ok());
        let long_key = format!(r#","livechatData":{{"{}":"v"}}"#, "k".repeat(65));
        assert_eq!(
            parse_line(&line(&long_key), 0).unwrap_err(),
            "livechatData key is longer than 64"
        );
        let long_value = format!(r#","livechatData":{{"k":"{}"}}"#, "v".repeat(4097));
        assert_eq!(
            parse_line(&line(&long_value), 0).unwrap_err(),
            "livechatData value is longer than 4096"
        );
        let fields: Vec<String> = (0..101).map(|i| format!(r#""f{i}":"v""#)).collect();
        let many = format!(r#","livechatData":{{{}}}"#, fields.join(","));
        assert_eq!(
            parse_line(&line(&many), 0).unwrap_err(),
            "more than 100 livechatData fields"
        );
        let department = format!(r#","department":"{}""#, "d".repeat(257));
        assert_eq!(
            parse_line(&line(&department), 0).unwrap_err(),
            "department is longer than 256"
        );
        let id = format!(
            r#"{{"_id":"{}","token":"t","username":"u"}}"#,
            "i".repeat(65)
        );
        assert_eq!(parse_line(&id, 0).unwrap_err(), "_id is longer than 64");
    }

    /// Every line the typed path answers for, the `Value` path answers for with the same entry;
    /// the typed path answers for each valid line below (each has its `ts` as `{"$date": …}`).
    #[test]
    fn the_typed_path_agrees_with_the_value_path() {
        let page =
            r#""page":{"title":"Shop","change":"url","location":{"href":"https://x.test/a"}}"#;
        let nav = |extra: &str| format!(r#""navigation":{{"token":"t1",{page}{extra}}}"#);
        let long = |n: usize| "x".repeat(n);
        let valid = [
            format!(r#"{{"_id":"a","rid":"R","ts":{{"$date":1700000000000}},{}}}"#, nav("")),
            format!(r#"{{"_id":"a","ts":{{"$date":"2022-01-01T00:00:57.451Z"}},{}}}"#, nav("")),
            format!(r#"{{"_id":"a","ts":{{"$date":{{"$numberLong":"12"}}}},{}}}"#, nav("")),
            format!(r#"{{"_id":"a","token":"top","ts":{{"$date":5}},"navigation":{{{page}}}}}"#),
            format!(r#"{{"_id":"a","token":"top","ts":{{"$date":5}},"navigation":{{"token":"",{page}}}}}"#),
            r#"{"_id":"a","ts":{"$date":5},"navigation":{"token":"t","page":{"title":"","location":{"href":"h"}}}}"#.to_string(),
            r#"{"_id":"a","ts":{"$date":5},"navigation":{"token":"t","page":{"title":"\u00e9\"x","change":"","location":{"href":"h\\q"}}}}"#.to_string(),
            format!(r#"{{"x":[1,{{"y":null}}],"_id":"a","rid":"","ts":{{"$date":5,"z":1}},{},"msg":""}}"#, nav(r#","k":{"n":1}"#)),
            format!(r#"{{"_id":"a","rid":null,"ts":{{"$date":5}},{}}}"#, nav("")),
            format!(r#"{{"_id":"{}","rid":"{}","ts":{{"$date":5}},{}}}"#, long(64), long(64), nav("")),
        ];
        let refused_or_slow = [
            "{".to_string(),
            "[]".to_string(),
            format!(r#"{{"ts":{{"$date":5}},{}}}"#, nav("")),
            format!(r#"{{"_id":"","ts":{{"$date":5}},{}}}"#, nav("")),
            format!(r#"{{"_id":7,"ts":{{"$date":5}},{}}}"#, nav("")),
            format!(r#"{{"_id":"{}","ts":{{"$date":5}},{}}}"#, long(65), nav("")),
            format!(r#"{{"_id":"a","rid":"{}","ts":{{"$date":5}},{}}}"#, long(65), nav("")),
            format!(r#"{{"_id":"a",{}}}"#, nav("")),
            format!(r#"{{"_id":"a","ts":5,{}}}"#, nav("")),
            format!(r#"{{"_id":"a","ts":"2022-01-01T00:00:57.451Z",{}}}"#, nav("")),
            format!(r#"{{"_id":"a","ts":{{"$date":null}},{}}}"#, nav("")),
            format!(r#"{{"_id":"a","ts":{{"$date":"soon"}},{}}}"#, nav("")),
            r#"{"_id":"a","ts":{"$date":5},"navigation":null,"token":"t"}"#.to_string(),
            r#"{"_id":"a","ts":{"$date":5},"navigation":"x"}"#.to_string(),
            r#"{"_id":"a","ts":{"$date":5},"navigation":{"token":"t"}}"#.to_string(),
            r#"{"_id":"a","ts":{"$date":5},"navigation":{"token":"t","page":{"title":"T"}}}"#.to_string(),
            r#"{"_id":"a","ts":{"$date":5},"navigation":{"token":"t","page":{"location":{"href":""}}}}"#.to_string(),
            r#"{"_id":"a","ts":{"$date":5},"navigation":{"token":"t","page":{"location":{"href":3}}}}"#.to_string(),
            format!(r#"{{"_id":"a","ts":{{"$date":5}},"navigation":{{"token":"{}",{page}}}}}"#, long(257)),
            format!(r#"{{"_id":"a","ts":{{"$date":5}},"navigation":{{"token":"t","page":{{"title":"{}","location":{{"href":"h"}}}}}}}}"#, long(limits::TITLE_CHARS + 1)),
            format!(r#"{{"_id":"a","_id":"b","ts":{{"$date":5}},{}}}"#, nav("")),
            format!(r#"{{"_id":"a","ts":{{"$date":5}},{}}}"#, r#""navigation":{"token":5,"page":{"location":{"href":"h"}}}"#),
        ];
        for line in valid.iter().chain(&refused_or_slow) {
            let slow = parse_navigation_value(line);
            if let Some(fast) = typed_navigation::parse(line) {
                assert_eq!(Ok(&fast), slow.as_ref(), "{line}");
            }
            assert_eq!(parse_navigation_line(line), slow, "{line}");
        }
        for line in &valid {
            assert!(typed_navigation::parse(line).is_some(), "{line}");
        }
        // Both bare forms of `ts` are valid, through the `Value` path.
        for line in &refused_or_slow[8..10] {
            assert!(typed_navigation::parse(line).is_none(), "{line}");
            assert!(parse_navigation_line(line).is_ok(), "{line}");
        }
        let dup = parse_navigation_line(&refused_or_slow[20]).unwrap();
        assert_eq!(dup.id, "b");
    }

    #[test]
    fn imports_navigation_into_rooms_and_room_less() {
        let (_dir, store) = crate::store::temp_store(&[]);
        let visitors = [
            r#"{"_id":"A","token":"ta","username":"guest-1","name":"Ana"}"#,
            r#"{"_id":"B","token":"tb","username":"guest-2"}"#,
        ]
        .join("\n");
        import(&store, visitors.as_bytes(), |_| {}).unwrap();
        let entry = |id: &str, token: &str, rid: Option<&str>, ts: u64| {
            let rid = rid.map(|r| format!(r#""rid":"{r}","#)).unwrap_or_default();
            format!(
                r#"{{"_id":"{id}",{rid}"ts":{{"$date":{ts}}},"t":"livechat_navigation_history","navigation":{{"token":"{token}","page":{{"title":"Home","change":"url","location":{{"href":"https://x.test/{id}"}}}}}}}}"#
            )
        };
        let input = [
            entry("n1", "ta", Some("R1"), 10), // creates room R1 for visitor A
            entry("n2", "ta", Some("R1"), 20),
            entry("n3", "tb", Some("R1"), 30), // R1 is A's: room-less for B
            entry("n4", "ta", None, 40),
            entry("n5", "anon", None, 50), // no visitor: expires
            entry("n5", "ta", None, 60),   // duplicate _id
            "{}".to_string(),
        ]
        .join("\n");
        let ttl = Some(1_000);
        let summary = import_navigation(&store, input.as_bytes(), ttl, |_| {}).unwrap();
        assert_eq!(summary.imported, 5);
        assert_eq!(
            summary.rejected,
            vec![
                (6, "entry _id n5 already exists".to_string()),
                (7, "no _id".to_string())
            ]
        );
        let room = store.room_by_id("R1").unwrap().unwrap();
        assert_eq!(
            (room.v.token.as_str(), room.msgs, room.open),
            ("ta", 2, false)
        );
        let in_room: Vec<_> = store
            .page_visits_of_room("R1")
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(in_room, ["n1", "n2"]);
        let b = store.page_visits_of_token("tb").unwrap();
        assert_eq!((b[0].rid.as_deref(), b[0].expire_at), (None, None));
        let anon = store.page_visits_of_token("anon").unwrap();
        assert_eq!(anon[0].expire_at, Some(1_050));
        assert_eq!(store.counts().page_visits, 5);
        assert!(store.check().unwrap().problems.is_empty());
        // The same file again: every entry is already there.
        let again = import_navigation(&store, input.as_bytes(), ttl, |_| {}).unwrap();
        assert_eq!(again.imported, 0);
        assert_eq!(store.room_by_id("R1").unwrap().unwrap().msgs, 2);
        assert_eq!(store.counts(), store.walked_counts());
    }

    /// Thousands of entries, their rows spilled to many sorted runs per tree (a few rows a run in
    /// tests) and merged into the store's copy: every row must be there, consistent, after the
    /// store is closed and opened again.
    #[test]
    fn thousands_of_entries_in_many_sorted_runs_are_written_whole_and_read_back_after_a_reopen() {
        let (_dir, config) = crate::store::temp_config();
        let store = Store::open(&config, Vec::new()).unwrap();
        let visitors: Vec<String> = (0..300)
            .map(|i| format!(r#"{{"_id":"V{i}","token":"t{i}","username":"guest-{i}"}}"#))
            .collect();
        import(&store, visitors.join("\n").as_bytes(), |_| {}).unwrap();
        // 3,000 entries, timestamps out of order; visitor i's entries are in room Ri when i is
        // even, room-less when odd; 100 entries of tokens no visitor has.
        let lines: Vec<String> = (0..3_000u64)
            .map(|n| {
                let (token, rid) = match n % 10 {
                    9 => (format!("anon{n}"), String::new()),
                    _ => {
                        let i = n % 300;
                        let rid = if i % 2 == 0 { format!(r#""rid":"R{i}","#) } else { String::new() };
                        (format!("t{i}"), rid)
                    }
                };
                let ts = (n * 7_919) % 3_000 + 1;
                format!(
                    r#"{{"_id":"e{n}",{rid}"ts":{{"$date":{ts}}},"navigation":{{"token":"{token}","page":{{"title":"P {n}","change":"url","location":{{"href":"https://x.test/{}"}}}}}}}}"#,
                    n % 17
                )
            })
            .collect();
        let summary =
            import_navigation(&store, lines.join("\n").as_bytes(), Some(1_000), |_| {}).unwrap();
        assert_eq!((summary.imported, summary.rejected.len()), (3_000, 0));
        drop(store);
        let store = crate::store::reopen(&config);
        let problems = store.check().unwrap().problems;
        assert!(
            problems.is_empty(),
            "{:?}",
            &problems[..problems.len().min(8)]
        );
        assert_eq!(store.counts(), store.walked_counts());
        assert_eq!(store.counts().page_visits, 3_000);
        let expected_of = |i: u64| {
            (0..3_000u64)
                .filter(|n| n % 10 != 9 && n % 300 == i)
                .count()
        };
        for i in [0u64, 1, 150, 299] {
            let history = store.page_visits_of_token(&format!("t{i}")).unwrap();
            assert_eq!(history.len(), expected_of(i), "history of t{i}");
            if i % 2 == 0 {
                let room = store.room_by_id(&format!("R{i}")).unwrap().unwrap();
                assert_eq!(room.msgs as usize, expected_of(i), "msgs of R{i}");
                let in_room = store.page_visits_of_room(&format!("R{i}")).unwrap();
                assert_eq!(in_room.len(), expected_of(i), "history of R{i}");
            } else {
                assert!(history
                    .iter()
                    .all(|p| p.rid.is_none() && p.expire_at.is_none()));
            }
        }
        let anon = store.page_visits_of_token("anon2999").unwrap();
        assert_eq!(anon.len(), 1);
        assert_eq!(anon[0].expire_at, Some(anon[0].ts + 1_000));
    }

    #[test]
    fn imports_and_reports_rejected_lines() {
        let (_dir, store) = crate::store::temp_store(&[]);
        let input = [
            r#"{"_id":"A","token":"t1","username":"guest-7","name":"Ana"}"#,
            "not json",
            r#"{"_id":"B","token":"t1","username":"guest-8"}"#,
            r#"{"_id":"C","token":"t3","username":"bob","phone":[{"phoneNumber":"+1 555 0100"}]}"#,
        ]
        .join("\n");
        let summary = import(&store, input.as_bytes(), |_| {}).unwrap();
        assert_eq!(summary.imported, 2);
        assert_eq!(summary.rejected.len(), 2);
        assert_eq!(summary.rejected[0].0, 2);
        assert_eq!(
            summary.rejected[1],
            (3, "token already belongs to another visitor".to_string())
        );
        assert_eq!(summary.guest_counter, 7);
        assert_eq!(store.visitor_by_token("t3").unwrap().unwrap().id, "C");
        assert!(store.check().unwrap().problems.is_empty());
    }
}
