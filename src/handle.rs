//! [`Gc<T>`], the reference-counted handle.

use crate::heap::header::{value_offset, GcBox, Header, FLAG_SETTLED};
use crate::heap::object::ObjRef;
use crate::heap::vtable::{SliceVTable, STR_VTABLE};
use crate::heap::{self, Placement};
use crate::trace::{Trace, Tracer};
use crate::Weak;
use std::alloc::Layout;
use std::any::TypeId;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::{self, NonNull};

/// A reference-counted pointer whose cycles are collected.
///
/// `Gc<T>` works like [`std::rc::Rc<T>`]: [`clone`](Clone::clone) adds a
/// reference, dropping the last one drops the value at once. Unlike `Rc`,
/// values that reference each other in a cycle are freed too, by the
/// generational cycle collector (see the [crate docs](crate)).
///
/// A `Gc` is one pointer wide (two for `Gc<str>`, `Gc<[T]>` and
/// `Gc<dyn Trait>`), and its object carries only an 8-byte header. It is
/// neither `Send` nor `Sync`: each thread has its own heap.
///
/// `Gc<T>` gives shared access only; mutate through a cell
/// (`Gc<RefCell<T>>`, `Gc<Cell<T>>`), or with [`Gc::get_mut`] /
/// [`Gc::make_mut`].
///
/// ```
/// use gengc::Gc;
///
/// let five = Gc::new(5);
/// let also_five = five.clone();
/// assert_eq!(*also_five, 5);
/// assert_eq!(Gc::strong_count(&five), 2);
/// ```
pub struct Gc<T: ?Sized> {
    /// `NonNull` makes the handle neither `Send` nor `Sync`: each thread
    /// has its own heap.
    ptr: NonNull<GcBox<T>>,
    /// Owns a `GcBox<T>` (for drop check).
    _owns: PhantomData<GcBox<T>>,
}

