//! Hostile shapes and sizes: million-deep chains (dropped and collected) on
//! a 2 MiB stack, a million-leaf star, a complete graph with a million
//! edges, self loops, finalizers resurrecting into thread-locals (a whole
//! million-node ring at once), `Gc`s created inside `Drop` during teardown
//! and at thread exit, cycles alive at thread exit, and the memory overhead
//! of ten million small objects.
//!
//! Every test body runs on its own thread with a 2 MiB stack (the default
//! for spawned threads, made explicit): recursion proportional to a graph's
//! depth would overflow it. Counts are exact. The heaviest tests are
//! release-only (`#[cfg_attr(debug_assertions, ignore)]`); each has a
//! smaller sibling that runs in debug builds too.

use gengc::gc;
use gengc::{Finalize, Gc, Trace, Tracer};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod common;
use common::Counted;

const STACK: usize = 2 << 20;
const MILLION: usize = 1_000_000;

fn run<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let handle = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn a 2 MiB thread");
    match handle.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

thread_local! {
    static DROPS: Cell<usize> = const { Cell::new(0) };
    static FINALIZES: Cell<usize> = const { Cell::new(0) };
    static SAVED: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
}

fn drops() -> usize {
    DROPS.with(Cell::get)
}

fn finalizes() -> usize {
    FINALIZES.with(Cell::get)
}

/// Counts drops (a leaf).
struct Tally;

impl Drop for Tally {
    fn drop(&mut self) {
        let _ = DROPS.try_with(|d| d.set(d.get() + 1));
    }
}

// SAFETY: owns no `Gc`.
unsafe impl Trace for Tally {
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

/// The workhorse: edges, a drop tally; optionally a finalizer that counts
/// itself and may save its first neighbour into `SAVED`.
#[derive(Trace)]
#[gc(finalize)]
struct Node {
    edges: RefCell<Vec<Gc<Node>>>,
    #[gc(skip)]
    fin: bool,
    #[gc(skip)]
    save_first: Cell<bool>,
    #[gc(skip)]
    _tally: Tally,
}

impl Finalize for Node {
    fn finalize(&self) {
        if !self.fin {
            return;
        }
        let _ = FINALIZES.try_with(|f| f.set(f.get() + 1));
        if self.save_first.get() {
            let first = self.edges.borrow()[0].clone();
            SAVED.with(|s| s.borrow_mut().push(first));
        }
    }
}

fn node() -> Gc<Node> {
    Gc::new(Node {
        edges: RefCell::new(Vec::new()),
        fin: false,
        save_first: Cell::new(false),
        _tally: Tally,
    })
}

fn fin_node() -> Gc<Node> {
    Gc::new(Node {
        edges: RefCell::new(Vec::new()),
        fin: true,
        save_first: Cell::new(false),
        _tally: Tally,
    })
}

fn link(a: &Gc<Node>, b: &Gc<Node>) {
    a.edges.borrow_mut().push(b.clone());
}

fn assert_heap_empty() {
    let r = gengc::memory_report();
    assert_eq!((r.used_blocks(), r.large_objects), (0, 0), "{r}");
    assert_eq!(gc::generation_sizes(), (0, 0, 0));
}

/// Makes a 2-cycle of finalizing nodes that owns `tail`, and drops it:
/// garbage, two objects, until a collection reaches it.
fn drop_garbage_pair_owning(tail: Gc<Node>) {
    let a = fin_node();
    let b = fin_node();
    link(&a, &b);
    link(&b, &a);
    a.edges.borrow_mut().push(tail);
}

/// head → … → tail, `n` nodes; returns (head, tail).
fn chain(n: usize, make: fn() -> Gc<Node>) -> (Gc<Node>, Gc<Node>) {
    let tail = make();
    let mut head = tail.clone();
    for _ in 1..n {
        let h = make();
        h.edges.borrow_mut().push(head);
        head = h;
    }
    (head, tail)
}

// ---------------------------------------------------------------------------
// Depth
// ---------------------------------------------------------------------------

#[test]
fn million_deep_acyclic_chain_is_dropped_on_a_small_stack() {
    run(|| {
        let (head, tail) = chain(MILLION, fin_node);
        drop(tail);
        drop(head);
        assert_eq!(drops(), MILLION);
        assert_eq!(finalizes(), MILLION);
        assert_heap_empty();
    });
}

#[test]
fn million_node_ring_is_collected_on_a_small_stack() {
    run(|| {
        let (head, tail) = chain(MILLION, node);
        link(&tail, &head);
        drop(tail);
        drop(head);
        assert_eq!(drops(), 0);
        assert_eq!(gengc::collect(), MILLION);
        assert_eq!(drops(), MILLION);
        assert_heap_empty();
    });
}

/// The mark pass walks a million-deep chain from its one root.
#[test]
fn million_deep_rooted_chain_survives_collections() {
    run(|| {
        let (head, tail) = chain(MILLION, node);
        drop(tail);
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(gengc::collect(), 0);
        assert_eq!(drops(), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, MILLION));
        drop(head);
        assert_eq!(drops(), MILLION);
        assert_heap_empty();
    });
}

