//! Registrations of new visitors, combined: concurrent `POST livechat/visitor` requests that
//! each create a visitor share one transaction (see [`super::combine`]).
//!
//! A batch is taken in arrival order. A registration that makes a new visitor (its token, and
//! its phone or email as the merge policy allows, match no stored visitor) is planned against
//! the store as it is and joins the *group*: visitors written together, in one transaction,
//! with the guest counter carried from one to the next. The plans of a group are independent
//! of each other only if no two of them share a token, an email or a phone, so a registration
//! that shares one with the group first has the group written, then is planned against the
//! store that now holds it. Any registration that is not a new visitor (an update, a merge by
//! phone or email), and one whose search rows are not a plain new pending row, is written
//! alone ([`Store::register_alone`]) after the group before it: the answers are exactly those
//! of the registrations applied one at a time in arrival order.
//!
//! What the group saves is per transaction and per lock hand-over: under load a transaction
//! carries tens of visitors, and the keys they share (the guest counter, the visitor count, the
//! day's counter) are written once per transaction instead of once per visitor.

use super::pending::IndexWrites;
use super::visitors::new_visitor_username;
use super::{combine, keys, Result, Store, StoreError};
use crate::domain::rules::{self, Target};
use crate::domain::Registration;
use crate::model::ids::new_id;
use crate::model::{PageVisit, Visitor};
use crate::time::Millis;
use std::collections::HashSet;

/// A registration waiting for the writer lock.
pub(super) struct QueuedRegistration {
    reg: Registration,
    now: Millis,
}

/// A new visitor planned for the group's transaction.
struct NewVisitor {
    /// Its request's place in the batch.
    at: usize,
    visitor: Visitor,
    /// Its pending search row.
    search: IndexWrites,
    /// Room-less history of its token that stops expiring now that the token is registered.
    expiring: Vec<PageVisit>,
    /// The guest counter after it, when it moved the counter.
    raise_to: Option<u64>,
}

/// The new visitors planned so far, not yet written.
#[derive(Default)]
struct Group {
    planned: Vec<NewVisitor>,
    /// The guest counter as the planned visitors leave it (`None`: as stored).
    guest_counter: Option<u64>,
    /// Tokens, emails and phones of the planned visitors (and of their requests).
    tokens: HashSet<String>,
    emails: HashSet<String>,
    phones: HashSet<String>,
}

impl Group {
    /// Whether `reg` could match, or collide with, a visitor of the group.
    fn shares_a_key_with(&self, reg: &Registration) -> bool {
        self.tokens.contains(&reg.token)
            || reg.email.as_ref().is_some_and(|e| self.emails.contains(e))
            || reg.phone.as_ref().is_some_and(|p| self.phones.contains(p))
    }

    /// Adds a planned visitor and the keys of its request and of its record.
    fn add(&mut self, reg: &Registration, plan: NewVisitor) {
        let v = &plan.visitor;
        for token in [&reg.token, &v.token] {
            self.tokens.insert(token.clone());
        }
        for email in [&reg.email, &v.email].into_iter().flatten() {
            self.emails.insert(email.clone());
        }
        for phone in [&reg.phone, &v.phone].into_iter().flatten() {
            self.phones.insert(phone.clone());
        }
        if plan.raise_to.is_some() {
            self.guest_counter = plan.raise_to;
        }
        self.planned.push(plan);
    }
}

impl Store {
    /// Queues a registration and returns its answer, written with whatever registrations are
    /// queued when the writer lock is next taken.
    pub(super) fn register_combined(&self, reg: &Registration, now: Millis) -> Result<Visitor> {
        let request = QueuedRegistration {
            reg: reg.clone(),
            now,
        };
        self.inner
            .registration_writes
            .submit(&self.inner.write_lock, request, |batch| {
                self.register_batch(batch)
            })
    }

    /// Writes a batch of registrations (the writer lock is held); one answer per request, in
    /// order. See the module doc.
    fn register_batch(&self, batch: &[&QueuedRegistration]) -> Vec<Result<Visitor>> {
        let mut answers: Vec<Option<Result<Visitor>>> = batch.iter().map(|_| None).collect();
        let mut group = Group::default();
        for (at, queued) in batch.iter().enumerate() {
            if group.shares_a_key_with(&queued.reg) {
                self.write_group(std::mem::take(&mut group), &mut answers);
            }
            match self.plan_new_visitor(at, queued, &group) {
                Ok(Some(plan)) => group.add(&queued.reg, plan),
                Ok(None) => {
                    self.write_group(std::mem::take(&mut group), &mut answers);
                    answers[at] = Some(self.register_alone(&queued.reg, queued.now));
                }
                Err(e) => answers[at] = Some(Err(e)),
            }
        }
        self.write_group(group, &mut answers);
        answers
            .into_iter()
            .map(|answer| {
                answer.unwrap_or(Err(StoreError::Invariant(
                    "a registration of a batch was neither written nor refused",
                )))
            })
            .collect()
    }

