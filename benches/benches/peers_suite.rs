//! The peers' own published workloads, at their published sizes:
//!
//! - rust-cc-benchmarks (frengor/rust-cc-benchmarks, adapted from shredder):
//!   binary trees (depth 11), binary trees with parent pointers (depth 11),
//!   large linked list (4096 nodes, 30 times), stress test (2^15 nodes and
//!   edges, seed 0xCAFE);
//! - dumpster_bench's single-threaded random graph (50 roots, 1,000,000
//!   operations, seed 12345, final drop + collect inside the timing).
//!
//! Every library runs each workload with its automatic collection as
//! shipped (bacon_rajan_cc and gcmodule have none: they collect only where
//! the workload calls `collect`). A crate-local SplitMix64 replaces `rand` /
//! `fastrand`, so every library sees the same operations.
//!
//! `cargo bench --bench peers_suite -- --noplot`

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use gengc_benches::{for_each_lib, on_big_stack, workloads as w, Lib};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn binary_trees<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| b.iter_with_large_drop(|| w::binary_trees::<L>(black_box(11))));
}

fn binary_trees_with_parent<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| b.iter_with_large_drop(|| w::binary_trees_with_parent::<L>(black_box(11))));
}

fn large_linked_list<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| b.iter_with_large_drop(|| w::large_linked_list::<L>(black_box(4096))));
}

fn stress_test<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| b.iter_with_large_drop(w::stress_test::<L>));
}

/// The 50 initial roots are made outside the timing, as in dumpster_bench.
fn random_graph<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let roots = w::random_graph_roots::<L>();
                let start = Instant::now();
                w::random_graph::<L>(roots, 1_000_000);
                total += start.elapsed();
            }
            total
        })
    });
}

fn main() {
    on_big_stack(|| {
        let mut c = Criterion::default().configure_from_args();
        let cfg = |g: &mut BenchmarkGroup<'_, WallTime>| {
            g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        };

        let mut g = c.benchmark_group("binary_trees");
        cfg(&mut g);
        for_each_lib!(binary_trees(&mut g));
        g.finish();

        let mut g = c.benchmark_group("binary_trees_with_parent_pointers");
        cfg(&mut g);
        for_each_lib!(binary_trees_with_parent(&mut g));
        g.finish();

        let mut g = c.benchmark_group("large_linked_list");
        cfg(&mut g);
        for_each_lib!(large_linked_list(&mut g));
        g.finish();

        let mut g = c.benchmark_group("stress_test");
        cfg(&mut g);
        for_each_lib!(stress_test(&mut g));
        g.finish();

        let mut g = c.benchmark_group("random_graph");
        cfg(&mut g);
        for_each_lib!(random_graph(&mut g));
        g.finish();

        c.final_summary();
    });
}
