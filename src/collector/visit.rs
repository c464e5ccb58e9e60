//! The edge visitor behind [`Tracer`](crate::Tracer): what happens to each
//! `Gc` a value reports, in each phase of a collection.

use super::detect::MAX_BLOCKS;
use super::scratch_map::ScratchLookup;
use crate::heap::header::GcBox;
use crate::heap::large::NOT_IN_SET;
use crate::heap::object::{is_large_live, pooled_sized_index, ObjRef};
use crate::heap::pool::Pool;
use std::ptr::NonNull;

/// Top bit of a scratch `gc_refs` slot: the object is known reachable.
/// Counts stay below it (see `MAX_STRONG`).
pub(crate) const REACHABLE: u32 = 1 << 31;

/// What a slot starts at when its object enters the set. Counting adds the
/// object's strong count and takes one off per reference found inside the
/// set, so afterwards `slot - COUNT_BASE` is the number of references from
/// outside. The base keeps the slot above zero while references are taken
/// off before the strong count is added (strong counts stay below it).
pub(crate) const COUNT_BASE: u32 = 1 << 30;

/// A slot of an object referenced from outside the set that the mark step
/// has not traced yet (reachable, like [`REACHABLE`]: test with `>=`).
pub(crate) const ROOT_UNTRACED: u32 = REACHABLE | 1;

/// The slot of an old object a full collection has not reached yet: it
/// joins the set when an edge of the set reaches it (see
/// `collector::suspects`). Until then it counts as reachable and outside
/// the set (`is_reachable`, never a root or a candidate), so an object no
/// edge reaches is left alone. Just below `NOT_IN_SET`, so that counting an
/// edge tells the three cases apart with one comparison on its hot path.
pub(crate) const UNDISCOVERED: u32 = NOT_IN_SET - 1;

/// Whether a slot value says "reachable" (traced or not).
#[inline(always)]
pub(crate) fn is_reachable(slot: u32) -> bool {
    slot >= REACHABLE
}

/// What a visit does with each edge. The first [`Mode::IN_VTABLE`] modes,
/// those of a collection's hot loops, have a trace entry of their own in
/// every type's `VTable` (see `VTable::trace_in`), indexed by discriminant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Mode {
    /// Take one off the slot of every target inside the set (one internal
    /// reference fewer from outside).
    Count = 0,
    /// `Count`, finding scratch arrays through the set's map (see
    /// `scratch_map`) instead of the pool headers.
    CountMapped = 1,
    /// Mark every target inside the set reachable and queue it.
    Mark = 2,
    /// `Mark`, the same way as `CountMapped`.
    MarkMapped = 3,
    /// `Count` in a full collection: an undiscovered old target also joins
    /// the set (see `collector::suspects`). A mode of its own, so that the
    /// younger collections' counting has no discovery path to carry.
    CountFull = 4,
    /// `CountFull`, the same way as `CountMapped`.
    CountFullMapped = 5,
    /// Record every target (introspection).
    Collect = 6,
    /// Note whether any target is tracked (see `collector::settle`).
    Settle = 7,
}

impl Mode {
    /// How many modes have a trace entry of their own in each `VTable`.
    pub(crate) const IN_VTABLE: usize = 6;

    /// The mode of discriminant `index`, one with a trace entry of its own
    /// (evaluated at compile time by those entries: a bad index fails to
    /// compile).
    pub(crate) const fn from_index(index: u8) -> Mode {
        match index {
            0 => Mode::Count,
            1 => Mode::CountMapped,
            2 => Mode::Mark,
            3 => Mode::MarkMapped,
            4 => Mode::CountFull,
            5 => Mode::CountFullMapped,
            _ => panic!("gengc: no trace entry for this mode index"),
        }
    }

    /// Index of this mode's trace entry in a `VTable`, if it has one.
    ///
    /// ```text
    /// Mode::from_index(i).vtable_index() == Some(i) for every i < IN_VTABLE
    /// ```
    /// (checked at compile time below).
    #[inline(always)]
    pub(crate) fn vtable_index(self) -> Option<usize> {
        let i = self as usize;
        (i < Mode::IN_VTABLE).then_some(i)
    }
}

