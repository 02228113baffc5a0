//! One field of a `DictParams` struct or of a struct-like `OneOfParams` variant: its
//! `#[param(...)]` options, their compile-time checks, and the code for its spec, its
//! extraction and its conversion.

use std::cmp::Ordering;

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{Field, Ident, LitStr, Type};

use super::attr::{self, Literal, Place, RawOption};
use super::private;
use crate::diag::Errors;

/// A parameter field, with its options parsed.
pub(crate) struct ParamField {
    /// The field's name.
    pub(crate) member: Ident,
    /// The field's type.
    pub(crate) ty: Type,
    /// The `DictParam` key.
    pub(crate) key: String,
    /// What duplicate-key errors point at: the `key` option's value, else the field's name.
    pub(crate) key_span: Span,
    display_name: Option<LitStr>,
    description: Option<LitStr>,
    display_order: i64,
    default: Option<Literal>,
    min: Option<Literal>,
    max: Option<Literal>,
    units: Option<(Span, LitStr)>,
    options: Option<(Span, Vec<LitStr>)>,
    editable: Option<(Span, bool)>,
    multiline: Option<(Span, bool)>,
}

impl ParamField {
    /// Parses a named field's options (`index` is its declaration index, its default display
    /// order), reporting every problem to `errors`.
    pub(crate) fn parse(field: &Field, index: usize, errors: &mut Errors) -> Option<ParamField> {
        let member = field.ident.clone()?;
        attr::reject_attr(
            &field.attrs,
            "params",
            "`#[params(...)]` goes on the struct; a field takes `#[param(...)]`",
            errors,
        );
        let unraw = syn::ext::IdentExt::unraw(&member);
        let mut param = ParamField {
            key: unraw.to_string(),
            key_span: member.span(),
            member,
            ty: field.ty.clone(),
            display_name: None,
            description: None,
            display_order: i64::try_from(index).unwrap_or(i64::MAX),
            default: None,
            min: None,
            max: None,
            units: None,
            options: None,
            editable: None,
            multiline: None,
        };
        for option in attr::parse_options(&field.attrs, "param", Place::Field, errors) {
            param.set(&option, errors);
        }
        param.check(errors);
        Some(param)
    }

    /// Applies one (known, not duplicate) option.
    fn set(&mut self, option: &RawOption, errors: &mut Errors) {
        let span = attr::option_span(option);
        match option.name.to_string().as_str() {
            "key" => {
                if let Some(key) = key_value(option, errors) {
                    self.key = key.value();
                    self.key_span = key.span();
                }
            }
            "display_name" => self.display_name = attr::string_value(option, errors),
            "description" => self.description = attr::string_value(option, errors),
            "display_order" => {
                if let Some(order) = attr::order_value(option, errors) {
                    self.display_order = order;
                }
            }
            "default" => {
                if option.value.is_none() {
                    errors.spanned(
                        &option.name,
                        "a field's `default` needs a value: `default = 1`, `default = \"text\"`, \
                         `default = true` (a bare `default` marks a `OneOfParams` variant as the \
                         default choice)",
                    );
                } else {
                    self.default = attr::literal_value(option, "...", errors);
                }
            }
            "min" | "max" => {
                let name = option.name.to_string();
                let value = attr::literal_value(option, "1", errors);
                let value = match value {
                    Some(literal @ (Literal::Int(_) | Literal::Float(_))) => Some(literal),
                    Some(_) => {
                        errors.spanned(
                            option.value_tokens(),
                            format!(
                                "`{name}` takes a number literal: `{name} = 1` or `{name} = 0.5`"
                            ),
                        );
                        None
                    }
                    None => None,
                };
                if name == "min" {
                    self.min = value;
                } else {
                    self.max = value;
                }
            }
            "units" => self.units = attr::string_value(option, errors).map(|lit| (span, lit)),
            "options" => self.options = options_value(option, errors).map(|lits| (span, lits)),
            "editable" => self.editable = attr::flag_value(option, errors).map(|on| (span, on)),
            "multiline" => self.multiline = attr::flag_value(option, errors).map(|on| (span, on)),
            _ => {}
        }
    }

