//! [`Weak<T>`], the non-owning handle.

use crate::heap;
use crate::heap::header::{value_offset, GcBox, Header};
use crate::trace::{Trace, Tracer};
use crate::Gc;
use std::fmt;
use std::ptr::NonNull;

/// A non-owning handle to a [`Gc`] object: it does not keep the value
/// alive, and it is not an edge for the cycle collector.
///
/// [`upgrade`](Weak::upgrade) returns a `Gc` while the value lives. It fails
/// once the value is dropped, and also as soon as the cycle collector has
/// judged the object garbage — from then on, even inside finalizers, and
/// even if a finalizer later resurrects the object (as CPython clears weak
/// references to garbage).
///
/// An object can have up to 33,554,430 `Weak`s; making one more (by
/// [`Gc::downgrade`] or `clone`) aborts the process, as an overflowing `Rc`
/// count does.
///
/// ```
/// use gengc::{Gc, Weak};
/// let strong = Gc::new(5);
/// let weak: Weak<i32> = Gc::downgrade(&strong);
/// assert_eq!(*weak.upgrade().unwrap(), 5);
/// drop(strong);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct Weak<T: ?Sized> {
    /// Dangling (address [`DANGLING`]) for `Weak::new`. `NonNull` makes the
    /// handle neither `Send` nor `Sync`.
    ptr: NonNull<GcBox<T>>,
}

/// The address of the pointer of [`Weak::new`], which points to nothing.
const DANGLING: usize = usize::MAX;

/// Whether `ptr` is the pointer of a [`Weak::new`] (or a raw pointer made
/// from one).
fn is_dangling<U: ?Sized>(ptr: *const U) -> bool {
    ptr.cast::<u8>().addr() == DANGLING
}

impl<T> Weak<T> {
    /// A `Weak` that points to nothing and never upgrades.
    ///
    /// ```
    /// let w: gengc::Weak<u8> = gengc::Weak::new();
    /// assert!(w.upgrade().is_none());
    /// ```
    pub const fn new() -> Weak<T> {
        // SAFETY: DANGLING is not null. The pointer is never dereferenced
        // (`is_dangling` is checked first), so its alignment is moot.
        let ptr = unsafe { NonNull::new_unchecked(std::ptr::without_provenance_mut(DANGLING)) };
        Weak { ptr }
    }
}

impl<T> Weak<T> {
    /// Consumes the `Weak` into a raw pointer to the value's place (like
    /// `rc::Weak::into_raw`). The weak reference stays taken, so the block
    /// stays allocated (the value may die meanwhile: the pointer is then
    /// only good for comparing); give it back with [`Weak::from_raw`].
    ///
    /// ```
    /// use gengc::{Gc, Weak};
    /// let a = Gc::new(3);
    /// let raw = Weak::into_raw(Gc::downgrade(&a));
    /// assert_eq!(raw, Gc::as_ptr(&a));
    /// // SAFETY: `raw` came from `Weak::into_raw` on this thread, once.
    /// let w = unsafe { Weak::from_raw(raw) };
    /// assert_eq!(*w.upgrade().unwrap(), 3);
    /// ```
    pub fn into_raw(self) -> *const T {
        std::mem::ManuallyDrop::new(self).as_ptr()
    }

    /// Rebuilds the `Weak` given up by [`Weak::into_raw`], taking back its
    /// weak reference.
    ///
    /// # Safety
    /// `ptr` must come from `Weak::<T>::into_raw` on this thread, and go to
    /// `from_raw` once.
    ///
    /// ```
    /// use gengc::Weak;
    /// let raw = Weak::into_raw(Weak::<u8>::new());
    /// // SAFETY: `raw` came from `Weak::into_raw`, once.
    /// assert!(unsafe { Weak::from_raw(raw) }.upgrade().is_none());
    /// ```
    pub unsafe fn from_raw(ptr: *const T) -> Weak<T> {
        if is_dangling(ptr) {
            return Weak::new();
        }
        // SAFETY: the caller guarantees `ptr` is the value place of a box
        // its weak reference keeps allocated; the box starts `value_offset`
        // bytes before it, in the same allocation.
        unsafe {
            let boxed = ptr.byte_sub(value_offset(std::mem::align_of::<T>()));
            Weak::from_inner(NonNull::new_unchecked(boxed.cast::<GcBox<T>>().cast_mut()))
        }
    }
}

