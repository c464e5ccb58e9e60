//! Code generation for `#[derive(Trace)]`.

use crate::attrs::{is_skipped, DropMode, Errors, Place, TypeAttrs};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{
    Attribute, Data, DeriveInput, Fields, Generics, Ident, Index, Member, Meta, Path, Token,
    TraitBoundModifier, Type, TypeParamBound, TypePath, WherePredicate,
};

/// Expands `#[derive(Trace)]` on `input`; errors come back as `compile_error!`s.
pub(crate) fn derive_trace(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let attrs = TypeAttrs::parse(&input.attrs, &mut errors);
    let variants = variants(input, &mut errors);
    match errors.finish() {
        Ok(()) => generate(input, &attrs, &variants),
        Err(error) => {
            let mut tokens = error.to_compile_error();
            if !attrs.krate_invalid {
                tokens.extend(placeholder(input, &attrs.krate));
            }
            tokens
        }
    }
}

/// One arm of the generated `match self`: a struct, or one enum variant.
struct Variant<'a> {
    /// `Self` or `Self::Name`.
    path: TokenStream,
    /// The fields that are traced, i.e. not `#[gc(skip)]`.
    fields: Vec<Field<'a>>,
}

struct Field<'a> {
    member: Member,
    ty: &'a Type,
    /// The name the field is bound to in the match arm.
    binding: Ident,
}

impl Field<'_> {
    /// Where generated code about this field is placed: on the user's field
    /// type, so that "`X: Trace` is not satisfied" points there.
    fn span(&self) -> Span {
        // Only the location is the field's; names in the generated code
        // (`tracer`, the bindings) keep resolving like the derive's own
        // tokens, whatever hygiene the field's tokens carry (gc-arena does
        // the same).
        Span::call_site().located_at(self.ty.span())
    }
}

fn variants<'a>(input: &'a DeriveInput, errors: &mut Errors) -> Vec<Variant<'a>> {
    match &input.data {
        Data::Struct(data) => {
            if let Some(packed) = repr_packed(&input.attrs) {
                errors.push(syn::Error::new_spanned(
                    packed,
                    "`#[derive(Trace)]` does not support `#[repr(packed)]` structs: tracing \
                     borrows every field, and a packed field may be misaligned; remove \
                     `packed` or write the `unsafe impl Trace` by hand",
                ));
            }
            vec![Variant {
                path: quote!(Self),
                fields: traced_fields(&data.fields, errors),
            }]
        }
        Data::Enum(data) => data
            .variants
            .iter()
            .map(|variant| {
                let skip = is_skipped(&variant.attrs, Place::Variant, errors);
                // Parse the fields of a skipped variant too, to report their errors.
                let fields = traced_fields(&variant.fields, errors);
                let name = &variant.ident;
                Variant {
                    path: quote!(Self::#name),
                    fields: if skip { Vec::new() } else { fields },
                }
            })
            .collect(),
        Data::Union(data) => {
            errors.push(syn::Error::new_spanned(
                data.union_token,
                "`#[derive(Trace)]` does not support unions: the collector cannot know which \
                 field is live; wrap the union in a type with a hand-written `unsafe impl Trace`",
            ));
            Vec::new()
        }
    }
}

/// The `packed` of a `#[repr(packed)]` or `#[repr(packed(N))]`, if any.
fn repr_packed(attrs: &[Attribute]) -> Option<Path> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("repr"))
        .filter_map(|attr| {
            // rustc itself rejects a malformed `repr`; nothing to add to that.
            attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()
        })
        .flatten()
        .map(|meta| meta.path().clone())
        .find(|path| path.is_ident("packed"))
}

fn traced_fields<'a>(fields: &'a Fields, errors: &mut Errors) -> Vec<Field<'a>> {
    let mut traced = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        if is_skipped(&field.attrs, Place::Field, errors) {
            continue;
        }
        traced.push(Field {
            member: match &field.ident {
                Some(name) => Member::Named(name.clone()),
                None => Member::Unnamed(Index::from(index)),
            },
            ty: &field.ty,
            binding: format_ident!("__binding_{}", index),
        });
    }
    traced
}

