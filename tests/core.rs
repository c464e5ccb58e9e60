//! Core behaviour of `Gc`, `Weak` and the pooled heap: exact drop counts,
//! block reuse, arena release, large objects, weak references, the `Rc`-like
//! API, deep chains, and thread exit.
//!
//! Every test runs on a fresh thread: each thread has its own heap, so the
//! counts asserted here cannot be disturbed by other tests.

use gengc::{coerce_gc, memory_report, Gc, Trace, Tracer, Weak};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

mod common;
use common::{run, DropCount};

/// A tracked node with an optional successor and a drop counter.
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    _drops: DropCount,
}

unsafe impl Trace for Node {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.next.trace(tracer);
    }
}

fn node(drops: &Rc<Cell<usize>>, next: Option<Gc<Node>>) -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(next),
        _drops: DropCount(drops.clone()),
    })
}

#[test]
fn last_handle_drops_value_exactly_once() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let a = Gc::new(DropCount(drops.clone()));
        let b = a.clone();
        let c = b.clone();
        assert_eq!(Gc::strong_count(&a), 3);
        drop(a);
        drop(b);
        assert_eq!(drops.get(), 0);
        drop(c);
        assert_eq!(drops.get(), 1);
    });
}

#[test]
fn freed_block_is_reused() {
    run(|| {
        let a = Gc::new([1u64; 5]);
        let addr = Gc::as_ptr(&a) as usize;
        drop(a);
        let b = Gc::new([2u64; 5]);
        assert_eq!(
            Gc::as_ptr(&b) as usize,
            addr,
            "the freed block is the next one handed out"
        );
        assert_eq!(*b, [2; 5]);
    });
}

#[test]
fn block_size_is_header_plus_value() {
    run(|| {
        let objs: Vec<Gc<[u64; 5]>> = (0..100).map(|i| Gc::new([i; 5])).collect();
        let r = memory_report();
        let class = r
            .size_classes
            .iter()
            .find(|c| c.block_size == 48)
            .expect("48-byte class");
        assert_eq!(
            class.used_blocks, 100,
            "40-byte value + 8-byte header = 48 bytes per object"
        );
        assert_eq!(r.bytes_in_use, 100 * 48);
        drop(objs);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn arenas_go_back_to_the_system_after_a_mass_free() {
    run(|| {
        let before = memory_report();
        assert_eq!(before.arenas, 0);
        let objs: Vec<Gc<[u64; 5]>> = (0..200_000).map(|i| Gc::new([i; 5])).collect();
        let full = memory_report();
        // 200k * 48 B = 9.6 MB: at least 10 arenas of 1 MiB.
        assert!(full.arenas >= 10, "{full}");
        assert_eq!(full.used_blocks(), 200_000);
        drop(objs);
        let after = memory_report();
        assert_eq!(after.used_blocks(), 0);
        // The emptied arenas are kept briefly for reuse...
        assert!(after.pools <= 1, "{after}");
        assert!(after.spare_arenas >= full.arenas - 2, "{after}");
        // ...and returned once unused for 1 s (checked on the next use of
        // the arena set, or by an explicit collection). One pool stays with
        // its type (avoids thrash), one empty arena is kept spare: at most
        // two arenas remain.
        std::thread::sleep(std::time::Duration::from_millis(1050));
        gengc::collect();
        let later = memory_report();
        assert!(later.arenas <= 2, "{later}");
        assert_eq!(later.spare_arenas, later.arenas - later.pools, "{later}");
    });
}

#[test]
fn fullest_arena_is_refilled_first() {
    run(|| {
        // Fill ~3 arenas, free every other object of the first half: new
        // objects must reuse those holes rather than grow the heap.
        let mut objs: Vec<Option<Gc<[u64; 5]>>> =
            (0..60_000).map(|i| Some(Gc::new([i; 5]))).collect();
        let arenas = memory_report().arenas;
        for o in objs.iter_mut().take(30_000).step_by(2) {
            *o = None;
        }
        let refill: Vec<Gc<[u64; 5]>> = (0..15_000).map(|i| Gc::new([i; 5])).collect();
        assert_eq!(memory_report().arenas, arenas);
        assert_eq!(memory_report().used_blocks(), 60_000);
        drop(refill);
    });
}

#[test]
fn large_objects_are_allocated_alone_and_freed_at_death() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let big = Gc::new(([0u8; 4096], DropCount(drops.clone())));
        let r = memory_report();
        assert_eq!(r.large_objects, 1);
        assert!(r.large_bytes >= 4096 + 8);
        assert_eq!(r.used_blocks(), 0, "a large object takes no pool block");
        let big2 = big.clone();
        drop(big);
        assert_eq!(memory_report().large_objects, 1);
        drop(big2);
        assert_eq!(drops.get(), 1);
        let r = memory_report();
        assert_eq!((r.large_objects, r.large_bytes), (0, 0));
    });
}

