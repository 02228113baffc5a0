//! [`MissionService`]: a [`RemoteMission`] served as `bosdyn.api.mission.RemoteMissionService`.

use std::fmt;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tonic::codegen::{Body, Bytes, StdError};
use tonic::{Request, Response, Status};

use super::context::{EstablishContext, StopContext, TickContext};
use super::leases::{LeaseProblem, Retainer, SessionLeases, retainer, select_leases};
use super::sessions::{Sessions, new_session_id};
use super::{RemoteMission, SERVICE_TYPE, TeardownReason, TickStatus};
use crate::RpcError;
use crate::header::{MethodInfo, handle_unary};
use crate::lease::Lease;
use crate::lease::keepalive::{LeaseClient, LeaseKeepAliveConfig};
use crate::params::DictParams as _;
use crate::proto::bosdyn::api::mission::remote_mission_service_server::{
    RemoteMissionService, RemoteMissionServiceServer,
};
use crate::proto::bosdyn::api::mission::{
    EstablishSessionRequest, EstablishSessionResponse, GetRemoteMissionServiceInfoRequest,
    GetRemoteMissionServiceInfoResponse, StopRequest, StopResponse, TeardownSessionRequest,
    TeardownSessionResponse, TickRequest, TickResponse, establish_session_response, stop_response,
    teardown_session_response, tick_response,
};
use crate::proto::bosdyn::api::{DictParam, dict_param};
use crate::service::{MAX_MESSAGE_SIZE, ServiceMetadata, SpotService};

/// How long a session may go without any call before it is torn down as abandoned: 24 hours.
///
/// Generous on purpose: a mission establishes its sessions when it loads, and may reach the
/// callback's node hours later (a long Autowalk). Lower it with
/// [`MissionService::with_session_timeout`] if your sessions hold costly resources.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// A [`RemoteMission`] served as `bosdyn.api.mission.RemoteMissionService`, with its sessions
/// and leases (see the [module docs](super)).
///
/// A type under `#[remote_mission]` is a [`SpotService`] itself (with the defaults); build a
/// `MissionService` to change them:
///
/// ```no_run
/// # use spot_service::remote_mission::MissionService;
/// # async fn f<M: spot_service::remote_mission::RemoteMission>(mission: M, robot: spot_service::robot::Robot) -> anyhow::Result<()> {
/// use std::time::Duration;
///
/// let service = MissionService::new(mission)
///     .with_session_timeout(Duration::from_secs(3600))
///     .with_robot_leases(&robot)?;
/// spot_service::ServiceRunner::builder().add_service(service);
/// # Ok(()) }
/// ```
pub struct MissionService<M: RemoteMission> {
    inner: Arc<Inner<M>>,
}

struct Inner<M: RemoteMission> {
    mission: M,
    custom_params: dict_param::Spec,
    sessions: Sessions<M::Session>,
    session_timeout: Duration,
    retainer: Option<Retainer>,
    sweeper: OnceLock<()>,
}

impl<M: RemoteMission> fmt::Debug for MissionService<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MissionService")
            .field("name", &M::METADATA.name)
            .field("sessions", &self.inner.sessions.len())
            .field("session_timeout", &self.inner.session_timeout)
            .field("retains_leases", &self.inner.retainer.is_some())
            .finish()
    }
}

