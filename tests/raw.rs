//! Raw pointers and `unwrap_or_clone`: `Gc::into_raw` / `Gc::from_raw`,
//! `Weak::as_ptr` / `Weak::into_raw` / `Weak::from_raw` (the `std::rc`
//! API), with exact drop counts and block counts.

use gengc::{coerce_gc, memory_report, Gc, Trace, Weak};
use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::rc::Rc;

mod common;
use common::{run, DropCount};

#[test]
fn test_into_raw_keeps_the_strong_reference_until_from_raw() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let a = Gc::new(DropCount(drops.clone()));
        let b = a.clone();
        let raw = Gc::into_raw(a);
        assert_eq!(raw, Gc::as_ptr(&b));
        assert_eq!(
            Gc::strong_count(&b),
            2,
            "the raw pointer still holds its reference"
        );
        drop(b);
        assert_eq!(drops.get(), 0, "the raw pointer keeps the value alive");
        // SAFETY: `raw` came from `Gc::into_raw` on this thread, used once.
        let back = unsafe { Gc::from_raw(raw) };
        assert_eq!(Gc::strong_count(&back), 1);
        drop(back);
        assert_eq!(drops.get(), 1);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn test_strong_counts_change_through_raw_pointers() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let raw = Gc::into_raw(Gc::new(DropCount(drops.clone())));
        let count = || {
            // SAFETY: `raw` still carries a reference; this handle is not
            // dropped, so it gives none back.
            let probe = std::mem::ManuallyDrop::new(unsafe { Gc::from_raw(raw) });
            Gc::strong_count(&probe)
        };
        // SAFETY: `raw` came from `Gc::into_raw` and carries each reference
        // given back below exactly once.
        unsafe {
            Gc::increment_strong_count(raw);
            Gc::increment_strong_count(raw);
            assert_eq!(count(), 3);
            Gc::decrement_strong_count(raw);
            Gc::decrement_strong_count(raw);
            assert_eq!(count(), 1);
            assert_eq!(drops.get(), 0);
            Gc::decrement_strong_count(raw);
        }
        assert_eq!(
            drops.get(),
            1,
            "the last reference given back drops the value"
        );
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

/// Round-trips `value` through `into_raw`/`from_raw`, and a `Weak` to it
/// through `Weak::into_raw`/`Weak::from_raw`, and checks both point to the
/// same object with the same value.
fn round_trip<T: Trace + PartialEq + Debug + Clone + 'static>(value: T) {
    let a = Gc::new(value.clone());
    let keep = a.clone();
    // SAFETY: the pointer comes from `Gc::<T>::into_raw`, used once.
    let back = unsafe { Gc::from_raw(Gc::into_raw(a)) };
    assert!(Gc::ptr_eq(&back, &keep));
    assert_eq!(*back, value);
    assert_eq!(Gc::strong_count(&keep), 2);
    // SAFETY: the pointer comes from `Weak::<T>::into_raw`, used once.
    let weak = unsafe { Weak::from_raw(Weak::into_raw(Gc::downgrade(&keep))) };
    assert!(Gc::ptr_eq(&weak.upgrade().unwrap(), &keep));
    assert_eq!(Gc::weak_count(&keep), 1);
}

#[derive(Trace, Clone, Copy, PartialEq, Debug)]
#[repr(align(32))]
struct Align32(u8);

#[derive(Trace, Clone, Copy, PartialEq, Debug)]
#[repr(align(4096))]
struct Align4096(u64);

#[test]
fn test_from_raw_finds_the_object_at_every_alignment() {
    run(|| {
        round_trip(7u8);
        round_trip(7u16);
        round_trip(7u64);
        round_trip(7u128); // 16-aligned: the largest pooled alignment
        round_trip(Align32(7)); // over-aligned: a large object
        round_trip(Align4096(7));
        round_trip([9u64; 100]); // 800 bytes: a large object
        round_trip(String::from("owned"));
        assert_eq!(memory_report().used_blocks(), 0);
        assert_eq!(memory_report().large_objects, 0);
    });
}

trait Shape: Trace {
    fn area(&self) -> u32;
}

#[derive(Trace)]
struct Square(u32);

impl Shape for Square {
    fn area(&self) -> u32 {
        self.0 * self.0
    }
}

