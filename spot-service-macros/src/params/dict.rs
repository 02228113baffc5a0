//! `#[derive(DictParams)]` on a struct with named fields.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields};

use super::attr::{self, Place};
use super::field::ParamField;
use super::{check_no_generics, check_unique_keys, private};
use crate::diag::Errors;

/// The `DictParams` and `Param` impls (or nothing, for input that cannot have them).
pub(crate) fn expand(input: &DeriveInput, errors: &mut Errors) -> TokenStream {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => fields,
            Fields::Unnamed(_) => {
                errors.spanned(
                    &data.fields,
                    "`DictParams` needs a struct with named fields: each field is a parameter, \
                     its name the key",
                );
                return TokenStream::new();
            }
            Fields::Unit => {
                errors.spanned(
                    name,
                    "`DictParams` needs a struct with named fields; for no parameters, use `()` \
                     (it implements `DictParams`) or `struct Name {}`",
                );
                return TokenStream::new();
            }
        },
        Data::Enum(data) => {
            errors.spanned(
                data.enum_token,
                "`DictParams` is derived for structs; for an enum (a choice among keys), derive \
                 `OneOfParams`",
            );
            return TokenStream::new();
        }
        Data::Union(data) => {
            errors.spanned(
                data.union_token,
                "`DictParams` cannot be derived for a union: use a struct with named fields",
            );
            return TokenStream::new();
        }
    };
    attr::reject_attr(
        &input.attrs,
        "param",
        "`#[param(...)]` goes on fields; the struct takes `#[params(...)]`",
        errors,
    );
    let mut hidden = false;
    for option in attr::parse_options(&input.attrs, "params", Place::Struct, errors) {
        if option.name == "hidden_by_default"
            && let Some(on) = attr::flag_value(&option, errors)
        {
            hidden = on;
        }
    }
    if !check_no_generics(input, "DictParams", errors) {
        return TokenStream::new();
    }

    let params: Vec<ParamField> = fields
        .named
        .iter()
        .enumerate()
        .filter_map(|(index, field)| ParamField::parse(field, index, errors))
        .collect();
    check_unique_keys(
        params.iter().map(|param| {
            (
                param.key.as_str(),
                param.key_span,
                format!("field `{}`", param.member),
            )
        }),
        errors,
    );

    let p = private();
    let specs = format_ident!("__specs");
    let value = format_ident!("__value");
    let spec = format_ident!("__spec");
    let values = format_ident!("__values");
    let spec_inserts = params.iter().map(|param| param.spec_insert(&specs));
    let extracts = params
        .iter()
        .map(|param| param.extract(&value, &spec, None));
    let to_params = params.iter().map(|param| {
        let member = &param.member;
        param.to_param_insert(&values, &quote!(&self.#member))
    });
    quote! {
        impl ::spot_service::params::DictParams for #name {
            fn dict_spec() -> &'static #p::dict_param::Spec {
                static SPEC: #p::OnceLock<#p::dict_param::Spec> = #p::OnceLock::new();
                SPEC.get_or_init(|| {
                    #[allow(unused_mut)]
                    let mut #specs = #p::HashMap::new();
                    #(#spec_inserts)*
                    #p::dict_param::Spec {
                        specs: #specs,
                        is_hidden_by_default: #hidden,
                    }
                })
            }

            fn default_dict_param() -> #p::Cow<'static, #p::DictParam> {
                static DEFAULT: #p::OnceLock<#p::DictParam> = #p::OnceLock::new();
                #p::Cow::Borrowed(DEFAULT.get_or_init(|| {
                    #p::default_dict_param(<Self as #p::DictParams>::dict_spec())
                }))
            }

            fn from_dict_param(
                #value: &#p::DictParam,
            ) -> #p::Result<Self, #p::ParamError> {
                #p::validate_dict_value(<Self as #p::DictParams>::dict_spec(), #value)?;
                <Self as #p::DictParams>::from_validated_dict_param(#value)
            }

            fn from_validated_dict_param(
                #value: &#p::DictParam,
            ) -> #p::Result<Self, #p::ParamError> {
                #[allow(unused_variables)]
                let #spec = <Self as #p::DictParams>::dict_spec();
                #p::Ok(Self { #(#extracts,)* })
            }

            fn to_dict_param(&self) -> #p::DictParam {
                #[allow(unused_mut)]
                let mut #values = #p::HashMap::new();
                #(#to_params)*
                #p::DictParam { values: #values }
            }
        }

        impl #p::Param for #name {
            fn param_spec(_: #p::ParamOptions<Self>) -> #p::custom_param::Spec {
                #p::dict_param_spec::<Self>()
            }

            fn from_param(
                __value: #p::Option<&#p::CustomParam>,
                _: &#p::custom_param::Spec,
            ) -> #p::Result<Self, #p::ParamError> {
                #p::dict_from_param::<Self>(__value)
            }

            fn to_param(&self) -> #p::CustomParam {
                #p::dict_to_param(self)
            }
        }
    }
}
