//! `Trace` for the standard library's types.
//!
//! Leaf types (no `Gc` can hide inside) answer `needs_trace() == false` so
//! the objects holding them are never tracked. Containers trace each element
//! exactly once and inherit leafness from their element types. `Rc`/`Arc`
//! deliberately have no impl (except `Rc<str>`/`Arc<str>`): two `Rc`s sharing
//! one value would report the same `Gc` twice, which the collector would take
//! for two references — see the [`Trace`] safety contract.

use super::{Trace, Tracer};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::marker::PhantomData;

macro_rules! leaf {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: values of this type own no `Gc`.
        unsafe impl Trace for $t {
            #[inline(always)]
            fn trace(&self, _: &mut Tracer<'_>) {}
            #[inline(always)]
            fn needs_trace() -> bool { false }
        }
    )*};
}

leaf!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroU128,
    std::num::NonZeroUsize,
    std::num::NonZeroI8,
    std::num::NonZeroI16,
    std::num::NonZeroI32,
    std::num::NonZeroI64,
    std::num::NonZeroI128,
    std::num::NonZeroIsize,
    std::sync::atomic::AtomicBool,
    std::sync::atomic::AtomicU8,
    std::sync::atomic::AtomicU16,
    std::sync::atomic::AtomicU32,
    std::sync::atomic::AtomicU64,
    std::sync::atomic::AtomicUsize,
    std::sync::atomic::AtomicI8,
    std::sync::atomic::AtomicI16,
    std::sync::atomic::AtomicI32,
    std::sync::atomic::AtomicI64,
    std::sync::atomic::AtomicIsize,
    std::time::Duration,
    std::time::Instant,
    std::time::SystemTime,
    std::path::PathBuf,
    std::ffi::OsString,
    std::ffi::CString,
    std::any::TypeId,
    std::rc::Rc<str>,
    std::sync::Arc<str>,
    std::rc::Rc<[u8]>,
    std::sync::Arc<[u8]>,
    std::ops::Range<usize>,
    std::ops::RangeInclusive<usize>,
    std::net::IpAddr,
    std::net::SocketAddr,
    std::cmp::Ordering,
);

macro_rules! unsized_leaf {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: values of this type own no `Gc`.
        unsafe impl Trace for $t {
            #[inline(always)]
            fn trace(&self, _: &mut Tracer<'_>) {}
        }
    )*};
}

unsized_leaf!(str, std::path::Path, std::ffi::OsStr, std::ffi::CStr);

// SAFETY: a shared reference does not own its target; whoever owns the
// target traces it (tracing here would visit the same `Gc` twice).
unsafe impl<T: ?Sized> Trace for &T {
    #[inline(always)]
    fn trace(&self, _: &mut Tracer<'_>) {}
    #[inline(always)]
    fn needs_trace() -> bool {
        false
    }
}

// SAFETY: holds no value.
unsafe impl<T: ?Sized> Trace for PhantomData<T> {
    #[inline(always)]
    fn trace(&self, _: &mut Tracer<'_>) {}
    #[inline(always)]
    fn needs_trace() -> bool {
        false
    }
}

// SAFETY: a Box owns its value exactly once. Whether an unsized `T` owns a
// `Gc` is unknown without an instance, so `needs_trace` is `true`: a
// `Box<str>` field makes its type tracked (mark it `#[gc(skip)]` to avoid
// that); `Box<dyn Trait>` with `Trait: Trace` just works.
unsafe impl<T: ?Sized + Trace> Trace for Box<T> {
    #[inline(always)]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        (**self).trace(tracer);
    }
    #[inline(always)]
    fn finalize_glue(&self) {
        (**self).finalize_glue();
    }
    #[inline(always)]
    fn needs_finalize() -> bool {
        true
    }
}

macro_rules! sequence {
    ($($name:ident<$t:ident $(, $extra:ident)?> $(where $($bound:tt)*)?);* $(;)?) => {$(
        // SAFETY: iteration visits each element once.
        unsafe impl<$t: Trace $(, $extra)?> Trace for $name<$t $(, $extra)?> $(where $($bound)*)? {
            #[inline]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if $t::needs_trace() {
                    for x in self.iter() {
                        x.trace(tracer);
                    }
                }
            }
            #[inline(always)]
            fn needs_trace() -> bool {
                $t::needs_trace()
            }
            #[inline(always)]
            fn has_fixed_edges() -> bool {
                $t::has_fixed_edges()
            }
            #[inline]
            fn finalize_glue(&self) {
                if $t::needs_finalize() {
                    for x in self.iter() {
                        x.finalize_glue();
                    }
                }
            }
            #[inline(always)]
            fn needs_finalize() -> bool {
                $t::needs_finalize()
            }
        }
    )*};
}

