//! Bytes per live object for each library: 1,000,000 live objects of the
//! same 40-byte node (`Link`: two `RefCell<Option<P>>` and a `u64`), held by
//! a Vec, each pointing to another (node i -> node i/2); and the same for a
//! 40-byte leaf (`[u64; 5]`, no pointer).
//!
//! A counting `#[global_allocator]` around `System` records the live bytes
//! *requested* (the library's own metadata included, the Vec of handles
//! excluded) and the live bytes of the malloc chunks actually used
//! (`malloc_usable_size` + glibc's 8-byte chunk header). For gengc it also
//! prints `memory_report().bytes_reserved()` (arenas, so pool and arena
//! slack included). Prints markdown tables.
//!
//! `cargo run --release --bin memory`

use gengc_benches::{for_each_lib, on_big_stack, workloads as w, Lib};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

extern "C" {
    /// glibc: the usable size of a malloc'd block.
    fn malloc_usable_size(ptr: *mut std::ffi::c_void) -> usize;
}

struct Counting;

static REQUESTED: AtomicIsize = AtomicIsize::new(0);
static CHUNKS: AtomicIsize = AtomicIsize::new(0);

/// glibc's per-chunk header.
const CHUNK_HEADER: usize = 8;

fn chunk_bytes(ptr: *mut u8) -> isize {
    // SAFETY: `ptr` is a live block from the system allocator.
    (unsafe { malloc_usable_size(ptr.cast()) } + CHUNK_HEADER) as isize
}

// SAFETY: forwards to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            REQUESTED.fetch_add(layout.size() as isize, Relaxed);
            CHUNKS.fetch_add(chunk_bytes(p), Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            REQUESTED.fetch_add(layout.size() as isize, Relaxed);
            CHUNKS.fetch_add(chunk_bytes(p), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        REQUESTED.fetch_sub(layout.size() as isize, Relaxed);
        CHUNKS.fetch_sub(chunk_bytes(ptr), Relaxed);
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_chunk = chunk_bytes(ptr);
        // SAFETY: forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            REQUESTED.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
            CHUNKS.fetch_add(chunk_bytes(p) - old_chunk, Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: usize = 1_000_000;

struct Row {
    lib: &'static str,
    value: usize,
    handle: usize,
    requested: f64,
    chunks: f64,
    reserved: Option<f64>,
}

fn snapshot() -> (isize, isize) {
    (REQUESTED.load(Relaxed), CHUNKS.load(Relaxed))
}

/// Bytes per object of `make(N)`, minus the Vec of handles.
fn measure<L: Lib, H>(make: fn(usize) -> Vec<H>, value: usize) -> Row {
    // Each library on a fresh thread: its thread-local state starts empty
    // and is initialised by a first small run before the baseline.
    on_big_stack(|| {
        drop(make(10));
        L::collect();
        let _ = gengc::memory_report();
        let before = snapshot();
        let reserved_before = gengc::memory_report().bytes_reserved();
        let v = make(N);
        let after = snapshot();
        let reserved_after = gengc::memory_report().bytes_reserved();
        black_box(&v);
        let vec_bytes = (v.capacity() * std::mem::size_of::<H>()) as f64;
        let row = Row {
            lib: L::NAME,
            value,
            handle: std::mem::size_of::<H>(),
            requested: ((after.0 - before.0) as f64 - vec_bytes) / N as f64,
            chunks: ((after.1 - before.1) as f64 - (vec_bytes + CHUNK_HEADER as f64)) / N as f64,
            reserved: (L::NAME == "gengc").then(|| (reserved_after - reserved_before) as f64 / N as f64),
        };
        drop(v);
        L::collect();
        row
    })
}

fn link_row<L: Lib>(rows: &mut Vec<Row>) {
    rows.push(measure::<L, L::Link>(w::live_heap::<L>, L::link_value_size()));
}

fn leaf_row<L: Lib>(rows: &mut Vec<Row>) {
    rows.push(measure::<L, L::Leaf>(|n| (0..n as u64).map(L::leaf).collect(), 40));
}

fn print(title: &str, rows: &[Row]) {
    println!("### {title}\n");
    println!("| library | value size | handle size | bytes requested / object | malloc chunk bytes / object | gengc arenas reserved / object |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {} |",
            r.lib,
            r.value,
            r.handle,
            r.requested,
            r.chunks,
            r.reserved.map_or(String::new(), |b| format!("{b:.1}"))
        );
    }
    println!();
}

fn main() {
    let mut rows = Vec::new();
    for_each_lib!(link_row(&mut rows));
    print("1M live `Link` nodes (40-byte value with two pointer cells; tracked)", &rows);
    let mut rows = Vec::new();
    for_each_lib!(leaf_row(&mut rows));
    print("1M live `[u64; 5]` leaves (40 bytes, no pointer)", &rows);
    println!(
        "gengc's requested bytes are whole 1 MiB arenas (it allocates nothing per object), so that \
         column equals the arenas reserved; the malloc chunk column includes glibc's per-chunk \
         header and rounding for every library."
    );
}