#[test]
fn test_from_raw_rebuilds_unsized_handles() {
    run(|| {
        let s: Gc<str> = Gc::from("text");
        // SAFETY: each pointer comes from `into_raw` of the same type, once.
        let s = unsafe { Gc::from_raw(Gc::into_raw(s)) };
        assert_eq!(&*s, "text");

        let v: Gc<[u128]> = Gc::from(vec![1u128, 2, 3]);
        let v = unsafe { Gc::from_raw(Gc::into_raw(v)) };
        assert_eq!(&*v, &[1, 2, 3]);

        let shape: Gc<dyn Shape> = coerce_gc!(Gc::new(Square(3)) => dyn Shape);
        let shape = unsafe { Gc::from_raw(Gc::into_raw(shape)) };
        assert_eq!(shape.area(), 9);
        let raw: *const dyn Shape = Gc::<Square>::into_raw(Gc::new(Square(4)));
        let coerced: Gc<dyn Shape> = unsafe { Gc::from_raw(raw) };
        assert_eq!(coerced.area(), 16);

        // A sized pointer coerced to an unsized one, as `Rc::from_raw` allows.
        let array = Gc::new([4u16, 5, 6]);
        let raw: *const [u16] = Gc::<[u16; 3]>::into_raw(array);
        let slice: Gc<[u16]> = unsafe { Gc::from_raw(raw) };
        assert_eq!(&*slice, &[4, 5, 6]);

        drop((s, v, shape, coerced, slice));
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
    _drops: DropCount,
}

#[test]
fn test_a_raw_pointer_is_an_outside_reference_to_the_collector() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let node = || {
            Gc::new(Node {
                next: RefCell::new(None),
                _drops: DropCount(drops.clone()),
            })
        };
        let (a, b) = (node(), node());
        *a.next.borrow_mut() = Some(b.clone());
        *b.next.borrow_mut() = Some(a.clone());
        drop(b);
        let raw = Gc::into_raw(a);
        assert_eq!(gengc::collect(), 0, "the cycle is held by the raw pointer");
        assert_eq!(drops.get(), 0);
        // SAFETY: `raw` came from `Gc::into_raw` on this thread, used once.
        drop(unsafe { Gc::from_raw(raw) });
        assert_eq!(gengc::collect(), 2);
        assert_eq!(drops.get(), 2);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

/// Counts its clones.
#[derive(Trace, PartialEq, Debug)]
struct Cloned {
    v: u32,
    #[gc(skip)]
    clones: Rc<Cell<usize>>,
}

impl Clone for Cloned {
    fn clone(&self) -> Cloned {
        self.clones.set(self.clones.get() + 1);
        Cloned {
            v: self.v,
            clones: self.clones.clone(),
        }
    }
}

#[test]
fn test_unwrap_or_clone_moves_a_unique_value_and_clones_a_shared_one() {
    run(|| {
        let clones = Rc::new(Cell::new(0));
        let value = |v| Cloned {
            v,
            clones: clones.clone(),
        };
        assert_eq!(Gc::unwrap_or_clone(Gc::new(value(1))).v, 1);
        assert_eq!(clones.get(), 0, "a unique value is moved out");

        let a = Gc::new(value(2));
        let weak = Gc::downgrade(&a);
        let b = a.clone();
        assert_eq!(Gc::unwrap_or_clone(a).v, 2);
        assert_eq!(clones.get(), 1, "a shared value is cloned");
        assert_eq!(Gc::strong_count(&b), 1);
        assert!(weak.upgrade().is_some());

        // The last handle moves the value out; the Weak sees it gone.
        assert_eq!(Gc::unwrap_or_clone(b).v, 2);
        assert_eq!(clones.get(), 1);
        assert!(weak.upgrade().is_none());
        drop(weak);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn test_weak_raw_round_trip_keeps_the_weak_reference() {
    run(|| {
        let drops = Rc::new(Cell::new(0));
        let strong = Gc::new(DropCount(drops.clone()));
        let weak = Gc::downgrade(&strong);
        assert_eq!(weak.as_ptr(), Gc::as_ptr(&strong));
        let raw = Weak::into_raw(weak);
        assert_eq!(
            Gc::weak_count(&strong),
            1,
            "the raw pointer holds its weak reference"
        );
        // SAFETY: `raw` came from `Weak::into_raw` on this thread, used once.
        let weak = unsafe { Weak::from_raw(raw) };
        assert!(Gc::ptr_eq(&weak.upgrade().unwrap(), &strong));

        // A raw pointer outlives the value: the block stays until it comes back.
        let raw = Weak::into_raw(weak);
        drop(strong);
        assert_eq!(drops.get(), 1);
        assert_eq!(
            memory_report().used_blocks(),
            1,
            "the weak reference keeps the block"
        );
        let weak = unsafe { Weak::from_raw(raw) };
        assert!(weak.upgrade().is_none());
        assert_eq!(
            weak.as_ptr(),
            raw,
            "as_ptr stays valid to compare after death"
        );
        drop(weak);
        assert_eq!(memory_report().used_blocks(), 0);
    });
}

#[test]
fn test_a_dangling_weak_round_trips() {
    let weak: Weak<u64> = Weak::new();
    let raw = Weak::into_raw(weak);
    // The sentinel address itself, not an offset from it.
    assert_eq!(raw.addr(), usize::MAX);
    // SAFETY: `raw` came from `Weak::into_raw`, used once.
    let weak = unsafe { Weak::from_raw(raw) };
    assert!(weak.upgrade().is_none());
    assert!(weak.ptr_eq(&Weak::new()));
    assert_eq!(weak.as_ptr(), raw);
}