fn generate(input: &DeriveInput, attrs: &TypeAttrs, variants: &[Variant<'_>]) -> TokenStream {
    let krate = &attrs.krate;
    let name = &input.ident;
    let fields = || variants.iter().flat_map(|variant| &variant.fields);

    let bounded = with_bounds(input, attrs, fields().map(|field| field.ty));
    let (impl_generics, ty_generics, where_clause) = bounded.split_for_impl();

    // `tracer` is unused when no field is traced; avoid the warning.
    let tracer = if fields().next().is_some() {
        format_ident!("tracer")
    } else {
        format_ident!("_tracer")
    };
    // Every per-field call names the field type, `<Ty as Trace>::...`: a type
    // without `Trace` then gives the same error in all four methods, which
    // rustc reports once, on the field's type.
    let trace = match_self(variants, |field| {
        let (ty, binding) = (field.ty, &field.binding);
        quote_spanned!(field.span()=> <#ty as #krate::Trace>::trace(#binding, #tracer);)
    });
    let finalize_fields = match_self(variants, |field| {
        let (ty, binding) = (field.ty, &field.binding);
        quote_spanned!(field.span()=> <#ty as #krate::Trace>::finalize_glue(#binding);)
    });
    // Spanned on the attribute's `finalize`, where a missing `Finalize` impl
    // is then reported.
    let finalize_self = attrs.finalize.as_ref().map(|keyword| {
        let span = Span::call_site().located_at(keyword.span());
        quote_spanned!(span=> <Self as #krate::Finalize>::finalize(self);)
    });

    let maybe_unsized = maybe_unsized_params(&input.generics);
    let needs = |method: &str| {
        let method = Ident::new(method, Span::call_site());
        or(fields().map(|field| field_term(field, &method, krate, &maybe_unsized, true)))
    };
    let needs_trace = needs("needs_trace");
    // Fixed only if every traced field's edges are; an unknown tail (`dyn`,
    // a `?Sized` parameter) may hide a cell.
    let fixed_edges = {
        let method = Ident::new("has_fixed_edges", Span::call_site());
        and(fields().map(|field| field_term(field, &method, krate, &maybe_unsized, false)))
    };
    let needs_finalize = if attrs.finalize.is_some() {
        quote!(true)
    } else {
        needs("needs_finalize")
    };

    // Only emitted when asked for: the trait's default (`false`) is right
    // for every other type.
    let is_acyclic = attrs.acyclic.then(|| {
        quote! {
            #[inline]
            fn is_acyclic() -> bool {
                true
            }
        }
    });

    let drop_ban = match attrs.drop_mode {
        DropMode::Forbid => Some(drop_ban(input, krate)),
        DropMode::Allow => None,
    };

    quote! {
        const _: () = {
            #[automatically_derived]
            unsafe impl #impl_generics #krate::Trace for #name #ty_generics #where_clause {
                // Always inlined: the collector calls `trace` from one entry
                // per counting/marking mode, where the tracer's mode is a
                // constant. Out of line (LLVM's choice for a type with two
                // cell fields) the body is shared by all modes and every
                // edge dispatches on the mode again. The cost is code size:
                // each entry holds the whole flattened value's trace (nested
                // derived fields inline too; recursion through a `Box` or a
                // `Vec` stays a call).
                #[inline(always)]
                fn trace(&self, #tracer: &mut #krate::Tracer<'_>) {
                    #trace
                }

                // Without the trait's `where Self: Sized`: on a type that is
                // never sized (a `str` or `[T]` tail and no parameters) that
                // bound would be a trivially false bound, a hard error. The
                // bodies only ask sized field types (see `field_term`).
                #[inline]
                fn needs_trace() -> bool {
                    #needs_trace
                }

                #is_acyclic

                #[inline]
                fn has_fixed_edges() -> bool {
                    #fixed_edges
                }

                #[inline]
                fn finalize_glue(&self) {
                    #finalize_self
                    #finalize_fields
                }

                #[inline]
                fn needs_finalize() -> bool {
                    #needs_finalize
                }
            }

            #drop_ban
        };
    }
}

/// `match self { ... }` with one arm per variant, running `per_field` on each
/// traced field (bound by reference through match ergonomics).
fn match_self(
    variants: &[Variant<'_>],
    per_field: impl Fn(&Field<'_>) -> TokenStream,
) -> TokenStream {
    if variants.is_empty() {
        // A zero-variant enum has no value to match on.
        return quote!(match *self {});
    }
    let arms = variants.iter().map(|variant| {
        let path = &variant.path;
        let members = variant.fields.iter().map(|field| &field.member);
        let bindings = variant.fields.iter().map(|field| &field.binding);
        let body = variant.fields.iter().map(&per_field);
        // The braced form `Self { 0: a, .. }` fits named, tuple and unit shapes alike.
        quote! {
            #path { #(#members: #bindings,)* .. } => { #(#body)* }
        }
    });
    quote! {
        match self {
            #(#arms)*
        }
    }
}

/// `a || b || ...`, or `false` when there is no term.
fn or(terms: impl Iterator<Item = TokenStream>) -> TokenStream {
    let terms: Vec<TokenStream> = terms.collect();
    if terms.is_empty() {
        quote!(false)
    } else {
        quote!(#(#terms)||*)
    }
}

/// `a && b && ...`, or `true` when there is no term.
fn and(terms: impl Iterator<Item = TokenStream>) -> TokenStream {
    let terms: Vec<TokenStream> = terms.collect();
    if terms.is_empty() {
        quote!(true)
    } else {
        quote!(#(#terms)&&*)
    }
}

/// The field's contribution to `needs_trace` / `needs_finalize` /
/// `has_fixed_edges`.
///
/// Only a sized type can be asked (the trait methods require `Self: Sized`),
/// so for a possibly unsized field type (the tail of a DST) the answer is
/// decided here: `[T]` answers for `T`, `dyn Trait` or a `?Sized` parameter
/// answer the conservative `unknown`, and `str` (which owns no `Gc`) the
/// opposite.
fn field_term(
    field: &Field<'_>,
    method: &Ident,
    krate: &Path,
    maybe_unsized: &[Ident],
    unknown: bool,
) -> TokenStream {
    let mut ty = field.ty;
    loop {
        match ty {
            // A type passed through a `macro_rules!` `$t:ty` or written in parentheses.
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            Type::Slice(slice) => ty = &slice.elem,
            Type::TraitObject(_) => return quote!(#unknown),
            Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => {
                let owns_none = !unknown;
                return quote!(#owns_none);
            }
            Type::Path(path)
                if path.qself.is_none()
                    && maybe_unsized.iter().any(|param| path.path.is_ident(param)) =>
            {
                return quote!(#unknown)
            }
            _ => break,
        }
    }
    quote_spanned!(field.span()=> <#ty as #krate::Trace>::#method())
}

/// The type parameters declared `?Sized`, in their list or in the where clause.
fn maybe_unsized_params(generics: &Generics) -> Vec<Ident> {
    let mut params: Vec<Ident> = generics
        .type_params()
        .filter(|param| param.bounds.iter().any(is_maybe_sized))
        .map(|param| param.ident.clone())
        .collect();
    for predicate in generics
        .where_clause
        .iter()
        .flat_map(|clause| &clause.predicates)
    {
        if let WherePredicate::Type(predicate) = predicate {
            if let Type::Path(path) = &predicate.bounded_ty {
                if let Some(ident) = path.path.get_ident() {
                    if predicate.bounds.iter().any(is_maybe_sized) {
                        params.push(ident.clone());
                    }
                }
            }
        }
    }
    params
}

/// Whether `bound` is `?Sized`.
fn is_maybe_sized(bound: &TypeParamBound) -> bool {
    match bound {
        TypeParamBound::Trait(bound) => matches!(bound.modifier, TraitBoundModifier::Maybe(_)),
        _ => false,
    }
}

/// The type's generics with the `Trace` bounds added: the user's `bound =
/// "..."` if given, else the inferred ones. The user's where clause is kept.
fn with_bounds<'a>(
    input: &DeriveInput,
    attrs: &TypeAttrs,
    field_types: impl Iterator<Item = &'a Type>,
) -> Generics {
    let mut generics = input.generics.clone();
    let predicates: Vec<WherePredicate> = match &attrs.bound {
        Some(bound) => bound.iter().cloned().collect(),
        None => inferred_bounds(&input.generics, field_types, &attrs.krate),
    };
    generics.make_where_clause().predicates.extend(predicates);
    generics
}

/// `T: Trace` for every type parameter used by a traced field, and
/// `T::Assoc: Trace` for every associated type of a parameter used there
/// (serde's and gc-arena's rule). A parameter used only in skipped fields
/// gets no bound.
fn inferred_bounds<'a>(
    generics: &Generics,
    field_types: impl Iterator<Item = &'a Type>,
    krate: &Path,
) -> Vec<WherePredicate> {
    let params: Vec<&Ident> = generics.type_params().map(|param| &param.ident).collect();
    if params.is_empty() {
        return Vec::new();
    }
    let mut uses = ParamUses {
        params: &params,
        used: vec![false; params.len()],
        projections: Vec::new(),
    };
    for ty in field_types {
        uses.visit_type(ty);
    }
    let used_params = params
        .iter()
        .zip(&uses.used)
        .filter(|(_, used)| **used)
        .map(|(param, _)| syn::parse_quote!(#param: #krate::Trace));
    let mut seen = Vec::new();
    let projections = uses.projections.into_iter().filter_map(|path| {
        // The same `T::Item` may appear in several fields; bound it once.
        let key = path.to_token_stream().to_string();
        if seen.contains(&key) {
            return None;
        }
        seen.push(key);
        Some(syn::parse_quote!(#path: #krate::Trace))
    });
    used_params.chain(projections).collect()
}

/// Finds which type parameters a field type mentions.
struct ParamUses<'a> {
    params: &'a [&'a Ident],
    used: Vec<bool>,
    /// Associated types of parameters, `T::Item` or `<T as Iterator>::Item`:
    /// the bound goes on them, not on `T`.
    projections: Vec<TypePath>,
}

impl ParamUses<'_> {
    fn param_index(&self, ident: &Ident) -> Option<usize> {
        self.params.iter().position(|param| *param == ident)
    }
}

impl<'ast> Visit<'ast> for ParamUses<'_> {
    fn visit_type_path(&mut self, path: &'ast TypePath) {
        if let Some(qself) = &path.qself {
            if let Type::Path(inner) = &*qself.ty {
                let is_param = inner.qself.is_none()
                    && inner
                        .path
                        .get_ident()
                        .and_then(|ident| self.param_index(ident))
                        .is_some();
                if is_param {
                    self.projections.push(path.clone());
                    return;
                }
            }
        } else if let Some(first) = path.path.segments.first() {
            if let Some(index) = self.param_index(&first.ident) {
                if path.path.segments.len() == 1 {
                    self.used[index] = true;
                } else {
                    self.projections.push(path.clone());
                }
            }
        }
        visit::visit_type_path(self, path);
    }
}

/// The marker impl that turns a user `impl Drop` into a coherence error: the
/// core has `impl<T: Drop> DeriveTraceForbidsDrop_UseFinalizeOrGcUnsafeDrop for T`, which this impl
/// would then overlap (E0119). pin-project's and gc-arena's technique; unlike
/// an emitted `Drop`, it keeps `Copy` types and destructuring working.
fn drop_ban(input: &DeriveInput, krate: &Path) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics #krate::__private::DeriveTraceForbidsDrop_UseFinalizeOrGcUnsafeDrop
            for #name #ty_generics #where_clause {}
    }
}

/// Emitted next to the errors of a rejected input, so that uses of the type
/// as `Trace` elsewhere do not add errors of their own. It never runs: the
/// errors stop the compilation.
fn placeholder(input: &DeriveInput, krate: &Path) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        const _: () = {
            unsafe impl #impl_generics #krate::Trace for #name #ty_generics #where_clause {
                fn trace(&self, _: &mut #krate::Tracer<'_>) {}
            }
        };
    }
}
