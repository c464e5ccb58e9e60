//! The per-thread heap: arenas, the per-type registry of pools, large
//! objects, the collector's state, and the paths every object takes when it
//! is born and when it dies.
//!
//! The path of an object: a `Gc` points at its [`header::Header`]; the block
//! holding it belongs to a [`pool::Pool`] (found by masking the address) of a
//! [`registry::TypeChain`] (one per type); pools are carved from
//! [`arena::ArenaSet`] arenas. Values too big for a pool are
//! [`large`] objects with their own allocation.

pub(crate) mod arena;
pub(crate) mod header;
pub(crate) mod large;
pub(crate) mod object;
pub(crate) mod pool;
pub(crate) mod registry;
pub(crate) mod report;
pub(crate) mod vtable;

use crate::collector::Collector;
use crate::trace::Trace;
use arena::ArenaSet;
use header::{Death, GcBox, Header, FLAG_DROPPED, FLAG_FINALIZED, FLAG_LARGE, FLAG_SETTLED};
use large::{is_small, LargeHeader};
use object::{is_large_box, ObjRef};
use pool::Pool;
use registry::{ChainKey, Registry, TypeChain};
use std::alloc::Layout;
use std::any::TypeId;
use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;
use vtable::{HasVTable, VTable};

/// Nested value drops deeper than this are deferred to a work list and run
/// by the outermost drop (CPython's trashcan), so dropping a million-long
/// chain of `Gc`s uses constant stack.
const TRASHCAN_DEPTH: u32 = 64;

thread_local! {
    /// Nesting depth of the trashcan's value drops in progress on this
    /// thread. A const `Cell` without `Drop` is a plain thread-local access
    /// (no lazy initialisation), and keeping it out of the heap spares a
    /// dying object the read of its pool header that finding the heap
    /// would cost (see `header::Death`). It stays usable during thread
    /// exit, after the heap is gone.
    static DROP_DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The heap whose `deferred` list holds deaths the trashcan put off,
    /// null while there are none: the outermost drop checks it, and drains
    /// that list, without looking the heap up.
    static DEFERRED_IN: Cell<*const HeapState> = const { Cell::new(std::ptr::null()) };
}

/// Everything one thread's objects need.
///
/// Accessed only through shared references and raw pointers: user code
/// (destructors, finalizers) can re-enter the heap at many points, so no
/// `&mut HeapState` ever exists. Each field with interior mutability is
/// borrowed mutably only inside short functions that run no user code.
pub(crate) struct HeapState {
    arenas: UnsafeCell<ArenaSet>,
    registry: UnsafeCell<Registry>,
    collector: Collector,
    /// Live large objects and their bytes (whole allocations).
    large_objects: Cell<usize>,
    large_bytes: Cell<usize>,
    /// Objects whose value drop was deferred by the trashcan.
    deferred: UnsafeCell<Vec<ObjRef>>,
}

impl HeapState {
    fn new() -> NonNull<HeapState> {
        let heap = Box::new(HeapState {
            arenas: UnsafeCell::new(ArenaSet::new()),
            registry: UnsafeCell::new(Registry::new()),
            collector: Collector::new(),
            large_objects: Cell::new(0),
            large_bytes: Cell::new(0),
            deferred: UnsafeCell::new(Vec::new()),
        });
        // SAFETY: Box::into_raw never returns null.
        unsafe { NonNull::new_unchecked(Box::into_raw(heap)) }
    }

