//! The PostgreSQL backend: a second implementation of the store seam ([`crate::domain::Backend`])
//! over a database that any number of visitord processes share (`storage.backend = "postgres"`).
//!
//! ## The bridge between the synchronous seam and the async driver
//! The seam is synchronous; handlers call it on actix's blocking pool ([`crate::http::read`],
//! [`crate::http::write`], [`crate::http::lookup`]). This backend owns a small tokio runtime of
//! its own (two threads, [`PgStore::open`]) that drives every connection of its pool
//! (tokio-postgres + deadpool-postgres). Each seam call spawns one future on that runtime and
//! waits for its answer on a plain channel ([`PgStore::call`]): the caller's thread blocks, but
//! no runtime is ever entered twice, so the call is safe from a blocking-pool thread, a command's
//! main thread or a test. Connections live on one runtime for their whole life, so they survive
//! actix restarting a worker (the pool-per-runtime caveat of actix-web). `lookup` sends point
//! reads of this backend to the blocking pool ([`crate::domain::Backend::point_reads_are_cheap`]).
//!
//! ## Correctness across processes
//! - one visitor per token: a unique index, and registration inserts with
//!   `ON CONFLICT (token) DO NOTHING`, retrying when another process won ([`visitors`]);
//! - `guest-N` never repeats: a sequence;
//! - one open room per visitor: a partial unique index;
//! - every transaction runs in [`PgStore::transaction`], which retries serialization failures,
//!   deadlocks and the unique violations the algorithms expect, with jittered backoff;
//! - a statement that runs longer than `storage.statement_timeout_ms` is cancelled by the server.
//!
//! The schema and its migrations are in [`schema`].

mod logical;
pub use logical::PgRestorer;
mod rooms;
pub mod schema;
mod search;
#[doc(hidden)]
pub mod testing;
mod users;
mod visitors;

use crate::config::{PostgresTls, StorageConfig};
use crate::domain::{
    Backend, Counts, MessageInput, NewUser, Overview, PageVisitInput, Registration, Result,
    RoomRequest, SearchPage, SearchQuery, StoreError, UserChanges,
};
use crate::model::{Message, PageVisit, Room, Session, User, Visitor};
use crate::time::Millis;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::error::SqlState;

/// Why `POST visitord.backup` and scheduled backups refuse on this backend.
pub const NO_BACKUP: &str = "a server on the postgres backend takes no backups itself: use the \
                             database's own (pg_dump, base backups) or `visitord backup`, a \
                             snapshot of its records";

/// Tries of one transaction before its error is returned.
const MAX_TRIES: u32 = 8;

/// What the code of this backend fails with before it is turned into a [`StoreError`].
#[derive(Debug)]
pub(crate) enum PgError {
    /// The database answered with an error or the connection failed.
    Db(tokio_postgres::Error),
    /// No connection could be had from the pool.
    Pool(String),
    /// A refusal or another domain error: never retried.
    Store(StoreError),
    /// The transaction lost a race it can win by starting again (e.g. another process created
    /// the same token first).
    Retry(&'static str),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::Db(e)
    }
}

impl From<StoreError> for PgError {
    fn from(e: StoreError) -> Self {
        PgError::Store(e)
    }
}

impl From<crate::domain::Refusal> for PgError {
    fn from(r: crate::domain::Refusal) -> Self {
        PgError::Store(r.into())
    }
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            // Why the connection failed (refused, TLS, authentication), not only that it did.
            deadpool_postgres::PoolError::Backend(e) => {
                PgError::Pool(format!("cannot open a connection: {}", detail(&e)))
            }
            other => PgError::Pool(other.to_string()),
        }
    }
}

impl PgError {
    /// Whether starting the transaction again may succeed: serialization failures, deadlocks,
    /// unique violations (a concurrent creator won; the retry finds its row) and lost races.
    fn retryable(&self) -> bool {
        match self {
            PgError::Db(e) => matches!(
                e.code(),
                Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::UNIQUE_VIOLATION
            ),
            PgError::Retry(_) => true,
            PgError::Pool(_) | PgError::Store(_) => false,
        }
    }

