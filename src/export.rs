//! `visitord export --rocketchat FILE`: writes the visitors of a stopped store as JSON lines in
//! the shape `mongoexport --collection rocketchat_livechat_visitor` writes (relaxed extended
//! JSON: dates as `{"$date":"…Z"}`), which `visitord import --rocketchat` and Rocket.Chat's
//! `mongoimport --collection rocketchat_livechat_visitor` read back. The way out of visitord.

use crate::model::Visitor;
use crate::store::Store;
use crate::time::{iso, Millis};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;

/// `{"$date":"<ISO-8601 UTC with ms>"}`, extended JSON's date.
fn date(ms: Millis) -> Value {
    json!({ "$date": iso(ms) })
}

/// One visitor as a `rocketchat_livechat_visitor` document.
pub fn document(v: &Visitor) -> Value {
    let mut m = Map::new();
    m.insert("_id".into(), json!(v.id));
    m.insert("token".into(), json!(v.token));
    m.insert("username".into(), json!(v.username));
    m.insert("ts".into(), date(v.ts));
    m.insert("_updatedAt".into(), date(v.updated_at));
    m.insert("status".into(), json!(v.status));
    if let Some(name) = &v.name {
        m.insert("name".into(), json!(name));
    }
    if let Some(email) = &v.email {
        m.insert("visitorEmails".into(), json!([{ "address": email }]));
    }
    if let Some(phone) = &v.phone {
        m.insert("phone".into(), json!([{ "phoneNumber": phone }]));
    }
    if let Some(department) = &v.department {
        m.insert("department".into(), json!(department));
    }
    if !v.livechat_data.is_empty() {
        let data: Map<String, Value> = v
            .livechat_data
            .iter()
            .map(|(k, value)| (k.clone(), json!(value)))
            .collect();
        m.insert("livechatData".into(), Value::Object(data));
    }
    if let Some(last) = &v.last_chat {
        m.insert(
            "lastChat".into(),
            json!({ "_id": last.rid, "ts": date(last.ts) }),
        );
    }
    for (key, value) in [
        ("userAgent", &v.user_agent),
        ("ip", &v.ip),
        ("host", &v.host),
    ] {
        if let Some(value) = value {
            m.insert(key.into(), json!(value));
        }
    }
    Value::Object(m)
}

/// Writes every visitor of `store`, oldest first, one document per line; returns how many.
pub fn export(store: &Store, out: &mut impl Write) -> Result<u64, String> {
    let mut written = 0u64;
    let mut failure = None;
    store
        .for_each_visitor(|v| {
            let line = document(v).to_string();
            match writeln!(out, "{line}") {
                Ok(()) => {
                    written += 1;
                    true
                }
                Err(e) => {
                    failure = Some(e.to_string());
                    false
                }
            }
        })
        .map_err(|e| format!("cannot read the store: {e}"))?;
    if let Some(e) = failure {
        return Err(format!("cannot write: {e}"));
    }
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    Ok(written)
}

/// `visitord export --rocketchat FILE`: a new file (an existing one is never overwritten),
/// readable by its owner only (it holds personal data), written to `FILE.partial` and renamed
/// when complete.
pub fn export_to_file(store: &Store, path: &Path) -> Result<String, String> {
    if path.exists() {
        return Err(format!(
            "{} exists; export writes a new file",
            path.display()
        ));
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(&partial)
        .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let result = export(store, &mut out).and_then(|n| {
        let file = out
            .into_inner()
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        file.sync_all()
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        std::fs::rename(&partial, path)
            .map_err(|e| format!("cannot rename to {}: {e}", path.display()))?;
        Ok(n)
    });
    match result {
        Ok(n) => Ok(format!("exported {n} visitors to {}", path.display())),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::parse_line;
    use crate::model::LastChat;

    /// Every field survives a trip through the exported line and the importer's parser.
    #[test]
    fn a_document_parses_back_to_the_same_visitor() {
        let v = Visitor {
            id: "AbCdEfGhIjKlMnOpQ".into(),
            token: "tok-1".into(),
            username: "guest-7".into(),
            ts: 1_700_000_000_123,
            updated_at: 1_700_000_100_456,
            seq: 0,
            status: "away".into(),
            name: Some("Zoë \"Q\" Müller".into()),
            email: Some("zoe@example.com".into()),
            phone: Some("+49 30 1234".into()),
            department: Some("sales".into()),
            livechat_data: vec![
                ("address".into(), "Street 1".into()),
                ("b".into(), "".into()),
            ],
            last_chat: Some(LastChat {
                rid: "room1".into(),
                ts: 1_700_000_050_000,
            }),
            user_agent: Some("UA/1.0".into()),
            ip: Some("10.0.0.1".into()),
            host: Some("example.com".into()),
        };
        let line = document(&v).to_string();
        assert_eq!(parse_line(&line, 0).unwrap(), v);
        let minimal = Visitor {
            username: v.username.clone(),
            updated_at: v.updated_at,
            status: v.status.clone(),
            ..Visitor::new(v.id.clone(), v.token.clone(), v.ts)
        };
        let line = document(&minimal).to_string();
        assert_eq!(parse_line(&line, 0).unwrap(), minimal);
    }
}
