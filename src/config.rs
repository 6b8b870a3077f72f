//! One `Config` struct, layered: built-in defaults < config file < `VISITORD_*` environment < CLI flags.
//!
//! The file is `--config PATH`, else `./config.toml` when it exists. Every option `[section] key`
//! has the environment variable `VISITORD_<SECTION>_<KEY>`. An unknown key or a bad value is a
//! start-up error that names the key (or the environment variable).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Everything visitord can be told at start-up.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub api: ApiConfig,
    pub rate_limit: RateLimitConfig,
    pub livechat: LivechatConfig,
    pub history: HistoryConfig,
    pub auth: AuthConfig,
}

/// `[server]`: the HTTP listener.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free port (printed in the launch summary).
    pub bind: String,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    /// Largest accepted request body; larger ones get 413 before they are parsed.
    pub body_limit_bytes: usize,
    /// Most connections served at once per worker; more wait in the accept queue.
    pub max_connections: usize,
    /// Time a client has to send its request headers and body, in milliseconds.
    pub request_timeout_ms: u64,
    /// Origins allowed to call the API from a browser (CORS); `"*"` allows any.
    pub cors_origins: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:3000".into(),
            workers: 0,
            body_limit_bytes: 1_048_576,
            max_connections: 25_000,
            request_timeout_ms: 5_000,
            cors_origins: vec!["*".into()],
        }
    }
}

/// `[storage]`: the sled store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory of the store; created when missing.
    pub data_dir: PathBuf,
    /// sled page cache size in MiB.
    pub cache_mb: u64,
    /// `sync`: a write is answered once it is on disk; `periodic`: flushed every `flush_every_ms`.
    pub durability: Durability,
    /// Flush interval of `periodic` durability, in milliseconds.
    pub flush_every_ms: u64,
    /// An erased visitor's bytes are gone from the data dir's files within this many hours
    /// (fractions allowed): the store is rewritten online once the oldest pending erasure is
    /// half this old (`store::rewrite`).
    pub erase_within_hours: f64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
            cache_mb: 64,
            durability: Durability::Sync,
            flush_every_ms: 500,
            erase_within_hours: 24.0,
        }
    }
}

/// When an acknowledged write is on disk.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Answered only after a flush that covers it (group commit).
    Sync,
    /// Answered at once; a background flush every `flush_every_ms`.
    Periodic,
}

impl Durability {
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Sync => "sync",
            Durability::Periodic => "periodic",
        }
    }
}

/// `[api]`: pagination of list endpoints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub default_count: u64,
    pub max_count: u64,
    /// `count=0` means "all" only when this is on.
    pub allow_infinite_count: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            default_count: 50,
            max_count: 100,
            allow_infinite_count: false,
        }
    }
}

/// `[rate_limit]`: requests per minute, per client key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// `POST livechat/visitor`, per IP.
    pub visitor_register_per_min: u32,
    /// `GET livechat/room`, per IP.
    pub room_per_min: u32,
    /// `POST livechat/page.visited`, per visitor token.
    pub page_visited_per_token_per_min: u32,
    /// Every other anonymous route, per IP.
    pub anonymous_per_min: u32,
    /// Authenticated routes, per user.
    pub authenticated_per_min: u32,
    /// Failed logins, per IP and per username.
    pub login_failures_per_min: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            trust_forwarded_for: false,
            visitor_register_per_min: 5,
            room_per_min: 5,
            page_visited_per_token_per_min: 60,
            anonymous_per_min: 10,
            authenticated_per_min: 600,
            login_failures_per_min: 10,
        }
    }
}

/// `[livechat]`: Rocket.Chat's Livechat settings that change the visitor API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LivechatConfig {
    /// `page.visited` stores an entry only when `pageInfo.change` equals this (`url` or `title`).
    pub history_monitor_type: String,
    /// Store `userAgent`, `ip` and `host` of a visitor on creation.
    pub store_http_headers: bool,
    /// `any`: every custom field key is stored; `defined`: only the `custom_fields` of scope visitor.
    pub custom_fields_mode: CustomFieldsMode,
    /// Custom field definitions (`[[livechat.custom_fields]]`).
    pub custom_fields: Vec<CustomFieldDef>,
    /// Let `DELETE livechat/visitor/:token` erase a visitor that has an open room.
    pub allow_delete_with_open_rooms: bool,
}

impl Default for LivechatConfig {
    fn default() -> Self {
        LivechatConfig {
            history_monitor_type: "url".into(),
            store_http_headers: false,
            custom_fields_mode: CustomFieldsMode::Any,
            custom_fields: Vec::new(),
            allow_delete_with_open_rooms: false,
        }
    }
}

