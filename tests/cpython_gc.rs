//! CPython's `Lib/test/test_gc.py` ported to gengc, plus the collector
//! behaviours of the design (DESIGN.md §4–5), all with exact expectations.
//!
//! Every test body runs on a fresh thread (`run`): each thread has its own
//! heap, generations, counts, thresholds and callbacks, so no test can see
//! another's objects. Drop and finalize counts are thread-local counters.
//!
//! Differences from CPython that change a number are noted where they occur;
//! the main one: an object is one object here (CPython ≤ 3.10 also counted
//! an instance's `__dict__`), so a self-cycle collects 1 and N 2-cycles 2N.

use gengc::gc::{self, CallbackPhase, CollectionInfo, DebugFlags};
use gengc::{coerce_gc, AnyGc, Finalize, Gc, Trace, Tracer, Weak};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::LocalKey;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

mod common;
use common::run;

/// Like `run`, with an explicit stack size.
fn run_with_stack<F: FnOnce() + Send + 'static>(stack: usize, f: F) {
    let handle = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(f)
        .expect("spawn test thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

type Counter = LocalKey<Cell<usize>>;

fn bump(counter: &'static Counter) {
    // `try_with`: a destructor may run in the heap's thread-exit collection,
    // after this thread's counters are gone.
    let _ = counter.try_with(|n| n.set(n.get() + 1));
}

fn read(counter: &'static Counter) -> usize {
    counter.with(Cell::get)
}

fn reset(counter: &'static Counter) {
    counter.with(|n| n.set(0));
}

/// Counts its drops into a thread-local counter. An untracked leaf.
struct DropTally(&'static Counter);

impl Drop for DropTally {
    fn drop(&mut self) {
        bump(self.0);
    }
}

// SAFETY: owns no `Gc`.
unsafe impl Trace for DropTally {
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

fn total_tracked() -> usize {
    let (a, b, c) = gc::generation_sizes();
    a + b + c
}

thread_local! {
    static NODE_DROPS: Cell<usize> = const { Cell::new(0) };
}

/// The workhorse: a tracked object with any number of edges.
#[derive(Trace)]
struct Node {
    id: usize,
    links: RefCell<Vec<Gc<Node>>>,
    #[gc(skip)]
    _tally: DropTally,
}

fn node(id: usize) -> Gc<Node> {
    Gc::new(Node {
        id,
        links: RefCell::new(Vec::new()),
        _tally: DropTally(&NODE_DROPS),
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.links.borrow_mut().push(to.clone());
}

fn node_drops() -> usize {
    read(&NODE_DROPS)
}

/// `n` nodes in a ring, ids `first..first + n`.
fn ring(first: usize, n: usize) -> Vec<Gc<Node>> {
    let nodes: Vec<_> = (first..first + n).map(node).collect();
    for i in 0..n {
        link(&nodes[i], &nodes[(i + 1) % n]);
    }
    nodes
}

/// One unreachable self-cycle (1 tracked allocation).
fn self_cycle_garbage(id: usize) {
    let a = node(id);
    link(&a, &a);
}

/// One unreachable 2-cycle (2 tracked allocations).
fn two_cycle_garbage(id: usize) {
    let a = node(id);
    let b = node(id + 1);
    link(&a, &b);
    link(&b, &a);
}

fn contains(objects: &[AnyGc], target: &Gc<Node>) -> bool {
    objects.iter().any(|o| o.ptr_eq(target))
}

// ---------------------------------------------------------------------------
// Basic cycles: test_list, test_dict, test_tuple, test_instance,
// test_newinstance, test_method, test_function
// ---------------------------------------------------------------------------

thread_local! {
    static LIST_DROPS: Cell<usize> = const { Cell::new(0) };
    static DICT_DROPS: Cell<usize> = const { Cell::new(0) };
    static OBJ_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct List {
    items: RefCell<Vec<Gc<List>>>,
    #[gc(skip)]
    _tally: DropTally,
}

#[test]
fn test_list() {
    run(|| {
        let l = Gc::new(List {
            items: RefCell::new(Vec::new()),
            _tally: DropTally(&LIST_DROPS),
        });
        l.items.borrow_mut().push(l.clone());
        drop(l);
        assert_eq!(read(&LIST_DROPS), 0);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&LIST_DROPS), 1);
        assert_eq!(gc::collect(), 0);
    });
}

#[derive(Trace)]
struct Dict {
    map: RefCell<HashMap<String, Gc<Dict>>>,
    #[gc(skip)]
    _tally: DropTally,
}

#[test]
fn test_dict() {
    run(|| {
        let d = Gc::new(Dict {
            map: RefCell::new(HashMap::new()),
            _tally: DropTally(&DICT_DROPS),
        });
        d.map.borrow_mut().insert("d".to_string(), d.clone());
        drop(d);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&DICT_DROPS), 1);
        assert_eq!(gc::collect(), 0);
    });
}

/// A mutable list and an immutable tuple, like Python's `l` and `t = (l,)`.
#[derive(Trace)]
enum Obj {
    List {
        items: RefCell<Vec<Gc<Obj>>>,
        #[gc(skip)]
        _tally: DropTally,
    },
    Tuple {
        items: Vec<Gc<Obj>>,
        #[gc(skip)]
        _tally: DropTally,
    },
}

#[test]
fn test_tuple() {
    run(|| {
        // l = []; t = (l,); l.append(t): an immutable <-> mutable 2-cycle.
        let l = Gc::new(Obj::List {
            items: RefCell::new(Vec::new()),
            _tally: DropTally(&OBJ_DROPS),
        });
        let t = Gc::new(Obj::Tuple {
            items: vec![l.clone()],
            _tally: DropTally(&OBJ_DROPS),
        });
        match &*l {
            Obj::List { items, .. } => items.borrow_mut().push(t.clone()),
            Obj::Tuple { .. } => unreachable!(),
        }
        assert_eq!(gc::collect(), 0);
        drop(t);
        drop(l);
        assert_eq!(gc::collect(), 2);
        assert_eq!(read(&OBJ_DROPS), 2);
    });
}

#[test]
fn test_instance() {
    run(|| {
        // a = A(); a.a = a
        let a = node(1);
        link(&a, &a);
        assert_eq!(gc::collect(), 0);
        drop(a);
        assert_eq!(gc::collect(), 1);
        assert_eq!(node_drops(), 1);
        assert_eq!(gc::collect(), 0);
    });
}

thread_local! {
    static DERIVED_DROPS: Cell<usize> = const { Cell::new(0) };
}

/// The "base class" part of an instance.
#[derive(Trace)]
struct Base {
    a: RefCell<Option<Gc<Derived>>>,
}

/// `class C(B, A)` with `B(list)`: a container part and an embedded base.
#[derive(Trace)]
struct Derived {
    list: RefCell<Vec<Gc<Derived>>>,
    base: Base,
    #[gc(skip)]
    _tally: DropTally,
}

#[test]
fn test_newinstance() {
    run(|| {
        let c = Gc::new(Derived {
            list: RefCell::new(Vec::new()),
            base: Base {
                a: RefCell::new(None),
            },
            _tally: DropTally(&DERIVED_DROPS),
        });
        // Two edges to itself, one through the embedded base, one through
        // the container part: still one object.
        *c.base.a.borrow_mut() = Some(c.clone());
        c.list.borrow_mut().push(c.clone());
        assert_eq!(Gc::strong_count(&c), 3);
        drop(c);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&DERIVED_DROPS), 1);
        assert_eq!(gc::collect(), 0);
    });
}

thread_local! {
    static METHOD_DROPS: Cell<usize> = const { Cell::new(0) };
}

trait Method: Trace {
    fn call(&self) -> usize;
}

#[derive(Trace)]
struct Receiver {
    init: RefCell<Option<Gc<dyn Method>>>,
    #[gc(skip)]
    _tally: DropTally,
}

