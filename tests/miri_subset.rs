//! A fast subset of the suite for Miri (`.ci/run` runs it with strict
//! provenance): every unsafe path — pool and large allocation, refcount
//! death, the trashcan, weak references, detection, resurrection, teardown,
//! panics — on graphs small enough for the interpreter.

use gengc::{gc, Finalize, Gc, Trace, Tracer, Weak};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

mod common;
use common::{run, DropCount};

thread_local! {
    static DROPS: Cell<usize> = const { Cell::new(0) };
    static FINALIZED: Cell<usize> = const { Cell::new(0) };
    static RESURRECTED: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
}

struct Node {
    edges: RefCell<Vec<Gc<Node>>>,
    weak: RefCell<Weak<Node>>,
    resurrect: bool,
    _big: Option<Box<[u8; 600]>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        DROPS.with(|d| d.set(d.get() + 1));
    }
}

impl Finalize for Node {
    fn finalize(&self) {
        FINALIZED.with(|f| f.set(f.get() + 1));
        assert!(
            self.weak.borrow().upgrade().is_none(),
            "weak refs to garbage are dead in finalizers"
        );
        for e in self.edges.borrow().iter() {
            let _ = e.edges.borrow().len(); // neighbours are intact
        }
        if self.resurrect {
            let me = self.edges.borrow()[0].clone();
            RESURRECTED.with(|r| r.borrow_mut().push(me));
        }
    }
}

// SAFETY: traces its one owning field; its Drop touches no Gc.
unsafe impl Trace for Node {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.edges.trace(tracer);
    }
    fn finalize_glue(&self) {
        Finalize::finalize(self);
    }
    fn needs_finalize() -> bool {
        true
    }
}

fn node() -> Gc<Node> {
    Gc::new(Node {
        edges: RefCell::new(Vec::new()),
        weak: RefCell::new(Weak::new()),
        resurrect: false,
        _big: None,
    })
}

fn counts() -> (usize, usize) {
    (DROPS.with(Cell::get), FINALIZED.with(Cell::get))
}

#[test]
fn refcount_death_and_block_reuse() {
    run(|| {
        let a = node();
        let p = Gc::as_ptr(&a);
        drop(a);
        assert_eq!(counts(), (1, 1));
        assert_eq!(Gc::as_ptr(&node()), p);
    });
}

#[test]
fn cycles_of_pooled_and_large_objects_are_collected() {
    run(|| {
        let nodes: Vec<Gc<Node>> = (0..6)
            .map(|i| {
                if i % 2 == 0 {
                    node()
                } else {
                    Gc::new(Node {
                        edges: RefCell::new(Vec::new()),
                        weak: RefCell::new(Weak::new()),
                        resurrect: false,
                        _big: Some(Box::new([0; 600])),
                    })
                }
            })
            .collect();
        for (i, n) in nodes.iter().enumerate() {
            n.edges.borrow_mut().push(nodes[(i + 1) % 6].clone());
            *n.weak.borrow_mut() = Gc::downgrade(n);
        }
        let weak = Gc::downgrade(&nodes[0]);
        drop(nodes);
        assert_eq!(gc::collect(), 6);
        assert_eq!(counts(), (6, 6));
        assert!(weak.upgrade().is_none());
    });
}

#[test]
fn resurrection_keeps_the_resurrected_intact() {
    run(|| {
        let a = node();
        let b = Gc::new(Node {
            edges: RefCell::new(vec![a.clone()]),
            weak: RefCell::new(Weak::new()),
            resurrect: true,
            _big: None,
        });
        a.edges.borrow_mut().push(b.clone());
        drop((a, b));
        // Both finalized; `b` stored `a`, which reaches `b`: nothing freed.
        assert_eq!(gc::collect(), 0);
        assert_eq!(counts(), (0, 2));
        let a = RESURRECTED.with(|r| r.borrow_mut().pop()).unwrap();
        assert_eq!(a.edges.borrow().len(), 1);
        drop(a);
        // Dies again: freed without a second finalization.
        assert_eq!(gc::collect(), 2);
        assert_eq!(counts(), (2, 2));
    });
}

#[test]
fn deep_chain_uses_the_trashcan() {
    run(|| {
        let mut head = node();
        for _ in 0..300 {
            let n = node();
            n.edges.borrow_mut().push(head);
            head = n;
        }
        drop(head);
        assert_eq!(counts().0, 301);
    });
}

#[test]
fn acyclic_chains_use_the_trashcan_untracked() {
    // Deaths through the trashcan without a generation, pooled and large;
    // the chain ends in a tracked node that it keeps alive.
    #[derive(Trace)]
    #[gc(acyclic, crate = gengc)]
    struct Cons {
        tail: Option<Gc<Cons>>,
        end: Option<Gc<Node>>,
    }
    #[derive(Trace)]
    #[gc(acyclic, crate = gengc)]
    struct BigCons {
        tail: Option<Gc<BigCons>>,
        _pad: [u64; 70],
    }
    run(|| {
        let end = node();
        let weak_end = Gc::downgrade(&end);
        let mut list = Gc::new(Cons {
            tail: None,
            end: Some(end),
        });
        for _ in 0..300 {
            list = Gc::new(Cons {
                tail: Some(list),
                end: None,
            });
        }
        let mut big = Gc::new(BigCons {
            tail: None,
            _pad: [0; 70],
        });
        for _ in 0..100 {
            big = Gc::new(BigCons {
                tail: Some(big),
                _pad: [0; 70],
            });
        }
        assert!(!gc::is_tracked(&list) && !gc::is_tracked(&big));
        assert_eq!(gc::collect(), 0);
        assert!(weak_end.upgrade().is_some(), "held by the untracked chain");
        drop((list, big));
        assert_eq!(counts().0, 1);
        assert!(weak_end.upgrade().is_none());
        assert_eq!(gengc::memory_report().large_objects, 0);
    });
}

