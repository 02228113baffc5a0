//! Payload registration: register a payload with the robot, update its version, attach or detach
//! it, and get a payload token, waiting (with visible progress) until an administrator has
//! authorized it.
//!
//! Like the official `PayloadRegistrationClient`, the calls need no user token: the robot serves
//! payload registration at `payload-registration.spot.robot` without authentication.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tonic::codegen::{Body, Bytes, StdError};

use crate::client::{HeaderError, check_response, default_client_name, stamp_request};
use crate::payload::credentials::{PayloadCredentials, Secret};
use crate::proto::bosdyn::api;
use crate::proto::bosdyn::api::payload_registration_service_client::PayloadRegistrationServiceClient;

pub use crate::robot::PAYLOAD_REGISTRATION_AUTHORITY;

/// Failures of payload registration calls, one variant per status the robot can answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadRegistrationError {
    /// RegisterPayload: a payload with this GUID is already registered.
    #[error("payload {guid} is already registered with the robot")]
    AlreadyExists {
        /// The payload's GUID.
        guid: String,
    },
    /// The robot knows no payload with this GUID.
    #[error("the robot has no payload registered with GUID {guid}")]
    DoesNotExist {
        /// The payload's GUID.
        guid: String,
    },
    /// The GUID/secret pair does not match the registered payload.
    #[error(
        "invalid payload credentials for GUID {guid} (the secret does not match the registration)"
    )]
    InvalidCredentials {
        /// The payload's GUID.
        guid: String,
    },
    /// The payload is registered but an administrator has not authorized it yet.
    #[error(
        "payload {guid} is not authorized: an administrator must authorize it in the robot's admin web page (Payloads)"
    )]
    NotAuthorized {
        /// The payload's GUID.
        guid: String,
    },
    /// The robot answered a status this version does not know.
    #[error("{rpc} answered unknown status {status}")]
    UnknownStatus {
        /// The RPC.
        rpc: &'static str,
        /// The numeric status.
        status: i32,
    },
    /// The response header reported an error.
    #[error("{rpc}: {source}")]
    Header {
        /// The RPC.
        rpc: &'static str,
        /// The header error.
        source: HeaderError,
    },
    /// The call itself failed (robot unreachable, proxy error, timeout...).
    #[error("{rpc} failed: {status}")]
    Rpc {
        /// The RPC.
        rpc: &'static str,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
    /// Waiting for authorization took longer than the time limit.
    #[error("payload {guid} was still not authorized after {waited:?}")]
    AuthorizationTimedOut {
        /// The payload's GUID.
        guid: String,
        /// How long it waited.
        waited: Duration,
    },
    /// The robot could not be reached (or its token store refused the token).
    #[error(transparent)]
    Connect(Box<crate::robot::RobotError>),
    /// Waiting for authorization was cancelled.
    #[error("stopped waiting for payload {guid} to be authorized")]
    Cancelled {
        /// The payload's GUID.
        guid: String,
    },
}

impl PayloadRegistrationError {
    fn rpc(rpc: &'static str, status: tonic::Status) -> Self {
        Self::Rpc {
            rpc,
            status: Box::new(status),
        }
    }

    fn header(rpc: &'static str, source: HeaderError) -> Self {
        Self::Header { rpc, source }
    }
}

/// How [`PayloadRegistrationClient::wait_for_authorization`] waits.
#[derive(Debug, Clone)]
pub struct AuthorizationWait {
    /// Time between attempts (the official client polls every second).
    pub poll_interval: Duration,
    /// Time between the log lines that tell the operator what to do.
    pub reminder_interval: Duration,
    /// Give up after this long; `None` waits until cancelled.
    pub time_limit: Option<Duration>,
    /// Stops the wait when cancelled.
    pub cancel: CancellationToken,
}

impl Default for AuthorizationWait {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            reminder_interval: Duration::from_secs(30),
            time_limit: None,
            cancel: CancellationToken::new(),
        }
    }
}

/// Client of `bosdyn.api.PayloadRegistrationService`, over any tonic transport (a robot channel
/// for `payload-registration.spot.robot`, or a plain channel in tests).
#[derive(Debug, Clone)]
pub struct PayloadRegistrationClient<T> {
    inner: PayloadRegistrationServiceClient<T>,
    client_name: String,
}

