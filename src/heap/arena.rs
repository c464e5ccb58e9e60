//! Arenas: 1 MiB blocks of memory from the system allocator, cut into 64
//! pools.
//!
//! As in obmalloc, pools are taken from the *fullest* arena that still has a
//! free pool, so nearly empty arenas get a chance to drain and go back to the
//! system. The order is kept in O(1): arenas sit in buckets by their number of
//! free pools, and a bit mask says which buckets are non-empty.
//!
//! An arena that becomes completely free is kept as a *spare* for
//! [`SPARE_DECAY`] and returned to the system once it has stayed unused that
//! long; the most recently emptied spare is never returned (a loop allocating
//! and freeing around an arena boundary must not call the system allocator
//! every time, CPython bpo-37257). CPython frees every other empty arena at
//! once; the decay (the policy of jemalloc and mimalloc) is ours: a program
//! that drops a large structure and builds the next one right away reuses
//! memory that is already mapped instead of faulting every page in again
//! (a 2M-node tree rebuilt in a loop: 48 ms per build with eager return,
//! 16 ms with the decay, as fast as `Rc` on glibc's retained heap). Expired
//! spares are returned whenever the arena set is used (a pool taken or given
//! back) and after every explicit collection.

use crate::heap::pool::{Pool, POOL_SIZE};
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// How long an emptied arena stays mapped for reuse before it goes back to
/// the system (the most recently emptied one stays regardless).
pub(crate) const SPARE_DECAY: Duration = Duration::from_secs(1);

pub(crate) const ARENA_SIZE: usize = 1024 * 1024;
pub(crate) const POOLS_PER_ARENA: u32 = (ARENA_SIZE / POOL_SIZE) as u32;
// One bit per pool in `Arena::free`.
const _: () = assert!(POOLS_PER_ARENA == u64::BITS);

const NONE: u32 = u32::MAX;

fn arena_layout() -> Layout {
    // POOL_SIZE alignment puts every pool of the arena on a POOL_SIZE
    // boundary, so no pool is lost to alignment (obmalloc loses one).
    Layout::from_size_align(ARENA_SIZE, POOL_SIZE).expect("arena layout")
}

struct Arena {
    base: NonNull<u8>,
    /// Bit `i` set: pool `i` of the arena is free. Pools are taken lowest
    /// first, so whatever order they were given back in, a structure built
    /// next is laid out in ascending addresses (see [`ArenaSet::take_pool`]).
    free: u64,
    nfree: u32,
    prev: u32,
    next: u32,
    /// When the arena last became completely free (for the decay).
    emptied_at: Option<Instant>,
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
    /// Earliest moment a spare may expire; `None` when at most one spare
    /// exists (the one that is always kept).
    purge_at: Option<Instant>,
    /// [`SPARE_DECAY`], shorter in unit tests.
    decay: Duration,
}

