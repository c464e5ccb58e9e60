// A Weak points into the thread's heap: it cannot be sent away.
use gengc::Gc;

fn main() {
    let a = Gc::new(1);
    let w = Gc::downgrade(&a);
    std::thread::spawn(move || {
        let _ = w.upgrade();
    });
}