#[derive(Trace)]
struct BoundMethod {
    receiver: Gc<Receiver>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Method for BoundMethod {
    fn call(&self) -> usize {
        7
    }
}

#[test]
fn test_method() {
    run(|| {
        // self.init = self.__init__: object -> bound method -> object, the
        // method held as a trait object.
        let r = Gc::new(Receiver {
            init: RefCell::new(None),
            _tally: DropTally(&METHOD_DROPS),
        });
        let m: Gc<dyn Method> = coerce_gc!(Gc::new(BoundMethod {
            receiver: r.clone(),
            _tally: DropTally(&METHOD_DROPS),
        }) => dyn Method);
        assert!(gc::is_tracked(&m));
        *r.init.borrow_mut() = Some(m);
        assert_eq!(r.init.borrow().as_ref().unwrap().call(), 7);
        drop(r);
        assert_eq!(gc::collect(), 2);
        assert_eq!(read(&METHOD_DROPS), 2);
    });
}

thread_local! {
    static FUNCTION_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct Function {
    globals: Gc<Globals>,
    #[gc(skip)]
    _tally: DropTally,
}

#[derive(Trace)]
struct Globals {
    names: RefCell<HashMap<String, Gc<Function>>>,
    #[gc(skip)]
    _tally: DropTally,
}

#[test]
fn test_function() {
    run(|| {
        // exec("def f(): pass", d): the function and its globals dict.
        let globals = Gc::new(Globals {
            names: RefCell::new(HashMap::new()),
            _tally: DropTally(&FUNCTION_DROPS),
        });
        let f = Gc::new(Function {
            globals: globals.clone(),
            _tally: DropTally(&FUNCTION_DROPS),
        });
        globals.names.borrow_mut().insert("f".into(), f);
        drop(globals);
        assert_eq!(gc::collect(), 2);
        assert_eq!(read(&FUNCTION_DROPS), 2);
    });
}

// ---------------------------------------------------------------------------
// What `collect()` counts
// ---------------------------------------------------------------------------

thread_local! {
    static CARRIER_DROPS: Cell<usize> = const { Cell::new(0) };
    static LEAF_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct Carrier {
    next: RefCell<Option<Gc<Carrier>>>,
    payload: Gc<DropTally>,
    label: Gc<String>,
    #[gc(skip)]
    _tally: DropTally,
}

/// A 3-cycle with untracked leaves hanging off it. Only the tracked cycle
/// members are counted: the leaves are never in a generation and are freed
/// by reference counting when the cycle members' values are dropped — as
/// CPython does not count the ints hanging off a cyclic list.
#[test]
fn test_longer_cycle_with_untracked_leaves() {
    run(|| {
        let make = |i: usize| {
            Gc::new(Carrier {
                next: RefCell::new(None),
                payload: Gc::new(DropTally(&LEAF_DROPS)),
                label: Gc::new(format!("carrier {i}")),
                _tally: DropTally(&CARRIER_DROPS),
            })
        };
        let nodes: Vec<_> = (0..3).map(make).collect();
        for i in 0..3 {
            *nodes[i].next.borrow_mut() = Some(nodes[(i + 1) % 3].clone());
        }
        assert!(!gc::is_tracked(&nodes[0].payload));
        assert!(!gc::is_tracked(&nodes[0].label));
        assert_eq!(gc::generation_sizes(), (3, 0, 0));
        drop(nodes);
        assert_eq!(gc::collect(), 3);
        assert_eq!(read(&CARRIER_DROPS), 3);
        assert_eq!(read(&LEAF_DROPS), 3);
        assert_eq!(gc::stats()[2].collected, 3);
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}

/// A tracked but acyclic object hanging off a cycle, in the same
/// generation, is part of the unreachable set and is counted.
#[test]
fn test_longer_cycle_with_tracked_tail() {
    run(|| {
        let r = ring(0, 3);
        let tail = node(3);
        link(&r[0], &tail);
        drop(tail);
        drop(r);
        assert_eq!(gc::collect(), 4);
        assert_eq!(node_drops(), 4);
    });
}

/// A young cycle holding the last reference to an old object: a young
/// collection frees the cycle (3) and the old object dies by reference
/// counting during teardown, uncounted (CPython's test_bug1055820c setup).
#[test]
fn test_young_cycle_frees_old_tail_by_refcount() {
    run(|| {
        let tail = node(100);
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::generation(&tail), Some(2));
        let r = ring(0, 3);
        link(&r[0], &tail);
        drop(tail);
        drop(r);
        assert_eq!(gc::collect_generation(0), 3);
        assert_eq!(node_drops(), 4);
        assert_eq!(gc::count(), (0, 1, 0));
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(gc::stats()[0].collected, 3);
    });
}

// ---------------------------------------------------------------------------
// Counts, generations, statistics
// ---------------------------------------------------------------------------

#[test]
fn test_get_count() {
    run(|| {
        gc::collect();
        let (a, b, c) = gc::count();
        assert_eq!((b, c), (0, 0));
        assert!(a < 5);
        assert_eq!(a, 0);
        let x = node(0);
        assert_eq!(gc::count(), (a + 1, 0, 0));
        // Untracked allocations do not count.
        let leaf = Gc::new(5u64);
        let s = Gc::new(String::from("untracked"));
        let bytes = Gc::new(vec![1u8, 2, 3]);
        assert_eq!(gc::count(), (a + 1, 0, 0));
        drop((leaf, s, bytes));
        assert_eq!(gc::count(), (a + 1, 0, 0));
        // A deallocation of a tracked object counts down.
        drop(x);
        assert_eq!(gc::count(), (a, 0, 0));
        // ... but never below zero.
        let y = node(1);
        gc::collect_generation(0);
        assert_eq!(gc::count(), (0, 1, 0));
        drop(y);
        assert_eq!(gc::count(), (0, 1, 0));
    });
}

#[test]
fn test_collect_generations() {
    run(|| {
        gc::collect();
        // This object "trickles" into generation N + 1 after each
        // collect_generation(N).
        let x = node(0);
        assert_eq!(gc::generation(&x), Some(0));
        gc::collect_generation(0);
        assert_eq!(gc::generation(&x), Some(1));
        assert_eq!(gc::count(), (0, 1, 0));
        gc::collect_generation(1);
        assert_eq!(gc::generation(&x), Some(2));
        assert_eq!(gc::count(), (0, 0, 1));
        gc::collect_generation(2);
        assert_eq!(gc::generation(&x), Some(2));
        assert_eq!(gc::count(), (0, 0, 0));
        // Old stays old, also under younger collections.
        gc::collect_generation(0);
        gc::collect_generation(1);
        assert_eq!(gc::generation(&x), Some(2));
        assert_eq!(gc::generation_sizes(), (0, 0, 1));
    });
}

#[test]
fn test_get_stats() {
    run(|| {
        let stats = gc::stats();
        assert_eq!(stats.len(), 3);
        for s in &stats {
            assert_eq!((s.collections, s.collected, s.uncollectable), (0, 0, 0));
        }
        let old = gc::stats();
        gc::collect_generation(0);
        let new = gc::stats();
        assert_eq!(new[0].collections, old[0].collections + 1);
        assert_eq!(new[1].collections, old[1].collections);
        assert_eq!(new[2].collections, old[2].collections);
        gc::collect_generation(2);
        let new = gc::stats();
        assert_eq!(new[0].collections, old[0].collections + 1);
        assert_eq!(new[1].collections, old[1].collections);
        assert_eq!(new[2].collections, old[2].collections + 1);
        // `collected` goes to the generation that was collected.
        two_cycle_garbage(0);
        assert_eq!(gc::collect_generation(1), 2);
        let new = gc::stats();
        assert_eq!(new[1].collections, 1);
        assert_eq!(
            [new[0].collected, new[1].collected, new[2].collected],
            [0, 2, 0]
        );
        assert!(new.iter().all(|s| s.uncollectable == 0));
    });
}

/// test_indirect_calls_with_gc_disabled, and enable() restoring automatic
/// collection at the exact trigger point.
#[test]
fn test_disable_stops_automatic_collection() {
    run(|| {
        gc::disable();
        assert!(!gc::is_enabled());
        for i in 0..10_000 {
            two_cycle_garbage(2 * i);
        }
        for s in gc::stats() {
            assert_eq!(s.collections, 0);
        }
        assert_eq!(gc::count(), (20_000, 0, 0));
        assert_eq!(gc::generation_sizes(), (20_000, 0, 0));
        assert_eq!(node_drops(), 0);
        // Manual collection still works.
        assert_eq!(gc::collect(), 20_000);
        assert_eq!(node_drops(), 20_000);
        assert!(!gc::is_enabled());

        gc::enable();
        assert!(gc::is_enabled());
        // count0 = 2001 > 2000 only after 2001 allocations; the check runs in
        // `Gc::new` before the new object is counted, so the 2002nd triggers.
        for i in 0..2_001 {
            self_cycle_garbage(i);
        }
        assert_eq!(gc::stats()[0].collections, 0);
        assert_eq!(gc::count(), (2_001, 0, 0));
        self_cycle_garbage(2_001);
        let s = gc::stats();
        assert_eq!(s[0].collections, 1);
        assert_eq!(s[0].collected, 2_001);
        assert_eq!(gc::count(), (1, 1, 0));
        assert_eq!(gc::generation_sizes(), (1, 0, 0));
        assert_eq!(node_drops(), 22_001);
    });
}

#[test]
fn test_set_threshold() {
    run(|| {
        assert_eq!(gc::threshold(), (2000, 10, 10));
        gc::set_threshold(5, 3, 2);
        assert_eq!(gc::threshold(), (5, 3, 2));
        for i in 0..6 {
            self_cycle_garbage(i);
        }
        assert_eq!(gc::stats()[0].collections, 0);
        self_cycle_garbage(6);
        assert_eq!(gc::stats()[0].collections, 1);
        assert_eq!(gc::stats()[0].collected, 6);
        assert_eq!(node_drops(), 6);
        assert_eq!(gc::count(), (1, 1, 0));
        // threshold0 == 0 turns automatic collection off.
        gc::set_threshold(0, 3, 2);
        assert_eq!(gc::threshold(), (0, 3, 2));
        assert!(gc::is_enabled());
        for i in 0..100 {
            self_cycle_garbage(100 + i);
        }
        assert_eq!(gc::stats()[0].collections, 1);
        assert_eq!(gc::count(), (101, 1, 0));
        gc::set_threshold(2000, 10, 10);
        assert_eq!(gc::threshold(), (2000, 10, 10));
        assert_eq!(gc::collect(), 101);
    });
}

/// The schedule of automatic collections (CPython ≤ 3.13
/// `collect_generations` as specified in DESIGN.md §4): when count0 exceeds
/// threshold0 at a `Gc::new`, the oldest generation whose count exceeds its
/// threshold is collected with all younger ones; the old generation only
/// once the objects promoted to it since its last collection exceed 25 % of
/// what that collection left. Checked step by step against a model, with
/// every object kept alive.
#[test]
fn test_automatic_collection_schedule() {
    struct Model {
        t: [usize; 3],
        count: [usize; 3],
        sizes: [usize; 3],
        collections: [usize; 3],
        pending: usize,
        total: usize,
    }
    impl Model {
        fn collect(&mut self, g: usize) {
            let dest = (g + 1).min(2);
            let survivors: usize = self.sizes[..=g].iter().sum();
            for s in &mut self.sizes[..=g] {
                *s = 0;
            }
            self.sizes[dest] += survivors;
            for c in &mut self.count[..=g] {
                *c = 0;
            }
            if g < 2 {
                self.count[g + 1] += 1;
            }
            if g == 2 {
                self.pending = 0;
                self.total = survivors;
            } else if dest == 2 {
                self.pending += survivors;
            }
            self.collections[g] += 1;
        }
        fn alloc(&mut self) {
            if self.count[0] > self.t[0] {
                for g in (0..3).rev() {
                    if self.count[g] > self.t[g] {
                        if g == 2 && self.pending <= self.total / 4 {
                            continue;
                        }
                        self.collect(g);
                        break;
                    }
                }
            }
            self.count[0] += 1;
            self.sizes[0] += 1;
        }
    }
    run(|| {
        gc::set_threshold(10, 3, 2);
        let mut m = Model {
            t: [10, 3, 2],
            count: [0; 3],
            sizes: [0; 3],
            collections: [0; 3],
            pending: 0,
            total: 0,
        };
        let mut keep = Vec::new();
        for i in 0..3_000 {
            keep.push(node(i));
            m.alloc();
            let s = gc::stats();
            let got = [s[0].collections, s[1].collections, s[2].collections];
            assert_eq!(
                got,
                m.collections,
                "collections after {} allocations",
                i + 1
            );
            assert_eq!(
                gc::count(),
                (m.count[0], m.count[1], m.count[2]),
                "count after {} allocations",
                i + 1
            );
            assert_eq!(
                gc::generation_sizes(),
                (m.sizes[0], m.sizes[1], m.sizes[2]),
                "generation sizes after {} allocations",
                i + 1
            );
        }
        // 3,000 allocations: 211 young, 52 middle, and only 9 full
        // collections, thanks to the 25 % rule.
        assert_eq!(m.collections, [211, 52, 9]);
        assert_eq!(node_drops(), 0);
    });
}

// ---------------------------------------------------------------------------
// Freezing
// ---------------------------------------------------------------------------

#[test]
fn test_freeze() {
    run(|| {
        let a = node(0);
        let b = node(1);
        link(&a, &b);
        link(&b, &a);
        let c = node(2);
        gc::freeze();
        assert_eq!(gc::freeze_count(), 3);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(gc::count(), (0, 0, 0));
        assert_eq!(gc::generation(&c), Some(3));
        assert!(gc::is_tracked(&c));
        assert_eq!(gc::objects(Some(3)).len(), 3);
        // A frozen cycle is never examined, so never collected.
        let wa = Gc::downgrade(&a);
        drop(a);
        drop(b);
        assert_eq!(gc::collect(), 0);
        assert_eq!(node_drops(), 0);
        assert!(wa.upgrade().is_some());
        assert_eq!(gc::freeze_count(), 3);
        // New objects are young as usual.
        let d = node(3);
        assert_eq!(gc::generation(&d), Some(0));
        gc::unfreeze();
        assert_eq!(gc::freeze_count(), 0);
        assert_eq!(gc::generation(&c), Some(2));
        assert_eq!(gc::generation_sizes(), (1, 0, 3));
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 2);
        assert!(wa.upgrade().is_none());
        assert_eq!(c.id, 2);
        assert_eq!(d.id, 3);
    });
}

#[test]
fn test_traverse_frozen_objects() {
    run(|| {
        // x = [1, 2, 3]; gc.freeze(); y = [x]; y.append(y); del y; collect
        let x = node(0);
        let x_child = node(1);
        link(&x, &x_child);
        drop(x_child);
        gc::freeze();
        assert_eq!(gc::freeze_count(), 2);
        // Same type as x, so it may share x's pool.
        let y = node(2);
        link(&y, &x);
        link(&y, &y);
        assert_eq!(Gc::strong_count(&x), 2);
        drop(y);
        assert_eq!(gc::collect(), 1);
        assert_eq!(node_drops(), 1);
        assert_eq!(Gc::strong_count(&x), 1);
        assert_eq!(gc::generation(&x), Some(3));
        assert_eq!(gc::freeze_count(), 2);
        assert_eq!(x.links.borrow()[0].id, 1);
        // Again through a young collection.
        let z = node(3);
        link(&z, &x);
        link(&z, &z);
        drop(z);
        assert_eq!(gc::collect_generation(0), 1);
        assert_eq!(Gc::strong_count(&x), 1);
        gc::unfreeze();
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::generation(&x), Some(2));
        drop(x);
        assert_eq!(node_drops(), 4);
        assert_eq!(total_tracked(), 0);
    });
}

// ---------------------------------------------------------------------------
// Callbacks (GCCallbackTests)
// ---------------------------------------------------------------------------

type Entry = (u8, CallbackPhase, usize, usize, usize);
type Log = Rc<RefCell<Vec<Entry>>>;

fn recorder(tag: u8, log: &Log) -> impl FnMut(CallbackPhase, &CollectionInfo) + 'static {
    let log = log.clone();
    move |phase, info| {
        log.borrow_mut().push((
            tag,
            phase,
            info.generation,
            info.collected,
            info.uncollectable,
        ))
    }
}

use CallbackPhase::{Start, Stop};

#[test]
fn test_callbacks_collect() {
    run(|| {
        let log = Log::default();
        gc::add_callback(recorder(1, &log));
        gc::add_callback(recorder(2, &log));
        two_cycle_garbage(0);
        assert_eq!(gc::collect(), 2);
        assert_eq!(
            *log.borrow(),
            vec![
                (1, Start, 2, 0, 0),
                (2, Start, 2, 0, 0),
                (1, Stop, 2, 2, 0),
                (2, Stop, 2, 2, 0),
            ]
        );
    });
}

#[test]
fn test_callbacks_collect_generation() {
    run(|| {
        let log = Log::default();
        gc::add_callback(recorder(1, &log));
        for g in 0..3 {
            self_cycle_garbage(g);
            assert_eq!(gc::collect_generation(g), 1);
        }
        assert_eq!(
            *log.borrow(),
            vec![
                (1, Start, 0, 0, 0),
                (1, Stop, 0, 1, 0),
                (1, Start, 1, 0, 0),
                (1, Stop, 1, 1, 0),
                (1, Start, 2, 0, 0),
                (1, Stop, 2, 1, 0),
            ]
        );
    });
}

#[test]
fn test_callbacks_remove() {
    run(|| {
        let log = Log::default();
        let id1 = gc::add_callback(recorder(1, &log));
        let id2 = gc::add_callback(recorder(2, &log));
        assert!(gc::remove_callback(id1));
        assert!(!gc::remove_callback(id1));
        gc::collect();
        assert_eq!(*log.borrow(), vec![(2, Start, 2, 0, 0), (2, Stop, 2, 0, 0)]);
        assert!(gc::remove_callback(id2));
        log.borrow_mut().clear();
        gc::collect();
        assert!(log.borrow().is_empty());
    });
}

#[test]
fn test_callbacks_automatic_collection() {
    run(|| {
        gc::set_threshold(10, 10, 10);
        let log = Log::default();
        gc::add_callback(recorder(1, &log));
        for i in 0..11 {
            self_cycle_garbage(i);
        }
        assert!(log.borrow().is_empty());
        self_cycle_garbage(11);
        assert_eq!(
            *log.borrow(),
            vec![(1, Start, 0, 0, 0), (1, Stop, 0, 11, 0)]
        );
    });
}

/// A callback (or anything run by a collection) calling `collect` gets 0.
#[test]
fn test_callbacks_nested_collect_returns_zero() {
    run(|| {
        let nested = Rc::new(RefCell::new(Vec::new()));
        let n = nested.clone();
        gc::add_callback(move |_, _| {
            n.borrow_mut().push(gc::collect());
            n.borrow_mut().push(gc::collect_generation(0));
        });
        two_cycle_garbage(0);
        assert_eq!(gc::collect(), 2);
        assert_eq!(*nested.borrow(), vec![0, 0, 0, 0]);
        let s = gc::stats();
        assert_eq!(
            [s[0].collections, s[1].collections, s[2].collections],
            [0, 0, 1]
        );
    });
}

/// GCCallbackTests.test_collect_garbage: under SAVE_ALL the stop callback
/// can take the saved garbage.
#[test]
fn test_callbacks_collect_garbage() {
    run(|| {
        gc::set_debug(DebugFlags::SAVE_ALL);
        let taken: Rc<RefCell<Vec<AnyGc>>> = Rc::default();
        let t = taken.clone();
        let log = Log::default();
        gc::add_callback(recorder(1, &log));
        gc::add_callback(move |phase, _| {
            if phase == Stop {
                t.borrow_mut().extend(gc::take_garbage());
            }
        });
        self_cycle_garbage(0);
        self_cycle_garbage(1);
        assert_eq!(gc::collect(), 2);
        assert_eq!(log.borrow()[1], (1, Stop, 2, 2, 0));
        assert!(gc::garbage().is_empty());
        assert_eq!(taken.borrow().len(), 2);
        for o in taken.borrow().iter() {
            assert_eq!(o.type_name(), std::any::type_name::<Node>());
        }
        assert_eq!(node_drops(), 0);
        gc::set_debug(DebugFlags::empty());
        taken.borrow_mut().clear();
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 2);
    });
}

