//! The postgres backend as operated: TLS to the database (`storage.postgres_tls = "require"`, the
//! server's certificate verified against `storage.postgres_ca_file`), what `visitord serve` says
//! about the database at launch, and the store gauges it samples. Postgres pass only: on sled
//! these say so and return.
//!
//! The cluster of `scripts/test-postgres.sh` serves TLS with a certificate (127.0.0.1, localhost)
//! from a throwaway CA, `VISITORD_TEST_PG_CA_FILE`; `VISITORD_TEST_PG_OTHER_CA_FILE` is a CA that
//! signed nothing the cluster shows, and `VISITORD_TEST_PG_TLS_ONLY_URL` a role whose connections
//! its pg_hba admits over TLS only (`hostnossl … reject`). Against another server without them,
//! the TLS tests are listed as skipped.

use super::Scrape;
use crate::cli::proc::{summary_lines, Server, BOUND, POLL};
use crate::common::{build_caller, on_postgres, skipped_on_postgres, use_database, PgTestDb};
use actix_web::test::TestRequest;
use serde_json::json;
use std::path::Path;
use visitord::config::{redact_postgres_url, Config, PostgresTls};
use visitord::domain::Backend;
use visitord::http::AppState;
use visitord::postgres::testing::{connection_is_tls, storage_config, with_database};
use visitord::postgres::{PgStore, SchemaPolicy};

/// What the test cluster offers for TLS.
struct Tls {
    /// The CA that signed the cluster's certificate.
    ca: String,
    /// A CA that signed nothing the cluster shows.
    other_ca: String,
    /// A role admitted over TLS only (database `postgres`).
    tls_only_url: String,
}

fn needs_postgres() -> bool {
    if on_postgres() {
        return true;
    }
    eprintln!("needs the postgres backend (VISITORD_TEST_BACKEND=postgres): not run");
    false
}

/// The cluster's TLS setup, or `None` (the test then returns): on sled, or when the server was
/// not set up for it (the test is then listed as skipped).
fn tls() -> Option<Tls> {
    if !needs_postgres() {
        return None;
    }
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("VISITORD_TEST_PG_CA_FILE"),
        var("VISITORD_TEST_PG_OTHER_CA_FILE"),
        var("VISITORD_TEST_PG_TLS_ONLY_URL"),
    ) {
        (Some(ca), Some(other_ca), Some(tls_only_url)) => Some(Tls {
            ca,
            other_ca,
            tls_only_url,
        }),
        _ => {
            skipped_on_postgres(
                "the server is not set up for the TLS tests (VISITORD_TEST_PG_CA_FILE, \
                 VISITORD_TEST_PG_OTHER_CA_FILE, VISITORD_TEST_PG_TLS_ONLY_URL: \
                 scripts/test-postgres.sh sets them)",
            );
            None
        }
    }
}

/// A config over `db`, connecting as `url` says, with `tls` and `ca_file`.
fn config(db: &PgTestDb, url: &str, tls: PostgresTls, ca_file: &str, dir: &Path) -> Config {
    let mut config = Config::default();
    config.rate_limit.enabled = false;
    config.storage.data_dir = dir.join("data");
    use_database(&mut config, db);
    config.storage.postgres_url = url.to_string();
    config.storage.postgres_tls = tls;
    config.storage.postgres_ca_file = ca_file.to_string();
    config
}

/// The password of a `postgres://user:password@host/…` URL.
fn password(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|userinfo| userinfo.split(':').nth(1))
        .filter(|p| !p.is_empty())
        .expect("the test URL has a password")
        .to_string()
}

/// Why opening over `config` fails; asserts the URL's password is not in it.
fn refusal(config: Config) -> String {
    let url = config.storage.postgres_url.clone();
    let err = AppState::open(config)
        .err()
        .expect("the connection is refused")
        .to_string();
    assert!(!err.contains(&password(&url)), "{err}");
    err
}

