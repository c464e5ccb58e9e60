//! Finding the unreachable objects of a set, CPython's way.
//!
//! The set S is one or more generations. An object of S may be referenced
//! from inside S (by another object of S) or from outside (a `Gc` on the
//! stack, in an untracked value, in an older generation). Only the first
//! kind can be enumerated — by tracing the objects of S — but the strong
//! count covers both. So:
//!
//! 1. **gather**: `gc_refs[o] = strong(o)` for every o in S, in scratch
//!    memory (one `u32` per block of each pool involved, from a bump arena),
//!    never in the live count;
//! 2. **subtract**: trace every o in S; each edge to a target in S takes one
//!    off the target's `gc_refs`. What remains above zero is the number of
//!    references from outside S;
//! 3. **mark**: every o with `gc_refs > 0` is reachable, and so is everything
//!    it reaches inside S. An explicit stack does the walk: no recursion, so
//!    a million-long cyclic list is as safe as a short one;
//! 4. **split**: what is not marked is unreachable garbage; the rest
//!    survives and moves up one generation, a word of bitmap at a time.
//!
//! No user code runs during these steps except `Trace` impls, whose contract
//! forbids side effects; so the whole heap is in a consistent state when the
//! steps end, before teardown runs finalizers and destructors.
//!
//! `Gc::get_mut` and `Gc::make_mut` lend out a `&mut T`, which the collector
//! must not read through. Such objects carry `FLAG_MUT_LENT`; step 2 skips
//! them at first. If, once every other object is subtracted, a lent object's
//! `gc_refs` is zero, every strong reference to it sits inside a value the
//! collector just read through a shared borrow — so no `&mut` to it can be
//! live, and it is traced after all (its flag cleared). Otherwise it is
//! referenced from outside, hence reachable, and is not traced: its targets
//! keep the reference it holds in their count and so survive too. (The flag
//! is dropped as soon as the object's counts show another handle was made:
//! making one needs the handle the `&mut` borrows, so the borrow is over.)
//!
//! One shape stays out of reach: objects whose *only* handles were moved,
//! never cloned, into each other's values through such `&mut`s form a cycle
//! the collector cannot prove unborrowed; it is freed once any of them is
//! cloned or downgraded, or leaks. Building cycles through `get_mut` alone
//! is unusual; cloning a handle into place (the common way) is unaffected.

use super::visit::{gc_refs_slot, Mode, Visitor, REACHABLE};
use super::{Collector, GENERATIONS, OLD};
use crate::heap::header::FLAG_MUT_LENT;
use crate::heap::large::{LargeHeader, NOT_IN_SET};
use crate::heap::object::ObjRef;
use crate::heap::pool::{Pool, NOT_LISTED};
use crate::trace::Tracer;
use std::ptr::NonNull;

impl Collector {
    /// Gives `pool` a scratch `gc_refs` array (all `NOT_IN_SET`) if it has
    /// none, and records it in the set.
    ///
    /// # Safety
    /// `pool` must be live; runs no user code.
    pub(super) unsafe fn enter_set(&self, pool: NonNull<Pool>) -> *mut u32 {
        // SAFETY: forwarded to the caller.
        unsafe {
            let p = pool.as_ptr();
            if (*p).scratch.is_null() {
                let s = self.scratch();
                let cap = (*p).geometry.capacity as usize;
                let slots = s.bump.alloc_slice_fill_copy(cap, NOT_IN_SET);
                (*p).scratch = slots.as_mut_ptr();
                s.set_pools.push(pool);
            }
            (*p).scratch
        }
    }

    /// Step 1 for generations `0..=g`.
    ///
    /// # Safety
    /// No collection is in progress; runs no user code.
    pub(super) unsafe fn gather(&self, g: usize) {
        // SAFETY: forwarded to the caller; listed pools are live.
        unsafe {
            for gen in 0..=g {
                for &pool in self.pool_list(gen).iter() {
                    let scratch = self.enter_set(pool);
                    Pool::for_each_set(pool, Pool::gen_bitmap(pool, gen), |i| {
                        let strong = (*Pool::block(pool, i)
                            .cast::<crate::heap::header::Header>()
                            .as_ptr())
                        .strong();
                        debug_assert!(strong > 0, "gengc: tracked object with no strong reference");
                        *scratch.add(i as usize) = strong;
                    });
                }
                let s = self.scratch();
                self.large_list(gen).for_each(|l| {
                    (*l.as_ptr()).gc_refs = (*LargeHeader::object(l).as_ptr()).strong();
                    s.set_large.push(l);
                });
            }
        }
    }

    /// Calls `f` on every object of the set (blocks of set pools whose slot
    /// is in use, then set large objects).
    ///
    /// # Safety
    /// The set must be gathered and its pools live.
    unsafe fn for_each_in_set(&self, mut f: impl FnMut(ObjRef)) {
        // SAFETY: forwarded to the caller; scratch has `capacity` slots.
        unsafe {
            let s = self.scratch();
            for &pool in &s.set_pools {
                let scratch = (*pool.as_ptr()).scratch;
                let bump = (*pool.as_ptr()).geometry.capacity as usize;
                for i in 0..bump {
                    if *scratch.add(i) != NOT_IN_SET {
                        f(ObjRef::new(Pool::block(pool, i as u32).cast(), false));
                    }
                }
            }
            for &l in &s.set_large {
                f(ObjRef::new(LargeHeader::object(l), true));
            }
        }
    }

