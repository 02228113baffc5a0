//! Tests of the validation rules, defaults, field conversions and the derives.

use super::*;
use crate::proto::bosdyn::api::custom_param::{Value, spec::Spec as AnySpec};
use crate::proto::bosdyn::api::{
    AreaI, BoolParam, CustomParam, DoubleParam, Int64Param, ListParam, PolygonI, RectangleI,
    RegionOfInterestParam, StringParam, Vec2I, area_i, bool_param, custom_param, double_param,
    int64_param, list_param, region_of_interest_param, string_param,
};

// ---- Builders -------------------------------------------------------------------------------

fn spec(kind: AnySpec) -> custom_param::Spec {
    custom_param::Spec { spec: Some(kind) }
}

fn child(kind: AnySpec) -> dict_param::ChildSpec {
    dict_param::ChildSpec {
        spec: Some(spec(kind)),
        ui_info: None,
    }
}

fn dict_spec(children: Vec<(&str, AnySpec)>) -> dict_param::Spec {
    dict_param::Spec {
        specs: children
            .into_iter()
            .map(|(key, kind)| (key.to_owned(), child(kind)))
            .collect(),
        is_hidden_by_default: false,
    }
}

fn int_spec(default: Option<i64>, min: Option<i64>, max: Option<i64>) -> AnySpec {
    AnySpec::IntSpec(int64_param::Spec {
        default_value: default,
        units: None,
        min_value: min,
        max_value: max,
    })
}

fn double_spec(default: Option<f64>, min: Option<f64>, max: Option<f64>) -> AnySpec {
    AnySpec::DoubleSpec(double_param::Spec {
        default_value: default,
        units: None,
        min_value: min,
        max_value: max,
    })
}

fn string_spec(options: &[&str], editable: bool, default: &str) -> AnySpec {
    AnySpec::StringSpec(string_param::Spec {
        options: options.iter().map(|o| (*o).to_owned()).collect(),
        editable,
        default_value: default.to_owned(),
        is_multiline: false,
    })
}

fn bool_spec(default: Option<bool>) -> AnySpec {
    AnySpec::BoolSpec(bool_param::Spec {
        default_value: default,
    })
}

fn list_spec(element: Option<AnySpec>, min: Option<i64>, max: Option<i64>) -> AnySpec {
    AnySpec::ListSpec(Box::new(list_param::Spec {
        element_spec: element.map(|kind| Box::new(spec(kind))),
        min_number_of_values: min,
        max_number_of_values: max,
    }))
}

fn one_of_spec(default_key: &str, children: Vec<(&str, dict_param::Spec)>) -> AnySpec {
    AnySpec::OneOfSpec(one_of_param::Spec {
        specs: children
            .into_iter()
            .map(|(key, spec)| {
                (
                    key.to_owned(),
                    one_of_param::ChildSpec {
                        spec: Some(spec),
                        ui_info: None,
                    },
                )
            })
            .collect(),
        default_key: default_key.to_owned(),
    })
}

fn roi_spec(rectangle: bool, polygon: bool, default_area: Option<AreaI>) -> AnySpec {
    AnySpec::RoiSpec(region_of_interest_param::Spec {
        service_and_source: None,
        default_area,
        allows_rectangle: rectangle,
        allows_polygon: polygon,
    })
}

fn int(value: i64) -> CustomParam {
    CustomParam {
        value: Some(Value::IntValue(Int64Param { value })),
    }
}

fn double(value: f64) -> CustomParam {
    CustomParam {
        value: Some(Value::DoubleValue(DoubleParam { value })),
    }
}

fn string(value: &str) -> CustomParam {
    CustomParam {
        value: Some(Value::StringValue(StringParam {
            value: value.to_owned(),
        })),
    }
}

fn boolean(value: bool) -> CustomParam {
    CustomParam {
        value: Some(Value::BoolValue(BoolParam { value })),
    }
}

fn dict(values: Vec<(&str, CustomParam)>) -> DictParam {
    DictParam {
        values: values
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    }
}

fn dict_value(values: Vec<(&str, CustomParam)>) -> CustomParam {
    CustomParam {
        value: Some(Value::DictValue(dict(values))),
    }
}

fn list(values: Vec<CustomParam>) -> CustomParam {
    CustomParam {
        value: Some(Value::ListValue(ListParam { values })),
    }
}

fn one_of(key: &str, values: Vec<(&str, DictParam)>) -> CustomParam {
    CustomParam {
        value: Some(Value::OneOfValue(OneOfParam {
            key: key.to_owned(),
            values: values
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        })),
    }
}

fn rectangle() -> AreaI {
    AreaI {
        geometry: Some(area_i::Geometry::Rectangle(RectangleI {
            x: 0,
            y: 0,
            cols: 10,
            rows: 10,
        })),
    }
}

fn polygon(vertices: usize) -> AreaI {
    AreaI {
        geometry: Some(area_i::Geometry::Polygon(PolygonI {
            vertices: vec![Vec2I { x: 1, y: 2 }; vertices],
        })),
    }
}

fn roi(area: Option<AreaI>, cols: i32, rows: i32) -> CustomParam {
    CustomParam {
        value: Some(Value::RoiValue(RegionOfInterestParam {
            area,
            service_and_source: None,
            image_cols: cols,
            image_rows: rows,
        })),
    }
}

use ParamErrorStatus as S;

/// Validates `value` against `spec` and returns the error's status and messages.
fn check(spec: &dict_param::Spec, value: DictParam) -> Result<(), (S, Vec<String>)> {
    validate_dict_value(spec, &value).map_err(|error| (error.status, error.messages))
}

fn err(status: S, messages: &[&str]) -> Result<(), (S, Vec<String>)> {
    Err((
        status,
        messages
            .iter()
            .map(|message| (*message).to_owned())
            .collect(),
    ))
}

fn spec_errors(spec: &dict_param::Spec) -> Vec<String> {
    validate_dict_spec(spec)
        .err()
        .map(|error| error.messages)
        .unwrap_or_default()
}

// ---- Value validation -----------------------------------------------------------------------

#[test]
fn unknown_keys_are_unsupported_and_named() {
    let spec = dict_spec(vec![("a", int_spec(None, None, None))]);
    assert_eq!(
        check(
            &spec,
            dict(vec![("zed", int(1)), ("b", int(1)), ("a", int(1))])
        ),
        err(
            S::UnsupportedParameter,
            &["DictParam value contains keys {'b', 'zed'} not present in the spec."]
        )
    );
    // Nothing else is checked then: `a` is out of... no bounds here, but a wrong type is not
    // reported either.
    assert_eq!(
        check(&spec, dict(vec![("x", int(1)), ("a", double(1.0))])),
        err(
            S::UnsupportedParameter,
            &["DictParam value contains keys {'x'} not present in the spec."]
        )
    );
}

#[test]
fn missing_keys_are_fine() {
    let spec = dict_spec(vec![
        ("a", int_spec(Some(5), Some(1), Some(9))),
        ("b", string_spec(&["x"], false, "x")),
    ]);
    assert_eq!(check(&spec, DictParam::default()), Ok(()));
    assert_eq!(check(&spec, dict(vec![("a", int(9))])), Ok(()));
}

