//! One `Config` struct, layered: built-in defaults < config file < `VISITORD_*` environment < CLI flags.
//!
//! The file is `--config PATH`, else `./config.toml` when it exists. Every option `[section] key`
//! has the environment variable `VISITORD_<SECTION>_<KEY>`. An unknown key or a bad value is a
//! start-up error that names the key (or the environment variable).

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
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
    pub backup: BackupConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub console: ConsoleConfig,
}

/// `[console]`: the agent console served at `/console/`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Serve the console at `/console/` and redirect `/` there (off: both are JSON 404s).
    pub enabled: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig { enabled: true }
    }
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

/// `[storage]`: where the data lives: the embedded sled store (the default) or a PostgreSQL
/// database shared by any number of replicas (`backend = "postgres"`, see `docs/scale-out.md`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `sled` (embedded, one process, the default) or `postgres` (stateless replicas over one
    /// PostgreSQL database).
    pub backend: StorageBackend,
    /// `postgres` backend: the connection URL (`postgres://user:password@host:port/db`). A
    /// secret: never logged (the launch summary shows it without its password). Empty: read
    /// from `postgres_url_file`.
    pub postgres_url: String,
    /// `postgres` backend: a file whose first line is the URL (e.g. a container secret), used
    /// when `postgres_url` is empty.
    pub postgres_url_file: String,
    /// `postgres` backend: connections this process keeps open at most. Replicas × this must
    /// stay under the server's `max_connections`.
    pub postgres_pool_size: usize,
    /// `postgres` backend: `disable` (plain TCP or a Unix socket) or `require` (TLS, the server's
    /// certificate verified against `postgres_ca_file`, else the system's roots).
    pub postgres_tls: PostgresTls,
    /// `postgres` backend with `postgres_tls = "require"`: PEM file of the CA(s) to trust instead
    /// of the system's roots. Empty: the system's roots.
    pub postgres_ca_file: String,
    /// `postgres` backend: every statement is cancelled by the server after this many
    /// milliseconds (the request then fails with a 500 and a logged cause).
    pub statement_timeout_ms: u64,
    /// `postgres` backend: apply missing schema migrations at start. Off: the server refuses to
    /// start on an older schema (run `visitord migrate` first). A newer schema is always refused.
    pub auto_migrate: bool,
    /// Directory of the store; created when missing.
    pub data_dir: PathBuf,
    /// sled page cache size in MiB.
    pub cache_mb: u64,
    /// sled page cache size in MiB for the offline bulk commands (`import`, `demo-data`):
    /// demo-data adds index rows all over the store (on a store many times the cache, each lands
    /// in a leaf that has to be read from the file first), an import reads the store for every
    /// line it checks. 0: `cache_mb`.
    pub bulk_cache_mb: u64,
    /// `sync`: a write is answered once it is on disk; `periodic`: flushed every `flush_every_ms`.
    pub durability: Durability,
    /// Flush interval of `periodic` durability, in milliseconds.
    pub flush_every_ms: u64,
    /// TESTING ONLY, never use: answer writes before they are flushed, even in `sync` mode, and
    /// leave flushing to sled's timer (every `flush_every_ms`). It exists so the crash test can
    /// prove that it detects lost acknowledged writes.
    pub unsafe_ack_before_flush: bool,
    /// An erased visitor's bytes are gone from the data dir's files within this many hours
    /// (fractions allowed): the store is rewritten online once the oldest pending erasure is
    /// half this old (`store::rewrite`).
    pub erase_within_hours: f64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            backend: StorageBackend::Sled,
            postgres_url: String::new(),
            postgres_url_file: String::new(),
            postgres_pool_size: 8,
            postgres_tls: PostgresTls::Disable,
            postgres_ca_file: String::new(),
            statement_timeout_ms: 5_000,
            auto_migrate: true,
            data_dir: PathBuf::from("./data"),
            cache_mb: 64,
            bulk_cache_mb: 512,
            durability: Durability::Sync,
            flush_every_ms: 500,
            unsafe_ack_before_flush: false,
            erase_within_hours: 24.0,
        }
    }
}

