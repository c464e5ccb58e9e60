//! [`AnyGc`]: a strong handle to an object of any type, as returned by the
//! introspection functions of [`gc`](crate::gc).

use crate::heap::header::Header;
use crate::heap::object::ObjRef;
use crate::heap::release_strong_erased;
use crate::Gc;
use std::any::TypeId;
use std::fmt;

/// A strong, type-erased handle to a collector-managed object.
///
/// It keeps the object alive like a `Gc` does. Get the typed handle back
/// with [`AnyGc::downcast`].
///
/// ```
/// use gengc::{gc, Gc};
/// let leaf = Gc::new(5u32);
/// let list = Gc::new(vec![leaf.clone()]);
/// let any = gc::referents(&list).pop().unwrap();
/// assert_eq!(any.type_name(), "u32");
/// let back: Gc<u32> = any.downcast().unwrap();
/// assert!(Gc::ptr_eq(&back, &leaf));
/// ```
pub struct AnyGc {
    obj: ObjRef,
}

impl AnyGc {
    /// Takes a new strong reference.
    ///
    /// # Safety
    /// The object must be alive and erasable.
    pub(crate) unsafe fn new_strong(obj: ObjRef) -> AnyGc {
        // SAFETY: forwarded to the caller.
        unsafe { Header::inc_strong(obj.header_ptr()) };
        AnyGc { obj }
    }

    /// Adopts a strong reference the caller already holds.
    ///
    /// # Safety
    /// The caller transfers one strong reference to the result.
    pub(crate) unsafe fn from_held(obj: ObjRef) -> AnyGc {
        AnyGc { obj }
    }

    /// The object this handle keeps alive.
    pub(crate) fn obj(&self) -> ObjRef {
        self.obj
    }

    /// The name of the value's type.
    ///
    /// ```
    /// use gengc::{gc, Gc};
    /// let v = Gc::new(vec![Gc::new(String::new())]);
    /// assert_eq!(gc::referents(&v)[0].type_name(), "alloc::string::String");
    /// ```
    pub fn type_name(&self) -> &'static str {
        // SAFETY: the handle keeps the block allocated.
        unsafe { (self.obj.vtable().0.type_name)() }
    }

    /// The number of strong handles (`Gc`s and `AnyGc`s) to the object.
    ///
    /// ```
    /// use gengc::{gc, Gc};
    /// let leaf = Gc::new(1);
    /// let v = Gc::new(vec![leaf.clone()]);
    /// let any = gc::referents(&v).pop().unwrap();
    /// assert_eq!(any.strong_count(), 3); // `leaf`, the vector's, `any`
    /// ```
    pub fn strong_count(&self) -> usize {
        // SAFETY: the handle keeps the block allocated.
        unsafe { self.obj.header().strong() as usize }
    }

    /// Whether this is the object `gc` points to.
    ///
    /// ```
    /// use gengc::{gc, Gc};
    /// let leaf = Gc::new(1);
    /// let v = Gc::new(vec![leaf.clone()]);
    /// assert!(gc::referents(&v)[0].ptr_eq(&leaf));
    /// ```
    pub fn ptr_eq<T: ?Sized>(&self, gc: &Gc<T>) -> bool {
        self.obj.header_ptr() == gc.obj().header_ptr()
    }

    /// The address of the object (its header), for identity and display.
    ///
    /// ```
    /// use gengc::{gc, Gc};
    /// let v = Gc::new(vec![Gc::new(1)]);
    /// let a = gc::referents(&v);
    /// let b = gc::referents(&v);
    /// assert_eq!(a[0].as_ptr(), b[0].as_ptr());
    /// ```
    pub fn as_ptr(&self) -> *const u8 {
        self.obj.header_ptr().as_ptr().cast::<u8>().cast_const()
    }

    /// The typed handle, if the value is a `T`; otherwise `self` back.
    ///
    /// ```
    /// use gengc::{gc, Gc};
    /// let v = Gc::new(vec![Gc::new(1u8)]);
    /// let any = gc::referents(&v).pop().unwrap();
    /// let any = any.downcast::<u16>().unwrap_err();
    /// assert_eq!(*any.downcast::<u8>().unwrap(), 1);
    /// ```
    pub fn downcast<T: 'static>(self) -> Result<Gc<T>, AnyGc> {
        // SAFETY: the handle keeps the block allocated.
        let (vtable, _) = unsafe { self.obj.vtable() };
        if (vtable.type_id)() != TypeId::of::<T>() {
            return Err(self);
        }
        let ptr = self.obj.header_ptr().cast();
        std::mem::forget(self);
        // SAFETY: the type matches and our strong reference moves to the Gc.
        Ok(unsafe { Gc::from_inner(ptr) })
    }
}

impl Clone for AnyGc {
    fn clone(&self) -> AnyGc {
        // SAFETY: the object is alive while `self` is.
        unsafe { AnyGc::new_strong(self.obj) }
    }
}

impl Drop for AnyGc {
    fn drop(&mut self) {
        // SAFETY: we own one strong reference; only erasable objects become
        // AnyGc.
        unsafe { release_strong_erased(self.obj) }
    }
}

impl fmt::Debug for AnyGc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnyGc({} @ {:p})", self.type_name(), self.as_ptr())
    }
}
