//! Users and login sessions on PostgreSQL. Sessions are keyed by the SHA-256 of the login
//! token; the token itself is never stored. "Never leave no active admin" holds across
//! processes: every change that could remove an active admin locks all active admins' rows
//! first, so two such changes run one after the other.

use super::{col, json, record, records, transaction, Inner, PgResult};
use crate::domain::{NewUser, Refusal, UserChanges};
use crate::model::ids::new_id;
use crate::model::{Session, User};
use crate::time::Millis;
use tokio_postgres::GenericClient;

use crate::domain::rules::{changed_user, needs_another_admin, require_another_admin};

/// The lower-cased username: unique regardless of case.
fn username_key(username: &str) -> String {
    col(&username.to_lowercase()).into_owned()
}

fn first<T: serde::de::DeserializeOwned>(rows: &[tokio_postgres::Row]) -> PgResult<Option<T>> {
    rows.first().map(|r| record(r, "record")).transpose()
}

async fn find(client: &impl GenericClient, id: &str, lock: bool) -> PgResult<Option<User>> {
    let sql = "SELECT record FROM users WHERE id = $1";
    Ok(records(client, sql, id, lock).await?.into_iter().next())
}

/// The user with this id.
pub(super) async fn by_id(inner: &Inner, id: &str) -> PgResult<Option<User>> {
    let client = inner.client().await?;
    find(&**client, id, false).await
}

/// The user with this username (case-insensitive).
pub(super) async fn by_username(inner: &Inner, username: &str) -> PgResult<Option<User>> {
    let client = inner.client().await?;
    first(
        &client
            .query(
                "SELECT record FROM users WHERE username_key = $1",
                &[&username_key(username)],
            )
            .await?,
    )
}

/// Every user, by username (byte order of the lower-cased name, as the sled store lists them).
pub(super) async fn list(inner: &Inner) -> PgResult<Vec<User>> {
    let client = inner.client().await?;
    let rows = client
        .query(
            "SELECT record FROM users ORDER BY username_key COLLATE \"C\"",
            &[],
        )
        .await?;
    rows.iter().map(|r| record(r, "record")).collect()
}

/// Creates a user; the username must be free regardless of case.
pub(super) async fn create(inner: &Inner, new: NewUser, now: Millis) -> PgResult<User> {
    let user = crate::domain::rules::new_user(new, new_id(), now);
    let client = inner.client().await?;
    let client: &tokio_postgres::Client = &client;
    if insert_user(client, &user).await? == 0 {
        return Err(Refusal::UsernameTaken.into());
    }
    Ok(user)
}

/// Writes a new user's row unless the username is taken regardless of case; how many rows were
/// written (0 or 1).
pub(super) async fn insert_user(client: &impl GenericClient, user: &User) -> PgResult<u64> {
    Ok(client
        .execute(
            "INSERT INTO users (id, username_key, record) VALUES ($1, $2, $3) \
             ON CONFLICT (username_key) DO NOTHING",
            &[&col(&user.id), &username_key(&user.username), &json(user)?],
        )
        .await?)
}

/// Refuses a change that would leave no active admin when there is one now. Locks every active
/// admin's row, so that two such changes cannot both pass.
async fn keep_an_admin(
    client: &impl GenericClient,
    before: &User,
    after: Option<&User>,
) -> PgResult<()> {
    if !needs_another_admin(before, after) {
        return Ok(());
    }
    let rows = client
        .query("SELECT record FROM users ORDER BY id FOR UPDATE", &[])
        .await?;
    let users = rows
        .iter()
        .map(|r| record::<User>(r, "record"))
        .collect::<PgResult<Vec<_>>>()?;
    require_another_admin(before, &users).map_err(super::PgError::Store)
}

/// Applies `changes`; a new password or a deactivation revokes every session of the user.
pub(super) async fn update(
    inner: &Inner,
    id: &str,
    changes: UserChanges,
    now: Millis,
) -> PgResult<User> {
    transaction!(inner, |tx| {
        let old = find(tx, id, true).await?.ok_or(Refusal::UnknownUser)?;
        let new = changed_user(&old, &changes, now);
        keep_an_admin(tx, &old, Some(&new)).await?;
        if changes.password_hash.is_some() || !new.active {
            tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&col(id)])
                .await?;
        }
        tx.execute(
            "UPDATE users SET record = $2 WHERE id = $1",
            &[&col(id), &json(&new)?],
        )
        .await?;
        new
    })
}

