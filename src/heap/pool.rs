//! Pools: 16 KiB aligned pages of equal-size blocks holding one type.
//!
//! A block finds its pool by masking its address (`addr & !(POOL_SIZE - 1)`),
//! like obmalloc's `POOL_ADDR`. The pool header holds what is the same for
//! every block (the type's chain, the block size); per-block state is kept
//! in bitmaps beside it: for pools of tracked types, which generation each
//! live object is in. (Whether a block is allocated needs no bit: free
//! blocks are exactly those on the free list or past the bump index, and
//! keeping a bit for it cost a multiply and two memory writes on every
//! allocation and free.) Blocks are carved lazily (a bump index) and
//! recycled through an intrusive free list.

use crate::heap::registry::TypeChain;
use crate::heap::vtable::VTable;
use crate::heap::HeapState;
use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::ptr::{self, NonNull};

pub(crate) const POOL_SIZE: usize = 16 * 1024;
pub(crate) const POOL_MASK: usize = !(POOL_SIZE - 1);

/// Number of generation bitmaps: young, middle, old, frozen.
pub(crate) const GEN_BITMAPS: usize = 4;
/// Index of the frozen "generation" (CPython's permanent generation).
pub(crate) const FROZEN: usize = 3;
/// Index of the bitmap after the generations': the pool's suspects, old
/// objects whose count dropped since the last full collection (see
/// `collector::suspects`). A bit may outlive its object; only its
/// intersection with the old generation's bitmap is ever read.
pub(crate) const SUSPECTS: usize = GEN_BITMAPS;
/// Bitmaps of a tracked pool (and pool lists of the collector): one per
/// generation, frozen, and the suspects.
pub(crate) const POOL_BITMAPS: usize = GEN_BITMAPS + 1;
/// `gen_slot` value of a pool that is not in a generation's pool list.
pub(crate) const NOT_LISTED: u32 = u32::MAX;

/// A freed block, linked into its pool's free list.
struct FreeBlock {
    next: *mut FreeBlock,
}

/// Blocks of one pool being freed together: linked to each other as they
/// come, then handed to the pool in one step, with one look at the pool's
/// header for the whole run (the collector's release of a garbage set,
/// whose blocks come pool by pool).
pub(crate) struct FreeRun {
    pool: Option<NonNull<Pool>>,
    first: *mut FreeBlock,
    last: *mut FreeBlock,
    count: u32,
}

impl FreeRun {
    pub(crate) const fn new() -> FreeRun {
        FreeRun {
            pool: None,
            first: std::ptr::null_mut(),
            last: std::ptr::null_mut(),
            count: 0,
        }
    }

    /// Adds `block` of `pool` to the run, which must be empty or of `pool`
    /// (hand a run to `TypeChain::free_run` before starting another pool's).
    ///
    /// # Safety
    /// `block` must be an allocated block of `pool` that nothing uses
    /// anymore, and not already in the run.
    #[inline(always)]
    pub(crate) unsafe fn push(&mut self, pool: NonNull<Pool>, block: NonNull<u8>) {
        debug_assert!(
            self.pool.is_none_or(|p| p == pool),
            "gengc: a free run mixes two pools"
        );
        self.pool = Some(pool);
        let b = block.as_ptr().cast::<FreeBlock>();
        // SAFETY: the block is ours to overwrite (forwarded to the caller).
        unsafe { (*b).next = self.first };
        if self.first.is_null() {
            self.last = b;
        }
        self.first = b;
        self.count += 1;
    }

    /// The pool of the blocks in the run, if any.
    pub(crate) fn pool(&self) -> Option<NonNull<Pool>> {
        self.pool
    }

    /// Returns the run's blocks to their pool, if the run has any, and
    /// empties it.
    ///
    /// # Safety
    /// The run's pool must be live.
    #[inline(always)]
    pub(crate) unsafe fn return_to_pool(&mut self) {
        let Some(pool) = self.pool else { return };
        // SAFETY: the run's blocks (at least one: `push` set the pool) are
        // distinct, of `pool`, unused.
        unsafe { Pool::push_run(pool, self.first, self.last, self.count) };
        *self = FreeRun::new();
    }
}

/// Geometry shared by every pool of one chain.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolGeometry {
    pub(crate) block_size: u32,
    pub(crate) capacity: u32,
    pub(crate) first_offset: u32,
    /// Bitmap words per bitmap.
    pub(crate) words: u32,
    /// `ceil(2^32 / block_size)`: block index = (offset * magic) >> 32.
    pub(crate) magic: u64,
    pub(crate) bitmaps: u32,
}