/// A garbage 2-cycle owning a million-long acyclic tail: the tail is
/// unreachable too, so a full collection counts it all.
#[test]
fn garbage_cycle_owning_a_million_deep_tail() {
    run(|| {
        let (tail_head, tail_end) = chain(MILLION, fin_node);
        drop(tail_end);
        drop_garbage_pair_owning(tail_head);
        assert_eq!(gengc::collect(), MILLION + 2);
        assert_eq!(drops(), MILLION + 2);
        assert_eq!(finalizes(), MILLION + 2);
        assert_heap_empty();
    });
}

/// The same tail, old, owned by a *young* garbage 2-cycle: a young
/// collection frees the 2 cycle members, and tearing them down drops the
/// old tail by reference counting — a million-deep cascade of deaths (and
/// finalizers) run from inside the collector's teardown.
#[test]
fn young_garbage_cycle_owning_a_million_deep_old_tail() {
    run(|| {
        let (tail_head, tail_end) = chain(MILLION, fin_node);
        drop(tail_end);
        assert_eq!(gengc::collect(), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, MILLION));
        drop_garbage_pair_owning(tail_head);
        assert_eq!(gc::collect_generation(0), 2);
        assert_eq!(drops(), MILLION + 2);
        assert_eq!(finalizes(), MILLION + 2);
        assert_heap_empty();
    });
}

/// One finalizer of a garbage million-node ring resurrects the ring: the
/// resurrection check walks all of it (no recursion), nothing is dropped;
/// released again, it is freed without a second finalization.
#[test]
fn finalizer_resurrects_a_million_node_ring() {
    run(|| {
        let (head, tail) = chain(MILLION, fin_node);
        link(&tail, &head);
        tail.save_first.set(true); // saves `head`
        drop((head, tail));
        assert_eq!(gengc::collect(), 0);
        assert_eq!(finalizes(), MILLION);
        assert_eq!(drops(), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, MILLION));
        let saved = SAVED.with(|s| s.borrow_mut().pop()).expect("saved");
        let mut n = saved.clone();
        for _ in 0..10 {
            let next = n.edges.borrow()[0].clone();
            n = next;
        }
        drop((n, saved));
        assert_eq!(gengc::collect(), MILLION);
        assert_eq!(finalizes(), MILLION, "no second finalization");
        assert_eq!(drops(), MILLION);
        assert_heap_empty();
    });
}

// ---------------------------------------------------------------------------
// Width
// ---------------------------------------------------------------------------

/// A hub pointing to a million leaves, each pointing back.
fn star(leaves: usize) {
    let hub = node();
    {
        let mut edges = hub.edges.borrow_mut();
        edges.reserve(leaves);
        for _ in 0..leaves {
            let leaf = node();
            leaf.edges.borrow_mut().push(hub.clone());
            edges.push(leaf);
        }
    }
    assert_eq!(Gc::strong_count(&hub), leaves + 1);
    assert_eq!(gc::collect_generation(0), 0);
    drop(hub);
    assert_eq!(gengc::collect(), leaves + 1);
    assert_eq!(drops(), leaves + 1);
    assert_heap_empty();
}

#[test]
fn star_of_a_million_leaves() {
    run(|| star(MILLION));
}

fn complete_graph(n: usize, self_loops: bool) {
    let nodes: Vec<Gc<Node>> = (0..n).map(|_| node()).collect();
    for a in &nodes {
        let mut e = a.edges.borrow_mut();
        e.reserve(n);
        for b in &nodes {
            if self_loops || !Gc::ptr_eq(a, b) {
                e.push(b.clone());
            }
        }
    }
    let per_node = if self_loops { n } else { n - 1 };
    assert_eq!(Gc::strong_count(&nodes[0]), per_node + 1);
    drop(nodes);
    assert_eq!(gengc::collect(), n);
    assert_eq!(drops(), n);
    assert_heap_empty();
}

/// 1,000 nodes, every ordered pair an edge, self loops included: a million
/// edges.
#[test]
fn complete_graph_of_a_thousand_nodes() {
    run(|| complete_graph(1_000, true));
}

