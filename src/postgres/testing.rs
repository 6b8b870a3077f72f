//! Databases for tests of the postgres backend (the integration suite with
//! `VISITORD_TEST_BACKEND=postgres`): one migrated template per test process, and a fresh
//! database cloned from it for each test (`CREATE DATABASE … TEMPLATE`, a few tens of
//! milliseconds), dropped when the test ends.
//!
//! The admin URL (`VISITORD_TEST_PG_URL`) names a role that may create databases, in the form
//! `postgres://user:password@host:port/database`. Not used by visitord itself.

use super::{PgStore, SchemaPolicy};
use crate::config::{StorageBackend, StorageConfig};
use std::sync::OnceLock;
use std::time::Duration;

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> Result<String, String> {
    let scheme_end = url.find("://").ok_or_else(|| {
        format!(
            "not a postgres:// URL: {}",
            crate::config::redact_postgres_url(url)
        )
    })?;
    let rest = &url[scheme_end + 3..];
    let path_start = rest.find('/').map(|i| scheme_end + 3 + i);
    let query_start = url.find('?');
    let (base, query) = match query_start {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let base = match path_start {
        Some(p) if query_start.is_none_or(|q| p < q) => &url[..p],
        _ => base,
    };
    Ok(format!("{base}/{db}{query}"))
}

/// Runs `statement` on the admin connection (on a runtime of its own, from any thread).
fn admin(url: &str, statement: String) -> Result<(), String> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| super::describe(&e))?;
            let driver = tokio::spawn(connection);
            let out = client
                .batch_execute(&statement)
                .await
                .map_err(|e| super::describe(&e));
            drop(client);
            let _ = driver.await;
            out
        })
    })
    .join()
    .map_err(|_| "the admin connection's thread panicked".to_string())?
}

/// A storage config for the database at `url`.
pub fn storage_config(url: &str) -> StorageConfig {
    StorageConfig {
        backend: StorageBackend::Postgres,
        postgres_url: url.to_string(),
        postgres_pool_size: 4,
        ..StorageConfig::default()
    }
}

/// The migrated template of this process, made on first use.
fn template(admin_url: &str) -> Result<String, String> {
    static TEMPLATE: OnceLock<Result<String, String>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let name = format!("visitord_tpl_{}_{}", std::process::id(), fastrand::u32(..));
            admin(admin_url, format!("CREATE DATABASE {name}"))?;
            let url = with_database(admin_url, &name)?;
            let store = PgStore::open(&storage_config(&url), Vec::new(), SchemaPolicy::Migrate)?;
            drop(store);
            Ok(name)
        })
        .clone()
}

/// A fresh, migrated database for one test: its name and URL.
pub fn create_database(admin_url: &str) -> Result<(String, String), String> {
    let template = template(admin_url)?;
    let name = format!("visitord_t_{}", crate::model::ids::new_id().to_lowercase());
    let mut tries = 0;
    loop {
        tries += 1;
        // The template's last connections may still be closing (SQLSTATE 55006).
        match admin(
            admin_url,
            format!("CREATE DATABASE {name} TEMPLATE {template}"),
        ) {
            Ok(()) => break,
            Err(e) if e.contains("55006") && tries < 100 => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => return Err(e),
        }
    }
    let url = with_database(admin_url, &name)?;
    Ok((name, url))
}

/// Makes every new transaction in database `name` SERIALIZABLE (for the races that must see
/// serialization failures retried).
pub fn set_serializable(admin_url: &str, name: &str) -> Result<(), String> {
    admin(
        admin_url,
        format!("ALTER DATABASE {name} SET default_transaction_isolation = 'serializable'"),
    )
}

/// Whether a connection of `store`'s pool is encrypted: `pg_stat_ssl` of its own server process.
pub fn connection_is_tls(store: &PgStore) -> Result<bool, String> {
    store
        .call(|inner| {
            Box::pin(async move {
                let client = inner.client().await?;
                let row = client
                    .query_one(
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                        &[],
                    )
                    .await?;
                Ok(row.try_get::<_, bool>(0)?)
            })
        })
        .map_err(|e| e.to_string())
}

/// Drops a test's database (closing whatever connections it still has).
pub fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    admin(
        admin_url,
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5/postgres", "x").unwrap(),
            "postgres://u:p@h:5/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h:5/postgres?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h", "x").unwrap(),
            "postgres://u@h/x"
        );
        assert!(with_database("host=h dbname=d", "x").is_err());
    }
}