impl<T: Trace + 'static> Gc<T> {
    /// Moves `value` into a new object.
    ///
    /// If `T` may own a `Gc` (see [`Trace::needs_trace`]) and is not
    /// [acyclic](Trace::is_acyclic), the object enters the young generation,
    /// and this call may first run an automatic collection. The exception
    /// is a value whose type has [fixed edges](Trace::has_fixed_edges) and
    /// whose `Gc`s all point at untracked objects: it can never be part of
    /// a cycle, so it is born untracked. Deciding costs one trace of the
    /// value, here (it does not stop at the first tracked `Gc`: a value
    /// holding a million of them is traced whole).
    /// [`Gc::new_cyclic`] and `From<Box<T>>` decide the same way.
    ///
    /// ```
    /// use gengc::Gc;
    /// let s = Gc::new(String::from("hello"));
    /// assert_eq!(s.len(), 5);
    /// ```
    #[inline]
    pub fn new(value: T) -> Gc<T> {
        // A value with fixed edges to untracked objects only is born
        // settled: it never enters the generations (`collector::settle`).
        Gc::new_trying_settled(value, true)
    }

    /// `Gc::new`; the birth check runs only if `try_settle`.
    #[inline(always)]
    fn new_trying_settled(value: T, try_settle: bool) -> Gc<T> {
        let (place, settled) = heap::place_sized(try_settle.then_some(&value));
        let ptr = place.header.cast::<GcBox<T>>();
        // SAFETY: the placement is an unused block sized and aligned for a
        // GcBox<T>; once written, the object is complete and may be tracked.
        unsafe {
            ptr.as_ptr().write(GcBox {
                header: Header::new_strong(place.flags()),
                value,
            });
            // Leaf and acyclic types are never tracked: skip even the
            // pool's flag.
            if heap::tracks::<T>() {
                heap::commit_or_settle(place, settled);
            }
            Gc::from_inner(ptr)
        }
    }

    /// Creates an object that can hold a [`Weak`] to itself: `data_fn`
    /// receives that `Weak` before the value exists (it does not upgrade
    /// until `new_cyclic` returns).
    ///
    /// # Panics
    /// If `data_fn` panics, the panic propagates and nothing is leaked.
    ///
    /// ```
    /// use gengc::{Gc, Trace, Weak};
    ///
    /// #[derive(Trace)]
    /// struct Me {
    ///     me: Weak<Me>,
    /// }
    ///
    /// let me = Gc::new_cyclic(|w| {
    ///     assert!(w.upgrade().is_none());
    ///     Me { me: w.clone() }
    /// });
    /// assert!(Gc::ptr_eq(&me.me.upgrade().unwrap(), &me));
    /// ```
    pub fn new_cyclic<F: FnOnce(&Weak<T>) -> T>(data_fn: F) -> Gc<T> {
        let (place, _) = heap::place_sized::<T>(None);
        let ptr = place.header.cast::<GcBox<T>>();
        // SAFETY: the header alone is written: strong 0 keeps the value out of
        // reach (upgrade fails), and the object is not tracked until
        // `commit`, so the collector never looks at the missing value. The
        // `Weak` owns the one weak count the header starts with; if
        // `data_fn` panics, dropping it frees the block.
        unsafe {
            ptr::addr_of_mut!((*ptr.as_ptr()).header).write(Header::new_cyclic(place.flags()));
            let weak = Weak::from_inner(ptr);
            let value = data_fn(&weak);
            // As in `Gc::new` (a `Weak` to itself is no edge). A panic here
            // is one from `data_fn`'s point of view: the `Weak` frees the
            // block.
            let settled = heap::born_settled(&value);
            ptr::addr_of_mut!((*ptr.as_ptr()).value).write(value);
            (*ptr.as_ptr()).header.set_strong(1);
            // The weak count the `Weak` held becomes the strong group's.
            std::mem::forget(weak);
            heap::commit_or_settle(place, settled);
            Gc::from_inner(ptr)
        }
    }

    /// Makes a mutable reference into the value, cloning it into a new
    /// object first if other handles share it (copy-on-write, like
    /// `Rc::make_mut`). If only `Weak`s share it, they are disassociated.
    ///
    /// ```
    /// use gengc::Gc;
    /// let mut a = Gc::new(5);
    /// let b = a.clone();
    /// *Gc::make_mut(&mut a) += 1; // clones: `b` keeps the old value
    /// assert_eq!((*a, *b), (6, 5));
    /// ```
    pub fn make_mut(this: &mut Gc<T>) -> &mut T
    where
        T: Clone,
    {
        let h = this.header();
        if h.strong() != 1 {
            // Lent out at once below, so not worth trying to settle.
            *this = Gc::new_trying_settled((**this).clone(), false);
        } else if h.weak_raw() != 1 {
            // Only Weaks share it: move the value to a fresh object and leave
            // the Weaks an empty block, as `Rc::make_mut` does.
            // SAFETY: `this` is unique; the caller below releases it
            // without dropping the value.
            // Lent out at once below: not worth trying to settle.
            let fresh = unsafe { Gc::copy_into_new(Gc::as_ptr(this), false) };
            let old = std::mem::replace(this, fresh);
            // SAFETY: the value was moved out of `old`; release its handle
            // without dropping the value again.
            unsafe { old.forget_moved_value() };
        }
        Gc::get_mut(this).expect("unique after make_mut")
    }

    /// Moves the value at `src` into a new object, heap to heap (never
    /// through the stack: the value may be large).
    ///
    /// The new block is placed *before* the value is copied: placing may run
    /// an automatic collection, and if user code panics in it, the value
    /// must still have exactly one owner (the source), not a moved-out copy
    /// that unwinding would drop behind the source's back.
    ///
    /// The birth check (see `heap::born_settled`) runs only if `try_settle`;
    /// a panic in it leaves the value to its owner.
    ///
    /// # Safety
    /// `src` must point to a valid `T` whose owner, once this returns, gives
    /// up the value without dropping it (it now belongs to the new object).
    unsafe fn copy_into_new(src: *const T, try_settle: bool) -> Gc<T> {
        // SAFETY: `src` is valid (the caller's promise).
        let (place, settled) = heap::place_sized(try_settle.then(|| unsafe { &*src }));
        let ptr = place.header.cast::<GcBox<T>>();
        // SAFETY: the placement is an unused block for a GcBox<T>; the value
        // is copied bitwise from `src`, whose owner then forgets it (the
        // caller's promise). Nothing between the copy and `commit` can panic
        // or run user code.
        unsafe {
            ptr::addr_of_mut!((*ptr.as_ptr()).header).write(Header::new_strong(place.flags()));
            ptr::copy_nonoverlapping(src, ptr::addr_of_mut!((*ptr.as_ptr()).value), 1);
            heap::commit_or_settle(place, settled);
            Gc::from_inner(ptr)
        }
    }

    /// Returns the value if this is the only strong handle; otherwise
    /// returns the handle back. `Weak`s to the object stop upgrading.
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(3);
    /// assert_eq!(Gc::try_unwrap(a), Ok(3));
    /// let a = Gc::new(4);
    /// let b = a.clone();
    /// assert_eq!(*Gc::try_unwrap(a).unwrap_err(), 4);
    /// # drop(b);
    /// ```
    pub fn try_unwrap(this: Gc<T>) -> Result<T, Gc<T>> {
        if this.header().strong() != 1 {
            return Err(this);
        }
        // SAFETY: unique strong handle; the value is moved out exactly once.
        unsafe {
            let value = ptr::read(&*this);
            this.forget_moved_value();
            Ok(value)
        }
    }

    /// Returns the value if this is the only strong handle, dropping the
    /// handle otherwise (`Rc::into_inner`).
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(String::from("x"));
    /// let b = a.clone();
    /// assert_eq!(Gc::into_inner(a), None);
    /// assert_eq!(Gc::into_inner(b), Some(String::from("x")));
    /// ```
    pub fn into_inner(this: Gc<T>) -> Option<T> {
        Gc::try_unwrap(this).ok()
    }

    /// The value: moved out if this is the only strong handle, cloned
    /// otherwise (like `Rc::unwrap_or_clone`). Moving it out leaves any
    /// `Weak`s dead, as [`Gc::try_unwrap`] does.
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(String::from("x"));
    /// let b = a.clone();
    /// let cloned: String = Gc::unwrap_or_clone(a); // `b` still shares it
    /// let moved: String = Gc::unwrap_or_clone(b); // the last handle: no clone
    /// assert_eq!((cloned, moved), (String::from("x"), String::from("x")));
    /// ```
    pub fn unwrap_or_clone(this: Gc<T>) -> T
    where
        T: Clone,
    {
        Gc::try_unwrap(this).unwrap_or_else(|shared| T::clone(&shared))
    }

    /// Releases a unique handle whose value has been moved out: the object
    /// leaves the generations, the `Weak`s see it dead, the block goes back
    /// when no `Weak` remains.
    ///
    /// # Safety
    /// `self` must be the only strong handle and its value already moved out.
    unsafe fn forget_moved_value(self) {
        let this = ManuallyDrop::new(self);
        let obj = this.obj();
        // SAFETY: forwarded to the caller; no user code runs.
        unsafe {
            let _ = heap::untrack(obj);
            let h = this.header();
            h.set_strong(0);
            if h.dec_weak() == 0 {
                heap::free_block(obj);
            }
        }
    }
}

