//! rust-cc 0.6 with its default features (`auto-collect`, `finalization`,
//! `derive`): `Cc::new` collects the candidate buffer automatically when the
//! allocated bytes pass an adaptive threshold. `collect_cycles` examines only
//! candidates (objects whose count was decremented to a non-zero value).

use rust_cc::{Cc, Finalize, Trace};
use std::cell::RefCell;

pub struct RustCcLib;

#[derive(Trace, Finalize)]
pub struct Leaf(pub [u64; 5]);

#[derive(Trace, Finalize)]
pub struct Blob<const N: usize>(pub [u64; N]);

#[derive(Trace, Finalize)]
pub struct TreeNode {
    left: Option<Cc<TreeNode>>,
    right: Option<Cc<TreeNode>>,
    v: u64,
}

#[derive(Trace, Finalize)]
pub struct LinkNode {
    next: RefCell<Option<Cc<LinkNode>>>,
    prev: RefCell<Option<Cc<LinkNode>>>,
    v: u64,
}

#[derive(Trace, Finalize)]
pub struct PTreeNode {
    parent: RefCell<Option<Cc<PTreeNode>>>,
    left: Option<Cc<PTreeNode>>,
    right: Option<Cc<PTreeNode>>,
}

#[derive(Trace, Finalize)]
pub struct MultiNode {
    refs: RefCell<Vec<Cc<MultiNode>>>,
}

#[derive(Trace, Finalize)]
pub struct GraphNode {
    label: String,
    edges: RefCell<Vec<Cc<GraphNode>>>,
}

crate::rc_like_lib!(RustCcLib, "rust-cc", Cc, collect = rust_cc::collect_cycles(), manual = None, candidate = true);