impl<M: RemoteMission> MissionService<M> {
    /// Serves `mission`, with the [`DEFAULT_SESSION_TIMEOUT`] and without retaining leases.
    pub fn new(mission: M) -> Self {
        let custom_params = mission.custom_params();
        Self {
            inner: Arc::new(Inner {
                mission,
                custom_params,
                sessions: Sessions::default(),
                session_timeout: DEFAULT_SESSION_TIMEOUT,
                retainer: None,
                sweeper: OnceLock::new(),
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner<M> {
        Arc::get_mut(&mut self.inner).expect("a MissionService is configured before it serves")
    }

    /// Tears sessions down after `timeout` without any call (at least 1 ms).
    #[must_use]
    pub fn with_session_timeout(mut self, timeout: Duration) -> Self {
        self.inner_mut().session_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Retains each session's sub-leases with the robot through `client` (every 2 s, like the
    /// official `LeaseKeepAlive`), while the session lives.
    #[must_use]
    pub fn with_lease_client<T>(self, client: LeaseClient<T>) -> Self
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Clone + Send + Sync + 'static,
        T::Error: Into<StdError>,
        T::Future: Send,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        self.with_lease_client_config(client, LeaseKeepAliveConfig::default())
    }

    /// [`with_lease_client`](Self::with_lease_client) with the keep-alive's timings.
    #[must_use]
    pub fn with_lease_client_config<T>(
        mut self,
        client: LeaseClient<T>,
        config: LeaseKeepAliveConfig,
    ) -> Self
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Clone + Send + Sync + 'static,
        T::Error: Into<StdError>,
        T::Future: Send,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        let client = client.with_client_name(M::METADATA.name);
        self.inner_mut().retainer = Some(retainer(client, config));
        self
    }

    /// Retains each session's sub-leases with `robot`'s lease service (connecting on first
    /// use), like [`with_lease_client`](Self::with_lease_client).
    pub fn with_robot_leases(
        self,
        robot: &crate::robot::Robot,
    ) -> Result<Self, crate::robot::RobotError> {
        let channel = robot.lazy_intercepted(crate::lease::keepalive::LEASE_AUTHORITY)?;
        Ok(self.with_lease_client(LeaseClient::new(channel)))
    }

    /// The mission.
    pub fn mission(&self) -> &M {
        &self.inner.mission
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.inner.sessions.len()
    }
}

impl<M: RemoteMission> Clone for MissionService<M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

const fn method(name: &'static str) -> MethodInfo {
    MethodInfo {
        service: SERVICE_TYPE,
        method: name,
    }
}

/// Turns a lease problem into the answer: `Ok(missing resources)` for a status answer, or the
/// header error.
fn lease_problem(problem: LeaseProblem) -> Result<Vec<String>, RpcError> {
    match problem {
        LeaseProblem::Missing(resources) => Ok(resources),
        LeaseProblem::Invalid(message) => Err(RpcError::invalid_request(message)),
    }
}

impl<M: RemoteMission> Inner<M> {
    /// Starts the task that tears abandoned sessions down, once.
    fn start_sweeper(self: &Arc<Self>) {
        self.sweeper.get_or_init(|| {
            let interval = (self.session_timeout / 4)
                .clamp(Duration::from_millis(10), Duration::from_secs(60));
            tokio::spawn(sweep(Arc::downgrade(self), interval));
        });
    }

    async fn establish(
        self: Arc<Self>,
        request: EstablishSessionRequest,
    ) -> Result<EstablishSessionResponse, RpcError> {
        let leases = match select_leases(M::LEASE_RESOURCES, &request.leases) {
            Ok(leases) => leases,
            Err(problem) => {
                let missing = lease_problem(problem)?;
                return Ok(EstablishSessionResponse {
                    status: establish_session_response::Status::MissingLeases as i32,
                    missing_lease_resources: missing,
                    ..Default::default()
                });
            }
        };
        let session_id = new_session_id()
            .map_err(|e| RpcError::internal(format!("no random source for a session id: {e}")))?;
        let mut session_leases = SessionLeases::new(M::METADATA.name, self.retainer.clone());
        session_leases.update(leases);
        let context = EstablishContext {
            session_id: &session_id,
            leases: &session_leases,
            request: &request,
        };
        let state = self.mission.establish(&context).await?;
        self.sessions
            .insert(session_id.clone(), state, session_leases);
        self.start_sweeper();
        tracing::debug!(
            service = M::METADATA.name,
            session_id,
            "session established"
        );
        Ok(EstablishSessionResponse {
            status: establish_session_response::Status::Ok as i32,
            session_id,
            ..Default::default()
        })
    }

    async fn tick(self: Arc<Self>, request: TickRequest) -> Result<TickResponse, RpcError> {
        let invalid_session = || TickResponse {
            status: tick_response::Status::InvalidSessionId as i32,
            ..Default::default()
        };
        let Some(session) = self.sessions.get(&request.session_id) else {
            return Ok(invalid_session());
        };
        let mut slot = session.slot.lock().await;
        let slot = &mut *slot;
        let Some(state) = slot.state.as_mut() else {
            return Ok(invalid_session());
        };
        let leases: Vec<Lease> = match select_leases(M::LEASE_RESOURCES, &request.leases) {
            Ok(leases) => leases,
            Err(problem) => {
                let missing = lease_problem(problem)?;
                return Ok(TickResponse {
                    status: tick_response::Status::MissingLeases as i32,
                    missing_lease_resources: missing,
                    ..Default::default()
                });
            }
        };
        slot.leases.update(leases);
        let empty = DictParam::default();
        let params = match M::Params::from_dict_param(request.params.as_ref().unwrap_or(&empty)) {
            Ok(params) => params,
            Err(error) => {
                return Ok(TickResponse {
                    status: tick_response::Status::CustomParamsError as i32,
                    custom_param_error: Some(error.to_proto()),
                    ..Default::default()
                });
            }
        };
        let mut context = TickContext {
            session_id: &request.session_id,
            params,
            leases: &slot.leases,
            request: &request,
            lease_use_results: Vec::new(),
        };
        let status = self.mission.tick(state, &mut context).await;
        let lease_use_results = context.lease_use_results;
        session.touch();
        let (status, error_message) = match status? {
            TickStatus::Running => (tick_response::Status::Running, String::new()),
            TickStatus::Success => (tick_response::Status::Success, String::new()),
            TickStatus::Failure(message) => (tick_response::Status::Failure, message),
        };
        Ok(TickResponse {
            status: status as i32,
            lease_use_results,
            error_message,
            ..Default::default()
        })
    }

    async fn stop(self: Arc<Self>, request: StopRequest) -> Result<StopResponse, RpcError> {
        let invalid_session = || StopResponse {
            status: stop_response::Status::InvalidSessionId as i32,
            ..Default::default()
        };
        let Some(session) = self.sessions.get(&request.session_id) else {
            return Ok(invalid_session());
        };
        let mut slot = session.slot.lock().await;
        let slot = &mut *slot;
        let Some(state) = slot.state.as_mut() else {
            return Ok(invalid_session());
        };
        let context = StopContext {
            session_id: &request.session_id,
            leases: &slot.leases,
        };
        self.mission.stop(state, &context).await?;
        session.touch();
        Ok(StopResponse {
            status: stop_response::Status::Ok as i32,
            ..Default::default()
        })
    }

    async fn teardown(
        self: Arc<Self>,
        request: TeardownSessionRequest,
    ) -> Result<TeardownSessionResponse, RpcError> {
        let ended = match self.sessions.remove(&request.session_id) {
            Some(session) => {
                self.end(&request.session_id, &session, TeardownReason::Requested)
                    .await
            }
            None => None,
        };
        let Some(result) = ended else {
            return Ok(TeardownSessionResponse {
                status: teardown_session_response::Status::InvalidSessionId as i32,
                ..Default::default()
            });
        };
        result?;
        Ok(TeardownSessionResponse {
            status: teardown_session_response::Status::Ok as i32,
            ..Default::default()
        })
    }

    /// Ends a session already removed from the map: waits for its call in progress, stops
    /// retaining its leases and hands its state to the mission's teardown. `None` if another
    /// teardown got there first.
    async fn end(
        &self,
        session_id: &str,
        session: &super::sessions::Session<M::Session>,
        reason: TeardownReason,
    ) -> Option<Result<(), RpcError>> {
        let mut slot = session.slot.lock().await;
        let state = slot.state.take()?;
        // Dropping the keep-alives stops the retention.
        slot.leases = SessionLeases::new(M::METADATA.name, None);
        drop(slot);
        tracing::debug!(
            service = M::METADATA.name,
            session_id,
            ?reason,
            "session ended"
        );
        Some(self.mission.teardown(state, reason).await)
    }
}

/// Tears abandoned sessions down every `interval`, until the service is dropped.
async fn sweep<M: RemoteMission>(inner: Weak<Inner<M>>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        for (session_id, session) in inner.sessions.remove_abandoned(inner.session_timeout) {
            tracing::info!(
                service = M::METADATA.name,
                session_id,
                timeout = ?inner.session_timeout,
                "tearing down a session abandoned without TeardownSession"
            );
            if let Some(Err(error)) = inner
                .end(&session_id, &session, TeardownReason::Abandoned)
                .await
            {
                tracing::warn!(
                    service = M::METADATA.name,
                    session_id,
                    %error,
                    "teardown of an abandoned session failed"
                );
            }
        }
    }
}

#[crate::__private::async_trait]
impl<M: RemoteMission> RemoteMissionService for MissionService<M> {
    async fn establish_session(
        &self,
        request: Request<EstablishSessionRequest>,
    ) -> Result<Response<EstablishSessionResponse>, Status> {
        let inner = self.inner.clone();
        handle_unary(method("EstablishSession"), request, |request| async move {
            inner
                .establish(request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn tick(&self, request: Request<TickRequest>) -> Result<Response<TickResponse>, Status> {
        let inner = self.inner.clone();
        handle_unary(method("Tick"), request, |request| async move {
            inner.tick(request.into_inner()).await.map(Response::new)
        })
        .await
    }

    async fn stop(&self, request: Request<StopRequest>) -> Result<Response<StopResponse>, Status> {
        let inner = self.inner.clone();
        handle_unary(method("Stop"), request, |request| async move {
            inner.stop(request.into_inner()).await.map(Response::new)
        })
        .await
    }

    async fn teardown_session(
        &self,
        request: Request<TeardownSessionRequest>,
    ) -> Result<Response<TeardownSessionResponse>, Status> {
        let inner = self.inner.clone();
        handle_unary(method("TeardownSession"), request, |request| async move {
            inner
                .teardown(request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn get_remote_mission_service_info(
        &self,
        request: Request<GetRemoteMissionServiceInfoRequest>,
    ) -> Result<Response<GetRemoteMissionServiceInfoResponse>, Status> {
        let custom_params = self.inner.custom_params.clone();
        handle_unary(
            method("GetRemoteMissionServiceInfo"),
            request,
            |_| async move {
                Ok(Response::new(GetRemoteMissionServiceInfoResponse {
                    custom_params: Some(custom_params),
                    ..Default::default()
                }))
            },
        )
        .await
    }
}

impl<M: RemoteMission> SpotService for MissionService<M> {
    const GRPC_NAME: &'static str = SERVICE_TYPE;
    const METADATA: ServiceMetadata = M::METADATA;

    fn add_to_routes(self, routes: &mut crate::ServiceRoutes) {
        routes.add_service(
            RemoteMissionServiceServer::new(self)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
        );
    }
}
