//! Finding the unreachable objects of a set, CPython's way.
//!
//! The set S is one or more generations. An object of S may be referenced
//! from inside S (by another object of S) or from outside (a `Gc` on the
//! stack, in an untracked value, in an older generation). Only the first
//! kind can be enumerated — by tracing the objects of S — but the strong
//! count covers both. So:
//!
//! 1. **gather**: give every o in S a scratch slot `gc_refs[o] =
//!    COUNT_BASE` (one `u32` per block of each pool involved, from a bump
//!    arena; never the live count). Only pool bitmaps are read;
//! 2. **count**: for every o in S, add `strong(o)` to its own slot and trace
//!    it; each edge to a target in S takes one off the target's slot. Then
//!    `gc_refs[o] - COUNT_BASE` is the number of references to o from
//!    outside S — CPython's `gc_refs`, with its copy of the strong counts
//!    folded into the pass that reads each object for the trace anyway
//!    (CPython spends a pass of its own on it);
//! 3. **mark**: every o with references from outside is a root, reachable,
//!    and so is everything it reaches inside S. The roots are found from the
//!    slots alone (a vectorised scan, no object memory); an explicit stack
//!    does the walk from them: no recursion, so a million-long cyclic list
//!    is as safe as a short one. The walk stops as soon as every non-root
//!    has been reached (see [`Collector::mark`]), so a set whose objects are
//!    all held from outside is marked without tracing anything;
//! 4. **split**: what is not marked is unreachable garbage; the rest
//!    survives and moves up one generation, a word of bitmap at a time.
//!
//! No user code runs during these steps except `Trace` impls, whose contract
//! forbids side effects; so the whole heap is in a consistent state when the
//! steps end, before teardown runs finalizers and destructors.
//!
//! `Gc::get_mut` and `Gc::make_mut` lend out a `&mut T`, which the collector
//! must not read through. Such objects carry a lent marker (the top bit of
//! the strong count, see `Header::lend_mut`); step 2 skips them at first.
//! If, once every other object is counted, a lent object has no reference
//! from outside S, every strong reference to it sits inside a value the
//! collector just read through a shared borrow — so no `&mut` to it can be
//! live, and it is traced after all (its marker cleared). Otherwise it is
//! referenced from outside, hence reachable, and is not traced: the
//! references it holds are not counted as internal, so its targets look
//! referenced from outside and survive too. (The marker goes as soon as
//! another handle or a `Weak` is made: making one needs the handle the
//! `&mut` borrows, so the borrow is over.)
//!
//! One shape stays out of reach: objects whose *only* handles were moved,
//! never cloned, into each other's values through such `&mut`s form a cycle
//! the collector cannot prove unborrowed; it is freed once any of them is
//! cloned or downgraded, or leaks. Building cycles through `get_mut` alone
//! is unusual; cloning a handle into place (the common way) is unaffected.

use super::teardown::{finalizer_due, hold_and_condemn};
use super::visit::{
    gc_refs_slot, is_reachable, Mode, Visitor, COUNT_BASE, REACHABLE, ROOT_UNTRACED, UNDISCOVERED,
};
use super::{Collector, GENERATIONS, OLD};
use crate::heap::header::MAX_STRONG;
use crate::heap::large::{LargeHeader, NOT_IN_SET};
use crate::heap::object::ObjRef;
use crate::heap::pool::{Pool, NOT_LISTED, POOL_SIZE, SUSPECTS};
use crate::heap::vtable::VTable;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// References to `obj` from outside the set, once counting is done: 0 if
/// it is not in the set or already marked reachable.
///
/// # Safety
/// `obj` must be alive.
#[inline(always)]
pub(super) unsafe fn external_refs(obj: ObjRef) -> u32 {
    gc_refs_slot(obj).map_or(0, |slot| {
        // SAFETY: forwarded to the caller.
        unsafe { external_refs_at(*slot) }
    })
}

/// [`external_refs`] from the object's slot value.
#[inline(always)]
fn external_refs_at(slot: u32) -> u32 {
    if is_reachable(slot) {
        return 0;
    }
    debug_assert!(
        slot >= COUNT_BASE,
        "gengc: a Trace impl visited a Gc more often than it owns it"
    );
    slot.saturating_sub(COUNT_BASE)
}

/// Starts counting an object of the set: adds its strong count, less `held`
/// references the collector holds itself, to its slot (references found
/// inside the set are taken off by the `Count` visitor).
///
/// # Safety
/// `obj` must be alive and `slot` its scratch slot.
#[inline(always)]
pub(super) unsafe fn add_strong(obj: ObjRef, slot: *mut u32, held: u32) {
    // SAFETY: forwarded to the caller. No overflow: the slot is at most
    // `COUNT_BASE` before this, and strong counts stay below `COUNT_BASE`.
    unsafe { *slot += obj.header().strong() - held };
}

