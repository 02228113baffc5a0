//! Generates the Spot header glue from protobuf descriptors.
//!
//! For every message of the compiled files this emits, next to prost's code:
//! - `SpotRequest` for messages with a `bosdyn.api.RequestHeader header` field,
//! - `SpotResponse` for messages with a `bosdyn.api.ResponseHeader header` field,
//! - `StripLargeBytes` for messages that (transitively) hold `bytes` fields, so the request copy
//!   packed into a response header never carries images or blobs.
//!
//! The trait definitions live in `spot-service-protos` (re-exported as `spot_service::proto`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};

use crate::naming::{relative_type_path, snake_ident};

const REQUEST_HEADER: &str = ".bosdyn.api.RequestHeader";
const RESPONSE_HEADER: &str = ".bosdyn.api.ResponseHeader";

struct MessageInfo<'a> {
    file: &'a str,
    package: &'a str,
    /// Message names from the outermost to this one.
    chain: Vec<String>,
    descriptor: &'a DescriptorProto,
}

/// Indexes every message of the set by its fully qualified name (`.pkg.Outer.Inner`).
fn index_messages(fds: &FileDescriptorSet) -> HashMap<String, MessageInfo<'_>> {
    fn walk<'a>(
        out: &mut HashMap<String, MessageInfo<'a>>,
        file: &'a str,
        package: &'a str,
        prefix: &str,
        chain: &[String],
        messages: &'a [DescriptorProto],
    ) {
        for message in messages {
            let name = message.name().to_owned();
            let full = format!("{prefix}.{name}");
            let mut chain = chain.to_vec();
            chain.push(name);
            walk(out, file, package, &full, &chain, &message.nested_type);
            out.insert(
                full,
                MessageInfo {
                    file,
                    package,
                    chain,
                    descriptor: message,
                },
            );
        }
    }
    let mut out = HashMap::new();
    for file in &fds.file {
        let prefix = if file.package().is_empty() {
            String::new()
        } else {
            format!(".{}", file.package())
        };
        walk(
            &mut out,
            file.name(),
            file.package(),
            &prefix,
            &[],
            &file.message_type,
        );
    }
    out
}

/// Fields the stripping code touches: plain (non-oneof, non-proto3-optional) fields.
fn is_plain(field: &FieldDescriptorProto) -> bool {
    field.oneof_index.is_none()
}

fn is_map_entry(messages: &HashMap<String, MessageInfo<'_>>, type_name: &str) -> bool {
    messages
        .get(type_name)
        .and_then(|m| m.descriptor.options.as_ref())
        .is_some_and(|o| o.map_entry())
}

/// Names of the messages that hold, directly or through plain message fields, a `bytes` field.
fn messages_with_bytes(messages: &HashMap<String, MessageInfo<'_>>) -> HashSet<String> {
    let mut found: HashSet<String> = HashSet::new();
    loop {
        let before = found.len();
        for (name, info) in messages {
            if found.contains(name)
                || info
                    .descriptor
                    .options
                    .as_ref()
                    .is_some_and(|o| o.map_entry())
            {
                continue;
            }
            let holds = info
                .descriptor
                .field
                .iter()
                .filter(|f| is_plain(f))
                .any(|f| match f.r#type() {
                    Type::Bytes => true,
                    Type::Message => {
                        !is_map_entry(messages, f.type_name()) && found.contains(f.type_name())
                    }
                    _ => false,
                });
            if holds {
                found.insert(name.clone());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

/// Options for one glue generation run.
pub(crate) struct GlueOptions<'a> {
    /// Path under which `SpotRequest`, `SpotResponse`, `StripLargeBytes`, `pack_any`,
    /// `LARGE_BYTES_LIMIT`, `prost_types` and `bosdyn::api` are reachable.
    pub runtime_path: &'a str,
    /// Files (by descriptor name) whose messages get glue.
    pub files: &'a HashSet<String>,
    /// Whether tonic servers are generated (then each unary-only service gets a `ServerFor`).
    pub servers: bool,
}

/// tonic's module name for a service: `RobotIdService` -> `robot_id_service`.
fn tonic_snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c.to_ascii_lowercase());
        if chars.peek().is_some_and(|n| n.is_uppercase()) {
            out.push('_');
        }
    }
    out
}

/// `impl ServerFor<T> for dyn Trait` for each service without streaming methods, so the service
/// macros can find `FooServer` from the trait's name as the user wrote it.
fn server_links(
    fds: &FileDescriptorSet,
    options: &GlueOptions<'_>,
    out: &mut BTreeMap<String, String>,
) {
    let rt = options.runtime_path;
    for file in fds.file.iter().filter(|f| options.files.contains(f.name())) {
        for service in &file.service {
            if service
                .method
                .iter()
                .any(|m| m.client_streaming() || m.server_streaming())
            {
                continue; // `dyn Trait` would need its stream types spelled out.
            }
            let name = crate::naming::type_ident(service.name());
            let module = format!("{}_server", tonic_snake_case(&name));
            let code = out.entry(file.package().to_owned()).or_insert_with(|| {
                "\n// Spot header glue generated by spot-service-build.\n".to_owned()
            });
            let _ = writeln!(
                code,
                "impl<T: {module}::{name}> {rt}::ServerFor<T> for dyn {module}::{name} {{\n    type Server = {module}::{name}Server<T>;\n    fn new_server(inner: T) -> Self::Server {{ {module}::{name}Server::new(inner) }}\n}}"
            );
        }
    }
}

