// A misspelt or unknown key (`ignore` is not a key; `skip` is).
use gengc::{Gc, Trace};

#[derive(Trace)]
struct Node {
    #[gc(ignore)]
    next: Option<Gc<Node>>,
}

fn main() {}