    /// The new visitor `queued` makes, planned against the store and `group`'s guest counter;
    /// `None` when it is not a new visitor whose only search write is its pending row (it is
    /// then written alone). An error is the request's answer.
    fn plan_new_visitor(
        &self,
        at: usize,
        queued: &QueuedRegistration,
        group: &Group,
    ) -> Result<Option<NewVisitor>> {
        let reg = &queued.reg;
        if !matches!(self.target_of(reg)?, Target::New) {
            return Ok(None);
        }
        let mut visitor = rules::new_visitor(reg, new_id(), self.next_seq()?, queued.now);
        rules::register_into(&mut visitor, reg, queued.now)?;
        let counter = match group.guest_counter {
            Some(counter) => counter,
            None => self.guest_counter()?,
        };
        let (username, raise_to) = new_visitor_username(reg, counter);
        visitor.username = username;
        let search = self.plan_search(None, Some(&visitor))?;
        if !search.is_new_pending_row() {
            return Ok(None);
        }
        Ok(Some(NewVisitor {
            at,
            expiring: self.expiring_visits_of(&visitor.token)?,
            visitor,
            search,
            raise_to,
        }))
    }

    /// Writes the group's visitors in one transaction and leaves each one's answer.
    fn write_group(&self, mut group: Group, answers: &mut [Option<Result<Visitor>>]) {
        if group.planned.is_empty() {
            return;
        }
        let mut search = IndexWrites::default();
        for plan in &mut group.planned {
            search.add_new_pending_row(std::mem::take(&mut plan.search));
        }
        let written = self.commit_search(&search, || {
            self.transact(|tx| {
                for plan in &group.planned {
                    if let Some(n) = plan.raise_to {
                        tx.meta
                            .insert_blind(keys::meta::GUEST_COUNTER, &keys::u64_value(n)[..])?;
                    }
                    super::visitor_rows::write_visitor(tx, None, &plan.visitor)?;
                    for visit in &plan.expiring {
                        super::history::lift_expiry(tx, visit)?;
                    }
                }
                super::pending::apply(tx, &search)?;
                Ok(())
            })
        });
        match written {
            Ok(()) => {
                for plan in group.planned {
                    answers[plan.at] = Some(Ok(plan.visitor));
                }
            }
            Err(e) => {
                let failures = combine::for_each(e, group.planned.len());
                for (plan, failure) in group.planned.iter().zip(failures) {
                    answers[plan.at] = Some(failure);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inputs::{CustomFieldWrite, MergePolicy};
    use crate::domain::PageVisitInput;
    use crate::store::{reopen, temp_config};

    fn reg(token: &str) -> Registration {
        Registration {
            token: token.into(),
            name: Some(format!("Name of {token}")),
            ..Default::default()
        }
    }

    fn with_email(token: &str, email: &str) -> Registration {
        Registration {
            email: Some(email.into()),
            merge: MergePolicy {
                phone: true,
                email: true,
            },
            ..reg(token)
        }
    }

    fn too_many_fields(token: &str) -> Registration {
        let custom_fields = (0..=crate::model::limits::CUSTOM_FIELDS)
            .map(|i| CustomFieldWrite {
                key: format!("f{i}"),
                value: "v".into(),
                overwrite: true,
            })
            .collect();
        Registration {
            custom_fields,
            ..reg(token)
        }
    }

    /// What a visitor's answer says, without its random `_id` and its write-order number.
    fn shape(answer: &Result<Visitor>) -> String {
        match answer {
            Ok(v) => format!(
                "{} {} {:?} {:?} {:?} ts={} fields={}",
                v.token,
                v.username,
                v.name,
                v.email,
                v.phone,
                v.ts,
                v.livechat_data.len()
            ),
            Err(e) => format!("error: {e}"),
        }
    }

    /// A mix that exercises every way out of the group: the same token twice (an update), an
    /// email match (a merge taking the new token), a phone match, a refused write, a client
    /// that names itself `guest-N`, and an existing visitor in the middle.
    fn mix() -> Vec<Registration> {
        vec![
            reg("a"),
            reg("b"),
            Registration {
                name: Some("A again".into()),
                ..reg("a")
            },
            with_email("c", "c@example.com"),
            with_email("c2", "c@example.com"),
            too_many_fields("d"),
            Registration {
                phone: Some("+1 555".into()),
                merge: MergePolicy {
                    phone: true,
                    email: false,
                },
                ..reg("e")
            },
            Registration {
                phone: Some("+1 555".into()),
                merge: MergePolicy {
                    phone: true,
                    email: false,
                },
                ..reg("e2")
            },
            Registration {
                username: Some("guest-40".into()),
                ..reg("f")
            },
            reg("g"),
            reg("existing"),
            reg("h"),
        ]
    }

    /// One batch answers exactly as the same registrations one at a time, in order, and leaves
    /// the same store: names, guest counter, counts, a clean `check`, after a reopen too.
    #[test]
    fn a_batch_answers_and_writes_as_its_registrations_one_at_a_time() {
        let run = |batched: bool| {
            let (dir, config) = temp_config();
            let s = Store::open(&config, Vec::new()).unwrap();
            s.register_visitor(&reg("existing"), 1).unwrap();
            // Room-less history of "g" before it registers: its expiry is lifted.
            let visit = PageVisitInput::url_change("g", None, "t", "https://x/");
            s.record_page_visit(&visit, 2, Some(crate::time::DAY_MS))
                .unwrap();
            let queued: Vec<QueuedRegistration> = mix()
                .into_iter()
                .map(|reg| QueuedRegistration { reg, now: 10 })
                .collect();
            let answers: Vec<Result<Visitor>> = if batched {
                let refs: Vec<&QueuedRegistration> = queued.iter().collect();
                let _writer = s.lock();
                s.register_batch(&refs)
            } else {
                let _writer = s.lock();
                queued
                    .iter()
                    .map(|q| s.register_alone(&q.reg, q.now))
                    .collect()
            };
            drop(s);
            let s = reopen(&config);
            assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
            let stored: Vec<String> = ["a", "b", "c", "c2", "d", "e", "e2", "f", "g", "h"]
                .iter()
                .map(|t| {
                    format!(
                        "{t}: {:?}",
                        s.visitor_by_token(t).unwrap().map(|v| v.username)
                    )
                })
                .collect();
            let history = s.page_visits_of_token("g").unwrap();
            let state = (
                stored,
                s.guest_counter().unwrap(),
                s.counts().visitors,
                history.iter().map(|p| p.expire_at).collect::<Vec<_>>(),
            );
            drop(dir);
            (answers.iter().map(shape).collect::<Vec<_>>(), state)
        };
        let (one_at_a_time, state_alone) = run(false);
        let (batched, state_batched) = run(true);
        assert_eq!(batched, one_at_a_time);
        assert_eq!(state_batched, state_alone);
        // What one at a time gives, spelled out: the update keeps "a"'s guest name, the email
        // match moves "c"'s visitor to "c2", the phone match keeps "e"'s token, the refused
        // write takes no number, a client's guest-40 moves the counter to 40.
        assert_eq!(
            &batched[..3],
            [
                "a guest-2 Some(\"Name of a\") None None ts=10 fields=0",
                "b guest-3 Some(\"Name of b\") None None ts=10 fields=0",
                "a guest-2 Some(\"A again\") None None ts=10 fields=0",
            ]
        );
        assert!(batched[4].starts_with("c2 guest-4 "), "{}", batched[4]);
        assert_eq!(
            batched[5], "error: the visitor would have too many custom fields",
            "{batched:#?}"
        );
        assert!(batched[7].starts_with("e guest-5 "), "{}", batched[7]);
        assert!(batched[8].starts_with("f guest-40 "), "{}", batched[8]);
        assert!(batched[9].starts_with("g guest-41 "), "{}", batched[9]);
        assert!(batched[11].starts_with("h guest-42 "), "{}", batched[11]);
        assert_eq!(state_batched.1, 42);
        assert_eq!(state_batched.3, vec![None], "g's history no longer expires");
    }

    /// Threads registering at once (so that batches form): every new visitor gets its own
    /// guest number, none is skipped, the counter ends at the last, and the store checks clean.
    #[test]
    fn concurrent_registrations_get_every_guest_number_once() {
        const THREADS: usize = 8;
        const EACH: usize = 40;
        let (_dir, s) = crate::store::temp_store(&[]);
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let s = &s;
                scope.spawn(move || {
                    for i in 0..EACH {
                        s.register_visitor(&reg(&format!("t{t}-{i}")), 5).unwrap();
                    }
                });
            }
        });
        let mut numbers = Vec::new();
        s.for_each_visitor(|v| {
            numbers.push(crate::domain::rules::guest_number(&v.username).unwrap());
            true
        })
        .unwrap();
        numbers.sort_unstable();
        let expected: Vec<u64> = (1..=(THREADS * EACH) as u64).collect();
        assert_eq!(numbers, expected);
        assert_eq!(s.guest_counter().unwrap(), (THREADS * EACH) as u64);
        assert_eq!(s.counts().visitors, THREADS * EACH);
        assert_eq!(s.check().unwrap().problems, Vec::<String>::new());
    }
}