impl<T: ?Sized> Gc<T> {
    /// # Safety
    /// The caller transfers one strong reference to the box at `ptr`.
    #[inline(always)]
    pub(crate) unsafe fn from_inner(ptr: NonNull<GcBox<T>>) -> Gc<T> {
        Gc {
            ptr,
            _owns: PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a live handle keeps the box allocated. The header is reached
        // by field projection, never through a reference to the whole box:
        // its value may be under a `&mut` (being dropped, or lent).
        unsafe { &*ptr::addr_of!((*self.ptr.as_ptr()).header) }
    }

    #[inline(always)]
    pub(crate) fn obj(&self) -> ObjRef {
        // SAFETY: a live handle keeps the box allocated.
        unsafe { ObjRef::of(self.ptr) }
    }

    /// Whether the two handles point to the same object (like
    /// `Rc::ptr_eq`; for `dyn` values only the address is compared).
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let b = a.clone();
    /// assert!(Gc::ptr_eq(&a, &b));
    /// assert!(!Gc::ptr_eq(&a, &Gc::new(1)));
    /// ```
    #[inline]
    pub fn ptr_eq(this: &Gc<T>, other: &Gc<T>) -> bool {
        ptr::addr_eq(this.ptr.as_ptr(), other.ptr.as_ptr())
    }

    /// The number of strong handles (`Gc`) to the object.
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let _b = a.clone();
    /// assert_eq!(Gc::strong_count(&a), 2);
    /// ```
    #[inline]
    pub fn strong_count(this: &Gc<T>) -> usize {
        this.header().strong() as usize
    }

    /// The number of [`Weak`] handles to the object.
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let _w = Gc::downgrade(&a);
    /// assert_eq!(Gc::weak_count(&a), 1);
    /// ```
    #[inline]
    pub fn weak_count(this: &Gc<T>) -> usize {
        this.header().weak_raw() as usize - 1
    }

    /// Creates a [`Weak`] handle to the object.
    ///
    /// # Aborts
    /// If the object already has 33,554,430 `Weak`s (the weak count shares
    /// its header word with the object's flags), like `Rc` when a count
    /// overflows.
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let w = Gc::downgrade(&a);
    /// assert_eq!(*w.upgrade().unwrap(), 1);
    /// drop(a);
    /// assert!(w.upgrade().is_none());
    /// ```
    pub fn downgrade(this: &Gc<T>) -> Weak<T> {
        let h = this.header();
        h.inc_weak();
        h.end_mut_lend();
        // SAFETY: we just took the weak reference the Weak owns.
        unsafe { Weak::from_inner(this.ptr) }
    }

    /// A mutable reference to the value, if no other `Gc` or `Weak` points to
    /// it; `None` otherwise.
    ///
    /// The collector never reads a value lent out this way: until a later
    /// collection proves the borrow has ended, the object is treated as
    /// reachable and its references as external.
    ///
    /// ```
    /// use gengc::Gc;
    /// let mut a = Gc::new(1);
    /// *Gc::get_mut(&mut a).unwrap() += 1;
    /// assert_eq!(*a, 2);
    /// let b = a.clone();
    /// assert!(Gc::get_mut(&mut a).is_none());
    /// # drop(b);
    /// ```
    #[inline]
    pub fn get_mut(this: &mut Gc<T>) -> Option<&mut T> {
        let h = this.header();
        if h.strong() == 1 && h.weak_raw() == 1 {
            if h.has_flag(FLAG_SETTLED) {
                // SAFETY: a live object of this thread, marked settled.
                unsafe { heap::unsettle(ObjRef::of(this.ptr)) };
            }
            h.lend_mut();
            // SAFETY: the only handle is borrowed mutably, no Weak exists, and
            // the collector will not read the value while the header says it
            // may be lent (see `collector::detect`).
            Some(unsafe { &mut (*this.ptr.as_ptr()).value })
        } else {
            None
        }
    }

    /// A raw pointer to the value (like `Rc::as_ptr`).
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(7);
    /// assert_eq!(unsafe { *Gc::as_ptr(&a) }, 7);
    /// ```
    #[inline]
    pub fn as_ptr(this: &Gc<T>) -> *const T {
        // SAFETY: the box is allocated; no reference is created.
        unsafe { ptr::addr_of!((*this.ptr.as_ptr()).value) }
    }

    /// Consumes the handle into a raw pointer to the value (like
    /// `Rc::into_raw`).
    ///
    /// The strong reference stays taken: give the pointer back to
    /// [`Gc::from_raw`] to release it, or the object is never freed. Until
    /// then the collector counts the reference as one from outside, like a
    /// handle on the stack: the object and all it reaches stay alive, and
    /// the pointer may be read through for as long as that reference is
    /// held (never written through: the value is shared).
    ///
    /// ```
    /// use gengc::Gc;
    /// let raw = Gc::into_raw(Gc::new(String::from("hi")));
    /// // SAFETY: `raw` came from `Gc::into_raw` on this thread, once.
    /// let back = unsafe { Gc::from_raw(raw) };
    /// assert_eq!(*back, "hi");
    /// ```
    pub fn into_raw(this: Gc<T>) -> *const T {
        Gc::as_ptr(&ManuallyDrop::new(this))
    }

    /// Rebuilds the handle given up by [`Gc::into_raw`] (like
    /// `Rc::from_raw`), taking back its strong reference.
    ///
    /// # Safety
    /// `ptr` must come from `Gc::<T>::into_raw` on this thread, or from
    /// `Gc::<U>::into_raw` with the pointer then unsize-coerced to `*const T`
    /// (a `*const [u8; 4]` to a `*const [u8]`, a `*const S` to a
    /// `*const dyn Trait`). Each `into_raw` gives back one reference, so
    /// each pointer goes to `from_raw` once. Unlike `Rc::from_raw`, a
    /// pointer cast to another sized type (even one of the same size and
    /// alignment) is not allowed: the object's pool knows its type.
    ///
    /// ```
    /// use gengc::Gc;
    /// let raw: *const [u8] = Gc::<[u8; 3]>::into_raw(Gc::new([1, 2, 3]));
    /// // SAFETY: from `Gc::<[u8; 3]>::into_raw`, unsize-coerced, used once.
    /// let slice: Gc<[u8]> = unsafe { Gc::from_raw(raw) };
    /// assert_eq!(&*slice, &[1, 2, 3]);
    /// ```
    pub unsafe fn from_raw(ptr: *const T) -> Gc<T> {
        // SAFETY: the caller guarantees `ptr` is the value of a live box whose
        // strong reference it carries (so `&*ptr` is valid, and no `&mut` to
        // it exists: its handle was consumed), and that the box starts
        // `value_offset` bytes before it, in the same allocation.
        unsafe {
            let offset = value_offset(std::mem::align_of_val(&*ptr));
            let boxed = ptr.byte_sub(offset) as *mut GcBox<T>;
            Gc::from_inner(NonNull::new_unchecked(boxed))
        }
    }

    /// Adds a strong reference to the object behind a pointer from
    /// [`Gc::into_raw`] (like `Rc::increment_strong_count`): the pointer then
    /// carries two, each to be given back once.
    ///
    /// # Safety
    /// As for [`Gc::from_raw`], and the object must still hold the reference
    /// the pointer carries.
    ///
    /// ```
    /// use gengc::Gc;
    /// let raw = Gc::into_raw(Gc::new(1));
    /// // SAFETY: `raw` came from `Gc::into_raw` and still holds its reference.
    /// unsafe {
    ///     Gc::increment_strong_count(raw);
    ///     let a = Gc::from_raw(raw);
    ///     assert_eq!(Gc::strong_count(&a), 2);
    ///     Gc::decrement_strong_count(raw);
    ///     assert_eq!(Gc::strong_count(&a), 1);
    /// }
    /// ```
    pub unsafe fn increment_strong_count(ptr: *const T) {
        // SAFETY: forwarded to the caller; the rebuilt handle is never
        // dropped, so only the clone's reference is added.
        let gc = ManuallyDrop::new(unsafe { Gc::from_raw(ptr) });
        std::mem::forget(Gc::clone(&gc));
    }

    /// Gives back one strong reference carried by a pointer from
    /// [`Gc::into_raw`] (like `Rc::decrement_strong_count`); if it was the
    /// last, the object dies as when its last `Gc` is dropped.
    ///
    /// # Safety
    /// As for [`Gc::from_raw`]: the pointer must carry the reference given
    /// back, which it no longer carries afterwards.
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let raw = Gc::into_raw(a.clone());
    /// // SAFETY: `raw` carries the reference of the clone, given back once.
    /// unsafe { Gc::decrement_strong_count(raw) };
    /// assert_eq!(Gc::strong_count(&a), 1);
    /// ```
    pub unsafe fn decrement_strong_count(ptr: *const T) {
        // SAFETY: forwarded to the caller.
        drop(unsafe { Gc::from_raw(ptr) });
    }

    /// Consumes the handle into the raw box pointer, for [`coerce_gc!`](crate::coerce_gc).
    #[doc(hidden)]
    pub fn __into_raw_box(this: Gc<T>) -> *const GcBox<T> {
        ManuallyDrop::new(this).ptr.as_ptr()
    }

    /// Rebuilds a handle from [`Gc::__into_raw_box`], for
    /// [`coerce_gc!`](crate::coerce_gc).
    ///
    /// # Safety
    /// `raw` must come from `__into_raw_box` (possibly unsize-coerced).
    #[doc(hidden)]
    pub unsafe fn __from_raw_box(raw: *const GcBox<T>) -> Gc<T> {
        // SAFETY: forwarded to the caller; the pointer is non-null.
        unsafe { Gc::from_inner(NonNull::new_unchecked(raw.cast_mut())) }
    }
}

/// Converts a `Gc<T>` into a `Gc<dyn Trait>` (or any unsized type `T`
/// coerces to), on stable Rust. An invalid coercion is a compile error.
///
/// ```
/// use gengc::{coerce_gc, Gc, Trace};
/// use std::fmt::Display;
///
/// trait Shape: Trace {
///     fn area(&self) -> f64;
/// }
///
/// #[derive(Trace)]
/// struct Square(f64);
/// impl Shape for Square {
///     fn area(&self) -> f64 {
///         self.0 * self.0
///     }
/// }
///
/// let shape: Gc<dyn Shape> = coerce_gc!(Gc::new(Square(2.0)) => dyn Shape);
/// assert_eq!(shape.area(), 4.0);
/// let shown: Gc<dyn Display> = coerce_gc!(Gc::new(5) => dyn Display);
/// assert_eq!(shown.to_string(), "5");
/// ```
///
/// ```compile_fail
/// use gengc::{coerce_gc, Gc};
/// // u8 is not Iterator: rejected at compile time.
/// let bad: Gc<dyn Iterator<Item = u8>> = coerce_gc!(Gc::new(5u8) => dyn Iterator<Item = u8>);
/// ```
#[macro_export]
macro_rules! coerce_gc {
    ($gc:expr => $ty:ty) => {{
        let raw = $crate::Gc::__into_raw_box($gc);
        // An implicit coercion: only unsizing is allowed here, unlike `as`.
        let coerced: *const $crate::__private::GcBox<$ty> = raw;
        // SAFETY: the pointer came from `__into_raw_box` and only its
        // metadata changed.
        unsafe { $crate::Gc::<$ty>::__from_raw_box(coerced) }
    }};
}

impl<T: ?Sized> Clone for Gc<T> {
    /// Adds a strong reference (aborts past 1,073,741,823 strong handles to
    /// one object, like `Rc` on count overflow).
    ///
    /// ```
    /// use gengc::Gc;
    /// let a = Gc::new(1);
    /// let b = a.clone();
    /// assert!(Gc::ptr_eq(&a, &b));
    /// ```
    #[inline(always)]
    fn clone(&self) -> Gc<T> {
        // Also ends a lend by `get_mut` (see `Header::inc_strong`).
        // SAFETY: a live handle's pointer, with its block's provenance.
        unsafe { Header::inc_strong(self.ptr.cast()) };
        // SAFETY: we just took the strong reference the new handle owns.
        unsafe { Gc::from_inner(self.ptr) }
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    #[inline(always)]
    fn drop(&mut self) {
        if self.header().release_strong() {
            // SAFETY: that was the last strong reference.
            unsafe { heap::strong_count_zero(self.ptr) }
        }
    }
}

impl<T: ?Sized> Deref for Gc<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: a live handle keeps the value alive; the only `&mut` ever
        // handed out (get_mut/make_mut) borrows this unique handle mutably.
        unsafe { &*ptr::addr_of!((*self.ptr.as_ptr()).value) }
    }
}

