//! Per-method analysis: which shape each method of the annotated impl has.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::ext::IdentExt as _;
use syn::{
    FnArg, GenericArgument, Ident, ImplItem, ImplItemFn, PathArguments, ReceiverKind, ReturnType,
    Safety, Type, TypePath,
};

use crate::diag::Errors;

/// What a method of the annotated impl is.
#[allow(
    clippy::large_enum_variant,
    reason = "a handful of these live for one macro expansion; boxing buys nothing"
)]
pub(crate) enum Method {
    /// A unary RPC: its body moves to an inherent method and the trait method wraps it with
    /// Spot header handling.
    Unary(Unary),
    /// A streaming RPC, or an item that is not a method (an associated type), kept exactly as
    /// written.
    PassThrough(ImplItem),
    /// A method with errors (already reported). The request and response messages are kept when
    /// they could be found, so a stub trait method can stand in for it and the user sees only the
    /// reported errors.
    Invalid {
        item: ImplItemFn,
        request: Option<Type>,
        response: Option<Type>,
    },
}

/// A valid unary RPC.
pub(crate) struct Unary {
    /// The method as the user wrote it.
    pub(crate) item: ImplItemFn,
    /// The request parameter's type as written (for spans).
    pub(crate) param_ty: Type,
    /// The return type as written (for spans).
    pub(crate) output_ty: Type,
    /// The request message type.
    pub(crate) request: Type,
    /// Whether the user's parameter is the whole `tonic::Request` rather than the message.
    pub(crate) takes_tonic_request: bool,
    /// The response message type.
    pub(crate) response: Type,
}

/// Example signature for error messages.
const SHAPE: &str =
    "`async fn method(&self, request: FooRequest) -> spot_service::Result<FooResponse>`";

