//! Typed custom parameters: the `DictParam` system of `bosdyn.api.service_customization`.
//!
//! A service that takes settings from the tablet (an Autowalk RemoteMission callback, a
//! NetworkCompute model, ...) advertises a `DictParam.Spec`: named parameters with their kinds,
//! bounds, defaults and labels. The tablet shows a form built from the spec and sends back a
//! `DictParam` value, which the service validates (with the rules of the official Python SDK,
//! `bosdyn.client.service_customization_helpers`) before using it.
//!
//! Here the spec is a Rust type: derive [`DictParams`](macro@DictParams) on a struct (a dict: one
//! parameter per field) and [`OneOfParams`](macro@OneOfParams) on an enum (a choice: one key per
//! variant). [`DictParams::dict_spec`] is the spec to advertise, and
//! [`DictParams::from_dict_param`] validates a received value and parses it into the struct;
//! its [`ParamError`] is the `CustomParamError` to answer with.
//!
//! ```
//! use spot_service::params::{DictParams, OneOfParams};
//! use spot_service::proto::bosdyn::api::DictParam;
//! use spot_service::proto::bosdyn::api::custom_param_error::Status;
//!
//! #[derive(Debug, PartialEq, DictParams)]
//! struct Hello {
//!     #[param(
//!         display_name = "Who",
//!         description = "Specify who Spot says hello to",
//!         default = "World",
//!         options = ["World", "Bob"],
//!         editable
//!     )]
//!     who: String,
//!     #[param(key = "toggle_key", display_name = "Repeats")]
//!     toggle: Toggle,
//! }
//!
//! #[derive(Debug, PartialEq, OneOfParams)]
//! enum Toggle {
//!     #[param(key = "toggle_key_enable", display_name = "Enable", description = "Say it again")]
//!     Enable {
//!         #[param(key = "toggle_enable_value_key", default = 1337, min = 1, max = 1337)]
//!         repeats: i64,
//!     },
//!     #[param(key = "toggle_key_disable", display_name = "Disable", default)]
//!     Disable,
//! }
//!
//! // The spec to advertise (e.g. in a RemoteMission `GetRemoteMissionServiceInfo` response).
//! let spec = Hello::dict_spec();
//! assert_eq!(spec.specs["who"].ui_info.as_ref().unwrap().display_name, "Who");
//!
//! // A received value: keys left out take their defaults.
//! assert_eq!(
//!     Hello::from_dict_param(&DictParam::default()).unwrap(),
//!     Hello { who: "World".into(), toggle: Toggle::Disable },
//! );
//!
//! // An invalid value: the official status and messages, with the parameter's path.
//! let value = Hello { who: "Bob".into(), toggle: Toggle::Enable { repeats: 0 } }.to_dict_param();
//! let error = Hello::from_dict_param(&value).unwrap_err();
//! assert_eq!(error.status, Status::InvalidValue);
//! assert_eq!(
//!     error.messages,
//!     ["toggle_key.toggle_key_enable.toggle_enable_value_key param has error: Value 0 below min_bound 1"],
//! );
//! let response_error = error.to_proto(); // a `CustomParamError`
//! # let _ = response_error;
//!
//! // In a unit test: what only the built spec shows (see below).
//! Hello::check_spec().unwrap();
//! ```
//!
//! Without parameters, use `()`: it implements [`DictParams`] with an empty spec (any key in a
//! value is refused with `STATUS_UNSUPPORTED_PARAMETER`).
//!
//! # Field types
//!
//! | Rust type | spec | default without `default = ...` |
//! |---|---|---|
//! | `i64`, `i32` | `int_spec` | `0` |
//! | `f64`, `f32` | `double_spec` | `0.0` |
//! | `String` | `string_spec` | the first of `options`, else `""` |
//! | `bool` | `bool_spec` | `false` |
//! | a struct deriving `DictParams` | `dict_spec` | each field's default |
//! | an enum deriving `OneOfParams` | `one_of_spec` | the `default` variant (else the first), with its fields' defaults |
//! | any type implementing [`Param`] | its own | its own |
//!
//! An `i32` field is an `int_spec` without implied bounds: a received value outside the `i32`
//! range is refused when parsed (`Value 3000000000 above max_bound 2147483647`); likewise an
//! `f32` field refuses finite values beyond the `f32` range, and rounds the others.
//!
//! # Attributes
//!
//! On the struct, `#[params(...)]`:
//!
//! | option | |
//! |---|---|
//! | `hidden_by_default` | The dict starts collapsed in the UI (`is_hidden_by_default`). Also `= true` / `= false`. |
//!
//! On a field, `#[param(...)]` (all optional):
//!
//! | option | applies to | |
//! |---|---|---|
//! | `key = "..."` | all | The key in the `DictParam` (default: the field's name, without `r#`). Keys must be unique. |
//! | `display_name = "..."` | all | The label the UI shows (`UserInterfaceInfo.display_name`; default: empty, as the official helpers leave it). |
//! | `description = "..."` | all | The help text the UI shows (default: empty). |
//! | `display_order = N` | all | The position in the UI, an integer (default: the field's declaration index, from 0). |
//! | `default = ...` | numbers, `String`, `bool` | The default value: an integer or float literal for numbers (`default = 1`, `default = -0.5`; integer types take integer literals only), a string literal for `String`, `true`/`false` for `bool`. |
//! | `min = ...`, `max = ...` | numbers | The bounds, inclusive (`min_value`, `max_value`). |
//! | `units = "..."` | numbers | The units shown next to the value (`units.name`, e.g. `"m/s"`). |
//! | `options = ["a", "b"]` | `String` | The values offered. |
//! | `editable` | `String` | With `options`, other values may be entered too. Also `= true` / `= false`. |
//! | `multiline` | `String` | Edited on several lines (`is_multiline`). Also `= true` / `= false`. |
//!
//! On a variant of a `OneOfParams` enum, `#[param(...)]` (all optional):
//!
//! | option | |
//! |---|---|
//! | `key = "..."` | The key of the choice (default: the variant's name in snake_case: `HighSpeed` is `high_speed`). |
//! | `display_name = "..."`, `description = "..."` | As for fields. |
//! | `display_order = N` | As for fields (default: the variant's declaration index). |
//! | `default` | This variant is the default choice (`default_key`; default: the first variant). |
//!
//! A unit variant's dict is empty; a struct-like variant's fields are its dict's parameters (with
//! the field options above); a newtype variant wrapping a `DictParams` struct has that struct's
//! dict.
//!
//! # What is checked when
//!
//! At compile time, each error pointing at the offending option:
//!
//! - the attributes: unknown or duplicate options, values that are not literals of the right
//!   kind, empty or duplicate keys, several `default` variants, `#[param]`/`#[params]` in the
//!   wrong place;
//! - the input: structs with named fields for `DictParams`, enums with at least one variant
//!   (unit, struct-like or newtype) for `OneOfParams`; no generics, no unions;
//! - options against the field's type, through the marker traits [`NumericParam`],
//!   [`FloatParam`], [`OptionsParam`] and [`BooleanParam`] (`min` on a `String`, `options` on an
//!   `i64`, `default = 1.5` on an `i64`, `default = "x"` on a `bool`, ...), and the field types
//!   themselves ([`Param`]); integer literals out of an `i32` field's range;
//! - what the official `validate_spec` checks, wherever the literals decide it: a `default`
//!   below `min` or above `max` (a missing `default` counts as 0: `min = 1` needs a `default`),
//!   `min` greater than `max`, a string `default` not among the `options` of a non-`editable`
//!   parameter.
//!
//! At run time, only what the built spec shows: the specs of hand-written [`Param`] or
//! [`DictParams`] impls. [`DictParams::check_spec`] (and [`OneOfParams::check_spec`]) runs
//! [`validate_dict_spec`] on the whole spec and returns the problems; call it in a unit test.
//! Nothing panics when a spec is built or used.
//!
//! # Validation rules
//!
//! [`validate_dict_value`] (which [`DictParams::from_dict_param`] runs) follows the official
//! validator rule for rule and message for message:
//!
//! | value | status | message |
//! |---|---|---|
//! | a key the spec does not have (nothing else is checked then) | `STATUS_UNSUPPORTED_PARAMETER` | `DictParam value contains keys {'a', 'b'} not present in the spec.` |
//! | a number below `min_value` / above `max_value` | `STATUS_INVALID_VALUE` | `Value 0 below min_bound 1`, `Value 2.5 above max_bound 2.0` |
//! | a string not among the `options` (when not `editable` and there are options) | `STATUS_INVALID_VALUE` | `Chosen string value x not among options ['a', 'b']` |
//! | a value of another kind than its spec | `STATUS_INVALID_VALUE` | `Param value: 1.5\n has type <class 'bosdyn.api.service_customization_pb2.DoubleParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.Int64Param'>.` (the value in protobuf text format, as Python prints it) |
//! | a `CustomParam` with no value | `STATUS_INVALID_VALUE` | `Param has no value but the spec requires Int64Param.` |
//! | a list shorter / longer than its bounds | `STATUS_INVALID_VALUE` | `ListParam has 0 values, which is less than the required minimum value: 1\n` (the bound is an `Int64Value`, printed as Python prints it) |
//! | a list element of another kind | `STATUS_INVALID_TYPE` | `Value is defined as double_value at index 2 while the List Param Spec expects int_spec` |
//! | a one-of key the spec does not have | `STATUS_INVALID_VALUE` | `OneOf parameter value has nonexistent key of x` |
//! | a region of interest of a shape not allowed, negative image size | `STATUS_INVALID_VALUE` | `Chosen area is a rectangle despite not being allowed`, `Number of columns in image must be positive` |
//!
//! Keys absent from a value are fine: they take their defaults ([`default_dict_param`], as the
//! official `dict_spec_to_default`). Only the chosen key of a one-of is validated. Errors of
//! nested parameters are prefixed with their path as the official `_nested_error_message_helper`
//! does: `toggle param has error: ...`, then `outer.inner param has error: ...`, list elements
//! as `lst[1] param has error: ...`. With several errors, every message is kept and the status
//! is the last one's.
//!
//! Where the official code differs: it crashes on a `CustomParam` with no value or a spec with
//! no type (these are errors here); it visits maps in arbitrary order (sorted here, so messages
//! are stable); it names Python classes in type-mismatch messages (the message types here); it
//! prints list bounds as `value: 3\n` (as numbers here); and it tests a region's `rectangle`
//! for truth, which a Python message always is (here: whether the area is a rectangle).