/// Marks everything `obj` (already marked reachable) reaches inside the set,
/// depth first on the visitor's stack.
///
/// # Safety
/// `obj` must be alive, in the set, and marked; `vtable` and `meta` its own.
#[inline(always)]
pub(super) unsafe fn trace_reachable(
    obj: ObjRef,
    vtable: &VTable,
    meta: usize,
    visitor: &mut Visitor,
) {
    let mode = visitor.mode();
    debug_assert!(matches!(mode, Mode::Mark | Mode::MarkMapped));
    let entry = mode.vtable_index().expect("a marking mode");
    // SAFETY (every `trace_marked` below): `entry` is the visitor's own
    // mode's; `obj` comes with its own vtable and metadata from the caller,
    // and an object popped from the stack is an alive member of the set,
    // marked, whose vtable and metadata `ObjRef::vtable` reads.
    unsafe { trace_marked(obj, vtable, meta, entry, visitor) };
    if mode != Mode::MarkMapped {
        // A small set (see `scratch_map`) is in the caches already.
        while let Some(o) = visitor.pop_marked() {
            // SAFETY: see above.
            unsafe { trace_popped(o, entry, visitor) };
        }
        return;
    }
    // In a big set, objects go from the stack through a small queue, their
    // header line prefetched as they enter it, so that each is read a few
    // objects later, once its line has arrived: in a graph whose edges go
    // anywhere in a big heap, the walk would otherwise wait for memory at
    // every object (a full collection of 1M objects with random edges
    // reached from one root: 130-165 -> 65 ns per object). A chain (each
    // object leading to one new one) gains nothing from it: with the queue
    // empty and one object stacked, that object is traced at once.
    let mut queue = [obj; MARK_QUEUE];
    let (mut head, mut len) = (0, 0);
    loop {
        if len == 0 && visitor.one_marked() {
            let o = visitor.pop_marked().expect("one object stacked");
            // SAFETY: see above.
            unsafe { trace_popped(o, entry, visitor) };
            continue;
        }
        while len < MARK_QUEUE {
            let Some(o) = visitor.pop_marked() else { break };
            prefetch(o.header_ptr().as_ptr().cast());
            queue[(head + len) % MARK_QUEUE] = o;
            len += 1;
        }
        if len == 0 {
            break;
        }
        let o = queue[head];
        head = (head + 1) % MARK_QUEUE;
        len -= 1;
        // SAFETY: see above.
        unsafe { trace_popped(o, entry, visitor) };
    }
}

/// Traces a marked object for the mark walk, unless it is still lent:
/// reachable but unreadable; the references it holds were never counted,
/// so its targets are roots too.
///
/// # Safety
/// `obj` must be alive, in the set and marked, `vtable` and `meta` its own,
/// and `entry` the vtable index of `visitor`'s mode (a marking one).
#[inline(always)]
unsafe fn trace_marked(
    obj: ObjRef,
    vtable: &VTable,
    meta: usize,
    entry: usize,
    visitor: &mut Visitor,
) {
    debug_assert_eq!(visitor.mode().vtable_index(), Some(entry));
    // SAFETY: forwarded to the caller; the lent check makes sure no `&mut`
    // to the value is live, so it can be read.
    unsafe {
        if !obj.header().may_be_lent() {
            (vtable.trace_in[entry])(obj.header_ptr(), meta, visitor);
        }
    }
}

/// [`trace_marked`] for an object taken from the walk's stack or queue,
/// with its own vtable and metadata.
///
/// # Safety
/// As for [`trace_marked`].
#[inline(always)]
unsafe fn trace_popped(obj: ObjRef, entry: usize, visitor: &mut Visitor) {
    // SAFETY: forwarded to the caller; an alive object's vtable is readable.
    unsafe {
        let (vtable, meta) = obj.vtable();
        trace_marked(obj, vtable, meta, entry, visitor);
    }
}

/// How many objects the mark walk reads ahead (see [`trace_reachable`]).
const MARK_QUEUE: usize = 8;

/// Asks for the cache line at `addr` to be loaded, without waiting for it
/// (a no-op where there is no stable prefetch instruction, and under Miri).
#[inline(always)]
fn prefetch(addr: *const u8) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: a prefetch is a hint: it reads nothing the program sees and
    // cannot fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr.cast());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = addr;
}

/// Slots for a pool none of whose objects is in the set yet, but whose old
/// objects may join it (see [`LazyPools`]): read-only, never written (a
/// discovery gives the pool an array of its own first).
static UNDISCOVERED_SLOTS: [u32; MAX_BLOCKS] = [UNDISCOVERED; MAX_BLOCKS];
/// Most blocks in a pool (of 8-byte blocks).
pub(super) const MAX_BLOCKS: usize = POOL_SIZE / 8;

/// The scratch array of a pool in [`LazyPools::pools`] until one of its
/// objects is discovered.
pub(super) fn undiscovered_slots() -> *mut u32 {
    // Never written through (see `UNDISCOVERED_SLOTS`).
    UNDISCOVERED_SLOTS.as_ptr().cast_mut()
}

/// The pools of a full collection that hold old objects only, none a
/// suspect, once the collection may discover their objects. Most such
/// pools (in a big heap that only grows, nearly all) are never read:
/// `gather` leaves them without a scratch pointer, and one becomes lazy
/// only when an edge of the set first reaches it (or when counting gives
/// up discovering and takes in the whole old generation). A lazy pool's
/// scratch pointer is [`undiscovered_slots`]; a discovery gives it an
/// array of its own (`Collector::materialize`); after counting, such pools
/// join the set's.
#[derive(Default)]
pub(crate) struct LazyPools {
    pools: Vec<NonNull<Pool>>,
    /// Pools of `pools` given an array since, not yet in the set's pools.
    materialized: Vec<NonNull<Pool>>,
    /// Their arrays.
    bump: bumpalo::Bump,
}

impl LazyPools {
    /// Forgets the pools and their arrays (see `Collector::clear_set`).
    ///
    /// # Safety
    /// The pools must be alive.
    pub(super) unsafe fn clear(&mut self) {
        for pool in self.pools.drain(..) {
            // SAFETY: forwarded to the caller.
            unsafe { (*pool.as_ptr()).scratch = std::ptr::null_mut() };
        }
        self.materialized.clear();
        self.bump.reset();
        if self.bump.allocated_bytes() > super::SCRATCH_KEPT {
            self.bump = bumpalo::Bump::new();
        }
    }
}

