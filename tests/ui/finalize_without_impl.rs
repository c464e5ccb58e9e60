// `#[gc(finalize)]` calls `Finalize::finalize`, so the type must implement `Finalize`.
use gengc::Trace;

#[derive(Trace)]
#[gc(finalize)]
struct Node {
    label: String,
}

fn main() {}
