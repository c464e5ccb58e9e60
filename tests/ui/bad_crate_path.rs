// `crate = ...` takes a path (or a string holding one), not a number.
use gengc::Trace;

#[derive(Trace)]
#[gc(crate = 42)]
struct Node {
    label: String,
}

fn main() {}