#[actix_web::test]
async fn postgres_tls_require_with_the_clusters_ca_connects_over_tls() {
    let Some(tls) = tls() else { return };
    let db = PgTestDb::create();
    let dir = tempfile::tempdir().expect("tempdir");
    // Without TLS the same question says no: it tells the two apart.
    let plain = AppState::open(config(&db, &db.url, PostgresTls::Disable, "", dir.path()))
        .unwrap_or_else(|e| panic!("without TLS: {e}"));
    let pg = plain.postgres.as_ref().expect("the postgres backend");
    assert_eq!(connection_is_tls(pg), Ok(false));
    drop(plain);

    let tls_only = with_database(&tls.tls_only_url, &db.name).expect("URL");
    // The certificate names both 127.0.0.1 and localhost: either host verifies.
    let by_name = tls_only.replace("@127.0.0.1:", "@localhost:");
    assert_ne!(by_name, tls_only, "the test URL's host is 127.0.0.1");
    for (who, url) in [
        ("the CI role", &db.url),
        ("the TLS-only role", &tls_only),
        ("the TLS-only role at localhost", &by_name),
    ] {
        let state = AppState::open(config(&db, url, PostgresTls::Require, &tls.ca, dir.path()))
            .unwrap_or_else(|e| panic!("{who}: require with the cluster's CA: {e}"));
        let pg = state.postgres.as_ref().expect("the postgres backend");
        assert_eq!(connection_is_tls(pg), Ok(true), "{who}");
        let app = build_caller(state).await;
        let token = format!("over-tls-{}", who.replace(' ', "-"));
        let reg = app(TestRequest::post()
            .uri("/api/v1/livechat/visitor")
            .insert_header(("Content-Type", "application/json"))
            .set_payload(json!({"visitor": {"token": token}}).to_string()))
        .await;
        assert_eq!(reg.status, 200, "{who}: {}", reg.text());
        let read = app(TestRequest::get().uri(&format!("/api/v1/livechat/visitor/{token}"))).await;
        assert_eq!(read.status, 200, "{who}: {}", read.text());
        assert_eq!(read.json()["visitor"]["token"], token.as_str());
    }
}

#[test]
fn postgres_tls_require_refuses_a_certificate_another_ca_signed() {
    let Some(tls) = tls() else { return };
    let db = PgTestDb::create();
    let dir = tempfile::tempdir().expect("tempdir");
    let err = refusal(config(
        &db,
        &db.url,
        PostgresTls::Require,
        &tls.other_ca,
        dir.path(),
    ));
    // Which server, without its password, and that its certificate was not trusted.
    assert!(err.contains(":***@127.0.0.1:"), "{err}");
    assert!(
        err.contains(
            "cannot open a connection: error performing TLS handshake: invalid peer certificate: \
             UnknownIssuer"
        ),
        "{err}"
    );
    // And what to check.
    let hint = format!(
        "the server's certificate must verify against storage.postgres_ca_file {}",
        tls.other_ca
    );
    assert!(err.contains(&hint), "{err}");
}

#[test]
fn postgres_tls_disable_is_refused_where_pg_hba_admits_tls_only() {
    let Some(tls) = tls() else { return };
    let db = PgTestDb::create();
    let dir = tempfile::tempdir().expect("tempdir");
    let tls_only = with_database(&tls.tls_only_url, &db.name).expect("URL");
    let err = refusal(config(&db, &tls_only, PostgresTls::Disable, "", dir.path()));
    assert!(err.contains("visitord_tls:***@127.0.0.1:"), "{err}");
    assert!(err.contains("pg_hba.conf rejects connection"), "{err}");
    assert!(err.contains("no encryption (SQLSTATE 28000)"), "{err}");
}