mod defaults;
mod pyfmt;
mod pytext;
mod validate;
mod value;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::proto::bosdyn::api::custom_param_error::Status as ParamErrorStatus;
use crate::proto::bosdyn::api::{
    CustomParamError, DictParam, OneOfParam, dict_param, one_of_param,
};

pub use defaults::{
    default_custom_param, default_dict_param, default_one_of_param, dict_spec_with_defaults,
    merge_dict_param,
};
pub use spot_service_macros::{DictParams, OneOfParams};
pub use validate::{
    validate_custom_param_spec, validate_custom_param_value, validate_dict_spec,
    validate_dict_value, validate_one_of_spec, validate_one_of_value,
};
pub use value::{BooleanParam, FloatParam, NumericParam, OptionsParam, Param, ParamOptions};

/// A Rust type whose value is a `DictParam`: it has a spec (for the tablet's settings UI and
/// for validation), and parses a `DictParam` into itself after validating it against that spec.
///
/// Derive it with `#[derive(DictParams)]` on a struct with named fields.
pub trait DictParams: Sized + Send + Sync + 'static {
    /// The spec, built once and cached.
    fn dict_spec() -> &'static dict_param::Spec;

    /// Validates `value` against [`Self::dict_spec`] with the official rules, then parses it;
    /// keys absent from `value` take their defaults.
    fn from_dict_param(value: &DictParam) -> Result<Self, ParamError>;

    /// The value as a `DictParam` (every key present), e.g. for a client's request.
    fn to_dict_param(&self) -> DictParam;

    /// Checks [`Self::dict_spec`] with [`validate_dict_spec`]. The derive rejects at compile
    /// time every mistake its attributes' literals show (a default outside `min`..`max`, a
    /// default not among the options, ...); call this in a unit test to also check what only
    /// the built spec shows (specs of hand-written [`Param`] or [`DictParams`] impls).
    fn check_spec() -> Result<(), SpecError> {
        validate_dict_spec(Self::dict_spec())
    }

    /// Parses a value already validated against [`Self::dict_spec`] (e.g. as part of an
    /// enclosing value), without validating it again. By default, [`Self::from_dict_param`].
    fn from_validated_dict_param(value: &DictParam) -> Result<Self, ParamError> {
        Self::from_dict_param(value)
    }

    /// The spec's default value ([`default_dict_param`]), which an absent value stands for.
    /// Built at each call by default; the derive builds it once.
    fn default_dict_param() -> Cow<'static, DictParam> {
        Cow::Owned(default_dict_param(Self::dict_spec()))
    }
}

