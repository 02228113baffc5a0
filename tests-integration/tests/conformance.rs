//! Conformance of our bosdyn `.proto` files with the official Boston Dynamics `bosdyn-api`.
//!
//! Every file, message (nested ones and map entries included), enum and service that we define in
//! [`FILE_DESCRIPTOR_SET`] must exist in the official descriptors with the same name, and every
//! field, enum value and method we define must match its official counterpart, so that names,
//! `Any` type URLs and wire bytes agree. We may define less than the official API, never something
//! different.
//!
//! The official descriptors come from the Python wheel `bosdyn-api` ([`OFFICIAL_VERSION`]), read by
//! `python/extract_official.py` with the Python of [`sdk_python`]. The tests that mutate
//! our own descriptors need no Python: they show that the comparison reports each kind of change.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    FileDescriptorSet, MethodDescriptorProto, OneofDescriptorProto, ServiceDescriptorProto,
};
use spot_service::proto::FILE_DESCRIPTOR_SET;
use tests_integration::python::{assert_success, run_script, sdk_python};

/// The `bosdyn-api` release our `.proto` files follow.
const OFFICIAL_VERSION: &str = "5.2.0";

// ---------------------------------------------------------------------------------------------
// Getting the descriptor sets.
// ---------------------------------------------------------------------------------------------

/// Our descriptors, as compiled into `spot-service-protos`.
fn our_set() -> FileDescriptorSet {
    let mut set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)
        .expect("spot_service_protos::FILE_DESCRIPTOR_SET is not a valid FileDescriptorSet");
    // The set also holds the Google well-known types it imports; those are not ours to check.
    set.file.retain(|f| f.name().starts_with("bosdyn/"));
    set
}

/// The official descriptors of `bosdyn-api` [`OFFICIAL_VERSION`], extracted once per test run.
///
/// # Panics
///
/// If [`sdk_python`] finds no interpreter, the extractor fails, or the installed `bosdyn-api` is
/// not [`OFFICIAL_VERSION`].
fn official_set() -> &'static FileDescriptorSet {
    static OFFICIAL: OnceLock<FileDescriptorSet> = OnceLock::new();
    OFFICIAL.get_or_init(extract_official)
}

/// Runs `python/extract_official.py` with [`sdk_python`] and decodes what it writes.
fn extract_official() -> FileDescriptorSet {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("official-bosdyn-api-{}.binpb", std::process::id()));
    let output = run_script("extract_official.py", &[&out.to_string_lossy()]);
    assert_success("extract_official.py", &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!("bosdyn-api {OFFICIAL_VERSION}:");
    assert!(
        stdout.starts_with(&expected),
        "{} must have bosdyn-api=={OFFICIAL_VERSION} installed; the extractor reported: {}",
        sdk_python().display(),
        stdout.trim(),
    );

    let bytes = std::fs::read(&out)
        .unwrap_or_else(|e| panic!("cannot read the extractor's output {}: {e}", out.display()));
    // Best effort: a leftover file in the target directory is harmless.
    let _ = std::fs::remove_file(&out);
    FileDescriptorSet::decode(bytes.as_slice()).unwrap_or_else(|e| {
        panic!(
            "the extractor's output {} is not a FileDescriptorSet: {e}",
            out.display()
        )
    })
}

// ---------------------------------------------------------------------------------------------
// The comparison.
// ---------------------------------------------------------------------------------------------

/// The official definitions by full name (`bosdyn.api.CommonError.Code`, no leading dot), each
/// with the name of the file that defines it.
#[derive(Default)]
struct Index<'a> {
    files: HashMap<&'a str, &'a FileDescriptorProto>,
    messages: HashMap<String, (&'a str, &'a DescriptorProto)>,
    enums: HashMap<String, (&'a str, &'a EnumDescriptorProto)>,
    services: HashMap<String, (&'a str, &'a ServiceDescriptorProto)>,
}

impl<'a> Index<'a> {
    /// Indexes every file, message, enum and service of `set`, nested ones included.
    fn new(set: &'a FileDescriptorSet) -> Self {
        let mut index = Index::default();
        for file in &set.file {
            index.files.insert(file.name(), file);
            let scope = file.package();
            index.add_messages(file.name(), scope, &file.message_type);
            index.add_enums(file.name(), scope, &file.enum_type);
            for service in &file.service {
                let name = full_name(scope, service.name());
                index.services.insert(name, (file.name(), service));
            }
        }
        index
    }

