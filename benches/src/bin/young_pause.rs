//! Pause times of the collections that run during allocation churn while
//! 1,000,000 live objects sit in the heap (for gengc: in the old generation).
//!
//! Setup, identical for every library: 1,000,000 live `Link` nodes (node
//! i -> node i/2, held by a Vec), then two full collections (gengc promotes
//! them to the old generation; the others empty their candidate buffers).
//! Then the churn: two-node cycles created and dropped, nothing else live.
//!
//! - **gengc** collects automatically (default thresholds: a young
//!   collection every 2,000 tracked allocations = 1,000 cycles; every 11th
//!   automatic collection is a middle one). A `gc::add_callback` records
//!   every collection's `CollectionInfo::duration` by generation. The churn
//!   runs until `SAMPLES` young collections have been recorded. A second
//!   gengc row does the same with an empty old generation: young pauses
//!   should not depend on the old generation's size.
//! - **the peers** have no generations. Their automatic triggers are turned
//!   off (rust-cc `set_auto_collect(false)`, dumpster a never-true collect
//!   condition, gc `threshold = usize::MAX`; bacon_rajan_cc and gcmodule
//!   have none) and the churn calls their collection every 1,000 cycles
//!   (gengc's young-collection period), `SAMPLES` times; each call is
//!   timed. What a call examines is the library's design: the candidates
//!   (rust-cc, dumpster, bacon_rajan_cc: the dropped cycles), or every
//!   tracked object (gcmodule), or every object (gc's mark and sweep).
//! - **Rc** never collects (the churn makes no back edge): no pause.
//!
//! Also reported: churn wall time per cycle, collections included.
//!
//! `cargo run --release --bin young_pause`

use gengc::gc::{self, CallbackPhase};
use gengc_benches::peers::{bacon, dumpster, gcmodule, gengc::GengcLib, rc, rustcc, rustgc};
use gengc_benches::{on_big_stack, workloads as w, Lib};
use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Live objects held during the churn.
const OLD: usize = 1_000_000;
/// Cycles between two collections of a peer (gengc's young threshold of
/// 2,000 tracked allocations is 1,000 two-node cycles).
const CYCLES_PER_COLLECTION: usize = 1000;
/// Collections recorded per library.
const SAMPLES: usize = 500;

