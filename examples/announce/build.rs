//! Compiles announce.proto; spot-service-build puts the bosdyn API on the include path and
//! generates the header glue.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    spot_service_build::configure().compile_protos(&["proto/announce.proto"], &["proto"])?;
    Ok(())
}
