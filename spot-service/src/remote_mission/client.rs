//! [`RemoteMissionClient`]: calls a RemoteMission service, directly or through the robot (the
//! official `bosdyn.mission.remote_client.RemoteClient`, plus the example client's run loop).

use std::time::Duration;

use tonic::codegen::{Body, Bytes, StdError};

use crate::client::{CallError, default_client_name, unary_call};
use crate::lease::Lease;
use crate::params::ParamError;
use crate::proto::bosdyn::api::custom_param_error::Status as ParamStatus;
use crate::proto::bosdyn::api::mission::remote_mission_service_client::RemoteMissionServiceClient;
use crate::proto::bosdyn::api::mission::{
    EstablishSessionRequest, GetRemoteMissionServiceInfoRequest, StopRequest,
    TeardownSessionRequest, TickRequest, TickResponse, establish_session_response, stop_response,
    teardown_session_response, tick_response,
};
use crate::proto::bosdyn::api::{DictParam, dict_param};
use crate::proto::{SpotRequest, SpotResponse};
use crate::service::MAX_MESSAGE_SIZE;

/// How often [`RemoteMissionClient::run`] ticks while the service answers `RUNNING`: 10 Hz,
/// like the official example client.
pub const DEFAULT_TICK_INTERVAL: Duration = Duration::from_millis(100);

/// A remote mission call that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteMissionError {
    /// `STATUS_MISSING_LEASES`: the request lacked leases the service needs.
    #[error("{rpc}: missing leases for {}", resources.join(", "))]
    MissingLeases {
        /// The RPC.
        rpc: &'static str,
        /// `missing_lease_resources`.
        resources: Vec<String>,
    },
    /// `STATUS_MISSING_INPUTS`: the request lacked inputs the service needs.
    #[error("{rpc}: missing inputs")]
    MissingInputs {
        /// The RPC.
        rpc: &'static str,
    },
    /// `STATUS_INVALID_SESSION_ID`: the service knows no such session.
    #[error("{rpc}: invalid session id {session_id:?}")]
    InvalidSessionId {
        /// The RPC.
        rpc: &'static str,
        /// The id sent.
        session_id: String,
    },
    /// `Tick` answered `STATUS_CUSTOM_PARAMS_ERROR`: the parameters do not match the service's
    /// spec.
    #[error("Tick: invalid parameters: {0}")]
    CustomParams(ParamError),
    /// The response carried a status this version does not know (or `STATUS_UNKNOWN`).
    #[error("{rpc} answered {status} ({code})")]
    UnexpectedStatus {
        /// The RPC.
        rpc: &'static str,
        /// The status name from the proto, or `"unknown status"`.
        status: &'static str,
        /// The numeric status.
        code: i32,
    },
    /// The call itself failed: the response header reported an error, the call failed at the
    /// gRPC level (service unreachable, proxy error, unimplemented...), or it did not finish
    /// within the client's RPC timeout.
    #[error(transparent)]
    Call(#[from] CallError),
}

impl RemoteMissionError {
    /// Whether the service does not implement the RPC (gRPC `UNIMPLEMENTED`); the official
    /// example client tolerates that for `EstablishSession`, `Stop` and `TeardownSession`.
    pub fn is_unimplemented(&self) -> bool {
        let status = match self {
            Self::Call(error) => error.status(),
            _ => None,
        };
        status.is_some_and(|status| status.code() == tonic::Code::Unimplemented)
    }
}

/// A client for `bosdyn.api.mission.RemoteMissionService`.
///
/// Over a plain channel to the service (`local`), or through the robot: a channel for the
/// service's authority from [`Robot::intercepted`](crate::robot::Robot::intercepted).
///
/// `FAILURE`, `RUNNING` and `SUCCESS` ticks are answers, not errors; every other status is a
/// [`RemoteMissionError`], as in the official client.
#[derive(Debug, Clone)]
pub struct RemoteMissionClient<T> {
    inner: RemoteMissionServiceClient<T>,
    client_name: String,
    rpc_timeout: Option<Duration>,
}

