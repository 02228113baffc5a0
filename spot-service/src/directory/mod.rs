//! The robot directory: registering services and keeping them registered.
//!
//! The robot's proxy forwards a call for `(authority, service type)` to the `host_ip:port` its
//! directory holds for that service, so a payload service is reachable through the robot only
//! while it is registered.
//!
//! - [`DirectoryRegistrationClient`] makes the three directory registration calls (Register,
//!   Update, Unregister) and the reset (unregister, then register), with typed errors
//!   ([`DirectoryRegistrationError`]).
//! - [`ServiceRegistration`] is what gets registered: a [`ServiceMetadata`](crate::ServiceMetadata)
//!   plus the host and port the robot should forward to.
//! - [`DirectoryKeepAlive`] keeps a registration alive in the background (heartbeats, recovery
//!   after robot reboots and outages, a service fault while failing, health reporting) and
//!   unregisters on [`shutdown`](DirectoryKeepAlive::shutdown).

pub mod keepalive;
pub mod registration;

pub use keepalive::{
    DEFAULT_INITIAL_RETRY, DEFAULT_INTERVAL, DEFAULT_LIVENESS_TIMEOUT, DEFAULT_RPC_TIMEOUT,
    DIRECTORY_REGISTRATION_FAULT_NAME, DIRECTORY_REGISTRATION_FAULT_SEVERITY, DirectoryKeepAlive,
    KeepAliveConfig, RegistrationStatus,
};
pub use registration::{
    DIRECTORY_REGISTRATION_AUTHORITY, DIRECTORY_REGISTRATION_SERVICE_NAME,
    DIRECTORY_REGISTRATION_SERVICE_TYPE, DirectoryRegistrationClient, DirectoryRegistrationError,
    ServiceRegistration,
};