#[test]
fn int_bounds() {
    let spec = dict_spec(vec![("n", int_spec(Some(1), Some(1), Some(1337)))]);
    assert_eq!(check(&spec, dict(vec![("n", int(1))])), Ok(()));
    assert_eq!(check(&spec, dict(vec![("n", int(1337))])), Ok(()));
    assert_eq!(
        check(&spec, dict(vec![("n", int(0))])),
        err(
            S::InvalidValue,
            &["n param has error: Value 0 below min_bound 1"]
        )
    );
    assert_eq!(
        check(&spec, dict(vec![("n", int(1338))])),
        err(
            S::InvalidValue,
            &["n param has error: Value 1338 above max_bound 1337"]
        )
    );
    let unbounded = dict_spec(vec![("n", int_spec(None, None, None))]);
    assert_eq!(check(&unbounded, dict(vec![("n", int(i64::MIN))])), Ok(()));
}

#[test]
fn double_bounds_print_like_python() {
    let spec = dict_spec(vec![("d", double_spec(Some(1.0), Some(1.0), Some(2.5)))]);
    assert_eq!(check(&spec, dict(vec![("d", double(2.5))])), Ok(()));
    assert_eq!(
        check(&spec, dict(vec![("d", double(0.5))])),
        err(
            S::InvalidValue,
            &["d param has error: Value 0.5 below min_bound 1.0"]
        )
    );
    assert_eq!(
        check(&spec, dict(vec![("d", double(1e20))])),
        err(
            S::InvalidValue,
            &["d param has error: Value 1e+20 above max_bound 2.5"]
        )
    );
    // NaN compares false with everything, as in Python: accepted.
    assert_eq!(check(&spec, dict(vec![("d", double(f64::NAN))])), Ok(()));
}

#[test]
fn strings_among_options_unless_editable() {
    let fixed = dict_spec(vec![("s", string_spec(&["World", "Bob"], false, "World"))]);
    assert_eq!(check(&fixed, dict(vec![("s", string("Bob"))])), Ok(()));
    assert_eq!(
        check(&fixed, dict(vec![("s", string("Alice"))])),
        err(
            S::InvalidValue,
            &["s param has error: Chosen string value Alice not among options ['World', 'Bob']"]
        )
    );
    let editable = dict_spec(vec![("s", string_spec(&["World", "Bob"], true, "World"))]);
    assert_eq!(check(&editable, dict(vec![("s", string("Alice"))])), Ok(()));
    let free = dict_spec(vec![("s", string_spec(&[], false, ""))]);
    assert_eq!(check(&free, dict(vec![("s", string("anything"))])), Ok(()));
}

#[test]
fn bools_take_any_value() {
    let spec = dict_spec(vec![("b", bool_spec(None))]);
    assert_eq!(check(&spec, dict(vec![("b", boolean(true))])), Ok(()));
    assert_eq!(check(&spec, dict(vec![("b", boolean(false))])), Ok(()));
}

#[test]
fn wrong_types_are_invalid_values() {
    let spec = dict_spec(vec![
        ("i", int_spec(None, None, None)),
        ("d", double_spec(None, None, None)),
        ("s", string_spec(&[], false, "")),
        ("b", bool_spec(None)),
        ("n", dict_spec_kind(vec![])),
    ]);
    let cases: Vec<(&str, CustomParam, &str)> = vec![
        (
            "i",
            double(1.5),
            "i param has error: Param value: 1.5\n has type <class 'bosdyn.api.service_customization_pb2.DoubleParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.Int64Param'>.",
        ),
        (
            "d",
            int(2),
            "d param has error: Param value: 2\n has type <class 'bosdyn.api.service_customization_pb2.Int64Param'> but the spec requires <class 'bosdyn.api.service_customization_pb2.DoubleParam'>.",
        ),
        (
            "s",
            boolean(true),
            "s param has error: Param value: true\n has type <class 'bosdyn.api.service_customization_pb2.BoolParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.StringParam'>.",
        ),
        (
            "b",
            string("yes"),
            "b param has error: Param value: \"yes\"\n has type <class 'bosdyn.api.service_customization_pb2.StringParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.BoolParam'>.",
        ),
        (
            "i",
            dict_value(vec![]),
            "i param has error: Param  has type <class 'bosdyn.api.service_customization_pb2.DictParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.Int64Param'>.",
        ),
        (
            "n",
            list(vec![]),
            "n param has error: Param  has type <class 'bosdyn.api.service_customization_pb2.ListParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.DictParam'>.",
        ),
        (
            "i",
            CustomParam { value: None },
            "i param has error: Param has no value but the spec requires Int64Param.",
        ),
    ];
    for (key, value, message) in cases {
        assert_eq!(
            check(&spec, dict(vec![(key, value)])),
            err(S::InvalidValue, &[message])
        );
    }
}

fn dict_spec_kind(children: Vec<(&str, AnySpec)>) -> AnySpec {
    AnySpec::DictSpec(dict_spec(children))
}

#[test]
fn nested_paths() {
    let spec = dict_spec(vec![(
        "outer",
        dict_spec_kind(vec![(
            "inner",
            dict_spec_kind(vec![("n", int_spec(None, None, Some(3)))]),
        )]),
    )]);
    assert_eq!(
        check(
            &spec,
            dict(vec![(
                "outer",
                dict_value(vec![("inner", dict_value(vec![("n", int(4))]))])
            )])
        ),
        err(
            S::InvalidValue,
            &["outer.inner.n param has error: Value 4 above max_bound 3"]
        )
    );
    assert_eq!(
        check(
            &spec,
            dict(vec![(
                "outer",
                dict_value(vec![("inner", dict_value(vec![("x", int(1))]))])
            )])
        ),
        err(
            S::UnsupportedParameter,
            &[
                "outer.inner param has error: DictParam value contains keys {'x'} not present in the spec."
            ]
        )
    );
}

#[test]
fn several_errors_keep_every_message_and_the_last_status() {
    let spec = dict_spec(vec![
        ("a", list_spec(Some(int_spec(None, None, None)), None, None)),
        ("b", int_spec(None, None, Some(0))),
    ]);
    // Keys in sorted order: `a` (INVALID_TYPE) then `b` (INVALID_VALUE).
    assert_eq!(
        check(
            &spec,
            dict(vec![("a", list(vec![double(1.0)])), ("b", int(1))])
        ),
        err(
            S::InvalidValue,
            &[
                "a param has error: Value is defined as double_value at index 0 while the List Param Spec expects int_spec",
                "b param has error: Value 1 above max_bound 0",
            ]
        )
    );
    let reversed = dict_spec(vec![
        ("a", int_spec(None, None, Some(0))),
        ("b", list_spec(Some(int_spec(None, None, None)), None, None)),
    ]);
    assert_eq!(
        check(
            &reversed,
            dict(vec![("a", int(1)), ("b", list(vec![double(1.0)]))])
        )
        .map_err(|(status, _)| status),
        Err(S::InvalidType)
    );
}

#[test]
fn lists() {
    let spec = dict_spec(vec![(
        "lst",
        list_spec(Some(int_spec(None, Some(0), Some(10))), Some(1), Some(3)),
    )]);
    assert_eq!(
        check(&spec, dict(vec![("lst", list(vec![int(1), int(2)]))])),
        Ok(())
    );
    assert_eq!(
        check(&spec, dict(vec![("lst", list(vec![]))])),
        err(
            S::InvalidValue,
            &[
                "lst param has error: ListParam has 0 values, which is less than the required minimum value: 1\n"
            ]
        )
    );
    assert_eq!(
        check(&spec, dict(vec![("lst", list(vec![int(1); 4]))])),
        err(
            S::InvalidValue,
            &[
                "lst param has error: ListParam has 4 values, which is more than the allowed maximum value: 3\n"
            ]
        )
    );
    // Element errors: wrong kinds are INVALID_TYPE and not nested by index (as officially);
    // other errors are nested as `lst[i]`. The status is the last error's.
    assert_eq!(
        check(
            &spec,
            dict(vec![(
                "lst",
                list(vec![int(11), string("x"), CustomParam { value: None }])
            )])
        ),
        err(
            S::InvalidType,
            &[
                "lst[0] param has error: Value 11 above max_bound 10",
                "lst param has error: Value is defined as string_value at index 1 while the List Param Spec expects int_spec",
                "lst param has error: Value is defined as None at index 2 while the List Param Spec expects int_spec",
            ]
        )
    );
}

