use spot_service::params::DictParams;

#[derive(DictParams)]
struct Params {
    count: u64,
    bytes: Vec<u8>,
}

fn main() {}
