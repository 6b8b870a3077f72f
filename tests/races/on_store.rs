//! Store-level races: real threads released together by a barrier, many rounds each.

use super::{assert_consistent, assert_refusal, race, reg};
use std::collections::BTreeSet;
use visitord::domain::Backend;
use visitord::domain::PageVisitInput;
use visitord::domain::Registration;
use visitord::model::RoomSource;
use visitord::store::{Refusal, StoreError};
use visitord::time::{now_ms, DAY_MS};

use crate::common::TestApp;

/// Threads released together in each round.
const THREADS: usize = 12;
/// Rounds of each race.
const ROUNDS: usize = 100;

/// A room-less navigation entry of `token` (as `page.visited` stores one, with the default TTL).
fn visit(store: &dyn Backend, token: &str, rid: Option<&str>, title: &str) {
    let input = PageVisitInput {
        token: token.into(),
        rid: rid.map(str::to_string),
        title: title.into(),
        change: "url".into(),
        href: format!("https://example.com/{title}"),
    };
    store
        .record_page_visit(&input, now_ms(), Some(30 * DAY_MS))
        .expect("record page visit");
}

#[test]
fn one_token_many_registrants_make_one_visitor() {
    for app in super::apps() {
        one_token_race(&app);
    }
}

fn one_token_race(app: &TestApp) {
    let store = app.backend();
    let mut usernames = BTreeSet::new();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let token = format!("tok-{round}");
        let before = store.counts().visitors;
        let regs: Vec<Registration> = (0..THREADS)
            .map(|i| Registration {
                name: Some(format!("racer {i}")),
                email: Some(format!("r{round}-{i}@example.com")),
                phone: Some(format!("+1 555 {round:03} {i:02}")),
                ..reg(&token)
            })
            .collect();
        let results = race(THREADS, |i| store.register_visitor(&regs[i], now_ms()));
        let results: Vec<_> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{ctx}: registration failed: {e:?}")))
            .collect();
        let first = &results[0];
        for v in &results {
            assert_eq!(v.id, first.id, "{ctx}: one visitor for one token");
            assert_eq!(v.username, first.username, "{ctx}: one username");
            assert_eq!(v.token, token, "{ctx}");
        }
        let stored = store
            .visitor_by_token(&token)
            .expect("read")
            .unwrap_or_else(|| panic!("{ctx}: the visitor must exist"));
        assert_eq!(stored.id, first.id, "{ctx}");
        assert_eq!(
            store.counts().visitors,
            before + 1,
            "{ctx}: one new visitor"
        );
        // The last writer's fields, consistently: its name, its email, its phone.
        let writer = (0..THREADS)
            .find(|i| stored.name.as_deref() == Some(&format!("racer {i}")))
            .unwrap_or_else(|| panic!("{ctx}: name of no racer: {:?}", stored.name));
        assert_eq!(stored.email, regs[writer].email, "{ctx}");
        assert_eq!(stored.phone, regs[writer].phone, "{ctx}");
        for (i, r) in regs.iter().enumerate() {
            let by_email =
                super::visitor_by_email(store, r.email.as_deref().unwrap()).expect("read");
            let by_phone =
                super::visitor_by_phone(store, r.phone.as_deref().unwrap()).expect("read");
            assert_eq!(
                by_email.map(|v| v.id),
                (i == writer).then(|| stored.id.clone()),
                "{ctx}: only the kept email is indexed"
            );
            assert_eq!(
                by_phone.map(|v| v.id),
                (i == writer).then(|| stored.id.clone()),
                "{ctx}: only the kept phone is indexed"
            );
        }
        assert!(
            usernames.insert(stored.username.clone()),
            "{ctx}: guest username {} issued twice",
            stored.username
        );
        assert_consistent(app, &ctx);
    }
}