sequence! {
    Vec<T>;
    VecDeque<T>;
    LinkedList<T>;
    BinaryHeap<T>;
    BTreeSet<T>;
    HashSet<T, S>;
    Option<T>;
}

// SAFETY: each element once.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.as_slice().trace(tracer);
    }
    #[inline(always)]
    fn needs_trace() -> bool {
        T::needs_trace()
    }
    #[inline(always)]
    fn has_fixed_edges() -> bool {
        T::has_fixed_edges()
    }
    #[inline]
    fn finalize_glue(&self) {
        self.as_slice().finalize_glue();
    }
    #[inline(always)]
    fn needs_finalize() -> bool {
        T::needs_finalize()
    }
}

// SAFETY: each element once.
unsafe impl<T: Trace> Trace for [T] {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::needs_trace() {
            for x in self {
                x.trace(tracer);
            }
        }
    }
    #[inline]
    fn finalize_glue(&self) {
        if T::needs_finalize() {
            for x in self {
                x.finalize_glue();
            }
        }
    }
}

macro_rules! map {
    ($($name:ident<K, V $(, $extra:ident)?>);* $(;)?) => {$(
        // SAFETY: each key and value once.
        unsafe impl<K: Trace, V: Trace $(, $extra)?> Trace for $name<K, V $(, $extra)?> {
            #[inline]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if Self::needs_trace() {
                    for (k, v) in self.iter() {
                        k.trace(tracer);
                        v.trace(tracer);
                    }
                }
            }
            #[inline(always)]
            fn needs_trace() -> bool {
                K::needs_trace() || V::needs_trace()
            }
            #[inline(always)]
            fn has_fixed_edges() -> bool {
                K::has_fixed_edges() && V::has_fixed_edges()
            }
            #[inline]
            fn finalize_glue(&self) {
                if Self::needs_finalize() {
                    for (k, v) in self.iter() {
                        k.finalize_glue();
                        v.finalize_glue();
                    }
                }
            }
            #[inline(always)]
            fn needs_finalize() -> bool {
                K::needs_finalize() || V::needs_finalize()
            }
        }
    )*};
}

map! {
    HashMap<K, V, S>;
    BTreeMap<K, V>;
}

// SAFETY: exactly one of the two is present and traced.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        match self {
            Ok(t) => t.trace(tracer),
            Err(e) => e.trace(tracer),
        }
    }
    #[inline(always)]
    fn needs_trace() -> bool {
        T::needs_trace() || E::needs_trace()
    }
    #[inline(always)]
    fn has_fixed_edges() -> bool {
        T::has_fixed_edges() && E::has_fixed_edges()
    }
    #[inline]
    fn finalize_glue(&self) {
        match self {
            Ok(t) => t.finalize_glue(),
            Err(e) => e.finalize_glue(),
        }
    }
    #[inline(always)]
    fn needs_finalize() -> bool {
        T::needs_finalize() || E::needs_finalize()
    }
}

