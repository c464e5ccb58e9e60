// `acyclic` is a bare keyword on the type: not on a field, and without a value.
use gengc::{Gc, Trace};

#[derive(Trace)]
#[gc(acyclic = true)]
struct Node {
    #[gc(acyclic)]
    next: Option<Gc<Node>>,
}

fn main() {}
