//! `#[gc(acyclic)]`: types that own `Gc`s but are never tracked. Their
//! objects cost nothing to collections, act as references from outside for
//! the tracked objects they hold, die by reference counting alone (without
//! recursion), and a wrong promise only leaks.

mod common;

use common::{node, run, DropCount, Node};
use gengc::{gc, memory_report, Finalize, Gc, Trace};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// An immutable binary tree node.
#[derive(Trace)]
#[gc(acyclic)]
struct Tree {
    left: Option<Gc<Tree>>,
    right: Option<Gc<Tree>>,
    _drops: DropCount,
}

fn tree(depth: u32, drops: &Rc<Cell<usize>>) -> Gc<Tree> {
    let child = || (depth > 1).then(|| tree(depth - 1, drops));
    Gc::new(Tree {
        left: child(),
        right: child(),
        _drops: DropCount(drops.clone()),
    })
}

/// An immutable holder of a tracked node.
#[derive(Trace)]
#[gc(acyclic)]
struct Holder {
    node: Gc<Node>,
}

#[test]
fn acyclic_objects_are_not_tracked_and_do_not_count_toward_collections() {
    run(|| {
        assert!(<Tree as Trace>::is_acyclic());
        assert!(<Tree as Trace>::needs_trace(), "it owns Gcs");
        assert!(!<Node as Trace>::is_acyclic());
        let drops = Rc::new(Cell::new(0));
        let before = gc::count();
        let t = tree(10, &drops); // 1,023 nodes
        assert!(!gc::is_tracked(&t));
        assert_eq!(
            gc::count(),
            before,
            "no allocation counted toward a collection"
        );
        assert_eq!(memory_report().used_blocks(), 1_023);
        assert_eq!(gengc::collect(), 0);
        drop(t);
        assert_eq!(drops.get(), 1_023);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn automatic_collections_never_start_from_acyclic_allocations() {
    run(|| {
        gc::set_threshold(10, 10, 10);
        let drops = Rc::new(Cell::new(0));
        let t = tree(12, &drops); // 4,095 nodes, 400 times the young threshold
        let collections: usize = gc::stats().iter().map(|s| s.collections).sum();
        assert_eq!(collections, 0);
        drop(t);
        assert_eq!(drops.get(), 4_095);
    });
}

#[test]
fn an_acyclic_holder_keeps_a_tracked_cycle_alive_until_it_dies() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let a = node(&drops);
        let b = node(&drops);
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        let holder = Gc::new(Holder { node: a.clone() });
        drop((a, b));
        // The holder is never traced: its reference counts as one from
        // outside, so the cycle is reachable.
        assert_eq!(gengc::collect(), 0);
        assert_eq!(drops.get(), 0);
        assert!(gc::is_tracked(&holder.node), "the node it holds is tracked");
        drop(holder);
        assert_eq!(gengc::collect(), 2);
        assert_eq!(drops.get(), 2);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_tracked_cycle_owning_an_acyclic_tree_frees_the_tree_by_reference_counting() {
    #[derive(Trace)]
    struct Owner {
        peer: RefCell<Option<Gc<Owner>>>,
        tree: Gc<Tree>,
    }
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let a = Gc::new(Owner {
            peer: RefCell::new(None),
            tree: tree(5, &drops), // 31 nodes
        });
        let b = Gc::new(Owner {
            peer: RefCell::new(Some(a.clone())),
            tree: tree(3, &drops), // 7 nodes
        });
        *a.peer.borrow_mut() = Some(b);
        drop(a);
        // Only the two tracked objects are collected; the trees die when
        // the owners' values are dropped.
        assert_eq!(gengc::collect(), 2);
        assert_eq!(drops.get(), 38);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn dropping_a_million_long_acyclic_chain_does_not_overflow_the_stack() {
    #[derive(Trace)]
    #[gc(acyclic)]
    struct Cons {
        tail: Option<Gc<Cons>>,
        _drops: DropCount,
    }
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let mut list = None;
        for _ in 0..1_000_000 {
            list = Some(Gc::new(Cons {
                tail: list,
                _drops: DropCount(drops.clone()),
            }));
        }
        drop(list);
        assert_eq!(drops.get(), 1_000_000);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn dropping_a_deep_chain_of_large_acyclic_nodes_is_iterative() {
    #[derive(Trace)]
    #[gc(acyclic)]
    struct Big {
        next: Option<Gc<Big>>,
        _pad: [u64; 80], // > 512 bytes: a large object
    }
    run(|| {
        let mut list = None;
        for _ in 0..200_000 {
            list = Some(Gc::new(Big {
                next: list,
                _pad: [0; 80],
            }));
        }
        assert_eq!(memory_report().large_objects, 200_000);
        assert!(!gc::is_tracked(list.as_ref().unwrap()));
        drop(list);
        assert_eq!(memory_report().large_objects, 0);
    });
}

#[test]
fn finalizers_of_acyclic_objects_run_once_at_their_death() {
    thread_local!(static FINALIZED: Cell<usize> = const { Cell::new(0) });
    #[derive(Trace)]
    #[gc(acyclic, finalize)]
    struct Closing {
        next: Option<Gc<Closing>>,
    }
    impl Finalize for Closing {
        fn finalize(&self) {
            FINALIZED.with(|f| f.set(f.get() + 1));
        }
    }
    run(|| {
        let mut list = None;
        for _ in 0..100_000 {
            list = Some(Gc::new(Closing { next: list }));
        }
        assert!(!gc::is_tracked(list.as_ref().unwrap()));
        drop(list);
        assert_eq!(FINALIZED.with(Cell::get), 100_000);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_broken_promise_leaks_the_cycle_and_frees_nothing_early() {
    // Not acyclic at all: the `RefCell` can close a cycle.
    #[derive(Trace)]
    #[gc(acyclic)]
    struct Liar {
        next: RefCell<Option<Gc<Liar>>>,
        _drops: DropCount,
    }
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let a = Gc::new(Liar {
            next: RefCell::new(None),
            _drops: DropCount(drops.clone()),
        });
        *a.next.borrow_mut() = Some(a.clone());
        let weak = Gc::downgrade(&a);
        drop(a);
        assert_eq!(gengc::collect(), 0, "never examined");
        assert_eq!(drops.get(), 0, "leaked, not freed");
        // Still intact: breaking the cycle by hand frees it.
        let a = weak.upgrade().expect("alive");
        a.next.borrow_mut().take();
        drop(a);
        assert_eq!(drops.get(), 1);
        drop(weak);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn acyclic_slices_and_weak_handles() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let trees: Gc<[Gc<Tree>]> = (0..3).map(|_| tree(2, &drops)).collect();
        assert!(!gc::is_tracked(&trees[0]));
        let weak = Gc::downgrade(&trees[1]);
        assert_eq!(weak.upgrade().map(|t| t.left.is_some()), Some(true));
        drop(trees);
        assert_eq!(drops.get(), 9);
        assert!(weak.upgrade().is_none());
    });
}
