use gengc::{Gc, Trace};

// No `Drop` is emitted, so `Copy` and moving fields out still work.
#[derive(Trace, Clone, Copy)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Trace)]
struct Owner {
    name: String,
    child: Gc<u32>,
}

fn main() {
    let p = Point { x: 1, y: 2 };
    let q = p;
    let Point { x, y } = p;
    assert_eq!(x + y + q.x, 4);
    let Owner { name, child } = Owner {
        name: "o".into(),
        child: Gc::new(1),
    };
    assert_eq!((name.as_str(), *child), ("o", 1));
}