    /// The error as the seam reports it. Database errors carry the server's message (with its
    /// SQLSTATE), never a statement's parameters.
    fn into_store(self) -> StoreError {
        match self {
            PgError::Store(e) => e,
            PgError::Db(e) => StoreError::Storage(describe(&e)),
            PgError::Pool(e) => StoreError::Storage(format!("postgres pool: {e}")),
            PgError::Retry(what) => {
                StoreError::Storage(format!("postgres: gave up after {MAX_TRIES} tries: {what}"))
            }
        }
    }
}

/// One line about a driver error: the server's message and SQLSTATE when there is one.
fn describe(e: &tokio_postgres::Error) -> String {
    format!("postgres: {}", detail(e))
}

/// A driver error as one line: the server's message and SQLSTATE when there is one, else the
/// error with its causes (e.g. why a TLS handshake failed), each once.
fn detail(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// What this backend's code returns inside the runtime.
pub(crate) type PgResult<T> = std::result::Result<T, PgError>;

/// The PostgreSQL backend (cheap to clone: every clone shares the pool and runtime).
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
    runtime: Arc<RuntimeHolder>,
}

/// The runtime that drives every connection; shut down without blocking when the last handle
/// goes (a drop may happen inside another runtime, e.g. in a test).
struct RuntimeHolder(Option<tokio::runtime::Runtime>);

impl Drop for RuntimeHolder {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl RuntimeHolder {
    fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(tokio::runtime::Runtime::handle)
    }
}

/// What every operation needs, shared by the futures running on the runtime.
pub(crate) struct Inner {
    pool: Pool,
    /// The ids of the custom fields that search matches (`searchable` ones).
    search_fields: Vec<String>,
}

impl Inner {
    /// A connection from the pool.
    pub(crate) async fn client(&self) -> PgResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }
}

/// Builds the pool for `config` (no connection is opened yet).
fn build_pool(config: &StorageConfig, url: &str) -> std::result::Result<Pool, String> {
    let mut pg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| format!("storage.postgres_url is not a valid PostgreSQL URL: {e}"))?;
    pg.options(format!(
        "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
        config.statement_timeout_ms,
        config.statement_timeout_ms.saturating_mul(4)
    ));
    pg.connect_timeout(Duration::from_secs(10));
    if pg.get_application_name().is_none() {
        pg.application_name("visitord");
    }
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match config.postgres_tls {
        PostgresTls::Disable => Manager::from_config(pg, tokio_postgres::NoTls, manager_config),
        PostgresTls::Require => {
            pg.ssl_mode(tokio_postgres::config::SslMode::Require);
            let tls = tls_connector(&config.postgres_ca_file)?;
            Manager::from_config(pg, tls, manager_config)
        }
    };
    Pool::builder(manager)
        .max_size(config.postgres_pool_size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(|e| format!("cannot build the PostgreSQL pool: {e}"))
}

