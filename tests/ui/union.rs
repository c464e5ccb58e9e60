// Unions cannot derive `Trace`: nothing says which field holds a value.
use gengc::Trace;

#[derive(Trace)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