#[test]
fn one_phone_under_many_tokens_keeps_the_first_token() {
    let app = TestApp::new();
    let store = app.backend();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let phone = format!("+55 51 {round:04}-5555");
        // Odd rounds: a visitor already holds the phone; every racer must land on it.
        let prior = (round % 2 == 1).then(|| {
            let r = Registration {
                phone: Some(phone.clone()),
                ..reg(&format!("orig-{round}"))
            };
            store.register_visitor(&r, now_ms()).expect("prior visitor")
        });
        let before = store.counts().visitors;
        let tokens: Vec<String> = (0..THREADS).map(|i| format!("ph-{round}-{i}")).collect();
        let results = race(THREADS, |i| {
            let r = Registration {
                name: Some(format!("racer {i}")),
                phone: Some(phone.clone()),
                ..reg(&tokens[i])
            };
            store.register_visitor(&r, now_ms())
        });
        let results: Vec<_> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{ctx}: registration failed: {e:?}")))
            .collect();
        let kept = results[0].token.clone();
        for v in &results {
            assert_eq!(v.id, results[0].id, "{ctx}: one visitor holds the phone");
            assert_eq!(v.token, kept, "{ctx}: the phone match keeps the old token");
        }
        let own: Vec<usize> = (0..THREADS)
            .filter(|i| results[*i].token == tokens[*i])
            .collect();
        match &prior {
            Some(p) => {
                assert_eq!(results[0].id, p.id, "{ctx}: the existing visitor");
                assert_eq!(kept, p.token, "{ctx}: the existing visitor's token");
                assert!(own.is_empty(), "{ctx}: no racer's token may replace it");
                assert_eq!(store.counts().visitors, before, "{ctx}: no new visitor");
            }
            None => {
                assert_eq!(
                    own.len(),
                    1,
                    "{ctx}: exactly one racer (the first) created the visitor with its token"
                );
                assert_eq!(
                    store.counts().visitors,
                    before + 1,
                    "{ctx}: one new visitor"
                );
            }
        }
        let holder = super::visitor_by_phone(store, &phone)
            .expect("read")
            .unwrap_or_else(|| panic!("{ctx}: a visitor holds the phone"));
        assert_eq!(holder.id, results[0].id, "{ctx}");
        assert_eq!(holder.token, kept, "{ctx}");
        for t in tokens.iter().filter(|t| **t != kept) {
            assert!(
                store.visitor_by_token(t).expect("read").is_none(),
                "{ctx}: discarded token {t} must not be registered"
            );
        }
        assert_consistent(&app, &ctx);
    }
}

#[test]
fn one_email_under_many_tokens_makes_one_visitor() {
    let app = TestApp::new();
    let store = app.backend();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let email = format!("racer{round}@example.com");
        let tokens: Vec<String> = (0..THREADS).map(|i| format!("em-{round}-{i}")).collect();
        // Every token has room-less history before it registers: it must follow the token moves.
        for t in &tokens {
            visit(store, t, None, "before");
        }
        let before = store.counts().visitors;
        let results = race(THREADS, |i| {
            let r = Registration {
                email: Some(email.clone()),
                ..reg(&tokens[i])
            };
            store.register_visitor(&r, now_ms())
        });
        let results: Vec<_> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{ctx}: registration failed: {e:?}")))
            .collect();
        for (i, v) in results.iter().enumerate() {
            assert_eq!(v.id, results[0].id, "{ctx}: one visitor has the email");
            assert_eq!(
                v.token, tokens[i],
                "{ctx}: the email match takes the caller's token"
            );
        }
        assert_eq!(
            store.counts().visitors,
            before + 1,
            "{ctx}: one new visitor"
        );
        let holder = super::visitor_by_email(store, &email)
            .expect("read")
            .unwrap_or_else(|| panic!("{ctx}: a visitor has the email"));
        assert_eq!(holder.id, results[0].id, "{ctx}");
        assert!(
            tokens.contains(&holder.token),
            "{ctx}: final token {} is no registrant's",
            holder.token
        );
        for t in &tokens {
            let registered = store.visitor_by_token(t).expect("read");
            let visits = store.page_visits_of_token(t).expect("read");
            if *t == holder.token {
                assert_eq!(registered.map(|v| v.id), Some(holder.id.clone()), "{ctx}");
                assert_eq!(
                    visits.len(),
                    THREADS,
                    "{ctx}: every registrant's history follows the token"
                );
                assert!(
                    visits.iter().all(|p| p.expire_at.is_none()),
                    "{ctx}: history of a registered token must not expire"
                );
            } else {
                assert!(registered.is_none(), "{ctx}: token {t} was replaced");
                assert!(visits.is_empty(), "{ctx}: history of {t} moved on");
            }
        }
        assert_consistent(&app, &ctx);
    }
}

