// A Gc belongs to its thread's heap: sending it to another thread is refused.
use gengc::Gc;

fn main() {
    let a = Gc::new(1);
    std::thread::spawn(move || {
        let _ = *a;
    });
}
