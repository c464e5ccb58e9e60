//! Introspection by type and by graph: what the heap holds and how it hangs
//! together.
//!
//! - [`type_stats`]: live objects and bytes per Rust type, split by
//!   generation — the `tracemalloc` "top" view of a gengc heap.
//! - [`Snapshot`]: per-type totals at one moment, and
//!   [`Snapshot::compare_to`] to see which types grew in between: the
//!   quickest way to find what leaks or survives.
//! - [`dot`]: the object graph in Graphviz DOT, with the garbage that a
//!   collection of it would free drawn in red.
//!
//! Everything here reads the current thread's heap without running user
//! code: [`type_stats`] reads only pool and large-object headers and the
//! collector's generation bitmaps; the graph export also calls `Trace`
//! impls (side-effect free by contract), skips every value that may be lent
//! out by `Gc::get_mut`, and copies what it learns before it writes a byte
//! to the caller's writer.

pub mod dot;
mod names;
mod snapshot;
mod stats;

pub use snapshot::{Snapshot, TypeDiff};
pub use stats::{type_stats, TypeStat, TypeStats, Usage};

use crate::heap::object::ObjRef;

/// The bytes an object holds: its pool block (header included), or its
/// whole large allocation.
///
/// # Safety
/// The object's block must be allocated.
unsafe fn object_bytes(obj: ObjRef) -> usize {
    // SAFETY: forwarded to the caller; pool and large headers live as long
    // as the block.
    unsafe {
        if obj.is_large() {
            (*obj.large().as_ptr()).alloc_size
        } else {
            (*obj.pool().as_ptr()).geometry.block_size as usize
        }
    }
}

/// A generation's name, as the tables and the graph labels print it.
fn generation_name(generation: Option<usize>) -> &'static str {
    match generation {
        Some(0) => "young",
        Some(1) => "middle",
        Some(2) => "old",
        Some(_) => "frozen",
        None => "untracked",
    }
}