// The trace entries are indexed by discriminant: `from_index` must invert it.
const _: () = {
    let mut i = 0;
    while i < Mode::IN_VTABLE {
        assert!(Mode::from_index(i as u8) as usize == i);
        i += 1;
    }
};

pub(crate) struct Visitor {
    /// Set when the visitor is made, never changed: the per-mode trace
    /// entries rely on it (see `Tracer::in_mode`).
    mode: Mode,
    /// Objects queued by `Mark` (below `top`), or every target seen by
    /// `Collect`.
    pub(crate) stack: Vec<ObjRef>,
    /// `Mark`: the object marked last, not yet traced: the top of the
    /// walk's stack, kept out of the vector so that a chain (each object
    /// marking one new one) never touches it.
    top: Option<ObjRef>,
    /// `Mark`: objects it turned reachable (those not already known so).
    pub(crate) marked: usize,
    /// `CountFull`: old objects it brought into the set.
    pub(crate) discovered: usize,
    /// `CountFull`: the collector, which gives a lazy pool its scratch
    /// array when one of its objects is discovered (see
    /// `detect::LazyPools`).
    pub(crate) collector: *const super::Collector,
    /// `Settle`: a target is tracked.
    pub(crate) tracked_edge: bool,
    /// A `Trace` impl left out edges it could not read this time (a
    /// `RefCell` borrowed mutably): the set's survivors are not all proved
    /// reachable (see `collector::suspects`).
    pub(crate) skipped: bool,
    /// `Count` and `Mark`: where the set's scratch arrays are, if mapped.
    pub(crate) lookup: ScratchLookup,
}

impl Visitor {
    pub(crate) fn new(mode: Mode) -> Visitor {
        Visitor {
            mode,
            stack: Vec::new(),
            top: None,
            marked: 0,
            discovered: 0,
            collector: std::ptr::null(),
            tracked_edge: false,
            skipped: false,
            lookup: ScratchLookup::NONE,
        }
    }

    /// The visitor's mode.
    #[inline(always)]
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// A `Count` or `Mark` visitor (`mode`) for a set whose scratch arrays
    /// `lookup` finds: through its map if it has one.
    pub(crate) fn for_set(mode: Mode, lookup: ScratchLookup) -> Visitor {
        let mode = match (mode, lookup.is_mapped()) {
            (Mode::Count, true) => Mode::CountMapped,
            (Mode::CountFull, true) => Mode::CountFullMapped,
            (Mode::Mark, true) => Mode::MarkMapped,
            (mode, _) => mode,
        };
        Visitor {
            lookup,
            ..Visitor::new(mode)
        }
    }

    /// Visits one edge in `mode`, the visitor's own mode, passed by value
    /// by the tracer so that it folds to a constant where that is known.
    #[inline(always)]
    pub(crate) fn visit<T: ?Sized>(&mut self, mode: Mode, target: NonNull<GcBox<T>>) {
        debug_assert_eq!(mode, self.mode);
        // SAFETY: a traced `Gc` keeps its target alive, and the collector
        // never traces through a `&mut` path (a `RefCell` borrowed mutably is
        // skipped, an object lent by `get_mut` is not read), so the target
        // is not mutably borrowed.
        let obj = ObjRef::new(target.cast(), unsafe { is_large_live(target) });
        match mode {
            Mode::Count => count_edge(target_slot(target, obj)),
            Mode::CountMapped => count_edge(target_slot_mapped(target, obj, &mut self.lookup)),
            Mode::CountFull => self.count_edge_full(obj, target_slot(target, obj)),
            Mode::CountFullMapped => {
                let slot = target_slot_mapped(target, obj, &mut self.lookup);
                self.count_edge_full(obj, slot);
            }
            Mode::Mark => self.mark_edge(obj, target_slot(target, obj)),
            Mode::MarkMapped => {
                let slot = target_slot_mapped(target, obj, &mut self.lookup);
                self.mark_edge(obj, slot);
            }
            Mode::Collect => self.stack.push(obj),
            Mode::Settle => {
                if !self.tracked_edge {
                    // SAFETY: the target is alive (see above).
                    self.tracked_edge = unsafe { super::settle::is_tracked_target(obj) };
                }
            }
        }
    }

