//! Parsing of the `#[gc(...)]` helper attributes.
//!
//! Every problem becomes a [`syn::Error`] spanned on the offending token and
//! ending with [`USAGE`], and is pushed into an [`Errors`] collector instead of
//! being returned early, so the user sees all of their mistakes in one build.

use quote::ToTokens;
use std::fmt::Display;
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Meta, Path, Token, WherePredicate};

/// The full list of accepted attributes; every usage error ends with it.
const USAGE: &str = "`#[gc(...)]` accepts on the type: `finalize`, `acyclic`, `unsafe_drop`, \
                     `bound = \"...\"`, `crate = path`; on a field or variant: `skip`";

/// Builds the error for a misuse of `#[gc(...)]`: the problem, then the usage.
pub(crate) fn usage_error(tokens: impl ToTokens, problem: impl Display) -> syn::Error {
    syn::Error::new_spanned(tokens, format!("{problem}; {USAGE}"))
}

/// Collects every error of one derive input so they are emitted together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// `Err` with all collected errors, if there were any.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Where a `#[gc(...)]` attribute was written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Type,
    Field,
    Variant,
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::Type => "the type",
            Place::Field => "a field",
            Place::Variant => "an enum variant",
        }
    }
}

/// The keys `#[gc(...)]` understands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Skip,
    Finalize,
    Acyclic,
    UnsafeDrop,
    Bound,
    Crate,
}

impl Key {
    fn from_path(path: &Path) -> Option<Key> {
        // `crate` is a keyword, but `Meta` parsing accepts it as an identifier.
        let ident = path.get_ident()?.to_string();
        Some(match ident.as_str() {
            "skip" => Key::Skip,
            "finalize" => Key::Finalize,
            "acyclic" => Key::Acyclic,
            "unsafe_drop" => Key::UnsafeDrop,
            "bound" => Key::Bound,
            "crate" => Key::Crate,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Key::Skip => "skip",
            Key::Finalize => "finalize",
            Key::Acyclic => "acyclic",
            Key::UnsafeDrop => "unsafe_drop",
            Key::Bound => "bound",
            Key::Crate => "crate",
        }
    }

    fn allowed_on(self, place: Place) -> bool {
        match self {
            Key::Skip => place != Place::Type,
            _ => place == Place::Type,
        }
    }

    /// Whether the key is written `key = value` rather than bare `key`.
    fn takes_value(self) -> bool {
        matches!(self, Key::Bound | Key::Crate)
    }

    /// The accepted form, shown when the user wrote another one.
    fn form(self) -> &'static str {
        match self {
            Key::Skip => "`skip` takes no value",
            Key::Finalize => "`finalize` takes no value",
            Key::Acyclic => "`acyclic` takes no value",
            Key::UnsafeDrop => "`unsafe_drop` takes no value",
            Key::Bound => {
                "`bound` takes a string of where-clause predicates: `bound = \"T: Trace\"`"
            }
            Key::Crate => "`crate` takes a path: `crate = gengc` or `crate = \"my::gengc\"`",
        }
    }
}

/// One well-formed `key` or `key = value` inside `#[gc(...)]`.
struct Entry {
    key: Key,
    /// The key as written, for spans.
    path: Path,
    /// The value, present exactly when the key takes one.
    value: Option<Expr>,
}

/// Reads every `#[gc(...)]` among `attrs` and returns the well-formed entries
/// that are allowed at `place`, each key at most once. Everything else is
/// reported to `errors`.
fn parse(attrs: &[Attribute], place: Place, errors: &mut Errors) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("gc")) {
        let list = match &attr.meta {
            Meta::List(list) => list,
            other => {
                errors.push(usage_error(other, "expected a list: `#[gc(...)]`"));
                continue;
            }
        };
        let metas = match list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) {
            Ok(metas) => metas,
            Err(error) => {
                errors.push(syn::Error::new(error.span(), format!("{error}; {USAGE}")));
                continue;
            }
        };
        for meta in metas {
            let Some(key) = Key::from_path(meta.path()) else {
                let name = meta.path().to_token_stream().to_string().replace(' ', "");
                let problem = format!("unknown attribute `{name}`");
                errors.push(usage_error(meta.path(), problem));
                continue;
            };
            if !key.allowed_on(place) {
                let right = if key == Key::Skip {
                    "a field or an enum variant"
                } else {
                    "the type"
                };
                let problem = format!(
                    "`{}` is not allowed on {}, only on {right}",
                    key.name(),
                    place.describe()
                );
                errors.push(usage_error(meta.path(), problem));
                continue;
            }
            let (path, value) = match meta {
                Meta::Path(path) if !key.takes_value() => (path, None),
                Meta::NameValue(pair) if key.takes_value() => (pair.path, Some(pair.value)),
                other => {
                    errors.push(usage_error(other, key.form()));
                    continue;
                }
            };
            if entries.iter().any(|entry| entry.key == key) {
                let problem = format!("duplicate attribute `{}`", key.name());
                errors.push(usage_error(path, problem));
                continue;
            }
            entries.push(Entry { key, path, value });
        }
    }
    entries
}

