//! Finding a pool's scratch array without reading its pool header, for big
//! sets.
//!
//! For every edge it follows, a collection needs the scratch slot of the
//! target: its pool's scratch array, then the block's index. The array's
//! address sits in the pool header, at a 16 KiB-aligned address, and such
//! addresses share a few sets of every cache level (PERFORMANCE.md, "Pool
//! headers and the caches"): when edges jump from pool to pool, each read
//! of a pool header misses, and the slot's address waits for it. A full
//! collection of 1M objects with two edges each to random objects took
//! 22–31 ns per object that way, against 12–17 ns with this map.
//!
//! The map is a table with one entry per 16 KiB of the address range the
//! set's pools span, holding the pool's scratch array (null for memory
//! that is no pool of the set): a dense array, whose entries for
//! neighbouring pools share cache lines. A set spanning too wide a range,
//! or too few pools for misses to matter, is not mapped. In front of the
//! table, the lookup remembers the last pool it found: consecutive edges
//! into one pool (a list, a ring, a tree's lower levels) read neither.
//!
//! Only edges to sized targets use it (their block index needs no pool
//! header either: see `pooled_sized_index`); `dyn` and slice targets read
//! their pool header for their layout anyway. The price, on a big set
//! whose edges all stay within a pool (each object pointing at the next
//! two): about 10 % more instructions in its collections (the remembered
//! pool is compared for every edge), and 8.0–8.7 against 6.9–8.9 ns per
//! object in time. The benchmark's heap (object i pointing at i / 2)
//! collects in the same time either way (6.5–6.9 against 6.4–7.1 ns).

use crate::heap::pool::{Pool, POOL_SIZE};
use std::ptr::NonNull;

/// Fewer set pools than this are not mapped: their headers stay cached.
/// (Under Miri, whose tests are small, any set of two pools or more is
/// mapped, so that they check the map as well as the pool headers.)
const MIN_POOLS: usize = if cfg!(miri) { 2 } else { 64 };
/// Most table entries (16 KiB of address range each): 512 KiB of table
/// for a 1 GiB range. A set spread wider is not mapped.
const MAX_ENTRIES: usize = 1 << 16;

/// The table, kept between collections.
#[derive(Default)]
pub(crate) struct ScratchMap {
    table: Vec<*mut u32>,
}

impl ScratchMap {
    /// Maps the scratch arrays of `pools` and `lazy` (the gathered set's
    /// pools, and those whose undiscovered objects may join it), with room
    /// for those of `span` (pools that may join the set later, through
    /// [`ScratchLookup::set_scratch`]; only their addresses are read), or
    /// returns [`ScratchLookup::NONE`] if the set is not worth mapping.
    ///
    /// # Safety
    /// Every pool of `pools` and `lazy` must be live, with its scratch array
    /// set; the lookup is valid until the scratch arrays are cleared or this
    /// map is rebuilt.
    pub(crate) unsafe fn build(
        &mut self,
        pools: &[NonNull<Pool>],
        lazy: &[NonNull<Pool>],
        span: &[NonNull<Pool>],
    ) -> ScratchLookup {
        if pools.len() + lazy.len() + span.len() < MIN_POOLS {
            return ScratchLookup::NONE;
        }
        let pools = || pools.iter().chain(lazy);
        let addrs = pools().chain(span).map(|p| p.as_ptr().addr());
        let (Some(min), Some(max)) = (addrs.clone().min(), addrs.max()) else {
            return ScratchLookup::NONE;
        };
        let entries = (max - min) / POOL_SIZE + 1;
        if entries > MAX_ENTRIES {
            return ScratchLookup::NONE;
        }
        self.table.clear();
        self.table.resize(entries, std::ptr::null_mut());
        for &pool in pools() {
            // SAFETY: forwarded to the caller.
            self.table[(pool.as_ptr().addr() - min) / POOL_SIZE] =
                unsafe { (*pool.as_ptr()).scratch };
        }
        ScratchLookup {
            base: min,
            entries,
            table: self.table.as_mut_ptr(),
            last_pool: 0,
            last_scratch: std::ptr::null_mut(),
        }
    }

    /// Returns a table grown past what an ordinary heap needs.
    pub(crate) fn release(&mut self) {
        if self.table.capacity() > MAX_ENTRIES / 4 {
            self.table = Vec::new();
        }
    }
}

/// A view of a [`ScratchMap`] for one pass, with the last pool found.
#[derive(Clone, Copy)]
pub(crate) struct ScratchLookup {
    base: usize,
    /// 0: no map; scratch arrays are read from the pool headers.
    entries: usize,
    /// The last pool looked up, and its scratch array.
    table: *mut *mut u32,
    last_pool: usize,
    last_scratch: *mut u32,
}

impl Default for ScratchLookup {
    fn default() -> ScratchLookup {
        ScratchLookup::NONE
    }
}

impl ScratchLookup {
    /// No map.
    pub(crate) const NONE: ScratchLookup = ScratchLookup {
        base: 0,
        entries: 0,
        table: std::ptr::null_mut(),
        last_pool: 0,
        last_scratch: std::ptr::null_mut(),
    };

    /// Whether there is a map (a set too small, or spread too wide, has
    /// none: its scratch arrays are read from the pool headers).
    #[inline(always)]
    pub(crate) fn is_mapped(&self) -> bool {
        self.entries != 0
    }

    /// The scratch array of `pool` (null if it is not in the set): the
    /// last one found if `pool` is the same pool again, else through the
    /// table.
    ///
    /// # Safety
    /// The lookup must be mapped and valid (see [`ScratchMap::build`]).
    #[inline(always)]
    pub(crate) unsafe fn scratch_of(&mut self, pool: NonNull<Pool>) -> *mut u32 {
        debug_assert!(self.is_mapped());
        let addr = pool.as_ptr().addr();
        if addr == self.last_pool {
            return self.last_scratch;
        }
        let entry = addr.wrapping_sub(self.base) / POOL_SIZE;
        let scratch = if entry < self.entries {
            // SAFETY: the table has `entries` entries (the caller's promise).
            unsafe { *self.table.add(entry) }
        } else {
            std::ptr::null_mut()
        };
        self.last_pool = addr;
        self.last_scratch = scratch;
        scratch
    }

    /// `pool` now has the scratch array `scratch` (nothing is recorded for
    /// a pool outside the map's range: its lookups keep finding null, and
    /// callers fall back on the pool header).
    ///
    /// # Safety
    /// As for [`scratch_of`](Self::scratch_of); no other lookup of the map
    /// may be in use.
    pub(crate) unsafe fn set_scratch(&mut self, pool: NonNull<Pool>, scratch: *mut u32) {
        if !self.is_mapped() {
            return;
        }
        let entry = pool.as_ptr().addr().wrapping_sub(self.base) / POOL_SIZE;
        if entry >= self.entries {
            return;
        }
        // SAFETY: forwarded to the caller; the entry is in the table.
        unsafe { *self.table.add(entry) = scratch };
        if self.last_pool == pool.as_ptr().addr() {
            self.last_scratch = scratch;
        }
    }
}
