//! Control and introspection of the cycle collector — CPython's `gc`
//! module, with Rust names.
//!
//! Every function acts on the current thread's heap: each thread has its own
//! objects, generations and settings.
//!
//! ```
//! use gengc::gc;
//!
//! assert_eq!(gc::threshold(), (2000, 10, 10));
//! gc::set_threshold(500, 10, 10);
//! assert_eq!(gc::threshold(), (500, 10, 10));
//! gc::collect();
//! assert_eq!(gc::count(), (0, 0, 0));
//! ```

use super::{Callback, Collector, GENERATIONS, OLD};
use crate::any::AnyGc;
use crate::heap::object::ObjRef;
use crate::heap::pool::{Pool, FROZEN};
use crate::heap::with_heap;
use crate::Gc;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Runs a full collection (all three generations) and returns the number of
/// objects it freed.
///
/// As in CPython, the count is of the unreachable *tracked* objects the
/// collection found. Untracked objects that only the garbage held (leaf
/// values, [acyclic](crate::Trace::is_acyclic) ones, ones born or made
/// untracked because their [edges are fixed](crate::Trace::has_fixed_edges))
/// are freed as well, by reference
/// counting while the garbage's values are dropped, without being counted.
///
/// Calling it from inside a collection (a finalizer, a destructor run by the
/// collector, a callback) returns 0 without collecting.
///
/// # Panics
/// If a finalizer, a destructor or a callback panics, the collection still
/// finishes and the heap stays consistent; then the first panic resumes.
///
/// ```
/// use gengc::{Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Option<Gc<Node>>>);
///
/// let a = Gc::new(Node(RefCell::new(None)));
/// let b = Gc::new(Node(RefCell::new(Some(a.clone()))));
/// *a.0.borrow_mut() = Some(b);
/// drop(a);
/// assert_eq!(gengc::collect(), 2);
/// ```
pub fn collect() -> usize {
    collect_generation(OLD)
}

/// Collects generation `generation` (0 = young, 1 = middle, 2 = old)
/// together with every younger one; returns the number of objects freed.
///
/// # Panics
/// If `generation > 2`; and as [`collect`].
///
/// ```
/// use gengc::gc;
/// gc::collect_generation(0);
/// assert_eq!(gc::count().1, 1); // one young collection since the last middle one
/// ```
#[track_caller]
pub fn collect_generation(generation: usize) -> usize {
    assert!(
        generation < GENERATIONS,
        "gengc: generation {generation} does not exist (0, 1 or 2)"
    );
    with_heap(|h| {
        let collected = h.collector().collect_with_callbacks(generation);
        // SAFETY: the arena set runs no user code; no borrow of it is live.
        unsafe { h.arenas_mut() }.return_expired_spares();
        collected
    })
}

/// Turns automatic collection on (the default).
///
/// ```
/// gengc::gc::disable();
/// gengc::gc::enable();
/// assert!(gengc::gc::is_enabled());
/// ```
pub fn enable() {
    with_heap(|h| {
        h.collector().enabled.set(true);
        h.collector().update_trigger();
    })
}

/// Turns automatic collection off; [`collect`] still works.
///
/// ```
/// gengc::gc::disable();
/// assert!(!gengc::gc::is_enabled());
/// # gengc::gc::enable();
/// ```
pub fn disable() {
    with_heap(|h| {
        h.collector().enabled.set(false);
        h.collector().update_trigger();
    })
}

/// Whether automatic collection is on.
///
/// ```
/// assert!(gengc::gc::is_enabled());
/// ```
pub fn is_enabled() -> bool {
    with_heap(|h| h.collector().enabled.get())
}

