//! Service faults: raising and clearing faults on the robot (`bosdyn.api.FaultService`), as the
//! official SDK's `FaultClient` does.
//!
//! A service fault tells the robot's operators (tablet, admin page, `GetRobotState`) that a
//! service or payload is degraded or not working. A fault is identified by its
//! [`ServiceFaultId`] (fault name, service name, payload GUID): the same id cannot be active
//! twice, and clearing it moves it to the robot's history.
//!
//! - [`FaultClient`] makes the calls, with one [`FaultError`] variant per status the robot can
//!   answer.
//! - [`FaultReporter`] follows one fault for a caller that checks a condition over and over
//!   (e.g. each image capture): it remembers whether the fault is active and calls the robot only
//!   when that changes.
//!
//! ```no_run
//! # async fn example(channel: tonic::transport::Channel) -> Result<(), spot_service::fault::FaultError> {
//! use spot_service::fault::{FaultClient, FaultReporter, fault_id};
//! use spot_service::proto::bosdyn::api::service_fault::Severity;
//!
//! let client = FaultClient::new(channel);
//! let mut camera = FaultReporter::new(
//!     client,
//!     fault_id("Camera Disconnected", "my-camera-service"),
//!     Severity::Critical,
//! );
//! camera.set(Some("no frame for 5 s")).await?; // raises the fault
//! camera.set(Some("no frame for 10 s")).await?; // already raised: no call
//! camera.set(None).await?; // clears it
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use tonic::codegen::{Body, Bytes, StdError};

use crate::client::{CallError, default_client_name, unary_call};
use crate::proto::bosdyn::api::fault_service_client::FaultServiceClient;
use crate::proto::bosdyn::api::{
    ClearServiceFaultRequest, ClearServiceFaultResponse, ServiceFault, ServiceFaultId,
    TriggerServiceFaultRequest, TriggerServiceFaultResponse, clear_service_fault_response,
    service_fault, trigger_service_fault_response,
};
use crate::proto::{SpotRequest, SpotResponse};

/// The directory name of the robot's fault service.
pub const FAULT_SERVICE_NAME: &str = "fault";
/// The gRPC type of the robot's fault service.
pub const FAULT_SERVICE_TYPE: &str = "bosdyn.api.FaultService";
/// The authority under which the robot serves the fault service.
pub const FAULT_SERVICE_AUTHORITY: &str = "api.spot.robot";

/// A [`ServiceFaultId`] for a fault of the service `service_name` (no payload GUID).
pub fn fault_id(fault_name: impl Into<String>, service_name: impl Into<String>) -> ServiceFaultId {
    ServiceFaultId {
        fault_name: fault_name.into(),
        service_name: service_name.into(),
        payload_guid: String::new(),
    }
}

/// A [`ServiceFault`] with no attributes; the robot fills in the onset time and duration.
pub fn service_fault(
    fault_id: ServiceFaultId,
    severity: service_fault::Severity,
    error_message: impl Into<String>,
) -> ServiceFault {
    ServiceFault {
        fault_id: Some(fault_id),
        error_message: error_message.into(),
        attributes: Vec::new(),
        severity: severity as i32,
        onset_timestamp: None,
        duration: None,
    }
}

/// A fault id as people read it: `"name" (service "s", payload "p")`, empty parts left out.
fn describe(id: &ServiceFaultId) -> String {
    let mut text = format!("{:?}", id.fault_name);
    let mut parts = Vec::new();
    if !id.service_name.is_empty() {
        parts.push(format!("service {:?}", id.service_name));
    }
    if !id.payload_guid.is_empty() {
        parts.push(format!("payload {:?}", id.payload_guid));
    }
    if !parts.is_empty() {
        text.push_str(&format!(" ({})", parts.join(", ")));
    }
    text
}

