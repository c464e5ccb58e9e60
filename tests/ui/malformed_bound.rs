// `bound` must hold where-clause predicates; this one lacks the `:`.
use gengc::Trace;

#[derive(Trace)]
#[gc(bound = "T Trace")]
struct Wrapper<T> {
    value: T,
}

fn main() {}
