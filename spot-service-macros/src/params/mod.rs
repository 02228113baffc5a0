//! `#[derive(DictParams)]` and `#[derive(OneOfParams)]`: typed custom parameters (see
//! `spot_service::params`).

mod attr;
mod dict;
mod field;
mod one_of;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::diag::Errors;

/// The path of the helpers generated code uses.
fn private() -> TokenStream {
    quote!(::spot_service::params::__private)
}

/// `#[derive(DictParams)]`: the expansion, preceded by the errors found.
pub(crate) fn derive_dict_params(input: TokenStream) -> TokenStream {
    with_errors(input, dict::expand)
}

/// `#[derive(OneOfParams)]`: the expansion, preceded by the errors found.
pub(crate) fn derive_one_of_params(input: TokenStream) -> TokenStream {
    with_errors(input, one_of::expand)
}

/// Parses the input, runs `expand`, and puts the errors (all of them, each at its place) before
/// whatever could be generated; so a mistake in one option does not hide the others, nor cause
/// errors elsewhere about a missing impl.
fn with_errors(
    input: TokenStream,
    expand: fn(&DeriveInput, &mut Errors) -> TokenStream,
) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.into_compile_error(),
    };
    let mut errors = Errors::default();
    let tokens = expand(&input, &mut errors);
    match errors.into_error() {
        Some(error) => {
            let mut all = error.into_compile_error();
            all.extend(tokens);
            all
        }
        None => tokens,
    }
}

/// Rejects generics (the spec is a `static`, and the traits require `'static`). Returns whether
/// the input has none.
fn check_no_generics(input: &DeriveInput, derive: &str, errors: &mut Errors) -> bool {
    let generics = &input.generics;
    if generics.params.is_empty() && generics.where_clause.is_none() {
        return true;
    }
    let tokens = if generics.params.is_empty() {
        quote!(#generics)
    } else {
        let params = &generics.params;
        quote!(#params)
    };
    let where_clause = &generics.where_clause;
    errors.spanned(
        quote!(#tokens #where_clause),
        format!(
            "`{derive}` cannot be derived for a generic type: its spec is built once, for one type"
        ),
    );
    false
}

/// Reports a second use of `key` (keys must be unique within a dict or a one-of).
fn check_unique_keys<'a>(
    keys: impl IntoIterator<Item = (&'a str, proc_macro2::Span, String)>,
    errors: &mut Errors,
) {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (key, span, owner) in keys {
        match seen.iter().find(|(seen_key, _)| *seen_key == key) {
            Some((_, first)) => errors.push(syn::Error::new(
                span,
                format!("duplicate key `{key}`: {first} already uses it"),
            )),
            None => seen.push((key, owner)),
        }
    }
}
