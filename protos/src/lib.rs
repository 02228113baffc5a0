//! Spot API (`bosdyn.api`) messages and gRPC services, written for spot-service.
//!
//! The `.proto` files in this crate are spot-service's own definitions of the subset of the Boston
//! Dynamics API that the framework needs. They are wire-compatible with the official bosdyn-api
//! package: same packages, names, field numbers and types, so `Any` type URLs and every byte on the
//! wire match (checked by a conformance test against bosdyn-api's own descriptors).
//!
//! Besides prost messages and tonic clients/servers, every message with a Spot header implements
//! [`SpotRequest`] or [`SpotResponse`]; spot-service uses them to stamp and check headers.
//!
//! Most users reach this crate as `spot_service::proto`.

#![allow(missing_docs, clippy::all)] // Generated code below; the hand-written items are documented.

/// The generated `bosdyn` package tree (`bosdyn::api`, `bosdyn::api::mission`).
mod generated {
    include!(concat!(env!("OUT_DIR"), "/mod.rs"));
}

pub use generated::bosdyn;

mod header_traits;

pub use header_traits::{
    LARGE_BYTES_LIMIT, ServerFor, SpotRequest, SpotResponse, StripLargeBytes, pack_any,
};

/// Re-exported so generated glue in users' crates can name well-known types.
pub use prost_types;

/// The encoded `FileDescriptorSet` of every bosdyn file in this crate and of the Google
/// well-known types they import (for gRPC reflection and for conformance checks).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/spot_descriptor_set.bin"));
