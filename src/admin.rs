//! User management outside the HTTP API: the first admin of a new store, and the
//! `visitord user …` commands that work on a stopped store.

use crate::credentials::{hash_password, new_password, ROLES};
use crate::domain::rules::ADMIN_ROLE;
use crate::domain::{Backend, NewUser, UserChanges};
use crate::model::limits::valid_username;
use crate::store::StoreError;
use crate::time::now_ms;
use std::io::Write;
use std::path::Path;

/// The file that keeps a generated first admin password, in the data dir.
pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password";

/// The username of the first admin.
pub const FIRST_ADMIN: &str = "admin";

/// On a store with no users, creates `admin` with `VISITORD_ADMIN_PASSWORD` (`env_password`)
/// or a random password written to `<data dir>/initial-admin-password` (mode 0600) and never
/// printed (output is often captured by log collectors): the note says where the file is. The
/// file goes once that admin's password is changed (see [`forget_initial_password`]).
/// Returns what to tell the operator, if anything.
pub fn ensure_first_admin(
    store: &dyn Backend,
    data_dir: &Path,
    env_password: Option<String>,
) -> Result<Option<String>, String> {
    let users = store
        .user_count()
        .map_err(|e| format!("cannot read the store: {e}"))?;
    if users > 0 {
        return Ok(None);
    }
    let (password, generated) = match env_password.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (new_password(), true),
    };
    let new = NewUser {
        username: FIRST_ADMIN.into(),
        name: Some("Administrator".into()),
        email: None,
        password_hash: hash_password(&password)?,
        roles: vec![ADMIN_ROLE.to_string()],
        active: true,
    };
    match store.create_user(new, now_ms()) {
        Ok(_) => {}
        // Another replica of the same database created it first.
        Err(StoreError::Refused(crate::domain::Refusal::UsernameTaken)) => return Ok(None),
        Err(e) => return Err(format!("cannot create the first admin: {e}")),
    }
    store.flush().map_err(|e| e.to_string())?;
    if !generated {
        return Ok(Some(
            "created user admin with the password from VISITORD_ADMIN_PASSWORD".into(),
        ));
    }
    let path = data_dir.join(INITIAL_PASSWORD_FILE);
    write_private(&path, &format!("{password}\n"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(Some(format!(
        "created user admin; its generated password is in {} (readable by this user only; \
         the file is deleted once the password is changed)",
        path.display()
    )))
}

/// Deletes `<data dir>/initial-admin-password` (after the first admin's password changed or the
/// admin was removed). A missing file is fine.
pub fn forget_initial_password(data_dir: &Path) -> Result<(), String> {
    let path = data_dir.join(INITIAL_PASSWORD_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            log::info!(
                "deleted {}: the first admin's password was changed",
                path.display()
            );
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot delete {}: {e}", path.display())),
    }
}

/// At start: deletes `initial-admin-password` when it no longer opens the first admin's
/// account (its password was changed by any means, or the admin is gone).
pub fn forget_stale_initial_password(store: &dyn Backend, data_dir: &Path) -> Result<(), String> {
    let path = data_dir.join(INITIAL_PASSWORD_FILE);
    let password = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim_end_matches(['\n', '\r']).to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let still_valid = store
        .user_by_username(FIRST_ADMIN)
        .map_err(store_error)?
        .is_some_and(|admin| crate::credentials::verify_password(&password, &admin.password_hash));
    if still_valid {
        Ok(())
    } else {
        forget_initial_password(data_dir)
    }
}

/// Writes `text` to a file only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())
}

/// The message for a store that a running server holds.
pub fn locked_message(data_dir: &Path) -> String {
    format!(
        "the store in {} is in use by a running visitord; manage users through its REST API \
         instead (POST /api/v1/users.create, GET /api/v1/users.list, POST /api/v1/users.update, \
         POST /api/v1/users.delete)",
        data_dir.display()
    )
}

fn check_roles(roles: &[String]) -> Result<(), String> {
    match roles.iter().find(|r| !ROLES.contains(&r.as_str())) {
        Some(r) => Err(format!("unknown role {r} (roles: {})", ROLES.join(", "))),
        None => Ok(()),
    }
}

fn store_error(e: StoreError) -> String {
    e.to_string()
}

/// `visitord user add NAME --role R…`: returns the line to print.
pub fn add_user(
    store: &dyn Backend,
    username: &str,
    roles: Vec<String>,
    password: Option<String>,
) -> Result<String, String> {
    if !valid_username(username) {
        return Err(format!(
            "{username} is not a valid username (letters, digits, . - _)"
        ));
    }
    let roles = if roles.is_empty() {
        vec!["livechat-agent".to_string()]
    } else {
        roles
    };
    check_roles(&roles)?;
    let (password, generated) = match password {
        Some(p) if !p.is_empty() => (p, false),
        Some(_) => return Err("the password is empty".into()),
        None => (new_password(), true),
    };
    let new = NewUser {
        username: username.to_string(),
        name: Some(username.to_string()),
        email: None,
        password_hash: hash_password(&password)?,
        roles: roles.clone(),
        active: true,
    };
    let user = store.create_user(new, now_ms()).map_err(|e| match e {
        StoreError::Refused(crate::store::Refusal::UsernameTaken) => {
            format!("{username} is already in use")
        }
        other => store_error(other),
    })?;
    store.flush().map_err(store_error)?;
    let mut line = format!(
        "created {} ({}) with roles {}",
        user.username,
        user.id,
        roles.join(", ")
    );
    if generated {
        line.push_str(&format!("; password: {password}"));
    }
    Ok(line)
}

/// `visitord user list`.
pub fn list_users(store: &dyn Backend) -> Result<String, String> {
    let users = store.list_users().map_err(store_error)?;
    let mut out = String::new();
    for u in users {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            u.username,
            u.id,
            u.roles.join(","),
            if u.active { "active" } else { "inactive" }
        ));
    }
    Ok(out)
}

fn find(store: &dyn Backend, username: &str) -> Result<crate::model::User, String> {
    store
        .user_by_username(username)
        .map_err(store_error)?
        .ok_or_else(|| format!("no user named {username}"))
}

/// `visitord user passwd NAME`: sets a new password and revokes the user's tokens.
pub fn set_password(store: &dyn Backend, username: &str, password: &str) -> Result<String, String> {
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    let user = find(store, username)?;
    let changes = UserChanges {
        password_hash: Some(hash_password(password)?),
        ..Default::default()
    };
    store
        .update_user(&user.id, changes, now_ms())
        .map_err(store_error)?;
    store.flush().map_err(store_error)?;
    Ok(format!(
        "password of {username} changed; its logins were revoked"
    ))
}

/// `visitord user role NAME R…`: replaces the user's roles.
pub fn set_roles(
    store: &dyn Backend,
    username: &str,
    roles: Vec<String>,
) -> Result<String, String> {
    check_roles(&roles)?;
    let user = find(store, username)?;
    let changes = UserChanges {
        roles: Some(roles.clone()),
        ..Default::default()
    };
    store
        .update_user(&user.id, changes, now_ms())
        .map_err(store_error)?;
    store.flush().map_err(store_error)?;
    Ok(format!("{username} now has roles {}", roles.join(", ")))
}

/// `visitord user remove NAME`.
pub fn remove_user(store: &dyn Backend, username: &str) -> Result<String, String> {
    let user = find(store, username)?;
    store.delete_user(&user.id).map_err(store_error)?;
    store.flush().map_err(store_error)?;
    Ok(format!("removed {username}"))
}