    /// Step 2, with the lent-object rule described in the module docs.
    ///
    /// # Safety
    /// The set must be gathered.
    pub(super) unsafe fn subtract(&self) {
        let mut visitor = Visitor::new(Mode::Subtract);
        // SAFETY: forwarded to the caller; objects in the set are alive and,
        // unless lent, readable through a shared borrow.
        unsafe {
            let mut lent = std::mem::take(&mut self.scratch().lent);
            self.for_each_in_set(|obj| {
                let h = obj.header();
                if h.may_be_lent() {
                    lent.push(obj);
                } else {
                    h.end_mut_lend();
                    obj.trace(&mut Tracer {
                        visitor: &mut visitor,
                    });
                }
            });
            loop {
                let before = lent.len();
                lent.retain(|&obj| {
                    let fully_internal = gc_refs_slot(obj).is_some_and(|slot| *slot == 0);
                    if fully_internal {
                        obj.header().clear_flag(FLAG_MUT_LENT);
                        obj.trace(&mut Tracer {
                            visitor: &mut visitor,
                        });
                    }
                    !fully_internal
                });
                if lent.len() == before {
                    break;
                }
            }
            self.scratch().lent = lent;
        }
    }

    /// Step 3: mark everything reachable from the objects with outside
    /// references.
    ///
    /// # Safety
    /// `subtract` must have run on the set.
    pub(super) unsafe fn mark(&self) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let mut visitor = Visitor::new(Mode::Mark);
            visitor.stack = std::mem::take(&mut self.scratch().stack);
            self.for_each_in_set(|obj| {
                let slot = gc_refs_slot(obj).expect("object in set");
                if *slot > 0 && *slot < REACHABLE {
                    *slot = REACHABLE;
                    visitor.stack.push(obj);
                    while let Some(o) = visitor.stack.pop() {
                        // A lent object that is still lent is reachable but
                        // unreadable; its targets are roots of their own.
                        if !o.header().has_flag(FLAG_MUT_LENT) {
                            o.trace(&mut Tracer {
                                visitor: &mut visitor,
                            });
                        }
                    }
                }
            });
            self.scratch().stack = visitor.stack;
        }
    }

    /// Step 4 for a collection of generations `0..=g`: survivors move to
    /// generation `dest`; the unreachable objects leave the generations and
    /// are returned. Returns the number of survivors.
    ///
    /// # Safety
    /// `mark` must have run; runs no user code.
    pub(super) unsafe fn split(
        &self,
        g: usize,
        dest: usize,
        unreachable: &mut Vec<ObjRef>,
    ) -> usize {
        let mut survivors_total = 0;
        // SAFETY: forwarded to the caller; set pools are live and tracked.
        unsafe {
            // Every pool of the collected generations is in the set, so their
            // lists are rebuilt from scratch below.
            for gen in 0..=g {
                for pool in self.pool_list(gen).drain(..) {
                    (*pool.as_ptr()).gen_slot[gen] = NOT_LISTED;
                }
            }
            let s = self.scratch();
            for &pool in &s.set_pools {
                let scratch = (*pool.as_ptr()).scratch;
                let words = (*pool.as_ptr()).geometry.words as usize;
                let mut pool_survivors = 0;
                for gen in 0..=g {
                    let bits = Pool::gen_bitmap(pool, gen);
                    let dest_bits = Pool::gen_bitmap(pool, dest);
                    for w in 0..words {
                        let mut word = *bits.add(w);
                        let mut survivors = 0u64;
                        while word != 0 {
                            let bit = word.trailing_zeros();
                            word &= word - 1;
                            let i = (w * 64) as u32 + bit;
                            if *scratch.add(i as usize) == REACHABLE {
                                survivors |= 1 << bit;
                            } else {
                                unreachable.push(ObjRef::new(Pool::block(pool, i).cast(), false));
                            }
                        }
                        let moved = (*bits.add(w)).count_ones() as usize;
                        self.tracked[gen].set(self.tracked[gen].get() - moved);
                        *bits.add(w) = 0;
                        *dest_bits.add(w) |= survivors;
                        let n = survivors.count_ones() as usize;
                        self.tracked[dest].set(self.tracked[dest].get() + n);
                        pool_survivors += n;
                    }
                }
                survivors_total += pool_survivors;
                if pool_survivors > 0 {
                    self.list_pool(dest, pool);
                }
            }
            for gen in 0..=g {
                let mut cur = self.large_list(gen).head;
                while let Some(l) = NonNull::new(cur) {
                    cur = (*l.as_ptr()).next;
                    self.large_list(gen).remove(l);
                    self.tracked[gen].set(self.tracked[gen].get() - 1);
                    if (*l.as_ptr()).gc_refs == REACHABLE {
                        self.large_list(dest).push(l, dest as u8);
                        self.tracked[dest].set(self.tracked[dest].get() + 1);
                        survivors_total += 1;
                    } else {
                        unreachable.push(ObjRef::new(LargeHeader::object(l), true));
                    }
                }
            }
        }
        debug_assert!(dest < GENERATIONS && g <= OLD);
        survivors_total
    }
}
