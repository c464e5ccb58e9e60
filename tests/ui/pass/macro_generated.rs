// Types produced by `macro_rules!` derive like hand-written ones.
use gengc::{Gc, Trace};

macro_rules! node {
    ($name:ident, $field:ty) => {
        #[derive(Trace)]
        struct $name {
            next: $field,
            tracer: u32, // the same name as the derive's own parameter
        }
    };
}

node!(Node, Option<Gc<u32>>);

macro_rules! with_attrs {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        struct $name(Gc<u32>);
    };
}

with_attrs!(
    #[derive(Trace)]
    Wrapped
);

fn main() {
    let node = Node {
        next: None,
        tracer: 0,
    };
    let _ = (node.next, node.tracer, Wrapped(Gc::new(1)).0);
}
