//! Objects whose edges are fixed (`Trace::has_fixed_edges`) leave the
//! generations once a collection finds everything they reference untracked,
//! as CPython untracks such tuples (`_PyTuple_MaybeUntrack`); `Gc::get_mut`
//! tracks them again.

mod common;

use common::{node, run, DropCount, Node};
use gengc::{gc, memory_report, Finalize, Gc, Trace, Tracer, Weak};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

/// An immutable binary tree node (no attribute: its edges are fixed).
#[derive(Trace)]
struct Tree {
    left: Option<Gc<Tree>>,
    right: Option<Gc<Tree>>,
    _drops: DropCount,
}

/// A new object in the young generation, even if it could be born settled:
/// `Gc::get_mut` tracks it again (and the clone ends the lend), so the
/// tests that use it exercise settling by a collection. They assert the
/// generation sizes before it.
fn young<T: Trace + 'static>(value: T) -> Gc<T> {
    let mut gc = Gc::new(value);
    Gc::get_mut(&mut gc).expect("a new object is unique");
    gc.clone()
}

/// Builds in post-order (children are allocated before their parent), each
/// node made by `make`.
fn tree_with(depth: u32, drops: &Rc<Cell<usize>>, make: fn(Tree) -> Gc<Tree>) -> Gc<Tree> {
    let child = || (depth > 1).then(|| tree_with(depth - 1, drops, make));
    make(Tree {
        left: child(),
        right: child(),
        _drops: DropCount(drops.clone()),
    })
}

/// A tree whose every node is born young.
fn tree(depth: u32, drops: &Rc<Cell<usize>>) -> Gc<Tree> {
    tree_with(depth, drops, young)
}

/// The same tree through `Gc::new`: every node is born settled.
fn tree_born_settled(depth: u32, drops: &Rc<Cell<usize>>) -> Gc<Tree> {
    tree_with(depth, drops, Gc::new)
}

/// Fixed edges to a node that is not itself fixed.
#[derive(Trace)]
struct Holder {
    node: Gc<Node>,
}

fn tracked_total() -> usize {
    let (young, middle, old) = gc::generation_sizes();
    young + middle + old
}

#[test]
fn the_derive_and_the_std_impls_answer_from_the_field_types() {
    #[derive(Trace)]
    struct Counters {
        hits: Cell<u64>,
        log: RefCell<Vec<String>>,
        tree: Gc<Tree>,
    }
    #[derive(Trace)]
    struct Late {
        cell: OnceCell<Gc<Tree>>,
    }
    #[derive(Trace)]
    struct Boxed {
        tree: Box<Tree>,
    }
    #[derive(Trace)]
    struct Wrap<T> {
        value: T,
    }
    #[derive(Trace)]
    struct Skipped {
        #[gc(skip)]
        _hidden: RefCell<Option<Gc<Node>>>,
        tree: Gc<Tree>,
    }
    #[derive(Trace)]
    #[allow(dead_code)]
    enum Shape {
        Leaf,
        Pair(Gc<Tree>, Gc<Node>),
        Mutable { cell: RefCell<Option<Gc<Tree>>> },
    }
    fn sized<T: Trace>() -> bool {
        T::has_fixed_edges()
    }

    assert!(sized::<Tree>());
    assert!(!sized::<Node>());
    assert!(sized::<Holder>(), "a Gc to a mutable node is itself fixed");
    assert!(
        sized::<Counters>(),
        "cells around leaf values do not matter"
    );
    assert!(
        !sized::<Late>(),
        "a OnceCell can be set after the object is shared"
    );
    assert!(!sized::<Boxed>(), "Box<T> cannot ask an unsized T");
    assert!(sized::<Wrap<Gc<Node>>>());
    assert!(!sized::<Wrap<RefCell<Option<Gc<Node>>>>>());
    assert!(sized::<Skipped>(), "a skipped field is never traced");
    assert!(!sized::<Shape>(), "one mutable variant is enough");
    assert!(sized::<Vec<Gc<Node>>>());
    assert!(sized::<HashMap<u32, Gc<Node>>>());
    assert!(sized::<Option<(Gc<Node>, Weak<Node>)>>());
    assert!(!sized::<(Gc<Node>, RefCell<Option<Gc<Node>>>)>());
    assert!(sized::<RefCell<Vec<u8>>>());
    assert!(!sized::<Cell<Option<Gc<Tree>>>>());
    assert!(sized::<u64>() && sized::<String>());
}

