//! Spot request/response header handling, applied to every unary RPC of a spot-service service.
//!
//! For each call, [`handle_unary`]:
//! - notes when the request arrived and copies its header (an absent header is treated as empty);
//! - packs the request, with large byte fields emptied, into `header.request`;
//! - runs the handler inside a DEBUG-level `tracing` span (`rpc` with `service`, `method`,
//!   `client_name` and, once known, `outcome`), catching panics;
//! - answers `CODE_OK` unless the handler set another code, `CODE_INVALID_REQUEST` or
//!   `CODE_INTERNAL_SERVER_ERROR` with the handler's message when it fails, and
//!   `CODE_INTERNAL_SERVER_ERROR` when it panics (the service keeps serving);
//! - stamps `request_received_timestamp` and `response_timestamp`;
//! - logs failures (INFO for invalid requests, WARN for handler errors, ERROR for panics) with
//!   `service`, `method` and `client_name` as fields, so they keep their context when the span is
//!   off.
//!
//! The span is at DEBUG level, like tower-http's `TraceLayer`: formatting a span's fields on every
//! call costs about as much as the rest of the header handling, so it is off at the usual `info`
//! level. Turn it on with `RUST_LOG=info,spot_service=debug` (your handler's own events then
//! carry the RPC's fields too).
//!
//! Generated code (`#[spot_service]` and friends) calls it; user code does not need to.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::SystemTime;

use futures_util::FutureExt as _;
use tracing::Instrument as _;

use crate::error::RpcError;
use crate::proto::bosdyn::api::common_error::Code;
use crate::proto::bosdyn::api::{CommonError, ResponseHeader};
use crate::proto::{SpotRequest, SpotResponse};

/// Names of the RPC being served, for logs and spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// Full gRPC service name, e.g. `bosdyn.api.ImageService`.
    pub service: &'static str,
    /// gRPC method name, e.g. `GetImage`.
    pub method: &'static str,
}

/// The current time as a protobuf timestamp.
pub fn now_timestamp() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

/// How a call ended, as recorded in the `outcome` span field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    InvalidRequest,
    InternalError,
    Panicked,
    GrpcStatus,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::InvalidRequest => "invalid_request",
            Outcome::InternalError => "internal_error",
            Outcome::Panicked => "panicked",
            Outcome::GrpcStatus => "grpc_status",
        }
    }
}

