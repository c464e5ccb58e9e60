//! Helpers shared by the integration tests.

/// Runs `f` on a fresh thread and returns its result, resuming its panic.
/// Each thread has its own heap, so a test's counts cannot be disturbed by
/// objects or settings of another test.
pub fn run<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    match std::thread::spawn(f).join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
