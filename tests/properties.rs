//! Exhaustive and randomized properties of the collector on small graphs.
//!
//! - **Every** directed graph on 1..=4 nodes (every edge mask, self loops
//!   included: 2^(n²) graphs) × **every** subset of nodes that stay rooted:
//!   build it, drop the handles of the non-roots, and check against a model:
//!   reference counting frees exactly the unreachable nodes no unreachable
//!   cycle reaches, at once; `collect()` returns exactly the number of the
//!   other unreachable nodes and frees them; roots and what they reach are
//!   untouched; every node is dropped at most once (and finalized once);
//!   `Weak`s upgrade exactly for the reachable; a second `collect()` frees
//!   nothing; releasing the roots and collecting empties the heap.
//!   (n = 4 is 65,536 graphs × 16 root sets; debug builds take every 13th
//!   edge mask.)
//! - 16-node random graphs (the idea of gcmodule's quickcheck test) from a
//!   deterministic PRNG: the same properties, with multi-edges, and also
//!   with the collection split into young / middle / full steps.
//!
//! Nodes are of three kinds (pooled, large object, with a finalizer),
//! assigned by index, so edges cross layouts. Automatic collection is
//! disabled so that every count is exact.

// Index loops over parallel per-node arrays read best as they are.
#![allow(clippy::needless_range_loop)]

use gengc::gc;
use gengc::{coerce_gc, Finalize, Gc, Trace, Tracer, Weak};
use std::cell::{Cell, RefCell};

mod common;
use common::run;

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
}

thread_local! {
    /// Per node index of the current case: times dropped, times finalized.
    static DROPS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static FINALIZES: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static CASE_OK: Cell<bool> = const { Cell::new(true) };
}

/// Drop detector (a leaf).
struct Tally(usize);

impl Drop for Tally {
    fn drop(&mut self) {
        let _ = DROPS.try_with(|d| d.borrow_mut()[self.0] += 1);
    }
}

