use gengc::Trace;

// `&'a T` is a leaf: it never owns a `Gc`.
#[derive(Trace)]
struct Borrowed<'a> {
    s: &'a str,
}

#[derive(Trace)]
struct Both<'a, T: 'a> {
    items: &'a [T],
    own: Vec<T>,
}

fn main() {
    let text = String::from("x");
    let b = Borrowed { s: &text };
    assert!(!<Borrowed<'_> as Trace>::needs_trace());
    let both = Both {
        items: &[1_u8][..],
        own: vec![2],
    };
    let _ = (b.s, both.items, both.own);
}
