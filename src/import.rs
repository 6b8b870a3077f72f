//! `visitord import --rocketchat FILE`: loads a `mongoexport` of Rocket.Chat's
//! `rocketchat_livechat_visitor` collection (JSON lines, relaxed extended JSON) into a stopped
//! store, keeping `_id`, `token`, `username`, dates and every field the API knows, with all
//! indexes. Bad lines are reported (line number and reason) and skipped, never fatal.

use crate::domain::ImportItem;
use crate::model::{limits, LastChat, Visitor};
use crate::store::Store;
use crate::time::{now_ms, Millis};
use chrono::DateTime;
use serde_json::{Map, Value};
use std::io::BufRead;

/// Visitors per transaction.
const BATCH: usize = 10_000;

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
        Value::Object(m) => match m.get("$date")? {
            Value::Object(inner) => inner.get("$numberLong")?.as_str()?.parse().ok(),
            other => date(other),
        },
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| d.timestamp_millis()),
        Value::Number(n) => n.as_i64(),
        _ => None,
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

/// Writes the parsed lines of `batch`, recording what was imported and what rejected.
/// Returns the highest `guest-N` number among the imported visitors.
fn write_batch(
    store: &Store,
    batch: &mut Vec<(u64, ImportItem)>,
    summary: &mut ImportSummary,
) -> Result<u64, String> {
    let (lines, items): (Vec<u64>, Vec<ImportItem>) = batch.drain(..).unzip();
    let guests: Vec<u64> = items
        .iter()
        .map(|i| guest_number(&i.visitor.username).unwrap_or(0))
        .collect();
    let verdicts = store.import_batch(items).map_err(|e| e.to_string())?;
    let mut highest = 0;
    for ((line, verdict), guest) in lines.into_iter().zip(verdicts).zip(guests) {
        match verdict {
            None => {
                summary.imported += 1;
                highest = highest.max(guest);
            }
            Some(reason) => summary.rejected.push((line, reason)),
        }
    }
    Ok(highest)
}

/// Imports every line of `input`; `progress` is told the bytes read so far.
pub fn import(
    store: &Store,
    input: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<ImportSummary, String> {
    let now = now_ms();
    let mut summary = ImportSummary::default();
    let mut batch: Vec<(u64, ImportItem)> = Vec::with_capacity(BATCH);
    let mut bytes = 0u64;
    // The guest counter continues above the highest imported `guest-N`.
    let mut highest_guest = 0u64;
    for (index, line) in input.lines().enumerate() {
        let number = index as u64 + 1;
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                summary.rejected.push((number, format!("unreadable: {e}")));
                continue;
            }
        };
        bytes += line.len() as u64 + 1;
        summary.lines = number;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(&line, now) {
            Ok(visitor) => {
                batch.push((
                    number,
                    ImportItem {
                        visitor,
                        rooms: vec![],
                        messages: vec![],
                        visits: vec![],
                    },
                ));
            }
            Err(reason) => summary.rejected.push((number, reason)),
        }
        if batch.len() >= BATCH {
            highest_guest = highest_guest.max(write_batch(store, &mut batch, &mut summary)?);
            progress(bytes);
        }
    }
    highest_guest = highest_guest.max(write_batch(store, &mut batch, &mut summary)?);
    progress(bytes);
    store
        .raise_guest_counter(highest_guest)
        .map_err(|e| e.to_string())?;
    store.flush().map_err(|e| e.to_string())?;
    summary.guest_counter = store.guest_counter().map_err(|e| e.to_string())?;
    summary.rejected.sort();
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
