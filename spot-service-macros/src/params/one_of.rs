//! `#[derive(OneOfParams)]` on an enum: each variant is one key of a `OneOfParam`.

use heck::ToSnakeCase as _;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type, Variant};

use super::attr::{self, Place};
use super::field::{ParamField, key_value, lit_or_empty};
use super::{check_no_generics, check_unique_keys, private};
use crate::diag::Errors;

/// What a variant holds: its dict.
enum Shape {
    /// `Disable`: an empty dict.
    Unit,
    /// `Enable { repeats: i64 }`: the fields are the dict's parameters.
    Named(Vec<ParamField>),
    /// `Custom(Settings)`: the `DictParams` struct's dict.
    Newtype(Box<Type>),
    /// A tuple variant with several fields (an error has been reported).
    Invalid,
}

/// A variant, with its options parsed.
struct ParamVariant {
    ident: Ident,
    key: String,
    key_span: Span,
    display_name: Option<LitStr>,
    description: Option<LitStr>,
    display_order: i64,
    /// Where `default` is written, if it is.
    default: Option<Span>,
    shape: Shape,
}

impl ParamVariant {
    fn parse(variant: &Variant, index: usize, errors: &mut Errors) -> ParamVariant {
        let ident = variant.ident.clone();
        let key = syn::ext::IdentExt::unraw(&ident)
            .to_string()
            .to_snake_case();
        let mut param = ParamVariant {
            key_span: ident.span(),
            key,
            ident,
            display_name: None,
            description: None,
            display_order: i64::try_from(index).unwrap_or(i64::MAX),
            default: None,
            shape: Shape::Unit,
        };
        for option in attr::parse_options(&variant.attrs, "param", Place::Variant, errors) {
            match option.name.to_string().as_str() {
                "key" => {
                    if let Some(key) = key_value(&option, errors) {
                        param.key = key.value();
                        param.key_span = key.span();
                    }
                }
                "display_name" => param.display_name = attr::string_value(&option, errors),
                "description" => param.description = attr::string_value(&option, errors),
                "display_order" => {
                    if let Some(order) = attr::order_value(&option, errors) {
                        param.display_order = order;
                    }
                }
                "default" => match &option.value {
                    None => param.default = Some(option.name.span()),
                    Some(_) => errors.spanned(
                        option.tokens(),
                        "a variant's `default` takes no value: `#[param(default)]` makes it the \
                         default choice",
                    ),
                },
                _ => {}
            }
        }
        param.shape = match &variant.fields {
            Fields::Unit => Shape::Unit,
            Fields::Named(fields) => Shape::Named(
                fields
                    .named
                    .iter()
                    .enumerate()
                    .filter_map(|(index, field)| ParamField::parse(field, index, errors))
                    .collect(),
            ),
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                let field = &fields.unnamed[0];
                attr::reject_attr(
                    &field.attrs,
                    "param",
                    "the field of a newtype variant is its whole dict: put `#[param(...)]` on \
                     the variant",
                    errors,
                );
                Shape::Newtype(Box::new(field.ty.clone()))
            }
            Fields::Unnamed(fields) => {
                errors.spanned(
                    fields,
                    "a `OneOfParams` variant is a unit variant, has named fields, or wraps one \
                     `DictParams` struct (`Custom(Settings)`)",
                );
                Shape::Invalid
            }
        };
        param
    }

    /// The variant's dict spec.
    fn dict_spec(&self) -> TokenStream {
        let p = private();
        match &self.shape {
            Shape::Unit | Shape::Invalid => quote!(#p::dict_param::Spec {
                specs: #p::HashMap::new(),
                is_hidden_by_default: false,
            }),
            Shape::Named(fields) => {
                let specs = format_ident!("__specs");
                let inserts = fields.iter().map(|field| field.spec_insert(&specs));
                quote!({
                    #[allow(unused_mut)]
                    let mut #specs = #p::HashMap::new();
                    #(#inserts)*
                    #p::dict_param::Spec {
                        specs: #specs,
                        is_hidden_by_default: false,
                    }
                })
            }
            Shape::Newtype(ty) => {
                quote!(#p::Clone::clone(<#ty as #p::DictParams>::dict_spec()))
            }
        }
    }

    /// The match arm parsing this variant from the chosen dict `dict` (validated).
    fn extract_arm(&self, one_of_spec: &Ident, dict: &Ident) -> TokenStream {
        let p = private();
        let ident = &self.ident;
        let key = &self.key;
        let nest = quote!(.map_err(|__error| __error.nested(#key)));
        match &self.shape {
            Shape::Unit | Shape::Invalid => quote!(#key => #p::Ok(Self::#ident),),
            Shape::Named(fields) => {
                let spec = format_ident!("__child_spec");
                let extracts = fields
                    .iter()
                    .map(|field| field.extract(dict, &spec, Some(key)));
                quote!(#key => {
                    let #spec = #p::one_of_child_spec(#one_of_spec, #key);
                    #p::Ok(Self::#ident { #(#extracts,)* })
                })
            }
            Shape::Newtype(ty) => quote!(#key => #p::Ok(Self::#ident(
                <#ty as #p::DictParams>::from_validated_dict_param(#dict) #nest ?
            )),),
        }
    }

    /// The match arm converting this variant into a `OneOfParam`.
    fn to_param_arm(&self, one_of_spec: &Ident) -> TokenStream {
        let p = private();
        let ident = &self.ident;
        let key = &self.key;
        match &self.shape {
            Shape::Unit | Shape::Invalid => quote!(Self::#ident => #p::one_of_value(
                #one_of_spec, #key, #p::DictParam { values: #p::HashMap::new() },
            ),),
            Shape::Named(fields) => {
                let values = format_ident!("__values");
                let bindings: Vec<Ident> = (0..fields.len())
                    .map(|index| format_ident!("__field{index}"))
                    .collect();
                let members = fields.iter().map(|field| &field.member);
                let inserts = fields
                    .iter()
                    .zip(&bindings)
                    .map(|(field, binding)| field.to_param_insert(&values, &quote!(#binding)));
                quote!(Self::#ident { #(#members: #bindings),* } => {
                    let mut #values = #p::HashMap::new();
                    #(#inserts)*
                    #p::one_of_value(#one_of_spec, #key, #p::DictParam { values: #values })
                })
            }
            Shape::Newtype(ty) => quote!(Self::#ident(__inner) => #p::one_of_value(
                #one_of_spec, #key, <#ty as #p::DictParams>::to_dict_param(__inner),
            ),),
        }
    }
}

