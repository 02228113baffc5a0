//! Validation of specs and values with the rules of the official Python SDK
//! (`bosdyn.client.service_customization_helpers`, 5.2.0), message for message.
//!
//! Where the official code would crash (a `CustomParam` with no value, a spec with no type), these
//! functions return an error instead; they never panic. Maps are visited in sorted key order, so
//! messages come in a stable order (the official order is the map's, i.e. arbitrary).

use super::{ParamError, SpecError};
use super::{pyfmt, pytext};
use crate::proto::bosdyn::api::area_i::Geometry;
use crate::proto::bosdyn::api::custom_param::{Value, spec::Spec as AnySpec};
use crate::proto::bosdyn::api::{
    CustomParam, DictParam, ListParam, OneOfParam, RegionOfInterestParam, StringParam,
    custom_param, dict_param, list_param, one_of_param, region_of_interest_param, string_param,
};

/// The separator the official `_nested_error_message_helper` puts between a parameter's path and
/// its message.
const NESTED_JOINER: &str = " param has error: ";

/// The message for a spec (or child spec) that sets no parameter type. The official code crashes
/// on such a spec.
pub(crate) const NO_SPEC_TYPE: &str = "Spec sets no parameter type";

/// Checks that a `DictParam.Spec` is valid, like the official `validate_dict_spec`: numeric
/// defaults within `min_value`/`max_value` (an unset default counts as 0), `min_value <=
/// max_value`, string defaults among the options (unless editable), list bounds, one-of default
/// keys, region-of-interest defaults, recursively; each message names the parameter's path.
pub fn validate_dict_spec(spec: &dict_param::Spec) -> Result<(), SpecError> {
    into_spec_result(dict_spec_errors(spec))
}

/// Checks that a `CustomParam.Spec` is valid (see [`validate_dict_spec`]). A spec that sets no
/// parameter type is invalid.
pub fn validate_custom_param_spec(spec: &custom_param::Spec) -> Result<(), SpecError> {
    into_spec_result(custom_spec_errors(Some(spec)))
}

/// Checks that a `OneOfParam.Spec` is valid (see [`validate_dict_spec`]): a non-empty
/// `default_key` must be one of its keys, and each child's dict spec must be valid.
pub fn validate_one_of_spec(spec: &one_of_param::Spec) -> Result<(), SpecError> {
    into_spec_result(one_of_spec_errors(spec))
}

/// Checks a `DictParam` value against its spec, like the official validator's
/// `validate_value`. Keys absent from `value` are fine (they take their defaults).
///
/// - a key the spec does not have: `STATUS_UNSUPPORTED_PARAMETER`,
///   `DictParam value contains keys {'a', 'b'} not present in the spec.` (nothing else is
///   checked then);
/// - otherwise every present key is checked with [`validate_custom_param_value`]; messages are
///   prefixed with the key's path (`toggle param has error: ...`, `outer.inner param has error:
///   ...`, `list[1] param has error: ...`), and the status is the one of the last failing key
///   (in sorted key order).
pub fn validate_dict_value(spec: &dict_param::Spec, value: &DictParam) -> Result<(), ParamError> {
    let unknown: Vec<&str> = value
        .values
        .keys()
        .filter(|key| !spec.specs.contains_key(*key))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(ParamError::unsupported_parameter(format!(
            "DictParam value contains keys {} not present in the spec.",
            pyfmt::str_set(&unknown)
        )));
    }
    let mut keys: Vec<&String> = value.values.keys().collect();
    keys.sort();
    let mut errors = Accumulated::default();
    for key in keys {
        let child_spec = spec.specs.get(key).and_then(|child| child.spec.as_ref());
        let result = match child_spec {
            Some(child_spec) => validate_custom_param_value(child_spec, &value.values[key]),
            None => Err(ParamError::invalid_value(NO_SPEC_TYPE)),
        };
        if let Err(error) = result {
            errors.add(error.nested(key));
        }
    }
    errors.into_result()
}