#[test]
fn complete_graph_without_self_loops() {
    run(|| complete_graph(300, false));
}

/// Self loops: single, repeated (the same edge many times), and a self
/// loop on every node of a garbage chain.
#[test]
fn self_loops() {
    run(|| {
        gc::disable(); // exact counts: no automatic collection meanwhile
        let n = 100_000;
        for _ in 0..n {
            let a = node();
            link(&a, &a);
        }
        let many = node();
        for _ in 0..1_000 {
            link(&many, &many);
        }
        assert_eq!(Gc::strong_count(&many), 1_001);
        drop(many);
        let (head, tail) = chain(1_000, node);
        let mut cur = head.clone();
        loop {
            link(&cur, &cur);
            let next = cur.edges.borrow().first().cloned();
            match next {
                Some(next) if !Gc::ptr_eq(&next, &cur) => cur = next,
                _ => break,
            }
        }
        drop((cur, head, tail));
        assert_eq!(gengc::collect(), n + 1 + 1_000);
        assert_eq!(drops(), n + 1 + 1_000);
        assert_heap_empty();
    });
}

// ---------------------------------------------------------------------------
// Resurrection into thread-locals
// ---------------------------------------------------------------------------

/// A finalizer saves a neighbour into a thread-local: the neighbour (and
/// what it reaches) survives intact in the old generation; released, it is
/// freed and nothing is finalized twice.
#[test]
fn finalizer_resurrects_into_a_thread_local() {
    run(|| {
        let a = fin_node();
        let b = fin_node();
        let c = node();
        link(&a, &b);
        link(&b, &c);
        link(&c, &a);
        a.save_first.set(true); // saves b → c → a: all three resurrected
        let d = fin_node();
        link(&d, &d);
        drop((a, b, c, d));
        assert_eq!(gengc::collect(), 1, "only d is freed");
        assert_eq!(finalizes(), 3);
        assert_eq!(drops(), 1);
        assert_eq!(gc::generation_sizes(), (0, 0, 3));
        let saved = SAVED.with(|s| s.borrow_mut().pop()).expect("b saved");
        assert_eq!(saved.edges.borrow().len(), 1);
        assert_eq!(
            saved.edges.borrow()[0].edges.borrow()[0]
                .edges
                .borrow()
                .len(),
            1
        );
        assert!(gc::is_finalized(&saved));
        let w = Gc::downgrade(&saved);
        assert!(
            w.upgrade().is_none(),
            "a Weak to a condemned object stays dead"
        );
        drop(saved);
        assert_eq!(gengc::collect(), 3);
        assert_eq!(finalizes(), 3);
        assert_eq!(drops(), 4);
        drop(w);
        assert_heap_empty();
    });
}