    fn add_messages(&mut self, file: &'a str, scope: &str, messages: &'a [DescriptorProto]) {
        for message in messages {
            let name = full_name(scope, message.name());
            self.add_messages(file, &name, &message.nested_type);
            self.add_enums(file, &name, &message.enum_type);
            self.messages.insert(name, (file, message));
        }
    }

    fn add_enums(&mut self, file: &'a str, scope: &str, enums: &'a [EnumDescriptorProto]) {
        for enumeration in enums {
            let name = full_name(scope, enumeration.name());
            self.enums.insert(name, (file, enumeration));
        }
    }
}

/// `scope.name`, or `name` in the root scope.
fn full_name(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

/// Compares our descriptors with the official ones and returns one message per mismatch, in the
/// order of `ours` (empty when everything matches).
///
/// Each message names the full path of the definition, the attribute, our value and the official
/// value, e.g. `bosdyn.api.ImageRequest.quality_percent: number 3 differs from official 2`.
/// Only what we define is checked; official definitions we omit are fine. Checked:
///
/// - files: an official file of the same name, with the same package and syntax;
/// - messages (recursively, map entries included), enums and services: an official one of the
///   same full name, defined in the same file;
/// - fields: number, type, label, type name, oneof (by name) and the `packed` option;
/// - enum values: number;
/// - methods: input and output types and both streaming flags.
fn compare(ours: &FileDescriptorSet, official: &FileDescriptorSet) -> Vec<String> {
    let official = Index::new(official);
    let mut mismatches = Vec::new();
    for file in &ours.file {
        let path = file.name();
        match official.files.get(path) {
            None => mismatches.push(format!("{path}: no official file of this name")),
            Some(theirs) => {
                let mut check = Checker::new(&mut mismatches, path);
                check.attr("package", file.package(), theirs.package());
                check.attr("syntax", syntax(file), syntax(theirs));
            }
        }
        let scope = file.package();
        for message in &file.message_type {
            let name = full_name(scope, message.name());
            if let Some(theirs) =
                lookup(&mut mismatches, &official.messages, &name, path, "message")
            {
                compare_message(&mut mismatches, &official, &name, message, theirs);
            }
        }
        for enumeration in &file.enum_type {
            let name = full_name(scope, enumeration.name());
            if let Some(theirs) = lookup(&mut mismatches, &official.enums, &name, path, "enum") {
                compare_enum(&mut mismatches, &name, enumeration, theirs);
            }
        }
        for service in &file.service {
            let name = full_name(scope, service.name());
            if let Some(theirs) =
                lookup(&mut mismatches, &official.services, &name, path, "service")
            {
                compare_service(&mut mismatches, &name, service, theirs);
            }
        }
    }
    mismatches
}

/// Finds the official top-level definition `name` (a `kind`) and reports it if missing or defined
/// in another file than our `file`.
fn lookup<'a, T>(
    mismatches: &mut Vec<String>,
    official: &HashMap<String, (&str, &'a T)>,
    name: &str,
    file: &str,
    kind: &str,
) -> Option<&'a T> {
    let Some(&(their_file, theirs)) = official.get(name) else {
        mismatches.push(format!("{name}: {kind} not in official"));
        return None;
    };
    if their_file != file {
        mismatches.push(format!(
            "{name}: {kind} defined in {file}, official defines it in {their_file}"
        ));
    }
    Some(theirs)
}

/// Compares a message with the official one of the same full name `path`, nested types included.
fn compare_message(
    mismatches: &mut Vec<String>,
    official: &Index<'_>,
    path: &str,
    ours: &DescriptorProto,
    theirs: &DescriptorProto,
) {
    for field in &ours.field {
        let field_path = format!("{path}.{}", field.name());
        match theirs.field.iter().find(|f| f.name() == field.name()) {
            None => mismatches.push(format!("{field_path}: field not in official")),
            Some(their_field) => {
                let mut check = Checker::new(mismatches, &field_path);
                check.attr("number", show(field.number), show(their_field.number));
                check.attr("type", show_type(field), show_type(their_field));
                check.attr("label", show_label(field), show_label(their_field));
                check.attr(
                    "type_name",
                    show(field.type_name.as_deref()),
                    show(their_field.type_name.as_deref()),
                );
                check.attr("oneof", oneof(ours, field), oneof(theirs, their_field));
                check.attr("packed", show(packed(field)), show(packed(their_field)));
            }
        }
    }
    for nested in &ours.nested_type {
        let name = full_name(path, nested.name());
        match official.messages.get(&name) {
            None => mismatches.push(format!("{name}: message not in official")),
            Some(&(_, their_nested)) => {
                compare_message(mismatches, official, &name, nested, their_nested);
            }
        }
    }
    for enumeration in &ours.enum_type {
        let name = full_name(path, enumeration.name());
        match official.enums.get(&name) {
            None => mismatches.push(format!("{name}: enum not in official")),
            Some(&(_, theirs)) => compare_enum(mismatches, &name, enumeration, theirs),
        }
    }
}

