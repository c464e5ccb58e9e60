//! cargo-fuzz target: the random-graph fuzz of `tests/fuzz_graph.rs`, with
//! every decision (operation, node, edge, generation, threshold…) read from
//! the fuzzer's input bytes instead of a seeded PRNG. The engine and its
//! exact model are the same file, included as a module; each input runs on a
//! fresh thread (a fresh heap) and ends with the heap-empty checks.
//!
//! ```sh
//! cargo +nightly fuzz run graph_ops -- -max_total_time=60
//! ```
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/fuzz_graph.rs"]
mod fuzz_graph;

fuzz_target!(|data: &[u8]| {
    fuzz_graph::run_bytes(data);
});
