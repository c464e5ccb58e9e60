//! The object header: the only per-object metadata, 8 bytes.
//!
//! Everything else about a block (which generation it is in, whether it is
//! allocated) lives in its pool's bitmaps; the type's vtable lives in the
//! pool header (pools are segregated by type). What must stay in the object
//! is what a `Gc` or `Weak` has to read without first finding its block
//! index: the two counts, the way the object dies ([`Death`]), the
//! large-object bit and four flags packed into the top bits of the weak
//! word, and the lent-or-watched marker in the top bit of the strong word.
//!
//! The death kind is the type's, and the pool header has it too, but a
//! dying object must not have to read its pool header to learn it: pool
//! headers sit at 16 KiB-aligned addresses, which all fall into the same
//! few sets of every cache level, so a depth-first drop of a big structure
//! (one pool-header read per node, from pool to pool) missed the L1 and L2
//! caches on most of them. Reading the object's own header instead took a
//! 1M-node tree's drop from 19-24 ms to 11-15 ms (`Rc`: 13-16 ms).

use std::cell::Cell;
use std::ptr::NonNull;

/// Strong counts above this abort the process, like `Rc` does on overflow.
/// Kept below `1 << 30` so the collector's scratch count (`COUNT_BASE` plus
/// the strong count, less the internal references) always stays between 0
/// and the REACHABLE mark (`1 << 31`).
pub(crate) const MAX_STRONG: u32 = (1 << 30) - 1;

/// The strong word holds the count times [`STRONG_ONE`] (bits 1 to 30)
/// and two marks, both off the hot paths, which keep an add or a subtract
/// and one sign test each, like `Rc`'s:
///
/// - [`STRONG_SPECIAL`], the top bit: the object is *lent* or *watched*.
///   - Lent: a `&mut T` lent out by `Gc::get_mut` or `Gc::make_mut` may be
///     live, and the collector must not read the value until it has proved
///     no such borrow can be live (see `collector::detect`). Lent words also
///     carry [`STRONG_LENT`]. Only ever set on a count of exactly one (the
///     handle the borrow came from, with no `Weak`); making another handle
///     proves the borrow over and clears it.
///   - Watched: a full collection proved the object reachable, and must
///     hear of the first drop of its count that leaves it alive, which may
///     make it cyclic garbage (see `collector::suspects`). Clear on young
///     and middle objects (a full collection reads them anyway) and on old
///     ones already noted as suspects. Set is always safe (it costs a note);
///     clear must be earned.
/// - `clone` adds `STRONG_ONE`: the word is negative as an `i32` for a
///   special word and when the count passes [`MAX_STRONG`] (bit 30 of the
///   count is bit 31 of the word), all sorted out off the fast path.
/// - `drop` subtracts it: the last handle of an ordinary word leaves 0, and
///   a special word stays negative: "not positive" catches all of them, and
///   the caller's out-of-line death path sorts them out
///   ([`Header::confirm_death`]).
const STRONG_SPECIAL: u32 = 1 << 31;
/// With [`STRONG_SPECIAL`]: the special word is lent.
const STRONG_LENT: u32 = 1;
/// One strong reference in the strong word (see [`STRONG_SPECIAL`]).
const STRONG_ONE: u32 = 2;
/// The count's bits in the strong word.
const STRONG_COUNT: u32 = !(STRONG_SPECIAL | STRONG_LENT);

/// Bits of the weak word that hold the count; the rest are flags. More
/// `Weak`s than this to one object abort the process, like an overflowing
/// `Rc` count (33,554,430 `Weak`s, the strong handles holding the last one:
/// 256 MiB of `Weak`s, all to one object).
const WEAK_COUNT_MASK: u32 = (1 << 25) - 1;
/// Where the [`Death`] kind sits in the weak word (two bits).
const DEATH_SHIFT: u32 = 25;
const DEATH_MASK: u32 = 0b11 << DEATH_SHIFT;
/// The object is a large object (own allocation, `LargeHeader` in front).
/// Sized types know this at compile time; `Gc<dyn Trait>` and slices read it.
pub(crate) const FLAG_LARGE: u32 = 1 << 27;
/// This object of a tracked type is in no generation: its edges are fixed
/// and led only to untracked objects when it was born (it never entered
/// one) or when a collection took it out (see `collector::settle`).
/// `Gc::get_mut` puts it back, since a `&mut` can change its edges.
pub(crate) const FLAG_SETTLED: u32 = 1 << 28;
/// The finalizer has run (PEP 442: at most once per object).
pub(crate) const FLAG_FINALIZED: u32 = 1 << 29;
/// The collector judged the object garbage: `Weak::upgrade` fails for good.
pub(crate) const FLAG_CONDEMNED: u32 = 1 << 30;
/// The value has been dropped in place; dropping it again would be a double drop.
pub(crate) const FLAG_DROPPED: u32 = 1 << 31;

