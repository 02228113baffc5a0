//! The service attributes' arguments: `#[spot_service(name = "...", authority = "...", ...)]`,
//! `#[remote_mission(name = "...", authority = "...", leases = [...])]`.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote;
use syn::parse::{ParseStream, Parser as _};
use syn::{Expr, Lit, LitBool, LitStr, Path, PathArguments, Token};

use crate::diag::Errors;

/// Which attribute is being parsed: its name (for messages) and the options it accepts.
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    /// The attribute's name, e.g. `spot_service`.
    pub(crate) attribute: &'static str,
    /// Every option it accepts, in the order the docs list them.
    pub(crate) options: &'static [&'static str],
}

/// `#[spot_service(...)]`.
pub(crate) const SPOT_SERVICE: Kind = Kind {
    attribute: "spot_service",
    options: &[
        "name",
        "authority",
        "user_token_required",
        "service_type",
        "server",
    ],
};

/// `#[image_service(...)]`.
pub(crate) const IMAGE_SERVICE: Kind = Kind {
    attribute: "image_service",
    options: &["name", "authority", "user_token_required"],
};

/// `#[remote_mission(...)]`.
pub(crate) const REMOTE_MISSION: Kind = Kind {
    attribute: "remote_mission",
    options: &["name", "authority", "user_token_required", "leases"],
};

/// The parsed arguments. Each field is `None` when the option is absent (or was invalid, in which
/// case an error has been reported).
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "..."`: the directory name (required).
    pub(crate) name: Option<LitStr>,
    /// `authority = "..."`: the authority clients reach the service at (required).
    pub(crate) authority: Option<LitStr>,
    /// `user_token_required = bool` (default `true`).
    pub(crate) user_token_required: Option<LitBool>,
    /// `service_type = "..."`: overrides the gRPC service name given to the directory.
    pub(crate) service_type: Option<LitStr>,
    /// `server = path::FooServer`: the tonic-generated server struct, when it cannot be derived
    /// from the trait path.
    pub(crate) server: Option<Path>,
    /// `leases = ["body", ...]`: the lease resources a remote mission needs.
    pub(crate) leases: Option<Vec<LitStr>>,
}

impl Args {
    /// Parses the attribute's arguments, keeping every valid option and reporting every problem
    /// (unknown, duplicate, mistyped and missing options) to `errors`.
    pub(crate) fn parse(tokens: TokenStream, kind: Kind, errors: &mut Errors) -> Args {
        let mut args = Args::default();
        let options = match parse_options.parse2(tokens) {
            Ok(options) => options,
            Err(error) => {
                errors.push(syn::Error::new(
                    error.span(),
                    format!(
                        "{error}; expected `key = value` options, e.g. \
                         `#[{}(name = \"my-service\", authority = \"my-service.spot.robot\")]`",
                        kind.attribute
                    ),
                ));
                return args;
            }
        };

        // Options seen so far, valid or not: a second occurrence is a duplicate, and an invalid
        // one is not also reported as missing.
        let mut seen: Vec<String> = Vec::new();
        // Options suggested for a misspelt key (`nmae`): not also reported as missing.
        let mut suggested: Vec<&str> = Vec::new();
        for RawOption { key, value } in options {
            let key_name = match key.get_ident() {
                Some(ident) => ident.to_string(),
                None => path_to_string(&key),
            };
            if !kind.options.contains(&key_name.as_str()) {
                let suggestion = suggest(kind, &key_name);
                suggested.extend(suggestion);
                errors.spanned(&key, unknown_option_message(kind, &key_name, suggestion));
                continue;
            }
            if seen.contains(&key_name) {
                errors.spanned(&key, format!("duplicate option `{key_name}`"));
                continue;
            }
            seen.push(key_name.clone());

            let (eq_token, value) = match value {
                RawValue::Assigned(eq_token, value) => (eq_token, value),
                RawValue::Other(rest) => {
                    errors.spanned(
                        quote!(#key #rest),
                        format!("expected `{key_name} = {}`", example_value(&key_name)),
                    );
                    continue;
                }
            };
            // Errors about the value point at it, or at `=` when it is missing.
            let value_span = |value: &TokenStream| -> TokenStream {
                if value.is_empty() {
                    quote!(#eq_token)
                } else {
                    value.clone()
                }
            };
            match key_name.as_str() {
                "name" | "authority" | "service_type" => {
                    let lit = match syn::parse2::<Lit>(value.clone()) {
                        Ok(Lit::Str(lit)) if lit.value().trim().is_empty() => {
                            errors.spanned(&lit, format!("`{key_name}` must not be empty"));
                            None
                        }
                        Ok(Lit::Str(lit)) => Some(lit),
                        _ => {
                            errors.spanned(
                                value_span(&value),
                                format!(
                                    "expected a string literal: `{key_name} = {}`",
                                    example_value(&key_name)
                                ),
                            );
                            None
                        }
                    };
                    match key_name.as_str() {
                        "name" => args.name = lit,
                        "authority" => args.authority = lit,
                        _ => args.service_type = lit,
                    }
                }
                "user_token_required" => match syn::parse2::<LitBool>(value.clone()) {
                    Ok(value) => args.user_token_required = Some(value),
                    Err(_) => errors.spanned(
                        value_span(&value),
                        "expected `true` or `false`: `user_token_required = false`",
                    ),
                },
                "leases" => args.leases = lease_resources(value_span(&value), errors),
                _ => args.server = server_path(value_span(&value), errors),
            }
        }

        let mentioned =
            |option: &str| seen.iter().any(|key| key == option) || suggested.contains(&option);
        if args.name.is_none() && !mentioned("name") {
            errors.push(syn::Error::new(
                Span::call_site(),
                "missing `name = \"...\"`: the service's directory name, \
                 e.g. `name = \"my-service\"`",
            ));
        }
        if args.authority.is_none() && !mentioned("authority") {
            errors.push(syn::Error::new(
                Span::call_site(),
                "missing `authority = \"...\"`: the authority clients reach the service at \
                 through the robot, e.g. `authority = \"my-service.spot.robot\"`",
            ));
        }
        args
    }
}