// SAFETY: a Gc owns exactly one edge to its target; `Gc<T>` itself needs no
// `T: Trace` (the target's own trace is the collector's business), which
// also keeps recursive types free of trait-resolution cycles.
unsafe impl<T: ?Sized> Trace for Gc<T> {
    #[inline(always)]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.edge(self.ptr);
    }

    /// The pointer never changes; whether its target's edges do is the
    /// target's own business (an untracked target cannot reach a cycle).
    #[inline(always)]
    fn has_fixed_edges() -> bool {
        true
    }
}

impl<T: Default + Trace + 'static> Default for Gc<T> {
    /// ```
    /// let a: gengc::Gc<u32> = Default::default();
    /// assert_eq!(*a, 0);
    /// ```
    fn default() -> Gc<T> {
        Gc::new(T::default())
    }
}

impl Default for Gc<str> {
    /// An empty string (like `Rc<str>`'s default).
    ///
    /// ```
    /// let s: gengc::Gc<str> = Default::default();
    /// assert!(s.is_empty());
    /// ```
    fn default() -> Gc<str> {
        Gc::from("")
    }
}

impl<T: Trace + 'static> Default for Gc<[T]> {
    /// An empty slice (like `Rc<[T]>`'s default).
    ///
    /// ```
    /// let s: gengc::Gc<[u8]> = Default::default();
    /// assert!(s.is_empty());
    /// ```
    fn default() -> Gc<[T]> {
        Gc::from(Vec::new())
    }
}

