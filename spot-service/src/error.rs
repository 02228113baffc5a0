//! The error type service handlers return.

use std::fmt;

use crate::proto::bosdyn::api::common_error::Code;

/// An error returned by a service handler.
///
/// spot-service turns it into the response header's error (never into a bare gRPC `UNKNOWN`):
/// - [`RpcError::invalid_request`] answers `CODE_INVALID_REQUEST`;
/// - [`RpcError::internal`] and any other error converted with `?` (anything implementing
///   `std::error::Error`, and `anyhow::Error`) answer `CODE_INTERNAL_SERVER_ERROR`;
/// - [`RpcError::status`] answers a real gRPC status instead of a response, for the rare case
///   where the client must see one (e.g. `UNIMPLEMENTED`).
///
/// Like `anyhow::Error`, it deliberately does not implement `std::error::Error`, so that `?`
/// works on every error type.
pub struct RpcError {
    kind: Kind,
}

enum Kind {
    Header { code: Code, message: String },
    // Boxed: a `Status` is large, and handler results travel up several future layers.
    Status(Box<tonic::Status>),
}

impl RpcError {
    /// The request is malformed or inconsistent: answered with `CODE_INVALID_REQUEST`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::header(Code::InvalidRequest, message)
    }

    /// The service failed: answered with `CODE_INTERNAL_SERVER_ERROR`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::header(Code::InternalServerError, message)
    }

    /// Answer with this gRPC status instead of a response message.
    pub fn status(status: tonic::Status) -> Self {
        Self {
            kind: Kind::Status(Box::new(status)),
        }
    }

    fn header(code: Code, message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Header {
                code,
                message: message.into(),
            },
        }
    }

    /// The header error code this error is answered with (`None` for a gRPC status).
    pub fn code(&self) -> Option<Code> {
        match &self.kind {
            Kind::Header { code, .. } => Some(*code),
            Kind::Status(_) => None,
        }
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        match &self.kind {
            Kind::Header { message, .. } => message,
            Kind::Status(status) => status.message(),
        }
    }

    /// Splits into a header error (code, message) or a gRPC status.
    pub(crate) fn into_parts(self) -> Result<(Code, String), tonic::Status> {
        match self.kind {
            Kind::Header { code, message } => Ok((code, message)),
            Kind::Status(status) => Err(*status),
        }
    }
}

/// Any error that converts into `anyhow::Error` (every `std::error::Error + Send + Sync`, and
/// `anyhow::Error` itself) becomes an internal error whose message is the whole chain of causes:
/// `outer: inner: root`.
impl<E> From<E> for RpcError
where
    E: Into<anyhow::Error>,
{
    fn from(error: E) -> Self {
        Self::internal(format!("{:#}", error.into()))
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Header { code, message } => write!(f, "{}: {message}", code.as_str_name()),
            Kind::Status(status) => {
                write!(f, "gRPC status {:?}: {}", status.code(), status.message())
            }
        }
    }
}

impl fmt::Debug for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `Result` with [`RpcError`] as the default error, for handler signatures.
pub type Result<T, E = RpcError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not read frame")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn std_errors_become_internal_with_their_chain() {
        let err: RpcError = Outer(std::io::Error::other("device gone")).into();
        assert_eq!(err.code(), Some(Code::InternalServerError));
        assert_eq!(err.message(), "could not read frame: device gone");
    }

    #[test]
    fn anyhow_errors_keep_context() {
        let err: RpcError = anyhow::anyhow!("root").context("outer").into();
        assert_eq!(err.message(), "outer: root");
    }

    #[test]
    fn invalid_request_and_status() {
        assert_eq!(
            RpcError::invalid_request("no").code(),
            Some(Code::InvalidRequest)
        );
        let status = RpcError::status(tonic::Status::unimplemented("later"));
        assert_eq!(status.code(), None);
        assert_eq!(status.message(), "later");
        assert!(status.into_parts().is_err());
    }
}
