//! Field-level parameters: [`Param`], the conversion between one Rust value and one
//! `CustomParam`, and the marker traits that let the derives reject mismatched attributes at
//! compile time.

use super::ParamError;
use super::defaults;
use super::pyfmt;
use super::validate::{Kind, NO_SPEC_TYPE, type_mismatch};
use crate::proto::bosdyn::api::custom_param::{Value, spec::Spec as AnySpec};
use crate::proto::bosdyn::api::{
    BoolParam, CustomParam, DoubleParam, Int64Param, StringParam, Units, bool_param, custom_param,
    double_param, int64_param, string_param,
};

/// A Rust type that is one custom parameter: a field of a `#[derive(DictParams)]` struct or of a
/// variant of a `#[derive(OneOfParams)]` enum.
///
/// Implemented for `i64` and `i32` (an `int_spec`), `f64` and `f32` (a `double_spec`), `String`
/// (a `string_spec`) and `bool` (a `bool_spec`), and by the derives for structs (a `dict_spec`)
/// and enums (a `one_of_spec`). Implement it (and the marker traits [`NumericParam`],
/// [`FloatParam`], [`OptionsParam`], [`BooleanParam`] as they apply) for your own types, e.g. a
/// newtype around `f64`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a custom parameter",
    label = "not a parameter type",
    note = "parameter fields are i64, i32, f64, f32, String, bool, a struct deriving `DictParams`, an enum deriving `OneOfParams`, or a type implementing `spot_service::params::Param`"
)]
pub trait Param: Sized {
    /// The parameter's spec, from the field's `#[param(...)]` options. Options that do not apply
    /// to the type are ignored (the derives reject them at compile time).
    fn param_spec(options: ParamOptions<Self>) -> custom_param::Spec;

    /// The value of a parameter already validated against `spec` (see
    /// [`validate_custom_param_value`](super::validate_custom_param_value)); `None` (the key is
    /// absent) gives the spec's default. Never panics: a value of the wrong kind is an error.
    fn from_param(
        value: Option<&CustomParam>,
        spec: &custom_param::Spec,
    ) -> Result<Self, ParamError>;

    /// The value as a `CustomParam`.
    fn to_param(&self) -> CustomParam;
}

/// The options of one parameter, from its `#[param(...)]` attribute: what
/// [`Param::param_spec`] builds the spec from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamOptions<T> {
    /// `default = ...`: the default value (else the type's zero: 0, 0.0, `false`, and for a
    /// string `""`, or its first option).
    pub default: Option<T>,
    /// `min = ...`: the smallest value allowed (numbers).
    pub min: Option<T>,
    /// `max = ...`: the largest value allowed (numbers).
    pub max: Option<T>,
    /// `units = "..."`: the units shown next to the value (numbers).
    pub units: Option<Units>,
    /// `options = [...]`: the values offered (strings).
    pub options: Vec<String>,
    /// `editable`: whether a string other than the options may be entered.
    pub editable: bool,
    /// `multiline`: whether a string is edited on several lines.
    pub multiline: bool,
}

impl<T> Default for ParamOptions<T> {
    fn default() -> Self {
        ParamOptions {
            default: None,
            min: None,
            max: None,
            units: None,
            options: Vec::new(),
            editable: false,
            multiline: false,
        }
    }
}

/// A numeric parameter: the only kind `min`, `max`, `units` and number `default`s apply to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a numeric parameter",
    label = "`min`, `max`, `units` and number `default`s need an i64, i32, f64 or f32 field",
    note = "`min`, `max` and `units` apply only to numeric parameters; a `String` takes `default = \"...\"`, a `bool` `default = true`"
)]
pub trait NumericParam: Param {
    /// The type an integer literal (`min = 1`) is written in for this parameter: `i64` for
    /// `i64` and `f64`, `i32` for `i32` and `f32` (so that out-of-range literals are compile
    /// errors).
    type IntLiteral;

    /// The value of an integer literal.
    fn from_int_literal(value: Self::IntLiteral) -> Self;
}

/// A floating-point parameter: one that takes floating-point literals (`min = 0.5`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not take floating-point values",
    label = "floating-point literals need an f64 or f32 field",
    note = "floating-point `min`, `max` and `default`s need an f64 or f32 field; integer parameters take integer literals (`min = 1`)"
)]
pub trait FloatParam: NumericParam {
    /// The value of a floating-point literal.
    fn from_float_literal(value: f64) -> Self;
}

/// A string parameter: the only kind `options`, `editable`, `multiline` and string `default`s
/// apply to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a string parameter",
    label = "`options`, `editable`, `multiline` and string `default`s need a `String` field",
    note = "`options`, `editable` and `multiline` apply only to `String` parameters"
)]
pub trait OptionsParam: Param {
    /// The value of a string literal.
    fn from_str_literal(value: &str) -> Self;
}

/// A boolean parameter: the only kind `default = true` / `default = false` applies to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a boolean parameter",
    label = "`default = true` / `default = false` need a `bool` field"
)]
pub trait BooleanParam: Param {
    /// The value of a boolean literal.
    fn from_bool_literal(value: bool) -> Self;
}

