//! `Trace` for [`smallvec::SmallVec`] (feature `smallvec`), the same way as
//! for `Vec`, whether the elements are inline or spilled to the heap.

use super::{Trace, Tracer};
use smallvec::{Array, SmallVec};

// SAFETY: the elements are one slice, inline or spilled; the slice impl
// traces each element once.
unsafe impl<A: Array> Trace for SmallVec<A>
where
    A::Item: Trace,
{
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.as_slice().trace(tracer);
    }
    #[inline(always)]
    fn needs_trace() -> bool {
        A::Item::needs_trace()
    }
    #[inline(always)]
    fn has_fixed_edges() -> bool {
        A::Item::has_fixed_edges()
    }
    #[inline]
    fn finalize_glue(&self) {
        self.as_slice().finalize_glue();
    }
    #[inline(always)]
    fn needs_finalize() -> bool {
        A::Item::needs_finalize()
    }
}
