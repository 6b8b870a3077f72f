//! visitord: loading an empty tree from rows in key order, a whole node at a time.
//!
//! Inserting a row at a time makes sled append a delta to the row's leaf (cloning the leaf in
//! memory), consolidate the leaf every few deltas and split it when it is full: a copy of a
//! store spent most of its time there. A [`BulkLoad`] instead cuts the rows into full leaves,
//! writes each leaf once, then the index nodes above them level by level, and finally puts the
//! top of the index into the tree's root page. The result is a well-formed B-link tree (each
//! node's `lo`, `hi`, prefix and right-sibling `next` as a split would leave them), which every
//! later read, write, split and merge treats like any other.
//!
//! A node's `next` is the page id of its right sibling, which does not exist yet when the node
//! is complete; the node is written when its sibling is complete, with `next` set to the page
//! id the sibling will get (page ids are handed out in order while no freed page is waiting to
//! be reused: in a fresh tree of a fresh database nothing is). Should the sibling get another
//! id, the node is written again with the right one.
//!
//! The load takes neither sled's write lock nor a log reservation (`pin_log`): it is for a
//! tree that nothing else reads or writes until the load is done (visitord's rewrite fills a
//! fresh copy of the store, which becomes live only after it is complete and flushed), so a
//! crash part-way leaves nothing anyone uses.

use std::num::NonZeroU64;

use crate::pagecache::PageView;
use crate::*;

/// Rows per leaf at most: full, as `Node::should_split` allows before it splits a leaf (which
/// also closes a leaf at the tree's `leaf_bytes` of keys and values once it has more than
/// `node::LEAF_MIN_KEYS` rows).
const LEAF_KEYS: usize = node::LEAF_MAX_KEYS;
/// Children per index node: full, as `Node::should_split` allows before it splits one.
const INDEX_CHILDREN: usize = 256;


/// A load of rows in strictly increasing key order into an empty tree (see the module
/// header): [`BulkLoad::push`] each row, then [`BulkLoad::finish`].
pub struct BulkLoad<'a> {
    tree: &'a Tree,
    root_pid: PageId,
    /// The tree's one (empty) leaf, which becomes the first leaf.
    first_leaf_pid: PageId,
    /// The leaf being filled: its `lo` and rows.
    lo: IVec,
    keys: Vec<IVec>,
    values: Vec<IVec>,
    /// The bytes of the keys and values in `keys` and `values`.
    leaf_bytes: usize,
    leaves: Level,
}

/// The nodes of one level being written left to right.
#[derive(Default)]
struct Level {
    /// A complete node waiting for its right sibling (whose page id is its `next`).
    waiting: Option<Node>,
    /// The last node written: its page id, the sibling page id it was written with, and
    /// itself (to write it again should the sibling get another id).
    last: Option<(PageId, Option<PageId>, Node)>,
    /// `lo` and page id of every node written, in order: the children of the level above.
    children: Vec<(IVec, PageId)>,
}

/// A node of a load: `keys` are whole keys (encoded here against the node's prefix).
fn new_node(lo: IVec, hi: IVec, keys: Vec<IVec>, data: Data) -> Node {
    let prefix_len = if hi.is_empty() {
        0
    } else {
        lo.iter()
            .zip(hi.iter())
            .take_while(|(a, b)| a == b)
            .take(usize::from(u8::max_value()))
            .count()
    };
    let encoded: Vec<IVec> =
        keys.iter().map(|k| IVec::from(&k[prefix_len..])).collect();
    let data = match data {
        Data::Leaf(leaf) => Data::Leaf(node::Leaf { keys: encoded, values: leaf.values }),
        Data::Index(index) => {
            Data::Index(node::Index { keys: encoded, pointers: index.pointers })
        }
    };
    Node {
        prefix_len: u8::try_from(prefix_len).unwrap_or(u8::max_value()),
        next: None,
        merging_child: None,
        merging: false,
        lo,
        hi,
        data,
    }
}