#[test]
fn delete_and_register_of_one_token_leave_zero_or_one_visitor() {
    let app = TestApp::new();
    let store = app.backend();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let token = format!("del-{round}");
        let base = store.counts().visitors;
        // Rounds 1, 2 (mod 3): the visitor exists with a room, a message and history; in rounds
        // 1 its room is closed (so deletes without `allow_open` can win too).
        let prior = (round % 3 != 0).then(|| {
            let v = store
                .register_visitor(&reg(&token), now_ms())
                .expect("prior");
            visit(store, &token, None, "roomless");
            let (room, _) = store
                .open_room(
                    &visitord::domain::RoomRequest::new(&token, None, RoomSource::Api),
                    now_ms(),
                )
                .expect("room");
            store
                .add_message(
                    &visitord::domain::MessageInput::new(&token, &room.id, "hello", None),
                    now_ms(),
                )
                .expect("message");
            visit(store, &token, Some(&room.id), "in-room");
            if round % 3 == 1 {
                store.close_room(&token, &room.id, now_ms()).expect("close");
            }
            (v, room)
        });
        let results = race(THREADS, |i| match i % 3 {
            0 => store
                .register_visitor(
                    &Registration {
                        name: Some(format!("racer {i}")),
                        ..reg(&token)
                    },
                    now_ms(),
                )
                .map(|v| (true, v.id)),
            1 => store.delete_visitor(&token, true).map(|id| (false, id)),
            _ => store.delete_visitor(&token, false).map(|id| (false, id)),
        });
        let mut registered = BTreeSet::new();
        let mut deleted = BTreeSet::new();
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok((true, id)) => {
                    registered.insert(id);
                }
                Ok((false, id)) => {
                    assert!(deleted.insert(id), "{ctx}: one visitor deleted twice");
                }
                Err(e) => {
                    let allowed: &[Refusal] = match i % 3 {
                        0 => &[], // a registration is never refused
                        1 => &[Refusal::InvalidToken],
                        _ => &[Refusal::InvalidToken, Refusal::VisitorHasOpenRooms],
                    };
                    assert_refusal(&e, allowed, &ctx);
                }
            }
        }
        if let Some((v, _)) = &prior {
            registered.insert(v.id.clone());
        }
        for id in &deleted {
            assert!(
                registered.contains(id),
                "{ctx}: deleted a visitor no one registered"
            );
            assert!(store.visitor_by_id(id).expect("read").is_none(), "{ctx}");
            assert!(
                store.rooms_of_visitor(id).expect("read").is_empty(),
                "{ctx}"
            );
            assert!(
                super::open_room_of(store, id).expect("read").is_none(),
                "{ctx}"
            );
        }
        let last = store.visitor_by_token(&token).expect("read");
        match &last {
            Some(v) => {
                assert!(!deleted.contains(&v.id), "{ctx}: a deleted visitor is back");
                assert!(registered.contains(&v.id), "{ctx}");
            }
            None => {
                assert!(!deleted.is_empty(), "{ctx}: the visitor vanished undeleted");
                assert!(
                    store.page_visits_of_token(&token).expect("read").is_empty(),
                    "{ctx}: GDPR delete leaves no history of the token"
                );
            }
        }
        assert_eq!(
            store.counts().visitors,
            base + usize::from(last.is_some()),
            "{ctx}: zero or one visitor for the token"
        );
        if let Some((v, room)) = &prior {
            let gone = deleted.contains(&v.id);
            assert_eq!(
                store.room_by_id(&room.id).expect("read").is_none(),
                gone,
                "{ctx}: the room goes with its visitor, and only then"
            );
            assert_eq!(
                store.messages_of_room(&room.id).expect("read").is_empty(),
                gone,
                "{ctx}: messages go with their room"
            );
            assert_eq!(
                store
                    .page_visits_of_room(&room.id)
                    .expect("read")
                    .is_empty(),
                gone,
                "{ctx}: history goes with its room"
            );
        }
        assert_consistent(&app, &ctx);
    }
}