/// Checks one `CustomParam` value against its spec:
///
/// - no value set, or a value of another kind than the spec's (an `int_value` for a
///   `double_spec`, ...): `STATUS_INVALID_VALUE`, `Param value: 1.5\n has type <class
///   '...DoubleParam'> but the spec requires <class '...Int64Param'>.` (as Python prints it) /
///   `Param has no value but the spec requires Int64Param.` (where Python crashes);
/// - int and double: `STATUS_INVALID_VALUE`, `Value 0 below min_bound 1` /
///   `Value 9 above max_bound 3` (doubles printed as Python does: `0.5`, `1.0`, `1e-05`);
/// - string: when not `editable` and `options` is not empty, the value must be an option:
///   `STATUS_INVALID_VALUE`, `Chosen string value x not among options ['a', 'b']`;
/// - bool: any value;
/// - list: `STATUS_INVALID_VALUE` for a size outside `min_number_of_values` /
///   `max_number_of_values`; each element of another kind than `element_spec`:
///   `STATUS_INVALID_TYPE`, `Value is defined as double_value at index 2 while the List Param
///   Spec expects int_spec`; other element errors nested as `[1] param has error: ...`;
/// - region of interest: the area's shape must be allowed, `image_cols`/`image_rows` not
///   negative;
/// - one-of: see [`validate_one_of_value`];
/// - dict: see [`validate_dict_value`].
pub fn validate_custom_param_value(
    spec: &custom_param::Spec,
    value: &CustomParam,
) -> Result<(), ParamError> {
    let Some(spec) = spec.spec.as_ref() else {
        return Err(ParamError::invalid_value(NO_SPEC_TYPE));
    };
    let Some(value) = value.value.as_ref() else {
        return Err(ParamError::invalid_value(format!(
            "Param has no value but the spec requires {}.",
            Kind::of_spec(spec).proto_name()
        )));
    };
    match (spec, value) {
        (AnySpec::DictSpec(spec), Value::DictValue(value)) => validate_dict_value(spec, value),
        (AnySpec::ListSpec(spec), Value::ListValue(value)) => list_value(spec, value),
        (AnySpec::IntSpec(spec), Value::IntValue(value)) => {
            bounded(value.value, spec.min_value, spec.max_value, |n| {
                n.to_string()
            })
        }
        (AnySpec::DoubleSpec(spec), Value::DoubleValue(value)) => {
            bounded(value.value, spec.min_value, spec.max_value, pyfmt::float)
        }
        (AnySpec::StringSpec(spec), Value::StringValue(value)) => string_value(spec, value),
        (AnySpec::RoiSpec(spec), Value::RoiValue(value)) => roi_value(spec, value),
        (AnySpec::BoolSpec(_), Value::BoolValue(_)) => Ok(()),
        (AnySpec::OneOfSpec(spec), Value::OneOfValue(value)) => validate_one_of_value(spec, value),
        (spec, value) => Err(type_mismatch(spec, value)),
    }
}

/// Checks a `OneOfParam` value against its spec: `key` must be one of the spec's keys
/// (`STATUS_INVALID_VALUE`, `OneOf parameter value has nonexistent key of x`), and only the
/// chosen key's dict is validated (a missing one is an empty dict), its messages prefixed with
/// the key.
pub fn validate_one_of_value(
    spec: &one_of_param::Spec,
    value: &OneOfParam,
) -> Result<(), ParamError> {
    let Some(child) = spec.specs.get(&value.key) else {
        return Err(ParamError::invalid_value(format!(
            "OneOf parameter value has nonexistent key of {}",
            value.key
        )));
    };
    let empty_spec = dict_param::Spec::default();
    let empty_value = DictParam::default();
    validate_dict_value(
        child.spec.as_ref().unwrap_or(&empty_spec),
        value.values.get(&value.key).unwrap_or(&empty_value),
    )
    .map_err(|error| error.nested(&value.key))
}

/// Prefixes a child's error messages with its name, exactly like the official
/// `_nested_error_message_helper`: `name param has error: message` for a message that is not
/// nested yet, `name.` before one that is, then every `.[` becomes `[` (list indices).
pub(crate) fn nest_messages(child_name: &str, messages: Vec<String>) -> Vec<String> {
    messages
        .into_iter()
        .map(|message| {
            let nested = if message.contains(NESTED_JOINER) {
                format!("{child_name}.{message}")
            } else {
                format!("{child_name}{NESTED_JOINER}{message}")
            };
            nested.replace(".[", "[")
        })
        .collect()
}

