//! Introspection: exact per-type statistics, snapshot diffs, and the
//! structure of the DOT export.
//!
//! Every test body runs on a fresh thread: each thread has its own heap, so
//! the counts asserted here are exactly those of the objects the test
//! makes. Automatic collection is off where generations are asserted.

use gengc::{dot, gc, memory_report, type_stats, Finalize, Gc, Snapshot, Trace, TypeDiff, Weak};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::mem::size_of;

mod common;
use common::run;

/// The pool block of a sized `T` (alignment ≤ 8): the 8-byte header and the
/// value, rounded up to 8.
fn block<T>() -> usize {
    (8 + size_of::<T>()).next_multiple_of(8)
}

/// The pool block of a `Gc<str>` of `len` bytes: header and bytes, rounded
/// up to the 16-byte size classes of unsized values.
fn str_block(len: usize) -> usize {
    (8 + len).next_multiple_of(16)
}

#[derive(Trace)]
struct Node {
    next: RefCell<Option<Gc<Node>>>,
}

fn node() -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(None),
    })
}

/// A tracked type too big for a pool.
#[derive(Trace)]
struct BigNode {
    next: RefCell<Option<Gc<BigNode>>>,
    #[gc(skip)]
    _pad: [u8; 600],
}

#[test]
fn type_stats_count_objects_and_bytes_exactly() {
    run(|| {
        gc::disable();
        let frozen: Vec<_> = (0..4).map(|_| node()).collect();
        gc::freeze();
        let old: Vec<_> = (0..10).map(|_| node()).collect();
        gc::collect(); // young -> old
        let middle: Vec<_> = (0..7).map(|_| node()).collect();
        gc::collect_generation(0); // young -> middle
        let young: Vec<_> = (0..5).map(|_| node()).collect();

        let ints: Vec<Gc<u64>> = (0..100).map(Gc::new).collect();
        let strings: Vec<Gc<String>> = (0..50).map(|i| Gc::new(i.to_string())).collect();
        // `str` values of two size classes: two chains, one row.
        let strs: Vec<Gc<str>> = (0..6)
            .map(|i| {
                Gc::from(if i % 2 == 0 {
                    "hello"
                } else {
                    "a longer string of text"
                })
            })
            .collect();

        let large_before = memory_report().large_bytes;
        let arrays: Vec<Gc<[u64; 100]>> = (0..3).map(|_| Gc::new([0; 100])).collect();
        let array_bytes = memory_report().large_bytes - large_before;
        let bigs: Vec<Gc<BigNode>> = (0..2)
            .map(|_| {
                Gc::new(BigNode {
                    next: RefCell::new(None),
                    _pad: [0; 600],
                })
            })
            .collect();
        let big_bytes = memory_report().large_bytes - large_before - array_bytes;
        assert!(array_bytes > 3 * 800 && big_bytes > 2 * 600);

        let stats = type_stats();
        let n = stats.of::<Node>().unwrap();
        assert_eq!((n.objects, n.bytes), (26, 26 * block::<Node>()));
        assert_eq!(block::<Node>(), 24);
        let per_gen = |u: gengc::Usage| (u.objects, u.bytes / block::<Node>());
        assert_eq!(per_gen(n.young), (5, 5));
        assert_eq!(per_gen(n.middle), (7, 7));
        assert_eq!(per_gen(n.old), (10, 10));
        assert_eq!(per_gen(n.frozen), (4, 4));
        assert_eq!(per_gen(n.untracked), (0, 0));

        let i = stats.of::<u64>().unwrap();
        assert_eq!((i.objects, i.bytes), (100, 100 * 16));
        assert_eq!((i.untracked.objects, i.young.objects), (100, 0));

        let s = stats.of::<String>().unwrap();
        assert_eq!((s.objects, s.bytes), (50, 50 * block::<String>()));

        let st = stats.of::<str>().unwrap();
        assert_eq!(st.objects, 6);
        assert_eq!(st.bytes, 3 * str_block(5) + 3 * str_block(23));
        assert_eq!(st.bytes, 3 * 16 + 3 * 32);

        let a = stats.of::<[u64; 100]>().unwrap();
        assert_eq!((a.objects, a.bytes), (3, array_bytes));
        assert_eq!(
            a.untracked,
            gengc::Usage {
                objects: 3,
                bytes: array_bytes
            }
        );

        let b = stats.of::<BigNode>().unwrap();
        assert_eq!((b.objects, b.bytes), (2, big_bytes));
        assert_eq!(
            b.young,
            gengc::Usage {
                objects: 2,
                bytes: big_bytes
            }
        );

        // Nothing else lives on this thread.
        assert_eq!(stats.types.len(), 6);
        assert_eq!(stats.objects(), 26 + 100 + 50 + 6 + 3 + 2);
        let r = memory_report();
        assert_eq!(stats.bytes(), r.bytes_in_use + r.large_bytes);
        // Largest first.
        assert!(stats.types.windows(2).all(|w| w[0].bytes >= w[1].bytes));
        assert_eq!(
            stats.types[0].type_name,
            std::any::type_name::<[u64; 100]>()
        );

        drop((
            frozen, old, middle, young, ints, strings, strs, arrays, bigs,
        ));
        gc::unfreeze();
        assert_eq!(type_stats().types, []);
    });
}

