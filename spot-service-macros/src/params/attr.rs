//! Parsing of `#[param(...)]` and `#[params(...)]`: options written `name`, or `name = value`
//! with a literal value.

use std::cmp::Ordering;
use std::fmt;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitBool, LitFloat, LitInt, LitStr, Meta, Token};

use crate::diag::Errors;

/// Where an attribute is: which options it takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// `#[params(...)]` on a `DictParams` struct.
    Struct,
    /// `#[param(...)]` on a field.
    Field,
    /// `#[param(...)]` on a variant of a `OneOfParams` enum.
    Variant,
}

impl Place {
    /// The options this place takes, in the order the docs list them.
    pub(crate) fn options(self) -> &'static [&'static str] {
        match self {
            Place::Struct => &["hidden_by_default"],
            Place::Field => &[
                "key",
                "display_name",
                "description",
                "display_order",
                "default",
                "min",
                "max",
                "units",
                "options",
                "editable",
                "multiline",
            ],
            Place::Variant => &[
                "key",
                "display_name",
                "description",
                "display_order",
                "default",
            ],
        }
    }

    /// The place, as messages name it.
    fn name(self) -> &'static str {
        match self {
            Place::Struct => "`#[params(...)]` on a struct",
            Place::Field => "a field's `#[param(...)]`",
            Place::Variant => "a variant's `#[param(...)]`",
        }
    }
}

/// One option as written: `name` or `name = value`.
pub(crate) struct RawOption {
    /// The option's name.
    pub(crate) name: Ident,
    /// `= value`, if given.
    pub(crate) value: Option<(Token![=], Expr)>,
}

impl Parse for RawOption {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        let value = if input.peek(Token![=]) {
            let eq: Token![=] = input.parse()?;
            let value: Expr = input.parse()?;
            Some((eq, value))
        } else {
            None
        };
        Ok(RawOption { name, value })
    }
}

impl RawOption {
    /// What errors about the value point at: the value, or the option when it has none.
    pub(crate) fn value_tokens(&self) -> TokenStream {
        match &self.value {
            Some((_, value)) => value.to_token_stream(),
            None => self.name.to_token_stream(),
        }
    }

    /// The whole option, for errors about it.
    pub(crate) fn tokens(&self) -> TokenStream {
        let name = &self.name;
        match &self.value {
            Some((eq, value)) => quote!(#name #eq #value),
            None => quote!(#name),
        }
    }
}

/// The options of every `#[<attr_name>(...)]` among `attrs`, checked against `place`: unknown and
/// duplicate options are reported (and dropped).
pub(crate) fn parse_options(
    attrs: &[Attribute],
    attr_name: &str,
    place: Place,
    errors: &mut Errors,
) -> Vec<RawOption> {
    let mut options: Vec<RawOption> = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(attr_name)) {
        let list = match &attr.meta {
            Meta::List(list) => list,
            _ => {
                errors.spanned(
                    attr,
                    format!("expected options in parentheses: `#[{attr_name}(...)]`"),
                );
                continue;
            }
        };
        let parsed = list.parse_args_with(Punctuated::<RawOption, Token![,]>::parse_terminated);
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                errors.push(syn::Error::new(
                    error.span(),
                    format!(
                        "{error}; expected options such as `#[{attr_name}({})]`",
                        example(place)
                    ),
                ));
                continue;
            }
        };
        for option in parsed {
            let name = option.name.to_string();
            if !place.options().contains(&name.as_str()) {
                errors.spanned(&option.name, unknown_option_message(place, &name));
                continue;
            }
            if options.iter().any(|seen| seen.name == option.name) {
                errors.spanned(&option.name, format!("duplicate option `{name}`"));
                continue;
            }
            options.push(option);
        }
    }
    options
}

/// An example of the options of `place`.
fn example(place: Place) -> &'static str {
    match place {
        Place::Struct => "hidden_by_default",
        Place::Field => "key = \"speed\", display_name = \"Speed\", default = 1.0, min = 0.0",
        Place::Variant => "key = \"enable\", display_name = \"Enable\", default",
    }
}

/// "unknown option", with a suggestion for a near miss or the place the option belongs to, and
/// the valid options.
fn unknown_option_message(place: Place, name: &str) -> String {
    let valid = place
        .options()
        .iter()
        .map(|option| format!("`{option}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let elsewhere = [Place::Field, Place::Variant, Place::Struct]
        .into_iter()
        .find(|other| *other != place && other.options().contains(&name));
    let hint = match elsewhere {
        Some(other) => format!(" (it is an option of {})", other.name()),
        None => suggest(place, name)
            .map(|option| format!(" (did you mean `{option}`?)"))
            .unwrap_or_default(),
    };
    format!(
        "unknown option `{name}` in {}{hint}; valid options are {valid}",
        place.name()
    )
}

/// The option closest to `name`, if close enough to be a typo.
fn suggest(place: Place, name: &str) -> Option<&'static str> {
    place
        .options()
        .iter()
        .map(|option| (edit_distance(name, option), *option))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, option)| option)
}

