//! The cycle collectors at work: rings, a 1M doubly linked list, churn of
//! short-lived cycles next to a live set, the cost of a full collection per
//! live object, and building big tracked heaps with automatic collection on.
//! Every library in the same process and run; `Rc` is the floor (no closing
//! edges / `Weak` back pointers, never collected).
//!
//! `cargo bench --bench collector -- --noplot`

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use gengc_benches::peers::gengc::GengcLib;
use gengc_benches::{for_each_lib, on_big_stack, workloads as w, Lib};
use std::hint::black_box;
use std::time::{Duration, Instant};

const RINGS: usize = 10_000;
const RING_LEN: usize = 100;
const DLL_LEN: usize = 1_000_000;
const CHURN_LIVE: usize = 100_000;
const CHURN_CYCLES: usize = 200_000;

/// Build + drop + collect of 10,000 rings of 100 nodes.
fn rings<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| {
        b.iter(|| {
            let r = w::build_rings::<L>(RINGS, RING_LEN);
            drop(r);
            L::collect();
        })
    });
}

/// Drop + collect only (rings built outside the timing).
fn rings_reclaim<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let r = w::build_rings::<L>(RINGS, RING_LEN);
                let start = Instant::now();
                drop(r);
                L::collect();
                total += start.elapsed();
            }
            total
        })
    });
}

/// Build + drop + collect of one 1,000,000-node doubly linked list.
fn dll_1m<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| {
        b.iter(|| {
            let l = w::build_dll::<L>(DLL_LEN);
            drop(l);
            L::collect();
        })
    });
}

/// Drop + collect only (list built outside the timing).
fn dll_1m_reclaim<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.bench_function(L::NAME, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let l = w::build_dll::<L>(DLL_LEN);
                let start = Instant::now();
                drop(l);
                L::collect();
                total += start.elapsed();
            }
            total
        })
    });
}

/// 200,000 two-node cycles created and dropped next to 100,000 live objects.
/// Automatic collection where the library has it (gengc defaults, rust-cc
/// auto-collect, dumpster's default condition, gc's byte threshold);
/// bacon_rajan_cc and gcmodule have none, so the workload calls their
/// `collect` every 1,000 cycles (`Lib::MANUAL_COLLECT_EVERY`). A final full
/// collection is inside the timing for everyone.
fn churn<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let live = w::live_objects::<L>(CHURN_LIVE);
    L::collect();
    g.bench_function(L::NAME, |b| b.iter(|| w::churn::<L>(CHURN_CYCLES)));
    drop(live);
    L::collect();
}

/// One full collection with `n` live tracked objects. For the
/// candidate-based collectors (rust-cc, dumpster, bacon_rajan_cc, and
/// gengc, whose full collections start from its suspects) every object is
/// first made a candidate (clone + drop, outside the timing), so the
/// collection examines the whole live heap as the others do.
fn full_collect_n<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>, n: usize) {
    full_collect_as::<L>(g, L::NAME, n, true);
}

/// [`full_collect_n`] named `name`, with the objects made candidates or not.
fn full_collect_as<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, n: usize, candidates: bool) {
    let heap = w::live_heap::<L>(n);
    L::collect();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for l in heap.iter().filter(|_| candidates) {
                    L::mark_candidate(l);
                }
                let start = Instant::now();
                L::collect();
                total += start.elapsed();
            }
            total
        })
    });
    drop(heap);
    L::collect();
}

fn full_collect<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    full_collect_n::<L>(g, 1_000_000);
}

/// Building `n` tracked objects appended to a Vec (drop and collection
/// outside the timing).
fn build_n<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>, name: &str, n: usize) {
    g.throughput(Throughput::Elements(n as u64));
    g.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let v = w::build_tracked::<L>(n);
                total += start.elapsed();
                black_box(&v);
                drop(v);
                L::collect();
            }
            total
        })
    });
}

fn build_4m_vs_1m<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>) {
    for n in [1_000_000, 4_000_000] {
        build_n::<L>(g, L::NAME, n);
    }
}

fn main() {
    on_big_stack(|| {
        let mut c = Criterion::default().configure_from_args();
        let heavy = |g: &mut BenchmarkGroup<'_, WallTime>, secs: u64| {
            g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(secs));
        };

        let mut g = c.benchmark_group("rings");
        g.throughput(Throughput::Elements((RINGS * RING_LEN) as u64));
        heavy(&mut g, 3);
        for_each_lib!(rings(&mut g));
        g.finish();

        let mut g = c.benchmark_group("rings_reclaim");
        g.throughput(Throughput::Elements((RINGS * RING_LEN) as u64));
        heavy(&mut g, 1);
        for_each_lib!(rings_reclaim(&mut g));
        g.finish();

        let mut g = c.benchmark_group("dll_1m");
        g.throughput(Throughput::Elements(DLL_LEN as u64));
        heavy(&mut g, 3);
        for_each_lib!(dll_1m(&mut g));
        g.finish();

        let mut g = c.benchmark_group("dll_1m_reclaim");
        g.throughput(Throughput::Elements(DLL_LEN as u64));
        heavy(&mut g, 1);
        for_each_lib!(dll_1m_reclaim(&mut g));
        g.finish();

        let mut g = c.benchmark_group("churn");
        g.throughput(Throughput::Elements((2 * CHURN_CYCLES) as u64));
        heavy(&mut g, 2);
        for_each_lib!(churn(&mut g));
        g.finish();

        // `Rc` has no collector: its row would measure nothing.
        let mut g = c.benchmark_group("full_collect_per_object");
        heavy(&mut g, 2);
        full_collect_n::<GengcLib>(&mut g, 100_000);
        full_collect::<GengcLib>(&mut g);
        full_collect_n::<GengcLib>(&mut g, 4_000_000);
        // No count dropped since the last full collection: nothing to read
        // but bitmaps.
        full_collect_as::<GengcLib>(&mut g, "gengc (no suspects)", 1_000_000, false);
        macro_rules! peer {
            ($($L:ty),*) => {$( full_collect::<$L>(&mut g); )*};
        }
        use gengc_benches::peers::*;
        peer!(rustcc::RustCcLib, dumpster::DumpsterLib, bacon::BaconLib, gcmodule::GcmoduleLib, rustgc::RustGcLib);
        g.finish();

        let mut g = c.benchmark_group("build_4m_vs_1m");
        heavy(&mut g, 3);
        for_each_lib!(build_4m_vs_1m(&mut g));
        // gengc with automatic collection off: the cost of the collector.
        ::gengc::gc::disable();
        for n in [1_000_000, 4_000_000] {
            build_n::<GengcLib>(&mut g, "gengc (gc disabled)", n);
        }
        ::gengc::gc::enable();
        g.finish();

        c.final_summary();
    });
}
