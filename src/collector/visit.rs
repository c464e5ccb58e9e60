//! The edge visitor behind [`Tracer`](crate::Tracer): what happens to each
//! `Gc` a value reports, in each phase of a collection.

use crate::heap::header::GcBox;
use crate::heap::large::NOT_IN_SET;
use crate::heap::object::{is_large_live, ObjRef};
use crate::heap::pool::Pool;
use std::ptr::NonNull;

/// Top bit of a scratch `gc_refs` slot: the object is known reachable.
/// Strong counts stay below it (see `MAX_STRONG`).
pub(crate) const REACHABLE: u32 = 1 << 31;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Count one more internal reference for every target inside the set.
    Count,
    /// Mark every target inside the set reachable and queue it.
    Mark,
    /// Record every target (introspection).
    Collect,
}

pub(crate) struct Visitor {
    pub(crate) mode: Mode,
    /// Objects queued by `Mark`, or every target seen by `Collect`.
    pub(crate) stack: Vec<ObjRef>,
}

impl Visitor {
    pub(crate) fn new(mode: Mode) -> Visitor {
        Visitor {
            mode,
            stack: Vec::new(),
        }
    }

    #[inline(always)]
    pub(crate) fn visit<T: ?Sized>(&mut self, target: NonNull<GcBox<T>>) {
        // SAFETY: a traced `Gc` keeps its target alive, and the collector
        // never traces through a `&mut` path (a `RefCell` borrowed mutably is
        // skipped, an object lent by `get_mut` is not read), so the target
        // is not mutably borrowed.
        let obj = ObjRef::new(target.cast(), unsafe { is_large_live(target) });
        match self.mode {
            Mode::Count => {
                if let Some(slot) = gc_refs_slot(obj) {
                    // SAFETY: the slot belongs to the set being collected. A
                    // count never reaches REACHABLE: it stays at or below
                    // the strong count (< 2^31) unless a Trace impl
                    // over-visits, which `external_refs` reports.
                    unsafe {
                        if *slot < REACHABLE - 1 {
                            *slot += 1;
                        }
                    }
                }
            }
            Mode::Mark => {
                if let Some(slot) = gc_refs_slot(obj) {
                    // SAFETY: as above.
                    unsafe {
                        if *slot < REACHABLE {
                            *slot = REACHABLE;
                            self.stack.push(obj);
                        }
                    }
                }
            }
            Mode::Collect => self.stack.push(obj),
        }
    }
}

/// The scratch `gc_refs` slot of `obj` if it is in the set being collected.
#[inline(always)]
pub(crate) fn gc_refs_slot(obj: ObjRef) -> Option<*mut u32> {
    // SAFETY: pool and large headers of allocated objects are readable; the
    // scratch array, when set, has one slot per block of the pool.
    unsafe {
        if obj.is_large() {
            let slot = std::ptr::addr_of_mut!((*obj.large().as_ptr()).gc_refs);
            (*slot != NOT_IN_SET).then_some(slot)
        } else {
            let pool = obj.pool();
            let scratch = (*pool.as_ptr()).scratch;
            if scratch.is_null() {
                return None;
            }
            let slot = scratch.add(Pool::index_of(pool, obj.header_ptr().as_ptr().cast()) as usize);
            (*slot != NOT_IN_SET).then_some(slot)
        }
    }
}