/// A full collection started from the suspects counts the old objects they
/// lead to one by one, as it discovers them, until it has discovered one
/// in `DISCOVER_SHARE` of those it left out (and at least `DISCOVER_MIN`);
/// then it counts all the rest in one pass (see
/// `Collector::count_undiscovered`).
const DISCOVER_SHARE: usize = 16;
/// In an old generation of fewer than 16 × 8,192 objects, discovering
/// 8,192 one by one costs at most about 80 µs more than sweeping them,
/// while a sweep reads every old object: the stress test's explicit
/// collections (1,024 suspects leading to a fifth of a 30,000-object
/// graph) ran 31 ms with a floor of 1,024 (a sweep each time), 19.5 ms
/// with this one; big heaps are unaffected. (Under Miri and in debug
/// builds, 16: tests' heaps are small, and the fuzz must reach the sweep;
/// what a collection finds does not depend on the floor, only its cost.)
const DISCOVER_MIN: usize = if cfg!(any(miri, debug_assertions)) {
    16
} else {
    8192
};

/// Word `w` of a pool's set membership for a collection of generations
/// `0..gens`: the members, and (in a full collection started from the
/// suspects, `scoped`) the old objects left undiscovered: those that are
/// not suspects.
///
/// # Safety
/// `pool` must be a live tracked pool with a word `w` in its bitmaps.
#[inline(always)]
unsafe fn set_words(pool: NonNull<Pool>, gens: usize, w: usize, scoped: bool) -> (u64, u64) {
    // SAFETY: forwarded to the caller.
    unsafe {
        let word = |gen| *Pool::gen_bitmap(pool, gen).add(w);
        let mut members = 0;
        for gen in 0..gens.min(OLD) {
            members |= word(gen);
        }
        if gens <= OLD {
            return (members, 0);
        }
        let old = word(OLD);
        if !scoped {
            return (members | old, 0);
        }
        let suspects = word(SUSPECTS);
        (members | old & suspects, old & !suspects)
    }
}

/// A pool's scratch array, from `bump`, with its slots written by `fill`
/// (one slot per block).
///
/// # Safety
/// `pool` must be live; `fill` must write every slot.
unsafe fn alloc_slots(
    bump: &bumpalo::Bump,
    pool: NonNull<Pool>,
    fill: impl FnOnce(&mut [MaybeUninit<u32>]),
) -> *mut u32 {
    // SAFETY: forwarded to the caller; the bump arena returns room for
    // `capacity` u32s, aligned, which `fill` initialises.
    unsafe {
        let cap = (*pool.as_ptr()).geometry.capacity as usize;
        let slots = bump
            .alloc_layout(std::alloc::Layout::array::<u32>(cap).expect("slots"))
            .cast::<MaybeUninit<u32>>();
        fill(std::slice::from_raw_parts_mut(slots.as_ptr(), cap));
        slots.as_ptr().cast::<u32>()
    }
}

/// Writes a 64-slot chunk of a scratch array: `COUNT_BASE` for the blocks
/// of `members`, `UNDISCOVERED` for those of `undiscovered`, `NOT_IN_SET`
/// for the rest. Chunks all of one kind (full pools) are plain fills, which
/// vectorize.
fn fill_chunk(chunk: &mut [MaybeUninit<u32>], members: u64, undiscovered: u64) {
    let all = u64::MAX >> (64 - chunk.len());
    match (members, undiscovered) {
        (0, 0) => chunk.fill(MaybeUninit::new(NOT_IN_SET)),
        (m, 0) if m == all => chunk.fill(MaybeUninit::new(COUNT_BASE)),
        (0, u) if u == all => chunk.fill(MaybeUninit::new(UNDISCOVERED)),
        _ => {
            for (b, slot) in chunk.iter_mut().enumerate() {
                slot.write(if members >> b & 1 != 0 {
                    COUNT_BASE
                } else if undiscovered >> b & 1 != 0 {
                    UNDISCOVERED
                } else {
                    NOT_IN_SET
                });
            }
        }
    }
}

/// Step 2 for one object of the set (see [`Collector::count_internal`]).
///
/// # Safety
/// `obj` must be alive and in the set, `vtable` and `meta` its own, `slot`
/// its scratch slot, and `entry` the vtable index of `visitor`'s mode (a
/// counting one).
#[inline(always)]
unsafe fn count_one<const FULL: bool>(
    obj: ObjRef,
    vtable: &VTable,
    meta: usize,
    slot: *mut u32,
    entry: usize,
    visitor: &mut Visitor,
    lent: &mut Vec<ObjRef>,
) {
    // SAFETY: forwarded to the caller; an object that is not lent can be
    // read through a shared borrow.
    unsafe {
        let h = obj.header();
        // Most objects: counted, not lent, traced now (one test of the
        // strong word for the three questions).
        if let Some(strong) = h.plain_strong() {
            *slot += strong;
            if FULL {
                if strong < MAX_STRONG {
                    h.watch();
                } else {
                    // A watched count must have room for the clone that
                    // unwatches it (see `Header::watch`): this survivor,
                    // and so every other, stays a suspect.
                    visitor.skipped = true;
                }
            }
            (vtable.trace_in[entry])(obj.header_ptr(), meta, visitor);
            return;
        }
        // A dying object (its value being dropped by user code that
        // started this collection) is in its generation until its block
        // is freed: it is no part of the set. Nothing can reference it
        // (its count is zero), and what its value still holds looks
        // referenced from outside, as it is.
        if h.strong() == 0 {
            *slot = NOT_IN_SET;
            return;
        }
        // Lent: counted, traced later if it proves unborrowed.
        add_strong(obj, slot, 0);
        lent.push(obj);
    }
}