#[test]
fn a_block_kept_by_a_weak_is_untracked_until_the_weak_goes() {
    run(|| {
        let a = node();
        let w: Weak<Node> = Gc::downgrade(&a);
        drop(a);
        let n = *type_stats().of::<Node>().unwrap();
        assert_eq!((n.objects, n.young.objects, n.untracked.objects), (1, 0, 1));
        drop(w);
        assert!(type_stats().of::<Node>().is_none());
    });
}

#[test]
fn type_stats_display_is_a_table() {
    run(|| {
        let ints: Vec<Gc<u64>> = (0..3).map(Gc::new).collect();
        let strings: Vec<Gc<String>> = (0..2).map(|_| Gc::new(String::new())).collect();
        let stats = type_stats();
        assert_eq!(
            stats.to_string(),
            "gengc: 5 objects, 112 bytes, 2 types\n\
             \x20    bytes  objects    young   middle      old   frozen untracked  type\n\
             \x20       64        2        0        0        0        0         2  String\n\
             \x20       48        3        0        0        0        0         3  u64"
        );
        let top = format!("{stats:#.1}");
        assert!(
            top.ends_with("  alloc::string::String\n... and 1 more types"),
            "{top}"
        );
        drop((ints, strings));
    });
}

#[test]
fn snapshot_diff_shows_exact_growth() {
    run(|| {
        gc::disable();
        let mut ints: Vec<Gc<u64>> = (0..20).map(Gc::new).collect();
        let unchanged = Gc::new(1u8);
        let before = Snapshot::take();

        let nodes: Vec<_> = (0..40).map(|_| node()).collect();
        let strings: Vec<Gc<String>> = (0..10).map(|_| Gc::new(String::new())).collect();
        ints.truncate(15);
        let after = Snapshot::take();

        let diff = after.compare_to(&before);
        let row = |d: &TypeDiff| {
            (
                d.type_name,
                d.objects,
                d.bytes,
                d.objects_diff,
                d.bytes_diff,
            )
        };
        assert_eq!(
            diff.iter().map(row).collect::<Vec<_>>(),
            [
                (std::any::type_name::<Node>(), 40, 960, 40, 960),
                ("alloc::string::String", 10, 320, 10, 320),
                ("u64", 15, 240, -5, -80),
                ("u8", 1, 16, 0, 0),
            ]
        );
        assert_eq!(
            diff[0].to_string(),
            "Node: size=960 B (+960 B), count=40 (+40)"
        );
        assert_eq!(
            diff[2].to_string(),
            "u64: size=240 B (-80 B), count=15 (-5)"
        );
        // The other way round, everything shrinks; a type that is gone has
        // zero objects left.
        let back = before.compare_to(&after);
        assert_eq!(
            row(&back[0]),
            (std::any::type_name::<Node>(), 0, 0, -40, -960)
        );

        // Cycles that were dropped still show until a collection frees them.
        drop(nodes);
        for _ in 0..25 {
            let a = node();
            let b = node();
            *a.next.borrow_mut() = Some(b.clone());
            *b.next.borrow_mut() = Some(a);
        }
        let leaked = Snapshot::take().compare_to(&after);
        assert_eq!(
            row(&leaked[0]),
            (std::any::type_name::<Node>(), 50, 1200, 10, 240)
        );
        assert_eq!(gengc::collect(), 50);
        let collected = Snapshot::take().compare_to(&after);
        assert_eq!(
            row(&collected[0]),
            (std::any::type_name::<Node>(), 0, 0, -40, -960)
        );
        drop((ints, unchanged, strings));
    });
}

