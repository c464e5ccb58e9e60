//! Panics from user code at every point gengc calls it: `Trace` (the count,
//! mark and resurrection-check passes), `Finalize`, `Drop`, collection
//! callbacks (start and stop), and `Clone` (`Gc::make_mut`).
//!
//! The core is a *sweep*: one fixed graph (cycles of pooled and large
//! objects, finalizers, an acyclic tail hanging off garbage, garbage pointing
//! into live objects), a dry run that counts how often each hook is called
//! during `collect()`, then one fresh thread per (hook, k) in which the k-th
//! call of that hook panics. After `catch_unwind`, every case checks:
//!
//! - no value dropped twice, no finalizer run twice, nothing live touched;
//! - exactly what the phase allows happened: a panic during detection frees
//!   nothing and finalizes nothing; one during the resurrection check
//!   finalizes everything and frees nothing; one in a finalizer, destructor
//!   or callback still frees all the garbage;
//! - the heap is usable (a new cycle is collected, exact count) and a later
//!   `collect()` frees exactly the garbage that is left; releasing the roots
//!   empties the heap.
//!
//! The same sweep runs for deaths by reference counting (a tree), and single
//! tests cover automatic collections (a panic out of `Gc::new`), `make_mut`,
//! introspection, and thread exit. (`tests/cpython_gc.rs` already covers one
//! case each of: finalizer / destructor / start-callback panic in `collect`,
//! the first panic being resumed, a finalizer panic in an automatic
//! collection, a trace panic in detection and in the resurrection check,
//! and a finalizer panic on refcount death.)
//!
//! Four tests are `#[ignore]`d: they fail because of three library bugs
//! (see their `ignore` reasons and the comments above them): a panic while
//! the trashcan drains (two tests), `Gc::make_mut`'s move-out path, and
//! `Gc::<[T]>::from(Vec<T>)`.

// Index loops over parallel per-node arrays read best as they are.
#![allow(clippy::needless_range_loop)]

use gengc::gc::{self, CallbackPhase};
use gengc::{coerce_gc, Finalize, Gc, Trace, Tracer};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod common;
use common::{run, Counted};

fn message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Hooks that panic on demand
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Hook {
    Trace,
    Finalize,
    Drop,
    CallbackStart,
    CallbackStop,
}

const HOOKS: usize = 5;

