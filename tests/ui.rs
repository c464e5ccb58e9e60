//! Compile-time behaviour, checked with trybuild: `tests/ui/*.rs` must fail
//! to build with exactly the errors in their `.stderr` files, and
//! `tests/ui/pass/*.rs` must build and run.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`
//! and read every one: each error must point at the offending code. They are
//! tied to the toolchain in CI, as rustc's wording changes between versions.

#[test]
#[cfg_attr(miri, ignore)] // Miri cannot run rustc.
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