// ---- DOT export ----

#[derive(Trace)]
struct Doc {
    title: Gc<String>,
    body: RefCell<Option<Gc<Body>>>,
}

#[derive(Trace)]
struct Body {
    doc: Gc<Doc>,
}

#[derive(Trace)]
struct Left {
    right: RefCell<Option<Gc<Right>>>,
}

#[derive(Trace)]
struct Right {
    left: Gc<Left>,
    count: Gc<u32>,
}

/// A live document (Doc <-> Body, held by the returned handle) and a dead
/// cycle (Left <-> Right, with a `u32` hanging off Right).
fn small_graph() -> Gc<Doc> {
    let doc = Gc::new(Doc {
        title: Gc::new("title".to_string()),
        body: RefCell::new(None),
    });
    *doc.body.borrow_mut() = Some(Gc::new(Body { doc: doc.clone() }));
    let left = Gc::new(Left {
        right: RefCell::new(None),
    });
    *left.right.borrow_mut() = Some(Gc::new(Right {
        left: left.clone(),
        count: Gc::new(7),
    }));
    doc
}

/// A node of a parsed DOT file.
#[derive(Debug, PartialEq, Eq, Clone)]
struct DotNode {
    label: String,
    garbage: bool,
}

/// Parses the node and edge lines `write_graph` emits.
fn parse(dot: &str) -> (BTreeMap<String, DotNode>, Vec<(String, String)>) {
    assert!(
        dot.starts_with("digraph gengc {\n") && dot.ends_with("}\n"),
        "{dot}"
    );
    let mut nodes = BTreeMap::new();
    let mut edges = Vec::new();
    for line in dot.lines() {
        let line = line.trim();
        if let Some((from, rest)) = line.split_once(" -> ") {
            let to = rest.split([';', ' ']).next().unwrap();
            edges.push((from.to_string(), to.to_string()));
        } else if line.starts_with('n') && line[1..].starts_with(|c: char| c.is_ascii_digit()) {
            let (id, rest) = line.split_once(" [label=\"").unwrap();
            let (label, attrs) = rest.split_once('"').unwrap();
            let node = DotNode {
                label: label.to_string(),
                garbage: attrs.contains("color=red"),
            };
            assert!(nodes.insert(id.to_string(), node).is_none());
        }
    }
    (nodes, edges)
}

/// The edges by the first line of their nodes' labels (the type), sorted.
fn edges_by_type(
    nodes: &BTreeMap<String, DotNode>,
    edges: &[(String, String)],
) -> Vec<(String, String)> {
    let ty = |id: &String| nodes[id].label.split("\\n").next().unwrap().to_string();
    let mut e: Vec<_> = edges.iter().map(|(a, b)| (ty(a), ty(b))).collect();
    e.sort();
    e
}

