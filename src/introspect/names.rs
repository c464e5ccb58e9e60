//! Short type names for display: `alloc::vec::Vec<gengc::handle::Gc<app::Node>>`
//! reads as `Vec<Gc<Node>>`.

/// Drops the module path of every path in a type name, keeping the last
/// segment of each (generic arguments, tuples, slices and references keep
/// their shape).
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    // Where the path being read started in `out`: a `::` cuts back to it.
    let mut path_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(path_start);
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                path_start = out.len();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn paths_lose_their_modules() {
        for (full, short) in [
            ("u32", "u32"),
            ("alloc::string::String", "String"),
            (
                "alloc::vec::Vec<gengc::handle::Gc<tour::Element>>",
                "Vec<Gc<Element>>",
            ),
            ("[u8]", "[u8]"),
            ("(i32, alloc::string::String)", "(i32, String)"),
            ("&str", "&str"),
            ("dyn core::any::Any", "dyn Any"),
            (
                "std::collections::hash::map::HashMap<alloc::string::String, gengc::handle::Gc<a::Value>>",
                "HashMap<String, Gc<Value>>",
            ),
            ("app::Named<3>", "Named<3>"),
            ("[core::option::Option<gengc::handle::Gc<x::N>>; 4]", "[Option<Gc<N>>; 4]"),
        ] {
            assert_eq!(short_type_name(full), short, "{full}");
        }
    }
}
