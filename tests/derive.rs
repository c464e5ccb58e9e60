//! `#[derive(Trace)]`: every shape and attribute, checked by counting what the
//! generated `trace` visits (rust-gc's `GcWatchFlags` idea) and by asserting
//! `needs_trace` / `needs_finalize` and the finalize order.
//!
//! libtest runs each test on its own thread, so every test starts with a
//! fresh thread-local heap and counters.

use gengc::{Finalize, Gc, Trace, Tracer};
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

thread_local! {
    static VISITS: Cell<usize> = const { Cell::new(0) };
    static FINALIZED: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static DROPS: Cell<usize> = const { Cell::new(0) };
}

/// Counts how many times it is traced.
struct Probe;

// SAFETY: `Probe` owns no `Gc`, so visiting none is exact.
unsafe impl Trace for Probe {
    fn trace(&self, _tracer: &mut Tracer<'_>) {
        VISITS.with(|visits| visits.set(visits.get() + 1));
    }
}

/// How many probes one `trace` of `value` visits: `referents` traces the
/// object exactly once.
fn visits<T: Trace + 'static>(value: T) -> usize {
    let gc = Gc::new(value);
    VISITS.with(|visits| visits.set(0));
    let _ = gengc::gc::referents(&gc);
    VISITS.with(Cell::get)
}

/// A type that does not implement `Trace`.
struct NotTrace;

fn needs_trace<T: Trace>() -> bool {
    T::needs_trace()
}

fn needs_finalize<T: Trace>() -> bool {
    T::needs_finalize()
}

// ----- shapes -----

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct Named {
    a: Probe,
    b: Probe,
    #[gc(skip)]
    _skipped: Probe,
    many: Vec<Probe>,
}

#[derive(Trace)]
struct Tuple(Probe, #[gc(skip)] Probe, Option<Probe>);

#[derive(Trace)]
enum Shapes {
    Unit,
    Tuple(Probe, Probe),
    Named {
        a: Probe,
        #[gc(skip)]
        _b: Probe,
    },
    #[gc(skip)]
    Skipped(Probe, Probe),
}

#[derive(Trace)]
enum Empty {}

#[test]
fn unit_struct_visits_nothing() {
    assert_eq!(visits(Unit), 0);
    assert!(!needs_trace::<Unit>());
}

#[test]
fn named_struct_visits_every_traced_field_once() {
    let value = Named {
        a: Probe,
        b: Probe,
        _skipped: Probe,
        many: vec![Probe, Probe, Probe],
    };
    assert_eq!(visits(value), 5);
}

#[test]
fn tuple_struct_visits_every_traced_field_once() {
    assert_eq!(visits(Tuple(Probe, Probe, Some(Probe))), 2);
    assert_eq!(visits(Tuple(Probe, Probe, None)), 1);
}

#[test]
fn enum_visits_the_fields_of_its_variant() {
    assert_eq!(visits(Shapes::Unit), 0);
    assert_eq!(visits(Shapes::Tuple(Probe, Probe)), 2);
    assert_eq!(
        visits(Shapes::Named {
            a: Probe,
            _b: Probe
        }),
        1
    );
    assert_eq!(visits(Shapes::Skipped(Probe, Probe)), 0);
}

#[test]
fn empty_enum_is_a_leaf() {
    assert!(!needs_trace::<Empty>());
    assert!(!needs_finalize::<Empty>());
}

// ----- generics -----

#[derive(Trace)]
struct Pair<A, B> {
    a: A,
    b: B,
}

/// `Tag` is only used in a skipped field: it needs no `Trace`.
#[derive(Trace)]
struct Tagged<T, Tag> {
    value: T,
    #[gc(skip)]
    _tag: Tag,
}

/// The bound goes on `I::Item`, not on `I`.
#[derive(Trace)]
struct Items<I: Iterator> {
    items: Vec<I::Item>,
}

/// `bound = ""`: a marker parameter needs no `Trace`.
#[derive(Trace)]
#[gc(bound = "")]
struct Marker<T> {
    probe: Probe,
    _kind: PhantomData<T>,
}

/// A user bound replacing the inferred one.
#[derive(Trace)]
#[gc(bound = "T: Trace + Clone")]
struct Cloned<T> {
    value: T,
}

/// The user's own where clause and `?Sized` bound are kept.
#[derive(Trace)]
struct Tail<T: ?Sized>
where
    T: Send,
{
    head: Probe,
    tail: T,
}

#[derive(Trace)]
struct Borrowed<'a> {
    s: &'a str,
}

