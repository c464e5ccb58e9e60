//! [`type_stats`]: live objects and bytes per type, split by generation.

use super::names::short_type_name;
use super::object_bytes;
use crate::heap::pool::{FROZEN, GEN_BITMAPS};
use crate::heap::registry::TypeChain;
use crate::heap::{chains, current};
use std::collections::HashMap;
use std::fmt;
use std::ops::AddAssign;

/// A number of objects and the bytes they hold.
///
/// ```
/// use gengc::Usage;
/// let mut u = Usage { objects: 1, bytes: 24 };
/// u += Usage { objects: 2, bytes: 48 };
/// assert_eq!(u, Usage { objects: 3, bytes: 72 });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Objects.
    pub objects: usize,
    /// Bytes: pool blocks (8-byte header included) times their number, plus
    /// the whole allocations of large objects.
    pub bytes: usize,
}

impl AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.objects += other.objects;
        self.bytes += other.bytes;
    }
}

/// The objects of one Rust type, in total and per generation.
///
/// An object counts from its allocation until its block is freed; a block
/// whose value has died but which a [`Weak`](crate::Weak) still keeps is
/// counted as `untracked` until the last `Weak` goes (its memory is still
/// held).
///
/// ```
/// use gengc::Gc;
/// use std::cell::RefCell;
/// let v = Gc::new(RefCell::new(vec![Gc::new(1u8)]));
/// let stats = gengc::type_stats();
/// let row = stats.of::<RefCell<Vec<Gc<u8>>>>().unwrap();
/// assert_eq!((row.objects, row.young.objects), (1, 1));
/// # drop(v);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TypeStat {
    /// The type, as [`std::any::type_name`] spells it.
    pub type_name: &'static str,
    /// Objects of the type, all generations together.
    pub objects: usize,
    /// Bytes they hold (see [`Usage::bytes`]).
    pub bytes: usize,
    /// Tracked objects in the young generation (0).
    pub young: Usage,
    /// Tracked objects in the middle generation (1).
    pub middle: Usage,
    /// Tracked objects in the old generation (2).
    pub old: Usage,
    /// Objects moved out of the generations by [`gc::freeze`](crate::gc::freeze).
    pub frozen: Usage,
    /// Objects the collector does not track: values of types that own no
    /// `Gc` (`String`, `i32`, …), and dead values' blocks kept by a `Weak`.
    pub untracked: Usage,
}

/// Live objects and bytes per type on the current thread, largest first
/// (see [`type_stats`]).
///
/// `Display` prints a table; the precision, as in `{:.10}`, keeps only that
/// many rows, and the alternate flag, `{:#}`, prints full type paths
/// instead of the last segment of each.
///
/// ```
/// use gengc::Gc;
/// let names: Vec<Gc<String>> = (0..3).map(|i| Gc::new(i.to_string())).collect();
/// let stats = gengc::type_stats();
/// assert_eq!(stats.of::<String>().unwrap().objects, 3);
/// println!("{stats:.5}");
/// # drop(names);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeStats {
    /// One row per type with at least one object, by bytes (descending),
    /// then objects (descending), then name.
    pub types: Vec<TypeStat>,
}

impl TypeStats {
    /// The row of the type named `type_name` (a [`std::any::type_name`]).
    ///
    /// ```
    /// use gengc::Gc;
    /// let s = Gc::new(String::from("x"));
    /// let stats = gengc::type_stats();
    /// assert_eq!(stats.get("alloc::string::String").unwrap().objects, 1);
    /// assert!(stats.get("no::such::Type").is_none());
    /// # drop(s);
    /// ```
    pub fn get(&self, type_name: &str) -> Option<&TypeStat> {
        self.types.iter().find(|t| t.type_name == type_name)
    }

    /// The row of type `T`.
    ///
    /// ```
    /// use gengc::Gc;
    /// let n = Gc::new(7u64);
    /// let row = *gengc::type_stats().of::<u64>().unwrap();
    /// assert_eq!((row.objects, row.bytes, row.untracked.objects), (1, 16, 1));
    /// # drop(n);
    /// ```
    pub fn of<T: ?Sized>(&self) -> Option<&TypeStat> {
        self.get(std::any::type_name::<T>())
    }

    /// Objects of every type.
    ///
    /// ```
    /// use gengc::Gc;
    /// let (a, b) = (Gc::new(1u8), Gc::new(String::new()));
    /// assert_eq!(gengc::type_stats().objects(), 2);
    /// # drop((a, b));
    /// ```
    pub fn objects(&self) -> usize {
        self.types.iter().map(|t| t.objects).sum()
    }

    /// Bytes of every type; equal to the report's pooled bytes in use plus
    /// its large-object bytes.
    ///
    /// ```
    /// use gengc::Gc;
    /// let v: Vec<Gc<[u8; 100]>> = (0..10).map(|_| Gc::new([0; 100])).collect();
    /// let r = gengc::memory_report();
    /// assert_eq!(gengc::type_stats().bytes(), r.bytes_in_use + r.large_bytes);
    /// # drop(v);
    /// ```
    pub fn bytes(&self) -> usize {
        self.types.iter().map(|t| t.bytes).sum()
    }
}

