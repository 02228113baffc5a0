use spot_service::params::{DictParams, OneOfParams};

#[derive(DictParams)]
#[params(hiden_by_default)]
struct Params {
    #[param(dispaly_name = "Speed", minimum = 1, hidden_by_default)]
    speed: i64,
}

#[derive(OneOfParams)]
enum Choice {
    #[param(min = 1)]
    A,
}

fn main() {}