/// Classifies a method and reports what is wrong with it.
pub(crate) fn analyze(item: ImplItemFn, errors: &mut Errors) -> Method {
    if is_streaming(&item) {
        return Method::PassThrough(ImplItem::Fn(item));
    }

    let mut problems = Errors::default();
    let sig = &item.sig;
    let name = sig.ident.unraw();

    if let Some(constness) = &sig.constness {
        problems.spanned(constness, "RPC methods cannot be `const`".to_owned());
    }
    if sig.asyncness.is_none() {
        problems.spanned(
            sig.fn_token,
            format!("RPC methods must be async: write `async fn {name}`"),
        );
    }
    if let Safety::Unsafe(unsafety) = &sig.safety {
        problems.spanned(unsafety, "RPC methods cannot be `unsafe`".to_owned());
    }
    if let Some(abi) = &sig.abi {
        problems.spanned(abi, "RPC methods cannot have an ABI".to_owned());
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        problems.spanned(
            &sig.generics,
            "RPC methods cannot have generic parameters or a `where` clause".to_owned(),
        );
    }

    // `&self`, then exactly one request parameter.
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver)) => {
            if !matches!(receiver.kind, ReceiverKind::Reference(_, _, None)) {
                problems.spanned(
                    receiver,
                    "RPC methods take `&self`: the service is shared by concurrent calls (use \
                     interior mutability, e.g. a `Mutex`, for state that changes)"
                        .to_owned(),
                );
            }
        }
        Some(FnArg::Typed(first)) => {
            problems.spanned(
                first,
                format!("RPC methods take `&self` first, then the request: {SHAPE}"),
            );
            // Still look at this parameter as the request, for the stub.
            inputs = sig.inputs.iter();
        }
        None => problems.spanned(
            &sig.ident,
            format!("RPC methods take `&self` and the request: {SHAPE}"),
        ),
    }
    let rest: Vec<&FnArg> = inputs.collect();
    let request_param = match rest.first() {
        Some(FnArg::Typed(param)) => Some(param),
        _ => None,
    };
    if sig.inputs.len() == 1 && matches!(sig.inputs.first(), Some(FnArg::Receiver(_))) {
        problems.spanned(
            &sig.inputs,
            format!(
                "missing the request parameter: `request: FooRequest`, or \
                 `request: tonic::Request<FooRequest>` for the request's metadata; {SHAPE}"
            ),
        );
    }
    if rest.len() > 1 {
        let extra: Vec<&FnArg> = rest[1..].to_vec();
        problems.spanned(
            &quote!(#(#extra),*),
            "RPC methods take exactly one parameter after `&self`: the request".to_owned(),
        );
    }
    let request = request_param.map(|param| {
        if let Type::Reference(reference) = strip(&param.ty) {
            problems.spanned(
                reference,
                "take the request by value: `request: FooRequest` or \
                 `request: tonic::Request<FooRequest>`"
                    .to_owned(),
            );
            // For the stub, the referenced type is the message.
            return request_message(&reference.elem);
        }
        request_message(&param.ty)
    });

    let response = match &sig.output {
        ReturnType::Type(_, ty) => match result_ok_type(ty) {
            Ok(ok) => Some(response_message(ok)),
            Err(ResultError::NotAResult) => {
                problems.spanned(
                    ty,
                    "RPC methods return a `Result`: `Result<FooResponse, E>` or \
                     `Result<tonic::Response<FooResponse>, E>`, where `E` converts into \
                     `spot_service::RpcError` (e.g. `spot_service::Result<FooResponse>`)"
                        .to_owned(),
                );
                // For the stub: `-> FooResponse` most likely names the response message.
                match strip(ty) {
                    Type::Path(_) => Some(response_message(ty)),
                    _ => None,
                }
            }
            Err(ResultError::NoArguments(tokens)) => {
                problems.spanned(
                    &tokens,
                    "give the response message: `Result<FooResponse>` or \
                     `Result<FooResponse, E>`"
                        .to_owned(),
                );
                None
            }
        },
        ReturnType::Default => {
            problems.push(syn::Error::new(
                sig.paren_token.span.close(),
                format!(
                    "RPC methods return a `Result` of the response message: add a return type, \
                     e.g. `-> spot_service::Result<FooResponse>`; {SHAPE}"
                ),
            ));
            None
        }
    };

    let has_errors = !problems.is_empty();
    if let Some(problems) = problems.into_error() {
        errors.push(problems);
    }
    let param_ty = request_param.map(|param| (*param.ty).clone());
    let output_ty = match &sig.output {
        ReturnType::Type(_, ty) => Some((**ty).clone()),
        ReturnType::Default => None,
    };
    match (has_errors, request, response, param_ty, output_ty) {
        (
            false,
            Some((request, takes_tonic_request)),
            Some(response),
            Some(param_ty),
            Some(output_ty),
        ) => Method::Unary(Unary {
            param_ty,
            output_ty,
            item,
            request,
            takes_tonic_request,
            response,
        }),
        (_, request, response, _, _) => Method::Invalid {
            item,
            request: request.map(|(request, _)| request),
            response,
        },
    }
}

/// Streaming RPCs (a parameter mentioning `Streaming`, or a return type mentioning `Self::`,
/// like `Self::WatchStream`) are passed through unchanged.
fn is_streaming(item: &ImplItemFn) -> bool {
    let streaming_input = item.sig.inputs.iter().any(|input| match input {
        FnArg::Typed(param) => mentions_ident(param.ty.to_token_stream(), "Streaming"),
        FnArg::Receiver(_) => false,
    });
    let self_output = match &item.sig.output {
        ReturnType::Type(_, ty) => mentions_self_path(ty.to_token_stream()),
        ReturnType::Default => false,
    };
    streaming_input || self_output
}

fn mentions_ident(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions_ident(group.stream(), name),
        _ => false,
    })
}

/// Whether the tokens contain `Self ::`.
fn mentions_self_path(tokens: TokenStream) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(i, token)| match token {
        TokenTree::Ident(ident) => {
            ident == "Self"
                && matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                && matches!(tokens.get(i + 2), Some(TokenTree::Punct(p)) if p.as_char() == ':')
        }
        TokenTree::Group(group) => mentions_self_path(group.stream()),
        _ => false,
    })
}