#[test]
fn lists_of_dicts_nest_like_python() {
    // The same case as checked against bosdyn-client 5.2.0.
    let inner = dict_spec(vec![("x", int_spec(None, None, Some(3)))]);
    let spec = dict_spec(vec![(
        "lst",
        list_spec(Some(AnySpec::DictSpec(inner)), None, None),
    )]);
    let value = dict(vec![(
        "lst",
        list(vec![
            dict_value(vec![("x", int(1))]),
            dict_value(vec![("x", int(9))]),
            double(1.5),
        ]),
    )]);
    assert_eq!(
        check(&spec, value),
        err(
            S::InvalidType,
            &[
                "lst[1].x param has error: Value 9 above max_bound 3",
                "lst param has error: Value is defined as double_value at index 2 while the List Param Spec expects dict_spec",
            ]
        )
    );
}

#[test]
fn lists_of_lists() {
    let spec = dict_spec(vec![(
        "m",
        list_spec(
            Some(list_spec(Some(int_spec(None, None, Some(0))), None, None)),
            None,
            None,
        ),
    )]);
    assert_eq!(
        check(
            &spec,
            dict(vec![("m", list(vec![list(vec![int(0), int(1)])]))])
        ),
        err(
            S::InvalidValue,
            &["m[0][1] param has error: Value 1 above max_bound 0"]
        )
    );
}

fn toggle_spec() -> AnySpec {
    one_of_spec(
        "enable",
        vec![
            (
                "enable",
                dict_spec(vec![("repeats", int_spec(Some(1), Some(1), Some(10)))]),
            ),
            ("disable", dict_spec(vec![])),
        ],
    )
}

#[test]
fn one_ofs() {
    let spec = dict_spec(vec![("toggle", toggle_spec())]);
    assert_eq!(
        check(&spec, dict(vec![("toggle", one_of("enable", vec![]))])),
        Ok(())
    );
    assert_eq!(
        check(&spec, dict(vec![("toggle", one_of("maybe", vec![]))])),
        err(
            S::InvalidValue,
            &["toggle param has error: OneOf parameter value has nonexistent key of maybe"]
        )
    );
    assert_eq!(
        check(
            &spec,
            dict(vec![(
                "toggle",
                one_of("enable", vec![("enable", dict(vec![("repeats", int(0))]))])
            )])
        ),
        err(
            S::InvalidValue,
            &["toggle.enable.repeats param has error: Value 0 below min_bound 1"]
        )
    );
    // Only the chosen key's dict is validated.
    assert_eq!(
        check(
            &spec,
            dict(vec![(
                "toggle",
                one_of(
                    "disable",
                    vec![
                        ("enable", dict(vec![("repeats", int(0)), ("junk", int(0))])),
                        ("disable", DictParam::default()),
                    ]
                )
            )])
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &spec,
            dict(vec![(
                "toggle",
                one_of("disable", vec![("disable", dict(vec![("x", int(0))]))])
            )])
        ),
        err(
            S::UnsupportedParameter,
            &[
                "toggle.disable param has error: DictParam value contains keys {'x'} not present in the spec."
            ]
        )
    );
}

#[test]
fn regions_of_interest() {
    let spec = dict_spec(vec![
        ("rect_only", roi_spec(true, false, None)),
        ("poly_only", roi_spec(false, true, None)),
    ]);
    assert_eq!(
        check(
            &spec,
            dict(vec![("rect_only", roi(Some(rectangle()), 640, 480))])
        ),
        Ok(())
    );
    assert_eq!(
        check(
            &spec,
            dict(vec![("poly_only", roi(Some(polygon(3)), 640, 480))])
        ),
        Ok(())
    );
    assert_eq!(
        check(&spec, dict(vec![("poly_only", roi(None, 0, 0))])),
        Ok(())
    );
    assert_eq!(
        check(
            &spec,
            dict(vec![("poly_only", roi(Some(rectangle()), 1, 1))])
        ),
        err(
            S::InvalidValue,
            &["poly_only param has error: Chosen area is a rectangle despite not being allowed"]
        )
    );
    assert_eq!(
        check(
            &spec,
            dict(vec![("rect_only", roi(Some(polygon(3)), 1, 1))])
        ),
        err(
            S::InvalidValue,
            &["rect_only param has error: Chosen area is a polygon despite not being allowed"]
        )
    );
    // A polygon without vertices is not a polygon.
    assert_eq!(
        check(
            &spec,
            dict(vec![("rect_only", roi(Some(polygon(0)), 1, 1))])
        ),
        Ok(())
    );
    assert_eq!(
        check(&spec, dict(vec![("rect_only", roi(None, -1, 1))])),
        err(
            S::InvalidValue,
            &["rect_only param has error: Number of columns in image must be positive"]
        )
    );
    assert_eq!(
        check(&spec, dict(vec![("rect_only", roi(None, 1, -1))])),
        err(
            S::InvalidValue,
            &["rect_only param has error: Number of rows in image must be positive"]
        )
    );
}

#[test]
fn specs_without_a_type_never_panic() {
    let mut spec = dict_spec(vec![]);
    spec.specs.insert(
        "x".to_owned(),
        dict_param::ChildSpec {
            spec: None,
            ui_info: None,
        },
    );
    spec.specs.insert(
        "y".to_owned(),
        dict_param::ChildSpec {
            spec: Some(custom_param::Spec { spec: None }),
            ui_info: None,
        },
    );
    assert_eq!(
        check(&spec, dict(vec![("x", int(1)), ("y", int(1))])),
        err(
            S::InvalidValue,
            &[
                "x param has error: Spec sets no parameter type",
                "y param has error: Spec sets no parameter type",
            ]
        )
    );
    assert_eq!(
        spec_errors(&spec),
        [
            "x param has error: Spec sets no parameter type",
            "y param has error: Spec sets no parameter type",
        ]
    );
    // A list without an element spec: every element has the wrong kind.
    let lists = dict_spec(vec![("l", list_spec(None, None, None))]);
    assert_eq!(
        check(&lists, dict(vec![("l", list(vec![int(1)]))])),
        err(
            S::InvalidType,
            &[
                "l param has error: Value is defined as int_value at index 0 while the List Param Spec expects None"
            ]
        )
    );
    // A one-of child without a spec is an empty dict.
    let one_of_without_spec = dict_spec(vec![(
        "o",
        AnySpec::OneOfSpec(one_of_param::Spec {
            specs: [(
                "a".to_owned(),
                one_of_param::ChildSpec {
                    spec: None,
                    ui_info: None,
                },
            )]
            .into(),
            default_key: "a".to_owned(),
        }),
    )]);
    assert_eq!(spec_errors(&one_of_without_spec), Vec::<String>::new());
    assert_eq!(
        check(&one_of_without_spec, dict(vec![("o", one_of("a", vec![]))])),
        Ok(())
    );
    assert!(
        default_dict_param(&one_of_without_spec)
            .values
            .contains_key("o")
    );
}

