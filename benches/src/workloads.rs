//! The workloads, written once against [`Lib`] and run for every library.

use crate::rng::SplitMix64;
use crate::Lib;
use std::hint::black_box;

// ---------------------------------------------------------------- core

/// `n` times: allocate a 40-byte leaf and drop it.
#[inline(never)]
pub fn alloc_drop<L: Lib>(n: usize) {
    for i in 0..n {
        black_box(L::leaf(i as u64));
    }
}

/// Allocates `n` values of `8 * N` bytes into `buf` (all live at once), then
/// drops them all. `buf` keeps its capacity between calls, so only the
/// library allocates.
#[inline(never)]
pub fn alloc_batch<L: Lib, const N: usize>(buf: &mut Vec<L::Blob<N>>, n: usize) {
    for i in 0..n {
        buf.push(L::blob::<N>(i as u64));
    }
    buf.clear();
}

/// `n` times: clone `h` and drop the clone.
#[inline(never)]
pub fn clone_drop<L: Lib>(h: &L::Leaf, n: usize) {
    for _ in 0..n {
        black_box(h.clone());
    }
}

/// A full binary tree of `depth` levels (`2^depth - 1` nodes, `v = 1`).
pub fn build_tree<L: Lib>(depth: u32) -> L::Tree {
    if depth <= 1 {
        L::tree(None, None, 1)
    } else {
        L::tree(Some(build_tree::<L>(depth - 1)), Some(build_tree::<L>(depth - 1)), 1)
    }
}

/// Depth of the `tree_1m` tree: 2^20 - 1 = 1,048,575 nodes.
pub const TREE_1M_DEPTH: u32 = 20;

/// Builds the ~1M-node tree, walks it (sum), drops it, collects.
pub fn tree_1m<L: Lib>() -> u64 {
    let t = build_tree::<L>(TREE_1M_DEPTH);
    let sum = L::tree_sum(&t);
    drop(t);
    L::collect();
    sum
}

// ---------------------------------------------------------------- collector

/// `rings` rings of `len` nodes (`next` pointers, the last one closing the
/// ring; `Rc`: no closing edge). Returns one handle per ring.
pub fn build_rings<L: Lib>(rings: usize, len: usize) -> Vec<L::Link> {
    let mut out = Vec::with_capacity(rings);
    for r in 0..rings {
        let first = L::link(r as u64);
        let mut last = first.clone();
        for i in 1..len {
            let n = L::link(i as u64);
            L::link_set_next(&last, &n);
            last = n;
        }
        L::link_close(&last, &first);
        out.push(first);
    }
    out
}

/// A doubly linked list of `n` nodes (`prev` strong; `Rc`: `Weak`); returns
/// the head.
pub fn build_dll<L: Lib>(n: usize) -> L::Link {
    let head = L::link(0);
    let mut tail = head.clone();
    for i in 1..n {
        let x = L::link(i as u64);
        L::link_set_next(&tail, &x);
        L::link_set_prev(&x, &tail);
        tail = x;
    }
    head
}

/// `n` live, tracked objects, for the churn workload.
pub fn live_objects<L: Lib>(n: usize) -> Vec<L::Link> {
    (0..n as u64).map(L::link).collect()
}

/// Creates and drops `cycles` two-node cycles (`Rc`: no back edge). Libraries
/// with automatic collection rely on it; the others (`MANUAL_COLLECT_EVERY`)
/// collect every n cycles. Ends with a full collection so that every library
/// has reclaimed everything when the timing stops.
pub fn churn<L: Lib>(cycles: usize) {
    for i in 0..cycles {
        let a = L::link(i as u64);
        let b = L::link(i as u64);
        L::link_set_next(&a, &b);
        L::link_close(&b, &a);
        drop(a);
        drop(b);
        if let Some(n) = L::MANUAL_COLLECT_EVERY {
            if (i + 1) % n == 0 {
                L::collect();
            }
        }
    }
    L::collect();
}

/// `n` live objects held by a Vec; node `i > 0` points to node `i / 2` (so
/// every object is tracked and has an internal edge, and no path is deeper
/// than log2 n, which keeps recursive collectors off the stack limit).
pub fn live_heap<L: Lib>(n: usize) -> Vec<L::Link> {
    let mut v: Vec<L::Link> = Vec::with_capacity(n);
    for i in 0..n {
        let x = L::link(i as u64);
        if i > 0 {
            L::link_set_next(&x, &v[i / 2]);
        }
        v.push(x);
    }
    v
}

/// Builds `n` tracked objects appended to a Vec.
pub fn build_tracked<L: Lib>(n: usize) -> Vec<L::Link> {
    let mut v = Vec::with_capacity(n);
    for i in 0..n as u64 {
        v.push(L::link(i));
    }
    v
}

// ---------------------------------------------------------------- peers' suites

fn bt<L: Lib>(depth: usize) -> L::Tree {
    if depth == 0 {
        L::tree(None, None, 1)
    } else {
        L::tree(Some(bt::<L>(depth - 1)), Some(bt::<L>(depth - 1)), 1)
    }
}