impl ArenaSet {
    pub(crate) fn new() -> ArenaSet {
        ArenaSet {
            arenas: Vec::new(),
            vacant: Vec::new(),
            buckets: [NONE; POOLS_PER_ARENA as usize + 1],
            nonempty: 0,
            purge_at: None,
            decay: SPARE_DECAY,
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
    ///
    /// Within the arena, the lowest free pool: a structure built into
    /// pools given back in some other order (the reverse of a big
    /// structure's drop, say) is still laid out in ascending addresses. When
    /// pools were reused last-freed-first instead, every other rebuild of a
    /// 1M-node tree was laid out backwards across its pools, and a
    /// depth-first walk of it took 21–23 ms instead of 6 ms.
    pub(crate) fn take_pool(&mut self) -> (NonNull<u8>, u32) {
        if self.purge_at.is_some() {
            self.return_expired_spares();
        }
        // Fullest usable arena: the lowest non-empty bucket above 0.
        let usable = self.nonempty & !1;
        let i = if usable == 0 {
            self.new_arena()
        } else {
            self.buckets[usable.trailing_zeros() as usize]
        };
        self.unlink(i);
        let a = self.arena(i);
        debug_assert!(a.free != 0 && a.nfree == a.free.count_ones());
        let index = a.free.trailing_zeros();
        a.free &= !(1 << index);
        // SAFETY: index < POOLS_PER_ARENA (the arena has a free pool), so the
        // pool is inside the arena.
        let pool =
            unsafe { NonNull::new_unchecked(a.base.as_ptr().add(index as usize * POOL_SIZE)) };
        a.nfree -= 1;
        a.emptied_at = None;
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
        let index = (pool.as_ptr().addr() - a.base.as_ptr().addr()) / POOL_SIZE;
        debug_assert!(a.free & (1 << index) == 0, "gengc: pool given back twice");
        a.free |= 1 << index;
        a.nfree += 1;
        debug_assert_eq!(a.nfree, a.free.count_ones());
        if a.nfree < POOLS_PER_ARENA {
            self.link(arena);
            return;
        }
        // A new spare. It goes to the head of the spare bucket: the spare
        // kept for good is always the most recently emptied one.
        let now = Instant::now();
        self.arena(arena).emptied_at = Some(now);
        let previous = self.buckets[POOLS_PER_ARENA as usize];
        self.link(arena);
        if previous != NONE && self.purge_at.is_none() {
            // The previous spare is no longer the one kept for good.
            let since = self.arena(previous).emptied_at.unwrap_or(now);
            self.purge_at = Some(since + self.decay);
        }
        if self.purge_at.is_some() {
            self.return_expired_spares();
        }
    }

    /// Returns to the system every spare that has been unused for
    /// [`SPARE_DECAY`], except the most recently emptied one.
    pub(crate) fn return_expired_spares(&mut self) {
        let Some(at) = self.purge_at else { return };
        let now = Instant::now();
        if now < at {
            return;
        }
        let head = self.buckets[POOLS_PER_ARENA as usize];
        let mut next_expiry: Option<Instant> = None;
        let mut i = if head == NONE {
            NONE
        } else {
            self.arena(head).next
        };
        while i != NONE {
            let (next, emptied_at) = {
                let a = self.arena(i);
                (a.next, a.emptied_at)
            };
            match emptied_at {
                Some(t) if now.duration_since(t) < self.decay => {
                    let expiry = t + self.decay;
                    next_expiry = Some(next_expiry.map_or(expiry, |e| e.min(expiry)));
                }
                _ => {
                    self.unlink(i);
                    self.free_arena(i);
                }
            }
            i = next;
        }
        self.purge_at = next_expiry;
    }

    /// Spares: arenas with every pool free, still held from the system.
    pub(crate) fn spare_count(&self) -> usize {
        let mut n = 0;
        let mut i = self.buckets[POOLS_PER_ARENA as usize];
        while i != NONE {
            n += 1;
            i = self.arenas[i as usize].as_ref().expect("live arena").next;
        }
        n
    }

    fn new_arena(&mut self) -> u32 {
        let layout = arena_layout();
        // SAFETY: the layout has non-zero size.
        let base =
            NonNull::new(unsafe { alloc(layout) }).unwrap_or_else(|| handle_alloc_error(layout));
        let arena = Arena {
            base,
            free: u64::MAX,
            nfree: POOLS_PER_ARENA,
            prev: NONE,
            next: NONE,
            emptied_at: None,
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
        self.purge_at = None;
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
        self.purge_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lets every spare but the newest expire.
    fn expire(set: &mut ArenaSet) {
        std::thread::sleep(set.decay + Duration::from_millis(20));
        set.return_expired_spares();
    }

    #[test]
    fn fullest_arena_first_and_spares_decay() {
        let n = POOLS_PER_ARENA as usize;
        let mut set = ArenaSet::new();
        set.decay = Duration::from_millis(50);
        let mut a: Vec<_> = (0..n).map(|_| set.take_pool()).collect();
        let mut b: Vec<_> = (0..n).map(|_| set.take_pool()).collect();
        let c = set.take_pool();
        assert_eq!(set.arena_count(), 3);
        // Emptying the first arena keeps it as the spare.
        for (p, i) in a.drain(..) {
            // SAFETY: each pool came from this set's take_pool, given back once.
            unsafe { set.give_pool(p.cast(), i) };
        }
        assert_eq!((set.arena_count(), set.spare_count()), (3, 1));
        // With B half free and C almost empty, B is the fullest usable arena.
        for (p, i) in b.drain(..n / 2) {
            // SAFETY: each pool came from this set's take_pool, given back once.
            unsafe { set.give_pool(p.cast(), i) };
        }
        let (p, i) = set.take_pool();
        assert_eq!(i, b[0].1);
        b.push((p, i));
        // Emptying B makes a second spare; both stay until the decay.
        for (p, i) in b.drain(..) {
            // SAFETY: each pool came from this set's take_pool, given back once.
            unsafe { set.give_pool(p.cast(), i) };
        }
        assert_eq!((set.arena_count(), set.spare_count()), (3, 2));
        // Then the older spare (A) goes; B, the newest, is kept.
        expire(&mut set);
        assert_eq!((set.arena_count(), set.spare_count()), (2, 1));
        // Emptying C makes B, long unused, an ordinary spare: it goes at once.
        // SAFETY: as above.
        unsafe { set.give_pool(c.0.cast(), c.1) };
        assert_eq!((set.arena_count(), set.spare_count()), (1, 1));
        // SAFETY: no pool of the set is used afterwards.
        unsafe { set.release_all() };
        assert_eq!(set.arena_count(), 0);
    }

    #[test]
    fn pools_are_reused_lowest_first_whatever_order_they_came_back_in() {
        let mut set = ArenaSet::new();
        let first: Vec<_> = (0..10).map(|_| set.take_pool()).collect();
        let addrs = |pools: &[(NonNull<u8>, u32)]| -> Vec<usize> {
            pools.iter().map(|(p, _)| p.as_ptr().addr()).collect()
        };
        let a = addrs(&first);
        assert!(a.windows(2).all(|w| w[1] == w[0] + POOL_SIZE));
        // Given back in the order they were taken (as the post-order drop
        // of a tree built in them does), one pool kept so the arena stays
        // in use: last-freed-first reuse would hand them out backwards.
        for &(p, i) in &first[1..] {
            // SAFETY: each pool came from this set's take_pool, given back once.
            unsafe { set.give_pool(p.cast(), i) };
        }
        let again: Vec<_> = (0..9).map(|_| set.take_pool()).collect();
        assert_eq!(addrs(&again), a[1..]);
        // SAFETY: no pool of the set is used afterwards.
        unsafe { set.release_all() };
    }

    #[test]
    fn a_reused_spare_does_not_expire() {
        let n = POOLS_PER_ARENA as usize;
        let mut set = ArenaSet::new();
        set.decay = Duration::from_millis(50);
        let a: Vec<_> = (0..2 * n).map(|_| set.take_pool()).collect();
        for &(p, i) in &a {
            // SAFETY: each pool came from this set's take_pool, given back once.
            unsafe { set.give_pool(p.cast(), i) };
        }
        assert_eq!((set.arena_count(), set.spare_count()), (2, 2));
        // Refill both before the decay: neither is returned afterwards.
        let a: Vec<_> = (0..2 * n).map(|_| set.take_pool()).collect();
        assert_eq!((set.arena_count(), set.spare_count()), (2, 0));
        expire(&mut set);
        assert_eq!(set.arena_count(), 2);
        for (p, i) in a {
            // SAFETY: each pool came from this set's take_pool, given back once.
            unsafe { set.give_pool(p.cast(), i) };
        }
        expire(&mut set);
        assert_eq!((set.arena_count(), set.spare_count()), (1, 1));
        // SAFETY: no pool of the set is used afterwards.
        unsafe { set.release_all() };
    }
}
