//! A tour of gengc: a document tree with parent pointers, an interpreter
//! whose closures and environments form cycles, and a churn of short-lived
//! cycles — with what the collector and the heap report along the way: the
//! heap by type, a snapshot diff of what survives the churn, and a Graphviz
//! drawing of a detached subtree awaiting collection.
//!
//! Run it with `cargo run --release --example tour`.

use gengc::gc::{self, CallbackPhase};
use gengc::{dot, Gc, Snapshot, Trace, Weak};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::rc::Rc;
use std::time::Instant;

/// An element of a document: children own their parent back (a cycle per
/// edge), like a DOM with `parentNode`.
#[derive(Trace)]
struct Element {
    tag: String,
    parent: RefCell<Option<Gc<Element>>>,
    children: RefCell<Vec<Gc<Element>>>,
}

impl Element {
    fn new(tag: &str) -> Gc<Element> {
        Gc::new(Element {
            tag: tag.to_string(),
            parent: RefCell::new(None),
            children: RefCell::new(Vec::new()),
        })
    }

    fn append(parent: &Gc<Element>, child: Gc<Element>) {
        *child.parent.borrow_mut() = Some(parent.clone());
        parent.children.borrow_mut().push(child);
    }

    fn depth(&self) -> usize {
        match &*self.parent.borrow() {
            Some(p) => 1 + p.depth(),
            None => 0,
        }
    }
}

/// A value of a tiny language: closures capture their environment, and
/// environments hold closures, so every recursive function is a cycle.
#[derive(Trace)]
enum Value {
    Int(i64),
    Closure {
        params: Vec<String>,
        /// Code is plain data shared with `Rc`: it owns no `Gc`, so the
        /// collector need not look at it.
        #[gc(skip)]
        body: Rc<Expr>,
        env: Gc<Env>,
    },
}

#[derive(Trace)]
struct Env {
    vars: RefCell<HashMap<String, Gc<Value>>>,
    parent: Option<Gc<Env>>,
    /// The interpreter's call stack links frames weakly: not an owning edge.
    caller: Weak<Env>,
}