/// The Levenshtein distance between two strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A literal option value.
#[derive(Clone)]
pub(crate) enum Literal {
    /// An integer, maybe negative: `1`, `-1`.
    Int(Number<i128>),
    /// A floating-point number, maybe negative: `0.5`, `-1e3`.
    Float(Number<f64>),
    /// A string: `"World"`.
    Str(LitStr),
    /// `true` or `false`.
    Bool(LitBool),
}

/// A number literal: its value, and its tokens without any suffix (`-1`).
#[derive(Clone)]
pub(crate) struct Number<T> {
    pub(crate) value: T,
    pub(crate) tokens: TokenStream,
    pub(crate) text: String,
    pub(crate) span: Span,
}

impl Literal {
    /// Parses a literal (a number may have a leading `-`). `None` for anything else.
    pub(crate) fn parse(expr: &Expr) -> Result<Literal, syn::Error> {
        let not_literal = || {
            syn::Error::new_spanned(
                expr,
                "expected a literal (a number, a string or `true`/`false`)",
            )
        };
        match expr {
            Expr::Group(group) => Literal::parse(&group.expr),
            Expr::Lit(ExprLit { lit, .. }) => match lit {
                Lit::Int(lit) => int(None, lit),
                Lit::Float(lit) => float(None, lit),
                Lit::Str(lit) => Ok(Literal::Str(lit.clone())),
                Lit::Bool(lit) => Ok(Literal::Bool(lit.clone())),
                _ => Err(not_literal()),
            },
            Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => {
                let syn::UnOp::Neg(minus) = unary.op else {
                    return Err(not_literal());
                };
                match &*unary.expr {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(lit), ..
                    }) => int(Some(minus), lit),
                    Expr::Lit(ExprLit {
                        lit: Lit::Float(lit),
                        ..
                    }) => float(Some(minus), lit),
                    _ => Err(not_literal()),
                }
            }
            _ => Err(not_literal()),
        }
    }

    /// The literal's span.
    pub(crate) fn span(&self) -> Span {
        match self {
            Literal::Int(number) => number.span,
            Literal::Float(number) => number.span,
            Literal::Str(lit) => lit.span(),
            Literal::Bool(lit) => lit.span,
        }
    }

    /// The numeric value, for numbers.
    pub(crate) fn number(&self) -> Option<Num> {
        match self {
            Literal::Int(number) => Some(Num::Int(number.value)),
            Literal::Float(number) => Some(Num::Float(number.value)),
            _ => None,
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(number) => f.write_str(&number.text),
            Literal::Float(number) => f.write_str(&number.text),
            Literal::Str(lit) => write!(f, "{:?}", lit.value()),
            Literal::Bool(lit) => write!(f, "{}", lit.value),
        }
    }
}

fn int(minus: Option<Token![-]>, lit: &LitInt) -> Result<Literal, syn::Error> {
    // `2f64` is an integer token with a float suffix: a float.
    if matches!(lit.suffix(), "f32" | "f64") {
        return float(minus, &LitFloat::new(lit.base10_digits(), lit.span()));
    }
    let value: i128 = lit.base10_parse()?;
    let value = if minus.is_some() { -value } else { value };
    let digits = LitInt::new(lit.base10_digits(), lit.span());
    let sign = if minus.is_some() { "-" } else { "" };
    Ok(Literal::Int(Number {
        value,
        tokens: quote!(#minus #digits),
        text: format!("{sign}{}", lit.base10_digits()),
        span: minus.map_or(lit.span(), |minus| minus.span),
    }))
}

fn float(minus: Option<Token![-]>, lit: &LitFloat) -> Result<Literal, syn::Error> {
    let value: f64 = lit.base10_parse()?;
    let value = if minus.is_some() { -value } else { value };
    // A float literal without a suffix, written so that it stays a float (`1e3` would too,
    // `1` would not).
    let mut digits = lit.base10_digits().to_owned();
    if !digits.contains(['.', 'e', 'E']) {
        digits.push_str(".0");
    }
    let unsuffixed = LitFloat::new(&digits, lit.span());
    let sign = if minus.is_some() { "-" } else { "" };
    Ok(Literal::Float(Number {
        value,
        tokens: quote!(#minus #unsuffixed),
        text: format!("{sign}{}", lit.base10_digits()),
        span: minus.map_or(lit.span(), |minus| minus.span),
    }))
}

/// A number, for comparisons between literals.
#[derive(Clone, Copy)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    /// Compares two numbers, as floats if either is one. `None` for NaN (not writable as a
    /// literal anyway).
    pub(crate) fn compare(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            // Exact enough to compare literals.
            Num::Int(value) => value as f64,
            Num::Float(value) => value,
        }
    }
}