/// A TLS connector that verifies the server's certificate against `ca_file` (PEM), else the
/// system's root certificates.
fn tls_connector(
    ca_file: &str,
) -> std::result::Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if ca_file.is_empty() {
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            // A system certificate rustls cannot parse is skipped, as every client does.
            let _ = roots.add(cert);
        }
    } else {
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(ca_file)
            .map_err(|e| format!("cannot read storage.postgres_ca_file {ca_file}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("storage.postgres_ca_file {ca_file}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("storage.postgres_ca_file {ca_file}: {e}"))?;
        }
    }
    if roots.is_empty() {
        return Err(
            "postgres_tls = \"require\" but no CA certificate to verify the server with \
                    (set storage.postgres_ca_file)"
                .into(),
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// What opening the backend does about the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaPolicy {
    /// Apply missing migrations (`storage.auto_migrate`, `visitord migrate`).
    Migrate,
    /// Refuse a schema older than this build's.
    RequireCurrent,
}

impl PgStore {
    /// Connects to the database of `config` (`storage.postgres_url`), checks (or, per `policy`,
    /// brings up to date) its schema, and records which custom fields are searchable.
    pub fn open(
        config: &StorageConfig,
        search_fields: Vec<String>,
        policy: SchemaPolicy,
    ) -> std::result::Result<PgStore, String> {
        let url = config.postgres_url()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("visitord-pg")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the PostgreSQL runtime: {e}"))?;
        // The pool is built inside the runtime: its timers belong to it.
        let pool = {
            let _enter = runtime.enter();
            build_pool(config, &url)?
        };
        let store = PgStore {
            inner: Arc::new(Inner {
                pool,
                search_fields,
            }),
            runtime: Arc::new(RuntimeHolder(Some(runtime))),
        };
        let shown = crate::config::redact_postgres_url(&url);
        let tls_hint = |e: &str| match config.postgres_tls {
            PostgresTls::Require if e.contains("TLS handshake") => format!(
                " (postgres_tls = \"require\": the server's certificate must verify against {} \
                 and name the URL's host)",
                if config.postgres_ca_file.is_empty() {
                    "the system's root certificates (storage.postgres_ca_file is not set)".into()
                } else {
                    format!("storage.postgres_ca_file {}", config.postgres_ca_file)
                }
            ),
            _ => String::new(),
        };
        store
            .call(move |inner| Box::pin(async move { schema::prepare(&inner, policy).await }))
            .map_err(|e| {
                let e = e.to_string();
                format!("PostgreSQL at {shown}: {e}{}", tls_hint(&e))
            })?;
        Ok(store)
    }

    /// Runs `f` on the backend's runtime and waits for its answer (see the module header).
    pub(crate) fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(Arc<Inner>) -> BoxFuture<'static, PgResult<T>>,
    ) -> Result<T> {
        let Some(handle) = self.runtime.handle() else {
            return Err(StoreError::Storage("postgres runtime stopped".into()));
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fut = f(self.inner.clone());
        handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        match rx.recv() {
            Ok(answer) => answer.map_err(|e| {
                let e = e.into_store();
                if matches!(e, StoreError::Storage(_)) {
                    log::error!("{e}");
                }
                e
            }),
            Err(_) => Err(StoreError::Storage(
                "postgres: the operation stopped without an answer".into(),
            )),
        }
    }

    /// The record counts and the database's size on disk (`pg_database_size`), for the metrics'
    /// store sampler ([`crate::server::StoreSampler`]). The counts are a `count(*)` of each table
    /// (each a scan, as long as the table is large): taken in the background, never per scrape.
    pub fn sample(&self) -> Result<(Counts, u64)> {
        self.call(|inner| {
            Box::pin(async move {
                let counts = visitors::counts(&inner).await?;
                let client = inner.client().await?;
                let row = client
                    .query_one("SELECT pg_database_size(current_database())", &[])
                    .await?;
                let bytes: i64 = row.try_get(0)?;
                Ok((counts, u64::try_from(bytes).unwrap_or(0)))
            })
        })
    }

    /// Tries to take or renew the lease `name` for `holder` for `ttl_ms`; whether it is held.
    pub fn try_lease(&self, name: &str, holder: &str, ttl_ms: Millis) -> Result<bool> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.call(move |inner| {
            Box::pin(async move { schema::try_lease(&inner, &name, &holder, ttl_ms).await })
        })
    }
}