    /// # Safety
    /// No other reference to the arena set may be live, and the caller must
    /// not run user code while holding the result.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn arenas_mut(&self) -> &mut ArenaSet {
        // SAFETY: forwarded to the caller.
        unsafe { &mut *self.arenas.get() }
    }

    /// # Safety
    /// As for `arenas_mut`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn registry_mut(&self) -> &mut Registry {
        // SAFETY: forwarded to the caller.
        unsafe { &mut *self.registry.get() }
    }

    pub(crate) fn collector(&self) -> &Collector {
        &self.collector
    }

    pub(crate) fn large_totals(&self) -> (usize, usize) {
        (self.large_objects.get(), self.large_bytes.get())
    }

    /// The chain for `key`, created on first use.
    #[inline(always)]
    fn chain(
        &self,
        key: ChainKey,
        vtable: &'static VTable,
        align: usize,
        erasable: bool,
    ) -> NonNull<TypeChain> {
        // SAFETY: registry access runs no user code.
        let registry = unsafe { self.registry_mut() };
        match registry.lookup(key) {
            Some(c) => c,
            None => registry.create(key, vtable, align, erasable, NonNull::from(self)),
        }
    }

    /// Takes a pool block for a sized `T`, finding its chain through the
    /// vtable-address cache.
    #[inline(always)]
    fn alloc_sized<T: Trace + 'static>(&self, block_size: usize, align: usize) -> Placement {
        // SAFETY: registry access runs no user code.
        let chain = match unsafe { self.registry_mut() }.cached(&T::VTABLE) {
            Some(c) => c,
            None => self.sized_chain_slow::<T>(block_size, align),
        };
        // SAFETY: the chain belongs to this live heap; no user code runs.
        let block = unsafe { TypeChain::alloc(chain) };
        Placement {
            header: block.cast::<Header>(),
            large: false,
            death: death_of::<T>(),
        }
    }

    #[cold]
    #[inline(never)]
    fn sized_chain_slow<T: Trace + 'static>(
        &self,
        block_size: usize,
        align: usize,
    ) -> NonNull<TypeChain> {
        let key = ChainKey {
            type_id: TypeId::of::<T>(),
            block_size: block_size as u32,
        };
        let chain = self.chain(key, &T::VTABLE, align, true);
        // SAFETY: registry access runs no user code.
        unsafe { self.registry_mut() }.remember(&T::VTABLE, chain);
        chain
    }

    /// Takes a pool block for a value of `key`'s type.
    #[inline(always)]
    fn alloc_pooled(
        &self,
        key: ChainKey,
        vtable: &'static VTable,
        align: usize,
        erasable: bool,
    ) -> Placement {
        let chain = self.chain(key, vtable, align, erasable);
        // SAFETY: the chain belongs to this live heap; no user code runs.
        let block = unsafe { TypeChain::alloc(chain) };
        Placement {
            header: block.cast::<Header>(),
            large: false,
            // SAFETY: chains live as long as the heap.
            death: unsafe { chain.as_ref() }.death(),
        }
    }

    /// A large object for a sized `T`, its chain found through the
    /// vtable-address cache (a sized type is always pooled or always large,
    /// so one cache entry per vtable is unambiguous).
    #[inline]
    fn alloc_large_sized<T: Trace + 'static>(&self, layout: Layout) -> Placement {
        // SAFETY: registry access runs no user code.
        let chain = match unsafe { self.registry_mut() }.cached(&T::VTABLE) {
            Some(c) => c,
            None => self.sized_chain_slow::<T>(0, layout.align()),
        };
        self.alloc_large_in(chain, &T::VTABLE, layout, 0)
    }

    fn alloc_large(
        &self,
        key: ChainKey,
        vtable: &'static VTable,
        layout: Layout,
        meta: usize,
    ) -> Placement {
        let chain = self.chain(
            ChainKey {
                block_size: 0,
                ..key
            },
            vtable,
            layout.align(),
            true,
        );
        self.alloc_large_in(chain, vtable, layout, meta)
    }

    fn alloc_large_in(
        &self,
        chain: NonNull<TypeChain>,
        vtable: &'static VTable,
        layout: Layout,
        meta: usize,
    ) -> Placement {
        let header = LargeHeader::allocate(layout, vtable, meta, self, chain.as_ptr());
        // SAFETY: the large header was just written.
        let size = unsafe { (*LargeHeader::of(header).as_ptr()).alloc_size };
        // SAFETY: chains live as long as the heap; no user code runs.
        unsafe {
            (*chain.as_ptr()).large_objects += 1;
            (*chain.as_ptr()).large_bytes += size;
        }
        self.large_objects.set(self.large_objects.get() + 1);
        self.large_bytes.set(self.large_bytes.get() + size);
        Placement {
            header,
            large: true,
            // SAFETY: chains live as long as the heap.
            death: unsafe { chain.as_ref() }.death(),
        }
    }
}

/// `size` rounded up to `align`, a power of two (a mask: a division here
/// was 14 % of the time of freeing a large object).
#[inline(always)]
pub(crate) const fn align_up(size: usize, align: usize) -> usize {
    debug_assert!(align.is_power_of_two());
    (size + align - 1) & !(align - 1)
}

/// Where a new object goes: the address of its header, whether it is a
/// large object, and how it will die.
#[derive(Clone, Copy)]
pub(crate) struct Placement {
    pub(crate) header: NonNull<Header>,
    pub(crate) large: bool,
    pub(crate) death: Death,
}

impl Placement {
    /// The flags the new object's header starts with.
    #[inline(always)]
    pub(crate) fn flags(self) -> u32 {
        let large = if self.large { FLAG_LARGE } else { 0 };
        large | self.death.flags()
    }
}