#[test]
fn over_aligned_values_are_large_and_aligned() {
    #[repr(align(64))]
    struct Aligned(u8);
    unsafe impl Trace for Aligned {
        fn trace(&self, _: &mut Tracer<'_>) {}
        fn needs_trace() -> bool {
            false
        }
    }
    run(|| {
        let a = Gc::new(Aligned(7));
        assert_eq!(Gc::as_ptr(&a) as usize % 64, 0);
        assert_eq!(a.0, 7);
        assert_eq!(memory_report().large_objects, 1);
    });
}

#[test]
fn weak_upgrades_only_while_the_value_lives() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let a = Gc::new(DropCount(drops.clone()));
        let w = Gc::downgrade(&a);
        let w2 = w.clone();
        assert_eq!((Gc::strong_count(&a), Gc::weak_count(&a)), (1, 2));
        assert!(w.upgrade().is_some());
        drop(a);
        assert_eq!(drops.get(), 1, "a Weak does not keep the value alive");
        assert!(w.upgrade().is_none());
        assert_eq!((w.strong_count(), w.weak_count()), (0, 0));
        // The block stays until the last Weak goes, then is reused.
        assert_eq!(memory_report().used_blocks(), 1);
        drop(w);
        assert_eq!(memory_report().used_blocks(), 1);
        drop(w2);
        assert_eq!(memory_report().used_blocks(), 0);
        assert!(Weak::<u8>::new().upgrade().is_none());
    });
}