/// A fault call that failed.
///
/// The two statuses of the fault service have their own variants
/// ([`AlreadyActive`](Self::AlreadyActive), [`NotActive`](Self::NotActive)); any other status
/// lands in [`UnexpectedStatus`](Self::UnexpectedStatus).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// `TriggerServiceFault` answered `STATUS_FAULT_ALREADY_ACTIVE`: a fault with this id is
    /// already active (the active one is left unchanged).
    #[error("service fault {} is already active", describe(.fault_id))]
    AlreadyActive {
        /// The id of the fault that was triggered.
        fault_id: ServiceFaultId,
    },
    /// `ClearServiceFault` answered `STATUS_FAULT_NOT_ACTIVE`: no matching fault was active.
    #[error("service fault {} is not active", describe(.fault_id))]
    NotActive {
        /// The id sent in the clear request.
        fault_id: ServiceFaultId,
    },
    /// The call answered a status other than OK and the one above (typically
    /// `STATUS_UNKNOWN`, i.e. unset, or a status newer than this version).
    #[error("{rpc} answered {status} ({code})")]
    UnexpectedStatus {
        /// The RPC (`"TriggerServiceFault"` or `"ClearServiceFault"`).
        rpc: &'static str,
        /// The status name from the proto (e.g. `"STATUS_UNKNOWN"`), or `"unknown status"`.
        status: &'static str,
        /// The numeric status.
        code: i32,
    },
    /// The call itself failed: the response header reported an error (or no outcome at all),
    /// e.g. the robot rejected a malformed fault; the call failed at the gRPC level (robot
    /// unreachable, proxy error, ...); or it did not finish within the client's RPC timeout.
    #[error(transparent)]
    Call(#[from] CallError),
}

impl FaultError {
    /// The gRPC status, for calls that failed at the gRPC level ([`CallError::Rpc`]).
    pub fn grpc_status(&self) -> Option<&tonic::Status> {
        match self {
            Self::Call(error) => error.status(),
            _ => None,
        }
    }
}

/// A client of the robot's fault service (`FaultClient` in the official SDK), over any tonic
/// transport `T` (a plain `Channel`, an authenticated robot channel for
/// [`FAULT_SERVICE_AUTHORITY`], ...).
///
/// Every request gets a stamped [`RequestHeader`](crate::proto::bosdyn::api::RequestHeader) and
/// every response header is checked ([`check_response`](crate::client::check_response)). Cloning is cheap when `T` is.
#[derive(Debug, Clone)]
pub struct FaultClient<T> {
    inner: FaultServiceClient<T>,
    client_name: String,
    rpc_timeout: Option<Duration>,
}

impl<T> FaultClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A client over `transport`, with the official SDK's client name
    /// ([`default_client_name`]) and no RPC timeout.
    pub fn new(transport: T) -> Self {
        Self::from_client(FaultServiceClient::new(transport))
    }

    /// Wraps a generated client (e.g. one built `with_origin`); sets spot-service's message
    /// size limits.
    pub fn from_client(inner: FaultServiceClient<T>) -> Self {
        Self {
            inner: inner
                .max_decoding_message_size(crate::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(crate::MAX_MESSAGE_SIZE),
            client_name: default_client_name(),
            rpc_timeout: None,
        }
    }

    /// The generated client inside, e.g. for
    /// [`DirectoryKeepAlive::spawn`](crate::directory::DirectoryKeepAlive::spawn).
    pub fn into_inner(self) -> FaultServiceClient<T> {
        self.inner
    }

    /// Sets the `client_name` stamped into request headers.
    #[must_use]
    pub fn with_client_name(mut self, client_name: impl Into<String>) -> Self {
        self.client_name = client_name.into();
        self
    }

    /// Bounds every call: the deadline is sent to the server (`grpc-timeout`) and enforced
    /// locally ([`CallError::Timeout`] in [`FaultError::Call`]). `None` (the default) waits as
    /// long as the transport allows.
    #[must_use]
    pub fn with_rpc_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    /// The client name stamped into request headers.
    pub fn client_name(&self) -> &str {
        &self.client_name
    }

    /// The RPC timeout (see [`with_rpc_timeout`](Self::with_rpc_timeout)).
    pub fn rpc_timeout(&self) -> Option<Duration> {
        self.rpc_timeout
    }

    /// Raises `fault` on the robot (`TriggerServiceFault`). Leave `onset_timestamp` unset to let
    /// the robot use the time it receives the fault.
    ///
    /// # Errors
    ///
    /// [`FaultError::AlreadyActive`] if a fault with the same id is active, or any other
    /// failure ([`CallError::Header`] in [`FaultError::Call`] for a fault the robot rejects,
    /// e.g. without an id).
    pub async fn trigger(&mut self, fault: ServiceFault) -> Result<(), FaultError> {
        const RPC: &str = "TriggerServiceFault";
        use trigger_service_fault_response::Status;
        let fault_id = fault.fault_id.clone().unwrap_or_default();
        let request = TriggerServiceFaultRequest {
            header: None,
            fault: Some(fault),
        };
        let inner = &mut self.inner;
        let response: TriggerServiceFaultResponse =
            call(RPC, self.rpc_timeout, &self.client_name, request, |r| {
                inner.trigger_service_fault(r)
            })
            .await?;
        tracing::debug!(fault = %describe(&fault_id), status = response.status, "TriggerServiceFault answered");
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::FaultAlreadyActive) => Err(FaultError::AlreadyActive { fault_id }),
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// Clears the fault `fault_id` (`ClearServiceFault`): the robot moves it to its history.
    ///
    /// # Errors
    ///
    /// [`FaultError::NotActive`] if no fault with that id is active, or any other failure.
    pub async fn clear(&mut self, fault_id: ServiceFaultId) -> Result<(), FaultError> {
        self.clear_request(fault_id, false, false).await
    }

    /// Clears every active fault of the service `service_name`, whatever their names
    /// (`ClearServiceFault` with `clear_all_service_faults`).
    ///
    /// # Errors
    ///
    /// [`FaultError::NotActive`] if the service has no active fault, or any other failure.
    pub async fn clear_all_for_service(
        &mut self,
        service_name: impl Into<String>,
    ) -> Result<(), FaultError> {
        self.clear_request(fault_id("", service_name), true, false)
            .await
    }

    /// Clears every active fault of the payload `payload_guid`, whatever their names and
    /// services (`ClearServiceFault` with `clear_all_payload_faults`).
    ///
    /// # Errors
    ///
    /// [`FaultError::NotActive`] if the payload has no active fault, or any other failure.
    pub async fn clear_all_for_payload(
        &mut self,
        payload_guid: impl Into<String>,
    ) -> Result<(), FaultError> {
        let id = ServiceFaultId {
            payload_guid: payload_guid.into(),
            ..Default::default()
        };
        self.clear_request(id, false, true).await
    }

    /// `ClearServiceFault` with every field under the caller's control: clears `fault_id` and,
    /// with the flags, every fault sharing its service name or payload GUID.
    ///
    /// # Errors
    ///
    /// [`FaultError::NotActive`] if nothing matched, or any other failure.
    pub async fn clear_request(
        &mut self,
        fault_id: ServiceFaultId,
        clear_all_service_faults: bool,
        clear_all_payload_faults: bool,
    ) -> Result<(), FaultError> {
        const RPC: &str = "ClearServiceFault";
        use clear_service_fault_response::Status;
        let request = ClearServiceFaultRequest {
            header: None,
            fault_id: Some(fault_id.clone()),
            clear_all_service_faults,
            clear_all_payload_faults,
        };
        let inner = &mut self.inner;
        let response: ClearServiceFaultResponse =
            call(RPC, self.rpc_timeout, &self.client_name, request, |r| {
                inner.clear_service_fault(r)
            })
            .await?;
        tracing::debug!(fault = %describe(&fault_id), status = response.status, "ClearServiceFault answered");
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::FaultNotActive) => Err(FaultError::NotActive { fault_id }),
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }
}