thread_local! {
    /// `Some((hook, k))`: the k-th call of `hook` panics (once).
    static ARMED: Cell<Option<(Hook, u64)>> = const { Cell::new(None) };
    static CALLS: [Cell<u64>; HOOKS] = const { [const { Cell::new(0) }; HOOKS] };
    /// Trace calls made before the first finalizer ran.
    static TRACES_BEFORE_FIRST_FINALIZER: Cell<Option<u64>> = const { Cell::new(None) };
    static DROPS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static FINALIZES: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Counts a call of `hook`; panics if it is the armed one.
fn hit(hook: Hook) {
    let n = CALLS.with(|c| {
        let c = &c[hook as usize];
        c.set(c.get() + 1);
        c.get()
    });
    if ARMED.with(Cell::get) == Some((hook, n)) {
        ARMED.with(|a| a.set(None));
        panic!("{hook:?} boom #{n}");
    }
}

fn calls(hook: Hook) -> u64 {
    CALLS.with(|c| c[hook as usize].get())
}

fn reset_calls() {
    CALLS.with(|c| c.iter().for_each(|c| c.set(0)));
    TRACES_BEFORE_FIRST_FINALIZER.with(|t| t.set(None));
}

fn drops() -> Vec<u32> {
    DROPS.with(|d| d.borrow().clone())
}

fn finalizes() -> Vec<u32> {
    FINALIZES.with(|f| f.borrow().clone())
}

/// Counts the drop of node `id` (a leaf).
struct Tally(usize);

impl Drop for Tally {
    fn drop(&mut self) {
        let _ = DROPS.try_with(|d| {
            let mut d = d.borrow_mut();
            if d.len() <= self.0 {
                d.resize(self.0 + 1, 0);
            }
            d[self.0] += 1;
        });
    }
}

// SAFETY: owns no `Gc`.
unsafe impl Trace for Tally {
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

/// A destructor that panics when armed.
struct DropHook;

impl Drop for DropHook {
    fn drop(&mut self) {
        let _ = CALLS.try_with(|_| hit(Hook::Drop));
    }
}

struct Core {
    id: usize,
    fin: bool,
    edges: RefCell<Vec<Gc<dyn BNode>>>,
    // Dropped in this order: the edges, the hook (may panic), the tally
    // (still dropped while unwinding).
    _hook: DropHook,
    _tally: Tally,
}

trait BNode: Trace {
    fn core(&self) -> &Core;
}

fn trace_core(core: &Core, tracer: &mut Tracer<'_>) {
    hit(Hook::Trace);
    core.edges.trace(tracer);
}

fn finalize_core(core: &Core) {
    if !core.fin {
        return;
    }
    TRACES_BEFORE_FIRST_FINALIZER.with(|t| {
        if t.get().is_none() {
            t.set(Some(calls(Hook::Trace)));
        }
    });
    // `try_with`: it may run in the thread-exit collection.
    let _ = FINALIZES.try_with(|f| {
        let mut f = f.borrow_mut();
        if f.len() <= core.id {
            f.resize(core.id + 1, 0);
        }
        f[core.id] += 1;
    });
    hit(Hook::Finalize);
}

/// A pooled node.
struct Pooled(Core);
/// A large object (its own allocation).
struct Big(Core, #[allow(dead_code)] [u8; 600]);

// SAFETY: each traces its one owning field (`edges`), once; `Drop` of the
// fields touches no `Gc`.
unsafe impl Trace for Pooled {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        trace_core(&self.0, tracer);
    }
    fn finalize_glue(&self) {
        finalize_core(&self.0);
    }
    fn needs_finalize() -> bool {
        true
    }
}

// SAFETY: as above.
unsafe impl Trace for Big {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        trace_core(&self.0, tracer);
    }
    fn finalize_glue(&self) {
        finalize_core(&self.0);
    }
    fn needs_finalize() -> bool {
        true
    }
}

impl BNode for Pooled {
    fn core(&self) -> &Core {
        &self.0
    }
}

impl BNode for Big {
    fn core(&self) -> &Core {
        &self.0
    }
}

fn node(id: usize, big: bool, fin: bool) -> Gc<dyn BNode> {
    let core = Core {
        id,
        fin,
        edges: RefCell::new(Vec::new()),
        _hook: DropHook,
        _tally: Tally(id),
    };
    if big {
        coerce_gc!(Gc::new(Big(core, [0; 600])) => dyn BNode)
    } else {
        coerce_gc!(Gc::new(Pooled(core)) => dyn BNode)
    }
}

fn link(a: &Gc<dyn BNode>, b: &Gc<dyn BNode>) {
    a.core().edges.borrow_mut().push(b.clone());
}

fn edge_ids(n: &Gc<dyn BNode>) -> Vec<usize> {
    n.core()
        .edges
        .borrow()
        .iter()
        .map(|e| e.core().id)
        .collect()
}

// ---------------------------------------------------------------------------
// The collection sweep
// ---------------------------------------------------------------------------

/// Garbage: ids 0..=9. Live: 10, 11, 12 (roots: 10 and 12).
///
/// - cycle 0 → 1 (large, fin) → 2 (fin) → 0, with a tail 2 → 6 → 7 (large);
/// - 3 (fin) ⇄ 4 (fin);
/// - 5 (large, fin) → 5;
/// - 8 ⇄ 9, and 9 → 10 (garbage pointing into live objects);
/// - live: 10 (fin) ⇄ 11 (large), 12 → 10.
const GARBAGE: usize = 10;
const FIN_GARBAGE: [usize; 5] = [1, 2, 3, 4, 5];

fn build() -> Vec<Gc<dyn BNode>> {
    let spec: [(bool, bool); 13] = [
        (false, false),
        (true, true),
        (false, true),
        (false, true),
        (false, true),
        (true, true),
        (false, false),
        (true, false),
        (false, false),
        (false, false),
        (false, true),
        (true, false),
        (false, false),
    ];
    let n: Vec<Gc<dyn BNode>> = spec
        .iter()
        .enumerate()
        .map(|(i, &(big, fin))| node(i, big, fin))
        .collect();
    for (a, b) in [
        (0, 1),
        (1, 2),
        (2, 0),
        (2, 6),
        (6, 7),
        (3, 4),
        (4, 3),
        (5, 5),
        (8, 9),
        (9, 8),
        (9, 10),
        (10, 11),
        (11, 10),
        (12, 10),
    ] {
        link(&n[a], &n[b]);
    }
    DROPS.with(|d| *d.borrow_mut() = vec![0; 13]);
    FINALIZES.with(|f| *f.borrow_mut() = vec![0; 13]);
    vec![n[10].clone(), n[12].clone()]
}

fn install_callbacks() {
    gc::add_callback(|phase, _| match phase {
        CallbackPhase::Start => hit(Hook::CallbackStart),
        CallbackPhase::Stop => hit(Hook::CallbackStop),
    });
}

/// Calls of each hook during one clean `collect()` of the graph, and the
/// trace calls made before the first finalizer.
fn dry_run() -> ([u64; HOOKS], u64) {
    run(|| {
        gc::disable();
        install_callbacks();
        let roots = build();
        reset_calls();
        assert_eq!(gengc::collect(), GARBAGE);
        let counts = std::array::from_fn(|h| CALLS.with(|c| c[h].get()));
        let before_fin = TRACES_BEFORE_FIRST_FINALIZER
            .with(Cell::get)
            .expect("finalizers ran");
        drop(roots);
        (counts, before_fin)
    })
}

fn check_live_intact(roots: &[Gc<dyn BNode>]) {
    let d = drops();
    assert_eq!(&d[10..13], &[0, 0, 0], "a live node was dropped");
    assert_eq!(roots[0].core().id, 10);
    assert_eq!(edge_ids(&roots[0]), vec![11]);
    assert_eq!(edge_ids(&roots[0].core().edges.borrow()[0]), vec![10]);
    assert_eq!(edge_ids(&roots[1]), vec![10]);
}

/// One case of the sweep: the k-th call of `hook` panics inside `collect()`.
fn sweep_case(hook: Hook, k: u64, traces_before_fin: u64) {
    run(move || {
        gc::disable();
        install_callbacks();
        let roots = build();
        reset_calls();
        ARMED.with(|a| a.set(Some((hook, k))));
        let err = catch_unwind(gengc::collect).expect_err("the armed hook fired");
        assert_eq!(message(&*err), format!("{hook:?} boom #{k}"));
        assert_eq!(ARMED.with(Cell::get), None);
        let d = drops();
        let f = finalizes();
        assert!(
            d.iter().all(|&x| x <= 1),
            "{hook:?} #{k}: double drop {d:?}"
        );
        assert!(
            f.iter().all(|&x| x <= 1),
            "{hook:?} #{k}: double finalize {f:?}"
        );
        check_live_intact(&roots);
        let dropped = d[..GARBAGE].iter().filter(|&&x| x == 1).count();
        let finalized: Vec<usize> = (0..13).filter(|&i| f[i] == 1).collect();
        match hook {
            Hook::Trace if k <= traces_before_fin => {
                // Detection (count or mark) unwound: nothing happened.
                assert_eq!(dropped, 0, "trace #{k}: detection panic freed something");
                assert!(finalized.is_empty(), "trace #{k}: finalized {finalized:?}");
                assert_eq!(gc::generation_sizes(), (13, 0, 0), "trace #{k}");
            }
            Hook::Trace => {
                // The resurrection check unwound: all finalized, all kept.
                assert_eq!(
                    dropped, 0,
                    "trace #{k}: resurrection-check panic freed something"
                );
                assert_eq!(finalized, FIN_GARBAGE, "trace #{k}");
                // Survivors and the kept garbage are all old now.
                assert_eq!(gc::generation_sizes(), (0, 0, 3 + GARBAGE), "trace #{k}");
            }
            _ => {
                // A finalizer, destructor or callback: the collection still
                // finished and freed everything.
                assert_eq!(dropped, GARBAGE, "{hook:?} #{k}: {d:?}");
                assert_eq!(finalized, FIN_GARBAGE, "{hook:?} #{k}");
                assert_eq!(gc::stats()[2].collected, GARBAGE, "{hook:?} #{k}");
                assert_eq!(gc::generation_sizes(), (0, 0, 3), "{hook:?} #{k}");
            }
        }
        // A later collection frees exactly what is left, finalizing nothing
        // twice.
        assert_eq!(
            gengc::collect(),
            GARBAGE - dropped,
            "{hook:?} #{k}: later collect"
        );
        let d = drops();
        let f = finalizes();
        assert_eq!(&d[..GARBAGE], &[1; GARBAGE], "{hook:?} #{k}");
        for i in 0..13 {
            assert_eq!(
                f[i],
                u32::from(FIN_GARBAGE.contains(&i)),
                "{hook:?} #{k}: node {i}"
            );
        }
        check_live_intact(&roots);
        // The heap is usable.
        let a = node(100, false, true);
        let b = node(101, true, false);
        link(&a, &b);
        link(&b, &a);
        drop((a, b));
        assert_eq!(gengc::collect(), 2);
        // Releasing the roots empties the heap (12 by reference counting,
        // the 10 ⇄ 11 cycle by collection).
        drop(roots);
        assert_eq!(gengc::collect(), 2);
        let d = drops();
        assert_eq!(&d[..13], &[1; 13], "{hook:?} #{k}");
        assert_eq!(&d[100..102], &[1, 1], "{hook:?} #{k}");
        let r = gengc::memory_report();
        assert_eq!(
            (r.used_blocks(), r.large_objects),
            (0, 0),
            "{hook:?} #{k}:\n{r}"
        );
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
    });
}

#[test]
fn collect_sweep_panics_at_every_hook_call() {
    let (counts, traces_before_fin) = dry_run();
    // 13 objects traced by the count pass, the reachable ones again by the
    // mark pass (10, 11, 12 only: 3), then the 10 garbage objects counted
    // and the resurrection check's mark pass (nothing resurrected: 0).
    assert_eq!(traces_before_fin, 13 + 3, "trace calls in detection");
    assert_eq!(
        counts[Hook::Trace as usize],
        16 + 10,
        "trace calls in total"
    );
    assert_eq!(counts[Hook::Finalize as usize], 5);
    assert_eq!(counts[Hook::Drop as usize], GARBAGE as u64);
    assert_eq!(counts[Hook::CallbackStart as usize], 1);
    assert_eq!(counts[Hook::CallbackStop as usize], 1);
    let mut cases = 0;
    for hook in [
        Hook::Trace,
        Hook::Finalize,
        Hook::Drop,
        Hook::CallbackStart,
        Hook::CallbackStop,
    ] {
        for k in 1..=counts[hook as usize] {
            sweep_case(hook, k, traces_before_fin);
            cases += 1;
        }
    }
    assert_eq!(cases, 26 + 5 + 10 + 1 + 1);
}

// ---------------------------------------------------------------------------
// The refcount-death sweep
// ---------------------------------------------------------------------------

/// A tree (fin nodes: 0, 2, 5, 7): 0 → [1, 2], 1 → [3, 4, 5], 2 → [6, 7],
/// 5 → [8]; 4 and 7 are large. Dropping the one handle to 0 frees it all by
/// reference counting.
fn tree() -> Gc<dyn BNode> {
    let fin = [true, false, true, false, false, true, false, true, false];
    let big = [false, false, false, false, true, false, false, true, false];
    let n: Vec<Gc<dyn BNode>> = (0..9).map(|i| node(i, big[i], fin[i])).collect();
    for (a, b) in [
        (0, 1),
        (0, 2),
        (1, 3),
        (1, 4),
        (1, 5),
        (2, 6),
        (2, 7),
        (5, 8),
    ] {
        link(&n[a], &n[b]);
    }
    DROPS.with(|d| *d.borrow_mut() = vec![0; 9]);
    FINALIZES.with(|f| *f.borrow_mut() = vec![0; 9]);
    n[0].clone()
}

#[test]
fn refcount_sweep_panics_at_every_finalizer_and_destructor_call() {
    let counts = run(|| {
        let root = tree();
        reset_calls();
        drop(root);
        assert_eq!(drops(), vec![1; 9]);
        [calls(Hook::Finalize), calls(Hook::Drop), calls(Hook::Trace)]
    });
    assert_eq!(counts, [4, 9, 0]);
    for (hook, n) in [(Hook::Finalize, counts[0]), (Hook::Drop, counts[1])] {
        for k in 1..=n {
            run(move || {
                let root = tree();
                let weak = Gc::downgrade(&root);
                reset_calls();
                ARMED.with(|a| a.set(Some((hook, k))));
                let err = catch_unwind(AssertUnwindSafe(move || drop(root)))
                    .expect_err("the armed hook fired");
                assert_eq!(message(&*err), format!("{hook:?} boom #{k}"));
                // Every value dropped exactly once, every finalizer once,
                // even though one of them panicked (Rust's own rule: the
                // remaining fields and elements are dropped while unwinding).
                assert_eq!(drops(), vec![1; 9], "{hook:?} #{k}");
                let f = finalizes();
                for i in 0..9 {
                    assert_eq!(
                        f[i],
                        u32::from([0, 2, 5, 7].contains(&i)),
                        "{hook:?} #{k}: node {i}"
                    );
                }
                assert!(weak.upgrade().is_none());
                drop(weak);
                let r = gengc::memory_report();
                assert_eq!(
                    (r.used_blocks(), r.large_objects),
                    (0, 0),
                    "{hook:?} #{k}:\n{r}"
                );
                assert_eq!(gc::generation_sizes(), (0, 0, 0));
                // Usable afterwards.
                let a = node(20, false, true);
                link(&a, &a);
                drop(a);
                assert_eq!(gengc::collect(), 1);
            });
        }
    }
}

// ---------------------------------------------------------------------------
// A panic while the trashcan drains must not strand the rest of a deep chain
// (it did before the drain caught each panic).
// ---------------------------------------------------------------------------

/// A chain of `len` nodes (0 → 1 → … → len-1), all with finalizers.
fn chain(len: usize) -> Gc<dyn BNode> {
    DROPS.with(|d| *d.borrow_mut() = vec![0; len]);
    FINALIZES.with(|f| *f.borrow_mut() = vec![0; len]);
    let mut head: Option<Gc<dyn BNode>> = None;
    for i in (0..len).rev() {
        let n = node(i, false, true);
        if let Some(next) = head.take() {
            n.core().edges.borrow_mut().push(next);
        }
        head = Some(n);
    }
    head.expect("len > 0")
}

/// Drops a 200-long chain whose k-th finalizer (or destructor) panics.
/// Like the shallow tree above (and like `Rc`), every value must have been
/// dropped by the time the panic reaches the caller.
///
/// It fails: chains deeper than `TRASHCAN_DEPTH` (64) have their deeper
/// deaths deferred to the trashcan list, drained by the outermost death in
/// `DyingGuard::drop` → `drain_deferred` (src/heap/mod.rs). When a deferred
/// object's finalizer or destructor panics, the panic leaves the
/// `while let Some(obj) = pop()` loop and `drain_deferred` with the rest of
/// the list still queued: those objects are dead (strong count 0, untracked)
/// but their values are neither finalized nor dropped, their blocks not
/// freed. They are only finished by whichever unrelated tracked object dies
/// next at depth 0 — or never, if none does before the thread exits (the
/// thread-exit collection only drains it if it frees garbage; otherwise the
/// heap sees live blocks and is leaked). With k = 100: 73 of 200 values are
/// stranded. Fix: drain under a guard that keeps draining (catching later
/// panics, as `teardown` does) or that re-queues the drain on unwind, so the
/// list is empty whenever a death returns or unwinds to depth 0.
fn deep_chain_case(hook: Hook, k: u64) {
    run(move || {
        let len = 200;
        let head = chain(len);
        reset_calls();
        ARMED.with(|a| a.set(Some((hook, k))));
        let r = catch_unwind(AssertUnwindSafe(move || drop(head)));
        assert!(r.is_err());
        let d = drops();
        let stranded = d.iter().filter(|&&x| x == 0).count();
        let used = gengc::memory_report().used_blocks();
        // Finish them (an unrelated death drains the trashcan) so the
        // thread exits cleanly, then report.
        drop(node(len + 1, false, false));
        assert!(
            drops()[..len].iter().all(|&x| x == 1),
            "dropped exactly once in the end"
        );
        assert_eq!(
            (stranded, used),
            (0, 0),
            "{hook:?} #{k}: {stranded} of {len} values were neither dropped nor freed when the panic reached the caller"
        );
    });
}

#[test]
fn deep_chain_panicking_finalizer_drops_every_value() {
    deep_chain_case(Hook::Finalize, 100);
}

#[test]
fn deep_chain_panicking_destructor_drops_every_value() {
    deep_chain_case(Hook::Drop, 100);
}

/// The same chain with the panic before the trashcan is involved (depth
/// below 64): every value is dropped. (Passes; the contrast to the above.)
#[test]
fn shallow_part_of_a_deep_chain_panicking_drops_every_value() {
    for hook in [Hook::Finalize, Hook::Drop] {
        run(move || {
            let head = chain(200);
            reset_calls();
            ARMED.with(|a| a.set(Some((hook, 10))));
            let r = catch_unwind(AssertUnwindSafe(move || drop(head)));
            assert!(r.is_err());
            assert_eq!(drops(), vec![1; 200], "{hook:?}");
            assert_eq!(gengc::memory_report().used_blocks(), 0);
        });
    }
}

// ---------------------------------------------------------------------------
// Panics out of `Gc::new` (automatic collections)
// ---------------------------------------------------------------------------

/// Garbage whose collection panics in the given hook, and a threshold that
/// makes the next tracked allocation collect.
fn arm_automatic_collection(hook: Hook) -> Vec<Gc<dyn BNode>> {
    gc::set_threshold(1, 100, 100);
    install_callbacks();
    let roots = build(); // 13 tracked allocations: automatic collections ran
    gengc::collect(); // ...and the garbage above is gone (no panic armed)
    DROPS.with(|d| *d.borrow_mut() = vec![0; 13]);
    FINALIZES.with(|f| *f.borrow_mut() = vec![0; 13]);
    // Fresh garbage: a finalizer 2-cycle, ids 20, 21.
    let a = node(20, false, true);
    let b = node(21, false, true);
    link(&a, &b);
    link(&b, &a);
    drop((a, b));
    reset_calls();
    ARMED.with(|a| a.set(Some((hook, 1))));
    roots
}

/// A panic in any hook of an automatic collection comes out of the
/// `Gc::new` that triggered it: the value given to `Gc::new` is dropped
/// exactly once, no object is left half-built, and the heap works.
#[test]
fn gc_new_propagates_automatic_collection_panics() {
    for hook in [
        Hook::Trace,
        Hook::Finalize,
        Hook::Drop,
        Hook::CallbackStart,
        Hook::CallbackStop,
    ] {
        run(move || {
            let roots = arm_automatic_collection(hook);
            let used_before = gengc::memory_report().used_blocks();
            let r = catch_unwind(|| node(30, false, false));
            let err = r.err().expect("Gc::new panicked");
            assert_eq!(message(&*err), format!("{hook:?} boom #1"));
            let d = drops();
            assert_eq!(
                d[30], 1,
                "{hook:?}: the value given to Gc::new dropped once"
            );
            assert!(d.iter().all(|&x| x <= 1));
            let freed = d[20] + d[21];
            match hook {
                Hook::Trace => assert_eq!(freed, 0),
                _ => assert_eq!(freed, 2, "{hook:?}: the collection still finished"),
            }
            assert_eq!(
                gengc::memory_report().used_blocks(),
                used_before - freed as usize,
                "{hook:?}: no block taken for the failed Gc::new"
            );
            assert_eq!(gengc::collect(), 2 - freed as usize);
            assert_eq!(drops()[20..22], [1, 1]);
            assert_eq!(finalizes()[20..22], [1, 1]);
            // Usable.
            let n = node(31, true, false);
            link(&n, &roots[0]);
            drop(n);
            drop(roots);
            gengc::collect();
            let r = gengc::memory_report();
            assert_eq!((r.used_blocks(), r.large_objects), (0, 0), "{hook:?}");
        });
    }
}

/// `Gc::new_cyclic` runs the automatic collection before the constructor:
/// a panic there means the constructor never runs and nothing leaks.
#[test]
fn new_cyclic_with_a_panicking_automatic_collection() {
    run(|| {
        let roots = arm_automatic_collection(Hook::Finalize);
        let ran = Cell::new(false);
        let r = catch_unwind(AssertUnwindSafe(|| {
            Gc::new_cyclic(|_me: &gengc::Weak<Vec<Gc<u8>>>| {
                ran.set(true);
                vec![Gc::new(1u8)]
            })
        }));
        assert!(r.is_err());
        assert!(!ran.get(), "the constructor did not run");
        assert_eq!(drops()[20..22], [1, 1]);
        drop(roots);
        gengc::collect();
        let r = gengc::memory_report();
        assert_eq!((r.used_blocks(), r.large_objects), (0, 0));
    });
}

/// Regression (fixed): `impl From<Vec<T>> for Gc<[T]>` (src/handle.rs) set
/// the vector's length to 0 *before* placing the object, and placing a slice of traced
/// elements may run an automatic collection. If that collection panics
/// (a finalizer, destructor or callback), the unwinding drops the empty
/// vector: the elements are never dropped — a leak of everything they own,
/// including their `Gc`s, whose targets then stay alive forever (a
/// `Gc<String>` here; cycles through them are never collected either).
/// `FromIterator` and `From<&[T]>` go through it too. Fixed by placing
/// first, then `set_len(0)` and copying.
#[test]
fn slice_from_vec_with_a_panicking_automatic_collection_drops_the_elements() {
    run(|| {
        let roots = arm_automatic_collection(Hook::CallbackStart);
        let leaf = Gc::new(String::from("owned by the elements"));
        let elems = vec![(leaf.clone(), Tally(40)), (leaf.clone(), Tally(41))];
        let r = catch_unwind(AssertUnwindSafe(move || {
            Gc::<[(Gc<String>, Tally)]>::from(elems)
        }));
        assert!(r.is_err());
        assert_eq!(drops()[20..22], [1, 1], "the collection itself finished");
        let d = drops();
        assert_eq!(
            (
                d.get(40).copied(),
                d.get(41).copied(),
                Gc::strong_count(&leaf)
            ),
            (Some(1), Some(1), 1),
            "the vector's elements were never dropped: leaked, with the Gc handles they own"
        );
        drop(roots);
    });
}

// ---------------------------------------------------------------------------
// `Gc::make_mut` and a panicking `Clone`
// ---------------------------------------------------------------------------

thread_local! {
    static PAYLOAD_DROPS: Cell<u32> = const { Cell::new(0) };
    static CLONE_PANICS_AFTER: Cell<Option<u32>> = const { Cell::new(None) };
}

/// A field whose clone panics on demand.
struct Fragile;

impl Clone for Fragile {
    fn clone(&self) -> Fragile {
        if CLONE_PANICS_AFTER.with(Cell::get).is_some() {
            panic!("clone boom");
        }
        Fragile
    }
}

/// Counts payload drops.
#[derive(Clone)]
struct PayloadTally;

impl Drop for PayloadTally {
    fn drop(&mut self) {
        let _ = PAYLOAD_DROPS.try_with(|d| d.set(d.get() + 1));
    }
}

#[derive(gengc::Trace, Clone)]
struct Payload {
    links: Vec<Gc<String>>,
    #[gc(skip)]
    _tally: PayloadTally,
    #[gc(skip)]
    _fragile: Fragile,
}

fn payload(leaf: &Gc<String>) -> Payload {
    Payload {
        links: vec![leaf.clone(), leaf.clone()],
        _tally: PayloadTally,
        _fragile: Fragile,
    }
}

/// `make_mut` on a shared handle clones the payload; if `Clone` panics
/// midway, the original is untouched, the partial clone's fields are
/// dropped (the leaf's count is back), nothing is dropped twice.
#[test]
fn make_mut_with_a_panicking_clone() {
    run(|| {
        let leaf = Gc::new(String::from("leaf"));
        let mut a = Gc::new(payload(&leaf));
        let b = a.clone();
        CLONE_PANICS_AFTER.with(|c| c.set(Some(0)));
        let r = catch_unwind(AssertUnwindSafe(|| {
            Gc::make_mut(&mut a);
        }));
        CLONE_PANICS_AFTER.with(|c| c.set(None));
        let err = r.expect_err("clone panicked");
        assert_eq!(message(&*err), "clone boom");
        assert!(
            Gc::ptr_eq(&a, &b),
            "the handle still points to the shared original"
        );
        assert_eq!(Gc::strong_count(&a), 2);
        assert_eq!(
            Gc::strong_count(&leaf),
            3,
            "the partial clone's Gcs were released"
        );
        // The clone of `_tally` was made before `_fragile` panicked and is
        // dropped while unwinding; the original is not.
        assert_eq!(PAYLOAD_DROPS.with(Cell::get), 1);
        // It works afterwards, and copies on write.
        Gc::make_mut(&mut a).links.pop();
        assert!(!Gc::ptr_eq(&a, &b));
        assert_eq!((a.links.len(), b.links.len()), (1, 2));
        drop((a, b));
        assert_eq!(PAYLOAD_DROPS.with(Cell::get), 3);
        assert_eq!(Gc::strong_count(&leaf), 1);
    });
}

/// `make_mut` on a shared handle whose `Gc::new` for the copy runs an
/// automatic collection that panics: the copy is dropped once, the
/// original untouched.
#[test]
fn make_mut_shared_with_a_panicking_automatic_collection() {
    run(|| {
        let leaf = Gc::new(String::from("leaf"));
        let mut a = Gc::new(payload(&leaf));
        let b = a.clone();
        let roots = arm_automatic_collection(Hook::Finalize);
        let r = catch_unwind(AssertUnwindSafe(|| {
            Gc::make_mut(&mut a);
        }));
        assert!(r.is_err());
        assert!(Gc::ptr_eq(&a, &b));
        assert_eq!(PAYLOAD_DROPS.with(Cell::get), 1, "the copy, once");
        assert_eq!(Gc::strong_count(&leaf), 3);
        assert_eq!(drops()[20..22], [1, 1]);
        drop((a, b, roots));
        assert_eq!(PAYLOAD_DROPS.with(Cell::get), 2);
        assert_eq!(Gc::strong_count(&leaf), 1);
    });
}

/// Regression (use-after-free, fixed): `Gc::make_mut` when only `Weak`s
/// share the object (src/handle.rs, the `weak_raw() != 1` branch) moved the value out with
/// `ptr::read` (`new_uninit_from`) and passes it to `Gc::new`, which may run
/// an automatic collection *before* taking a block. If that collection
/// panics (a finalizer, destructor or callback anywhere in the heap — the
/// collector resumes the first panic when it is done), `Gc::new` unwinds
/// and drops the moved-out copy, while `this` still owns the original,
/// bitwise the same value: its `Gc` fields are released twice and its
/// `Vec` buffer freed twice when `this` is dropped (double drop; reading
/// `this` in between reads freed memory — the process aborted with a
/// misaligned-pointer panic on `a.links[0]` when tried). Fixed: the new
/// block is placed before the value is copied into it.
///
/// The test stops at the first sign of it (the payload dropped while `a`
/// still owns it) and overwrites `a`'s stale value so that no double free
/// actually happens.
#[test]
fn make_mut_weak_only_with_a_panicking_automatic_collection() {
    run(|| {
        let leaf = Gc::new(String::from("leaf"));
        let mut a = Gc::new(payload(&leaf));
        let weak = Gc::downgrade(&a);
        let roots = arm_automatic_collection(Hook::CallbackStart);
        let r = catch_unwind(AssertUnwindSafe(|| {
            Gc::make_mut(&mut a);
        }));
        assert!(r.is_err());
        let early = PAYLOAD_DROPS.with(Cell::get);
        if early != 0 {
            // `a` still owns a value that has just been dropped: reading it
            // (dropping it, or the collector tracing it) is a use-after-free.
            // Overwrite it with a fresh value, without dropping the stale
            // one, so that the thread can end cleanly; then report.
            drop(weak);
            let m = Gc::get_mut(&mut a).expect("unique");
            // SAFETY: `m` is the only access to the value, whose bits are
            // stale (already dropped); `write` does not drop them.
            unsafe {
                std::ptr::write(
                    m,
                    Payload {
                        links: Vec::new(),
                        _tally: PayloadTally,
                        _fragile: Fragile,
                    },
                )
            };
            drop((a, roots));
            panic!(
                "the payload owned by `a` was dropped {early} time(s) by the failed make_mut; dropping `a` would drop it again"
            );
        }
        assert_eq!(Gc::strong_count(&leaf), 3);
        drop((a, weak, roots));
        assert_eq!(PAYLOAD_DROPS.with(Cell::get), 1);
    });
}

// ---------------------------------------------------------------------------
// Resurrection and panics together
// ---------------------------------------------------------------------------

thread_local! {
    static SAVED: RefCell<Vec<Gc<dyn BNode>>> = const { RefCell::new(Vec::new()) };
}

/// A finalizer that resurrects its first neighbour and then panics.
struct SaveThenPanic(Core);

// SAFETY: traces `edges` once.
unsafe impl Trace for SaveThenPanic {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.edges.trace(tracer);
    }
    fn finalize_glue(&self) {
        Finalize::finalize(self);
    }
    fn needs_finalize() -> bool {
        true
    }
}

