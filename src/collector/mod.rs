//! The generational cycle collector (CPython's `gc` module, in Rust).
//!
//! Reference counting frees most objects the moment their last `Gc` goes.
//! What it cannot free is a group of objects that only reference each other.
//! The collector finds those groups among the *tracked* objects (those whose
//! type may own a `Gc`) and breaks them.
//!
//! - `generations` (this file): which objects are in which generation, the
//!   counts that trigger collections, and the statistics.
//! - [`detect`]: finding the unreachable objects of a set (`gc_refs`).
//! - [`settle`]: untracking objects that can never be part of a cycle.
//! - [`suspects`]: which old objects a full collection starts from.
//! - [`teardown`]: finalizers, resurrection, and freeing the garbage.
//! - [`control`]: the public API, `gengc::gc`.

pub mod control;
mod detect;
mod scratch_map;
mod settle;
mod suspects;
mod teardown;
pub(crate) mod visit;

use crate::any::AnyGc;
use crate::heap::large::{LargeHeader, LargeList, NOT_IN_SET};
use crate::heap::object::ObjRef;
use crate::heap::pool::{set_bit, test_bit, Pool, GEN_BITMAPS, NOT_LISTED, POOL_BITMAPS};
use control::{CallbackPhase, CollectionInfo, GenerationStats};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::ptr::NonNull;
use std::rc::Rc;
use std::time::Duration;

/// Scratch memory kept between collections (bytes of bump arena, or of work
/// stack); more than that is returned after the collection that needed it.
const SCRATCH_KEPT: usize = 256 * 1024;

/// Most full collections run at thread exit (see `collect_at_exit`).
const EXIT_COLLECTIONS: usize = 16;

/// Number of collectable generations (young, middle, old).
pub(crate) const GENERATIONS: usize = 3;
const OLD: usize = 2;

pub(crate) type Callback = Rc<RefCell<dyn FnMut(CallbackPhase, &CollectionInfo)>>;

/// Per-thread collector state.
pub(crate) struct Collector {
    /// `pools[g]`: the pools holding at least one object of generation `g`
    /// (it may list pools whose last such object died since; collections
    /// prune them). Index 3 is the frozen set, index 4 (`SUSPECTS`) the
    /// pools with suspects (see `suspects`).
    pools: [UnsafeCell<Vec<NonNull<Pool>>>; POOL_BITMAPS],
    /// Large tracked objects, one list per generation (and frozen).
    large: [UnsafeCell<LargeList>; GEN_BITMAPS],
    /// CPython's counts: `count[0]` = tracked allocations minus deallocations
    /// since the last young collection; `count[g]` = collections of `g - 1`
    /// since the last collection of `g`.
    count: [Cell<usize>; GENERATIONS],
    threshold: [Cell<usize>; GENERATIONS],
    /// `count[0]` above this starts a collection: `threshold[0]`, or
    /// `usize::MAX` while automatic collection is off.
    trigger_at: Cell<usize>,
    enabled: Cell<bool>,
    collecting: Cell<bool>,
    /// The next full collection starts from the suspects (see `suspects`);
    /// false after one that ended up counting most of the old generation
    /// anyway, for one collection.
    scoped_full: Cell<bool>,
    /// The 25 % rule: a full collection waits until the objects promoted to
    /// the old generation since the last one (`pending`) exceed a quarter of
    /// what that one left (`total`), keeping big builds linear.
    long_lived_total: Cell<usize>,
    long_lived_pending: Cell<usize>,
    /// Pooled objects in the old generation, kept as their bits come and
    /// go, so that a full collection learns the old generation's size
    /// without reading the pools it leaves alone (see `suspects`).
    old_pooled: Cell<usize>,
    stats: [Cell<GenerationStats>; GENERATIONS],
    debug: Cell<control::DebugFlags>,
    callbacks: RefCell<Vec<(u64, Callback)>>,
    next_callback: Cell<u64>,
    /// Objects kept by `DebugFlags::SAVE_ALL` instead of being freed.
    garbage: RefCell<Vec<AnyGc>>,
    /// Scratch memory reused by every collection.
    scratch: UnsafeCell<Scratch>,
    /// A full collection's pools that may join its set (see
    /// `detect::LazyPools`): apart from `scratch`, since they join it in
    /// the middle of a pass over the set.
    lazy: UnsafeCell<detect::LazyPools>,
}

