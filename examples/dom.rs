//! A DOM: elements own their children and point back at their parent, and
//! event listeners close over the nodes they act on, so every listener is a
//! cycle through its node. Removing a subtree leaves all those cycles
//! behind; reference counting alone frees none of it, the collector frees
//! all of it — and `Weak` handles, snapshots and finalizers show it.
//!
//! Run it with `cargo run --release --example dom`.

use gengc::{coerce_gc, Finalize, Gc, Snapshot, Trace, Weak};
use std::cell::{Cell, RefCell};

/// An element. Children own their parent back (`parentNode`), and
/// listeners own the nodes they act on: cycles everywhere.
#[derive(Trace)]
struct Node {
    tag: &'static str,
    text: RefCell<String>,
    hidden: Cell<bool>,
    parent: RefCell<Option<Gc<Node>>>,
    children: RefCell<Vec<Gc<Node>>>,
    listeners: RefCell<Vec<(&'static str, Gc<dyn Listener>)>>,
}

impl Node {
    fn new(tag: &'static str, text: &str) -> Gc<Node> {
        Gc::new(Node {
            tag,
            text: RefCell::new(text.to_string()),
            hidden: Cell::new(false),
            parent: RefCell::new(None),
            children: RefCell::new(Vec::new()),
            listeners: RefCell::new(Vec::new()),
        })
    }

    fn append(parent: &Gc<Node>, child: Gc<Node>) -> Gc<Node> {
        *child.parent.borrow_mut() = Some(parent.clone());
        parent.children.borrow_mut().push(child.clone());
        child
    }

    /// `parent.removeChild(child)`: the child's subtree is detached, but
    /// keeps its inner cycles (its children's parent pointers, listeners).
    fn remove(parent: &Gc<Node>, child: &Gc<Node>) {
        parent
            .children
            .borrow_mut()
            .retain(|c| !Gc::ptr_eq(c, child));
        *child.parent.borrow_mut() = None;
    }