#[test]
fn custom_param_and_one_of_entry_points() {
    let toggle = match toggle_spec() {
        AnySpec::OneOfSpec(spec) => spec,
        _ => unreachable!(),
    };
    assert_eq!(validate_one_of_spec(&toggle), Ok(()));
    let value = OneOfParam {
        key: "nope".to_owned(),
        values: Default::default(),
    };
    assert_eq!(
        validate_one_of_value(&toggle, &value).unwrap_err().messages,
        ["OneOf parameter value has nonexistent key of nope"]
    );
    let int_only = spec(int_spec(None, Some(2), None));
    assert_eq!(
        validate_custom_param_spec(&int_only).unwrap_err().messages,
        ["Default Spec Value below allowed minimum Value"]
    );
    assert_eq!(
        validate_custom_param_value(&int_only, &int(1))
            .unwrap_err()
            .messages,
        ["Value 1 below min_bound 2"]
    );
    assert_eq!(
        validate_custom_param_spec(&custom_param::Spec { spec: None })
            .unwrap_err()
            .messages,
        ["Spec sets no parameter type"]
    );
}

// ---- Spec validation ------------------------------------------------------------------------

#[test]
fn numeric_specs() {
    assert!(spec_errors(&dict_spec(vec![("n", int_spec(Some(5), Some(1), Some(9)))])).is_empty());
    assert!(spec_errors(&dict_spec(vec![("n", int_spec(None, Some(-1), Some(1)))])).is_empty());
    // An unset default counts as 0.
    assert_eq!(
        spec_errors(&dict_spec(vec![("n", int_spec(None, Some(1), None))])),
        ["n param has error: Default Spec Value below allowed minimum Value"]
    );
    assert_eq!(
        spec_errors(&dict_spec(vec![("n", int_spec(None, None, Some(-1)))])),
        ["n param has error: Default Spec Value above allowed maximum value"]
    );
    assert_eq!(
        spec_errors(&dict_spec(vec![("n", int_spec(Some(5), Some(9), Some(1)))])),
        [
            "n param has error: Default Spec Value below allowed minimum Value",
            "n param has error: Default Spec Value above allowed maximum value",
            "n param has error: min_value greater than max_value",
        ]
    );
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "d",
            double_spec(Some(0.5), Some(1.0), None)
        )])),
        ["d param has error: Default Spec Value below allowed minimum Value"]
    );
    assert!(
        spec_errors(&dict_spec(vec![(
            "d",
            double_spec(None, Some(-0.5), Some(0.5))
        )]))
        .is_empty()
    );
}

#[test]
fn string_specs() {
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "s",
            string_spec(&["World", "Bob"], false, "x")
        )])),
        ["s param has error: Default string x not among options ['World', 'Bob']"]
    );
    assert!(
        spec_errors(&dict_spec(vec![(
            "s",
            string_spec(&["World", "Bob"], true, "x")
        )]))
        .is_empty()
    );
    assert!(
        spec_errors(&dict_spec(vec![(
            "s",
            string_spec(&["World", "Bob"], false, "")
        )]))
        .is_empty()
    );
    assert!(spec_errors(&dict_spec(vec![("s", string_spec(&[], false, "x"))])).is_empty());
}

#[test]
fn list_specs() {
    assert_eq!(
        spec_errors(&dict_spec(vec![("l", list_spec(None, None, None))])),
        ["l param has error: ListParam needs a defined element_spec"]
    );
    // The element spec's errors are reported as they are (not under `element_spec`), as
    // officially; the bounds are then not checked.
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "lst",
            list_spec(Some(int_spec(None, Some(5), Some(1))), Some(3), Some(1))
        )])),
        [
            "lst param has error: Default Spec Value below allowed minimum Value",
            "lst param has error: min_value greater than max_value",
        ]
    );
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "l",
            list_spec(Some(bool_spec(None)), Some(3), Some(1))
        )])),
        ["l param has error: Max ListParam.Spec size 1 below minimum size of 3"]
    );
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "l",
            list_spec(Some(bool_spec(None)), Some(-2), Some(-1))
        )])),
        ["l param has error: Invalid negative list size bound, with (min, max) bound of (-2, -1)"]
    );
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "l",
            list_spec(Some(bool_spec(None)), None, Some(-1))
        )])),
        ["l param has error: Invalid negative list size bound, with (min, max) bound of (0, -1)"]
    );
}

#[test]
fn one_of_specs() {
    assert!(spec_errors(&dict_spec(vec![("t", toggle_spec())])).is_empty());
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "t",
            one_of_spec("nope", vec![("a", dict_spec(vec![]))])
        )])),
        ["t param has error: OneOf parameter has nonexistent default key of nope"]
    );
    // An empty default key is allowed (no default).
    assert!(
        spec_errors(&dict_spec(vec![(
            "t",
            one_of_spec("", vec![("a", dict_spec(vec![]))])
        )]))
        .is_empty()
    );
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "t",
            one_of_spec(
                "a",
                vec![("a", dict_spec(vec![("n", int_spec(None, Some(1), None))]))]
            )
        )])),
        ["t.a.n param has error: Default Spec Value below allowed minimum Value"]
    );
}

#[test]
fn roi_specs() {
    assert!(spec_errors(&dict_spec(vec![("r", roi_spec(false, false, None))])).is_empty());
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "r",
            roi_spec(false, true, Some(rectangle()))
        )])),
        ["r param has error: Default area is a rectangle despite not being allowed"]
    );
    assert_eq!(
        spec_errors(&dict_spec(vec![(
            "r",
            roi_spec(true, false, Some(polygon(3)))
        )])),
        ["r param has error: Default area is a polygon despite not being allowed"]
    );
}

#[test]
fn nested_spec_paths() {
    let spec = dict_spec(vec![
        (
            "outer",
            dict_spec_kind(vec![("inner", int_spec(None, Some(1), None))]),
        ),
        ("ok", bool_spec(None)),
    ]);
    assert_eq!(
        spec_errors(&spec),
        ["outer.inner param has error: Default Spec Value below allowed minimum Value"]
    );
    assert_eq!(
        validate_dict_spec(&spec).unwrap_err().to_string(),
        "invalid parameter spec: outer.inner param has error: Default Spec Value below allowed minimum Value"
    );
}

#[test]
fn nesting_follows_the_official_helper() {
    let nest = |name: &str, messages: &[&str]| {
        validate::nest_messages(name, messages.iter().map(|m| (*m).to_owned()).collect())
    };
    assert_eq!(nest("a", &["boom"]), ["a param has error: boom"]);
    assert_eq!(
        nest("a", &["b param has error: boom"]),
        ["a.b param has error: boom"]
    );
    assert_eq!(nest("[1]", &["boom"]), ["[1] param has error: boom"]);
    assert_eq!(
        nest("a", &["[1] param has error: boom"]),
        ["a[1] param has error: boom"]
    );
    // Every `.[` becomes `[`, even in the message itself (as officially).
    assert_eq!(nest("a", &["x.[y"]), ["a param has error: x[y"]);
    let error = ParamError::invalid_type("boom").nested("b").nested("a");
    assert_eq!(error.status, S::InvalidType);
    assert_eq!(error.messages, ["a.b param has error: boom"]);
}

// ---- Defaults -------------------------------------------------------------------------------

fn default_of(kind: AnySpec) -> Option<Value> {
    default_custom_param(&spec(kind)).and_then(|param| param.value)
}

#[test]
fn numeric_defaults() {
    let int_default = |d, min, max| match default_of(int_spec(d, min, max)) {
        Some(Value::IntValue(value)) => value.value,
        other => panic!("{other:?}"),
    };
    assert_eq!(int_default(Some(7), Some(1), Some(9)), 7);
    assert_eq!(int_default(None, Some(-3), Some(9)), -3);
    assert_eq!(int_default(None, None, Some(-9)), -9);
    assert_eq!(int_default(None, None, None), 0);
    let double_default = |d, min, max| match default_of(double_spec(d, min, max)) {
        Some(Value::DoubleValue(value)) => value.value,
        other => panic!("{other:?}"),
    };
    assert_eq!(double_default(Some(0.5), None, None), 0.5);
    assert_eq!(double_default(None, Some(1.5), None), 1.5);
    assert_eq!(double_default(None, None, Some(-1.5)), -1.5);
    assert_eq!(double_default(None, None, None), 0.0);
}

