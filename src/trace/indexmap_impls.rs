//! `Trace` for `indexmap`'s [`IndexMap`] and [`IndexSet`] (feature
//! `indexmap`), the same way as for `HashMap` and `HashSet`.
//!
//! The hasher `S` is not traced: it owns no `Gc` in any sensible program,
//! and a `Gc` the collector does not see only leaks.

use super::{Trace, Tracer};
use indexmap::{IndexMap, IndexSet};

// SAFETY: iteration yields each key and value once, and each is traced once.
unsafe impl<K: Trace, V: Trace, S> Trace for IndexMap<K, V, S> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if Self::needs_trace() {
            for (key, value) in self {
                key.trace(tracer);
                value.trace(tracer);
            }
        }
    }
    #[inline(always)]
    fn needs_trace() -> bool {
        K::needs_trace() || V::needs_trace()
    }
    #[inline]
    fn finalize_glue(&self) {
        if Self::needs_finalize() {
            for (key, value) in self {
                key.finalize_glue();
                value.finalize_glue();
            }
        }
    }
    #[inline(always)]
    fn needs_finalize() -> bool {
        K::needs_finalize() || V::needs_finalize()
    }
}

// SAFETY: iteration yields each element once, and each is traced once.
unsafe impl<T: Trace, S> Trace for IndexSet<T, S> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::needs_trace() {
            for element in self {
                element.trace(tracer);
            }
        }
    }
    #[inline(always)]
    fn needs_trace() -> bool {
        T::needs_trace()
    }
    #[inline]
    fn finalize_glue(&self) {
        if T::needs_finalize() {
            for element in self {
                element.finalize_glue();
            }
        }
    }
    #[inline(always)]
    fn needs_finalize() -> bool {
        T::needs_finalize()
    }
}
