//! gengc: `#[derive(Trace)]` node types; automatic collection with the
//! default thresholds (2000, 10, 10).

use gengc::{Gc, Trace};
use std::cell::RefCell;

pub struct GengcLib;

#[derive(Trace)]
pub struct Leaf(pub [u64; 5]);

/// `8 * N` bytes, no pointer: untracked.
#[derive(Trace)]
pub struct Blob<const N: usize>(pub [u64; N]);

#[derive(Trace)]
pub struct TreeNode {
    left: Option<Gc<TreeNode>>,
    right: Option<Gc<TreeNode>>,
    v: u64,
}

#[derive(Trace)]
pub struct LinkNode {
    next: RefCell<Option<Gc<LinkNode>>>,
    prev: RefCell<Option<Gc<LinkNode>>>,
    v: u64,
}

#[derive(Trace)]
pub struct PTreeNode {
    parent: RefCell<Option<Gc<PTreeNode>>>,
    left: Option<Gc<PTreeNode>>,
    right: Option<Gc<PTreeNode>>,
}

#[derive(Trace)]
pub struct MultiNode {
    refs: RefCell<Vec<Gc<MultiNode>>>,
}

#[derive(Trace)]
pub struct GraphNode {
    label: String,
    edges: RefCell<Vec<Gc<GraphNode>>>,
}

// Candidates: a full collection reads the young objects and the suspects
// (old objects whose count dropped since the last one) and what they lead
// to, so `full_collect_per_object` drops a clone of every handle first.
crate::rc_like_lib!(GengcLib, "gengc", Gc, collect = gengc::collect(), manual = None, candidate = true);

/// gengc with the immutable `Tree` node marked `#[gc(acyclic)]` (untracked:
/// no collection ever reads it); every other node type is the default one.
/// Only the tree workloads run it, beside the default (tracked) tree.
pub mod acyclic {
    pub use super::{Blob, GraphNode, Leaf, LinkNode, MultiNode, PTreeNode};
    use gengc::{Gc, Trace};
    use std::cell::RefCell;

    pub struct GengcAcyclicLib;

    #[derive(Trace)]
    #[gc(acyclic)]
    pub struct TreeNode {
        left: Option<Gc<TreeNode>>,
        right: Option<Gc<TreeNode>>,
        v: u64,
    }

    crate::rc_like_lib!(GengcAcyclicLib, "gengc-acyclic", Gc, collect = gengc::collect(), manual = None, candidate = false);
}
