//! Errors of the robot connection.

use std::path::PathBuf;

use super::ProxyError;

/// Errors from configuring or connecting to a robot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RobotError {
    /// The robot's address is not a usable `host[:port]`.
    #[error("invalid robot address {address:?}: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another configuration value is unusable (e.g. a zero timeout).
    #[error("invalid robot configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// An authority is not a bare DNS name such as `api.spot.robot`.
    #[error("invalid authority {authority:?}: {reason}")]
    InvalidAuthority {
        /// The authority as given.
        authority: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA certificate file ([`Trust::CaFile`](super::Trust::CaFile)) cannot be read.
    #[error("cannot read the CA certificate file {}: {source}", path.display())]
    CaFileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The CA certificates are not valid PEM, or not usable as trust anchors.
    #[error("{origin} holds no usable CA certificate: {reason}")]
    InvalidCaPem {
        /// Where they come from (see [`Trust::describe`](super::Trust::describe)).
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A token cannot be used as a bearer token. The message never contains the token.
    #[error("invalid bearer token: {reason}")]
    InvalidToken {
        /// What is wrong.
        reason: &'static str,
    },
    /// A lazily-connecting channel was requested outside a Tokio runtime; its worker task needs
    /// one.
    #[error("a lazily-connecting robot channel must be created within a Tokio runtime")]
    NoRuntime,
    /// The connection to an authority of the robot could not be opened.
    #[error("cannot connect to {authority} at {address}: {cause}")]
    Connect {
        /// The authority (normalized).
        authority: String,
        /// The robot's `host:port`.
        address: String,
        /// What failed, classified.
        #[source]
        cause: ProxyError,
    },
}

impl RobotError {
    /// The classified failure, for [`RobotError::Connect`].
    pub fn proxy_error(&self) -> Option<&ProxyError> {
        match self {
            Self::Connect { cause, .. } => Some(cause),
            _ => None,
        }
    }
}
