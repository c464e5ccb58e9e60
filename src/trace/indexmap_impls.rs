//! `Trace` for `indexmap`'s [`IndexMap`] and [`IndexSet`] (feature
//! `indexmap`), the same way as for `HashMap` and `HashSet`.
//!
//! The hasher `S` is not traced: it owns no `Gc` in any sensible program,
//! and a `Gc` the collector does not see only leaks.

use super::{Trace, Tracer};
use indexmap::{IndexMap, IndexSet};

map! {
    IndexMap<K, V, S>;
}

sequence! {
    IndexSet<T, S>;
}
