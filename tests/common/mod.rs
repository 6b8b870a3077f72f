//! Test harness: the real app (`visitord::http::build_app`) over a temporary store.
//!
//! Every test gets its own `TestApp` (own temp dir, own sled store). Requests go through
//! the full middleware stack in-process via `actix_web::test`.
//!
//! ## Both backends
//! `VISITORD_TEST_BACKEND=postgres` (with `VISITORD_TEST_PG_URL`, a role that may create
//! databases: `postgres://user:password@127.0.0.1:5432/postgres`) runs every `TestApp` over
//! PostgreSQL instead, each test on its own database cloned from a migrated template and dropped
//! at the end. It fails, never skips, when the server cannot be reached. Tests that are about
//! the embedded store by nature (its files, flushes, compaction, `check`, kill -9 of the process
//! that holds it) call [`sled_only`] first: on postgres they return at once, and say so on
//! standard error and in the file `VISITORD_TEST_SKIP_LOG` names (`.ci/run` prints that list).
#![allow(dead_code)]

pub mod contract;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use actix_web::test::{self, TestRequest};
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_util::future::LocalBoxFuture;
use serde_json::Value;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::OnceLock;
use visitord::config::{Config, StorageBackend};
use visitord::domain::Backend;
use visitord::domain::NewUser;
use visitord::http::{build_app, AppState};
use visitord::model::Session;
use visitord::store::Store;

/// The password of every user made by [`TestApp::user`].
pub const PASSWORD: &str = "correct horse battery staple";

/// An argon2 hash of [`PASSWORD`], computed once per test binary.
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| visitord::credentials::hash_password(PASSWORD).expect("hash"))
        .clone()
}

/// Credentials of a logged-in user.
#[derive(Debug, Clone)]
pub struct Creds {
    pub user_id: String,
    pub token: String,
}

/// A response as the client sees it.
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The body parsed as JSON (panics with the raw body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    /// The raw body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_string())
    }
}

pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub state: AppState,
    /// The app (`build_app` over `state`), built by the first request and kept for the rest.
    service: RefCell<Option<Caller>>,
    /// The test's own database (postgres backend), dropped after everything else.
    pg_db: Option<PgTestDb>,
}

/// Whether the suite runs on PostgreSQL (`VISITORD_TEST_BACKEND=postgres`).
pub fn on_postgres() -> bool {
    match std::env::var("VISITORD_TEST_BACKEND").as_deref() {
        Ok("postgres") => true,
        Ok("sled") | Err(_) => false,
        Ok(other) => panic!("VISITORD_TEST_BACKEND={other:?}: expected sled or postgres"),
    }
}

/// The admin URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("VISITORD_TEST_PG_URL")
        .expect("VISITORD_TEST_BACKEND=postgres needs VISITORD_TEST_PG_URL (a role with CREATEDB)")
}

/// A test's database, dropped (connections closed) when the test ends.
pub struct PgTestDb {
    pub name: String,
    pub url: String,
}

impl PgTestDb {
    /// A fresh database cloned from the migrated template.
    pub fn create() -> PgTestDb {
        let (name, url) = visitord::postgres::testing::create_database(&pg_admin_url())
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        PgTestDb { name, url }
    }
}

impl PgTestDb {
    /// The environment of a `visitord serve` on this database (`cli::proc::Server::start`).
    pub fn server_env(&self) -> [(&'static str, &str); 3] {
        [
            ("VISITORD_STORAGE_BACKEND", "postgres"),
            ("VISITORD_STORAGE_POSTGRES_URL", self.url.as_str()),
            ("VISITORD_STORAGE_POSTGRES_POOL_SIZE", "4"),
        ]
    }

    /// Runs `sql` on this database (see [`pg_execute`]).
    pub fn execute(&self, sql: &str) {
        pg_execute(&self.url, sql);
    }
}

/// Runs `sql` (one or more statements) on the database at `url`, on a runtime of its own (off
/// the test's); panics with the server's message when it fails.
pub fn pg_execute(url: &str, sql: &str) {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            let driver = tokio::spawn(connection);
            if let Err(e) = client.batch_execute(&sql).await {
                panic!("{sql}: {e:?}");
            }
            drop(client);
            let _ = driver.await;
        })
    })
    .join()
    .expect("the SQL thread");
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        if let Err(e) = visitord::postgres::testing::drop_database(&pg_admin_url(), &self.name) {
            eprintln!("cannot drop test database {}: {e}", self.name);
        }
    }
}

/// Points `config` at `db` (the postgres backend).
pub fn use_database(config: &mut Config, db: &PgTestDb) {
    config.storage.backend = StorageBackend::Postgres;
    config.storage.postgres_url = db.url.clone();
    config.storage.postgres_pool_size = 4;
}

/// For tests about the embedded store by nature: `true` (and a note on standard error and in
/// `VISITORD_TEST_SKIP_LOG`) when the suite runs on postgres, where the test does not apply.
/// Use as `if sled_only("why") { return; }`.
pub fn sled_only(why: &str) -> bool {
    if !on_postgres() {
        return false;
    }
    skipped_on_postgres(why);
    true
}

