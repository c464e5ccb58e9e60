// `skip` belongs on a field or a variant, not on the type.
use gengc::Trace;

#[derive(Trace)]
#[gc(skip)]
struct Node {
    label: String,
}

fn main() {}
