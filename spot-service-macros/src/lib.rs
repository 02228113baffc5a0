//! Procedural macros for spot-service.
use proc_macro::TokenStream;

/// Placeholder until the macro lands.
#[proc_macro_attribute]
pub fn spot_service(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
