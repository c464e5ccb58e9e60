//! Side-by-side benchmarks of gengc against `std::rc::Rc` (the floor) and the
//! Rust cycle collectors on crates.io: rust-cc, dumpster (unsync),
//! bacon_rajan_cc, gcmodule and gc.
//!
//! Every library implements [`Lib`] with its own node types (one module per
//! library under [`peers`]), so the workloads in [`workloads`] are written
//! once and run identically for all of them — the idea of dumpster's
//! `Multiref` trait, extended to every node shape the suite needs.
//!
//! `Rc` is the floor: the same structures, with `rc::Weak` for the edges that
//! would close a cycle (parent / prev pointers, random-graph edges) or
//! without the closing edge (rings, churn cycles); it never collects.

pub mod api;
pub mod peers;
pub mod rng;
pub mod workloads;

pub use api::Lib;

/// Stack size of the thread the benchmarks run on. Several peers traverse
/// recursively (bacon_rajan_cc's mark/scan, dumpster's DFS, gc's mark,
/// gcmodule's revive) and `Rc`'s drop glue recurses down a list, so a
/// 1,000,000-node list needs far more than the default 8 MiB. The memory is
/// only reserved; pages are touched when used. `stack_probe` (a binary of
/// this crate) reports which cases overflow the default stack.
pub const BIG_STACK: usize = 4 << 30;

/// Runs `f` on a fresh thread with [`BIG_STACK`] bytes of stack and returns
/// its result (a panic is propagated).
pub fn on_big_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .name("bench".into())
            .stack_size(BIG_STACK)
            .spawn_scoped(s, f)
            .expect("spawn the benchmark thread");
        match h.join() {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e),
        }
    })
}

/// Calls the generic function `f::<L>(args)` for every library `L`, the
/// `Rc` floor first: `for_each_lib!(bench_x(&mut group))`.
#[macro_export]
macro_rules! for_each_lib {
    ($f:ident ( $($arg:expr),* )) => {{
        $f::<$crate::peers::rc::RcLib>($($arg),*);
        $f::<$crate::peers::gengc::GengcLib>($($arg),*);
        $f::<$crate::peers::rustcc::RustCcLib>($($arg),*);
        $f::<$crate::peers::dumpster::DumpsterLib>($($arg),*);
        $f::<$crate::peers::bacon::BaconLib>($($arg),*);
        $f::<$crate::peers::gcmodule::GcmoduleLib>($($arg),*);
        $f::<$crate::peers::rustgc::RustGcLib>($($arg),*);
    }};
}
