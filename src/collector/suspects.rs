//! Suspects: the old objects a full collection starts from.
//!
//! CPython's full collection reads every tracked object, live or not, so
//! building a big structure costs a trace of all of it at every full
//! collection (the 25 % rule only spaces them out). Yet an object can only
//! turn into cyclic garbage when a reference to the group it belongs to
//! goes away, that is, when some member's strong count drops and the member
//! stays alive. A full collection here therefore starts from
//!
//! - the young and middle objects (read anyway),
//! - the *suspects*: old objects whose count dropped since the last full
//!   collection, or that entered the old generation since then by any way
//!   other than surviving a full collection (promotion from the middle
//!   generation, resurrection, unfreezing);
//!
//! and takes in every old object an edge of that set reaches, as counting
//! finds them (`Visitor::discover`). The set so grown is closed under
//! edges, and CPython's algorithm runs on it unchanged. Old objects no edge
//! of it reaches are never read: their slot says `UNDISCOVERED`, which
//! counts as reachable and outside the set.
//!
//! # Why nothing unreachable is missed
//!
//! The invariant, between collections: *every unreachable tracked object is
//! reached by a path from an unreachable object that is young, middle or a
//! suspect*.
//!
//! - When a drop of a count makes objects unreachable, the object whose
//!   count dropped is unreachable too (if it stayed alive) and reaches
//!   them. If it is old and watched, that drop notes it as a suspect
//!   (`Header::release_strong`); if it is unwatched, it is young, middle or
//!   already a suspect. (If its count reached zero, its value's drop drops
//!   the counts of what it held: the same argument, one step on.) Nothing
//!   else makes an object unreachable: a moved handle still counts, and an
//!   unreachable object's edges can no longer change.
//! - A young or middle collection frees unreachable objects, whose drops
//!   note what they held, and promotes survivors: those entering the old
//!   generation become suspects.
//! - A full collection's set holds every object such a path reaches, so it
//!   holds every unreachable object, and finds all of them (CPython's
//!   argument, for a set closed under edges from its unreachable members).
//!   So what survives it is reachable, and becomes *watched*: its header's
//!   unwatched bit is cleared as it is counted, and the suspects are
//!   forgotten. Two exceptions keep their objects from that proof: an
//!   object left lent, or a `RefCell` borrowed mutably, hides edges; then
//!   every survivor stays a suspect (see [`Collector::count_internal`]).
//!   An object left lent hides more: what only it leads to is never
//!   discovered, so a reference from there back to it (a cycle through
//!   it) would never be counted, and the lend never seen to be over. So a
//!   collection that leaves objects lent counts the whole old generation
//!   before it gives up on them, as a collection over everything would.
//!   (What only a borrowed `RefCell` leads to needs no such care: it is
//!   kept by this collection either way, being reached from the cell's
//!   targets, which count as referenced from outside.)
//!
//! Paths through untracked objects do not matter here: no cycle passes
//! through one, so what only they lead to is freed by reference counting
//! once they die, as in CPython. Nor do paths from frozen objects: no
//! collection reads a frozen object (an edge to one discovers nothing), so
//! what it references counts as referenced from outside, as in CPython,
//! until `unfreeze` makes every frozen object a suspect.
//!
//! # Costs
//!
//! - The release of a strong handle stays one test of the count word (see
//!   `Header::release_strong`). The first drop of a watched object's count
//!   after a full collection takes a slow path that sets a bitmap bit.
//! - A full collection reads nothing of an old pool that holds no suspect
//!   and that no edge of the set reaches: not its header, not its bitmaps
//!   (`gather` walks the list of pools with suspects, not the old list;
//!   the old generation's size comes from a running count). Such a pool
//!   joins the set's lazy pools when an edge first reaches one of its
//!   objects (`Visitor::count_edge_full`). So a collection's cost follows
//!   the young and middle objects, the suspects and what they lead to, not
//!   the size of the old generation (of which it reads only the list of
//!   pool addresses, to size the scratch map, and the large objects), and
//!   a big structure that only grows is read about once as a suspect, not
//!   at each full collection.

use super::{Collector, OLD};
use crate::heap::large::LargeHeader;
use crate::heap::pool::{set_bit, Pool, NOT_LISTED, SUSPECTS};
use std::ptr::NonNull;

impl Collector {
    /// Block `index` of `pool` is a suspect (its object may be of any
    /// generation: only old ones are read as suspects).
    ///
    /// # Safety
    /// `pool` must be a live tracked pool of this heap with a block
    /// `index`; runs no user code.
    pub(crate) unsafe fn note_suspect_pooled(&self, pool: NonNull<Pool>, index: u32) {
        // SAFETY: forwarded to the caller.
        unsafe {
            set_bit(Pool::gen_bitmap(pool, SUSPECTS), index);
            self.list_pool(SUSPECTS, pool);
        }
    }

    /// The objects of word `w` of `pool`'s bitmaps whose bits are set in
    /// `bits`, entering the old generation, become suspects.
    ///
    /// # Safety
    /// As for [`note_suspect_pooled`](Self::note_suspect_pooled), with a
    /// bitmap word `w`.
    #[inline(always)]
    pub(super) unsafe fn note_suspect_word(&self, pool: NonNull<Pool>, w: usize, bits: u64) {
        if bits == 0 {
            return;
        }
        // SAFETY: forwarded to the caller.
        unsafe {
            *Pool::gen_bitmap(pool, SUSPECTS).add(w) |= bits;
            self.list_pool(SUSPECTS, pool);
        }
    }

    /// A large object entering the old generation becomes a suspect.
    ///
    /// # Safety
    /// `large` must be a live large object.
    pub(super) unsafe fn note_suspect_large(&self, large: NonNull<LargeHeader>, g: usize) {
        if g == OLD {
            // SAFETY: forwarded to the caller.
            unsafe { (*large.as_ptr()).suspect = true };
        }
    }

    /// Forgets every pooled suspect: a full collection has read them (large
    /// objects' flags are cleared as `gather` reads them).
    ///
    /// # Safety
    /// Runs no user code; listed pools are live.
    pub(super) unsafe fn clear_suspects(&self) {
        // SAFETY: forwarded to the caller; a listed pool is tracked.
        unsafe {
            for pool in self.pool_list(SUSPECTS).drain(..) {
                (*pool.as_ptr()).gen_slot[SUSPECTS] = NOT_LISTED;
                let words = (*pool.as_ptr()).geometry.words as usize;
                std::slice::from_raw_parts_mut(Pool::gen_bitmap(pool, SUSPECTS), words).fill(0);
            }
        }
    }
}
