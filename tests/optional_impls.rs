//! `Trace` for the optional collections: `indexmap::{IndexMap, IndexSet}`
//! (feature `indexmap`) and `smallvec::SmallVec` (feature `smallvec`).
//!
//! libtest runs each test on its own thread, so every test starts with a
//! fresh thread-local heap.

#![cfg(all(feature = "indexmap", feature = "smallvec"))]

use gengc::{Finalize, Gc, Trace};
use indexmap::{IndexMap, IndexSet};
use smallvec::SmallVec;
use std::cell::{Cell, RefCell};
use std::hash::{Hash, Hasher};

thread_local!(static FINALIZED: Cell<u32> = const { Cell::new(0) });

fn needs_trace<T: Trace>() -> bool {
    T::needs_trace()
}

fn needs_finalize<T: Trace>() -> bool {
    T::needs_finalize()
}

#[derive(Trace, Default)]
struct MapNode {
    edges: RefCell<IndexMap<String, Gc<MapNode>>>,
}

/// Compared and hashed by `id` only, so it can sit in a set or be a key.
#[derive(Trace)]
struct SetNode {
    id: u32,
    peers: RefCell<IndexSet<Gc<SetNode>>>,
    by_key: RefCell<IndexMap<Gc<SetNode>, u32>>,
}

impl SetNode {
    fn new(id: u32) -> Gc<SetNode> {
        Gc::new(SetNode {
            id,
            peers: RefCell::new(IndexSet::new()),
            by_key: RefCell::new(IndexMap::new()),
        })
    }
}

impl PartialEq for SetNode {
    fn eq(&self, other: &SetNode) -> bool {
        self.id == other.id
    }
}

impl Eq for SetNode {}

impl Hash for SetNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

#[derive(Trace, Default)]
struct VecNode {
    children: RefCell<SmallVec<[Gc<VecNode>; 2]>>,
}

#[test]
fn cycle_through_index_map_values_is_collected() {
    let a = Gc::new(MapNode::default());
    let b = Gc::new(MapNode::default());
    a.edges.borrow_mut().insert("b".into(), b.clone());
    b.edges.borrow_mut().insert("a".into(), a.clone());
    b.edges.borrow_mut().insert("self".into(), b.clone());
    drop((a, b));
    assert_eq!(gengc::collect(), 2);
}

#[test]
fn cycle_through_index_set_and_map_keys_is_collected() {
    let a = SetNode::new(1);
    let b = SetNode::new(2);
    let c = SetNode::new(3);
    a.peers.borrow_mut().insert(b.clone());
    b.peers.borrow_mut().insert(a.clone());
    b.by_key.borrow_mut().insert(c.clone(), 0);
    c.by_key.borrow_mut().insert(b.clone(), 1);
    drop((a, b, c));
    assert_eq!(gengc::collect(), 3);
}

#[test]
fn cycle_through_small_vec_is_collected_inline_and_spilled() {
    // Inline storage: two children fit in the array.
    let a = Gc::new(VecNode::default());
    let b = Gc::new(VecNode::default());
    a.children.borrow_mut().push(b.clone());
    b.children.borrow_mut().push(a.clone());
    assert!(!a.children.borrow().spilled());
    drop((a, b));
    assert_eq!(gengc::collect(), 2);

    // Spilled to the heap: three children.
    let root = Gc::new(VecNode::default());
    for _ in 0..3 {
        let child = Gc::new(VecNode::default());
        child.children.borrow_mut().push(root.clone());
        root.children.borrow_mut().push(child);
    }
    assert!(root.children.borrow().spilled());
    drop(root);
    assert_eq!(gengc::collect(), 4);
}

#[test]
fn live_objects_reachable_through_the_collections_survive() {
    let root = Gc::new(MapNode::default());
    let child = Gc::new(VecNode::default());
    child.children.borrow_mut().push(child.clone());
    root.edges.borrow_mut().insert("root".into(), root.clone());
    assert_eq!(gengc::collect(), 0);
    assert_eq!(root.edges.borrow().len(), 1);
    drop((root, child));
    assert_eq!(gengc::collect(), 2);
}

#[test]
fn needs_trace_follows_the_element_types() {
    assert!(!needs_trace::<IndexMap<String, u32>>());
    assert!(needs_trace::<IndexMap<String, Gc<u32>>>());
    assert!(needs_trace::<IndexMap<Gc<u32>, u32>>());
    assert!(!needs_trace::<IndexSet<String>>());
    assert!(needs_trace::<IndexSet<Gc<u32>>>());
    assert!(!needs_trace::<SmallVec<[u8; 16]>>());
    assert!(needs_trace::<SmallVec<[Gc<u32>; 1]>>());
}

#[derive(Trace, PartialEq, Eq, Hash)]
#[gc(finalize)]
struct Closing(u32);

impl Finalize for Closing {
    fn finalize(&self) {
        FINALIZED.with(|count| count.set(count.get() + 1));
    }
}

fn finalized() -> u32 {
    FINALIZED.with(|count| count.replace(0))
}

#[test]
fn finalize_glue_reaches_every_element_once() {
    assert!(needs_finalize::<IndexMap<u32, Closing>>());
    assert!(needs_finalize::<IndexMap<Closing, u32>>());
    assert!(needs_finalize::<IndexSet<Closing>>());
    assert!(needs_finalize::<SmallVec<[Closing; 2]>>());
    assert!(!needs_finalize::<IndexMap<u32, String>>());
    assert!(!needs_finalize::<SmallVec<[u32; 2]>>());

    let map: IndexMap<Closing, Closing> = (0..3).map(|i| (Closing(i), Closing(i))).collect();
    map.finalize_glue();
    assert_eq!(finalized(), 6);

    let set: IndexSet<Closing> = (0..4).map(Closing).collect();
    set.finalize_glue();
    assert_eq!(finalized(), 4);

    let inline: SmallVec<[Closing; 4]> = (0..2).map(Closing).collect();
    let spilled: SmallVec<[Closing; 1]> = (0..5).map(Closing).collect();
    inline.finalize_glue();
    spilled.finalize_glue();
    assert_eq!(finalized(), 7);
}
