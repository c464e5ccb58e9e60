use gengc::{Gc, Trace};
use std::marker::PhantomData;

struct NotTrace;

// Inferred: `T: Trace`; `Tag` appears only in a skipped field and gets no bound.
#[derive(Trace)]
struct Tagged<T, Tag> {
    value: T,
    #[gc(skip)]
    tag: Tag,
}

// Inferred: `I::Item: Trace`, not `I: Trace`.
#[derive(Trace)]
struct Buffered<I: Iterator> {
    items: Vec<I::Item>,
    rest: Option<<I as Iterator>::Item>,
}

// No bounds at all.
#[derive(Trace)]
#[gc(bound = "")]
struct Id<T> {
    index: u32,
    kind: PhantomData<T>,
}

// The user's where clause is kept next to the inferred bound.
#[derive(Trace)]
struct Keyed<K, V>
where
    K: Ord,
{
    key: K,
    value: Gc<V>,
}

// Unsized tails.
#[derive(Trace)]
struct Slice<T: ?Sized> {
    len: usize,
    data: T,
}

#[derive(Trace)]
struct Text {
    len: usize,
    data: str,
}

fn assert_trace<T: Trace + ?Sized>() {}

fn text_len(text: &Text) -> usize {
    text.len + text.data.len()
}

fn main() {
    assert_trace::<Tagged<Gc<u32>, NotTrace>>();
    assert_trace::<Buffered<std::vec::IntoIter<Gc<u32>>>>();
    assert_trace::<Id<NotTrace>>();
    assert_trace::<Keyed<u32, String>>();
    assert_trace::<Slice<[Gc<u32>]>>();
    assert_trace::<Text>();
    let tagged = Tagged {
        value: 1_u8,
        tag: NotTrace,
    };
    let _ = (tagged.value, tagged.tag);
    let id = Id::<NotTrace> {
        index: 0,
        kind: PhantomData,
    };
    let _ = id.index;
    let keyed = Keyed {
        key: 1,
        value: Gc::new(2),
    };
    let _ = (keyed.key, keyed.value);
    let buffered = Buffered::<std::vec::IntoIter<u8>> {
        items: vec![],
        rest: None,
    };
    let _ = (buffered.items, buffered.rest);
    let slice: &Slice<[u8]> = &Slice { len: 1, data: [1] };
    let _ = (slice.len, &slice.data);
    let _ = text_len;
}
