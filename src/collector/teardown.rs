//! Tearing the garbage down, PEP 442 style.
//!
//! When this runs, detection is over and every generation list is consistent;
//! the garbage objects are out of the generations and known only to the
//! `garbage` vector here. From now on user code runs (finalizers,
//! destructors), and may allocate, drop, or even call `collect()` (which
//! returns 0: no collection inside a collection).
//!
//! 1. **Hold** every garbage object (+1 strong) so that nothing a finalizer
//!    or destructor does can free one of them under us, and mark it
//!    condemned: `Weak::upgrade` fails from now on. Detection's last step
//!    (`split`) does this as it finds each object unreachable, with
//!    [`hold_and_condemn`], so the garbage is not walked once more for it.
//! 2. **Finalize**: each object's finalizer runs once (sticky FINALIZED bit),
//!    while every object of the garbage is still intact.
//! 3. **Resurrection check**: if any finalizer ran, detection runs again on
//!    the garbage alone (counting our hold as outside). An object a finalizer
//!    made reachable again, and everything it reaches, goes back to the old
//!    generation untouched.
//! 4. **Drop** every remaining value in place. A `Gc` inside a value only
//!    decrements its target, which our hold keeps above zero.
//! 5. **Release** the holds: each count falls to zero and the block is freed
//!    (or kept for the `Weak`s that still point at it).
//!
//! A panic from a finalizer or destructor is caught, the teardown finishes,
//! and the first panic is resumed once the collector's state is restored.

use super::detect::{add_strong, external_refs, trace_reachable};
use super::visit::{gc_refs_slot, is_reachable, Mode, Visitor, COUNT_BASE, REACHABLE};
use super::{ClearSetOnUnwind, Collector, OLD};
use crate::any::AnyGc;
use crate::heap::header::{Death, Header, FLAG_CONDEMNED, FLAG_DROPPED, FLAG_FINALIZED};
use crate::heap::object::ObjRef;
use crate::heap::pool::FreeRun;
use crate::heap::registry::TypeChain;
use crate::heap::{self, release_strong_erased};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(super) type Panic = Box<dyn Any + Send + 'static>;

/// Runs `f`, keeping the first panic in `slot`.
pub(super) fn catching(slot: &mut Option<Panic>, f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        slot.get_or_insert(p);
    }
}

/// Whether the garbage object of header `h` still has its finalizer to
/// run. Runs no user code: whether the type has a finalizer is read from
/// the header's death kind (`Death::General` exactly when it has, for every
/// object of a heap; only a heapless large object, never tracked and so
/// never garbage, is `General` without one), not asked of the type's
/// `Trace` impl. Step 1 and step 2 ask the same question this way.
#[inline(always)]
pub(super) fn finalizer_due(h: &Header) -> bool {
    !h.has_flag(FLAG_FINALIZED) && h.death() == Death::General
}

/// Step 1 for one garbage object: holds it and condemns it. Whether its
/// finalizer is due is [`finalizer_due`] (asked only of types that have
/// one: step 2 is skipped when no object's is). Runs no user code.
///
/// # Safety
/// `obj` must be alive (detection found it with a positive strong count)
/// and unreachable, and no user code may run before [`Collector::teardown`]
/// takes it.
#[inline(always)]
pub(super) unsafe fn hold_and_condemn(obj: ObjRef) {
    // SAFETY: forwarded to the caller.
    unsafe {
        let h = obj.header();
        // Unwatched: the drops of the garbage's edges to each other need no
        // note.
        h.hold();
        h.set_flag(FLAG_CONDEMNED);
    }
}

