use spot_service::params::{DictParams, OneOfParams};

#[derive(DictParams)]
struct Params {
    speed: i64,
    #[param(key = "speed")]
    velocity: f64,
}

#[derive(OneOfParams)]
enum Choice {
    FastMode,
    #[param(key = "fast_mode")]
    Fast,
    Slow {
        a: i64,
        #[param(key = "a")]
        b: i64,
    },
}

fn main() {}