// ---------------------------------------------------------------------------
// SAVE_ALL (test_saveall)
// ---------------------------------------------------------------------------

#[test]
fn test_saveall() {
    run(|| {
        gc::set_debug(DebugFlags::SAVE_ALL);
        assert_eq!(gc::debug(), DebugFlags::SAVE_ALL);
        let keep = node(7);
        let a = node(1);
        link(&a, &a);
        let addr = Gc::as_ptr(&a) as usize;
        drop(a);
        assert_eq!(gc::collect(), 1);
        let saved = gc::garbage();
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].type_name(), std::any::type_name::<Node>());
        drop(saved);
        assert_eq!(node_drops(), 0);
        // The list keeps them alive: nothing new is garbage.
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::garbage().len(), 1);
        let taken = gc::take_garbage();
        assert!(gc::garbage().is_empty());
        assert_eq!(taken.len(), 1);
        let back: Gc<Node> = taken.into_iter().next().unwrap().downcast().unwrap();
        assert_eq!(Gc::as_ptr(&back) as usize, addr);
        assert_eq!(back.id, 1);
        assert!(Gc::ptr_eq(&back.links.borrow()[0], &back));
        assert_eq!(gc::generation(&back), Some(2));
        drop(back);
        // Dropping the list frees nothing (still a cycle) ...
        assert_eq!(node_drops(), 0);
        gc::set_debug(DebugFlags::empty());
        // ... until a later collection runs.
        assert_eq!(gc::collect(), 1);
        assert_eq!(node_drops(), 1);
        assert_eq!(keep.id, 7);
    });
}

// ---------------------------------------------------------------------------
// Introspection: is_tracked, is_finalized, referents, referrers, objects
// ---------------------------------------------------------------------------

#[derive(Trace)]
struct Atomish {
    name: String,
    n: u64,
}

#[test]
fn test_is_tracked() {
    run(|| {
        // Atoms: never tracked.
        assert!(!gc::is_tracked(&Gc::new(5u64)));
        assert!(!gc::is_tracked(&Gc::new(5i64)));
        assert!(!gc::is_tracked(&Gc::new(5.0f64)));
        assert!(!gc::is_tracked(&Gc::new(String::from("a"))));
        assert!(!gc::is_tracked(&Gc::new(vec![1u8, 2])));
        assert!(!gc::is_tracked(&Gc::new(Some(String::new()))));
        assert!(!gc::is_tracked(&Gc::new(Weak::<Node>::new())));
        assert!(!gc::is_tracked(&Gc::new(Atomish {
            name: "x".into(),
            n: 1
        })));
        let s: Gc<str> = Gc::from("str");
        assert!(!gc::is_tracked(&s));
        // Mutable containers and instances that may own a Gc: tracked, even
        // empty (CPython: lists and sets).
        assert!(gc::is_tracked(&Gc::new(
            RefCell::new(Vec::<Gc<u64>>::new())
        )));
        assert!(gc::is_tracked(&Gc::new(RefCell::new(None::<Gc<u64>>))));
        // Fixed edges (no cell) to untracked objects only: born untracked,
        // as CPython creates `{}` and `{"a": 1}` untracked (test_dict's
        // test_track_literals).
        assert!(!gc::is_tracked(&Gc::new(Vec::<Gc<u64>>::new())));
        assert!(!gc::is_tracked(&Gc::new(None::<Gc<u64>>)));
        assert!(!gc::is_tracked(&Gc::new(vec![Gc::new(1u64)])));
        // ... but tracked if one of them is tracked (`{"a": []}`).
        let holder = Gc::new(vec![node(9)]);
        assert!(gc::is_tracked(&holder));
        let n = node(0);
        assert!(gc::is_tracked(&n));
        gc::collect();
        assert!(gc::is_tracked(&n));
        gc::freeze();
        assert!(gc::is_tracked(&n));
        gc::unfreeze();
        assert!(gc::is_tracked(&n));
        assert_eq!(gc::generation(&Gc::new(7u64)), None);
    });
}

/// The same, with leaves whose box is not a multiple of 8 bytes.
#[test]
fn test_is_tracked_small_leaves() {
    run(|| {
        let a = Gc::new(5i32);
        let b = Gc::new(7u8);
        let c = Gc::new(true);
        let d = Gc::new('x');
        let e = Gc::new(9u16);
        assert!(!gc::is_tracked(&a));
        assert!(!gc::is_tracked(&b));
        assert!(!gc::is_tracked(&c));
        assert!(!gc::is_tracked(&d));
        assert!(!gc::is_tracked(&e));
        assert_eq!((*a, *b, *c, *d, *e), (5, 7, true, 'x', 9));
        // Reuse freed blocks (free list) and check again.
        let many: Vec<Gc<i32>> = (0..1000).map(Gc::new).collect();
        drop(many);
        let again: Vec<Gc<i32>> = (0..1000).map(Gc::new).collect();
        assert!(again.iter().enumerate().all(|(i, v)| **v == i as i32));
    });
}

thread_local! {
    static LAZ_FINALIZES: Cell<usize> = const { Cell::new(0) };
    static LAZ_DROPS: Cell<usize> = const { Cell::new(0) };
    static LAZ_STORAGE: RefCell<Vec<Gc<Lazarus>>> = const { RefCell::new(Vec::new()) };
}

/// A self-loop whose finalizer resurrects it.
#[derive(Trace)]
#[gc(finalize)]
struct Lazarus {
    me: RefCell<Option<Gc<Lazarus>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Lazarus {
    fn finalize(&self) {
        bump(&LAZ_FINALIZES);
        if let Some(me) = self.me.borrow().clone() {
            let _ = LAZ_STORAGE.try_with(|s| s.borrow_mut().push(me));
        }
    }
}

fn lazarus() -> Gc<Lazarus> {
    let l = Gc::new(Lazarus {
        me: RefCell::new(None),
        _tally: DropTally(&LAZ_DROPS),
    });
    *l.me.borrow_mut() = Some(l.clone());
    l
}

fn take_lazarus() -> Vec<Gc<Lazarus>> {
    LAZ_STORAGE.with(|s| std::mem::take(&mut *s.borrow_mut()))
}

#[test]
fn test_is_finalized() {
    run(|| {
        // Objects without a finalizer, or not yet finalized: false.
        assert!(!gc::is_finalized(&Gc::new(3u64)));
        let laz = lazarus();
        assert!(!gc::is_finalized(&laz));
        drop(laz);
        assert_eq!(gc::collect(), 0);
        let mut back = take_lazarus();
        assert_eq!(back.len(), 1);
        let laz = back.pop().unwrap();
        assert!(gc::is_finalized(&laz));
        drop(laz);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&LAZ_FINALIZES), 1);
        assert_eq!(read(&LAZ_DROPS), 1);
    });
}

#[derive(Trace)]
struct Holder {
    x: Gc<String>,
    list: Vec<Gc<String>>,
    opt: Option<Gc<String>>,
    weak: Weak<String>,
    #[gc(skip)]
    hidden: Gc<String>,
}

#[test]
fn test_get_referents() {
    run(|| {
        let a = Gc::new(String::from("a"));
        let b = Gc::new(String::from("b"));
        let c = Gc::new(String::from("c"));
        let x = Gc::new(String::from("x"));
        let h = Gc::new(Holder {
            x: x.clone(),
            list: vec![b.clone(), a.clone(), b.clone()],
            opt: Some(c.clone()),
            weak: Gc::downgrade(&a),
            hidden: Gc::new(String::from("hidden")),
        });
        let r = gc::referents(&h);
        // One entry per owned edge, in trace (field) order; weak and skipped
        // fields are not edges.
        assert_eq!(r.len(), 5);
        let expected = [&x, &b, &a, &b, &c];
        for (got, want) in r.iter().zip(expected) {
            assert!(got.ptr_eq(want));
            assert_eq!(got.type_name(), "alloc::string::String");
        }
        assert_eq!(Gc::strong_count(&b), 5); // `b`, the list twice, `r` twice
        drop(r);
        assert_eq!(Gc::strong_count(&b), 3);
        assert_eq!(*h.hidden, "hidden");
        assert!(h.weak.upgrade().is_some());
        // Atoms have no referents.
        assert!(gc::referents(&a).is_empty());
        assert!(gc::referents(&Gc::new(5u64)).is_empty());
        // A list of nodes, with repeats.
        let n0 = node(0);
        let n1 = node(1);
        let l = node(2);
        link(&l, &n1);
        link(&l, &n0);
        link(&l, &n1);
        link(&l, &l);
        let r = gc::referents(&l);
        let ids: Vec<usize> = r
            .into_iter()
            .map(|o| o.downcast::<Node>().unwrap().id)
            .collect();
        assert_eq!(ids, vec![1, 0, 1, 2]);
        l.links.borrow_mut().clear();
    });
}

#[test]
fn test_get_referrers() {
    run(|| {
        let leaf = Gc::new(String::from("leaf"));
        let v1 = Gc::new(RefCell::new(vec![leaf.clone(), leaf.clone()]));
        let v2 = Gc::new(RefCell::new(Some(leaf.clone())));
        let untracked_holder = [leaf.clone()];
        // Untracked referrers are not searched, as in CPython: this one is
        // born settled (fixed edges to untracked objects only).
        let settled_holder = Gc::new(vec![leaf.clone()]);
        assert!(!gc::is_tracked(&settled_holder));
        let unrelated = Gc::new(RefCell::new(vec![Gc::new(String::from("other"))]));
        let r = gc::referrers(&leaf);
        // Each referrer once, however many edges it has to the target.
        assert_eq!(r.len(), 2);
        assert!(r.iter().any(|o| o.ptr_eq(&v1)));
        assert!(r.iter().any(|o| o.ptr_eq(&v2)));
        assert!(!r.iter().any(|o| o.ptr_eq(&unrelated)));
        drop(r);
        // Frozen referrers are found too.
        gc::freeze();
        assert_eq!(gc::referrers(&leaf).len(), 2);
        gc::unfreeze();
        drop(v1);
        let r = gc::referrers(&leaf);
        assert_eq!(r.len(), 1);
        assert!(r[0].ptr_eq(&v2));
        drop(r);
        // Node graph: a is referenced by b and by itself.
        let a = node(0);
        let b = node(1);
        link(&b, &a);
        link(&a, &a);
        let r = gc::referrers(&a);
        assert_eq!(r.len(), 2);
        assert!(contains(&r, &a));
        assert!(contains(&r, &b));
        assert!(gc::referrers(&b).is_empty());
        drop(r);
        a.links.borrow_mut().clear();
        assert_eq!(untracked_holder.len(), 1);
    });
}

#[test]
fn test_get_objects_generations() {
    run(|| {
        gc::collect();
        let l = node(0);
        link(&l, &l);
        let in_gen = |g: usize| contains(&gc::objects(Some(g)), &l);
        assert!(in_gen(0));
        assert!(!in_gen(1));
        assert!(!in_gen(2));
        assert!(contains(&gc::objects(None), &l));
        gc::collect_generation(0);
        assert!(!in_gen(0));
        assert!(in_gen(1));
        assert!(!in_gen(2));
        gc::collect_generation(1);
        assert!(!in_gen(0));
        assert!(!in_gen(1));
        assert!(in_gen(2));
        gc::collect_generation(2);
        assert!(!in_gen(0));
        assert!(!in_gen(1));
        assert!(in_gen(2));
        gc::freeze();
        assert!(in_gen(3));
        assert!(!in_gen(2));
        gc::unfreeze();
        // Sizes agree with generation_sizes.
        let young = node(1);
        let (a, b, c) = gc::generation_sizes();
        assert_eq!(
            (
                gc::objects(Some(0)).len(),
                gc::objects(Some(1)).len(),
                gc::objects(Some(2)).len()
            ),
            (a, b, c)
        );
        assert_eq!((a, b, c), (1, 0, 1));
        assert_eq!(gc::objects(None).len(), 2);
        drop(young);
        drop(l);
        assert_eq!(gc::collect(), 1);
        assert!(gc::objects(None).is_empty());
    });
}

#[test]
fn test_get_objects_arguments() {
    run(|| {
        assert!(gc::objects(None).is_empty());
        assert!(catch_unwind(|| gc::objects(Some(4))).is_err());
        assert!(catch_unwind(|| gc::collect_generation(3)).is_err());
        // The heap is still usable.
        self_cycle_garbage(0);
        assert_eq!(gc::collect(), 1);
    });
}

// ---------------------------------------------------------------------------
// Resurrection
// ---------------------------------------------------------------------------

#[test]
fn test_resurrection_only_happens_once_per_object() {
    run(|| {
        gc::disable();
        let laz = lazarus();
        assert_eq!(read(&LAZ_FINALIZES), 0);
        // Deleting the instance and collecting resurrects it.
        drop(laz);
        assert_eq!(gc::collect(), 0);
        assert_eq!(read(&LAZ_FINALIZES), 1);
        let survivors = take_lazarus();
        assert_eq!(survivors.len(), 1);
        assert_eq!(read(&LAZ_DROPS), 0);
        assert_eq!(gc::generation(&survivors[0]), Some(2));
        assert_eq!(Gc::strong_count(&survivors[0]), 2);
        // Clearing the references and collecting does not resurrect it
        // again: no second finalizer call, and it is freed.
        drop(survivors);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&LAZ_FINALIZES), 1);
        assert_eq!(read(&LAZ_DROPS), 1);
        assert!(take_lazarus().is_empty());
    });
}