/// One option as written: `key = value`, or `key` followed by anything else.
struct RawOption {
    key: Path,
    value: RawValue,
}

enum RawValue {
    /// `= value`: the tokens up to the next top-level comma.
    Assigned(Token![=], TokenStream),
    /// Anything but `=` after the key (nothing, `(...)`, `: ...`): the tokens up to the next comma.
    Other(TokenStream),
}

/// Parses a comma-separated list of options. Values are kept as tokens and interpreted later, so
/// that one bad value does not hide the other options' problems.
fn parse_options(input: ParseStream) -> syn::Result<Vec<RawOption>> {
    fn rest_of_option(input: ParseStream) -> syn::Result<TokenStream> {
        let mut tokens = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            tokens.extend([input.parse::<TokenTree>()?]);
        }
        Ok(tokens)
    }

    let mut options = Vec::new();
    while !input.is_empty() {
        let key = input.call(Path::parse_mod_style)?;
        let value = if input.peek(Token![=]) {
            RawValue::Assigned(input.parse()?, rest_of_option(input)?)
        } else {
            RawValue::Other(rest_of_option(input)?)
        };
        options.push(RawOption { key, value });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(options)
}

fn path_to_string(path: &Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// An example value for an option, for error messages.
fn example_value(key: &str) -> &'static str {
    match key {
        "name" => "\"my-service\"",
        "authority" => "\"my-service.spot.robot\"",
        "user_token_required" => "false",
        "service_type" => "\"my_package.MyService\"",
        "leases" => "[\"body\"]",
        _ => "my_service_server::MyServiceServer",
    }
}

/// The option a misspelt key most likely meant.
fn suggest(kind: Kind, key: &str) -> Option<&'static str> {
    kind.options
        .iter()
        .map(|option| (edit_distance(key, option), *option))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, option)| option)
}

/// "unknown option `x`", a suggestion for a near miss, and the valid options.
fn unknown_option_message(kind: Kind, key: &str, suggestion: Option<&str>) -> String {
    let valid = kind
        .options
        .iter()
        .map(|option| format!("`{option}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let suggestion = suggestion
        .map(|option| format!(" (did you mean `{option}`?)"))
        .unwrap_or_default();
    format!("unknown option `{key}`{suggestion}; valid options are {valid}")
}

/// Levenshtein distance, for "did you mean" suggestions.
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

/// The value of `leases = [...]`: an array of distinct, non-empty string literals (possibly
/// empty).
fn lease_resources(value: TokenStream, errors: &mut Errors) -> Option<Vec<LitStr>> {
    const EXPECTED: &str =
        "expected an array of lease resource names: `leases = [\"body\"]` (or `[]`)";
    let Ok(Expr::Array(array)) = syn::parse2::<Expr>(value.clone()) else {
        errors.spanned(value, EXPECTED);
        return None;
    };
    let mut resources: Vec<LitStr> = Vec::new();
    let mut valid = true;
    for element in &array.elems {
        match element {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(lit), ..
            }) => {
                let resource = lit.value();
                if resource.trim().is_empty() {
                    errors.spanned(lit, "a lease resource name must not be empty");
                    valid = false;
                } else if resources.iter().any(|seen| seen.value() == resource) {
                    errors.spanned(
                        lit,
                        format!("lease resource \"{resource}\" is listed twice"),
                    );
                    valid = false;
                } else {
                    resources.push(lit.clone());
                }
            }
            other => {
                errors.spanned(other, EXPECTED);
                valid = false;
            }
        }
    }
    valid.then_some(resources)
}

