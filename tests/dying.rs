//! Objects whose value is being dropped, as seen by user code that runs
//! inside that drop.
//!
//! A tracked object that dies by reference counting leaves its generation
//! only when its block is freed, after its value is dropped (so the death
//! reads no pool header before the drop; see `heap::owner_death`). While
//! the value is being dropped its strong count is zero, and that is what
//! keeps every walker of the generations away from it: a collection started
//! by a destructor must neither read the half-dropped value (whose
//! already-dropped fields still hold the addresses of freed objects) nor
//! judge the object garbage and drop it a second time; introspection must
//! not hand out a handle to it. Each test would double-drop, or read a
//! freed object, if that were not so.
//!
//! Every test runs on its own thread (its own heap); counts are exact.

use gengc::{gc, Gc, Trace};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

mod common;
use common::{run, DropCount};

/// Runs its closure when dropped. Owns no `Gc` (the closure's captures
/// are the test's business), so it is skipped by the trace.
struct OnDrop(Option<Box<dyn FnOnce()>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// A tracked node. Fields drop in declaration order: the children first
/// (their targets may die and be freed), then `hook`, which runs user code
/// while this object is dying with dangling children left in its memory,
/// then the drop counter.
#[derive(Trace)]
struct Node {
    left: RefCell<Option<Gc<Node>>>,
    right: RefCell<Option<Gc<Node>>>,
    #[gc(skip)]
    _hook: OnDrop,
    #[gc(skip)]
    _drops: DropCount,
}

type Hook = Option<Box<dyn FnOnce()>>;

fn node(
    drops: &Rc<Cell<usize>>,
    left: Option<Gc<Node>>,
    right: Option<Gc<Node>>,
    hook: Hook,
) -> Gc<Node> {
    Gc::new(Node {
        left: RefCell::new(left),
        right: RefCell::new(right),
        _hook: OnDrop(hook),
        _drops: DropCount(drops.clone()),
    })
}

/// A two-node garbage cycle of fresh young objects, counted in `drops`.
fn garbage_cycle(drops: &Rc<Cell<usize>>) {
    let a = node(drops, None, None, None);
    let b = node(drops, Some(a.clone()), None, None);
    *a.left.borrow_mut() = Some(b);
}

#[test]
fn a_full_collection_inside_a_drop_skips_the_dying_object() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let collected = Rc::new(Cell::new(usize::MAX));
        let (c, d) = (collected.clone(), drops.clone());
        let hook: Hook = Some(Box::new(move || {
            // Two garbage objects to find, beside the dying parent.
            garbage_cycle(&d);
            c.set(gengc::collect());
        }));
        let child = node(&drops, None, None, None);
        let parent = node(&drops, Some(child), None, hook);
        assert!(gc::is_tracked(&parent));
        drop(parent);
        assert_eq!(collected.get(), 2, "the cycle, not the dying parent");
        assert_eq!(drops.get(), 4, "parent, child and the cycle, once each");
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(gc::count().0, 0);
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}

#[test]
fn automatic_collections_inside_the_drop_of_a_tracked_tree() {
    // Every leaf's hook makes garbage cycles while the tree is dropped
    // depth first, so young collections run with dying nodes (the leaf's
    // ancestors) in the generations at every depth.
    const DEPTH: u32 = 6;
    const CYCLES_PER_LEAF: usize = 20;
    fn tree(drops: &Rc<Cell<usize>>, depth: u32) -> Gc<Node> {
        if depth == 0 {
            let d = drops.clone();
            let hook: Hook = Some(Box::new(move || {
                for _ in 0..CYCLES_PER_LEAF {
                    garbage_cycle(&d);
                }
            }));
            return node(drops, None, None, hook);
        }
        node(
            drops,
            Some(tree(drops, depth - 1)),
            Some(tree(drops, depth - 1)),
            None,
        )
    }
    run(|| {
        gc::set_threshold(50, 10, 10);
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let root = tree(&drops, DEPTH);
        // Promote some of the tree, so dying nodes sit in every generation.
        gc::collect_generation(1);
        gc::enable();
        let before = gc::stats()[0].collections;
        drop(root);
        assert!(
            gc::stats()[0].collections - before > 10,
            "young collections ran inside the drop"
        );
        gengc::collect();
        let nodes = (1 << (DEPTH + 1)) - 1;
        let leaves = 1 << DEPTH;
        assert_eq!(drops.get(), nodes + leaves * CYCLES_PER_LEAF * 2);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}

#[test]
fn introspection_inside_a_drop_does_not_see_the_dying_object() {
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let other = node(&drops, None, None, None);
        let seen = Rc::new(Cell::new(usize::MAX));
        let referring = Rc::new(Cell::new(usize::MAX));
        let exported = Rc::new(Cell::new(usize::MAX));
        let (s, r, e, o) = (
            seen.clone(),
            referring.clone(),
            exported.clone(),
            other.clone(),
        );
        let hook: Hook = Some(Box::new(move || {
            // The dying parent still holds `o` in its (dropped) field: a
            // handle made to the parent now would die a second time.
            s.set(gc::objects(None).len());
            r.set(gc::referrers(&o).len());
            let mut out = Vec::new();
            let summary = gengc::dot::write_graph(&mut out, &gengc::dot::Options::new()).unwrap();
            e.set(summary.nodes);
            let _ = gengc::type_stats();
        }));
        let parent = node(&drops, Some(other.clone()), None, hook);
        drop(parent);
        assert_eq!(seen.get(), 1, "only `other` is a live tracked object");
        assert_eq!(referring.get(), 0);
        assert_eq!(exported.get(), 1);
        assert_eq!(drops.get(), 1);
        drop(other);
        assert_eq!(drops.get(), 2);
    });
}