impl Finalize for SaveThenPanic {
    fn finalize(&self) {
        FINALIZES.with(|f| f.borrow_mut()[self.0.id] += 1);
        let first = self.0.edges.borrow()[0].clone();
        SAVED.with(|s| s.borrow_mut().push(first));
        panic!("resurrected, then boom");
    }
}

impl BNode for SaveThenPanic {
    fn core(&self) -> &Core {
        &self.0
    }
}

/// The garbage: s (saves x, then panics) → x → y → x, plus an unrelated
/// 2-cycle. The panic is resumed after the collection; x and y survive
/// intact (resurrected), s and the 2-cycle are freed; once x is released
/// again, x and y are freed without a second finalization.
#[test]
fn finalizer_that_resurrects_then_panics() {
    run(|| {
        DROPS.with(|d| *d.borrow_mut() = vec![0; 5]);
        FINALIZES.with(|f| *f.borrow_mut() = vec![0; 5]);
        let s: Gc<dyn BNode> = coerce_gc!(Gc::new(SaveThenPanic(Core {
            id: 0,
            fin: true,
            edges: RefCell::new(Vec::new()),
            _hook: DropHook,
            _tally: Tally(0),
        })) => dyn BNode);
        let x = node(1, true, true);
        let y = node(2, false, false);
        link(&s, &x);
        link(&x, &y);
        link(&y, &x);
        link(&x, &s); // s is in the cycle too
        let p = node(3, false, false);
        let q = node(4, true, false);
        link(&p, &q);
        link(&q, &p);
        drop((s, x, y, p, q));
        let err = catch_unwind(gengc::collect).expect_err("finalizer panicked");
        assert_eq!(message(&*err), "resurrected, then boom");
        // x was saved; x reaches s and y: all three resurrected.
        assert_eq!(drops(), vec![0, 0, 0, 1, 1]);
        assert_eq!(finalizes(), vec![1, 1, 0, 0, 0]);
        assert_eq!(gc::generation_sizes(), (0, 0, 3));
        let saved = SAVED.with(|s| s.borrow_mut().pop()).expect("saved");
        assert_eq!(saved.core().id, 1);
        assert_eq!(edge_ids(&saved), vec![2, 0]);
        drop(saved);
        // Dies again: freed, no finalizer runs twice (no panic this time).
        assert_eq!(gengc::collect(), 3);
        assert_eq!(drops(), vec![1; 5]);
        assert_eq!(finalizes(), vec![1, 1, 0, 0, 0]);
        let r = gengc::memory_report();
        assert_eq!((r.used_blocks(), r.large_objects), (0, 0));
    });
}