thread_local! {
    static LAZ2_FINALIZES: Cell<usize> = const { Cell::new(0) };
    static LAZ2_DROPS: Cell<usize> = const { Cell::new(0) };
    static CARGO_DROPS: Cell<usize> = const { Cell::new(0) };
    static LAZ2_STORAGE: RefCell<Vec<Gc<Lazarus2>>> = const { RefCell::new(Vec::new()) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Lazarus2 {
    cargo: RefCell<Option<Gc<Cargo>>>,
    #[gc(skip)]
    _tally: DropTally,
}

#[derive(Trace)]
struct Cargo {
    name: String,
    me: RefCell<Option<Gc<Cargo>>>,
    laz: RefCell<Option<Gc<Lazarus2>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Lazarus2 {
    fn finalize(&self) {
        bump(&LAZ2_FINALIZES);
        // `self` as a Gc, reached through the cargo that points back.
        let me = self
            .cargo
            .borrow()
            .as_ref()
            .and_then(|c| c.laz.borrow().clone());
        if let Some(me) = me {
            let _ = LAZ2_STORAGE.try_with(|s| s.borrow_mut().push(me));
        }
    }
}

#[test]
fn test_resurrection_is_transitive() {
    run(|| {
        gc::disable();
        let laz = Gc::new(Lazarus2 {
            cargo: RefCell::new(None),
            _tally: DropTally(&LAZ2_DROPS),
        });
        let cargo = Gc::new(Cargo {
            name: "cargo".into(),
            me: RefCell::new(None),
            laz: RefCell::new(None),
            _tally: DropTally(&CARGO_DROPS),
        });
        *cargo.me.borrow_mut() = Some(cargo.clone());
        // A cycle between cargo and laz.
        *laz.cargo.borrow_mut() = Some(cargo.clone());
        *cargo.laz.borrow_mut() = Some(laz.clone());
        let cargo_addr = Gc::as_ptr(&cargo) as usize;
        let weak_cargo = Gc::downgrade(&cargo);
        drop(laz);
        drop(cargo);
        assert_eq!(gc::collect(), 0);
        assert_eq!(read(&LAZ2_FINALIZES), 1);
        let mut back = LAZ2_STORAGE.with(|s| std::mem::take(&mut *s.borrow_mut()));
        assert_eq!(back.len(), 1);
        let instance = back.pop().unwrap();
        // The cargo is intact: not dropped, fields readable, links in place.
        assert_eq!(read(&CARGO_DROPS), 0);
        assert_eq!(read(&LAZ2_DROPS), 0);
        let cargo = instance.cargo.borrow().clone().expect("cargo kept");
        assert_eq!(Gc::as_ptr(&cargo) as usize, cargo_addr);
        assert_eq!(cargo.name, "cargo");
        assert!(Gc::ptr_eq(cargo.me.borrow().as_ref().unwrap(), &cargo));
        assert!(Gc::ptr_eq(cargo.laz.borrow().as_ref().unwrap(), &instance));
        assert_eq!(gc::generation(&instance), Some(2));
        assert_eq!(gc::generation(&cargo), Some(2));
        // Weak references to the garbage stay dead after resurrection.
        assert!(weak_cargo.upgrade().is_none());
        drop(cargo);
        drop(instance);
        assert_eq!(gc::collect(), 2);
        assert_eq!(read(&LAZ2_FINALIZES), 1);
        assert_eq!(read(&LAZ2_DROPS), 1);
        assert_eq!(read(&CARGO_DROPS), 1);
    });
}

#[test]
fn test_resurrection_does_not_block_cleanup_of_other_objects() {
    const N: usize = 100;
    fn last_stats() -> (usize, usize) {
        let s = gc::stats()[2];
        (s.collected, s.uncollectable)
    }
    run(|| {
        gc::collect();
        gc::disable();
        // No problems if just collecting plain cycles.
        let (oldc, oldnc) = last_stats();
        for i in 0..N {
            two_cycle_garbage(2 * i);
        }
        let t = gc::collect();
        let (c, nc) = last_stats();
        assert_eq!(t, 2 * N);
        assert_eq!(c - oldc, 2 * N);
        assert_eq!(nc - oldnc, 0);

        // A resurrector alone is not collected.
        let (oldc, oldnc) = (c, nc);
        drop(lazarus());
        let t = gc::collect();
        let (c, nc) = last_stats();
        assert_eq!(t, 0);
        assert_eq!(c - oldc, 0);
        assert_eq!(nc - oldnc, 0);

        // A resurrector does not prevent anything else being collected.
        let (oldc, oldnc) = (c, nc);
        for i in 0..N {
            two_cycle_garbage(1000 + 2 * i);
        }
        drop(lazarus());
        let t = gc::collect();
        let (c, nc) = last_stats();
        assert_eq!(t, 2 * N);
        assert_eq!(c - oldc, 2 * N);
        assert_eq!(nc - oldnc, 0);
        assert_eq!(node_drops(), 4 * N);

        // Both resurrected instances are held by the storage; release them.
        let (oldc, oldnc) = (c, nc);
        let zs = take_lazarus();
        assert_eq!(zs.len(), 2);
        drop(zs);
        let t = gc::collect();
        let (c, nc) = last_stats();
        assert_eq!(t, 2);
        assert_eq!(c - oldc, 2);
        assert_eq!(nc - oldnc, 0);
        assert_eq!(read(&LAZ_FINALIZES), 2);
        assert_eq!(read(&LAZ_DROPS), 2);
    });
}

thread_local! {
    static PHOENIX_SAW: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
    static PHOENIX_STORAGE: RefCell<Vec<Gc<Phoenix>>> = const { RefCell::new(Vec::new()) };
    static PHOENIX_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Phoenix {
    me: RefCell<Option<Gc<Phoenix>>>,
    weak_me: Weak<Phoenix>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Phoenix {
    fn finalize(&self) {
        let upgraded = self.weak_me.upgrade().is_some();
        let _ = PHOENIX_SAW.try_with(|s| s.borrow_mut().push(upgraded));
        if let Some(me) = self.me.borrow().clone() {
            let _ = PHOENIX_STORAGE.try_with(|s| s.borrow_mut().push(me));
        }
    }
}

/// SelfCycleFinalizationTest.test_simple_resurrect's weakref part: a weak
/// reference to garbage is dead inside the finalizer, and stays dead after
/// the object is resurrected.
#[test]
fn test_weakref_to_garbage_is_dead_in_finalizer_and_after_resurrection() {
    run(|| {
        let p = Gc::new_cyclic(|w| Phoenix {
            me: RefCell::new(None),
            weak_me: w.clone(),
            _tally: DropTally(&PHOENIX_DROPS),
        });
        *p.me.borrow_mut() = Some(p.clone());
        let outer = Gc::downgrade(&p);
        assert!(outer.upgrade().is_some());
        assert!(p.weak_me.upgrade().is_some());
        drop(p);
        assert_eq!(gc::collect(), 0);
        assert_eq!(PHOENIX_SAW.with(|s| s.borrow().clone()), vec![false]);
        let r = PHOENIX_STORAGE
            .with(|s| s.borrow_mut().pop())
            .expect("resurrected");
        assert!(outer.upgrade().is_none());
        assert_eq!(outer.strong_count(), 0);
        assert!(r.weak_me.upgrade().is_none());
        // Sticky: even a Weak made after the resurrection never upgrades.
        assert!(Gc::downgrade(&r).upgrade().is_none());
        assert_eq!(read(&PHOENIX_DROPS), 0);
        drop(r);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&PHOENIX_DROPS), 1);
        assert_eq!(PHOENIX_SAW.with(|s| s.borrow().len()), 1);
        assert!(outer.upgrade().is_none());
    });
}

thread_local! {
    static WEAK_MAKER_SAW: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
    static WEAK_MAKER_WEAKS: RefCell<Vec<Weak<WeakMaker>>> = const { RefCell::new(Vec::new()) };
    static WEAK_MAKER_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct WeakMaker {
    next: RefCell<Option<Gc<WeakMaker>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for WeakMaker {
    fn finalize(&self) {
        if let Some(next) = self.next.borrow().as_ref() {
            let w = Gc::downgrade(next);
            let upgraded = w.upgrade().is_some();
            let _ = WEAK_MAKER_SAW.try_with(|s| s.borrow_mut().push(upgraded));
            let _ = WEAK_MAKER_WEAKS.try_with(|s| s.borrow_mut().push(w));
        }
    }
}

/// test_function_tp_clear_leaves_consistent_state (gh-91636): a weak
/// reference made *during* finalization to other garbage never reaches it,
/// neither then nor after the teardown.
#[test]
fn test_function_tp_clear_leaves_consistent_state() {
    run(|| {
        let a = Gc::new(WeakMaker {
            next: RefCell::new(None),
            _tally: DropTally(&WEAK_MAKER_DROPS),
        });
        let b = Gc::new(WeakMaker {
            next: RefCell::new(Some(a.clone())),
            _tally: DropTally(&WEAK_MAKER_DROPS),
        });
        *a.next.borrow_mut() = Some(b);
        drop(a);
        let blocks_before = gengc::memory_report().used_blocks();
        assert_eq!(gc::collect(), 2);
        assert_eq!(
            WEAK_MAKER_SAW.with(|s| s.borrow().clone()),
            vec![false, false]
        );
        assert_eq!(read(&WEAK_MAKER_DROPS), 2);
        let weaks = WEAK_MAKER_WEAKS.with(|s| std::mem::take(&mut *s.borrow_mut()));
        assert_eq!(weaks.len(), 2);
        for w in &weaks {
            assert!(w.upgrade().is_none());
            assert_eq!(w.strong_count(), 0);
        }
        // The weak references keep only the two blocks.
        assert_eq!(gengc::memory_report().used_blocks(), blocks_before);
        drop(weaks);
        assert_eq!(gengc::memory_report().used_blocks(), blocks_before - 2);
    });
}

// ---------------------------------------------------------------------------
// User code during a collection
// ---------------------------------------------------------------------------

thread_local! {
    static NESTED_RESULTS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    static COLLECTOR_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct CallsCollect {
    me: RefCell<Option<Gc<CallsCollect>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for CallsCollect {
    fn finalize(&self) {
        let a = gc::collect();
        let b = gc::collect_generation(0);
        let _ = NESTED_RESULTS.try_with(|r| r.borrow_mut().extend([a, b]));
    }
}

fn calls_collect(cyclic: bool) -> Gc<CallsCollect> {
    let c = Gc::new(CallsCollect {
        me: RefCell::new(None),
        _tally: DropTally(&COLLECTOR_DROPS),
    });
    if cyclic {
        *c.me.borrow_mut() = Some(c.clone());
    }
    c
}

#[test]
fn test_finalizer_calls_collect() {
    run(|| {
        for _ in 0..3 {
            drop(calls_collect(true));
        }
        assert_eq!(gc::collect(), 3);
        assert_eq!(
            NESTED_RESULTS.with(|r| r.borrow().clone()),
            vec![0, 0, 0, 0, 0, 0]
        );
        assert_eq!(read(&COLLECTOR_DROPS), 3);
        let s = gc::stats();
        assert_eq!(
            [s[0].collections, s[1].collections, s[2].collections],
            [0, 0, 1]
        );
        // Outside a collection (a death by reference counting), a
        // finalizer's collect() is a real one.
        NESTED_RESULTS.with(|r| r.borrow_mut().clear());
        two_cycle_garbage(0);
        drop(calls_collect(false));
        assert_eq!(NESTED_RESULTS.with(|r| r.borrow().clone()), vec![2, 0]);
        assert_eq!(node_drops(), 2);
        assert_eq!(read(&COLLECTOR_DROPS), 4);
    });
}

thread_local! {
    static DEL_FINALIZES: Cell<usize> = const { Cell::new(0) };
    static DEL_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Del {
    me: RefCell<Option<Gc<Del>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Del {
    fn finalize(&self) {
        bump(&DEL_FINALIZES);
        // Like `dir(self)`: allocates, here a tracked self-cycle that
        // becomes garbage at once.
        self_cycle_garbage(0);
    }
}

/// test_del / test_del_newclass: finalizers that allocate with
/// threshold 1, so collections are attempted from inside finalizers (both
/// inside collections and inside deaths by reference counting).
#[test]
fn test_del() {
    run(|| {
        gc::set_threshold(1, 1, 1);
        for _ in 0..100 {
            // Acyclic: finalized by reference counting.
            drop(Gc::new(Del {
                me: RefCell::new(None),
                _tally: DropTally(&DEL_DROPS),
            }));
            // Cyclic: finalized by some automatic collection.
            let d = Gc::new(Del {
                me: RefCell::new(None),
                _tally: DropTally(&DEL_DROPS),
            });
            *d.me.borrow_mut() = Some(d.clone());
        }
        assert!(gc::stats()[0].collections > 0);
        let mut rounds = 0;
        while gc::collect() > 0 {
            rounds += 1;
            assert!(rounds < 10);
        }
        assert_eq!(read(&DEL_FINALIZES), 200);
        assert_eq!(read(&DEL_DROPS), 200);
        assert_eq!(node_drops(), 200);
        assert_eq!(total_tracked(), 0);
    });
}

thread_local! {
    static SPAWNER_FINALIZES: Cell<usize> = const { Cell::new(0) };
    static SPAWNER_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Spawner {
    me: RefCell<Option<Gc<Spawner>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Spawner {
    fn finalize(&self) {
        bump(&SPAWNER_FINALIZES);
        two_cycle_garbage(100);
    }
}

#[test]
fn test_finalizer_allocates_cyclic_garbage() {
    run(|| {
        let s = Gc::new(Spawner {
            me: RefCell::new(None),
            _tally: DropTally(&SPAWNER_DROPS),
        });
        *s.me.borrow_mut() = Some(s.clone());
        drop(s);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&SPAWNER_FINALIZES), 1);
        assert_eq!(read(&SPAWNER_DROPS), 1);
        // The new garbage is young, and counted after the counts were reset.
        assert_eq!(node_drops(), 0);
        assert_eq!(gc::generation_sizes(), (2, 0, 0));
        assert_eq!(gc::count(), (2, 0, 0));
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 2);
        assert_eq!(gc::collect(), 0);
        assert_eq!(read(&SPAWNER_FINALIZES), 1);
        assert_eq!(read(&SPAWNER_DROPS), 1);
        assert_eq!(total_tracked(), 0);
    });
}

thread_local! {
    static KEPT: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    static HOST_DROPS: Cell<usize> = const { Cell::new(0) };
}

/// Not `Trace`: a destructor that allocates.
struct Maker;

impl Drop for Maker {
    fn drop(&mut self) {
        let kept = node(900);
        let _ = KEPT.try_with(|k| k.borrow_mut().push(kept));
        two_cycle_garbage(901);
    }
}

#[derive(Trace)]
struct Host {
    me: RefCell<Option<Gc<Host>>>,
    #[gc(skip)]
    _maker: Maker,
    #[gc(skip)]
    _tally: DropTally,
}

#[test]
fn test_drop_creates_gcs_during_teardown() {
    run(|| {
        let h = Gc::new(Host {
            me: RefCell::new(None),
            _maker: Maker,
            _tally: DropTally(&HOST_DROPS),
        });
        *h.me.borrow_mut() = Some(h.clone());
        drop(h);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&HOST_DROPS), 1);
        assert_eq!(node_drops(), 0);
        let kept = KEPT.with(|k| k.borrow()[0].clone());
        assert_eq!(kept.id, 900);
        assert_eq!(gc::generation(&kept), Some(0));
        assert_eq!(gc::count(), (3, 0, 0));
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 2);
        assert_eq!(gc::generation(&kept), Some(2));
        drop(kept);
        KEPT.with(|k| k.borrow_mut().clear());
        assert_eq!(node_drops(), 3);
        assert_eq!(gc::collect(), 0);
        assert_eq!(total_tracked(), 0);
    });
}

thread_local! {
    static A21435_DROPS: Cell<usize> = const { Cell::new(0) };
    static B21435_DROPS: Cell<usize> = const { Cell::new(0) };
    static B21435_FINALIZES: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct A21435 {
    attr: RefCell<Option<Gc<B21435>>>,
    #[gc(skip)]
    _tally: DropTally,
}

#[derive(Trace)]
#[gc(finalize)]
struct B21435 {
    x: Gc<A21435>,
    attr: RefCell<Option<Gc<A21435>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for B21435 {
    fn finalize(&self) {
        bump(&B21435_FINALIZES);
        // Mutate other trash: break the cycle from the other side...
        let from_a = self.attr.borrow().as_ref().and_then(|a| a.attr.take());
        drop(from_a);
        // ... and from this side (`self.attr = None`).
        let own = self.attr.take();
        drop(own);
    }
}

fn a21435() -> Gc<A21435> {
    Gc::new(A21435 {
        attr: RefCell::new(None),
        _tally: DropTally(&A21435_DROPS),
    })
}

/// test_bug21435: a finalizer mutating other trash during finalization.
#[test]
fn test_bug21435() {
    run(|| {
        gc::collect();
        {
            let a = a21435();
            let b = Gc::new(B21435 {
                x: a21435(),
                attr: RefCell::new(Some(a.clone())),
                _tally: DropTally(&B21435_DROPS),
            });
            *a.attr.borrow_mut() = Some(b);
        }
        assert_eq!(gc::collect(), 3);
        assert_eq!(read(&B21435_FINALIZES), 1);
        assert_eq!(read(&A21435_DROPS), 2);
        assert_eq!(read(&B21435_DROPS), 1);
        assert_eq!(gc::collect(), 0);
    });
}

thread_local! {
    static OUCH_1055820: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
    static C2WR: RefCell<Option<Weak<C1055820>>> = const { RefCell::new(None) };
    static D_FINALIZES: Cell<usize> = const { Cell::new(0) };
    static D_DROPS: Cell<usize> = const { Cell::new(0) };
    static C_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct C1055820 {
    me: RefCell<Option<Gc<C1055820>>>,
    keep_d0_alive: RefCell<Option<Gc<D1055820>>>,
    #[gc(skip)]
    _tally: DropTally,
}

#[derive(Trace)]
#[gc(finalize)]
struct D1055820 {
    loop_: RefCell<Option<Gc<D1055820>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for D1055820 {
    fn finalize(&self) {
        bump(&D_FINALIZES);
        let alive = C2WR.with(|w| w.borrow().as_ref().map(|w| w.upgrade().is_some()));
        OUCH_1055820.with(|o| o.borrow_mut().push(alive.expect("c2wr set")));
    }
}

fn c1055820() -> Gc<C1055820> {
    let c = Gc::new(C1055820 {
        me: RefCell::new(None),
        keep_d0_alive: RefCell::new(None),
        _tally: DropTally(&C_DROPS),
    });
    *c.me.borrow_mut() = Some(c.clone());
    c
}

/// test_bug1055820d: a young collection frees an old object indirectly
/// (the old object's last reference is held by young trash); its finalizer
/// must find the weak reference to other young trash already dead. The
/// young collection happens "naturally", by allocation.
#[test]
fn test_bug1055820d() {
    run(|| {
        let d0 = Gc::new(D1055820 {
            loop_: RefCell::new(None),
            _tally: DropTally(&D_DROPS),
        });
        *d0.loop_.borrow_mut() = Some(d0.clone());
        // Move d0 into the old generation.
        gc::collect();
        assert_eq!(gc::generation(&d0), Some(2));
        let c1 = c1055820();
        *c1.keep_d0_alive.borrow_mut() = Some(d0.clone());
        *d0.loop_.borrow_mut() = None; // now only c1 keeps d0 alive
        let c2 = c1055820();
        C2WR.with(|w| *w.borrow_mut() = Some(Gc::downgrade(&c2)));
        drop((d0, c1, c2));
        // d0 (old), c1 and c2 (young, self-loops) are trash now.
        let mut junk = Vec::new();
        let mut i = 0;
        while gc::stats()[0].collections == 0 {
            i += 1;
            assert!(i <= 10_000, "gc didn't happen after 10000 iterations");
            assert!(OUCH_1055820.with(|o| o.borrow().is_empty()));
            junk.push(Gc::new(RefCell::new(vec![Gc::new(0u64)])));
        }
        // count0 was 2 (c1, c2): the 2000th junk allocation sees 2001 > 2000.
        assert_eq!(i, 2000);
        assert_eq!(OUCH_1055820.with(|o| o.borrow().clone()), vec![false]);
        assert_eq!(read(&D_FINALIZES), 1);
        assert_eq!(read(&D_DROPS), 1);
        assert_eq!(read(&C_DROPS), 2);
        let s = gc::stats();
        assert_eq!((s[0].collections, s[0].collected), (1, 2));
        assert_eq!((s[1].collections, s[2].collections), (0, 1));
        C2WR.with(|w| w.borrow_mut().take());
    });
}

thread_local! {
    static SPY_SAW: RefCell<Vec<(usize, usize, Option<usize>)>> = const { RefCell::new(Vec::new()) };
    static SPY_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Spy {
    next: RefCell<Option<Gc<Spy>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Spy {
    fn finalize(&self) {
        let objs = gc::objects(None);
        let spies = objs
            .iter()
            .filter(|o| o.type_name() == std::any::type_name::<Spy>())
            .count();
        let referrers = self.next.borrow().as_ref().map(|n| gc::referrers(n).len());
        let _ = SPY_SAW.try_with(|s| s.borrow_mut().push((objs.len(), spies, referrers)));
    }
}

/// test_get_objects_during_gc: introspection from a finalizer does not
/// return (and so cannot resurrect) the objects being collected.
#[test]
fn test_get_objects_during_gc() {
    run(|| {
        let keep = node(0);
        let spies: Vec<_> = (0..3)
            .map(|_| {
                Gc::new(Spy {
                    next: RefCell::new(None),
                    _tally: DropTally(&SPY_DROPS),
                })
            })
            .collect();
        for i in 0..3 {
            *spies[i].next.borrow_mut() = Some(spies[(i + 1) % 3].clone());
        }
        drop(spies);
        assert_eq!(gc::collect(), 3);
        assert_eq!(
            SPY_SAW.with(|s| s.borrow().clone()),
            vec![(1, 0, Some(0)); 3]
        );
        assert_eq!(read(&SPY_DROPS), 3);
        assert_eq!(gc::generation_sizes(), (0, 0, 1));
        assert_eq!(keep.id, 0);
    });
}

// ---------------------------------------------------------------------------
// Panics in user code during a collection
// ---------------------------------------------------------------------------

thread_local! {
    static BOMB_FINALIZES: Cell<usize> = const { Cell::new(0) };
    static BOMB_DROPS: Cell<usize> = const { Cell::new(0) };
    static DROP_BOMB_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Bomb {
    me: RefCell<Option<Gc<Bomb>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Bomb {
    fn finalize(&self) {
        bump(&BOMB_FINALIZES);
        panic!("finalizer boom");
    }
}

fn bomb_garbage() {
    let b = Gc::new(Bomb {
        me: RefCell::new(None),
        _tally: DropTally(&BOMB_DROPS),
    });
    *b.me.borrow_mut() = Some(b.clone());
}

struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("drop boom");
    }
}

#[derive(Trace)]
struct DropBomb {
    me: RefCell<Option<Gc<DropBomb>>>,
    #[gc(skip)]
    _tally: DropTally,
    #[gc(skip)]
    _boom: PanicOnDrop,
}

fn drop_bomb_garbage() {
    let b = Gc::new(DropBomb {
        me: RefCell::new(None),
        _tally: DropTally(&DROP_BOMB_DROPS),
        _boom: PanicOnDrop,
    });
    *b.me.borrow_mut() = Some(b.clone());
}

#[test]
fn test_panic_in_finalizer() {
    run(|| {
        for i in 0..10 {
            two_cycle_garbage(2 * i);
        }
        bomb_garbage();
        let err = catch_unwind(gc::collect).unwrap_err();
        assert_eq!(panic_message(&*err), "finalizer boom");
        // Every other object was still freed, exactly once.
        assert_eq!(node_drops(), 20);
        assert_eq!(read(&BOMB_FINALIZES), 1);
        assert_eq!(read(&BOMB_DROPS), 1);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        let s = gc::stats()[2];
        assert_eq!((s.collections, s.collected), (1, 21));
        assert_eq!(gengc::memory_report().used_blocks(), 0);
        // The collector works afterwards.
        two_cycle_garbage(100);
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 22);
        assert_eq!(read(&BOMB_FINALIZES), 1);
    });
}

#[test]
fn test_panic_in_drop() {
    run(|| {
        for i in 0..10 {
            two_cycle_garbage(2 * i);
        }
        drop_bomb_garbage();
        let err = catch_unwind(gc::collect).unwrap_err();
        assert_eq!(panic_message(&*err), "drop boom");
        assert_eq!(node_drops(), 20);
        // The panicking value's other fields were dropped too.
        assert_eq!(read(&DROP_BOMB_DROPS), 1);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(gc::stats()[2].collected, 21);
        assert_eq!(gengc::memory_report().used_blocks(), 0);
        two_cycle_garbage(100);
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 22);
    });
}

#[test]
fn test_panic_in_callback() {
    run(|| {
        let phases = Rc::new(RefCell::new(Vec::new()));
        let p = phases.clone();
        let bad = gc::add_callback(|phase, _| {
            if phase == Start {
                panic!("callback boom");
            }
        });
        gc::add_callback(move |phase, info| p.borrow_mut().push((phase, info.collected)));
        two_cycle_garbage(0);
        let err = catch_unwind(gc::collect).unwrap_err();
        assert_eq!(panic_message(&*err), "callback boom");
        // The collection ran in full, the other callback saw both phases.
        assert_eq!(*phases.borrow(), vec![(Start, 0), (Stop, 2)]);
        assert_eq!(node_drops(), 2);
        assert_eq!(gc::stats()[2].collections, 1);
        assert!(gc::remove_callback(bad));
        two_cycle_garbage(2);
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 4);
        assert_eq!(phases.borrow().len(), 4);
    });
}

/// Finalizers all run before any value is dropped, so with a panicking
/// finalizer and a panicking destructor the finalizer's panic is the first.
#[test]
fn test_first_panic_is_resumed() {
    run(|| {
        drop_bomb_garbage();
        bomb_garbage();
        two_cycle_garbage(0);
        let err = catch_unwind(gc::collect).unwrap_err();
        assert_eq!(panic_message(&*err), "finalizer boom");
        assert_eq!(read(&BOMB_DROPS), 1);
        assert_eq!(read(&DROP_BOMB_DROPS), 1);
        assert_eq!(node_drops(), 2);
        assert_eq!(gc::stats()[2].collected, 4);
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}

/// An automatic collection whose finalizer panics: the panic comes out of
/// the `Gc::new` that triggered it, the value passed in is dropped once, and
/// the heap stays usable.
#[test]
fn test_panic_in_finalizer_during_automatic_collection() {
    run(|| {
        gc::set_threshold(10, 10, 10);
        bomb_garbage(); // count0 = 1
        let mut keep = Vec::new();
        for i in 0..10 {
            keep.push(node(i)); // count0 = 2..=11
        }
        assert_eq!(gc::stats()[0].collections, 0);
        let err = match catch_unwind(|| node(10)) {
            Ok(_) => panic!("the automatic collection's panic did not come out of Gc::new"),
            Err(err) => err,
        };
        assert_eq!(panic_message(&*err), "finalizer boom");
        assert_eq!(node_drops(), 1); // the value given to the failed Gc::new
        assert_eq!(read(&BOMB_FINALIZES), 1);
        assert_eq!(read(&BOMB_DROPS), 1);
        let s = gc::stats()[0];
        assert_eq!((s.collections, s.collected), (1, 1));
        assert_eq!(gc::count(), (0, 1, 0));
        assert_eq!(gc::generation_sizes(), (0, 10, 0));
        keep.push(node(11));
        assert_eq!(gc::generation_sizes(), (1, 10, 0));
        drop(keep);
        assert_eq!(node_drops(), 12);
        assert_eq!(total_tracked(), 0);
    });
}

// ---------------------------------------------------------------------------
// A RefCell mutably borrowed across a collection
// ---------------------------------------------------------------------------

/// The cycle a <-> b is garbage, but a's `RefCell` is mutably borrowed
/// during the collection: it is not traced, so b looks referenced from
/// outside and survives, and with it a. After the borrow ends, a later
/// collection frees both.
#[test]
fn test_refcell_borrowed_across_collect() {
    run(|| {
        let a = node(1);
        let b = node(2);
        link(&a, &b);
        link(&b, &a);
        let a_ptr: *const Node = Gc::as_ptr(&a);
        drop(a);
        drop(b);
        {
            // SAFETY: `a` is kept alive by `b`'s reference (and `b` by
            // `a`'s). Only a collection could free them; the drop count is
            // checked after it before this reference is used again.
            let a_ref: &Node = unsafe { &*a_ptr };
            let guard = a_ref.links.borrow_mut();
            assert_eq!(gc::collect_generation(0), 0);
            assert_eq!(gc::collect(), 0);
            if node_drops() != 0 {
                std::mem::forget(guard);
                panic!("the collector freed objects behind a mutably borrowed RefCell");
            }
            assert_eq!(guard.len(), 1);
            assert_eq!(guard[0].id, 2);
            assert_eq!(guard[0].links.borrow()[0].id, 1);
            assert_eq!(gc::generation(&guard[0]), Some(2));
        }
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 2);
    });
}

/// A rooted holder whose `RefCell` is borrowed during collections: nothing
/// panics, nothing reachable is freed, and garbage elsewhere is collected.
#[test]
fn test_refcell_borrowed_across_collect_rooted() {
    run(|| {
        let holder = node(0);
        for n in ring(1, 3) {
            holder.links.borrow_mut().push(n);
        }
        let mut guard = holder.links.borrow_mut();
        two_cycle_garbage(10);
        assert_eq!(gc::collect(), 2);
        assert_eq!(node_drops(), 2);
        assert_eq!(guard.len(), 3);
        // Unlink the ring while still borrowed: it is garbage now.
        guard.clear();
        assert_eq!(gc::collect(), 3);
        assert_eq!(node_drops(), 5);
        drop(guard);
        assert_eq!(gc::collect(), 0);
        assert_eq!(holder.id, 0);
    });
}

// ---------------------------------------------------------------------------
// Deep structures and heavy allocation
// ---------------------------------------------------------------------------

thread_local! {
    static OUCH_N: Cell<usize> = const { Cell::new(0) };
    static OUCH_DROPS: Cell<usize> = const { Cell::new(0) };
    static OUCH_COLLECTS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Ouch {
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Ouch {
    fn finalize(&self) {
        bump(&OUCH_N);
        if OUCH_N.try_with(Cell::get).unwrap_or(1) % 17 == 0 {
            gc::collect();
            bump(&OUCH_COLLECTS);
        }
    }
}

#[derive(Trace)]
enum Nest {
    Empty,
    Pair {
        inner: Gc<Nest>,
        ouch: Gc<Ouch>,
    },
    Map {
        map: BTreeMap<u8, Gc<Nest>>,
        ouch: Gc<Ouch>,
    },
}

fn ouch() -> Gc<Ouch> {
    Gc::new(Ouch {
        _tally: DropTally(&OUCH_DROPS),
    })
}

/// test_trashcan: deeply nested containers whose elements' finalizers run
/// full collections every 17th time, while the nested drops are deferred.
#[test]
fn test_trashcan() {
    run(|| {
        const N: usize = 150;
        for _ in 0..2 {
            let mut t = Gc::new(Nest::Empty);
            for _ in 0..N {
                t = Gc::new(Nest::Pair {
                    inner: t,
                    ouch: ouch(),
                });
            }
            let mut u = Gc::new(Nest::Empty);
            for _ in 0..N {
                u = Gc::new(Nest::Pair {
                    inner: u,
                    ouch: ouch(),
                });
            }
            let mut v = Gc::new(Nest::Empty);
            for _ in 0..N {
                v = Gc::new(Nest::Map {
                    map: BTreeMap::from([(1, v)]),
                    ouch: ouch(),
                });
            }
            assert!(matches!(&*t, Nest::Pair { .. }));
            assert!(matches!(&*u, Nest::Pair { .. }));
            assert!(matches!(&*v, Nest::Map { .. }));
        }
        assert_eq!(read(&OUCH_N), 2 * 3 * N);
        assert_eq!(read(&OUCH_DROPS), 2 * 3 * N);
        assert_eq!(read(&OUCH_COLLECTS), 2 * 3 * N / 17);
        assert_eq!(total_tracked(), 0);
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}

thread_local! {
    static LL_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct LinkedList {
    next: RefCell<Option<Gc<LinkedList>>>,
    prev: RefCell<Option<Gc<LinkedList>>>,
    surprise: RefCell<Option<Gc<LinkedList>>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl LinkedList {
    fn new(next: Option<Gc<LinkedList>>, prev: Option<Gc<LinkedList>>) -> Gc<LinkedList> {
        let this = Gc::new(LinkedList {
            next: RefCell::new(next.clone()),
            prev: RefCell::new(prev.clone()),
            surprise: RefCell::new(None),
            _tally: DropTally(&LL_DROPS),
        });
        if let Some(next) = next {
            *next.prev.borrow_mut() = Some(this.clone());
        }
        if let Some(prev) = prev {
            *prev.next.borrow_mut() = Some(this.clone());
        }
        this
    }
}

fn make_ll(depth: usize) -> Gc<LinkedList> {
    let mut head = LinkedList::new(None, None);
    for _ in 0..depth {
        let prev = head.prev.borrow().clone();
        head = LinkedList::new(Some(head), prev);
    }
    head
}

/// test_incremental_gc_handles_fast_cycle_creation
/// (`_test_gc_fast_cycles.py`), with the default thresholds: 20,000 rounds,
/// each making a 21-node doubly linked list (one strongly connected cycle)
/// that points at a 1,001-node long-lived list; automatic collection must
/// keep the tracked heap under 27,000 objects at every round.
#[test]
fn test_incremental_gc_handles_fast_cycle_creation() {
    run(|| {
        let head = make_ll(1000);
        assert!(gc::is_enabled());
        assert_eq!(gc::threshold(), (2000, 10, 10));
        assert_eq!(total_tracked(), 1001);
        let mut olds = Vec::new();
        for i in 0..20_000 {
            let newhead = make_ll(20);
            *newhead.surprise.borrow_mut() = Some(head.clone());
            olds.push(newhead);
            let tracked = total_tracked();
            assert!(
                tracked < 27_000,
                "heap growing: {tracked} tracked objects after {i} rounds"
            );
            if olds.len() == 20 {
                olds.clear();
            }
        }
        assert!(gc::stats()[0].collections > 0);
        drop(olds);
        drop(head);
        gc::collect();
        assert_eq!(total_tracked(), 0);
        assert_eq!(read(&LL_DROPS), 1001 + 20_000 * 21);
    });
}

thread_local! {
    static LINK_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
struct Link {
    next: RefCell<Option<Gc<Link>>>,
    #[gc(skip)]
    _tally: DropTally,
}

fn new_link() -> Gc<Link> {
    Gc::new(Link {
        next: RefCell::new(None),
        _tally: DropTally(&LINK_DROPS),
    })
}

/// A 1,000,000-node cyclic list is collected on a 2 MiB stack: detection
/// and teardown use no recursion.
#[test]
fn test_million_node_cycle_collected_on_default_stack() {
    run_with_stack(2 << 20, || {
        const N: usize = 1_000_000;
        gc::disable();
        let first = new_link();
        let mut last = first.clone();
        for _ in 1..N {
            let n = new_link();
            *last.next.borrow_mut() = Some(n.clone());
            last = n;
        }
        *last.next.borrow_mut() = Some(first.clone());
        drop(first);
        drop(last);
        assert_eq!(gc::generation_sizes(), (N, 0, 0));
        assert_eq!(read(&LINK_DROPS), 0);
        assert_eq!(gc::collect(), N);
        assert_eq!(read(&LINK_DROPS), N);
        assert_eq!(total_tracked(), 0);
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}

/// A 1,000,000-deep acyclic chain dies by reference counting on a 2 MiB
/// stack (the trashcan), and the counts come back to zero.
#[test]
fn test_million_deep_chain_dropped_by_refcount() {
    run_with_stack(2 << 20, || {
        const N: usize = 1_000_000;
        gc::disable();
        let mut head = new_link();
        for _ in 1..N {
            let n = new_link();
            *n.next.borrow_mut() = Some(head);
            head = n;
        }
        assert_eq!(gc::count(), (N, 0, 0));
        drop(head);
        assert_eq!(read(&LINK_DROPS), N);
        assert_eq!(gc::count(), (0, 0, 0));
        assert_eq!(total_tracked(), 0);
        assert_eq!(gc::collect(), 0);
    });
}

thread_local! {
    static OLD_VISITS: Cell<usize> = const { Cell::new(0) };
    static YOUNG_VISITS: Cell<usize> = const { Cell::new(0) };
    static COUNTED_DROPS: Cell<usize> = const { Cell::new(0) };
}

/// Counts how often the collector traces it, per kind.
struct Counted {
    old: bool,
    links: RefCell<Vec<Gc<Counted>>>,
    _tally: DropTally,
}

// SAFETY: visits each owned `Gc` (in `links`) exactly once; the counter is
// a thread-local integer no `Gc` depends on.
unsafe impl Trace for Counted {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        bump(if self.old { &OLD_VISITS } else { &YOUNG_VISITS });
        self.links.trace(tracer);
    }
}

fn counted(old: bool) -> Gc<Counted> {
    Gc::new(Counted {
        old,
        links: RefCell::new(Vec::new()),
        _tally: DropTally(&COUNTED_DROPS),
    })
}

/// A young collection costs O(young): it never traces an old object. Per
/// detect.rs, a collection traces every object of the set once (count),
/// then traces roots (objects referenced from outside the set) until every
/// other object is reached: not at all if every object is a root, from
/// every root if some objects are garbage (they are never reached).
#[test]
fn test_young_collection_does_not_visit_old_generation() {
    run(|| {
        gc::disable();
        let olds: Vec<_> = (0..10_000).map(|_| counted(true)).collect();
        for w in olds.windows(2) {
            w[0].links.borrow_mut().push(w[1].clone());
        }
        assert_eq!(gc::collect(), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, 10_000));
        // All held by `olds`: counted once, no root needs tracing.
        assert_eq!(read(&OLD_VISITS), 10_000);
        reset(&OLD_VISITS);

        // 50 live young objects, each pointing into the old generation.
        let live: Vec<_> = (0..50)
            .map(|i| {
                let y = counted(false);
                y.links.borrow_mut().push(olds[i].clone());
                y
            })
            .collect();
        // 25 young 2-cycles of garbage, also pointing into the old one.
        for i in 0..25 {
            let a = counted(false);
            let b = counted(false);
            a.links.borrow_mut().push(b.clone());
            b.links.borrow_mut().push(a.clone());
            a.links.borrow_mut().push(olds[100 + i].clone());
            b.links.borrow_mut().push(olds[200 + i].clone());
        }
        assert_eq!(gc::count(), (100, 0, 0));
        assert_eq!(gc::collect_generation(0), 50);
        assert_eq!(read(&OLD_VISITS), 0);
        // Counted: all 100. Marked: the 50 live roots (the garbage is never
        // reached, so the walk cannot stop early).
        assert_eq!(read(&YOUNG_VISITS), 100 + 50);
        assert_eq!(read(&COUNTED_DROPS), 50);
        assert_eq!(gc::generation_sizes(), (0, 50, 10_000));
        assert_eq!(Gc::strong_count(&olds[100]), 2);

        // A middle collection does not visit the old generation either.
        reset(&YOUNG_VISITS);
        assert_eq!(gc::collect_generation(1), 0);
        assert_eq!(read(&OLD_VISITS), 0);
        assert_eq!(read(&YOUNG_VISITS), 50);
        assert_eq!(gc::generation_sizes(), (0, 0, 10_050));

        // A full collection does: everyone, once (all roots).
        reset(&YOUNG_VISITS);
        assert_eq!(gc::collect(), 0);
        assert_eq!(read(&OLD_VISITS), 10_000);
        assert_eq!(read(&YOUNG_VISITS), 50);
        drop(live);
        drop(olds);
        assert_eq!(read(&COUNTED_DROPS), 10_100);
    });
}

/// Marking stops once every object not referenced from outside the set has
/// been reached: the roots after that point are never traced. Without
/// garbage, a chain hanging off one root is traced twice over (count, then
/// the walk from its head); the other roots are counted only.
#[test]
fn test_mark_stops_once_every_candidate_is_reached() {
    run(|| {
        gc::disable();
        // 1,000 roots held by a Vec; the first also owns a 10-object chain
        // reachable only through it.
        let roots: Vec<_> = (0..1_000).map(|_| counted(false)).collect();
        let mut tail = counted(false);
        for _ in 1..10 {
            let next = counted(false);
            next.links.borrow_mut().push(tail);
            tail = next;
        }
        roots[0].links.borrow_mut().push(tail);
        assert_eq!(gc::collect_generation(0), 0);
        // Count: 1,010. Mark: roots[0] and its chain of 10, then stop.
        assert_eq!(read(&YOUNG_VISITS), 1_010 + 11);

        // With one garbage cycle in the set, every root is traced.
        reset(&YOUNG_VISITS);
        let a = counted(false);
        let b = counted(false);
        a.links.borrow_mut().push(b.clone());
        b.links.borrow_mut().push(a.clone());
        drop((a, b));
        assert_eq!(gc::collect(), 2);
        assert_eq!(read(&YOUNG_VISITS), 1_012 + 1_010);
        drop(roots);
        assert_eq!(read(&COUNTED_DROPS), 1_012);
    });
}

// ---------------------------------------------------------------------------
// Thread exit (test_gc_main_module_at_shutdown and friends)
// ---------------------------------------------------------------------------

struct ArcTally(Arc<AtomicUsize>);

impl Drop for ArcTally {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Trace)]
#[gc(finalize)]
struct Exiting {
    peer: RefCell<Option<Gc<Exiting>>>,
    #[gc(skip)]
    finalized: Arc<AtomicUsize>,
    #[gc(skip)]
    _drops: ArcTally,
}

impl Finalize for Exiting {
    fn finalize(&self) {
        self.finalized.fetch_add(1, Ordering::SeqCst);
    }
}

/// Cyclic garbage still uncollected when its thread exits is finalized and
/// dropped exactly once by the heap's final collection.
#[test]
fn test_garbage_at_thread_exit_is_finalized_once() {
    let finalized = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (f, d) = (finalized.clone(), dropped.clone());
    run(move || {
        let make = || {
            Gc::new(Exiting {
                peer: RefCell::new(None),
                finalized: f.clone(),
                _drops: ArcTally(d.clone()),
            })
        };
        for _ in 0..2 {
            let a = make();
            *a.peer.borrow_mut() = Some(a.clone());
        }
        let a = make();
        let b = make();
        *a.peer.borrow_mut() = Some(b.clone());
        *b.peer.borrow_mut() = Some(a);
        drop(b);
        assert_eq!(f.load(Ordering::SeqCst), 0);
        assert_eq!(total_tracked(), 4);
    });
    assert_eq!(finalized.load(Ordering::SeqCst), 4);
    assert_eq!(dropped.load(Ordering::SeqCst), 4);
}

// ---------------------------------------------------------------------------
// Further collector behaviours (DESIGN.md §4, §8)
// ---------------------------------------------------------------------------

thread_local! {
    static TRACE_PANICS: Cell<bool> = const { Cell::new(false) };
    static FRAGILE_DROPS: Cell<usize> = const { Cell::new(0) };
    static FRAGILE_FINALIZES: Cell<usize> = const { Cell::new(0) };
}

/// Its `trace` panics while `TRACE_PANICS` is set.
struct Fragile {
    links: RefCell<Vec<Gc<Fragile>>>,
    arm_on_finalize: bool,
    _tally: DropTally,
}

// SAFETY: visits each owned `Gc` once (or none, by panicking first).
unsafe impl Trace for Fragile {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if TRACE_PANICS.with(Cell::get) {
            panic!("trace boom");
        }
        self.links.trace(tracer);
    }
    fn finalize_glue(&self) {
        Finalize::finalize(self);
    }
    fn needs_finalize() -> bool {
        true
    }
}

impl Finalize for Fragile {
    fn finalize(&self) {
        bump(&FRAGILE_FINALIZES);
        if self.arm_on_finalize {
            // The next trace (the resurrection check) panics.
            TRACE_PANICS.with(|p| p.set(true));
        }
    }
}

fn fragile_two_cycle(arm_on_finalize: bool) {
    let make = || {
        Gc::new(Fragile {
            links: RefCell::new(Vec::new()),
            arm_on_finalize,
            _tally: DropTally(&FRAGILE_DROPS),
        })
    };
    let a = make();
    let b = make();
    a.links.borrow_mut().push(b.clone());
    b.links.borrow_mut().push(a);
}

/// A panic in a `Trace` impl during detection unwinds out of `collect`
/// having freed nothing; the heap stays consistent and usable.
#[test]
fn test_panic_in_trace_during_detection() {
    run(|| {
        fragile_two_cycle(false);
        two_cycle_garbage(0);
        TRACE_PANICS.with(|p| p.set(true));
        let err = catch_unwind(gc::collect).unwrap_err();
        assert_eq!(panic_message(&*err), "trace boom");
        assert_eq!(read(&FRAGILE_DROPS), 0);
        assert_eq!(read(&FRAGILE_FINALIZES), 0);
        assert_eq!(node_drops(), 0);
        assert_eq!(gc::generation_sizes(), (4, 0, 0));
        TRACE_PANICS.with(|p| p.set(false));
        assert_eq!(gc::collect(), 4);
        assert_eq!(read(&FRAGILE_DROPS), 2);
        assert_eq!(read(&FRAGILE_FINALIZES), 2);
        assert_eq!(node_drops(), 2);
        assert_eq!(total_tracked(), 0);
    });
}

/// A panic in a `Trace` impl during the resurrection check (after the
/// finalizers ran): the garbage is kept, untouched, in the old generation;
/// a later collection frees it without finalizing it again.
#[test]
fn test_panic_in_trace_during_resurrection_check() {
    run(|| {
        fragile_two_cycle(true);
        let err = catch_unwind(gc::collect).unwrap_err();
        assert_eq!(panic_message(&*err), "trace boom");
        assert_eq!(read(&FRAGILE_FINALIZES), 2);
        assert_eq!(read(&FRAGILE_DROPS), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, 2));
        TRACE_PANICS.with(|p| p.set(false));
        assert_eq!(gc::collect(), 2);
        assert_eq!(read(&FRAGILE_FINALIZES), 2);
        assert_eq!(read(&FRAGILE_DROPS), 2);
        assert_eq!(total_tracked(), 0);
    });
}

/// While `Gc::get_mut` has lent out a `&mut`, the collector does not read
/// the value (its targets survive as if referenced from outside). Once a
/// handle operation proves the borrow over, it is traced again.
#[test]
fn test_get_mut_lent_object_is_not_traced() {
    run(|| {
        let mut x = counted(false);
        let m: &mut Counted = Gc::get_mut(&mut x).unwrap();
        m.links.get_mut().push(counted(false));
        assert_eq!(gc::collect_generation(0), 0);
        // Only the child was traced, once: uncounted inside `x`, it looks
        // referenced from outside, so marking has nothing to reach.
        assert_eq!(read(&YOUNG_VISITS), 1);
        assert_eq!(m.links.get_mut().len(), 1);
        let x2 = x.clone(); // the borrow is over
        reset(&YOUNG_VISITS);
        assert_eq!(gc::collect_generation(1), 0);
        assert_eq!(read(&YOUNG_VISITS), 4);
        drop((x, x2));
        assert_eq!(read(&COUNTED_DROPS), 2);
    });
}

/// A lent object whose only handle sits inside another object the
/// collector reads cannot still be borrowed: it is traced after all.
#[test]
fn test_get_mut_lent_object_held_inside_the_set_is_traced() {
    run(|| {
        let holder = counted(false);
        holder.links.borrow_mut().push(counted(false));
        {
            let mut v = holder.links.borrow_mut();
            let x: &mut Counted = Gc::get_mut(&mut v[0]).unwrap();
            x.links.get_mut().push(counted(false));
        }
        // holder (rooted), x (lent flag, handle inside holder), child.
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(read(&YOUNG_VISITS), 6);
        drop(holder);
        assert_eq!(read(&COUNTED_DROPS), 3);
    });
}

#[test]
fn test_try_unwrap_and_make_mut_keep_counts_consistent() {
    run(|| {
        let x = node(0);
        assert_eq!(
            (gc::count(), gc::generation_sizes()),
            ((1, 0, 0), (1, 0, 0))
        );
        let value = match Gc::try_unwrap(x) {
            Ok(v) => v,
            Err(_) => panic!("unique handle"),
        };
        assert_eq!(
            (gc::count(), gc::generation_sizes()),
            ((0, 0, 0), (0, 0, 0))
        );
        assert_eq!(value.id, 0);
        drop(value);
        assert_eq!(node_drops(), 1);
        // make_mut with another strong handle: copy-on-write. The original
        // is born settled (fixed edges to untracked objects only); the copy
        // is born young, since `make_mut` lends it out.
        let mut a = Gc::new(vec![Gc::new(1u64)]);
        assert!(!gc::is_tracked(&a));
        let b = a.clone();
        Gc::make_mut(&mut a).push(Gc::new(2u64));
        assert_eq!((a.len(), b.len()), (2, 1));
        assert!(gc::is_tracked(&a));
        assert_eq!(
            (gc::count(), gc::generation_sizes()),
            ((1, 0, 0), (1, 0, 0))
        );
        // make_mut with only a Weak sharing: the value moves to a new object.
        let w = Gc::downgrade(&b);
        let mut b = b;
        Gc::make_mut(&mut b).push(Gc::new(3u64));
        assert!(w.upgrade().is_none());
        assert_eq!(b.len(), 2);
        assert_eq!(
            (gc::count(), gc::generation_sizes()),
            ((2, 0, 0), (2, 0, 0))
        );
        assert!(gc::is_tracked(&b));
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(gc::generation_sizes(), (0, 2, 0));
        drop((a, b));
        assert_eq!(total_tracked(), 0);
    });
}

thread_local! {
    static BIG_DROPS: Cell<usize> = const { Cell::new(0) };
    static BIG_FINALIZES: Cell<usize> = const { Cell::new(0) };
    static BIG_STORAGE: RefCell<Vec<Gc<Big>>> = const { RefCell::new(Vec::new()) };
}

/// Over 512 bytes: a large object, with its own allocation.
#[derive(Trace)]
#[gc(finalize)]
struct Big {
    payload: [u64; 80],
    links: RefCell<Vec<Gc<Big>>>,
    small: RefCell<Option<Gc<Node>>>,
    resurrect: Cell<bool>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Big {
    fn finalize(&self) {
        bump(&BIG_FINALIZES);
        if self.resurrect.get() {
            if let Some(me) = self.links.borrow().first().cloned() {
                let _ = BIG_STORAGE.try_with(|s| s.borrow_mut().push(me));
            }
        }
    }
}

fn big(fill: u64) -> Gc<Big> {
    Gc::new(Big {
        payload: [fill; 80],
        links: RefCell::new(Vec::new()),
        small: RefCell::new(None),
        resurrect: Cell::new(false),
        _tally: DropTally(&BIG_DROPS),
    })
}

fn big_link(from: &Gc<Big>, to: &Gc<Big>) {
    from.links.borrow_mut().push(to.clone());
}

#[test]
fn test_large_objects_in_generations_and_cycles() {
    run(|| {
        assert_eq!(gengc::memory_report().large_objects, 0);
        // Garbage: a large 2-cycle, a large <-> small cycle, a small 2-cycle.
        let (a, b) = (big(1), big(2));
        big_link(&a, &b);
        big_link(&b, &a);
        let c = big(3);
        let s = node(10);
        *c.small.borrow_mut() = Some(s.clone());
        drop(s);
        drop((a, b));
        two_cycle_garbage(20);
        // A live large object pointing at a live small one, and back.
        let live = big(4);
        let small = node(30);
        *live.small.borrow_mut() = Some(small.clone());
        let back = Gc::new(vec![live.clone()]);
        // The large-small cycle: the small node needs an edge to c.
        let c_holder = Gc::new(vec![c.clone()]);
        let s2 = node(11);
        *c.small.borrow_mut() = Some(s2.clone()); // replaces (and frees) node 10
        assert_eq!(node_drops(), 1);
        drop(s2);
        drop(c);
        assert_eq!(gengc::memory_report().large_objects, 4);
        // a, b, c, live (large); nodes 20, 21, 30, 11; back, c_holder.
        assert_eq!(gc::generation_sizes(), (10, 0, 0));
        assert_eq!(gc::generation(&live), Some(0));
        // c is held by c_holder: only the large 2-cycle and the small
        // 2-cycle are garbage.
        assert_eq!(gc::collect_generation(0), 4);
        assert_eq!(read(&BIG_DROPS), 2);
        assert_eq!(read(&BIG_FINALIZES), 2);
        assert_eq!(node_drops(), 3);
        assert_eq!(gengc::memory_report().large_objects, 2);
        assert_eq!(gc::generation(&live), Some(1));
        assert_eq!(gc::generation_sizes(), (0, 6, 0));
        assert!(gc::objects(Some(1)).iter().any(|o| o.ptr_eq(&live)));
        assert!(gc::referrers(&live).iter().any(|o| o.ptr_eq(&back)));
        let r = gc::referents(&live);
        assert_eq!(r.len(), 1);
        assert!(r[0].ptr_eq(&small));
        drop(r);
        gc::freeze();
        assert_eq!(gc::generation(&live), Some(3));
        gc::unfreeze();
        assert_eq!(gc::generation(&live), Some(2));
        assert_eq!(live.payload[79], 4);
        // Now make c (large) garbage in a cycle with itself.
        let c = c_holder[0].clone();
        big_link(&c, &c);
        drop(c);
        drop(c_holder);
        assert_eq!(gc::collect(), 2); // c and its small node 11
        assert_eq!(read(&BIG_DROPS), 3);
        assert_eq!(node_drops(), 4);
        drop((live, back, small));
        assert_eq!(read(&BIG_DROPS), 4);
        assert_eq!(gengc::memory_report().large_objects, 0);
        assert_eq!(total_tracked(), 0);
    });
}

#[test]
fn test_large_object_resurrection() {
    run(|| {
        let l = big(7);
        l.resurrect.set(true);
        big_link(&l, &l);
        let w = Gc::downgrade(&l);
        drop(l);
        assert_eq!(gc::collect(), 0);
        assert_eq!(read(&BIG_FINALIZES), 1);
        assert_eq!(read(&BIG_DROPS), 0);
        let l = BIG_STORAGE
            .with(|s| s.borrow_mut().pop())
            .expect("resurrected");
        assert_eq!(l.payload[0], 7);
        assert_eq!(gc::generation(&l), Some(2));
        assert!(w.upgrade().is_none());
        drop(l);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&BIG_FINALIZES), 1);
        assert_eq!(read(&BIG_DROPS), 1);
        // The Weak still holds the allocation (not the value).
        assert_eq!(gengc::memory_report().large_objects, 1);
        drop(w);
        assert_eq!(gengc::memory_report().large_objects, 0);
    });
}

#[derive(Trace)]
struct Hider {
    #[gc(skip)]
    hidden: Gc<Node>,
}

/// A `#[gc(skip)]` field is an edge the collector cannot see: its target
/// looks referenced from outside and survives (a leak, never a premature
/// free) until the holder lets go.
#[test]
fn test_skipped_field_keeps_target_alive() {
    run(|| {
        let r = ring(0, 3);
        let h = Gc::new(Hider {
            hidden: r[0].clone(),
        });
        assert!(!gc::is_tracked(&h));
        drop(r);
        assert_eq!(gc::collect(), 0);
        assert_eq!(node_drops(), 0);
        assert_eq!(h.hidden.links.borrow()[0].id, 1);
        drop(h);
        assert_eq!(gc::collect(), 3);
        assert_eq!(node_drops(), 3);
    });
}

thread_local! {
    static WATCHED: RefCell<Vec<(&'static str, usize, bool)>> = const { RefCell::new(Vec::new()) };
    static CARRIER2_DROPS: Cell<usize> = const { Cell::new(0) };
}

/// Untracked (a `Weak` is not an edge) but finalizable.
#[derive(Trace)]
#[gc(finalize)]
struct LeafWatcher {
    target: Weak<Node>,
}

impl Finalize for LeafWatcher {
    fn finalize(&self) {
        let seen = (
            "finalize",
            self.target.upgrade().map_or(usize::MAX, |n| n.id),
            self.target.upgrade().is_some(),
        );
        let _ = WATCHED.try_with(|w| w.borrow_mut().push(seen));
    }
}

/// A destructor that looks through a `Weak`.
struct WeakDrop(Weak<Node>);

impl Drop for WeakDrop {
    fn drop(&mut self) {
        let seen = (
            "drop",
            self.0.upgrade().map_or(usize::MAX, |n| n.id),
            self.0.upgrade().is_some(),
        );
        let _ = WATCHED.try_with(|w| w.borrow_mut().push(seen));
    }
}

#[derive(Trace)]
struct Carrier2 {
    next: RefCell<Option<Gc<Carrier2>>>,
    watcher: Gc<LeafWatcher>,
    #[gc(skip)]
    _weak_drop: WeakDrop,
    #[gc(skip)]
    _tally: DropTally,
}

/// User code that runs while garbage is being dropped (an untracked
/// finalizer dying by reference counting, a destructor) cannot reach the
/// garbage through a `Weak`, even a garbage object whose value is already
/// dropped; live objects stay reachable.
#[test]
fn test_user_code_during_teardown_cannot_reach_garbage_through_weak() {
    run(|| {
        let doomed = node(1);
        link(&doomed, &doomed);
        let live = node(2);
        let make = |target: &Gc<Node>| {
            Gc::new(Carrier2 {
                next: RefCell::new(None),
                watcher: Gc::new(LeafWatcher {
                    target: Gc::downgrade(target),
                }),
                _weak_drop: WeakDrop(Gc::downgrade(target)),
                _tally: DropTally(&CARRIER2_DROPS),
            })
        };
        let c1 = make(&doomed);
        let c2 = make(&live);
        assert!(!gc::is_tracked(&c1.watcher));
        *c1.next.borrow_mut() = Some(c2.clone());
        *c2.next.borrow_mut() = Some(c1.clone());
        drop((c1, c2, doomed));
        assert_eq!(gc::collect(), 3);
        let mut seen = WATCHED.with(|w| w.borrow().clone());
        seen.sort();
        assert_eq!(
            seen,
            vec![
                ("drop", 2, true),
                ("drop", usize::MAX, false),
                ("finalize", 2, true),
                ("finalize", usize::MAX, false),
            ]
        );
        assert_eq!(read(&CARRIER2_DROPS), 2);
        assert_eq!(node_drops(), 1);
        assert_eq!(live.id, 2);
    });
}

/// A garbage doubly linked list with `Weak`s to half its nodes: each value
/// is dropped exactly once, a block stays allocated exactly as long as a
/// `Weak` points to it, and no `Weak` upgrades.
#[test]
fn test_teardown_keeps_the_blocks_weaks_point_to() {
    run(|| {
        const N: usize = 1000;
        let nodes: Vec<_> = (0..N).map(node).collect();
        for pair in nodes.windows(2) {
            link(&pair[0], &pair[1]);
            link(&pair[1], &pair[0]);
        }
        let weaks: Vec<Weak<Node>> = nodes.iter().step_by(2).map(Gc::downgrade).collect();
        drop(nodes);
        assert_eq!(gengc::memory_report().used_blocks(), N);
        assert_eq!(gc::collect(), N);
        assert_eq!(node_drops(), N);
        // Only the blocks a `Weak` still points to are left.
        assert_eq!(gengc::memory_report().used_blocks(), N / 2);
        for w in &weaks {
            assert!(w.upgrade().is_none());
            assert_eq!((w.strong_count(), w.weak_count()), (0, 0));
        }
        drop(weaks);
        assert_eq!(gengc::memory_report().used_blocks(), 0);
        assert_eq!(node_drops(), N);
    });
}

/// Callbacks may add and remove callbacks while a collection runs; each
/// phase calls the callbacks registered when that phase starts.
#[test]
fn test_callbacks_added_and_removed_during_collection() {
    run(|| {
        let log = Log::default();
        let own_id = Rc::new(Cell::new(None));
        let (l, o) = (log.clone(), own_id.clone());
        let id = gc::add_callback(move |phase, info| {
            l.borrow_mut()
                .push((1, phase, info.generation, info.collected, 0));
            if phase == Start {
                assert!(gc::remove_callback(o.get().expect("id set")));
                gc::add_callback(recorder(3, &l));
            }
        });
        own_id.set(Some(id));
        gc::add_callback(recorder(2, &log));
        self_cycle_garbage(0);
        assert_eq!(gc::collect(), 1);
        assert_eq!(
            *log.borrow(),
            vec![
                (1, Start, 2, 0, 0),
                (2, Start, 2, 0, 0),
                (2, Stop, 2, 1, 0),
                (3, Stop, 2, 1, 0),
            ]
        );
        log.borrow_mut().clear();
        gc::collect_generation(0);
        assert_eq!(
            *log.borrow(),
            vec![
                (2, Start, 0, 0, 0),
                (3, Start, 0, 0, 0),
                (2, Stop, 0, 0, 0),
                (3, Stop, 0, 0, 0),
            ]
        );
    });
}

#[derive(Trace)]
struct Cyclic {
    me: Weak<Cyclic>,
    links: RefCell<Vec<Gc<Node>>>,
}

/// Automatic collections triggered inside `new_cyclic`'s constructor never
/// see the half-built object.
#[test]
fn test_new_cyclic_with_collections_inside_the_constructor() {
    run(|| {
        gc::set_threshold(1, 1, 1);
        let before = gc::stats()[0].collections;
        let x = Gc::new_cyclic(|w: &Weak<Cyclic>| {
            for i in 0..50 {
                self_cycle_garbage(i);
            }
            assert!(w.upgrade().is_none());
            Cyclic {
                me: w.clone(),
                links: RefCell::new(vec![node(100)]),
            }
        });
        assert!(gc::stats()[0].collections > before);
        assert!(Gc::ptr_eq(&x.me.upgrade().unwrap(), &x));
        assert_eq!(gc::generation(&x), Some(0));
        while gc::collect() > 0 {}
        assert_eq!(node_drops(), 50);
        assert_eq!(x.links.borrow()[0].id, 100);
        assert!(x.me.upgrade().is_some());
        drop(x);
        assert_eq!(node_drops(), 51);
        assert_eq!(total_tracked(), 0);
    });
}

thread_local! {
    static LINKER_FINALIZES: Cell<usize> = const { Cell::new(0) };
    static LINKER_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Linker {
    peer: RefCell<Option<Gc<Linker>>>,
    fresh: RefCell<Option<Gc<Fresh>>>,
    make_fresh: bool,
    #[gc(skip)]
    _tally: DropTally,
}

#[derive(Trace)]
struct Fresh {
    back: Option<Gc<Linker>>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for Linker {
    fn finalize(&self) {
        bump(&LINKER_FINALIZES);
        if self.make_fresh {
            // A new object, referenced only from garbage, pointing into it.
            let fresh = Gc::new(Fresh {
                back: self.peer.borrow().clone(),
                _tally: DropTally(&LINKER_DROPS),
            });
            *self.fresh.borrow_mut() = Some(fresh);
        }
    }
}

/// A finalizer weaves a new object into the garbage (l1 -> fresh -> l2):
/// the new object's reference counts as outside, so the garbage survives
/// this collection (conservatively), and the next one frees all three
/// without finalizing anything twice.
#[test]
fn test_finalizer_links_garbage_to_a_new_object() {
    run(|| {
        let make = |make_fresh| {
            Gc::new(Linker {
                peer: RefCell::new(None),
                fresh: RefCell::new(None),
                make_fresh,
                _tally: DropTally(&LINKER_DROPS),
            })
        };
        let l1 = make(true);
        let l2 = make(false);
        *l1.peer.borrow_mut() = Some(l2.clone());
        *l2.peer.borrow_mut() = Some(l1.clone());
        drop((l1, l2));
        assert_eq!(gc::collect(), 0);
        assert_eq!(read(&LINKER_FINALIZES), 2);
        assert_eq!(read(&LINKER_DROPS), 0);
        assert_eq!(gc::generation_sizes(), (1, 0, 2));
        assert_eq!(gc::collect(), 3);
        assert_eq!(read(&LINKER_FINALIZES), 2);
        assert_eq!(read(&LINKER_DROPS), 3);
        assert_eq!(total_tracked(), 0);
    });
}

#[test]
fn test_debug_stats_flag() {
    run(|| {
        gc::set_debug(DebugFlags::STATS | DebugFlags::SAVE_ALL);
        assert!(gc::debug().contains(DebugFlags::STATS));
        gc::set_debug(DebugFlags::STATS);
        two_cycle_garbage(0);
        assert_eq!(gc::collect_generation(0), 2);
        assert_eq!(gc::collect(), 0);
        gc::set_debug(DebugFlags::empty());
        assert!(gc::debug().is_empty());
        assert_eq!(node_drops(), 2);
    });
}

/// Only `Gc::new` of a tracked type runs automatic collections: untracked
/// allocations and deallocations never do.
#[test]
fn test_untracked_allocations_never_trigger_collection() {
    run(|| {
        gc::set_threshold(1, 1, 1);
        self_cycle_garbage(0);
        self_cycle_garbage(1);
        assert_eq!(gc::count(), (2, 0, 0));
        let leaves: Vec<Gc<u64>> = (0..10_000).map(Gc::new).collect();
        let strings: Vec<Gc<String>> = (0..1_000).map(|i| Gc::new(i.to_string())).collect();
        drop((leaves, strings));
        assert_eq!(gc::stats()[0].collections, 0);
        assert_eq!(node_drops(), 0);
        // The next tracked allocation does.
        self_cycle_garbage(2);
        assert_eq!(gc::stats()[0].collections, 1);
        assert_eq!(node_drops(), 2);
    });
}

/// Resurrected objects go to the old generation, even from a young
/// collection (survivors of that collection go to the middle one).
#[test]
fn test_resurrection_in_young_collection_goes_to_old_generation() {
    run(|| {
        let keep = node(0);
        drop(lazarus());
        assert_eq!(gc::collect_generation(0), 0);
        let laz = take_lazarus().pop().expect("resurrected");
        assert_eq!(gc::generation(&laz), Some(2));
        assert_eq!(gc::generation(&keep), Some(1));
        assert_eq!(gc::generation_sizes(), (0, 1, 1));
        drop(laz);
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(gc::collect(), 1);
        assert_eq!(read(&LAZ_FINALIZES), 1);
        assert_eq!(read(&LAZ_DROPS), 1);
    });
}

// ---------------------------------------------------------------------------
// Failing: library bugs (see the report)
// ---------------------------------------------------------------------------

thread_local! {
    static ACYCLIC_BOMB_DROPS: Cell<usize> = const { Cell::new(0) };
}

#[derive(Trace)]
#[gc(finalize)]
struct AcyclicBomb {
    inner: Gc<String>,
    #[gc(skip)]
    _tally: DropTally,
}

impl Finalize for AcyclicBomb {
    fn finalize(&self) {
        panic!("refcount finalizer boom");
    }
}

/// A finalizer that panics when its object dies by reference counting: the
/// panic propagates out of the `drop`, but the value must still be dropped
/// exactly once (as the collector does for a panicking finalizer, and as
/// Rust drops the remaining fields after a panicking `Drop`). Otherwise
/// everything the value owns leaks, including its `Gc` edges, whose
/// targets then stay referenced forever.
#[test]
fn test_panic_in_finalizer_during_refcount_death_still_drops_value() {
    run(|| {
        let leaf = Gc::new(String::from("owned by the bomb"));
        let bomb = Gc::new(AcyclicBomb {
            inner: leaf.clone(),
            _tally: DropTally(&ACYCLIC_BOMB_DROPS),
        });
        assert_eq!(Gc::strong_count(&leaf), 2);
        let err = catch_unwind(AssertUnwindSafe(move || drop(bomb))).unwrap_err();
        assert_eq!(panic_message(&*err), "refcount finalizer boom");
        assert_eq!(read(&ACYCLIC_BOMB_DROPS), 1, "the value was never dropped");
        assert_eq!(Gc::strong_count(&leaf), 1, "the value's Gc field leaked");
    });
}

/// `collect_at_exit` says "Objects kept by SAVE_ALL are released so they
/// can be freed", but they are cyclic garbage: releasing the list frees
/// nothing, and no collection follows. With SAVE_ALL set when the thread
/// exits, the garbage is never finalized nor dropped.
#[test]
fn test_save_all_garbage_is_freed_at_thread_exit() {
    let finalized = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let (f, d) = (finalized.clone(), dropped.clone());
    run(move || {
        let a = Gc::new(Exiting {
            peer: RefCell::new(None),
            finalized: f,
            _drops: ArcTally(d),
        });
        *a.peer.borrow_mut() = Some(a.clone());
        drop(a);
        gc::set_debug(DebugFlags::SAVE_ALL);
        assert_eq!(gc::collect(), 1);
        assert_eq!(gc::garbage().len(), 1);
    });
    assert_eq!(finalized.load(Ordering::SeqCst), 1);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

/// `Gc::get_mut` promises the only handle: while its `&mut` is live no
/// other `Gc` may reach the value. `gc::objects()` hands out a strong
/// `AnyGc` to the lent object anyway, and `AnyGc::downcast` turns it into
/// a `Gc<Node>` whose `Deref` would alias the live `&mut` (undefined
/// behaviour in safe code; not performed here). `gc::referrers` already
/// skips objects that may be lent; `gc::objects` must too.
#[test]
fn test_objects_does_not_hand_out_an_object_lent_by_get_mut() {
    run(|| {
        let mut x = node(0);
        let m: &mut Node = Gc::get_mut(&mut x).unwrap();
        let listed = gc::objects(None);
        let handles_to_x = listed
            .iter()
            .filter(|o| o.type_name() == std::any::type_name::<Node>())
            .count();
        m.id = 1; // the &mut is still in use after the call
        assert_eq!(
            handles_to_x, 0,
            "gc::objects() returned a strong handle to a value lent by Gc::get_mut"
        );
        drop(listed);
        assert_eq!(x.id, 1);
    });
}