impl Collector {
    /// Tears `garbage` down; returns how many objects were freed (or saved
    /// by `SAVE_ALL`).
    ///
    /// # Safety
    /// Every object of `garbage` must be a distinct, untracked object that
    /// detection found unreachable, held and condemned by
    /// [`hold_and_condemn`] with no user code run since, and
    /// `finalizers_due` true if [`finalizer_due`] holds for any of them.
    pub(super) unsafe fn teardown(
        &self,
        garbage: Vec<ObjRef>,
        finalizers_due: bool,
        panic: &mut Option<Panic>,
    ) -> usize {
        if garbage.is_empty() {
            return 0;
        }
        if self
            .debug
            .get()
            .contains(super::control::DebugFlags::SAVE_ALL)
        {
            let n = garbage.len();
            let mut saved = self.garbage.borrow_mut();
            for obj in garbage {
                // SAFETY: held and untracked; the hold becomes the AnyGc's.
                unsafe {
                    self.retrack(obj, OLD);
                    saved.push(AnyGc::from_held(obj));
                }
            }
            return n;
        }
        // 2. Finalize.
        let mut finalized_any = false;
        if finalizers_due {
            for &obj in &garbage {
                // SAFETY: held, so alive; the value is intact.
                unsafe {
                    let h = obj.header();
                    if finalizer_due(h) {
                        h.set_flag(FLAG_FINALIZED);
                        finalized_any = true;
                        catching(panic, || obj.finalize());
                    }
                }
            }
        }
        // 3. Resurrection (only user code can resurrect).
        let garbage = if finalized_any {
            self.drop_resurrected(garbage, panic)
        } else {
            garbage
        };
        // 4. Drop the values, under one `catch_unwind` for the whole run,
        // resumed after the object whose destructor panicked.
        let mut next = 0;
        while next < garbage.len() {
            catching(panic, || {
                while let Some(&obj) = garbage.get(next) {
                    next += 1;
                    // SAFETY: held, values intact; DROPPED is set first so
                    // that no later path drops a value twice, even if this
                    // one panics.
                    unsafe {
                        obj.header().set_flag(FLAG_FINALIZED | FLAG_DROPPED);
                        obj.drop_value();
                    }
                }
            });
        }
        // 5. Release the holds. No user code runs here, so the blocks of
        // each pool (the garbage comes pool by pool) go back in one run.
        let n = garbage.len();
        let mut run = FreeRun::new();
        for obj in garbage {
            // SAFETY: the value is gone; the hold is ours to release. If a
            // destructor smuggled out a handle (breaking the Trace contract),
            // the count stays above zero and the block lives on; DROPPED
            // stops that handle's last drop from dropping the value again.
            // A freed block is out of its generation (see `split`).
            unsafe {
                let h = obj.header();
                if h.release_hold() && h.dec_weak() == 0 {
                    if obj.is_large() {
                        heap::free_block(obj);
                    } else {
                        let pool = obj.pool();
                        if run.pool().is_some_and(|p| p != pool) {
                            // The run's blocks, all of its own pool, were
                            // freed above under the same conditions.
                            TypeChain::free_run(&mut run);
                        }
                        run.push(pool, obj.header_ptr().cast());
                    }
                }
            }
        }
        // SAFETY: as above, for the last run (if any).
        unsafe { TypeChain::free_run(&mut run) };
        n
    }

    /// Step 3: detection again, on the garbage alone. Returns what is still
    /// garbage; what was resurrected goes back to the old generation.
    fn drop_resurrected(&self, garbage: Vec<ObjRef>, panic: &mut Option<Panic>) -> Vec<ObjRef> {
        let mut guard = ClearSetOnUnwind {
            collector: self,
            armed: true,
        };
        let detected = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: held objects are alive; runs only `Trace` impls.
            unsafe {
                for &obj in &garbage {
                    if obj.is_large() {
                        let l = obj.large();
                        (*l.as_ptr()).gc_refs = COUNT_BASE;
                        self.scratch().set_large.push(l);
                    } else {
                        let pool = obj.pool();
                        let scratch = self.enter_set(pool);
                        let i = crate::heap::pool::Pool::index_of(
                            pool,
                            obj.header_ptr().as_ptr().cast(),
                        );
                        *scratch.add(i as usize) = COUNT_BASE;
                    }
                }
                let mut visitor = Visitor::new(Mode::Count);
                for &obj in &garbage {
                    // Our hold is not a reference from outside.
                    add_strong(obj, gc_refs_slot(obj).expect("garbage in set"), 1);
                    obj.trace(&mut visitor);
                }
                let mut visitor = Visitor::new(Mode::Mark);
                for &obj in &garbage {
                    if external_refs(obj) > 0 {
                        *gc_refs_slot(obj).expect("garbage in set") = REACHABLE;
                        let (vtable, meta) = obj.vtable();
                        trace_reachable(obj, vtable, meta, &mut visitor);
                    }
                }
                garbage.iter().copied().partition::<Vec<_>, _>(|&obj| {
                    gc_refs_slot(obj).is_some_and(|s| is_reachable(*s))
                })
            }
        }));
        guard.armed = false;
        // SAFETY: the held objects (and so their pools) are alive.
        unsafe { self.clear_set() };
        let (resurrected, still_garbage) = match detected {
            Ok(split) => split,
            Err(p) => {
                // A Trace impl panicked: keep everything; a later collection
                // will find what is still garbage.
                panic.get_or_insert(p);
                (garbage, Vec::new())
            }
        };
        for obj in resurrected {
            // SAFETY: the object is alive and untracked; releasing our hold
            // cannot free it (it is referenced from outside the garbage), but
            // if it did, that is an ordinary death.
            unsafe {
                self.retrack(obj, OLD);
                release_strong_erased(obj);
            }
        }
        still_garbage
    }
}