#[test]
fn an_immutable_tree_built_bottom_up_settles_in_one_young_collection() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let t = tree(10, &drops); // 1,023 nodes
        assert_eq!(gc::generation_sizes(), (1_023, 0, 0));
        assert!(gc::is_tracked(&t));
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert!(!gc::is_tracked(&t));
        assert!(!gc::is_tracked(t.left.as_ref().unwrap()));
        // Later collections have nothing to read.
        assert_eq!(gengc::collect(), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(drops.get(), 0);
        drop(t);
        assert_eq!(drops.get(), 1_023);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn gc_new_settles_an_immutable_tree_at_birth_so_no_collection_runs() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        // Automatic collection on: 65,535 tracked births would run 32 young
        // collections (see the test with `young` below). Miri: 4,095.
        let depth = if cfg!(miri) { 12 } else { 16 };
        let nodes = (1 << depth) - 1;
        let t = tree_born_settled(depth, &drops);
        assert_eq!(gc::stats()[0].collections, 0);
        assert_eq!(gc::count(), (0, 0, 0));
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert!(!gc::is_tracked(&t));
        // A parent of a young child is born tracked, and settles when its
        // child has.
        let young_leaf = tree(1, &drops);
        let parent = Gc::new(Tree {
            left: Some(young_leaf),
            right: Some(t),
            _drops: DropCount(drops.clone()),
        });
        assert_eq!(gc::generation_sizes(), (2, 0, 0));
        gc::collect_generation(0);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        // A large object is born settled too: on no large-object list.
        let big = Gc::new(Fixed::<80> {
            to: None,
            _pad: [0; 80],
            _drops: DropCount(drops.clone()),
        });
        assert!(!gc::is_tracked(&big));
        assert_eq!(memory_report().large_objects, 1);
        drop((parent, big));
        assert_eq!(drops.get(), nodes + 2 + 1);
        assert_eq!(gc::count().0, 0, "no tracked birth or death since");
        assert_eq!(memory_report().used_blocks(), 0);
        assert_eq!(memory_report().large_objects, 0);
    });
}