#[test]
fn generic_fields_are_traced() {
    assert_eq!(
        visits(Pair {
            a: Probe,
            b: Pair { a: Probe, b: Probe }
        }),
        3
    );
    assert_eq!(visits(Pair { a: Probe, b: 7_u32 }), 1);
}

#[test]
fn parameter_of_a_skipped_field_needs_no_trace() {
    assert_eq!(
        visits(Tagged {
            value: Probe,
            _tag: NotTrace
        }),
        1
    );
    assert!(needs_trace::<Tagged<Probe, NotTrace>>());
    assert!(!needs_trace::<Tagged<u8, NotTrace>>());
}

#[test]
fn associated_type_fields_are_traced() {
    let items = Items::<std::vec::IntoIter<Probe>> {
        items: vec![Probe, Probe],
    };
    assert_eq!(visits(items), 2);
}

#[test]
fn empty_bound_allows_non_trace_markers() {
    assert_eq!(
        visits(Marker::<NotTrace> {
            probe: Probe,
            _kind: PhantomData
        }),
        1
    );
}

#[test]
fn explicit_bound_replaces_the_inferred_one() {
    assert_eq!(visits(Cloned { value: 5_u32 }), 0);
    assert!(needs_trace::<Cloned<Gc<u32>>>());
}

#[test]
fn maybe_unsized_tail_is_traced() {
    assert_eq!(
        visits(Tail {
            head: Probe,
            tail: [Probe, Probe]
        }),
        3
    );
}

