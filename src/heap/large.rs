//! Large objects: values that do not fit a pool block (more than
//! [`SMALL_MAX`] bytes with the header, or aligned beyond [`SMALL_ALIGN_MAX`])
//! get their own allocation from the system allocator and go back to it the
//! moment they die.
//!
//! They cannot find a pool by masking, so they carry what a pool header would
//! hold in a [`LargeHeader`] placed right before the object header: the
//! vtable, the slice length (tracked slices live here so the collector can
//! rebuild their length), and the links of their generation's list.

use crate::heap::header::Header;
use crate::heap::registry::TypeChain;
use crate::heap::vtable::VTable;
use crate::heap::{align_up, HeapState};
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::{self, NonNull};

/// Largest block (header + value) served from a pool, as in obmalloc.
pub(crate) const SMALL_MAX: usize = 512;
/// Largest alignment served from a pool.
pub(crate) const SMALL_ALIGN_MAX: usize = 16;
/// `LargeHeader::generation` of an object no generation tracks.
pub(crate) const UNTRACKED: u8 = u8::MAX;
/// `gc_refs` of an object outside the collection in progress.
pub(crate) const NOT_IN_SET: u32 = u32::MAX;

/// Whether a box of this size and alignment goes to a pool.
#[inline(always)]
pub(crate) const fn is_small(size: usize, align: usize) -> bool {
    size <= SMALL_MAX && align <= SMALL_ALIGN_MAX
}

/// Bookkeeping in front of every large object.
#[repr(C, align(8))]
pub(crate) struct LargeHeader {
    pub(crate) prev: *mut LargeHeader,
    pub(crate) next: *mut LargeHeader,
    /// Null for objects allocated after the thread's heap was torn down.
    pub(crate) heap: *const HeapState,
    pub(crate) chain: *mut TypeChain,
    pub(crate) vtable: &'static VTable,
    /// Pointer metadata of the value (slice length), 0 for sized values.
    pub(crate) meta: usize,
    pub(crate) alloc_size: usize,
    pub(crate) alloc_align: usize,
    /// The collector's scratch count; `NOT_IN_SET` between collections.
    pub(crate) gc_refs: u32,
    pub(crate) generation: u8,
    /// A suspect (see `collector::suspects`): meaningful in the old
    /// generation only.
    pub(crate) suspect: bool,
}

/// Bytes between the start of a `LargeHeader` and the object header.
const PREFIX: usize = std::mem::size_of::<LargeHeader>();
const _: () = assert!(PREFIX % 8 == 0);

/// Bytes from the start of a large allocation aligned to `align` (a power of
/// two, at least 8) to its object header: the `LargeHeader`, rounded up to
/// the alignment.
#[inline(always)]
fn front_padding(align: usize) -> usize {
    align_up(PREFIX, align)
}

impl LargeHeader {
    /// The large header in front of the object whose header is `obj`.
    #[inline(always)]
    pub(crate) fn of(obj: NonNull<Header>) -> NonNull<LargeHeader> {
        // SAFETY: every large object header is preceded by its LargeHeader at
        // this fixed distance, inside the same allocation.
        unsafe {
            NonNull::new_unchecked(obj.as_ptr().cast::<u8>().sub(PREFIX).cast::<LargeHeader>())
        }
    }

    /// The object header that follows `large`.
    #[inline(always)]
    pub(crate) fn object(large: NonNull<LargeHeader>) -> NonNull<Header> {
        // SAFETY: the object header follows at PREFIX bytes.
        unsafe { NonNull::new_unchecked(large.as_ptr().cast::<u8>().add(PREFIX).cast::<Header>()) }
    }