impl<T: ?Sized> Weak<T> {
    /// A raw pointer to the value's place (like `rc::Weak::as_ptr`): the
    /// address [`Gc::as_ptr`] gives for the same object, or a dangling one for
    /// [`Weak::new`]. Dereference it only while the value lives (a `Gc` to it
    /// exists and the collector has not condemned it: [`Weak::upgrade`]
    /// still succeeds).
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(w.as_ptr(), Gc::as_ptr(&a));
    /// ```
    pub fn as_ptr(&self) -> *const T {
        if is_dangling(self.ptr.as_ptr()) {
            return self.ptr.as_ptr() as *const T;
        }
        // SAFETY: a non-dangling Weak keeps the block allocated; no
        // reference to the (possibly dropped) value is created.
        unsafe { std::ptr::addr_of!((*self.ptr.as_ptr()).value) }
    }

    /// # Safety
    /// The caller transfers one weak reference to the box at `ptr`.
    pub(crate) unsafe fn from_inner(ptr: NonNull<GcBox<T>>) -> Weak<T> {
        Weak { ptr }
    }

    fn header(&self) -> Option<&crate::heap::header::Header> {
        // SAFETY: a non-dangling Weak keeps the block allocated.
        // (By field projection: the value may be borrowed mutably.)
        (!is_dangling(self.ptr.as_ptr()))
            .then(|| unsafe { &*std::ptr::addr_of!((*self.ptr.as_ptr()).header) })
    }

    /// A strong handle, if the value is still alive and not judged garbage.
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new("x");
    /// let w = Gc::downgrade(&a);
    /// assert!(w.upgrade().is_some());
    /// ```
    pub fn upgrade(&self) -> Option<Gc<T>> {
        let h = self.header()?;
        if !h.is_upgradable() {
            return None;
        }
        // SAFETY: the object is alive (upgradable); the `Weak`'s pointer
        // has its block's provenance.
        unsafe { Header::inc_strong(self.ptr.cast()) };
        // SAFETY: the value is alive and we took the strong reference.
        Some(unsafe { Gc::from_inner(self.ptr) })
    }

    /// The number of strong handles (0 once the value is gone or condemned).
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(w.strong_count(), 1);
    /// drop(a);
    /// assert_eq!(w.strong_count(), 0);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.header()
            .filter(|h| h.is_upgradable())
            .map_or(0, |h| h.strong() as usize)
    }

    /// The number of `Weak` handles to the object (0 once no strong handle
    /// remains, like `std::rc::Weak::weak_count`).
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// let _w2 = w.clone();
    /// assert_eq!(w.weak_count(), 2);
    /// ```
    pub fn weak_count(&self) -> usize {
        match self.header() {
            Some(h) if h.strong() > 0 => h.weak_raw() as usize - 1,
            _ => 0,
        }
    }

    /// Whether both point to the same object (or both are dangling).
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// assert!(Gc::downgrade(&a).ptr_eq(&Gc::downgrade(&a)));
    /// ```
    pub fn ptr_eq(&self, other: &Weak<T>) -> bool {
        std::ptr::addr_eq(self.ptr.as_ptr(), other.ptr.as_ptr())
    }
}

impl<T: ?Sized> Clone for Weak<T> {
    /// ```
    /// let a = gengc::Gc::new(1);
    /// let w = gengc::Gc::downgrade(&a);
    /// assert!(w.clone().ptr_eq(&w));
    /// ```
    fn clone(&self) -> Weak<T> {
        if let Some(h) = self.header() {
            h.inc_weak();
        }
        Weak { ptr: self.ptr }
    }
}

impl<T: ?Sized> Drop for Weak<T> {
    fn drop(&mut self) {
        if let Some(h) = self.header() {
            if h.dec_weak() == 0 {
                // SAFETY: no strong handle (the strong group's weak count is
                // gone) and no Weak remain: the block is free.
                unsafe { heap::weak_count_zero(self.ptr) }
            }
        }
    }
}

impl<T> Default for Weak<T> {
    /// ```
    /// let w: gengc::Weak<String> = Default::default();
    /// assert!(w.upgrade().is_none());
    /// ```
    fn default() -> Weak<T> {
        Weak::new()
    }
}

impl<T: ?Sized> fmt::Debug for Weak<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(Weak)")
    }
}

// SAFETY: a weak reference is not an owning edge; it traces nothing.
unsafe impl<T: ?Sized> Trace for Weak<T> {
    #[inline(always)]
    fn trace(&self, _: &mut Tracer<'_>) {}

    #[inline(always)]
    fn needs_trace() -> bool {
        false
    }
}