    /// The checks the official `validate_spec` makes, where the literals decide them.
    fn check(&self, errors: &mut Errors) {
        let default = self.default.as_ref();
        let default_number = match default {
            Some(literal) => literal.number(),
            // Without a `default`, a number's default is 0.
            None => Some(attr::Num::Int(0)),
        };
        if let Some(default_number) = default_number {
            for (bound, below) in [(&self.min, true), (&self.max, false)] {
                let Some(bound) = bound else { continue };
                let Some(bound_number) = bound.number() else {
                    continue;
                };
                let wrong = if below {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                if default_number.compare(bound_number) != Some(wrong) {
                    continue;
                }
                let (side, name) = if below {
                    ("below", "min")
                } else {
                    ("above", "max")
                };
                match default {
                    Some(default) => errors.push(syn::Error::new(
                        default.span(),
                        format!("`default = {default}` is {side} `{name} = {bound}`"),
                    )),
                    None => errors.push(syn::Error::new(
                        bound.span(),
                        format!(
                            "`{name} = {bound}` excludes 0, the default value when none is \
                             given: add a `default` within the bounds"
                        ),
                    )),
                }
            }
        }
        if let (Some(min), Some(max)) = (&self.min, &self.max)
            && let (Some(low), Some(high)) = (min.number(), max.number())
            && low.compare(high) == Some(Ordering::Greater)
        {
            errors.push(syn::Error::new(
                min.span(),
                format!("`min = {min}` is greater than `max = {max}`"),
            ));
        }
        let editable = self.editable.is_some_and(|(_, on)| on);
        if let (Some(Literal::Str(default)), Some((_, options))) = (default, &self.options)
            && !editable
            && !options.is_empty()
            && !default.value().is_empty()
            && !options
                .iter()
                .any(|option| option.value() == default.value())
        {
            errors.spanned(
                default,
                format!(
                    "`default = {:?}` is not among the `options`: add it to them, or make the \
                     parameter `editable`",
                    default.value()
                ),
            );
        }
    }

    /// `specs.insert(key, child spec)`, for the dict spec being built in `specs`.
    pub(crate) fn spec_insert(&self, specs: &Ident) -> TokenStream {
        let p = private();
        let ty = &self.ty;
        let key = &self.key;
        let display_name = lit_or_empty(self.display_name.as_ref());
        let description = lit_or_empty(self.description.as_ref());
        let display_order = self.display_order;
        let mut options = Vec::new();
        if let Some(default) = &self.default {
            let value = literal_conversion(default, ty);
            options.push(quote!(default: #p::Some(#value)));
        }
        for (name, bound) in [("min", &self.min), ("max", &self.max)] {
            if let Some(bound) = bound {
                let name = Ident::new(name, Span::call_site());
                let value = literal_conversion(bound, ty);
                options.push(quote!(#name: #p::Some(#value)));
            }
        }
        if let Some((span, units)) = &self.units {
            let value = respan(quote!(#p::units::<#ty>(#units)), *span);
            options.push(quote!(units: #value));
        }
        if let Some((span, values)) = &self.options {
            let value = respan(quote!(#p::options::<#ty>(&[#(#values),*])), *span);
            options.push(quote!(options: #value));
        }
        for (name, flag) in [("editable", self.editable), ("multiline", self.multiline)] {
            if let Some((span, on)) = flag {
                let name = Ident::new(name, Span::call_site());
                let value = respan(quote!(#p::string_flag::<#ty>(#on)), span);
                options.push(quote!(#name: #value));
            }
        }
        quote! {
            #specs.insert(
                #p::String::from(#key),
                #p::dict_child(
                    <#ty as #p::Param>::param_spec(#p::ParamOptions::<#ty> {
                        #(#options,)*
                        ..#p::ParamOptions::default()
                    }),
                    #display_name,
                    #description,
                    #display_order,
                ),
            );
        }
    }

    /// `member: value`, the field read from the validated dict `value` with spec `spec`; errors
    /// are nested with `.nested(outer)` if given.
    pub(crate) fn extract(&self, value: &Ident, spec: &Ident, outer: Option<&str>) -> TokenStream {
        let p = private();
        let ty = &self.ty;
        let key = &self.key;
        let member = &self.member;
        let nest = outer.map(|outer| quote!(.map_err(|__error| __error.nested(#outer))));
        quote!(#member: <#ty as #p::Param>::from_param(
            #p::field_value(#value, #key),
            #p::field_spec(#spec, #key),
        )
        .map_err(|__error| __error.nested(#key)) #nest ?)
    }

    /// `values.insert(key, param)`, the field's value `binding` (a reference) converted.
    pub(crate) fn to_param_insert(&self, values: &Ident, binding: &TokenStream) -> TokenStream {
        let p = private();
        let ty = &self.ty;
        let key = &self.key;
        quote!(#values.insert(#p::String::from(#key), <#ty as #p::Param>::to_param(#binding));)
    }
}

/// The value of `key = "..."`, which must not be empty.
pub(crate) fn key_value(option: &RawOption, errors: &mut Errors) -> Option<LitStr> {
    let key = attr::string_value(option, errors)?;
    if key.value().is_empty() {
        errors.spanned(&key, "`key` must not be empty");
        return None;
    }
    Some(key)
}

/// The value of `options = ["a", "b"]`.
fn options_value(option: &RawOption, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let expected = "`options` takes an array of string literals: `options = [\"a\", \"b\"]`";
    let Some((_, value)) = &option.value else {
        errors.spanned(&option.name, expected);
        return None;
    };
    let syn::Expr::Array(array) = value else {
        errors.spanned(value, expected);
        return None;
    };
    let mut values = Vec::new();
    for element in &array.elems {
        match Literal::parse(element) {
            Ok(Literal::Str(lit)) => values.push(lit),
            _ => errors.spanned(element, expected),
        }
    }
    Some(values)
}

/// A string literal's tokens, or `""`.
pub(crate) fn lit_or_empty(lit: Option<&LitStr>) -> TokenStream {
    match lit {
        Some(lit) => lit.to_token_stream(),
        None => quote!(""),
    }
}

/// The literal as a value of the field's type `ty`, through the conversion its kind needs.
/// The whole expression (the type included) is spanned at the literal, so that a mismatch (a
/// string default for an `i64`) points at it.
fn literal_conversion(literal: &Literal, ty: &Type) -> TokenStream {
    let p = private();
    let expression = match literal {
        Literal::Int(number) => {
            let tokens = &number.tokens;
            quote!(#p::int_literal::<#ty>(#tokens))
        }
        Literal::Float(number) => {
            let tokens = &number.tokens;
            quote!(#p::float_literal::<#ty>(#tokens))
        }
        Literal::Str(lit) => quote!(#p::str_literal::<#ty>(#lit)),
        Literal::Bool(lit) => quote!(#p::bool_literal::<#ty>(#lit)),
    };
    respan(expression, literal.span())
}

/// `tokens` with every token (in groups too) spanned at `span`: for checks whose errors should
/// point at an option rather than at the field's type or the derive.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut respanned = Group::new(group.delimiter(), respan(group.stream(), span));
                respanned.set_span(span);
                token = TokenTree::Group(respanned);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}
