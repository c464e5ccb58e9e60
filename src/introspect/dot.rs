//! The object graph in Graphviz DOT: [`write_graph`].
//!
//! Each object is a node labelled with its type, its strong count, its
//! generation and its bytes; each `Gc` a value owns (as its `Trace` impl
//! reports it) is an edge. Objects that a collection of the exported set
//! would free — every strong reference to them comes from inside the set,
//! and no object referenced from outside reaches them — are drawn in red.
//!
//! ```
//! use gengc::{dot, Gc, Trace};
//! use std::cell::RefCell;
//!
//! #[derive(Trace)]
//! struct Node {
//!     next: RefCell<Option<Gc<Node>>>,
//! }
//!
//! let a = Gc::new(Node { next: RefCell::new(None) });
//! let b = Gc::new(Node { next: RefCell::new(Some(a.clone())) });
//! *a.next.borrow_mut() = Some(b.clone());
//! drop(b); // `a` is still held: the cycle is alive
//!
//! let mut out = Vec::new();
//! let summary = dot::write_graph(&mut out, &dot::Options::new())?;
//! assert_eq!((summary.nodes, summary.edges, summary.garbage), (2, 2, 0));
//!
//! drop(a); // now nothing outside the cycle refers to it
//! let mut out = Vec::new();
//! let summary = dot::write_graph(&mut out, &dot::Options::new())?;
//! assert_eq!(summary.garbage, 2);
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.starts_with("digraph gengc {"));
//! assert!(text.contains("color=red"));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Render with `dot -Tsvg heap.dot -o heap.svg`.

use super::stats::display_name;
use super::{generation_name, object_bytes};
use crate::any::AnyGc;
use crate::collector::control::trace_targets;
use crate::collector::Collector;
use crate::heap::header::{FLAG_DROPPED, FLAG_SETTLED};
use crate::heap::object::ObjRef;
use crate::heap::pool::FROZEN;
use crate::heap::with_heap;
use crate::Gc;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::rc::Rc;

/// What [`write_graph`] exports: the whole tracked graph (the default) or
/// what some roots reach, and how many objects at most.
///
/// The roots are borrowed for `'a`, so their strong counts are not changed
/// by the export.
///
/// ```
/// use gengc::{dot, Gc};
/// let leaf = Gc::new(1);
/// let list = Gc::new(vec![leaf.clone(), leaf.clone()]);
/// let options = dot::Options::new().root(&list).max_nodes(100);
/// let summary = dot::write_graph(&mut std::io::sink(), &options)?;
/// assert_eq!((summary.nodes, summary.edges), (2, 2));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Options<'a> {
    roots: Vec<ObjRef>,
    max_nodes: usize,
    full_type_names: bool,
    label: Option<Rc<Labeller<'a>>>,
    _roots: PhantomData<&'a AnyGc>,
}

/// A caller's function adding a line to node labels.
type Labeller<'a> = dyn Fn(&AnyGc) -> Option<String> + 'a;

impl fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("roots", &self.roots.len())
            .field("max_nodes", &self.max_nodes)
            .field("full_type_names", &self.full_type_names)
            .field("label", &self.label.is_some())
            .finish()
    }
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options::new()
    }
}