#[test]
fn concurrent_room_opens_make_one_open_room() {
    for app in super::apps() {
        room_open_race(&app);
    }
}

fn room_open_race(app: &TestApp) {
    let store = app.backend();
    for round in 0..ROUNDS {
        let ctx = format!("round {round}");
        let token = format!("room-{round}");
        let v = store
            .register_visitor(
                &Registration {
                    name: Some(format!("Visitor {round}")),
                    ..reg(&token)
                },
                now_ms(),
            )
            .expect("register");
        // Odd rounds: the visitor already has a closed room.
        let closed = (round % 2 == 1).then(|| {
            let (room, _) = store
                .open_room(
                    &visitord::domain::RoomRequest::new(&token, None, RoomSource::Api),
                    now_ms(),
                )
                .expect("open");
            store.close_room(&token, &room.id, now_ms()).expect("close");
            room.id
        });
        visit(store, &token, None, "a");
        visit(store, &token, None, "b");
        // Even threads open without `rid`; odd ones name a client-chosen id, which is refused
        // whatever the race: no room is ever created under it.
        let rids: Vec<String> = (0..THREADS).map(|i| format!("rid-{round}-{i}")).collect();
        let results = race(THREADS, |i| {
            let rid = (i % 2 == 1).then_some(rids[i].as_str());
            store.open_room(
                &visitord::domain::RoomRequest::new(&token, rid, RoomSource::Api),
                now_ms(),
            )
        });
        let mut opened = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            match (i % 2, r) {
                (0, Ok(room)) => opened.push(room),
                (1, Err(StoreError::Refused(Refusal::InvalidRoom))) => {}
                (_, other) => panic!("{ctx}: thread {i}: {other:?}"),
            }
        }
        let results = opened;
        let rid = results[0].0.id.clone();
        for (room, _) in &results {
            assert_eq!(room.id, rid, "{ctx}: every caller gets the same room");
            assert!(room.open, "{ctx}");
            assert_eq!(room.v.id, v.id, "{ctx}");
        }
        assert_eq!(
            results.iter().filter(|(_, new)| *new).count(),
            1,
            "{ctx}: exactly one caller created the room"
        );
        // By its id, the open room is served as it is; a closed one is refused.
        let (again, new) = store
            .open_room(
                &visitord::domain::RoomRequest::new(&token, Some(&rid), RoomSource::Api),
                now_ms(),
            )
            .expect("open by id");
        assert_eq!((again.id.as_str(), new), (rid.as_str(), false), "{ctx}");
        if let Some(closed) = &closed {
            assert!(
                matches!(
                    store.open_room(
                        &visitord::domain::RoomRequest::new(&token, Some(closed), RoomSource::Api),
                        now_ms()
                    ),
                    Err(StoreError::Refused(Refusal::InvalidRoom))
                ),
                "{ctx}: a closed room by id"
            );
        }
        let rooms = store.rooms_of_visitor(&v.id).expect("read");
        assert_eq!(
            rooms.len(),
            1 + usize::from(closed.is_some()),
            "{ctx}: one new room"
        );
        let open: Vec<_> = rooms.iter().filter(|r| r.open).collect();
        assert_eq!(open.len(), 1, "{ctx}: exactly one open room");
        assert_eq!(open[0].id, rid, "{ctx}");
        if let Some(closed) = &closed {
            assert!(rooms.iter().any(|r| r.id == *closed && !r.open), "{ctx}");
        }
        for r in &rids {
            if *r != rid {
                assert!(store.room_by_id(r).expect("read").is_none(), "{ctx}");
            }
        }
        assert_eq!(
            super::open_room_of(store, &v.id)
                .expect("read")
                .map(|r| r.id),
            Some(rid.clone()),
            "{ctx}"
        );
        let after = store
            .visitor_by_token(&token)
            .expect("read")
            .expect("visitor");
        assert_eq!(
            after.last_chat.map(|c| c.rid),
            Some(rid.clone()),
            "{ctx}: lastChat is the new room"
        );
        assert_eq!(
            store.page_visits_of_room(&rid).expect("read").len(),
            2,
            "{ctx}: the new room adopts the room-less history, once"
        );
        assert_consistent(app, &ctx);
    }
}