impl Tree {
    /// Starts a [`BulkLoad`] into this tree, which must be empty and must not be read or
    /// written by anyone else until the load is finished.
    pub fn bulk_load(&self) -> Result<BulkLoad<'_>> {
        let guard = pin();
        let root_pid = self.root.load(std::sync::atomic::Ordering::Acquire);
        let root = self.view_for_pid(root_pid, &guard)?;
        let first_leaf_pid = match root.as_ref().and_then(|r| r.data.index_ref()) {
            Some(index) if index.pointers.len() == 1 => index.pointers[0],
            _ => {
                return Err(Error::Unsupported(
                    "a bulk load needs an empty tree".to_string(),
                ));
            }
        };
        let leaf = self.view_for_pid(first_leaf_pid, &guard)?;
        if !matches!(leaf.as_ref().and_then(|l| l.data.leaf_ref()), Some(l) if l.keys.is_empty())
        {
            return Err(Error::Unsupported(
                "a bulk load needs an empty tree".to_string(),
            ));
        }
        drop(root);
        drop(leaf);
        drop(guard);
        Ok(BulkLoad {
            tree: self,
            root_pid,
            first_leaf_pid,
            lo: IVec::default(),
            keys: Vec::with_capacity(LEAF_KEYS),
            values: Vec::with_capacity(LEAF_KEYS),
            leaf_bytes: 0,
            leaves: Level::default(),
        })
    }
}

