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