impl<T: Trace + 'static> From<T> for Gc<T> {
    /// ```
    /// let a = gengc::Gc::from(3);
    /// assert_eq!(*a, 3);
    /// ```
    fn from(value: T) -> Gc<T> {
        Gc::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&Gc::as_ptr(self), f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<T> {
    /// Compares the values, like `Rc`.
    ///
    /// ```
    /// use gengc::Gc;
    /// assert_eq!(Gc::new(1), Gc::new(1));
    /// ```
    #[inline]
    fn eq(&self, other: &Gc<T>) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<T> {}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<T> {
    fn partial_cmp(&self, other: &Gc<T>) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<T> {
    fn cmp(&self, other: &Gc<T>) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized + Hash> Hash for Gc<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: ?Sized> Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: ?Sized> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> Unpin for Gc<T> {}

/// Places and writes the header of an unsized object of `layout`.
fn place_unsized_box(
    type_id: TypeId,
    vtable: &'static crate::heap::vtable::VTable,
    layout: Layout,
    meta: usize,
) -> Placement {
    let place = heap::place_unsized(type_id, vtable, layout, meta);
    // SAFETY: the placement starts with room for a header.
    unsafe {
        place
            .header
            .as_ptr()
            .write(Header::new_strong(place.flags()))
    };
    place
}

/// The layout of a `GcBox<[T]>` of `len` elements.
fn slice_box_layout<T>(len: usize) -> Layout {
    Layout::new::<Header>()
        .extend(Layout::array::<T>(len).expect("gengc: slice too large"))
        .expect("gengc: slice too large")
        .0
        .pad_to_align()
}

impl<T: Trace + 'static> Gc<[T]> {
    /// Moves the elements of `v` into a new slice object.
    ///
    /// The block is placed first — placing may run an automatic collection,
    /// whose user code may panic — and only then do the elements leave the
    /// vector, so a panic leaves them owned (and dropped) by `v`.
    fn move_from_vec(mut v: Vec<T>) -> Gc<[T]> {
        // SAFETY: the vector holds `len` valid elements and forgets them
        // (length 0) once they are moved.
        unsafe {
            let gc = Gc::copy_slice_into_new(v.as_ptr(), v.len());
            v.set_len(0);
            gc
        }
    }

    /// Moves the `len` elements at `src` into a new slice object (placed
    /// first, as for [`Gc::copy_into_new`]).
    ///
    /// # Safety
    /// `src` must point to `len` valid elements whose owner, once this
    /// returns, gives them up without dropping them.
    unsafe fn copy_slice_into_new(src: *const T, len: usize) -> Gc<[T]> {
        let layout = slice_box_layout::<T>(len);
        let place = place_unsized_box(TypeId::of::<[T]>(), &SliceVTable::<T>::VTABLE, layout, len);
        // SAFETY: the block has room for the header and `len` elements at
        // the offset `extend` computed, which is where GcBox<[T]> puts them;
        // the caller's owner forgets the elements once they are copied.
        unsafe {
            let fat = ptr::slice_from_raw_parts_mut(place.header.as_ptr().cast::<T>(), len)
                as *mut GcBox<[T]>;
            let values = ptr::addr_of_mut!((*fat).value).cast::<T>();
            ptr::copy_nonoverlapping(src, values, len);
            heap::commit(place);
            Gc::from_inner(NonNull::new_unchecked(fat))
        }
    }
}

impl<T: Trace + 'static> From<Vec<T>> for Gc<[T]> {
    /// ```
    /// use gengc::Gc;
    /// let s: Gc<[i32]> = Gc::from(vec![1, 2, 3]);
    /// assert_eq!(&*s, &[1, 2, 3]);
    /// ```
    fn from(v: Vec<T>) -> Gc<[T]> {
        Gc::move_from_vec(v)
    }
}

impl<T: Trace + 'static, const N: usize> From<[T; N]> for Gc<[T]> {
    /// ```
    /// use gengc::Gc;
    /// let s: Gc<[u8]> = Gc::from([1, 2, 3]);
    /// assert_eq!(&*s, &[1, 2, 3]);
    /// ```
    fn from(array: [T; N]) -> Gc<[T]> {
        // SAFETY: the array holds N valid elements, and is forgotten once
        // they are moved (if placing the block panics, it still owns them).
        let gc = unsafe { Gc::copy_slice_into_new(array.as_ptr(), N) };
        std::mem::forget(array);
        gc
    }
}

impl<T: Trace + 'static> From<Box<[T]>> for Gc<[T]> {
    /// Moves the elements out of the box (which is then freed).
    ///
    /// ```
    /// use gengc::Gc;
    /// let boxed: Box<[u32]> = vec![4, 5].into_boxed_slice();
    /// let s: Gc<[u32]> = Gc::from(boxed);
    /// assert_eq!(&*s, &[4, 5]);
    /// ```
    fn from(b: Box<[T]>) -> Gc<[T]> {
        Gc::move_from_vec(b.into_vec())
    }
}