struct Row {
    lib: String,
    old: String,
    /// Young (or only) collections.
    pauses: Vec<Duration>,
    /// gengc: middle and full collections during the churn.
    others: String,
    per_cycle: Option<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn one_cycle<L: Lib>(i: usize) {
    let a = L::link(i as u64);
    let b = L::link(i as u64);
    L::link_set_next(&a, &b);
    L::link_close(&b, &a);
}

/// gengc with automatic collection, `old` live objects in the old generation.
fn gengc_row(old: usize) -> Row {
    type G = GengcLib;
    let heap = w::live_heap::<G>(old);
    gengc::collect();
    gengc::collect();
    assert_eq!(gc::generation_sizes(), (0, 0, old));
    let pauses: Rc<RefCell<[Vec<Duration>; 3]>> = Rc::default();
    let p = pauses.clone();
    let id = gc::add_callback(move |phase, info| {
        if phase == CallbackPhase::Stop {
            p.borrow_mut()[info.generation].push(info.duration);
        }
    });
    let start = Instant::now();
    let mut cycles = 0;
    while pauses.borrow()[0].len() < SAMPLES {
        one_cycle::<G>(cycles);
        cycles += 1;
    }
    let wall = start.elapsed();
    assert!(gc::remove_callback(id));
    let p = std::mem::take(&mut *pauses.borrow_mut());
    let [young, middle, full] = p;
    let mut mid = middle.clone();
    mid.sort();
    let others = format!(
        "{} middle (max {}), {} full",
        middle.len(),
        mid.last().map_or("—".into(), |d| fmt(*d)),
        full.len()
    );
    black_box(&heap);
    drop(heap);
    gengc::collect();
    Row {
        lib: "gengc".into(),
        old: if old == 0 { "empty".into() } else { format!("{old}") },
        pauses: young,
        others,
        per_cycle: Some(wall / cycles as u32),
    }
}

/// A peer: automatic collection off, `collect` every
/// `CYCLES_PER_COLLECTION` cycles, each call timed.
fn peer_row<L: Lib>(auto_off: fn(), auto_on: fn()) -> Row {
    let heap = w::live_heap::<L>(OLD);
    L::collect();
    L::collect();
    auto_off();
    let mut pauses = Vec::with_capacity(SAMPLES);
    let start = Instant::now();
    let mut cycles = 0;
    while pauses.len() < SAMPLES {
        for _ in 0..CYCLES_PER_COLLECTION {
            one_cycle::<L>(cycles);
            cycles += 1;
        }
        let t = Instant::now();
        L::collect();
        pauses.push(t.elapsed());
    }
    let wall = start.elapsed();
    auto_on();
    black_box(&heap);
    drop(heap);
    L::collect();
    Row {
        lib: L::NAME.into(),
        old: format!("{OLD}"),
        pauses,
        others: String::new(),
        per_cycle: Some(wall / cycles as u32),
    }
}

fn nothing() {}

fn main() {
    let rows = on_big_stack(|| {
        let mut rows = vec![gengc_row(OLD), gengc_row(0)];
        // Rc: no collector; the same churn (no back edge: freed at drop).
        let heap = w::live_heap::<rc::RcLib>(OLD);
        let n = SAMPLES * CYCLES_PER_COLLECTION;
        let start = Instant::now();
        for i in 0..n {
            one_cycle::<rc::RcLib>(i);
        }
        let per_cycle = Some(start.elapsed() / n as u32);
        black_box(&heap);
        drop(heap);
        rows.push(Row { lib: "Rc".into(), old: format!("{OLD}"), pauses: vec![], others: String::new(), per_cycle });
        rows.push(peer_row::<rustcc::RustCcLib>(
            || rust_cc::config::config(|c| c.set_auto_collect(false)).expect("rust-cc config"),
            || rust_cc::config::config(|c| c.set_auto_collect(true)).expect("rust-cc config"),
        ));
        rows.push(peer_row::<dumpster::DumpsterLib>(
            || ::dumpster::unsync::set_collect_condition(|_| false),
            || ::dumpster::unsync::set_collect_condition(::dumpster::unsync::default_collect_condition),
        ));
        rows.push(peer_row::<bacon::BaconLib>(nothing, nothing));
        rows.push(peer_row::<gcmodule::GcmoduleLib>(nothing, nothing));
        thread_local!(static GC_THRESHOLD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) });
        rows.push(peer_row::<rustgc::RustGcLib>(
            || {
                ::gc::configure(|c| {
                    GC_THRESHOLD.with(|t| t.set(c.threshold));
                    c.threshold = usize::MAX;
                })
            },
            || ::gc::configure(|c| c.threshold = GC_THRESHOLD.with(|t| t.get())),
        ));
        rows
    });

    println!(
        "{OLD} live `Link` objects (gengc: in the old generation), then two-node cycles created \
         and dropped. gengc: its automatic young collections (every {} cycles), recorded by a \
         `gc::add_callback`; peers: automatic collection off, their collection called every {} \
         cycles and timed. {SAMPLES} collections per row.\n",
        CYCLES_PER_COLLECTION, CYCLES_PER_COLLECTION
    );
    println!("| library | live objects | collections | pause p50 | pause p99 | pause max | churn per cycle (incl. collections) | other collections during the churn |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let mut s = r.pauses.clone();
        s.sort();
        let (p50, p99, max) = if s.is_empty() {
            ("—".to_string(), "—".to_string(), "—".to_string())
        } else {
            (fmt(percentile(&s, 50.0)), fmt(percentile(&s, 99.0)), fmt(*s.last().unwrap()))
        };
        let what = match r.lib.as_str() {
            "gengc" => "young (automatic)",
            "Rc" => "none (no collector)",
            _ => "`collect` call",
        };
        let count = if s.is_empty() { String::new() } else { format!("{} ", s.len()) };
        println!(
            "| {} | {} | {}{} | {} | {} | {} | {} | {} |",
            r.lib,
            r.old,
            count,
            what,
            p50,
            p99,
            max,
            r.per_cycle.map_or(String::new(), |d| if d.as_nanos() >= 1000 { fmt(d) } else { format!("{} ns", d.as_nanos()) }),
            r.others
        );
    }
}
