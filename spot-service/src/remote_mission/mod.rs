//! RemoteMission services: the callbacks an Autowalk mission (or any mission) calls on a payload.
//!
//! The robot's mission service talks to a callback through `bosdyn.api.mission.RemoteMissionService`:
//!
//! | RPC | when | answered here |
//! |---|---|---|
//! | `EstablishSession` | once per mission node, when the mission loads; carries the leases of the node's resources | checks the [declared leases](RemoteMission::LEASE_RESOURCES) (`STATUS_MISSING_LEASES` with `missing_lease_resources`), makes the sub-leases, calls [`RemoteMission::establish`] for the session's state and answers `STATUS_OK` with an unguessable `session_id` |
//! | `Tick` | each time the node is ticked; must return quickly (`RUNNING` is a fine answer); carries the leases again and the node's parameters | `STATUS_INVALID_SESSION_ID` for an unknown id; checks and updates the leases; validates the parameters against the spec (`STATUS_CUSTOM_PARAMS_ERROR` with `custom_param_error`); calls [`RemoteMission::tick`] with the parsed parameters and answers its [`TickStatus`] plus the reported `lease_use_results` |
//! | `Stop` | the node was ticked last cycle but not this one | [`RemoteMission::stop`]; `STATUS_INVALID_SESSION_ID` for an unknown id |
//! | `TeardownSession` | once per session | [`RemoteMission::teardown`] with the session's state, then forgets the session; `STATUS_INVALID_SESSION_ID` for an unknown id |
//! | `GetRemoteMissionServiceInfo` | when a mission is recorded, to build the node's settings UI | the spec of [`RemoteMission::Params`] |
//!
//! Every RPC gets the usual header handling ([`crate::header`]): an error returned by your code
//! becomes `CODE_INTERNAL_SERVER_ERROR` (or `CODE_INVALID_REQUEST`), a panic is caught.
//!
//! You write the callback as one `impl RemoteMission for YourType`, under
//! [`#[remote_mission]`](macro@crate::remote_mission), which fills in the registration metadata,
//! the declared leases, and the defaults for what you leave out. Host it like any other service
//! (`ServiceRunner::add_service`), or wrap it in a [`MissionService`] first to set the session
//! timeout or to retain the leases with the robot.
//!
//! **Sessions** are independent: calls for different sessions run concurrently, calls for the
//! same session one at a time (each gets `&mut` to the session's state). A session that sees no
//! call for [`MissionService::with_session_timeout`] (default [`DEFAULT_SESSION_TIMEOUT`]) is
//! torn down as abandoned.
//!
//! **Leases.** For every resource in [`RemoteMission::LEASE_RESOURCES`], each request must carry
//! exactly one lease. The service makes a sub-lease of it (client name: the service's directory
//! name), keeps it in the session's [`LeaseWallet`](crate::lease::LeaseWallet), retains it with
//! the robot while the session lives (with [`MissionService::with_lease_client`]), and hands it
//! to your code through [`SessionLeases`]. A newer lease in a later tick replaces it. Report the
//! robot's answers with [`TickContext::report_lease_use_result`]. A service that declares no
//! resources ignores leases.
//!
//! Use [`RemoteMissionClient`] to drive a callback yourself, directly or through the robot.

mod client;
mod context;
mod leases;
mod service;
mod sessions;

use async_trait::async_trait;

pub use client::{DEFAULT_TICK_INTERVAL, RemoteMissionClient, RemoteMissionError};
pub use context::{EstablishContext, StopContext, TickContext};
pub use leases::SessionLeases;
pub use service::{DEFAULT_SESSION_TIMEOUT, MissionService};

use crate::RpcError;
use crate::params::DictParams;
use crate::proto::bosdyn::api::dict_param;
use crate::service::ServiceMetadata;

/// The gRPC service name of remote mission services, and their directory service type.
pub const SERVICE_TYPE: &str = "bosdyn.api.mission.RemoteMissionService";

/// A callback for missions (an Autowalk "callback" action): implement it for your type under
/// [`#[remote_mission]`](macro@crate::remote_mission).
///
/// Only [`tick`](Self::tick) is required with the macro: it supplies
/// [`METADATA`](Self::METADATA) and [`LEASE_RESOURCES`](Self::LEASE_RESOURCES) from its
/// arguments, `type Session = ()` and `type Params = ()` when you leave them out, and an
/// [`establish`](Self::establish) that returns `Default::default()`.
#[async_trait]
pub trait RemoteMission: Send + Sync + 'static {
    /// Directory registration: name, authority, service type ([`SERVICE_TYPE`]).
    const METADATA: ServiceMetadata;

    /// The resources (e.g. `"body"`) whose leases every `EstablishSession` and `Tick` must
    /// carry. Empty (the default): leases are ignored.
    const LEASE_RESOURCES: &'static [&'static str] = &[];

    /// The state kept per session, created by [`establish`](Self::establish).
    type Session: Send + 'static;

    /// The node's parameters: a struct with `#[derive(DictParams)]`, or `()` for none.
    type Params: DictParams;

    /// Creates a new session's state, once per mission node when the mission loads. The leases
    /// are already checked. An error fails the mission's load (header error; no session).
    async fn establish(&self, context: &EstablishContext<'_>) -> Result<Self::Session, RpcError>;

    /// One tick of the node: return quickly, with [`TickStatus::Running`] while the work goes
    /// on. The parameters are already validated and parsed.
    async fn tick(
        &self,
        session: &mut Self::Session,
        context: &mut TickContext<'_, Self::Params>,
    ) -> Result<TickStatus, RpcError>;

    /// The node stopped being ticked (the mission moved on); stop what the ticks started. Does
    /// nothing by default.
    async fn stop(
        &self,
        session: &mut Self::Session,
        context: &StopContext<'_>,
    ) -> Result<(), RpcError> {
        let _ = (session, context);
        Ok(())
    }

    /// The session ends, requested by the mission or because it was abandoned; its leases are
    /// no longer retained. Does nothing by default.
    async fn teardown(
        &self,
        session: Self::Session,
        reason: TeardownReason,
    ) -> Result<(), RpcError> {
        let _ = (session, reason);
        Ok(())
    }

    /// The parameter spec answered to `GetRemoteMissionServiceInfo`; by default the spec of
    /// [`Self::Params`]. Read once, when the service is built.
    fn custom_params(&self) -> dict_param::Spec {
        Self::Params::dict_spec().clone()
    }
}

/// How a tick went: the `TickResponse` status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickStatus {
    /// Still working: the mission ticks again (`STATUS_RUNNING`).
    Running,
    /// Done (`STATUS_SUCCESS`).
    Success,
    /// Failed, with a message for the operator (`STATUS_FAILURE` and `error_message`).
    Failure(String),
}

impl TickStatus {
    /// [`TickStatus::Failure`] with `message`.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::Failure(message.into())
    }
}

/// Why [`RemoteMission::teardown`] is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeardownReason {
    /// The mission sent `TeardownSession`.
    Requested,
    /// No call for the session within the session timeout.
    Abandoned,
}
