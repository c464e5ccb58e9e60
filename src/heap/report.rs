//! [`memory_report`]: where the thread's memory is, like CPython's
//! `sys._debugmallocstats()`.

use crate::heap::arena::{ARENA_SIZE, POOLS_PER_ARENA};
use crate::heap::pool::POOL_SIZE;
use crate::heap::registry::TypeChain;
use crate::heap::{chains, current};
use std::collections::BTreeMap;
use std::fmt;

/// Pool usage of one block size.
///
/// ```
/// use gengc::Gc;
/// let objs: Vec<Gc<u64>> = (0..100).map(Gc::new).collect();
/// let report = gengc::memory_report();
/// // An 8-byte value behind an 8-byte header: 16-byte blocks.
/// let class = report.size_classes.iter().find(|c| c.block_size == 16).unwrap();
/// assert!(class.used_blocks >= 100);
/// assert!(class.pools >= 1);
/// # drop(objs);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SizeClassReport {
    /// Bytes per block (object header included).
    pub block_size: usize,
    /// Pools of this block size (over all types).
    pub pools: usize,
    /// Blocks holding an object (alive, or kept by a `Weak`).
    pub used_blocks: usize,
    /// Blocks available in those pools.
    pub free_blocks: usize,
}

/// A snapshot of the current thread's heap.
///
/// ```
/// use gengc::Gc;
/// let big = Gc::new([0u8; 4096]); // over 512 bytes: allocated alone
/// let report = gengc::memory_report();
/// assert_eq!(report.large_objects, 1);
/// assert!(report.large_bytes > 4096);
/// drop(big);
/// assert_eq!(gengc::memory_report().large_objects, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryReport {
    /// Arenas held from the system (1 MiB each).
    pub arenas: usize,
    /// Of those, arenas with every pool free, kept mapped for reuse: at
    /// most one stays longer than 1 s unused.
    pub spare_arenas: usize,
    /// Pools in use by some type (16 KiB each).
    pub pools: usize,
    /// One row per block size in use, ascending.
    pub size_classes: Vec<SizeClassReport>,
    /// Bytes of the blocks holding objects.
    pub bytes_in_use: usize,
    /// Objects allocated individually (> 512 bytes or over-aligned).
    pub large_objects: usize,
    /// Bytes of those allocations (their own header included).
    pub large_bytes: usize,
}

impl MemoryReport {
    /// Blocks in use over all size classes.
    ///
    /// ```
    /// let r = gengc::memory_report();
    /// assert_eq!(r.used_blocks(), r.size_classes.iter().map(|c| c.used_blocks).sum::<usize>());
    /// ```
    pub fn used_blocks(&self) -> usize {
        self.size_classes.iter().map(|c| c.used_blocks).sum()
    }

    /// Bytes held from the system: arenas plus large objects.
    ///
    /// ```
    /// let r = gengc::memory_report();
    /// assert_eq!(r.bytes_reserved(), r.arenas * (1 << 20) + r.large_bytes);
    /// ```
    pub fn bytes_reserved(&self) -> usize {
        self.arenas * ARENA_SIZE + self.large_bytes
    }
}

/// Reports the current thread's arenas, pools per block size, blocks in use
/// and large objects. Its `Display` prints a table.
///
/// ```
/// use gengc::Gc;
/// let objs: Vec<Gc<[u64; 4]>> = (0..1000).map(|_| Gc::new([0; 4])).collect();
/// let report = gengc::memory_report();
/// let class = report.size_classes.iter().find(|c| c.block_size == 40).unwrap();
/// assert!(class.used_blocks >= 1000);
/// println!("{report}");
/// # drop(objs);
/// ```
pub fn memory_report() -> MemoryReport {
    let Some(heap) = current() else {
        return MemoryReport::default();
    };
    let mut classes: BTreeMap<usize, SizeClassReport> = BTreeMap::new();
    let mut bytes_in_use = 0;
    for chain in chains(heap) {
        // SAFETY: chains live as long as the heap; no user code runs.
        let (c, used) = unsafe { (chain.as_ref(), TypeChain::used_blocks(chain)) };
        let Some(g) = c.geometry else { continue };
        if c.pools == 0 {
            continue;
        }
        let size = g.block_size as usize;
        let row = classes.entry(size).or_insert(SizeClassReport {
            block_size: size,
            ..Default::default()
        });
        row.pools += c.pools;
        row.used_blocks += used;
        row.free_blocks += c.pools * g.capacity as usize - used;
        bytes_in_use += used * size;
    }
    // SAFETY: reading the arena set runs no user code.
    let arenas = unsafe { heap.arenas_mut() };
    let (large_objects, large_bytes) = heap.large_totals();
    MemoryReport {
        arenas: arenas.arena_count(),
        spare_arenas: arenas.spare_count(),
        pools: arenas.pools_in_use(),
        size_classes: classes.into_values().collect(),
        bytes_in_use,
        large_objects,
        large_bytes,
    }
}

impl fmt::Display for MemoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "gengc heap: {} arenas x {} KiB ({} spare; {} pools of {} KiB each), {} pools in use",
            self.arenas,
            ARENA_SIZE / 1024,
            self.spare_arenas,
            POOLS_PER_ARENA,
            POOL_SIZE / 1024,
            self.pools
        )?;
        writeln!(
            f,
            "{:>10} {:>8} {:>12} {:>12} {:>14}",
            "block size", "pools", "used blocks", "free blocks", "bytes in use"
        )?;
        for c in &self.size_classes {
            writeln!(
                f,
                "{:>10} {:>8} {:>12} {:>12} {:>14}",
                c.block_size,
                c.pools,
                c.used_blocks,
                c.free_blocks,
                c.used_blocks * c.block_size
            )?;
        }
        writeln!(
            f,
            "{:>10} {:>8} {:>12} {:>12} {:>14}",
            "total",
            self.pools,
            self.used_blocks(),
            "",
            self.bytes_in_use
        )?;
        write!(
            f,
            "large objects: {} ({} bytes); reserved from the system: {} bytes",
            self.large_objects,
            self.large_bytes,
            self.bytes_reserved()
        )
    }
}
