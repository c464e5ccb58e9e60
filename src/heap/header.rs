//! The object header: the only per-object metadata, 8 bytes.
//!
//! Everything else about a block (which generation it is in, whether it is
//! allocated) lives in its pool's bitmaps; the type's vtable lives in the
//! pool header (pools are segregated by type). What must stay in the object
//! is what a `Gc` or `Weak` has to read without first finding its block
//! index: the two counts, and four sticky flags packed into the top bits of
//! the weak word.

use std::cell::Cell;

/// Strong counts above this abort the process, like `Rc` does on overflow.
/// Kept below `1 << 30` so the collector's scratch count (`COUNT_BASE` plus
/// the strong count, less the internal references) always stays between 0
/// and the REACHABLE mark (`1 << 31`).
pub(crate) const MAX_STRONG: u32 = (1 << 30) - 1;

/// Bits of the weak word that hold the count; the rest are flags.
const WEAK_COUNT_MASK: u32 = (1 << 27) - 1;
/// The object is a large object (own allocation, `LargeHeader` in front).
/// Sized types know this at compile time; `Gc<dyn Trait>` and slices read it.
pub(crate) const FLAG_LARGE: u32 = 1 << 27;
/// A `&mut T` was lent out by `Gc::get_mut`/`Gc::make_mut`; the collector
/// must not read the value until it has proved no such borrow can be live.
pub(crate) const FLAG_MUT_LENT: u32 = 1 << 28;
/// The finalizer has run (PEP 442: at most once per object).
pub(crate) const FLAG_FINALIZED: u32 = 1 << 29;
/// The collector judged the object garbage: `Weak::upgrade` fails for good.
pub(crate) const FLAG_CONDEMNED: u32 = 1 << 30;
/// The value has been dropped in place; dropping it again would be a double drop.
pub(crate) const FLAG_DROPPED: u32 = 1 << 31;

/// Reference counts of one object, placed right before its value.
///
/// `weak` counts the `Weak` handles plus one held collectively by the strong
/// handles (the same scheme as `std::rc`), so a `Weak` dropped from inside the
/// value's own destructor cannot free the block under it.
#[repr(C)]
pub(crate) struct Header {
    strong: Cell<u32>,
    weak: Cell<u32>,
}

impl Header {
    /// A header for a freshly allocated value held by one `Gc`.
    pub(crate) const fn new_strong(flags: u32) -> Header {
        Header {
            strong: Cell::new(1),
            weak: Cell::new(1 | flags),
        }
    }

    /// A header for `Gc::new_cyclic`: no strong handle yet, one weak (the
    /// strong group's) that the constructor turns into the strong group.
    pub(crate) const fn new_cyclic(flags: u32) -> Header {
        Header {
            strong: Cell::new(0),
            weak: Cell::new(1 | flags),
        }
    }

    #[inline(always)]
    pub(crate) fn strong(&self) -> u32 {
        self.strong.get()
    }

    #[inline(always)]
    pub(crate) fn set_strong(&self, n: u32) {
        self.strong.set(n);
    }

    /// Adds one strong reference; aborts on overflow like `Rc::clone`.
    #[inline(always)]
    pub(crate) fn inc_strong(&self) {
        let n = self.strong.get();
        if n >= MAX_STRONG {
            std::process::abort();
        }
        self.strong.set(n + 1);
    }

    /// A new handle is being made from an existing one. A `&mut` lent by
    /// `Gc::get_mut` borrows the object's only handle mutably, so if a handle
    /// can be used to make another, that borrow has ended.
    #[inline(always)]
    pub(crate) fn end_mut_lend(&self) {
        if self.has_flag(FLAG_MUT_LENT) {
            self.clear_flag(FLAG_MUT_LENT);
        }
    }

    /// Whether a `&mut` lent by `Gc::get_mut` may still be live: the flag is
    /// set and the counts are still those `get_mut` requires (one strong
    /// handle, no `Weak`) — any other handle could only have been made after
    /// the borrow ended.
    #[inline(always)]
    pub(crate) fn may_be_lent(&self) -> bool {
        self.has_flag(FLAG_MUT_LENT) && self.strong.get() == 1 && self.weak_raw() == 1
    }

    /// Removes one strong reference and returns the new count.
    #[inline(always)]
    pub(crate) fn dec_strong(&self) -> u32 {
        let n = self.strong.get() - 1;
        self.strong.set(n);
        n
    }

    /// The raw weak count (including the strong group's implicit one).
    #[inline(always)]
    pub(crate) fn weak_raw(&self) -> u32 {
        self.weak.get() & WEAK_COUNT_MASK
    }

    #[inline(always)]
    pub(crate) fn inc_weak(&self) {
        let w = self.weak.get();
        if w & WEAK_COUNT_MASK == WEAK_COUNT_MASK {
            std::process::abort();
        }
        self.weak.set(w + 1);
    }

    /// Removes one weak reference and returns the new raw count.
    #[inline(always)]
    pub(crate) fn dec_weak(&self) -> u32 {
        let w = self.weak.get() - 1;
        self.weak.set(w);
        w & WEAK_COUNT_MASK
    }

    #[inline(always)]
    pub(crate) fn has_flag(&self, flag: u32) -> bool {
        self.weak.get() & flag != 0
    }

    #[inline(always)]
    pub(crate) fn set_flag(&self, flag: u32) {
        self.weak.set(self.weak.get() | flag);
    }

    #[inline(always)]
    pub(crate) fn clear_flag(&self, flag: u32) {
        self.weak.set(self.weak.get() & !flag);
    }

    /// Whether `Weak::upgrade` may hand out a new strong handle.
    #[inline(always)]
    pub(crate) fn is_upgradable(&self) -> bool {
        self.strong.get() != 0 && !self.has_flag(FLAG_CONDEMNED | FLAG_DROPPED)
    }
}

/// The allocation behind a `Gc<T>`: the header, then the value.
#[repr(C)]
/// Not public API: named by `coerce_gc!` only.
#[doc(hidden)]
pub struct GcBox<T: ?Sized> {
    pub(crate) header: Header,
    pub(crate) value: T,
}

const _: () = assert!(std::mem::size_of::<Header>() == 8);
const _: () = assert!(std::mem::size_of::<GcBox<()>>() == 8);
