//! gc 0.5 (Manishearth's rust-gc): a tracing mark-and-sweep collector with
//! root counting; dropping a `Gc` frees nothing, objects are swept by a
//! collection, which `Gc::new` starts automatically once the allocated bytes
//! pass an adaptive threshold. Mutable fields use `GcCell` (a `RefCell` that
//! roots/unroots on borrow), as the library requires.

#![allow(non_local_definitions)] // emitted by gc_derive

use crate::api::Lib;
use gc::{Finalize, Gc, GcCell, Trace};

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
    next: GcCell<Option<Gc<LinkNode>>>,
    prev: GcCell<Option<Gc<LinkNode>>>,
    v: u64,
}

#[derive(Trace, Finalize)]
pub struct PTreeNode {
    parent: GcCell<Option<Gc<PTreeNode>>>,
    left: Option<Gc<PTreeNode>>,
    right: Option<Gc<PTreeNode>>,
}

#[derive(Trace, Finalize)]
pub struct MultiNode {
    refs: GcCell<Vec<Gc<MultiNode>>>,
}

#[derive(Trace, Finalize)]
pub struct GraphNode {
    label: String,
    edges: GcCell<Vec<Gc<GraphNode>>>,
}

impl Lib for RustGcLib {
    const NAME: &'static str = "gc";

    type Leaf = Gc<Leaf>;
    #[inline]
    fn leaf(v: u64) -> Self::Leaf {
        Gc::new(Leaf([v; 5]))
    }
    #[inline]
    fn leaf_get(l: &Self::Leaf) -> u64 {
        l.0[0]
    }

    type Blob<const N: usize> = Gc<Blob<N>>;
    #[inline]
    fn blob<const N: usize>(v: u64) -> Self::Blob<N> {
        Gc::new(Blob([v; N]))
    }

    type Tree = Gc<TreeNode>;
    #[inline]
    fn tree(left: Option<Self::Tree>, right: Option<Self::Tree>, v: u64) -> Self::Tree {
        Gc::new(TreeNode { left, right, v })
    }
    fn tree_sum(t: &Self::Tree) -> u64 {
        t.v + t.left.as_ref().map_or(0, Self::tree_sum) + t.right.as_ref().map_or(0, Self::tree_sum)
    }

    type Link = Gc<LinkNode>;
    #[inline]
    fn link(v: u64) -> Self::Link {
        Gc::new(LinkNode { next: GcCell::new(None), prev: GcCell::new(None), v })
    }
    #[inline]
    fn link_set_next(a: &Self::Link, b: &Self::Link) {
        *a.next.borrow_mut() = Some(b.clone());
    }
    #[inline]
    fn link_close(a: &Self::Link, b: &Self::Link) {
        *a.next.borrow_mut() = Some(b.clone());
    }
    #[inline]
    fn link_set_prev(a: &Self::Link, b: &Self::Link) {
        *a.prev.borrow_mut() = Some(b.clone());
    }
    fn link_chain_len(a: &Self::Link) -> usize {
        1 + a.next.borrow().as_ref().map_or(0, Self::link_chain_len)
    }
    fn link_value_size() -> usize {
        std::mem::size_of::<LinkNode>()
    }

    type PTree = Gc<PTreeNode>;
    fn ptree(left: Option<Self::PTree>, right: Option<Self::PTree>) -> Self::PTree {
        let node = Gc::new(PTreeNode { parent: GcCell::new(None), left, right });
        // As in rust-cc-benchmarks, leaves (`End`) have no parent pointer.
        for child in [&node.left, &node.right].into_iter().flatten().filter(|c| c.left.is_some() || c.right.is_some()) {
            *child.parent.borrow_mut() = Some(node.clone());
        }
        node
    }
    fn ptree_check(t: &Self::PTree) -> usize {
        1 + t.left.as_ref().map_or(0, Self::ptree_check) + t.right.as_ref().map_or(0, Self::ptree_check)
    }

    type Multi = Gc<MultiNode>;
    #[inline]
    fn multi() -> Self::Multi {
        Gc::new(MultiNode { refs: GcCell::new(Vec::new()) })
    }
    #[inline]
    fn multi_push(from: &Self::Multi, to: &Self::Multi) {
        let to = to.clone();
        from.refs.borrow_mut().push(to);
    }
    #[inline]
    fn multi_len(m: &Self::Multi) -> usize {
        m.refs.borrow().len()
    }
    #[inline]
    fn multi_swap_remove(m: &Self::Multi, i: usize) {
        let removed = m.refs.borrow_mut().swap_remove(i);
        drop(removed);
    }

    type Graph = Gc<GraphNode>;
    #[inline]
    fn graph(label: String) -> Self::Graph {
        Gc::new(GraphNode { label, edges: GcCell::new(Vec::new()) })
    }
    #[inline]
    fn graph_push(from: &Self::Graph, to: &Self::Graph) {
        let to = to.clone();
        from.edges.borrow_mut().push(to);
    }

    #[inline]
    fn collect() {
        gc::force_collect();
    }
}