#[test]
fn string_bool_and_roi_defaults() {
    let string_default =
        |options: &[&str], default: &str| match default_of(string_spec(options, false, default)) {
            Some(Value::StringValue(value)) => value.value,
            other => panic!("{other:?}"),
        };
    assert_eq!(string_default(&["a", "b"], "b"), "b");
    assert_eq!(string_default(&["a", "b"], ""), "a");
    assert_eq!(string_default(&[], ""), "");
    assert_eq!(
        default_of(bool_spec(Some(true))),
        Some(Value::BoolValue(BoolParam { value: true }))
    );
    assert_eq!(
        default_of(bool_spec(None)),
        Some(Value::BoolValue(BoolParam { value: false }))
    );
    assert_eq!(default_of(roi_spec(false, true, None)), None);
    match default_of(roi_spec(true, false, Some(rectangle()))) {
        Some(Value::RoiValue(value)) => assert_eq!(value.area, Some(rectangle())),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        default_custom_param(&custom_param::Spec { spec: None }),
        None
    );
}

#[test]
fn list_defaults() {
    match default_of(list_spec(
        Some(int_spec(Some(4), None, None)),
        Some(2),
        None,
    )) {
        Some(Value::ListValue(value)) => assert_eq!(value.values, [int(4), int(4)]),
        other => panic!("{other:?}"),
    }
    match default_of(list_spec(Some(roi_spec(false, false, None)), Some(2), None)) {
        Some(Value::ListValue(value)) => assert!(value.values.is_empty()),
        other => panic!("{other:?}"),
    }
    match default_of(list_spec(Some(bool_spec(None)), Some(-5), None)) {
        Some(Value::ListValue(value)) => assert!(value.values.is_empty()),
        other => panic!("{other:?}"),
    }
    // An absurd minimum does not exhaust memory.
    match default_of(list_spec(Some(bool_spec(None)), Some(i64::MAX), None)) {
        Some(Value::ListValue(value)) => assert_eq!(value.values.len(), 1 << 16),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dict_and_one_of_defaults() {
    let spec = dict_spec(vec![
        ("n", int_spec(Some(3), None, None)),
        ("r", roi_spec(false, false, None)),
        ("t", toggle_spec()),
        ("bad", one_of_spec("nope", vec![("a", dict_spec(vec![]))])),
    ]);
    let default = default_dict_param(&spec);
    let mut keys: Vec<&String> = default.values.keys().collect();
    keys.sort();
    // No default for a region without rectangles nor a one-of with a bad default key.
    assert_eq!(keys, ["n", "t"]);
    assert_eq!(default.values["n"], int(3));
    match &default.values["t"].value {
        Some(Value::OneOfValue(value)) => {
            assert_eq!(value.key, "enable");
            assert_eq!(value.values["enable"], dict(vec![("repeats", int(1))]));
            assert_eq!(value.values["disable"], DictParam::default());
        }
        other => panic!("{other:?}"),
    }
    // The default of a valid spec is valid.
    assert_eq!(
        validate_dict_value(
            &dict_spec(vec![("t", toggle_spec())]),
            &default_dict_param(&dict_spec(vec![("t", toggle_spec())]))
        ),
        Ok(())
    );
}

// ---- Field conversions ----------------------------------------------------------------------

#[test]
fn scalar_fields_round_trip_and_default() {
    let i = i64::param_spec(ParamOptions {
        default: Some(5),
        min: Some(1),
        ..Default::default()
    });
    assert_eq!(i, spec(int_spec(Some(5), Some(1), None)));
    assert_eq!(i64::from_param(None, &i), Ok(5));
    assert_eq!(i64::from_param(Some(&42i64.to_param()), &i), Ok(42));

    let d = f64::param_spec(ParamOptions::default());
    assert_eq!(d, spec(double_spec(Some(0.0), None, None)));
    assert_eq!(f64::from_param(Some(&0.25f64.to_param()), &d), Ok(0.25));

    let s = String::param_spec(ParamOptions {
        options: vec!["a".to_owned(), "b".to_owned()],
        ..Default::default()
    });
    assert_eq!(s, spec(string_spec(&["a", "b"], false, "a")));
    assert_eq!(String::from_param(None, &s), Ok("a".to_owned()));
    assert_eq!(
        String::from_param(Some(&"b".to_owned().to_param()), &s),
        Ok("b".to_owned())
    );

    let b = bool::param_spec(ParamOptions {
        default: Some(true),
        ..Default::default()
    });
    assert_eq!(b, spec(bool_spec(Some(true))));
    assert_eq!(bool::from_param(None, &b), Ok(true));
    assert_eq!(bool::from_param(Some(&false.to_param()), &b), Ok(false));
}

#[test]
fn narrow_fields_refuse_out_of_range_values() {
    let i = i32::param_spec(ParamOptions {
        default: Some(-1),
        max: Some(7),
        ..Default::default()
    });
    assert_eq!(i, spec(int_spec(Some(-1), None, Some(7))));
    assert_eq!(i32::from_param(None, &i), Ok(-1));
    assert_eq!(i32::from_param(Some(&int(-5)), &i), Ok(-5));
    assert_eq!(
        i32::from_param(Some(&int(3_000_000_000)), &i)
            .unwrap_err()
            .messages,
        ["Value 3000000000 above max_bound 2147483647"]
    );
    assert_eq!(
        i32::from_param(Some(&int(-3_000_000_000)), &i)
            .unwrap_err()
            .messages,
        ["Value -3000000000 below min_bound -2147483648"]
    );
    assert_eq!(7i32.to_param(), int(7));

    let f = f32::param_spec(ParamOptions {
        min: Some(0.5),
        default: Some(1.0),
        ..Default::default()
    });
    assert_eq!(f, spec(double_spec(Some(1.0), Some(0.5), None)));
    assert_eq!(f32::from_param(Some(&double(0.75)), &f), Ok(0.75));
    assert_eq!(
        f32::from_param(Some(&double(1e300)), &f)
            .unwrap_err()
            .messages,
        ["Value 1e+300 above max_bound 3.4028234663852886e+38"]
    );
    assert_eq!(
        f32::from_param(Some(&double(-1e300)), &f)
            .unwrap_err()
            .messages,
        ["Value -1e+300 below min_bound -3.4028234663852886e+38"]
    );
    assert!(
        f32::from_param(Some(&double(f64::INFINITY)), &f)
            .unwrap()
            .is_infinite()
    );
    assert_eq!(0.5f32.to_param(), double(0.5));
}

#[test]
fn fields_never_panic_on_mismatches() {
    let i = spec(int_spec(None, None, None));
    assert_eq!(
        i64::from_param(Some(&double(1.0)), &i)
            .unwrap_err()
            .messages,
        [
            "Param value: 1\n has type <class 'bosdyn.api.service_customization_pb2.DoubleParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.Int64Param'>."
        ]
    );
    assert_eq!(
        i64::from_param(Some(&CustomParam { value: None }), &i)
            .unwrap_err()
            .messages,
        ["Param has no value but the spec requires Int64Param."]
    );
    assert_eq!(
        String::from_param(None, &i).unwrap_err().messages,
        ["Param spec is a Int64Param spec but the field is a StringParam."]
    );
    assert_eq!(
        bool::from_param(None, &custom_param::Spec { spec: None })
            .unwrap_err()
            .messages,
        ["Spec sets no parameter type"]
    );
}

// ---- Derives --------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, DictParams)]
#[params(hidden_by_default)]
struct Hello {
    #[param(
        display_name = "Who",
        description = "Specify who Spot says hello to",
        default = "World",
        options = ["World", "Bob"],
        editable
    )]
    who: String,
    #[param(key = "toggle_key", display_name = "Repeats")]
    toggle: Toggle,
}