/// A Rust type whose value is a `OneOfParam`: one of several keys, each with its own
/// `DictParam`. Derive it with `#[derive(OneOfParams)]` on an enum.
pub trait OneOfParams: Sized + Send + Sync + 'static {
    /// The spec, built once and cached.
    fn one_of_spec() -> &'static one_of_param::Spec;

    /// Validates `value` against [`Self::one_of_spec`] with the official rules, then parses
    /// it; keys absent from the chosen dict take their defaults.
    fn from_one_of_param(value: &OneOfParam) -> Result<Self, ParamError>;

    /// The value as a `OneOfParam`: its key chosen, with its dict, and every other key's dict
    /// at its default.
    fn to_one_of_param(&self) -> OneOfParam;

    /// Checks [`Self::one_of_spec`] with [`validate_one_of_spec`] (see
    /// [`DictParams::check_spec`]).
    fn check_spec() -> Result<(), SpecError> {
        validate_one_of_spec(Self::one_of_spec())
    }

    /// Parses a value already validated against [`Self::one_of_spec`], without validating it
    /// again. By default, [`Self::from_one_of_param`].
    fn from_validated_one_of_param(value: &OneOfParam) -> Result<Self, ParamError> {
        Self::from_one_of_param(value)
    }

    /// The spec's default value ([`default_one_of_param`]), which an absent value stands for;
    /// `None` when the spec's `default_key` is not one of its keys. Built at each call by
    /// default; the derive builds it once.
    fn default_one_of_param() -> Option<Cow<'static, OneOfParam>> {
        default_one_of_param(Self::one_of_spec()).map(Cow::Owned)
    }
}