/// Counts the current thread's live objects and bytes per Rust type, split
/// by generation (`tracemalloc`'s top statistics, by type instead of by
/// line).
///
/// It reads pool and large-object headers and the generation bitmaps, never
/// a value: O(tracked objects + pools), and no user code runs.
///
/// ```
/// use gengc::{gc, Gc, Trace};
/// use std::cell::RefCell;
///
/// #[derive(Trace)]
/// struct Node {
///     next: RefCell<Option<Gc<Node>>>,
/// }
///
/// let nodes: Vec<Gc<Node>> = (0..10).map(|_| Gc::new(Node { next: RefCell::new(None) })).collect();
/// gc::collect_generation(0); // the young survivors move to the middle generation
/// let stats = gengc::type_stats();
/// let row = stats.of::<Node>().unwrap();
/// assert_eq!((row.objects, row.young.objects, row.middle.objects), (10, 0, 10));
/// assert_eq!(row.bytes, 10 * 24); // 8-byte header + 16-byte value
/// println!("{stats}");
/// # drop(nodes);
/// ```
pub fn type_stats() -> TypeStats {
    let Some(heap) = current() else {
        return TypeStats::default();
    };
    let chains = chains(heap);
    let index: HashMap<*mut TypeChain, usize> = chains
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_ptr(), i))
        .collect();
    // Tracked objects per generation and chain, from the bitmaps and the
    // large-object lists. Consecutive objects mostly share a pool, hence a
    // chain: remember the last one instead of hashing each time.
    let tracked: [Vec<Usage>; GEN_BITMAPS] = std::array::from_fn(|g| {
        let mut per_chain = vec![Usage::default(); chains.len()];
        let mut last = (std::ptr::null_mut(), 0);
        heap.collector().for_each_in(g, |obj| {
            // SAFETY: tracked objects are allocated; only their pool or
            // large header is read.
            let (chain, bytes) = unsafe { (obj.chain(), object_bytes(obj)) };
            if chain != last.0 {
                last = (chain, index[&chain]);
            }
            per_chain[last.1] += Usage { objects: 1, bytes };
        });
        per_chain
    });
    let mut rows: Vec<TypeStat> = Vec::new();
    let mut row_of: HashMap<&'static str, usize> = HashMap::new();
    for (i, chain) in chains.iter().enumerate() {
        let gens: [Usage; GEN_BITMAPS] = std::array::from_fn(|g| tracked[g][i]);
        // SAFETY: chains live as long as the heap; no user code runs.
        let (c, used) = unsafe { (chain.as_ref(), TypeChain::used_blocks(*chain)) };
        let block = c.geometry.map_or(0, |g| g.block_size as usize);
        let objects = used + c.large_objects;
        if objects == 0 {
            continue;
        }
        let bytes = used * block + c.large_bytes;
        let in_gens = gens.iter().fold(Usage::default(), |mut a, &u| {
            a += u;
            a
        });
        debug_assert!(in_gens.objects <= objects && in_gens.bytes <= bytes);
        let type_name = (c.vtable.type_name)();
        let i = *row_of.entry(type_name).or_insert_with(|| {
            rows.push(TypeStat {
                type_name,
                objects: 0,
                bytes: 0,
                young: Usage::default(),
                middle: Usage::default(),
                old: Usage::default(),
                frozen: Usage::default(),
                untracked: Usage::default(),
            });
            rows.len() - 1
        });
        let row = &mut rows[i];
        row.objects += objects;
        row.bytes += bytes;
        row.young += gens[0];
        row.middle += gens[1];
        row.old += gens[2];
        row.frozen += gens[FROZEN];
        row.untracked += Usage {
            objects: objects - in_gens.objects,
            bytes: bytes - in_gens.bytes,
        };
    }
    rows.sort_by(|a, b| {
        (b.bytes, b.objects)
            .cmp(&(a.bytes, a.objects))
            .then_with(|| a.type_name.cmp(b.type_name))
    });
    TypeStats { types: rows }
}

/// A type name as the tables print it: the last path segments only, unless
/// the alternate flag (`{:#}`) asks for full paths.
pub(super) fn display_name(type_name: &str, full: bool) -> String {
    if full {
        type_name.to_string()
    } else {
        short_type_name(type_name)
    }
}

impl fmt::Display for TypeStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let limit = f.precision().unwrap_or(usize::MAX);
        let full = f.alternate();
        write!(
            f,
            "gengc: {} objects, {} bytes, {} types",
            self.objects(),
            self.bytes(),
            self.types.len()
        )?;
        write!(
            f,
            "\n{:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}  type",
            "bytes", "objects", "young", "middle", "old", "frozen", "untracked"
        )?;
        for t in self.types.iter().take(limit) {
            write!(
                f,
                "\n{:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}  {}",
                t.bytes,
                t.objects,
                t.young.objects,
                t.middle.objects,
                t.old.objects,
                t.frozen.objects,
                t.untracked.objects,
                display_name(t.type_name, full)
            )?;
        }
        if self.types.len() > limit {
            write!(f, "\n... and {} more types", self.types.len() - limit)?;
        }
        Ok(())
    }
}
