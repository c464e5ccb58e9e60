//! A random directed graph whose vertices own their out-edges as `Gc`s:
//! strongly connected components (Tarjan's algorithm), then parts of the
//! graph dropped and the collector freeing exactly what became unreachable
//! — checked against a breadth-first search, and drawn in Graphviz DOT.
//!
//! Run it with `cargo run --release --example graph`.

use gengc::{dot, Gc, Trace};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufWriter, Write};

#[derive(Trace)]
struct Vertex {
    id: usize,
    edges: RefCell<Vec<Gc<Vertex>>>,
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

/// `n` vertices; each gets `0..=max_degree` edges to random vertices.
fn random_graph(n: usize, max_degree: usize, rng: &mut Rng) -> Vec<Gc<Vertex>> {
    let vertices: Vec<Gc<Vertex>> = (0..n)
        .map(|id| {
            Gc::new(Vertex {
                id,
                edges: RefCell::new(Vec::new()),
            })
        })
        .collect();
    for v in &vertices {
        for _ in 0..rng.below(max_degree + 1) {
            v.edges.borrow_mut().push(vertices[rng.below(n)].clone());
        }
    }
    vertices
}

/// The adjacency lists by vertex id, read through the `Gc` edges.
fn adjacency(vertices: &[Gc<Vertex>]) -> Vec<Vec<usize>> {
    vertices
        .iter()
        .map(|v| v.edges.borrow().iter().map(|w| w.id).collect())
        .collect()
}

/// Tarjan's strongly connected components, with an explicit call stack
/// (no recursion, whatever the graph's depth). Returns each vertex's
/// component number.
fn tarjan(adj: &[Vec<usize>]) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    let n = adj.len();
    let (mut index, mut low) = (vec![UNSEEN; n], vec![0; n]);
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![UNSEEN; n];
    let (mut next_index, mut components) = (0, 0);
    let mut calls: Vec<(usize, usize)> = Vec::new(); // (vertex, next edge)
    for start in 0..n {
        if index[start] != UNSEEN {
            continue;
        }
        index[start] = next_index;
        low[start] = next_index;
        next_index += 1;
        stack.push(start);
        on_stack[start] = true;
        calls.push((start, 0));
        while let Some(&mut (v, ref mut edge)) = calls.last_mut() {
            if let Some(&w) = adj[v].get(*edge) {
                *edge += 1;
                if index[w] == UNSEEN {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                calls.pop();
                if let Some(&(caller, _)) = calls.last() {
                    low[caller] = low[caller].min(low[v]);
                }
                if low[v] == index[v] {
                    loop {
                        let w = stack.pop().expect("v is on the stack");
                        on_stack[w] = false;
                        component[w] = components;
                        if w == v {
                            break;
                        }
                    }
                    components += 1;
                }
            }
        }
    }
    component
}

/// How many vertices `roots` reach (themselves included).
fn reachable(adj: &[Vec<usize>], roots: &[usize]) -> usize {
    let mut seen = vec![false; adj.len()];
    let mut queue: VecDeque<usize> = roots.iter().copied().collect();
    for &r in roots {
        seen[r] = true;
    }
    let mut count = roots.len();
    while let Some(v) = queue.pop_front() {
        for &w in &adj[v] {
            if !seen[w] {
                seen[w] = true;
                count += 1;
                queue.push_back(w);
            }
        }
    }
    count
}

fn main() {
    let started = std::time::Instant::now();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);

    const N: usize = 50_000;
    let vertices = random_graph(N, 3, &mut rng);
    let adj = adjacency(&vertices);
    let edges: usize = adj.iter().map(Vec::len).sum();
    let component = tarjan(&adj);
    let mut sizes = vec![0usize; component.iter().max().map_or(0, |m| m + 1)];
    for &c in &component {
        sizes[c] += 1;
    }
    let giant = sizes.iter().max().copied().unwrap_or(0);
    println!(
        "a random graph of {N} vertices and {edges} edges: {} strongly connected components; the largest has {giant} vertices, {} are single vertices",
        sizes.len(),
        sizes.iter().filter(|&&s| s == 1).count()
    );
    let stats = gengc::type_stats();
    let row = stats.of::<Vertex>().expect("vertices are live");
    println!(
        "the heap holds {} vertices in {} bytes (young {}, middle {}, old {})",
        row.objects, row.bytes, row.young.objects, row.middle.objects, row.old.objects
    );

    // Keep a handful of vertices, drop the table: whatever they do not
    // reach is garbage, most of it in cycles.
    let roots: Vec<usize> = (0..5).map(|_| rng.below(N)).collect();
    let kept: Vec<Gc<Vertex>> = roots.iter().map(|&r| vertices[r].clone()).collect();
    let expected_live = reachable(&adj, &roots);
    let vertex_count = || gengc::type_stats().of::<Vertex>().map_or(0, |r| r.objects);
    drop(vertices);
    let after_counting = vertex_count();
    let freed = gengc::collect();
    println!(
        "keeping {} roots, which reach {expected_live} vertices (breadth-first search), and dropping the table:",
        kept.len()
    );
    println!(
        "  reference counting freed {} vertices at once (those on no cycle); collect() freed the {freed} left in or below cycles",
        N - after_counting
    );
    assert_eq!(after_counting - freed, expected_live);
    assert_eq!(vertex_count(), expected_live);
    // Cut every edge out of the roots: now only they stay.
    for v in &kept {
        v.edges.borrow_mut().clear();
    }
    let after_counting = vertex_count();
    let freed = gengc::collect();
    println!(
        "clearing the roots' edges: reference counting freed {}, collect() {freed}; {} vertices remain, the roots",
        expected_live - after_counting,
        vertex_count()
    );
    assert_eq!(vertex_count(), kept.len());
    drop(kept);

    // A small graph, drawn with its components in the labels: two rings
    // linked one way, a pair, and a vertex pointing into the pair. Keep one
    // vertex of the second ring only: reference counting frees the lone
    // vertex, and the red part is what a collection will free.
    let small: Vec<Gc<Vertex>> = (0..9)
        .map(|id| {
            Gc::new(Vertex {
                id,
                edges: RefCell::new(Vec::new()),
            })
        })
        .collect();
    let links = [
        (0, 1),
        (1, 2),
        (2, 0),
        (2, 3),
        (3, 4),
        (4, 5),
        (5, 3),
        (6, 7),
        (7, 6),
        (8, 6),
    ];
    for (from, to) in links {
        small[from].edges.borrow_mut().push(small[to].clone());
    }
    let component = tarjan(&adjacency(&small));
    let v3 = small[3].clone();
    drop(small);
    let options = dot::Options::new().label(|any| {
        let v: Gc<Vertex> = any.clone().downcast().ok()?;
        Some(format!("v{}, component {}", v.id, component[v.id]))
    });
    let path = std::env::temp_dir().join("gengc-graph.dot");
    let mut file = BufWriter::new(std::fs::File::create(&path).expect("creating the DOT file"));
    let summary = dot::write_graph(&mut file, &options).expect("writing the DOT file");
    file.flush().expect("writing the DOT file");
    let freed = gengc::collect();
    println!(
        "a 9-vertex graph, keeping only v3: wrote {} ({} vertices, {} edges, {} in red); collect() freed {freed}",
        path.display(),
        summary.nodes,
        summary.edges,
        summary.garbage
    );
    assert_eq!(freed, summary.garbage);
    drop(v3);
    println!("done in {:.2?}", started.elapsed());
}