impl Collector {
    /// Gives `pool` a scratch `gc_refs` array (all `NOT_IN_SET`) if it has
    /// none, and records it in the set.
    ///
    /// # Safety
    /// `pool` must be live; runs no user code.
    pub(super) unsafe fn enter_set(&self, pool: NonNull<Pool>) -> *mut u32 {
        // SAFETY: forwarded to the caller; `fill` writes every slot.
        unsafe { self.enter_set_with(pool, |slots| slots.fill(MaybeUninit::new(NOT_IN_SET))) }
    }

    /// [`enter_set`](Self::enter_set) with the new array's slots written by
    /// `fill` (one slot per block of the pool).
    ///
    /// # Safety
    /// As for `enter_set`; `fill` must write every slot.
    #[inline(always)]
    unsafe fn enter_set_with(
        &self,
        pool: NonNull<Pool>,
        fill: impl FnOnce(&mut [MaybeUninit<u32>]),
    ) -> *mut u32 {
        // SAFETY: forwarded to the caller.
        unsafe {
            let p = pool.as_ptr();
            if (*p).scratch.is_null() {
                let s = self.scratch();
                (*p).scratch = alloc_slots(&s.bump, pool, fill);
                s.set_pools.push(pool);
            }
            (*p).scratch
        }
    }

    /// `pool`, an old pool with no scratch array, may have objects
    /// discovered: it becomes lazy (see [`LazyPools`]).
    ///
    /// # Safety
    /// A full collection started from the suspects must be gathering or
    /// counting; `pool` must be a live tracked pool with no scratch array.
    pub(super) unsafe fn make_lazy(&self, pool: NonNull<Pool>) {
        // SAFETY: forwarded to the caller.
        unsafe {
            debug_assert!((*pool.as_ptr()).tracked && (*pool.as_ptr()).scratch.is_null());
            (*pool.as_ptr()).scratch = undiscovered_slots();
            self.lazy().pools.push(pool);
        }
    }

    /// An object of a lazy pool (see [`LazyPools`]) is discovered: the pool
    /// gets a scratch array of its own, its old objects `UNDISCOVERED`;
    /// returns it.
    ///
    /// # Safety
    /// `pool` must be one of the lazy pools of the set being counted, its
    /// scratch still [`undiscovered_slots`]; runs no user code.
    pub(super) unsafe fn materialize(&self, pool: NonNull<Pool>) -> *mut u32 {
        // SAFETY: forwarded to the caller.
        unsafe { self.materialize_as(pool, false) }
    }

    /// [`materialize`](Self::materialize), with the old objects joining the
    /// set at once if `join` (their slots `COUNT_BASE`).
    ///
    /// # Safety
    /// As for `materialize`.
    unsafe fn materialize_as(&self, pool: NonNull<Pool>, join: bool) -> *mut u32 {
        // SAFETY: forwarded to the caller; a lazy pool holds no object of
        // a younger generation, and `fill_chunk` writes every slot.
        unsafe {
            let lazy = self.lazy();
            debug_assert_eq!((*pool.as_ptr()).scratch, undiscovered_slots());
            let old = Pool::gen_bitmap(pool, OLD);
            let slots = alloc_slots(&lazy.bump, pool, |slots| {
                for (w, chunk) in slots.chunks_mut(64).enumerate() {
                    let word = *old.add(w);
                    let (members, undiscovered) = if join { (word, 0) } else { (0, word) };
                    fill_chunk(chunk, members, undiscovered);
                }
            });
            (*pool.as_ptr()).scratch = slots;
            lazy.materialized.push(pool);
            slots
        }
    }

    /// Step 1 for generations `0..=g`: every object of the set gets a slot,
    /// set to `COUNT_BASE`. Only bitmaps are read here; no object memory is
    /// touched. Each pool's slots are written 64 at a time from the union
    /// of its generation bitmaps (a pool may hold objects of several
    /// generations of the set).
    ///
    /// A full collection (`g == OLD`) starts from the young and middle
    /// objects and the old suspects; every other old object counts as
    /// `UNDISCOVERED` (its pool read here only if it holds a suspect or a
    /// younger object), and joins the set only if an edge of the set
    /// reaches it (see `collector::suspects`).
    ///
    /// # Safety
    /// No collection is in progress; runs no user code.
    pub(super) unsafe fn gather(&self, g: usize) {
        // SAFETY: forwarded to the caller; listed pools are live and
        // tracked, with one bitmap word per 64 slots; `fill_chunk` writes
        // every slot.
        unsafe {
            let scoped = g == OLD && self.scoped_full.get();
            let s = self.scratch();
            s.set_gens = g + 1;
            s.scoped = scoped;
            debug_assert!(g < OLD || self.old_pooled.get() == self.tracked_pooled_in(OLD));
            for gen in 0..=g {
                // A full collection started from the suspects reads only the
                // old pools with a suspect (pools with younger objects came
                // in above). The others get no scratch pointer; an edge that
                // reaches one of their objects makes the pool lazy then (see
                // `Visitor::count_edge_full`).
                let pools = if gen == OLD && scoped {
                    self.pool_list(SUSPECTS)
                } else {
                    self.pool_list(gen)
                };
                for &pool in pools.iter() {
                    if !(*pool.as_ptr()).scratch.is_null() {
                        continue; // listed in an earlier generation too
                    }
                    let words = (*pool.as_ptr()).geometry.words as usize;
                    let mut membership = [(0, 0); MAX_BLOCKS / 64];
                    let (mut members, mut undiscovered) = (0, 0);
                    for (w, word) in membership[..words].iter_mut().enumerate() {
                        *word = set_words(pool, g + 1, w, scoped);
                        members |= word.0;
                        undiscovered |= word.1;
                    }
                    if members == 0 {
                        if undiscovered != 0 {
                            self.make_lazy(pool);
                        }
                        // (A pool left with no object of these generations
                        // drops out of their lists in `split`.)
                        continue;
                    }
                    self.enter_set_with(pool, |slots| {
                        for (chunk, &(m, u)) in slots.chunks_mut(64).zip(&membership) {
                            fill_chunk(chunk, m, u);
                        }
                    });
                }
                // (Borrowed here, not across `enter_set_with`, which
                // borrows the scratch state itself.)
                let s = self.scratch();
                self.large_list(gen).for_each(|l| {
                    let member = gen < OLD || !scoped || (*l.as_ptr()).suspect;
                    (*l.as_ptr()).suspect = false;
                    if member {
                        (*l.as_ptr()).gc_refs = COUNT_BASE;
                        s.set_large.push(l);
                    } else {
                        (*l.as_ptr()).gc_refs = UNDISCOVERED;
                        s.undiscovered_large.push(l);
                    }
                });
            }
            // The members first: counting starts from them alone, and
            // counts the others only once an edge discovers them. (The
            // budget counts the old suspects as undiscovered too: it is a
            // share, and their number would need their pools read.)
            let s = self.scratch();
            let undiscovered_total = self.old_pooled.get() + s.undiscovered_large.len();
            s.discover_budget = (undiscovered_total / DISCOVER_SHARE).max(DISCOVER_MIN);
            s.large_members = s.set_large.len();
            s.set_large.append(&mut s.undiscovered_large);
            // Every old pool may join a scoped set: the map spans them all.
            let span: &[NonNull<Pool>] = if scoped { self.pool_list(OLD) } else { &[] };
            s.lookup = s.map.build(&s.set_pools, &self.lazy().pools, span);
        }
    }