impl<'a> Options<'a> {
    /// The whole graph of the current thread: every tracked object (frozen
    /// ones included) and every object they reference, at most 1000.
    ///
    /// ```
    /// let summary = gengc::dot::write_graph(&mut std::io::sink(), &gengc::dot::Options::new())?;
    /// assert_eq!(summary.nodes, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Options<'a> {
        Options {
            roots: Vec::new(),
            max_nodes: 1000,
            full_type_names: false,
            label: None,
            _roots: PhantomData,
        }
    }

    /// Exports only what the roots reach (the roots included). May be
    /// called several times, and combined with [`roots`](Options::roots).
    ///
    /// ```
    /// use gengc::{dot, Gc};
    /// let a = Gc::new(vec![Gc::new(1)]);
    /// let b = Gc::new(vec![Gc::new(2)]);
    /// let summary = dot::write_graph(&mut std::io::sink(), &dot::Options::new().root(&a))?;
    /// assert_eq!(summary.nodes, 2); // `a` and its element, not `b`'s
    /// # drop(b);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn root<T: ?Sized>(mut self, gc: &'a Gc<T>) -> Options<'a> {
        // Borrowing this handle proves that no `&mut` lent by `Gc::get_mut`
        // (which borrows the only handle mutably) is live, as in
        // `gc::referents`: the value may be read.
        gc.header().end_mut_lend();
        self.roots.push(gc.obj());
        self
    }

    /// Exports only what these objects reach, as [`root`](Options::root).
    ///
    /// ```
    /// use gengc::{dot, gc, Gc};
    /// let v = Gc::new(vec![Gc::new(vec![Gc::new(1)])]);
    /// let inner = gc::referents(&v);
    /// let summary = dot::write_graph(&mut std::io::sink(), &dot::Options::new().roots(&inner))?;
    /// assert_eq!(summary.nodes, 2); // the inner vector and its element
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn roots(mut self, roots: &'a [AnyGc]) -> Options<'a> {
        for r in roots {
            // As in `root`: if this `AnyGc` is the object's only handle, no
            // `Gc` exists whose `&mut` could be lent.
            // SAFETY: the handle keeps the block allocated.
            unsafe { r.obj().header().end_mut_lend() };
            self.roots.push(r.obj());
        }
        self
    }

    /// At most `n` objects are exported (1000 by default); edges to the
    /// others are left out and the graph's title says it was truncated.
    ///
    /// ```
    /// use gengc::{dot, Gc};
    /// use std::cell::RefCell;
    /// let v = Gc::new(RefCell::new((0..10).map(Gc::new).collect::<Vec<_>>()));
    /// let summary = dot::write_graph(&mut std::io::sink(), &dot::Options::new().max_nodes(3))?;
    /// assert_eq!((summary.nodes, summary.edges, summary.truncated), (3, 2, true));
    /// # drop(v);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_nodes(mut self, n: usize) -> Options<'a> {
        self.max_nodes = n;
        self
    }

    /// Labels nodes with full type paths (`alloc::vec::Vec<gengc::handle::Gc<app::Node>>`)
    /// instead of the last segment of each (`Vec<Gc<Node>>`, the default).
    ///
    /// ```
    /// use gengc::{dot, Gc};
    /// use std::cell::RefCell;
    /// let v = Gc::new(RefCell::new(vec![Gc::new(String::new())]));
    /// let mut out = Vec::new();
    /// dot::write_graph(&mut out, &dot::Options::new().full_type_names(true))?;
    /// assert!(String::from_utf8(out).unwrap().contains("alloc::string::String"));
    /// # drop(v);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn full_type_names(mut self, full: bool) -> Options<'a> {
        self.full_type_names = full;
        self
    }

    /// Adds a line of the caller's to node labels: `label` gets a handle to
    /// each exported object and may return a line (a DOM element's tag, a
    /// variable's name), typically after [`AnyGc::downcast`].
    ///
    /// It runs after the walk, so it may do anything; the strong counts
    /// printed are those from before it ran and do not include the handles
    /// it is given. Objects whose value may be lent out by
    /// [`Gc::get_mut`], and pooled `Gc<[T]>`s (which an [`AnyGc`] cannot
    /// name), get no such line.
    ///
    /// ```
    /// use gengc::{dot, Gc};
    /// let names = Gc::new(vec![Gc::new(String::from("ada")), Gc::new(String::from("alan"))]);
    /// let options = dot::Options::new().root(&names).label(|any| {
    ///     let s: Gc<String> = any.clone().downcast().ok()?;
    ///     Some(format!("{s:?}"))
    /// });
    /// let mut out = Vec::new();
    /// dot::write_graph(&mut out, &options)?;
    /// let text = String::from_utf8(out).unwrap();
    /// assert!(text.contains(r#"label="String\n\"ada\"\nstrong 1, untracked, 32 B""#));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn label(mut self, label: impl Fn(&AnyGc) -> Option<String> + 'a) -> Options<'a> {
        self.label = Some(Rc::new(label));
        self
    }
}

/// What [`write_graph`] exported.
///
/// ```
/// let s = gengc::dot::write_graph(&mut std::io::sink(), &gengc::dot::Options::new())?;
/// assert_eq!(s, gengc::dot::Summary { nodes: 0, edges: 0, garbage: 0, truncated: false });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Summary {
    /// Objects written as nodes.
    pub nodes: usize,
    /// References written as edges (a value owning the same `Gc` twice
    /// gives two).
    pub edges: usize,
    /// Nodes drawn in red: garbage with respect to the exported set.
    pub garbage: usize,
    /// Whether objects were left out because of [`Options::max_nodes`].
    pub truncated: bool,
}

