//! The tree table: every sled tree of the store, declared once.
//!
//! [`trees!`] derives from one list the [`Trees`] struct (the open trees by name), opening,
//! [`Trees::all`] (the order transactions see them in), the transactional view [`Tx`] (its
//! fields bound by name from that same order, so they cannot be mixed up), lookup by name,
//! [`TREES`] with each tree's [`Role`], from which the consistency checker takes the derived
//! trees it recomputes and tests take the index counts, and [`leaf_bytes`], the bound on each
//! tree's leaves that [`open_tree`] sets.

use super::buckets::Hasher;
use sled::transaction::TransactionalTree;
use sled::{Db, Tree};

/// What a tree holds, which decides how `check`, `repair` and the tests treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Named values: counters, secrets, the schema version (see [`super::keys::meta`]).
    Meta,
    /// Records: the truth every other tree is derived from.
    Records,
    /// Derived from records: `check` recomputes every row, `repair` rewrites the tree.
    Index,
    /// Derived chunk counts of the search index: checked and rebuilt with `gram_postings`.
    SearchCounts,
    /// The pending rows of the search index: with `gram_postings`, they hold what the records
    /// derive (see [`super::pending`]); checked and rebuilt with it.
    SearchPending,
}

/// Declares the trees (doc, name, role, and for some a bound on their leaves' bytes:
/// `leaves LEAF_BYTES`) and derives everything that lists them.
macro_rules! trees {
    ($( $(#[doc = $doc:literal])* $name:ident : $role:ident $(leaves $bytes:expr)?, )*) => {
        /// The trees, named `<key>_<value>` after what they map.
        #[derive(Clone)]
        pub(super) struct Trees {
            $( $(#[doc = $doc])* pub(super) $name: Tree, )*
        }

        /// The trees inside one transaction, by name.
        pub(super) struct Tx<'a> {
            $( pub(super) $name: &'a TransactionalTree, )*
            /// Places values in `visitorkey_seqs`.
            pub(super) hasher: &'a Hasher,
        }

        /// Every tree by name, with its role, in the order of [`Trees::all`].
        pub const TREES: &[(&str, Role)] = &[ $( (stringify!($name), Role::$role), )* ];

        impl Trees {
            /// Opens (creating when missing) every tree of `db` ([`open_tree`]).
            pub(super) fn open(db: &Db) -> sled::Result<Trees> {
                Ok(Trees { $( $name: open_tree(db, stringify!($name))?, )* })
            }

            /// All trees, in the order of [`TREES`] (and of [`Tx::new`]'s view).
            pub(super) fn all(&self) -> [Tree; TREE_COUNT] {
                [ $( self.$name.clone(), )* ]
            }

            /// The tree named `name`.
            pub(super) fn by_name(&self, name: &str) -> Option<&Tree> {
                match name {
                    $( stringify!($name) => Some(&self.$name), )*
                    _ => None,
                }
            }
        }

        /// The bound on the bytes of `name`'s leaves: the `leaves` of its declaration, else
        /// `usize::MAX` (none; a leaf holds 32 keys of any size). See [`LEAF_BYTES`].
        pub fn leaf_bytes(name: &[u8]) -> usize {
            $( $( if name == stringify!($name).as_bytes() {
                return $bytes;
            } )? )*
            usize::MAX
        }

        impl<'a> Tx<'a> {
            /// Names the views of a transaction over [`Trees::all`].
            pub(super) fn new(views: &'a [TransactionalTree; TREE_COUNT], hasher: &'a Hasher) -> Tx<'a> {
                let [ $( $name, )* ] = views;
                Tx { $( $name, )* hasher }
            }
        }
    };
}

/// How many trees the store has.
pub const TREE_COUNT: usize = TREES.len();

/// The most bytes of keys and values a leaf holds in the trees declared with `leaves
/// LEAF_BYTES` ([`leaf_bytes`]). sled decodes a leaf read from disk whole (every key and value
/// copied out) to answer one lookup, so on a store larger than its cache a point read costs
/// what its leaf weighs (32 visitor records: several KB), and every write of a leaf copies it in
/// memory and rewrites it whole every tenth change. Bounded: the trees a request reads or
/// writes single keys of (a visitor and its hash bucket, a room, a user, a session, a search's
/// posting chunks). Not bounded: the navigation history and the messages, read in runs,
/// written at their end, and most of a tracked site's pages (bounded, the history's records
/// took ~3 times the pages, and sled keeps memory for every page). `docs/benchmarks.md`,
/// "Leaves bounded by bytes".
pub const LEAF_BYTES: usize = 2048;

/// Opens (creating when missing) the tree `name` of `db`, its leaves bounded as [`leaf_bytes`]
/// says. Every tree of a store and of a rewrite's copy is opened through this (the bound is
/// not stored in the tree: a handle opened without it would bulk-load and split by key count).
pub(super) fn open_tree(db: &Db, name: impl AsRef<[u8]>) -> sled::Result<Tree> {
    let tree = db.open_tree(name.as_ref())?;
    tree.set_leaf_bytes(leaf_bytes(name.as_ref()));
    Ok(tree)
}

trees! {
    /// name → value: `schema_version` (u64 BE), `guest_counter` (u64 BE, last `guest-N` issued),
    /// `visitor_count` (u64 BE), `search_fields` (the custom field ids the search index holds),
    /// `hash_key` (the secret of [`buckets::Hasher`], made with the store), `seq_floor` (u64 BE,
    /// added to sled's ids, see [`compact`]), `erase_pending_since` (u64 BE ms: the oldest
    /// erasure not yet rewritten off the disk, see [`rewrite`]; absent when none) and
    /// `erase_rewriting_since` (u64 BE ms: the same, moved aside while a rewrite runs).
    meta: Meta,
    /// visitor seq (u64 BE) → compact bincode [`crate::model::Visitor`] ([`encode_compact`]).
    /// Keyed by seq so that a search posting resolves to its record in one read.
    visitorseq_visitor: Records leaves LEAF_BYTES,
    /// `ns bucket` → sorted `(tag, seq)` entries: the `_id`, token, email and phone indexes,
    /// packed into hash buckets (see [`buckets`]).
    visitorkey_seqs: Index leaves LEAF_BYTES,
    /// created `time_seq` → empty: every visitor in creation order (the seq is the key's tail).
    visitortime_seq: Index,
    /// room id → bincode [`crate::model::Room`].
    roomid_room: Records leaves LEAF_BYTES,
    /// visitor id → id of its one open room.
    visitorid_openroomid: Index,
    /// visitor id `0xFF` room `time_seq` room id → empty: a visitor's rooms in creation order.
    visitorid_roomtime: Index,
    /// message id → bincode [`crate::model::Message`].
    msgid_message: Records,
    /// room id `0xFF` message `time_seq` → message id.
    roomid_msgtime_msgid: Index,
    /// entry key ([`super::keys::nav_key`]: time, then id) → compact bincode
    /// [`crate::model::PageVisit`] ([`super::history::encode_record`]): all history in time
    /// order (retention prunes from the front).
    navkey_pagevisit: Records,
    /// room id `0xFF` entry `time_seq` → entry key: a room's navigation history.
    roomid_navtime_navkey: Index,
    /// visitor token `0xFF` entry `time_seq` → entry key: a token's history, rooms or not.
    token_navtime_navkey: Index,
    /// expiry `time_seq` → entry key: room-less entries of unregistered tokens, for the TTL.
    navexpiry_navkey: Index,
    /// namespace byte, n-gram `0xFF` first seq (u64 BE) → a chunk of visitor seqs: the search
    /// index (see [`search`] for what is indexed, [`postings`] for the chunks).
    gram_postings: Index leaves LEAF_BYTES,
    /// posting-list prefix (`ns gram 0xFF`) → how many chunks the list has (u64 BE); absent
    /// for an empty list. Lets a search start from its rarest trigram, and changes only when a
    /// chunk is added or removed (about one append in 128).
    gram_count: SearchCounts,
    /// visitor seq (u64 BE) → the visitor's trigram set: its posting-list prefixes
    /// (`ns gram 0xFF` each) concatenated in ascending order. The search index's pending list:
    /// a seq here is on no posting list in `gram_postings` (see [`pending`]); searches read
    /// these rows too (through a mirror in memory), a merge moves them into the chunks.
    gram_pending: SearchPending,
    /// user id → bincode [`crate::model::User`].
    userid_user: Records leaves LEAF_BYTES,
    /// lower-cased username → user id. Unique.
    username_userid: Index,
    /// SHA-256 of a login token (32 bytes) → bincode [`crate::model::Session`]. Tokens
    /// themselves are never stored.
    tokenhash_session: Records leaves LEAF_BYTES,
    /// user id `0xFF` token hash → empty: a user's sessions, for revocation.
    userid_tokenhash: Index,
    /// UTC day (u32 BE) + kind (`v` visitors created, `p` navigation entries) → count (u64 BE),
    /// absent when 0: the overview's per-day counters (see [`super::stats`]).
    day_count: Index,
    /// UTC day (u32 BE) + an entry's `href` → how many entries of that day have it (u64 BE),
    /// absent when 0: the overview's most visited pages (see [`super::stats`]).
    dayhref_count: Index,
}

/// The derived trees (role [`Role::Index`]), which `check` recomputes and `repair` rewrites.
pub fn derived() -> impl Iterator<Item = &'static str> {
    TREES
        .iter()
        .filter(|(_, role)| *role == Role::Index)
        .map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tree_is_listed_once_and_opened_by_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let trees = Trees::open(&db).unwrap();
        let names: Vec<String> = trees
            .all()
            .iter()
            .map(|t| String::from_utf8_lossy(&t.name()).into_owned())
            .collect();
        let listed: Vec<&str> = TREES.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, listed);
        let mut unique = listed.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), TREE_COUNT);
        for name in listed {
            assert_eq!(
                trees.by_name(name).map(|t| t.name()),
                Some(name.as_bytes().into())
            );
        }
        assert!(trees.by_name("nope").is_none());
    }

    #[test]
    fn leaves_of_bounded_trees_hold_at_most_leaf_bytes_by_bulk_load_and_by_inserts() {
        // 3,200 rows of 200-byte values (640,000 bytes): 32 to a leaf where leaves are not
        // bounded by bytes (100 leaves), at least 312 where they hold 2,048 bytes at most.
        let rows = 3_200u64;
        let value = vec![7u8; 200];
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        let added = |name: &str, bulk: bool| -> u64 {
            let tree = open_tree(&db, name).unwrap();
            let before = db.pages_in_use();
            if bulk {
                let mut load = tree.bulk_load().unwrap();
                for i in 0..rows {
                    load.push(i.to_be_bytes().to_vec().into(), value.clone().into())
                        .unwrap();
                }
                load.finish().unwrap();
            } else {
                for i in 0..rows {
                    tree.insert(i.to_be_bytes(), value.clone()).unwrap();
                }
            }
            assert_eq!(tree.len() as u64, rows, "{name}");
            db.pages_in_use() - before
        };
        let least = rows * 200 / LEAF_BYTES as u64;
        assert_eq!(leaf_bytes(b"visitorseq_visitor"), LEAF_BYTES);
        assert_eq!(leaf_bytes(b"navkey_pagevisit"), usize::MAX);
        for bulk in [true, false] {
            let bounded = added(
                if bulk {
                    "visitorseq_visitor"
                } else {
                    "roomid_room"
                },
                bulk,
            );
            let unbounded = added(
                if bulk {
                    "navkey_pagevisit"
                } else {
                    "msgid_message"
                },
                bulk,
            );
            assert!(
                (least..rows / 4).contains(&bounded),
                "bulk {bulk}: {bounded} pages for a bounded tree"
            );
            assert!(unbounded <= rows / 32 + 2, "bulk {bulk}: {unbounded} pages");
        }
    }
}
