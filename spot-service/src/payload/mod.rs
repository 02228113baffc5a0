//! Payloads: credentials, registration.

pub mod credentials;
