//! Arenas: 1 MiB blocks of memory from the system allocator, cut into 64
//! pools.
//!
//! As in obmalloc, pools are taken from the *fullest* arena that still has a
//! free pool, so nearly empty arenas get a chance to drain and go back to the
//! system. The order is kept in O(1): arenas sit in buckets by their number of
//! free pools, and a bit mask says which buckets are non-empty. An arena that
//! becomes completely free is returned to the system, except one kept as a
//! spare so that a loop allocating and freeing around an arena boundary does
//! not call the system allocator every time (CPython bpo-37257).

use crate::heap::pool::{Pool, POOL_SIZE};
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::{self, NonNull};

pub(crate) const ARENA_SIZE: usize = 1024 * 1024;
pub(crate) const POOLS_PER_ARENA: u32 = (ARENA_SIZE / POOL_SIZE) as u32;

const NONE: u32 = u32::MAX;

fn arena_layout() -> Layout {
    // POOL_SIZE alignment puts every pool of the arena on a POOL_SIZE
    // boundary, so no pool is lost to alignment (obmalloc loses one).
    Layout::from_size_align(ARENA_SIZE, POOL_SIZE).expect("arena layout")
}

struct Arena {
    base: NonNull<u8>,
    /// Pools never carved yet are `carved..POOLS_PER_ARENA`.
    carved: u32,
    /// Pools carved and then given back.
    free_pools: *mut Pool,
    nfree: u32,
    prev: u32,
    next: u32,
}

/// All arenas of one heap.
pub(crate) struct ArenaSet {
    /// Slots may be empty (arena returned to the system); reused first.
    arenas: Vec<Option<Arena>>,
    vacant: Vec<u32>,
    /// `buckets[n]`: first arena with `n` free pools (`NONE` if none).
    buckets: [u32; POOLS_PER_ARENA as usize + 1],
    /// Bit n set when `buckets[n]` is non-empty.
    nonempty: u128,
}

impl ArenaSet {
    pub(crate) fn new() -> ArenaSet {
        ArenaSet {
            arenas: Vec::new(),
            vacant: Vec::new(),
            buckets: [NONE; POOLS_PER_ARENA as usize + 1],
            nonempty: 0,
        }
    }

