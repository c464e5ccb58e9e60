// Every misuse in one input is reported at once, and nothing else: `Node`
// still implements `Trace`, so using it below adds no error.
use gengc::{Gc, Trace};

#[derive(Trace)]
#[gc(finalise)]
struct Node {
    #[gc(unsafe_drop)]
    next: Option<Gc<Node>>,
    #[gc(skip = true)]
    label: String,
}

fn main() {
    let _ = Gc::new(Node {
        next: None,
        label: String::new(),
    });
}
