//! `#[derive(Trace)]` for [gengc](https://docs.rs/gengc).
//!
//! Use it through `gengc::Trace` (the `derive` feature of `gengc`, on by
//! default); this crate is an implementation detail of gengc. The derive is
//! documented on [`macro@Trace`].
//!
//! Layout: `attrs.rs` parses the `#[gc(...)]` attributes, `expand.rs`
//! generates the impls.

#![forbid(unsafe_code)]

mod attrs;
mod expand;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `gengc::Trace`: the collector can then find the `Gc`s a value owns.
///
/// ```
/// use gengc::{Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node {
///     name: String,
///     children: RefCell<Vec<Gc<Node>>>,
/// }
///
/// #[derive(Trace)]
/// enum Expr {
///     Number(f64),
///     Add(Gc<Expr>, Gc<Expr>),
///     Call { function: Gc<Expr>, args: Vec<Gc<Expr>> },
/// }
///
/// let root = Gc::new(Node { name: "root".into(), children: RefCell::new(Vec::new()) });
/// root.children.borrow_mut().push(root.clone()); // a cycle
/// drop(root);
/// assert_eq!(gengc::collect(), 1);
/// # let _ = Expr::Number(1.0);
/// ```
///
/// # What it generates
///
/// For structs (named, tuple, unit) and enums (any variant shapes, also
/// without variants), an `unsafe impl Trace` whose
///
/// - `trace` visits every field exactly once, except `#[gc(skip)]` fields;
/// - `needs_trace` is `true` if any traced field's type may own a `Gc`: a
///   struct of `String`s and integers is a leaf that the collector never
///   tracks;
/// - `is_acyclic` is `true` with `#[gc(acyclic)]` (not emitted otherwise:
///   the trait's default is `false`);
/// - `has_fixed_edges` is `true` if every traced field's type answers `true`
///   (no `RefCell`, `Cell` or other cell around a `Gc`): a collection then
///   untracks objects of the type once everything they reference is
///   untracked;
/// - `finalize_glue` runs the type's own `Finalize` hook (with
///   `#[gc(finalize)]`), then those of the traced fields; `needs_finalize`
///   says whether any of that does something.
///
/// The impl requires `T: Trace` for every type parameter `T` used in a traced
/// field (and `T::Assoc: Trace` for an associated type `T::Assoc` used there);
/// a parameter used only in skipped fields gets no bound. `bound = "..."`
/// replaces these bounds. The type's own bounds and where clause are kept.
///
/// A possibly unsized last field (`str`, `[T]`, `dyn Trait`, a `T: ?Sized`)
/// is traced like the others; for `dyn Trait` and `T: ?Sized` the type
/// conservatively answers `needs_trace() == true` and
/// `has_fixed_edges() == false`.
///
/// # No `Drop`
///
/// A type that derives `Trace` cannot implement `Drop` (the build fails with
/// E0119, "conflicting implementations of trait `DeriveTraceForbidsDrop_UseFinalizeOrGcUnsafeDrop`").
/// When a garbage cycle is torn down its values are dropped one after the
/// other, so a `drop` could see a neighbour that is already gone. Put cleanup
/// in `gengc::Finalize` with `#[gc(finalize)]`, which runs while every object
/// is still intact. The derive emits no `Drop` impl of its own, so `Copy`
/// types and moving fields out by destructuring keep working.
///
/// ```compile_fail
/// use gengc::{Gc, Trace};
///
/// #[derive(Trace)]
/// struct Node {
///     next: Option<Gc<Node>>,
/// }
///
/// impl Drop for Node { // error[E0119]: conflicting implementations
///     fn drop(&mut self) {}
/// }
/// ```
///
/// # Attributes
///
/// All of them are written `#[gc(...)]`; several may share one attribute,
/// separated by commas: `#[gc(finalize, crate = my::gengc)]`.
///
/// ## `#[gc(skip)]` on a field or an enum variant
///
/// The field (or every field of the variant) is not traced, and its type need
/// not implement `Trace`. This is always safe: a `Gc` the collector does not
/// see only looks referenced from outside, so its target is kept alive, and
/// at worst a cycle through it leaks.
///
/// ```
/// use gengc::{Gc, Trace};
///
/// struct Socket; // does not implement `Trace`
///
/// #[derive(Trace)]
/// struct Connection {
///     peer: Option<Gc<Connection>>,
///     #[gc(skip)]
///     socket: Socket,
/// }
///
/// #[derive(Trace)]
/// enum State {
///     Open(Gc<Connection>),
///     #[gc(skip)]
///     Closing(Socket, u32),
/// }
/// # let _ = (Connection { peer: None, socket: Socket }, State::Closing(Socket, 0));
/// ```
///
/// ## `#[gc(finalize)]` on the type
///
/// The type implements `gengc::Finalize`, and its `finalize` runs once
/// before the object is reclaimed, before those of the values it owns inline.
///
/// ```
/// use gengc::{Finalize, Gc, Trace};
///
/// #[derive(Trace)]
/// #[gc(finalize)]
/// struct TempFile {
///     path: String,
///     owner: Option<Gc<TempFile>>,
/// }
///
/// impl Finalize for TempFile {
///     fn finalize(&self) {
///         let _ = std::fs::remove_file(&self.path);
///     }
/// }
/// # let _ = Gc::new(TempFile { path: String::new(), owner: None });
/// ```
///
/// ## `#[gc(acyclic)]` on the type
///
/// Promises that a value of the type never takes part in a reference cycle,
/// so objects of the type are not tracked by the cycle collector although
/// they own `Gc`s (`Trace::is_acyclic` answers `true`): collections never
/// read them and their references count as references from outside. Use it
/// for immutable structures — trees, ASTs, persistent lists — built from
/// values that cannot be changed to point back: no `RefCell`, `Cell` or
/// other interior mutability that can hold a `Gc` anywhere their `Gc`s
/// lead. Dropping them stays iterative (a million-long chain is safe).
///
/// A wrong promise is safe: a cycle through such an object is never
/// collected, and leaks as it would with `Rc`.
///
/// ```
/// use gengc::{gc, Gc, Trace};
///
/// #[derive(Trace)]
/// #[gc(acyclic)]
/// enum Expr {
///     Number(f64),
///     Add(Gc<Expr>, Gc<Expr>),
/// }
///
/// let one = Gc::new(Expr::Number(1.0));
/// let sum = Gc::new(Expr::Add(one.clone(), one));
/// assert!(!gc::is_tracked(&sum));
/// ```
///
/// ## `#[gc(unsafe_drop)]` on the type
///
/// Allows a `Drop` impl. The type's `drop` must not dereference, clone or
/// store any `Gc` the value owns (they may point at objects already torn
/// down); doing so is undefined behaviour, hence the `unsafe` in the name.
///
/// ```
/// use gengc::{Gc, Trace};
///
/// #[derive(Trace)]
/// #[gc(unsafe_drop)]
/// struct Counted {
///     next: Option<Gc<Counted>>,
///     id: u32,
/// }
///
/// impl Drop for Counted {
///     fn drop(&mut self) {
///         // Touches only `id`, never `next`.
///         println!("dropping {}", self.id);
///     }
/// }
/// # let _ = Counted { next: None, id: 0 };
/// ```
///
/// ## `#[gc(bound = "...")]` on the type
///
/// Replaces the inferred `T: Trace` bounds with the given where-clause
/// predicates; `bound = ""` removes them.
///
/// ```
/// use gengc::Trace;
/// use std::marker::PhantomData;
///
/// // `T` is only a marker: no `T: Trace` needed.
/// #[derive(Trace)]
/// #[gc(bound = "")]
/// struct Id<T> {
///     index: u32,
///     kind: PhantomData<T>,
/// }
///
/// struct NotTrace;
/// fn assert_trace<T: Trace>() {}
/// assert_trace::<Id<NotTrace>>();
/// ```
///
/// ## `#[gc(crate = path)]` on the type
///
/// The path of the `gengc` crate, for code that reaches it through a
/// re-export or under another name (default `::gengc`). A string is accepted
/// too: `crate = "my_runtime::gc"`.
///
/// ```
/// mod runtime {
///     pub use gengc as gc;
/// }
///
/// #[derive(gengc::Trace)]
/// #[gc(crate = runtime::gc)]
/// struct Value {
///     next: Option<runtime::gc::Gc<Value>>,
/// }
/// # let _ = Value { next: None };
/// ```
///
/// # Errors
///
/// Every misuse is reported at once, each on the offending token: unknown or
/// repeated keys, a key in the wrong place (`skip` on the type, `finalize`
/// on a field, …), a malformed `bound` or `crate` value. Two kinds of types
/// are rejected; give them a hand-written `unsafe impl Trace`:
///
/// - unions: nothing tells the collector which field holds a value;
/// - `#[repr(packed)]` structs: tracing borrows every field, and a packed
///   field may be misaligned.
#[proc_macro_derive(Trace, attributes(gc))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    expand::derive_trace(&parse_macro_input!(input as DeriveInput)).into()
}