/// No parameters: an empty spec; a value with any key is refused
/// (`STATUS_UNSUPPORTED_PARAMETER`).
impl DictParams for () {
    fn dict_spec() -> &'static dict_param::Spec {
        static SPEC: OnceLock<dict_param::Spec> = OnceLock::new();
        SPEC.get_or_init(dict_param::Spec::default)
    }

    fn from_dict_param(value: &DictParam) -> Result<Self, ParamError> {
        validate_dict_value(Self::dict_spec(), value)
    }

    fn to_dict_param(&self) -> DictParam {
        DictParam::default()
    }
}

/// Why a `DictParam` value was refused: the status and the messages of a `CustomParamError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status:?}: {}", messages.join("; "))]
pub struct ParamError {
    /// `STATUS_UNSUPPORTED_PARAMETER`, `STATUS_INVALID_VALUE`, ...
    pub status: ParamErrorStatus,
    /// One message per problem, naming the parameter's path.
    pub messages: Vec<String>,
}

impl ParamError {
    /// An error with one message.
    pub fn new(status: ParamErrorStatus, message: impl Into<String>) -> Self {
        ParamError {
            status,
            messages: vec![message.into()],
        }
    }

    /// A `STATUS_INVALID_VALUE` error: a value its spec does not allow.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new(ParamErrorStatus::InvalidValue, message)
    }

    /// A `STATUS_UNSUPPORTED_PARAMETER` error: a key the spec does not have.
    pub fn unsupported_parameter(message: impl Into<String>) -> Self {
        Self::new(ParamErrorStatus::UnsupportedParameter, message)
    }

    /// A `STATUS_INVALID_TYPE` error: a list element of another kind than the list's.
    pub fn invalid_type(message: impl Into<String>) -> Self {
        Self::new(ParamErrorStatus::InvalidType, message)
    }

    /// The error of a child parameter as its parent reports it: each message prefixed with the
    /// child's name as the official `_nested_error_message_helper` does (`name param has error:
    /// ...`, then `outer.name param has error: ...`; a list index is named `[1]`).
    #[must_use]
    pub fn nested(self, child_name: &str) -> Self {
        ParamError {
            status: self.status,
            messages: validate::nest_messages(child_name, self.messages),
        }
    }

    /// The error as sent in responses (`custom_param_error`).
    pub fn to_proto(&self) -> CustomParamError {
        CustomParamError {
            status: self.status as i32,
            error_messages: self.messages.clone(),
        }
    }
}

impl From<ParamError> for CustomParamError {
    fn from(error: ParamError) -> Self {
        CustomParamError {
            status: error.status as i32,
            error_messages: error.messages,
        }
    }
}