/// Offset of a pool's first block, for blocks aligned to `align`: right
/// after the header.
#[inline(always)]
pub(crate) const fn first_block_offset(align: usize) -> usize {
    std::mem::size_of::<Pool>().next_multiple_of(align)
}

/// The multiplier that turns a byte offset among `block_size`-byte blocks
/// into a block index: `(offset * magic) >> 32` (exact for every offset
/// in a pool; a unit test checks them all).
#[inline(always)]
pub(crate) const fn index_magic(block_size: usize) -> u64 {
    (1u64 << 32).div_ceil(block_size as u64)
}

impl PoolGeometry {
    /// Lays out a pool of `block_size`-byte blocks aligned to `align`; a
    /// tracked pool also gets one bitmap per generation (and frozen) and
    /// one of suspects, allocated beside the pool (see [`Pool::init`]).
    pub(crate) fn new(block_size: usize, align: usize, tracked: bool) -> PoolGeometry {
        debug_assert!(block_size >= std::mem::size_of::<FreeBlock>());
        debug_assert!(block_size % align == 0);
        let bitmaps = if tracked { POOL_BITMAPS } else { 0 };
        let first = first_block_offset(align);
        let capacity = (POOL_SIZE - first) / block_size;
        PoolGeometry {
            block_size: block_size as u32,
            capacity: capacity as u32,
            first_offset: first as u32,
            words: capacity.div_ceil(64) as u32,
            magic: index_magic(block_size),
            bitmaps: bitmaps as u32,
        }
    }

    /// The layout of a tracked pool's bitmaps.
    fn bitmaps_layout(&self) -> Layout {
        Layout::array::<u64>((self.bitmaps * self.words) as usize).expect("bitmap layout")
    }
}

/// Where a pool's blocks are: see [`Pool::block_layout`].
#[derive(Clone, Copy)]
pub(crate) struct BlockLayout {
    first: *mut u8,
    size: usize,
}

impl BlockLayout {
    /// Address of block `index`.
    ///
    /// # Safety
    /// `index` must be below the pool's capacity.
    #[inline(always)]
    pub(crate) unsafe fn block(self, index: u32) -> NonNull<u8> {
        // SAFETY: index < capacity keeps the block inside the pool, whose
        // address is non-null.
        unsafe { NonNull::new_unchecked(self.first.add(index as usize * self.size)) }
    }
}

/// The header at the start of every pool.
///
/// A tracked pool's generation bitmaps live in a separate allocation, not
/// after the header: a header grown by 4 bitmaps (256 bytes for 32-byte
/// blocks) made a pre-order walk of a post-order-built 1M-node tree 2.5-3x
/// slower than the same tree in untracked pools (17.5 vs 6.5 ms), and the
/// slowdown grew with the header size, so every pool keeps the small header.
#[repr(C)]
pub(crate) struct Pool {
    pub(crate) chain: NonNull<TypeChain>,
    pub(crate) heap: NonNull<HeapState>,
    pub(crate) geometry: PoolGeometry,
    pub(crate) tracked: bool,
    /// Its values may own a `Gc` (see `TypeChain::owns_gc`).
    pub(crate) owns_gc: bool,
    /// Index of the arena this pool was carved from.
    pub(crate) arena: u32,
    /// Blocks handed out and not yet freed.
    pub(crate) used: u32,
    /// Next never-used block (lazy carving, obmalloc's `nextoffset`).
    bump: u32,
    free: *mut FreeBlock,
    /// Links of the chain's list of pools with free blocks.
    pub(crate) next_partial: *mut Pool,
    pub(crate) prev_partial: *mut Pool,
    pub(crate) in_partial: bool,
    /// Position in each generation's list of pools holding objects of it
    /// (and in the list of pools with suspects).
    pub(crate) gen_slot: [u32; POOL_BITMAPS],
    /// The collector's `gc_refs` for this pool's blocks while a collection
    /// examines them (one u32 per block), null otherwise.
    pub(crate) scratch: *mut u32,
    /// The type's vtable (the chain's), next to `scratch`: the collector
    /// reads both for every object it reaches.
    pub(crate) vtable: &'static VTable,
    /// Tracked pools: `POOL_BITMAPS` bitmaps of `geometry.words` words each
    /// (which generation each block is in, and the suspects); null
    /// otherwise.
    bitmaps: *mut u64,
}