/// The kind of a parameter, named as the official messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dict,
    List,
    Int,
    Double,
    String,
    Roi,
    Bool,
    OneOf,
}

impl Kind {
    /// The kind a spec describes.
    pub(crate) fn of_spec(spec: &AnySpec) -> Kind {
        match spec {
            AnySpec::DictSpec(_) => Kind::Dict,
            AnySpec::ListSpec(_) => Kind::List,
            AnySpec::IntSpec(_) => Kind::Int,
            AnySpec::DoubleSpec(_) => Kind::Double,
            AnySpec::StringSpec(_) => Kind::String,
            AnySpec::RoiSpec(_) => Kind::Roi,
            AnySpec::BoolSpec(_) => Kind::Bool,
            AnySpec::OneOfSpec(_) => Kind::OneOf,
        }
    }

    /// The kind of a value.
    pub(crate) fn of_value(value: &Value) -> Kind {
        match value {
            Value::DictValue(_) => Kind::Dict,
            Value::ListValue(_) => Kind::List,
            Value::IntValue(_) => Kind::Int,
            Value::DoubleValue(_) => Kind::Double,
            Value::StringValue(_) => Kind::String,
            Value::RoiValue(_) => Kind::Roi,
            Value::BoolValue(_) => Kind::Bool,
            Value::OneOfValue(_) => Kind::OneOf,
        }
    }

    /// The message type: `Int64Param`.
    pub(crate) fn proto_name(self) -> &'static str {
        match self {
            Kind::Dict => "DictParam",
            Kind::List => "ListParam",
            Kind::Int => "Int64Param",
            Kind::Double => "DoubleParam",
            Kind::String => "StringParam",
            Kind::Roi => "RegionOfInterestParam",
            Kind::Bool => "BoolParam",
            Kind::OneOf => "OneOfParam",
        }
    }

    /// The `CustomParam.Spec` field: `int_spec`.
    fn spec_field(self) -> &'static str {
        match self {
            Kind::Dict => "dict_spec",
            Kind::List => "list_spec",
            Kind::Int => "int_spec",
            Kind::Double => "double_spec",
            Kind::String => "string_spec",
            Kind::Roi => "roi_spec",
            Kind::Bool => "bool_spec",
            Kind::OneOf => "one_of_spec",
        }
    }

    /// The `CustomParam` value field: `int_value`.
    fn value_field(self) -> &'static str {
        match self {
            Kind::Dict => "dict_value",
            Kind::List => "list_value",
            Kind::Int => "int_value",
            Kind::Double => "double_value",
            Kind::String => "string_value",
            Kind::Roi => "roi_value",
            Kind::Bool => "bool_value",
            Kind::OneOf => "one_of_value",
        }
    }
}

/// The error for a value of another kind than its spec: the official `check_types_match`
/// message, with the value in protobuf text format and the types as Python's class reprs, as
/// Python prints them.
pub(crate) fn type_mismatch(spec: &AnySpec, value: &Value) -> ParamError {
    ParamError::invalid_value(format!(
        "Param {} has type {} but the spec requires {}.",
        pytext::value(value),
        python_class(Kind::of_value(value).proto_name()),
        python_class(Kind::of_spec(spec).proto_name())
    ))
}

/// How Python prints the class of a parameter message.
fn python_class(name: &str) -> String {
    format!("<class 'bosdyn.api.service_customization_pb2.{name}'>")
}

/// Errors of several children: the messages of all, the status of the last (as the official
/// validators do).
#[derive(Default)]
struct Accumulated(Option<ParamError>);

impl Accumulated {
    fn add(&mut self, error: ParamError) {
        match &mut self.0 {
            Some(errors) => {
                errors.status = error.status;
                errors.messages.extend(error.messages);
            }
            None => self.0 = Some(error),
        }
    }

