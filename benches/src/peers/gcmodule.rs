//! gcmodule 0.3: CPython's algorithm (gc_refs subtraction) over *all*
//! tracked objects, no generations, no automatic trigger
//! (`collect_thread_cycles` only). `Trace` is written by hand: its derive
//! makes `is_type_tracked` recurse forever on recursive types, so those must
//! answer `true` explicitly (as its docs require). The leaf is untracked
//! (`is_type_tracked() == false`), like gengc's.

use gcmodule::{Cc, Trace, Tracer};
use std::cell::RefCell;

pub struct GcmoduleLib;

pub struct Leaf(pub [u64; 5]);
impl Trace for Leaf {
    fn is_type_tracked() -> bool {
        false
    }
}

pub struct Blob<const N: usize>(pub [u64; N]);
impl<const N: usize> Trace for Blob<N> {
    fn is_type_tracked() -> bool {
        false
    }
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
    fn is_type_tracked() -> bool {
        true
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
    fn is_type_tracked() -> bool {
        true
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
    fn is_type_tracked() -> bool {
        true
    }
}

pub struct MultiNode {
    refs: RefCell<Vec<Cc<MultiNode>>>,
}
impl Trace for MultiNode {
    fn trace(&self, t: &mut Tracer) {
        self.refs.trace(t);
    }
    fn is_type_tracked() -> bool {
        true
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
    fn is_type_tracked() -> bool {
        true
    }
}

// No automatic collection: the churn workload calls `collect_thread_cycles`
// every 1,000 cycles (2,000 objects, gengc's young threshold).
crate::rc_like_lib!(GcmoduleLib, "gcmodule", Cc, collect = gcmodule::collect_thread_cycles(), manual = Some(1000), candidate = false);
