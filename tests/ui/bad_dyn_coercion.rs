// coerce_gc! only performs unsizing coercions the value supports; anything
// else (a trait the type does not implement, a different sized type) is a
// compile error rather than a silent pointer cast.
use gengc::{coerce_gc, Gc};
use std::fmt::Display;

fn main() {
    let _ok: Gc<dyn Display> = coerce_gc!(Gc::new(5u8) => dyn Display);
    let _not_impl: Gc<dyn Iterator<Item = u8>> = coerce_gc!(Gc::new(5u8) => dyn Iterator<Item = u8>);
    let _not_unsizing: Gc<i8> = coerce_gc!(Gc::new(5u8) => i8);
}