// ---------------------------------------------------------------------------
// Introspection and thread exit
// ---------------------------------------------------------------------------

/// `gc::referents`, `gc::referrers` call `Trace`: a panic there leaves the
/// heap untouched and usable.
#[test]
fn panicking_trace_in_introspection() {
    run(|| {
        gc::disable();
        let roots = build();
        for which in 0..2 {
            reset_calls();
            ARMED.with(|a| a.set(Some((Hook::Trace, 1))));
            let r = catch_unwind(AssertUnwindSafe(|| {
                if which == 0 {
                    gc::referents(&roots[0]).len()
                } else {
                    gc::referrers(&roots[0]).len()
                }
            }));
            assert!(r.is_err());
            assert!(drops().iter().all(|&x| x == 0));
        }
        assert_eq!(gc::referents(&roots[0]).len(), 1);
        assert_eq!(gc::referrers(&roots[0]).len(), 3); // 9, 11 and 12
        assert_eq!(gengc::collect(), GARBAGE);
        check_live_intact(&roots);
    });
}

/// Panics during the thread-exit collection are swallowed (unwinding out of
/// a thread-local destructor would abort): the other garbage is still
/// finalized and dropped. Counted from outside the thread.
#[test]
fn panics_during_the_thread_exit_collection_are_contained() {
    #[derive(gengc::Trace)]
    struct Exiting {
        next: RefCell<Option<Gc<Exiting>>>,
        #[gc(skip)]
        _c: Counted,
        #[gc(skip)]
        _hook: DropHook,
    }
    for hook in [Hook::Drop, Hook::CallbackStart] {
        let dropped = Arc::new(AtomicUsize::new(0));
        let d = dropped.clone();
        std::thread::spawn(move || {
            gc::disable();
            install_callbacks();
            for _ in 0..10 {
                let a = Gc::new(Exiting {
                    next: RefCell::new(None),
                    _c: Counted(d.clone()),
                    _hook: DropHook,
                });
                let b = Gc::new(Exiting {
                    next: RefCell::new(Some(a.clone())),
                    _c: Counted(d.clone()),
                    _hook: DropHook,
                });
                *a.next.borrow_mut() = Some(b);
            }
            // The 5th destructor of the exit collection panics (callbacks
            // are not called at exit: that arm never fires).
            reset_calls();
            ARMED.with(|a| a.set(Some((hook, 5))));
        })
        .join()
        .expect("the thread exits normally");
        assert_eq!(dropped.load(Ordering::SeqCst), 20, "{hook:?}");
    }
}

