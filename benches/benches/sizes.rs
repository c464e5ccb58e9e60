//! Allocation throughput by object size: batches of values of 8 to 4096
//! bytes (`[u64; N]`, no pointer), allocated into a Vec (all live at once)
//! and then dropped, for every library in the same process and run.
//!
//! The sizes walk gengc's pools (a block is the 8-byte header plus the value,
//! rounded to 8; 496 bytes is the largest value that still fits the 512-byte
//! pool limit) and then its large objects (1 KiB and 4 KiB values get their
//! own system allocation with a large-object header in front).
//!
//! `cargo bench --bench sizes -- --noplot`

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use gengc_benches::{for_each_lib, on_big_stack, workloads as w, Lib};
use std::time::Duration;

/// Values live at once per iteration.
pub const BATCH: usize = 100;

/// Payload sizes in bytes.
pub const SIZES: [usize; 9] = [8, 16, 32, 64, 128, 256, 496, 1024, 4096];

fn run<L: Lib, const N: usize>(g: &mut BenchmarkGroup<'_, WallTime>) {
    let mut buf: Vec<L::Blob<N>> = Vec::with_capacity(BATCH);
    g.bench_with_input(BenchmarkId::new(L::NAME, 8 * N), &N, |b, _| {
        b.iter(|| w::alloc_batch::<L, N>(&mut buf, BATCH))
    });
    L::collect();
}

fn sized<L: Lib>(g: &mut BenchmarkGroup<'_, WallTime>, bytes: usize) {
    match bytes {
        8 => run::<L, 1>(g),
        16 => run::<L, 2>(g),
        32 => run::<L, 4>(g),
        64 => run::<L, 8>(g),
        128 => run::<L, 16>(g),
        256 => run::<L, 32>(g),
        496 => run::<L, 62>(g),
        1024 => run::<L, 128>(g),
        4096 => run::<L, 512>(g),
        _ => unreachable!("size {bytes} not instantiated"),
    }
}

fn main() {
    on_big_stack(|| {
        let mut c = Criterion::default().configure_from_args();
        let mut g = c.benchmark_group("alloc_by_size");
        g.throughput(Throughput::Elements(BATCH as u64));
        g.sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_millis(800));
        for bytes in SIZES {
            for_each_lib!(sized(&mut g, bytes));
        }
        g.finish();
        c.final_summary();
    });
}