/// The `OneOfParams` and `Param` impls (or nothing, for input that cannot have them).
pub(crate) fn expand(input: &DeriveInput, errors: &mut Errors) -> TokenStream {
    let name = &input.ident;
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(data) => {
            errors.spanned(
                data.struct_token,
                "`OneOfParams` is derived for enums (a choice among keys); for a struct, derive \
                 `DictParams`",
            );
            return TokenStream::new();
        }
        Data::Union(data) => {
            errors.spanned(
                data.union_token,
                "`OneOfParams` cannot be derived for a union: use an enum",
            );
            return TokenStream::new();
        }
    };
    attr::reject_attr(
        &input.attrs,
        "param",
        "`#[param(...)]` goes on the variants and their fields, not on the enum",
        errors,
    );
    if !check_no_generics(input, "OneOfParams", errors) {
        return TokenStream::new();
    }
    if data.variants.is_empty() {
        errors.spanned(
            name,
            "`OneOfParams` needs at least one variant: each variant is one choice",
        );
        return TokenStream::new();
    }

    let variants: Vec<ParamVariant> = data
        .variants
        .iter()
        .enumerate()
        .map(|(index, variant)| ParamVariant::parse(variant, index, errors))
        .collect();
    check_unique_keys(
        variants.iter().map(|variant| {
            (
                variant.key.as_str(),
                variant.key_span,
                format!("variant `{}`", variant.ident),
            )
        }),
        errors,
    );
    for variant in &variants {
        if let Shape::Named(fields) = &variant.shape {
            check_unique_keys(
                fields.iter().map(|field| {
                    (
                        field.key.as_str(),
                        field.key_span,
                        format!("field `{}`", field.member),
                    )
                }),
                errors,
            );
        }
    }
    if variants
        .iter()
        .any(|variant| matches!(variant.shape, Shape::Invalid))
    {
        return TokenStream::new();
    }
    let mut defaults = variants.iter().filter_map(|variant| variant.default);
    defaults.next();
    for span in defaults {
        errors.push(syn::Error::new(
            span,
            "only one variant can be the `default` choice",
        ));
    }
    let default_key = variants
        .iter()
        .find(|variant| variant.default.is_some())
        .unwrap_or(&variants[0])
        .key
        .clone();

    let p = private();
    let specs = format_ident!("__specs");
    let one_of_spec = format_ident!("__spec");
    let dict = format_ident!("__dict");
    let value = format_ident!("__value");
    let spec_inserts = variants.iter().map(|variant| {
        let key = &variant.key;
        let dict_spec = variant.dict_spec();
        let display_name = lit_or_empty(variant.display_name.as_ref());
        let description = lit_or_empty(variant.description.as_ref());
        let display_order = variant.display_order;
        quote! {
            #specs.insert(
                #p::String::from(#key),
                #p::one_of_child(#dict_spec, #display_name, #description, #display_order),
            );
        }
    });
    let extract_arms = variants
        .iter()
        .map(|variant| variant.extract_arm(&one_of_spec, &dict));
    let to_param_arms = variants
        .iter()
        .map(|variant| variant.to_param_arm(&one_of_spec));
    quote! {
        impl #p::OneOfParams for #name {
            fn one_of_spec() -> &'static #p::one_of_param::Spec {
                static SPEC: #p::OnceLock<#p::one_of_param::Spec> = #p::OnceLock::new();
                SPEC.get_or_init(|| {
                    let mut #specs = #p::HashMap::new();
                    #(#spec_inserts)*
                    #p::one_of_param::Spec {
                        specs: #specs,
                        default_key: #p::String::from(#default_key),
                    }
                })
            }

            fn default_one_of_param() -> #p::Option<#p::Cow<'static, #p::OneOfParam>> {
                static DEFAULT: #p::OnceLock<#p::Option<#p::OneOfParam>> = #p::OnceLock::new();
                DEFAULT
                    .get_or_init(|| {
                        #p::default_one_of_param(<Self as #p::OneOfParams>::one_of_spec())
                    })
                    .as_ref()
                    .map(#p::Cow::Borrowed)
            }

            fn from_one_of_param(
                #value: &#p::OneOfParam,
            ) -> #p::Result<Self, #p::ParamError> {
                #p::validate_one_of_value(<Self as #p::OneOfParams>::one_of_spec(), #value)?;
                <Self as #p::OneOfParams>::from_validated_one_of_param(#value)
            }

            fn from_validated_one_of_param(
                #value: &#p::OneOfParam,
            ) -> #p::Result<Self, #p::ParamError> {
                #[allow(unused_variables)]
                let #one_of_spec = <Self as #p::OneOfParams>::one_of_spec();
                #[allow(unused_variables)]
                let #dict = #p::chosen_dict(#value);
                match #value.key.as_str() {
                    #(#extract_arms)*
                    __other => #p::Err(#p::nonexistent_key(__other)),
                }
            }

            fn to_one_of_param(&self) -> #p::OneOfParam {
                let #one_of_spec = <Self as #p::OneOfParams>::one_of_spec();
                match self {
                    #(#to_param_arms)*
                }
            }
        }

        impl #p::Param for #name {
            fn param_spec(_: #p::ParamOptions<Self>) -> #p::custom_param::Spec {
                #p::one_of_param_spec::<Self>()
            }

            fn from_param(
                __value: #p::Option<&#p::CustomParam>,
                _: &#p::custom_param::Spec,
            ) -> #p::Result<Self, #p::ParamError> {
                #p::one_of_from_param::<Self>(__value)
            }

            fn to_param(&self) -> #p::CustomParam {
                #p::one_of_to_param(self)
            }
        }
    }
}
