//! Directory registration: adding, updating and removing this program's services in the robot's
//! directory (`bosdyn.api.DirectoryRegistrationService`), as the official SDK's
//! `DirectoryRegistrationClient` does.
//!
//! The robot's proxy routes calls for `(authority, service type)` to the `host_ip:port` registered
//! here. A service that is not in the directory cannot be reached through the robot; keep it
//! registered with a [`DirectoryKeepAlive`](super::DirectoryKeepAlive).

use std::time::Duration;

use tonic::codegen::{Body, Bytes, StdError};

use crate::ServiceMetadata;
use crate::client::{CallError, HeaderError, default_client_name, unary_call};
use crate::proto::SpotRequest;
use crate::proto::bosdyn::api::directory_registration_service_client::DirectoryRegistrationServiceClient;
use crate::proto::bosdyn::api::{
    Endpoint, RegisterServiceRequest, RegisterServiceResponse, ServiceEntry,
    UnregisterServiceRequest, UnregisterServiceResponse, UpdateServiceRequest,
    UpdateServiceResponse, register_service_response, service_entry, unregister_service_response,
    update_service_response,
};

/// The directory name of the robot's directory registration service.
pub const DIRECTORY_REGISTRATION_SERVICE_NAME: &str = "directory-registration";
/// The gRPC type of the robot's directory registration service.
pub const DIRECTORY_REGISTRATION_SERVICE_TYPE: &str = "bosdyn.api.DirectoryRegistrationService";
pub use crate::robot::DIRECTORY_REGISTRATION_AUTHORITY;

/// A directory registration call that failed.
///
/// The two statuses callers usually handle, [`AlreadyExists`](Self::AlreadyExists) and
/// [`DoesNotExist`](Self::DoesNotExist), have their own variants; other statuses land in
/// [`UnexpectedStatus`](Self::UnexpectedStatus).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryRegistrationError {
    /// `RegisterService` answered `STATUS_ALREADY_EXISTS`: a service with this name is already
    /// in the directory (nothing was changed).
    #[error("service {name:?} is already registered in the robot directory")]
    AlreadyExists {
        /// The service name.
        name: String,
    },
    /// `UpdateService` or `UnregisterService` answered `STATUS_NONEXISTENT_SERVICE`: no service
    /// with this name is in the directory.
    #[error("service {name:?} is not registered in the robot directory")]
    DoesNotExist {
        /// The service name.
        name: String,
    },
    /// The call answered a status other than OK and the two above (typically
    /// `STATUS_UNKNOWN`, i.e. unset, or a status newer than this version).
    #[error("{rpc} for service {name:?} answered {status} ({code})")]
    UnexpectedStatus {
        /// The RPC (`"RegisterService"`, `"UpdateService"` or `"UnregisterService"`).
        rpc: &'static str,
        /// The service name.
        name: String,
        /// The status name from the proto (e.g. `"STATUS_UNKNOWN"`), or `"unknown status"`.
        status: &'static str,
        /// The numeric status.
        code: i32,
    },
    /// The response header reports an error (or no outcome at all).
    #[error("robot directory rejected the call: {0}")]
    Header(#[from] HeaderError),
    /// The call failed at the gRPC level (robot unreachable, proxy error, deadline, ...).
    #[error("directory registration RPC failed: gRPC status {:?}: {}", .0.code(), .0.message())]
    Rpc(#[from] Box<tonic::Status>),
    /// The call did not finish within the client's RPC timeout.
    #[error("{rpc} for service {name:?} timed out after {after:?}")]
    Timeout {
        /// The RPC.
        rpc: &'static str,
        /// The service name.
        name: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The keep-alive's background task ended abnormally (it panicked), so it could not
    /// unregister.
    #[error("directory keep-alive task failed: {0}")]
    KeepAliveTask(String),
}

impl From<tonic::Status> for DirectoryRegistrationError {
    fn from(status: tonic::Status) -> Self {
        Self::Rpc(Box::new(status))
    }
}

impl DirectoryRegistrationError {
    /// The gRPC status, for [`Rpc`](Self::Rpc) errors.
    pub fn grpc_status(&self) -> Option<&tonic::Status> {
        match self {
            Self::Rpc(status) => Some(status),
            _ => None,
        }
    }
}

/// Everything the robot's directory needs to route calls to one service: the directory entry
/// (name, type, authority, token requirement, liveness timeout) and the endpoint (host, port).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRegistration {
    /// Directory name, unique on the robot (e.g. `"announce-service"`).
    pub name: String,
    /// Full gRPC service name (e.g. `"announce.AnnounceService"`).
    pub service_type: String,
    /// Authority clients use to reach the service through the robot.
    pub authority: String,
    /// Whether calls must carry a valid user token.
    pub user_token_required: bool,
    /// Seconds without a heartbeat (Register or Update) before the robot considers the service
    /// gone and raises a liveness fault; `0` disables the check. A
    /// [`DirectoryKeepAlive`](super::DirectoryKeepAlive) replaces this with its
    /// [`liveness_timeout`](super::KeepAliveConfig::liveness_timeout).
    pub liveness_timeout_secs: f64,
    /// The IPv4 address the robot forwards calls to (this computer's address as the robot sees
    /// it; see [`self_ip`](crate::self_ip)).
    pub host_ip: String,
    /// The TCP port the service's gRPC server listens on.
    pub port: u16,
}

impl ServiceRegistration {
    /// The registration of a hosted service (its [`ServiceMetadata`], e.g. `S::METADATA` or an
    /// entry of [`ServiceRunner::services`](crate::ServiceRunner::services)) at
    /// `host_ip:port`, with no liveness timeout.
    pub fn from_metadata(metadata: ServiceMetadata, host_ip: impl Into<String>, port: u16) -> Self {
        Self {
            name: metadata.name.to_owned(),
            service_type: metadata.service_type.to_owned(),
            authority: metadata.authority.to_owned(),
            user_token_required: metadata.user_token_required,
            liveness_timeout_secs: 0.0,
            host_ip: host_ip.into(),
            port,
        }
    }

    /// The directory entry (`bosdyn.api.ServiceEntry`) to send.
    pub fn entry(&self) -> ServiceEntry {
        ServiceEntry {
            name: self.name.clone(),
            service_type: Some(service_entry::ServiceType::Type(self.service_type.clone())),
            authority: self.authority.clone(),
            user_token_required: self.user_token_required,
            liveness_timeout_secs: self.liveness_timeout_secs,
            ..Default::default()
        }
    }

    /// The endpoint (`bosdyn.api.Endpoint`) to send.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            host_ip: self.host_ip.clone(),
            port: i32::from(self.port),
        }
    }
}