/// How `customFields` of `POST livechat/visitor` are filtered.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CustomFieldsMode {
    #[default]
    Any,
    Defined,
}

/// One custom field definition, as Rocket.Chat's `livechat:saveCustomField` keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CustomFieldDef {
    pub id: String,
    pub label: String,
    pub scope: FieldScope,
    pub searchable: bool,
    pub required: bool,
}

/// Whom a custom field describes.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FieldScope {
    #[default]
    Visitor,
    Room,
}

/// `[history]`: lifetime of navigation history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Room-less entries of unregistered tokens expire after this many days (0 = never).
    pub roomless_ttl_days: u64,
    /// All navigation history older than this many days is pruned (0 = kept forever).
    pub retention_days: u64,
    /// How often the background pruner runs, in seconds.
    pub prune_interval_secs: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            roomless_ttl_days: 30,
            retention_days: 0,
            prune_interval_secs: 3600,
        }
    }
}

/// `[auth]`: agent logins.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A login token expires this many days after the login.
    pub token_ttl_days: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { token_ttl_days: 90 }
    }
}

/// A start-up configuration problem, naming the key or variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("unknown config key `{key}` in {path}")]
    UnknownKey { key: String, path: PathBuf },
    #[error("bad value for environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("bad value for config key `{key}`: {message}")]
    Value { key: String, message: String },
}

/// The overrides that come from command-line flags.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
}

/// A loaded configuration and the file it came from, if any.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub file: Option<PathBuf>,
}

impl Config {
    /// Load with the process environment.
    pub fn load(overrides: &Overrides) -> Result<Loaded, ConfigError> {
        Self::load_with_env(overrides, |name| std::env::var(name).ok())
    }

    /// Load with `env` as the environment (tests pass a map).
    pub fn load_with_env(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Loaded, ConfigError> {
        let defaults = default_table();
        let mut merged = defaults.clone();

        let file = match &overrides.config {
            Some(path) => Some(path.clone()),
            None => {
                let local = Path::new("config.toml");
                local.exists().then(|| local.to_path_buf())
            }
        };
        if let Some(path) = &file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let table: Table = text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            merge_file(&mut merged, &defaults, table, path)?;
        }

        let from_env = apply_env(&mut merged, &defaults, env)?;

        if let Some(bind) = &overrides.bind {
            set(&mut merged, "server", "bind", Value::String(bind.clone()));
        }
        if let Some(dir) = &overrides.data_dir {
            let dir = dir.to_string_lossy().into_owned();
            set(&mut merged, "storage", "data_dir", Value::String(dir));
        }

        let config: Config =
            serde_path_to_error::deserialize(Value::Table(merged)).map_err(|e| {
                let key = e.path().to_string();
                // The parser's message repeats the key on further lines: keep the first.
                let message = e.inner().to_string();
                let message = message.lines().next().unwrap_or_default().to_string();
                match from_env.iter().find(|(k, _)| *k == key) {
                    Some((_, var)) => ConfigError::Env {
                        var: var.clone(),
                        message,
                    },
                    None => ConfigError::Value { key, message },
                }
            })?;
        config.validate()?;
        Ok(Loaded { config, file })
    }

    /// Checks that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError::Value {
                key: key.into(),
                message: message.into(),
            })
        };
        if self.server.body_limit_bytes == 0 {
            return bad("server.body_limit_bytes", "must be at least 1");
        }
        if self.api.default_count == 0 {
            return bad("api.default_count", "must be at least 1");
        }
        if self.api.max_count < self.api.default_count {
            return bad("api.max_count", "must be at least api.default_count");
        }
        if !matches!(self.livechat.history_monitor_type.as_str(), "url" | "title") {
            return bad(
                "livechat.history_monitor_type",
                "must be \"url\" or \"title\"",
            );
        }
        if self.storage.flush_every_ms == 0 {
            return bad("storage.flush_every_ms", "must be at least 1");
        }
        let hours = self.storage.erase_within_hours;
        if !(hours.is_finite() && hours > 0.0) {
            return bad(
                "storage.erase_within_hours",
                "must be a number of hours above 0",
            );
        }
        if self.auth.token_ttl_days == 0 {
            return bad("auth.token_ttl_days", "must be at least 1");
        }
        if self.history.prune_interval_secs == 0 {
            return bad("history.prune_interval_secs", "must be at least 1");
        }
        let mut seen = std::collections::HashSet::new();
        for def in &self.livechat.custom_fields {
            if def.id.trim().is_empty() {
                return bad("livechat.custom_fields.id", "must not be empty");
            }
            if !seen.insert(def.id.as_str()) {
                return bad("livechat.custom_fields.id", "ids must be unique");
            }
        }
        Ok(())
    }

    /// Custom field definitions of scope `visitor`.
    pub fn visitor_fields(&self) -> impl Iterator<Item = &CustomFieldDef> {
        self.livechat
            .custom_fields
            .iter()
            .filter(|d| d.scope == FieldScope::Visitor)
    }
}

