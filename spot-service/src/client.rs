//! Client-side header rules: fill the request header before sending, check the response header
//! after receiving, as the official SDK clients do.

use std::time::Duration;

use crate::header::now_timestamp;
use crate::proto::bosdyn::api::RequestHeader;
use crate::proto::bosdyn::api::common_error::Code;
use crate::proto::{SpotRequest, SpotResponse};

/// A response header that reports a failure (or no outcome at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The response has no header.
    #[error("response has no header")]
    MissingHeader,
    /// The header's error code is `CODE_UNSPECIFIED` (the official clients reject this too).
    #[error("response header has no error code set")]
    UnsetStatus,
    /// `CODE_INTERNAL_SERVER_ERROR`.
    #[error("service failed: {0}")]
    InternalServerError(String),
    /// `CODE_INVALID_REQUEST`.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A code this version does not know.
    #[error("unknown header error code {code}: {message}")]
    UnknownCode {
        /// The numeric code.
        code: i32,
        /// The header's message.
        message: String,
    },
}

/// The client name the official SDK uses: `<host>:<program>-<pid>`.
pub fn default_client_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    let program = std::env::args()
        .next()
        .and_then(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "spot-service".to_owned());
    format!("{host}:{program}-{}", std::process::id())
}

/// Fills the request header: `request_timestamp` = now and `client_name`.
pub fn stamp_request<R: SpotRequest>(request: &mut R, client_name: &str) {
    let header = request
        .request_header_mut()
        .get_or_insert_with(RequestHeader::default);
    header.request_timestamp = Some(now_timestamp());
    header.client_name = client_name.to_owned();
}

/// Returns the response if its header reports `CODE_OK`, else the header's error.
pub fn check_response<R: SpotResponse>(response: R) -> Result<R, HeaderError> {
    let header = response
        .response_header()
        .ok_or(HeaderError::MissingHeader)?;
    let error = header.error.clone().unwrap_or_default();
    match Code::try_from(error.code) {
        Ok(Code::Ok) => Ok(response),
        Ok(Code::Unspecified) => Err(HeaderError::UnsetStatus),
        Ok(Code::InternalServerError) => Err(HeaderError::InternalServerError(error.message)),
        Ok(Code::InvalidRequest) => Err(HeaderError::InvalidRequest(error.message)),
        Err(_) => Err(HeaderError::UnknownCode {
            code: error.code,
            message: error.message,
        }),
    }
}

/// A unary call to a robot service that gave no usable response: the response header reported
/// an error, the call failed at the gRPC level, or it did not finish in time.
///
/// The robot-service clients ([`PowerClient`](crate::power::PowerClient),
/// [`FaultClient`](crate::fault::FaultClient), [`LeaseClient`](crate::lease::keepalive::LeaseClient),
/// [`RemoteMissionClient`](crate::remote_mission::RemoteMissionClient),
/// [`Robot::service_channel`](crate::robot::Robot::service_channel)) report these failures in
/// the `Call` variant of their own error types. Every variant names the RPC.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The response header reported an error (or no outcome at all), e.g. the service rejected
    /// the request as invalid.
    #[error("{rpc}: {source}")]
    Header {
        /// The RPC (e.g. `"PowerCommand"`).
        rpc: &'static str,
        /// The header error.
        source: HeaderError,
    },
    /// The call failed at the gRPC level (robot or service unreachable, proxy error,
    /// unimplemented, ...).
    #[error("{rpc} failed: gRPC status {:?}: {}", .status.code(), .status.message())]
    Rpc {
        /// The RPC.
        rpc: &'static str,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
    /// The call did not finish within the client's RPC timeout (or the deadline passed on the
    /// way: `DEADLINE_EXCEEDED`, tonic's "Timeout expired").
    #[error("{rpc} timed out after {after:?}")]
    Timeout {
        /// The RPC.
        rpc: &'static str,
        /// The timeout that elapsed.
        after: Duration,
    },
}