/// Sets the collection thresholds (CPython's `gc.set_threshold`).
///
/// A young collection runs when the tracked allocations minus deallocations
/// since the last one exceed `young`; the middle generation is collected
/// (with the young) after more than `middle` young collections, the old one
/// after more than `old` middle collections — and only once the objects
/// promoted to it since its last collection exceed 25 % of its size.
/// `young == 0` turns automatic collection off.
///
/// ```
/// gengc::gc::set_threshold(700, 10, 10);
/// assert_eq!(gengc::gc::threshold(), (700, 10, 10));
/// ```
pub fn set_threshold(young: usize, middle: usize, old: usize) {
    with_heap(|h| {
        let c = h.collector();
        for (t, v) in c.threshold.iter().zip([young, middle, old]) {
            t.set(v);
        }
        c.update_trigger();
    })
}

/// The collection thresholds; `(2000, 10, 10)` by default.
///
/// ```
/// assert_eq!(gengc::gc::threshold(), (2000, 10, 10));
/// ```
pub fn threshold() -> (usize, usize, usize) {
    with_heap(|h| {
        let t = &h.collector().threshold;
        (t[0].get(), t[1].get(), t[2].get())
    })
}

/// The collection counts (CPython's `gc.get_count`): tracked allocations
/// minus deallocations since the last young collection, young collections
/// since the last middle one, middle collections since the last old one.
///
/// ```
/// use gengc::{gc, Gc};
/// use std::cell::RefCell;
/// gc::collect();
/// let before = gc::count().0;
/// let v = Gc::new(RefCell::new(vec![Gc::new(1)])); // may own a Gc: tracked
/// assert_eq!(gc::count().0, before + 1);
/// # drop(v);
/// ```
pub fn count() -> (usize, usize, usize) {
    with_heap(|h| {
        let c = &h.collector().count;
        (c[0].get(), c[1].get(), c[2].get())
    })
}

/// Statistics of one generation since the thread started.
///
/// ```
/// use gengc::{gc, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Option<Gc<Node>>>);
///
/// let before = gc::stats()[2];
/// let a = Gc::new(Node(RefCell::new(None)));
/// *a.0.borrow_mut() = Some(a.clone());
/// drop(a);
/// assert_eq!(gc::collect(), 1);
/// let after = gc::stats()[2];
/// assert_eq!(after.collections, before.collections + 1);
/// assert_eq!(after.collected, before.collected + 1);
/// assert_eq!(after.uncollectable, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Collections of this generation (each includes the younger ones).
    pub collections: usize,
    /// Objects freed by those collections.
    pub collected: usize,
    /// Objects found unreachable but not freed. gengc has no legacy
    /// finalizers, so this is always 0; kept for parity with CPython.
    pub uncollectable: usize,
    /// Total time spent in those collections, finalizers and destructors
    /// included.
    pub pause: Duration,
}

/// Per-generation statistics (CPython's `gc.get_stats`).
///
/// ```
/// let before = gengc::gc::stats()[0].collections;
/// gengc::gc::collect_generation(0);
/// assert_eq!(gengc::gc::stats()[0].collections, before + 1);
/// ```
pub fn stats() -> [GenerationStats; GENERATIONS] {
    with_heap(|h| std::array::from_fn(|g| h.collector().stats[g].get()))
}

/// Moves every tracked object into the frozen set, which no collection
/// examines (CPython's `gc.freeze`, for long-lived data and fork-friendly
/// heaps), and resets the counts.
///
/// ```
/// use gengc::{gc, Gc};
/// use std::cell::RefCell;
/// let v = Gc::new(RefCell::new(vec![Gc::new(1)]));
/// gc::freeze();
/// assert!(gc::freeze_count() >= 1);
/// gc::unfreeze();
/// assert_eq!(gc::freeze_count(), 0);
/// # drop(v);
/// ```
pub fn freeze() {
    with_heap(|h| {
        let c = h.collector();
        if c.collecting.get() {
            return;
        }
        for g in 0..GENERATIONS {
            // SAFETY: runs no user code; the lists are not borrowed elsewhere.
            unsafe { c.move_generation(g, FROZEN) };
        }
        for n in &c.count {
            n.set(0);
        }
    })
}