    /// Calls `f` on every object of the set with its type's vtable: the
    /// pooled ones pool by pool (one vtable load per pool), then the large
    /// ones.
    ///
    /// # Safety
    /// As for [`for_each_in_set_where`](Self::for_each_in_set_where).
    unsafe fn for_each_in_set(&self, f: impl FnMut(ObjRef, &'static VTable, usize, *mut u32)) {
        // SAFETY: forwarded to the caller.
        unsafe { self.for_each_in_set_where(self.scratch().set_gens, |_| true, f) }
    }

    /// [`for_each_in_set`](Self::for_each_in_set), restricted to the members
    /// of generations `0..gens` whose type `of_type` accepts (asked once per
    /// pool). Objects settled earlier in this collection are left out.
    ///
    /// # Safety
    /// The set must be gathered and its pools live; `f` may take the object
    /// it is given out of its generation, but must change no other object's.
    pub(super) unsafe fn for_each_in_set_where(
        &self,
        gens: usize,
        of_type: impl Fn(&VTable) -> bool,
        mut f: impl FnMut(ObjRef, &'static VTable, usize, *mut u32),
    ) {
        // SAFETY: forwarded to the caller; set pools are tracked pools with
        // generation bitmaps. Each bitmap word is read before `f` runs on
        // its objects, so `f` clearing its own object's bit changes nothing
        // here.
        unsafe {
            let scoped = self.scratch().scoped;
            self.for_each_pooled_in_set(
                &of_type,
                |pool, w| set_words(pool, gens, w, scoped).0,
                &mut f,
            );
            let s = self.scratch();
            for &l in &s.set_large[..s.large_members] {
                let slot = std::ptr::addr_of_mut!((*l.as_ptr()).gc_refs);
                let vtable = (*l.as_ptr()).vtable;
                // A settled large object has left its generation
                // (`UNTRACKED`, above every `gens`).
                if usize::from((*l.as_ptr()).generation) >= gens || !of_type(vtable) {
                    continue;
                }
                f(
                    ObjRef::new(LargeHeader::object(l), true),
                    vtable,
                    (*l.as_ptr()).meta,
                    slot,
                );
            }
        }
    }

    /// Calls `f` on every object of the set's pools that `word` selects, in
    /// the pools whose type `of_type` accepts (asked once per pool):
    /// `word(pool, w)` is the bitmap of the objects of word `w` of `pool`
    /// to visit (read before `f` runs on them).
    ///
    /// # Safety
    /// As for [`for_each_in_set_where`](Self::for_each_in_set_where); the
    /// selected blocks hold live objects of the set.
    unsafe fn for_each_pooled_in_set(
        &self,
        of_type: impl Fn(&VTable) -> bool,
        word: impl Fn(NonNull<Pool>, usize) -> u64,
        f: &mut impl FnMut(ObjRef, &'static VTable, usize, *mut u32),
    ) {
        // SAFETY: forwarded to the caller; set pools are tracked pools with
        // a scratch array, a slot per block.
        unsafe {
            for &pool in &self.scratch().set_pools {
                let vtable = (*pool.as_ptr()).vtable;
                if !of_type(vtable) {
                    continue;
                }
                let scratch = (*pool.as_ptr()).scratch;
                let blocks = Pool::block_layout(pool);
                for w in 0..(*pool.as_ptr()).geometry.words as usize {
                    let mut bits = word(pool, w);
                    while bits != 0 {
                        let i = (w * 64) as u32 + bits.trailing_zeros();
                        bits &= bits - 1;
                        let obj = ObjRef::new(blocks.block(i).cast(), false);
                        f(obj, vtable, 0, scratch.add(i as usize));
                    }
                }
            }
        }
    }

    /// Step 2: count, for every object of the set, the references to it from
    /// outside the set: its strong count less the references found inside
    /// (the lent-object rule is in the module docs). Each object's strong
    /// count is read here, while its memory is being read for the trace
    /// anyway, so step 3 can classify the set from the scratch slots alone.
    ///
    /// In a full collection (`FULL`), an undiscovered old object an edge
    /// reaches joins the set and is counted in its turn; every object
    /// counted becomes watched (see `collector::suspects`). Returns whether
    /// every edge of the set was counted: false if some object stayed lent,
    /// or a `RefCell` was borrowed mutably.
    ///
    /// # Safety
    /// The set must be gathered.
    pub(super) unsafe fn count_internal<const FULL: bool>(&self) -> bool {
        // SAFETY: forwarded to the caller; objects in the set are alive and,
        // unless lent, readable through a shared borrow; `entry` is the
        // vtable index of the visitor's own (counting) mode; a discovered
        // object is alive (an edge of the set reaches it) and has a slot.
        unsafe {
            // Only a set started from the suspects has undiscovered objects.
            let mode = if self.scratch().scoped {
                Mode::CountFull
            } else {
                Mode::Count
            };
            let mut visitor = Visitor::for_set(mode, self.scratch().lookup);
            visitor.stack = std::mem::take(&mut self.scratch().stack);
            visitor.collector = self;
            let entry = visitor.mode().vtable_index().expect("a counting mode");
            let mut lent = std::mem::take(&mut self.scratch().lent);
            self.for_each_in_set(|obj, vtable, meta, slot| {
                count_one::<FULL>(obj, vtable, meta, slot, entry, &mut visitor, &mut lent);
            });
            let (mut skipped, mut swept) = (false, false);
            loop {
                while let Some(obj) = visitor.stack.pop() {
                    let (vtable, meta) = obj.vtable();
                    let slot = gc_refs_slot(obj).expect("a discovered object has a slot");
                    count_one::<FULL>(obj, vtable, meta, slot, entry, &mut visitor, &mut lent);
                    if FULL && !swept && visitor.discovered >= self.scratch().discover_budget {
                        swept = true;
                        skipped = self.count_undiscovered(&mut lent);
                    }
                }
                // A lent object all of whose references were found inside
                // the set cannot have its `&mut` live: trace it after all.
                // Tracing it may complete the count of another lent object
                // (or discover objects): repeat.
                let before = lent.len();
                lent.retain(|&obj| {
                    let fully_internal = external_refs(obj) == 0;
                    if fully_internal {
                        obj.header().end_mut_lend();
                        obj.trace(&mut visitor);
                    }
                    !fully_internal
                });
                if lent.len() == before && visitor.stack.is_empty() {
                    // Objects still lent: their edges were never read, so
                    // what only they lead to was never discovered, and its
                    // references to them (a cycle through one) never
                    // counted. A collection over the whole old generation
                    // would count those and find the lend over: count every
                    // undiscovered object, then try the lent ones again.
                    if FULL && !swept && !lent.is_empty() && self.scratch().scoped {
                        swept = true;
                        skipped = self.count_undiscovered(&mut lent);
                        continue;
                    }
                    break;
                }
            }
            let every_edge = lent.is_empty() && !visitor.skipped && !skipped;
            self.join_materialized();
            lent.clear();
            self.scratch().lent = lent;
            self.scratch().stack = visitor.stack;
            every_edge
        }
    }

    /// The lazy pools given a scratch array since the last call join the
    /// set's pools (not during a pass over them: see [`LazyPools`]).
    ///
    /// # Safety
    /// No pass over the set's pools may be running; runs no user code.
    unsafe fn join_materialized(&self) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let joined = self.lazy().materialized.drain(..);
            self.scratch().set_pools.extend(joined);
        }
    }

    /// A full collection whose suspects lead to much of the old generation
    /// (`discover_budget` objects discovered): every old object still
    /// undiscovered joins the set and is counted now, pool by pool, which
    /// costs less per object than discovering it edge by edge (a list or
    /// a ring whose head is a suspect, a structure built from old objects).
    /// The next full collection then starts with the whole old generation
    /// in its set. Returns whether a `RefCell` was skipped.
    ///
    /// # Safety
    /// As for `count_internal`, during a full collection's count; runs no
    /// user code but `Trace` impls.
    unsafe fn count_undiscovered(&self, lent: &mut Vec<ObjRef>) -> bool {
        self.scoped_full.set(false);
        // SAFETY: forwarded to the caller; set pools are live and tracked,
        // their scratch arrays have a slot per block, and every object of
        // their old bitmaps is alive. The suspect bitmaps have been read
        // (by `gather` and the first counting pass): they now mark what
        // this pass counts (`clear_suspects` runs after counting).
        unsafe {
            self.clear_suspects();
            // Pools with a scratch array: their undiscovered old objects join.
            self.join_materialized();
            let s = self.scratch();
            for &pool in &s.set_pools {
                let scratch = (*pool.as_ptr()).scratch;
                let old = Pool::gen_bitmap(pool, OLD);
                let cap = (*pool.as_ptr()).geometry.capacity as usize;
                let slots = std::slice::from_raw_parts_mut(scratch, cap);
                for (w, chunk) in slots.chunks_mut(64).enumerate() {
                    if *old.add(w) == 0 {
                        continue;
                    }
                    // Branch-free, so that it vectorizes.
                    let mut joined = 0u64;
                    for (b, slot) in chunk.iter_mut().enumerate() {
                        let undiscovered = *slot == UNDISCOVERED;
                        joined |= u64::from(undiscovered) << b;
                        *slot = if undiscovered { COUNT_BASE } else { *slot };
                    }
                    self.note_suspect_word(pool, w, joined);
                }
            }
            // Old pools no discovery reached (lazy or never read): all
            // their old objects join.
            for i in 0..self.pool_list(OLD).len() {
                let pool = self.pool_list(OLD)[i];
                if (*pool.as_ptr()).scratch.is_null() {
                    self.make_lazy(pool);
                }
                if (*pool.as_ptr()).scratch == undiscovered_slots() {
                    let scratch = self.materialize_as(pool, true);
                    self.scratch().lookup.set_scratch(pool, scratch);
                    let old = Pool::gen_bitmap(pool, OLD);
                    for w in 0..(*pool.as_ptr()).geometry.words as usize {
                        self.note_suspect_word(pool, w, *old.add(w));
                    }
                }
            }
            self.join_materialized();
            let s = self.scratch();
            for &l in &s.set_large[s.large_members..] {
                if (*l.as_ptr()).gc_refs == UNDISCOVERED {
                    (*l.as_ptr()).gc_refs = COUNT_BASE;
                    (*l.as_ptr()).suspect = true;
                }
            }
            // Nothing is undiscovered any more: plain counting.
            let mut visitor = Visitor::for_set(Mode::Count, s.lookup);
            let entry = visitor.mode().vtable_index().expect("a counting mode");
            self.for_each_pooled_in_set(
                |_| true,
                |pool, w| *Pool::gen_bitmap(pool, SUSPECTS).add(w),
                &mut |obj, vtable, meta, slot| {
                    count_one::<true>(obj, vtable, meta, slot, entry, &mut visitor, lent);
                },
            );
            let s = self.scratch();
            for &l in &s.set_large[s.large_members..] {
                if std::mem::replace(&mut (*l.as_ptr()).suspect, false) {
                    let obj = ObjRef::new(LargeHeader::object(l), true);
                    let slot = std::ptr::addr_of_mut!((*l.as_ptr()).gc_refs);
                    let (vtable, meta) = ((*l.as_ptr()).vtable, (*l.as_ptr()).meta);
                    count_one::<true>(obj, vtable, meta, slot, entry, &mut visitor, lent);
                }
            }
            debug_assert!(visitor.stack.is_empty(), "nothing left to discover");
            visitor.skipped
        }
    }

    /// Marks every object of the set referenced from outside
    /// `ROOT_UNTRACED`; returns how many are (the roots) and how many are
    /// not (the candidates).
    ///
    /// # Safety
    /// `count_internal` must have run on the set.
    unsafe fn classify_set(&self) -> (usize, usize) {
        // Branch-free, so the scan over a pool's slots vectorizes. Before
        // marking, a slot of the set is below REACHABLE (a root: above
        // COUNT_BASE); others are NOT_IN_SET.
        fn classify(slots: &mut [u32]) -> (usize, usize) {
            let (mut roots, mut candidates) = (0u32, 0u32);
            for slot in slots {
                let v = *slot;
                let root = v.wrapping_sub(COUNT_BASE + 1) < REACHABLE - COUNT_BASE - 1;
                *slot = if root { ROOT_UNTRACED } else { v };
                roots += u32::from(root);
                candidates += u32::from(v <= COUNT_BASE);
            }
            (roots as usize, candidates as usize)
        }
        let (mut roots, mut candidates) = (0, 0);
        // SAFETY: forwarded to the caller; a set pool's scratch array has
        // one slot per block (`NOT_IN_SET` for blocks outside the set).
        unsafe {
            let s = self.scratch();
            let pools = s.set_pools.iter().map(|&pool| {
                let p = pool.as_ptr();
                std::slice::from_raw_parts_mut((*p).scratch, (*p).geometry.capacity as usize)
            });
            let large = s
                .set_large
                .iter()
                .map(|&l| std::slice::from_mut(&mut (*l.as_ptr()).gc_refs));
            for slots in pools.chain(large) {
                let (r, c) = classify(slots);
                roots += r;
                candidates += c;
            }
        }
        (roots, candidates)
    }

    /// Step 3: mark everything reachable from the objects referenced from
    /// outside the set (strong count above the internal count).
    ///
    /// Two passes. The first only classifies, from the scratch slots alone
    /// (a linear scan, no object memory): an object referenced from outside
    /// is a root (`ROOT_UNTRACED`), any other is a *candidate*, reachable
    /// only if a root leads to it. The second traces from the roots and
    /// stops as soon as every candidate has been reached (the roots left
    /// untraced cannot lead anywhere new) or every root has been traced. A
    /// set whose objects are all referenced from outside (objects owned by
    /// a `Vec`, a map, the stack) is then marked without tracing anything,
    /// and a set with no root at all (a structure just dropped) without
    /// scanning its slots a second time.
    ///
    /// Returns the number of unreachable objects (0: all are reachable).
    ///
    /// # Safety
    /// `count_internal` must have run on the set.
    pub(super) unsafe fn mark(&self) -> usize {
        // SAFETY: forwarded to the caller.
        unsafe {
            let (roots, candidates) = self.classify_set();
            if candidates == 0 || roots == 0 {
                return candidates;
            }
            let mut visitor = Visitor::for_set(Mode::Mark, self.scratch().lookup);
            visitor.stack = std::mem::take(&mut self.scratch().stack);
            let mut roots_left = roots;
            // Marks and traces the object of `slot` if it is an untraced
            // root; true once the walk can stop.
            let mut from_root = |slot: *mut u32, obj: ObjRef, vtable: &VTable, meta: usize| {
                if *slot != ROOT_UNTRACED {
                    return false;
                }
                *slot = REACHABLE;
                trace_reachable(obj, vtable, meta, &mut visitor);
                roots_left -= 1;
                visitor.marked == candidates || roots_left == 0
            };
            let s = self.scratch();
            // The roots are found from the slots alone: a slot's index is its
            // block's index, and blocks outside the set are NOT_IN_SET.
            'walk: {
                for &pool in &s.set_pools {
                    let vtable = (*pool.as_ptr()).vtable;
                    let scratch = (*pool.as_ptr()).scratch;
                    let blocks = Pool::block_layout(pool);
                    for i in 0..(*pool.as_ptr()).geometry.capacity {
                        let obj = ObjRef::new(blocks.block(i).cast(), false);
                        if from_root(scratch.add(i as usize), obj, vtable, 0) {
                            break 'walk;
                        }
                    }
                }
                for &l in &s.set_large {
                    let obj = ObjRef::new(LargeHeader::object(l), true);
                    let slot = std::ptr::addr_of_mut!((*l.as_ptr()).gc_refs);
                    if from_root(slot, obj, (*l.as_ptr()).vtable, (*l.as_ptr()).meta) {
                        break 'walk;
                    }
                }
            }
            let unreachable = candidates - visitor.marked;
            debug_assert!(visitor.pop_marked().is_none(), "every walk ran to its end");
            self.scratch().stack = visitor.stack;
            unreachable
        }
    }