/// Buffers a collection uses, kept between collections so a collection does
/// no per-object allocation once they have grown.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per-pool `gc_refs` arrays; reset after each collection.
    bump: bumpalo::Bump,
    set_pools: Vec<NonNull<Pool>>,
    /// The set's large objects: its members at `gather` (the first
    /// `large_members`), then, in a full collection, the old ones left
    /// undiscovered there (members once an edge discovers them).
    set_large: Vec<NonNull<LargeHeader>>,
    large_members: usize,
    undiscovered_large: Vec<NonNull<LargeHeader>>,
    /// The set is a full collection's, started from the suspects (see
    /// `suspects`), not from the whole old generation.
    scoped: bool,
    /// How many old objects counting may discover one by one before it
    /// counts all the rest (see `detect::DISCOVER_SHARE`).
    discover_budget: usize,
    stack: Vec<ObjRef>,
    lent: Vec<ObjRef>,
    /// The set is generations `0..set_gens`.
    set_gens: usize,
    /// Where the set's scratch arrays are, for big sets (see
    /// `scratch_map`), and the lookup the passes copy from it.
    map: scratch_map::ScratchMap,
    lookup: scratch_map::ScratchLookup,
}

impl Collector {
    pub(crate) fn new() -> Collector {
        Collector {
            pools: Default::default(),
            large: [const { UnsafeCell::new(LargeList::new()) }; GEN_BITMAPS],
            count: Default::default(),
            threshold: [Cell::new(2000), Cell::new(10), Cell::new(10)],
            trigger_at: Cell::new(2000),
            enabled: Cell::new(true),
            collecting: Cell::new(false),
            scoped_full: Cell::new(true),
            long_lived_total: Cell::new(0),
            long_lived_pending: Cell::new(0),
            old_pooled: Cell::new(0),
            stats: Default::default(),
            debug: Cell::new(control::DebugFlags::empty()),
            callbacks: RefCell::new(Vec::new()),
            next_callback: Cell::new(0),
            garbage: RefCell::new(Vec::new()),
            scratch: UnsafeCell::new(Scratch::default()),
            lazy: UnsafeCell::new(detect::LazyPools::default()),
        }
    }

    /// # Safety
    /// No other reference to list `g` may be live; no user code may run
    /// while the result is held.
    #[allow(clippy::mut_from_ref)]
    unsafe fn pool_list(&self, g: usize) -> &mut Vec<NonNull<Pool>> {
        // SAFETY: forwarded to the caller.
        unsafe { &mut *self.pools[g].get() }
    }