/// How objects of a sized `T` die (folded to a constant).
#[inline(always)]
fn death_of<T: Trace>() -> Death {
    Death::of(tracks::<T>(), T::needs_trace(), T::needs_finalize())
}

/// Owns the thread's heap; its destructor runs at thread exit.
struct HeapOwner {
    heap: NonNull<HeapState>,
}

impl Drop for HeapOwner {
    fn drop(&mut self) {
        // SAFETY: the heap was leaked from a Box by `HeapState::new` and is
        // only freed here, once.
        unsafe { teardown(self.heap) }
    }
}

thread_local! {
    static HEAP: HeapOwner = HeapOwner { heap: HeapState::new() };
    /// The heap while its own destructor tears it down: `HEAP` is no longer
    /// accessible then, but the exit collection runs user code whose new
    /// objects must still be tracked (to be collected by that teardown).
    /// A const `Cell` without `Drop` stays accessible during thread exit.
    static TEARING_DOWN: Cell<*const HeapState> = const { Cell::new(std::ptr::null()) };
}

/// The current thread's heap, or `None` once it has been torn down (from
/// another thread-local's destructor at thread exit).
#[inline(always)]
pub(crate) fn current() -> Option<&'static HeapState> {
    // SAFETY: the heap lives until the thread-local is destroyed, and after
    // that it is either freed with no object left or leaked; callers use the
    // reference only within one call on this thread, before that point.
    match HEAP.try_with(|h| unsafe { &*h.heap.as_ptr() }) {
        Ok(heap) => Some(heap),
        Err(_) => heap_being_torn_down(),
    }
}

#[cold]
fn heap_being_torn_down() -> Option<&'static HeapState> {
    // SAFETY: set only while `teardown` runs, when the heap is alive.
    TEARING_DOWN.with(|t| unsafe { t.get().as_ref() })
}

/// Runs `f` on the current heap; panics if it is gone.
#[track_caller]
pub(crate) fn with_heap<R>(f: impl FnOnce(&HeapState) -> R) -> R {
    f(current().expect("gengc: the thread's heap has already been torn down (thread exit)"))
}

/// Whether objects of `T` enter the generations (`VTable::tracked`, folded
/// to a constant).
#[inline(always)]
pub(crate) fn tracks<T: Trace>() -> bool {
    T::needs_trace() && !T::is_acyclic()
}

/// Whether `value`, about to become a new object, is born settled (see
/// `Collector::born_settled`). Folds to `false` unless `T` is tracked and
/// has fixed edges; always `false` without a heap.
#[inline(always)]
pub(crate) fn born_settled<T: Trace>(value: &T) -> bool {
    may_settle::<T>() && current().is_some_and(|heap| settles_in(heap, value))
}

/// Whether objects of `T` can be settled at all: tracked, with fixed edges
/// (folded to a constant).
#[inline(always)]
fn may_settle<T: Trace>() -> bool {
    tracks::<T>() && T::has_fixed_edges()
}

/// [`born_settled`] on a heap already at hand.
#[inline(always)]
fn settles_in<T: Trace>(heap: &HeapState, value: &T) -> bool {
    may_settle::<T>() && heap.collector.born_settled(value)
}

/// Places an object for a sized `T`. For tracked types this first gives the
/// collector its chance to run, before any block is taken, so no half-built
/// object is ever scanned.
///
/// Given the `value` the object will hold, it first decides whether the
/// object is born settled ([`born_settled`], with the same heap lookup) and
/// returns that too: such an object enters no generation, so it neither
/// counts toward the trigger nor fires it. A panic in the value's `Trace`
/// leaves before any block is taken.
#[inline(always)]
pub(crate) fn place_sized<T: Trace + 'static>(value: Option<&T>) -> (Placement, bool) {
    let layout = Layout::new::<GcBox<T>>();
    // Blocks are multiples of 8 bytes: a freed block holds the free list's
    // next pointer.
    let block_size = layout.size().next_multiple_of(8);
    match current() {
        Some(heap) => {
            let settled = value.is_some_and(|value| settles_in(heap, value));
            if tracks::<T>() && !settled {
                heap.collector.maybe_collect();
            }
            let place = if is_small(block_size, layout.align()) {
                heap.alloc_sized::<T>(block_size, layout.align())
            } else {
                heap.alloc_large_sized::<T>(layout)
            };
            (place, settled)
        }
        None => (heapless(layout, &T::VTABLE, 0), false),
    }
}

