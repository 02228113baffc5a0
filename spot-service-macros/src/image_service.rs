//! Code generation for `#[image_service]`: the registration of an image service, on a marker
//! type.
//!
//! For `struct WebCamService;` it keeps the struct and emits
//! `impl spot_service::image::ImageServiceInfo for WebCamService { const METADATA: ... }`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Item;

use crate::args::{Args, IMAGE_SERVICE};
use crate::diag::Errors;
use crate::expand::item_head;

const WRONG_ITEM: &str = "#[image_service] goes on a struct that names the service, e.g. \
                          `struct WebCamService;`, then `ImageService::new(WebCamService)`";

/// The macro's output: the struct and its `ImageServiceInfo` impl, plus `compile_error!`s if
/// anything was wrong.
pub(crate) fn expand_or_error_tokens(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = Args::parse(attr, IMAGE_SERVICE, &mut errors);
    let mut tokens = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(strukt)) => {
            let name = &strukt.ident;
            let (impl_generics, type_generics, where_clause) = strukt.generics.split_for_impl();
            let placeholder = |lit: Option<&syn::LitStr>| {
                lit.map_or_else(|| quote!(""), ToTokens::to_token_stream)
            };
            let service_name = placeholder(args.name.as_ref());
            let authority = placeholder(args.authority.as_ref());
            let user_token_required = args
                .user_token_required
                .as_ref()
                .map_or_else(|| quote!(true), ToTokens::to_token_stream);
            quote! {
                #strukt

                impl #impl_generics ::spot_service::image::ImageServiceInfo
                    for #name #type_generics #where_clause
                {
                    const METADATA: ::spot_service::ServiceMetadata = ::spot_service::ServiceMetadata {
                        name: #service_name,
                        service_type: ::spot_service::image::SERVICE_TYPE,
                        authority: #authority,
                        user_token_required: #user_token_required,
                    };
                }
            }
        }
        Ok(other) => {
            errors.spanned(item_head(&other), WRONG_ITEM);
            item
        }
        Err(error) => {
            errors.push(error);
            item
        }
    };
    if let Some(error) = errors.into_error() {
        let mut with_errors = error.into_compile_error();
        with_errors.extend(tokens);
        tokens = with_errors;
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_the_info_trait() {
        let out = expand_or_error_tokens(
            quote!(name = "web-cam-service", authority = "robot-web-cam"),
            quote!(
                struct WebCam;
            ),
        )
        .to_string();
        assert!(out.contains("struct WebCam ;"), "{out}");
        assert!(out.contains("ImageServiceInfo for WebCam"), "{out}");
        assert!(out.contains("name : \"web-cam-service\""), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn reports_mistakes() {
        let out = expand_or_error_tokens(
            quote!(authority = "a", leases = []),
            quote!(
                fn f() {}
            ),
        )
        .to_string();
        assert!(out.contains("unknown option `leases`"), "{out}");
        assert!(out.contains("missing `name"), "{out}");
        assert!(out.contains("goes on a struct"), "{out}");
    }
}
