use spot_service::params::DictParams;

#[derive(DictParams)]
struct Params {
    #[param(min = 1, default = 2, min = 0)]
    #[param(default = 3)]
    speed: i64,
}

fn main() {}
