//! gc 0.5 (Manishearth's rust-gc): a tracing mark-and-sweep collector with
//! root counting; dropping a `Gc` frees nothing, objects are swept by a
//! collection, which `Gc::new` starts automatically once the allocated bytes
//! pass an adaptive threshold. Mutable fields use `GcCell` (a `RefCell` that
//! roots/unroots on borrow), as the library requires.

#![allow(non_local_definitions)] // emitted by gc_derive

// The shared impl names its cells `RefCell`; gc's is `GcCell`.
use gc::{Finalize, Gc, GcCell as RefCell, Trace};

pub struct RustGcLib;

#[derive(Trace, Finalize)]
pub struct Leaf(pub [u64; 5]);

#[derive(Trace, Finalize)]
pub struct Blob<const N: usize>(pub [u64; N]);

#[derive(Trace, Finalize)]
pub struct TreeNode {
    left: Option<Gc<TreeNode>>,
    right: Option<Gc<TreeNode>>,
    v: u64,
}

#[derive(Trace, Finalize)]
pub struct LinkNode {
    next: RefCell<Option<Gc<LinkNode>>>,
    prev: RefCell<Option<Gc<LinkNode>>>,
    v: u64,
}

#[derive(Trace, Finalize)]
pub struct PTreeNode {
    parent: RefCell<Option<Gc<PTreeNode>>>,
    left: Option<Gc<PTreeNode>>,
    right: Option<Gc<PTreeNode>>,
}

#[derive(Trace, Finalize)]
pub struct MultiNode {
    refs: RefCell<Vec<Gc<MultiNode>>>,
}

#[derive(Trace, Finalize)]
pub struct GraphNode {
    label: String,
    edges: RefCell<Vec<Gc<GraphNode>>>,
}

crate::rc_like_lib!(RustGcLib, "gc", Gc, collect = gc::force_collect(), manual = None, candidate = false);