/// A client of the robot's directory registration service (`DirectoryRegistrationClient` in the
/// official SDK), over any tonic transport `T` (a plain `Channel`, an authenticated robot
/// channel, ...).
///
/// Every request gets a stamped [`RequestHeader`](crate::proto::bosdyn::api::RequestHeader) and
/// every response header is checked ([`check_response`](crate::client::check_response)). Messages up to
/// [`MAX_MESSAGE_SIZE`](crate::MAX_MESSAGE_SIZE) are accepted. Cloning is cheap when `T` is.
#[derive(Debug, Clone)]
pub struct DirectoryRegistrationClient<T> {
    inner: DirectoryRegistrationServiceClient<T>,
    client_name: String,
    rpc_timeout: Option<Duration>,
}

impl<T> DirectoryRegistrationClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A client over `transport`, with the official SDK's client name
    /// ([`default_client_name`]) and no RPC timeout.
    pub fn new(transport: T) -> Self {
        Self::from_client(DirectoryRegistrationServiceClient::new(transport))
    }

    /// Wraps a generated client (e.g. one built `with_origin`); sets spot-service's message
    /// size limits.
    pub fn from_client(inner: DirectoryRegistrationServiceClient<T>) -> Self {
        Self {
            inner: inner
                .max_decoding_message_size(crate::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(crate::MAX_MESSAGE_SIZE),
            client_name: default_client_name(),
            rpc_timeout: None,
        }
    }

    /// Sets the `client_name` stamped into request headers.
    #[must_use]
    pub fn with_client_name(mut self, client_name: impl Into<String>) -> Self {
        self.client_name = client_name.into();
        self
    }

    /// Bounds every call: the deadline is sent to the server (`grpc-timeout`) and enforced
    /// locally ([`DirectoryRegistrationError::Timeout`]). `None` (the default) waits forever,
    /// or as long as the transport allows.
    #[must_use]
    pub fn with_rpc_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    /// The RPC timeout (see [`with_rpc_timeout`](Self::with_rpc_timeout)).
    pub fn rpc_timeout(&self) -> Option<Duration> {
        self.rpc_timeout
    }

    /// Changes the RPC timeout of this client.
    pub fn set_rpc_timeout(&mut self, timeout: Option<Duration>) {
        self.rpc_timeout = timeout;
    }

    /// The client name stamped into request headers.
    pub fn client_name(&self) -> &str {
        &self.client_name
    }

    /// Adds a service to the directory (`RegisterService`). A successful call also counts as a
    /// liveness heartbeat.
    ///
    /// # Errors
    ///
    /// [`DirectoryRegistrationError::AlreadyExists`] if a service with the entry's name is
    /// registered (the existing entry is left unchanged), or any other failure.
    pub async fn register(
        &mut self,
        entry: ServiceEntry,
        endpoint: Endpoint,
    ) -> Result<(), DirectoryRegistrationError> {
        const RPC: &str = "RegisterService";
        use register_service_response::Status;
        let name = entry.name.clone();
        let request = RegisterServiceRequest {
            header: None,
            endpoint: Some(endpoint),
            service_entry: Some(entry),
        };
        let timeout = self.rpc_timeout;
        let response: RegisterServiceResponse =
            call(RPC, &name, timeout, &self.client_name, request, |r| {
                self.inner.register_service(r)
            })
            .await?;
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::AlreadyExists) => Err(DirectoryRegistrationError::AlreadyExists { name }),
            other => Err(unexpected(
                RPC,
                name,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// Replaces the entry and endpoint of a registered service (`UpdateService`); the entry's
    /// name selects the service. A successful call also counts as a liveness heartbeat.
    ///
    /// # Errors
    ///
    /// [`DirectoryRegistrationError::DoesNotExist`] if no service with that name is registered,
    /// or any other failure.
    pub async fn update(
        &mut self,
        entry: ServiceEntry,
        endpoint: Endpoint,
    ) -> Result<(), DirectoryRegistrationError> {
        const RPC: &str = "UpdateService";
        use update_service_response::Status;
        let name = entry.name.clone();
        let request = UpdateServiceRequest {
            header: None,
            endpoint: Some(endpoint),
            service_entry: Some(entry),
        };
        let timeout = self.rpc_timeout;
        let response: UpdateServiceResponse =
            call(RPC, &name, timeout, &self.client_name, request, |r| {
                self.inner.update_service(r)
            })
            .await?;
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::NonexistentService) => {
                Err(DirectoryRegistrationError::DoesNotExist { name })
            }
            other => Err(unexpected(
                RPC,
                name,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// Removes a service from the directory (`UnregisterService`). The robot also clears the
    /// service's faults.
    ///
    /// # Errors
    ///
    /// [`DirectoryRegistrationError::DoesNotExist`] if no service with that name is registered,
    /// or any other failure.
    pub async fn unregister(&mut self, name: &str) -> Result<(), DirectoryRegistrationError> {
        const RPC: &str = "UnregisterService";
        use unregister_service_response::Status;
        let request = UnregisterServiceRequest {
            header: None,
            service_name: name.to_owned(),
        };
        let timeout = self.rpc_timeout;
        let response: UnregisterServiceResponse =
            call(RPC, name, timeout, &self.client_name, request, |r| {
                self.inner.unregister_service(r)
            })
            .await?;
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::NonexistentService) => Err(DirectoryRegistrationError::DoesNotExist {
                name: name.to_owned(),
            }),
            other => Err(unexpected(
                RPC,
                name.to_owned(),
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// Replaces whatever the directory holds under the entry's name (a leftover from an earlier
    /// run, perhaps with another port) with this entry: unregisters it, ignoring
    /// [`DoesNotExist`](DirectoryRegistrationError::DoesNotExist), then registers
    /// (`reset_service_registration` in the official SDK). Unregistering also clears the
    /// service's old faults.
    ///
    /// # Errors
    ///
    /// The first failure of the two calls. [`AlreadyExists`](DirectoryRegistrationError::AlreadyExists)
    /// means another client registered the name in between.
    pub async fn reset(
        &mut self,
        entry: ServiceEntry,
        endpoint: Endpoint,
    ) -> Result<(), DirectoryRegistrationError> {
        match self.unregister(&entry.name).await {
            Ok(()) | Err(DirectoryRegistrationError::DoesNotExist { .. }) => {}
            Err(error) => return Err(error),
        }
        self.register(entry, endpoint).await
    }

    /// Registers, or updates the existing entry if the name is already registered, so that the
    /// directory ends up holding exactly this entry and endpoint (what the keep-alive sends
    /// every interval). If the entry disappears between the two calls, registers again once.
    ///
    /// # Errors
    ///
    /// The failure of the last call made.
    pub async fn register_or_update(
        &mut self,
        entry: ServiceEntry,
        endpoint: Endpoint,
    ) -> Result<(), DirectoryRegistrationError> {
        match self.register(entry.clone(), endpoint.clone()).await {
            Err(DirectoryRegistrationError::AlreadyExists { .. }) => {}
            other => return other,
        }
        match self.update(entry.clone(), endpoint.clone()).await {
            Err(DirectoryRegistrationError::DoesNotExist { .. }) => {
                self.register(entry, endpoint).await
            }
            other => other,
        }
    }
}

/// Stamps the header, sends with the optional timeout, checks the response header.
async fn call<Req, Resp, F, Fut>(
    rpc: &'static str,
    name: &str,
    timeout: Option<Duration>,
    client_name: &str,
    message: Req,
    send: F,
) -> Result<Resp, DirectoryRegistrationError>
where
    Req: SpotRequest,
    Resp: crate::proto::SpotResponse,
    F: FnOnce(tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    // Not a `Call(CallError)` variant as in the other clients: `Timeout` names the service too,
    // and callers (the keep-alive's status and fault, tests) rely on that.
    unary_call(rpc, client_name, timeout, message, send)
        .await
        .map_err(|error| match error {
            CallError::Timeout { rpc, after } => DirectoryRegistrationError::Timeout {
                rpc,
                name: name.to_owned(),
                after,
            },
            CallError::Rpc { status, .. } => DirectoryRegistrationError::Rpc(status),
            CallError::Header { source, .. } => DirectoryRegistrationError::Header(source),
        })
}

fn unexpected(
    rpc: &'static str,
    name: String,
    status: Option<&'static str>,
    code: i32,
) -> DirectoryRegistrationError {
    DirectoryRegistrationError::UnexpectedStatus {
        rpc,
        name,
        status: status.unwrap_or("unknown status"),
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::is_deadline;

    fn registration() -> ServiceRegistration {
        ServiceRegistration::from_metadata(
            ServiceMetadata {
                name: "announce-service",
                service_type: "announce.AnnounceService",
                authority: "announce.spot.robot",
                user_token_required: true,
            },
            "192.168.50.5",
            50051,
        )
    }

    #[test]
    fn directory_registration_from_metadata_builds_entry_and_endpoint() {
        let registration = registration();
        let entry = registration.entry();
        assert_eq!(entry.name, "announce-service");
        assert_eq!(
            entry.service_type,
            Some(service_entry::ServiceType::Type(
                "announce.AnnounceService".into()
            ))
        );
        assert_eq!(entry.authority, "announce.spot.robot");
        assert!(entry.user_token_required);
        assert_eq!(entry.liveness_timeout_secs, 0.0);
        assert_eq!(
            registration.endpoint(),
            Endpoint {
                host_ip: "192.168.50.5".into(),
                port: 50051
            }
        );
    }

    #[test]
    fn directory_registration_error_messages_are_precise() {
        let exists = DirectoryRegistrationError::AlreadyExists { name: "svc".into() };
        assert_eq!(
            exists.to_string(),
            "service \"svc\" is already registered in the robot directory"
        );
        let missing = DirectoryRegistrationError::DoesNotExist { name: "svc".into() };
        assert_eq!(
            missing.to_string(),
            "service \"svc\" is not registered in the robot directory"
        );
        let unknown = unexpected(
            "RegisterService",
            "svc".into(),
            Some(register_service_response::Status::Unknown.as_str_name()),
            0,
        );
        assert_eq!(
            unknown.to_string(),
            "RegisterService for service \"svc\" answered STATUS_UNKNOWN (0)"
        );
        let newer = unexpected("UpdateService", "svc".into(), None, 7);
        assert_eq!(
            newer.to_string(),
            "UpdateService for service \"svc\" answered unknown status (7)"
        );
        let rpc = DirectoryRegistrationError::from(tonic::Status::unavailable("robot is away"));
        assert_eq!(
            rpc.to_string(),
            "directory registration RPC failed: gRPC status Unavailable: robot is away"
        );
        assert_eq!(
            rpc.grpc_status().map(tonic::Status::code),
            Some(tonic::Code::Unavailable)
        );
        let header = DirectoryRegistrationError::from(HeaderError::MissingHeader);
        assert_eq!(
            header.to_string(),
            "robot directory rejected the call: response has no header"
        );
        let timeout = DirectoryRegistrationError::Timeout {
            rpc: "UnregisterService",
            name: "svc".into(),
            after: Duration::from_millis(250),
        };
        assert_eq!(
            timeout.to_string(),
            "UnregisterService for service \"svc\" timed out after 250ms"
        );
    }

    #[test]
    fn directory_registration_deadline_statuses_are_recognised() {
        assert!(is_deadline(&tonic::Status::deadline_exceeded("late")));
        let client_side = tonic::Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert!(is_deadline(&client_side), "{client_side:?}");
        assert!(!is_deadline(&tonic::Status::cancelled("by the caller")));
        assert!(!is_deadline(&tonic::Status::unavailable("down")));
    }

    #[test]
    fn directory_registration_error_stays_small() {
        // clippy's result_large_err threshold is 128 bytes.
        assert!(std::mem::size_of::<DirectoryRegistrationError>() <= 128);
    }
}
