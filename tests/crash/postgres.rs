//! The crash test's postgres form: `visitord serve` with `storage.backend = "postgres"` on a
//! fresh test database, under the same concurrent writes of every durable kind as the sled form
//! ([`super::hammer`]), is killed with SIGKILL mid-write. The database then holds every
//! acknowledged write ([`super::check_store`] through the postgres backend), and a new
//! `visitord serve` on the same database hands out a `guest-N` above every acknowledged one and
//! accepts every acknowledged login token ([`super::check_restarted`]).
//!
//! On this backend an acknowledgement comes after COMMIT answered: killing visitord can lose only
//! what a bug answered before its transaction committed (or never committed). The database
//! server itself is not killed here (its own crash safety is PostgreSQL's). There are no
//! durability modes to compare and no data dir to `visitord check`.
//!
//! The checker is itself tested: rows of acknowledged writes deleted behind its back (and the
//! guest sequence set back) must all be reported.
//!
//! Both run in the postgres pass only (`scripts/test-postgres.sh`); on sled they say so and
//! return.

use super::{campaign, check_restarted, check_store, hammer, Acked, Outcome, Rng, ADMIN_PASSWORD};
use crate::cli::proc::Server;
use crate::cli::Sandbox;
use crate::common::{on_postgres, PgTestDb};
use std::time::Duration;
use visitord::postgres::testing::storage_config;
use visitord::postgres::{PgStore, SchemaPolicy};

