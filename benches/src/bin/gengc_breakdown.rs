//! Where gengc's time goes in the suite's workloads: for each workload, the
//! wall time, the collections per generation and their pauses, with
//! automatic collection on (default) and off.
//!
//! `cargo run --release --bin gengc_breakdown`

use gengc_benches::peers::gengc::GengcLib as G;
use gengc_benches::{on_big_stack, workloads as w, Lib};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Runs `f` (timed) and drops what it returns (untimed), then collects.
fn run(name: &str, f: &dyn Fn() -> Box<dyn std::any::Any>) {
    for auto in [true, false] {
        gengc::collect();
        if auto {
            gengc::gc::enable();
        } else {
            gengc::gc::disable();
        }
        let before = gengc::gc::stats();
        let t = Instant::now();
        let keep = f();
        let wall = t.elapsed();
        let after = gengc::gc::stats();
        drop(keep);
        gengc::gc::enable();
        gengc::collect();
        let mut cols = [0; 3];
        let mut pause = [Duration::ZERO; 3];
        for g in 0..3 {
            cols[g] = after[g].collections - before[g].collections;
            pause[g] = after[g].pause - before[g].pause;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {name} | {} | {:.1} ms | {} / {} / {} | {:.1} ms | {:.1} / {:.1} / {:.1} ms |",
            if auto { "on" } else { "off" },
            ms(wall),
            cols[0],
            cols[1],
            cols[2],
            ms(pause.iter().sum()),
            ms(pause[0]),
            ms(pause[1]),
            ms(pause[2])
        );
    }
    gengc::gc::enable();
}

fn header() {
    println!("| workload | auto gc | wall | collections young / middle / old | pause | pause young / middle / old |");
    println!("|---|---|---|---|---|---|");
}

fn main() {
    on_big_stack(|| {
        header();
        run("tree_1m build", &|| {
            Box::new(w::build_tree::<G>(w::TREE_1M_DEPTH))
        });
        gengc::gc::disable();
        let t = Instant::now();
        let tree = w::build_tree::<G>(w::TREE_1M_DEPTH);
        let build = t.elapsed();
        let t = Instant::now();
        black_box(G::tree_sum(&tree));
        let walk = t.elapsed();
        let t = Instant::now();
        drop(tree);
        let dropped = t.elapsed();
        gengc::gc::enable();
        println!(
            "\ntree_1m with gc disabled: build {:.1} ms, walk {:.1} ms, drop {:.1} ms\n",
            build.as_secs_f64() * 1e3,
            walk.as_secs_f64() * 1e3,
            dropped.as_secs_f64() * 1e3
        );
        header();
        run("tree_1m (build+walk+drop+collect)", &|| {
            Box::new(w::tree_1m::<G>())
        });
        run("rings 10k x 100 (build+drop+collect)", &|| {
            let r = w::build_rings::<G>(10_000, 100);
            drop(r);
            G::collect();
            Box::new(())
        });
        run("dll_1m (build+drop+collect)", &|| {
            let l = w::build_dll::<G>(1_000_000);
            drop(l);
            G::collect();
            Box::new(())
        });
        let live = w::live_objects::<G>(100_000);
        gengc::collect();
        run("churn 200k cycles, 100k live", &|| {
            w::churn::<G>(200_000);
            Box::new(())
        });
        drop(live);
        // Once untimed first: the first build of a size maps its memory
        // for the first time (page faults, 2-4x the cost), which would
        // read as a cost of the heap's size.
        drop(w::build_tracked::<G>(4_000_000));
        gengc::collect();
        for n in [1_000_000, 4_000_000] {
            run(&format!("build {n} tracked"), &|| {
                Box::new(w::build_tracked::<G>(n))
            });
        }
        println!();
        for n in [100_000, 1_000_000, 4_000_000] {
            let heap = w::live_heap::<G>(n);
            gengc::collect();
            let t = Instant::now();
            let reps = 5;
            for _ in 0..reps {
                gengc::collect();
            }
            let per = t.elapsed().as_secs_f64() * 1e9 / (reps * n) as f64;
            println!("full collection, {n} live objects: {per:.1} ns per object");
            drop(heap);
        }
        println!();
        header();
        run("binary_trees(11)", &|| {
            Box::new(black_box(w::binary_trees::<G>(11)))
        });
        run("binary_trees_with_parent(11)", &|| {
            Box::new(black_box(w::binary_trees_with_parent::<G>(11)))
        });
        run("large_linked_list(4096)", &|| {
            Box::new(black_box(w::large_linked_list::<G>(4096)))
        });
        run("stress_test", &|| {
            Box::new(black_box(w::stress_test::<G>()))
        });
        run("random_graph 1M ops", &|| {
            w::random_graph::<G>(w::random_graph_roots::<G>(), 1_000_000);
            Box::new(())
        });
    });
}
