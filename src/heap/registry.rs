//! The per-type registry: one chain of pools per value type ("big bag of
//! pages"), so every block of a pool holds the same type and the type's
//! vtable is stored once per pool instead of once per object.
//!
//! `Gc::new::<T>` finds its chain through a small direct-mapped cache keyed by
//! `TypeId` (the key is a compile-time constant, so a hit costs one load and
//! one compare); misses fall back to an `IndexMap`, whose insertion order also
//! gives reports a stable order.

use crate::heap::pool::{Pool, PoolGeometry};
use crate::heap::vtable::VTable;
use crate::heap::HeapState;
use indexmap::IndexMap;
use std::any::TypeId;
use std::hash::{Hash, Hasher};
use std::ptr::{self, NonNull};

/// Identifies a chain: the value type, and the block size (which differs
/// between lengths of one slice type; 0 for a chain of large objects only).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ChainKey {
    pub(crate) type_id: TypeId,
    pub(crate) block_size: u32,
}

/// The pools of one type and block size, and that type's counters.
pub(crate) struct TypeChain {
    pub(crate) vtable: &'static VTable,
    pub(crate) geometry: Option<PoolGeometry>,
    /// Objects of this type enter the generations (the type may own a `Gc`).
    pub(crate) tracked: bool,
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
    /// Blocks in use across the chain's pools.
    pub(crate) used_blocks: usize,
    pub(crate) large_objects: usize,
    pub(crate) large_bytes: usize,
}

impl TypeChain {
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
            (*c).used_blocks += 1;
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
            let chain = (*pool.as_ptr()).chain;
            let was_full = Pool::is_full(pool);
            Pool::push(pool, block);
            (*chain.as_ptr()).used_blocks -= 1;
            if was_full {
                TypeChain::link_partial(chain, pool);
            } else if (*pool.as_ptr()).used == 0 && (*chain.as_ptr()).partial_count > 1 {
                TypeChain::unlink_partial(chain, pool);
                TypeChain::release_pool(chain, pool);
            }
        }
    }

    #[cold]
    unsafe fn new_pool(chain: NonNull<TypeChain>) -> NonNull<Pool> {
        // SAFETY: the heap outlives its chains; no user code runs here.
        unsafe {
            let c = chain.as_ptr();
            let heap = (*c).heap;
            let (mem, arena) = heap.as_ref().arenas_mut().take_pool();
            let geometry = (*c).geometry.expect("pooled chain");
            let pool = Pool::init(
                mem,
                chain,
                heap,
                geometry,
                (*c).tracked,
                (*c).needs_finalize,
                arena,
            );
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
    chains: IndexMap<ChainKey, NonNull<TypeChain>>,
    cache: [(Option<ChainKey>, *mut TypeChain); CACHE_SLOTS],
}

const CACHE_SLOTS: usize = 64;

/// A hasher that keeps the bits of `TypeId`'s hash; TypeIds are already
/// well-distributed hashes, so folding them is enough.
#[derive(Default)]
struct FoldHasher(u64);

impl Hasher for FoldHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }
}

#[inline(always)]
fn cache_slot(key: ChainKey) -> usize {
    let mut h = FoldHasher::default();
    key.type_id.hash(&mut h);
    let x = h.finish() ^ u64::from(key.block_size).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x ^ (x >> 29) ^ (x >> 47)) as usize % CACHE_SLOTS
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            chains: IndexMap::new(),
            cache: [(None, ptr::null_mut()); CACHE_SLOTS],
        }
    }

    /// The chain for `key`, from the cache when possible.
    #[inline(always)]
    pub(crate) fn lookup(&mut self, key: ChainKey) -> Option<NonNull<TypeChain>> {
        let slot = &self.cache[cache_slot(key)];
        if slot.0 == Some(key) {
            // SAFETY: cached pointers point into boxes owned by `chains`.
            return Some(unsafe { NonNull::new_unchecked(slot.1) });
        }
        self.lookup_slow(key)
    }

    #[cold]
    fn lookup_slow(&mut self, key: ChainKey) -> Option<NonNull<TypeChain>> {
        let chain = *self.chains.get(&key)?;
        self.cache[cache_slot(key)] = (Some(key), chain.as_ptr());
        Some(chain)
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
        let tracked = erasable && (vtable.needs_trace)();
        let geometry = (key.block_size != 0)
            .then(|| PoolGeometry::new(key.block_size as usize, align.max(8), tracked));
        let chain = Box::into_raw(Box::new(TypeChain {
            vtable,
            geometry,
            tracked,
            needs_finalize: (vtable.needs_finalize)(),
            erasable,
            heap,
            partial: ptr::null_mut(),
            partial_count: 0,
            pools: 0,
            used_blocks: 0,
            large_objects: 0,
            large_bytes: 0,
        }));
        // SAFETY: Box::into_raw never returns null.
        self.chains
            .insert(key, unsafe { NonNull::new_unchecked(chain) });
        self.lookup_slow(key).expect("just inserted")
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
