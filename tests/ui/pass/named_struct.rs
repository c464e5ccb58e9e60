use gengc::{Gc, Trace};
use std::cell::RefCell;

#[derive(Trace)]
struct Node {
    name: String,
    parent: RefCell<Option<Gc<Node>>>,
    children: RefCell<Vec<Gc<Node>>>,
    #[gc(skip)]
    visits: std::cell::Cell<u32>,
}

fn main() {
    let root = Gc::new(Node {
        name: "root".into(),
        parent: RefCell::new(None),
        children: RefCell::new(Vec::new()),
        visits: Default::default(),
    });
    let child = Gc::new(Node {
        name: "child".into(),
        parent: RefCell::new(Some(root.clone())),
        children: RefCell::new(Vec::new()),
        visits: Default::default(),
    });
    root.children.borrow_mut().push(child);
    root.visits.set(1);
    assert_eq!(root.name, "root");
    drop(root);
    assert_eq!(gengc::collect(), 2);
}