/// Every visitor write at once on one token (register by token, phone and email, GDPR delete
/// with and without open rooms, open, close, message, page visit): only refusals, and a
/// consistent store after every round.
#[test]
fn mixed_writers_on_one_visitor_keep_the_store_consistent() {
    const MIXED_THREADS: usize = 16;
    const MIXED_ROUNDS: usize = 60;
    let app = TestApp::new();
    let store = app.backend();
    for round in 0..MIXED_ROUNDS {
        let ctx = format!("round {round}");
        let token = format!("mix-{round}");
        let phone = format!("+49 {round:04}");
        let email = format!("mix{round}@example.com");
        store
            .register_visitor(
                &Registration {
                    phone: Some(phone.clone()),
                    email: Some(email.clone()),
                    ..reg(&token)
                },
                now_ms(),
            )
            .expect("register");
        let results = race(MIXED_THREADS, |i| -> Result<(), Refused> {
            for step in 0..3 {
                match (i + step + round) % 8 {
                    0 => {
                        store
                            .register_visitor(
                                &Registration {
                                    name: Some(format!("n{i}")),
                                    ..reg(&token)
                                },
                                now_ms(),
                            )
                            .map_err(never)?;
                    }
                    1 => {
                        // Phone match from another token: lands on the visitor, keeps its token.
                        store
                            .register_visitor(
                                &Registration {
                                    phone: Some(phone.clone()),
                                    ..reg(&format!("mix-{round}-p{i}"))
                                },
                                now_ms(),
                            )
                            .map_err(never)?;
                    }
                    2 => {
                        // Email match from another token: the visitor takes the new token.
                        store
                            .register_visitor(
                                &Registration {
                                    email: Some(email.clone()),
                                    ..reg(&format!("mix-{round}-e{i}"))
                                },
                                now_ms(),
                            )
                            .map_err(never)?;
                    }
                    3 => {
                        let allowed: &'static [Refusal] = if i % 2 == 0 {
                            &[Refusal::InvalidToken]
                        } else {
                            &[Refusal::InvalidToken, Refusal::VisitorHasOpenRooms]
                        };
                        store
                            .delete_visitor(&token, i % 2 == 0)
                            .map_err(|e| (e, allowed))?;
                    }
                    4 => {
                        let (room, _) = store
                            .open_room(
                                &visitord::domain::RoomRequest::new(&token, None, RoomSource::Api),
                                now_ms(),
                            )
                            .map_err(|e| (e, &[Refusal::InvalidToken][..]))?;
                        // Deleted (room gone), or closed, between the two calls.
                        const MSG: &[Refusal] = &[
                            Refusal::InvalidToken,
                            Refusal::InvalidRoom,
                            Refusal::RoomClosed,
                        ];
                        store
                            .add_message(
                                &visitord::domain::MessageInput::new(&token, &room.id, "hi", None),
                                now_ms(),
                            )
                            .map_err(|e| (e, MSG))?;
                    }
                    5 => {
                        if let Some(v) = store.visitor_by_token(&token).map_err(never)? {
                            if let Some(room) = super::open_room_of(store, &v.id).map_err(never)? {
                                // Deleted (and maybe registered again: the room is then
                                // another visitor's), or closed by another racer, since the read.
                                const CLOSE: &[Refusal] = &[
                                    Refusal::InvalidToken,
                                    Refusal::InvalidRoom,
                                    Refusal::RoomClosed,
                                ];
                                store
                                    .close_room(&token, &room.id, now_ms())
                                    .map_err(|e| (e, CLOSE))?;
                            }
                        }
                    }
                    6 => {
                        let rid = store
                            .visitor_by_token(&token)
                            .map_err(never)?
                            .and_then(|v| v.last_chat)
                            .map(|c| c.rid);
                        visit(store, &token, rid.as_deref(), "mixed");
                    }
                    _ => {
                        // The visitor's newest room by id: served only while it is open.
                        let rid = store
                            .visitor_by_token(&token)
                            .map_err(never)?
                            .and_then(|v| v.last_chat)
                            .map(|c| c.rid)
                            .unwrap_or_else(|| format!("mix-{round}-r{i}"));
                        // Deleted or merged away (token), or closed or never opened (room).
                        store
                            .open_room(
                                &visitord::domain::RoomRequest::new(
                                    &token,
                                    Some(&rid),
                                    RoomSource::Api,
                                ),
                                now_ms(),
                            )
                            .map_err(|e| (e, &[Refusal::InvalidToken, Refusal::InvalidRoom][..]))?;
                    }
                }
            }
            Ok(())
        });

        for r in &results {
            if let Err((e, allowed)) = r {
                assert_refusal(e, allowed, &ctx);
            }
        }
        if let Some(v) = store.visitor_by_token(&token).expect("read") {
            let open = store
                .rooms_of_visitor(&v.id)
                .expect("read")
                .into_iter()
                .filter(|r| r.open)
                .count();
            assert!(open <= 1, "{ctx}: {open} open rooms");
        }
        assert_consistent(&app, &ctx);
    }
}

