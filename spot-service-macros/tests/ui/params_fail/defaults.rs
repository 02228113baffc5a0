use spot_service::params::OneOfParams;

#[derive(OneOfParams)]
enum Choice {
    #[param(default)]
    A,
    #[param(default)]
    B,
    C {
        #[param(default)]
        value: i64,
    },
}

fn main() {}
