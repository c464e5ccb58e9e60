//! The [`Trace`] trait the collector uses to find the references between
//! objects, the [`Finalize`] hook, and their implementations for std types.

#[macro_use]
mod std_impls;

#[cfg(feature = "indexmap")]
mod indexmap_impls;
#[cfg(feature = "smallvec")]
mod smallvec_impls;

use crate::collector::visit::{Mode, Visitor};
use crate::heap::header::GcBox;
use std::ptr::NonNull;

/// A type whose values can live in a [`Gc`](crate::Gc) and own other `Gc`s.
///
/// The cycle collector finds garbage the way CPython does: it copies each
/// object's strong count, subtracts one for every reference it finds *inside*
/// the objects it examines, and keeps everything whose remainder is above
/// zero (referenced from outside) plus what that reaches. `Trace` is how it
/// finds those inside references.
///
/// Derive it — `#[derive(Trace)]` — rather than writing it by hand. The
/// derive also forbids a `Drop` impl on the type (see [`Finalize`]).
///
/// # Safety
///
/// A hand-written implementation must uphold, for every call of `trace`:
///
/// 1. **Visit every `Gc` the value owns at most once.** Visiting a `Gc` twice
///    makes the collector believe its target has one more internal reference
///    than it has, so a live object can be judged garbage and freed:
///    use-after-free. (Visiting it *zero* times is safe: the target only looks
///    referenced from outside and survives — a leak, never unsoundness.) Do
///    not trace through shared ownership (`Rc<T>`, `&T`): another owner visits
///    the same `Gc`.
/// 2. **Be deterministic and side-effect free**: visit the same `Gc`s every
///    time it is called while no user code runs in between; do not create,
///    clone, drop, or dereference any `Gc`, allocate a `Gc`, or mutate any
///    cell. The collector calls `trace` several times per collection.
/// 3. If the type implements `Drop`, that `drop` must not dereference, clone
///    or store any `Gc` the value owns: during cycle teardown its neighbours
///    may already be dropped.
/// 4. `needs_trace` may return `false` only if no value of the type can own
///    a `Gc` (returning `false` for a type that does own one is safe but
///    leaks every cycle through it). The same holds for `is_acyclic`
///    returning `true`.
///
/// # Example
///
/// ```
/// use gengc::{Gc, Trace, Tracer};
/// use std::cell::RefCell;
///
/// // A hand-written impl; `#[derive(Trace)]` generates the same.
/// struct Node {
///     label: String,
///     next: RefCell<Option<Gc<Node>>>,
/// }
///
/// unsafe impl Trace for Node {
///     fn trace(&self, tracer: &mut Tracer<'_>) {
///         self.next.trace(tracer); // `label` owns no `Gc`
///     }
/// }
///
/// let a = Gc::new(Node { label: "a".into(), next: RefCell::new(None) });
/// *a.next.borrow_mut() = Some(a.clone()); // a self-cycle
/// drop(a);
/// assert_eq!(gengc::collect(), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Trace`, so the collector cannot see the `Gc`s it may own",
    label = "not `Trace`",
    note = "derive it with `#[derive(Trace)]`, or mark the field `#[gc(skip)]` if it owns no `Gc` (skipping only leaks, never frees early)"
)]
pub unsafe trait Trace {
    /// Visits every `Gc` this value owns, by calling `trace` on each field
    /// that may own one.
    fn trace(&self, tracer: &mut Tracer<'_>);

    /// Whether a value of this type may own a `Gc`. Types that answer `false`
    /// (integers, `String`, `Vec<u8>`, …) are never tracked by the cycle
    /// collector: like CPython's atomic objects, they cost nothing to it.
    ///
    /// The answer must not depend on the value; derived impls compute it from
    /// the field types, and the optimiser folds it to a constant.
    ///
    /// ```
    /// use gengc::{Gc, Trace};
    /// assert!(!<String as Trace>::needs_trace());
    /// assert!(<Vec<Gc<u8>> as Trace>::needs_trace());
    /// ```
    #[inline(always)]
    fn needs_trace() -> bool
    where
        Self: Sized,
    {
        true
    }

    /// Whether a value of this type, living in its own `Gc`, can never be
    /// part of a reference cycle. Objects of such a type are not tracked by
    /// the cycle collector even though they own `Gc`s: collections never
    /// read them (their references count as references from outside, like
    /// a `Gc` on the stack), and their deaths are pure reference counting.
    ///
    /// The derive answers `true` for types marked `#[gc(acyclic)]`, `false`
    /// otherwise. A type is truly acyclic when nothing reachable from its
    /// values can be changed to point back at them: no `RefCell`, `Cell` or
    /// other interior mutability that can hold a `Gc`, anywhere its `Gc`s
    /// lead (an immutable tree, an AST, a persistent list). A wrong `true`
    /// is safe: a cycle through such an object is never collected and
    /// leaks, as it would with `Rc` — it is never freed early.
    ///
    /// Without the promise, such a type usually has
    /// [fixed edges](Trace::has_fixed_edges): built bottom-up, its objects
    /// are born untracked, and otherwise leave the collector at the first
    /// collection that sees them. The promise saves the one trace of each
    /// value at its birth (and that collection).
    ///
    /// ```
    /// use gengc::{gc, Gc, Trace};
    ///
    /// #[derive(Trace)]
    /// #[gc(acyclic)]
    /// struct Cons {
    ///     head: u64,
    ///     tail: Option<Gc<Cons>>,
    /// }
    ///
    /// assert!(<Cons as Trace>::is_acyclic());
    /// let list = Gc::new(Cons { head: 1, tail: Some(Gc::new(Cons { head: 2, tail: None })) });
    /// assert!(!gc::is_tracked(&list));
    /// ```
    #[inline(always)]
    fn is_acyclic() -> bool
    where
        Self: Sized,
    {
        false
    }

    /// Whether the `Gc`s a value of this type owns are fixed for as long as
    /// the value is shared: no `RefCell`, `Cell`, `OnceCell` or other
    /// interior mutability around any of them (only `&mut` access, which
    /// needs the object's only handle, can change them).
    ///
    /// An object of such a type that references only untracked objects can
    /// never be part of a cycle. [`Gc::new`](crate::Gc::new) checks this
    /// when the value arrives (one trace) and, if so, never tracks the
    /// object, as CPython creates dicts of untracked values untracked.
    /// Otherwise the object is born young, and a collection that later finds
    /// all its targets untracked takes it out of the generations, as CPython
    /// untracks tuples (`_PyTuple_MaybeUntrack`); only young and middle
    /// objects are tried. [`Gc::get_mut`](crate::Gc::get_mut) (and so
    /// [`Gc::make_mut`](crate::Gc::make_mut)) puts it back in the young
    /// generation, since a `&mut` can change its edges. An immutable tree or
    /// list built bottom-up is thus never tracked at all, without the
    /// promise [`is_acyclic`](Trace::is_acyclic) asks for.
    ///
    /// The default answers `true` exactly for types that own no `Gc`
    /// (`!needs_trace()`). The derive answers `true` when every traced
    /// field's type does; containers answer for their elements, `Gc` and
    /// `Weak` answer `true` (the pointer itself never changes), the cells
    /// answer `true` only around types that own no `Gc`, and `Box<T>`
    /// answers `false` (an unsized `T` cannot be asked). A wrong `true` is
    /// safe: a cycle through such an object may leak, as with `Rc`; it is
    /// never freed early.
    ///
    /// ```
    /// use gengc::{gc, Gc, Trace};
    /// use std::cell::RefCell;
    ///
    /// #[derive(Trace)]
    /// struct Cons {
    ///     head: u64,
    ///     tail: Option<Gc<Cons>>,
    /// }
    ///
    /// #[derive(Trace)]
    /// struct Ring {
    ///     next: RefCell<Option<Gc<Ring>>>,
    /// }
    ///
    /// assert!(<Cons as Trace>::has_fixed_edges());
    /// assert!(!<Ring as Trace>::has_fixed_edges());
    ///
    /// let list = Gc::new(Cons { head: 1, tail: Some(Gc::new(Cons { head: 2, tail: None })) });
    /// assert!(!gc::is_tracked(&list)); // it can never be part of a cycle
    ///
    /// let ring = Gc::new(Ring { next: RefCell::new(None) });
    /// assert!(gc::is_tracked(&ring)); // its cell may close a cycle later
    /// ```
    #[inline(always)]
    fn has_fixed_edges() -> bool
    where
        Self: Sized,
    {
        !Self::needs_trace()
    }

    /// Runs the [`Finalize`] hooks of this value and of the values it owns
    /// inline (not those behind another `Gc`: each object is finalized on
    /// its own). The collector calls it at most once per object.
    #[inline(always)]
    fn finalize_glue(&self) {}

    /// Whether `finalize_glue` does anything for this type.
    #[inline(always)]
    fn needs_finalize() -> bool
    where
        Self: Sized,
    {
        false
    }
}

/// A cleanup hook that runs once, before an object's memory is reclaimed,
/// while every object it references is still intact (CPython's PEP 442).
///
/// Types that derive [`Trace`] may not implement `Drop`: when a cycle is torn
/// down, the values are dropped one after another, so a `Drop` of one of them
/// could see a neighbour that is already gone. `finalize` runs *before* any
/// value of the garbage is dropped, so it may read its neighbours freely.
///
/// Enable it with `#[gc(finalize)]` on the deriving type:
///
/// - for an object freed because its last `Gc` was dropped, `finalize` runs
///   first, then the value is dropped;
/// - for an object in unreachable cyclic garbage, every finalizer of the
///   garbage runs first; a finalizer may *resurrect* objects (store a `Gc` to
///   them somewhere reachable), and what it resurrects survives intact; the
///   rest is then dropped;
/// - a finalizer runs at most once per object, even if the object was
///   resurrected and dies again later.
///
/// During `finalize`, `Weak` handles to the garbage no longer upgrade.
///
/// ```
/// use gengc::{Finalize, Gc, Trace};
/// use std::cell::{Cell, RefCell};
///
/// thread_local!(static CLOSED: Cell<u32> = const { Cell::new(0) });
///
/// #[derive(Trace)]
/// #[gc(finalize)]
/// struct File {
///     peer: RefCell<Option<Gc<File>>>,
/// }
///
/// impl Finalize for File {
///     fn finalize(&self) {
///         // The peer is still intact here, even inside a cycle.
///         assert!(self.peer.borrow().is_some());
///         CLOSED.with(|c| c.set(c.get() + 1));
///     }
/// }
///
/// let a = Gc::new(File { peer: RefCell::new(None) });
/// let b = Gc::new(File { peer: RefCell::new(Some(a.clone())) });
/// *a.peer.borrow_mut() = Some(b);
/// drop(a);
/// gengc::collect();
/// assert_eq!(CLOSED.with(Cell::get), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[gc(finalize)]` needs `impl Finalize for {Self}`",
    note = "write `impl gengc::Finalize for {Self} {{ fn finalize(&self) {{ ... }} }}`, or remove `#[gc(finalize)]`"
)]
pub trait Finalize {
    /// The cleanup; it runs at most once per object.
    fn finalize(&self);
}

