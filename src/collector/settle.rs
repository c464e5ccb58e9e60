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
use crate::heap::large::NOT_IN_SET;
use crate::heap::object::ObjRef;
use crate::heap::pool::{clear_bit, Pool};
use crate::heap::vtable::VTable;
use crate::trace::Tracer;
use std::panic::{catch_unwind, AssertUnwindSafe};

impl Collector {
    /// Settles what it can of the young and middle objects of the gathered
    /// set: each settled object leaves its generation bitmap (or large list)
    /// and the set. A panic from a `Trace` impl is kept in `panic`; the
    /// object stays in the set.
    ///
    /// # Safety
    /// The set must be gathered, and nothing counted yet; runs no user code
    /// but `Trace` impls.
    pub(super) unsafe fn settle(&self, panic: &mut Option<Panic>) {
        let mut visitor = Visitor::new(Mode::Settle);
        // SAFETY: forwarded to the caller; set members are alive, and each
        // settled one leaves only its own generation.
        unsafe {
            let gens = self.scratch().set_gens.min(OLD);
            self.for_each_in_set_where(
                gens,
                |vtable| (vtable.fixed_edges)(),
                |obj, vtable, meta, slot| {
                    if !settles(obj, vtable, meta, &mut visitor, panic) {
                        return;
                    }
                    // Out of the set (later objects that reach it see it
                    // untracked) and out of its generation.
                    *slot = NOT_IN_SET;
                    if obj.is_large() {
                        let l = obj.large();
                        self.large_list(usize::from((*l.as_ptr()).generation))
                            .remove(l);
                    } else {
                        // A pool's slots are indexed like its blocks.
                        let pool = obj.pool();
                        let index = slot.offset_from((*pool.as_ptr()).scratch) as u32;
                        for gen in 0..gens {
                            clear_bit(Pool::gen_bitmap(pool, gen), index);
                        }
                    }
                },
            );
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