impl<T> RemoteMissionClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A client over `transport`, with the official SDK's client name and no RPC timeout.
    pub fn new(transport: T) -> Self {
        Self {
            inner: RemoteMissionServiceClient::new(transport)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
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

    /// Bounds each call (sent as `grpc-timeout` too). `None`: no bound.
    #[must_use]
    pub fn with_rpc_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.rpc_timeout = timeout;
        self
    }

    async fn call<Req, Resp, F, Fut>(
        &mut self,
        rpc: &'static str,
        message: Req,
        send: F,
    ) -> Result<Resp, RemoteMissionError>
    where
        Req: SpotRequest,
        Resp: SpotResponse,
        F: FnOnce(RemoteMissionServiceClient<T>, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
        T: Clone,
    {
        let inner = self.inner.clone();
        unary_call(
            rpc,
            &self.client_name,
            self.rpc_timeout,
            message,
            |request| send(inner, request),
        )
        .await
        .map_err(Into::into)
    }

    /// `EstablishSession` with `leases`; returns the session id.
    pub async fn establish_session(
        &mut self,
        leases: &[Lease],
    ) -> Result<String, RemoteMissionError>
    where
        T: Clone,
    {
        const RPC: &str = "EstablishSession";
        use establish_session_response::Status;
        let request = EstablishSessionRequest {
            header: None,
            leases: leases.iter().map(|l| l.as_proto().clone()).collect(),
        };
        let response = self
            .call(RPC, request, |mut c, r| async move {
                c.establish_session(r).await
            })
            .await?;
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(response.session_id),
            Ok(Status::MissingLeases) => Err(RemoteMissionError::MissingLeases {
                rpc: RPC,
                resources: response.missing_lease_resources,
            }),
            Ok(Status::MissingInputs) => Err(RemoteMissionError::MissingInputs { rpc: RPC }),
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// `Tick` for `session_id` with `leases` and `params`; returns the response when its status
    /// is `FAILURE`, `RUNNING` or `SUCCESS`.
    pub async fn tick(
        &mut self,
        session_id: &str,
        leases: &[Lease],
        params: Option<DictParam>,
    ) -> Result<TickResponse, RemoteMissionError>
    where
        T: Clone,
    {
        const RPC: &str = "Tick";
        use tick_response::Status;
        let request = TickRequest {
            header: None,
            session_id: session_id.to_owned(),
            leases: leases.iter().map(|l| l.as_proto().clone()).collect(),
            params,
            group_name: String::new(),
        };
        let response = self
            .call(RPC, request, |mut c, r| async move { c.tick(r).await })
            .await?;
        match Status::try_from(response.status) {
            Ok(Status::Failure | Status::Running | Status::Success) => Ok(response),
            Ok(Status::InvalidSessionId) => Err(RemoteMissionError::InvalidSessionId {
                rpc: RPC,
                session_id: session_id.to_owned(),
            }),
            Ok(Status::MissingLeases) => Err(RemoteMissionError::MissingLeases {
                rpc: RPC,
                resources: response.missing_lease_resources,
            }),
            Ok(Status::MissingInputs) => Err(RemoteMissionError::MissingInputs { rpc: RPC }),
            Ok(Status::CustomParamsError) => {
                let error = response.custom_param_error.unwrap_or_default();
                Err(RemoteMissionError::CustomParams(ParamError {
                    status: ParamStatus::try_from(error.status).unwrap_or(ParamStatus::Unknown),
                    messages: error.error_messages,
                }))
            }
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// `Stop` for `session_id`.
    pub async fn stop(&mut self, session_id: &str) -> Result<(), RemoteMissionError>
    where
        T: Clone,
    {
        const RPC: &str = "Stop";
        use stop_response::Status;
        let request = StopRequest {
            header: None,
            session_id: session_id.to_owned(),
        };
        let response = self
            .call(RPC, request, |mut c, r| async move { c.stop(r).await })
            .await?;
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::InvalidSessionId) => Err(RemoteMissionError::InvalidSessionId {
                rpc: RPC,
                session_id: session_id.to_owned(),
            }),
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// `TeardownSession` for `session_id`.
    pub async fn teardown_session(&mut self, session_id: &str) -> Result<(), RemoteMissionError>
    where
        T: Clone,
    {
        const RPC: &str = "TeardownSession";
        use teardown_session_response::Status;
        let request = TeardownSessionRequest {
            header: None,
            session_id: session_id.to_owned(),
        };
        let response = self
            .call(RPC, request, |mut c, r| async move {
                c.teardown_session(r).await
            })
            .await?;
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(()),
            Ok(Status::InvalidSessionId) => Err(RemoteMissionError::InvalidSessionId {
                rpc: RPC,
                session_id: session_id.to_owned(),
            }),
            other => Err(unexpected(
                RPC,
                other.ok().map(|s| s.as_str_name()),
                response.status,
            )),
        }
    }

    /// `GetRemoteMissionServiceInfo`: the service's parameter spec.
    pub async fn get_info(&mut self) -> Result<dict_param::Spec, RemoteMissionError>
    where
        T: Clone,
    {
        const RPC: &str = "GetRemoteMissionServiceInfo";
        let request = GetRemoteMissionServiceInfoRequest { header: None };
        let response = self
            .call(RPC, request, |mut c, r| async move {
                c.get_remote_mission_service_info(r).await
            })
            .await?;
        Ok(response.custom_params.unwrap_or_default())
    }

    /// What a mission does with a callback node, as the official example client: establish a
    /// session (an `UNIMPLEMENTED` answer is tolerated: ticks then carry no session id), tick
    /// every `interval` while the service answers `RUNNING`, then stop and tear the session
    /// down. Returns the last tick's response (`SUCCESS` or `FAILURE`).
    ///
    /// The session is stopped and torn down even when a tick fails.
    pub async fn run(
        &mut self,
        leases: &[Lease],
        params: Option<DictParam>,
        interval: Duration,
    ) -> Result<TickResponse, RemoteMissionError>
    where
        T: Clone,
    {
        let session_id = match self.establish_session(leases).await {
            Ok(id) => Some(id),
            Err(error) if error.is_unimplemented() => None,
            Err(error) => return Err(error),
        };
        let id = session_id.as_deref().unwrap_or_default();
        let ticks = async {
            loop {
                let response = self.tick(id, leases, params.clone()).await?;
                if response.status != tick_response::Status::Running as i32 {
                    return Ok(response);
                }
                tokio::time::sleep(interval).await;
            }
        }
        .await;
        if let Some(id) = &session_id {
            for result in [self.stop(id).await, self.teardown_session(id).await] {
                match result {
                    Err(error) if !error.is_unimplemented() && ticks.is_ok() => {
                        return Err(error);
                    }
                    _ => {}
                }
            }
        }
        ticks
    }
}

fn unexpected(rpc: &'static str, status: Option<&'static str>, code: i32) -> RemoteMissionError {
    RemoteMissionError::UnexpectedStatus {
        rpc,
        status: status.unwrap_or("unknown status"),
        code,
    }
}