    /// # Safety
    /// As for `pool_list`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn large_list(&self, g: usize) -> &mut LargeList {
        // SAFETY: forwarded to the caller.
        unsafe { &mut *self.large[g].get() }
    }

    /// # Safety
    /// As for `pool_list`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn scratch(&self) -> &mut Scratch {
        // SAFETY: forwarded to the caller.
        unsafe { &mut *self.scratch.get() }
    }

    /// # Safety
    /// As for `pool_list`.
    #[allow(clippy::mut_from_ref)]
    unsafe fn lazy(&self) -> &mut detect::LazyPools {
        // SAFETY: forwarded to the caller.
        unsafe { &mut *self.lazy.get() }
    }

    /// Lists `pool` as holding objects of generation `g`.
    ///
    /// # Safety
    /// `pool` must be a live pool of this heap; runs no user code.
    #[inline(always)]
    unsafe fn list_pool(&self, g: usize, pool: NonNull<Pool>) {
        // SAFETY: forwarded to the caller.
        unsafe {
            if (*pool.as_ptr()).gen_slot[g] == NOT_LISTED {
                let list = self.pool_list(g);
                (*pool.as_ptr()).gen_slot[g] = list.len() as u32;
                list.push(pool);
            }
        }
    }

    /// Removes `pool` from generation list `g`.
    ///
    /// # Safety
    /// As for `list_pool`.
    unsafe fn unlist_pool(&self, g: usize, pool: NonNull<Pool>) {
        // SAFETY: forwarded to the caller; listed pools are live.
        unsafe {
            let slot = (*pool.as_ptr()).gen_slot[g];
            if slot == NOT_LISTED {
                return;
            }
            let list = self.pool_list(g);
            list.swap_remove(slot as usize);
            if let Some(moved) = list.get(slot as usize) {
                (*moved.as_ptr()).gen_slot[g] = slot;
            }
            (*pool.as_ptr()).gen_slot[g] = NOT_LISTED;
        }
    }

    /// A pool is going back to its arena: drop it from every list.
    ///
    /// # Safety
    /// As for `list_pool`.
    pub(crate) unsafe fn forget_pool(&self, pool: NonNull<Pool>) {
        for g in 0..POOL_BITMAPS {
            // SAFETY: forwarded to the caller.
            unsafe { self.unlist_pool(g, pool) };
        }
    }

    /// A new tracked object enters the young generation.
    ///
    /// # Safety
    /// Block `index` of `pool` must hold a live, untracked object.
    #[inline(always)]
    pub(crate) unsafe fn track_pooled(&self, pool: NonNull<Pool>, index: u32) {
        // SAFETY: forwarded to the caller.
        unsafe {
            set_bit(Pool::gen_bitmap(pool, 0), index);
            self.list_pool(0, pool);
        }
        self.count[0].set(self.count[0].get() + 1);
    }

    /// A tracked object leaves its generation (it died, or its value moved).
    ///
    /// # Safety
    /// Block `index` of `pool` must be allocated.
    #[inline(always)]
    pub(crate) unsafe fn untrack_pooled(&self, pool: NonNull<Pool>, index: u32) {
        // Finds the one bitmap holding the bit and clears only that word.
        // (Clearing all four unconditionally avoids the branches but puts
        // four stores in front of the next load, which cost ~10 ns per
        // death when dropping a large tree.) No per-generation total is
        // kept: `tracked_in` counts when asked.
        // SAFETY: the pool is tracked, so it has GEN_BITMAPS bitmaps of
        // `words` words, and `index` is one of its blocks.
        unsafe {
            let words = (*pool.as_ptr()).geometry.words as usize;
            let mut word = Pool::gen_bitmap(pool, 0).add(index as usize / 64);
            let bit = 1u64 << (index % 64);
            for g in 0..GEN_BITMAPS {
                if *word & bit != 0 {
                    *word &= !bit;
                    let c = self.count[0].get();
                    self.count[0].set(c.saturating_sub(1));
                    if g == OLD {
                        self.old_pooled.set(self.old_pooled.get() - 1);
                    }
                    return;
                }
                word = word.add(words);
            }
        }
    }

    /// Objects tracked in generation `g` (3: frozen). O(pools of `g`),
    /// but O(1) for the old generation, whose running count of pooled
    /// objects it reports (so every test that checks the old generation's
    /// size checks that count; debug builds check it against the bitmaps
    /// at every full collection).
    pub(crate) fn tracked_in(&self, g: usize) -> usize {
        let pooled = if g == OLD {
            self.old_pooled.get()
        } else {
            self.tracked_pooled_in(g)
        };
        // SAFETY: the list is only read; no user code runs.
        pooled + unsafe { self.large_list(g).len }
    }

    /// The pooled objects of [`tracked_in`](Self::tracked_in).
    fn tracked_pooled_in(&self, g: usize) -> usize {
        // SAFETY: the lists are only read; no user code runs.
        unsafe {
            self.pool_list(g)
                .iter()
                .map(|&pool| {
                    let bits = Pool::gen_bitmap(pool, g);
                    (0..(*pool.as_ptr()).geometry.words as usize)
                        .map(|w| (*bits.add(w)).count_ones() as usize)
                        .sum::<usize>()
                })
                .sum()
        }
    }

    /// # Safety
    /// `large` must be a live, untracked large object of this heap.
    pub(crate) unsafe fn track_large(&self, large: NonNull<LargeHeader>) {
        // SAFETY: forwarded to the caller.
        unsafe { self.large_list(0).push(large, 0) };
        self.count[0].set(self.count[0].get() + 1);
    }

    /// # Safety
    /// `large` must be a live large object of this heap.
    pub(crate) unsafe fn untrack_large(&self, large: NonNull<LargeHeader>) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let g = (*large.as_ptr()).generation;
            if g == crate::heap::large::UNTRACKED {
                return;
            }
            self.large_list(g as usize).remove(large);
        }
        let c = self.count[0].get();
        self.count[0].set(c.saturating_sub(1));
    }

    /// Puts an object that is back from the dead (resurrected, or kept by
    /// `SAVE_ALL`) into generation `g`; in the old one, as a suspect.
    ///
    /// # Safety
    /// The object must be live, tracked-typed and currently untracked.
    unsafe fn retrack(&self, obj: ObjRef, g: usize) {
        // SAFETY: forwarded to the caller.
        unsafe {
            if obj.is_large() {
                self.large_list(g).push(obj.large(), g as u8);
                self.note_suspect_large(obj.large(), g);
            } else {
                let pool = obj.pool();
                let index = Pool::index_of(pool, obj.header_ptr().as_ptr().cast());
                set_bit(Pool::gen_bitmap(pool, g), index);
                self.list_pool(g, pool);
                if g == OLD {
                    self.old_pooled.set(self.old_pooled.get() + 1);
                    self.note_suspect_pooled(pool, index);
                }
            }
        }
    }

    /// Puts a settled object back into the young generation. It counts as
    /// a tracked allocation (`count[0]`), since its death will count as a
    /// deallocation; like any entry outside `Gc::new`, it fires no trigger.
    ///
    /// # Safety
    /// `obj` must be a live object of this heap, marked `FLAG_SETTLED` (so
    /// of a tracked type, and in no generation); no collection may be in
    /// its detection steps (only user code calls this).
    pub(crate) unsafe fn unsettle(&self, obj: ObjRef) {
        // SAFETY: forwarded to the caller.
        unsafe {
            obj.header().clear_flag(crate::heap::header::FLAG_SETTLED);
            self.retrack(obj, 0);
        }
        self.count[0].set(self.count[0].get() + 1);
    }

    /// Which generation a tracked object is in (`None` if untracked).
    ///
    /// # Safety
    /// The object's block must be allocated.
    pub(crate) unsafe fn generation_of(&self, obj: ObjRef) -> Option<usize> {
        // SAFETY: forwarded to the caller.
        unsafe { generation_of(obj) }
    }

    /// Calls `f` on every live tracked object of generation `g` (no user
    /// code may run inside `f` that changes the generations). Dying objects
    /// (strong count zero, still in the generation while their value is
    /// dropped: see `heap::owner_death`) are left out: their value must not
    /// be read, nor a handle made to them.
    pub(crate) fn for_each_in(&self, g: usize, mut f: impl FnMut(ObjRef)) {
        // SAFETY: the lists are not modified while walked (see above); the
        // header of an object in a generation is readable.
        unsafe {
            for &pool in self.pool_list(g).iter() {
                let bits = Pool::gen_bitmap(pool, g);
                Pool::for_each_set(pool, bits, |i| {
                    let obj = ObjRef::new(Pool::block(pool, i).cast(), false);
                    if obj.header().strong() > 0 {
                        f(obj)
                    }
                });
            }
            self.large_list(g)
                .for_each(|l| f(ObjRef::new(LargeHeader::object(l), true)));
        }
    }

    /// The automatic trigger, called by `Gc::new` for tracked types before
    /// the new block is taken.
    #[inline(always)]
    pub(crate) fn maybe_collect(&self) {
        if self.count[0].get() > self.trigger_at.get() {
            self.collect_automatic();
        }
    }

    #[cold]
    fn collect_automatic(&self) {
        if self.collecting.get() || !self.enabled.get() {
            return;
        }
        // The oldest generation over its threshold is collected together
        // with every younger one (CPython's `collect_generations`).
        for g in (0..GENERATIONS).rev() {
            if self.count[g].get() > self.threshold[g].get() {
                if g == OLD && self.long_lived_pending.get() <= self.long_lived_total.get() / 4 {
                    // Not enough new old objects to pay for a full scan yet.
                    continue;
                }
                self.collect_with_callbacks(g);
                return;
            }
        }
    }

    /// Recomputes the fast-path trigger after a setting changed.
    fn update_trigger(&self) {
        let t0 = self.threshold[0].get();
        let on = self.enabled.get() && t0 != 0;
        self.trigger_at.set(if on { t0 } else { usize::MAX });
    }

    /// The final full collection at thread exit; a panic from user code is
    /// reported and swallowed (unwinding out of a thread-local destructor
    /// would abort the process).
    ///
    /// Everything goes: the garbage saved by `SAVE_ALL` is released (and the
    /// flag cleared, or it would only be saved again), frozen objects are
    /// unfrozen so that frozen garbage is finalized too, and — as in
    /// CPython's shutdown collection — callbacks are not called.
    pub(crate) fn collect_at_exit(&self) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut flags = self.debug.get();
            flags.remove(control::DebugFlags::SAVE_ALL);
            self.debug.set(flags);
            drop(std::mem::take(&mut *self.garbage.borrow_mut()));
            drop(std::mem::take(&mut *self.callbacks.borrow_mut()));
            // SAFETY: no collection is running at thread exit; no user code
            // runs while the lists move.
            unsafe { self.move_generation(crate::heap::pool::FROZEN, OLD) };
            // Destructors and finalizers run by one collection may create new
            // cycles; collect again while that keeps happening (bounded, in
            // case a destructor recreates garbage forever).
            for _ in 0..EXIT_COLLECTIONS {
                if self.collect_with_callbacks(OLD) == 0 {
                    break;
                }
            }
        }));
        if result.is_err() {
            eprintln!("gengc: a panic in a finalizer or destructor during the thread-exit collection was ignored");
        }
    }

    fn record(&self, g: usize, collected: usize, pause: Duration) {
        let mut s = self.stats[g].get();
        s.collections += 1;
        s.collected += collected;
        s.pause += pause;
        self.stats[g].set(s);
    }
}