// SAFETY: owns no `Gc`.
unsafe impl Trace for Tally {
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

trait PNode: Trace {
    fn idx(&self) -> usize;
    fn edges(&self) -> &RefCell<Vec<Gc<dyn PNode>>>;
}

#[derive(Trace)]
struct Small {
    #[gc(skip)]
    idx: usize,
    edges: RefCell<Vec<Gc<dyn PNode>>>,
    #[gc(skip)]
    _t: Tally,
}

#[derive(Trace)]
struct Large {
    #[gc(skip)]
    idx: usize,
    edges: RefCell<Vec<Gc<dyn PNode>>>,
    #[gc(skip)]
    _t: Tally,
    #[gc(skip)]
    _pad: [u8; 700],
}

#[derive(Trace)]
#[gc(finalize)]
struct WithFinalizer {
    #[gc(skip)]
    idx: usize,
    edges: RefCell<Vec<Gc<dyn PNode>>>,
    #[gc(skip)]
    _t: Tally,
}

impl Finalize for WithFinalizer {
    fn finalize(&self) {
        // Every neighbour is intact while finalizers run.
        let intact = DROPS.try_with(|d| {
            let d = d.borrow();
            d[self.idx] == 0 && self.edges.borrow().iter().all(|e| d[e.idx()] == 0)
        });
        // (`try_with`: it may run in the thread-exit collection.)
        if intact == Ok(false) {
            CASE_OK.with(|c| c.set(false));
        }
        let _ = FINALIZES.try_with(|f| f.borrow_mut()[self.idx] += 1);
    }
}

macro_rules! pnode {
    ($($t:ty),*) => {$(
        impl PNode for $t {
            fn idx(&self) -> usize {
                self.idx
            }
            fn edges(&self) -> &RefCell<Vec<Gc<dyn PNode>>> {
                &self.edges
            }
        }
    )*};
}
pnode!(Small, Large, WithFinalizer);

fn make(idx: usize, kind: usize) -> Gc<dyn PNode> {
    let edges = RefCell::new(Vec::new());
    let t = Tally(idx);
    match kind % 3 {
        0 => coerce_gc!(Gc::new(Small { idx, edges, _t: t }) => dyn PNode),
        1 => coerce_gc!(Gc::new(Large { idx, edges, _t: t, _pad: [0; 700] }) => dyn PNode),
        _ => coerce_gc!(Gc::new(WithFinalizer { idx, edges, _t: t }) => dyn PNode),
    }
}

fn has_finalizer(kind: usize) -> bool {
    kind % 3 == 2
}

/// The model's verdict on one case.
struct Expect {
    reachable: Vec<bool>,
    /// Unreachable and freed by reference counting alone.
    refcount_freed: Vec<bool>,
}

/// Reachability from the roots, and what reference counting frees: an
/// unreachable node dies at once unless an unreachable cycle reaches it
/// (repeatedly remove unreachable nodes no live node points to).
fn model(n: usize, edges: &[(usize, usize)], rooted: &[bool]) -> Expect {
    let mut reachable = rooted.to_vec();
    let mut stack: Vec<usize> = (0..n).filter(|&i| rooted[i]).collect();
    while let Some(x) = stack.pop() {
        for &(a, b) in edges {
            if a == x && !reachable[b] {
                reachable[b] = true;
                stack.push(b);
            }
        }
    }
    let mut alive = vec![true; n];
    let mut indeg = vec![0usize; n];
    for &(_, b) in edges {
        indeg[b] += 1;
    }
    let mut work: Vec<usize> = (0..n).filter(|&i| !rooted[i] && indeg[i] == 0).collect();
    while let Some(x) = work.pop() {
        if !alive[x] {
            continue;
        }
        alive[x] = false;
        for &(a, b) in edges {
            if a == x {
                indeg[b] -= 1;
                if indeg[b] == 0 && !rooted[b] && alive[b] {
                    work.push(b);
                }
            }
        }
    }
    let refcount_freed = (0..n).map(|i| !alive[i]).collect();
    Expect {
        reachable,
        refcount_freed,
    }
}

/// Whether node `i` can reach itself (lies on a cycle).
fn on_cycle(i: usize, edges: &[(usize, usize)]) -> bool {
    let mut seen = vec![false; edges.iter().map(|&(a, b)| a.max(b) + 1).max().unwrap_or(0)];
    let mut stack = vec![i];
    while let Some(x) = stack.pop() {
        for &(a, b) in edges {
            if a == x {
                if b == i {
                    return true;
                }
                if !std::mem::replace(&mut seen[b], true) {
                    stack.push(b);
                }
            }
        }
    }
    false
}

fn drops() -> Vec<u32> {
    DROPS.with(|d| d.borrow().clone())
}

fn finalizes() -> Vec<u32> {
    FINALIZES.with(|f| f.borrow().clone())
}

/// How the collection of one case runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Collect {
    Full,
    /// Young, then middle, then full; their sum must be the total.
    Steps,
}