/// Text of a panic payload (`panic!` with a string or a format).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// Serves one unary RPC with Spot header handling around `handler` (see the module docs).
pub async fn handle_unary<Req, Resp, F, Fut>(
    method: MethodInfo,
    request: tonic::Request<Req>,
    handler: F,
) -> Result<tonic::Response<Resp>, tonic::Status>
where
    Req: SpotRequest,
    Resp: SpotResponse,
    F: FnOnce(tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, RpcError>>,
{
    let received = now_timestamp();
    let message = request.get_ref();
    let request_header = message.request_header().cloned().unwrap_or_default();
    let logged_request = message.to_logged_any();
    let span = tracing::debug_span!(
        "rpc",
        service = method.service,
        method = method.method,
        client_name = %request_header.client_name,
        outcome = tracing::field::Empty,
    );

    let result = AssertUnwindSafe(handler(request))
        .catch_unwind()
        .instrument(span.clone())
        .await;

    let (mut response, outcome, error) = match result {
        Ok(Ok(response)) => {
            // A code the handler set itself is kept; it decides the outcome.
            let outcome = match response
                .get_ref()
                .response_header()
                .and_then(|h| h.error.as_ref())
                .map(|e| Code::try_from(e.code))
            {
                Some(Ok(Code::InvalidRequest)) => Outcome::InvalidRequest,
                Some(Ok(Code::InternalServerError) | Err(_)) => Outcome::InternalError,
                _ => Outcome::Ok,
            };
            (response, outcome, None)
        }
        Ok(Err(error)) => match error.into_parts() {
            Ok((code, message)) => {
                let outcome = if code == Code::InvalidRequest {
                    Outcome::InvalidRequest
                } else {
                    Outcome::InternalError
                };
                (
                    tonic::Response::new(Resp::default()),
                    outcome,
                    Some((code, message)),
                )
            }
            Err(status) => {
                span.record("outcome", Outcome::GrpcStatus.as_str());
                span.in_scope(|| {
                    tracing::info!(
                        service = method.service,
                        method = method.method,
                        client_name = %request_header.client_name,
                        code = ?status.code(),
                        message = status.message(),
                        "answered with a gRPC status"
                    )
                });
                return Err(status);
            }
        },
        Err(payload) => {
            let message = format!("handler panicked: {}", panic_message(payload.as_ref()));
            (
                tonic::Response::new(Resp::default()),
                Outcome::Panicked,
                Some((Code::InternalServerError, message)),
            )
        }
    };

    span.record("outcome", outcome.as_str());
    span.in_scope(|| {
        let handler_error = response
            .get_ref()
            .response_header()
            .and_then(|h| h.error.as_ref())
            .map(|e| e.message.as_str());
        let message = error.as_ref().map(|(_, m)| m.as_str()).or(handler_error);
        log_outcome(method, &request_header.client_name, outcome, message);
    });

    let header = response
        .get_mut()
        .response_header_mut()
        .get_or_insert_with(ResponseHeader::default);
    header.request_header = Some(request_header);
    header.request_received_timestamp = Some(received);
    header.request = Some(logged_request);
    match &error {
        Some((code, message)) => {
            header.error = Some(CommonError {
                code: *code as i32,
                message: message.clone(),
                data: None,
            });
        }
        None => {
            let error = header.error.get_or_insert_with(CommonError::default);
            if error.code == Code::Unspecified as i32 {
                error.code = Code::Ok as i32;
            }
        }
    }
    header.response_timestamp = Some(now_timestamp());

    Ok(response)
}

/// Logs how a call ended: DEBUG for success, INFO for an invalid request, WARN for a handler
/// error, ERROR for a panic.
fn log_outcome(method: MethodInfo, client_name: &str, outcome: Outcome, message: Option<&str>) {
    let (service, method) = (method.service, method.method);
    let error = message.unwrap_or_default();
    match outcome {
        Outcome::Ok | Outcome::GrpcStatus => tracing::debug!("answered"),
        Outcome::InvalidRequest => tracing::info!(
            service,
            method,
            client_name,
            error,
            "rejected an invalid request"
        ),
        Outcome::Panicked => {
            tracing::error!(service, method, client_name, error, "handler panicked")
        }
        Outcome::InternalError => {
            tracing::warn!(service, method, client_name, error, "handler failed")
        }
    }
}

/// Converts what a handler returned into what `handle_unary` expects. Used by generated code, so
/// handlers may return either the message or a `tonic::Response` of it (whose metadata and
/// extensions are kept), with any error that converts into [`RpcError`].
#[doc(hidden)]
pub fn into_handler_result<R, M, E>(result: Result<R, E>) -> Result<tonic::Response<M>, RpcError>
where
    R: IntoSpotResponse<M>,
    E: Into<RpcError>,
{
    result
        .map(IntoSpotResponse::into_tonic_response)
        .map_err(Into::into)
}

/// A handler's success value: the response message itself or a `tonic::Response` of it.
#[doc(hidden)]
pub trait IntoSpotResponse<M> {
    /// The response, as tonic sends it.
    fn into_tonic_response(self) -> tonic::Response<M>;
}

impl<M: SpotResponse> IntoSpotResponse<M> for M {
    fn into_tonic_response(self) -> tonic::Response<M> {
        tonic::Response::new(self)
    }
}

impl<M: SpotResponse> IntoSpotResponse<M> for tonic::Response<M> {
    fn into_tonic_response(self) -> tonic::Response<M> {
        self
    }
}