#[test]
fn a_deep_tracked_chain_dropped_with_collections_inside() {
    // Deeper than the trashcan: deferred deaths leave their generation
    // before they wait, the others when their block is freed; a collection
    // every 97 deaths sees both kinds.
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let n = if cfg!(miri) { 300 } else { 20_000 };
        let mut head: Option<Gc<Node>> = None;
        for i in 0..n {
            let hook: Hook = (i % 97 == 0).then(|| {
                Box::new(|| {
                    gengc::collect();
                }) as Box<dyn FnOnce()>
            });
            head = Some(node(&drops, head, None, hook));
        }
        gengc::collect();
        drop(head);
        assert_eq!(drops.get(), n);
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(gc::count().0, 0);
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}

/// A tracked node of its own type (its own pools), counting its drop.
#[derive(Trace)]
struct Other {
    next: RefCell<Option<Gc<Other>>>,
    #[gc(skip)]
    _drops: DropCount,
}

/// A two-node garbage cycle of `Other`s.
fn other_cycle(drops: &Rc<Cell<usize>>) {
    let a = Gc::new(Other {
        next: RefCell::new(None),
        _drops: DropCount(drops.clone()),
    });
    let b = Gc::new(Other {
        next: RefCell::new(Some(a.clone())),
        _drops: DropCount(drops.clone()),
    });
    *a.next.borrow_mut() = Some(b);
}

thread_local! {
    /// Set while a `Fixed` runs its destructor.
    static FIXED_DROPPING: Cell<bool> = const { Cell::new(false) };
}

/// A tracked type with fixed edges (no cell), so settling may take it out
/// of its generation, which means tracing it; its trace fails the test if
/// it runs while the object is dying. (A hand-written `Trace` may come
/// with a `Drop`; this one runs a collection.)
struct Fixed {
    child: Option<Gc<Node>>,
    drops: DropCount,
}

// SAFETY: visits its one `Gc`.
unsafe impl Trace for Fixed {
    fn trace(&self, tracer: &mut gengc::Tracer<'_>) {
        assert!(!FIXED_DROPPING.get(), "a dying object was traced");
        self.child.trace(tracer);
    }

    fn has_fixed_edges() -> bool {
        true
    }
}

impl Drop for Fixed {
    fn drop(&mut self) {
        FIXED_DROPPING.set(true);
        other_cycle(&self.drops.0);
        gc::collect_generation(0);
        FIXED_DROPPING.set(false);
    }
}

#[test]
fn settling_inside_a_drop_skips_the_dying_object() {
    // `Fixed` points at a tracked node, so it is born tracked, young; the
    // young collection its destructor runs tries to settle the young
    // objects of its type, and must not trace this one.
    run(|| {
        gc::disable();
        let drops = Rc::new(Cell::new(0));
        let fixed = Gc::new(Fixed {
            child: Some(node(&drops, None, None, None)),
            drops: DropCount(drops.clone()),
        });
        assert!(gc::is_tracked(&fixed));
        assert_eq!(gc::count().0, 2);
        drop(fixed);
        assert_eq!(drops.get(), 4, "fixed, its child, the cycle");
        assert_eq!(gc::generation_sizes(), (0, 0, 0));
        assert_eq!(gengc::memory_report().used_blocks(), 0);
    });
}