/// The value of `server = ...`: a plain path, without generic arguments.
fn server_path(value: TokenStream, errors: &mut Errors) -> Option<Path> {
    const EXPECTED: &str = "expected the path of the tonic-generated server struct, without \
                            generic arguments: `server = my_service_server::MyServiceServer`";
    let Ok(path) = syn::parse2::<Path>(value.clone()) else {
        errors.spanned(value, EXPECTED);
        return None;
    };
    match path
        .segments
        .iter()
        .find(|segment| !matches!(segment.arguments, PathArguments::None))
    {
        Some(segment) => {
            errors.spanned(&segment.arguments, EXPECTED);
            None
        }
        None => Some(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> (Args, Vec<String>) {
        let mut errors = Errors::default();
        let args = Args::parse(tokens, SPOT_SERVICE, &mut errors);
        let messages = errors
            .into_error()
            .map(|error| error.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default();
        (args, messages)
    }

    #[test]
    fn parses_every_option() {
        let (args, errors) = parse(quote! {
            name = "robot-id", authority = "id.spot.robot", user_token_required = false,
            service_type = "custom.Type", server = a::b::CServer,
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(args.name.unwrap().value(), "robot-id");
        assert_eq!(args.authority.unwrap().value(), "id.spot.robot");
        assert!(!args.user_token_required.unwrap().value);
        assert_eq!(args.service_type.unwrap().value(), "custom.Type");
        let server = args.server.unwrap();
        assert_eq!(quote!(#server).to_string(), "a :: b :: CServer");
    }

    #[test]
    fn reports_every_problem() {
        let (args, errors) = parse(quote! {
            nmae = "x", authority = "a", authority = "b", user_token_required = "yes", server = "x"
        });
        assert_eq!(args.authority.unwrap().value(), "a");
        assert_eq!(
            errors,
            [
                "unknown option `nmae` (did you mean `name`?); valid options are `name`, \
                 `authority`, `user_token_required`, `service_type`, `server`",
                "duplicate option `authority`",
                "expected `true` or `false`: `user_token_required = false`",
                "expected the path of the tonic-generated server struct, without generic \
                 arguments: `server = my_service_server::MyServiceServer`",
            ]
        );
    }

    #[test]
    fn missing_and_empty() {
        let (_, errors) = parse(quote!());
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("missing `name"));
        assert!(errors[1].starts_with("missing `authority"));

        let (_, errors) = parse(quote!(name = "", authority = 3));
        assert_eq!(
            errors,
            [
                "`name` must not be empty",
                "expected a string literal: `authority = \"my-service.spot.robot\"`",
            ]
        );
    }

    #[test]
    fn server_without_generics_and_flags_need_values() {
        let (_, errors) = parse(quote!(name = "n", authority = "a", server = a::B<Self>));
        assert_eq!(errors.len(), 1, "{errors:?}");
        let (_, errors) = parse(quote!(name = "n", authority = "a", user_token_required));
        assert_eq!(errors, ["expected `user_token_required = false`"]);
    }

    #[test]
    fn unknown_options() {
        let (_, errors) = parse(quote!(authority = "a", port = 1, a::name = "x"));
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("unknown option `port`; valid options are `name`"));
        assert!(errors[1].starts_with("unknown option `a::name`; valid"));
        assert!(errors[2].starts_with("missing `name"));
    }

    #[test]
    fn remote_mission_options() {
        let mut errors = Errors::default();
        let args = Args::parse(
            quote!(name = "n", authority = "a", leases = ["body", "arm"]),
            REMOTE_MISSION,
            &mut errors,
        );
        assert!(errors.is_empty());
        let leases: Vec<String> = args.leases.unwrap().iter().map(LitStr::value).collect();
        assert_eq!(leases, ["body", "arm"]);

        let mut errors = Errors::default();
        Args::parse(
            quote!(
                name = "n",
                authority = "a",
                leases = ["body", "", "body", 3],
                server = x::Y
            ),
            REMOTE_MISSION,
            &mut errors,
        );
        let messages: Vec<String> = errors
            .into_error()
            .unwrap()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            messages,
            [
                "a lease resource name must not be empty",
                "lease resource \"body\" is listed twice",
                "expected an array of lease resource names: `leases = [\"body\"]` (or `[]`)",
                "unknown option `server`; valid options are `name`, `authority`, \
                 `user_token_required`, `leases`",
            ]
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("nmae", "name"), 2);
        assert_eq!(edit_distance("authorty", "authority"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
