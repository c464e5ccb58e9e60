//! `ObjRef`: a type-erased reference to an object, for the collector, the
//! trashcan and introspection, which handle objects of every type at once.

use crate::collector::visit::Visitor;
use crate::heap::header::{GcBox, Header, FLAG_LARGE};
use crate::heap::large::LargeHeader;
use crate::heap::pool::{first_block_offset, index_magic, Pool, POOL_MASK};
use crate::heap::registry::TypeChain;
use crate::heap::vtable::VTable;
use std::ptr::NonNull;

/// Whether the box at `ptr` is a large object, from its header flag.
///
/// (Computing it from the value's size would need a reference to the box,
/// and the value may be under a `&mut` — being dropped, for instance — when
/// this runs; the header is reached by field projection only.)
///
/// # Safety
/// `ptr` must point to an allocated box (its value may be dropped).
#[inline(always)]
pub(crate) unsafe fn is_large_box<T: ?Sized>(ptr: NonNull<GcBox<T>>) -> bool {
    // SAFETY: the header stays readable while the block is allocated.
    unsafe { (*std::ptr::addr_of!((*ptr.as_ptr()).header)).has_flag(FLAG_LARGE) }
}

/// Whether `T` is a sized type (its pointers are thin).
#[inline(always)]
const fn is_thin<T: ?Sized>() -> bool {
    std::mem::size_of::<*const T>() == std::mem::size_of::<*const u8>()
}

/// For a sized `T`, the block size and alignment of the box at `ptr` (the
/// geometry `place_sized` and `Registry::create` give `T`'s pools, or the
/// size class that decides it is large); `None` for unsized `T`. Both are
/// compile-time constants then: no memory is read.
///
/// # Safety
/// `ptr` must point to a box whose value is alive and not mutably borrowed
/// (a shared reference to the box is formed).
#[inline(always)]
unsafe fn sized_block<T: ?Sized>(ptr: NonNull<GcBox<T>>) -> Option<(usize, usize)> {
    if !is_thin::<T>() {
        return None;
    }
    // SAFETY: forwarded to the caller; for sized T these read no memory.
    let (size, align) = unsafe {
        (
            std::mem::size_of_val(ptr.as_ref()),
            std::mem::align_of_val(ptr.as_ref()),
        )
    };
    Some((size.next_multiple_of(8), align))
}

/// Whether the *live* box at `ptr` is a large object, without touching its
/// memory when `T` is sized: the size is a compile-time constant then. The
/// collector uses this for every edge it follows, where reading the
/// target's header would cost a cache miss per edge on scattered graphs.
/// (Slices read the header: a slice that owns `Gc`s is large whatever its
/// size.)
///
/// # Safety
/// As for [`sized_block`].
#[inline(always)]
pub(crate) unsafe fn is_large_live<T: ?Sized>(ptr: NonNull<GcBox<T>>) -> bool {
    // SAFETY: forwarded to the caller.
    match unsafe { sized_block(ptr) } {
        Some((block_size, align)) => !crate::heap::large::is_small(block_size, align),
        // SAFETY: forwarded to the caller.
        None => unsafe { is_large_box(ptr) },
    }
}

/// For a sized `T` whose objects live in pools (a compile-time fact), the
/// index of the live box at `ptr` among its pool's blocks, from `T`'s pool
/// geometry, which is made of constants then; `None` for unsized and large
/// types. The collector uses this for every edge it follows, instead of
/// reading the geometry from the target's pool header.
///
/// A sized `T`'s objects are always in pools of `T`'s own geometry (a
/// `Gc<T>` is never made from a pointer into a pool of another type: see
/// `Gc::from_raw`).
///
/// # Safety
/// As for [`sized_block`].
#[inline(always)]
pub(crate) unsafe fn pooled_sized_index<T: ?Sized>(ptr: NonNull<GcBox<T>>) -> Option<u32> {
    // SAFETY: forwarded to the caller.
    let (block_size, align) = unsafe { sized_block(ptr) }?;
    if !crate::heap::large::is_small(block_size, align) {
        return None;
    }
    let first = first_block_offset(align.max(8));
    let offset = (ptr.as_ptr().addr() & !POOL_MASK) - first;
    Some(((offset as u64 * index_magic(block_size)) >> 32) as u32)
}