/// Removes invisible groups and parentheses around a type.
fn strip(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            _ => return ty,
        }
    }
}

/// If `ty` is a path whose last segment is `name` with exactly one type argument (`X<T>`,
/// `a::X<T>`), that argument.
fn single_type_argument<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(TypePath {
        qself: None, path, ..
    }) = strip(ty)
    else {
        return None;
    };
    let last = path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    let mut arguments = arguments.args.iter();
    match (arguments.next(), arguments.next()) {
        (Some(GenericArgument::Type(argument)), None) => Some(argument),
        _ => None,
    }
}

/// The request message of a parameter type: `T` for `tonic::Request<T>` / `Request<T>` (and
/// `true`: the handler wants the whole request), else the type itself.
fn request_message(ty: &Type) -> (Type, bool) {
    match single_type_argument(ty, "Request") {
        Some(message) => (message.clone(), true),
        None => (ty.clone(), false),
    }
}

/// The response message of a handler's success type: `R` for `tonic::Response<R>` /
/// `Response<R>`, else the type itself.
fn response_message(ty: &Type) -> Type {
    single_type_argument(ty, "Response").unwrap_or(ty).clone()
}

enum ResultError {
    NotAResult,
    /// `Result` without a type argument: the tokens to point at.
    NoArguments(TokenStream),
}

/// The success type of a `Result<R, E>` (any path ending in `Result`, such as
/// `spot_service::Result<R>` or `anyhow::Result<R>`).
fn result_ok_type(ty: &Type) -> Result<&Type, ResultError> {
    let Type::Path(TypePath {
        qself: None, path, ..
    }) = strip(ty)
    else {
        return Err(ResultError::NotAResult);
    };
    let last = path.segments.last().ok_or(ResultError::NotAResult)?;
    if last.ident != "Result" {
        return Err(ResultError::NotAResult);
    }
    if let PathArguments::AngleBracketed(arguments) = &last.arguments
        && let Some(GenericArgument::Type(ok)) = arguments.args.first()
    {
        return Ok(ok);
    }
    Err(ResultError::NoArguments(last.to_token_stream()))
}

/// The gRPC method name for logs: the UpperCamelCase of the Rust method name (`get_robot_id` ->
/// `GetRobotId`). tonic derives the Rust name with a lossy snake_case conversion, so acronyms
/// come back capitalised (`GetRobotID` is logged as `GetRobotId`).
pub(crate) fn proto_method_name(ident: &Ident) -> String {
    ident
        .unraw()
        .to_string()
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect()
}

/// The name of the inherent method that holds a handler's body: `__spot_service_<name>`, with the
/// user's span so errors about it point at their method.
pub(crate) fn inner_method_name(ident: &Ident) -> Ident {
    Ident::new(&format!("__spot_service_{}", ident.unraw()), ident.span())
}

