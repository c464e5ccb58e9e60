//! Garbage-collected smart pointers that work the way CPython manages memory.
//!
//! [`Gc<T>`] is a reference-counted handle with the API of
//! [`std::rc::Rc`]: cloning adds a reference, dropping the last one frees the
//! object at once. Cycles — which pure counting leaks — are found by a
//! **generational cycle collector** (young, middle, old: CPython's
//! algorithm) and broken. Memory comes from **size-class pools**: objects up
//! to 512 bytes are carved from 16 KiB pools of equal blocks inside 1 MiB
//! arenas, with an 8-byte header per object; larger ones are allocated
//! alone.
//!
//! ```
//! use gengc::{Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace)]
//! struct Node {
//!     name: String,
//!     parent: RefCell<Option<Gc<Node>>>,
//!     children: RefCell<Vec<Gc<Node>>>,
//! }
//!
//! let root = Gc::new(Node { name: "root".into(), parent: RefCell::new(None), children: RefCell::new(vec![]) });
//! let child = Gc::new(Node {
//!     name: "child".into(),
//!     parent: RefCell::new(Some(root.clone())),
//!     children: RefCell::new(vec![]),
//! });
//! root.children.borrow_mut().push(child); // a cycle: root -> child -> root
//! drop(root); // the counts stay above zero...
//! assert_eq!(gengc::collect(), 2); // ...until the collector frees both
//! ```
//!
//! - [`Gc`] and [`Weak`]: the handles.
//! - [`Trace`] (trait and derive) tells the collector which `Gc`s a value
//!   owns; [`Finalize`] is the cleanup hook that replaces `Drop` on traced
//!   types.
//! - [`gc`]: control and introspection of the collector (thresholds,
//!   statistics, freezing, callbacks, `referents`/`referrers`); [`collect`]
//!   runs a full collection.
//! - [`memory_report`]: arenas, pools and blocks in use.
//! - [`type_stats`] and [`Snapshot`]: live objects and bytes per type, and
//!   what grew between two moments; [`dot`]: the object graph in Graphviz
//!   DOT, garbage in red.
//!
//! # How gengc maps to CPython
//!
//! | CPython | gengc |
//! |---|---|
//! | `Py_INCREF` / `Py_DECREF`, dealloc at zero | [`Gc::clone`] / `drop`; the value is dropped and its block reused at once |
//! | `PyGC_Head` (16 bytes) + `ob_refcnt` | an 8-byte header: strong count and lend marker, weak count, how the object dies, and four flag bits |
//! | obmalloc: 16 KiB pools, 1 MiB arenas, blocks ≤ 512 B | the same sizes; pools hold one *type* each, so the type's vtable lives in the pool header and the per-block generation bits in bitmaps beside it |
//! | an empty arena is `free`d at once (one spare kept) | an empty arena is kept 1 s for reuse, then returned (one spare kept), like jemalloc's and mimalloc's decay |
//! | `tp_traverse` | [`Trace::trace`] |
//! | atomic objects (`int`, `str`) are never tracked | types whose [`Trace::needs_trace`] is `false` (`String`, `Vec<u8>`, plain structs) |
//! | dicts of atomic values created untracked (`MAINTAIN_TRACKING`); all-atomic tuples untracked (`_PyTuple_MaybeUntrack`) | objects of types with [fixed edges](Trace::has_fixed_edges) (no cell around a `Gc`, derived) are born untracked when all they reference is untracked, or untracked by a collection once it is; [`Gc::get_mut`] tracks them again. Types marked `#[gc(acyclic)]` ([`Trace::is_acyclic`]) are never tracked at all |
//! | generations 0/1/2, `gc.freeze()` | young / middle / old, and the frozen set ([`gc::freeze`]) |
//! | `gc.set_threshold(2000, 10, 10)` and the 25 % rule | [`gc::set_threshold`], same defaults and rule |
//! | `__del__` / `tp_finalize` (PEP 442) | [`Finalize`], once per object, resurrection allowed |
//! | `gc.collect()`, `gc.get_stats()`, `gc.callbacks`, `DEBUG_SAVEALL` | [`collect`], [`gc::stats`], [`gc::add_callback`], [`gc::DebugFlags::SAVE_ALL`] |
//! | `sys._debugmallocstats()`, `tracemalloc` | [`memory_report`], [`type_stats`] and [`Snapshot`] |
//!
//! Each thread has its own heap (CPython's per-interpreter state): a `Gc` is
//! neither `Send` nor `Sync`.
//!
//! # How a collection works
//!
//! A collection of generation *g* examines the tracked objects of
//! generations `0..=g`. It counts, for each, the references coming from the
//! other objects examined (by tracing them); an object whose strong count is
//! higher is referenced from outside — the stack, an untracked value, an
//! older generation — and is alive, with everything it reaches. The rest is
//! garbage: weak references to it stop upgrading, finalizers run (and may
//! resurrect objects, which then survive with all they reach), and the
//! remaining values are dropped and their blocks freed. Survivors move up
//! one generation. No step recurses: a million-node cycle collects on a
//! small stack. See `src/collector/detect.rs` for the algorithm step by step.
//!
//! Automatic collections run only inside `Gc::new` of a tracked type:
//! after `threshold.0` net tracked allocations the young generation is
//! collected; every `threshold.1` young collections, the middle one too;
//! every `threshold.2` middle collections the old one, once the objects
//! promoted to it since its last collection exceed a quarter of its size
//! (so building a large structure stays linear).
//!
//! # When to call `collect`
//!
//! Rarely. Reference counting frees acyclic data immediately and automatic
//! collection keeps cyclic garbage bounded. Call [`collect`] to release
//! cycles at a known point (after closing a document, between game levels,
//! before measuring memory), in tests that assert what was freed, or after
//! [`gc::disable`] for latency-critical sections. Call [`gc::freeze`] after
//! loading large long-lived data so no collection scans it again.
//!
//! # Writing `Trace` by hand
//!
//! Derive it whenever possible. A hand-written impl — for a type wrapping
//! raw memory or a foreign container — must visit each `Gc` the value owns
//! **at most once** per call and do nothing else: no allocation, no
//! mutation, no cloning or dropping of `Gc`s. Visiting a `Gc` too often can
//! free a live object (use-after-free); visiting it too rarely only leaks.
//! When in doubt, leave a field out. The full contract is on [`Trace`].
//!
//! ```
//! use gengc::{Gc, Trace, Tracer};
//!
//! /// A ring buffer over raw storage.
//! struct Ring {
//!     items: Vec<Option<Gc<u32>>>,
//!     start: usize,
//! }
//!
//! // SAFETY: every slot is visited exactly once; nothing else happens.
//! unsafe impl Trace for Ring {
//!     fn trace(&self, tracer: &mut Tracer<'_>) {
//!         for item in &self.items {
//!             item.trace(tracer);
//!         }
//!     }
//! }
//! # let _ = Gc::new(Ring { items: vec![Some(Gc::new(1))], start: 0 });
//! ```
//!
//! # Pitfalls
//!
//! - **`Rc` inside a `Gc`.** `Rc<T>` has no `Trace` impl (two `Rc`s sharing a
//!   value would report its `Gc`s twice). Use `Gc` for shared data, or mark
//!   the field `#[gc(skip)]` if it owns no `Gc`.
//! - **`#[gc(skip)]` on a field that owns a `Gc`** hides that reference from
//!   the collector: a cycle through it is never collected (a leak, never a
//!   crash).
//! - **A `RefCell` borrowed mutably during a collection** is not traced: its
//!   targets survive that collection and are collected by a later one.
//! - **`Gc::get_mut` / `Gc::make_mut`**: the collector never reads a value
//!   lent out this way; an object whose only handles were moved, never
//!   cloned, into each other's values through such borrows cannot be
//!   collected until one is cloned or downgraded.
//! - **`Drop` on traced types** is a compile error: during cycle teardown a
//!   `Drop` could see neighbours already dropped. Use [`Finalize`] (it runs
//!   before anything is dropped), or `#[gc(unsafe_drop)]` if the `Drop` never
//!   touches a `Gc`.
//! - **Resurrected objects**: once judged garbage, an object's [`Weak`]s
//!   never upgrade again, even if a finalizer resurrects it.
//! - **Thread exit** runs a last full collection; a `Gc` kept alive past it
//!   (in another thread-local) stays valid, and its memory is never
//!   reclaimed.
//!
//! # Cargo features
//!
//! - `derive` (default): `#[derive(Trace)]`.
//! - `indexmap`, `smallvec`: `Trace` for those crates' collections.
//! - `log`: [`gc::DebugFlags::STATS`] reports through the `log` crate.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod any;
mod collector;
mod handle;
mod heap;
mod introspect;
mod trace;
mod weak;

pub use any::AnyGc;
pub use collector::control as gc;
pub use collector::control::collect;
pub use handle::Gc;
pub use heap::report::{memory_report, MemoryReport, SizeClassReport};
pub use introspect::dot;
pub use introspect::{type_stats, Snapshot, TypeDiff, TypeStat, TypeStats, Usage};
pub use trace::{Finalize, Trace, Tracer};
pub use weak::Weak;

/// `#[derive(Trace)]`: see [`Trace`] and the `gengc-derive` crate docs.
#[cfg(feature = "derive")]
pub use gengc_derive::Trace;

/// Items the derive macro and `coerce_gc!` expand to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::heap::header::GcBox;

    /// Implemented by the derive for every type deriving `Trace`; the blanket
    /// impl below makes a user `impl Drop` on such a type a compile error
    /// (E0119). Use `Finalize`, or `#[gc(unsafe_drop)]` if the `Drop` never
    /// touches a `Gc`.
    #[allow(non_camel_case_types)]
    pub trait DeriveTraceForbidsDrop_UseFinalizeOrGcUnsafeDrop {}

    #[allow(drop_bounds)]
    impl<T: Drop> DeriveTraceForbidsDrop_UseFinalizeOrGcUnsafeDrop for T {}
}