/// Deletes a user and every session of it; never the last active admin.
pub(super) async fn delete(inner: &Inner, id: &str) -> PgResult<User> {
    transaction!(inner, |tx| {
        let user = find(tx, id, true).await?.ok_or(Refusal::UnknownUser)?;
        keep_an_admin(tx, &user, None).await?;
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&col(id)])
            .await?;
        tx.execute("DELETE FROM users WHERE id = $1", &[&col(id)])
            .await?;
        user
    })
}

/// The session of a token hash.
pub(super) async fn session(inner: &Inner, token_hash: &[u8]) -> PgResult<Option<Session>> {
    let client = inner.client().await?;
    first(
        &client
            .query(
                "SELECT record FROM sessions WHERE token_hash = $1",
                &[&token_hash],
            )
            .await?,
    )
}

/// A login's session, created only while the user is active and still has the password hash
/// the login verified (the user's row is locked meanwhile); `false` otherwise.
pub(super) async fn create_login_session(
    inner: &Inner,
    token_hash: &[u8],
    session: &Session,
    verified_hash: &str,
) -> PgResult<bool> {
    transaction!(inner, |tx| {
        match find(tx, &session.user_id, true).await? {
            Some(user) if user.active && user.password_hash == verified_hash => {
                write_session(tx, token_hash, session).await?;
                true
            }
            _ => false,
        }
    })
}

/// Writes a session's row (replacing one of the same token hash).
pub(super) async fn write_session(
    client: &impl GenericClient,
    token_hash: &[u8],
    session: &Session,
) -> PgResult<()> {
    client
        .execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at, record) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO UPDATE \
             SET user_id = excluded.user_id, expires_at = excluded.expires_at, \
             record = excluded.record",
            &[
                &token_hash,
                &col(&session.user_id),
                &session.expires_at,
                &json(session)?,
            ],
        )
        .await?;
    Ok(())
}

/// Ends one session (logout).
pub(super) async fn revoke_session(inner: &Inner, token_hash: &[u8]) -> PgResult<()> {
    let client = inner.client().await?;
    client
        .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])
        .await?;
    Ok(())
}

/// Deletes sessions that expired at or before `now` (and failed-login windows over an hour
/// old). How many sessions.
pub(super) async fn prune_sessions(inner: &Inner, now: Millis) -> PgResult<u64> {
    let client = inner.client().await?;
    client
        .execute(
            "DELETE FROM failed_logins WHERE window_start < $1",
            &[&now.saturating_sub(3_600_000)],
        )
        .await?;
    Ok(client
        .execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])
        .await?)
}

/// Counts one failed login of `key` at `now` unless its window is full (see
/// [`crate::domain::Backend::reserve_login_failure`]). The key's row is locked meanwhile, so
/// concurrent attempts on any number of processes never count past the limit.
pub(super) async fn reserve_login_failure(
    inner: &Inner,
    key: &str,
    now: Millis,
    window_ms: Millis,
    limit: u32,
) -> PgResult<(Option<u32>, Millis)> {
    let key = col(key).into_owned();
    transaction!(inner, |tx| {
        tx.execute(
            "INSERT INTO failed_logins (key, window_start, n) VALUES ($1, $2, 0) \
             ON CONFLICT (key) DO NOTHING",
            &[&key, &now],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT window_start, n FROM failed_logins WHERE key = $1 FOR UPDATE",
                &[&key],
            )
            .await?;
        let (mut start, mut n): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        if now - start >= window_ms {
            (start, n) = (now, 0);
        }
        let counted = n < i64::from(limit);
        if counted {
            tx.execute(
                "UPDATE failed_logins SET window_start = $2, n = $3 WHERE key = $1",
                &[&key, &start, &(n + 1)],
            )
            .await?;
        }
        (counted.then(|| u32::try_from(n).unwrap_or(0)), start)
    })
}

/// Hands back one counted failure of `key` in its window.
pub(super) async fn release_login_failure(
    inner: &Inner,
    key: &str,
    window_start: Millis,
) -> PgResult<()> {
    let client = inner.client().await?;
    client
        .execute(
            "UPDATE failed_logins SET n = n - 1 WHERE key = $1 AND window_start = $2 AND n > 0",
            &[&col(key), &window_start],
        )
        .await?;
    Ok(())
}
