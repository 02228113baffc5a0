//! Payloads: the credentials file and registration with the robot.

pub mod credentials;
pub mod registration;