/// Runs one postgres trial: a fresh database, a server on it written to and killed, `tamper`
/// applied to the database, then the database and a new server checked against what was
/// acknowledged.
fn trial(seed: u64, tamper: impl FnOnce(&PgTestDb, &Acked)) -> Outcome {
    let db = PgTestDb::create();
    let sandbox = Sandbox::new();
    let mut env = db.server_env().to_vec();
    env.extend([
        ("VISITORD_RATE_LIMIT_ENABLED", "false"),
        ("VISITORD_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("RUST_LOG", "error"),
    ]);
    let mut server = Server::start(sandbox.cwd(), &sandbox.data(), &env);
    // Longer than a sled trial: a trial's fixed costs (a database, two starts) are higher here.
    let run_for = Duration::from_millis(1500 + Rng::seeded(seed).below(1500));
    let acked = hammer(&mut server, seed, run_for);
    drop(server);
    tamper(&db, &acked);

    let store = PgStore::open(
        &storage_config(&db.url),
        Vec::new(),
        SchemaPolicy::RequireCurrent,
    )
    .expect("open the database after the crash");
    let (mut outcome, top_guest) = check_store(&store, &acked);
    drop(store);
    // A new process on the same database (nothing to wait for: no lock, no data dir).
    let restarted = Server::start(sandbox.cwd(), &sandbox.data(), &env);
    check_restarted(&restarted, &acked, top_guest, &mut outcome.lost);
    drop(restarted);
    drop(db);
    outcome
}

#[test]
fn postgres_keeps_every_acknowledged_write_through_kill_9_of_visitord() {
    if !on_postgres() {
        eprintln!("the crash test's postgres form needs VISITORD_TEST_BACKEND=postgres: not run");
        return;
    }
    for (i, outcome) in campaign("postgres", 1, |seed| trial(seed, |_, _| {}))
        .iter()
        .enumerate()
    {
        assert!(
            outcome.lost.is_empty(),
            "postgres trial {i}: {} of {} acknowledged writes lost: {:#?}",
            outcome.lost.len(),
            outcome.acked,
            outcome.lost
        );
    }
}

/// Quotes `text` for SQL; the harness's tokens and ids are letters, digits and `-` only.
fn quoted(text: &str) -> String {
    assert!(
        !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{text:?}"
    );
    format!("'{text}'")
}

/// Deletes one acknowledged write of each kind behind the checker's back (a message, a page
/// visit, a visitor, a user, a login) and sets the guest sequence back; returns what the checker
/// must then report (one fragment of a line per kind), or `None` when the trial acknowledged
/// too little to tamper with every kind.
fn tamper(db: &PgTestDb, acked: &Acked) -> Option<Vec<String>> {
    let alive = |k: &super::Known| k.registered && !k.deleted && !k.pending_delete;
    let mut tokens: Vec<_> = acked.book.iter().filter(|(_, k)| alive(k)).collect();
    tokens.sort_by_key(|(t, _)| t.as_str());
    let (msg_token, mid) = tokens.iter().find_map(|(t, k)| {
        k.rooms
            .iter()
            .filter(|r| r.opened)
            .find_map(|r| r.msgs.first())
            .map(|(mid, _)| (t.as_str(), mid.clone()))
    })?;
    let (visit_token, visits) = tokens
        .iter()
        .filter(|(t, k)| *t != msg_token && k.acked_visits > 0 && !k.pending_visit)
        .map(|(t, k)| (t.as_str(), k.acked_visits))
        .next()?;
    let gone_token = tokens
        .iter()
        .map(|(t, _)| t.as_str())
        .find(|t| *t != msg_token && *t != visit_token)?;
    let top_guest = tokens.iter().filter_map(|(_, k)| k.guest).max()?;
    let (user, _) = acked.agents.users.first()?;
    let (login_user, login_uid, _) = acked.agents.logins.last()?;
    if top_guest < 3 {
        return None;
    }
    db.execute(&format!(
        "DELETE FROM messages WHERE id = {mid};
         DELETE FROM page_visits WHERE id =
             (SELECT id FROM page_visits WHERE token = {visit} ORDER BY seq LIMIT 1);
         DELETE FROM visitors WHERE token = {gone};
         DELETE FROM users WHERE username_key = {user};
         DELETE FROM sessions WHERE user_id = {uid};
         SELECT setval('guest_seq', 1);",
        mid = quoted(&mid),
        visit = quoted(visit_token),
        gone = quoted(gone_token),
        user = quoted(&user.to_lowercase()),
        uid = quoted(login_uid),
    ));
    Some(vec![
        format!("{msg_token}: acknowledged message {mid} missing"),
        format!(
            "{visit_token}: {} page visits, acknowledged {visits}",
            visits - 1
        ),
        format!("{gone_token}: acknowledged visitor missing"),
        format!("acknowledged user {user} missing"),
        format!("login of {login_user}: session None"),
        format!("login of {login_user} no longer authenticates"),
        "new registration got guest-2, but guest-".to_string(),
    ])
}

/// The test of the postgres checker: whatever of each kind goes missing from the database after
/// the kill is reported. If this fails, the test above could not catch a lost write.
#[test]
fn the_postgres_crash_checker_reports_rows_lost_behind_its_back() {
    if !on_postgres() {
        eprintln!("the crash test's postgres form needs VISITORD_TEST_BACKEND=postgres: not run");
        return;
    }
    // A trial acknowledges some of every kind almost always; a few seeds make it certain.
    for seed in 7000..7005 {
        let mut wanted = None;
        let outcome = trial(seed, |db, acked| wanted = tamper(db, acked));
        let Some(wanted) = wanted else {
            println!("seed {seed}: too few acknowledged writes to tamper with every kind");
            continue;
        };
        let missed: Vec<&String> = wanted
            .iter()
            .filter(|w| !outcome.lost.iter().any(|l| l.contains(w.as_str())))
            .collect();
        assert!(
            missed.is_empty(),
            "seed {seed}: the checker did not report {missed:#?}; it reported {:#?}",
            outcome.lost
        );
        println!(
            "seed {seed}: {} acknowledged writes, every tampered kind reported ({} lines)",
            outcome.acked,
            outcome.lost.len()
        );
        return;
    }
    panic!("no trial acknowledged enough writes of every kind to tamper with");
}
