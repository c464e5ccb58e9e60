//! Settling: taking objects that can never be part of a cycle out of the
//! generations, as CPython untracks tuples (`_PyTuple_MaybeUntrack`).
//!
//! An object whose type has fixed edges (`Trace::has_fixed_edges`: no cell
//! around any `Gc` it owns) and whose targets are all untracked cannot be on
//! a cycle: no cycle passes through an untracked object, and only a `&mut`
//! could give it a new edge — which `Gc::get_mut` answers by tracking it
//! again (`FLAG_SETTLED`). Such an object leaves the generations for good;
//! later collections never read it, and it dies by reference counting.
//!
//! It does not matter whether the object is reachable: if it is garbage,
//! only because a garbage cycle references it, and the teardown of that
//! cycle frees it by reference counting. So settling runs right after
//! `gather`, before anything is counted: a settled object costs the rest of
//! the collection nothing. Blocks are visited in address order, so a
//! structure built bottom-up (children first: trees, cons lists) settles in
//! one pass; the rest settles in a later collection.
//!
//! Only young and middle objects are tried. An object that reaches the old
//! generation still tracked points at something tracked, and usually keeps
//! doing so; trying it again in every full collection would trace it twice
//! there (20 % more per full collection of a heap of such objects).

use super::teardown::Panic;
use super::visit::{gc_refs_slot, Mode, Visitor};
use super::{Collector, OLD};
use crate::heap::header::FLAG_SETTLED;
use crate::heap::large::{LargeHeader, NOT_IN_SET};
use crate::heap::object::ObjRef;
use crate::heap::pool::Pool;
use crate::heap::vtable::VTable;
use crate::trace::Tracer;
use std::panic::{catch_unwind, AssertUnwindSafe};

impl Collector {
    /// Settles what it can of the young and middle objects of the gathered
    /// set: each settled object leaves its generation bitmap (or large list)
    /// and the set. A panic from a
    /// `Trace` impl is kept in `panic`; the object stays in the set.
    ///
    /// # Safety
    /// The set must be gathered, and nothing counted yet; runs no user code
    /// but `Trace` impls.
    pub(super) unsafe fn settle(&self, panic: &mut Option<Panic>) {
        let mut visitor = Visitor::new(Mode::Settle);
        // SAFETY: forwarded to the caller; set pools are live tracked pools
        // with `set_gens` generation bitmaps of `words` words, and set
        // members are alive.
        unsafe {
            let s = self.scratch();
            let gens = s.set_gens.min(OLD);
            for &pool in &s.set_pools {
                let vtable = (*pool.as_ptr()).vtable;
                if !(vtable.fixed_edges)() {
                    continue;
                }
                let scratch = (*pool.as_ptr()).scratch;
                let words = (*pool.as_ptr()).geometry.words as usize;
                let blocks = Pool::block_layout(pool);
                for w in 0..words {
                    let mut word = 0;
                    for gen in 0..gens {
                        word |= *Pool::gen_bitmap(pool, gen).add(w);
                    }
                    while word != 0 {
                        let bit = word.trailing_zeros();
                        word &= word - 1;
                        let i = (w * 64) as u32 + bit;
                        let obj = ObjRef::new(blocks.block(i).cast(), false);
                        if settles(obj, vtable, 0, &mut visitor, panic) {
                            // Out of its generation (whichever it is) and
                            // out of the set: later targets that reach it
                            // see it untracked.
                            for gen in 0..gens {
                                *Pool::gen_bitmap(pool, gen).add(w) &= !(1 << bit);
                            }
                            *scratch.add(i as usize) = NOT_IN_SET;
                        }
                    }
                }
            }
            for &l in &s.set_large {
                if usize::from((*l.as_ptr()).generation) >= OLD {
                    continue;
                }
                let (vtable, meta) = ((*l.as_ptr()).vtable, (*l.as_ptr()).meta);
                let obj = ObjRef::new(LargeHeader::object(l), true);
                if (vtable.fixed_edges)() && settles(obj, vtable, meta, &mut visitor, panic) {
                    let g = (*l.as_ptr()).generation as usize;
                    self.large_list(g).remove(l);
                    (*l.as_ptr()).gc_refs = NOT_IN_SET;
                }
            }
        }
    }
}

/// Whether the set member `obj`, of a type with fixed edges, settles: it is
/// not lent out (its value can be read) and its trace finds no tracked
/// target. Marks it settled in its header if so.
///
/// # Safety
/// `obj` must be a live member of the gathered set; `vtable` and `meta` its
/// own.
unsafe fn settles(
    obj: ObjRef,
    vtable: &VTable,
    meta: usize,
    visitor: &mut Visitor,
    panic: &mut Option<Panic>,
) -> bool {
    // SAFETY: forwarded to the caller.
    let header = unsafe { obj.header() };
    if header.may_be_lent() {
        return false;
    }
    visitor.tracked_edge = false;
    // SAFETY: the value is alive and not lent; its targets are alive.
    let traced = catch_unwind(AssertUnwindSafe(|| unsafe {
        (vtable.trace)(
            obj.header_ptr(),
            meta,
            &mut Tracer {
                visitor: &mut *visitor,
            },
        )
    }));
    match traced {
        Ok(()) if !visitor.tracked_edge => {
            header.set_flag(FLAG_SETTLED);
            true
        }
        Ok(()) => false,
        Err(p) => {
            panic.get_or_insert(p);
            false
        }
    }
}

/// Whether `obj`, the target of an edge from a set member being settled, is
/// tracked: a member of the set (settled ones have left it), or in one of
/// the generations outside it (or frozen).
///
/// # Safety
/// `obj` must be alive.
pub(super) unsafe fn is_tracked_target(obj: ObjRef) -> bool {
    // SAFETY: forwarded to the caller.
    gc_refs_slot(obj).is_some() || unsafe { super::generation_of(obj).is_some() }
}