#[test]
fn weak_dropped_inside_the_values_own_drop_is_safe() {
    struct SelfWeak {
        me: RefCell<Weak<SelfWeak>>,
    }
    unsafe impl Trace for SelfWeak {
        fn trace(&self, _: &mut Tracer<'_>) {}
        fn needs_trace() -> bool {
            false
        }
    }
    run(|| {
        let a = Gc::new(SelfWeak {
            me: RefCell::new(Weak::new()),
        });
        *a.me.borrow_mut() = Gc::downgrade(&a);
        drop(a); // drops the value, whose Weak is the last one
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn new_cyclic_links_to_itself() {
    struct Me {
        me: Weak<Me>,
        seen_during_construction: bool,
    }
    unsafe impl Trace for Me {
        fn trace(&self, _: &mut Tracer<'_>) {}
        fn needs_trace() -> bool {
            false
        }
    }
    run(|| {
        let me = Gc::new_cyclic(|w| Me {
            me: w.clone(),
            seen_during_construction: w.upgrade().is_some(),
        });
        assert!(!me.seen_during_construction);
        assert!(Gc::ptr_eq(&me.me.upgrade().unwrap(), &me));
        assert_eq!((Gc::strong_count(&me), Gc::weak_count(&me)), (1, 1));
        drop(me);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn new_cyclic_panic_frees_the_block() {
    run(|| {
        let kept: Rc<RefCell<Option<Weak<u32>>>> = Rc::default();
        let k = kept.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Gc::<u32>::new_cyclic(|w| {
                *k.borrow_mut() = Some(w.clone());
                panic!("constructor fails");
            })
        }));
        assert!(r.is_err());
        let w = kept.borrow_mut().take().unwrap();
        assert!(w.upgrade().is_none());
        assert_eq!(
            memory_report().used_blocks(),
            1,
            "the leaked Weak keeps the empty block"
        );
        drop(w);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn make_mut_copies_on_write() {
    run(|| {
        let mut a = Gc::new(vec![1, 2]);
        let b = a.clone();
        Gc::make_mut(&mut a).push(3);
        assert_eq!((a.as_slice(), b.as_slice()), (&[1, 2, 3][..], &[1, 2][..]));
        assert!(!Gc::ptr_eq(&a, &b));
        let addr = Gc::as_ptr(&a);
        Gc::make_mut(&mut a).push(4); // unique now: no copy
        assert_eq!(Gc::as_ptr(&a), addr);
        // Shared only with a Weak: moved, the Weak disassociated.
        let w = Gc::downgrade(&a);
        Gc::make_mut(&mut a).push(5);
        assert!(w.upgrade().is_none());
        assert_eq!(*a, vec![1, 2, 3, 4, 5]);
    });
}

#[test]
fn get_mut_try_unwrap_into_inner() {
    run(|| {
        let mut a = Gc::new(String::from("x"));
        Gc::get_mut(&mut a).unwrap().push('y');
        let b = a.clone();
        assert!(Gc::get_mut(&mut a).is_none(), "shared: no &mut");
        let a = Gc::try_unwrap(a).unwrap_err();
        drop(b);
        let w = Gc::downgrade(&a);
        let mut a2 = a.clone();
        drop(a);
        assert!(Gc::get_mut(&mut a2).is_none(), "a Weak exists: no &mut");
        assert_eq!(Gc::try_unwrap(a2).unwrap(), "xy");
        assert!(w.upgrade().is_none(), "unwrapped: the Weak is dead");
        assert_eq!(Gc::into_inner(Gc::new(3)), Some(3));
    });
}

#[test]
fn get_mut_on_a_tracked_object_is_never_read_by_the_collector() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let mut a = node(&drops, None);
        let m = Gc::get_mut(&mut a).unwrap();
        *m.next.get_mut() = Some(node(&drops, None));
        // A collection with the borrow's object tracked must leave it alone.
        assert_eq!(gengc::collect(), 0);
        m.next.get_mut().take();
        assert_eq!(drops.get(), 1);
        // After the borrow, the object takes part in cycles again.
        *a.next.borrow_mut() = Some(a.clone());
        drop(a);
        assert_eq!(gengc::collect(), 1);
        assert_eq!(drops.get(), 2);
    });
}

#[test]
fn a_handle_that_lent_its_value_still_counts_and_dies_like_any_other() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let used = memory_report().used_blocks();
        let mut a = node(&drops, None);
        *Gc::get_mut(&mut a).unwrap().next.get_mut() = Some(node(&drops, None));
        // The lend is marked in the strong count; it reads as one handle.
        assert_eq!(Gc::strong_count(&a), 1);
        assert_eq!(memory_report().used_blocks(), used + 2);
        // Dropped without ever being cloned: the value and what it owns go.
        drop(a);
        assert_eq!(drops.get(), 2);
        assert_eq!(memory_report().used_blocks(), used);

        // A clone ends the lend: two handles, then one, then none.
        let mut b = node(&drops, None);
        Gc::get_mut(&mut b).unwrap();
        let c = b.clone();
        assert_eq!((Gc::strong_count(&b), Gc::strong_count(&c)), (2, 2));
        drop(c);
        assert_eq!(Gc::strong_count(&b), 1);
        // Lent again, and unwrapped: the unique handle gives its value up.
        Gc::get_mut(&mut b).unwrap();
        let value = Gc::try_unwrap(b).ok().expect("unique");
        assert_eq!(drops.get(), 2);
        drop(value);
        assert_eq!(drops.get(), 3);

        // A downgrade ends it too, and the Weak sees the death.
        let mut d = node(&drops, None);
        Gc::get_mut(&mut d).unwrap();
        let w = Gc::downgrade(&d);
        assert_eq!(w.strong_count(), 1);
        assert!(w.upgrade().is_some());
        drop(d);
        assert!(w.upgrade().is_none());
        assert_eq!(w.strong_count(), 0);
        assert_eq!(drops.get(), 4);
    });
}

#[test]
fn dropping_a_million_long_chain_does_not_overflow_the_stack() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let mut head = None;
        for _ in 0..1_000_000 {
            head = Some(node(&drops, head));
        }
        drop(head);
        assert_eq!(drops.get(), 1_000_000);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn dropping_a_deep_chain_of_dyn_and_large_nodes_is_iterative() {
    struct Big {
        next: Option<Gc<Big>>,
        _pad: [u8; 600],
    }
    unsafe impl Trace for Big {
        fn trace(&self, t: &mut Tracer<'_>) {
            self.next.trace(t);
        }
    }
    run(|| {
        let mut head = None;
        for _ in 0..200_000 {
            head = Some(Gc::new(Big {
                next: head,
                _pad: [0; 600],
            }));
        }
        drop(head);
        assert_eq!(memory_report().large_objects, 0);
    });
}

#[test]
fn slices_and_strings() {
    run(|| {
        let s: Gc<str> = Gc::from("hello");
        let s2: Gc<str> = Gc::from(String::from("hello"));
        assert_eq!(s, s2);
        assert_eq!(format!("{s}"), "hello");
        let v: Gc<[u32]> = (0..10).collect();
        assert_eq!(v.iter().sum::<u32>(), 45);
        let big: Gc<[u64]> = Gc::from(vec![7; 1000]);
        assert_eq!(memory_report().large_objects, 1);
        assert_eq!(big[999], 7);
        let drops = Rc::new(Cell::new(0));
        let owned: Gc<[DropCount]> =
            Gc::from(vec![DropCount(drops.clone()), DropCount(drops.clone())]);
        drop(owned);
        assert_eq!(drops.get(), 2);
        drop((s, s2, v, big));
        assert_eq!(memory_report().used_blocks(), 0);
        assert_eq!(memory_report().large_objects, 0);
    });
}

#[test]
fn conversions_from_arrays_boxes_and_cows_move_each_value_once() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let three = || std::array::from_fn::<_, 3, _>(|_| DropCount(drops.clone()));
        let from_array: Gc<[DropCount]> = Gc::from(three());
        let from_boxed_slice: Gc<[DropCount]> = Gc::from(Box::from(three()) as Box<[DropCount]>);
        let from_box: Gc<DropCount> = Gc::from(Box::new(DropCount(drops.clone())));
        assert_eq!(drops.get(), 0, "moved, not dropped on the way");
        assert_eq!((from_array.len(), from_boxed_slice.len()), (3, 3));
        drop((from_array, from_boxed_slice, from_box));
        assert_eq!(drops.get(), 7);

        let strs: [Gc<str>; 3] = [
            Gc::from(Box::<str>::from("s")),
            Gc::from(std::borrow::Cow::Borrowed("s")),
            Gc::from(std::borrow::Cow::<str>::Owned(String::from("s"))),
        ];
        assert!(strs.iter().all(|s| &**s == "s"));
        drop(strs);
        let (empty_str, empty_slice): (Gc<str>, Gc<[DropCount]>) = Default::default();
        assert_eq!((empty_str.len(), empty_slice.len()), (0, 0));
        drop((empty_str, empty_slice));
        let owned: Gc<[u32]> = Gc::from(std::borrow::Cow::<[u32]>::Owned(vec![1, 2]));
        let borrowed: Gc<[u32]> = Gc::from(std::borrow::Cow::Borrowed(&[1u32, 2][..]));
        assert_eq!(owned, borrowed);
        drop((owned, borrowed));
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn a_boxed_value_larger_than_the_stack_converts_heap_to_heap() {
    // 8 MiB: four times the test thread's whole stack, so a copy through
    // the stack would overflow it (it did, in a debug build, before the
    // conversion copied heap to heap).
    const SIZE: usize = 8 << 20;
    run(|| {
        let boxed: Box<[u8; SIZE]> = vec![7u8; SIZE].into_boxed_slice().try_into().unwrap();
        let gc: Gc<[u8; SIZE]> = Gc::from(boxed);
        assert!(gc.iter().all(|&b| b == 7));
        assert_eq!(memory_report().large_objects, 1);
        drop(gc);
        assert_eq!(memory_report().large_objects, 0);
    });
}

#[test]
fn slices_of_gcs_take_part_in_cycles() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let a = node(&drops, None);
        let slice: Gc<[Gc<Node>]> = Gc::from(vec![a.clone(), a.clone()]);
        // Close a cycle through the slice: a -> holder -> slice -> a.
        struct Holder(Gc<[Gc<Node>]>);
        unsafe impl Trace for Holder {
            fn trace(&self, t: &mut Tracer<'_>) {
                self.0.trace(t);
            }
        }
        let holder = Gc::new(Holder(slice));
        let link = Gc::new(Node {
            next: RefCell::new(None),
            _drops: DropCount(drops.clone()),
        });
        *a.next.borrow_mut() = Some(link.clone());
        *link.next.borrow_mut() = None;
        let _ = holder;
        drop((a, link));
        assert_eq!(gengc::collect(), 0, "held from the stack by `holder`");
    });
}

