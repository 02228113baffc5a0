// Options that do not apply to the field's type are type errors pointing at the option.

use spot_service::params::DictParams;

#[derive(DictParams)]
struct Params {
    #[param(min = 1, default = "x")]
    name: String,
    #[param(options = ["a"], units = "m")]
    count: i64,
    #[param(editable, multiline)]
    flag: bool,
    #[param(units = "m/s")]
    label: String,
    #[param(default = "1")]
    number: i64,
    #[param(default = 1.5, max = 2.5)]
    whole: i64,
    #[param(default = 1)]
    on: bool,
    #[param(default = true)]
    ratio: f64,
}

fn main() {}