// SAFETY: a mutably borrowed cell is skipped: its targets then look
// referenced from outside and survive this collection (conservative, never
// unsound). Reading it while only shared borrows exist is sound.
unsafe impl<T: Trace> Trace for RefCell<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        // `try_borrow_unguarded` reads the borrow flag without writing it
        // (no guard to create and drop on every collection pass). Sound: no
        // user code runs while `trace` holds the reference, so no
        // `borrow_mut` can start meanwhile.
        // SAFETY: as above.
        match unsafe { self.try_borrow_unguarded() } {
            Ok(value) => value.trace(tracer),
            Err(_) if T::needs_trace() => tracer.skipped_borrowed(),
            Err(_) => {}
        }
    }
    #[inline(always)]
    fn needs_trace() -> bool {
        T::needs_trace()
    }
    #[inline]
    fn finalize_glue(&self) {
        if let Ok(value) = self.try_borrow() {
            value.finalize_glue();
        }
    }
    #[inline(always)]
    fn needs_finalize() -> bool {
        T::needs_finalize()
    }
}

// SAFETY: `Cell` hands out no reference to its contents, so a shared view
// of them cannot alias a `&mut` except through `Cell::get_mut`, which needs
// `&mut` to the container — and the collector never reads a value lent out
// mutably (`Gc::get_mut`) or a `RefCell` borrowed mutably. While `trace`
// runs, no user code can call `set` (the Trace contract forbids side
// effects). Finalizers are *not* run inside a `Cell`: a finalizer may run
// arbitrary code, which could replace the cell's value under our reference.
unsafe impl<T: Trace> Trace for Cell<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        // SAFETY: see the impl comment.
        unsafe { (*self.as_ptr()).trace(tracer) }
    }
    #[inline(always)]
    fn needs_trace() -> bool {
        T::needs_trace()
    }
}

// SAFETY: a set `OnceCell` never changes again; an empty one owns nothing.
unsafe impl<T: Trace> Trace for OnceCell<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Some(value) = self.get() {
            value.trace(tracer);
        }
    }
    #[inline(always)]
    fn needs_trace() -> bool {
        T::needs_trace()
    }
    #[inline]
    fn finalize_glue(&self) {
        if let Some(value) = self.get() {
            value.finalize_glue();
        }
    }
    #[inline(always)]
    fn needs_finalize() -> bool {
        T::needs_finalize()
    }
}

macro_rules! wrapper {
    ($($name:ident),*) => {$(
        // SAFETY: the single wrapped value, once.
        unsafe impl<T: Trace> Trace for $name<T> {
            #[inline]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                self.0.trace(tracer);
            }
            #[inline(always)]
            fn needs_trace() -> bool {
                T::needs_trace()
            }
            #[inline(always)]
            fn has_fixed_edges() -> bool {
                T::has_fixed_edges()
            }
            #[inline]
            fn finalize_glue(&self) {
                self.0.finalize_glue();
            }
            #[inline(always)]
            fn needs_finalize() -> bool {
                T::needs_finalize()
            }
        }
    )*};
}

use std::cmp::Reverse;
use std::num::Wrapping;
wrapper!(Reverse, Wrapping);

macro_rules! tuple {
    ($(($($t:ident $i:tt),+))*) => {$(
        // SAFETY: each field once.
        unsafe impl<$($t: Trace),+> Trace for ($($t,)+) {
            #[inline]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                $(self.$i.trace(tracer);)+
            }
            #[inline(always)]
            fn needs_trace() -> bool {
                false $(|| $t::needs_trace())+
            }
            #[inline(always)]
            fn has_fixed_edges() -> bool {
                true $(&& $t::has_fixed_edges())+
            }
            #[inline]
            fn finalize_glue(&self) {
                $(self.$i.finalize_glue();)+
            }
            #[inline(always)]
            fn needs_finalize() -> bool {
                false $(|| $t::needs_finalize())+
            }
        }
    )*};
}

tuple! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11)
}
