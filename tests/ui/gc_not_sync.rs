// A Gc cannot be shared across threads either.
use gengc::Gc;

fn share<T: Sync>(_: &T) {}

fn main() {
    let a = Gc::new(1);
    share(&a);
}