/// Stamps the header, sends with the optional timeout, checks the response header.
async fn call<Req, Resp, F, Fut>(
    rpc: &'static str,
    timeout: Option<Duration>,
    client_name: &str,
    message: Req,
    send: F,
) -> Result<Resp, FaultError>
where
    Req: SpotRequest,
    Resp: SpotResponse,
    F: FnOnce(tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    unary_call(rpc, client_name, timeout, message, send)
        .await
        .map_err(Into::into)
}

fn unexpected(rpc: &'static str, status: Option<&'static str>, code: i32) -> FaultError {
    FaultError::UnexpectedStatus {
        rpc,
        status: status.unwrap_or("unknown status"),
        code,
    }
}

/// What a [`FaultReporter`] believes about its fault on the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Belief {
    /// Not known: at start (a fault from an earlier run may still be active), or after a call
    /// whose outcome is unknown.
    Unknown,
    Active,
    Clear,
}

/// Follows one fault on the robot for code that checks a condition repeatedly (each image
/// capture, each sensor poll): it remembers whether the fault is active and calls the robot only
/// when that changes.
///
/// - [`raise`](Self::raise) triggers the fault unless it is known to be active;
/// - [`clear`](Self::clear) clears it unless it is known to be clear;
/// - [`set`](Self::set) does one or the other.
///
/// At start the state is unknown (a fault left by an earlier run of the program may still be
/// active), so the first call always reaches the robot; [`assume_clear`](Self::assume_clear)
/// skips that first clear. The robot's "already active" and "not active" answers count as
/// success. A call that fails makes the state unknown again, so the next call is sent whatever
/// it is.
#[derive(Debug, Clone)]
pub struct FaultReporter<T> {
    client: FaultClient<T>,
    fault: ServiceFault,
    belief: Belief,
}

