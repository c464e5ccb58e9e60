//! Type-erased operations on a value, so the collector can trace, finalize
//! and drop objects it only knows by address.
//!
//! One `VTable` exists per value type, as a promoted constant. Pools are
//! segregated by type, so the pool header (or a large object's header) holds
//! the vtable and the object itself carries none.

use crate::collector::visit::{Mode, Visitor};
use crate::heap::header::Header;
use crate::trace::{Trace, Tracer};
use std::any::TypeId;
use std::ptr::NonNull;

/// Operations on the value of an object, given the address of its header and
/// the value's pointer metadata (a slice length, or 0 for sized values).
pub(crate) struct VTable {
    pub(crate) trace: unsafe fn(NonNull<Header>, usize, &mut Tracer<'_>),
    /// `trace` once per counting and marking mode (indexed by
    /// `Mode::vtable_index`), each with its mode a constant: a derived
    /// `Trace` impl inlines into it with no per-edge dispatch on the mode,
    /// and its small field traces (`Option<Gc<T>>`, cells) inline too. The
    /// collector's count and mark loops call these (PERFORMANCE.md, "One
    /// trace entry per collection mode", has the instruction counts).
    pub(crate) trace_in: [TraceInMode; Mode::IN_VTABLE],
    pub(crate) finalize: unsafe fn(NonNull<Header>, usize),
    pub(crate) drop_value: unsafe fn(NonNull<Header>, usize),
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) needs_trace: fn() -> bool,
    /// `Trace::is_acyclic`: owns `Gc`s, but is never tracked.
    pub(crate) acyclic: fn() -> bool,
    /// `Trace::has_fixed_edges`: a survivor whose targets are all untracked
    /// leaves the generations (see `collector::settle`).
    pub(crate) fixed_edges: fn() -> bool,
    pub(crate) needs_finalize: fn() -> bool,
}

impl VTable {
    /// Traces the value at `header` (of metadata `meta`) for `visitor`:
    /// through the entry for the visitor's mode if it has one.
    ///
    /// # Safety
    /// As for `trace`: `header` must be of a live object of this vtable's
    /// type whose value is not mutably borrowed.
    #[inline(always)]
    pub(crate) unsafe fn trace_for(
        &self,
        header: NonNull<Header>,
        meta: usize,
        visitor: &mut Visitor,
    ) {
        // SAFETY: forwarded to the caller; the entry of `trace_in` called
        // is the one of the visitor's own mode.
        unsafe {
            match visitor.mode().vtable_index() {
                Some(i) => (self.trace_in[i])(header, meta, visitor),
                None => (self.trace)(header, meta, &mut Tracer::new(visitor)),
            }
        }
    }

    /// Whether objects of this type enter the generations: the value may
    /// own a `Gc` and the type is not acyclic.
    pub(crate) fn tracked(&self) -> bool {
        (self.needs_trace)() && !(self.acyclic)()
    }
}

/// Offset of the value from the start of the header, for a value alignment.
#[inline(always)]
pub(crate) const fn value_offset(align: usize) -> usize {
    let header = std::mem::size_of::<Header>();
    if align > header {
        align
    } else {
        header
    }
}

/// # Safety
/// `header` must be the header of a live `GcBox<T>`.
#[inline(always)]
unsafe fn value_ptr<T>(header: NonNull<Header>) -> *mut T {
    // SAFETY: the caller guarantees a GcBox<T> starts at `header`, so the value
    // lies `value_offset` bytes further inside the same allocation.
    unsafe {
        header
            .as_ptr()
            .cast::<u8>()
            .add(value_offset(std::mem::align_of::<T>()))
            .cast::<T>()
    }
}

/// # Safety
/// `header` must be the header of a live `GcBox<[T]>` of length `len`.
#[inline(always)]
unsafe fn slice_ptr<T>(header: NonNull<Header>, len: usize) -> *mut [T] {
    // SAFETY: as for `value_ptr`; the element type gives the alignment.
    unsafe { std::ptr::slice_from_raw_parts_mut(value_ptr::<T>(header), len) }
}

/// A `VTable::trace_in` entry: traces the value of the object at the
/// header for the visitor, in the entry's mode (the visitor's own).
pub(crate) type TraceInMode = unsafe fn(NonNull<Header>, usize, &mut Visitor);