/// Builds one graph, drops the non-roots, collects, and checks the model.
/// Returns the number of nodes the collector freed.
fn check_case(
    n: usize,
    kinds: &[usize],
    edges: &[(usize, usize)],
    rooted: &[bool],
    how: Collect,
) -> usize {
    let describe = || format!("n={n} kinds={kinds:?} edges={edges:?} rooted={rooted:?}");
    DROPS.with(|d| *d.borrow_mut() = vec![0; n]);
    FINALIZES.with(|f| *f.borrow_mut() = vec![0; n]);
    CASE_OK.with(|c| c.set(true));
    let nodes: Vec<Gc<dyn PNode>> = (0..n).map(|i| make(i, kinds[i])).collect();
    for &(a, b) in edges {
        nodes[a].edges().borrow_mut().push(nodes[b].clone());
    }
    let weaks: Vec<Weak<dyn PNode>> = nodes.iter().map(Gc::downgrade).collect();
    let mut roots = Vec::new();
    for (i, node) in nodes.into_iter().enumerate() {
        if rooted[i] {
            roots.push(node);
        } else {
            drop(node);
        }
    }
    let expect = model(n, edges, rooted);
    let after_refcount = drops();
    for i in 0..n {
        let want = u32::from(expect.refcount_freed[i]);
        assert_eq!(
            after_refcount[i],
            want,
            "node {i} after dropping the non-roots: {}",
            describe()
        );
    }
    let cyclic_garbage = (0..n)
        .filter(|&i| !expect.reachable[i] && !expect.refcount_freed[i])
        .count();
    let freed = match how {
        Collect::Full => gengc::collect(),
        Collect::Steps => {
            let young = gc::collect_generation(0);
            let middle = gc::collect_generation(1);
            let full = gc::collect();
            assert_eq!(
                (middle, full),
                (0, 0),
                "everything is young: the first step frees it all: {}",
                describe()
            );
            young
        }
    };
    assert_eq!(
        freed,
        cyclic_garbage,
        "collect() freed {freed}, the model says {cyclic_garbage}: {}",
        describe()
    );
    let after = drops();
    let fins = finalizes();
    for i in 0..n {
        let dead = !expect.reachable[i];
        assert_eq!(
            after[i],
            u32::from(dead),
            "node {i} drop count: {}",
            describe()
        );
        let want_fin = u32::from(dead && has_finalizer(kinds[i]));
        assert_eq!(fins[i], want_fin, "node {i} finalize count: {}", describe());
        assert_eq!(
            weaks[i].upgrade().is_some(),
            !dead,
            "Weak to node {i}: {}",
            describe()
        );
    }
    assert!(
        CASE_OK.with(Cell::get),
        "a finalizer saw a dropped neighbour: {}",
        describe()
    );
    assert_eq!(gengc::collect(), 0, "a second collection: {}", describe());
    // Release the roots: everything goes (the cyclic part by collection).
    drop(roots);
    gengc::collect();
    let last = drops();
    assert!(
        last.iter().all(|&d| d == 1),
        "after releasing everything {last:?}: {}",
        describe()
    );
    drop(weaks);
    let r = gengc::memory_report();
    assert_eq!(
        (r.used_blocks(), r.large_objects),
        (0, 0),
        "heap not empty: {}",
        describe()
    );
    assert_eq!(gc::generation_sizes(), (0, 0, 0));
    freed
}

/// All graphs on `n` nodes whose edge mask index is ≡ 0 (mod `stride`),
/// with every root subset; returns (cases, objects collected).
fn exhaustive(n: usize, stride: u64, how: Collect) -> (u64, u64) {
    gc::disable();
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|a| (0..n).map(move |b| (a, b))).collect();
    let kinds: Vec<usize> = (0..n).collect();
    let mut cases = 0;
    let mut collected = 0;
    let masks = 1u64 << (n * n);
    let mut mask = 0;
    while mask < masks {
        let edges: Vec<(usize, usize)> = pairs
            .iter()
            .enumerate()
            .filter(|(bit, _)| mask & (1 << bit) != 0)
            .map(|(_, &e)| e)
            .collect();
        for roots in 0..(1u32 << n) {
            let rooted: Vec<bool> = (0..n).map(|i| roots & (1 << i) != 0).collect();
            collected += check_case(n, &kinds, &edges, &rooted, how) as u64;
            cases += 1;
        }
        mask += stride;
    }
    (cases, collected)
}

/// Small enough for Miri (`MIRIFLAGS=-Zmiri-strict-provenance cargo +nightly
/// miri test --test properties every_graph_on_up_to_two_nodes`): every graph
/// on 1 and 2 nodes × every root set, both ways of collecting.
#[test]
fn every_graph_on_up_to_two_nodes() {
    run(|| {
        for how in [Collect::Full, Collect::Steps] {
            let cases: u64 = (1..=2).map(|n| exhaustive(n, 1, how).0).sum();
            assert_eq!(cases, 2 * 2 + 16 * 4);
        }
    });
}

#[test]
fn every_graph_on_up_to_three_nodes() {
    run(|| {
        let mut total = 0;
        for n in 1..=3 {
            let (cases, _) = exhaustive(n, 1, Collect::Full);
            assert_eq!(cases, (1 << (n * n)) * (1 << n));
            total += cases;
        }
        assert_eq!(total, 2 * 2 + 16 * 4 + 512 * 8);
    });
}