#[test]
fn dyn_coercion() {
    trait Shape: Trace {
        fn area(&self) -> u32;
    }
    struct Sq(u32, #[allow(dead_code)] DropCount);
    unsafe impl Trace for Sq {
        fn trace(&self, _: &mut Tracer<'_>) {}
        fn needs_trace() -> bool {
            false
        }
    }
    impl Shape for Sq {
        fn area(&self) -> u32 {
            self.0 * self.0
        }
    }
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let s: Gc<dyn Shape> = coerce_gc!(Gc::new(Sq(3, DropCount(drops.clone()))) => dyn Shape);
        let s2 = s.clone();
        assert_eq!(s2.area(), 9);
        assert!(Gc::ptr_eq(&s, &s2));
        drop((s, s2));
        assert_eq!(drops.get(), 1);
        let b: Box<dyn Shape> = Box::new(Sq(2, DropCount(drops.clone())));
        let in_gc = Gc::new(vec![b]);
        assert_eq!(in_gc[0].area(), 4);
    });
}

#[test]
fn rc_like_trait_impls() {
    use std::collections::{BTreeSet, HashSet};
    run(|| {
        let a = Gc::new(3);
        let b = Gc::new(3);
        assert_eq!(a, b);
        assert!(Gc::new(2) < a);
        assert_eq!(format!("{a:?} {a}"), "3 3");
        assert!(format!("{a:p}").starts_with("0x"));
        let set: HashSet<Gc<i32>> = [a.clone(), b.clone()].into_iter().collect();
        assert_eq!(set.len(), 1);
        let tree: BTreeSet<Gc<i32>> = [Gc::new(2), a.clone()].into_iter().collect();
        assert_eq!(tree.len(), 2);
        let d: Gc<String> = Gc::default();
        assert!(d.is_empty());
        let f: Gc<u8> = Gc::from(9);
        let r: &u8 = std::borrow::Borrow::borrow(&f);
        assert_eq!(*r, 9);
        assert_eq!(*f.as_ref(), 9);
    });
}