/// An erased object: the address of its header, with the low bit set for
/// large objects (headers are 4-aligned, so the bit is free).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct ObjRef(NonNull<u8>);

impl ObjRef {
    #[inline(always)]
    pub(crate) fn new(header: NonNull<Header>, large: bool) -> ObjRef {
        ObjRef(header.cast::<u8>().map_addr(|a| a | usize::from(large)))
    }

    /// # Safety
    /// As for [`is_large_box`].
    #[inline(always)]
    pub(crate) unsafe fn of<T: ?Sized>(ptr: NonNull<GcBox<T>>) -> ObjRef {
        // SAFETY: forwarded to the caller.
        ObjRef::new(ptr.cast::<Header>(), unsafe { is_large_box(ptr) })
    }

    #[inline(always)]
    pub(crate) fn is_large(self) -> bool {
        self.0.addr().get() & 1 != 0
    }

    #[inline(always)]
    pub(crate) fn header_ptr(self) -> NonNull<Header> {
        // SAFETY: clearing the tag bit of a non-null, at least 4-aligned
        // address leaves it non-null.
        unsafe { NonNull::new_unchecked(self.0.as_ptr().map_addr(|a| a & !1)) }.cast::<Header>()
    }

    /// # Safety
    /// The object's block must be allocated.
    #[inline(always)]
    pub(crate) unsafe fn header<'a>(self) -> &'a Header {
        // SAFETY: forwarded to the caller.
        unsafe { &*self.header_ptr().as_ptr() }
    }

    /// The pool of a pooled object.
    #[inline(always)]
    pub(crate) fn pool(self) -> NonNull<Pool> {
        debug_assert!(!self.is_large());
        Pool::of(self.0.as_ptr())
    }

    #[inline(always)]
    pub(crate) fn large(self) -> NonNull<LargeHeader> {
        debug_assert!(self.is_large());
        LargeHeader::of(self.header_ptr())
    }

    /// The chain of the object's type (null for heapless large objects).
    ///
    /// # Safety
    /// The object's block must be allocated.
    #[inline(always)]
    pub(crate) unsafe fn chain(self) -> *mut TypeChain {
        // SAFETY: pool and large headers live as long as the block.
        unsafe {
            if self.is_large() {
                (*self.large().as_ptr()).chain
            } else {
                (*self.pool().as_ptr()).chain.as_ptr()
            }
        }
    }

    /// The vtable and pointer metadata of the object's value.
    ///
    /// # Safety
    /// The object's block must be allocated.
    #[inline(always)]
    pub(crate) unsafe fn vtable(self) -> (&'static VTable, usize) {
        // SAFETY: pool and large headers live as long as the block.
        unsafe {
            if self.is_large() {
                let l = self.large().as_ptr();
                ((*l).vtable, (*l).meta)
            } else {
                ((*self.pool().as_ptr()).vtable, 0)
            }
        }
    }

    /// Traces the object's value for `visitor` (see `VTable::trace_for`).
    ///
    /// # Safety
    /// The value must be alive and not mutably borrowed.
    #[inline(always)]
    pub(crate) unsafe fn trace(self, visitor: &mut Visitor) {
        // SAFETY: forwarded to the caller; the vtable matches the value.
        unsafe {
            let (vt, meta) = self.vtable();
            vt.trace_for(self.header_ptr(), meta, visitor)
        }
    }

    /// Runs the value's finalizers.
    ///
    /// # Safety
    /// The value must be alive.
    pub(crate) unsafe fn finalize(self) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let (vt, meta) = self.vtable();
            (vt.finalize)(self.header_ptr(), meta)
        }
    }

    /// Drops the value in place.
    ///
    /// # Safety
    /// The value must be alive and never be used again.
    pub(crate) unsafe fn drop_value(self) {
        // SAFETY: forwarded to the caller.
        unsafe {
            let (vt, meta) = self.vtable();
            (vt.drop_value)(self.header_ptr(), meta)
        }
    }

    /// Whether the value can be reached with a thin pointer and the vtable
    /// (everything but pooled slices, whose length only the `Gc` knows).
    ///
    /// # Safety
    /// The object's block must be allocated.
    pub(crate) unsafe fn is_erasable(self) -> bool {
        // SAFETY: forwarded to the caller.
        self.is_large() || unsafe { (*self.chain()).erasable }
    }
}