#[test]
fn every_graph_on_three_nodes_collected_in_generation_steps() {
    run(|| {
        exhaustive(3, 1, Collect::Steps);
    });
}

/// 65,536 graphs × 16 root sets = 1,048,576 cases in release; debug builds
/// take every 13th edge mask (80,672 cases).
#[test]
fn every_graph_on_four_nodes() {
    run(|| {
        let stride = if cfg!(debug_assertions) { 13 } else { 1 };
        let (cases, collected) = exhaustive(4, stride, Collect::Full);
        if stride == 1 {
            assert_eq!(cases, 1 << 20);
        }
        assert!(collected > 0);
        eprintln!("every_graph_on_four_nodes: {cases} cases, {collected} objects collected");
    });
}

/// Random graphs on 16 nodes: random density, multi-edges, random roots.
fn random_graphs(seed: u64, cases: usize, how: Collect) -> u64 {
    gc::disable();
    let mut rng = Rng(seed);
    let mut collected = 0;
    for _ in 0..cases {
        let n = 16;
        let kinds: Vec<usize> = (0..n).map(|_| rng.below(3) as usize).collect();
        // Density from very sparse to dense.
        let m = rng.below(3 * n as u64 + 1) as usize;
        let edges: Vec<(usize, usize)> = (0..m)
            .map(|_| (rng.below(n as u64) as usize, rng.below(n as u64) as usize))
            .collect();
        let p = rng.below(5);
        let rooted: Vec<bool> = (0..n).map(|_| rng.below(8) < p).collect();
        collected += check_case(n, &kinds, &edges, &rooted, how) as u64;
    }
    collected
}

#[test]
fn random_sixteen_node_graphs() {
    run(|| {
        let cases = if cfg!(debug_assertions) {
            2_000
        } else {
            20_000
        };
        let collected = random_graphs(0x16_0de5, cases, Collect::Full);
        assert!(collected > 0);
    });
}

#[test]
fn random_sixteen_node_graphs_collected_in_generation_steps() {
    run(|| {
        let cases = if cfg!(debug_assertions) {
            1_000
        } else {
            10_000
        };
        random_graphs(0x5_7e95, cases, Collect::Steps);
    });
}