#[test]
fn leaf_objects_are_not_tracked() {
    run(|| {
        assert!(!gengc::gc::is_tracked(&Gc::new(1u64)));
        assert!(!gengc::gc::is_tracked(&Gc::new(String::new())));
        assert!(!gengc::gc::is_tracked(&Gc::new(vec![1u8])));
        // Fixed edges to untracked objects only: born settled, as CPython
        // creates `{"a": 1}` untracked.
        let settled = Gc::new(vec![Gc::new(1u8)]);
        assert!(!gengc::gc::is_tracked(&settled));
        // A cell can gain a tracked edge later; an edge to a tracked object
        // may close a cycle.
        let tracked = Gc::new(RefCell::new(vec![Gc::new(1u8)]));
        assert!(gengc::gc::is_tracked(&tracked));
        let over_tracked = Gc::new(vec![tracked.clone()]);
        assert!(gengc::gc::is_tracked(&over_tracked));
        assert_eq!(
            gengc::gc::count().0,
            2,
            "two tracked objects alive, the leaves and the settled one not counted"
        );
    });
}

thread_local! {
    static KEPT: RefCell<Option<Gc<Node>>> = const { RefCell::new(None) };
}

#[test]
fn a_gc_outliving_its_heap_at_thread_exit_stays_valid() {
    // `KEPT` is created after the heap on this thread, so it is destroyed
    // first or later depending on registration order; either way its Gc
    // must stay valid and its drop must neither panic nor touch freed
    // memory. Run under Miri/valgrind to check the "no UB" half.
    let drops = Rc::new(Cell::new(0));
    let _ = drops;
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let a = node(&drops, Some(node(&drops, None)));
        KEPT.with(|k| *k.borrow_mut() = Some(a));
    });
}

