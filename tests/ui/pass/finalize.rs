use gengc::{Finalize, Gc, Trace};

#[derive(Trace)]
#[gc(finalize)]
struct Resource {
    name: String,
    peer: Option<Gc<Resource>>,
}

impl Finalize for Resource {
    fn finalize(&self) {
        let _ = &self.name;
    }
}

#[derive(Trace)]
#[gc(finalize)]
enum Handle {
    Open(Resource),
    Closed,
}

impl Finalize for Handle {
    fn finalize(&self) {}
}

fn main() {
    assert!(<Resource as Trace>::needs_finalize());
    let _ = Gc::new(Handle::Open(Resource {
        name: "r".into(),
        peer: None,
    }));
    let _ = Handle::Closed;
}