impl<T> FaultReporter<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A reporter of the fault `fault_id` with `severity`, over `client`.
    pub fn new(
        client: FaultClient<T>,
        fault_id: ServiceFaultId,
        severity: service_fault::Severity,
    ) -> Self {
        Self {
            client,
            fault: service_fault(fault_id, severity, ""),
            belief: Belief::Unknown,
        }
    }

    /// Sets the attributes (tags such as `"camera"`) sent with the fault.
    #[must_use]
    pub fn with_attributes<I, S>(mut self, attributes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fault.attributes = attributes.into_iter().map(Into::into).collect();
        self
    }

    /// Starts from "not active" instead of "unknown", so a first [`clear`](Self::clear) sends
    /// nothing. Use it when the fault cannot be active, e.g. right after the service's directory
    /// entry was reset (unregistering clears a service's faults).
    #[must_use]
    pub fn assume_clear(mut self) -> Self {
        self.belief = Belief::Clear;
        self
    }

    /// The id of the fault this reporter follows.
    pub fn fault_id(&self) -> &ServiceFaultId {
        self.fault
            .fault_id
            .as_ref()
            .expect("FaultReporter always holds a fault id")
    }

    /// Whether the fault is active on the robot as far as this reporter knows: `None` before the
    /// first successful call and after a failed one.
    pub fn is_active(&self) -> Option<bool> {
        match self.belief {
            Belief::Unknown => None,
            Belief::Active => Some(true),
            Belief::Clear => Some(false),
        }
    }

    /// The client, e.g. to make other fault calls on the same transport.
    pub fn client_mut(&mut self) -> &mut FaultClient<T> {
        &mut self.client
    }

    /// Raises the fault with `error_message` unless it is already active. Returns whether a call
    /// was made. (The message of a fault that stays active is not updated.)
    ///
    /// # Errors
    ///
    /// The call's failure (other than "already active", which counts as success).
    pub async fn raise(&mut self, error_message: impl Into<String>) -> Result<bool, FaultError> {
        if self.belief == Belief::Active {
            return Ok(false);
        }
        let mut fault = self.fault.clone();
        fault.error_message = error_message.into();
        self.belief = Belief::Unknown;
        match self.client.trigger(fault).await {
            Ok(()) | Err(FaultError::AlreadyActive { .. }) => {
                self.belief = Belief::Active;
                tracing::info!(fault = %describe(self.fault_id()), "service fault raised");
                Ok(true)
            }
            Err(error) => Err(error),
        }
    }

    /// Clears the fault unless it is known not to be active. Returns whether a call was made.
    ///
    /// # Errors
    ///
    /// The call's failure (other than "not active", which counts as success).
    pub async fn clear(&mut self) -> Result<bool, FaultError> {
        if self.belief == Belief::Clear {
            return Ok(false);
        }
        let was_active = self.belief == Belief::Active;
        self.belief = Belief::Unknown;
        match self.client.clear(self.fault_id().clone()).await {
            Ok(()) | Err(FaultError::NotActive { .. }) => {
                self.belief = Belief::Clear;
                if was_active {
                    tracing::info!(fault = %describe(self.fault_id()), "service fault cleared");
                }
                Ok(true)
            }
            Err(error) => Err(error),
        }
    }

    /// Reports the current condition: `Some(problem)` raises the fault with that message,
    /// `None` clears it. Returns whether a call was made.
    ///
    /// # Errors
    ///
    /// As [`raise`](Self::raise) and [`clear`](Self::clear).
    pub async fn set(&mut self, problem: Option<&str>) -> Result<bool, FaultError> {
        match problem {
            Some(message) => self.raise(message).await,
            None => self.clear().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_ids_read_well_in_errors() {
        let error = FaultError::AlreadyActive {
            fault_id: fault_id("Camera Down", "cam"),
        };
        assert_eq!(
            error.to_string(),
            r#"service fault "Camera Down" (service "cam") is already active"#
        );
        let error = FaultError::NotActive {
            fault_id: ServiceFaultId {
                fault_name: "x".into(),
                service_name: String::new(),
                payload_guid: "g".into(),
            },
        };
        assert_eq!(
            error.to_string(),
            r#"service fault "x" (payload "g") is not active"#
        );
    }

    #[test]
    fn service_fault_builder_leaves_times_to_the_robot() {
        let fault = service_fault(
            fault_id("f", "s"),
            service_fault::Severity::Warn,
            "degraded",
        );
        assert_eq!(fault.severity, service_fault::Severity::Warn as i32);
        assert!(fault.onset_timestamp.is_none() && fault.duration.is_none());
        assert_eq!(fault.fault_id.unwrap().service_name, "s");
    }
}
