//! The teardown frees every garbage block exactly once and drops every
//! value once: rings, a doubly linked list and pairs (back to the blocks
//! used before them), garbage with `Weak`s left behind (only the blocks
//! stay), and a destructor panicking at each position of a ring.

mod common;

use common::{node, run, DropCount, Node};
use gengc::{gc, Gc, Trace, Weak};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

fn used_blocks() -> usize {
    gengc::memory_report().used_blocks()
}

/// A ring of `n` nodes, its handle dropped.
fn ring(n: usize, drops: &Rc<Cell<usize>>) -> Vec<Weak<Node>> {
    let nodes: Vec<Gc<Node>> = (0..n).map(|_| node(drops)).collect();
    for (i, a) in nodes.iter().enumerate() {
        *a.next.borrow_mut() = Some(nodes[(i + 1) % n].clone());
    }
    nodes.iter().map(Gc::downgrade).collect()
}

#[test]
fn a_ring_leaves_no_block_behind() {
    run(|| {
        let before = used_blocks();
        let drops = Rc::new(Cell::new(0));
        drop(ring(100, &drops));
        assert_eq!(used_blocks(), before + 100);
        assert_eq!(gc::collect(), 100);
        assert_eq!(drops.get(), 100);
        assert_eq!(used_blocks(), before);
    });
}

#[test]
fn weaks_to_torn_down_garbage_keep_only_the_blocks() {
    run(|| {
        let before = used_blocks();
        let drops = Rc::new(Cell::new(0));
        let weaks = ring(3, &drops);
        assert_eq!(gc::collect(), 3);
        assert_eq!(drops.get(), 3);
        for w in &weaks {
            assert!(w.upgrade().is_none());
            assert_eq!(w.strong_count(), 0);
        }
        assert_eq!(used_blocks(), before + 3);
        drop(weaks);
        assert_eq!(used_blocks(), before);
    });
}

#[derive(Trace)]
struct ListNode {
    next: RefCell<Option<Gc<ListNode>>>,
    prev: RefCell<Option<Gc<ListNode>>>,
    #[gc(skip)]
    _drops: DropCount,
}

#[test]
fn a_doubly_linked_list_and_pairs_leave_no_block_behind() {
    run(|| {
        let before = used_blocks();
        let drops = Rc::new(Cell::new(0));
        let new = || {
            Gc::new(ListNode {
                next: RefCell::new(None),
                prev: RefCell::new(None),
                _drops: DropCount(drops.clone()),
            })
        };
        let head = new();
        let mut tail = head.clone();
        for _ in 1..1000 {
            let x = new();
            *tail.next.borrow_mut() = Some(x.clone());
            *x.prev.borrow_mut() = Some(tail.clone());
            tail = x;
        }
        drop((head, tail));
        for _ in 0..500 {
            let (a, b) = (new(), new());
            *a.next.borrow_mut() = Some(b.clone());
            *b.prev.borrow_mut() = Some(a.clone());
        }
        assert_eq!(used_blocks(), before + 2000);
        assert_eq!(gc::collect(), 2000);
        assert_eq!(drops.get(), 2000);
        assert_eq!(used_blocks(), before);
    });
}

/// Panics when dropped, if armed.
struct Bomb(bool);

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.0 {
            panic!("bomb");
        }
    }
}

// SAFETY: owns no Gc.
unsafe impl Trace for Bomb {
    fn trace(&self, _: &mut gengc::Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

#[derive(Trace)]
struct Armed {
    // Dropped first: the fields after it are still dropped while unwinding.
    #[gc(skip)]
    _bomb: Bomb,
    next: RefCell<Option<Gc<Armed>>>,
    #[gc(skip)]
    _drops: DropCount,
}

#[test]
fn a_panicking_destructor_halfway_through_the_teardown_leaks_nothing() {
    for armed in 0..5 {
        run(move || {
            let before = used_blocks();
            let drops = Rc::new(Cell::new(0));
            let nodes: Vec<Gc<Armed>> = (0..5)
                .map(|i| {
                    Gc::new(Armed {
                        _bomb: Bomb(i == armed),
                        next: RefCell::new(None),
                        _drops: DropCount(drops.clone()),
                    })
                })
                .collect();
            for (i, a) in nodes.iter().enumerate() {
                *a.next.borrow_mut() = Some(nodes[(i + 1) % 5].clone());
            }
            drop(nodes);
            let panic = catch_unwind(AssertUnwindSafe(gc::collect)).expect_err("the bomb's panic");
            assert_eq!(panic.downcast_ref::<&str>(), Some(&"bomb"));
            assert_eq!(drops.get(), 5, "bomb at {armed}");
            assert_eq!(used_blocks(), before, "bomb at {armed}");
            // The heap is consistent: collections go on.
            let more = Rc::new(Cell::new(0));
            drop(ring(4, &more));
            assert_eq!(gc::collect(), 4);
            assert_eq!(used_blocks(), before);
        });
    }
}