#[test]
fn lifetimes_are_supported() {
    let text = String::from("borrowed");
    let borrowed = Borrowed { s: &text };
    assert_eq!(borrowed.s, "borrowed");
    assert!(!needs_trace::<Borrowed<'_>>());
}

// ----- needs_trace -----

#[derive(Trace)]
struct Plain {
    _name: String,
    _age: u32,
}

#[derive(Trace)]
struct Owner {
    _name: String,
    _child: Option<Gc<Plain>>,
}

#[derive(Trace)]
struct SkippedGc {
    _name: String,
    #[gc(skip)]
    _child: Gc<Plain>,
}

#[derive(Trace)]
enum OneVariantOwns {
    _Leaf(u32),
    _Branch(Gc<u32>),
}

#[test]
fn needs_trace_follows_the_traced_field_types() {
    assert!(!needs_trace::<Plain>());
    assert!(needs_trace::<Owner>());
    assert!(!needs_trace::<SkippedGc>());
    assert!(needs_trace::<OneVariantOwns>());
    assert!(!needs_trace::<Pair<u32, String>>());
    assert!(needs_trace::<Pair<u32, Vec<Gc<u32>>>>());
    assert!(needs_trace::<Named>());
}

// ----- Copy, destructuring, Drop -----

#[derive(Trace, Clone, Copy, PartialEq, Debug)]
struct Point {
    x: i32,
    y: i32,
}

#[test]
fn copy_types_can_derive_trace() {
    let p = Point { x: 1, y: 2 };
    let q = p;
    let Point { x, y } = p;
    assert_eq!((x, y), (1, 2));
    assert_eq!(p, q);
}

#[test]
fn fields_can_be_moved_out() {
    let owner = Owner {
        _name: "owner".into(),
        _child: Some(Gc::new(Plain {
            _name: "child".into(),
            _age: 3,
        })),
    };
    // Only possible because the derive emits no `Drop` impl.
    let Owner { _name, _child } = owner;
    assert_eq!(_name, "owner");
    assert_eq!(_child.map(|child| child._age), Some(3));
}

#[derive(Trace)]
#[gc(unsafe_drop)]
struct Dropper {
    _next: RefCell<Option<Gc<Dropper>>>,
}

impl Drop for Dropper {
    fn drop(&mut self) {
        // Touches no `Gc`, as `unsafe_drop` requires.
        DROPS.with(|drops| drops.set(drops.get() + 1));
    }
}

#[test]
fn unsafe_drop_allows_a_drop_impl() {
    drop(Dropper {
        _next: RefCell::new(None),
    });
    assert_eq!(DROPS.with(Cell::get), 1);

    // And in a collected cycle, `drop` runs once per object.
    let a = Gc::new(Dropper {
        _next: RefCell::new(None),
    });
    let b = Gc::new(Dropper {
        _next: RefCell::new(Some(a.clone())),
    });
    *a._next.borrow_mut() = Some(b);
    drop(a);
    assert_eq!(gengc::collect(), 2);
    assert_eq!(DROPS.with(Cell::get), 3);
}

// ----- finalize -----

#[derive(Trace)]
#[gc(finalize)]
struct Inner {
    id: u32,
}

impl Finalize for Inner {
    fn finalize(&self) {
        FINALIZED.with(|log| log.borrow_mut().push(self.id));
    }
}

#[derive(Trace)]
#[gc(finalize)]
struct Outer {
    id: u32,
    inners: Vec<Inner>,
    #[gc(skip)]
    _skipped: Inner,
}

impl Finalize for Outer {
    fn finalize(&self) {
        FINALIZED.with(|log| log.borrow_mut().push(self.id));
    }
}

/// No `#[gc(finalize)]` itself, but it owns a type that has one.
#[derive(Trace)]
struct Holder {
    inner: Inner,
}

#[test]
fn needs_finalize_follows_the_attribute_and_the_fields() {
    assert!(needs_finalize::<Inner>());
    assert!(needs_finalize::<Outer>());
    assert!(needs_finalize::<Holder>());
    assert!(needs_finalize::<Pair<u32, Vec<Inner>>>());
    assert!(!needs_finalize::<Plain>());
    assert!(!needs_finalize::<Owner>());
    assert!(!needs_finalize::<Unit>());
}

#[test]
fn finalize_glue_runs_outer_then_inner_once_each() {
    let outer = Outer {
        id: 1,
        inners: vec![Inner { id: 2 }, Inner { id: 3 }],
        _skipped: Inner { id: 4 },
    };
    Trace::finalize_glue(&outer);
    assert_eq!(FINALIZED.with(|log| log.take()), [1, 2, 3]);

    Trace::finalize_glue(&Holder {
        inner: Inner { id: 5 },
    });
    assert_eq!(FINALIZED.with(|log| log.take()), [5]);
}

// ----- crate = path -----

mod runtime {
    pub use gengc as gc;
}

#[derive(Trace)]
#[gc(crate = gengc)]
struct CratePath(Probe);

#[derive(Trace)]
#[gc(crate = "gengc")]
struct CrateString(Probe);

#[derive(Trace)]
#[gc(crate = runtime::gc, finalize)]
struct ReExported(Probe);

impl runtime::gc::Finalize for ReExported {
    fn finalize(&self) {}
}

#[test]
fn crate_path_is_used() {
    assert_eq!(visits(CratePath(Probe)), 1);
    assert_eq!(visits(CrateString(Probe)), 1);
    assert_eq!(visits(ReExported(Probe)), 1);
}

// ----- end to end -----

#[derive(Trace)]
struct Node {
    _name: String,
    parent: RefCell<Option<Gc<Node>>>,
    children: RefCell<Vec<Gc<Node>>>,
}

#[derive(Trace)]
enum Link<T> {
    _End,
    Next(RefCell<Option<Gc<Link<T>>>>, T),
}

#[test]
fn cycles_through_derived_types_are_collected() {
    let root = Gc::new(Node {
        _name: "root".into(),
        parent: RefCell::new(None),
        children: RefCell::new(Vec::new()),
    });
    let child = Gc::new(Node {
        _name: "child".into(),
        parent: RefCell::new(Some(root.clone())),
        children: RefCell::new(Vec::new()),
    });
    root.children.borrow_mut().push(child);
    assert!(root.parent.borrow().is_none());
    drop(root);
    assert_eq!(gengc::collect(), 2);

    let ring = Gc::new(Link::Next(RefCell::new(None), 7_u32));
    if let Link::Next(next, _) = &*ring {
        *next.borrow_mut() = Some(ring.clone());
    }
    drop(ring);
    assert_eq!(gengc::collect(), 1);
}
