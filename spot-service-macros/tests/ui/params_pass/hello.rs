// The official "hello" example's parameters: a string with options and a one-of toggle.

use spot_service::params::{DictParams, OneOfParams};
use spot_service::proto::bosdyn::api::DictParam;

#[derive(Debug, PartialEq, DictParams)]
#[params(hidden_by_default)]
struct Hello {
    #[param(
        display_name = "Who",
        description = "Specify who Spot says hello to",
        default = "World",
        options = ["World", "Bob"],
        editable,
    )]
    who: String,
    #[param(key = "toggle_key", display_name = "Repeats")]
    toggle: Toggle,
}

#[derive(Debug, PartialEq, OneOfParams)]
enum Toggle {
    #[param(
        key = "toggle_key_enable",
        display_name = "Enable",
        description = "Repeat it"
    )]
    Enable {
        #[param(key = "toggle_enable_value_key", default = 1337, min = 1, max = 1337)]
        repeats: i64,
    },
    #[param(key = "toggle_key_disable", display_name = "Disable", default)]
    Disable,
}

fn main() {
    let spec = Hello::dict_spec();
    assert!(spec.is_hidden_by_default);
    assert_eq!(spec.specs.len(), 2);
    assert_eq!(Toggle::one_of_spec().default_key, "toggle_key_disable");
    Hello::check_spec().unwrap();

    let hello = Hello::from_dict_param(&DictParam::default()).unwrap();
    assert_eq!(
        hello,
        Hello {
            who: "World".into(),
            toggle: Toggle::Disable
        }
    );
    let hello = Hello {
        who: "Alice".into(),
        toggle: Toggle::Enable { repeats: 3 },
    };
    assert_eq!(
        Hello::from_dict_param(&hello.to_dict_param()).unwrap(),
        hello
    );
}