/// Places an object for an unsized value (`str`, `[T]`) of `layout`.
///
/// Slices of untraced elements go to pools by size class; slices whose
/// elements may own a `Gc` become large objects, whose header keeps the
/// length the collector needs.
pub(crate) fn place_unsized(
    type_id: TypeId,
    vtable: &'static VTable,
    layout: Layout,
    meta: usize,
) -> Placement {
    let layout = layout.pad_to_align();
    // Pools cannot recover a slice's length, so a slice whose elements the
    // collector must trace or finalize becomes a large object, which can.
    let owns_gc = (vtable.needs_trace)();
    let pooled = !owns_gc && !(vtable.needs_finalize)();
    match current() {
        Some(heap) => {
            if vtable.tracked() {
                heap.collector.maybe_collect();
            }
            let class = layout.size().next_multiple_of(16);
            let key = ChainKey {
                type_id,
                block_size: class as u32,
            };
            if pooled && is_small(class, layout.align()) {
                heap.alloc_pooled(key, vtable, layout.align(), false)
            } else {
                heap.alloc_large(key, vtable, layout, meta)
            }
        }
        None => heapless(layout, vtable, meta),
    }
}

/// A large object outside any heap, for values created during or after the
/// thread's heap teardown. It is never tracked; it is freed like any object.
#[cold]
fn heapless(layout: Layout, vtable: &'static VTable, meta: usize) -> Placement {
    let header =
        LargeHeader::allocate(layout, vtable, meta, std::ptr::null(), std::ptr::null_mut());
    Placement {
        header,
        large: true,
        // Outside any heap: no trashcan, no generation; the general path
        // handles that.
        death: Death::General,
    }
}

/// A settled object (see `collector::settle`) is about to be lent out by
/// `Gc::get_mut`, which may give it new edges: it goes back to the young
/// generation, to be judged again by the next collection.
///
/// # Safety
/// `obj` must be a live object of this thread, marked `FLAG_SETTLED`.
#[cold]
#[inline(never)]
pub(crate) unsafe fn unsettle(obj: ObjRef) {
    // Without a heap (thread exit) there is no generation to go back to.
    if let Some(heap) = current() {
        // SAFETY: forwarded to the caller.
        unsafe { heap.collector.unsettle(obj) };
    }
}

/// Enters a freshly initialised object into the young generation if its
/// type is tracked, or, if it is born `settled`, marks it so instead (it
/// then enters no generation).
///
/// # Safety
/// As for [`commit`].
#[inline(always)]
pub(crate) unsafe fn commit_or_settle(place: Placement, settled: bool) {
    // SAFETY: forwarded to the caller; the header is initialised.
    unsafe {
        if settled {
            place.header.as_ref().set_flag(FLAG_SETTLED);
        } else {
            commit(place);
        }
    }
}

/// Enters a freshly initialised object into the young generation if its
/// type is tracked.
///
/// # Safety
/// `place` must hold a fully initialised value with strong count ≥ 1.
#[inline(always)]
pub(crate) unsafe fn commit(place: Placement) {
    // SAFETY: the object was just placed by this thread's heap (or heapless).
    unsafe {
        if place.large {
            let large = LargeHeader::of(place.header);
            let heap = (*large.as_ptr()).heap;
            let chain = (*large.as_ptr()).chain;
            if !heap.is_null() && (*chain).tracked {
                (*heap).collector.track_large(large);
            }
        } else {
            let pool = Pool::of(place.header.as_ptr().cast());
            if (*pool.as_ptr()).tracked {
                let heap = (*pool.as_ptr()).heap.as_ref();
                heap.collector
                    .track_pooled(pool, Pool::index_of(pool, place.header.as_ptr().cast()));
            }
        }
    }
}

/// Takes an object out of the collector's generations (it is dying or its
/// value is being moved out). Returns its heap if its value may own a `Gc`
/// (tracked and acyclic types; `None` for leaf types and heapless objects),
/// so that its death goes through the trashcan.
///
/// # Safety
/// The object's block must be allocated.
#[inline(always)]
pub(crate) unsafe fn untrack(obj: ObjRef) -> Option<&'static HeapState> {
    // SAFETY: pool/large headers and the heap outlive allocated blocks.
    unsafe {
        if obj.is_large() {
            let large = obj.large();
            let heap = (*large.as_ptr()).heap;
            if heap.is_null() || !(*(*large.as_ptr()).chain).owns_gc {
                return None;
            }
            if (*(*large.as_ptr()).chain).tracked {
                (*heap).collector.untrack_large(large);
            }
            Some(&*heap)
        } else {
            let pool = obj.pool();
            if !(*pool.as_ptr()).tracked {
                return (*pool.as_ptr())
                    .owns_gc
                    .then(|| (*pool.as_ptr()).heap.as_ref());
            }
            let heap = (*pool.as_ptr()).heap.as_ref();
            let index = Pool::index_of(pool, obj.header_ptr().as_ptr().cast());
            heap.collector.untrack_pooled(pool, index);
            Some(heap)
        }
    }
}

