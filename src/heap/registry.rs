//! The per-type registry: one chain of pools per value type ("big bag of
//! pages"), so every block of a pool holds the same type and the type's
//! vtable is stored once per pool instead of once per object.
//!
//! Chains are found by `TypeId` (and block size) in an `IndexMap`, whose
//! insertion order also gives reports a stable order. `Gc::new::<T>` first
//! tries a small direct-mapped cache keyed by the address of `T`'s vtable: a
//! link-time constant, so a hit costs a load and a compare (hashing a
//! `TypeId` on every allocation cost more than the rest of the allocation).
//! Distinct types never share a vtable (each holds its own type's `TypeId`
//! function); one type may have several copies of its vtable, which only
//! costs a miss.

use crate::heap::header::Death;
use crate::heap::pool::{FreeRun, Pool, PoolGeometry};
use crate::heap::vtable::VTable;
use crate::heap::HeapState;
use indexmap::IndexMap;
use std::any::TypeId;
use std::hash::{BuildHasherDefault, Hasher};
use std::ptr::{self, NonNull};

/// Identifies a chain: the value type, and the block size (which differs
/// between lengths of one slice type; 0 for a chain of large objects only).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ChainKey {
    pub(crate) type_id: TypeId,
    pub(crate) block_size: u32,
}

/// Hashes a [`ChainKey`] without SipHash: a `TypeId` is already a hash
/// (the compiler's), so folding its words with the block size and one
/// multiply spreads the keys well. The lookup runs on every allocation of a
/// slice or `str`, where SipHash cost more than the allocation itself.
#[derive(Default)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_ne_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The pools of one type and block size, and that type's counters.
pub(crate) struct TypeChain {
    pub(crate) vtable: &'static VTable,
    pub(crate) geometry: Option<PoolGeometry>,
    /// Objects of this type enter the generations (the type may own a `Gc`
    /// and is not acyclic).
    pub(crate) tracked: bool,
    /// Values of this type may own a `Gc` (tracked or acyclic): their deaths
    /// go through the trashcan.
    pub(crate) owns_gc: bool,
    pub(crate) needs_finalize: bool,
    /// The vtable works from a thin pointer (false for pooled slices, whose
    /// length only their `Gc` knows; those are never tracked).
    pub(crate) erasable: bool,
    heap: NonNull<HeapState>,
    /// Pools with at least one free block; allocation takes the head.
    partial: *mut Pool,
    partial_count: u32,
    /// Pools owned by this chain.
    pub(crate) pools: usize,
    pub(crate) large_objects: usize,
    pub(crate) large_bytes: usize,
}

impl TypeChain {
    /// How objects of this chain die.
    pub(crate) fn death(&self) -> Death {
        Death::of(self.tracked, self.owns_gc, self.needs_finalize)
    }

    /// Takes a block for a new object.
    ///
    /// # Safety
    /// `chain` must be a pooled chain of the live current heap, and no
    /// reference into it may be live.
    #[inline(always)]
    pub(crate) unsafe fn alloc(chain: NonNull<TypeChain>) -> NonNull<u8> {
        // SAFETY: the caller guarantees exclusive access to the chain; pools
        // on the partial list always have a free block.
        unsafe {
            let c = chain.as_ptr();
            let pool = match NonNull::new((*c).partial) {
                Some(p) => p,
                None => TypeChain::new_pool(chain),
            };
            let block = Pool::pop(pool).unwrap_unchecked();
            if Pool::is_full(pool) {
                TypeChain::unlink_partial(chain, pool);
            }
            block
        }
    }

    /// Returns a dead object's block to its pool; an emptied pool goes back
    /// to its arena unless it is the chain's last pool with free space.
    ///
    /// # Safety
    /// `block` must be an allocated block of `pool`, unused from now on, and
    /// `pool` must be out of every generation bitmap for that block.
    #[inline(always)]
    pub(crate) unsafe fn free(pool: NonNull<Pool>, block: NonNull<u8>) {
        // SAFETY: pools and chains of a heap stay valid while any block of
        // them is allocated, which `block` is until `push` returns.
        unsafe {
            let was_full = Pool::is_full(pool);
            Pool::push(pool, block);
            // Checked inline: a pool emptied by a temporary's death is the
            // common case (alloc-drop loops), and it usually stays.
            if was_full
                || ((*pool.as_ptr()).used == 0
                    && (*(*pool.as_ptr()).chain.as_ptr()).partial_count > 1)
            {
                TypeChain::pool_changed_state(pool, was_full);
            }
        }
    }

