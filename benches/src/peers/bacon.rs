//! bacon_rajan_cc 0.4: synchronous Bacon–Rajan trial deletion over a buffer
//! of possible roots (objects decremented to a non-zero count). It has no
//! automatic trigger (`collect_cycles` only) and its derive is not on
//! crates.io, so `Trace` is written by hand.

use bacon_rajan_cc::{Cc, Trace, Tracer};
use std::cell::RefCell;

pub struct BaconLib;

pub struct Leaf(pub [u64; 5]);
impl Trace for Leaf {
    fn trace(&self, _: &mut Tracer) {}
}

pub struct Blob<const N: usize>(pub [u64; N]);
impl<const N: usize> Trace for Blob<N> {
    fn trace(&self, _: &mut Tracer) {}
}

pub struct TreeNode {
    left: Option<Cc<TreeNode>>,
    right: Option<Cc<TreeNode>>,
    v: u64,
}
impl Trace for TreeNode {
    fn trace(&self, t: &mut Tracer) {
        self.left.trace(t);
        self.right.trace(t);
    }
}

pub struct LinkNode {
    next: RefCell<Option<Cc<LinkNode>>>,
    prev: RefCell<Option<Cc<LinkNode>>>,
    #[allow(dead_code)]
    v: u64,
}
impl Trace for LinkNode {
    fn trace(&self, t: &mut Tracer) {
        self.next.trace(t);
        self.prev.trace(t);
    }
}

pub struct PTreeNode {
    parent: RefCell<Option<Cc<PTreeNode>>>,
    left: Option<Cc<PTreeNode>>,
    right: Option<Cc<PTreeNode>>,
}
impl Trace for PTreeNode {
    fn trace(&self, t: &mut Tracer) {
        self.parent.trace(t);
        self.left.trace(t);
        self.right.trace(t);
    }
}

pub struct MultiNode {
    refs: RefCell<Vec<Cc<MultiNode>>>,
}
impl Trace for MultiNode {
    fn trace(&self, t: &mut Tracer) {
        self.refs.trace(t);
    }
}

pub struct GraphNode {
    #[allow(dead_code)]
    label: String,
    edges: RefCell<Vec<Cc<GraphNode>>>,
}
impl Trace for GraphNode {
    fn trace(&self, t: &mut Tracer) {
        self.edges.trace(t);
    }
}

// No automatic collection: the churn workload calls `collect_cycles` every
// 1,000 cycles (2,000 objects, gengc's young threshold).
crate::rc_like_lib!(BaconLib, "bacon_rajan_cc", Cc, collect = bacon_rajan_cc::collect_cycles(), manual = Some(1000), candidate = true);