/// Which generation (3: frozen) a tracked object is in; `None` if it is
/// untracked. Reads only the object's pool or large header.
///
/// # Safety
/// The object's block must be allocated.
unsafe fn generation_of(obj: ObjRef) -> Option<usize> {
    // SAFETY: forwarded to the caller.
    unsafe {
        if obj.is_large() {
            let g = (*obj.large().as_ptr()).generation;
            (g != crate::heap::large::UNTRACKED).then_some(g as usize)
        } else {
            let pool = obj.pool();
            if !(*pool.as_ptr()).tracked {
                return None;
            }
            let index = Pool::index_of(pool, obj.header_ptr().as_ptr().cast());
            (0..GEN_BITMAPS).find(|&g| test_bit(Pool::gen_bitmap(pool, g), index))
        }
    }
}

/// Resets the scratch state when a collection unwinds through a panic in a
/// `Trace` impl, so the heap stays consistent and usable.
struct ClearSetOnUnwind<'a> {
    collector: &'a Collector,
    armed: bool,
}

impl Drop for ClearSetOnUnwind<'_> {
    fn drop(&mut self) {
        if self.armed {
            // SAFETY: runs no user code; the set lists hold live pools and
            // large objects (nothing was freed during detection).
            unsafe { self.collector.clear_set() };
        }
    }
}