/// Writes the current thread's object graph, or the part of it the roots of
/// `options` reach, to `w` in Graphviz DOT.
///
/// Nodes are numbered `n0`, `n1`, … in the order they are found: from each
/// root in turn, or from every tracked object (young to frozen), breadth
/// first. A node reads its type, the [`label`](Options::label) line if
/// any, then `strong N, generation, size B`. A node drawn dashed is a value
/// lent out by [`Gc::get_mut`]: it is not read, so its references are
/// missing.
///
/// **Garbage**, in red: an object whose strong count is fully explained by
/// edges from other exported objects, and which no object referenced from
/// outside the export reaches — what a collection of the exported set would
/// free (the collector's own test, run read-only). Exporting the whole graph
/// thus shows the cycles the next full collection frees (frozen ones
/// included, which it would not). Objects reachable from a root are never
/// garbage, since the root's handle refers to it from outside; and an
/// export cut short by the node limit errs towards "reachable".
///
/// The heap is walked first, with no user code running but `Trace` impls;
/// only then are the [`label`](Options::label) function called and `w`
/// written to.
///
/// # Errors
/// Those of `w`.
///
/// ```
/// use gengc::{dot, Gc};
/// use std::io::{BufWriter, Write};
///
/// let list = Gc::new(vec![Gc::new(1), Gc::new(2)]);
/// let path = std::env::temp_dir().join(format!("gengc-doc-{}.dot", std::process::id()));
/// let mut file = BufWriter::new(std::fs::File::create(&path)?);
/// let summary = dot::write_graph(&mut file, &dot::Options::new().root(&list))?;
/// file.flush()?;
/// assert_eq!((summary.nodes, summary.edges), (3, 2));
/// // render it with `dot -Tsvg <path> -o heap.svg`
/// # drop(file);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_graph(w: &mut impl Write, options: &Options<'_>) -> io::Result<Summary> {
    let graph = with_heap(|heap| Graph::walk(heap.collector(), options));
    graph.write(w, options)
}

/// One object, as copied during the walk.
struct Node {
    obj: ObjRef,
    type_name: &'static str,
    strong: u32,
    generation: Option<usize>,
    bytes: usize,
    /// Whether its references are followed (tracked, alive, not lent).
    traced: bool,
    lent: bool,
    garbage: bool,
    /// A handle for the caller's label function, taken after the walk.
    handle: Option<AnyGc>,
}

/// The exported part of the heap, copied out of it.
struct Graph {
    nodes: Vec<Node>,
    index: HashMap<ObjRef, usize>,
    edges: Vec<(usize, usize)>,
    max_nodes: usize,
    truncated: bool,
}

impl Graph {
    /// Finds the nodes and edges, then the garbage among them. Runs no user
    /// code but `Trace` impls.
    fn walk(collector: &Collector, options: &Options<'_>) -> Graph {
        let mut graph = Graph {
            nodes: Vec::new(),
            index: HashMap::new(),
            edges: Vec::new(),
            max_nodes: options.max_nodes,
            truncated: false,
        };
        let starts = if options.roots.is_empty() {
            let mut all = Vec::new();
            for g in 0..=FROZEN {
                collector.for_each_in(g, |obj| all.push(obj));
            }
            all
        } else {
            options.roots.clone()
        };
        let mut done = 0;
        for obj in starts {
            // SAFETY: roots are kept alive by the handles `options` borrows;
            // tracked objects are alive, and no code that could free one has
            // run since they were listed.
            unsafe { graph.add(collector, obj) };
            // Breadth first from this start: every node is traced once, in
            // the order it was found.
            while done < graph.nodes.len() {
                // SAFETY: every node is alive (a root, a tracked object, or
                // the target of a live object's `Gc`), and `traced` excludes
                // values that may be lent out or are dropped.
                unsafe { graph.trace(collector, done) };
                done += 1;
            }
        }
        graph.mark_garbage();
        if options.label.is_some() {
            graph.take_handles();
        }
        graph
    }

    /// Takes a strong handle to every node the caller's label function may
    /// see, now that the strong counts have been read: from here on, user
    /// code may run without invalidating any node.
    fn take_handles(&mut self) {
        for n in &mut self.nodes {
            // SAFETY: every node is alive (nothing has run since the walk
            // but the garbage marking); a handle is made only for values
            // that cannot be lent out, and that an `AnyGc` can name.
            unsafe {
                let h = n.obj.header();
                if !n.lent && h.strong() > 0 && !h.has_flag(FLAG_DROPPED) && n.obj.is_erasable() {
                    n.handle = Some(AnyGc::new_strong(n.obj));
                }
            }
        }
    }

