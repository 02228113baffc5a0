//! Compiles the bosdyn API definitions in `bosdyn/` (with protox; no protoc needed).

fn main() {
    spot_service_build::configure()
        .compile_bosdyn_api()
        .unwrap_or_else(|e| panic!("{e}"));
}
