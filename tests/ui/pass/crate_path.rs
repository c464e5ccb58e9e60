mod runtime {
    pub use gengc as gc;
}

#[derive(gengc::Trace)]
#[gc(crate = runtime::gc)]
struct Value {
    next: Option<runtime::gc::Gc<Value>>,
}

#[derive(gengc::Trace)]
#[gc(crate = "::gengc")]
struct Other(u32);

fn main() {
    let _ = (runtime::gc::Gc::new(Value { next: None }), Other(1).0);
}
