//! The common interface every library implements, so that each workload is
//! one generic function run identically for all of them.

/// One library: its handle types for each node shape the suite uses, and its
/// collector entry points.
///
/// Node shapes (each library defines them in its module under `peers`):
///
/// - `Leaf`: a 40-byte value (`[u64; 5]`) that owns no pointer.
/// - `Tree`: `{ left: Option<P>, right: Option<P>, v: u64 }`, immutable.
/// - `Link`: `{ next: RefCell<Option<P>>, prev: RefCell<Option<P>>, v: u64 }`
///   (40 bytes where `Option<P>` is one word): rings, lists, churn, live heaps.
/// - `PTree`: `{ parent: RefCell<Option<P>>, left: Option<P>, right: Option<P> }`
///   (rust-cc-benchmarks' binary trees with parent pointers).
/// - `Multi`: `{ refs: RefCell<Vec<P>> }` (dumpster's `Multiref`).
/// - `Graph`: `{ label: String, edges: RefCell<Vec<P>> }` (the stress test).
/// - `Blob<N>`: `[u64; N]`, an `8 * N`-byte value that owns no pointer
///   (allocation throughput by object size).
///
/// For `Rc`, every edge that may close a cycle (`link_close`,
/// `link_set_prev`, the `PTree` parent, `Multi`/`Graph` edges) is an
/// `rc::Weak` or left out, so the floor never leaks and never collects.
pub trait Lib: 'static {
    /// Name used in benchmark ids and tables.
    const NAME: &'static str;
    /// For the `churn` workload: `None` if the library collects cycles
    /// automatically, `Some(n)` if the workload must call [`Lib::collect`]
    /// every `n` cycles because the library has no automatic trigger.
    const MANUAL_COLLECT_EVERY: Option<usize> = None;

    type Leaf: Clone;
    fn leaf(v: u64) -> Self::Leaf;
    fn leaf_get(l: &Self::Leaf) -> u64;

    type Tree;
    fn tree(left: Option<Self::Tree>, right: Option<Self::Tree>, v: u64) -> Self::Tree;
    /// Sum of `v` over the tree (recursive walk).
    fn tree_sum(t: &Self::Tree) -> u64;

    type Link: Clone;
    fn link(v: u64) -> Self::Link;
    /// `a.next = b` (strong).
    fn link_set_next(a: &Self::Link, b: &Self::Link);
    /// `a.next = b` where this edge closes a cycle (`Rc`: left out).
    fn link_close(a: &Self::Link, b: &Self::Link);
    /// `a.prev = b` (`Rc`: a `Weak`).
    fn link_set_prev(a: &Self::Link, b: &Self::Link);
    /// Number of nodes reached by following `next` from `a` (recursive, like
    /// rust-cc-benchmarks' `len`). Must not be called on a ring.
    fn link_chain_len(a: &Self::Link) -> usize;
    /// `size_of` the `Link` value (without the library's header).
    fn link_value_size() -> usize;

    type PTree;
    /// A node owning `left` and `right`, whose parent pointers are set to it.
    fn ptree(left: Option<Self::PTree>, right: Option<Self::PTree>) -> Self::PTree;
    /// Number of nodes of the tree.
    fn ptree_check(t: &Self::PTree) -> usize;

    type Multi: Clone;
    fn multi() -> Self::Multi;
    /// Adds an edge `from -> to`.
    fn multi_push(from: &Self::Multi, to: &Self::Multi);
    fn multi_len(m: &Self::Multi) -> usize;
    /// Drops edge `i` of `m` (`swap_remove`).
    fn multi_swap_remove(m: &Self::Multi, i: usize);

    type Graph;
    fn graph(label: String) -> Self::Graph;
    fn graph_push(from: &Self::Graph, to: &Self::Graph);

    /// An `8 * N`-byte value owning no pointer (each library's leaf type:
    /// untracked where the library distinguishes).
    type Blob<const N: usize>;
    fn blob<const N: usize>(v: u64) -> Self::Blob<N>;

    /// A full collection (no-op for `Rc`).
    fn collect();
    /// For collectors that only examine candidates (rust-cc, dumpster,
    /// bacon_rajan_cc): make the live object `l` a candidate, so that the
    /// next [`Lib::collect`] examines it, as a full collection would. The
    /// others do nothing.
    fn mark_candidate(_l: &Self::Link) {}
}

