// Gc gives shared access only; mutation needs a cell or Gc::get_mut.
use gengc::Gc;

fn main() {
    let a = Gc::new(vec![1, 2, 3]);
    a.push(4);
}