fn export(options: &dot::Options<'_>) -> (String, dot::Summary) {
    let mut out = Vec::new();
    let summary = dot::write_graph(&mut out, options).unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

#[test]
fn dot_whole_graph_has_exact_structure_and_red_garbage() {
    run(|| {
        let doc = small_graph();
        let (text, summary) = export(&dot::Options::new());
        let (nodes, edges) = parse(&text);
        assert_eq!(
            summary,
            dot::Summary {
                nodes: 6,
                edges: 6,
                garbage: 3,
                truncated: false
            }
        );
        let mut labels: Vec<(String, bool)> = nodes
            .values()
            .map(|n| (n.label.clone(), n.garbage))
            .collect();
        labels.sort();
        let label = |s: &str| s.to_string();
        assert_eq!(
            labels,
            [
                (label("Body\\nstrong 1, young, 16 B"), false),
                (label("Doc\\nstrong 2, young, 32 B"), false),
                (label("Left\\nstrong 1, young, 24 B"), true),
                (label("Right\\nstrong 1, young, 24 B"), true),
                (label("String\\nstrong 1, untracked, 32 B"), false),
                (label("u32\\nstrong 1, untracked, 16 B"), true),
            ]
        );
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            edges_by_type(&nodes, &edges),
            [
                pair("Body", "Doc"),
                pair("Doc", "Body"),
                pair("Doc", "String"),
                pair("Left", "Right"),
                pair("Right", "Left"),
                pair("Right", "u32"),
            ]
        );
        // Edges out of garbage are red too.
        assert_eq!(text.matches("[color=red]").count(), 3, "{text}");
        assert!(text.contains("label=\"gengc heap: 6 objects, 6 references, 3 garbage (red)\""));

        // The collector agrees: it finds the two tracked red nodes, and the
        // `u32` only they referenced goes with them.
        assert_eq!(gengc::collect(), 2);
        let (_, after) = export(&dot::Options::new());
        assert_eq!((after.nodes, after.edges, after.garbage), (3, 3, 0));
        assert!(type_stats().of::<u32>().is_none());
        drop(doc);
    });
}

#[test]
fn dot_from_a_root_is_what_it_reaches_in_trace_order() {
    run(|| {
        let doc = small_graph();
        let (text, summary) = export(&dot::Options::new().root(&doc));
        assert_eq!(
            text,
            "digraph gengc {\n\
             \x20 graph [label=\"gengc heap: 3 objects, 3 references, 0 garbage (red)\", labelloc=t, fontname=\"monospace\"];\n\
             \x20 node [shape=box, fontname=\"monospace\"];\n\
             \x20 n0 [label=\"Doc\\nstrong 2, young, 32 B\"];\n\
             \x20 n1 [label=\"String\\nstrong 1, untracked, 32 B\"];\n\
             \x20 n2 [label=\"Body\\nstrong 1, young, 16 B\"];\n\
             \x20 n0 -> n1;\n\
             \x20 n0 -> n2;\n\
             \x20 n2 -> n0;\n\
             }\n"
        );
        assert_eq!(summary.garbage, 0);
        // The export borrowed the root: its count is unchanged.
        assert_eq!(Gc::strong_count(&doc), 2);

        // `AnyGc` roots work the same; full type names on request.
        let body = gc::referents(&doc).into_iter().nth(1).unwrap();
        let roots = [body];
        let (text, summary) = export(&dot::Options::new().roots(&roots).full_type_names(true));
        assert_eq!((summary.nodes, summary.edges), (3, 3));
        let (nodes, _) = parse(&text);
        assert!(nodes["n0"].label.starts_with(std::any::type_name::<Body>()));
        assert!(nodes["n0"].label.contains("strong 2")); // `roots` holds one
        drop(doc);
    });
}

