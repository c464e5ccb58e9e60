use gengc::{Gc, Trace};

#[derive(Trace)]
#[gc(unsafe_drop)]
struct Logged {
    next: Option<Gc<Logged>>,
    id: u32,
}

impl Drop for Logged {
    fn drop(&mut self) {
        // Never touches `next`.
        let _ = self.id;
    }
}

fn main() {
    let _ = Gc::new(Logged { next: None, id: 1 }).next.is_none();
}