/// The first drop of a watched object's count that left it alive (see
/// `Header::release_strong`): the object becomes a suspect for the next
/// full collection (see `collector::suspects`).
///
/// # Safety
/// `header` must point to the header of an allocated object, with the
/// provenance of its block.
#[cold]
#[inline(never)]
pub(crate) unsafe fn note_suspect(header: NonNull<Header>) {
    // SAFETY: forwarded to the caller; pool and large headers outlive the
    // blocks in them.
    unsafe {
        let obj = ObjRef::new(header, header.as_ref().has_flag(FLAG_LARGE));
        if obj.is_large() {
            (*obj.large().as_ptr()).suspect = true;
        } else {
            let pool = obj.pool();
            if (*pool.as_ptr()).tracked {
                let index = Pool::index_of(pool, obj.header_ptr().as_ptr().cast());
                (*pool.as_ptr())
                    .heap
                    .as_ref()
                    .collector
                    .note_suspect_pooled(pool, index);
            }
        }
    }
}

/// Returns the memory of an object whose value is gone and whose counts are
/// both zero.
///
/// # Safety
/// The value must be dropped (or never written), the object untracked, and
/// no handle may point to it anymore.
#[inline(always)]
pub(crate) unsafe fn free_block(obj: ObjRef) {
    // SAFETY: forwarded to the caller.
    unsafe {
        if obj.is_large() {
            free_large(obj);
        } else {
            TypeChain::free(obj.pool(), obj.header_ptr().cast());
        }
    }
}

/// The large-object half of [`free_block`], kept out of the inlined path.
#[cold]
#[inline(never)]
unsafe fn free_large(obj: ObjRef) {
    // SAFETY: as for `free_block`.
    unsafe {
        {
            let large = obj.large();
            let heap = (*large.as_ptr()).heap;
            if !heap.is_null() {
                let size = (*large.as_ptr()).alloc_size;
                let chain = (*large.as_ptr()).chain;
                (*chain).large_objects -= 1;
                (*chain).large_bytes -= size;
                (*heap).large_objects.set((*heap).large_objects.get() - 1);
                (*heap).large_bytes.set((*heap).large_bytes.get() - size);
            }
            LargeHeader::deallocate(large);
        }
    }
}

/// The last strong handle of the box at `ptr` may be gone
/// ([`Header::release_strong`] returned true; if the object was watched,
/// [`Header::confirm_death`] decides): run the finalizer, drop the value,
/// and free the block unless a `Weak` still needs it.
///
/// # Safety
/// `ptr` must be a box a strong handle of which was just released, with
/// [`Header::release_strong`] returning true.
///
/// Kept out of line (like `Rc::drop_slow`) so that `Gc::drop`, inlined
/// everywhere, stays a decrement and a branch.
#[inline(never)]
pub(crate) unsafe fn strong_count_zero<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: forwarded to the caller.
    unsafe {
        let header = ptr.cast::<Header>();
        let h = header.as_ref();
        // The count of a watched object may still be above zero.
        if !Header::confirm_death(header) {
            return;
        }
        // The kind of death comes from the object's own header, not its
        // pool's (see `header::Death`). Large objects, and values the
        // collector already dropped (garbage being released), take the
        // general path.
        if !h.has_flag(FLAG_LARGE | FLAG_DROPPED) {
            match h.death() {
                Death::Plain => {
                    // Most deaths: a leaf value with no finalizer. No
                    // generation to leave, no trashcan (a leaf owns no
                    // `Gc`), no flag to set.
                    let block = ReleaseBlock {
                        header,
                        large: false,
                    };
                    std::ptr::drop_in_place(std::ptr::addr_of_mut!((*ptr.as_ptr()).value));
                    drop(block);
                    return;
                }
                // A settled object is in no generation: no bitmap to search,
                // so no pool header to read before the value is dropped.
                Death::Tracked if !h.has_flag(FLAG_SETTLED) => {
                    return owner_death::<T, true>(ptr);
                }
                Death::Tracked | Death::Acyclic => return owner_death::<T, false>(ptr),
                Death::General => {}
            }
        } else if !h.has_flag(FLAG_DROPPED) && h.death() == Death::Plain {
            return plain_large_death(ptr);
        }
        dying_object(ptr);
    }
}

