//! Helpers shared by the integration tests.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

use gengc::{Gc, Trace, Tracer};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Runs `f` on a fresh thread and returns its result, resuming its panic.
/// Each thread has its own heap, so a test's counts cannot be disturbed by
/// objects or settings of another test.
pub fn run<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match std::thread::spawn(f).join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Counts its drops in an `Arc` that outlives the thread, so a test can see
/// values dropped by the thread-exit teardown. Owns no `Gc`.
pub struct Counted(pub Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: owns no Gc.
unsafe impl Trace for Counted {
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

/// Counts its drops in a shared counter of the test's thread. Owns no `Gc`.
pub struct DropCount(pub Rc<Cell<usize>>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

// SAFETY: owns no Gc.
unsafe impl Trace for DropCount {
    fn trace(&self, _: &mut Tracer<'_>) {}
    fn needs_trace() -> bool {
        false
    }
}

/// A tracked node whose edge can change through a shared reference, so it
/// can close cycles; counts its drops.
#[derive(Trace)]
pub struct Node {
    pub next: RefCell<Option<Gc<Node>>>,
    pub _drops: DropCount,
}

/// A new `Node` with no edge, counting its drop in `drops`.
pub fn node(drops: &Rc<Cell<usize>>) -> Gc<Node> {
    Gc::new(Node {
        next: RefCell::new(None),
        _drops: DropCount(drops.clone()),
    })
}
