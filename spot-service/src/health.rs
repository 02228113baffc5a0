//! The standard gRPC health service (`grpc.health.v1.Health`) every runner hosts, re-exported so
//! you can change what it reports (see
//! [`ServiceRunner::health_reporter`](crate::ServiceRunner::health_reporter)).

pub use tonic_health::ServingStatus;
pub use tonic_health::server::HealthReporter;