impl<T: Trace + 'static> From<Box<T>> for Gc<T> {
    /// Moves the value out of the box (which is then freed), heap to heap:
    /// a value too large for the stack converts too.
    ///
    /// ```
    /// use gengc::Gc;
    /// let g: Gc<String> = Gc::from(Box::new(String::from("boxed")));
    /// assert_eq!(*g, "boxed");
    /// ```
    fn from(b: Box<T>) -> Gc<T> {
        // SAFETY: the box holds a valid `T`; it is then freed as a box of
        // `MaybeUninit<T>` (the same layout), which does not drop the value
        // the new object now owns.
        unsafe {
            let gc = Gc::copy_into_new(&*b, true);
            drop(Box::from_raw(
                Box::into_raw(b).cast::<std::mem::MaybeUninit<T>>(),
            ));
            gc
        }
    }
}

impl<T: Trace + Clone + 'static> From<&[T]> for Gc<[T]> {
    /// ```
    /// use gengc::Gc;
    /// let s: Gc<[u8]> = Gc::from(&b"abc"[..]);
    /// assert_eq!(&*s, b"abc");
    /// ```
    fn from(v: &[T]) -> Gc<[T]> {
        Gc::from(v.to_vec())
    }
}

impl<T: Trace + Clone + 'static> From<std::borrow::Cow<'_, [T]>> for Gc<[T]> {
    /// Moves the elements of an owned `Cow`, clones those of a borrowed one.
    ///
    /// ```
    /// use gengc::Gc;
    /// use std::borrow::Cow;
    /// let s: Gc<[u8]> = Gc::from(Cow::Borrowed(&[1u8, 2][..]));
    /// assert_eq!(&*s, &[1, 2]);
    /// ```
    fn from(cow: std::borrow::Cow<'_, [T]>) -> Gc<[T]> {
        Gc::move_from_vec(cow.into_owned())
    }
}