    /// Allocates a large object able to hold a box of `box_layout`, with its
    /// large header filled in; returns the address of the object header.
    pub(crate) fn allocate(
        box_layout: Layout,
        vtable: &'static VTable,
        meta: usize,
        heap: *const HeapState,
        chain: *mut TypeChain,
    ) -> NonNull<Header> {
        // The box must start `PREFIX` bytes after the large header and at its
        // own alignment: pad in front so both hold.
        let align = box_layout.align().max(8);
        let front = front_padding(align);
        let size = front + box_layout.size();
        let layout = Layout::from_size_align(size, align).expect("large object layout");
        // SAFETY: the size is non-zero (PREFIX > 0).
        let base = unsafe { alloc(layout) };
        if base.is_null() {
            handle_alloc_error(layout);
        }
        // SAFETY: `front + box size` bytes are ours; the large header lies
        // just before the box, inside the allocation, 8-aligned.
        unsafe {
            let obj = NonNull::new_unchecked(base.add(front).cast::<Header>());
            let large = LargeHeader::of(obj);
            large.as_ptr().write(LargeHeader {
                prev: ptr::null_mut(),
                next: ptr::null_mut(),
                heap,
                chain,
                vtable,
                meta,
                alloc_size: size,
                alloc_align: align,
                gc_refs: NOT_IN_SET,
                generation: UNTRACKED,
                suspect: false,
            });
            obj
        }
    }

    /// Returns a large object's memory to the system.
    ///
    /// # Safety
    /// The object must be dead (value dropped, no handle left) and unlinked
    /// from every generation list.
    pub(crate) unsafe fn deallocate(large: NonNull<LargeHeader>) {
        // SAFETY: the header records the layout the block was allocated with,
        // and the allocation starts `front` bytes before the box.
        unsafe {
            let (size, align) = ((*large.as_ptr()).alloc_size, (*large.as_ptr()).alloc_align);
            let front = front_padding(align);
            let base = LargeHeader::object(large).as_ptr().cast::<u8>().sub(front);
            dealloc(base, Layout::from_size_align_unchecked(size, align));
        }
    }
}

/// An intrusive doubly linked list of large objects (one per generation).
pub(crate) struct LargeList {
    pub(crate) head: *mut LargeHeader,
    pub(crate) len: usize,
}

impl LargeList {
    pub(crate) const fn new() -> LargeList {
        LargeList {
            head: ptr::null_mut(),
            len: 0,
        }
    }

    /// # Safety
    /// `large` must be a live large object in no list.
    pub(crate) unsafe fn push(&mut self, large: NonNull<LargeHeader>, generation: u8) {
        // SAFETY: the caller guarantees `large` is live and unlinked; the head
        // (if any) is a live member of this list.
        unsafe {
            let l = large.as_ptr();
            (*l).prev = ptr::null_mut();
            (*l).next = self.head;
            (*l).generation = generation;
            if !self.head.is_null() {
                (*self.head).prev = l;
            }
        }
        self.head = large.as_ptr();
        self.len += 1;
    }

    /// # Safety
    /// `large` must be a member of this list.
    pub(crate) unsafe fn remove(&mut self, large: NonNull<LargeHeader>) {
        // SAFETY: members' neighbours are live members of the same list.
        unsafe {
            let l = large.as_ptr();
            if (*l).prev.is_null() {
                self.head = (*l).next;
            } else {
                (*(*l).prev).next = (*l).next;
            }
            if !(*l).next.is_null() {
                (*(*l).next).prev = (*l).prev;
            }
            (*l).prev = ptr::null_mut();
            (*l).next = ptr::null_mut();
            (*l).generation = UNTRACKED;
        }
        self.len -= 1;
    }

    /// Moves every member of `other` to the front of this list, relabelled
    /// as `generation`.
    ///
    /// # Safety
    /// Both lists must be well formed.
    pub(crate) unsafe fn append(&mut self, other: &mut LargeList, generation: u8) {
        let mut cur = other.head;
        // SAFETY: walking and relinking members of well-formed lists.
        unsafe {
            while !cur.is_null() {
                let next = (*cur).next;
                self.push(NonNull::new_unchecked(cur), generation);
                cur = next;
            }
        }
        other.head = ptr::null_mut();
        other.len = 0;
    }

    /// Calls `f` on every member (the list must not change meanwhile).
    pub(crate) fn for_each(&self, mut f: impl FnMut(NonNull<LargeHeader>)) {
        let mut cur = self.head;
        while let Some(l) = NonNull::new(cur) {
            // SAFETY: members are live; `f` does not unlink them.
            cur = unsafe { (*l.as_ptr()).next };
            f(l);
        }
    }
}