/// The resurrected object stays in the thread-local until the thread ends:
/// the thread-exit collection frees it (counted from outside).
#[test]
fn resurrected_into_a_thread_local_until_thread_exit() {
    #[derive(Trace)]
    #[gc(finalize)]
    struct Saver {
        peer: RefCell<Option<Gc<Saver>>>,
        #[gc(skip)]
        save: bool,
        #[gc(skip)]
        _c: Counted,
    }
    thread_local! {
        static KEEP: RefCell<Vec<Gc<Saver>>> = const { RefCell::new(Vec::new()) };
    }
    impl Finalize for Saver {
        fn finalize(&self) {
            if self.save {
                let peer = self.peer.borrow().clone().expect("peer");
                let _ = KEEP.try_with(|k| k.borrow_mut().push(peer));
            }
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = dropped.clone();
    run(move || {
        // Use the heap first, so that it is torn down after `KEEP`.
        drop(Gc::new(vec![Gc::new(0u8)]));
        KEEP.with(|_| {});
        let a = Gc::new(Saver {
            peer: RefCell::new(None),
            save: true,
            _c: Counted(d.clone()),
        });
        let b = Gc::new(Saver {
            peer: RefCell::new(Some(a.clone())),
            save: false,
            _c: Counted(d.clone()),
        });
        *a.peer.borrow_mut() = Some(b);
        drop(a);
        assert_eq!(gengc::collect(), 0, "a saved b, b reaches a");
        assert_eq!(KEEP.with(|k| k.borrow().len()), 1);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
}

// ---------------------------------------------------------------------------
// Allocation from destructors, thread exit
// ---------------------------------------------------------------------------

thread_local! {
    static SPAWNED: Cell<usize> = const { Cell::new(0) };
}

/// Its destructor allocates: a new 2-cycle of `Node`s (garbage at once) and
/// a live `Gc` it stores in `SAVED`.
struct Spawner {
    count: Option<Arc<AtomicUsize>>,
}

impl Drop for Spawner {
    fn drop(&mut self) {
        let a = node();
        let b = node();
        link(&a, &b);
        link(&b, &a);
        let _ = SPAWNED.try_with(|s| s.set(s.get() + 1));
        if let Some(c) = &self.count {
            c.fetch_add(1, Ordering::SeqCst);
        }
        let _ = SAVED.try_with(|s| s.borrow_mut().push(node()));
    }
}

// SAFETY: owns no Gc (the ones its Drop makes are not fields).
unsafe impl Trace for Spawner {
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

#[derive(Trace)]
struct Spawning {
    peer: RefCell<Option<Gc<Spawning>>>,
    #[gc(skip)]
    _s: Spawner,
}

/// Destructors that allocate while the collector tears a cycle down: the
/// new objects are sound and young, the collection's count is exact, the
/// next collection frees the cycles they made.
#[test]
fn gcs_created_inside_drop_during_teardown() {
    run(|| {
        gc::disable(); // exact counts: no automatic collection meanwhile
        let n = 1_000;
        for _ in 0..n {
            let a = Gc::new(Spawning {
                peer: RefCell::new(None),
                _s: Spawner { count: None },
            });
            let b = Gc::new(Spawning {
                peer: RefCell::new(Some(a.clone())),
                _s: Spawner { count: None },
            });
            *a.peer.borrow_mut() = Some(b);
        }
        assert_eq!(gengc::collect(), 2 * n);
        assert_eq!(SPAWNED.with(Cell::get), 2 * n);
        assert_eq!(gc::generation_sizes(), (3 * 2 * n, 0, 0));
        // The 2-cycles made by the destructors are garbage.
        assert_eq!(gengc::collect(), 4 * n);
        assert_eq!(drops(), 4 * n);
        SAVED.with(|s| s.borrow_mut().clear());
        assert_eq!(drops(), 6 * n);
        assert_heap_empty();
    });
}

/// Cycles alive when the thread ends — young, old, frozen, with finalizers,
/// large — are all collected by the thread-exit collection (counted with an
/// `Arc` from outside the thread).
#[test]
fn thread_exit_with_cycles_alive() {
    #[derive(Trace)]
    #[gc(finalize)]
    struct Exiting {
        peer: RefCell<Option<Gc<Exiting>>>,
        #[gc(skip)]
        finalized: Arc<AtomicUsize>,
        #[gc(skip)]
        _c: Counted,
        #[gc(skip)]
        _pad: Option<Box<[u8; 1024]>>,
    }
    impl Finalize for Exiting {
        fn finalize(&self) {
            self.finalized.fetch_add(1, Ordering::SeqCst);
        }
    }
    #[derive(Trace)]
    struct BigExiting {
        peer: RefCell<Option<Gc<BigExiting>>>,
        #[gc(skip)]
        _c: Counted,
        #[gc(skip)]
        _pad: [u8; 2048],
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let finalized = Arc::new(AtomicUsize::new(0));
    let (d, f) = (dropped.clone(), finalized.clone());
    run(move || {
        let cycle = |i: usize| {
            let a = Gc::new(Exiting {
                peer: RefCell::new(None),
                finalized: f.clone(),
                _c: Counted(d.clone()),
                _pad: (i % 2 == 0).then(|| Box::new([0; 1024])),
            });
            let b = Gc::new(Exiting {
                peer: RefCell::new(Some(a.clone())),
                finalized: f.clone(),
                _c: Counted(d.clone()),
                _pad: None,
            });
            *a.peer.borrow_mut() = Some(b);
        };
        for i in 0..100 {
            cycle(i);
        }
        assert_eq!(gc::collect_generation(1), 200);
        for i in 0..100 {
            cycle(i);
        }
        gc::freeze();
        for i in 0..100 {
            cycle(i);
        }
        for _ in 0..50 {
            let a = Gc::new(BigExiting {
                peer: RefCell::new(None),
                _c: Counted(d.clone()),
                _pad: [0; 2048],
            });
            *a.peer.borrow_mut() = Some(a.clone());
        }
        gc::disable();
    });
    // 100 cycles were collected by `collect_generation(1)`; the other 200
    // (100 of them frozen) and the 50 large self-loops at thread exit.
    assert_eq!(dropped.load(Ordering::SeqCst), 600 + 50);
    assert_eq!(finalized.load(Ordering::SeqCst), 600);
}

/// Destructors run by the thread-exit collection that allocate (here: a new
/// garbage 2-cycle and a `Gc` saved in a thread-local, per object). The exit
/// collection must stay sound; what it frees is counted from outside.
#[test]
fn gcs_created_inside_drop_at_thread_exit() {
    let spawned = Arc::new(AtomicUsize::new(0));
    let s = spawned.clone();
    run(move || {
        drop(node()); // the heap first, `SAVED` later: torn down before it
        SAVED.with(|_| {});
        for _ in 0..100 {
            let a = Gc::new(Spawning {
                peer: RefCell::new(None),
                _s: Spawner {
                    count: Some(s.clone()),
                },
            });
            *a.peer.borrow_mut() = Some(a.clone());
        }
    });
    assert_eq!(
        spawned.load(Ordering::SeqCst),
        100,
        "every Spawning dropped"
    );
}

/// Cycles created by destructors *during* the thread-exit collection are
/// collected too: the exit collection repeats while it frees something, and
/// objects allocated while the heap is being torn down are still tracked by
/// it. (Before that fix they were leaked with the heap.)
#[test]
fn cycles_created_inside_drop_at_thread_exit_are_collected() {
    #[derive(Trace)]
    struct Made {
        peer: RefCell<Option<Gc<Made>>>,
        #[gc(skip)]
        _c: Counted,
    }
    /// Its destructor makes a garbage self-cycle.
    struct Maker(Arc<AtomicUsize>);
    impl Drop for Maker {
        fn drop(&mut self) {
            let m = Gc::new(Made {
                peer: RefCell::new(None),
                _c: Counted(self.0.clone()),
            });
            *m.peer.borrow_mut() = Some(m.clone());
        }
    }
    #[derive(Trace)]
    struct Making {
        peer: RefCell<Option<Gc<Making>>>,
        #[gc(skip)]
        _m: Maker,
    }
    let made_dropped = Arc::new(AtomicUsize::new(0));
    let m = made_dropped.clone();
    run(move || {
        for _ in 0..100 {
            let a = Gc::new(Making {
                peer: RefCell::new(None),
                _m: Maker(m.clone()),
            });
            *a.peer.borrow_mut() = Some(a.clone());
        }
    });
    assert_eq!(
        made_dropped.load(Ordering::SeqCst),
        100,
        "cycles made by destructors during the exit collection were leaked"
    );
}

// ---------------------------------------------------------------------------
// Memory overhead
// ---------------------------------------------------------------------------

/// `count` objects of `T`: the heap reserves at most 1.1 × the ideal
/// (count × (8-byte header + value)), and gives it back when they die.
fn overhead<T: Trace + 'static>(count: usize, make: impl Fn(usize) -> T) -> f64 {
    let ideal_block = (8 + std::mem::size_of::<T>()).next_multiple_of(8);
    let objs: Vec<Gc<T>> = (0..count).map(|i| Gc::new(make(i))).collect();
    let r = gengc::memory_report();
    let class = r
        .size_classes
        .iter()
        .find(|c| c.block_size == ideal_block)
        .unwrap_or_else(|| panic!("no {ideal_block}-byte class:\n{r}"));
    assert_eq!(class.used_blocks, count);
    assert_eq!(r.large_objects, 0);
    let ideal = count * ideal_block;
    let ratio = r.bytes_reserved() as f64 / ideal as f64;
    assert!(
        ratio <= 1.1,
        "{count} × {ideal_block} B: {} B reserved, {ratio:.4} × the ideal\n{r}",
        r.bytes_reserved()
    );
    drop(objs);
    let after = gengc::memory_report();
    assert_eq!(after.used_blocks(), 0);
    // Each type keeps one empty pool; every other arena is an empty spare,
    // returned after its decay (tests/core.rs checks that part).
    assert!(after.arenas - after.spare_arenas <= after.pools, "{after}");
    assert!(after.pools <= after.size_classes.len(), "{after}");
    ratio
}

#[test]
#[cfg_attr(debug_assertions, ignore = "10M allocations: run with --release")]
fn ten_million_small_objects_within_ten_percent_of_ideal() {
    run(|| {
        let r8 = overhead(10_000_000, |i| i as u64);
        let r16 = overhead(10_000_000, |i| [i as u64; 2]);
        eprintln!("10M Gc<u64>: {r8:.4} × ideal; 10M Gc<[u64; 2]>: {r16:.4} × ideal");
    });
}

#[test]
fn a_million_small_objects_within_ten_percent_of_ideal() {
    run(|| {
        overhead(MILLION, |i| i as u64);
        overhead(MILLION, |i| [i as u32; 4]);
    });
}