/// Compares the values of an enum with the official enum of the same full name `path`.
fn compare_enum(
    mismatches: &mut Vec<String>,
    path: &str,
    ours: &EnumDescriptorProto,
    theirs: &EnumDescriptorProto,
) {
    for value in &ours.value {
        let value_path = format!("{path}.{}", value.name());
        match theirs.value.iter().find(|v| v.name() == value.name()) {
            None => mismatches.push(format!("{value_path}: enum value not in official")),
            Some(their_value) => Checker::new(mismatches, &value_path).attr(
                "number",
                show(value.number),
                show(their_value.number),
            ),
        }
    }
}

/// Compares the methods of a service with the official service of the same full name `path`.
fn compare_service(
    mismatches: &mut Vec<String>,
    path: &str,
    ours: &ServiceDescriptorProto,
    theirs: &ServiceDescriptorProto,
) {
    for method in &ours.method {
        let method_path = format!("{path}.{}", method.name());
        match theirs.method.iter().find(|m| m.name() == method.name()) {
            None => mismatches.push(format!("{method_path}: method not in official")),
            Some(their_method) => {
                let mut check = Checker::new(mismatches, &method_path);
                check.attr("input_type", method.input_type(), their_method.input_type());
                check.attr(
                    "output_type",
                    method.output_type(),
                    their_method.output_type(),
                );
                check.attr(
                    "client_streaming",
                    method.client_streaming(),
                    their_method.client_streaming(),
                );
                check.attr(
                    "server_streaming",
                    method.server_streaming(),
                    their_method.server_streaming(),
                );
            }
        }
    }
}

/// Records `<path>: <attribute> <ours> differs from official <theirs>` for each differing attribute.
struct Checker<'a> {
    mismatches: &'a mut Vec<String>,
    path: &'a str,
}

impl<'a> Checker<'a> {
    fn new(mismatches: &'a mut Vec<String>, path: &'a str) -> Self {
        Self { mismatches, path }
    }

    /// Compares one attribute. Values are compared in their displayed form, which is one-to-one
    /// for everything shown here.
    fn attr(&mut self, attribute: &str, ours: impl ToString, theirs: impl ToString) {
        let (ours, theirs) = (ours.to_string(), theirs.to_string());
        if ours != theirs {
            self.mismatches.push(format!(
                "{}: {attribute} {ours} differs from official {theirs}",
                self.path
            ));
        }
    }
}

/// Shows an optional descriptor attribute, `(unset)` when absent.
fn show(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "(unset)".to_owned(), |v| v.to_string())
}

/// The field type by its protobuf name (`TYPE_STRING`).
fn show_type(field: &FieldDescriptorProto) -> String {
    show(
        field.r#type.map(|t| {
            Type::try_from(t).map_or_else(|_| t.to_string(), |t| t.as_str_name().to_owned())
        }),
    )
}

/// The field label by its protobuf name (`LABEL_OPTIONAL`).
fn show_label(field: &FieldDescriptorProto) -> String {
    show(
        field.label.map(|l| {
            Label::try_from(l).map_or_else(|_| l.to_string(), |l| l.as_str_name().to_owned())
        }),
    )
}

/// The name of the oneof (synthetic ones of proto3 `optional` included) holding `field`.
fn oneof(message: &DescriptorProto, field: &FieldDescriptorProto) -> String {
    let Some(index) = field.oneof_index else {
        return "(none)".to_owned();
    };
    usize::try_from(index)
        .ok()
        .and_then(|i| message.oneof_decl.get(i))
        .map_or_else(
            || format!("#{index} (no such oneof)"),
            |o: &OneofDescriptorProto| o.name().to_owned(),
        )
}