    fn arena(&mut self, i: u32) -> &mut Arena {
        self.arenas[i as usize].as_mut().expect("live arena")
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next, n) = {
            let a = self.arena(i);
            (a.prev, a.next, a.nfree)
        };
        if prev == NONE {
            self.buckets[n as usize] = next;
            if next == NONE {
                self.nonempty &= !(1u128 << n);
            }
        } else {
            self.arena(prev).next = next;
        }
        if next != NONE {
            self.arena(next).prev = prev;
        }
    }

    fn link(&mut self, i: u32) {
        let n = self.arena(i).nfree;
        let head = self.buckets[n as usize];
        {
            let a = self.arena(i);
            a.prev = NONE;
            a.next = head;
        }
        if head != NONE {
            self.arena(head).prev = i;
        }
        self.buckets[n as usize] = i;
        self.nonempty |= 1u128 << n;
    }

    /// Takes a free pool (uninitialised memory) and the index of its arena.
    pub(crate) fn take_pool(&mut self) -> (NonNull<u8>, u32) {
        // Fullest usable arena: the lowest non-empty bucket above 0.
        let usable = self.nonempty & !1;
        let i = if usable == 0 {
            self.new_arena()
        } else {
            self.buckets[usable.trailing_zeros() as usize]
        };
        self.unlink(i);
        let a = self.arena(i);
        let pool = if !a.free_pools.is_null() {
            let p = a.free_pools;
            // SAFETY: pools on the free list are carved pools we own.
            a.free_pools = unsafe { (*p).next_free_in_arena };
            // SAFETY: non-null, checked above.
            unsafe { NonNull::new_unchecked(p.cast::<u8>()) }
        } else {
            let off = a.carved as usize * POOL_SIZE;
            a.carved += 1;
            // SAFETY: carved < POOLS_PER_ARENA, so the pool is inside the arena.
            unsafe { NonNull::new_unchecked(a.base.as_ptr().add(off)) }
        };
        a.nfree -= 1;
        self.link(i);
        (pool, i)
    }

    /// Gives a pool back to its arena; frees the arena if it became empty
    /// and another empty arena is already kept as the spare.
    ///
    /// # Safety
    /// `pool` must have come from `take_pool` with this `arena` index, and
    /// nothing may use it anymore.
    pub(crate) unsafe fn give_pool(&mut self, pool: NonNull<Pool>, arena: u32) {
        self.unlink(arena);
        let a = self.arena(arena);
        // SAFETY: the pool memory is ours again; its header field is reused
        // as the free-list link.
        unsafe { (*pool.as_ptr()).next_free_in_arena = a.free_pools };
        a.free_pools = pool.as_ptr();
        a.nfree += 1;
        let empty = a.nfree == POOLS_PER_ARENA;
        let spare_exists = self.buckets[POOLS_PER_ARENA as usize] != NONE;
        if empty && spare_exists {
            self.free_arena(arena);
        } else {
            self.link(arena);
        }
    }

    fn new_arena(&mut self) -> u32 {
        let layout = arena_layout();
        // SAFETY: the layout has non-zero size.
        let base =
            NonNull::new(unsafe { alloc(layout) }).unwrap_or_else(|| handle_alloc_error(layout));
        let arena = Arena {
            base,
            carved: 0,
            free_pools: ptr::null_mut(),
            nfree: POOLS_PER_ARENA,
            prev: NONE,
            next: NONE,
        };
        let i = match self.vacant.pop() {
            Some(i) => {
                self.arenas[i as usize] = Some(arena);
                i
            }
            None => {
                self.arenas.push(Some(arena));
                (self.arenas.len() - 1) as u32
            }
        };
        self.link(i);
        i
    }

    fn free_arena(&mut self, i: u32) {
        let a = self.arenas[i as usize].take().expect("live arena");
        // SAFETY: the arena was allocated with this layout and no pool of it
        // is in use (all POOLS_PER_ARENA are free).
        unsafe { dealloc(a.base.as_ptr(), arena_layout()) };
        self.vacant.push(i);
    }

    /// Arenas currently held from the system.
    pub(crate) fn arena_count(&self) -> usize {
        self.arenas.iter().filter(|a| a.is_some()).count()
    }

    /// Pools currently carved out and in use by chains.
    pub(crate) fn pools_in_use(&self) -> usize {
        self.arenas
            .iter()
            .flatten()
            .map(|a| (POOLS_PER_ARENA - a.nfree) as usize)
            .sum()
    }

    /// Returns every arena whose pools are all free to the system (the
    /// spare included); used at thread exit.
    pub(crate) fn release_empty(&mut self) {
        while self.buckets[POOLS_PER_ARENA as usize] != NONE {
            let i = self.buckets[POOLS_PER_ARENA as usize];
            self.unlink(i);
            self.free_arena(i);
        }
    }

    /// Returns every arena to the system.
    ///
    /// # Safety
    /// No object in any arena may be used afterwards.
    pub(crate) unsafe fn release_all(&mut self) {
        for i in 0..self.arenas.len() as u32 {
            if self.arenas[i as usize].is_some() {
                self.free_arena(i);
            }
        }
        self.buckets = [NONE; POOLS_PER_ARENA as usize + 1];
        self.nonempty = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullest_arena_first_and_one_spare_kept() {
        let n = POOLS_PER_ARENA as usize;
        let mut set = ArenaSet::new();
        let mut a: Vec<_> = (0..n).map(|_| set.take_pool()).collect();
        let mut b: Vec<_> = (0..n).map(|_| set.take_pool()).collect();
        let c = set.take_pool();
        assert_eq!(set.arena_count(), 3);
        // Emptying the first arena keeps it as the spare.
        for (p, i) in a.drain(..) {
            unsafe { set.give_pool(p.cast(), i) };
        }
        assert_eq!(set.arena_count(), 3);
        // With B half free and C almost empty, B is the fullest usable arena.
        for (p, i) in b.drain(..n / 2) {
            unsafe { set.give_pool(p.cast(), i) };
        }
        let (p, i) = set.take_pool();
        assert_eq!(i, b[0].1);
        b.push((p, i));
        // Emptying B frees it: one spare (A) is enough.
        for (p, i) in b.drain(..) {
            unsafe { set.give_pool(p.cast(), i) };
        }
        assert_eq!(set.arena_count(), 2);
        unsafe { set.give_pool(c.0.cast(), c.1) };
        assert_eq!(set.arena_count(), 1);
        unsafe { set.release_all() };
        assert_eq!(set.arena_count(), 0);
    }
}