/// A leaf value (untracked, no finalizer) takes the short death path; a
/// panic in its `Drop` must still return the block, or keep it for a `Weak`
/// that still points at it.
#[test]
fn panicking_drop_of_a_leaf_still_frees_its_block() {
    run(|| {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("leaf drop");
            }
        }
        // SAFETY: owns no Gc.
        unsafe impl Trace for Bomb {
            fn trace(&self, _: &mut Tracer<'_>) {}
            fn needs_trace() -> bool {
                false
            }
        }
        let blocks = || gengc::memory_report().used_blocks();
        let before = blocks();

        let a = Gc::new(Bomb);
        assert_eq!(blocks(), before + 1);
        let p = catch_unwind(AssertUnwindSafe(|| drop(a))).unwrap_err();
        assert_eq!(message(&*p), "leaf drop");
        assert_eq!(blocks(), before, "the block went back to its pool");

        let b = Gc::new(Bomb);
        let w = Gc::downgrade(&b);
        catch_unwind(AssertUnwindSafe(|| drop(b))).unwrap_err();
        assert!(w.upgrade().is_none());
        assert_eq!(blocks(), before + 1, "the Weak keeps the block");
        drop(w);
        assert_eq!(blocks(), before);

        // The freed block is reused.
        let c = Gc::new(Bomb);
        assert_eq!(blocks(), before + 1);
        catch_unwind(AssertUnwindSafe(|| drop(c))).unwrap_err();
        assert_eq!(blocks(), before);
    });
}