    /// `Mark`: the next object to trace, the one marked last first.
    #[inline(always)]
    pub(crate) fn pop_marked(&mut self) -> Option<ObjRef> {
        self.top.take().or_else(|| self.stack.pop())
    }

    /// `Mark`: whether exactly one object waits to be traced.
    #[inline(always)]
    pub(crate) fn one_marked(&self) -> bool {
        self.top.is_some() && self.stack.is_empty()
    }

    /// `CountFull`: [`count_edge`], and an undiscovered old object `obj`
    /// (of slot `slot`) joins the set here, to be counted and traced in its
    /// turn.
    #[inline(always)]
    fn count_edge_full(&mut self, obj: ObjRef, slot: Option<*mut u32>) {
        let Some(slot) = slot.or_else(|| self.unread_pool_slot(obj)) else {
            return;
        };
        // SAFETY: as in `count_edge`.
        unsafe {
            let v = *slot;
            if v < UNDISCOVERED {
                *slot = v.saturating_sub(1);
            } else if v == UNDISCOVERED {
                self.discover(obj, slot);
            }
        }
    }

    /// `CountFull`: the slot of `obj`, whose pool has no scratch array
    /// where the visitor looked: an old pool `gather` left alone (it holds
    /// no suspect), which becomes lazy now (see `detect::LazyPools`); a pool
    /// out of the map's range, whose header has the array; or a pool with
    /// no object in any collected generation (untracked type: `None`, and
    /// the map remembers it as outside the set).
    #[cold]
    #[inline(never)]
    fn unread_pool_slot(&mut self, obj: ObjRef) -> Option<*mut u32> {
        if obj.is_large() {
            return None; // A large object's slot is in its own header.
        }
        // SAFETY: as in `count_edge`: the target is alive, so its pool is
        // live; a `CountFull` visitor's collector is counting a full
        // collection's set, which a tracked pool with no array may join.
        unsafe {
            let pool = obj.pool();
            let p = pool.as_ptr();
            if !(*p).tracked {
                self.lookup.set_scratch(pool, not_in_set_slots());
                return None;
            }
            if (*p).scratch.is_null() {
                (*self.collector).make_lazy(pool);
            }
            self.lookup.set_scratch(pool, (*p).scratch);
            slot_in(
                (*p).scratch,
                Pool::index_of(pool, obj.header_ptr().as_ptr().cast()),
            )
        }
    }

    /// `CountFull`: `obj` (of slot `slot`), an old object outside the set so
    /// far, is reached by an edge of the set: it joins it, with this first
    /// internal reference counted, and waits on the stack to be counted.
    #[cold]
    #[inline(never)]
    fn discover(&mut self, obj: ObjRef, slot: *mut u32) {
        // SAFETY: as in `count_edge`; a `CountFull` visitor's collector is
        // counting the set `obj` joins, and a pooled object whose slot is
        // in the shared read-only array is in one of its lazy pools.
        unsafe {
            let lazy = super::detect::undiscovered_slots();
            let slot = if !obj.is_large() && (*obj.pool().as_ptr()).scratch == lazy {
                let pool = obj.pool();
                let scratch = (*self.collector).materialize(pool);
                self.lookup.set_scratch(pool, scratch);
                scratch.add(slot.offset_from(lazy) as usize)
            } else {
                slot
            };
            // The shared array says `UNDISCOVERED` for every block; the
            // pool's own says it for its old objects only. A frozen object
            // there stays out of the set: its edges count as references
            // from outside.
            if *slot != UNDISCOVERED {
                return;
            }
            *slot = COUNT_BASE - 1;
        }
        self.discovered += 1;
        self.stack.push(obj);
    }

    /// `Mark`: `obj`, of slot `slot` (if it is in the set), is reachable.
    #[inline(always)]
    fn mark_edge(&mut self, obj: ObjRef, slot: Option<*mut u32>) {
        if let Some(slot) = slot {
            // SAFETY: as in `count_edge`. A slot outside the set
            // (`NOT_IN_SET`, `UNDISCOVERED`) is above `REACHABLE`.
            unsafe {
                if *slot < REACHABLE {
                    *slot = REACHABLE;
                    self.marked += 1;
                    if let Some(below) = self.top.replace(obj) {
                        self.stack.push(below);
                    }
                }
            }
        }
    }
}

