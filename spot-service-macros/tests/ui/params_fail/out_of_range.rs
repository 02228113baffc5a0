use spot_service::params::DictParams;

#[derive(DictParams)]
struct Params {
    #[param(default = 1, max = 3000000000)]
    narrow: i32,
    #[param(max = 10000000000000000000)]
    wide: i64,
}

fn main() {}
