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
#![warn(missing_docs)]
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