#[test]
fn dot_node_limit_truncates() {
    run(|| {
        let chain = (0..10).fold(node(), |next, _| {
            Gc::new(Node {
                next: RefCell::new(Some(next)),
            })
        });
        let (text, summary) = export(&dot::Options::new().root(&chain).max_nodes(4));
        assert_eq!(
            summary,
            dot::Summary {
                nodes: 4,
                edges: 3,
                garbage: 0,
                truncated: true
            }
        );
        assert!(text.contains(", truncated at 4 objects\""));
        let (nodes, edges) = parse(&text);
        assert_eq!(nodes.len(), 4);
        assert_eq!(
            edges,
            [("n0", "n1"), ("n1", "n2"), ("n2", "n3")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let (_, all) = export(&dot::Options::new().root(&chain).max_nodes(0));
        assert_eq!((all.nodes, all.truncated), (0, true));
    });
}

#[derive(Trace)]
struct Holder {
    items: Vec<Gc<u32>>,
}

#[test]
fn dot_never_reads_a_value_lent_by_get_mut() {
    run(|| {
        let mut h = Gc::new(Holder {
            items: vec![Gc::new(1)],
        });
        let lent = Gc::get_mut(&mut h).unwrap();
        // While `lent` is live, the export sees the node but not its value.
        let (text, summary) = export(&dot::Options::new());
        assert_eq!((summary.nodes, summary.edges), (1, 0));
        assert!(text.contains("lent out by Gc::get_mut: not read\", style=dashed]"));
        lent.items.push(Gc::new(2));
        // Borrowing the handle as a root proves the `&mut` is gone.
        let (_, summary) = export(&dot::Options::new().root(&h));
        assert_eq!((summary.nodes, summary.edges), (3, 2));
        let (_, summary) = export(&dot::Options::new());
        assert_eq!((summary.nodes, summary.edges), (3, 2));
    });
}

#[test]
fn dot_labels_come_from_the_caller_after_the_walk() {
    run(|| {
        let doc = small_graph();
        let mut h = Gc::new(Holder { items: Vec::new() });
        let lent = Gc::get_mut(&mut h).unwrap();
        let calls = Cell::new(0);
        let options = dot::Options::new().label(|any| {
            calls.set(calls.get() + 1);
            // User code may do anything here, even allocate and collect.
            gengc::collect();
            let doc: Gc<Doc> = any.clone().downcast().ok()?;
            Some(format!("title \"{}\"\nline two", doc.title))
        });
        let (text, summary) = export(&options);
        // Every node but the lent `Holder` was offered to the function.
        assert_eq!((summary.nodes, calls.get()), (7, 6));
        assert!(
            text.contains(r#"n0 [label="Doc\ntitle \"title\"\nline two\nstrong 2, young, 32 B"];"#)
        );
        // The handles given to it are gone again. While it ran, they kept
        // the garbage alive through its `collect()`; the next one frees it.
        assert_eq!(Gc::strong_count(&doc), 2);
        assert_eq!(summary.garbage, 3);
        assert_eq!(type_stats().of::<Left>().unwrap().objects, 1);
        assert_eq!(gengc::collect(), 2);
        lent.items.push(Gc::new(1));
        drop(doc);
    });
}

thread_local! {
    static SEEN_IN_FINALIZER: Cell<Option<(usize, usize, usize)>> = const { Cell::new(None) };
}

#[derive(Trace)]
#[gc(finalize)]
struct Fin {
    peer: RefCell<Option<Gc<Fin>>>,
}

impl Finalize for Fin {
    fn finalize(&self) {
        // The garbage is out of the generations and held by the collector
        // while finalizers run.
        let row = *type_stats().of::<Fin>().unwrap();
        let mut out = Vec::new();
        let summary = dot::write_graph(&mut out, &dot::Options::new()).unwrap();
        SEEN_IN_FINALIZER
            .with(|s| s.set(Some((row.objects, row.untracked.objects, summary.nodes))));
    }
}

#[test]
fn introspection_works_inside_a_finalizer() {
    run(|| {
        let a = Gc::new(Fin {
            peer: RefCell::new(None),
        });
        *a.peer.borrow_mut() = Some(Gc::new(Fin {
            peer: RefCell::new(Some(a.clone())),
        }));
        drop(a);
        assert_eq!(gengc::collect(), 2);
        assert_eq!(SEEN_IN_FINALIZER.with(Cell::get), Some((2, 2, 0)));
    });
}

#[test]
fn dot_output_renders_with_graphviz() {
    run(|| {
        let doc = small_graph();
        let (text, _) = export(&dot::Options::new());
        let child = std::process::Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("graphviz `dot` not installed: rendering not checked");
            return;
        };
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let svg = String::from_utf8(out.stdout).unwrap();
        assert!(svg.contains("<svg") && svg.contains("Doc"));
        drop(doc);
    });
}
