//! Core costs of a handle: allocation + drop (a 40-byte leaf, and a 40-byte
//! tracked node), clone + drop, and a 1M-node binary tree built, walked and
//! dropped (with the walk and the drop also timed alone). Every library in
//! the same process and run; `Rc` is the floor.
//!
//! `cargo bench --bench core -- --noplot`

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use gengc_benches::{for_each_lib, on_big_stack, workloads as w, Lib};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Objects per iteration of the micro benchmarks.
const BATCH: usize = 1000;

fn alloc_drop<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| b.iter(|| w::alloc_drop::<L>(BATCH)));
    L::collect();
}

/// The same with a tracked node (`Link`, 40 bytes, may own pointers):
/// gengc's young-generation bookkeeping and trigger check on the hot path.
fn alloc_drop_tracked<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| {
        b.iter(|| {
            for i in 0..BATCH as u64 {
                black_box(L::link(i));
            }
        })
    });
    L::collect();
}

fn clone_drop<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let h = L::leaf(1);
    g.bench_function(L::NAME, |b| b.iter(|| w::clone_drop::<L>(black_box(&h), BATCH)));
    drop(h);
    L::collect();
}

fn tree_1m<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| b.iter(|| black_box(w::tree_1m::<L>())));
}

/// The walk alone, on a tree built outside the timing. Out of cache, this
/// measures the memory layout more than the handle: the tree is allocated in
/// post-order and walked in pre-order, and the walk's speed swings by 2-3x
/// with the block size and with how the allocator's free lists were left by
/// earlier runs (`Rc` with a 48-byte value is as slow as gengc here). In
/// cache (depth <= 12) every library walks at the same ~1.7 ns per node.
fn tree_1m_walk<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let t = w::build_tree::<L>(w::TREE_1M_DEPTH);
    g.bench_function(L::NAME, |b| b.iter(|| black_box(L::tree_sum(black_box(&t)))));
    drop(t);
    L::collect();
}

/// Dropping the tree (and the collection after it) alone, built outside the
/// timing.
fn tree_1m_drop<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = w::build_tree::<L>(w::TREE_1M_DEPTH);
                let start = Instant::now();
                drop(t);
                L::collect();
                total += start.elapsed();
            }
            total
        })
    });
}

fn main() {
    on_big_stack(|| {
        let mut c = Criterion::default().configure_from_args();

        let mut g = c.benchmark_group("alloc_drop");
        g.throughput(Throughput::Elements(BATCH as u64));
        g.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        for_each_lib!(alloc_drop(&mut g));
        g.finish();

        let mut g = c.benchmark_group("alloc_drop_tracked");
        g.throughput(Throughput::Elements(BATCH as u64));
        g.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        for_each_lib!(alloc_drop_tracked(&mut g));
        g.finish();

        let mut g = c.benchmark_group("clone_drop");
        g.throughput(Throughput::Elements(BATCH as u64));
        g.sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        for_each_lib!(clone_drop(&mut g));
        g.finish();

        let nodes = (1u64 << w::TREE_1M_DEPTH) - 1;
        let mut g = c.benchmark_group("tree_1m");
        g.throughput(Throughput::Elements(nodes));
        g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
        for_each_lib!(tree_1m(&mut g));
        tree_1m::<gengc_benches::peers::gengc::acyclic::GengcAcyclicLib>(&mut g);
        g.finish();

        let mut g = c.benchmark_group("tree_1m_walk");
        g.throughput(Throughput::Elements(nodes));
        g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
        for_each_lib!(tree_1m_walk(&mut g));
        tree_1m_walk::<gengc_benches::peers::gengc::acyclic::GengcAcyclicLib>(&mut g);
        g.finish();

        let mut g = c.benchmark_group("tree_1m_drop");
        g.throughput(Throughput::Elements(nodes));
        g.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
        for_each_lib!(tree_1m_drop(&mut g));
        tree_1m_drop::<gengc_benches::peers::gengc::acyclic::GengcAcyclicLib>(&mut g);
        g.finish();

        c.final_summary();
    });
}
