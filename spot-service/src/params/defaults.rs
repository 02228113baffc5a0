//! Default values of specs, as the official `dict_spec_to_default` and friends build them. A
//! key missing from a received `DictParam` takes its default.

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