/// Moves the frozen objects back into the old generation.
///
/// ```
/// gengc::gc::freeze();
/// gengc::gc::unfreeze();
/// assert_eq!(gengc::gc::freeze_count(), 0);
/// ```
pub fn unfreeze() {
    with_heap(|h| {
        let c = h.collector();
        if !c.collecting.get() {
            // SAFETY: as in `freeze`.
            unsafe { c.move_generation(FROZEN, OLD) };
        }
    })
}

/// The number of frozen objects.
///
/// ```
/// assert_eq!(gengc::gc::freeze_count(), 0);
/// ```
pub fn freeze_count() -> usize {
    with_heap(|h| h.collector().tracked_in(FROZEN))
}

/// The number of objects tracked by the collector in each generation
/// (young, middle, old), frozen ones excluded. Counted when asked: O(pools).
/// An object whose value is being dropped is counted until its memory is
/// freed, as CPython's counts do (no collection reads it meanwhile).
///
/// ```
/// use gengc::{gc, Gc};
/// use std::cell::RefCell;
/// gc::collect();
/// let v = Gc::new(RefCell::new(vec![Gc::new(1)]));
/// assert_eq!(gc::generation_sizes().0, 1);
/// # drop(v);
/// ```
pub fn generation_sizes() -> (usize, usize, usize) {
    with_heap(|h| {
        let c = h.collector();
        (c.tracked_in(0), c.tracked_in(1), c.tracked_in(2))
    })
}

/// Whether a collection start or end is being reported.
///
/// ```
/// use gengc::gc::{self, CallbackPhase};
/// use std::cell::RefCell;
/// use std::rc::Rc;
///
/// let phases = Rc::new(RefCell::new(Vec::new()));
/// let seen = phases.clone();
/// let id = gc::add_callback(move |phase, _| seen.borrow_mut().push(phase));
/// gc::collect();
/// gc::remove_callback(id);
/// assert_eq!(*phases.borrow(), [CallbackPhase::Start, CallbackPhase::Stop]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackPhase {
    /// Before the collection examines anything.
    Start,
    /// After the collection has finished (finalizers and destructors too).
    Stop,
}

/// What a callback learns about a collection.
///
/// ```
/// use gengc::gc::{self, CallbackPhase, CollectionInfo};
/// use gengc::{Gc, Trace};
/// use std::cell::{Cell, RefCell};
/// use std::rc::Rc;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Option<Gc<Node>>>);
///
/// let last = Rc::new(Cell::new(None::<CollectionInfo>));
/// let l = last.clone();
/// let id = gc::add_callback(move |phase, info| {
///     if phase == CallbackPhase::Stop {
///         l.set(Some(*info));
///     }
/// });
/// let a = Gc::new(Node(RefCell::new(None)));
/// *a.0.borrow_mut() = Some(a.clone());
/// drop(a);
/// gc::collect();
/// gc::remove_callback(id);
/// let info = last.get().unwrap();
/// assert_eq!((info.generation, info.collected), (2, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollectionInfo {
    /// The oldest generation collected.
    pub generation: usize,
    /// Objects freed (0 at [`CallbackPhase::Start`]).
    pub collected: usize,
    /// Always 0 (see [`GenerationStats::uncollectable`]).
    pub uncollectable: usize,
    /// Duration of the collection (zero at [`CallbackPhase::Start`]).
    pub duration: Duration,
}

/// Identifies a registered callback, for [`remove_callback`].
///
/// ```
/// let a = gengc::gc::add_callback(|_, _| {});
/// let b = gengc::gc::add_callback(|_, _| {});
/// assert_ne!(a, b);
/// assert!(gengc::gc::remove_callback(a));
/// assert!(gengc::gc::remove_callback(b));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

