use spot_service::params::{DictParams, OneOfParams};

const MAX: i64 = 10;

#[derive(DictParams)]
struct Params {
    #[param(max = MAX, min = 1 + 1, default)]
    a: i64,
    #[param(key = name, display_name = 1, display_order = "first")]
    b: i64,
    #[param(options = "a", editable = "yes")]
    c: String,
    #[param(options = ["a", 1], min = "0")]
    d: String,
    #[param(key = "")]
    e: i64,
    #[param(display_order = 99999999999999999999)]
    f: i64,
}

#[derive(OneOfParams)]
enum Choice {
    #[param(default = true)]
    A,
}

fn main() {}