/// rust-cc-benchmarks' `count_binary_trees` (benchmarks-game binary trees):
/// depths `4, 6, .., < max_size`, `1 << (max_size - depth + 4)` trees each.
pub fn binary_trees<L: Lib>(max_size: usize) -> Vec<u64> {
    let mut res = Vec::new();
    let min_size = 4;
    for depth in (min_size..max_size).step_by(2) {
        let iterations = 1u64 << (max_size - depth + min_size);
        let mut check = 0;
        for _ in 1..=iterations {
            check += L::tree_sum(&bt::<L>(depth));
        }
        res.push(check);
    }
    L::collect();
    res
}

fn pt<L: Lib>(depth: usize) -> L::PTree {
    if depth == 0 {
        L::ptree(None, None)
    } else {
        L::ptree(Some(pt::<L>(depth - 1)), Some(pt::<L>(depth - 1)))
    }
}

/// rust-cc-benchmarks' `count_binary_trees_with_parent`: the same trees,
/// every inner node below the root pointing back to its parent (cycles).
pub fn binary_trees_with_parent<L: Lib>(max_size: usize) -> Vec<usize> {
    let mut res = Vec::new();
    let min_size = 4;
    for depth in (min_size..max_size).step_by(2) {
        let iterations = 1u64 << (max_size - depth + min_size);
        let mut check = 0;
        for _ in 1..=iterations {
            check += L::ptree_check(&pt::<L>(depth));
        }
        res.push(check);
    }
    L::collect();
    res
}

/// rust-cc-benchmarks' `large_linked_list`: 30 times a doubly linked list of
/// `size` nodes built by prepending, its length walked; one collection at
/// the end.
pub fn large_linked_list<L: Lib>(size: usize) -> Vec<usize> {
    let mut res = Vec::new();
    for _ in 0..30 {
        // The initial node plays `Nil`: it gets no `previous`.
        let mut head = L::link(0);
        let mut head_is_nil = true;
        for i in 0..size {
            let cons = L::link(i as u64);
            L::link_set_next(&cons, &head);
            if !head_is_nil {
                L::link_set_prev(&head, &cons);
            }
            head_is_nil = false;
            head = cons;
        }
        res.push(L::link_chain_len(&head));
    }
    L::collect();
    res
}

pub const STRESS_NODE_COUNT: usize = 1 << 15;
pub const STRESS_EDGE_COUNT: usize = 1 << 15;
pub const STRESS_SHRINK_DIV: usize = 1 << 10;

/// rust-cc-benchmarks' (from shredder) `stress_test`: 2^15 + 1 labelled
/// nodes, 2^15 + 1 random edges, then the node list is truncated by 2^10
/// and a collection run, 32 times; a final collection. The PRNG is reseeded
/// with 0xCAFE at every run so every library and iteration builds the same
/// graph.
pub fn stress_test<L: Lib>() -> Vec<usize> {
    let mut rng = SplitMix64::new(0xCAFE);
    let mut res = Vec::new();
    {
        let mut nodes = Vec::new();
        for i in 0..=STRESS_NODE_COUNT {
            nodes.push(L::graph(format!("Node {i}")));
        }
        for _ in 0..=STRESS_EDGE_COUNT {
            let a = rng.below(nodes.len());
            let b = rng.below(nodes.len());
            L::graph_push(&nodes[a], &nodes[b]);
        }
        for i in 0..STRESS_NODE_COUNT {
            if i % STRESS_SHRINK_DIV == 0 {
                nodes.truncate(STRESS_NODE_COUNT - i);
                L::collect();
                res.push(nodes.len());
            }
        }
    }
    L::collect();
    res
}

/// The 50 initial roots of dumpster's random-graph workload.
pub fn random_graph_roots<L: Lib>() -> Vec<L::Multi> {
    (0..50).map(|_| L::multi()).collect()
}

/// dumpster_bench's `single_threaded`: `ops` uniformly chosen operations
/// (new root / add edge / drop root / drop edge) from seed 12345, then the
/// roots are dropped and a collection runs (all inside the timing).
pub fn random_graph<L: Lib>(mut gcs: Vec<L::Multi>, ops: usize) {
    let mut rng = SplitMix64::new(12345);
    for _ in 0..ops {
        if gcs.is_empty() {
            gcs.push(L::multi());
            continue;
        }
        match rng.below(4) {
            0 => gcs.push(L::multi()),
            1 => {
                if gcs.len() > 1 {
                    let from = rng.below(gcs.len());
                    let to = rng.below(gcs.len());
                    L::multi_push(&gcs[from], &gcs[to]);
                }
            }
            2 => {
                let i = rng.below(gcs.len());
                gcs.swap_remove(i);
            }
            _ => {
                let from = rng.below(gcs.len());
                let n = L::multi_len(&gcs[from]);
                if n > 0 {
                    let to = rng.below(n);
                    L::multi_swap_remove(&gcs[from], to);
                }
            }
        }
    }
    drop(gcs);
    L::collect();
}
