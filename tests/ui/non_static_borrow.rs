// A Gc may outlive any scope (it is freed when its last handle goes), so it
// cannot hold a borrow of a local.
use gengc::{Gc, Trace};

#[derive(Trace)]
struct View<'a> {
    text: &'a str,
}

fn main() {
    let local = String::from("temporary");
    let _v = Gc::new(View { text: &local });
}
