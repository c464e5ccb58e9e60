// Attributes that are not a `#[gc(...)]` list, or whose values have the
// wrong form; each is reported on its own tokens.
use gengc::{Gc, Trace};

#[derive(Trace)]
#[gc]
#[gc = "skip"]
#[gc(bound = T)]
#[gc(crate = "not a path")]
struct Node<T> {
    #[gc(skip skip)]
    value: T,
    next: Option<Gc<u32>>,
}

fn main() {}