/// Notes that the running test is skipped on postgres, and why: on standard error and in
/// `VISITORD_TEST_SKIP_LOG` (which `scripts/test-postgres.sh` prints).
pub fn skipped_on_postgres(why: &str) {
    let name = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string();
    eprintln!("SKIPPED on postgres: {name}: {why}");
    if let Ok(path) = std::env::var("VISITORD_TEST_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{name}: {why}");
        }
    }
}

/// Sends one request through a built app and checks the answer (see [`send`]).
pub type Caller = Rc<dyn Fn(TestRequest) -> LocalBoxFuture<'static, Resp>>;

/// Builds the whole app over `state` once; the caller sends requests to it from `127.0.0.1`.
pub async fn build_caller(state: AppState) -> Caller {
    let svc = Rc::new(test::init_service(build_app(state)).await);
    Rc::new(move |req: TestRequest| {
        let svc = svc.clone();
        Box::pin(async move {
            let req = req
                .peer_addr("127.0.0.1:40000".parse::<SocketAddr>().expect("addr"))
                .to_request();
            send(&*svc, req).await
        })
    })
}

impl TestApp {
    /// Default config, rate limiting off, fresh temporary store.
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// Default config (rate limiting off unless `f` turns it on) changed by `f`.
    pub fn with_config(f: impl FnOnce(&mut Config)) -> Self {
        Self::with_existing_store(tempfile::tempdir().expect("tempdir"), f)
    }

    /// The store in `dir/data` (created when missing; e.g. an unpacked fixture), default config
    /// changed by `f` (rate limiting off).
    pub fn with_existing_store(dir: tempfile::TempDir, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::default();
        config.rate_limit.enabled = false;
        // Backups (`POST visitord.backup`) go next to the store, never into the working dir.
        config.backup.dir = dir.path().join("backups");
        f(&mut config);
        config.storage.data_dir = dir.path().join("data");
        Self::open(dir, config, on_postgres().then(PgTestDb::create))
    }

    /// The app over `config`, on `pg_db` when there is one.
    fn open(dir: tempfile::TempDir, mut config: Config, pg_db: Option<PgTestDb>) -> Self {
        if let Some(db) = &pg_db {
            use_database(&mut config, db);
        }
        let state = AppState::open(config.clone()).expect("open app state");
        TestApp {
            dir,
            config,
            state,
            service: RefCell::new(None),
            pg_db,
        }
    }

    /// Postgres backend: drops the test's database now (its connections are closed), as if the
    /// database went away.
    pub fn drop_database_now(&self) {
        let db = self.pg_db.as_ref().expect("a postgres test");
        visitord::postgres::testing::drop_database(&pg_admin_url(), &db.name)
            .unwrap_or_else(|e| panic!("cannot drop {}: {e}", db.name));
    }

    /// Postgres backend: a fresh app whose database runs every transaction SERIALIZABLE.
    pub fn serializable() -> Self {
        let db = PgTestDb::create();
        visitord::postgres::testing::set_serializable(&pg_admin_url(), &db.name)
            .unwrap_or_else(|e| panic!("cannot make {} serializable: {e}", db.name));
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::default();
        config.rate_limit.enabled = false;
        config.storage.data_dir = dir.path().join("data");
        Self::open(dir, config, Some(db))
    }

    /// The store seam of the app's backend (sled or postgres).
    pub fn backend(&self) -> &dyn Backend {
        self.state.backend.as_ref()
    }

    /// The embedded store. Only for tests about sled by nature, which return early on postgres
    /// (see [`sled_only`]).
    pub fn sled(&self) -> &Store {
        self.state
            .store
            .as_ref()
            .expect("a sled-only test ran on the postgres backend: call sled_only() first")
    }

    /// The embedded store's logical records (to compare before and after a refused request);
    /// `None` on postgres, where such a comparison is not made.
    pub fn snapshot(&self) -> Option<Vec<visitord::store::SnapshotRow>> {
        self.state
            .store
            .as_ref()
            .map(|s| s.snapshot().expect("snapshot"))
    }

    /// `check` of the embedded store finds no problem (on postgres the database's constraints
    /// keep the tables consistent: nothing to check).
    pub fn assert_consistent(&self) {
        if let Some(store) = &self.state.store {
            let report = store.check().expect("check");
            assert!(report.problems.is_empty(), "{:?}", report.problems);
        }
    }

    /// Close the store and open it again from the same directory (durability check).
    ///
    /// sled's own I/O threads may hold the directory lock for a moment after the last handle is
    /// dropped, so a `Locked` answer is retried for a bounded time.
    pub fn restart(self) -> Self {
        let TestApp {
            dir,
            config,
            state,
            service,
            pg_db,
        } = self;
        // The built app holds the state too: both go before the store is opened again.
        drop(service);
        drop(state);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let state = loop {
            match AppState::open(config.clone()) {
                Err(visitord::store::StoreError::Locked { .. })
                    if std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other.expect("reopen app state"),
            }
        };
        TestApp {
            dir,
            config,
            state,
            service: RefCell::new(None),
            pg_db,
        }
    }