    /// The node of `obj`, added if new; `None` past the node limit.
    ///
    /// # Safety
    /// The object's block must be allocated.
    unsafe fn add(&mut self, collector: &Collector, obj: ObjRef) -> Option<usize> {
        if let Some(&i) = self.index.get(&obj) {
            return Some(i);
        }
        if self.nodes.len() >= self.max_nodes {
            self.truncated = true;
            return None;
        }
        // SAFETY: forwarded to the caller; only headers and bitmaps are read.
        let node = unsafe {
            let h = obj.header();
            let generation = collector.generation_of(obj);
            let lent = h.may_be_lent();
            Node {
                obj,
                type_name: (obj.vtable().0.type_name)(),
                strong: h.strong(),
                generation,
                bytes: object_bytes(obj),
                // Only objects of tracked types can own a `Gc` (and are
                // erasable): those in a generation, and settled ones.
                traced: (generation.is_some() || h.has_flag(FLAG_SETTLED))
                    && !lent
                    && h.strong() > 0
                    && !h.has_flag(FLAG_DROPPED),
                lent,
                garbage: false,
                handle: None,
            }
        };
        self.index.insert(obj, self.nodes.len());
        self.nodes.push(node);
        Some(self.nodes.len() - 1)
    }

    /// Records the edges of node `i` and adds their targets.
    ///
    /// # Safety
    /// The node's object must be alive.
    unsafe fn trace(&mut self, collector: &Collector, i: usize) {
        if !self.nodes[i].traced {
            return;
        }
        // SAFETY: `traced` says the value is alive, erasable and not lent.
        let targets = unsafe { trace_targets(self.nodes[i].obj) };
        for target in targets {
            // SAFETY: the target of a live value's `Gc` is alive.
            if let Some(j) = unsafe { self.add(collector, target) } {
                self.edges.push((i, j));
            }
        }
    }

    /// The collector's test on the exported set: an object with more strong
    /// references than edges into it is referenced from outside, hence
    /// reachable, and so is everything it reaches; the rest is garbage.
    fn mark_garbage(&mut self) {
        let n = self.nodes.len();
        let mut internal = vec![0u32; n];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(from, to) in &self.edges {
            internal[to] += 1;
            out[from].push(to);
        }
        let mut reachable: Vec<bool> = (0..n).map(|i| self.nodes[i].strong > internal[i]).collect();
        let mut stack: Vec<usize> = (0..n).filter(|&i| reachable[i]).collect();
        while let Some(i) = stack.pop() {
            for &j in &out[i] {
                if !reachable[j] {
                    reachable[j] = true;
                    stack.push(j);
                }
            }
        }
        for (node, reachable) in self.nodes.iter_mut().zip(reachable) {
            node.garbage = !reachable;
        }
    }

    fn write(&self, w: &mut impl Write, options: &Options<'_>) -> io::Result<Summary> {
        let summary = Summary {
            nodes: self.nodes.len(),
            edges: self.edges.len(),
            garbage: self.nodes.iter().filter(|n| n.garbage).count(),
            truncated: self.truncated,
        };
        let mut title = format!(
            "gengc heap: {} objects, {} references, {} garbage (red)",
            summary.nodes, summary.edges, summary.garbage
        );
        if self.truncated {
            title += &format!(", truncated at {} objects", self.max_nodes);
        }
        writeln!(w, "digraph gengc {{")?;
        writeln!(
            w,
            "  graph [label=\"{title}\", labelloc=t, fontname=\"monospace\"];"
        )?;
        writeln!(w, "  node [shape=box, fontname=\"monospace\"];")?;
        for (i, n) in self.nodes.iter().enumerate() {
            let mut label = escape(&display_name(n.type_name, options.full_type_names));
            if let (Some(f), Some(handle)) = (&options.label, &n.handle) {
                if let Some(line) = f(handle) {
                    label += "\\n";
                    label += &escape(&line);
                }
            }
            label += &format!(
                "\\nstrong {}, {}, {} B",
                n.strong,
                generation_name(n.generation),
                n.bytes
            );
            let mut attrs = String::new();
            if n.lent {
                label += "\\nlent out by Gc::get_mut: not read";
                attrs += ", style=dashed";
            }
            if n.garbage {
                attrs += ", color=red, fontcolor=red";
            }
            writeln!(w, "  n{i} [label=\"{label}\"{attrs}];")?;
        }
        for &(from, to) in &self.edges {
            if self.nodes[from].garbage {
                writeln!(w, "  n{from} -> n{to} [color=red];")?;
            } else {
                writeln!(w, "  n{from} -> n{to};")?;
            }
        }
        writeln!(w, "}}")?;
        Ok(summary)
    }
}

/// Escapes a string for a double-quoted DOT label (a line break becomes
/// DOT's `\n`).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
