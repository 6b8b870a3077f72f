//! Users (agents, managers, admins) and their login sessions.
//!
//! Sessions are keyed by the SHA-256 of the login token; the token itself is never stored.
//! Revoking a user's sessions (logout everywhere, new password, deactivation, deletion) walks
//! `userid_tokenhash`.

use super::keys;
use super::{decoded_rows, get_decoded, id_value, Refusal, Result, Store, Tx, TxResult};
use crate::domain::{NewUser, UserChanges};
use crate::model::ids::new_id;
use crate::model::{Session, User};
use crate::time::Millis;

use crate::domain::rules::{needs_another_admin, require_another_admin};

/// Deletes the sessions whose hashes are listed under `user_id`.
fn revoke_all(tx: &Tx, user_id: &str, hashes: &[Vec<u8>]) -> TxResult<()> {
    for hash in hashes {
        tx.tokenhash_session.remove(hash.as_slice())?;
        tx.userid_tokenhash
            .remove(keys::session_row(user_id, hash))?;
    }
    Ok(())
}

impl Store {
    /// The user with this id.
    pub fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        get_decoded(&self.trees().userid_user, "userid_user", id.as_bytes())
    }

    /// The user with this username (case-insensitive).
    pub fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let key = keys::username_key(username);
        match self.trees().username_userid.get(&key)? {
            Some(id) => self.user_by_id(&id_value("username_userid", &key, &id)?),
            None => Ok(None),
        }
    }

    /// Every user, by username.
    pub fn list_users(&self) -> Result<Vec<User>> {
        let mut users = Vec::new();
        for row in self.trees().username_userid.iter() {
            let (key, id) = row?;
            if let Some(u) = self.user_by_id(&id_value("username_userid", &key, &id)?)? {
                users.push(u);
            }
        }
        Ok(users)
    }

    /// How many users exist.
    pub fn user_count(&self) -> usize {
        self.trees().userid_user.len()
    }

    /// Creates a user; the username must be free (case-insensitive).
    pub fn create_user(&self, new: NewUser, now: Millis) -> Result<User> {
        let _writer = self.lock();
        let user = crate::domain::rules::new_user(new, new_id(), now);
        self.transact(|tx| {
            let key = keys::username_key(&user.username);
            if tx.username_userid.get(&key)?.is_some() {
                return super::abort(Refusal::UsernameTaken);
            }
            tx.username_userid.insert(key, user.id.as_bytes())?;
            tx.put(tx.userid_user, user.id.as_bytes(), &user)
        })?;
        Ok(user)
    }

    /// The hashes of a user's sessions.
    fn session_hashes(&self, user_id: &str) -> Result<Vec<Vec<u8>>> {
        let prefix = keys::prefix(user_id);
        let mut hashes = Vec::new();
        for row in self.trees().userid_tokenhash.scan_prefix(&prefix) {
            let (key, _) = row?;
            hashes.push(key[prefix.len()..].to_vec());
        }
        Ok(hashes)
    }

    /// Refuses a change that would leave no active admin when there is one now.
    fn keep_an_admin(&self, before: &User, after: Option<&User>) -> Result<()> {
        if !needs_another_admin(before, after) {
            return Ok(());
        }
        require_another_admin(before, &self.list_users()?)
    }

    /// Applies `changes`; a new password or a deactivation revokes every session of the user.
    pub fn update_user(&self, id: &str, changes: UserChanges, now: Millis) -> Result<User> {
        let _writer = self.lock();
        let old = self.user_by_id(id)?.ok_or(Refusal::UnknownUser)?;
        let new = crate::domain::rules::changed_user(&old, &changes, now);
        self.keep_an_admin(&old, Some(&new))?;
        let revoke = changes.password_hash.is_some() || !new.active;
        let hashes = if revoke {
            self.session_hashes(id)?
        } else {
            Vec::new()
        };
        self.transact(|tx| {
            revoke_all(tx, id, &hashes)?;
            tx.put(tx.userid_user, id.as_bytes(), &new)
        })?;
        Ok(new)
    }

    /// Deletes a user and every session of it.
    pub fn delete_user(&self, id: &str) -> Result<User> {
        let _writer = self.lock();
        let user = self.user_by_id(id)?.ok_or(Refusal::UnknownUser)?;
        self.keep_an_admin(&user, None)?;
        let hashes = self.session_hashes(id)?;
        self.transact(|tx| {
            revoke_all(tx, id, &hashes)?;
            tx.username_userid
                .remove(keys::username_key(&user.username))?;
            tx.userid_user.remove(id.as_bytes())?;
            Ok(())
        })?;
        Ok(user)
    }

    /// Records a login: `token_hash` is the SHA-256 of the token handed to the client.
    pub fn create_session(&self, token_hash: &[u8], session: &Session) -> Result<()> {
        let _writer = self.lock();
        self.transact(|tx| {
            tx.put(tx.tokenhash_session, token_hash, session)?;
            tx.userid_tokenhash
                .insert(keys::session_row(&session.user_id, token_hash), &[][..])?;
            Ok(())
        })
    }

    /// A login's session, created only while the user is active and still has the password
    /// hash `verified_hash` that the login checked. Returns `false` (and creates nothing) for a
    /// login that raced a password change, a deactivation or a deletion: never a token for the
    /// old password.
    pub fn create_login_session(
        &self,
        token_hash: &[u8],
        session: &Session,
        verified_hash: &str,
    ) -> Result<bool> {
        let _writer = self.lock();
        match self.user_by_id(&session.user_id)? {
            Some(user) if user.active && user.password_hash == verified_hash => {}
            _ => return Ok(false),
        }
        self.transact(|tx| {
            tx.put(tx.tokenhash_session, token_hash, session)?;
            tx.userid_tokenhash
                .insert(keys::session_row(&session.user_id, token_hash), &[][..])?;
            Ok(())
        })?;
        Ok(true)
    }

    /// The session of a token hash.
    pub fn session(&self, token_hash: &[u8]) -> Result<Option<Session>> {
        get_decoded(
            &self.trees().tokenhash_session,
            "tokenhash_session",
            token_hash,
        )
    }

    /// Ends one session (logout).
    pub fn revoke_session(&self, token_hash: &[u8]) -> Result<()> {
        let _writer = self.lock();
        let Some(session) = self.session(token_hash)? else {
            return Ok(());
        };
        self.transact(|tx| revoke_all(tx, &session.user_id, &[token_hash.to_vec()]))
    }

    /// Deletes sessions that expired before `now`. Returns how many.
    pub fn prune_sessions(&self, now: Millis) -> Result<u64> {
        let _writer = self.lock();
        let mut expired = Vec::new();
        for row in decoded_rows::<Session>(&self.trees().tokenhash_session, "tokenhash_session") {
            let (hash, s) = row?;
            if s.expires_at <= now {
                expired.push((s.user_id, hash.to_vec()));
            }
        }
        self.transact(|tx| {
            for (user_id, hash) in &expired {
                revoke_all(tx, user_id, std::slice::from_ref(hash))?;
            }
            Ok(())
        })?;
        Ok(expired.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::temp_store;

    fn new_user(name: &str, hash: &str, active: bool) -> NewUser {
        NewUser {
            username: name.into(),
            name: None,
            email: None,
            password_hash: hash.into(),
            roles: vec!["livechat-agent".into()],
            active,
        }
    }

    fn session(user_id: &str) -> Session {
        Session {
            user_id: user_id.into(),
            created_at: 1,
            expires_at: i64::MAX,
        }
    }

    /// A login checks the password, then creates its session: a password change (or a
    /// deactivation) in between must not leave a token for the old password.
    #[test]
    fn a_login_that_raced_a_password_change_gets_no_session() {
        let (_d, s) = temp_store(&[]);
        let user = s.create_user(new_user("racer", "hash-1", true), 1).unwrap();
        // The login verified "hash-1"; the password changes before its session is written.
        let changes = UserChanges {
            password_hash: Some("hash-2".into()),
            ..Default::default()
        };
        s.update_user(&user.id, changes, 2).unwrap();
        assert!(!s
            .create_login_session(b"token-a", &session(&user.id), "hash-1")
            .unwrap());
        assert!(s.session(b"token-a").unwrap().is_none());
        // With the current password it works.
        assert!(s
            .create_login_session(b"token-b", &session(&user.id), "hash-2")
            .unwrap());
        assert!(s.session(b"token-b").unwrap().is_some());
        // A deactivated or deleted user gets none either.
        let off = UserChanges {
            active: Some(false),
            ..Default::default()
        };
        s.update_user(&user.id, off, 3).unwrap();
        assert!(!s
            .create_login_session(b"token-c", &session(&user.id), "hash-2")
            .unwrap());
        s.delete_user(&user.id).unwrap();
        assert!(!s
            .create_login_session(b"token-d", &session(&user.id), "hash-2")
            .unwrap());
        assert!(s.check().unwrap().problems.is_empty());
    }

    /// `users.create` with `active:false` is one write: a reader never sees the user active.
    #[test]
    fn a_user_created_inactive_is_never_seen_active() {
        let (_d, s) = temp_store(&[]);
        for round in 0..50 {
            let name = format!("quiet-{round}");
            let seen = std::thread::scope(|scope| {
                let watcher = scope.spawn(|| loop {
                    if let Some(u) = s.user_by_username(&name).unwrap() {
                        return u.active;
                    }
                    std::thread::yield_now();
                });
                s.create_user(new_user(&name, "h", false), 1).unwrap();
                watcher.join().unwrap()
            });
            assert!(!seen, "round {round}: the user was seen active");
            let stored = s.user_by_username(&name).unwrap().unwrap();
            assert!(!stored.active);
        }
    }
}
