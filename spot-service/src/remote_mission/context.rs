//! What a [`RemoteMission`](super::RemoteMission)'s methods receive besides their session state.

use super::leases::SessionLeases;
use crate::proto::bosdyn::api::LeaseUseResult;
use crate::proto::bosdyn::api::mission::{EstablishSessionRequest, TickRequest};

/// What [`RemoteMission::establish`](super::RemoteMission::establish) gets: the new session's id,
/// its leases (already checked and sub-leased) and the request.
#[derive(Debug)]
pub struct EstablishContext<'a> {
    pub(crate) session_id: &'a str,
    pub(crate) leases: &'a SessionLeases,
    pub(crate) request: &'a EstablishSessionRequest,
}

impl EstablishContext<'_> {
    /// The id the new session will have.
    pub fn session_id(&self) -> &str {
        self.session_id
    }

    /// The session's leases: one sub-lease per declared resource.
    pub fn leases(&self) -> &SessionLeases {
        self.leases
    }

    /// The request as received.
    pub fn request(&self) -> &EstablishSessionRequest {
        self.request
    }
}

/// What [`RemoteMission::tick`](super::RemoteMission::tick) gets: the validated parameters, the
/// session's leases (updated from this tick's leases), the request, and a place for the robot's
/// lease use results to report back to the mission service.
#[derive(Debug)]
pub struct TickContext<'a, P> {
    pub(crate) session_id: &'a str,
    pub(crate) params: P,
    pub(crate) leases: &'a SessionLeases,
    pub(crate) request: &'a TickRequest,
    pub(crate) lease_use_results: Vec<LeaseUseResult>,
}

impl<P> TickContext<'_, P> {
    /// The session's id.
    pub fn session_id(&self) -> &str {
        self.session_id
    }

    /// The node's parameters, validated against the service's spec, with defaults for the keys
    /// the node left out.
    pub fn params(&self) -> &P {
        &self.params
    }

    /// The session's leases: one sub-lease per declared resource.
    pub fn leases(&self) -> &SessionLeases {
        self.leases
    }

    /// The request as received (e.g. for `group_name`).
    pub fn request(&self) -> &TickRequest {
        self.request
    }

    /// Reports a robot's answer about a lease this tick used: it goes back to the mission
    /// service in the response's `lease_use_results`, and updates the session's wallet (a
    /// revoked or superseded sub-lease is no longer handed out).
    ///
    /// The official pattern on a lease use error is to report it and answer
    /// [`TickStatus::Running`](super::TickStatus::Running): the mission service then sends a
    /// newer lease with the next tick.
    pub fn report_lease_use_result(&mut self, result: LeaseUseResult) {
        self.leases.wallet().on_lease_use_result(&result);
        self.lease_use_results.push(result);
    }

    /// The results reported so far with
    /// [`report_lease_use_result`](Self::report_lease_use_result).
    pub fn lease_use_results(&self) -> &[LeaseUseResult] {
        &self.lease_use_results
    }
}

/// What [`RemoteMission::stop`](super::RemoteMission::stop) gets.
#[derive(Debug)]
pub struct StopContext<'a> {
    pub(crate) session_id: &'a str,
    pub(crate) leases: &'a SessionLeases,
}

impl StopContext<'_> {
    /// The session's id.
    pub fn session_id(&self) -> &str {
        self.session_id
    }

    /// The session's leases (e.g. to send a stop command).
    pub fn leases(&self) -> &SessionLeases {
        self.leases
    }
}