/// Random cases on one long-lived heap with automatic collection on at the
/// smallest thresholds, so that the nodes of a case are spread over the
/// generations and automatic collections run before the explicit one.
///
/// Every unreachable node must be dropped exactly once, the reachable ones
/// never. How many the collections *count* is bounded, not fixed: a young
/// collection may free a cycle whose old tail then dies by reference
/// counting inside the teardown (not counted). But a node lying on an
/// unreachable cycle can only be freed by a collection (its cycle-mates are
/// necessarily in the same collected set), so
/// `on a cycle <= counted by the collections <= unreachable after refcounting`.
#[test]
fn random_graphs_with_automatic_collections() {
    run(|| {
        let auto = std::rc::Rc::new(Cell::new(0usize));
        let a = auto.clone();
        gc::add_callback(move |phase, info| {
            if phase == gc::CallbackPhase::Stop {
                a.set(a.get() + info.collected);
            }
        });
        gc::enable();
        gc::set_threshold(1, 1, 1);
        let mut rng = Rng(0xa070);
        let cases = if cfg!(debug_assertions) {
            1_000
        } else {
            10_000
        };
        for _ in 0..cases {
            let n = 1 + rng.below(16) as usize;
            let kinds: Vec<usize> = (0..n).map(|_| rng.below(3) as usize).collect();
            let m = rng.below(3 * n as u64 + 1) as usize;
            let edges: Vec<(usize, usize)> = (0..m)
                .map(|_| (rng.below(n as u64) as usize, rng.below(n as u64) as usize))
                .collect();
            let rooted: Vec<bool> = (0..n).map(|_| rng.below(2) == 0).collect();
            // Slot `n` counts the churn objects.
            DROPS.with(|d| *d.borrow_mut() = vec![0; n + 1]);
            FINALIZES.with(|f| *f.borrow_mut() = vec![0; n + 1]);
            let nodes: Vec<Gc<dyn PNode>> = (0..n).map(|i| make(i, kinds[i])).collect();
            for &(x, y) in &edges {
                nodes[x].edges().borrow_mut().push(nodes[y].clone());
            }
            auto.set(0);
            let mut roots = Vec::new();
            for (i, node) in nodes.into_iter().enumerate() {
                if rooted[i] {
                    roots.push(node);
                } else {
                    drop(node);
                }
            }
            let expect = model(n, &edges, &rooted);
            let cyclic = (0..n)
                .filter(|&i| !expect.reachable[i] && !expect.refcount_freed[i])
                .count();
            let on_cycle = (0..n)
                .filter(|&i| !expect.reachable[i] && on_cycle(i, &edges))
                .count();
            // Churn: allocations that trigger automatic collections.
            let churn = rng.below(6) as u32;
            for _ in 0..churn {
                drop(make(n, 0));
            }
            let explicit = gengc::collect();
            let total = auto.get();
            assert!(explicit <= total);
            assert!(
                on_cycle <= total && total <= cyclic,
                "the collections counted {total}; the model says between {on_cycle} and {cyclic}: edges {edges:?} rooted {rooted:?}"
            );
            let d = drops();
            for i in 0..n {
                assert_eq!(
                    d[i],
                    u32::from(!expect.reachable[i]),
                    "node {i}: edges {edges:?} rooted {rooted:?}"
                );
            }
            assert_eq!(d[n], churn);
            drop(roots);
            gengc::collect();
            assert!(drops()[..n].iter().all(|&x| x == 1));
        }
        let r = gengc::memory_report();
        assert_eq!((r.used_blocks(), r.large_objects), (0, 0));
    });
}

/// Reachability from the roots, and what reference counting frees, for a
/// big graph (adjacency lists; `model` is quadratic).
fn model_big(n: usize, out: &[Vec<usize>], rooted: &[bool]) -> Expect {
    let mut reachable = rooted.to_vec();
    let mut stack: Vec<usize> = (0..n).filter(|&i| rooted[i]).collect();
    while let Some(x) = stack.pop() {
        for &b in &out[x] {
            if !reachable[b] {
                reachable[b] = true;
                stack.push(b);
            }
        }
    }
    let mut indeg = vec![0usize; n];
    for targets in out {
        for &b in targets {
            indeg[b] += 1;
        }
    }
    let mut alive = vec![true; n];
    let mut work: Vec<usize> = (0..n).filter(|&i| !rooted[i] && indeg[i] == 0).collect();
    while let Some(x) = work.pop() {
        if !std::mem::replace(&mut alive[x], false) {
            continue;
        }
        for &b in &out[x] {
            indeg[b] -= 1;
            if indeg[b] == 0 && !rooted[b] {
                work.push(b);
            }
        }
    }
    Expect {
        reachable,
        refcount_freed: alive.iter().map(|&a| !a).collect(),
    }
}

/// A node of one sized type, so that every edge has a sized target (the
/// collector finds a sized target's slot through the set's scratch map;
/// `dyn` targets go through their pool header).
#[derive(Trace)]
struct BigNode {
    edges: RefCell<Vec<Gc<BigNode>>>,
    #[gc(skip)]
    _t: Tally,
}