impl BulkLoad<'_> {
    /// Adds a row; its key must be greater than every key added before.
    pub fn push(&mut self, key: IVec, value: IVec) -> Result<()> {
        if let Some(last) = self.keys.last() {
            if key <= *last {
                return Err(Error::Unsupported(
                    "a bulk load's keys must be strictly increasing".to_string(),
                ));
            }
        }
        let row_bytes = key.len() + value.len();
        let full = self.keys.len() == LEAF_KEYS
            || (self.keys.len() >= node::LEAF_MIN_KEYS
                && self.leaf_bytes.saturating_add(row_bytes)
                    > self.tree.leaf_bytes());
        if full {
            self.leaf_bytes = 0;
            // the leaf is full: its `hi` is this key, the `lo` of the next
            let keys = std::mem::take(&mut self.keys);
            let values = std::mem::take(&mut self.values);
            let lo = std::mem::replace(&mut self.lo, key.clone());
            let leaf = new_node(
                lo,
                key.clone(),
                keys,
                Data::Leaf(node::Leaf { keys: vec![], values }),
            );
            self.add(leaf, true)?;
        }
        self.leaf_bytes += row_bytes;
        self.keys.push(key);
        self.values.push(value);
        Ok(())
    }

    /// Writes the last leaf and the index above the leaves; the tree then holds every row.
    pub fn finish(mut self) -> Result<()> {
        if self.keys.is_empty() && self.leaves.children.is_empty() {
            return Ok(());
        }
        let keys = std::mem::take(&mut self.keys);
        let values = std::mem::take(&mut self.values);
        let lo = std::mem::take(&mut self.lo);
        let leaf = new_node(
            lo,
            IVec::default(),
            keys,
            Data::Leaf(node::Leaf { keys: vec![], values }),
        );
        self.add(leaf, true)?;
        self.end_level(true)?;
        let mut children = std::mem::take(&mut self.leaves.children);
        // index levels until one node holds every child: that node is the root
        while children.len() > INDEX_CHILDREN {
            let mut level = Level::default();
            let groups: Vec<Vec<(IVec, PageId)>> =
                children.chunks(INDEX_CHILDREN).map(<[_]>::to_vec).collect();
            for (i, group) in groups.iter().enumerate() {
                let hi = groups
                    .get(i + 1)
                    .map(|next| next[0].0.clone())
                    .unwrap_or_default();
                let node = index_node(group, hi);
                self.write_in_level(&mut level, node, false)?;
            }
            self.end_level_of(&mut level, false)?;
            children = level.children;
        }
        let root = index_node(&children, IVec::default());
        self.replace(self.root_pid, root)?;
        Ok(())
    }

    /// Adds a complete node to the leaf level.
    fn add(&mut self, node: Node, leaf_level: bool) -> Result<()> {
        let mut level = std::mem::take(&mut self.leaves);
        let result = self.write_in_level(&mut level, node, leaf_level);
        self.leaves = level;
        result
    }

    fn end_level(&mut self, leaf_level: bool) -> Result<()> {
        let mut level = std::mem::take(&mut self.leaves);
        let result = self.end_level_of(&mut level, leaf_level);
        self.leaves = level;
        result
    }

    /// `node` is complete: the node waiting for it is written (its `next` is the page id
    /// `node` will get), and `node` waits for its own right sibling.
    fn write_in_level(
        &mut self,
        level: &mut Level,
        node: Node,
        leaf_level: bool,
    ) -> Result<()> {
        if let Some(waiting) = level.waiting.take() {
            let into_first_leaf = leaf_level && level.children.is_empty();
            let sibling = self.next_pid_after(into_first_leaf);
            self.write(level, waiting, sibling, into_first_leaf)?;
        }
        level.waiting = Some(node);
        Ok(())
    }

    /// Writes the level's last node (no right sibling).
    fn end_level_of(&mut self, level: &mut Level, leaf_level: bool) -> Result<()> {
        if let Some(waiting) = level.waiting.take() {
            let into_first_leaf = leaf_level && level.children.is_empty();
            self.write(level, waiting, None, into_first_leaf)?;
        }
        Ok(())
    }

    /// The page id the next allocation will get after this write (`None` when a freed page
    /// may be reused: then the sibling is linked by writing the node again).
    fn next_pid_after(&self, this_write_replaces: bool) -> Option<PageId> {
        let next = self.tree.context.pagecache.next_fresh_pid()?;
        if this_write_replaces { Some(next) } else { Some(next + 1) }
    }

    fn write(
        &mut self,
        level: &mut Level,
        mut node: Node,
        sibling: Option<PageId>,
        into_first_leaf: bool,
    ) -> Result<()> {
        node.next = sibling.and_then(NonZeroU64::new);
        let lo = node.lo.clone();
        let kept = node.clone();
        let pid = if into_first_leaf {
            self.replace(self.first_leaf_pid, node)?;
            self.first_leaf_pid
        } else {
            // Pinned for this write only: a thread's epoch moves on only while it holds no
            // pin, and pages replaced or evicted from the cache are freed only once every
            // thread has moved on (a pin held across the load kept all of them: 7 GB for a
            // 3.5 GB store).
            let guard = pin();
            let (pid, _) = self.tree.context.pagecache.allocate(node, &guard)?;
            pid
        };
        // the node before this one was written with a guess of this page id
        if let Some((last_pid, guessed, mut last)) = level.last.take() {
            if guessed != Some(pid) {
                last.next = NonZeroU64::new(pid);
                self.replace(last_pid, last)?;
            }
        }
        level.last = Some((pid, sibling, kept));
        level.children.push((lo, pid));
        Ok(())
    }

    /// Puts `node` into page `pid` (which nothing else writes during the load).
    fn replace(&self, pid: PageId, node: Node) -> Result<()> {
        let pagecache = &self.tree.context.pagecache;
        let guard = pin();
        let old: PageView<'_> = match pagecache.get(pid, &guard)? {
            Some(view) => view.0,
            None => {
                return Err(Error::ReportableBug(format!(
                    "bulk load: page {} is missing",
                    pid
                )));
            }
        };
        match pagecache.replace(pid, old, node, &guard)? {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::ReportableBug(format!(
                "bulk load: page {} changed under the load",
                pid
            ))),
        }
    }
}

/// An index node over `children` (`lo`, page id), up to `hi`.
fn index_node(children: &[(IVec, PageId)], hi: IVec) -> Node {
    let lo = children.first().map(|c| c.0.clone()).unwrap_or_default();
    let keys = children.iter().map(|c| c.0.clone()).collect();
    let pointers = children.iter().map(|c| c.1).collect();
    new_node(lo, hi, keys, Data::Index(node::Index { keys: vec![], pointers }))
}