/// Registers a function called at the start and at the end of every
/// collection of this thread (CPython's `gc.callbacks`).
///
/// A callback may allocate, drop, or call [`collect`] (which returns 0 while
/// a collection runs). A panic in a callback is resumed after the
/// collection has finished.
///
/// ```
/// use gengc::gc::{self, CallbackPhase};
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// let starts = Rc::new(Cell::new(0));
/// let s = starts.clone();
/// let id = gc::add_callback(move |phase, _info| {
///     if phase == CallbackPhase::Start {
///         s.set(s.get() + 1);
///     }
/// });
/// gc::collect();
/// assert_eq!(starts.get(), 1);
/// assert!(gc::remove_callback(id));
/// ```
pub fn add_callback(f: impl FnMut(CallbackPhase, &CollectionInfo) + 'static) -> CallbackId {
    with_heap(|h| {
        let c = h.collector();
        let id = c.next_callback.get();
        c.next_callback.set(id + 1);
        let cb: Callback = Rc::new(RefCell::new(f));
        c.callbacks.borrow_mut().push((id, cb));
        CallbackId(id)
    })
}

/// Unregisters a callback; returns whether it was registered.
///
/// ```
/// let id = gengc::gc::add_callback(|_, _| {});
/// assert!(gengc::gc::remove_callback(id));
/// assert!(!gengc::gc::remove_callback(id));
/// ```
pub fn remove_callback(id: CallbackId) -> bool {
    with_heap(|h| {
        let mut cbs = h.collector().callbacks.borrow_mut();
        let before = cbs.len();
        cbs.retain(|(i, _)| *i != id.0);
        cbs.len() != before
    })
}

/// Debugging switches (CPython's `gc.set_debug` flags).
///
/// ```
/// use gengc::gc::{self, DebugFlags};
/// use gengc::{Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Option<Gc<Node>>>);
///
/// gc::set_debug(DebugFlags::SAVE_ALL);
/// let a = Gc::new(Node(RefCell::new(None)));
/// *a.0.borrow_mut() = Some(a.clone());
/// drop(a);
/// assert_eq!(gc::collect(), 1);
/// assert_eq!(gc::take_garbage().len(), 1); // kept, not freed
/// gc::set_debug(DebugFlags::empty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DebugFlags(u32);

impl DebugFlags {
    pub(crate) fn remove(&mut self, other: DebugFlags) {
        self.0 &= !other.0;
    }

    /// Report statistics of every collection: to standard error, or through
    /// the `log` crate (target `gengc`, level `info`) with the `log` feature.
    pub const STATS: DebugFlags = DebugFlags(1);
    /// Keep unreachable objects in [`garbage`] instead of freeing them.
    pub const SAVE_ALL: DebugFlags = DebugFlags(32);

    /// No flag set.
    ///
    /// ```
    /// assert!(gengc::gc::DebugFlags::empty().is_empty());
    /// ```
    pub const fn empty() -> DebugFlags {
        DebugFlags(0)
    }