/// The value of an option that must be a literal: errors for a missing or non-literal value.
pub(crate) fn literal_value(
    option: &RawOption,
    expected: &str,
    errors: &mut Errors,
) -> Option<Literal> {
    let name = &option.name;
    let Some((_, value)) = &option.value else {
        errors.spanned(
            name,
            format!("`{name}` needs a value: `{name} = {expected}`"),
        );
        return None;
    };
    match Literal::parse(value) {
        Ok(literal) => Some(literal),
        Err(_) => {
            errors.spanned(
                value,
                format!("`{name}` takes a literal: `{name} = {expected}`"),
            );
            None
        }
    }
}

/// The value of an option that takes a string literal (`key = "x"`).
pub(crate) fn string_value(option: &RawOption, errors: &mut Errors) -> Option<LitStr> {
    let name = &option.name;
    match literal_value(option, "\"...\"", errors)? {
        Literal::Str(lit) => Some(lit),
        _ => {
            errors.spanned(
                option.value_tokens(),
                format!("`{name}` takes a string literal: `{name} = \"...\"`"),
            );
            None
        }
    }
}

/// The value of a flag: `true` when written bare, else its `= true` / `= false`.
pub(crate) fn flag_value(option: &RawOption, errors: &mut Errors) -> Option<bool> {
    let name = &option.name;
    let Some((_, value)) = &option.value else {
        return Some(true);
    };
    match Literal::parse(value) {
        Ok(Literal::Bool(lit)) => Some(lit.value),
        _ => {
            errors.spanned(
                option.value_tokens(),
                format!(
                    "`{name}` is a flag: write `{name}`, or `{name} = true` / `{name} = false`"
                ),
            );
            None
        }
    }
}

/// The value of `display_order = N`.
pub(crate) fn order_value(option: &RawOption, errors: &mut Errors) -> Option<i64> {
    match literal_value(option, "1", errors)? {
        Literal::Int(number) => match i64::try_from(number.value) {
            Ok(order) => Some(order),
            Err(_) => {
                errors.spanned(option.value_tokens(), "`display_order` must fit in an i64");
                None
            }
        },
        _ => {
            errors.spanned(
                option.value_tokens(),
                "`display_order` takes an integer literal: `display_order = 1`",
            );
            None
        }
    }
}

/// Errors for `#[<attr_name>]` where it does not belong (e.g. `#[param]` on a struct).
pub(crate) fn reject_attr(
    attrs: &[Attribute],
    attr_name: &str,
    message: &str,
    errors: &mut Errors,
) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(attr_name)) {
        errors.spanned(attr, message);
    }
}

/// The span of an attribute's option, for generated code errors should point at.
pub(crate) fn option_span(option: &RawOption) -> Span {
    option.name.span()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("mni", "min"), 2);
        assert_eq!(edit_distance("defualt", "default"), 2);
        assert_eq!(edit_distance("", "key"), 3);
        assert_eq!(edit_distance("key", "key"), 0);
        assert_eq!(suggest(Place::Field, "dispaly_name"), Some("display_name"));
        assert_eq!(suggest(Place::Field, "zzz"), None);
    }

    #[test]
    fn literals() {
        let parse = |tokens: TokenStream| Literal::parse(&syn::parse2(tokens).unwrap());
        assert!(matches!(
            parse(quote!(-5)),
            Ok(Literal::Int(Number { value: -5, .. }))
        ));
        assert!(matches!(
            parse(quote!(1_000i64)),
            Ok(Literal::Int(Number { value: 1000, .. }))
        ));
        match parse(quote!(2f64)) {
            Ok(Literal::Float(number)) => assert_eq!(number.tokens.to_string(), "2.0"),
            _ => panic!("expected a float"),
        }
        assert!(matches!(parse(quote!(-0.5)), Ok(Literal::Float(_))));
        assert!(matches!(parse(quote!("x")), Ok(Literal::Str(_))));
        assert!(matches!(parse(quote!(true)), Ok(Literal::Bool(_))));
        assert!(parse(quote!(x + 1)).is_err());
        assert!(parse(quote!(-"x")).is_err());
        assert_eq!(
            Num::Int(1).compare(Num::Float(0.5)),
            Some(Ordering::Greater)
        );
    }
}