/// `visitord serve` over TLS (a role admitted over TLS only) serves, and its launch summary and
/// log say what applies to the database (pool, TLS, statement timeout; the URL without its
/// password), nothing of sled's page cache.
#[test]
fn serve_over_tls_says_what_applies_to_the_database_at_launch() {
    let Some(tls) = tls() else { return };
    let db = PgTestDb::create();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = with_database(&tls.tls_only_url, &db.name).expect("URL");
    let env = [
        ("VISITORD_STORAGE_BACKEND", "postgres"),
        ("VISITORD_STORAGE_POSTGRES_URL", url.as_str()),
        ("VISITORD_STORAGE_POSTGRES_POOL_SIZE", "3"),
        ("VISITORD_STORAGE_POSTGRES_TLS", "require"),
        ("VISITORD_STORAGE_POSTGRES_CA_FILE", tls.ca.as_str()),
        ("VISITORD_STORAGE_STATEMENT_TIMEOUT_MS", "4321"),
        ("VISITORD_ADMIN_PASSWORD", "tls-admin-password"),
    ];
    let server = Server::start(dir.path(), &dir.path().join("data"), &env);
    let reg = server.post(
        "/api/v1/livechat/visitor",
        &json!({"visitor": {"token": "served-over-tls"}}),
    );
    assert_eq!(reg.status, 200, "{}", reg.body);
    assert_eq!(server.login("admin", "tls-admin-password").status, 200);

    let shown = redact_postgres_url(&url);
    assert!(shown.contains("visitord_tls:***@"), "{shown}");
    let (stdout, stderr) = (server.stdout(), server.stderr());
    let lines = summary_lines(&stdout);
    let wanted = format!(
        "database:   postgres {shown} (pool 3, TLS require, schema {})",
        visitord::postgres::schema::LATEST
    );
    assert!(lines.contains(&wanted), "{wanted:?} in {lines:#?}");
    let wanted = format!(
        "request timeout 5000 ms, database {shown}: pool 3 connections, TLS require, \
         statement timeout 4321 ms"
    );
    assert!(stderr.contains(&wanted), "{wanted:?} in {stderr}");
    assert!(stderr.contains("serving with 2 workers"), "{stderr}");
    assert!(!stderr.contains("page cache"), "{stderr}");
    let secret = password(&url);
    assert!(!stdout.contains(&secret) && !stderr.contains(&secret));
}

/// The sampled store gauges on postgres: a replica started on a database that holds records of
/// every kind serves their counts and the database's size.
#[test]
fn the_store_gauges_are_sampled_on_postgres() {
    if !needs_postgres() {
        return;
    }
    let db = PgTestDb::create();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = db.server_env().to_vec();
    env.extend([
        ("VISITORD_RATE_LIMIT_ENABLED", "false"),
        ("VISITORD_ADMIN_PASSWORD", "gauge-admin-password"),
    ]);
    // A first replica writes a visitor, a room, a message and a page visit.
    let writer = Server::start(dir.path(), &dir.path().join("a"), &env);
    let token = "sampled";
    let reg = writer.post(
        "/api/v1/livechat/visitor",
        &json!({"visitor": {"token": token}}),
    );
    assert_eq!(reg.status, 200, "{}", reg.body);
    let room = writer.get(&format!("/api/v1/livechat/room?token={token}"));
    assert_eq!(room.status, 200, "{}", room.body);
    let rid = room.json()["room"]["_id"]
        .as_str()
        .expect("room id")
        .to_string();
    let msg = writer.post(
        "/api/v1/livechat/message",
        &json!({"token": token, "rid": rid, "msg": "hello"}),
    );
    assert_eq!(msg.status, 200, "{}", msg.body);
    let visit = writer.post(
        "/api/v1/livechat/page.visited",
        &json!({"token": token, "rid": rid, "pageInfo": {"change": "url", "title": "T",
            "location": {"href": "https://x.example/"}}}),
    );
    assert_eq!(visit.status, 200, "{}", visit.body);
    drop(writer);

    // A second replica samples them at start.
    let server = Server::start(dir.path(), &dir.path().join("b"), &env);
    let deadline = std::time::Instant::now() + BOUND;
    let scrape = loop {
        let resp = server.get("/metrics");
        assert_eq!(resp.status, 200, "{}", resp.body);
        let scrape = Scrape::parse(&resp.body);
        if scrape
            .value("visitord_store_sampled_timestamp_seconds", &[])
            .is_some_and(|t| t > 0.0)
        {
            break scrape;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never sampled: {}",
            scrape.text
        );
        std::thread::sleep(POLL);
    };
    let store = PgStore::open(
        &storage_config(&db.url),
        Vec::new(),
        SchemaPolicy::RequireCurrent,
    )
    .expect("open the database");
    let counts = store.counts();
    for (gauge, n) in [
        ("visitord_store_visitors", counts.visitors),
        ("visitord_store_rooms", counts.rooms),
        ("visitord_store_messages", counts.messages),
        ("visitord_store_navigation_entries", counts.page_visits),
        ("visitord_store_users", counts.users),
    ] {
        assert!(n > 0, "{gauge}: nothing of its kind was written");
        assert_eq!(scrape.value(gauge, &[]), Some(n as f64), "{gauge}");
    }
    let disk = scrape
        .value("visitord_store_disk_bytes", &[])
        .expect("disk bytes");
    assert!(disk > 1_000_000.0, "pg_database_size: {disk}");
}
