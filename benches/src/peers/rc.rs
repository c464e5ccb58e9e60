//! `std::rc::Rc`, the floor: the same structures, never collected. Edges
//! that would close a cycle are `rc::Weak` (list `prev`, tree `parent`,
//! random-graph and stress-test edges) or left out (ring closing edges,
//! churn back edges), so nothing leaks.

use crate::api::Lib;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

pub struct RcLib;

pub struct Leaf(pub [u64; 5]);

pub struct Blob<const N: usize>(pub [u64; N]);

pub struct TreeNode {
    left: Option<Rc<TreeNode>>,
    right: Option<Rc<TreeNode>>,
    v: u64,
}

pub struct LinkNode {
    next: RefCell<Option<Rc<LinkNode>>>,
    prev: RefCell<Option<Weak<LinkNode>>>,
    #[allow(dead_code)]
    v: u64,
}

pub struct PTreeNode {
    parent: RefCell<Option<Weak<PTreeNode>>>,
    left: Option<Rc<PTreeNode>>,
    right: Option<Rc<PTreeNode>>,
}

pub struct MultiNode {
    refs: RefCell<Vec<Weak<MultiNode>>>,
}

pub struct GraphNode {
    #[allow(dead_code)]
    label: String,
    edges: RefCell<Vec<Weak<GraphNode>>>,
}

impl Lib for RcLib {
    const NAME: &'static str = "Rc";

    type Leaf = Rc<Leaf>;
    #[inline]
    fn leaf(v: u64) -> Self::Leaf {
        Rc::new(Leaf([v; 5]))
    }
    #[inline]
    fn leaf_get(l: &Self::Leaf) -> u64 {
        l.0[0]
    }

    type Blob<const N: usize> = Rc<Blob<N>>;
    #[inline]
    fn blob<const N: usize>(v: u64) -> Self::Blob<N> {
        Rc::new(Blob([v; N]))
    }

    type Tree = Rc<TreeNode>;
    #[inline]
    fn tree(left: Option<Self::Tree>, right: Option<Self::Tree>, v: u64) -> Self::Tree {
        Rc::new(TreeNode { left, right, v })
    }
    fn tree_sum(t: &Self::Tree) -> u64 {
        t.v + t.left.as_ref().map_or(0, Self::tree_sum) + t.right.as_ref().map_or(0, Self::tree_sum)
    }

    type Link = Rc<LinkNode>;
    #[inline]
    fn link(v: u64) -> Self::Link {
        Rc::new(LinkNode { next: RefCell::new(None), prev: RefCell::new(None), v })
    }
    #[inline]
    fn link_set_next(a: &Self::Link, b: &Self::Link) {
        *a.next.borrow_mut() = Some(b.clone());
    }
    #[inline]
    fn link_close(_a: &Self::Link, _b: &Self::Link) {}
    #[inline]
    fn link_set_prev(a: &Self::Link, b: &Self::Link) {
        *a.prev.borrow_mut() = Some(Rc::downgrade(b));
    }
    fn link_chain_len(a: &Self::Link) -> usize {
        1 + a.next.borrow().as_ref().map_or(0, Self::link_chain_len)
    }
    fn link_value_size() -> usize {
        std::mem::size_of::<LinkNode>()
    }

    type PTree = Rc<PTreeNode>;
    fn ptree(left: Option<Self::PTree>, right: Option<Self::PTree>) -> Self::PTree {
        let node = Rc::new(PTreeNode { parent: RefCell::new(None), left, right });
        // As in rust-cc-benchmarks, leaves (`End`) have no parent pointer.
        for child in [&node.left, &node.right].into_iter().flatten().filter(|c| c.left.is_some() || c.right.is_some()) {
            *child.parent.borrow_mut() = Some(Rc::downgrade(&node));
        }
        node
    }
    fn ptree_check(t: &Self::PTree) -> usize {
        1 + t.left.as_ref().map_or(0, Self::ptree_check) + t.right.as_ref().map_or(0, Self::ptree_check)
    }

    type Multi = Rc<MultiNode>;
    #[inline]
    fn multi() -> Self::Multi {
        Rc::new(MultiNode { refs: RefCell::new(Vec::new()) })
    }
    #[inline]
    fn multi_push(from: &Self::Multi, to: &Self::Multi) {
        from.refs.borrow_mut().push(Rc::downgrade(to));
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

    type Graph = Rc<GraphNode>;
    #[inline]
    fn graph(label: String) -> Self::Graph {
        Rc::new(GraphNode { label, edges: RefCell::new(Vec::new()) })
    }
    #[inline]
    fn graph_push(from: &Self::Graph, to: &Self::Graph) {
        from.edges.borrow_mut().push(Rc::downgrade(to));
    }

    #[inline]
    fn collect() {}
}
