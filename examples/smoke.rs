use gengc::{Gc, Trace, Tracer, Weak};
use std::cell::RefCell;

struct Node { next: RefCell<Option<Gc<Node>>>, _pad: [u64; 3] }
unsafe impl Trace for Node { fn trace(&self, t: &mut Tracer<'_>) { self.next.trace(t) } }

fn main() {
    let a = Gc::new(5u64);
    let b = a.clone();
    println!("{} {}", *b, Gc::strong_count(&a));
    let w: Weak<u64> = Gc::downgrade(&a);
    drop(a); drop(b);
    assert!(w.upgrade().is_none());
    // cycle
    let x = Gc::new(Node { next: RefCell::new(None), _pad: [0; 3] });
    let y = Gc::new(Node { next: RefCell::new(Some(x.clone())), _pad: [0; 3] });
    *x.next.borrow_mut() = Some(y.clone());
    drop(x); drop(y);
    println!("collected {}", gengc::collect());
    // chain of 1M
    let mut head: Option<Gc<Node>> = None;
    for _ in 0..1_000_000 { head = Some(Gc::new(Node { next: RefCell::new(head.take()), _pad: [0; 3] })); }
    println!("{}", gengc::memory_report());
    drop(head);
    println!("{}", gengc::memory_report());
    // cyclic 1M list
    let first = Gc::new(Node { next: RefCell::new(None), _pad: [0; 3] });
    let mut cur = first.clone();
    for _ in 0..1_000_000 { let n = Gc::new(Node { next: RefCell::new(None), _pad: [0; 3] }); *cur.next.borrow_mut() = Some(n.clone()); cur = n; }
    *cur.next.borrow_mut() = Some(first.clone());
    drop(cur); drop(first);
    let t = std::time::Instant::now();
    println!("collected {} in {:?}", gengc::collect(), t.elapsed());
    println!("{}", gengc::memory_report());
    let s: Gc<str> = Gc::from("hello");
    let v: Gc<[u32]> = (0..200).collect();
    println!("{s} {}", v.len());
}
