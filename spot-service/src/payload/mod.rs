//! Payloads: the credentials file, registration with the robot, and keeping it registered.

pub mod credentials;
pub mod keepalive;
pub mod registration;
