//! Code generation for `#[spot_service]`.
//!
//! For `impl Trait for Ty { methods }` it emits:
//! - an inherent `impl Ty` holding each unary method's body as `__spot_service_<name>`, with the
//!   user's signature;
//! - `#[async_trait] impl Trait for Ty`, whose unary methods call those through
//!   `handle_unary` (Spot header handling), and whose streaming methods and associated types are
//!   the user's, unchanged;
//! - `impl SpotService for Ty`: the registration metadata and the routes (the tonic-generated
//!   server with spot-service's message size limits).
//!
//! Problems are reported together, and the best output that compiles is still emitted (see
//! [`expand_or_error_tokens`]) so that the user sees the reported errors and not a cascade.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Attribute, ImplItem, ImplItemFn, Item, ItemImpl, Path, PathArguments, Type};

use crate::args::Args;
use crate::diag::Errors;
use crate::method::{self, Method, Unary};

/// Where the attribute belongs, for the wrong-item error.
const WRONG_ITEM: &str = "#[spot_service] goes on `impl SomeService for YourType`, the impl of a \
                          tonic-generated service trait";

/// Expands `#[spot_service(attr)] item`, or returns every problem found.
///
/// This is the testable core; the macro itself uses [`expand_or_error_tokens`], which also emits
/// a best-effort expansion next to the errors.
#[cfg_attr(
    not(test),
    expect(dead_code, reason = "the macro uses `expand_or_error_tokens`")
)]
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let (tokens, errors) = expand_lenient(attr, item);
    match errors.into_error() {
        Some(error) => Err(error),
        None => Ok(tokens),
    }
}

/// The macro's output: the expansion, plus `compile_error!`s if anything was wrong.
///
/// With errors, the output is still as complete as possible, so the user sees only the errors we
/// report and not a cascade of follow-on ones:
/// - an item that is not a trait impl is emitted unchanged;
/// - with bad attribute arguments, the full expansion is emitted with placeholder metadata;
/// - a bad method keeps its body in the inherent impl (so it is still type-checked) and, when its
///   request and response messages are known, gets a stub trait method.
pub(crate) fn expand_or_error_tokens(attr: TokenStream, item: TokenStream) -> TokenStream {
    let (mut tokens, errors) = expand_lenient(attr, item);
    if let Some(error) = errors.into_error() {
        let mut with_errors = error.into_compile_error();
        with_errors.extend(tokens);
        tokens = with_errors;
    }
    tokens
}

/// The expansion (or the original item) and the errors found.
fn expand_lenient(attr: TokenStream, item: TokenStream) -> (TokenStream, Errors) {
    let mut errors = Errors::default();
    let args = Args::parse(attr, crate::args::SPOT_SERVICE, &mut errors);

    let mut imp = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Impl(imp)) => imp,
        Ok(other) => {
            let suffix = match other {
                Item::Trait(_) => ", not on the trait's definition",
                _ => "",
            };
            errors.spanned(item_head(&other), format!("{WRONG_ITEM}{suffix}"));
            return (item, errors);
        }
        Err(error) => {
            errors.push(error);
            return (item, errors);
        }
    };

    let Some((trait_path, _)) = imp.trait_.clone() else {
        let (impl_token, generics, self_ty) = (&imp.impl_token, &imp.generics, &imp.self_ty);
        errors.spanned(
            quote!(#impl_token #generics #self_ty),
            format!("{WRONG_ITEM}; this impl implements no trait"),
        );
        return (item, errors);
    };
    if let Some(bang) = &imp.modifiers.polarity {
        errors.spanned(bang, format!("{WRONG_ITEM}; not on a negative impl"));
        return (item, errors);
    }
    if let Some(expanded) = imp.items.iter().find_map(|item| match item {
        ImplItem::Fn(function) if method::expanded_by_async_trait(function) => Some(function),
        _ => None,
    }) {
        errors.spanned(
            &expanded.sig.ident,
            "`#[async_trait]` has already expanded this impl: remove `#[async_trait]`, \
             #[spot_service] applies it itself",
        );
        // The expanded methods no longer match the trait: keep them (still type-checked) in an
        // inherent impl rather than report every mismatch.
        imp.trait_ = None;
        return (imp.into_token_stream(), errors);
    }

    // `#[async_trait]` below `#[spot_service]` would apply it twice: drop it.
    imp.attrs.retain(|attr| !is_async_trait(attr));

    let server = match &args.server {
        Some(path) => Server::Path(path.clone()),
        // `foo_server::Foo`: the server sits next to the trait.
        None if trait_path.segments.len() > 1 => Server::Path(derive_server_path(&trait_path)),
        // A bare `Foo` (imported by name): spot-service-build links it to its server.
        None => Server::Linked(trait_path.clone()),
    };
    let methods: Vec<Method> = std::mem::take(&mut imp.items)
        .into_iter()
        .map(|item| match item {
            ImplItem::Fn(function) => method::analyze(function, &mut errors),
            // Associated types, consts and macros are kept as they are.
            other => Method::PassThrough(other),
        })
        .collect();
    (generate(&imp, &trait_path, &server, &args, methods), errors)
}