/// Expressions: plain data, no `Gc` inside.
enum Expr {
    Int(i64),
    Var(String),
    Sub(Box<Expr>, Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

fn lookup(env: &Gc<Env>, name: &str) -> Gc<Value> {
    if let Some(v) = env.vars.borrow().get(name) {
        return v.clone();
    }
    lookup(env.parent.as_ref().expect("unbound variable"), name)
}

fn eval(e: &Expr, env: &Gc<Env>) -> i64 {
    match e {
        Expr::Int(n) => *n,
        Expr::Var(v) => match &*lookup(env, v) {
            Value::Int(n) => *n,
            Value::Closure { .. } => panic!("not a number"),
        },
        Expr::Sub(a, b) => eval(a, env) - eval(b, env),
        Expr::Add(a, b) => eval(a, env) + eval(b, env),
        Expr::If(c, t, f) => {
            if eval(c, env) != 0 {
                eval(t, env)
            } else {
                eval(f, env)
            }
        }
        Expr::Call(name, args) => {
            let f = lookup(env, name);
            let Value::Closure {
                params,
                body,
                env: captured,
            } = &*f
            else {
                panic!("not a function")
            };
            let frame = Gc::new(Env {
                vars: RefCell::new(HashMap::new()),
                parent: Some(captured.clone()),
                caller: Gc::downgrade(env),
            });
            for (p, a) in params.iter().zip(args) {
                let v = Gc::new(Value::Int(eval(a, env)));
                frame.vars.borrow_mut().insert(p.clone(), v);
            }
            eval(body, &frame)
        }
    }
}

/// A cell of a persistent list: immutable, so never part of a cycle.
#[derive(Trace)]
struct Cons {
    head: u64,
    tail: Option<Gc<Cons>>,
}

impl Cons {
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        std::iter::successors(Some(self), |c| c.tail.as_deref()).map(|c| c.head)
    }
}

fn section(title: &str) {
    println!("\n== {title} ==");
}

fn main() {
    let started = Instant::now();
    let collections = Rc::new(Cell::new(0usize));
    let c = collections.clone();
    gc::add_callback(move |phase, _| {
        if phase == CallbackPhase::Stop {
            c.set(c.get() + 1);
        }
    });

    section("1. a document tree with parent pointers");
    let html = Element::new("html");
    for i in 0..200 {
        let section = Element::new("section");
        for j in 0..50 {
            let p = Element::new(if (i + j) % 3 == 0 { "p" } else { "span" });
            Element::append(&section, p);
        }
        Element::append(&html, section);
    }
    let leaf = html.children.borrow()[7].children.borrow()[3].clone();
    println!(
        "built {} elements; a leaf <{}> sits at depth {}",
        1 + 200 + 200 * 50,
        leaf.tag,
        leaf.depth()
    );
    println!(
        "generations now (young, middle, old): {:?}",
        gc::generation_sizes()
    );
    println!("gengc::type_stats():\n{}", gengc::type_stats());
    drop(leaf);
    drop(html);
    println!("dropped the root: every element still has its parent's reference, so counting alone frees nothing");
    let freed = gengc::collect();
    println!("gengc::collect() freed {freed} elements");

    section("2. an interpreter whose closures and environments form cycles");
    let global = Gc::new(Env {
        vars: RefCell::new(HashMap::new()),
        parent: None,
        caller: Weak::new(),
    });
    // fib(n) = if n then (if n - 1 then fib(n-1) + fib(n-2) else 1) else 0
    let body = Rc::new(Expr::If(
        Box::new(Expr::Var("n".into())),
        Box::new(Expr::If(
            Box::new(Expr::Sub(
                Box::new(Expr::Var("n".into())),
                Box::new(Expr::Int(1)),
            )),
            Box::new(Expr::Add(
                Box::new(Expr::Call(
                    "fib".into(),
                    vec![Expr::Sub(
                        Box::new(Expr::Var("n".into())),
                        Box::new(Expr::Int(1)),
                    )],
                )),
                Box::new(Expr::Call(
                    "fib".into(),
                    vec![Expr::Sub(
                        Box::new(Expr::Var("n".into())),
                        Box::new(Expr::Int(2)),
                    )],
                )),
            )),
            Box::new(Expr::Int(1)),
        )),
        Box::new(Expr::Int(0)),
    ));
    let fib = Gc::new(Value::Closure {
        params: vec!["n".into()],
        body,
        env: global.clone(),
    });
    global.vars.borrow_mut().insert("fib".into(), fib); // global -> fib -> global: a cycle
    let t = Instant::now();
    let result = eval(&Expr::Call("fib".into(), vec![Expr::Int(20)]), &global);
    println!(
        "fib(20) = {result} in {:.1?}, with {} automatic collections so far",
        t.elapsed(),
        collections.get()
    );
    drop(global);
    println!(
        "dropping the global environment leaves the closure cycle; collect() frees {}",
        gengc::collect()
    );

    section("3. a churn of short-lived cycles");
    let before_churn = Snapshot::take();
    let keep: Vec<Gc<Element>> = (0..10_000).map(|_| Element::new("kept")).collect();
    let before = gc::stats();
    let t = Instant::now();
    for _ in 0..200_000 {
        let a = Element::new("a");
        Element::append(&a, Element::new("b")); // a <-> b, dropped at once
    }
    let after = gc::stats();
    println!(
        "400,000 objects in 200,000 two-node cycles in {:.1?}; young collections freed them as they went",
        t.elapsed()
    );
    for g in 0..3 {
        println!(
            "  generation {g}: {} collections, {} objects collected, {:.2?} total pause",
            after[g].collections - before[g].collections,
            after[g].collected - before[g].collected,
            after[g].pause - before[g].pause
        );
    }
    println!(
        "tracked objects per generation now: {:?}",
        gc::generation_sizes()
    );
    println!("growth since before the churn (Snapshot::compare_to):");
    for diff in Snapshot::take().compare_to(&before_churn).iter().take(3) {
        println!("  {diff}");
    }
    let freed = gengc::collect();
    println!(
        "after collect() (freed {freed}: the churn's cycles not collected yet), what survives:"
    );
    for diff in Snapshot::take().compare_to(&before_churn).iter().take(3) {
        println!("  {diff}");
    }
    drop(keep);

    section("4. the heap");
    println!("{}", gengc::memory_report());

    section("5. the object graph, in Graphviz DOT");
    let body = Element::new("body");
    for tag in ["h1", "p", "p"] {
        Element::append(&body, Element::new(tag));
    }
    let list = Element::new("ul");
    for _ in 0..3 {
        Element::append(&list, Element::new("li"));
    }
    Element::append(&body, list);
    // Detach the list: it still points at `body` and its items at it, but
    // nothing outside the subtree points into it any more.
    body.children.borrow_mut().pop();
    let path = std::env::temp_dir().join("gengc-tour.dot");
    let summary = write_dot(&path).expect("writing the DOT file");
    println!(
        "wrote {} ({} objects, {} references; the detached <ul> subtree is the {} garbage objects, in red)",
        path.display(),
        summary.nodes,
        summary.edges,
        summary.garbage
    );
    println!("render it with: dot -Tsvg {} -o tour.svg", path.display());
    println!(
        "collect() frees {}; the graph has {} garbage objects left",
        gengc::collect(),
        dot::write_graph(&mut std::io::sink(), &dot::Options::new())
            .expect("writing to a sink")
            .garbage
    );
    drop(body);

    section("6. immutable structures never meet the collector");
    // A persistent list: its `Gc`s sit behind no cell, so a cell whose tail
    // is untracked can never be part of a cycle. `Gc::new` sees that when
    // the value arrives and never tracks the cell (CPython does this for
    // dicts of atomic values; a collection does it later for tuples).
    let tracked = || {
        let (young, middle, old) = gc::generation_sizes();
        young + middle + old
    };
    let tracked_before = tracked();
    let collections_before = gc::stats()[0].collections;
    let mut list: Option<Gc<Cons>> = None;
    for i in 0..100_000 {
        list = Some(Gc::new(Cons {
            head: i,
            tail: list,
        }));
    }
    let mut list = list.expect("built");
    println!(
        "a 100,000-cell list built under automatic collection: {} cells tracked, {} young collections run",
        tracked() - tracked_before,
        gc::stats()[0].collections - collections_before
    );
    println!("sum of the list: {}", list.iter().sum::<u64>());
    // A `&mut` could give the head any edge: `get_mut` tracks it again.
    if let Some(head) = Gc::get_mut(&mut list) {
        head.head += 1;
    }
    println!(
        "after Gc::get_mut on the head: the head is tracked: {}, the rest: {}",
        gc::is_tracked(&list),
        tracked() - tracked_before - 1
    );
    drop(list);

    println!("\ntour finished in {:.2?}", started.elapsed());
}

/// Writes the whole tracked object graph of this thread to `path`, each
/// element labelled with its tag.
fn write_dot(path: &std::path::Path) -> std::io::Result<dot::Summary> {
    let mut file = BufWriter::new(std::fs::File::create(path)?);
    let options = dot::Options::new().label(|any| {
        let element: Gc<Element> = any.clone().downcast().ok()?;
        Some(format!("<{}>", element.tag))
    });
    let summary = dot::write_graph(&mut file, &options)?;
    file.flush()?;
    Ok(summary)
}