#[test]
fn new_cyclic_and_from_box_settle_at_birth_too() {
    #[derive(Trace)]
    struct Parent {
        me: Weak<Parent>,
        kids: Vec<Gc<Tree>>,
    }
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let boxed: Gc<Tree> = Gc::from(Box::new(Tree {
            left: None,
            right: None,
            _drops: DropCount(drops.clone()),
        }));
        assert!(!gc::is_tracked(&boxed));
        // A `Weak` to itself is no edge: a parent-pointer tree built with
        // `new_cyclic` is born settled as well.
        let parent = Gc::new_cyclic(|me| Parent {
            me: me.clone(),
            kids: vec![boxed.clone()],
        });
        assert!(!gc::is_tracked(&parent));
        assert!(Gc::ptr_eq(&parent.me.upgrade().unwrap(), &parent));
        // With a tracked child, both start young.
        let tracked_kid = young(Tree {
            left: None,
            right: None,
            _drops: DropCount(drops.clone()),
        });
        let boxed_parent: Gc<Tree> = Gc::from(Box::new(Tree {
            left: Some(tracked_kid.clone()),
            right: None,
            _drops: DropCount(drops.clone()),
        }));
        let cyclic_parent = Gc::new_cyclic(|me| Parent {
            me: me.clone(),
            kids: vec![tracked_kid],
        });
        assert_eq!(gc::generation_sizes(), (3, 0, 0));
        assert_eq!(gc::count().0, 3);
        gc::collect_generation(0);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        drop((boxed, parent, boxed_parent, cyclic_parent));
        assert_eq!(drops.get(), 3);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_panic_in_trace_at_birth_leaves_gc_new_with_nothing_allocated() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let leaf = tree_born_settled(1, &drops);
        let blocks = memory_report().used_blocks();
        panic_at_next_trace_call();
        let caught = catch_unwind(AssertUnwindSafe(|| Gc::new(Touchy { tree: leaf.clone() })));
        disarm_trace_panic();
        let message = caught.err().expect("Gc::new traced and panicked");
        assert_eq!(message.downcast_ref::<String>().unwrap(), "trace call 1");
        // The value was dropped (its clone of the leaf released), and no
        // block was taken.
        assert_eq!(Gc::strong_count(&leaf), 1);
        assert_eq!(memory_report().used_blocks(), blocks);
        assert_eq!(gc::count(), (0, 0, 0));
        // Without the panic, the same value is born settled.
        let touchy = Gc::new(Touchy { tree: leaf.clone() });
        assert!(!gc::is_tracked(&touchy));
        drop((leaf, touchy));
        assert_eq!(drops.get(), 1);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn objects_born_during_a_collection_start_young() {
    thread_local!(static BORN: RefCell<Vec<Gc<Tree>>> = const { RefCell::new(Vec::new()) });
    #[derive(Trace)]
    #[gc(finalize)]
    struct Maker {
        me: RefCell<Option<Gc<Maker>>>,
        drops: DropCount,
    }
    impl Finalize for Maker {
        fn finalize(&self) {
            // Could be born settled outside a collection.
            let t = Gc::new(Tree {
                left: None,
                right: None,
                _drops: DropCount(self.drops.0.clone()),
            });
            BORN.with(|b| b.borrow_mut().push(t));
        }
    }
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let m = Gc::new(Maker {
            me: RefCell::new(None),
            drops: DropCount(drops.clone()),
        });
        *m.me.borrow_mut() = Some(m.clone());
        drop(m);
        assert_eq!(gengc::collect(), 1);
        let born = BORN.with(|b| b.borrow()[0].clone());
        assert_eq!(gc::generation(&born), Some(0));
        gc::collect_generation(0);
        assert!(!gc::is_tracked(&born));
        BORN.with(|b| b.borrow_mut().clear());
        drop(born);
        assert_eq!(drops.get(), 2);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn an_object_that_references_a_tracked_object_stays_tracked() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let n = node(&drops);
        let holder = Gc::new(Holder { node: n.clone() });
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(gc::generation(&holder), Some(1));
        assert_eq!(gengc::collect(), 0);
        assert_eq!(gc::generation(&holder), Some(2));
        // A frozen target is tracked too (unfreezing returns it to the old
        // generation, where a cycle through it must still be found).
        gc::freeze();
        let frozen_holder = Gc::new(Holder { node: n.clone() });
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(gc::generation(&frozen_holder), Some(1));
        gc::unfreeze();
        drop((n, holder, frozen_holder));
        assert_eq!(drops.get(), 1);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn old_objects_are_not_tried_again() {
    #[derive(Trace)]
    struct Pair {
        tree: Gc<Tree>,
    }
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let t = tree(1, &drops);
        gc::freeze(); // a frozen target counts as tracked
        let pair = Gc::new(Pair { tree: t.clone() });
        gc::collect_generation(0);
        gc::collect_generation(1);
        assert_eq!(gc::generation(&pair), Some(2));
        gc::unfreeze();
        assert_eq!(gc::generation(&t), Some(2));
        // Both could settle now, but old objects are not tried: a fixed
        // object that reached the old generation tracked is not traced a
        // second time in every full collection.
        assert_eq!(gengc::collect(), 0);
        assert_eq!(gc::generation(&t), Some(2));
        assert_eq!(gc::generation(&pair), Some(2));
        drop((t, pair));
        assert_eq!(drops.get(), 1);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_cycle_through_a_fixed_object_that_points_at_a_tracked_one_is_collected() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let slot = Gc::new(Slot {
            fixed: RefCell::new(None),
            _drops: DropCount(drops.clone()),
        });
        let x = Gc::new(Fixed {
            to: Some(slot.clone()),
            _pad: [0],
            _drops: DropCount(drops.clone()),
        });
        *slot.fixed.borrow_mut() = Some(x.clone());
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(gc::generation(&x), Some(1), "its target is tracked");
        drop((slot, x));
        assert_eq!(gengc::collect(), 2);
        assert_eq!(drops.get(), 2);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_parent_settles_at_the_collection_after_its_last_tracked_child_settles() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        // A parent allocated *before* its children's final shape: the child
        // list is a vector of holders of fixed trees, settled one
        // collection after the trees (the vector sits in a block of its
        // own type, visited after the trees' pool or before it).
        let leaves: Vec<Gc<Tree>> = (0..3).map(|_| tree(1, &drops)).collect();
        let parent = Gc::new(leaves.clone());
        assert_eq!(gc::generation_sizes(), (4, 0, 0));
        gc::collect_generation(0);
        // Whichever pool was visited first, at most the parent is left.
        let left = tracked_total();
        assert!(left <= 1, "{left} objects still tracked");
        gc::collect_generation(1);
        assert_eq!(tracked_total(), 0);
        assert!(!gc::is_tracked(&parent));
        drop((leaves, parent));
        assert_eq!(drops.get(), 3);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

/// Fixed edges, pointing at a mutable holder; `N` words of padding (80:
/// a large object, allocated alone).
#[derive(Trace)]
struct Fixed<const N: usize = 1> {
    to: Option<Gc<Slot<N>>>,
    _pad: [u64; N],
    _drops: DropCount,
}

/// A mutable holder of a `Fixed`.
#[derive(Trace)]
struct Slot<const N: usize = 1> {
    fixed: RefCell<Option<Gc<Fixed<N>>>>,
    _drops: DropCount,
}

fn get_mut_closes_a_cycle_through_a_settled_object<const N: usize>() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let x = Gc::new(Fixed::<N> {
            to: None,
            _pad: [0; N],
            _drops: DropCount(drops.clone()),
        });
        gc::collect_generation(0);
        assert!(!gc::is_tracked(&x), "nothing tracked behind it: settled");
        let slot = Gc::new(Slot {
            fixed: RefCell::new(Some(x)),
            _drops: DropCount(drops.clone()),
        });
        {
            let mut cell = slot.fixed.borrow_mut();
            let x = cell.as_mut().unwrap();
            Gc::get_mut(x).unwrap().to = Some(slot.clone());
            assert!(gc::is_tracked(x), "lent out: back in the young generation");
            assert_eq!(gc::generation(x), Some(0));
        }
        assert_eq!(gc::generation_sizes(), (2, 0, 0));
        drop(slot);
        // slot -> x -> slot: without the re-tracking, x's edge would count as
        // a reference from outside and the pair would leak.
        assert_eq!(gengc::collect(), 2);
        assert_eq!(drops.get(), 2);
        assert_eq!(memory_report().used_blocks(), 0);
        assert_eq!(memory_report().large_objects, 0);
    });
}