fn credentials_proto(credentials: &PayloadCredentials) -> api::PayloadCredentials {
    api::PayloadCredentials {
        guid: credentials.guid().to_owned(),
        secret: credentials.secret().expose().to_owned(),
    }
}

impl<T> PayloadRegistrationClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A client over `transport`, with spot-service's message size limits.
    pub fn new(transport: T) -> Self {
        Self {
            inner: PayloadRegistrationServiceClient::new(transport)
                .max_decoding_message_size(crate::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(crate::MAX_MESSAGE_SIZE),
            client_name: default_client_name(),
        }
    }

    /// Sets the `client_name` sent in request headers.
    pub fn with_client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// Registers `payload` (its `GUID` field must be set) with `secret`. The robot records it as
    /// unauthorized and disabled until an administrator authorizes it.
    pub async fn register_payload(
        &mut self,
        payload: api::Payload,
        secret: &Secret,
    ) -> Result<(), PayloadRegistrationError> {
        const RPC: &str = "RegisterPayload";
        let guid = payload.guid.clone();
        let mut request = api::RegisterPayloadRequest {
            header: None,
            payload: Some(payload),
            payload_secret: secret.expose().to_owned(),
        };
        stamp_request(&mut request, &self.client_name);
        let response = self
            .inner
            .register_payload(request)
            .await
            .map_err(|s| PayloadRegistrationError::rpc(RPC, s))?
            .into_inner();
        let response =
            check_response(response).map_err(|e| PayloadRegistrationError::header(RPC, e))?;
        use api::register_payload_response::Status;
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::AlreadyExists) => Err(PayloadRegistrationError::AlreadyExists { guid }),
            _ => Err(PayloadRegistrationError::UnknownStatus {
                rpc: RPC,
                status: response.status,
            }),
        }
    }

    /// Registers the payload, treating "already registered" as success (registrations survive
    /// robot reboots, so a payload usually finds itself registered).
    pub async fn ensure_registered(
        &mut self,
        payload: api::Payload,
        secret: &Secret,
    ) -> Result<(), PayloadRegistrationError> {
        match self.register_payload(payload, secret).await {
            Ok(()) => Ok(()),
            Err(PayloadRegistrationError::AlreadyExists { guid }) => {
                tracing::debug!(%guid, "payload already registered");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Updates the software version the robot records for the payload.
    pub async fn update_payload_version(
        &mut self,
        credentials: &PayloadCredentials,
        version: api::SoftwareVersion,
    ) -> Result<(), PayloadRegistrationError> {
        const RPC: &str = "UpdatePayloadVersion";
        let mut request = api::UpdatePayloadVersionRequest {
            header: None,
            payload_credentials: Some(credentials_proto(credentials)),
            updated_version: Some(version),
        };
        stamp_request(&mut request, &self.client_name);
        let response = self
            .inner
            .update_payload_version(request)
            .await
            .map_err(|s| PayloadRegistrationError::rpc(RPC, s))?
            .into_inner();
        let response =
            check_response(response).map_err(|e| PayloadRegistrationError::header(RPC, e))?;
        use api::update_payload_version_response::Status;
        let guid = credentials.guid().to_owned();
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::DoesNotExist) => Err(PayloadRegistrationError::DoesNotExist { guid }),
            Ok(Status::InvalidCredentials) => {
                Err(PayloadRegistrationError::InvalidCredentials { guid })
            }
            _ => Err(PayloadRegistrationError::UnknownStatus {
                rpc: RPC,
                status: response.status,
            }),
        }
    }

    /// Tells the robot the payload is attached (`true`) or detached (`false`).
    pub async fn update_payload_attached(
        &mut self,
        credentials: &PayloadCredentials,
        attached: bool,
    ) -> Result<(), PayloadRegistrationError> {
        const RPC: &str = "UpdatePayloadAttached";
        use api::update_payload_attached_request::Request;
        let mut request = api::UpdatePayloadAttachedRequest {
            header: None,
            payload_credentials: Some(credentials_proto(credentials)),
            request: if attached {
                Request::Attach
            } else {
                Request::Detach
            } as i32,
        };
        stamp_request(&mut request, &self.client_name);
        let response = self
            .inner
            .update_payload_attached(request)
            .await
            .map_err(|s| PayloadRegistrationError::rpc(RPC, s))?
            .into_inner();
        let response =
            check_response(response).map_err(|e| PayloadRegistrationError::header(RPC, e))?;
        use api::update_payload_attached_response::Status;
        let guid = credentials.guid().to_owned();
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::DoesNotExist) => Err(PayloadRegistrationError::DoesNotExist { guid }),
            Ok(Status::InvalidCredentials) => {
                Err(PayloadRegistrationError::InvalidCredentials { guid })
            }
            Ok(Status::PayloadNotAuthorized) => {
                Err(PayloadRegistrationError::NotAuthorized { guid })
            }
            _ => Err(PayloadRegistrationError::UnknownStatus {
                rpc: RPC,
                status: response.status,
            }),
        }
    }

    /// Gets a payload token (a limited user token) for an authorized payload.
    pub async fn get_payload_auth_token(
        &mut self,
        credentials: &PayloadCredentials,
    ) -> Result<Secret, PayloadRegistrationError> {
        const RPC: &str = "GetPayloadAuthToken";
        let mut request = api::GetPayloadAuthTokenRequest {
            header: None,
            payload_credentials: Some(credentials_proto(credentials)),
        };
        stamp_request(&mut request, &self.client_name);
        let response = self
            .inner
            .get_payload_auth_token(request)
            .await
            .map_err(|s| PayloadRegistrationError::rpc(RPC, s))?
            .into_inner();
        let response =
            check_response(response).map_err(|e| PayloadRegistrationError::header(RPC, e))?;
        use api::get_payload_auth_token_response::Status;
        let guid = credentials.guid().to_owned();
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(Secret::new(response.token)),
            Ok(Status::InvalidCredentials) => {
                Err(PayloadRegistrationError::InvalidCredentials { guid })
            }
            Ok(Status::PayloadNotAuthorized) => {
                Err(PayloadRegistrationError::NotAuthorized { guid })
            }
            _ => Err(PayloadRegistrationError::UnknownStatus {
                rpc: RPC,
                status: response.status,
            }),
        }
    }

    /// Gets a payload token, waiting while the payload is not authorized yet: it retries every
    /// `poll_interval` and logs, every `reminder_interval`, what the operator must do. Any other
    /// error ends the wait at once (wrong credentials do not fix themselves).
    pub async fn wait_for_authorization(
        &mut self,
        credentials: &PayloadCredentials,
        wait: &AuthorizationWait,
    ) -> Result<Secret, PayloadRegistrationError> {
        let start = Instant::now();
        let mut last_reminder: Option<Instant> = None;
        loop {
            match self.get_payload_auth_token(credentials).await {
                Ok(token) => {
                    if last_reminder.is_some() {
                        tracing::info!(guid = credentials.guid(), "payload authorized");
                    }
                    return Ok(token);
                }
                Err(PayloadRegistrationError::NotAuthorized { guid }) => {
                    if last_reminder.is_none_or(|t| t.elapsed() >= wait.reminder_interval) {
                        tracing::warn!(
                            %guid,
                            waited = ?start.elapsed(),
                            "payload not authorized yet: log in to the robot's admin web page, \
                             open Payloads, and authorize this payload (waiting)"
                        );
                        last_reminder = Some(Instant::now());
                    }
                    let mut pause = wait.poll_interval;
                    if let Some(limit) = wait.time_limit {
                        let left = limit.saturating_sub(start.elapsed());
                        if left.is_zero() {
                            return Err(PayloadRegistrationError::AuthorizationTimedOut {
                                guid,
                                waited: start.elapsed(),
                            });
                        }
                        pause = pause.min(left);
                    }
                    tokio::select! {
                        () = wait.cancel.cancelled() => {
                            return Err(PayloadRegistrationError::Cancelled { guid });
                        }
                        () = tokio::time::sleep(pause) => {}
                    }
                }
                Err(other) => return Err(other),
            }
        }
    }
}