impl<T: Trace + 'static> FromIterator<T> for Gc<[T]> {
    /// ```
    /// use gengc::Gc;
    /// let s: Gc<[u32]> = (1..=3).collect();
    /// assert_eq!(&*s, &[1, 2, 3]);
    /// ```
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Gc<[T]> {
        Gc::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl From<&str> for Gc<str> {
    /// ```
    /// use gengc::Gc;
    /// let s: Gc<str> = Gc::from("hello");
    /// assert_eq!(&*s, "hello");
    /// ```
    fn from(s: &str) -> Gc<str> {
        let layout = slice_box_layout::<u8>(s.len());
        let place = place_unsized_box(TypeId::of::<str>(), &STR_VTABLE, layout, s.len());
        // SAFETY: as in `copy_from_slice_raw`; str has u8's layout.
        unsafe {
            let fat = ptr::slice_from_raw_parts_mut(place.header.as_ptr().cast::<u8>(), s.len())
                as *mut GcBox<[u8]>;
            ptr::copy_nonoverlapping(
                s.as_ptr(),
                ptr::addr_of_mut!((*fat).value).cast::<u8>(),
                s.len(),
            );
            heap::commit(place);
            Gc::from_inner(NonNull::new_unchecked(fat as *mut GcBox<str>))
        }
    }
}

impl From<Box<str>> for Gc<str> {
    /// ```
    /// use gengc::Gc;
    /// let s: Gc<str> = Gc::from(Box::<str>::from("boxed"));
    /// assert_eq!(&*s, "boxed");
    /// ```
    fn from(s: Box<str>) -> Gc<str> {
        Gc::from(&*s)
    }
}

impl From<std::borrow::Cow<'_, str>> for Gc<str> {
    /// ```
    /// use gengc::Gc;
    /// use std::borrow::Cow;
    /// let s: Gc<str> = Gc::from(Cow::Borrowed("cow"));
    /// assert_eq!(&*s, "cow");
    /// ```
    fn from(s: std::borrow::Cow<'_, str>) -> Gc<str> {
        Gc::from(&*s)
    }
}

impl From<String> for Gc<str> {
    /// ```
    /// use gengc::Gc;
    /// let s: Gc<str> = Gc::from(String::from("owned"));
    /// assert_eq!(&*s, "owned");
    /// ```
    fn from(s: String) -> Gc<str> {
        Gc::from(s.as_str())
    }
}
