// `finalize` belongs on the type, not on a field.
use gengc::Trace;

#[derive(Trace)]
struct Node {
    #[gc(finalize)]
    label: String,
}

fn main() {}