    /// Send a prepared request through the whole app (checked against the API contract).
    pub async fn call(&self, req: TestRequest) -> Resp {
        let existing = self.service.borrow().clone();
        let caller = match existing {
            Some(caller) => caller,
            None => {
                let caller = build_caller(self.state.clone()).await;
                *self.service.borrow_mut() = Some(caller.clone());
                caller
            }
        };
        caller(req).await
    }

    /// Creates a user with `roles` (password [`PASSWORD`]) straight in the store, and a login
    /// session for it valid for a day, as `POST /api/v1/login` would.
    pub fn user(&self, username: &str, roles: &[&str]) -> Creds {
        let store = self.backend();
        let user = store
            .create_user(
                NewUser {
                    username: username.into(),
                    name: Some(username.into()),
                    email: None,
                    password_hash: password_hash(),
                    roles: roles.iter().map(|r| r.to_string()).collect(),
                    active: true,
                },
                visitord::time::now_ms(),
            )
            .expect("create user");
        let token = visitord::credentials::new_login_token();
        let now = visitord::time::now_ms();
        let created = store
            .create_login_session(
                &visitord::credentials::token_hash(&token),
                &Session {
                    user_id: user.id.clone(),
                    created_at: now,
                    expires_at: now + visitord::time::DAY_MS,
                },
                &user.password_hash,
            )
            .expect("create session");
        assert!(created, "the session was refused");
        Creds {
            user_id: user.id,
            token,
        }
    }

    /// GET with the credentials of `creds`.
    pub async fn get_with(&self, uri: &str, creds: &Creds) -> Resp {
        self.get_as(uri, &creds.user_id, &creds.token).await
    }

    /// POST JSON with the credentials of `creds`.
    pub async fn post_with(&self, uri: &str, body: &Value, creds: &Creds) -> Resp {
        self.call(
            TestRequest::post()
                .uri(uri)
                .insert_header(("Content-Type", "application/json"))
                .insert_header(("X-User-Id", creds.user_id.as_str()))
                .insert_header(("X-Auth-Token", creds.token.as_str()))
                .set_payload(serde_json::to_vec(body).expect("json")),
        )
        .await
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.call(TestRequest::get().uri(uri)).await
    }

    /// GET with agent credentials (`X-User-Id`, `X-Auth-Token`).
    pub async fn get_as(&self, uri: &str, user_id: &str, token: &str) -> Resp {
        self.call(
            TestRequest::get()
                .uri(uri)
                .insert_header(("X-User-Id", user_id))
                .insert_header(("X-Auth-Token", token)),
        )
        .await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Resp {
        self.post_raw(uri, serde_json::to_vec(body).expect("json"))
            .await
    }

    /// POST raw bytes as `application/json`.
    pub async fn post_raw(&self, uri: &str, body: impl Into<Bytes>) -> Resp {
        self.call(
            TestRequest::post()
                .uri(uri)
                .insert_header(("Content-Type", "application/json"))
                .set_payload(body.into()),
        )
        .await
    }

    pub async fn delete(&self, uri: &str) -> Resp {
        self.call(TestRequest::delete().uri(uri)).await
    }

    pub async fn method(&self, method: Method, uri: &str) -> Resp {
        self.call(TestRequest::default().method(method).uri(uri))
            .await
    }
}

/// Sends `req` to an app made by `actix_web::test::init_service`, and returns the response once
/// it is checked against the API contract ([`contract`]): documented for its route template,
/// method and status, with a body that validates against the document's schema. Every request
/// the in-process tests send goes through here.
pub async fn send<S, B>(svc: &S, req: actix_http::Request) -> Resp
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    // As the CORS middleware sees one: an `Origin` that is text, and the method asked for.
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .get("origin")
            .is_some_and(|v| v.to_str().is_ok())
        && req.headers().contains_key("access-control-request-method");
    let res = test::call_service(svc, req).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let method = res.request().method().to_string();
    let template = res.request().match_pattern();
    let body = test::read_body(res).await;
    contract::check_response(
        &method,
        template.as_deref(),
        preflight,
        status,
        &headers,
        &body,
    );
    Resp {
        status,
        headers,
        body,
    }
}

/// Opens the sled store of `config` that this process just closed: the directory lock may be
/// held a moment after the last handle is dropped (sled's I/O threads, or a child process of
/// another test forked while the lock file was open), so `Locked` is retried for up to 10 s.
pub fn open_closed_store(config: &visitord::config::StorageConfig) -> visitord::store::Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match visitord::store::Store::open(config, Vec::new()) {
            Err(visitord::store::StoreError::Locked { .. })
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.expect("open the store again"),
        }
    }
}
