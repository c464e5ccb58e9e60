// A field whose type does not implement `Trace`: the error points at the field's type.
use gengc::{Gc, Trace};

struct NotTrace;

#[derive(Trace)]
struct Node {
    next: Option<Gc<Node>>,
    payload: NotTrace,
}

fn main() {}
