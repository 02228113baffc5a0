//! Client-side header rules: fill the request header before sending, check the response header
//! after receiving, as the official SDK clients do.

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

/// Why a unary Spot call made with [`unary_call`] gave no checked response.
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// No answer within the call's timeout (or the answer was "deadline passed").
    TimedOut(std::time::Duration),
    /// The call failed with this gRPC status.
    Rpc(tonic::Status),
    /// The response header reported an error.
    Header(HeaderError),
}

/// One unary call with the client-side header rules: stamps the request header, sends with the
/// optional `timeout` (as `grpc-timeout` and as a local bound), and checks the response header.
/// The robot-service clients map the [`CallFailure`] into their own typed errors.
pub(crate) async fn unary_call<Req, Resp, F, Fut>(
    client_name: &str,
    timeout: Option<std::time::Duration>,
    mut message: Req,
    send: F,
) -> Result<Resp, CallFailure>
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
                Err(_) => return Err(CallFailure::TimedOut(after)),
                // A tonic `Channel` enforces the deadline itself and answers CANCELLED.
                Ok(Err(status)) if is_deadline(&status) => {
                    return Err(CallFailure::TimedOut(after));
                }
                Ok(result) => result,
            }
        }
        None => send(request).await,
    };
    let response = result.map_err(CallFailure::Rpc)?;
    check_response(response.into_inner()).map_err(CallFailure::Header)
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
