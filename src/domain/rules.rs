//! The business rules every backend follows, in one place: which visitor a registration
//! updates (match order and `livechat.merge_by`), what a registration writes (custom-field
//! modes, empty values), `guest-N` naming, how long room-less history lives, and which role
//! must keep a holder. Backends call these instead of restating them.

use super::error::{Refusal, Result};
use super::inputs::{MergePolicy, NewUser, Registration, UserChanges};
use crate::model::{Message, Room, User, Visitor};
use crate::time::Millis;

/// Which existing visitor a registration updates, by Rocket.Chat's order (see [`target`]).
pub enum Target {
    Token(Visitor),
    Phone(Visitor),
    Email(Visitor),
    New,
}

/// `N` of a username `guest-N` (the form the guest counter issues), if it is one.
pub fn guest_number(username: &str) -> Option<u64> {
    let digits = username.strip_prefix("guest-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Sets the fields a registration writes (Rocket.Chat's `registerGuest`): empty values never
/// clear a field, email and phone replace the old ones, `status` is `online` on every call.
pub fn apply_registration(v: &mut Visitor, reg: &Registration, now: Millis) {
    v.status = "online".into();
    v.updated_at = now;
    if let Some(name) = reg.name.as_ref().filter(|n| !n.is_empty()) {
        v.name = Some(name.clone());
    }
    if let Some(email) = reg.email.as_ref().filter(|e| !e.is_empty()) {
        v.email = Some(email.clone());
    }
    if let Some(phone) = reg.phone.as_ref().filter(|p| !p.is_empty()) {
        v.phone = Some(phone.clone());
    }
    if let Some(dep) = &reg.department {
        v.department = Some(dep.clone());
    }
    for field in &reg.custom_fields {
        let has_value = v.custom_field(&field.key).is_some_and(|s| !s.is_empty());
        if field.overwrite || !has_value {
            v.set_custom_field(&field.key, &field.value);
        }
    }
}

/// A new visitor of `reg`'s token, before [`apply_registration`]: the request's headers (when
/// kept), username empty (the backend names it), write order `seq`.
pub fn new_visitor(reg: &Registration, id: String, seq: u64, now: Millis) -> Visitor {
    let http = reg.http.clone().unwrap_or_default();
    Visitor {
        seq,
        user_agent: http.user_agent,
        ip: http.ip,
        host: http.host,
        ..Visitor::new(id, reg.token.clone(), now)
    }
}

/// [`apply_registration`], refused when the visitor would have more than
/// [`crate::model::limits::CUSTOM_FIELDS`] custom fields.
pub fn register_into(v: &mut Visitor, reg: &Registration, now: Millis) -> Result<()> {
    apply_registration(v, reg, now);
    if v.livechat_data.len() > crate::model::limits::CUSTOM_FIELDS {
        return Err(Refusal::TooManyCustomFields.into());
    }
    Ok(())
}

/// A message id the visitor sends again: the stored message when it is this visitor's in this
/// room (a safe retry), else `MessageIdTaken`.
pub fn resent_message(existing: Message, rid: &str, visitor: &Visitor) -> Result<Message> {
    if existing.rid == rid && existing.u_id == visitor.id {
        Ok(existing)
    } else {
        Err(Refusal::MessageIdTaken.into())
    }
}

/// A new user, as `users.create` (or the first admin) makes it.
pub fn new_user(new: NewUser, id: String, now: Millis) -> User {
    User {
        id,
        username: new.username,
        name: new.name,
        email: new.email,
        password_hash: new.password_hash,
        roles: new.roles,
        active: new.active,
        created_at: now,
        updated_at: now,
    }
}

/// The role whose last active holder cannot be removed.
pub const ADMIN_ROLE: &str = "admin";

/// Whether `u` is an active admin (of whom one must always remain).
pub fn is_active_admin(u: &User) -> bool {
    u.active && u.roles.iter().any(|r| r == ADMIN_ROLE)
}

/// Whether a change of `before` (`after`: the user after it, `None`: deleted) needs another
/// active admin to exist (see [`require_another_admin`]).
pub fn needs_another_admin(before: &User, after: Option<&User>) -> bool {
    is_active_admin(before) && !after.is_some_and(is_active_admin)
}

/// Refuses (`LastAdmin`) when no user of `users` but `before` is an active admin.
pub fn require_another_admin(before: &User, users: &[User]) -> Result<()> {
    if users
        .iter()
        .any(|u| u.id != before.id && is_active_admin(u))
    {
        Ok(())
    } else {
        Err(Refusal::LastAdmin.into())
    }
}

/// `old` with `changes` applied (`None` fields kept) at `now`.
pub fn changed_user(old: &User, changes: &UserChanges, now: Millis) -> User {
    let mut new = old.clone();
    if let Some(hash) = &changes.password_hash {
        new.password_hash = hash.clone();
    }
    if let Some(roles) = &changes.roles {
        new.roles = roles.clone();
    }
    if let Some(active) = changes.active {
        new.active = active;
    }
    if let Some(name) = &changes.name {
        new.name = Some(name.clone());
    }
    if let Some(email) = &changes.email {
        new.email = Some(email.clone());
    }
    new.updated_at = now;
    new
}

/// Finds the visitor a registration updates: the one with its token; else, as `merge` allows,
/// the oldest with exactly its phone (which keeps its token); else the oldest with its
/// (lower-cased) email (which takes the new token); else none, and a new visitor is made.
/// The lookups are the backend's.
pub fn target(
    reg: &Registration,
    merge: MergePolicy,
    by_token: impl FnOnce(&str) -> Result<Option<Visitor>>,
    by_phone: impl FnOnce(&str) -> Result<Option<Visitor>>,
    by_email: impl FnOnce(&str) -> Result<Option<Visitor>>,
) -> Result<Target> {
    if let Some(v) = by_token(&reg.token)? {
        return Ok(Target::Token(v));
    }
    if let Some(phone) = reg.phone.as_deref().filter(|_| merge.phone) {
        if let Some(v) = by_phone(phone)? {
            return Ok(Target::Phone(v));
        }
    }
    if let Some(email) = reg.email.as_deref().filter(|_| merge.email) {
        if let Some(v) = by_email(email)? {
            return Ok(Target::Email(v));
        }
    }
    Ok(Target::New)
}

/// The room a visitor's write goes to (a message, a close), refused in Rocket.Chat's order
/// once the visitor is known: not a room of this visitor (or none) → `invalid-room`, then a
/// closed room → `room-closed`.
pub fn writable_room(visitor: &Visitor, room: Option<Room>) -> Result<Room> {
    match room {
        Some(room) if room.v.id == visitor.id && room.open => Ok(room),
        Some(room) if room.v.id == visitor.id => Err(Refusal::RoomClosed.into()),
        _ => Err(Refusal::InvalidRoom.into()),
    }
}

/// The username the guest counter issues as its `n`th.
pub fn guest_name(n: u64) -> String {
    format!("guest-{n}")
}

/// When a new navigation entry expires: only entries of a token with no visitor and outside
/// any room do, `ttl` after `now` (`history.roomless_ttl_days`; `None`: never).
pub fn roomless_expiry(
    registered: bool,
    in_room: bool,
    now: Millis,
    ttl: Option<Millis>,
) -> Option<Millis> {
    match ttl {
        Some(ttl) if !registered && !in_room => Some(now.saturating_add(ttl)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_names_round_trip() {
        assert_eq!(guest_number(&guest_name(42)), Some(42));
        assert_eq!(guest_number("guest-"), None);
        assert_eq!(guest_number("guest-1a"), None);
        assert_eq!(guest_number("Guest-1"), None);
    }

    #[test]
    fn only_unregistered_roomless_entries_expire() {
        assert_eq!(roomless_expiry(false, false, 10, Some(5)), Some(15));
        assert_eq!(roomless_expiry(true, false, 10, Some(5)), None);
        assert_eq!(roomless_expiry(false, true, 10, Some(5)), None);
        assert_eq!(roomless_expiry(false, false, 10, None), None);
    }

    #[test]
    fn match_order_is_token_then_phone_then_email() {
        let v = |id: &str| Ok(Some(Visitor::new(id.into(), String::new(), 0)));
        let reg = Registration {
            token: "t".into(),
            phone: Some("1".into()),
            email: Some("a@b".into()),
            ..Default::default()
        };
        let all = MergePolicy::rocketchat();
        let hit = |t: Target| match t {
            Target::Token(v) => format!("token {}", v.id),
            Target::Phone(v) => format!("phone {}", v.id),
            Target::Email(v) => format!("email {}", v.id),
            Target::New => "new".into(),
        };
        assert_eq!(
            hit(target(&reg, all, |_| v("T"), |_| v("P"), |_| v("E")).unwrap()),
            "token T"
        );
        assert_eq!(
            hit(target(&reg, all, |_| Ok(None), |_| v("P"), |_| v("E")).unwrap()),
            "phone P"
        );
        assert_eq!(
            hit(target(&reg, all, |_| Ok(None), |_| Ok(None), |_| v("E")).unwrap()),
            "email E"
        );
        // The default policy matches by token only.
        let token_only = MergePolicy::default();
        assert_eq!(
            hit(target(&reg, token_only, |_| Ok(None), |_| v("P"), |_| v("E")).unwrap()),
            "new"
        );
    }
}