/// The error for a spec of another kind than the field's type (not a user's mistake: a
/// hand-written spec that does not match its Rust type).
fn spec_mismatch(spec: &custom_param::Spec, wanted: Kind) -> ParamError {
    match &spec.spec {
        Some(spec) => ParamError::invalid_value(format!(
            "Param spec is a {} spec but the field is a {}.",
            Kind::of_spec(spec).proto_name(),
            wanted.proto_name()
        )),
        None => ParamError::invalid_value(NO_SPEC_TYPE),
    }
}

/// The value of `value` (or the default of `spec`) when both are of kind `wanted`; `extract`
/// takes the kind's value, `default` builds the default from the kind's spec.
fn scalar<S, V, T>(
    value: Option<&CustomParam>,
    spec: &custom_param::Spec,
    wanted: Kind,
    spec_of: impl Fn(&AnySpec) -> Option<&S>,
    value_of: impl Fn(&Value) -> Option<&V>,
    default: impl Fn(&S) -> T,
    extract: impl Fn(&V) -> T,
) -> Result<T, ParamError> {
    let Some((any_spec, kind_spec)) = spec
        .spec
        .as_ref()
        .and_then(|any_spec| Some((any_spec, spec_of(any_spec)?)))
    else {
        return Err(spec_mismatch(spec, wanted));
    };
    let Some(value) = value else {
        return Ok(default(kind_spec));
    };
    match value.value.as_ref() {
        Some(inner) => match value_of(inner) {
            Some(inner) => Ok(extract(inner)),
            None => Err(type_mismatch(any_spec, inner)),
        },
        None => Err(ParamError::invalid_value(format!(
            "Param has no value but the spec requires {}.",
            wanted.proto_name()
        ))),
    }
}

fn int_spec(options: &ParamOptions<i64>) -> custom_param::Spec {
    custom_param::Spec {
        spec: Some(AnySpec::IntSpec(int64_param::Spec {
            default_value: Some(options.default.unwrap_or(0)),
            units: options.units.clone(),
            min_value: options.min,
            max_value: options.max,
        })),
    }
}

fn int_value(value: Option<&CustomParam>, spec: &custom_param::Spec) -> Result<i64, ParamError> {
    scalar(
        value,
        spec,
        Kind::Int,
        |spec| match spec {
            AnySpec::IntSpec(spec) => Some(spec),
            _ => None,
        },
        |value| match value {
            Value::IntValue(value) => Some(value),
            _ => None,
        },
        defaults::default_int,
        |value| value.value,
    )
}

fn double_spec(options: &ParamOptions<f64>) -> custom_param::Spec {
    custom_param::Spec {
        spec: Some(AnySpec::DoubleSpec(double_param::Spec {
            default_value: Some(options.default.unwrap_or(0.0)),
            units: options.units.clone(),
            min_value: options.min,
            max_value: options.max,
        })),
    }
}

fn double_value(value: Option<&CustomParam>, spec: &custom_param::Spec) -> Result<f64, ParamError> {
    scalar(
        value,
        spec,
        Kind::Double,
        |spec| match spec {
            AnySpec::DoubleSpec(spec) => Some(spec),
            _ => None,
        },
        |value| match value {
            Value::DoubleValue(value) => Some(value),
            _ => None,
        },
        defaults::default_double,
        |value| value.value,
    )
}

/// Options of a narrower type as options of a wider one.
fn widen<T, U>(options: ParamOptions<T>, f: impl Fn(T) -> U) -> ParamOptions<U> {
    ParamOptions {
        default: options.default.map(&f),
        min: options.min.map(&f),
        max: options.max.map(&f),
        units: options.units,
        options: options.options,
        editable: options.editable,
        multiline: options.multiline,
    }
}

impl Param for i64 {
    fn param_spec(options: ParamOptions<Self>) -> custom_param::Spec {
        int_spec(&options)
    }

    fn from_param(
        value: Option<&CustomParam>,
        spec: &custom_param::Spec,
    ) -> Result<Self, ParamError> {
        int_value(value, spec)
    }

    fn to_param(&self) -> CustomParam {
        CustomParam {
            value: Some(Value::IntValue(Int64Param { value: *self })),
        }
    }
}

impl NumericParam for i64 {
    type IntLiteral = i64;

    fn from_int_literal(value: i64) -> Self {
        value
    }
}

/// An `int_spec` like `i64`'s; a value outside the `i32` range is refused when extracted
/// (`Value 3000000000 above max_bound 2147483647`), as the spec cannot say it.
impl Param for i32 {
    fn param_spec(options: ParamOptions<Self>) -> custom_param::Spec {
        int_spec(&widen(options, i64::from))
    }

    fn from_param(
        value: Option<&CustomParam>,
        spec: &custom_param::Spec,
    ) -> Result<Self, ParamError> {
        let value = int_value(value, spec)?;
        i32::try_from(value).map_err(|_| {
            let (side, bound) = if value < 0 {
                ("below min_bound", i32::MIN)
            } else {
                ("above max_bound", i32::MAX)
            };
            ParamError::invalid_value(format!("Value {value} {side} {bound}"))
        })
    }