/// Which storage backend serves the API.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// The embedded sled store in `data_dir`.
    #[default]
    Sled,
    /// A PostgreSQL database at `postgres_url`.
    Postgres,
}

impl StorageBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageBackend::Sled => "sled",
            StorageBackend::Postgres => "postgres",
        }
    }
}

/// TLS to the PostgreSQL server.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PostgresTls {
    /// No TLS.
    #[default]
    Disable,
    /// TLS only, with the server's certificate verified.
    Require,
}

impl PostgresTls {
    pub fn as_str(self) -> &'static str {
        match self {
            PostgresTls::Disable => "disable",
            PostgresTls::Require => "require",
        }
    }
}

impl StorageConfig {
    /// The PostgreSQL URL: `postgres_url`, else the first line of `postgres_url_file`.
    pub fn postgres_url(&self) -> Result<String, String> {
        if !self.postgres_url.trim().is_empty() {
            return Ok(self.postgres_url.trim().to_string());
        }
        if self.postgres_url_file.is_empty() {
            return Err(
                "storage.backend = \"postgres\" needs storage.postgres_url (or \
                        VISITORD_STORAGE_POSTGRES_URL, or storage.postgres_url_file)"
                    .into(),
            );
        }
        let text = std::fs::read_to_string(&self.postgres_url_file).map_err(|e| {
            format!(
                "cannot read storage.postgres_url_file {}: {e}",
                self.postgres_url_file
            )
        })?;
        let url = text.lines().next().unwrap_or_default().trim().to_string();
        if url.is_empty() {
            return Err(format!(
                "storage.postgres_url_file {} is empty",
                self.postgres_url_file
            ));
        }
        Ok(url)
    }
}

/// A PostgreSQL URL as it may be shown: the password replaced by `***` (also a `password=`
/// key of the key=value form).
pub fn redact_postgres_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
        return url.to_string();
    }
    url.split_whitespace()
        .map(|part| {
            if part.to_ascii_lowercase().starts_with("password=") {
                "password=***".to_string()
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
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
    /// Origins allowed to call the agent endpoints (those that take `X-User-Id`/`X-Auth-Token`,
    /// and login) from a browser; `"*"` allows any. Empty (the default): none, whatever
    /// `server.cors_origins` allows for the rest (the console is same-origin and needs none).
    pub cors_origins: Vec<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            default_count: 50,
            max_count: 100,
            allow_infinite_count: false,
            cors_origins: Vec::new(),
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
    /// CIDRs of the proxies whose `X-Forwarded-For` is believed (with `trust_forwarded_for`):
    /// the peer must be one, and the client is the right-most entry that is not one.
    pub trusted_proxies: Vec<String>,
    /// `POST livechat/visitor`, per IP.
    pub visitor_register_per_min: u32,
    /// `GET livechat/room`, per IP.
    pub room_per_min: u32,
    /// `POST livechat/page.visited`, per visitor token.
    pub page_visited_per_token_per_min: u32,
    /// `POST livechat/page.visited`, per client IP (on top of the per-token limit).
    pub page_visited_per_ip_per_min: u32,
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
            trusted_proxies: vec!["127.0.0.0/8".into(), "::1/128".into()],
            visitor_register_per_min: 5,
            room_per_min: 5,
            page_visited_per_token_per_min: 60,
            page_visited_per_ip_per_min: 600,
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
    /// Besides the token, which contact data makes a registration update an existing visitor
    /// (Rocket.Chat: `["phone", "email"]`). Empty (the default): token only. See [`MergeBy`].
    pub merge_by: Vec<MergeBy>,
    /// Serve the demo site at `/livechat/demo/` (the tracker `/livechat/visitor.js` is always served).
    pub demo_enabled: bool,
}

impl Default for LivechatConfig {
    fn default() -> Self {
        LivechatConfig {
            history_monitor_type: "url".into(),
            store_http_headers: false,
            custom_fields_mode: CustomFieldsMode::Any,
            custom_fields: Vec::new(),
            allow_delete_with_open_rooms: false,
            merge_by: Vec::new(),
            demo_enabled: true,
        }
    }
}

/// Contact data by which `POST livechat/visitor` may match an existing visitor of another token.
///
/// Risky by nature: with `phone`, whoever knows a visitor's phone number receives that visitor's
/// token and data; with `email`, whoever knows an address takes the visitor over (its token is
/// replaced by theirs). Rocket.Chat does both; visitord does neither unless configured.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MergeBy {
    /// The stored phone equals the registration's: update that visitor, keep its token.
    Phone,
    /// The stored (lower-cased) email equals the registration's: update that visitor and give it
    /// the registration's token.
    Email,
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

/// `[backup]`: backups taken by the running server (see `src/backup.rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Folder of the backup files (created 0700 when missing).
    pub dir: PathBuf,
    /// Hours between scheduled backups; 0 = none (`POST /api/v1/visitord.backup` still works).
    pub interval_hours: f64,
    /// Backup files kept in `dir`; older ones are deleted after each new backup (0 = keep all).
    pub keep: usize,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: PathBuf::from("./backups"),
            interval_hours: 0.0,
            keep: 7,
        }
    }
}

