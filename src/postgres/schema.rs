//! The schema of the postgres backend: numbered migrations embedded in the binary, the
//! `schema_migrations` table that records them, the check at start, and leases.
//!
//! A migration is a file `migrations/NNNN_name.sql` listed in [`MIGRATIONS`]; its statements are
//! separated by a line holding only `;`, each is idempotent (`IF NOT EXISTS`) and runs on its
//! own (no DDL inside an explicit transaction: some PostgreSQL-compatible engines do not allow
//! it), and the version is recorded last. So a migration cut short is finished by the next run,
//! and two processes migrating at once both succeed.
//!
//! `schema_migrations(version bigint PK, name text, applied_at bigint ms)` says which ran.
//! [`prepare`] refuses a database whose newest version is above [`LATEST`] (a newer visitord
//! wrote it) and, unless told to migrate, one below it.

use super::{Inner, PgError, PgResult};
use crate::domain::StoreError;
use crate::time::{now_ms, Millis};
use tokio_postgres::error::SqlState;

/// One numbered migration.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. Append only; never edit a released one.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("migrations/0001_init.sql"),
}];

/// The schema version this build writes and reads.
pub const LATEST: i64 = 1;

/// The statements of a migration file: split at lines that are exactly `;`, comments dropped.
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        if line.trim() == ";" {
            if !current.trim().is_empty() {
                out.push(current.trim().to_string());
            }
            current.clear();
        } else if !line.trim_start().starts_with("--") {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// Whether a failed idempotent DDL statement lost a race with another process doing the same
/// (and so can simply be run again).
fn lost_ddl_race(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::DUPLICATE_TABLE
            || *c == SqlState::DUPLICATE_OBJECT
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// Runs one idempotent statement, again if it lost a race with another migrating process.
async fn run_idempotent(client: &tokio_postgres::Client, statement: &str) -> PgResult<()> {
    let mut tries = 0;
    loop {
        tries += 1;
        match client.batch_execute(statement).await {
            Ok(()) => return Ok(()),
            Err(e) if lost_ddl_race(&e) && tries < 5 => super::backoff(tries).await,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The newest applied version (0: none).
pub(crate) async fn current_version(client: &tokio_postgres::Client) -> PgResult<i64> {
    let exists = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
            &[],
        )
        .await?;
    let n: i64 = exists.try_get(0)?;
    if n == 0 {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Checks the schema and, with [`super::SchemaPolicy::Migrate`], applies what is missing; then
/// makes `search_text` agree with the configured searchable custom fields.
pub(crate) async fn prepare(inner: &Inner, policy: super::SchemaPolicy) -> PgResult<()> {
    let client = inner.client().await?;
    let found = current_version(&client).await?;
    if found > LATEST {
        return Err(PgError::Store(StoreError::Storage(format!(
            "the database schema is version {found}, newer than this build supports ({LATEST}); \
             upgrade visitord"
        ))));
    }
    if found < LATEST {
        if policy == super::SchemaPolicy::RequireCurrent {
            return Err(PgError::Store(StoreError::Storage(format!(
                "the database schema is version {found}, this build needs {LATEST}; run \
                 `visitord migrate` (or set storage.auto_migrate = true)"
            ))));
        }
        migrate(&client, found).await?;
    }
    drop(client);
    super::search::sync_search_fields(inner).await
}

/// Applies every migration above `from`.
async fn migrate(client: &tokio_postgres::Client, from: i64) -> PgResult<()> {
    // A per-engine bootstrap step: the trigram operator class of the search indexes.
    if let Err(e) = run_idempotent(client, "CREATE EXTENSION IF NOT EXISTS pg_trgm").await {
        let PgError::Db(db) = &e else { return Err(e) };
        return Err(PgError::Store(StoreError::Storage(format!(
            "cannot create the extension pg_trgm ({}); a superuser can run \
             `CREATE EXTENSION pg_trgm` in this database once",
            super::describe(db)
        ))));
    }
    run_idempotent(
        client,
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
         version bigint PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)",
    )
    .await?;
    for m in MIGRATIONS.iter().filter(|m| m.version > from) {
        for statement in statements(m.sql) {
            run_idempotent(client, &statement).await?;
        }
        client
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (version) DO NOTHING",
                &[&m.version, &m.name, &now_ms()],
            )
            .await?;
        log::info!(
            "postgres: schema migration {} ({}) applied",
            m.version,
            m.name
        );
    }
    Ok(())
}

/// Readiness: the database answers and holds this build's schema.
pub(crate) async fn ready(inner: &Inner) -> PgResult<()> {
    let client = inner.client().await?;
    let version = current_version(&client).await?;
    if version != LATEST {
        return Err(PgError::Store(StoreError::Storage(format!(
            "schema version {version}, expected {LATEST}"
        ))));
    }
    Ok(())
}

/// Takes or renews the lease `name` for `holder` until `ttl_ms` from now, when it is free,
/// expired or already `holder`'s. Whether `holder` holds it now.
pub(crate) async fn try_lease(
    inner: &Inner,
    name: &str,
    holder: &str,
    ttl_ms: Millis,
) -> PgResult<bool> {
    let client = inner.client().await?;
    let now = now_ms();
    let rows = client
        .query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
             WHERE leases.expires_at < $4 OR leases.holder = excluded.holder \
             RETURNING holder",
            &[&name, &holder, &now.saturating_add(ttl_ms), &now],
        )
        .await?;
    Ok(!rows.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_latest_is_the_last() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "{}", m.name);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(LATEST));
    }

    /// The portable subset: one statement per step, no features some PostgreSQL-compatible
    /// engines lack (see docs/scale-out.md).
    #[test]
    fn migrations_keep_to_the_portable_subset() {
        for m in MIGRATIONS {
            let steps = statements(m.sql);
            assert!(!steps.is_empty(), "{}", m.name);
            for step in steps {
                let upper = step.to_uppercase();
                assert!(
                    !step.contains(';'),
                    "{}: one statement per step: {step}",
                    m.name
                );
                for banned in [
                    "ADVISORY",
                    "LISTEN",
                    "NOTIFY",
                    "TRIGGER",
                    "FUNCTION",
                    "PROCEDURE",
                    " DO ",
                    "GENERATED",
                    "SERIAL",
                    "GIST",
                    "TEMPORARY",
                    "COLLATE",
                ] {
                    assert!(!upper.contains(banned), "{}: {banned} in {step}", m.name);
                }
                assert!(
                    upper.contains("IF NOT EXISTS"),
                    "{}: not idempotent: {step}",
                    m.name
                );
            }
        }
    }

    /// The backend's own SQL never takes advisory locks or listens (not portable).
    #[test]
    fn no_advisory_locks_or_notifications_in_the_backend() {
        for (file, text) in [
            ("mod.rs", include_str!("mod.rs")),
            ("visitors.rs", include_str!("visitors.rs")),
            ("rooms.rs", include_str!("rooms.rs")),
            ("users.rs", include_str!("users.rs")),
            ("search.rs", include_str!("search.rs")),
        ] {
            for banned in [
                "pg_advisory",
                "LISTEN ",
                "NOTIFY ",
                "SKIP LOCKED",
                "FOR SHARE",
            ] {
                assert!(!text.contains(banned), "{file} uses {banned}");
            }
        }
    }
}
