// The checks of the official `validate_spec` that the literals decide.

use spot_service::params::DictParams;

#[derive(DictParams)]
struct Params {
    #[param(default = 0, min = 1)]
    below: i64,
    #[param(default = 11, max = 10)]
    above: i64,
    #[param(min = 1, max = 10)]
    no_default: i64,
    #[param(max = -0.5)]
    no_default_negative: f64,
    #[param(default = 5, min = 10, max = 1)]
    crossed: i64,
    #[param(default = "Alice", options = ["World", "Bob"])]
    not_an_option: String,
    // Fine: editable strings take any default.
    #[param(default = "Alice", options = ["World", "Bob"], editable)]
    editable: String,
}

fn main() {}
