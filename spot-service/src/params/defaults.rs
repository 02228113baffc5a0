//! Default values of specs, as the official `dict_spec_to_default` and friends build them (a
//! key missing from a received `DictParam` takes its default); specs with other defaults, and
//! values merged over defaults.

use super::SpecError;
use super::validate::nest_messages;
use crate::proto::bosdyn::api::custom_param::{Value, spec::Spec as AnySpec};
use crate::proto::bosdyn::api::{
    BoolParam, CustomParam, DictParam, DoubleParam, Int64Param, ListParam, OneOfParam,
    RegionOfInterestParam, StringParam, custom_param, dict_param, double_param, int64_param,
    list_param, one_of_param, region_of_interest_param, string_param,
};

/// The most elements a default list gets (its `min_number_of_values`, capped so that an absurd
/// spec cannot exhaust memory).
const MAX_DEFAULT_LIST_LEN: i64 = 1 << 16;

/// The default value of a dict spec: every key whose spec has a default (see
/// [`default_custom_param`]) set to it.
pub fn default_dict_param(spec: &dict_param::Spec) -> DictParam {
    let values = spec
        .specs
        .iter()
        .filter_map(|(key, child)| {
            let default = default_custom_param(child.spec.as_ref()?)?;
            Some((key.clone(), default))
        })
        .collect();
    DictParam { values }
}

/// The default value of a spec, or `None` when the spec has none: a region of interest that does
/// not allow rectangles, a one-of whose `default_key` is not one of its keys, a spec with no
/// type.
///
/// - int and double: `default_value`, else `min_value`, else `max_value`, else 0;
/// - string: `default_value` if not empty, else the first option, else `""`;
/// - bool: `default_value`, else `false`;
/// - dict: [`default_dict_param`]; one-of: [`default_one_of_param`];
/// - list: `min_number_of_values` copies of the element's default (none if the element has no
///   default);
/// - region of interest: `default_area` and `service_and_source`.
pub fn default_custom_param(spec: &custom_param::Spec) -> Option<CustomParam> {
    let value = match spec.spec.as_ref()? {
        AnySpec::DictSpec(spec) => Value::DictValue(default_dict_param(spec)),
        AnySpec::ListSpec(spec) => Value::ListValue(default_list(spec)),
        AnySpec::IntSpec(spec) => Value::IntValue(Int64Param {
            value: default_int(spec),
        }),
        AnySpec::DoubleSpec(spec) => Value::DoubleValue(DoubleParam {
            value: default_double(spec),
        }),
        AnySpec::StringSpec(spec) => Value::StringValue(StringParam {
            value: default_string(spec),
        }),
        AnySpec::RoiSpec(spec) => Value::RoiValue(default_roi(spec)?),
        AnySpec::BoolSpec(spec) => Value::BoolValue(BoolParam {
            value: spec.default_value.unwrap_or(false),
        }),
        AnySpec::OneOfSpec(spec) => Value::OneOfValue(default_one_of_param(spec)?),
    };
    Some(CustomParam { value: Some(value) })
}

/// The default value of a one-of spec: `default_key` chosen, and every key's dict at its
/// default; `None` when `default_key` is not one of the keys (as officially, an empty
/// `default_key` is not "the first key").
pub fn default_one_of_param(spec: &one_of_param::Spec) -> Option<OneOfParam> {
    if !spec.specs.contains_key(&spec.default_key) {
        return None;
    }
    let values = spec
        .specs
        .iter()
        .map(|(key, child)| {
            let value = child
                .spec
                .as_ref()
                .map(default_dict_param)
                .unwrap_or_default();
            (key.clone(), value)
        })
        .collect();
    Some(OneOfParam {
        key: spec.default_key.clone(),
        values,
    })
}

pub(crate) fn default_int(spec: &int64_param::Spec) -> i64 {
    spec.default_value
        .or(spec.min_value)
        .or(spec.max_value)
        .unwrap_or(0)
}

pub(crate) fn default_double(spec: &double_param::Spec) -> f64 {
    spec.default_value
        .or(spec.min_value)
        .or(spec.max_value)
        .unwrap_or(0.0)
}

pub(crate) fn default_string(spec: &string_param::Spec) -> String {
    if !spec.default_value.is_empty() {
        spec.default_value.clone()
    } else {
        spec.options.first().cloned().unwrap_or_default()
    }
}

fn default_list(spec: &list_param::Spec) -> ListParam {
    let element = spec.element_spec.as_deref().and_then(default_custom_param);
    let count = spec
        .min_number_of_values
        .unwrap_or(0)
        .clamp(0, MAX_DEFAULT_LIST_LEN);
    let values = match element {
        // In range: clamped to [0, 2^16].
        Some(element) => vec![element; usize::try_from(count).unwrap_or(0)],
        None => Vec::new(),
    };
    ListParam { values }
}

fn default_roi(spec: &region_of_interest_param::Spec) -> Option<RegionOfInterestParam> {
    if !spec.allows_rectangle {
        return None;
    }
    Some(RegionOfInterestParam {
        area: spec.default_area.clone(),
        service_and_source: spec.service_and_source.clone(),
        ..Default::default()
    })
}