/// The collector's visitor, handed to [`Trace::trace`].
///
/// It is opaque: a `Trace` impl only passes it on to the `trace` methods of
/// its fields.
///
/// ```
/// use gengc::{Gc, Trace, Tracer};
///
/// struct Pair(Gc<i32>, Gc<i32>);
///
/// unsafe impl Trace for Pair {
///     fn trace(&self, tracer: &mut Tracer<'_>) {
///         self.0.trace(tracer);
///         self.1.trace(tracer);
///     }
/// }
/// # let _ = Gc::new(Pair(Gc::new(1), Gc::new(2)));
/// ```
pub struct Tracer<'a> {
    visitor: &'a mut Visitor,
    /// The visitor's mode, by value: where the tracer is made with a
    /// constant mode (the per-mode trace entries of `VTable`), the edge
    /// visits of an inlined `Trace` impl compile to that mode's code alone.
    mode: Mode,
}

impl<'a> Tracer<'a> {
    /// A tracer reporting to `visitor`, in the visitor's mode.
    #[inline(always)]
    pub(crate) fn new(visitor: &'a mut Visitor) -> Tracer<'a> {
        let mode = visitor.mode();
        Tracer { visitor, mode }
    }

    /// A tracer reporting to `visitor`, in `mode` given as a constant.
    ///
    /// # Safety
    /// `mode` must be the visitor's own: its edges are visited in `mode`,
    /// and a visit in another mode than the visitor was made for reads
    /// scratch state that is not there (a mapped mode on an unmapped
    /// visitor) or marks live objects unreachable.
    #[inline(always)]
    pub(crate) unsafe fn in_mode(visitor: &'a mut Visitor, mode: Mode) -> Tracer<'a> {
        debug_assert_eq!(visitor.mode(), mode);
        Tracer { visitor, mode }
    }

    /// Reports one owned `Gc` edge to the collector.
    #[inline(always)]
    pub(crate) fn edge<T: ?Sized>(&mut self, target: NonNull<GcBox<T>>) {
        self.visitor.visit(self.mode, target);
    }

    /// Reports that some owned edges could not be read this time (a
    /// `RefCell` borrowed mutably): their targets are kept alive by this
    /// collection without being proved reachable.
    #[cold]
    pub(crate) fn skipped_borrowed(&mut self) {
        self.visitor.skipped = true;
    }
}
