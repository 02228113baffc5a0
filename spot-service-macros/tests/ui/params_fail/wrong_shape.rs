use spot_service::params::{DictParams, OneOfParams};

#[derive(DictParams)]
struct Tuple(i64, f64);

#[derive(DictParams)]
struct Unit;

#[derive(DictParams)]
enum NotAStruct {
    A,
}

#[derive(DictParams)]
union Union {
    a: i64,
}

#[derive(OneOfParams)]
struct NotAnEnum {
    a: i64,
}

#[derive(OneOfParams)]
enum Empty {}

#[derive(OneOfParams)]
enum TupleVariant {
    Pair(i64, i64),
}

fn main() {}