/// `[auth]`: agent logins.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A login token expires this many days after the login.
    pub token_ttl_days: u64,
    /// Password hashes computed at once, on their own threads; 0 = one per core.
    pub hash_concurrency: usize,
    /// Password hashes that may wait for a thread; beyond, logins get 429 at once.
    pub hash_queue: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            token_ttl_days: 90,
            hash_concurrency: 0,
            hash_queue: 32,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint `GET /metrics`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `GET /metrics` (off: the path is a JSON 404 and nothing is measured).
    pub enabled: bool,
    /// When not empty, `/metrics` needs `Authorization: Bearer <this>` (else a JSON 401).
    /// Empty (the default): no token is asked.
    pub bearer_token: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            bearer_token: String::new(),
        }
    }
}

/// `[log]`: how `serve` writes its output.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text`: human-readable lines; `json`: one JSON object per line (see [`LogFormat`]).
    pub format: LogFormat,
}

/// The shape of every line `serve` writes.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// env_logger's lines and a plain launch summary.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` (and `request_id`
    /// on access-log lines), launch summary included.
    Json,
}

impl AuthConfig {
    /// The number of hashing threads: `hash_concurrency`, or one per core when it is 0.
    pub fn hash_threads(&self) -> usize {
        match self.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

impl RateLimitConfig {
    /// `trusted_proxies` parsed: CIDRs, or bare addresses (one host). The error names the entry.
    pub fn trusted_proxy_nets(&self) -> Result<Vec<IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                let text = entry.trim();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not a CIDR such as \"10.0.0.0/8\""))
            })
            .collect()
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
    #[error("unknown environment variable {var} (did you mean {nearest}?)")]
    UnknownEnv { var: String, nearest: String },
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
    /// Load with the process environment; a `VISITORD_*` variable that names no option (and is
    /// not one of [`NON_OPTION_VARS`]) is refused.
    pub fn load(overrides: &Overrides) -> Result<Loaded, ConfigError> {
        let names: Vec<String> = std::env::vars_os()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        check_env_names(names.iter().map(String::as_str))?;
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
        if self.storage.postgres_pool_size == 0 {
            return bad("storage.postgres_pool_size", "must be at least 1");
        }
        if self.storage.statement_timeout_ms == 0 {
            return bad("storage.statement_timeout_ms", "must be at least 1");
        }
        if self.auth.token_ttl_days == 0 {
            return bad("auth.token_ttl_days", "must be at least 1");
        }
        if self.history.prune_interval_secs == 0 {
            return bad("history.prune_interval_secs", "must be at least 1");
        }
        if !(self.backup.interval_hours.is_finite() && self.backup.interval_hours >= 0.0) {
            return bad(
                "backup.interval_hours",
                "must be a number of hours, 0 or more",
            );
        }
        if let Err(message) = self.rate_limit.trusted_proxy_nets() {
            return bad("rate_limit.trusted_proxies", &message);
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

    /// The ids of the visitor custom fields that `visitors.search` matches.
    pub fn search_fields(&self) -> Vec<String> {
        self.visitor_fields()
            .filter(|d| d.searchable)
            .map(|d| d.id.clone())
            .collect()
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

/// `VISITORD_*` variables that are not options: the first admin's password, and the ones that
/// the test suite and `scripts/crash.sh` read (harmless if they reach the binary).
pub const NON_OPTION_VARS: [&str; 6] = [
    "VISITORD_ADMIN_PASSWORD",
    "VISITORD_TEST_BACKEND",
    "VISITORD_TEST_PG_URL",
    "VISITORD_TEST_BIN",
    "VISITORD_CRASH_TRIALS",
    "VISITORD_CRASH_MIN_ACKED",
];

/// The variable of `[section] key`.
fn env_var_name(section: &str, key: &str) -> String {
    format!("VISITORD_{}_{}", section.to_uppercase(), key.to_uppercase())
}

/// Every `VISITORD_*` variable visitord reads: one per option, then [`NON_OPTION_VARS`].
pub fn known_env_vars() -> Vec<String> {
    let mut vars: Vec<String> = default_table()
        .iter()
        .filter_map(|(section, keys)| keys.as_table().map(|keys| (section, keys)))
        .flat_map(|(section, keys)| keys.keys().map(move |key| env_var_name(section, key)))
        .collect();
    vars.extend(NON_OPTION_VARS.iter().map(|v| v.to_string()));
    vars
}

/// Refuses the first of `names` that starts with `VISITORD_` but is not a variable visitord
/// reads (a misspelt option would otherwise be silently ignored), naming the nearest known one
/// by edit distance.
pub fn check_env_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), ConfigError> {
    let known = known_env_vars();
    let mut unknown: Vec<&str> = names
        .into_iter()
        .filter(|n| n.starts_with("VISITORD_") && !known.iter().any(|k| k == n))
        .collect();
    // Deterministic whichever order the environment lists them in.
    unknown.sort_unstable();
    let Some(var) = unknown.first() else {
        return Ok(());
    };
    let nearest = known
        .iter()
        .min_by_key(|k| strsim::levenshtein(var, k))
        .cloned()
        .unwrap_or_default();
    Err(ConfigError::UnknownEnv {
        var: var.to_string(),
        nearest,
    })
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
            let var = env_var_name(section, key);
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
        Value::Float(_) => raw
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::Float)
            .ok_or_else(|| format!("expected a number, got {raw:?}")),
        Value::String(_) => Ok(Value::String(raw.to_string())),
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
    fn postgres_urls_are_shown_without_their_password() {
        assert_eq!(
            redact_postgres_url(
                "postgres://visitord:s3cret@db.example:5432/visitord?sslmode=require"
            ),
            "postgres://visitord:***@db.example:5432/visitord?sslmode=require"
        );
        assert_eq!(
            redact_postgres_url("postgres://visitord@db/visitord"),
            "postgres://visitord@db/visitord"
        );
        assert_eq!(
            redact_postgres_url("host=db user=v password=s3cret dbname=v"),
            "host=db user=v password=*** dbname=v"
        );
    }

    #[test]
    fn the_backend_is_sled_unless_told_and_postgres_needs_a_url() {
        let c = load(None, &[], Overrides::default()).unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Sled);
        let c = load(
            None,
            &[
                ("VISITORD_STORAGE_BACKEND", "postgres"),
                ("VISITORD_STORAGE_POSTGRES_URL", "postgres://u:p@h/d"),
            ],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Postgres);
        assert_eq!(c.storage.postgres_url().unwrap(), "postgres://u:p@h/d");
        let none = StorageConfig::default();
        assert!(none
            .postgres_url()
            .unwrap_err()
            .contains("storage.postgres_url"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("url");
        std::fs::write(&file, "postgres://from:file@h/d\nignored\n").unwrap();
        let from_file = StorageConfig {
            postgres_url_file: file.display().to_string(),
            ..StorageConfig::default()
        };
        assert_eq!(
            from_file.postgres_url().unwrap(),
            "postgres://from:file@h/d"
        );
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
    fn misspelt_env_vars_are_refused_with_the_nearest_name() {
        let err = check_env_names(["PATH", "VISITORD_STORAGE_DURABILTY"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown environment variable VISITORD_STORAGE_DURABILTY (did you mean \
             VISITORD_STORAGE_DURABILITY?)"
        );
        // An unknown section is refused too.
        let err = check_env_names(["VISITORD_SERVR_BIND"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown environment variable VISITORD_SERVR_BIND (did you mean VISITORD_SERVER_BIND?)"
        );
        let err = check_env_names(["VISITORD_ADMIN_PASWORD"]).unwrap_err();
        assert!(err
            .to_string()
            .ends_with("(did you mean VISITORD_ADMIN_PASSWORD?)"));
        // The same variable is named whatever the order of the environment.
        let a = check_env_names(["VISITORD_B_X", "VISITORD_A_X"]).unwrap_err();
        let b = check_env_names(["VISITORD_A_X", "VISITORD_B_X"]).unwrap_err();
        assert_eq!(a.to_string(), b.to_string());
        assert!(a
            .to_string()
            .starts_with("unknown environment variable VISITORD_A_X "));
    }

    #[test]
    fn every_option_and_the_non_option_vars_are_accepted() {
        let known = known_env_vars();
        assert!(known.contains(&"VISITORD_RATE_LIMIT_TRUSTED_PROXIES".to_string()));
        assert!(known.contains(&"VISITORD_AUTH_HASH_QUEUE".to_string()));
        check_env_names(known.iter().map(String::as_str)).unwrap();
        check_env_names(["HOME", "VISITORD", "visitord_x", "RUST_LOG"]).unwrap();
        // Every option variable is in the shipped template.
        let text = include_str!("../config.toml");
        for var in known
            .iter()
            .filter(|v| !NON_OPTION_VARS.contains(&v.as_str()))
        {
            assert!(text.contains(var.as_str()), "{var}");
        }
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses() {
        let c = load(
            Some("[rate_limit]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"fd00::/8\"]\n"),
            &[],
            Overrides::default(),
        )
        .unwrap();
        let nets = c.rate_limit.trusted_proxy_nets().unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"192.0.2.7".parse::<IpAddr>().unwrap()));
        let err = load(
            Some("[rate_limit]\ntrusted_proxies = [\"10.0.0.0/33\"]\n"),
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad value for config key `rate_limit.trusted_proxies`: \"10.0.0.0/33\" is not a CIDR \
             such as \"10.0.0.0/8\""
        );
        let err = load(
            None,
            &[("VISITORD_RATE_LIMIT_TRUSTED_PROXIES", "[\"proxy.local\"]")],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("rate_limit.trusted_proxies"),
            "{err}"
        );
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
        // Every commented `key = value` line, uncommented, parses to exactly the defaults.
        // (The `[[livechat.custom_fields]]` example block is an example, not a default.)
        let mut in_example = false;
        let uncommented: String = text
            .lines()
            .map(|l| {
                if l.starts_with("# [[") {
                    in_example = true;
                } else if !l.starts_with('#') {
                    in_example = false;
                }
                (l, in_example)
            })
            .map(
                |(l, example)| match l.strip_prefix("# ").filter(|_| !example) {
                    Some(rest)
                        if rest.contains(" = ")
                            && rest.split(" = ").next().is_some_and(|k| {
                                k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                            }) =>
                    {
                        rest.to_string()
                    }
                    _ => l.to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join("\n");
        let table: Table = uncommented.parse().unwrap();
        let set: usize = table
            .values()
            .filter_map(|s| s.as_table())
            .map(|t| t.len())
            .sum();
        let known: usize = default_table()
            .values()
            .filter_map(|s| s.as_table())
            .map(|t| t.len())
            .sum();
        assert_eq!(
            set, known,
            "every option has an uncommentable line:\n{uncommented}"
        );
        let loaded = load(Some(&uncommented), &[], Overrides::default()).unwrap();
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