/// The built-in defaults as a TOML table: the list of every known `[section] key`.
fn default_table() -> Table {
    match Value::try_from(Config::default()) {
        Ok(Value::Table(t)) => t,
        _ => Table::new(),
    }
}

fn set(table: &mut Table, section: &str, key: &str, value: Value) {
    if let Some(Value::Table(s)) = table.get_mut(section) {
        s.insert(key.to_string(), value);
    }
}

/// Lay the file's values over the defaults, refusing keys the defaults do not have.
fn merge_file(
    merged: &mut Table,
    defaults: &Table,
    file: Table,
    path: &Path,
) -> Result<(), ConfigError> {
    for (section, value) in file {
        let Some(Value::Table(default_section)) = defaults.get(&section) else {
            return Err(ConfigError::UnknownKey {
                key: section,
                path: path.to_path_buf(),
            });
        };
        let Value::Table(entries) = value else {
            return Err(ConfigError::Value {
                key: section,
                message: "must be a table".into(),
            });
        };
        for (key, value) in entries {
            if !default_section.contains_key(&key) {
                return Err(ConfigError::UnknownKey {
                    key: format!("{section}.{key}"),
                    path: path.to_path_buf(),
                });
            }
            set(merged, &section, &key, value);
        }
    }
    Ok(())
}

/// `VISITORD_<SECTION>_<KEY>` for every known key, parsed as the default's type. Returns the
/// keys set this way (`section.key`, variable) so later errors can name the variable.
fn apply_env(
    merged: &mut Table,
    defaults: &Table,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut set_keys = Vec::new();
    for (section, section_value) in defaults {
        let Value::Table(keys) = section_value else {
            continue;
        };
        for (key, default) in keys {
            let var = format!("VISITORD_{}_{}", section.to_uppercase(), key.to_uppercase());
            let Some(raw) = env(&var) else { continue };
            let value = parse_env_value(&raw, default).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
            set(merged, section, key, value);
            set_keys.push((format!("{section}.{key}"), var));
        }
    }
    Ok(set_keys)
}