/// The death of a pooled object that may own a `Gc`, without finalizer:
/// drop the value under the trashcan, leave the generation (if
/// `IN_GENERATION`), free the block. (Out of line, so that a leaf's death
/// above needs no saved registers.)
///
/// No death reads its pool header before its value is dropped (see
/// `header::Death`): the kind comes from the object's header and the
/// trashcan depth from a thread-local, and an object in a generation leaves
/// it only once its value is gone, when its block is freed (in the order
/// blocks were allocated, for a structure dropped depth first). Until then
/// its strong count of zero keeps the collector away from it: a collection
/// started by user code inside the value's drop neither reads the value nor
/// hands out a handle to it (see `Collector::count_internal` and
/// `Collector::for_each_in`).
///
/// # Safety
/// As for [`strong_count_zero`]; the object is pooled, of
/// `Death::Tracked` or `Death::Acyclic`, in a generation exactly if
/// `IN_GENERATION`, and its value is not dropped yet.
#[inline(never)]
unsafe fn owner_death<T: ?Sized, const IN_GENERATION: bool>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: forwarded to the caller.
    unsafe {
        // (`Header::confirm_death` left the count at 0, lent or not.)
        let header = ptr.cast::<Header>();
        let obj = ObjRef::new(header, false);
        let depth = DROP_DEPTH.get();
        if depth >= TRASHCAN_DEPTH {
            // Deferred deaths are untracked (`drain_deferred` expects it).
            if IN_GENERATION {
                untrack_dead_pooled(obj);
            }
            defer_death((*obj.pool().as_ptr()).heap.as_ref(), obj);
            return;
        }
        DROP_DEPTH.set(depth + 1);
        let guard = DyingGuard {
            obj,
            trashcan: true,
            untrack: IN_GENERATION,
        };
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*ptr.as_ptr()).value));
        guard.finish();
    }
}

/// Takes a dead pooled object (strong count zero) of a tracked type out of
/// its generation.
///
/// # Safety
/// `obj` must be a pooled object of a live heap, its block allocated.
#[inline(always)]
unsafe fn untrack_dead_pooled(obj: ObjRef) {
    // SAFETY: forwarded to the caller; pool headers and their heap outlive
    // their allocated blocks.
    unsafe {
        let pool = obj.pool();
        (*pool.as_ptr())
            .heap
            .as_ref()
            .collector
            .untrack_pooled(pool, Pool::index_of(pool, obj.header_ptr().as_ptr().cast()));
    }
}

/// Puts a death off: the trashcan is full, the outermost drop will finish
/// it.
///
/// # Safety
/// `obj` must be dead, out of the generations and erasable; `heap` its heap.
#[cold]
#[inline(never)]
unsafe fn defer_death(heap: &'static HeapState, obj: ObjRef) {
    // SAFETY: the deferred list is only borrowed here and in
    // `drain_deferred`, each time for a step that runs no user code.
    unsafe { (*heap.deferred.get()).push(obj) };
    DEFERRED_IN.set(heap);
}

/// The death of a large leaf (untracked, no finalizer): drop the value,
/// free the allocation.
///
/// # Safety
/// As for [`strong_count_zero`]; the object is large, of `Death::Plain`.
#[inline(never)]
unsafe fn plain_large_death<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: forwarded to the caller.
    unsafe {
        let block = ReleaseBlock {
            header: ptr.cast(),
            large: true,
        };
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*ptr.as_ptr()).value));
        drop(block);
    }
}

/// The general death: tracked, finalizing and large objects.
///
/// # Safety
/// As for [`strong_count_zero`].
#[inline(never)]
unsafe fn dying_object<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: forwarded to the caller.
    unsafe {
        let obj = ObjRef::of(ptr);
        let Some(guard) = begin_death(obj) else {
            return;
        };
        let value = std::ptr::addr_of_mut!((*ptr.as_ptr()).value);
        finalize_and_drop(obj, || std::ptr::drop_in_place(value));
        guard.finish();
    }
}

/// The block of a plain object (no generation, no finalizer, no trashcan)
/// whose value is being dropped: given back when the drop returns, or while
/// unwinding if it panics, unless a `Weak` still needs it. `large` is a
/// constant at each use, so the check folds away (an `ObjRef`'s tag bit
/// would cost a test and two masks on every leaf death).
struct ReleaseBlock {
    header: NonNull<Header>,
    large: bool,
}

impl Drop for ReleaseBlock {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: the value is gone and the strong count is zero, so only
        // `Weak`s may still point at the block; its pool (or large
        // allocation) is live until freed here.
        unsafe {
            if self.header.as_ref().dec_weak() == 0 {
                if self.large {
                    free_large(ObjRef::new(self.header, true));
                } else {
                    TypeChain::free(Pool::of(self.header.as_ptr().cast()), self.header.cast());
                }
            }
        }
    }
}