/// Generates the glue code for each package, keyed by package name.
pub(crate) fn generate(
    fds: &FileDescriptorSet,
    options: &GlueOptions<'_>,
) -> BTreeMap<String, String> {
    let rt = options.runtime_path;
    let messages = index_messages(fds);
    let with_bytes = messages_with_bytes(&messages);
    let mut names: Vec<&String> = messages
        .iter()
        .filter(|(_, m)| options.files.contains(m.file))
        .map(|(name, _)| name)
        .collect();
    names.sort();

    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for name in names {
        let info = &messages[name];
        if info
            .descriptor
            .options
            .as_ref()
            .is_some_and(|o| o.map_entry())
        {
            continue;
        }
        let code = out.entry(info.package.to_owned()).or_insert_with(|| {
            "\n// Spot header glue generated by spot-service-build.\n".to_owned()
        });
        let ty = relative_type_path(&info.chain);

        if with_bytes.contains(name) {
            let _ = writeln!(code, "impl {rt}::StripLargeBytes for {ty} {{");
            let _ = writeln!(code, "    #[allow(unused_imports)]");
            let _ = writeln!(code, "    fn strip_large_bytes(&mut self, limit: usize) {{");
            let _ = writeln!(code, "        use {rt}::StripLargeBytes as _;");
            for field in info.descriptor.field.iter().filter(|f| is_plain(f)) {
                let f = snake_ident(field.name());
                let repeated = field.label() == Label::Repeated;
                match field.r#type() {
                    Type::Bytes if repeated => {
                        let _ = writeln!(
                            code,
                            "        for v in self.{f}.iter_mut() {{ if v.len() > limit {{ *v = ::core::default::Default::default(); }} }}"
                        );
                    }
                    Type::Bytes => {
                        let _ = writeln!(
                            code,
                            "        if self.{f}.len() > limit {{ self.{f} = ::core::default::Default::default(); }}"
                        );
                    }
                    Type::Message
                        if with_bytes.contains(field.type_name())
                            && !is_map_entry(&messages, field.type_name()) =>
                    {
                        if repeated {
                            let _ = writeln!(
                                code,
                                "        for v in self.{f}.iter_mut() {{ v.strip_large_bytes(limit); }}"
                            );
                        } else {
                            let _ = writeln!(
                                code,
                                "        if let ::core::option::Option::Some(v) = self.{f}.as_mut() {{ v.strip_large_bytes(limit); }}"
                            );
                        }
                    }
                    _ => {}
                }
            }
            let _ = writeln!(code, "    }}\n}}");
        }

        let header = info.descriptor.field.iter().find(|f| {
            f.name() == "header"
                && is_plain(f)
                && f.label() != Label::Repeated
                && f.r#type() == Type::Message
        });
        let Some(header) = header else { continue };
        let (trait_name, header_type, getter) = match header.type_name() {
            REQUEST_HEADER => ("SpotRequest", "RequestHeader", "request_header"),
            RESPONSE_HEADER => ("SpotResponse", "ResponseHeader", "response_header"),
            _ => continue,
        };
        let _ = writeln!(code, "impl {rt}::{trait_name} for {ty} {{");
        let _ = writeln!(
            code,
            "    fn {getter}(&self) -> ::core::option::Option<&{rt}::bosdyn::api::{header_type}> {{ self.header.as_ref() }}"
        );
        let _ = writeln!(
            code,
            "    fn {getter}_mut(&mut self) -> &mut ::core::option::Option<{rt}::bosdyn::api::{header_type}> {{ &mut self.header }}"
        );
        if trait_name == "SpotRequest" {
            let _ = writeln!(
                code,
                "    fn to_logged_any(&self) -> {rt}::prost_types::Any {{"
            );
            if with_bytes.contains(name) {
                let _ = writeln!(
                    code,
                    "        let mut copy = ::core::clone::Clone::clone(self);"
                );
                let _ = writeln!(
                    code,
                    "        {rt}::StripLargeBytes::strip_large_bytes(&mut copy, {rt}::LARGE_BYTES_LIMIT);"
                );
                let _ = writeln!(code, "        {rt}::pack_any(&copy)");
            } else {
                let _ = writeln!(code, "        {rt}::pack_any(self)");
            }
            let _ = writeln!(code, "    }}");
        }
        let _ = writeln!(code, "}}");
    }
    if options.servers {
        server_links(fds, options, &mut out);
    }
    out
}
