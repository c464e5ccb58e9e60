// A type that derives `Trace` may not implement `Drop`: during cycle teardown
// its `drop` could see neighbours that are already gone. Use `Finalize`.
use gengc::{Gc, Trace};

#[derive(Trace)]
struct Node {
    next: Option<Gc<Node>>,
}

impl Drop for Node {
    fn drop(&mut self) {}
}

fn main() {}
