//! Wall-clock helpers: milliseconds since the Unix epoch and their ISO-8601 wire form.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// One day in milliseconds.
pub const DAY_MS: Millis = 24 * 60 * 60 * 1000;

/// `n` days in milliseconds, saturating (config values are untrusted `u64`s).
pub fn days(n: u64) -> Millis {
    i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(DAY_MS)
}

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

/// `"2024-10-15T02:52:42.123Z"`: ISO-8601 UTC with milliseconds, as Rocket.Chat's JSON dates.
pub fn iso(ms: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_millis_and_z() {
        assert_eq!(iso(1_728_960_762_123), "2024-10-15T02:52:42.123Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
    }
}