#[test]
fn panicking_finalizer_leaves_a_usable_heap() {
    struct Bomb(RefCell<Option<Gc<Bomb>>>);
    impl Finalize for Bomb {
        fn finalize(&self) {
            panic!("finalizer panics");
        }
    }
    // SAFETY: traces its one owning field.
    unsafe impl Trace for Bomb {
        fn trace(&self, t: &mut Tracer<'_>) {
            self.0.trace(t);
        }
        fn finalize_glue(&self) {
            Finalize::finalize(self);
        }
        fn needs_finalize() -> bool {
            true
        }
    }
    run(|| {
        let a = Gc::new(Bomb(RefCell::new(None)));
        *a.0.borrow_mut() = Some(a.clone());
        let plain = node();
        plain.edges.borrow_mut().push(plain.clone());
        drop((a, plain));
        let r = std::panic::catch_unwind(gc::collect);
        assert!(r.is_err());
        assert_eq!(counts().0, 1, "the other garbage was still freed");
        let again = node();
        again.edges.borrow_mut().push(again.clone());
        drop(again);
        assert_eq!(gc::collect(), 1);
    });
}

#[test]
fn borrowed_refcell_survives_then_collects() {
    run(|| {
        let a = node();
        a.edges.borrow_mut().push(a.clone());
        let keep = a.clone();
        let borrow = keep.edges.borrow_mut();
        drop(a);
        assert_eq!(gc::collect(), 0);
        drop(borrow);
        drop(keep);
        assert_eq!(gc::collect(), 1);
    });
}

#[test]
fn get_mut_lends_are_never_read_and_end_with_their_handle() {
    run(|| {
        let before = counts().0;
        // Lent while a collection runs: the value is written through the
        // `&mut` around the collection, never read by it.
        let mut a = node();
        let m = Gc::get_mut(&mut a).unwrap();
        m.edges.get_mut().push(node());
        assert_eq!(gc::collect(), 0);
        m.edges.get_mut().push(node());
        assert_eq!(Gc::strong_count(&a), 1);
        // The lent handle dies without a clone: its value and both nodes go.
        drop(a);
        assert_eq!(counts().0, before + 3);
        // Lent, then cloned into itself: the clone ends the lend, so the
        // self-cycle is collectable.
        let mut b = node();
        Gc::get_mut(&mut b).unwrap();
        b.edges.borrow_mut().push(b.clone());
        drop(b);
        assert_eq!(gc::collect(), 1);
        assert_eq!(counts().0, before + 4);
    });
}

#[test]
fn unsized_values_and_dyn() {
    trait Speak: Trace {
        fn word(&self) -> &'static str;
    }
    impl Speak for DropCount {
        fn word(&self) -> &'static str {
            "woof"
        }
    }
    run(|| {
        let dropped = Rc::new(Cell::new(0));
        let d: Gc<dyn Speak> = gengc::coerce_gc!(Gc::new(DropCount(dropped.clone())) => dyn Speak);
        assert_eq!(d.word(), "woof");
        drop(d);
        assert_eq!(dropped.get(), 1);
        let s: Gc<str> = Gc::from("abc");
        let v: Gc<[Gc<Node>]> = Gc::from(vec![node(), node()]);
        assert_eq!((&*s, v.len()), ("abc", 2));
        drop(v);
        assert_eq!(counts().0, 2);
    });
}

#[test]
fn raw_pointers_round_trip_pooled_large_unsized_and_weak() {
    run(|| {
        // A pooled node in a cycle, held only by its raw pointer.
        let (a, b) = (node(), node());
        a.edges.borrow_mut().push(b.clone());
        b.edges.borrow_mut().push(a.clone());
        drop(b);
        let raw = Gc::into_raw(a);
        assert_eq!(gc::collect(), 0);
        // SAFETY: each pointer below comes from `into_raw` on this thread, once.
        let a = unsafe { Gc::from_raw(raw) };
        let weak = Weak::into_raw(Gc::downgrade(&a));
        drop(a);
        assert_eq!(gc::collect(), 2);
        assert_eq!(counts().0, 2);
        let weak = unsafe { Weak::from_raw(weak) };
        assert!(weak.upgrade().is_none());
        drop(weak);

        // Large (over-aligned) and unsized values.
        #[repr(align(64))]
        struct Wide(u8);
        // SAFETY: owns no Gc.
        unsafe impl Trace for Wide {
            fn trace(&self, _: &mut Tracer<'_>) {}
            fn needs_trace() -> bool {
                false
            }
        }
        let wide = unsafe { Gc::from_raw(Gc::into_raw(Gc::new(Wide(5)))) };
        let raw: *const [u64] = Gc::<[u64; 2]>::into_raw(Gc::new([1, 2]));
        let slice: Gc<[u64]> = unsafe { Gc::from_raw(raw) };
        let s: Gc<str> = unsafe { Gc::from_raw(Gc::into_raw(Gc::<str>::from("raw"))) };
        assert_eq!((wide.0, &*slice, &*s), (5, &[1u64, 2][..], "raw"));
        assert_eq!(Gc::unwrap_or_clone(Gc::new(7u8)), 7);
    });
}

thread_local! {
    static OUTLIVES_HEAP: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
}

#[test]
fn leaks_on_purpose_handle_outliving_the_heap_at_thread_exit() {
    run(|| {
        OUTLIVES_HEAP.with(|k| *k.borrow_mut() = Some(node()));
    });
}