/// Implements [`Lib`] for a reference-counted cycle collector whose handle
/// `$P<T>` derefs to `T`, is cloned with `Clone`, and whose node types (named
/// as below, with `RefCell` cells: `std::cell::RefCell`, or the library's own
/// cell imported under that name) are defined in the calling module.
#[macro_export]
macro_rules! rc_like_lib {
    ($lib:ident, $name:expr, $P:ident, collect = $collect:expr, manual = $manual:expr, candidate = $cand:expr) => {
        impl $crate::api::Lib for $lib {
            const NAME: &'static str = $name;
            const MANUAL_COLLECT_EVERY: Option<usize> = $manual;

            type Leaf = $P<Leaf>;
            #[inline]
            fn leaf(v: u64) -> Self::Leaf {
                $P::new(Leaf([v; 5]))
            }
            #[inline]
            fn leaf_get(l: &Self::Leaf) -> u64 {
                l.0[0]
            }

            type Blob<const N: usize> = $P<Blob<N>>;
            #[inline]
            fn blob<const N: usize>(v: u64) -> Self::Blob<N> {
                $P::new(Blob([v; N]))
            }

            type Tree = $P<TreeNode>;
            #[inline]
            fn tree(left: Option<Self::Tree>, right: Option<Self::Tree>, v: u64) -> Self::Tree {
                $P::new(TreeNode { left, right, v })
            }
            fn tree_sum(t: &Self::Tree) -> u64 {
                t.v + t.left.as_ref().map_or(0, Self::tree_sum) + t.right.as_ref().map_or(0, Self::tree_sum)
            }

            type Link = $P<LinkNode>;
            #[inline]
            fn link(v: u64) -> Self::Link {
                $P::new(LinkNode { next: RefCell::new(None), prev: RefCell::new(None), v })
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

            type PTree = $P<PTreeNode>;
            fn ptree(left: Option<Self::PTree>, right: Option<Self::PTree>) -> Self::PTree {
                let node = $P::new(PTreeNode { parent: RefCell::new(None), left, right });
                // As in rust-cc-benchmarks, leaves (`End`) have no parent pointer.
                for child in [&node.left, &node.right].into_iter().flatten().filter(|c| c.left.is_some() || c.right.is_some()) {
                    *child.parent.borrow_mut() = Some(node.clone());
                }
                node
            }
            fn ptree_check(t: &Self::PTree) -> usize {
                1 + t.left.as_ref().map_or(0, Self::ptree_check) + t.right.as_ref().map_or(0, Self::ptree_check)
            }

            type Multi = $P<MultiNode>;
            #[inline]
            fn multi() -> Self::Multi {
                $P::new(MultiNode { refs: RefCell::new(Vec::new()) })
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
                // Dropped after the borrow ends (a drop may start a collection).
                let removed = m.refs.borrow_mut().swap_remove(i);
                drop(removed);
            }

            type Graph = $P<GraphNode>;
            #[inline]
            fn graph(label: String) -> Self::Graph {
                $P::new(GraphNode { label, edges: RefCell::new(Vec::new()) })
            }
            #[inline]
            fn graph_push(from: &Self::Graph, to: &Self::Graph) {
                let to = to.clone();
                from.edges.borrow_mut().push(to);
            }

            #[inline]
            fn collect() {
                $collect;
            }
            #[inline]
            fn mark_candidate(l: &Self::Link) {
                if $cand {
                    drop(l.clone());
                }
            }
        }
    };
}