/// Why a spec is invalid (see [`validate_dict_spec`]): one message per problem, naming the
/// parameter's path as value errors do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter spec: {}", messages.join("; "))]
pub struct SpecError {
    /// The problems, e.g. `speed param has error: Default Spec Value below allowed minimum
    /// Value`.
    pub messages: Vec<String>,
}

/// Items used by the code `#[derive(DictParams)]` and `#[derive(OneOfParams)]` generate. Not
/// public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::proto::bosdyn::api::{
        CustomParam, DictParam, OneOfParam, Units, custom_param, dict_param, one_of_param,
    };
    pub use core::clone::Clone;
    pub use core::option::Option::{self, None, Some};
    pub use core::result::Result::{self, Err, Ok};
    pub use std::borrow::Cow;
    pub use std::collections::HashMap;
    pub use std::string::String;
    pub use std::sync::OnceLock;
    pub use std::vec::Vec;

    pub use super::{
        BooleanParam, DictParams, FloatParam, NumericParam, OneOfParams, OptionsParam, Param,
        ParamError, ParamOptions, validate_dict_value, validate_one_of_value,
    };

    pub use super::{default_dict_param, default_one_of_param};
    use crate::proto::bosdyn::api::UserInterfaceInfo;
    use crate::proto::bosdyn::api::custom_param::{Value, spec::Spec as AnySpec};

    /// `min = 1`, `default = 1`: the literal as a value of the field's type (which must be
    /// numeric).
    pub fn int_literal<T: NumericParam>(value: T::IntLiteral) -> T {
        T::from_int_literal(value)
    }

    /// `min = 0.5`: the literal as a value of the field's type (which must be a float).
    pub fn float_literal<T: FloatParam>(value: f64) -> T {
        T::from_float_literal(value)
    }

    /// `default = "..."`: the literal as a value of the field's type (which must be a string).
    pub fn str_literal<T: OptionsParam>(value: &str) -> T {
        T::from_str_literal(value)
    }

    /// `default = true`: the literal as a value of the field's type (which must be a bool).
    pub fn bool_literal<T: BooleanParam>(value: bool) -> T {
        T::from_bool_literal(value)
    }

    /// `units = "..."`: only for numeric fields.
    pub fn units<T: NumericParam>(name: &str) -> Option<Units> {
        Some(Units {
            units: Some(crate::proto::bosdyn::api::units::Units::Name(
                name.to_owned(),
            )),
            is_relative: false,
        })
    }

    /// `options = [...]`: only for string fields.
    pub fn options<T: OptionsParam>(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    /// `editable`, `multiline`: only for string fields.
    pub fn string_flag<T: OptionsParam>(value: bool) -> bool {
        value
    }

    /// A dict's child spec with its UI info.
    pub fn dict_child(
        spec: custom_param::Spec,
        display_name: &str,
        description: &str,
        display_order: i64,
    ) -> dict_param::ChildSpec {
        dict_param::ChildSpec {
            spec: Some(spec),
            ui_info: Some(ui_info(display_name, description, display_order)),
        }
    }

    /// A one-of's child spec with its UI info.
    pub fn one_of_child(
        spec: dict_param::Spec,
        display_name: &str,
        description: &str,
        display_order: i64,
    ) -> one_of_param::ChildSpec {
        one_of_param::ChildSpec {
            spec: Some(spec),
            ui_info: Some(ui_info(display_name, description, display_order)),
        }
    }

    fn ui_info(display_name: &str, description: &str, display_order: i64) -> UserInterfaceInfo {
        UserInterfaceInfo {
            display_name: display_name.to_owned(),
            description: description.to_owned(),
            display_order,
        }
    }

    /// An empty dict spec, for lookups that find nothing.
    fn empty_dict_spec() -> &'static dict_param::Spec {
        static EMPTY: OnceLock<dict_param::Spec> = OnceLock::new();
        EMPTY.get_or_init(dict_param::Spec::default)
    }

    /// The value of `key` in a dict, if present.
    pub fn field_value<'a>(value: &'a DictParam, key: &str) -> Option<&'a CustomParam> {
        value.values.get(key)
    }

    /// The spec of `key` in a dict spec (an empty spec if there is none).
    pub fn field_spec<'a>(spec: &'a dict_param::Spec, key: &str) -> &'a custom_param::Spec {
        static EMPTY: OnceLock<custom_param::Spec> = OnceLock::new();
        spec.specs
            .get(key)
            .and_then(|child| child.spec.as_ref())
            .unwrap_or_else(|| EMPTY.get_or_init(custom_param::Spec::default))
    }

    /// The `CustomParam.Spec` of a `DictParams` type.
    pub fn dict_param_spec<T: DictParams>() -> custom_param::Spec {
        custom_param::Spec {
            spec: Some(AnySpec::DictSpec(T::dict_spec().clone())),
        }
    }

    /// A `DictParams` type from a validated `CustomParam` (its default when absent).
    pub fn dict_from_param<T: DictParams>(value: Option<&CustomParam>) -> Result<T, ParamError> {
        match value.map(|value| &value.value) {
            None => T::from_validated_dict_param(&T::default_dict_param()),
            Some(Some(Value::DictValue(value))) => T::from_validated_dict_param(value),
            Some(other) => Err(wrong_kind(&dict_param_spec::<T>(), other.as_ref())),
        }
    }

    /// A `DictParams` value as a `CustomParam`.
    pub fn dict_to_param<T: DictParams>(value: &T) -> CustomParam {
        CustomParam {
            value: Some(Value::DictValue(value.to_dict_param())),
        }
    }

    /// The `CustomParam.Spec` of a `OneOfParams` type.
    pub fn one_of_param_spec<T: OneOfParams>() -> custom_param::Spec {
        custom_param::Spec {
            spec: Some(AnySpec::OneOfSpec(T::one_of_spec().clone())),
        }
    }

    /// A `OneOfParams` type from a validated `CustomParam` (its default when absent).
    pub fn one_of_from_param<T: OneOfParams>(value: Option<&CustomParam>) -> Result<T, ParamError> {
        match value.map(|value| &value.value) {
            None => match T::default_one_of_param() {
                Some(default) => T::from_validated_one_of_param(&default),
                None => Err(ParamError::invalid_value(format!(
                    "OneOf parameter has nonexistent default key of {}",
                    T::one_of_spec().default_key
                ))),
            },
            Some(Some(Value::OneOfValue(value))) => T::from_validated_one_of_param(value),
            Some(other) => Err(wrong_kind(&one_of_param_spec::<T>(), other.as_ref())),
        }
    }

    /// A `OneOfParams` value as a `CustomParam`.
    pub fn one_of_to_param<T: OneOfParams>(value: &T) -> CustomParam {
        CustomParam {
            value: Some(Value::OneOfValue(value.to_one_of_param())),
        }
    }

    fn wrong_kind(spec: &custom_param::Spec, value: Option<&Value>) -> ParamError {
        match (&spec.spec, value) {
            (Some(spec), Some(value)) => super::validate::type_mismatch(spec, value),
            (Some(spec), None) => ParamError::invalid_value(format!(
                "Param has no value but the spec requires {}.",
                super::validate::Kind::of_spec(spec).proto_name()
            )),
            (None, _) => ParamError::invalid_value(super::validate::NO_SPEC_TYPE),
        }
    }

    /// The dict spec of the one-of's `key` (empty if there is none).
    pub fn one_of_child_spec<'a>(spec: &'a one_of_param::Spec, key: &str) -> &'a dict_param::Spec {
        spec.specs
            .get(key)
            .and_then(|child| child.spec.as_ref())
            .unwrap_or_else(|| empty_dict_spec())
    }

    /// The chosen key's dict of a one-of value (empty if it is absent).
    pub fn chosen_dict(value: &OneOfParam) -> &DictParam {
        static EMPTY: OnceLock<DictParam> = OnceLock::new();
        value
            .values
            .get(&value.key)
            .unwrap_or_else(|| EMPTY.get_or_init(DictParam::default))
    }

    /// The error for a one-of key no variant has (a value that was not validated).
    pub fn nonexistent_key(key: &str) -> ParamError {
        ParamError::invalid_value(format!(
            "OneOf parameter value has nonexistent key of {key}"
        ))
    }

    /// A one-of value with `key` chosen and its `dict`, every other key's dict at its default.
    pub fn one_of_value(spec: &one_of_param::Spec, key: &str, dict: DictParam) -> OneOfParam {
        let mut values: HashMap<String, DictParam> = spec
            .specs
            .iter()
            .filter(|(other, _)| other.as_str() != key)
            .map(|(other, child)| {
                let default = child
                    .spec
                    .as_ref()
                    .map(default_dict_param)
                    .unwrap_or_default();
                (other.clone(), default)
            })
            .collect();
        values.insert(key.to_owned(), dict);
        OneOfParam {
            key: key.to_owned(),
            values,
        }
    }
}