/// How an object dies when its last strong handle goes: a property of its
/// type (and of whether it is large or outside any heap), written into the
/// header at birth (see the module docs for why it is not read from the
/// pool).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum Death {
    /// Untracked, owns no `Gc`, no finalizer: drop the value, free the block.
    Plain = 0,
    /// Acyclic (owns `Gc`s, untracked), no finalizer: drop the value under
    /// the trashcan, free the block.
    Acyclic = 1,
    /// Tracked, no finalizer: leave the generation (unless settled), drop
    /// the value under the trashcan, free the block.
    Tracked = 2,
    /// Has a finalizer, or belongs to no heap: the general path.
    General = 3,
}

impl Death {
    /// The kind of a type's objects: `tracked` (enters the generations),
    /// `owns_gc` (may own a `Gc`), `needs_finalize` (has a finalizer).
    pub(crate) const fn of(tracked: bool, owns_gc: bool, needs_finalize: bool) -> Death {
        match (needs_finalize, owns_gc, tracked) {
            (true, _, _) => Death::General,
            (false, false, _) => Death::Plain,
            (false, true, true) => Death::Tracked,
            (false, true, false) => Death::Acyclic,
        }
    }

    /// The kind's bits in the weak word.
    #[inline(always)]
    pub(crate) const fn flags(self) -> u32 {
        (self as u32) << DEATH_SHIFT
    }
}

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
            strong: Cell::new(STRONG_ONE),
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

    /// The number of strong handles.
    #[inline(always)]
    pub(crate) fn strong(&self) -> u32 {
        (self.strong.get() & STRONG_COUNT) / STRONG_ONE
    }

    /// Sets the strong count of an object being born (unwatched) or dying
    /// (its lend, if any, over); the word becomes ordinary.
    #[inline(always)]
    pub(crate) fn set_strong(&self, n: u32) {
        debug_assert!(n <= MAX_STRONG);
        self.strong.set(n * STRONG_ONE);
    }

    /// Adds one strong reference; aborts on overflow like `Rc::clone`.
    ///
    /// A new handle is being made from an existing one. A `&mut` lent by
    /// `Gc::get_mut` borrows the object's only handle mutably, so if a handle
    /// can be used to make another, that borrow has ended: a lent count
    /// becomes an ordinary 2. A watched object becomes a suspect: the new
    /// handle will most likely be dropped, and the second mark keeps the
    /// slow path to once per object. All leave the word negative as an
    /// `i32`, so the fast path is an add and a sign test, as in `Rc`.
    ///
    /// # Safety
    /// `this` must point to the header of a live object, with the
    /// provenance of its block (a note finds the block's pool from it).
    #[inline(always)]
    pub(crate) unsafe fn inc_strong(this: NonNull<Header>) {
        // SAFETY: forwarded to the caller.
        let h = unsafe { this.as_ref() };
        let n = h.strong.get().wrapping_add(STRONG_ONE);
        h.strong.set(n);
        if (n as i32) < 0 {
            // SAFETY: forwarded to the caller.
            unsafe { Header::inc_strong_slow(this) };
        }
    }

    // (The word is read again here rather than passed: with no use for it
    // after the sign test, the fast path adds to memory directly.)
    #[cold]
    #[inline(never)]
    unsafe fn inc_strong_slow(this: NonNull<Header>) {
        // SAFETY: forwarded to the caller.
        let h = unsafe { this.as_ref() };
        let n = h.strong.get();
        if n.wrapping_sub(STRONG_ONE) & STRONG_SPECIAL == 0 {
            // The count passed MAX_STRONG.
            std::process::abort();
        }
        // Lent or watched: either way an ordinary word now, the object a
        // suspect (a lent one may have been watched).
        h.strong.set(n & STRONG_COUNT);
        // SAFETY: the object is alive (a handle is being cloned).
        unsafe { crate::heap::note_suspect(this) };
    }

    /// Marks the object's only handle as lending a `&mut T` (see
    /// [`STRONG_SPECIAL`]). The caller has checked that the strong count is
    /// 1 and no `Weak` exists.
    #[inline(always)]
    pub(crate) fn lend_mut(&self) {
        debug_assert!(self.strong() == 1 && self.weak_raw() == 1);
        self.strong.set(STRONG_SPECIAL | STRONG_LENT | STRONG_ONE);
    }

    /// A borrow lent by `Gc::get_mut` is known to be over (a `Weak` is
    /// being made from the handle it borrowed, or the collector proved it):
    /// the object may be read again. It stays special, now watched (always
    /// safe).
    #[inline(always)]
    pub(crate) fn end_mut_lend(&self) {
        self.strong.set(self.strong.get() & !STRONG_LENT);
    }

    /// The strong count if it is above zero and no `&mut` is lent: rotated
    /// right by one, the strong word is positive as an `i32` exactly then
    /// (the lent bit becomes the sign; the special bit moves below it).
    #[inline(always)]
    pub(crate) fn plain_strong(&self) -> Option<u32> {
        let rotated = self.strong.get().rotate_right(1);
        ((rotated as i32) > 0).then_some(rotated & (STRONG_COUNT >> 1))
    }

    /// Whether the collector must hear of the next drop of this object's
    /// count (see [`STRONG_SPECIAL`]).
    #[cfg(test)]
    pub(crate) fn is_watched(&self) -> bool {
        self.strong.get() & (STRONG_SPECIAL | STRONG_LENT) == STRONG_SPECIAL
    }

    /// The collector will hear of the next drop of this object's count
    /// that leaves it alive (a full collection proved it reachable).
    ///
    /// The count must be below [`MAX_STRONG`]: a watched word at the top
    /// count would wrap to 0 on the next clone instead of turning negative;
    /// below it, that clone takes the slow path, which unwatches, and only
    /// a clone past the top count aborts.
    #[inline(always)]
    pub(crate) fn watch(&self) {
        debug_assert!(self.strong() < MAX_STRONG);
        self.strong.set(self.strong.get() | STRONG_SPECIAL);
    }

    /// The collector's hold on garbage it is about to tear down (never
    /// lent): one strong reference more, and unwatched, since the drops of
    /// the garbage's edges to each other need no note.
    #[inline(always)]
    pub(crate) fn hold(&self) {
        debug_assert!(!self.may_be_lent());
        let n = (self.strong.get() & !STRONG_SPECIAL) + STRONG_ONE;
        if (n as i32) < 0 {
            // The count passed MAX_STRONG (as in `inc_strong`).
            std::process::abort();
        }
        self.strong.set(n);
    }

    /// Releases the collector's [`hold`](Self::hold). True if that was the
    /// last strong reference (the count is 0 now).
    ///
    /// The word is ordinary: `hold` unwatched it, a held object cannot be
    /// lent (`Gc::get_mut` wants a count of one, and the hold is one more
    /// than its handles), and no full collection watches it again before
    /// the teardown that holds it ends.
    #[inline(always)]
    pub(crate) fn release_hold(&self) -> bool {
        let n = self.strong.get() - STRONG_ONE;
        debug_assert!(n & STRONG_SPECIAL == 0, "gengc: a held word is special");
        self.strong.set(n);
        n == 0
    }

    /// Whether a `&mut` lent by `Gc::get_mut` may still be live.
    #[inline(always)]
    pub(crate) fn may_be_lent(&self) -> bool {
        self.strong.get() & STRONG_LENT != 0
    }

    /// Removes one strong reference. True if the word is no longer positive:
    /// the last handle went, or the word is special (see
    /// [`STRONG_SPECIAL`]); the caller's death path then asks
    /// [`Header::confirm_death`].
    #[inline(always)]
    pub(crate) fn release_strong(&self) -> bool {
        debug_assert!(self.strong() != 0, "gengc: a strong handle released twice");
        // SAFETY: no overflow. The word, as an `i32`, is at least
        // `i32::MIN + STRONG_ONE` while a handle exists (a special word
        // holds a count of at least one). (`unchecked_sub` lets the
        // compiler branch on the flags of the decrement itself.)
        let n = unsafe { (self.strong.get() as i32).unchecked_sub(STRONG_ONE as i32) };
        self.strong.set(n as u32);
        n <= 0
    }

    /// After [`Header::release_strong`] returned true: whether that was the
    /// last handle. If so the count is 0 now (a lend ends with its handle).
    /// If not, the object was watched, and may just have become cyclic
    /// garbage: it becomes a suspect, unwatched.
    ///
    /// # Safety
    /// As for [`Header::inc_strong`].
    #[inline(always)]
    pub(crate) unsafe fn confirm_death(this: NonNull<Header>) -> bool {
        // SAFETY: forwarded to the caller.
        let h = unsafe { this.as_ref() };
        if h.strong.get() & STRONG_COUNT == 0 {
            h.strong.set(0);
            return true;
        }
        // SAFETY: forwarded to the caller.
        unsafe { Header::watched_drop(this) };
        false
    }

    #[cold]
    #[inline(never)]
    unsafe fn watched_drop(this: NonNull<Header>) {
        // SAFETY: forwarded to the caller; the object is alive (its count
        // is above zero), so its block and pool are allocated.
        unsafe {
            let h = this.as_ref();
            h.strong.set(h.strong.get() & STRONG_COUNT);
            crate::heap::note_suspect(this);
        }
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

    /// How the object dies (set at birth, never changed).
    #[inline(always)]
    pub(crate) fn death(&self) -> Death {
        match (self.weak.get() & DEATH_MASK) >> DEATH_SHIFT {
            0 => Death::Plain,
            1 => Death::Acyclic,
            2 => Death::Tracked,
            _ => Death::General,
        }
    }

    /// Whether `Weak::upgrade` may hand out a new strong handle.
    #[inline(always)]
    pub(crate) fn is_upgradable(&self) -> bool {
        self.strong() != 0 && !self.has_flag(FLAG_CONDEMNED | FLAG_DROPPED)
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
// The death kind sits between the count and the flags.
const _: () = assert!(WEAK_COUNT_MASK & DEATH_MASK == 0 && DEATH_MASK & FLAG_LARGE == 0);
const _: () = assert!(WEAK_COUNT_MASK + 1 == 1 << DEATH_SHIFT);
const _: () = assert!(std::mem::size_of::<GcBox<()>>() == 8);

/// Bytes from the start of a `GcBox` to its value, for a value aligned to
/// `align`: the header, padded to the alignment (`GcBox` is `repr(C)`).
#[inline(always)]
pub(crate) const fn value_offset(align: usize) -> usize {
    crate::heap::align_up(std::mem::size_of::<Header>(), align)
}

const _: () = assert!(value_offset(1) == std::mem::offset_of!(GcBox<u8>, value));
const _: () = assert!(value_offset(8) == std::mem::offset_of!(GcBox<u64>, value));
const _: () = assert!(value_offset(16) == std::mem::offset_of!(GcBox<u128>, value));
const _: () = {
    #[repr(align(4096))]
    struct Page(#[allow(dead_code)] u8);
    assert!(value_offset(4096) == std::mem::offset_of!(GcBox<Page>, value));
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn death_kind_round_trips_beside_the_count_and_flags() {
        for death in [Death::Plain, Death::Acyclic, Death::Tracked, Death::General] {
            let h = Header::new_strong(death.flags() | FLAG_LARGE);
            assert_eq!(h.death(), death);
            assert_eq!(h.weak_raw(), 1);
            // The count can use all of its bits without touching the kind.
            for _ in 0..3 {
                h.inc_weak();
            }
            h.set_flag(FLAG_SETTLED | FLAG_FINALIZED | FLAG_CONDEMNED | FLAG_DROPPED);
            assert_eq!((h.death(), h.weak_raw()), (death, 4));
            assert!(h.has_flag(FLAG_LARGE));
            h.clear_flag(FLAG_SETTLED);
            assert_eq!(h.dec_weak(), 3);
            assert_eq!(h.death(), death);
        }
        let h = Header::new_cyclic(Death::Tracked.flags());
        h.weak.set(WEAK_COUNT_MASK | Death::Tracked.flags());
        assert_eq!((h.death(), h.weak_raw()), (Death::Tracked, WEAK_COUNT_MASK));
    }

    #[test]
    fn the_strong_word_keeps_the_count_apart_from_the_lent_and_watched_marks() {
        let h = Header::new_strong(0);
        assert!(!h.is_watched() && !h.may_be_lent());
        assert_eq!(h.plain_strong(), Some(1));
        // SAFETY: an unwatched, unlent header: no note (which would need a
        // heap).
        unsafe { Header::inc_strong(NonNull::from(&h)) };
        h.watch();
        // Watched: counted and traced like any other, its count intact.
        assert!(h.is_watched() && !h.may_be_lent());
        assert_eq!((h.strong(), h.plain_strong()), (2, Some(2)));
        // A drop of a watched count leaves the fast path (`confirm_death`
        // then notes it; that needs a heap, see tests/suspects.rs).
        assert!(h.release_strong());
        assert_eq!(h.strong(), 1);
        // The collector's hold unwatches.
        h.hold();
        assert!(!h.is_watched());
        assert_eq!(h.strong(), 2);
        assert!(!h.release_strong());
        // A lend: special, not counted as plain, its count 1 still.
        h.lend_mut();
        assert!(h.may_be_lent() && !h.is_watched());
        assert_eq!((h.strong(), h.plain_strong()), (1, None));
        // Its end leaves it watched (always safe).
        h.end_mut_lend();
        assert!(h.is_watched() && !h.may_be_lent());
        assert_eq!(h.plain_strong(), Some(1));
        // The last handle of a watched object: death, the word zeroed.
        // SAFETY: the last handle: no note.
        assert!(h.release_strong() && unsafe { Header::confirm_death(NonNull::from(&h)) });
        assert_eq!((h.strong(), h.plain_strong()), (0, None));
        assert!(!h.is_upgradable());
    }
}