/// Runs `body` in a transaction, again from the start (with jittered exponential backoff) while
/// it fails with a retryable error ([`PgError::retryable`]), at most [`MAX_TRIES`] times.
macro_rules! transaction {
    ($inner:expr, |$tx:ident| $body:expr) => {{
        let mut tries: u32 = 0;
        loop {
            tries += 1;
            let outcome: $crate::postgres::PgResult<_> = async {
                let mut client = $inner.client().await?;
                let open = client.transaction().await?;
                let value = {
                    let $tx: &tokio_postgres::Transaction<'_> = &open;
                    $body
                };
                open.commit().await?;
                Ok(value)
            }
            .await;
            match outcome {
                Err(e) if e.retryable() && tries < $crate::postgres::MAX_TRIES_PUB => {
                    $crate::postgres::backoff(tries).await;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use transaction;

/// [`MAX_TRIES`] for the macro.
pub(crate) const MAX_TRIES_PUB: u32 = MAX_TRIES;

/// Waits before try `tries + 1`: 2^tries ms (at most ~256 ms) with jitter.
pub(crate) async fn backoff(tries: u32) {
    let base = 1u64 << tries.min(8);
    let ms = base / 2 + fastrand::u64(0..=base);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Reads a `record bytea` column (JSON text) into its model type.
pub(crate) fn record<T: serde::de::DeserializeOwned>(
    row: &tokio_postgres::Row,
    column: &str,
) -> PgResult<T> {
    let bytes: Vec<u8> = row.try_get(column)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        PgError::Store(StoreError::Storage(format!(
            "postgres: a stored record does not decode: {e}"
        )))
    })
}

/// A model record as a `record bytea` parameter (JSON text).
pub(crate) fn json<T: serde::Serialize>(value: &T) -> PgResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| PgError::Store(StoreError::Encode(e.to_string())))
}

/// The escape character of [`col`] (a private-use code point).
const ESC: char = '\u{E000}';

/// The records (`record` column) of the rows `sql` selects with `$1 = key`, locked
/// (`FOR UPDATE`) when `lock`.
pub(crate) async fn records<T: serde::de::DeserializeOwned>(
    client: &impl tokio_postgres::GenericClient,
    sql: &str,
    key: &str,
    lock: bool,
) -> PgResult<Vec<T>> {
    let rows = if lock {
        client
            .query(&format!("{sql} FOR UPDATE"), &[&col(key)])
            .await?
    } else {
        client.query(sql, &[&col(key)]).await?
    };
    rows.iter().map(|r| record(r, "record")).collect()
}

/// Client text as a text column or parameter holds it. PostgreSQL's `text` cannot hold NUL,
/// which clients may send (a token, a name); one injective escape maps NUL to `ESC '0'` and
/// `ESC` itself to `ESC ESC`, so equal texts stay equal and different ones different, and any
/// other text is unchanged. The exact value is always in the record.
pub(crate) fn col(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\0', ESC]) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            '\0' => {
                out.push(ESC);
                out.push('0');
            }
            ESC => {
                out.push(ESC);
                out.push(ESC);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The text [`col`] stored.
pub(crate) fn uncol(s: String) -> String {
    if !s.contains(ESC) {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, c == ESC) {
            (_, true) => match chars.next() {
                Some('0') => out.push('\0'),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// [`col`] of an optional text.
pub(crate) fn col_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(|s| col(s).into_owned())
}

/// A write-order number as stored (`bigint`).
pub(crate) fn seq_i64(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The next write-order number.
pub(crate) async fn next_seq(client: &impl tokio_postgres::GenericClient) -> PgResult<u64> {
    let row = client.query_one("SELECT nextval('write_seq')", &[]).await?;
    let n: i64 = row.try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The sequences of the schema (names never come from input).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sequence {
    /// `guest_seq`: the numbers of `guest-N`.
    Guest,
    /// `write_seq`: write-order numbers.
    Write,
}

/// Raises a sequence so that its next value is above `n` (never lowers it): the last value it
/// handed out becomes at least `n`.
pub(crate) async fn raise_sequence(
    client: &impl tokio_postgres::GenericClient,
    sequence: Sequence,
    n: u64,
) -> PgResult<()> {
    // The name comes from the enum, never from input.
    let name = match sequence {
        Sequence::Guest => "guest_seq",
        Sequence::Write => "write_seq",
    };
    let sql = format!(
        "SELECT setval('{name}', $1, true) FROM {name} \
         WHERE (CASE WHEN is_called THEN last_value ELSE last_value - 1 END) < $1"
    );
    if n > 0 {
        client.query(sql.as_str(), &[&seq_i64(n)]).await?;
    }
    Ok(())
}

/// Runs `$body`, an async expression over the pool (`$i`), on the backend's runtime and waits
/// for it (see [`PgStore::call`]); what it uses is moved in.
macro_rules! on_pool {
    ($self:ident, |$i:ident| $body:expr) => {
        $self.call(move |$i| Box::pin(async move { $body }))
    };
}

impl Backend for PgStore {
    fn register_visitor(&self, reg: &Registration, now: Millis) -> Result<Visitor> {
        let reg = reg.clone();
        on_pool!(self, |i| visitors::register(&i, &reg, now).await)
    }
    fn visitor_by_token(&self, token: &str) -> Result<Option<Visitor>> {
        let token = token.to_string();
        on_pool!(self, |i| visitors::by_token(&i, &token).await)
    }
    fn visitor_by_id(&self, id: &str) -> Result<Option<Visitor>> {
        let id = id.to_string();
        on_pool!(self, |i| visitors::by_id(&i, &id).await)
    }
    fn delete_visitor(&self, token: &str, allow_open_rooms: bool) -> Result<String> {
        let token = token.to_string();
        on_pool!(self, |i| visitors::delete(&i, &token, allow_open_rooms)
            .await)
    }
    fn search_visitors(&self, query: &SearchQuery) -> Result<SearchPage> {
        let query = query.clone();
        on_pool!(self, |i| search::search(&i, &query).await)
    }
    fn visitor_count(&self) -> Result<u64> {
        on_pool!(self, |i| visitors::count(&i).await)
    }
    fn user_count(&self) -> Result<u64> {
        on_pool!(self, |i| visitors::user_count(&i).await)
    }
    fn overview(&self, now: Millis, days: u32, top_days: u32, top: usize) -> Result<Overview> {
        on_pool!(self, |i| search::overview(&i, now, days, top_days, top)
            .await)
    }
    fn record_page_visit(
        &self,
        input: &PageVisitInput,
        now: Millis,
        roomless_ttl: Option<Millis>,
    ) -> Result<PageVisit> {
        let input = input.clone();
        on_pool!(self, |i| rooms::record_page_visit(
            &i,
            &input,
            now,
            roomless_ttl
        )
        .await)
    }
    fn page_visits_of_room(&self, rid: &str) -> Result<Vec<PageVisit>> {
        let rid = rid.to_string();
        on_pool!(self, |i| rooms::visits_of_room(&i, &rid).await)
    }
    fn page_visits_of_token(&self, token: &str) -> Result<Vec<PageVisit>> {
        let token = token.to_string();
        on_pool!(self, |i| rooms::visits_of_token(&i, &token).await)
    }
    fn open_room(&self, request: &RoomRequest, now: Millis) -> Result<(Room, bool)> {
        let RoomRequest { token, rid, source } = request.clone();
        on_pool!(self, |i| rooms::open_room(
            &i,
            &token,
            rid.as_deref(),
            source,
            now
        )
        .await)
    }
    fn room_by_id(&self, rid: &str) -> Result<Option<Room>> {
        let rid = rid.to_string();
        on_pool!(self, |i| rooms::room_by_id(&i, &rid).await)
    }
    fn rooms_of_visitor(&self, visitor_id: &str) -> Result<Vec<Room>> {
        let id = visitor_id.to_string();
        on_pool!(self, |i| rooms::rooms_of_visitor(&i, &id).await)
    }
    fn close_room(&self, token: &str, rid: &str, now: Millis) -> Result<Room> {
        let (token, rid) = (token.to_string(), rid.to_string());
        on_pool!(self, |i| rooms::close_room(&i, &token, &rid, now).await)
    }
    fn add_message(&self, message: &MessageInput, now: Millis) -> Result<Message> {
        let MessageInput {
            token,
            rid,
            text,
            id,
        } = message.clone();
        on_pool!(self, |i| rooms::add_message(
            &i,
            &token,
            &rid,
            &text,
            id.as_deref(),
            now
        )
        .await)
    }
    fn messages_of_room(&self, rid: &str) -> Result<Vec<Message>> {
        let rid = rid.to_string();
        on_pool!(self, |i| rooms::messages_of_room(&i, &rid).await)
    }
    fn create_user(&self, new: NewUser, now: Millis) -> Result<User> {
        on_pool!(self, |i| users::create(&i, new, now).await)
    }
    fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let id = id.to_string();
        on_pool!(self, |i| users::by_id(&i, &id).await)
    }
    fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let username = username.to_string();
        on_pool!(self, |i| users::by_username(&i, &username).await)
    }
    fn list_users(&self) -> Result<Vec<User>> {
        on_pool!(self, |i| users::list(&i).await)
    }
    fn update_user(&self, id: &str, changes: UserChanges, now: Millis) -> Result<User> {
        let id = id.to_string();
        on_pool!(self, |i| users::update(&i, &id, changes, now).await)
    }
    fn delete_user(&self, id: &str) -> Result<User> {
        let id = id.to_string();
        on_pool!(self, |i| users::delete(&i, &id).await)
    }
    fn session(&self, token_hash: &[u8]) -> Result<Option<Session>> {
        let hash = token_hash.to_vec();
        on_pool!(self, |i| users::session(&i, &hash).await)
    }
    fn create_login_session(
        &self,
        token_hash: &[u8],
        session: &Session,
        verified_hash: &str,
    ) -> Result<bool> {
        let hash = token_hash.to_vec();
        let session = session.clone();
        let verified = verified_hash.to_string();
        self.call(move |i| {
            Box::pin(
                async move { users::create_login_session(&i, &hash, &session, &verified).await },
            )
        })
    }
    fn revoke_session(&self, token_hash: &[u8]) -> Result<()> {
        let hash = token_hash.to_vec();
        on_pool!(self, |i| users::revoke_session(&i, &hash).await)
    }
    fn healthy(&self) -> bool {
        let checked = on_pool!(self, |i| tokio::time::timeout(
            Duration::from_secs(2),
            schema::ready(&i)
        )
        .await
        .unwrap_or(Err(PgError::Pool("health check timed out".into()))));
        match checked {
            Ok(()) => true,
            Err(e) => {
                log::warn!("health: the database is not ready: {e}");
                false
            }
        }
    }
    fn durable(&self) -> BoxFuture<'static, Result<()>> {
        // A transaction is durable once COMMIT answered (the server's synchronous_commit).
        Box::pin(async { Ok(()) })
    }
    fn counts(&self) -> Counts {
        match on_pool!(self, |i| visitors::counts(&i).await) {
            Ok(c) => c,
            Err(e) => {
                log::error!("cannot count the records: {e}");
                Counts::default()
            }
        }
    }
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    fn point_reads_are_cheap(&self) -> bool {
        false
    }
    fn shares_login_failures(&self) -> bool {
        true
    }
    fn reserve_login_failure(
        &self,
        key: &str,
        now: Millis,
        window_ms: Millis,
        limit: u32,
    ) -> Result<(Option<u32>, Millis)> {
        let key = key.to_string();
        self.call(move |i| {
            Box::pin(
                async move { users::reserve_login_failure(&i, &key, now, window_ms, limit).await },
            )
        })
    }
    fn release_login_failure(&self, key: &str, window_start: Millis) -> Result<()> {
        let key = key.to_string();
        on_pool!(self, |i| users::release_login_failure(
            &i,
            &key,
            window_start
        )
        .await)
    }
    fn prune_history(&self, now: Millis, retention: Option<Millis>) -> Result<u64> {
        on_pool!(self, |i| rooms::prune_history(&i, now, retention).await)
    }
    fn prune_sessions(&self, now: Millis) -> Result<u64> {
        on_pool!(self, |i| users::prune_sessions(&i, now).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_round_trips_and_stays_distinct() {
        let texts = [
            "",
            "plain",
            "a\0b",
            "\u{E000}",
            "\u{E000}0",
            "\0",
            "\0\0",
            "x\u{E000}\0",
        ];
        for t in texts {
            assert!(!col(t).contains('\0'), "{t:?}");
            assert_eq!(uncol(col(t).into_owned()), t, "{t:?}");
        }
        for a in texts {
            for b in texts {
                assert_eq!(a == b, col(a) == col(b), "{a:?} {b:?}");
            }
        }
        assert!(matches!(col("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
