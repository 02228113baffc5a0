//! # spot-service
//!
//! A framework for services that run beside a Boston Dynamics Spot robot, on a payload computer
//! such as a CORE I/O or on any machine the robot can reach.
//!
//! - [`macro@spot_service`] turns the impl of a tonic service trait into a Spot service: every unary
//!   RPC gets the Spot header handling described in [`header`], and the service carries the
//!   [`ServiceMetadata`] a directory registration needs.
//! - [`ServiceRunner`] hosts any number of services on one `host:port` (plain h2c, as the robot's
//!   proxy expects), with gRPC health, reflection and graceful shutdown on SIGINT, SIGTERM and
//!   SIGQUIT.
//! - [`proto`] holds the bosdyn API messages and services (wire-compatible definitions written for
//!   this project).
//!
//! Compile your own `.proto` files with `spot-service-build` so their messages get the header glue.

// Lets macro-generated code (which names `::spot_service`) be used inside this crate too.
extern crate self as spot_service;

pub mod cli;
pub mod client;
mod connection;
pub mod directory;
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
pub mod fault;
pub mod header;
pub mod health;
pub mod image;
pub mod lease;
pub mod params;
pub mod payload;
pub mod power;
pub mod remote_mission;
pub mod robot;
mod routes;
mod runner;
mod segmented;
pub mod self_ip;
mod server;
mod service;
pub mod shutdown;
pub mod telemetry;
pub mod time_sync;

pub use error::{Result, RpcError};
pub use routes::ServiceRoutes;
pub use runner::{
    DEFAULT_DRAIN_TIMEOUT, DEFAULT_HOOK_TIMEOUT, RunnerError, ServiceRunner, ServiceRunnerBuilder,
    ShutdownHandle,
};
pub use service::{MAX_MESSAGE_SIZE, ServiceMetadata, SpotService};
pub use spot_service_macros::{image_service, remote_mission, spot_service};
/// The bosdyn API (`proto::bosdyn::api`) and the header traits, from `spot-service-protos`.
pub use spot_service_protos as proto;

/// Items used by macro-generated code. Not public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::header::{IntoSpotResponse, MethodInfo, handle_unary, into_handler_result};
    pub use crate::proto::ServerFor;
    pub use crate::routes::ServiceRoutes;
    pub use crate::service::{MAX_MESSAGE_SIZE, ServiceMetadata, SpotService};
    pub use async_trait::async_trait;
    pub use tonic;
}