/// A racer's failure and the refusals its operation may give.
type Refused = (StoreError, &'static [Refusal]);

/// An operation that no race may refuse.
fn never(e: StoreError) -> Refused {
    (e, &[])
}

/// The history pruner (every room-less entry of an unregistered token due) against
/// registrations that lift the expiry of their token's entries and new entries: an entry is
/// either pruned or kept for good (no expiry left on a registered token's history, no due
/// entry of an unregistered token left behind, no orphan index row).
#[test]
fn pruning_against_registrations_keeps_history_whole() {
    let app = TestApp::new();
    let store = app.backend();
    for round in 0..ROUNDS / 2 {
        let ctx = format!("round {round}");
        let tokens: Vec<String> = (0..THREADS).map(|i| format!("pr-{round}-{i}")).collect();
        for t in &tokens {
            visit(store, t, None, "one");
            visit(store, t, None, "two");
        }
        // Far enough ahead that every expiring entry is due.
        let later = now_ms() + 31 * DAY_MS;
        let results = race(THREADS, |i| match i % 4 {
            0 => store.prune_history(later, None).map(|_| ()),
            1 => {
                visit(store, &tokens[i], None, "three");
                Ok(())
            }
            _ => store
                .register_visitor(&reg(&tokens[i]), now_ms())
                .map(|_| ()),
        });
        for r in &results {
            if let Err(e) = r {
                panic!("{ctx}: {e:?}");
            }
        }
        for t in &tokens {
            if store.visitor_by_token(t).expect("read").is_some() {
                let visits = store.page_visits_of_token(t).expect("read");
                assert!(
                    visits.iter().all(|p| p.expire_at.is_none()),
                    "{ctx}: a registered token's history still expires"
                );
            }
        }
        // Nothing due is left behind once the pruner runs alone.
        store.prune_history(later, None).expect("prune");
        for t in &tokens {
            if store.visitor_by_token(t).expect("read").is_none() {
                assert!(
                    store.page_visits_of_token(t).expect("read").is_empty(),
                    "{ctx}: an unregistered token's due history survived"
                );
            }
        }
        assert_consistent(&app, &ctx);
    }
}
