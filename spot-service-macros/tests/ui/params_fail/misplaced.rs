use spot_service::params::{DictParams, OneOfParams};

#[derive(DictParams)]
#[param(key = "params")]
struct Params {
    #[params(hidden_by_default)]
    a: i64,
    #[param]
    b: i64,
    #[param = "c"]
    c: i64,
    #[param(key "d")]
    d: i64,
}

#[derive(DictParams)]
struct Inner {
    a: i64,
}

#[derive(OneOfParams)]
#[param(default)]
enum Choice {
    Wrapped(#[param(key = "x")] Inner),
}

fn main() {}