    /// Step 4 for a collection of generations `0..=g`: survivors move to
    /// generation `dest` (as suspects if `suspects` and `dest` is the old
    /// one); the `garbage` unreachable objects (what `mark` returned) leave
    /// the generations, are held and condemned for the teardown
    /// (`hold_and_condemn`, its step 1) and go to `unreachable`.
    /// Returns the number of survivors in the set (old objects of pools a
    /// full collection left alone are not counted), and whether a finalizer
    /// is due.
    /// With no garbage, whole bitmap words move without a slot being read.
    ///
    /// # Safety
    /// `mark` must have run; runs no user code, and none may run before
    /// `teardown` takes `unreachable`.
    pub(super) unsafe fn split(
        &self,
        g: usize,
        dest: usize,
        garbage: usize,
        suspects: bool,
        unreachable: &mut Vec<ObjRef>,
    ) -> (usize, bool) {
        let all_reachable = garbage == 0;
        let suspects = suspects && dest == OLD;
        unreachable.reserve_exact(garbage);
        let mut survivors_total = 0;
        let mut finalizers_due = false;
        // SAFETY: forwarded to the caller; set pools are live and tracked.
        unsafe {
            // Every pool of the collected younger generations is in the set,
            // so their lists are rebuilt from scratch below. A full
            // collection leaves most old pools alone (see `gather`): the old
            // list keeps them, and loses only the set's pools left with no
            // old object.
            for gen in 0..=g.min(OLD - 1) {
                for pool in self.pool_list(gen).drain(..) {
                    (*pool.as_ptr()).gen_slot[gen] = NOT_LISTED;
                }
            }
            let mut old_pooled = self.old_pooled.get();
            let s = self.scratch();
            for &pool in &s.set_pools {
                let scratch = (*pool.as_ptr()).scratch;
                let words = (*pool.as_ptr()).geometry.words as usize;
                let blocks = Pool::block_layout(pool);
                // Asked once per pool, and only when there is garbage: most
                // types have no finalizer, and their garbage needs no look
                // at its flags for one.
                let finalizes = !all_reachable && ((*pool.as_ptr()).vtable.needs_finalize)();
                let mut pool_survivors = 0;
                for gen in 0..=g {
                    let bits = Pool::gen_bitmap(pool, gen);
                    let dest_bits = Pool::gen_bitmap(pool, dest);
                    for w in 0..words {
                        let mut word = *bits.add(w);
                        let mut survivors = 0u64;
                        if all_reachable {
                            survivors = word;
                            word = 0;
                        }
                        while word != 0 {
                            let bit = word.trailing_zeros();
                            word &= word - 1;
                            let i = (w * 64) as u32 + bit;
                            if is_reachable(*scratch.add(i as usize)) {
                                survivors |= 1 << bit;
                            } else {
                                let obj = ObjRef::new(blocks.block(i).cast(), false);
                                hold_and_condemn(obj);
                                if finalizes {
                                    finalizers_due |= finalizer_due(obj.header());
                                }
                                unreachable.push(obj);
                            }
                        }
                        let n = survivors.count_ones() as usize;
                        if gen == OLD {
                            old_pooled -= (*bits.add(w)).count_ones() as usize - n;
                        } else if dest == OLD {
                            old_pooled += n;
                        }
                        *bits.add(w) = 0;
                        *dest_bits.add(w) |= survivors;
                        if suspects {
                            self.note_suspect_word(pool, w, survivors);
                        }
                        pool_survivors += n;
                    }
                }
                survivors_total += pool_survivors;
                if pool_survivors > 0 {
                    self.list_pool(dest, pool);
                } else if g == OLD {
                    self.unlist_pool(OLD, pool);
                }
            }
            self.old_pooled.set(old_pooled);
            for gen in 0..=g {
                let mut cur = self.large_list(gen).head;
                while let Some(l) = NonNull::new(cur) {
                    cur = (*l.as_ptr()).next;
                    self.large_list(gen).remove(l);
                    if is_reachable((*l.as_ptr()).gc_refs) {
                        self.large_list(dest).push(l, dest as u8);
                        if suspects {
                            self.note_suspect_large(l, dest);
                        }
                        survivors_total += 1;
                    } else {
                        let obj = ObjRef::new(LargeHeader::object(l), true);
                        hold_and_condemn(obj);
                        finalizers_due |= finalizer_due(obj.header());
                        unreachable.push(obj);
                    }
                }
            }
        }
        debug_assert!(dest < GENERATIONS && g <= OLD);
        (survivors_total, finalizers_due)
    }
}
