//! Credentials and permissions: argon2 password hashes, random login tokens kept only as
//! SHA-256 hashes, and Rocket.Chat's default roles → permissions.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The roles visitord knows, Rocket.Chat's names.
pub const ROLES: [&str; 5] = [
    "admin",
    "livechat-manager",
    "livechat-monitor",
    "livechat-agent",
    "user",
];

/// What a role may do (§1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// The visitor endpoints for agents.
    ViewLRoom,
    /// Any livechat room, not only the ones the caller serves.
    ViewLivechatRooms,
    ViewLivechatManager,
    /// visitord's own: user administration.
    ManageUsers,
    /// visitord's own: server operations (backups).
    ManageServer,
}

impl Permission {
    /// The roles that hold this permission by default.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Permission::ViewLRoom => &[
                "admin",
                "livechat-manager",
                "livechat-monitor",
                "livechat-agent",
            ],
            Permission::ViewLivechatRooms | Permission::ViewLivechatManager => {
                &["admin", "livechat-manager", "livechat-monitor"]
            }
            Permission::ManageUsers | Permission::ManageServer => &["admin"],
        }
    }
}

/// Whether any of `roles` holds `permission`.
pub fn has_permission(roles: &[String], permission: Permission) -> bool {
    roles
        .iter()
        .any(|r| permission.roles().contains(&r.as_str()))
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash password: {e}"))
}

/// Whether `password` matches `hash` (a stored PHC string; an unreadable one never matches).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification for a user that does not exist, so that a login's
/// duration does not tell whether the username is taken.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("visitord-dummy").unwrap_or_default());
    let _ = verify_password(password, hash);
}

/// A new login token: 43 characters of a 64-symbol alphabet (258 random bits).
pub fn new_login_token() -> String {
    nanoid::nanoid!(43)
}

/// A random password for generated accounts: 24 characters of a 64-symbol alphabet.
pub fn new_password() -> String {
    nanoid::nanoid!(24)
}

/// The SHA-256 of a login token: the only form in which tokens are stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("S3cret", &h));
        assert!(!verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_login_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_login_token());
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&new_login_token()));
    }

    #[test]
    fn default_permissions() {
        let agent = vec!["livechat-agent".to_string()];
        assert!(has_permission(&agent, Permission::ViewLRoom));
        assert!(!has_permission(&agent, Permission::ViewLivechatRooms));
        assert!(!has_permission(
            &["user".to_string()],
            Permission::ViewLRoom
        ));
        assert!(has_permission(
            &["admin".to_string()],
            Permission::ManageUsers
        ));
        assert!(!has_permission(
            &["livechat-manager".to_string()],
            Permission::ManageUsers
        ));
    }
}
