//! One module per library: its node types and its [`Lib`](crate::Lib) impl.

pub mod bacon;
pub mod dumpster;
pub mod gcmodule;
pub mod gengc;
pub mod rc;
pub mod rustcc;
pub mod rustgc;