impl Collector {
    /// Forgets the set: scratch pointers off every pool, `gc_refs` off every
    /// large object, scratch memory reset.
    ///
    /// # Safety
    /// The set's pools and large objects must still be alive.
    unsafe fn clear_set(&self) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let s = self.scratch();
            for pool in s.set_pools.drain(..) {
                (*pool.as_ptr()).scratch = std::ptr::null_mut();
            }
            for large in s.set_large.drain(..) {
                (*large.as_ptr()).gc_refs = NOT_IN_SET;
            }
            s.large_members = 0;
            self.lazy().clear();
            s.stack.clear();
            s.lent.clear();
            s.lookup = scratch_map::ScratchLookup::NONE;
            s.map.release();
            s.bump.reset();
            // Keep the scratch of an ordinary collection for the next one,
            // but not the megabytes a collection of a huge heap needed.
            if s.bump.allocated_bytes() > SCRATCH_KEPT {
                s.bump = bumpalo::Bump::new();
            }
            if s.stack.capacity() * std::mem::size_of::<ObjRef>() > SCRATCH_KEPT {
                s.stack = Vec::new();
            }
        }
    }
}

/// Clears the `collecting` flag however the collection ends.
struct CollectingFlag<'a>(&'a Cell<bool>);

impl Drop for CollectingFlag<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl Collector {
    /// Collects generations `0..=g` with the start/stop callbacks around it;
    /// returns the number of objects collected. A nested call (from a
    /// finalizer, destructor or callback) returns 0 at once.
    pub(crate) fn collect_with_callbacks(&self, g: usize) -> usize {
        if self.collecting.get() {
            return 0;
        }
        self.collecting.set(true);
        let flag = CollectingFlag(&self.collecting);
        let started = std::time::Instant::now();
        let mut panic = None;
        let mut info = CollectionInfo {
            generation: g,
            collected: 0,
            uncollectable: 0,
            duration: Duration::ZERO,
        };
        self.run_callbacks(CallbackPhase::Start, &info, &mut panic);
        if self.debug.get().contains(control::DebugFlags::STATS) {
            control::report_start(self, g);
        }
        let collected = self.collect_generations_upto(g, &mut panic);
        let pause = started.elapsed();
        self.record(g, collected, pause);
        info.collected = collected;
        info.duration = pause;
        if self.debug.get().contains(control::DebugFlags::STATS) {
            control::report_done(&info);
        }
        self.run_callbacks(CallbackPhase::Stop, &info, &mut panic);
        drop(flag);
        if let Some(p) = panic {
            std::panic::resume_unwind(p);
        }
        collected
    }

