// A hand-written `Param` type takes the attributes of its kind (here numeric ones), and works
// inside a function and next to user items named like the generated code's locals.

use spot_service::params::{DictParams, NumericParam, Param, ParamError, ParamOptions};
use spot_service::proto::bosdyn::api::{CustomParam, DictParam, custom_param};

#[derive(Debug, Clone, Copy, PartialEq)]
struct Percent(f64);

impl Param for Percent {
    fn param_spec(options: ParamOptions<Self>) -> custom_param::Spec {
        f64::param_spec(ParamOptions {
            default: options.default.map(|p| p.0),
            min: Some(options.min.map_or(0.0, |p| p.0)),
            max: Some(options.max.map_or(100.0, |p| p.0)),
            ..ParamOptions::default()
        })
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

impl NumericParam for Percent {
    type IntLiteral = i64;

    fn from_int_literal(value: i64) -> Self {
        Percent(value as f64)
    }
}

fn main() {
    // Constants named like the generated code's bindings would turn them into patterns.
    #[allow(non_upper_case_globals)]
    const value: i32 = 0;
    #[allow(non_upper_case_globals)]
    const error: i32 = 0;

    #[derive(Debug, PartialEq, DictParams)]
    struct Share {
        #[param(default = 50, max = 90)]
        share: Percent,
        spec: i64,
        __value: bool,
    }

    Share::check_spec().unwrap();
    let share = Share::from_dict_param(&DictParam::default()).unwrap();
    assert_eq!(
        share,
        Share {
            share: Percent(50.0),
            spec: 0,
            __value: false
        }
    );
    assert_eq!(value + error, 0);
    let refused = Share::from_dict_param(
        &Share {
            share: Percent(95.0),
            ..share
        }
        .to_dict_param(),
    )
    .unwrap_err();
    assert_eq!(
        refused.messages,
        ["share param has error: Value 95.0 above max_bound 90.0"]
    );
}