/// How the derive deals with a user `Drop` impl: the explicit mode, after
/// gc-arena's `no_drop` / `unsafe_drop`.
pub(crate) enum DropMode {
    /// Emit the marker impl that makes a user `impl Drop` a coherence error
    /// (E0119). The default.
    Forbid,
    /// `#[gc(unsafe_drop)]`: the user promises their `Drop` never touches a
    /// `Gc`, so no marker impl is emitted.
    Allow,
}

/// The type-level attributes.
pub(crate) struct TypeAttrs {
    pub(crate) drop_mode: DropMode,
    /// The `finalize` keyword of `#[gc(finalize)]`, kept to span the call to
    /// `Finalize::finalize` on it (a missing impl is reported there).
    pub(crate) finalize: Option<Ident>,
    /// `#[gc(acyclic)]`: values never take part in a cycle, so objects of
    /// the type are not tracked (`Trace::is_acyclic`).
    pub(crate) acyclic: bool,
    /// `bound = "..."`: replaces the inferred bounds.
    pub(crate) bound: Option<Punctuated<WherePredicate, Token![,]>>,
    /// The path of the `gengc` crate: `::gengc` unless `crate = ...` says otherwise.
    pub(crate) krate: Path,
    /// Whether `crate = ...` was given but unusable, in which case no code
    /// may mention the crate path (it would only add confusing errors).
    pub(crate) krate_invalid: bool,
}

impl TypeAttrs {
    pub(crate) fn parse(attrs: &[Attribute], errors: &mut Errors) -> TypeAttrs {
        let mut parsed = TypeAttrs {
            drop_mode: DropMode::Forbid,
            finalize: None,
            acyclic: false,
            bound: None,
            krate: syn::parse_quote!(::gengc),
            krate_invalid: false,
        };
        for entry in parse(attrs, Place::Type, errors) {
            match (entry.key, &entry.value) {
                (Key::Finalize, _) => parsed.finalize = entry.path.get_ident().cloned(),
                (Key::Acyclic, _) => parsed.acyclic = true,
                (Key::UnsafeDrop, _) => parsed.drop_mode = DropMode::Allow,
                (Key::Bound, Some(value)) => match parse_bound(value) {
                    Ok(bound) => parsed.bound = Some(bound),
                    Err(error) => errors.push(error),
                },
                (Key::Crate, Some(value)) => match parse_crate(value) {
                    Ok(path) => parsed.krate = path,
                    Err(error) => {
                        errors.push(error);
                        parsed.krate_invalid = true;
                    }
                },
                // `parse` let through no `skip` on the type, and a value
                // exactly for the keys that take one.
                (Key::Skip, _) | (Key::Bound | Key::Crate, None) => {}
            }
        }
        parsed
    }
}

/// Whether a field or variant carries `#[gc(skip)]`.
pub(crate) fn is_skipped(attrs: &[Attribute], place: Place, errors: &mut Errors) -> bool {
    parse(attrs, place, errors)
        .iter()
        .any(|entry| entry.key == Key::Skip)
}

fn string_literal(value: &Expr) -> Option<&LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

fn parse_bound(value: &Expr) -> syn::Result<Punctuated<WherePredicate, Token![,]>> {
    let Some(lit) = string_literal(value) else {
        return Err(usage_error(value, Key::Bound.form()));
    };
    // `LitStr::parse_with` spans its errors on the whole literal; the message
    // adds what the literal should contain.
    lit.parse_with(Punctuated::parse_terminated)
        .map_err(|error| {
            let problem = format!(
                "malformed `bound`: {error}; expected where-clause predicates such as \
             `bound = \"T: Trace, U: Clone\"`, or `bound = \"\"` for none"
            );
            usage_error(lit, problem)
        })
}

fn parse_crate(value: &Expr) -> syn::Result<Path> {
    match value {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Ok(path.path.clone()),
        _ => match string_literal(value) {
            Some(lit) => lit
                .parse::<Path>()
                .map_err(|_| usage_error(lit, Key::Crate.form())),
            None => Err(usage_error(value, Key::Crate.form())),
        },
    }
}
