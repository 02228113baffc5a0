//! Compiles the test service used by the integration tests and the benchmark.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    spot_service_build::configure().compile_protos(&["proto/testing.proto"], &["proto"])?;
    Ok(())
}