/// Slots for a pool of an untracked type, which the map of a full
/// collection remembers once an edge has reached it (so that later edges
/// find `NOT_IN_SET` without reading its header): read-only, never written
/// (only slots below `NOT_IN_SET` are).
static NOT_IN_SET_SLOTS: [u32; MAX_BLOCKS] = [NOT_IN_SET; MAX_BLOCKS];

fn not_in_set_slots() -> *mut u32 {
    // Never written through (see `NOT_IN_SET_SLOTS`).
    NOT_IN_SET_SLOTS.as_ptr().cast_mut()
}

/// `Count`: one reference to the target of `slot` (if its pool is in the
/// set) found inside the set.
#[inline(always)]
fn count_edge(slot: Option<*mut u32>) {
    if let Some(slot) = slot {
        // SAFETY: the slot belongs to the set being collected. It stays
        // above zero unless a Trace impl over-visits (reported by
        // `external_refs`); saturating keeps even that from wrapping into
        // `NOT_IN_SET`. Only a full collection has undiscovered objects.
        unsafe {
            let v = *slot;
            debug_assert_ne!(v, UNDISCOVERED);
            if v < UNDISCOVERED {
                *slot = v.saturating_sub(1);
            }
        }
    }
}

/// The scratch `gc_refs` slot of `obj` if it is in the set being collected.
#[inline(always)]
pub(crate) fn gc_refs_slot(obj: ObjRef) -> Option<*mut u32> {
    // SAFETY: the slot is in the set's scratch memory.
    raw_slot(obj).filter(|&slot| unsafe { *slot != NOT_IN_SET })
}

/// The scratch `gc_refs` slot of `obj` if its pool (or, large, itself) has
/// one: its value may still say `NOT_IN_SET` or `UNDISCOVERED`.
#[inline(always)]
fn raw_slot(obj: ObjRef) -> Option<*mut u32> {
    // SAFETY: pool and large headers of allocated objects are readable.
    unsafe {
        if obj.is_large() {
            Some(std::ptr::addr_of_mut!((*obj.large().as_ptr()).gc_refs))
        } else {
            let pool = obj.pool();
            slot_in(
                (*pool.as_ptr()).scratch,
                Pool::index_of(pool, obj.header_ptr().as_ptr().cast()),
            )
        }
    }
}

/// [`raw_slot`] of the target of an edge (`obj` is `target`, erased). A
/// sized target's block index comes from its type's pool geometry,
/// constants (see `pooled_sized_index`): of its pool header, only the
/// scratch pointer is read.
#[inline(always)]
fn target_slot<T: ?Sized>(target: NonNull<GcBox<T>>, obj: ObjRef) -> Option<*mut u32> {
    // SAFETY: as in `Visitor::visit`: the target is alive and not mutably
    // borrowed, so its pool is live.
    unsafe {
        match pooled_sized_index(target) {
            Some(index) => slot_in((*obj.pool().as_ptr()).scratch, index),
            None => raw_slot(obj),
        }
    }
}

/// [`target_slot`] with a sized target's scratch array found through the
/// set's map (see `scratch_map`), not its pool header.
#[inline(always)]
fn target_slot_mapped<T: ?Sized>(
    target: NonNull<GcBox<T>>,
    obj: ObjRef,
    lookup: &mut ScratchLookup,
) -> Option<*mut u32> {
    // SAFETY: as for `target_slot`; a mapped visitor's lookup is its set's.
    unsafe {
        match pooled_sized_index(target) {
            Some(index) => slot_in(lookup.scratch_of(obj.pool()), index),
            None => raw_slot(obj),
        }
    }
}

/// The slot of block `index` in a pool's `scratch` array (null: the pool
/// is not in the set). Its value says whether the block is in the set.
///
/// # Safety
/// `scratch` must be null or a set pool's array, with a slot for `index`.
#[inline(always)]
unsafe fn slot_in(scratch: *mut u32, index: u32) -> Option<*mut u32> {
    if scratch.is_null() {
        return None;
    }
    // SAFETY: forwarded to the caller.
    Some(unsafe { scratch.add(index as usize) })
}