    /// [`free`](Self::free) for a whole run of blocks of one pool (see
    /// [`FreeRun`]), which is left empty: the pool changes state at most
    /// once. Nothing to do for an empty run.
    ///
    /// # Safety
    /// As for `free`, for each block of the run.
    pub(crate) unsafe fn free_run(run: &mut FreeRun) {
        // SAFETY: as for `free`.
        unsafe {
            let Some(pool) = run.pool() else { return };
            let was_full = Pool::is_full(pool);
            run.return_to_pool();
            if was_full
                || ((*pool.as_ptr()).used == 0
                    && (*(*pool.as_ptr()).chain.as_ptr()).partial_count > 1)
            {
                TypeChain::pool_changed_state(pool, was_full);
            }
        }
    }

    /// A pool went from full to partial, or from partial to empty.
    #[cold]
    #[inline(never)]
    unsafe fn pool_changed_state(pool: NonNull<Pool>, was_full: bool) {
        // SAFETY: as for `free`.
        unsafe {
            let chain = (*pool.as_ptr()).chain;
            if was_full {
                TypeChain::link_partial(chain, pool);
            }
            if (*pool.as_ptr()).used == 0 && (*chain.as_ptr()).partial_count > 1 {
                TypeChain::unlink_partial(chain, pool);
                TypeChain::release_pool(chain, pool);
            }
        }
    }

    /// Blocks in use: every pool off the partial list is full.
    ///
    /// # Safety
    /// `chain` must be a live chain; runs no user code.
    pub(crate) unsafe fn used_blocks(chain: NonNull<TypeChain>) -> usize {
        // SAFETY: forwarded to the caller; partial pools are live.
        unsafe {
            let c = chain.as_ptr();
            let Some(g) = (*c).geometry else { return 0 };
            let full = (*c).pools - (*c).partial_count as usize;
            let mut used = full * g.capacity as usize;
            let mut cur = (*c).partial;
            while let Some(p) = NonNull::new(cur) {
                used += (*p.as_ptr()).used as usize;
                cur = (*p.as_ptr()).next_partial;
            }
            used
        }
    }

    #[cold]
    unsafe fn new_pool(chain: NonNull<TypeChain>) -> NonNull<Pool> {
        // SAFETY: the heap outlives its chains; no user code runs here.
        unsafe {
            let c = chain.as_ptr();
            let heap = (*c).heap;
            let (mem, arena) = heap.as_ref().arenas_mut().take_pool();
            let pool = Pool::init(mem, chain, heap, arena);
            (*c).pools += 1;
            TypeChain::link_partial(chain, pool);
            pool
        }
    }

    unsafe fn release_pool(chain: NonNull<TypeChain>, pool: NonNull<Pool>) {
        // SAFETY: the pool is empty and unlinked from the partial list.
        unsafe {
            let heap = (*chain.as_ptr()).heap.as_ref();
            heap.collector().forget_pool(pool);
            Pool::release(pool);
            let arena = (*pool.as_ptr()).arena;
            heap.arenas_mut().give_pool(pool, arena);
            (*chain.as_ptr()).pools -= 1;
        }
    }

    unsafe fn link_partial(chain: NonNull<TypeChain>, pool: NonNull<Pool>) {
        // SAFETY: exclusive access to the chain and its pools.
        unsafe {
            let c = chain.as_ptr();
            let p = pool.as_ptr();
            debug_assert!(!(*p).in_partial);
            (*p).prev_partial = ptr::null_mut();
            (*p).next_partial = (*c).partial;
            if !(*c).partial.is_null() {
                (*(*c).partial).prev_partial = p;
            }
            (*c).partial = p;
            (*p).in_partial = true;
            (*c).partial_count += 1;
        }
    }

    unsafe fn unlink_partial(chain: NonNull<TypeChain>, pool: NonNull<Pool>) {
        // SAFETY: exclusive access; `pool` is on the chain's partial list.
        unsafe {
            let c = chain.as_ptr();
            let p = pool.as_ptr();
            debug_assert!((*p).in_partial);
            if (*p).prev_partial.is_null() {
                (*c).partial = (*p).next_partial;
            } else {
                (*(*p).prev_partial).next_partial = (*p).next_partial;
            }
            if !(*p).next_partial.is_null() {
                (*(*p).next_partial).prev_partial = (*p).prev_partial;
            }
            (*p).in_partial = false;
            (*c).partial_count -= 1;
        }
    }

