//! dumpster 2.x, `dumpster::unsync`, with its default collect condition
//! (collect when more handles were dropped since the last collection than
//! exist). `collect` examines the dirty set (allocations whose count was
//! decremented to a non-zero value) and what it reaches.

use dumpster::unsync::Gc;
use dumpster::Trace;
use std::cell::RefCell;

pub struct DumpsterLib;

#[derive(Trace)]
pub struct Leaf(pub [u64; 5]);

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

crate::rc_like_lib!(DumpsterLib, "dumpster", Gc, collect = dumpster::unsync::collect(), manual = None, candidate = true);