#[derive(Debug, Clone, PartialEq, OneOfParams)]
enum Toggle {
    #[param(
        key = "toggle_key_enable",
        display_name = "Enable",
        description = "Repeat the hello"
    )]
    Enable {
        #[param(key = "toggle_enable_value_key", default = 1337, min = 1, max = 1337)]
        repeats: i64,
    },
    #[param(key = "toggle_key_disable", display_name = "Disable", default)]
    Disable,
}

#[derive(Debug, Clone, PartialEq, DictParams)]
struct Everything {
    #[param(default = -3, min = -10, max = 10, units = "m")]
    small: i32,
    #[param(default = 0.5, min = 0, max = 1.5)]
    ratio: f64,
    #[param(default = 2, max = 2.5)]
    narrow: f32,
    #[param(default = true)]
    enabled: bool,
    #[param(multiline, display_order = 42)]
    notes: String,
    big: i64,
    r#type: String,
    inner: Inner,
    mode: Mode,
}

#[derive(Debug, Clone, PartialEq, DictParams)]
struct Inner {
    #[param(min = 0, max = 3)]
    level: i64,
}

#[derive(Debug, Clone, PartialEq, OneOfParams)]
enum Mode {
    Fast,
    #[param(default)]
    Careful {
        #[param(default = 3, min = 1)]
        retries: i64,
        #[param(options = ["low", "high"])]
        effort: String,
    },
    Custom(Inner),
}

fn ui(child: &dict_param::ChildSpec) -> (&str, &str, i64) {
    let ui = child.ui_info.as_ref().expect("ui_info");
    (&ui.display_name, &ui.description, ui.display_order)
}

#[test]
fn derived_spec_matches_the_attributes() {
    let spec = Hello::dict_spec();
    assert!(spec.is_hidden_by_default);
    let mut keys: Vec<&String> = spec.specs.keys().collect();
    keys.sort();
    assert_eq!(keys, ["toggle_key", "who"]);
    assert_eq!(
        ui(&spec.specs["who"]),
        ("Who", "Specify who Spot says hello to", 0)
    );
    assert_eq!(
        spec.specs["who"].spec,
        Some(custom_param::Spec {
            spec: Some(string_spec(&["World", "Bob"], true, "World"))
        })
    );
    assert_eq!(ui(&spec.specs["toggle_key"]), ("Repeats", "", 1));
    let Some(AnySpec::OneOfSpec(toggle)) = spec.specs["toggle_key"]
        .spec
        .as_ref()
        .and_then(|spec| spec.spec.clone())
    else {
        panic!("a one-of spec");
    };
    assert_eq!(&toggle, Toggle::one_of_spec());
    assert_eq!(toggle.default_key, "toggle_key_disable");
    let enable = &toggle.specs["toggle_key_enable"];
    let enable_ui = enable.ui_info.as_ref().unwrap();
    assert_eq!(
        (
            enable_ui.display_name.as_str(),
            enable_ui.description.as_str(),
            enable_ui.display_order
        ),
        ("Enable", "Repeat the hello", 0)
    );
    assert_eq!(
        enable.spec.as_ref().unwrap().specs["toggle_enable_value_key"].spec,
        Some(spec_of(int_spec(Some(1337), Some(1), Some(1337))))
    );
    assert_eq!(
        toggle.specs["toggle_key_disable"].spec,
        Some(dict_param::Spec::default())
    );
    assert_eq!(
        toggle.specs["toggle_key_disable"]
            .ui_info
            .as_ref()
            .unwrap()
            .display_order,
        1
    );
    assert_eq!(Hello::check_spec(), Ok(()));
    assert_eq!(Toggle::check_spec(), Ok(()));
}

fn spec_of(kind: AnySpec) -> custom_param::Spec {
    spec(kind)
}

