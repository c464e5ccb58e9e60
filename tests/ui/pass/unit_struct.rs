use gengc::{Gc, Trace};

#[derive(Trace)]
struct Unit;

#[derive(Trace)]
struct Braced {}

fn main() {
    assert!(!<Unit as Trace>::needs_trace());
    let _ = (Gc::new(Unit), Gc::new(Braced {}));
}