/// The `trace_in` entries of a sized `T`.
const fn sized_trace_in<T: Trace + 'static>() -> [TraceInMode; Mode::IN_VTABLE] {
    /// # Safety
    /// `h` must be the header of a live `GcBox<T>` whose value is not
    /// mutably borrowed, and `visitor` in mode `M`.
    unsafe fn trace_as<T: Trace, const M: u8>(h: NonNull<Header>, _: usize, visitor: &mut Visitor) {
        // SAFETY: forwarded to the caller (the visitor is in mode `M`).
        unsafe {
            (*value_ptr::<T>(h))
                .trace(&mut Tracer::in_mode(visitor, const { Mode::from_index(M) }));
        }
    }
    [
        trace_as::<T, 0>,
        trace_as::<T, 1>,
        trace_as::<T, 2>,
        trace_as::<T, 3>,
        trace_as::<T, 4>,
        trace_as::<T, 5>,
    ]
}

/// The `trace_in` entries of `[T]`.
const fn slice_trace_in<T: Trace + 'static>() -> [TraceInMode; Mode::IN_VTABLE] {
    /// # Safety
    /// `h` must be the header of a live `GcBox<[T]>` of length `len`, not
    /// mutably borrowed, and `visitor` in mode `M`.
    unsafe fn trace_as<T: Trace, const M: u8>(
        h: NonNull<Header>,
        len: usize,
        visitor: &mut Visitor,
    ) {
        // SAFETY: forwarded to the caller (the visitor is in mode `M`).
        unsafe {
            (*slice_ptr::<T>(h, len))
                .trace(&mut Tracer::in_mode(visitor, const { Mode::from_index(M) }));
        }
    }
    [
        trace_as::<T, 0>,
        trace_as::<T, 1>,
        trace_as::<T, 2>,
        trace_as::<T, 3>,
        trace_as::<T, 4>,
        trace_as::<T, 5>,
    ]
}

pub(crate) trait HasVTable {
    const VTABLE: VTable;
}

impl<T: Trace + 'static> HasVTable for T {
    const VTABLE: VTable = VTable {
        // SAFETY (all three): the collector only calls these on the header of
        // an object created as a GcBox<T> whose value is alive.
        trace: |h, _, tracer| unsafe { (*value_ptr::<T>(h)).trace(tracer) },
        trace_in: sized_trace_in::<T>(),
        finalize: |h, _| unsafe { (*value_ptr::<T>(h)).finalize_glue() },
        drop_value: |h, _| unsafe { std::ptr::drop_in_place(value_ptr::<T>(h)) },
        type_name: std::any::type_name::<T>,
        type_id: TypeId::of::<T>,
        needs_trace: T::needs_trace,
        acyclic: T::is_acyclic,
        fixed_edges: T::has_fixed_edges,
        needs_finalize: T::needs_finalize,
    };
}

/// The vtable of `[T]`, for slices whose length travels as metadata.
pub(crate) struct SliceVTable<T>(std::marker::PhantomData<T>);

impl<T: Trace + 'static> SliceVTable<T> {
    pub(crate) const VTABLE: VTable = VTable {
        // SAFETY (all three): called only on a GcBox<[T]> of length `len`.
        trace: |h, len, tracer| unsafe { (*slice_ptr::<T>(h, len)).trace(tracer) },
        trace_in: slice_trace_in::<T>(),
        finalize: |h, len| unsafe { (*slice_ptr::<T>(h, len)).finalize_glue() },
        drop_value: |h, len| unsafe { std::ptr::drop_in_place(slice_ptr::<T>(h, len)) },
        type_name: std::any::type_name::<[T]>,
        type_id: TypeId::of::<[T]>,
        needs_trace: T::needs_trace,
        acyclic: T::is_acyclic,
        fixed_edges: T::has_fixed_edges,
        needs_finalize: T::needs_finalize,
    };
}

/// The vtable of `str` (a leaf: never traced, nothing to drop).
pub(crate) const STR_VTABLE: VTable = VTable {
    trace: |_, _, _| {},
    trace_in: [|_, _, _| {}; Mode::IN_VTABLE],
    finalize: |_, _| {},
    drop_value: |_, _| {},
    type_name: std::any::type_name::<str>,
    type_id: TypeId::of::<str>,
    needs_trace: || false,
    acyclic: || false,
    fixed_edges: || true,
    needs_finalize: || false,
};
