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
use super::visit::{Mode, Visitor};
use super::{Collector, OLD};
use crate::heap::header::{Death, FLAG_SETTLED};
use crate::heap::large::{NOT_IN_SET, UNTRACKED};
use crate::heap::object::ObjRef;
use crate::heap::pool::{clear_bit, Pool};
use crate::heap::vtable::VTable;
use crate::trace::{Trace, Tracer};
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

    /// Whether `value`, about to become an object of a tracked type with
    /// fixed edges, can be born settled: none of its targets is tracked.
    /// CPython creates a dict of untracked values untracked in the same way
    /// (`MAINTAIN_TRACKING`). A tree or list built bottom-up then never
    /// enters the generations at all: no young collection counts it, and
    /// none is triggered by its allocations.
    ///
    /// A `Trace` impl that panics here panics out of `Gc::new`, before any
    /// block is taken: the value is dropped and the heap is untouched.
    #[inline(always)]
    pub(crate) fn born_settled<T: Trace>(&self, value: &T) -> bool {
        // While a collection runs, its garbage has left the generations
        // (a large object then reads as untracked) and a finalizer may
        // resurrect it: an object born settled pointing at it would hold a
        // tracked object, which is never unsafe (settled objects only ever
        // look like references from outside) but can leak a cycle. Objects
        // born in finalizers and `Drop`s are rare: they start young.
        if self.collecting.get() {
            return false;
        }
        let mut visitor = Visitor::new(Mode::Settle);
        // SAFETY: the visitor was just made in `Mode::Settle`.
        value.trace(&mut unsafe { Tracer::in_mode(&mut visitor, Mode::Settle) });
        !visitor.tracked_edge
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
    // A lent value cannot be read; a dying one (strong count zero, still in
    // its generation while its value is dropped) must not be.
    if header.may_be_lent() || header.strong() == 0 {
        return false;
    }
    visitor.tracked_edge = false;
    // SAFETY: the value is alive and not lent; its targets are alive.
    let traced = catch_unwind(AssertUnwindSafe(|| unsafe {
        vtable.trace_for(obj.header_ptr(), meta, visitor)
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

/// Whether `obj`, the target of an edge from an object being settled (or
/// born), is tracked: in a generation, frozen, or in the set being collected
/// (whose members stay in their generations until counted).
///
/// A large object records its generation. A pooled one of a tracked type is
/// taken for tracked unless its header says settled. The other pooled
/// objects in no generation are either unreachable through a `Gc` (dying
/// ones, blocks whose value was moved out and that only `Weak`s keep,
/// `new_cyclic`'s object before its value exists) or garbage of a running
/// collection (and zombies a `Drop` smuggled out of one), which reading as
/// tracked only keeps a referrer tracked. Reading the object's header
/// instead of the generation bitmaps spares the multiply that finds a
/// block's index and the bitmap search; its death kind says whether its
/// type is tracked, which spares the read of its pool header too (a cache
/// miss per edge when building a big structure bottom-up: see
/// `header::Death`), except for types with a finalizer, whose kind does not
/// say.
///
/// # Safety
/// `obj` must be alive.
#[inline(always)]
pub(super) unsafe fn is_tracked_target(obj: ObjRef) -> bool {
    // SAFETY: forwarded to the caller; pool and large headers outlive their
    // allocated blocks.
    unsafe {
        if obj.is_large() {
            return (*obj.large().as_ptr()).generation != UNTRACKED;
        }
        let header = obj.header();
        let tracked_type = match header.death() {
            Death::Tracked => true,
            Death::Plain | Death::Acyclic => false,
            Death::General => (*obj.pool().as_ptr()).tracked,
        };
        tracked_type && !header.has_flag(FLAG_SETTLED)
    }
}
