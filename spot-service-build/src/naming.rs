//! Rust names prost-build gives to protobuf items, so generated glue can refer to them.
//!
//! These mirror prost-build's identifier rules (snake_case fields and modules, UpperCamelCase
//! types, raw identifiers for keywords).

use heck::{ToSnakeCase, ToUpperCamelCase};

fn sanitize(ident: String) -> String {
    match ident.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident,
    }
}

/// The Rust identifier prost uses for a field or module named `name`.
pub(crate) fn snake_ident(name: &str) -> String {
    sanitize(name.to_snake_case())
}

/// The Rust type name prost uses for a message named `name`.
pub(crate) fn type_ident(name: &str) -> String {
    sanitize(name.to_upper_camel_case())
}

/// Rust path of a message, relative to its package module, from the chain of message names
/// (outermost first): `["ImageSource", "PinholeModel"]` -> `image_source::PinholeModel`.
pub(crate) fn relative_type_path(chain: &[String]) -> String {
    let (last, parents) = chain.split_last().expect("non-empty message chain");
    let mut path: Vec<String> = parents.iter().map(|p| snake_ident(p)).collect();
    path.push(type_ident(last));
    path.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prost() {
        assert_eq!(snake_ident("GUID"), "guid");
        assert_eq!(snake_ident("type"), "r#type");
        assert_eq!(snake_ident("self"), "self_");
        assert_eq!(snake_ident("request_header"), "request_header");
        assert_eq!(type_ident("SE3Pose"), "Se3Pose");
        let chain: Vec<String> = ["ImageSource", "PinholeModel", "CameraIntrinsics"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            relative_type_path(&chain),
            "image_source::pinhole_model::CameraIntrinsics"
        );
    }
}
