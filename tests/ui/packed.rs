// Tracing borrows every field, which a `#[repr(packed)]` struct cannot allow.
use gengc::Trace;

#[derive(Trace)]
#[repr(C, packed)]
struct Packed {
    tag: u8,
    value: u32,
}

fn main() {}