/// Random graphs big enough to span well over a hundred pools, so that the
/// collector finds its scratch arrays through the set's map (see
/// `collector::scratch_map`; smaller sets read the pool headers), with
/// edges from every pool to every other. First alone and collected whole,
/// then a second graph collected young while it points into the first,
/// which is old (outside the set) and stays alive. Exact drops and counts.
#[test]
fn random_graphs_spanning_many_pools() {
    const N: usize = 40_000;
    /// `N` nodes numbered from `base`, their edges, and which are rooted.
    /// Clusters of 50 nodes are scattered over the heap (a random
    /// permutation): each node has an edge to a random member of its own
    /// cluster (cycles), and one in four an edge into a random earlier
    /// cluster (so reachability flows from later clusters to earlier ones).
    fn build(rng: &mut Rng, base: usize) -> (Vec<Gc<BigNode>>, Vec<Vec<usize>>, Vec<bool>) {
        let nodes: Vec<Gc<BigNode>> = (0..N)
            .map(|i| {
                Gc::new(BigNode {
                    edges: RefCell::new(Vec::new()),
                    _t: Tally(base + i),
                })
            })
            .collect();
        let mut order: Vec<usize> = (0..N).collect();
        for i in (1..N).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let member = |c: usize, rng: &mut Rng| order[c * 50 + rng.below(50) as usize];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); N];
        for (slot, &node) in order.iter().enumerate() {
            let c = slot / 50;
            out[node].push(member(c, rng));
            if c > 0 && rng.below(4) == 0 {
                let earlier = rng.below(c as u64) as usize;
                out[node].push(member(earlier, rng));
            }
        }
        for (a, targets) in out.iter().enumerate() {
            for &b in targets {
                nodes[a].edges.borrow_mut().push(nodes[b].clone());
            }
        }
        let rooted: Vec<bool> = (0..N).map(|_| rng.below(500) == 0).collect();
        (nodes, out, rooted)
    }
    /// Drops the non-roots, checks what reference counting freed; returns
    /// the roots, the model and the number of cyclic garbage nodes.
    fn release(
        nodes: Vec<Gc<BigNode>>,
        out: &[Vec<usize>],
        rooted: &[bool],
        base: usize,
    ) -> (Vec<Gc<BigNode>>, Expect, usize) {
        let expect = model_big(N, out, rooted);
        let roots: Vec<_> = nodes
            .into_iter()
            .zip(rooted)
            .filter_map(|(node, &r)| r.then_some(node))
            .collect();
        let d = drops();
        for i in 0..N {
            assert_eq!(d[base + i], u32::from(expect.refcount_freed[i]), "node {i}");
        }
        let garbage = (0..N)
            .filter(|&i| !expect.reachable[i] && !expect.refcount_freed[i])
            .count();
        let reachable = expect.reachable.iter().filter(|&&r| r).count();
        assert!(
            garbage > 1_000 && reachable > 1_000,
            "a case with cycles to collect and a live part: {garbage} garbage, {reachable} reachable"
        );
        (roots, expect, garbage)
    }
    run(|| {
        gc::disable();
        let mut rng = Rng(0x9_9001);
        DROPS.with(|d| *d.borrow_mut() = vec![0; 2 * N]);

        // One graph, collected whole.
        let (nodes, out, rooted) = build(&mut rng, 0);
        let (roots, expect, garbage) = release(nodes, &out, &rooted, 0);
        assert_eq!(gengc::collect(), garbage);
        let d = drops();
        for i in 0..N {
            assert_eq!(d[i], u32::from(!expect.reachable[i]), "node {i}");
        }
        drop(roots);
        gengc::collect();
        assert_eq!(gengc::memory_report().used_blocks(), 0);

        // A second graph, young, also pointing into an old one that stays
        // alive: a young collection frees exactly its own garbage cycles.
        DROPS.with(|d| d.borrow_mut().iter_mut().for_each(|x| *x = 0));
        let (old, _, _) = build(&mut rng, 0);
        gengc::collect();
        assert_eq!(gc::generation_sizes(), (0, 0, N));
        let (nodes, out, rooted) = build(&mut rng, N);
        for (node, target) in nodes.iter().zip(&old) {
            node.edges.borrow_mut().push(target.clone());
        }
        let (roots, expect, garbage) = release(nodes, &out, &rooted, N);
        assert_eq!(gc::collect_generation(0), garbage);
        let d = drops();
        for i in 0..N {
            assert_eq!(d[i], 0, "old node {i}");
            assert_eq!(d[N + i], u32::from(!expect.reachable[i]), "young node {i}");
        }
        drop((roots, old));
        gengc::collect();
        assert!(drops().iter().all(|&x| x == 1));
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}