impl Pool {
    /// Initialises a pool header in fresh pool memory.
    ///
    /// The type's properties (vtable, geometry, tracked) are copied from
    /// `chain`, so a collection reads only the pool. (A death reads its
    /// kind from the object header: see `header::Death`.)
    ///
    /// # Safety
    /// `mem` must be POOL_SIZE bytes, POOL_SIZE-aligned, owned by the caller;
    /// `chain` must be a live pooled chain.
    pub(crate) unsafe fn init(
        mem: NonNull<u8>,
        chain: NonNull<TypeChain>,
        heap: NonNull<HeapState>,
        arena: u32,
    ) -> NonNull<Pool> {
        let pool = mem.cast::<Pool>();
        // SAFETY: the caller guarantees a live chain.
        let (vtable, geometry, tracked, owns_gc) = unsafe {
            let c = chain.as_ptr();
            let geometry = (*c).geometry.expect("pooled chain");
            let c = &*c;
            (c.vtable, geometry, c.tracked, c.owns_gc)
        };
        // SAFETY: the memory is ours, aligned and large enough for the header
        // followed by `geometry.bitmaps` bitmaps of `geometry.words` words.
        unsafe {
            pool.as_ptr().write(Pool {
                chain,
                heap,
                geometry,
                tracked,
                owns_gc,
                arena,
                used: 0,
                bump: 0,
                free: ptr::null_mut(),
                next_partial: ptr::null_mut(),
                prev_partial: ptr::null_mut(),
                in_partial: false,
                gen_slot: [NOT_LISTED; POOL_BITMAPS],
                scratch: ptr::null_mut(),
                vtable,
                bitmaps: ptr::null_mut(),
            });
            if geometry.bitmaps > 0 {
                let layout = geometry.bitmaps_layout();
                let bitmaps = alloc_zeroed(layout).cast::<u64>();
                if bitmaps.is_null() {
                    handle_alloc_error(layout);
                }
                (*pool.as_ptr()).bitmaps = bitmaps;
            }
        }
        pool
    }

    /// Frees what `init` allocated beside the pool; the pool memory itself
    /// goes back to its arena (the caller's business).
    ///
    /// # Safety
    /// The pool must be empty and out of every generation list; it must not
    /// be used afterwards.
    pub(crate) unsafe fn release(pool: NonNull<Pool>) {
        // SAFETY: forwarded to the caller; `bitmaps` came from `init` with
        // this layout.
        unsafe {
            let p = pool.as_ptr();
            if !(*p).bitmaps.is_null() {
                dealloc((*p).bitmaps.cast(), (*p).geometry.bitmaps_layout());
                (*p).bitmaps = ptr::null_mut();
            }
        }
    }

    /// The pool holding the block at `addr`.
    #[inline(always)]
    pub(crate) fn of(addr: *const u8) -> NonNull<Pool> {
        // SAFETY: masking a block address inside a pool yields the pool's
        // start, which is non-null (pools are never at address 0).
        unsafe { NonNull::new_unchecked(addr.map_addr(|a| a & POOL_MASK) as *mut Pool) }
    }

    /// The bitmap of generation `gen` (0..=3) of a tracked pool, or its
    /// suspects ([`SUSPECTS`]).
    #[inline(always)]
    pub(crate) fn gen_bitmap(pool: NonNull<Pool>, gen: usize) -> *mut u64 {
        // SAFETY: tracked pools have POOL_BITMAPS bitmaps of `words` words.
        unsafe {
            debug_assert!((*pool.as_ptr()).tracked && gen < POOL_BITMAPS);
            let words = (*pool.as_ptr()).geometry.words as usize;
            (*pool.as_ptr()).bitmaps.add(gen * words)
        }
    }

    /// Address of block `index`.
    #[inline(always)]
    pub(crate) fn block(pool: NonNull<Pool>, index: u32) -> NonNull<u8> {
        // SAFETY: index < capacity keeps the block inside the pool.
        unsafe { Pool::block_layout(pool).block(index) }
    }

    /// The first block's address and the block size, for loops over many
    /// blocks of one pool: the geometry is read once, not per block (the
    /// compiler cannot hoist it past the loop's writes).
    #[inline(always)]
    pub(crate) fn block_layout(pool: NonNull<Pool>) -> BlockLayout {
        // SAFETY: reading the header of a live pool; the first block is
        // inside the pool.
        unsafe {
            let g = &(*pool.as_ptr()).geometry;
            BlockLayout {
                first: pool.as_ptr().cast::<u8>().add(g.first_offset as usize),
                size: g.block_size as usize,
            }
        }
    }

    /// Index of the block starting at `addr` (one multiply, no division).
    #[inline(always)]
    pub(crate) fn index_of(pool: NonNull<Pool>, addr: *const u8) -> u32 {
        // SAFETY: reading the pool header of a live pool.
        let g = unsafe { &(*pool.as_ptr()).geometry };
        let off = (addr.addr() - pool.as_ptr().addr() - g.first_offset as usize) as u64;
        ((off * g.magic) >> 32) as u32
    }