#[test]
fn derived_spec_of_every_type() {
    let spec = Everything::dict_spec();
    assert!(!spec.is_hidden_by_default);
    let kind = |key: &str| spec.specs[key].spec.clone().and_then(|spec| spec.spec);
    match kind("small") {
        Some(AnySpec::IntSpec(small)) => {
            assert_eq!(
                (small.default_value, small.min_value, small.max_value),
                (Some(-3), Some(-10), Some(10))
            );
            assert_eq!(
                small.units.unwrap().units,
                Some(crate::proto::bosdyn::api::units::Units::Name(
                    "m".to_owned()
                ))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        kind("ratio"),
        Some(double_spec(Some(0.5), Some(0.0), Some(1.5)))
    );
    assert_eq!(
        kind("narrow"),
        Some(double_spec(Some(2.0), None, Some(2.5)))
    );
    assert_eq!(kind("enabled"), Some(bool_spec(Some(true))));
    assert_eq!(
        kind("notes"),
        Some(AnySpec::StringSpec(string_param::Spec {
            is_multiline: true,
            ..Default::default()
        }))
    );
    assert_eq!(ui(&spec.specs["notes"]), ("", "", 42));
    assert_eq!(ui(&spec.specs["big"]), ("", "", 5));
    assert_eq!(kind("big"), Some(int_spec(Some(0), None, None)));
    // A raw identifier's key is its name.
    assert_eq!(kind("type"), Some(string_spec(&[], false, "")));
    assert_eq!(
        kind("inner"),
        Some(AnySpec::DictSpec(Inner::dict_spec().clone()))
    );
    let Some(AnySpec::OneOfSpec(mode)) = kind("mode") else {
        panic!("a one-of spec")
    };
    assert_eq!(mode.default_key, "careful");
    let mut keys: Vec<&String> = mode.specs.keys().collect();
    keys.sort();
    assert_eq!(keys, ["careful", "custom", "fast"]);
    assert_eq!(mode.specs["custom"].spec.as_ref(), Some(Inner::dict_spec()));
    assert_eq!(Everything::check_spec(), Ok(()));
    assert_eq!(Mode::check_spec(), Ok(()));
}

#[test]
fn derived_defaults_for_missing_keys() {
    let hello = Hello::from_dict_param(&DictParam::default()).unwrap();
    assert_eq!(
        hello,
        Hello {
            who: "World".to_owned(),
            toggle: Toggle::Disable
        }
    );
    let everything = Everything::from_dict_param(&DictParam::default()).unwrap();
    assert_eq!(
        everything,
        Everything {
            small: -3,
            ratio: 0.5,
            narrow: 2.0,
            enabled: true,
            notes: String::new(),
            big: 0,
            r#type: String::new(),
            inner: Inner { level: 0 },
            mode: Mode::Careful {
                retries: 3,
                effort: "low".to_owned()
            },
        }
    );
    // A chosen variant whose dict is absent takes its fields' defaults.
    let value = dict(vec![("toggle_key", one_of("toggle_key_enable", vec![]))]);
    assert_eq!(
        Hello::from_dict_param(&value).unwrap().toggle,
        Toggle::Enable { repeats: 1337 }
    );
}

#[test]
fn derived_round_trips() {
    let values = [
        Everything {
            small: 10,
            ratio: 1.25,
            narrow: -1.5,
            enabled: false,
            notes: "line 1\nline 2".to_owned(),
            big: i64::MIN,
            r#type: "t".to_owned(),
            inner: Inner { level: 3 },
            mode: Mode::Fast,
        },
        Everything {
            mode: Mode::Custom(Inner { level: 2 }),
            ..Everything::from_dict_param(&DictParam::default()).unwrap()
        },
        Everything {
            mode: Mode::Careful {
                retries: 9,
                effort: "high".to_owned(),
            },
            ..Everything::from_dict_param(&DictParam::default()).unwrap()
        },
    ];
    for value in values {
        let param = value.to_dict_param();
        assert_eq!(param.values.len(), 9);
        assert_eq!(Everything::from_dict_param(&param), Ok(value.clone()));
        assert_eq!(validate_dict_value(Everything::dict_spec(), &param), Ok(()));
    }
    for hello in [
        Hello {
            who: "Anyone".to_owned(),
            toggle: Toggle::Enable { repeats: 2 },
        },
        Hello {
            who: "Bob".to_owned(),
            toggle: Toggle::Disable,
        },
    ] {
        assert_eq!(Hello::from_dict_param(&hello.to_dict_param()), Ok(hello));
    }
}

#[test]
fn derived_one_of_values_carry_every_key() {
    let value = Mode::Custom(Inner { level: 1 }).to_one_of_param();
    assert_eq!(value.key, "custom");
    assert_eq!(value.values["custom"], dict(vec![("level", int(1))]));
    assert_eq!(value.values["fast"], DictParam::default());
    assert_eq!(
        value.values["careful"],
        dict(vec![("retries", int(3)), ("effort", string("low"))])
    );
    assert_eq!(
        Mode::from_one_of_param(&value),
        Ok(Mode::Custom(Inner { level: 1 }))
    );
    let unknown = OneOfParam {
        key: "slow".to_owned(),
        values: Default::default(),
    };
    assert_eq!(
        Mode::from_one_of_param(&unknown).unwrap_err().messages,
        ["OneOf parameter value has nonexistent key of slow"]
    );
    assert_eq!(
        Mode::from_validated_one_of_param(&unknown)
            .unwrap_err()
            .messages,
        ["OneOf parameter value has nonexistent key of slow"]
    );
}

#[test]
fn derived_errors_name_the_path() {
    let value = dict(vec![(
        "toggle_key",
        one_of(
            "toggle_key_enable",
            vec![(
                "toggle_key_enable",
                dict(vec![("toggle_enable_value_key", int(0))]),
            )],
        ),
    )]);
    let error = Hello::from_dict_param(&value).unwrap_err();
    assert_eq!(error.status, S::InvalidValue);
    assert_eq!(
        error.messages,
        [
            "toggle_key.toggle_key_enable.toggle_enable_value_key param has error: Value 0 below min_bound 1"
        ]
    );
    assert_eq!(
        error.to_proto(),
        CustomParamError {
            status: S::InvalidValue as i32,
            error_messages: error.messages.clone(),
        }
    );
    assert_eq!(CustomParamError::from(error.clone()), error.to_proto());

    let error =
        Hello::from_dict_param(&dict(vec![("who", int(1)), ("extra", int(1))])).unwrap_err();
    assert_eq!(
        (error.status, error.messages),
        (
            S::UnsupportedParameter,
            vec!["DictParam value contains keys {'extra'} not present in the spec.".to_owned()]
        )
    );
    let error = Hello::from_dict_param(&dict(vec![("who", double(1.0))])).unwrap_err();
    assert_eq!(
        error.messages,
        [
            "who param has error: Param value: 1\n has type <class 'bosdyn.api.service_customization_pb2.DoubleParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.StringParam'>."
        ]
    );
    let error = Everything::from_dict_param(&dict(vec![(
        "mode",
        one_of("custom", vec![("custom", dict(vec![("level", int(4))]))]),
    )]))
    .unwrap_err();
    assert_eq!(
        error.messages,
        ["mode.custom.level param has error: Value 4 above max_bound 3"]
    );
    let error = Everything::from_dict_param(&dict(vec![(
        "mode",
        one_of(
            "careful",
            vec![("careful", dict(vec![("effort", string("medium"))]))],
        ),
    )]))
    .unwrap_err();
    assert_eq!(
        error.messages,
        [
            "mode.careful.effort param has error: Chosen string value medium not among options ['low', 'high']"
        ]
    );
    let error = Everything::from_dict_param(&dict(vec![(
        "mode",
        one_of("fast", vec![("fast", dict(vec![("x", int(4))]))]),
    )]))
    .unwrap_err();
    assert_eq!(
        error.messages,
        ["mode.fast param has error: DictParam value contains keys {'x'} not present in the spec."]
    );
    let error = Everything::from_dict_param(&dict(vec![("small", int(11)), ("inner", int(1))]))
        .unwrap_err();
    assert_eq!(
        error.messages,
        [
            "inner param has error: Param value: 1\n has type <class 'bosdyn.api.service_customization_pb2.Int64Param'> but the spec requires <class 'bosdyn.api.service_customization_pb2.DictParam'>.",
            "small param has error: Value 11 above max_bound 10",
        ]
    );
}

#[test]
fn unvalidated_values_are_errors_not_panics() {
    // `from_validated_dict_param` skips validation; a wrong value is still an error, with its
    // path.
    let value = dict(vec![("inner", dict_value(vec![("level", string("x"))]))]);
    assert_eq!(
        Everything::from_validated_dict_param(&value)
            .unwrap_err()
            .messages,
        [
            "inner.level param has error: Param value: \"x\"\n has type <class 'bosdyn.api.service_customization_pb2.StringParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.Int64Param'>."
        ]
    );
    let value = dict(vec![("mode", dict_value(vec![]))]);
    assert_eq!(
        Everything::from_validated_dict_param(&value)
            .unwrap_err()
            .messages,
        [
            "mode param has error: Param  has type <class 'bosdyn.api.service_customization_pb2.DictParam'> but the spec requires <class 'bosdyn.api.service_customization_pb2.OneOfParam'>."
        ]
    );
}

#[test]
fn unit_has_no_parameters() {
    assert!(<() as DictParams>::dict_spec().specs.is_empty());
    assert_eq!(<() as DictParams>::check_spec(), Ok(()));
    assert_eq!(<()>::from_dict_param(&DictParam::default()), Ok(()));
    assert_eq!(().to_dict_param(), DictParam::default());
    let error = <()>::from_dict_param(&dict(vec![("x", int(1))])).unwrap_err();
    assert_eq!(error.status, S::UnsupportedParameter);
    assert_eq!(
        error.messages,
        ["DictParam value contains keys {'x'} not present in the spec."]
    );
}

/// A hand-written parameter type whose spec the derive cannot check: `check_spec` does.
#[derive(Debug, PartialEq)]
struct Percent(f64);

impl Param for Percent {
    fn param_spec(_: ParamOptions<Self>) -> custom_param::Spec {
        spec(double_spec(None, Some(1.0), Some(100.0)))
    }

    fn from_param(
        value: Option<&CustomParam>,
        spec: &custom_param::Spec,
    ) -> Result<Self, ParamError> {
        f64::from_param(value, spec).map(Percent)
    }

    fn to_param(&self) -> CustomParam {
        self.0.to_param()
    }
}

#[derive(Debug, PartialEq, DictParams)]
struct WithPercent {
    share: Percent,
}

#[test]
fn check_spec_catches_what_the_derive_cannot() {
    assert_eq!(
        WithPercent::check_spec().unwrap_err().messages,
        ["share param has error: Default Spec Value below allowed minimum Value"]
    );
    // The default is then the minimum, as officially.
    assert_eq!(
        WithPercent::from_dict_param(&DictParam::default()),
        Ok(WithPercent {
            share: Percent(1.0)
        })
    );
}

#[derive(Debug, PartialEq, DictParams)]
struct Empty {}

#[derive(Debug, PartialEq, OneOfParams)]
enum Single {
    Only,
}

#[test]
fn empty_structs_and_single_variants() {
    assert!(Empty::dict_spec().specs.is_empty());
    assert_eq!(Empty::from_dict_param(&DictParam::default()), Ok(Empty {}));
    assert_eq!(Empty::check_spec(), Ok(()));
    assert_eq!(Single::one_of_spec().default_key, "only");
    assert_eq!(
        Single::from_one_of_param(&Single::Only.to_one_of_param()),
        Ok(Single::Only)
    );
}

#[test]
fn any_value_of_any_kind_is_an_answer_not_a_panic() {
    let kinds = || {
        vec![
            CustomParam { value: None },
            int(i64::MAX),
            double(f64::NAN),
            string(""),
            boolean(true),
            dict_value(vec![
                ("level", int(-1)),
                ("zzz", CustomParam { value: None }),
            ]),
            list(vec![CustomParam { value: None }, int(1)]),
            roi(Some(polygon(2)), -1, -1),
            one_of(
                "careful",
                vec![("careful", dict(vec![("retries", double(1.0))]))],
            ),
            one_of("", vec![]),
        ]
    };
    let keys: Vec<String> = Everything::dict_spec().specs.keys().cloned().collect();
    for key in &keys {
        for value in kinds() {
            let value = dict(vec![(key.as_str(), value)]);
            let _ = Everything::from_dict_param(&value);
            let _ = Everything::from_validated_dict_param(&value);
        }
    }
}

// ---- Defaults from values, and values over defaults ------------------------------------------

/// A spec with one parameter of each kind that has a default, and a one-of of two dicts.
fn tunable_spec() -> dict_param::Spec {
    dict_spec(vec![
        ("level", int_spec(Some(1), Some(0), Some(10))),
        ("gain", double_spec(Some(1.0), Some(0.0), Some(255.0))),
        ("mode", string_spec(&["fast", "slow"], false, "fast")),
        ("on", bool_spec(Some(false))),
        ("area", roi_spec(true, false, None)),
        (
            "inner",
            dict_spec_kind(vec![("depth", int_spec(Some(2), Some(0), Some(5)))]),
        ),
        (
            "style",
            one_of_spec(
                "plain",
                vec![
                    ("plain", dict_spec(vec![])),
                    (
                        "fancy",
                        dict_spec(vec![("shine", double_spec(Some(0.5), None, None))]),
                    ),
                ],
            ),
        ),
        (
            "points",
            list_spec(Some(int_spec(None, None, None)), None, None),
        ),
    ])
}

/// Every kind of default is set from the value, and the result's own defaults are that value.
#[test]
fn spec_defaults_from_a_value() {
    let defaults = dict(vec![
        ("level", int(7)),
        ("gain", double(32.0)),
        ("mode", string("slow")),
        ("on", boolean(true)),
        ("area", roi(Some(rectangle()), 640, 480)),
        ("inner", dict_value(vec![("depth", int(4))])),
        (
            "style",
            one_of("fancy", vec![("fancy", dict(vec![("shine", double(0.9))]))]),
        ),
        ("points", list(vec![int(1)])),
    ]);
    let spec = dict_spec_with_defaults(&tunable_spec(), &defaults).unwrap();
    let mut expected = defaults.clone();
    // A list spec has no default: the spec's own (no element) stays.
    expected.values.insert("points".into(), list(vec![]));
    // The default region is the area alone, and a one-of's default holds every key's dict.
    expected.values.insert(
        "area".into(),
        CustomParam {
            value: Some(Value::RoiValue(RegionOfInterestParam {
                area: Some(rectangle()),
                ..Default::default()
            })),
        },
    );
    expected.values.insert(
        "style".into(),
        one_of(
            "fancy",
            vec![
                ("plain", dict(vec![])),
                ("fancy", dict(vec![("shine", double(0.9))])),
            ],
        ),
    );
    assert_eq!(default_dict_param(&spec), expected);
    // Ranges, options and the rest of the spec are untouched.
    let AnySpec::IntSpec(level) = spec.specs["level"].spec.clone().unwrap().spec.unwrap() else {
        panic!("level is an int");
    };
    assert_eq!((level.min_value, level.max_value), (Some(0), Some(10)));

    // Keys left out keep their defaults.
    let spec =
        dict_spec_with_defaults(&tunable_spec(), &dict(vec![("gain", double(3.0))])).unwrap();
    let value = default_dict_param(&spec);
    assert_eq!(value.values["gain"], double(3.0));
    assert_eq!(value.values["level"], int(1));
    assert_eq!(value.values["mode"], string("fast"));
}

/// Defaults that do not fit are refused, each named by its path.
#[test]
fn spec_defaults_that_do_not_fit() {
    let refused = |defaults: DictParam| {
        dict_spec_with_defaults(&tunable_spec(), &defaults)
            .unwrap_err()
            .messages
    };
    assert_eq!(
        refused(dict(vec![("gain", double(300.0))])),
        ["gain param has error: Default Spec Value above allowed maximum value"]
    );
    assert_eq!(
        refused(dict(vec![("inner", dict_value(vec![("depth", int(9))]))])),
        ["inner.depth param has error: Default Spec Value above allowed maximum value"]
    );
    assert_eq!(
        refused(dict(vec![("speed", int(1))])),
        ["speed param has error: no such parameter in the spec"]
    );
    assert_eq!(
        refused(dict(vec![("level", double(1.0))])),
        ["level param has error: the default's type is not the spec's"]
    );
    assert_eq!(
        refused(dict(vec![("style", one_of("shiny", vec![]))])),
        ["style param has error: no such key in the spec: shiny"]
    );
    assert_eq!(
        refused(dict(vec![("mode", string("medium"))])).len(),
        1,
        "a default not among the options"
    );
}

/// A request's values go over the defaults: nested dicts and one-ofs key by key.
#[test]
fn values_merged_over_defaults() {
    let base = dict(vec![
        ("level", int(7)),
        ("gain", double(32.0)),
        (
            "inner",
            dict_value(vec![("depth", int(4)), ("width", int(3))]),
        ),
        (
            "style",
            one_of(
                "plain",
                vec![("fancy", dict(vec![("shine", double(0.9)), ("hue", int(1))]))],
            ),
        ),
    ]);
    let over = dict(vec![
        ("gain", double(2.0)),
        ("inner", dict_value(vec![("depth", int(1))])),
        (
            "style",
            one_of("fancy", vec![("fancy", dict(vec![("hue", int(5))]))]),
        ),
        ("extra", boolean(true)),
    ]);
    let merged = merge_dict_param(&base, &over);
    assert_eq!(
        merged,
        dict(vec![
            ("level", int(7)),
            ("gain", double(2.0)),
            (
                "inner",
                dict_value(vec![("depth", int(1)), ("width", int(3))])
            ),
            (
                "style",
                one_of(
                    "fancy",
                    vec![("fancy", dict(vec![("shine", double(0.9)), ("hue", int(5))]))]
                ),
            ),
            ("extra", boolean(true)),
        ])
    );
    // A value of another kind replaces the default whole (validation then says what is wrong).
    let merged = merge_dict_param(&base, &dict(vec![("inner", int(1))]));
    assert_eq!(merged.values["inner"], int(1));
    assert_eq!(merge_dict_param(&base, &DictParam::default()), base);
}
