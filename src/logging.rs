//! Logging set-up and the lines `serve` prints itself, in the configured `log.format`.
//!
//! `text`: env_logger's usual lines (access-log lines end with `request_id=…`) and a plain
//! launch summary. `json`: every line is one JSON object
//! `{"timestamp","level","target","message"}` (RFC 3339 UTC timestamp with milliseconds, level
//! in capitals as env_logger prints it), plus `request_id` on access-log lines; the launch summary
//! is one such object per line (target `visitord::summary`), on standard output as in text mode.

use crate::config::LogFormat;
use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};
use std::io::Write;

/// The target of the launch summary's lines in JSON mode.
pub const SUMMARY_TARGET: &str = "visitord::summary";

/// One JSON log line (without its newline).
pub fn json_line(level: &str, target: &str, message: &str, request_id: Option<&str>) -> String {
    let mut m = Map::new();
    m.insert(
        "timestamp".into(),
        Value::String(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)),
    );
    m.insert("level".into(), Value::String(level.into()));
    m.insert("target".into(), Value::String(target.into()));
    m.insert("message".into(), Value::String(message.into()));
    if let Some(id) = request_id {
        m.insert("request_id".into(), Value::String(id.into()));
    }
    Value::Object(m).to_string()
}

/// Installs env_logger (`RUST_LOG`, default `info`) writing `format`; in JSON mode a panic is
/// logged as one JSON line too.
pub fn init(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let request_id = record
                .key_values()
                .get(log::kv::Key::from_str("request_id"))
                .map(|v| v.to_string());
            let line = json_line(
                record.level().as_str(),
                record.target(),
                &record.args().to_string(),
                request_id.as_deref(),
            );
            writeln!(buf, "{line}")
        });
        std::panic::set_hook(Box::new(|info| {
            eprintln!("{}", json_line("ERROR", "panic", &info.to_string(), None));
        }));
    }
    // A second initialisation (tests) keeps the first logger.
    let _ = builder.try_init();
}

/// Prints one line of the launch summary on standard output (`  key:  value` in text mode).
pub fn summary(format: LogFormat, line: &str) {
    match format {
        LogFormat::Text => println!("{line}"),
        LogFormat::Json => println!("{}", json_line("INFO", SUMMARY_TARGET, line.trim(), None)),
    }
}

/// Prints the final error of the process on standard error: `visitord: <message>`, or a JSON line.
pub fn fatal(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => eprintln!("visitord: {message}"),
        LogFormat::Json => eprintln!("{}", json_line("ERROR", "visitord", message, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_line_has_the_four_fields_and_the_request_id_when_given() {
        let line = json_line(
            "INFO",
            "visitord::access",
            "a \"quoted\"\nline",
            Some("abc"),
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "visitord::access");
        assert_eq!(v["message"], "a \"quoted\"\nline");
        assert_eq!(v["request_id"], "abc");
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&json_line("WARN", "t", "m", None)).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 4);
    }
}
