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

crate::rc_like_lib!(GengcLib, "gengc", Gc, collect = gengc::collect(), manual = None, candidate = false);