/// Whether a method was already expanded by `#[async_trait]` (its signature then carries the
/// `'async_trait` lifetime), which happens when `#[async_trait]` sits above `#[spot_service]`.
pub(crate) fn expanded_by_async_trait(item: &ImplItemFn) -> bool {
    item.sig
        .generics
        .lifetimes()
        .any(|lifetime| lifetime.lifetime.ident == "async_trait")
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn messages(errors: Errors) -> Vec<String> {
        errors
            .into_error()
            .map(|error| error.into_iter().map(|e| e.to_string()).collect())
            .unwrap_or_default()
    }

    fn types(ty: &Type) -> String {
        ty.to_token_stream().to_string()
    }

    #[test]
    fn method_names_in_upper_camel_case() {
        let name = |s: &str| proto_method_name(&syn::parse_str::<Ident>(s).unwrap());
        assert_eq!(name("get_robot_id"), "GetRobotId");
        assert_eq!(name("get_auth_token"), "GetAuthToken");
        assert_eq!(name("list_image_sources_v2"), "ListImageSourcesV2");
        assert_eq!(name("r#type"), "Type");
        assert_eq!(name("check"), "Check");
        let inner = inner_method_name(&syn::parse_str::<Ident>("r#type").unwrap());
        assert_eq!(inner, "__spot_service_type");
    }

    #[test]
    fn unary_shapes() {
        let mut errors = Errors::default();
        let method = analyze(
            parse_quote! {
                async fn get(&self, request: tonic::Request<api::FooRequest>)
                    -> Result<tonic::Response<api::FooResponse>, MyError> { todo!() }
            },
            &mut errors,
        );
        let Method::Unary(unary) = method else {
            panic!("not unary")
        };
        assert!(unary.takes_tonic_request);
        assert_eq!(types(&unary.request), "api :: FooRequest");
        assert_eq!(types(&unary.response), "api :: FooResponse");

        let method = analyze(
            parse_quote! {
                async fn get(&self, FooRequest { header, .. }: FooRequest)
                    -> spot_service::Result<FooResponse> { todo!() }
            },
            &mut errors,
        );
        let Method::Unary(unary) = method else {
            panic!("not unary")
        };
        assert!(!unary.takes_tonic_request);
        assert_eq!(types(&unary.request), "FooRequest");
        assert_eq!(types(&unary.response), "FooResponse");
        assert!(errors.is_empty());
    }

    #[test]
    fn streaming_is_passed_through() {
        let mut errors = Errors::default();
        for item in [
            parse_quote! {
                async fn upload(&self, request: tonic::Request<tonic::Streaming<Chunk>>)
                    -> Result<tonic::Response<Done>, tonic::Status> { todo!() }
            },
            parse_quote! {
                async fn watch(&self, request: tonic::Request<Req>)
                    -> Result<tonic::Response<Self::WatchStream>, tonic::Status> { todo!() }
            },
        ] {
            assert!(matches!(analyze(item, &mut errors), Method::PassThrough(_)));
        }
        assert!(errors.is_empty());
    }

    #[test]
    fn reports_every_problem_of_a_method() {
        let mut errors = Errors::default();
        let method = analyze(
            parse_quote! {
                fn get(&mut self, request: FooRequest, extra: u8) -> FooResponse { todo!() }
            },
            &mut errors,
        );
        let Method::Invalid {
            request, response, ..
        } = method
        else {
            panic!("not invalid")
        };
        // The stub still knows both messages.
        assert_eq!(types(&request.unwrap()), "FooRequest");
        assert_eq!(types(&response.unwrap()), "FooResponse");
        let messages = messages(errors);
        assert_eq!(messages.len(), 4, "{messages:#?}");
        assert_eq!(
            messages[0],
            "RPC methods must be async: write `async fn get`"
        );
        assert!(messages[1].starts_with("RPC methods take `&self`"));
        assert!(messages[2].starts_with("RPC methods take exactly one parameter"));
        assert!(messages[3].starts_with("RPC methods return a `Result`: "));
    }

    #[test]
    fn missing_pieces() {
        let mut errors = Errors::default();
        let method = analyze(parse_quote! { async fn get(&self) {} }, &mut errors);
        assert!(matches!(
            method,
            Method::Invalid {
                request: None,
                response: None,
                ..
            }
        ));
        let messages = messages(errors);
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(messages[0].starts_with("missing the request parameter"));
        assert!(
            messages[1].starts_with("RPC methods return a `Result` of the response message: add")
        );

        let mut errors = Errors::default();
        analyze(
            parse_quote! { async fn get(request: &Foo) -> io::Result { todo!() } },
            &mut errors,
        );
        let messages = self::messages(errors);
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[0].starts_with("RPC methods take `&self` first"));
        assert!(messages[1].starts_with("take the request by value"));
        assert!(messages[2].starts_with("give the response message"));
    }
}