#[test]
fn get_mut_tracks_a_settled_object_again_so_a_cycle_it_closes_is_collected() {
    get_mut_closes_a_cycle_through_a_settled_object::<1>();
}

#[test]
fn get_mut_tracks_a_settled_large_object_again() {
    assert!(std::mem::size_of::<Fixed<80>>() > 512);
    get_mut_closes_a_cycle_through_a_settled_object::<80>();
}

#[test]
fn make_mut_tracks_a_settled_object_again() {
    #[derive(Trace, Clone)]
    struct FixedClone {
        to: Option<Gc<SlotClone>>,
    }
    #[derive(Trace)]
    struct SlotClone {
        fixed: RefCell<Option<Gc<FixedClone>>>,
    }
    run(|| {
        gc::disable();
        let x = Gc::new(FixedClone { to: None });
        gc::collect_generation(0);
        assert!(!gc::is_tracked(&x));
        let slot = Gc::new(SlotClone {
            fixed: RefCell::new(Some(x)),
        });
        {
            let mut cell = slot.fixed.borrow_mut();
            let x = cell.as_mut().unwrap();
            // Unique: no copy, the settled object itself is lent out.
            let before = Gc::as_ptr(x);
            Gc::make_mut(x).to = Some(slot.clone());
            assert_eq!(Gc::as_ptr(x), before);
            assert!(gc::is_tracked(x));
        }
        drop(slot);
        assert_eq!(gengc::collect(), 2);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_settled_object_is_finalized_once_when_its_count_falls_to_zero() {
    thread_local!(static FINALIZED: Cell<usize> = const { Cell::new(0) });
    #[derive(Trace)]
    #[gc(finalize)]
    struct Closing {
        tree: Gc<Tree>,
    }
    impl Finalize for Closing {
        fn finalize(&self) {
            // The tree it owns is intact.
            assert!(self.tree.left.is_some());
            FINALIZED.with(|f| f.set(f.get() + 1));
        }
    }
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let c = Gc::new(Closing {
            tree: tree(3, &drops),
        });
        gc::collect_generation(0);
        assert_eq!(tracked_total(), 0);
        assert!(!gc::is_tracked(&c));
        drop(c);
        assert_eq!(FINALIZED.with(Cell::get), 1);
        assert_eq!(drops.get(), 7);
        assert_eq!(gengc::collect(), 0);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_lent_object_is_not_settled() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let mut t = tree(1, &drops);
        // `get_mut` leaves the lent marker until another handle is made; the
        // collector must not read the value meanwhile.
        let _ = Gc::get_mut(&mut t).unwrap();
        gc::collect_generation(0);
        assert_eq!(gc::generation(&t), Some(1));
        let t2 = t.clone(); // the borrow is over
        gc::collect_generation(1);
        assert!(!gc::is_tracked(&t2));
        drop((t, t2));
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn a_million_long_immutable_list_settles_and_drops_without_recursion() {
    #[derive(Trace)]
    struct Cons {
        _head: u32,
        tail: Option<Gc<Cons>>,
    }
    run(|| {
        gc::disable();
        let mut list = None;
        for i in 0..1_000_000 {
            list = Some(young(Cons {
                _head: i,
                tail: list,
            }));
        }
        let list = list.unwrap();
        assert_eq!(gc::generation_sizes(), (1_000_000, 0, 0));
        assert_eq!(gc::collect_generation(0), 0);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert!(list.tail.is_some());
        drop(list);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn automatic_collections_leave_a_growing_immutable_tree_out_of_the_old_generation() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let t = tree(16, &drops); // 65,535 nodes, 32 young collections
        let stats = gc::stats();
        assert!(stats[0].collections >= 30, "{:?}", stats[0]);
        // At most the objects allocated since the last young collection
        // (fewer than the threshold) are still tracked.
        assert!(tracked_total() <= 2_000, "{} tracked", tracked_total());
        assert_eq!(
            gc::generation_sizes().2,
            0,
            "nothing reached the old generation"
        );
        drop(t);
        assert_eq!(drops.get(), 65_535);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

/// A hand-written impl that claims fixed edges and panics on one chosen
/// trace call.
struct Touchy {
    tree: Gc<Tree>,
}

thread_local! {
    static TRACE_CALLS: Cell<usize> = const { Cell::new(0) };
    static PANIC_AT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Counts a call of a hand-written `trace` (`Touchy`, `Bomb`) and panics
/// if it is the one `PANIC_AT` names.
fn count_trace_call() {
    let n = TRACE_CALLS.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    if n == PANIC_AT.with(Cell::get) {
        panic!("trace call {n}");
    }
}

/// Arms a panic on the next counted trace call (counting from 0).
fn panic_at_next_trace_call() {
    TRACE_CALLS.with(|c| c.set(0));
    PANIC_AT.with(|p| p.set(1));
}

fn disarm_trace_panic() {
    PANIC_AT.with(|p| p.set(usize::MAX));
}

// SAFETY: visits its one Gc once per call (the panic comes before it).
unsafe impl Trace for Touchy {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        count_trace_call();
        self.tree.trace(tracer);
    }
    fn has_fixed_edges() -> bool {
        true
    }
}

#[test]
fn a_panic_while_settling_keeps_the_object_tracked_and_propagates() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let tree = tree(1, &drops);
        let touchy = young(Touchy { tree: tree.clone() });
        drop(tree);
        // Settling runs first in a collection: the leaf (allocated first,
        // so its pool comes first) settles, then tracing `touchy` (call 1)
        // panics. It stays in the set, is counted (call 2) and moves up.
        panic_at_next_trace_call();
        let caught = catch_unwind(AssertUnwindSafe(|| gc::collect_generation(0)));
        let message = caught.unwrap_err();
        assert_eq!(message.downcast_ref::<String>().unwrap(), "trace call 1");
        assert_eq!(TRACE_CALLS.with(Cell::get), 2);
        disarm_trace_panic();
        // The collection finished: the leaf settled, `touchy` moved up.
        assert!(!gc::is_tracked(&touchy.tree));
        assert_eq!(gc::generation(&touchy), Some(1));
        assert_eq!(gc::generation_sizes(), (0, 1, 0));
        // The heap still works: the next collection settles it.
        assert_eq!(gc::collect_generation(1), 0);
        assert!(!gc::is_tracked(&touchy));
        drop(touchy);
        assert_eq!(drops.get(), 1);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

// ---------------------------------------------------------------------------
// Random graphs of fixed and mutable nodes against a reachability oracle
// ---------------------------------------------------------------------------

/// A node whose edges are set at creation, or later only through
/// `Gc::get_mut`.
#[derive(Trace)]
struct FixedNode {
    #[gc(skip)]
    id: usize,
    edges: Vec<Edge>,
    _drop: Dropped,
}

/// A node whose edges change through a `RefCell`.
#[derive(Trace)]
struct MutableNode {
    #[gc(skip)]
    id: usize,
    edges: RefCell<Vec<Edge>>,
    _drop: Dropped,
}

#[derive(Trace, Clone)]
enum Edge {
    Fixed(Gc<FixedNode>),
    Mutable(Gc<MutableNode>),
}

impl Edge {
    fn id(&self) -> usize {
        match self {
            Edge::Fixed(f) => f.id,
            Edge::Mutable(m) => m.id,
        }
    }
}

/// Records its node's death, and fails on a second one.
struct Dropped(usize, Rc<RefCell<Vec<bool>>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        let mut alive = self.1.borrow_mut();
        assert!(alive[self.0], "node {} dropped twice", self.0);
        alive[self.0] = false;
    }
}

// SAFETY: owns no Gc.
unsafe impl Trace for Dropped {
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

enum Handle {
    Fixed(Weak<FixedNode>),
    Mutable(Weak<MutableNode>),
}

struct Episode {
    rng: u64,
    alive: Rc<RefCell<Vec<bool>>>,
    /// The model: every node's edges, by id.
    edges: Vec<Vec<usize>>,
    handles: Vec<Handle>,
    roots: Vec<Edge>,
}

impl Episode {
    fn next(&mut self, n: usize) -> usize {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }

    /// A handle to a random node that has not been freed (it may be
    /// unreachable garbage not collected yet: upgrading revives it).
    fn some_node(&mut self) -> Option<Edge> {
        for _ in 0..8 {
            if self.handles.is_empty() {
                return None;
            }
            let id = self.next(self.handles.len());
            let edge = match &self.handles[id] {
                Handle::Fixed(w) => w.upgrade().map(Edge::Fixed),
                Handle::Mutable(w) => w.upgrade().map(Edge::Mutable),
            };
            if edge.is_some() {
                return edge;
            }
        }
        None
    }

    fn new_id(&mut self) -> (usize, Dropped) {
        let id = self.handles.len();
        self.alive.borrow_mut().push(true);
        self.edges.push(Vec::new());
        (id, Dropped(id, self.alive.clone()))
    }

    fn step(&mut self) {
        match self.next(10) {
            0 | 1 => {
                let k = self.next(3);
                let targets: Vec<Edge> = (0..k).filter_map(|_| self.some_node()).collect();
                let (id, drop) = self.new_id();
                self.edges[id] = targets.iter().map(Edge::id).collect();
                let node = Gc::new(FixedNode {
                    id,
                    edges: targets,
                    _drop: drop,
                });
                self.handles.push(Handle::Fixed(Gc::downgrade(&node)));
                self.roots.push(Edge::Fixed(node));
            }
            2 => {
                let (id, drop) = self.new_id();
                let node = Gc::new(MutableNode {
                    id,
                    edges: RefCell::new(Vec::new()),
                    _drop: drop,
                });
                self.handles.push(Handle::Mutable(Gc::downgrade(&node)));
                self.roots.push(Edge::Mutable(node));
            }
            3 | 4 => {
                // An edge from a mutable node (possibly closing a cycle).
                if let (Some(Edge::Mutable(m)), Some(target)) = (self.some_node(), self.some_node())
                {
                    self.edges[m.id].push(target.id());
                    m.edges.borrow_mut().push(target);
                }
            }
            5 => {
                if let Some(Edge::Mutable(m)) = self.some_node() {
                    let mut edges = m.edges.borrow_mut();
                    if !edges.is_empty() {
                        let i = self.next(edges.len());
                        self.edges[m.id].remove(i);
                        drop(edges.remove(i));
                    }
                }
            }
            6 => {
                // Through a mutable node's cell, give a fixed node it alone
                // holds a new edge with `get_mut` (re-tracking it).
                if let (Some(Edge::Mutable(m)), Some(target)) = (self.some_node(), self.some_node())
                {
                    let mut edges = m.edges.borrow_mut();
                    // The registry's `Weak` would make `get_mut` refuse: it
                    // is dropped for the lend and made again after.
                    for e in edges.iter_mut() {
                        if let Edge::Fixed(f) = e {
                            if Gc::strong_count(f) == 1 {
                                let id = f.id;
                                self.handles[id] = Handle::Fixed(Weak::new());
                                let node = Gc::get_mut(f).expect("unique, no Weak");
                                node.edges.push(target.clone());
                                self.edges[id].push(target.id());
                                self.handles[id] = Handle::Fixed(Gc::downgrade(f));
                                break;
                            }
                        }
                    }
                }
            }
            7 => {
                if !self.roots.is_empty() {
                    let i = self.next(self.roots.len());
                    drop(self.roots.swap_remove(i));
                }
            }
            8 => {
                // Keep a node as an extra root.
                if let Some(e) = self.some_node() {
                    self.roots.push(e);
                }
            }
            _ => {
                let g = self.next(3);
                gc::collect_generation(g);
            }
        }
    }

    /// After a full collection: exactly the nodes reachable from the roots
    /// are alive.
    fn check_full(&mut self) {
        gengc::collect();
        let mut reachable = vec![false; self.edges.len()];
        let mut stack: Vec<usize> = self.roots.iter().map(Edge::id).collect();
        while let Some(id) = stack.pop() {
            if !std::mem::replace(&mut reachable[id], true) {
                stack.extend(self.edges[id].iter().copied());
            }
        }
        let alive = self.alive.borrow();
        for (id, (&alive, &reachable)) in alive.iter().zip(&reachable).enumerate() {
            assert_eq!(
                alive, reachable,
                "node {id}: alive {alive}, reachable {reachable}"
            );
        }
    }
}

#[test]
fn random_graphs_of_fixed_and_mutable_nodes_free_exactly_the_unreachable_ones() {
    // Under Miri (CI runs this file there), a few short episodes.
    let (seeds, ops) = if cfg!(miri) { (3, 300) } else { (64, 2_000) };
    for seed in 0..seeds {
        run(move || {
            gc::set_threshold(1 + (seed * 7) % 40, 1 + seed % 4, 2);
            let mut ep = Episode {
                rng: seed as u64,
                alive: Rc::new(RefCell::new(Vec::new())),
                edges: Vec::new(),
                handles: Vec::new(),
                roots: Vec::new(),
            };
            for op in 0..ops {
                ep.step();
                if op % 100 == 99 {
                    ep.check_full();
                }
            }
            ep.check_full();
            ep.roots.clear();
            ep.check_full();
            assert!(ep.alive.borrow().iter().all(|a| !a));
            ep.handles.clear(); // the `Weak`s keep the blocks
            assert_eq!(memory_report().used_blocks(), 0, "seed {seed}");
        });
    }
}

#[test]
fn the_dot_graph_follows_the_edges_of_settled_objects() {
    use gengc::dot;
    run(|| {
        let leaf = Gc::new(1);
        let list = Gc::new(vec![leaf.clone(), leaf.clone()]);
        let options = dot::Options::new().root(&list).max_nodes(100);
        let before = dot::write_graph(&mut std::io::sink(), &options).unwrap();
        assert_eq!((before.nodes, before.edges), (2, 2));
        gengc::collect();
        assert!(!gc::is_tracked(&list), "settled");
        let after = dot::write_graph(&mut std::io::sink(), &options).unwrap();
        assert_eq!((after.nodes, after.edges), (2, 2));
        // `referrers` searches tracked objects only, as CPython's does.
        assert!(gc::referrers(&leaf).is_empty());
    });
}

// ---------------------------------------------------------------------------
// Birth settling through `new_cyclic` and `From<Box<T>>`, and lent targets
// (cases written by the review of the change)
// ---------------------------------------------------------------------------

#[derive(Trace)]
struct Leafy {
    x: Option<Gc<u32>>,
}

/// Claims fixed edges and panics in the trace call `PANIC_AT` names;
/// `N` words of padding (100: a large object). `me` is its own `Weak` when
/// built by `new_cyclic`.
struct Bomb<const N: usize> {
    leaf: Gc<Leafy>,
    me: Weak<Bomb<N>>,
    drops: Rc<Cell<usize>>,
    _pad: [u64; N],
}

impl<const N: usize> Drop for Bomb<N> {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        // Whether dropped inside `new_cyclic` (a half-built object) or at
        // its death, the object has no strong handle: `me` cannot upgrade.
        assert!(self.me.upgrade().is_none());
    }
}

// SAFETY: visits its one Gc (the panic comes before it).
unsafe impl<const N: usize> Trace for Bomb<N> {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        count_trace_call();
        self.leaf.trace(tracer);
    }
    fn has_fixed_edges() -> bool {
        true
    }
}

#[test]
fn a_panic_in_trace_at_birth_through_new_cyclic_frees_the_block() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let leaf = Gc::new(Leafy {
            x: Some(Gc::new(1)),
        });
        assert!(!gc::is_tracked(&leaf));
        let blocks = memory_report().used_blocks();
        let kept: Rc<RefCell<Option<Weak<Bomb<0>>>>> = Rc::new(RefCell::new(None));
        panic_at_next_trace_call();
        let caught = catch_unwind(AssertUnwindSafe(|| {
            Gc::new_cyclic(|me| {
                *kept.borrow_mut() = Some(me.clone());
                Bomb::<0> {
                    leaf: leaf.clone(),
                    me: me.clone(),
                    drops: drops.clone(),
                    _pad: [],
                }
            })
        }));
        disarm_trace_panic();
        assert!(caught.is_err());
        assert_eq!(drops.get(), 1);
        assert_eq!(Gc::strong_count(&leaf), 1);
        // A `Weak` kept from inside still holds the block, dead.
        assert!(kept.borrow().as_ref().unwrap().upgrade().is_none());
        kept.borrow_mut().take();
        assert_eq!(memory_report().used_blocks(), blocks);
        assert_eq!(gc::count(), (0, 0, 0));
        // Without the panic: born settled.
        let ok = Gc::new_cyclic(|me| Bomb::<0> {
            leaf: leaf.clone(),
            me: me.clone(),
            drops: drops.clone(),
            _pad: [],
        });
        assert!(!gc::is_tracked(&ok));
        drop((ok, leaf));
        assert_eq!(drops.get(), 2);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_panic_in_trace_at_birth_through_from_box_leaves_the_box_to_drop_its_value() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let leaf = Gc::new(Leafy { x: None });
        let blocks = memory_report().used_blocks();
        let bomb = || {
            Box::new(Bomb::<100> {
                leaf: leaf.clone(),
                me: Weak::new(),
                drops: drops.clone(),
                _pad: [0; 100],
            })
        };
        panic_at_next_trace_call();
        let caught = catch_unwind(AssertUnwindSafe(|| Gc::<Bomb<100>>::from(bomb())));
        disarm_trace_panic();
        assert!(caught.is_err());
        assert_eq!(drops.get(), 1);
        assert_eq!(Gc::strong_count(&leaf), 1);
        assert_eq!(memory_report().used_blocks(), blocks);
        assert_eq!(memory_report().large_objects, 0);
        // Without the panic: a large object born settled; `get_mut` tracks
        // it again, and counts it.
        let mut ok: Gc<Bomb<100>> = Gc::from(bomb());
        assert!(!gc::is_tracked(&ok));
        assert!(Gc::get_mut(&mut ok).is_some());
        assert_eq!(gc::generation_sizes(), (1, 0, 0));
        assert_eq!(gc::count().0, 1);
        drop(ok);
        assert_eq!(gc::count().0, 0);
        assert_eq!(drops.get(), 2);
        drop(leaf);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

/// A fixed node and a mutable one, either pointing at either.
#[derive(Trace)]
struct FixedLink {
    next: Option<Link>,
}

#[derive(Trace)]
struct CellLink {
    next: RefCell<Option<Link>>,
}

#[derive(Trace)]
enum Link {
    Fixed(Gc<FixedLink>),
    Cell(Gc<CellLink>),
}

#[test]
fn a_cycle_through_a_born_settled_object_still_lent_is_collected() {
    run(|| {
        gc::disable();
        let leaf = Gc::new(FixedLink { next: None });
        let mut b = Gc::new(FixedLink {
            next: Some(Link::Fixed(leaf)),
        });
        assert!(!gc::is_tracked(&b));
        let m = Gc::new(CellLink {
            next: RefCell::new(None),
        });
        // `b` is lent and given an edge to `m`; moved, not cloned, it keeps
        // the lend marker.
        Gc::get_mut(&mut b).unwrap().next = Some(Link::Cell(m.clone()));
        assert!(gc::is_tracked(&b));
        let a = Gc::new(FixedLink {
            next: Some(Link::Fixed(b)),
        });
        assert!(gc::is_tracked(&a), "it points at a tracked (lent) object");
        *m.next.borrow_mut() = Some(Link::Fixed(a));
        drop(m);
        assert_eq!(gengc::collect(), 3);
        assert_eq!(memory_report().used_blocks(), 0);
        assert_eq!(gc::count().0, 0);
    });
}

#[test]
fn a_settled_parent_rebuilt_after_try_unwrap_is_judged_again() {
    run(|| {
        gc::disable();
        let leaf = Gc::new(FixedLink { next: None });
        let child = Gc::new(FixedLink {
            next: Some(Link::Fixed(leaf)),
        });
        let parent = Gc::new(FixedLink {
            next: Some(Link::Fixed(child)),
        });
        assert!(!gc::is_tracked(&parent));
        // Take the value out, lend the child, close a cycle through a cell.
        let mut value = Gc::try_unwrap(parent).ok().unwrap();
        let m = Gc::new(CellLink {
            next: RefCell::new(None),
        });
        if let Some(Link::Fixed(c)) = &mut value.next {
            Gc::get_mut(c).unwrap().next = Some(Link::Cell(m.clone()));
            assert!(gc::is_tracked(c));
        }
        let parent = Gc::new(value);
        assert!(gc::is_tracked(&parent));
        *m.next.borrow_mut() = Some(Link::Fixed(parent));
        drop(m);
        assert_eq!(gengc::collect(), 3);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}