/// The explicit `packed` option of a field, if any.
fn packed(field: &FieldDescriptorProto) -> Option<bool> {
    field.options.as_ref().and_then(|o| o.packed)
}

/// The file syntax; protoc leaves it empty for proto2.
fn syntax(file: &FileDescriptorProto) -> &str {
    match file.syntax() {
        "" => "proto2",
        syntax => syntax,
    }
}

// ---------------------------------------------------------------------------------------------
// Mutating our descriptors (for the tests that show the comparison fails).
// ---------------------------------------------------------------------------------------------

/// The message `full_name` (e.g. `bosdyn.api.ImageSource`, nested names included) of `set`.
///
/// # Panics
///
/// If `set` has no such message.
fn message_mut<'a>(set: &'a mut FileDescriptorSet, full_name: &str) -> &'a mut DescriptorProto {
    fn find<'a>(
        messages: &'a mut [DescriptorProto],
        path: &[&str],
    ) -> Option<&'a mut DescriptorProto> {
        let (first, rest) = path.split_first()?;
        let message = messages.iter_mut().find(|m| m.name() == *first)?;
        if rest.is_empty() {
            Some(message)
        } else {
            find(&mut message.nested_type, rest)
        }
    }
    for file in &mut set.file {
        let Some(relative) = full_name.strip_prefix(&format!("{}.", file.package())) else {
            continue;
        };
        let path: Vec<&str> = relative.split('.').collect();
        if let Some(message) = find(&mut file.message_type, &path) {
            return message;
        }
    }
    panic!("no message {full_name} in the descriptor set");
}

/// The field `field` of the message `message` (full name) of `set`.
///
/// # Panics
///
/// If `set` has no such field.
fn field_mut<'a>(
    set: &'a mut FileDescriptorSet,
    message: &str,
    field: &str,
) -> &'a mut FieldDescriptorProto {
    message_mut(set, message)
        .field
        .iter_mut()
        .find(|f| f.name() == field)
        .unwrap_or_else(|| panic!("no field {message}.{field} in the descriptor set"))
}

/// The method `method` of the service `service` (full name) of `set`.
///
/// # Panics
///
/// If `set` has no such method.
fn method_mut<'a>(
    set: &'a mut FileDescriptorSet,
    service: &str,
    method: &str,
) -> &'a mut MethodDescriptorProto {
    set.file
        .iter_mut()
        .flat_map(|file| {
            let package = file.package().to_owned();
            file.service
                .iter_mut()
                .filter(move |s| full_name(&package, s.name()) == service)
        })
        .flat_map(|s| s.method.iter_mut())
        .find(|m| m.name() == method)
        .unwrap_or_else(|| panic!("no method {service}.{method} in the descriptor set"))
}

/// Compares a mutated copy of our descriptors with the original and asserts that exactly the
/// `expected` mismatch is reported.
fn assert_only_mismatch(mutate: impl FnOnce(&mut FileDescriptorSet), expected: &str) {
    let official = our_set();
    let mut ours = official.clone();
    mutate(&mut ours);
    assert_eq!(compare(&ours, &official), [expected]);
}

// ---------------------------------------------------------------------------------------------
// Tests against the official bosdyn-api (need Python).
// ---------------------------------------------------------------------------------------------

/// Our descriptors match the official bosdyn-api.
#[test]
fn matches_official_bosdyn_api() {
    let ours = our_set();
    let official = official_set();
    assert!(
        !ours.file.is_empty(),
        "FILE_DESCRIPTOR_SET holds no files: nothing would be compared"
    );
    assert!(
        official
            .file
            .iter()
            .any(|f| f.name() == "bosdyn/api/header.proto"),
        "the official set lacks bosdyn/api/header.proto ({} files): the extraction is broken",
        official.file.len()
    );
    let mismatches = compare(&ours, official);
    assert!(
        mismatches.is_empty(),
        "{} mismatch(es) with bosdyn-api {OFFICIAL_VERSION} in {} files compared:\n{}",
        mismatches.len(),
        ours.file.len(),
        mismatches.join("\n")
    );
}

