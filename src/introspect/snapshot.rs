//! [`Snapshot`]: per-type totals at one moment, and what changed since an
//! earlier one (`tracemalloc`'s `Snapshot.compare_to`).

use super::stats::{display_name, type_stats, TypeStats};
use std::collections::HashMap;
use std::fmt;

/// The current thread's objects and bytes per type at one moment.
///
/// Take one before and one after the code under suspicion, then
/// [`compare_to`](Snapshot::compare_to) the earlier one: the types at the
/// top of the result are those that grew (or shrank) the most. Run
/// [`gengc::collect`](crate::collect) before each to see only what survives
/// a collection.
///
/// ```
/// use gengc::{Gc, Snapshot};
///
/// let before = Snapshot::take();
/// let kept: Vec<Gc<String>> = (0..100).map(|i| Gc::new(i.to_string())).collect();
/// let diff = Snapshot::take().compare_to(&before);
/// assert_eq!(diff[0].type_name, "alloc::string::String");
/// assert_eq!(diff[0].objects_diff, 100);
/// println!("{}", diff[0]); // String: size=3200 B (+3200 B), count=100 (+100)
/// # drop(kept);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    stats: TypeStats,
}

impl Snapshot {
    /// Records the current thread's per-type statistics (see
    /// [`type_stats`](crate::type_stats)).
    ///
    /// ```
    /// use gengc::{Gc, Snapshot};
    /// let a = Gc::new(1u32);
    /// assert_eq!(Snapshot::take().stats().of::<u32>().unwrap().objects, 1);
    /// # drop(a);
    /// ```
    pub fn take() -> Snapshot {
        Snapshot {
            stats: type_stats(),
        }
    }

    /// The statistics recorded.
    ///
    /// ```
    /// let s = gengc::Snapshot::take();
    /// assert_eq!(s.stats().objects(), 0);
    /// ```
    pub fn stats(&self) -> &TypeStats {
        &self.stats
    }

    /// What changed per type between `earlier` and this snapshot: one entry
    /// for every type present in either, sorted by the absolute change in
    /// bytes (largest first), then in objects, then by bytes now, then by
    /// name. Types that did not change come last, with zero differences.
    ///
    /// ```
    /// use gengc::{Gc, Snapshot};
    ///
    /// let gone = Gc::new(1u8);
    /// let earlier = Snapshot::take();
    /// drop(gone);
    /// let grown: Vec<Gc<u64>> = (0..4).map(Gc::new).collect();
    /// let diff = Snapshot::take().compare_to(&earlier);
    /// assert_eq!(
    ///     diff.iter().map(|d| (d.type_name, d.objects, d.bytes_diff)).collect::<Vec<_>>(),
    ///     [("u64", 4, 64), ("u8", 0, -16)],
    /// );
    /// # drop(grown);
    /// ```
    pub fn compare_to(&self, earlier: &Snapshot) -> Vec<TypeDiff> {
        let before: HashMap<&str, (usize, usize)> = earlier
            .stats
            .types
            .iter()
            .map(|t| (t.type_name, (t.objects, t.bytes)))
            .collect();
        let mut diffs: Vec<TypeDiff> = self
            .stats
            .types
            .iter()
            .map(|t| {
                let (objects, bytes) = before.get(t.type_name).copied().unwrap_or_default();
                TypeDiff {
                    type_name: t.type_name,
                    objects: t.objects,
                    bytes: t.bytes,
                    objects_diff: t.objects as isize - objects as isize,
                    bytes_diff: t.bytes as isize - bytes as isize,
                }
            })
            .collect();
        for t in &earlier.stats.types {
            if self.stats.get(t.type_name).is_none() {
                diffs.push(TypeDiff {
                    type_name: t.type_name,
                    objects: 0,
                    bytes: 0,
                    objects_diff: -(t.objects as isize),
                    bytes_diff: -(t.bytes as isize),
                });
            }
        }
        diffs.sort_by(|a, b| {
            (
                b.bytes_diff.unsigned_abs(),
                b.objects_diff.unsigned_abs(),
                b.bytes,
            )
                .cmp(&(
                    a.bytes_diff.unsigned_abs(),
                    a.objects_diff.unsigned_abs(),
                    a.bytes,
                ))
                .then_with(|| a.type_name.cmp(b.type_name))
        });
        diffs
    }
}

impl fmt::Display for Snapshot {
    /// The recorded [`TypeStats`] table (same flags).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.stats, f)
    }
}

/// How one type changed between two [`Snapshot`]s.
///
/// `Display` prints one line, `tracemalloc` style — `Node: size=2400 B
/// (+2400 B), count=100 (+100)` — with the full type path under `{:#}`.
///
/// ```
/// use gengc::{Gc, Snapshot};
/// let earlier = Snapshot::take();
/// let s = Gc::new(String::from("leak"));
/// let diff = Snapshot::take().compare_to(&earlier);
/// assert_eq!(diff[0].to_string(), "String: size=32 B (+32 B), count=1 (+1)");
/// assert_eq!(format!("{:#}", diff[0]), "alloc::string::String: size=32 B (+32 B), count=1 (+1)");
/// # drop(s);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TypeDiff {
    /// The type, as [`std::any::type_name`] spells it.
    pub type_name: &'static str,
    /// Objects of the type in the later snapshot.
    pub objects: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Objects gained (negative: lost) since the earlier snapshot.
    pub objects_diff: isize,
    /// Bytes gained (negative: lost) since the earlier snapshot.
    pub bytes_diff: isize,
}

impl fmt::Display for TypeDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: size={} B ({:+} B), count={} ({:+})",
            display_name(self.type_name, f.alternate()),
            self.bytes,
            self.bytes_diff,
            self.objects,
            self.objects_diff
        )
    }
}