/// The same for a large leaf value (over 512 bytes), which has its own
/// short death path.
#[test]
fn panicking_drop_of_a_large_leaf_still_frees_it() {
    run(|| {
        struct BigBomb(#[allow(dead_code)] [u8; 600]);
        impl Drop for BigBomb {
            fn drop(&mut self) {
                panic!("large leaf drop");
            }
        }
        // SAFETY: owns no Gc.
        unsafe impl Trace for BigBomb {
            fn trace(&self, _: &mut Tracer<'_>) {}
            fn needs_trace() -> bool {
                false
            }
        }
        let large = || gengc::memory_report().large_objects;
        let a = Gc::new(BigBomb([0; 600]));
        assert_eq!(large(), 1);
        let p = catch_unwind(AssertUnwindSafe(|| drop(a))).unwrap_err();
        assert_eq!(message(&*p), "large leaf drop");
        assert_eq!(large(), 0, "the allocation was freed");

        let b = Gc::new(BigBomb([1; 600]));
        let w = Gc::downgrade(&b);
        catch_unwind(AssertUnwindSafe(|| drop(b))).unwrap_err();
        assert!(w.upgrade().is_none());
        assert_eq!(large(), 1, "the Weak keeps the allocation");
        drop(w);
        assert_eq!(large(), 0);
    });
}