impl CallError {
    /// The RPC that failed (e.g. `"RetainLease"`).
    pub fn rpc(&self) -> &'static str {
        match self {
            Self::Header { rpc, .. } | Self::Rpc { rpc, .. } | Self::Timeout { rpc, .. } => rpc,
        }
    }

    /// The gRPC status, for [`Rpc`](Self::Rpc) errors.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Self::Rpc { status, .. } => Some(status),
            _ => None,
        }
    }

    /// The header error, for [`Header`](Self::Header) errors.
    pub fn header_error(&self) -> Option<&HeaderError> {
        match self {
            Self::Header { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Whether the call timed out ([`Timeout`](Self::Timeout)).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }
}

/// One unary call to `rpc` with the client-side header rules: stamps the request header, sends
/// with the optional `timeout` (as `grpc-timeout` and as a local bound), and checks the response
/// header. The robot-service clients wrap the [`CallError`] in their own typed errors.
pub(crate) async fn unary_call<Req, Resp, F, Fut>(
    rpc: &'static str,
    client_name: &str,
    timeout: Option<Duration>,
    mut message: Req,
    send: F,
) -> Result<Resp, CallError>
where
    Req: SpotRequest,
    Resp: SpotResponse,
    F: FnOnce(tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    stamp_request(&mut message, client_name);
    let mut request = tonic::Request::new(message);
    let result = match timeout {
        Some(after) => {
            request.set_timeout(after);
            match tokio::time::timeout(after, send(request)).await {
                Err(_) => return Err(CallError::Timeout { rpc, after }),
                // A tonic `Channel` enforces the deadline itself and answers CANCELLED.
                Ok(Err(status)) if is_deadline(&status) => {
                    return Err(CallError::Timeout { rpc, after });
                }
                Ok(result) => result,
            }
        }
        None => send(request).await,
    };
    let response = result.map_err(|status| CallError::Rpc {
        rpc,
        status: Box::new(status),
    })?;
    check_response(response.into_inner()).map_err(|source| CallError::Header { rpc, source })
}

/// Whether the call failed because its deadline passed: tonic's client-side `TimeoutExpired`,
/// or the server's `DEADLINE_EXCEEDED`.
pub(crate) fn is_deadline(status: &tonic::Status) -> bool {
    if status.code() == tonic::Code::DeadlineExceeded {
        return true;
    }
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_error_messages_name_the_rpc() {
        let header = CallError::Header {
            rpc: "TriggerServiceFault",
            source: HeaderError::InvalidRequest("no fault id".into()),
        };
        assert_eq!(
            header.to_string(),
            "TriggerServiceFault: invalid request: no fault id"
        );
        let rpc = CallError::Rpc {
            rpc: "PowerCommand",
            status: Box::new(tonic::Status::unavailable("robot is away")),
        };
        assert_eq!(
            rpc.to_string(),
            "PowerCommand failed: gRPC status Unavailable: robot is away"
        );
        let timeout = CallError::Timeout {
            rpc: "RetainLease",
            after: Duration::from_millis(250),
        };
        assert_eq!(timeout.to_string(), "RetainLease timed out after 250ms");
    }

    #[test]
    fn call_error_accessors() {
        let header = CallError::Header {
            rpc: "Tick",
            source: HeaderError::MissingHeader,
        };
        assert_eq!(header.rpc(), "Tick");
        assert_eq!(header.header_error(), Some(&HeaderError::MissingHeader));
        assert!(header.status().is_none());
        assert!(!header.is_timeout());
        // The header error is the source, for error chains.
        let source = std::error::Error::source(&header).expect("a source");
        assert_eq!(source.to_string(), "response has no header");

        let rpc = CallError::Rpc {
            rpc: "Stop",
            status: Box::new(tonic::Status::unimplemented("no Stop")),
        };
        assert_eq!(rpc.rpc(), "Stop");
        assert_eq!(
            rpc.status().map(tonic::Status::code),
            Some(tonic::Code::Unimplemented)
        );
        assert!(rpc.header_error().is_none());
        assert!(!rpc.is_timeout());

        let timeout = CallError::Timeout {
            rpc: "ListLeases",
            after: Duration::from_secs(1),
        };
        assert_eq!(timeout.rpc(), "ListLeases");
        assert!(timeout.is_timeout());
        assert!(timeout.status().is_none());
        assert!(timeout.header_error().is_none());
    }

    #[test]
    fn call_error_stays_small() {
        // clippy's result_large_err threshold is 128 bytes; the client errors embed this one.
        assert!(std::mem::size_of::<CallError>() <= 64);
    }
}
