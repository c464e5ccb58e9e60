use gengc::{Gc, Trace};

#[derive(Trace)]
struct Pair(Gc<u32>, #[gc(skip)] Gc<u32>, u8);

#[derive(Trace)]
struct Empty();

fn main() {
    let pair = Pair(Gc::new(1), Gc::new(2), 3);
    assert_eq!(*pair.0 + *pair.1 + u32::from(pair.2), 6);
    let _ = Empty();
}
