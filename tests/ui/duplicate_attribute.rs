// Each key may appear once per item, even across several `#[gc(...)]` attributes.
use gengc::Trace;

#[derive(Trace)]
#[gc(unsafe_drop)]
#[gc(finalize, unsafe_drop)]
struct Node {
    label: String,
}

impl gengc::Finalize for Node {
    fn finalize(&self) {}
}

fn main() {}
