//! Why a dying object must not read its pool header: the cost of reading one
//! word from each of `n` pool-sized (16 KiB) regions, at the same offset in
//! every region (where pool headers sit), against the same number of reads
//! spread over different offsets.
//!
//! Addresses 16 KiB apart share their low 14 bits, so they all fall into the
//! same set of the L1 data cache (which indexes lines by address bits 6-11)
//! and into a few sets of the L2; only a handful of them can be cached at
//! once, however small the working set. Two loops over the same addresses,
//! in a fixed random order: a pointer chase (each read gives the next
//! address, as a depth-first drop reaches one node's pool only after the
//! previous node's header has been read) and independent reads.
//!
//! `cargo run --release --bin cache_sets [-- <regions>...]`

use std::hint::black_box;
use std::time::Instant;

const REGION: usize = 16 * 1024;
const ROUNDS: usize = 200;

/// Nanoseconds per read: (pointer chase, independent reads).
fn measure(base: usize, order: &[usize], spread: bool) -> (f64, f64) {
    let n = order.len();
    let addrs: Vec<usize> = order
        .iter()
        .map(|&r| {
            // Spread: a different line of the first 4 KiB page, and a
            // different page of the region, for each region.
            let offset = if spread {
                (r % 64) * 64 + (r / 64 % 4) * 4096
            } else {
                0
            };
            base + r * REGION + offset
        })
        .collect();
    for (i, &a) in addrs.iter().enumerate() {
        // SAFETY: every address is inside the buffer `main` allocated,
        // 8-aligned, and written only here.
        unsafe { *(a as *mut usize) = addrs[(i + 1) % n] };
    }
    let t = Instant::now();
    let mut p = addrs[0];
    for _ in 0..ROUNDS * n {
        // SAFETY: `p` is always one of the addresses written above.
        p = unsafe { std::ptr::read_volatile(p as *const usize) };
    }
    black_box(p);
    let chase = t.elapsed().as_secs_f64() * 1e9 / (ROUNDS * n) as f64;
    let t = Instant::now();
    let mut sum = 0usize;
    for _ in 0..ROUNDS {
        for &a in &addrs {
            // SAFETY: as above.
            sum = sum.wrapping_add(unsafe { std::ptr::read_volatile(a as *const usize) });
        }
    }
    black_box(sum);
    let independent = t.elapsed().as_secs_f64() * 1e9 / (ROUNDS * n) as f64;
    (chase, independent)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of regions"))
        .collect();
    let counts = if args.is_empty() {
        vec![30, 300, 3000]
    } else {
        args
    };
    println!("| regions | chase, same offset | chase, spread | independent, same offset | independent, spread |");
    println!("|---|---|---|---|---|");
    for n in counts {
        // Touched (not just reserved) memory, aligned to the region size.
        let mut buf = vec![1u8; (n + 1) * REGION];
        let base = (buf.as_mut_ptr() as usize).next_multiple_of(REGION);
        let mut order: Vec<usize> = (0..n).collect();
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for i in (1..n).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            order.swap(i, (s % (i as u64 + 1)) as usize);
        }
        // A warm-up pass each, then the measured one.
        measure(base, &order, false);
        measure(base, &order, true);
        let (same_chase, same_indep) = measure(base, &order, false);
        let (spread_chase, spread_indep) = measure(base, &order, true);
        println!(
            "| {n} | {same_chase:.2} ns | {spread_chase:.2} ns | {same_indep:.2} ns | {spread_indep:.2} ns |"
        );
        drop(buf);
    }
}
