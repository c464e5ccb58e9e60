// Only `skip` may go on an enum variant; `finalize` belongs on the type.
use gengc::{Gc, Trace};

#[derive(Trace)]
enum Tree {
    Leaf,
    #[gc(finalize)]
    Branch(Gc<Tree>, Gc<Tree>),
}

fn main() {}