/// Releases one strong reference of a type-erased object, and runs its
/// death if that was the last.
///
/// # Safety
/// The caller must own one strong reference to `obj`, which must be
/// erasable (see [`ObjRef::is_erasable`]).
pub(crate) unsafe fn release_strong_erased(obj: ObjRef) {
    // SAFETY: forwarded to the caller.
    unsafe {
        if !obj.header().release_strong() || !Header::confirm_death(obj.header_ptr()) {
            return;
        }
        let Some(guard) = begin_death(obj) else {
            return;
        };
        finish_value(obj);
        guard.finish();
    }
}

/// Whether the object's type has a finalizer to run.
///
/// # Safety
/// The object's block must be allocated.
#[inline(always)]
pub(crate) unsafe fn needs_finalize(obj: ObjRef) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe {
        if obj.is_large() {
            ((*obj.large().as_ptr()).vtable.needs_finalize)()
        } else {
            obj.header().death() == Death::General
        }
    }
}

/// Runs the finalizer (once) and drops the value (once) through the vtable.
///
/// # Safety
/// The object must be dead (strong 0), untracked and erasable.
unsafe fn finish_value(obj: ObjRef) {
    // SAFETY: forwarded to the caller.
    unsafe { finalize_and_drop(obj, || obj.drop_value()) }
}

/// Runs the finalizer (once, if the type has one), then `drop_value`,
/// unless the value was already dropped. A panicking finalizer still gets
/// the value dropped, while unwinding, so what it owns is not leaked.
///
/// # Safety
/// The object must be dead (strong 0) and untracked; `drop_value` must drop
/// its value.
#[inline(always)]
unsafe fn finalize_and_drop(obj: ObjRef, mut drop_value: impl FnMut()) {
    // SAFETY: forwarded to the caller.
    unsafe {
        let h = obj.header();
        if h.has_flag(FLAG_DROPPED) {
            return;
        }
        if !h.has_flag(FLAG_FINALIZED) && needs_finalize(obj) {
            h.set_flag(FLAG_FINALIZED);
            let on_unwind = OnUnwind(&mut drop_value);
            obj.finalize();
            std::mem::forget(on_unwind);
        }
        drop_value();
    }
}

/// Runs a closure if dropped during unwinding (it is forgotten otherwise).
struct OnUnwind<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnUnwind<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// First step of every death: end a lend the last handle still carried (see
/// `Header::release_strong`), leave the generations (user code below may
/// start a collection, which must not see an object with no strong count),
/// and either defer the rest to the trashcan (returns `None`) or enter it.
///
/// Only types that may own a `Gc` (tracked or acyclic) use the trashcan: a
/// value that can own no `Gc` cannot start a cascade of deaths, so leaf
/// objects (the common case) skip its bookkeeping. (A chain linked only
/// through `#[gc(skip)]` fields is dropped recursively, as `Rc` would.)
///
/// # Safety
/// `obj` must have just lost its last strong reference.
#[inline(always)]
unsafe fn begin_death(obj: ObjRef) -> Option<DyingGuard> {
    // SAFETY: forwarded to the caller.
    unsafe {
        debug_assert_eq!(obj.header().strong(), 0);
        let heap = untrack(obj);
        if let Some(heap) = heap {
            let depth = DROP_DEPTH.get();
            if depth >= TRASHCAN_DEPTH && obj.is_erasable() {
                defer_death(heap, obj);
                return None;
            }
            DROP_DEPTH.set(depth + 1);
        }
        Some(DyingGuard {
            obj,
            trashcan: heap.is_some(),
            untrack: false,
        })
    }
}

/// Finishes a death even if the finalizer or the value's drop panics: the
/// object leaves its generation if it is still in one (`untrack`), the
/// strong group's weak reference is released, the block freed when no
/// `Weak` remains, and, if the death went through the trashcan (`trashcan`:
/// it counted itself in `DROP_DEPTH`), the trashcan drained by the
/// outermost drop.
struct DyingGuard {
    obj: ObjRef,
    trashcan: bool,
    untrack: bool,
}

