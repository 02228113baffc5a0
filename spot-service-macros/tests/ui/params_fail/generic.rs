use spot_service::params::{DictParams, OneOfParams};

#[derive(DictParams)]
struct Params<T> {
    value: T,
}

#[derive(OneOfParams)]
enum Choice<'a> {
    A { name: &'a str },
}

fn main() {}