    /// Takes a block, or returns `None` when the pool is full.
    ///
    /// # Safety
    /// `pool` must be a live pool of the current heap.
    #[inline(always)]
    pub(crate) unsafe fn pop(pool: NonNull<Pool>) -> Option<NonNull<u8>> {
        // SAFETY: the caller guarantees the pool is live and not aliased by a
        // reference elsewhere while this runs (no user code runs here).
        unsafe {
            let p = pool.as_ptr();
            let block = if !(*p).free.is_null() {
                let b = (*p).free;
                (*p).free = (*b).next;
                NonNull::new_unchecked(b.cast::<u8>())
            } else if (*p).bump < (*p).geometry.capacity {
                let b = Pool::block(pool, (*p).bump);
                (*p).bump += 1;
                b
            } else {
                return None;
            };
            (*p).used += 1;
            Some(block)
        }
    }

    /// Returns a block to the free list.
    ///
    /// # Safety
    /// `block` must be an allocated block of `pool` that nothing uses anymore.
    #[inline(always)]
    pub(crate) unsafe fn push(pool: NonNull<Pool>, block: NonNull<u8>) {
        // SAFETY: see `pop`; the block is ours to overwrite.
        unsafe {
            let p = pool.as_ptr();
            debug_assert!((*p).used > 0, "gengc: free of a block of an empty pool");
            let b = block.as_ptr().cast::<FreeBlock>();
            (*b).next = (*p).free;
            (*p).free = b;
            (*p).used -= 1;
        }
    }

    /// Returns `count` blocks at once, linked from `first` to `last`
    /// through their `next` words (see [`FreeRun`]).
    ///
    /// # Safety
    /// The run must hold `count` distinct allocated blocks of `pool` that
    /// nothing uses anymore, linked by [`FreeRun::push`].
    #[inline(always)]
    unsafe fn push_run(
        pool: NonNull<Pool>,
        first: *mut FreeBlock,
        last: *mut FreeBlock,
        count: u32,
    ) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let p = pool.as_ptr();
            debug_assert!((*p).used >= count, "gengc: free of more blocks than in use");
            (*last).next = (*p).free;
            (*p).free = first;
            (*p).used -= count;
        }
    }

    /// Whether every block is in use.
    #[inline(always)]
    pub(crate) fn is_full(pool: NonNull<Pool>) -> bool {
        // SAFETY: reading the header of a live pool.
        unsafe { (*pool.as_ptr()).used == (*pool.as_ptr()).geometry.capacity }
    }

    /// Calls `f` with the index of every block set in `bits` (a bitmap of
    /// this pool's geometry).
    #[inline]
    pub(crate) fn for_each_set(pool: NonNull<Pool>, bits: *const u64, mut f: impl FnMut(u32)) {
        // SAFETY: `bits` is one of this pool's bitmaps (or a scratch copy of
        // the same length).
        unsafe {
            let words = (*pool.as_ptr()).geometry.words as usize;
            for w in 0..words {
                let mut word = *bits.add(w);
                while word != 0 {
                    let bit = word.trailing_zeros();
                    word &= word - 1;
                    f((w * 64) as u32 + bit);
                }
            }
        }
    }
}

/// # Safety
/// `bitmap` must have a word for `index`.
#[inline(always)]
pub(crate) unsafe fn set_bit(bitmap: *mut u64, index: u32) {
    // SAFETY: the caller guarantees the word exists.
    unsafe { *bitmap.add((index / 64) as usize) |= 1u64 << (index % 64) }
}

/// # Safety
/// `bitmap` must have a word for `index`.
#[inline(always)]
pub(crate) unsafe fn clear_bit(bitmap: *mut u64, index: u32) {
    // SAFETY: the caller guarantees the word exists.
    unsafe { *bitmap.add((index / 64) as usize) &= !(1u64 << (index % 64)) }
}

/// # Safety
/// `bitmap` must have a word for `index`.
#[inline(always)]
pub(crate) unsafe fn test_bit(bitmap: *const u64, index: u32) -> bool {
    // SAFETY: the caller guarantees the word exists.
    unsafe { *bitmap.add((index / 64) as usize) & (1u64 << (index % 64)) != 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_fits_and_index_math_is_exact() {
        for tracked in [false, true] {
            for block_size in (8..=512).step_by(8) {
                let g = PoolGeometry::new(block_size, 8, tracked);
                let end = g.first_offset as usize + g.capacity as usize * block_size;
                assert!(end <= POOL_SIZE);
                // No room for one more block: the pool is as full as it can be.
                assert!(end + block_size > POOL_SIZE);
                assert!(g.words as usize * 64 >= g.capacity as usize);
                for i in 0..g.capacity as u64 {
                    assert_eq!((i * block_size as u64 * g.magic) >> 32, i);
                }
            }
        }
    }
}