/// The tokens to point at for an item of the wrong kind: its keyword and name where it has them.
pub(crate) fn item_head(item: &Item) -> TokenStream {
    match item {
        Item::Struct(item) => {
            let (token, ident) = (&item.struct_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Enum(item) => {
            let (token, ident) = (&item.enum_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Union(item) => {
            let (token, ident) = (&item.union_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Fn(item) => {
            let (token, ident) = (&item.sig.fn_token, &item.sig.ident);
            quote!(#token #ident)
        }
        Item::Trait(item) => {
            let (token, ident) = (&item.trait_token, &item.ident);
            quote!(#token #ident)
        }
        Item::Mod(item) => {
            let (token, ident) = (&item.mod_token, &item.ident);
            quote!(#token #ident)
        }
        other => other.to_token_stream(),
    }
}

pub(crate) fn is_async_trait(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "async_trait")
}

fn is_cfg(attr: &Attribute) -> bool {
    attr.path().is_ident("cfg")
}

fn is_lint(attr: &Attribute) -> bool {
    ["allow", "warn", "deny", "forbid", "expect"]
        .iter()
        .any(|lint| attr.path().is_ident(lint))
}

/// How the generated code names and builds the tonic server of the service.
pub(crate) enum Server {
    /// A server struct path, used as `Path<Self>` and built with `Path::new(self)`.
    Path(Path),
    /// Found through the `ServerFor` link that spot-service-build generates for the trait.
    Linked(Path),
}

impl Server {
    /// The server type wrapping `Self`.
    fn ty(&self) -> TokenStream {
        match self {
            Server::Path(path) => quote!(#path<Self>),
            Server::Linked(trait_path) => {
                quote!(<dyn #trait_path as ::spot_service::__private::ServerFor<Self>>::Server)
            }
        }
    }

    /// An expression building the server around `self`.
    fn build(&self) -> TokenStream {
        match self {
            Server::Path(path) => quote!(<#path<Self>>::new(self)),
            Server::Linked(trait_path) => {
                quote!(<dyn #trait_path as ::spot_service::__private::ServerFor<Self>>::new_server(self))
            }
        }
    }
}

/// The tonic-generated server struct for a service trait: the same path with the last segment
/// `<Trait>Server` (`foo_server::Foo` -> `foo_server::FooServer`; `Foo` -> `FooServer`).
pub(crate) fn derive_server_path(trait_path: &Path) -> Path {
    let mut server = trait_path.clone();
    if let Some(last) = server.segments.last_mut() {
        last.ident = format_ident!("{}Server", last.ident.unraw(), span = last.ident.span());
        last.arguments = PathArguments::None;
    }
    server
}

/// Emits the three items (see the module docs).
fn generate(
    imp: &ItemImpl,
    trait_path: &Path,
    server: &Server,
    args: &Args,
    methods: Vec<Method>,
) -> TokenStream {
    let private = quote!(::spot_service::__private);
    let build_server = server.build();
    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();
    let self_ty = &imp.self_ty;
    let unsafety = &imp.unsafety;

    let grpc_name = {
        let server = server.ty();
        quote!(<#server as #private::tonic::server::NamedService>::NAME)
    };
    let service_type = match &args.service_type {
        Some(service_type) => service_type.to_token_stream(),
        None => quote!(<Self as #private::SpotService>::GRPC_NAME),
    };

    let mut inherent_fns = Vec::new();
    let mut trait_items = Vec::new();
    for method in &methods {
        match method {
            Method::Unary(unary) => {
                inherent_fns.push(inherent_fn(&unary.item));
                trait_items.push(unary_trait_fn(unary));
            }
            Method::PassThrough(item) => trait_items.push(item.to_token_stream()),
            Method::Invalid {
                item,
                request,
                response,
            } => {
                inherent_fns.push(inherent_fn(item));
                if let (Some(request), Some(response)) = (request, response) {
                    trait_items.push(stub_trait_fn(item, request, response));
                }
            }
        }
    }

    // The impl's attributes: `#[cfg]` applies to every item; lint levels go on the trait impl
    // and on the inherent impl, which holds the bodies; `#[expect]` only on one of them, so that
    // it is not reported unfulfilled on the other; the rest on the trait impl.
    let has_inherent_impl = !inherent_fns.is_empty();
    let cfgs: Vec<&Attribute> = imp.attrs.iter().filter(|attr| is_cfg(attr)).collect();
    let trait_attrs = imp
        .attrs
        .iter()
        .filter(|attr| !(has_inherent_impl && attr.path().is_ident("expect")));
    let inherent_attrs = imp
        .attrs
        .iter()
        .filter(|attr| is_cfg(attr) || is_lint(attr));

    // The impl header carries the user's `impl` span, so that rustc's errors about the impl as a
    // whole (a missing method) point at the user's impl rather than at the attribute.
    let impl_span = imp.impl_token.span;
    let trait_impl = quote_spanned! {impl_span=>
        #unsafety impl #impl_generics #trait_path for #self_ty #where_clause {
            #(#trait_items)*
        }
    };

    let inherent_impl = has_inherent_impl.then(|| {
        quote! {
            #(#inherent_attrs)*
            impl #impl_generics #self_ty #where_clause {
                #(#inherent_fns)*
            }
        }
    });

    // Placeholders when an argument was missing or invalid: an error has been reported, and the
    // impl must still exist so that uses of the service do not fail too.
    let name = args
        .name
        .as_ref()
        .map_or_else(|| quote!(""), ToTokens::to_token_stream);
    let authority = args
        .authority
        .as_ref()
        .map_or_else(|| quote!(""), ToTokens::to_token_stream);
    let user_token_required = args
        .user_token_required
        .as_ref()
        .map_or_else(|| quote!(true), ToTokens::to_token_stream);

    quote! {
        #inherent_impl

        #(#trait_attrs)*
        #[#private::async_trait]
        #trait_impl

        #(#cfgs)*
        impl #impl_generics #private::SpotService for #self_ty #where_clause {
            const GRPC_NAME: &'static str = #grpc_name;
            const METADATA: #private::ServiceMetadata = #private::ServiceMetadata {
                name: #name,
                service_type: #service_type,
                authority: #authority,
                user_token_required: #user_token_required,
            };

            fn add_to_routes(self, routes: &mut #private::ServiceRoutes) {
                routes.add_service(
                    #build_server
                        .max_decoding_message_size(#private::MAX_MESSAGE_SIZE)
                        .max_encoding_message_size(#private::MAX_MESSAGE_SIZE),
                );
            }
        }
    }
}

/// The user's method, renamed `__spot_service_<name>` and hidden, for the inherent impl.
fn inherent_fn(item: &ImplItemFn) -> TokenStream {
    let mut sig = item.sig.clone();
    sig.ident = method::inner_method_name(&item.sig.ident);
    let attrs = &item.attrs;
    let block = &item.block;
    quote! {
        #(#attrs)*
        #[doc(hidden)]
        #[allow(dead_code, clippy::unused_async)]
        #sig #block
    }
}

/// The `cfg` attributes of a method, which apply to its trait method as well.
fn method_cfgs(item: &ImplItemFn) -> impl Iterator<Item = &Attribute> {
    item.attrs.iter().filter(|attr| is_cfg(attr))
}

/// `::spot_service::__private`, with `span` (so that errors in generated code that uses it point
/// at the user's tokens).
fn private(span: Span) -> TokenStream {
    quote_spanned!(span=> ::spot_service::__private)
}

/// The trait method's signature: `async fn name(&self, request: tonic::Request<Req>) ->
/// Result<tonic::Response<Resp>, tonic::Status>`.
///
/// Each part carries the span of what the user wrote for it, so that rustc's errors about the
/// signature (a method that is not in the trait, a message of the wrong type) point at the user's
/// method name, parameter type or return type instead of at the attribute.
fn trait_fn_signature(
    ident: &syn::Ident,
    param_name: TokenStream,
    request: &Type,
    param_span: Span,
    response: &Type,
    output_span: Span,
) -> TokenStream {
    let request_private = private(param_span);
    let output_private = private(output_span);
    let request_ty = quote_spanned!(param_span=> #request_private::tonic::Request<#request>);
    let output_ty = quote_spanned! {output_span=>
        ::core::result::Result<
            #output_private::tonic::Response<#response>,
            #output_private::tonic::Status,
        >
    };
    let ident_span = ident.span();
    quote_spanned!(ident_span=> async fn #ident(&self, #param_name: #request_ty) -> #output_ty)
}

/// The trait method of a unary RPC: header handling around the user's body.
fn unary_trait_fn(unary: &Unary) -> TokenStream {
    let Unary {
        item,
        param_ty,
        output_ty,
        request,
        takes_tonic_request,
        response,
    } = unary;
    let ident = &item.sig.ident;
    let inner = method::inner_method_name(ident);
    let proto_name = method::proto_method_name(ident);
    let cfgs = method_cfgs(item);
    let argument = if *takes_tonic_request {
        quote!(request)
    } else {
        quote!(request.into_inner())
    };
    let param_span = param_ty.span();
    let output_span = output_ty.span();
    let signature = trait_fn_signature(
        ident,
        quote!(request),
        request,
        param_span,
        response,
        output_span,
    );
    // Errors about the request message (not a Spot request) point at the user's parameter type,
    // and errors about the handler's result (an error type that does not convert into
    // `RpcError`) at their return type.
    let handler_result = {
        let private = private(output_span);
        let call = quote!(self.#inner(#argument).await);
        quote_spanned!(output_span=> #private::into_handler_result::<_, #response, _>(#call))
    };
    let method_info = {
        let private = private(Span::call_site());
        quote! {
            #private::MethodInfo {
                service: <Self as #private::SpotService>::GRPC_NAME,
                method: #proto_name,
            }
        }
    };
    // A message that is not a Spot message (no header, or compiled without spot-service-build)
    // fails `handle_unary`'s bounds. rustc blames the explicit type arguments, which are the
    // user's request and response types, and the rest of the call, which spans the user's
    // return type.
    let request_argument = quote_spanned!(param_span=> request);
    let body = {
        let private = private(output_span);
        quote_spanned! {output_span=>
            #private::handle_unary::<#request, #response, _, _>(
                #method_info,
                #request_argument,
                |request| async move { #handler_result },
            )
            .await
        }
    };
    // The whole method spans the user's method name (see `trait_fn_signature`).
    let ident_span = ident.span();
    quote_spanned!(ident_span=> #(#cfgs)* #signature { #body })
}

/// A stand-in trait method for an invalid method whose messages are known, so the trait impl is
/// complete and only the reported errors show.
fn stub_trait_fn(item: &ImplItemFn, request: &Type, response: &Type) -> TokenStream {
    let ident = &item.sig.ident;
    let cfgs = method_cfgs(item);
    let signature = trait_fn_signature(
        ident,
        quote!(_request),
        request,
        ident.span(),
        response,
        ident.span(),
    );
    let ident_span = ident.span();
    quote_spanned! {ident_span=>
        #(#cfgs)*
        #signature {
            ::core::unreachable!("#[spot_service] reported an error for this method")
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn pretty(tokens: TokenStream) -> String {
        prettyplease::unparse(&syn::parse2(tokens).expect("the expansion parses as a file"))
    }

    /// Whether `haystack` contains `needle`, ignoring whitespace and trailing commas
    /// (prettyplease's line breaks).
    fn assert_contains(haystack: &str, needle: &str) {
        let squash = |s: &str| {
            let mut squashed = s.split_whitespace().collect::<String>();
            for close in [")", ">", "}", "]"] {
                squashed = squashed.replace(&format!(",{close}"), close);
            }
            squashed
        };
        assert!(
            squash(haystack).contains(&squash(needle)),
            "missing {needle:?} in:\n{haystack}"
        );
    }

    fn error_messages(attr: TokenStream, item: TokenStream) -> Vec<String> {
        match expand(attr, item) {
            Ok(tokens) => panic!("expected errors, got:\n{}", pretty(tokens)),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn expands_a_unary_service() {
        let out = pretty(
            expand(
                quote!(name = "robot-id", authority = "id.spot.robot"),
                quote! {
                    impl robot_id_service_server::RobotIdService for MyRobotId {
                        /// Answers.
                        async fn get_robot_id(&self, request: RobotIdRequest)
                            -> spot_service::Result<RobotIdResponse>
                        {
                            let _ = request;
                            Ok(RobotIdResponse::default())
                        }
                    }
                },
            )
            .unwrap(),
        );
        for expected in [
            // The body moves to a hidden inherent method with the user's signature.
            "impl MyRobotId {
                /// Answers.
                #[doc(hidden)]
                #[allow(dead_code, clippy::unused_async)]
                async fn __spot_service_get_robot_id(&self, request: RobotIdRequest)
                    -> spot_service::Result<RobotIdResponse>
                {
                    let _ = request;
                    Ok(RobotIdResponse::default())
                }
            }",
            // The trait impl, through the private paths.
            "#[::spot_service::__private::async_trait]
            impl robot_id_service_server::RobotIdService for MyRobotId {
                async fn get_robot_id(
                    &self,
                    request: ::spot_service::__private::tonic::Request<RobotIdRequest>,
                ) -> ::core::result::Result<
                    ::spot_service::__private::tonic::Response<RobotIdResponse>,
                    ::spot_service::__private::tonic::Status,
                > {
                    ::spot_service::__private::handle_unary::<
                        RobotIdRequest,
                        RobotIdResponse,
                        _,
                        _,
                    >(
                        ::spot_service::__private::MethodInfo {
                            service: <Self as ::spot_service::__private::SpotService>::GRPC_NAME,
                            method: \"GetRobotId\",
                        },
                        request,
                        |request| async move {
                            ::spot_service::__private::into_handler_result::<_, RobotIdResponse, _>(
                                self.__spot_service_get_robot_id(request.into_inner()).await
                            )
                        },
                    )
                    .await
                }
            }",
            // Registration metadata and routes.
            "impl ::spot_service::__private::SpotService for MyRobotId {
                const GRPC_NAME: &'static str = <robot_id_service_server::RobotIdServiceServer<Self>
                    as ::spot_service::__private::tonic::server::NamedService>::NAME;
                const METADATA: ::spot_service::__private::ServiceMetadata =
                    ::spot_service::__private::ServiceMetadata {
                        name: \"robot-id\",
                        service_type: <Self as ::spot_service::__private::SpotService>::GRPC_NAME,
                        authority: \"id.spot.robot\",
                        user_token_required: true,
                    };
                fn add_to_routes(
                    self,
                    routes: &mut ::spot_service::__private::ServiceRoutes,
                ) {
                    routes.add_service(
                        <robot_id_service_server::RobotIdServiceServer<Self>>::new(self)
                            .max_decoding_message_size(::spot_service::__private::MAX_MESSAGE_SIZE)
                            .max_encoding_message_size(::spot_service::__private::MAX_MESSAGE_SIZE),
                    );
                }
            }",
        ] {
            assert_contains(&out, expected);
        }
    }

    #[test]
    fn tonic_request_generics_and_options() {
        let out = pretty(
            expand(
                quote! {
                    name = "n", authority = "a", user_token_required = false,
                    service_type = "custom.Type", server = other::CustomServer,
                },
                quote! {
                    #[async_trait::async_trait]
                    #[allow(unused)]
                    impl<T: Send + Sync + 'static> Svc for Wrapper<T> where T: Clone {
                        type Extra = u8;
                        async fn call(&self, request: tonic::Request<Req>)
                            -> Result<tonic::Response<Resp>, MyError> { todo!() }
                        async fn watch(&self, request: tonic::Request<Req>)
                            -> Result<tonic::Response<Self::WatchStream>, tonic::Status> { todo!() }
                    }
                },
            )
            .unwrap(),
        );
        for expected in [
            "#[allow(unused)] impl<T: Send + Sync + 'static> Wrapper<T> where T: Clone, {",
            "#[allow(unused)]
            #[::spot_service::__private::async_trait]
            impl<T: Send + Sync + 'static> Svc for Wrapper<T> where T: Clone, {
                type Extra = u8;",
            "request: ::spot_service::__private::tonic::Request<Req>",
            "self.__spot_service_call(request).await",
            // Streaming methods are kept as written.
            "async fn watch(&self, request: tonic::Request<Req>)
                -> Result<tonic::Response<Self::WatchStream>, tonic::Status>
            {
                todo!()
            }",
            "impl<T: Send + Sync + 'static> ::spot_service::__private::SpotService for Wrapper<T>
            where T: Clone, {",
            "service_type: \"custom.Type\",",
            "user_token_required: false",
            "<other::CustomServer<Self>>::new(self)",
        ] {
            assert_contains(&out, expected);
        }
        // `#[async_trait]` is applied once, through the private path.
        assert_eq!(out.matches("async_trait]").count(), 1, "{out}");
        assert!(!out.contains("__spot_service_watch"), "{out}");
    }

    #[test]
    fn attributes_are_distributed() {
        let out = pretty(
            expand(
                quote!(name = "n", authority = "a"),
                quote! {
                    /// Impl docs.
                    #[cfg(unix)]
                    #[expect(unused)]
                    impl Svc for S {
                        #[cfg(feature = "x")]
                        #[tracing::instrument(skip(self))]
                        async fn r#call(&self, request: Req) -> Result<Resp> { todo!() }
                    }
                },
            )
            .unwrap(),
        );
        for expected in [
            // Bodies: `cfg` and lint levels of the impl; the method's own attributes.
            "#[cfg(unix)] #[expect(unused)] impl S {
                #[cfg(feature = \"x\")]
                #[tracing::instrument(skip(self))]
                #[doc(hidden)]
                #[allow(dead_code, clippy::unused_async)]
                async fn __spot_service_call(",
            // Trait impl: every attribute but `#[expect]`; the method's `cfg` only.
            "/// Impl docs.
            #[cfg(unix)]
            #[::spot_service::__private::async_trait]
            impl Svc for S {
                #[cfg(feature = \"x\")]
                async fn r#call(",
            "method: \"Call\"",
            "#[cfg(unix)] impl ::spot_service::__private::SpotService for S {",
        ] {
            assert_contains(&out, expected);
        }
    }

    #[test]
    fn server_paths() {
        let server = |path: TokenStream| {
            let server = derive_server_path(&syn::parse2(path).unwrap());
            quote!(#server).to_string()
        };
        assert_eq!(
            server(quote!(robot_id_service_server::RobotIdService)),
            "robot_id_service_server :: RobotIdServiceServer"
        );
        assert_eq!(
            server(quote!(::api::foo_server::Foo)),
            ":: api :: foo_server :: FooServer"
        );
        assert_eq!(server(quote!(Foo)), "FooServer");
        assert_eq!(server(quote!(r#Foo)), "FooServer");
    }

    #[test]
    fn wrong_items() {
        let attr = quote!(name = "n", authority = "a");
        for item in [
            quote!(
                struct S;
            ),
            quote!(
                fn f() {}
            ),
            quote!(impl S { async fn f(&self) {} }),
        ] {
            let messages = error_messages(attr.clone(), item);
            assert_eq!(messages.len(), 1);
            assert!(messages[0].starts_with(WRONG_ITEM), "{messages:?}");
        }
    }

    #[test]
    fn errors_keep_a_complete_expansion() {
        // Missing arguments and a non-async method: every error is reported, and the output still
        // has all three items, with a stub for the bad method.
        let tokens = quote! {
            impl Svc for S {
                fn call(&self, request: Req) -> Result<Resp> { todo!() }
            }
        };
        let messages = error_messages(quote!(), tokens.clone());
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert_eq!(
            messages[2],
            "RPC methods must be async: write `async fn call`"
        );

        let out = expand_or_error_tokens(quote!(), tokens).to_string();
        assert!(out.starts_with(":: core :: compile_error !"), "{out}");
        assert!(out.contains("fn __spot_service_call"), "{out}");
        assert!(out.contains("unreachable !"), "{out}");
        assert!(out.contains("SpotService for S"), "{out}");
    }

    #[test]
    fn async_trait_above_is_reported() {
        let messages = error_messages(
            quote!(name = "n", authority = "a"),
            quote! {
                impl Svc for S {
                    fn call<'life0, 'async_trait>(&'life0 self, request: Req)
                        -> Pin<Box<dyn Future<Output = Result<Resp>> + Send + 'async_trait>>
                    { todo!() }
                }
            },
        );
        assert_eq!(messages.len(), 1);
        assert!(messages[0].starts_with("`#[async_trait]` has already expanded this impl"));
    }
}