/// `spec` with the defaults that `defaults` gives, e.g. a device's settings as found at
/// start-up: each key of `defaults` sets the `default_value` of its int, double, string or bool
/// spec, the `default_area` of its region of interest, and, recursively, the defaults inside
/// its dict, or the `default_key` and the dicts' defaults of its one-of. A list spec has no
/// default of its own (its default is `min_number_of_values` copies of its element's), so a
/// list value is left out. Keys absent from `defaults` keep their spec's default.
///
/// # Errors
///
/// A key of `defaults` that `spec` does not have, a value whose type is not its spec's, and
/// every problem [`validate_dict_spec`](super::validate_dict_spec) finds in the result (e.g. a
/// default outside `min_value`..`max_value`); each message names the parameter's path.
pub fn dict_spec_with_defaults(
    spec: &dict_param::Spec,
    defaults: &DictParam,
) -> Result<dict_param::Spec, SpecError> {
    let mut spec = spec.clone();
    let messages = set_dict_defaults(&mut spec, defaults);
    if !messages.is_empty() {
        return Err(SpecError { messages });
    }
    super::validate_dict_spec(&spec)?;
    Ok(spec)
}

/// Sets `spec`'s defaults from `defaults`; returns what did not fit.
fn set_dict_defaults(spec: &mut dict_param::Spec, defaults: &DictParam) -> Vec<String> {
    let mut messages = Vec::new();
    for (key, value) in &defaults.values {
        let child = spec
            .specs
            .get_mut(key)
            .and_then(|child| child.spec.as_mut())
            .and_then(|spec| spec.spec.as_mut());
        let problems = match (child, value.value.as_ref()) {
            (None, _) => vec!["no such parameter in the spec".to_owned()],
            (Some(_), None) => Vec::new(),
            (Some(spec), Some(value)) => set_default(spec, value),
        };
        messages.extend(nest_messages(key, problems));
    }
    messages
}

/// Sets one spec's default from `value`; returns what did not fit.
fn set_default(spec: &mut AnySpec, value: &Value) -> Vec<String> {
    match (spec, value) {
        (AnySpec::IntSpec(spec), Value::IntValue(value)) => spec.default_value = Some(value.value),
        (AnySpec::DoubleSpec(spec), Value::DoubleValue(value)) => {
            spec.default_value = Some(value.value);
        }
        (AnySpec::StringSpec(spec), Value::StringValue(value)) => {
            spec.default_value.clone_from(&value.value);
        }
        (AnySpec::BoolSpec(spec), Value::BoolValue(value)) => {
            spec.default_value = Some(value.value)
        }
        (AnySpec::RoiSpec(spec), Value::RoiValue(value)) => {
            spec.default_area.clone_from(&value.area);
        }
        (AnySpec::DictSpec(spec), Value::DictValue(value)) => {
            return set_dict_defaults(spec, value);
        }
        (AnySpec::OneOfSpec(spec), Value::OneOfValue(value)) => {
            return set_one_of_defaults(spec, value);
        }
        (AnySpec::ListSpec(_), Value::ListValue(_)) => {}
        _ => return vec!["the default's type is not the spec's".to_owned()],
    }
    Vec::new()
}

/// Sets a one-of spec's `default_key` (unless `value`'s key is empty) and its dicts' defaults.
fn set_one_of_defaults(spec: &mut one_of_param::Spec, value: &OneOfParam) -> Vec<String> {
    let mut messages = Vec::new();
    if !value.key.is_empty() {
        if spec.specs.contains_key(&value.key) {
            spec.default_key.clone_from(&value.key);
        } else {
            messages.push(format!("no such key in the spec: {}", value.key));
        }
    }
    for (key, defaults) in &value.values {
        let problems = match spec.specs.get_mut(key) {
            Some(child) => set_dict_defaults(child.spec.get_or_insert_default(), defaults),
            None => vec!["no such key in the spec".to_owned()],
        };
        messages.extend(nest_messages(key, problems));
    }
    messages
}

/// `over`'s values on top of `base`'s: dicts are merged key by key, recursively; a one-of takes
/// `over`'s key, and its dicts are merged key by key; any other value of `over` replaces
/// `base`'s. A request's parameters on top of the defaults it leaves out, for example.
pub fn merge_dict_param(base: &DictParam, over: &DictParam) -> DictParam {
    let mut merged = base.clone();
    for (key, value) in &over.values {
        let slot = merged.values.entry(key.clone()).or_default();
        match (slot.value.as_mut(), value.value.as_ref()) {
            (Some(Value::DictValue(base)), Some(Value::DictValue(over))) => {
                *base = merge_dict_param(base, over);
            }
            (Some(Value::OneOfValue(base)), Some(Value::OneOfValue(over))) => {
                base.key.clone_from(&over.key);
                for (key, over) in &over.values {
                    let dict = base.values.entry(key.clone()).or_default();
                    *dict = merge_dict_param(dict, over);
                }
            }
            _ => slot.clone_from(value),
        }
    }
    merged
}