    fn into_result(self) -> Result<(), ParamError> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// A numeric value against its bounds; the minimum is checked first.
fn bounded<T: PartialOrd + Copy>(
    value: T,
    min: Option<T>,
    max: Option<T>,
    show: impl Fn(T) -> String,
) -> Result<(), ParamError> {
    if let Some(min) = min
        && value < min
    {
        return Err(ParamError::invalid_value(format!(
            "Value {} below min_bound {}",
            show(value),
            show(min)
        )));
    }
    if let Some(max) = max
        && value > max
    {
        return Err(ParamError::invalid_value(format!(
            "Value {} above max_bound {}",
            show(value),
            show(max)
        )));
    }
    Ok(())
}

fn string_value(spec: &string_param::Spec, value: &StringParam) -> Result<(), ParamError> {
    if !spec.editable && !spec.options.is_empty() && !spec.options.contains(&value.value) {
        return Err(ParamError::invalid_value(format!(
            "Chosen string value {} not among options {}",
            value.value,
            pyfmt::str_list(&spec.options)
        )));
    }
    Ok(())
}

/// Whether an area is a rectangle / a polygon with vertices.
///
/// The official code tests `area.rectangle` for truth, which is always true for a Python
/// message (so it rejects every area when rectangles are not allowed); this follows the evident
/// intent: the area's geometry is a rectangle.
fn area_shape(area: Option<&crate::proto::bosdyn::api::AreaI>) -> (bool, bool) {
    match area.and_then(|area| area.geometry.as_ref()) {
        Some(Geometry::Rectangle(_)) => (true, false),
        Some(Geometry::Polygon(polygon)) => (false, !polygon.vertices.is_empty()),
        None => (false, false),
    }
}

fn roi_value(
    spec: &region_of_interest_param::Spec,
    value: &RegionOfInterestParam,
) -> Result<(), ParamError> {
    let (rectangle, polygon) = area_shape(value.area.as_ref());
    if !spec.allows_rectangle && rectangle {
        return Err(ParamError::invalid_value(
            "Chosen area is a rectangle despite not being allowed",
        ));
    }
    if !spec.allows_polygon && polygon {
        return Err(ParamError::invalid_value(
            "Chosen area is a polygon despite not being allowed",
        ));
    }
    if value.image_cols < 0 {
        return Err(ParamError::invalid_value(
            "Number of columns in image must be positive",
        ));
    }
    if value.image_rows < 0 {
        return Err(ParamError::invalid_value(
            "Number of rows in image must be positive",
        ));
    }
    Ok(())
}

fn list_value(spec: &list_param::Spec, value: &ListParam) -> Result<(), ParamError> {
    let count = i64::try_from(value.values.len()).unwrap_or(i64::MAX);
    if let Some(min) = spec.min_number_of_values
        && count < min
    {
        return Err(ParamError::invalid_value(format!(
            "ListParam has {count} values, which is less than the required minimum {}",
            pytext::int64_value(min)
        )));
    }
    if let Some(max) = spec.max_number_of_values
        && count > max
    {
        return Err(ParamError::invalid_value(format!(
            "ListParam has {count} values, which is more than the allowed maximum {}",
            pytext::int64_value(max)
        )));
    }
    let element_spec = spec.element_spec.as_deref();
    let expected = element_spec
        .and_then(|spec| spec.spec.as_ref())
        .map(Kind::of_spec);
    let mut errors = Accumulated::default();
    for (index, element) in value.values.iter().enumerate() {
        let actual = element.value.as_ref().map(Kind::of_value);
        match (element_spec, expected) {
            (Some(element_spec), Some(expected)) if actual == Some(expected) => {
                if let Err(error) = validate_custom_param_value(element_spec, element) {
                    errors.add(error.nested(&format!("[{index}]")));
                }
            }
            _ => errors.add(ParamError::invalid_type(format!(
                "Value is defined as {} at index {index} while the List Param Spec expects {}",
                actual.map_or("None", Kind::value_field),
                expected.map_or("None", Kind::spec_field),
            ))),
        }
    }
    errors.into_result()
}

fn into_spec_result(messages: Vec<String>) -> Result<(), SpecError> {
    if messages.is_empty() {
        Ok(())
    } else {
        Err(SpecError { messages })
    }
}

fn dict_spec_errors(spec: &dict_param::Spec) -> Vec<String> {
    let mut keys: Vec<&String> = spec.specs.keys().collect();
    keys.sort();
    let mut messages = Vec::new();
    for key in keys {
        let errors = custom_spec_errors(spec.specs[key].spec.as_ref());
        messages.extend(nest_messages(key, errors));
    }
    messages
}

fn custom_spec_errors(spec: Option<&custom_param::Spec>) -> Vec<String> {
    match spec.and_then(|spec| spec.spec.as_ref()) {
        None => vec![NO_SPEC_TYPE.to_owned()],
        Some(AnySpec::DictSpec(spec)) => dict_spec_errors(spec),
        Some(AnySpec::ListSpec(spec)) => list_spec_errors(spec),
        Some(AnySpec::IntSpec(spec)) => numeric_spec_errors(
            spec.default_value.unwrap_or(0),
            spec.min_value,
            spec.max_value,
        ),
        Some(AnySpec::DoubleSpec(spec)) => numeric_spec_errors(
            spec.default_value.unwrap_or(0.0),
            spec.min_value,
            spec.max_value,
        ),
        Some(AnySpec::StringSpec(spec)) => string_spec_errors(spec),
        Some(AnySpec::RoiSpec(spec)) => roi_spec_errors(spec),
        Some(AnySpec::BoolSpec(_)) => Vec::new(),
        Some(AnySpec::OneOfSpec(spec)) => one_of_spec_errors(spec),
    }
}

/// An unset default counts as 0 here (as officially), although the default value built for
/// such a spec is the minimum, else the maximum, else 0.
fn numeric_spec_errors<T: PartialOrd>(default: T, min: Option<T>, max: Option<T>) -> Vec<String> {
    let mut messages = Vec::new();
    if let Some(min) = &min
        && *min > default
    {
        messages.push("Default Spec Value below allowed minimum Value".to_owned());
    }
    if let Some(max) = &max
        && *max < default
    {
        messages.push("Default Spec Value above allowed maximum value".to_owned());
    }
    if let (Some(min), Some(max)) = (&min, &max)
        && min > max
    {
        messages.push("min_value greater than max_value".to_owned());
    }
    messages
}

fn string_spec_errors(spec: &string_param::Spec) -> Vec<String> {
    if !spec.default_value.is_empty()
        && !spec.editable
        && !spec.options.is_empty()
        && !spec.options.contains(&spec.default_value)
    {
        return vec![format!(
            "Default string {} not among options {}",
            spec.default_value,
            pyfmt::str_list(&spec.options)
        )];
    }
    Vec::new()
}

fn roi_spec_errors(spec: &region_of_interest_param::Spec) -> Vec<String> {
    let (rectangle, polygon) = area_shape(spec.default_area.as_ref());
    if !spec.allows_rectangle && rectangle {
        return vec!["Default area is a rectangle despite not being allowed".to_owned()];
    }
    if !spec.allows_polygon && polygon {
        return vec!["Default area is a polygon despite not being allowed".to_owned()];
    }
    Vec::new()
}

/// As officially, the element spec's own errors are reported as they are (not nested under
/// `element_spec`), and the size bounds are only checked when the element spec is valid.
fn list_spec_errors(spec: &list_param::Spec) -> Vec<String> {
    let Some(element_spec) = spec
        .element_spec
        .as_deref()
        .filter(|spec| spec.spec.is_some())
    else {
        return vec!["ListParam needs a defined element_spec".to_owned()];
    };
    let element_errors = custom_spec_errors(Some(element_spec));
    if !element_errors.is_empty() {
        return element_errors;
    }
    let mut messages = Vec::new();
    if let (Some(min), Some(max)) = (spec.min_number_of_values, spec.max_number_of_values)
        && min > max
    {
        messages.push(format!(
            "Max ListParam.Spec size {max} below minimum size of {min}"
        ));
    }
    let (min, max) = (
        spec.min_number_of_values.unwrap_or(0),
        spec.max_number_of_values.unwrap_or(0),
    );
    if min < 0 || max < 0 {
        messages.push(format!(
            "Invalid negative list size bound, with (min, max) bound of ({min}, {max})"
        ));
    }
    messages
}

fn one_of_spec_errors(spec: &one_of_param::Spec) -> Vec<String> {
    if !spec.default_key.is_empty() && !spec.specs.contains_key(&spec.default_key) {
        return vec![format!(
            "OneOf parameter has nonexistent default key of {}",
            spec.default_key
        )];
    }
    let mut keys: Vec<&String> = spec.specs.keys().collect();
    keys.sort();
    let mut messages = Vec::new();
    for key in keys {
        if let Some(child_spec) = &spec.specs[key].spec {
            messages.extend(nest_messages(key, dict_spec_errors(child_spec)));
        }
    }
    messages
}