    /// Whether no flag is set.
    ///
    /// ```
    /// assert!(!gengc::gc::DebugFlags::STATS.is_empty());
    /// ```
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set in `self`.
    ///
    /// ```
    /// use gengc::gc::DebugFlags;
    /// assert!((DebugFlags::STATS | DebugFlags::SAVE_ALL).contains(DebugFlags::STATS));
    /// ```
    pub const fn contains(self, other: DebugFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for DebugFlags {
    type Output = DebugFlags;
    fn bitor(self, rhs: DebugFlags) -> DebugFlags {
        DebugFlags(self.0 | rhs.0)
    }
}

/// Sets the debugging flags.
///
/// ```
/// use gengc::gc::{self, DebugFlags};
/// gc::set_debug(DebugFlags::SAVE_ALL);
/// assert_eq!(gc::debug(), DebugFlags::SAVE_ALL);
/// gc::set_debug(DebugFlags::empty());
/// ```
pub fn set_debug(flags: DebugFlags) {
    with_heap(|h| h.collector().debug.set(flags))
}

/// The debugging flags.
///
/// ```
/// assert!(gengc::gc::debug().is_empty());
/// ```
pub fn debug() -> DebugFlags {
    with_heap(|h| h.collector().debug.get())
}

/// The objects kept by [`DebugFlags::SAVE_ALL`] (CPython's `gc.garbage`).
///
/// ```
/// use gengc::{gc, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node(RefCell<Option<Gc<Node>>>);
///
/// gc::set_debug(gc::DebugFlags::SAVE_ALL);
/// let a = Gc::new(Node(RefCell::new(None)));
/// *a.0.borrow_mut() = Some(a.clone());
/// drop(a);
/// gc::collect();
/// let saved = gc::take_garbage();
/// assert_eq!(saved.len(), 1);
/// assert!(saved[0].type_name().ends_with("Node"));
/// gc::set_debug(gc::DebugFlags::empty());
/// ```
pub fn garbage() -> Vec<AnyGc> {
    with_heap(|h| h.collector().garbage.borrow().clone())
}

/// Empties the saved garbage list and returns it.
///
/// ```
/// assert!(gengc::gc::take_garbage().is_empty());
/// ```
pub fn take_garbage() -> Vec<AnyGc> {
    with_heap(|h| std::mem::take(&mut *h.collector().garbage.borrow_mut()))
}

/// Whether the collector tracks this object (its type may own a `Gc` and
/// is not [acyclic](crate::Trace::is_acyclic)).
///
/// An object whose type has [fixed edges](crate::Trace::has_fixed_edges)
/// is not tracked while every object it references is untracked: it is
/// born untracked if they are at its birth (as CPython creates `{"a": 1}`
/// untracked), or stops being tracked at the first collection that finds
/// them so (as CPython untracks such tuples). [`Gc::get_mut`] tracks it
/// again.
///
/// ```
/// use gengc::{gc, Gc};
/// use std::cell::RefCell;
/// assert!(!gc::is_tracked(&Gc::new(5)));
/// // A cell may gain a tracked edge: tracked.
/// let cell = Gc::new(RefCell::new(vec![Gc::new(5)]));
/// assert!(gc::is_tracked(&cell));
/// // Fixed edges to untracked objects: born untracked.
/// assert!(!gc::is_tracked(&Gc::new(vec![Gc::new(5)])));
/// // Fixed edges to a tracked object: tracked.
/// assert!(gc::is_tracked(&Gc::new(vec![cell])));
/// ```
pub fn is_tracked<T: ?Sized>(gc: &Gc<T>) -> bool {
    let obj = gc.obj();
    with_heap(|h| {
        // SAFETY: `gc` keeps the block allocated.
        unsafe { h.collector().generation_of(obj).is_some() }
    })
}

/// Which generation the object is in: `Some(0..=2)`, `Some(3)` when frozen,
/// `None` when untracked.
///
/// ```
/// use gengc::{gc, Gc};
/// use std::cell::RefCell;
/// let v = Gc::new(RefCell::new(vec![Gc::new(1)]));
/// assert_eq!(gc::generation(&v), Some(0));
/// gc::collect_generation(0);
/// assert_eq!(gc::generation(&v), Some(1));
///
/// // Without the cell, the vector's edges are fixed, and all of them lead
/// // to untracked objects: it is born untracked.
/// let fixed = Gc::new(vec![Gc::new(1)]);
/// assert_eq!(gc::generation(&fixed), None);
///
/// // Fixed edges to a tracked object: tracked until a collection finds
/// // that object untracked.
/// let holder = Gc::new(vec![v.clone()]);
/// assert_eq!(gc::generation(&holder), Some(0));
/// ```
pub fn generation<T: ?Sized>(gc: &Gc<T>) -> Option<usize> {
    let obj = gc.obj();
    // SAFETY: `gc` keeps the block allocated.
    with_heap(|h| unsafe { h.collector().generation_of(obj) })
}

/// Whether the object's finalizer has run (CPython's `gc.is_finalized`).
///
/// ```
/// use gengc::{gc, Gc};
/// assert!(!gc::is_finalized(&Gc::new(1)));
/// ```
pub fn is_finalized<T: ?Sized>(gc: &Gc<T>) -> bool {
    // SAFETY: `gc` keeps the block allocated.
    unsafe {
        gc.obj()
            .header()
            .has_flag(crate::heap::header::FLAG_FINALIZED)
    }
}

/// Traces one object and returns what it reports (CPython's
/// `gc.get_referents`): one entry per owned `Gc` edge, in trace order.
/// `Gc<str>` and `Gc<[T]>` of untraced elements are left out (they hold no
/// reference and cannot be erased).
///
/// ```
/// use gengc::{gc, Gc};
/// let leaf = Gc::new(7);
/// let v = Gc::new(vec![leaf.clone(), leaf.clone()]);
/// let r = gc::referents(&v);
/// assert_eq!(r.len(), 2);
/// assert!(r[0].ptr_eq(&leaf));
/// ```
pub fn referents<T: ?Sized>(gc: &Gc<T>) -> Vec<AnyGc> {
    let obj = gc.obj();
    // SAFETY: holding `&Gc` means no `&mut T` lent by `get_mut` is live (it
    // borrowed this very handle, the only one), so the value may be read.
    unsafe {
        obj.header().end_mut_lend();
        erase_all(trace_targets(obj))
    }
}

/// Every tracked object that references this one (CPython's
/// `gc.get_referrers`). It traces the whole heap: O(heap), a debugging tool.
/// Untracked objects — of [acyclic](crate::Trace::is_acyclic) types, and
/// objects untracked because their
/// [edges are fixed](crate::Trace::has_fixed_edges), like CPython's
/// untracked tuples and dicts — are not searched.
///
/// ```
/// use gengc::{gc, Gc};
/// use std::cell::RefCell;
/// let leaf = Gc::new(7);
/// let v = Gc::new(RefCell::new(vec![leaf.clone()]));
/// let fixed = Gc::new(vec![leaf.clone()]); // untracked: not searched
/// let r = gc::referrers(&leaf);
/// assert_eq!(r.len(), 1);
/// assert!(r[0].ptr_eq(&v));
/// # drop(fixed);
/// ```
pub fn referrers<T: ?Sized>(gc: &Gc<T>) -> Vec<AnyGc> {
    let target = gc.obj();
    let mut found = Vec::new();
    with_heap(|h| {
        for g in 0..=FROZEN {
            h.collector().for_each_in(g, |obj| {
                // SAFETY: tracked objects are alive; lent ones are skipped.
                unsafe {
                    if !obj.header().may_be_lent() && trace_targets(obj).contains(&target) {
                        found.push(obj);
                    }
                }
            });
        }
    });
    // SAFETY: the objects were just found alive.
    unsafe { erase_all(found) }
}

/// Every tracked object, of one generation (`Some(0..=2)`, `Some(3)` for
/// the frozen set) or of all (`None`) — CPython's `gc.get_objects`.
///
/// # Panics
/// If `generation > 3`.
///
/// ```
/// use gengc::{gc, Gc};
/// use std::cell::RefCell;
/// gc::collect();
/// let v = Gc::new(RefCell::new(vec![Gc::new(1)]));
/// let young = gc::objects(Some(0));
/// assert!(young.iter().any(|o| o.ptr_eq(&v)));
/// ```
#[track_caller]
pub fn objects(generation: Option<usize>) -> Vec<AnyGc> {
    assert!(
        generation.is_none_or(|g| g <= FROZEN),
        "gengc: generation must be 0..=3"
    );
    let mut found = Vec::new();
    with_heap(|h| {
        let gens = match generation {
            Some(g) => g..=g,
            None => 0..=FROZEN,
        };
        for g in gens {
            h.collector().for_each_in(g, |obj| {
                // An object whose `&mut` may be lent out (`Gc::get_mut`)
                // must not get a second handle: it would alias that `&mut`.
                // SAFETY: tracked objects are alive.
                if !unsafe { obj.header().may_be_lent() } {
                    found.push(obj);
                }
            });
        }
    });
    // SAFETY: the objects were just found alive.
    unsafe { erase_all(found) }
}

/// The targets of one object's edges.
///
/// # Safety
/// The object must be alive and its value not lent out.
pub(crate) unsafe fn trace_targets(obj: ObjRef) -> Vec<ObjRef> {
    let mut visitor = super::visit::Visitor::new(super::visit::Mode::Collect);
    // SAFETY: forwarded to the caller.
    unsafe { obj.trace(&mut visitor) };
    visitor.stack
}

/// # Safety
/// Every object must be alive.
unsafe fn erase_all(objs: Vec<ObjRef>) -> Vec<AnyGc> {
    // SAFETY: forwarded to the caller.
    objs.into_iter()
        .filter(|o| unsafe { o.is_erasable() })
        .map(|o| unsafe { AnyGc::new_strong(o) })
        .collect()
}

impl Collector {
    /// Moves every object of generation `from` into `to` (into the old one
    /// as suspects: no full collection proved them reachable there).
    ///
    /// # Safety
    /// Runs no user code; no list may be borrowed elsewhere.
    pub(super) unsafe fn move_generation(&self, from: usize, to: usize) {
        // SAFETY: forwarded to the caller; listed pools are live.
        unsafe {
            let pools: Vec<_> = self.pool_list(from).drain(..).collect();
            for pool in pools {
                (*pool.as_ptr()).gen_slot[from] = crate::heap::pool::NOT_LISTED;
                let (src, dst) = (Pool::gen_bitmap(pool, from), Pool::gen_bitmap(pool, to));
                let mut moved = 0;
                for w in 0..(*pool.as_ptr()).geometry.words as usize {
                    moved += (*src.add(w)).count_ones() as usize;
                    *dst.add(w) |= *src.add(w);
                    if to == super::OLD {
                        // Not proved reachable by a full collection.
                        self.note_suspect_word(pool, w, *src.add(w));
                    }
                    *src.add(w) = 0;
                }
                if moved > 0 {
                    self.list_pool(to, pool);
                }
                if from == super::OLD {
                    self.old_pooled.set(self.old_pooled.get() - moved);
                }
                if to == super::OLD {
                    self.old_pooled.set(self.old_pooled.get() + moved);
                }
            }
            let mut moved =
                std::mem::replace(self.large_list(from), crate::heap::large::LargeList::new());
            if to == super::OLD {
                moved.for_each(|l| self.note_suspect_large(l, to));
            }
            self.large_list(to).append(&mut moved, to as u8);
        }
    }
}

/// Where `DebugFlags::STATS` lines go: with the `log` feature, the `log`
/// crate (target `gengc`, level `info`), so an application's logger can
/// route or filter them; otherwise standard error, as CPython prints them.
fn stats_line(line: std::fmt::Arguments<'_>) {
    #[cfg(feature = "log")]
    log::info!(target: "gengc", "{line}");
    #[cfg(not(feature = "log"))]
    eprintln!("{line}");
}

/// `DebugFlags::STATS` output at the start of a collection.
pub(super) fn report_start(c: &Collector, g: usize) {
    stats_line(format_args!("gc: collecting generation {g}..."));
    stats_line(format_args!(
        "gc: objects in each generation: {} {} {}",
        c.tracked_in(0),
        c.tracked_in(1),
        c.tracked_in(2)
    ));
    stats_line(format_args!(
        "gc: objects in permanent generation: {}",
        c.tracked_in(FROZEN)
    ));
}

/// `DebugFlags::STATS` output at the end of a collection.
pub(super) fn report_done(info: &CollectionInfo) {
    stats_line(format_args!(
        "gc: done, {} unreachable, {} uncollectable, {:.4}s elapsed",
        info.collected,
        info.uncollectable,
        info.duration.as_secs_f64()
    ));
}