    /// Releases every pool of the chain that holds no block (at thread exit).
    ///
    /// # Safety
    /// As for `free`.
    pub(crate) unsafe fn release_empty_pools(chain: NonNull<TypeChain>) {
        // SAFETY: walking the chain's own partial list with exclusive access.
        unsafe {
            let mut cur = (*chain.as_ptr()).partial;
            while let Some(p) = NonNull::new(cur) {
                cur = (*p.as_ptr()).next_partial;
                if (*p.as_ptr()).used == 0 {
                    TypeChain::unlink_partial(chain, p);
                    TypeChain::release_pool(chain, p);
                }
            }
        }
    }
}

/// All chains of a heap.
///
/// Chains are boxed and held by raw pointer: pools and caches keep pointers to
/// them for the heap's whole life, so no `&mut` to a chain may ever be formed
/// through the map (it would invalidate those pointers).
pub(crate) struct Registry {
    chains: IndexMap<ChainKey, NonNull<TypeChain>, BuildHasherDefault<TypeIdHasher>>,
    cache: [(*const VTable, *mut TypeChain); CACHE_SLOTS],
}

const CACHE_SLOTS: usize = 64;

#[inline(always)]
fn cache_slot(vtable: &'static VTable) -> usize {
    let addr = vtable as *const VTable as usize;
    (addr >> 3 ^ addr >> 9) % CACHE_SLOTS
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            chains: IndexMap::default(),
            cache: [(ptr::null(), ptr::null_mut()); CACHE_SLOTS],
        }
    }

    /// The pooled chain of a sized type, by the address of its vtable.
    #[inline(always)]
    pub(crate) fn cached(&self, vtable: &'static VTable) -> Option<NonNull<TypeChain>> {
        let (key, chain) = self.cache[cache_slot(vtable)];
        if ptr::eq(key, vtable) {
            // SAFETY: cached chains are owned by `chains` for the heap's life.
            Some(unsafe { NonNull::new_unchecked(chain) })
        } else {
            None
        }
    }

    /// Caches `chain` as the pooled chain of the sized type of `vtable`.
    pub(crate) fn remember(&mut self, vtable: &'static VTable, chain: NonNull<TypeChain>) {
        self.cache[cache_slot(vtable)] = (vtable, chain.as_ptr());
    }

    /// The chain for `key`, if it exists.
    pub(crate) fn lookup(&self, key: ChainKey) -> Option<NonNull<TypeChain>> {
        self.chains.get(&key).copied()
    }

    /// Creates the chain for `key`.
    #[cold]
    pub(crate) fn create(
        &mut self,
        key: ChainKey,
        vtable: &'static VTable,
        align: usize,
        erasable: bool,
        heap: NonNull<HeapState>,
    ) -> NonNull<TypeChain> {
        // A slice whose length the pool cannot recover is never tracked: the
        // allocator sends slices of traced elements to large objects instead.
        let owns_gc = erasable && (vtable.needs_trace)();
        // Acyclic types own `Gc`s but never enter the generations.
        let tracked = erasable && vtable.tracked();
        let geometry = (key.block_size != 0)
            .then(|| PoolGeometry::new(key.block_size as usize, align.max(8), tracked));
        let chain = Box::into_raw(Box::new(TypeChain {
            vtable,
            geometry,
            tracked,
            owns_gc,
            needs_finalize: (vtable.needs_finalize)(),
            erasable,
            heap,
            partial: ptr::null_mut(),
            partial_count: 0,
            pools: 0,
            large_objects: 0,
            large_bytes: 0,
        }));
        // SAFETY: Box::into_raw never returns null.
        let chain = unsafe { NonNull::new_unchecked(chain) };
        self.chains.insert(key, chain);
        chain
    }

    /// Every chain, in creation order.
    pub(crate) fn chains(&self) -> impl Iterator<Item = NonNull<TypeChain>> + '_ {
        self.chains.values().copied()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        for chain in self.chains.values() {
            // SAFETY: each chain was leaked from a Box in `create`, and the
            // registry is dropped only once nothing refers to the chains.
            drop(unsafe { Box::from_raw(chain.as_ptr()) });
        }
    }
}