    fn run_callbacks(
        &self,
        phase: CallbackPhase,
        info: &CollectionInfo,
        panic: &mut Option<teardown::Panic>,
    ) {
        // A snapshot: callbacks may add or remove callbacks.
        let callbacks: Vec<Callback> = self
            .callbacks
            .borrow()
            .iter()
            .map(|(_, c)| c.clone())
            .collect();
        for cb in callbacks {
            teardown::catching(panic, || {
                if let Ok(mut f) = cb.try_borrow_mut() {
                    f(phase, info);
                }
            });
        }
    }

    /// Detection, promotion and teardown for generations `0..=g`.
    fn collect_generations_upto(&self, g: usize, panic: &mut Option<teardown::Panic>) -> usize {
        let dest = (g + 1).min(OLD);
        let mut unreachable = Vec::new();
        let mut guard = ClearSetOnUnwind {
            collector: self,
            armed: true,
        };
        // SAFETY: no collection is in progress (the flag is ours), and
        // detection runs no user code besides `Trace` impls; a panic from
        // one unwinds through `guard`, which restores the scratch state.
        // Split, last, runs none: it holds the garbage for the teardown,
        // and no user code may run until the teardown takes it.
        let (survivors, finalizers_due) = unsafe {
            self.gather(g);
            self.settle(panic);
            // What survives a full collection is proved reachable unless
            // some edge went uncounted; survivors entering the old
            // generation from a younger collection are suspects (see
            // `suspects`).
            let proved = if g == OLD {
                let scoped = self.scratch().scoped;
                let every_edge = self.count_internal::<true>();
                if !scoped {
                    self.scoped_full.set(true);
                }
                self.clear_suspects();
                every_edge
            } else {
                self.count_internal::<false>();
                false
            };
            let garbage = self.mark();
            self.split(g, dest, garbage, !proved, &mut unreachable)
        };
        guard.armed = false;
        // SAFETY: nothing was freed, so the set is alive.
        unsafe { self.clear_set() };
        for c in &self.count[..=g] {
            c.set(0);
        }
        if g < OLD {
            self.count[g + 1].set(self.count[g + 1].get() + 1);
        }
        if g == OLD {
            // Everything left is old, most of it in pools the collection
            // never read.
            self.long_lived_pending.set(0);
            // SAFETY: no user code has run since split; the list is not
            // borrowed.
            let large = unsafe { self.large_list(OLD).len };
            self.long_lived_total.set(self.old_pooled.get() + large);
        } else if dest == OLD {
            self.long_lived_pending
                .set(self.long_lived_pending.get() + survivors);
        }
        // SAFETY: split held and condemned every unreachable object (and
        // took it out of its generation), and reported any finalizer due;
        // nothing since has run user code.
        unsafe { self.teardown(unreachable, finalizers_due, panic) }
    }
}
