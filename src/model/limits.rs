//! Every input limit and shape rule, in one place: the HTTP handlers, `import` and the store
//! check the same numbers. Lengths are in characters (Unicode scalar values) unless the name
//! says bytes.
//!
//! A limit only ever grows: a record written under a larger limit must still be readable, and
//! imported data must fit what the API would accept for the same field.

/// Longest visitor token (bytes): the widget makes 17-character ids; 256 leaves room for any
/// scheme a site uses.
pub const TOKEN_BYTES: usize = 256;
/// Longest id a client may name: a visitor's `_id` (import), a room id (`rid`) and a
/// message `_id`. Meteor ids are 17 characters.
pub const ID_CHARS: usize = 64;
/// A visitor's or a user's name, a visitor's username, a department.
pub const NAME_CHARS: usize = 256;
/// An email address (RFC 5321's limit on a path).
pub const EMAIL_CHARS: usize = 254;
/// A phone number as typed.
pub const PHONE_CHARS: usize = 64;
/// A department id or name.
pub const DEPARTMENT_CHARS: usize = 256;
/// Most custom fields (`livechatData` keys) one visitor may hold in total.
pub const CUSTOM_FIELDS: usize = 100;
/// A custom field's key.
pub const FIELD_KEY_CHARS: usize = 64;
/// A custom field's value.
pub const FIELD_VALUE_CHARS: usize = 4096;
/// The kept prefix of a visitor's `User-Agent` (longer ones are cut, not refused).
pub const USER_AGENT_CHARS: usize = 512;
/// The kept prefix of a visitor's IP as recorded.
pub const IP_CHARS: usize = 64;
/// The kept prefix of the `Host` a visitor registered through.
pub const HOST_CHARS: usize = 256;
/// A page title in the navigation history.
pub const TITLE_CHARS: usize = 1024;
/// A page visit's `change` (`url` from the widget).
pub const CHANGE_CHARS: usize = 64;
/// A visited page's URL.
pub const HREF_CHARS: usize = 4096;
/// A chat message.
pub const MESSAGE_CHARS: usize = 5000;
/// An agent's password.
pub const PASSWORD_CHARS: usize = 1024;
/// A search term of `visitors.search`.
pub const TERM_CHARS: usize = 256;
/// An agent's username (bytes; only ASCII is allowed, see [`valid_username`]).
pub const USERNAME_BYTES: usize = 64;

/// Whether `value` is longer than `max` characters.
pub fn too_long(value: &str, max: usize) -> bool {
    // A string of at most `max` bytes has at most `max` chars: skip the count for most inputs.
    value.len() > max && value.chars().count() > max
}

/// The first `max` characters of `value` (for values that are cut rather than refused).
pub fn prefix(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

/// Rocket.Chat's email shape `^[^@]+@[^@]+$` (for an already trimmed, lower-cased address).
pub fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.contains('@'),
        None => false,
    }
}

/// A valid agent username: 1–64 of letters, digits, `.`, `-`, `_` (Rocket.Chat's default rule).
pub fn valid_username(username: &str) -> bool {
    !username.is_empty()
        && username.len() <= USERNAME_BYTES
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A usable visitor token: not blank, at most [`TOKEN_BYTES`].
pub fn valid_token(token: &str) -> bool {
    !token.trim().is_empty() && token.len() <= TOKEN_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        assert!(!too_long("ü".repeat(3).as_str(), 3));
        assert!(too_long("ü".repeat(4).as_str(), 3));
        assert!(!too_long("", 0));
        assert_eq!(prefix("äbcdef", 2), "äb");
    }

    #[test]
    fn emails() {
        assert!(valid_email("a@b"));
        assert!(valid_email("first.last@example.com"));
        assert!(!valid_email("a@b@c"));
        assert!(!valid_email("@b"));
        assert!(!valid_email("a@"));
        assert!(!valid_email("ab"));
    }

    #[test]
    fn usernames() {
        assert!(valid_username("jane.doe-1_x"));
        assert!(!valid_username(""));
        assert!(!valid_username("jane doe"));
        assert!(!valid_username("jäne"));
        assert!(valid_username(&"a".repeat(64)));
        assert!(!valid_username(&"a".repeat(65)));
    }

    #[test]
    fn tokens() {
        assert!(valid_token("t"));
        assert!(!valid_token("  "));
        assert!(valid_token(&"t".repeat(TOKEN_BYTES)));
        assert!(!valid_token(&"t".repeat(TOKEN_BYTES + 1)));
    }
}
