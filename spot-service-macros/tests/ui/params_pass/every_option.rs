// Every field type and option, with negative, suffixed and mixed int/float literals, raw
// identifiers, explicit flags, and a type alias.

use spot_service::params::{DictParams, OneOfParams};
use spot_service::proto::bosdyn::api::DictParam;

type Meters = f64;

#[derive(Debug, PartialEq, DictParams)]
#[params(hidden_by_default = false)]
struct Settings {
    #[param(default = -5, min = -10, max = 10i64, units = "deg", display_order = -1)]
    angle: i64,
    #[param(default = 3, min = 0, max = 2147483647)]
    count: i32,
    #[param(default = 0.5, min = 0, max = 1e3, units = "m")]
    distance: Meters,
    #[param(default = -1.5f32, min = -2)]
    offset: f32,
    #[param(default = true, display_name = "On", description = "Whether it is on")]
    on: bool,
    #[param(default = "b", options = ["a", "b"], editable = false, multiline = false)]
    letter: String,
    #[param(multiline)]
    notes: String,
    r#type: String,
    #[param(key = "nested")]
    inner: Inner,
    choice: Choice,
}

#[derive(Debug, PartialEq, DictParams)]
struct Inner {}

#[derive(Debug, PartialEq, OneOfParams)]
enum Choice {
    HighSpeed,
    #[param(default, display_order = 10)]
    LowSpeed {
        #[param(min = 0.0)]
        speed: f64,
    },
    Wrapped(Inner),
    Nothing(()),
}

fn main() {
    Settings::check_spec().unwrap();
    Choice::check_spec().unwrap();
    let spec = Settings::dict_spec();
    assert!(!spec.is_hidden_by_default);
    for key in [
        "angle", "count", "distance", "offset", "on", "letter", "notes", "type", "nested", "choice",
    ] {
        assert!(spec.specs.contains_key(key), "{key}");
    }
    let mut keys: Vec<&String> = Choice::one_of_spec().specs.keys().collect();
    keys.sort();
    assert_eq!(keys, ["high_speed", "low_speed", "nothing", "wrapped"]);
    assert_eq!(Choice::one_of_spec().default_key, "low_speed");

    let settings = Settings::from_dict_param(&DictParam::default()).unwrap();
    assert_eq!(
        settings,
        Settings {
            angle: -5,
            count: 3,
            distance: 0.5,
            offset: -1.5,
            on: true,
            letter: "b".into(),
            notes: String::new(),
            r#type: String::new(),
            inner: Inner {},
            choice: Choice::LowSpeed { speed: 0.0 },
        }
    );
    for choice in [
        Choice::HighSpeed,
        Choice::Wrapped(Inner {}),
        Choice::Nothing(()),
    ] {
        let settings = Settings {
            choice,
            ..Settings::from_dict_param(&DictParam::default()).unwrap()
        };
        assert_eq!(
            Settings::from_dict_param(&settings.to_dict_param()).unwrap(),
            settings
        );
    }
}

mod shadowing {
    // Constants named like the generated code's bindings would turn them into patterns.
    #![allow(non_upper_case_globals, dead_code)]
    const value: i32 = 0;
    const error: i32 = 0;
    const spec: i32 = 0;
    const other: i32 = 0;
    const repeats: i32 = 0;

    #[derive(spot_service::params::OneOfParams)]
    enum Toggle {
        Enable {
            #[param(default = 1, min = 1)]
            repeats: i64,
        },
        Wrapped(Inner),
    }

    #[derive(spot_service::params::DictParams)]
    struct Inner {
        value: i64,
        error: i64,
    }

    #[derive(spot_service::params::DictParams)]
    struct Params {
        toggle: Toggle,
        spec: Inner,
    }
}