/// A link of a chain kept in a thread-local past its heap's teardown.
struct ExitLink {
    next: Option<Gc<ExitLink>>,
    _counted: common::Counted,
}

unsafe impl Trace for ExitLink {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.next.trace(tracer);
    }
}

/// Drops its chain when the thread-local holding it is destroyed, noting
/// first whether the thread's heap was already gone.
struct ExitChain {
    head: Option<Gc<ExitLink>>,
    heap_was_gone: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for ExitChain {
    fn drop(&mut self) {
        // A torn-down heap reports no arena.
        let gone = memory_report().arenas == 0;
        self.heap_was_gone
            .store(gone, std::sync::atomic::Ordering::SeqCst);
        drop(self.head.take());
    }
}

thread_local! {
    static EXIT_CHAIN: RefCell<Option<ExitChain>> = const { RefCell::new(None) };
}

#[test]
fn a_deep_chain_dropped_after_its_heap_is_torn_down_is_dropped_iteratively() {
    // The chain's thread-local is first used before the heap exists, so it
    // is destroyed after the heap's teardown (thread-locals go in reverse
    // order of first use): its 100,000 deaths run after the heap is gone
    // (the trashcan's depth and deferred list must still work), on a
    // 256 KiB stack that a recursive drop would overflow.
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    let drops = Arc::new(AtomicUsize::new(0));
    let heap_was_gone = Arc::new(AtomicBool::new(false));
    let (d, g) = (drops.clone(), heap_was_gone.clone());
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            EXIT_CHAIN.with(|_| {});
            let mut head = None;
            for _ in 0..100_000 {
                head = Some(Gc::new(ExitLink {
                    next: head,
                    _counted: common::Counted(d.clone()),
                }));
            }
            EXIT_CHAIN.with(|c| {
                *c.borrow_mut() = Some(ExitChain {
                    head,
                    heap_was_gone: g,
                })
            });
        })
        .expect("spawn")
        .join()
        .expect("the chain's drop at thread exit did not panic");
    assert!(heap_was_gone.load(SeqCst), "the chain outlived its heap");
    assert_eq!(drops.load(SeqCst), 100_000);
}

#[test]
fn cycles_alive_at_thread_exit_are_collected() {
    let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let d = drops.clone();
    run(move || {
        struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        struct Cyc {
            next: RefCell<Option<Gc<Cyc>>>,
            _c: Counted,
        }
        unsafe impl Trace for Cyc {
            fn trace(&self, t: &mut Tracer<'_>) {
                self.next.trace(t);
            }
        }
        for _ in 0..10 {
            let a = Gc::new(Cyc {
                next: RefCell::new(None),
                _c: Counted(d.clone()),
            });
            let b = Gc::new(Cyc {
                next: RefCell::new(Some(a.clone())),
                _c: Counted(d.clone()),
            });
            *a.next.borrow_mut() = Some(b);
        }
        gengc::gc::disable();
    });
    assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 20);
}

#[cfg(unix)]
#[test]
fn too_many_weaks_abort_instead_of_overflowing_into_the_flags() {
    // The weak count shares its header word with the death kind and the
    // flags: one `Weak` past its 25 bits must abort (like an overflowing
    // `Rc` count), not carry into them. Checked in a child process, which
    // the abort ends.
    const CHILD: &str = "GENGC_WEAK_OVERFLOW_CHILD";
    const MAX_WEAKS: usize = (1 << 25) - 2;
    if std::env::var_os(CHILD).is_some() {
        let a = Gc::new(1u8);
        for _ in 0..MAX_WEAKS {
            std::mem::forget(Gc::downgrade(&a));
        }
        assert_eq!(Gc::weak_count(&a), MAX_WEAKS);
        assert_eq!(*a, 1);
        eprintln!("weak count full");
        std::mem::forget(Gc::downgrade(&a));
        unreachable!("one Weak too many was made");
    }
    use std::os::unix::process::ExitStatusExt;
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "too_many_weaks_abort_instead_of_overflowing_into_the_flags",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("weak count full"), "child: {stderr}");
    assert_eq!(out.status.signal(), Some(6), "SIGABRT; child: {stderr}");
}