impl DyingGuard {
    /// The death completed normally: finish it here, inline (the `Drop`
    /// glue is an out-of-line call, and runs only on unwinding).
    #[inline(always)]
    fn finish(self) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: as for `Drop`.
        unsafe { this.complete() }
    }

    /// # Safety
    /// The value must be dropped (or abandoned by a panic) and the strong
    /// count zero; called once.
    #[inline(always)]
    unsafe fn complete(&self) {
        // SAFETY: only `Weak`s may still refer to the block; an object
        // marked `untrack` is pooled and still in its generation.
        unsafe {
            if self.untrack {
                untrack_dead_pooled(self.obj);
            }
            if self.obj.header().dec_weak() == 0 {
                free_block(self.obj);
            }
            if self.trashcan {
                let depth = DROP_DEPTH.get() - 1;
                DROP_DEPTH.set(depth);
                if depth == 0 && !DEFERRED_IN.get().is_null() {
                    if let Some(panic) = drain_deferred(&*DEFERRED_IN.get()) {
                        // Already unwinding (this death's own drop panicked):
                        // a second panic would abort; that one is dropped.
                        if !std::thread::panicking() {
                            std::panic::resume_unwind(panic);
                        }
                    }
                }
            }
        }
    }
}

impl Drop for DyingGuard {
    fn drop(&mut self) {
        // SAFETY: the guard is dropped once, after the value's drop.
        unsafe { self.complete() }
    }
}

/// Runs the value drops the trashcan deferred, iteratively. A panic in one
/// of them does not strand the others: every deferred death completes, and
/// the first panic is returned for the caller to resume.
///
/// # Safety
/// `heap` must be the heap `DEFERRED_IN` names, and still allocated.
#[cold]
#[must_use]
unsafe fn drain_deferred(heap: &'static HeapState) -> Option<Box<dyn std::any::Any + Send>> {
    /// Keeps the depth above zero while draining, so the guards of the
    /// drained objects do not start a nested drain (that would recurse once
    /// per deferred object), even if a drop panics. Once the list is empty
    /// there is nothing left to drain.
    struct Draining;
    impl Drop for Draining {
        fn drop(&mut self) {
            DROP_DEPTH.set(DROP_DEPTH.get() - 1);
            DEFERRED_IN.set(std::ptr::null());
        }
    }
    DROP_DEPTH.set(DROP_DEPTH.get() + 1);
    let _draining = Draining;
    // SAFETY: the deferred list is only touched here and in `begin_death`,
    // each time through a borrow that ends before any user code runs.
    let pop = || unsafe { (*heap.deferred.get()).pop() };
    let mut first_panic = None;
    while let Some(obj) = pop() {
        DROP_DEPTH.set(DROP_DEPTH.get() + 1);
        let death = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let guard = DyingGuard {
                obj,
                trashcan: true,
                untrack: false,
            };
            // SAFETY: deferred objects are dead, untracked and erasable.
            unsafe { finish_value(obj) };
            guard.finish();
        }));
        if let Err(panic) = death {
            first_panic.get_or_insert(panic);
        }
    }
    first_panic
}

/// The last `Weak` of a box whose value is already gone was dropped.
///
/// # Safety
/// Both counts of the box must be zero.
pub(crate) unsafe fn weak_count_zero<T: ?Sized>(ptr: NonNull<GcBox<T>>) {
    // SAFETY: forwarded to the caller; the block is still allocated.
    unsafe { free_block(ObjRef::new(ptr.cast(), is_large_box(ptr))) }
}

/// Tears the heap down at thread exit.
///
/// A final full collection frees the cycles nothing else can reach. If no
/// object is left, every arena goes back to the system and the heap is
/// freed. If some object is still alive (a `Gc` kept in another thread-local
/// that is destroyed later), the heap and the arenas holding live blocks
/// are leaked instead: those objects stay valid, and their memory is simply
/// never reclaimed.
unsafe fn teardown(heap: NonNull<HeapState>) {
    // SAFETY: the heap is live until this function frees it.
    let h = unsafe { heap.as_ref() };
    TEARING_DOWN.with(|t| t.set(heap.as_ptr()));
    h.collector.collect_at_exit();
    TEARING_DOWN.with(|t| t.set(std::ptr::null()));
    // SAFETY: no user code runs from here on.
    unsafe {
        let chains: Vec<_> = h.registry_mut().chains().collect();
        let live = h.large_objects.get()
            + chains
                .iter()
                .map(|&c| TypeChain::used_blocks(c))
                .sum::<usize>();
        // Empty pools go back to their arenas (and free what they own).
        for &c in &chains {
            if (*c.as_ptr()).geometry.is_some() {
                TypeChain::release_empty_pools(c);
            }
        }
        if live == 0 {
            h.arenas_mut().release_all();
            drop(Box::from_raw(heap.as_ptr()));
        } else {
            h.arenas_mut().release_empty();
        }
    }
}

/// Statistics need the chain list without exposing the registry.
pub(crate) fn chains(heap: &HeapState) -> Vec<NonNull<TypeChain>> {
    // SAFETY: registry access runs no user code.
    unsafe { heap.registry_mut().chains().collect() }
}