/// A changed field number is reported against the real official descriptors.
#[test]
fn official_comparison_reports_a_changed_field_number() {
    let mut ours = our_set();
    field_mut(&mut ours, "bosdyn.api.RequestHeader", "client_name").number = Some(20);
    let mismatches = compare(&ours, official_set());
    let expected = "bosdyn.api.RequestHeader.client_name: number 20 differs from official 2";
    assert!(
        mismatches.iter().any(|m| m == expected),
        "expected `{expected}` among the mismatches:\n{}",
        mismatches.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Tests of the comparison itself (ours against a mutated copy of ours; no Python).
// ---------------------------------------------------------------------------------------------

/// Identical sets compare clean, and the comparison has something to compare.
#[test]
fn ours_matches_itself() {
    let ours = our_set();
    assert!(
        ours.file
            .iter()
            .any(|f| f.name() == "bosdyn/api/header.proto")
    );
    assert_eq!(compare(&ours, &ours), Vec::<String>::new());
}

/// (a) A changed field number.
#[test]
fn reports_changed_field_number() {
    assert_only_mismatch(
        |ours| field_mut(ours, "bosdyn.api.RequestHeader", "client_name").number = Some(7),
        "bosdyn.api.RequestHeader.client_name: number 7 differs from official 2",
    );
}

/// (b) A changed field type.
#[test]
fn reports_changed_field_type() {
    assert_only_mismatch(
        |ours| {
            field_mut(ours, "bosdyn.api.ImageRequest", "quality_percent").set_type(Type::Float);
        },
        "bosdyn.api.ImageRequest.quality_percent: type TYPE_FLOAT differs from official TYPE_DOUBLE",
    );
}

/// (c) A changed enum value number, in an enum nested in a message.
#[test]
fn reports_changed_enum_value_number() {
    assert_only_mismatch(
        |ours| {
            let code = message_mut(ours, "bosdyn.api.CommonError")
                .enum_type
                .iter_mut()
                .find(|e| e.name() == "Code")
                .expect("bosdyn.api.CommonError.Code exists");
            let ok = code
                .value
                .iter_mut()
                .find(|v| v.name() == "CODE_OK")
                .expect("bosdyn.api.CommonError.Code.CODE_OK exists");
            ok.number = Some(5);
        },
        "bosdyn.api.CommonError.Code.CODE_OK: number 5 differs from official 1",
    );
}

/// (d) A method whose input type was renamed.
#[test]
fn reports_renamed_method_input_type() {
    assert_only_mismatch(
        |ours| {
            method_mut(ours, "bosdyn.api.RobotIdService", "GetRobotId").input_type =
                Some(".bosdyn.api.RenamedRequest".to_owned());
        },
        "bosdyn.api.RobotIdService.GetRobotId: input_type .bosdyn.api.RenamedRequest differs \
         from official .bosdyn.api.RobotIdRequest",
    );
}

/// (e) A field the official message lacks.
#[test]
fn reports_field_missing_from_official() {
    assert_only_mismatch(
        |ours| {
            let mut extra = FieldDescriptorProto {
                name: Some("extra".to_owned()),
                number: Some(99),
                ..Default::default()
            };
            extra.set_type(Type::String);
            extra.set_label(Label::Optional);
            message_mut(ours, "bosdyn.api.RequestHeader")
                .field
                .push(extra);
        },
        "bosdyn.api.RequestHeader.extra: field not in official",
    );
}

/// (f) A field moved from its oneof into another one.
#[test]
fn reports_field_moved_to_another_oneof() {
    assert_only_mismatch(
        |ours| {
            let source = message_mut(ours, "bosdyn.api.ImageSource");
            source.oneof_decl.push(OneofDescriptorProto {
                name: Some("other_models".to_owned()),
                options: None,
            });
            let index = i32::try_from(source.oneof_decl.len() - 1).expect("few oneofs");
            let pinhole = source
                .field
                .iter_mut()
                .find(|f| f.name() == "pinhole")
                .expect("bosdyn.api.ImageSource.pinhole exists");
            pinhole.oneof_index = Some(index);
        },
        "bosdyn.api.ImageSource.pinhole: oneof other_models differs from official camera_models",
    );
}

/// A map field's key type is checked through its synthesized entry message.
#[test]
fn reports_changed_map_key_type() {
    assert_only_mismatch(
        |ours| {
            field_mut(ours, "bosdyn.api.DictParam.ValuesEntry", "key").set_type(Type::Bytes);
        },
        "bosdyn.api.DictParam.ValuesEntry.key: type TYPE_BYTES differs from official TYPE_STRING",
    );
}