    fn to_param(&self) -> CustomParam {
        i64::from(*self).to_param()
    }
}

impl NumericParam for i32 {
    type IntLiteral = i32;

    fn from_int_literal(value: i32) -> Self {
        value
    }
}

impl Param for f64 {
    fn param_spec(options: ParamOptions<Self>) -> custom_param::Spec {
        double_spec(&options)
    }

    fn from_param(
        value: Option<&CustomParam>,
        spec: &custom_param::Spec,
    ) -> Result<Self, ParamError> {
        double_value(value, spec)
    }

    fn to_param(&self) -> CustomParam {
        CustomParam {
            value: Some(Value::DoubleValue(DoubleParam { value: *self })),
        }
    }
}

impl NumericParam for f64 {
    type IntLiteral = i64;

    fn from_int_literal(value: i64) -> Self {
        // Exact up to 2^53, the nearest double beyond: what the literal means.
        value as f64
    }
}

impl FloatParam for f64 {
    fn from_float_literal(value: f64) -> Self {
        value
    }
}

/// A `double_spec` like `f64`'s; a finite value beyond the `f32` range is refused when
/// extracted (`Value 1e+300 above max_bound 3.4028234663852886e+38`), others are rounded to
/// the nearest `f32`.
impl Param for f32 {
    fn param_spec(options: ParamOptions<Self>) -> custom_param::Spec {
        double_spec(&widen(options, f64::from))
    }

    fn from_param(
        value: Option<&CustomParam>,
        spec: &custom_param::Spec,
    ) -> Result<Self, ParamError> {
        let value = double_value(value, spec)?;
        let (min, max) = (f64::from(f32::MIN), f64::from(f32::MAX));
        if value.is_finite() && value < min {
            return Err(ParamError::invalid_value(format!(
                "Value {} below min_bound {}",
                pyfmt::float(value),
                pyfmt::float(min)
            )));
        }
        if value.is_finite() && value > max {
            return Err(ParamError::invalid_value(format!(
                "Value {} above max_bound {}",
                pyfmt::float(value),
                pyfmt::float(max)
            )));
        }
        // In range (or not finite): rounding to the nearest `f32` is the conversion wanted.
        Ok(value as f32)
    }

    fn to_param(&self) -> CustomParam {
        f64::from(*self).to_param()
    }
}

impl NumericParam for f32 {
    type IntLiteral = i32;

    fn from_int_literal(value: i32) -> Self {
        // The nearest `f32`: what the literal means.
        value as f32
    }
}

impl FloatParam for f32 {
    fn from_float_literal(value: f64) -> Self {
        // The nearest `f32`: what the literal means.
        value as f32
    }
}

/// A `string_spec`; without a `default`, the default is the first option (or `""`).
impl Param for String {
    fn param_spec(options: ParamOptions<Self>) -> custom_param::Spec {
        let default_value = match options.default {
            Some(default) => default,
            None => options.options.first().cloned().unwrap_or_default(),
        };
        custom_param::Spec {
            spec: Some(AnySpec::StringSpec(string_param::Spec {
                options: options.options,
                editable: options.editable,
                default_value,
                is_multiline: options.multiline,
            })),
        }
    }

    fn from_param(
        value: Option<&CustomParam>,
        spec: &custom_param::Spec,
    ) -> Result<Self, ParamError> {
        scalar(
            value,
            spec,
            Kind::String,
            |spec| match spec {
                AnySpec::StringSpec(spec) => Some(spec),
                _ => None,
            },
            |value| match value {
                Value::StringValue(value) => Some(value),
                _ => None,
            },
            defaults::default_string,
            |value| value.value.clone(),
        )
    }

    fn to_param(&self) -> CustomParam {
        CustomParam {
            value: Some(Value::StringValue(StringParam {
                value: self.clone(),
            })),
        }
    }
}

impl OptionsParam for String {
    fn from_str_literal(value: &str) -> Self {
        value.to_owned()
    }
}

impl Param for bool {
    fn param_spec(options: ParamOptions<Self>) -> custom_param::Spec {
        custom_param::Spec {
            spec: Some(AnySpec::BoolSpec(bool_param::Spec {
                default_value: Some(options.default.unwrap_or(false)),
            })),
        }
    }

    fn from_param(
        value: Option<&CustomParam>,
        spec: &custom_param::Spec,
    ) -> Result<Self, ParamError> {
        scalar(
            value,
            spec,
            Kind::Bool,
            |spec| match spec {
                AnySpec::BoolSpec(spec) => Some(spec),
                _ => None,
            },
            |value| match value {
                Value::BoolValue(value) => Some(value),
                _ => None,
            },
            |spec| spec.default_value.unwrap_or(false),
            |value| value.value,
        )
    }

    fn to_param(&self) -> CustomParam {
        CustomParam {
            value: Some(Value::BoolValue(BoolParam { value: *self })),
        }
    }
}

impl BooleanParam for bool {
    fn from_bool_literal(value: bool) -> Self {
        value
    }
}