    fn add_listener(node: &Gc<Node>, event: &'static str, listener: Gc<dyn Listener>) {
        node.listeners.borrow_mut().push((event, listener));
    }
}

/// An event handler: a closure, with its captures spelled out so the
/// collector can see them.
trait Listener: Trace {
    fn handle(&self, target: &Gc<Node>);
}

/// Counts likes on the button it closes over and writes them into it.
#[derive(Trace)]
#[gc(finalize)]
struct LikeCounter {
    button: Gc<Node>,
    likes: Cell<u32>,
}

impl Listener for LikeCounter {
    fn handle(&self, _target: &Gc<Node>) {
        self.likes.set(self.likes.get() + 1);
        *self.button.text.borrow_mut() = format!("like ({})", self.likes.get());
    }
}

/// Shows or hides the article it closes over.
#[derive(Trace)]
#[gc(finalize)]
struct Toggle {
    article: Gc<Node>,
}

impl Listener for Toggle {
    fn handle(&self, _target: &Gc<Node>) {
        self.article.hidden.set(!self.article.hidden.get());
    }
}

/// A delegated listener on `<body>`: sees every click that bubbles up.
#[derive(Trace)]
struct ClickLog {
    clicks: Cell<u32>,
    last: RefCell<Option<Weak<Node>>>,
}

impl Listener for ClickLog {
    fn handle(&self, target: &Gc<Node>) {
        self.clicks.set(self.clicks.get() + 1);
        *self.last.borrow_mut() = Some(Gc::downgrade(target));
    }
}

thread_local! {
    /// Listeners whose finalizer ran: the page's "removeEventListener".
    static DETACHED_LISTENERS: Cell<usize> = const { Cell::new(0) };
}

impl Finalize for LikeCounter {
    fn finalize(&self) {
        DETACHED_LISTENERS.with(|n| n.set(n.get() + 1));
    }
}

impl Finalize for Toggle {
    fn finalize(&self) {
        DETACHED_LISTENERS.with(|n| n.set(n.get() + 1));
    }
}

/// Dispatches an event at `target` and bubbles it up the parent chain.
fn dispatch(event: &str, target: &Gc<Node>) {
    let mut node = Some(target.clone());
    while let Some(n) = node {
        // Copy the handlers out first: a handler may change any node.
        let handlers: Vec<Gc<dyn Listener>> = n
            .listeners
            .borrow()
            .iter()
            .filter(|(e, _)| *e == event)
            .map(|(_, l)| l.clone())
            .collect();
        for h in handlers {
            h.handle(target);
        }
        node = n.parent.borrow().clone();
    }
}

/// A small deterministic random number generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const ARTICLES: usize = 200;

fn main() {
    let started = std::time::Instant::now();
    let html = Node::new("html", "");
    let body = Node::append(&html, Node::new("body", ""));
    let log = Gc::new(ClickLog {
        clicks: Cell::new(0),
        last: RefCell::new(None),
    });
    Node::add_listener(&body, "click", coerce_gc!(log.clone() => dyn Listener));
    Node::append(&body, Node::new("nav", "home | news | about"));
    let main_ = Node::append(&body, Node::new("main", ""));
    let mut buttons = Vec::new();
    for i in 0..ARTICLES {
        let article = Node::append(&main_, Node::new("article", ""));
        Node::append(&article, Node::new("h2", &format!("story #{i}")));
        Node::append(&article, Node::new("p", "lorem ipsum"));
        let like = Node::append(&article, Node::new("button", "like"));
        let fold = Node::append(&article, Node::new("button", "fold"));
        let counter = Gc::new(LikeCounter {
            button: like.clone(),
            likes: Cell::new(0),
        });
        Node::add_listener(&like, "click", coerce_gc!(counter => dyn Listener));
        let toggle = Gc::new(Toggle {
            article: article.clone(),
        });
        Node::add_listener(&fold, "click", coerce_gc!(toggle => dyn Listener));
        buttons.push(like);
        buttons.push(fold);
    }
    Node::append(&body, Node::new("footer", "(c) gengc"));
    println!(
        "built a page of {} articles: {} nodes, {} listeners",
        ARTICLES,
        4 + 1 + 5 * ARTICLES,
        1 + 2 * ARTICLES
    );

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2_000 {
        dispatch("click", &buttons[rng.below(buttons.len())]);
    }
    let folded = main_
        .children
        .borrow()
        .iter()
        .filter(|a| a.hidden.get())
        .count();
    println!(
        "2000 clicks, each bubbled up to <body>'s delegated listener ({} seen, the last on a <{}>): {} articles are folded, and the first like button reads {:?}",
        log.clicks.get(),
        log.last
            .borrow()
            .as_ref()
            .and_then(Weak::upgrade)
            .map_or("?", |n| n.tag),
        folded,
        buttons[0].text.borrow()
    );
    drop(buttons);
    gengc::collect();
    println!("\n{:.4}", gengc::type_stats());

    // Remove three quarters of the articles, keeping only Weak handles to
    // them to watch what happens.
    let before = Snapshot::take();
    let removed: Vec<Gc<Node>> = main_.children.borrow()[ARTICLES / 4..].to_vec();
    let watch: Vec<Weak<Node>> = removed.iter().map(Gc::downgrade).collect();
    for article in &removed {
        Node::remove(&main_, article);
    }
    drop(removed);
    let alive = watch.iter().filter(|w| w.upgrade().is_some()).count();
    println!(
        "\nremoved {} articles from <main>: {} of them are still alive — each is a knot of parent pointers and listeners",
        watch.len(),
        alive
    );
    let unchanged = Snapshot::take().compare_to(&before);
    println!(
        "snapshot diff since before the removal: {} bytes freed by reference counting",
        -unchanged.iter().map(|d| d.bytes_diff).sum::<isize>()
    );

    let freed = gengc::collect();
    let removed_articles = ARTICLES - ARTICLES / 4;
    assert_eq!(freed, removed_articles * (5 + 2));
    assert!(watch.iter().all(|w| w.upgrade().is_none()));
    println!(
        "gengc::collect() freed {freed} objects: every Weak to a removed article is dead, and {} listener finalizers ran (one per removed button)",
        DETACHED_LISTENERS.with(Cell::get)
    );
    // A block a `Weak` still points at stays allocated (and counted) until
    // that `Weak` goes.
    drop(watch);
    println!("the snapshot diff since before the removal:");
    for d in Snapshot::take().compare_to(&before) {
        if d.bytes_diff != 0 {
            println!("  {d}");
        }
    }
    println!(
        "<main> keeps {} articles; the page is intact: the footer reads {:?}",
        main_.children.borrow().len(),
        body.children.borrow().last().unwrap().text.borrow()
    );

    drop((main_, body, log));
    drop(html);
    println!(
        "dropping the page and collecting frees the rest: {} objects",
        gengc::collect()
    );
    println!("done in {:.2?}", started.elapsed());
}