fn parse_env_value(raw: &str, default: &Value) -> Result<Value, String> {
    let raw = raw.trim();
    match default {
        Value::Boolean(_) => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Boolean(false)),
            _ => Err(format!("expected true or false, got {raw:?}")),
        },
        Value::Integer(_) => raw
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("expected an integer, got {raw:?}")),
        Value::String(_) => Ok(Value::String(raw.to_string())),
        Value::Float(_) => raw
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| format!("expected a number, got {raw:?}")),
        // Arrays and tables (custom field definitions) are written as a TOML value.
        _ => {
            let doc = format!("v = {raw}");
            let table: Table = doc
                .parse()
                .map_err(|e: toml::de::Error| format!("expected a TOML value: {e}"))?;
            table
                .get("v")
                .cloned()
                .ok_or_else(|| "expected a TOML value".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(file: Option<&str>, env: &[(&str, &str)], o: Overrides) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().map_err(|source| ConfigError::Read {
            path: PathBuf::new(),
            source,
        })?;
        let mut o = o;
        if let Some(text) = file {
            let path = dir.path().join("c.toml");
            std::fs::write(&path, text).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            o.config = Some(path);
        } else {
            o.config = Some(dir.path().join("absent.toml"));
        }
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if file.is_none() {
            // No file at all: load through a path that exists but is empty.
            let path = dir.path().join("empty.toml");
            std::fs::write(&path, "").map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            o.config = Some(path);
        }
        Config::load_with_env(&o, |k| env.get(k).cloned()).map(|l| l.config)
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.server.bind, "127.0.0.1:3000");
        assert_eq!(c.storage.durability, Durability::Sync);
        assert_eq!(c.rate_limit.page_visited_per_token_per_min, 60);
    }

    #[test]
    fn precedence_defaults_file_env_cli() {
        let file = "[server]\nbind = \"0.0.0.0:1\"\nworkers = 3\n[storage]\ncache_mb = 7\n";
        let c = load(Some(file), &[], Overrides::default()).unwrap();
        assert_eq!(
            (c.server.bind.as_str(), c.server.workers, c.storage.cache_mb),
            ("0.0.0.0:1", 3, 7)
        );

        let env = [
            ("VISITORD_SERVER_BIND", "0.0.0.0:2"),
            ("VISITORD_SERVER_WORKERS", "5"),
        ];
        let c = load(Some(file), &env, Overrides::default()).unwrap();
        assert_eq!((c.server.bind.as_str(), c.server.workers), ("0.0.0.0:2", 5));

        let cli = Overrides {
            bind: Some("0.0.0.0:3".into()),
            data_dir: Some("/tmp/x".into()),
            ..Default::default()
        };
        let c = load(Some(file), &env, cli).unwrap();
        assert_eq!(c.server.bind, "0.0.0.0:3");
        assert_eq!(c.storage.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.storage.cache_mb, 7);
    }

    #[test]
    fn erase_within_hours_takes_fractions_and_whole_hours() {
        assert_eq!(Config::default().storage.erase_within_hours, 24.0);
        let env = [("VISITORD_STORAGE_ERASE_WITHIN_HOURS", "0.0005")];
        let c = load(None, &env, Overrides::default()).unwrap();
        assert_eq!(c.storage.erase_within_hours, 0.0005);
        let env = [("VISITORD_STORAGE_ERASE_WITHIN_HOURS", "2")];
        let c = load(None, &env, Overrides::default()).unwrap();
        assert_eq!(c.storage.erase_within_hours, 2.0);
        let c = load(
            Some("[storage]\nerase_within_hours = 6\n"),
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.storage.erase_within_hours, 6.0);
        let err = load(
            Some("[storage]\nerase_within_hours = 0\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("storage.erase_within_hours"),
            "{err}"
        );
    }

    #[test]
    fn env_types_are_parsed() {
        let env = [
            ("VISITORD_RATE_LIMIT_ENABLED", "false"),
            ("VISITORD_STORAGE_DURABILITY", "periodic"),
            (
                "VISITORD_LIVECHAT_CUSTOM_FIELDS",
                "[{id = \"address\", searchable = true}]",
            ),
        ];
        let c = load(None, &env, Overrides::default()).unwrap();
        assert!(!c.rate_limit.enabled);
        assert_eq!(c.storage.durability, Durability::Periodic);
        assert_eq!(c.livechat.custom_fields.len(), 1);
        assert!(c.livechat.custom_fields[0].searchable);
    }

    #[test]
    fn unknown_and_bad_keys_are_named() {
        let err = load(Some("[server]\nport = 1\n"), &[], Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("`server.port`"), "{err}");
        let err = load(Some("[nope]\n"), &[], Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
        let err = load(
            Some("[server]\nworkers = \"x\"\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("server.workers"), "{err}");
        let err = load(
            Some("[storage]\ndurability = \"maybe\"\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("storage.durability"), "{err}");
        let err = load(
            None,
            &[("VISITORD_SERVER_WORKERS", "many")],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("VISITORD_SERVER_WORKERS"), "{err}");
        let err = load(
            None,
            &[("VISITORD_STORAGE_DURABILITY", "maybe")],
            Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad value for environment variable VISITORD_STORAGE_DURABILITY: unknown variant `maybe`, expected `sync` or `periodic`"
        );
        let err = load(
            Some("[server]\nworkers = \"x\"\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(err.to_string().lines().count(), 1, "{err}");
        let err = load(
            Some("[[livechat.custom_fields]]\nid = \"a\"\ncolour = 1\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("livechat.custom_fields"), "{err}");
    }

    #[test]
    fn shipped_template_is_the_defaults() {
        let text = include_str!("../config.toml");
        let table: Table = text.parse().unwrap();
        assert!(
            table
                .values()
                .all(|s| s.as_table().is_some_and(|t| t.is_empty())),
            "config.toml must keep every option commented out"
        );
        let loaded = load(Some(text), &[], Overrides::default()).unwrap();
        assert_eq!(loaded, Config::default());
        // Every option of the defaults is listed (commented) in the template with its env var.
        for (section, keys) in default_table() {
            let Value::Table(keys) = keys else { continue };
            assert!(text.contains(&format!("[{section}]")), "section {section}");
            for key in keys.keys() {
                let var = format!("VISITORD_{}_{}", section.to_uppercase(), key.to_uppercase());
                assert!(text.contains(&var), "template lacks {var}");
            }
        }
    }
}
