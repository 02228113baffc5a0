//! Service faults on the emulated robot: `bosdyn.api.FaultService` (raise and clear) and
//! `bosdyn.api.RobotStateService` (`GetRobotState`, which shows them), sharing a [`FaultBoard`].
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use spot_service::ServiceRunner;
//! use spot_service::emulator::services::faults::{
//!     EmulatedFaultService, EmulatedRobotState, FaultBoard,
//! };
//!
//! let board = FaultBoard::new();
//! let runner = ServiceRunner::builder()
//!     .host("127.0.0.1")
//!     .add_service(EmulatedFaultService::new(board.clone()))
//!     .add_service(EmulatedRobotState::new(board.clone()))
//!     .build()
//!     .await?;
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::RpcError;
use crate::header::now_timestamp;
use crate::proto::bosdyn::api::fault_service_server::FaultService;
use crate::proto::bosdyn::api::robot_state_service_server::RobotStateService;
use crate::proto::bosdyn::api::{
    ClearServiceFaultRequest, ClearServiceFaultResponse, RobotState, RobotStateRequest,
    RobotStateResponse, ServiceFault, ServiceFaultId, ServiceFaultState,
    TriggerServiceFaultRequest, TriggerServiceFaultResponse, clear_service_fault_response,
    service_fault, trigger_service_fault_response,
};

/// How many cleared faults a [`FaultBoard`] keeps by default (the robot's history is a ring
/// buffer of 50).
pub const DEFAULT_HISTORY_LIMIT: usize = 50;

/// A fault the board cannot accept; the fault service answers it with `CODE_INVALID_REQUEST`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidFault {
    /// The trigger request carries no fault.
    #[error("the request has no fault")]
    MissingFault,
    /// The fault (or the clear request) has no `fault_id`.
    #[error("the fault has no fault_id")]
    MissingFaultId,
    /// The fault's id has an empty `fault_name`.
    #[error("the fault_id has an empty fault_name")]
    EmptyFaultName,
    /// The severity is `SEVERITY_UNKNOWN` or not a known value.
    #[error("the fault's severity {0} is not INFO, WARN or CRITICAL")]
    InvalidSeverity(i32),
}

#[derive(Debug)]
struct Board {
    /// Active faults in the order they were raised.
    active: Vec<ServiceFault>,
    /// Cleared faults, oldest first, at most `history_limit`.
    history: VecDeque<ServiceFault>,
    history_limit: usize,
}

/// The service faults of the emulated robot, shared (cheap to clone) by
/// [`EmulatedFaultService`], [`EmulatedRobotState`] and anything else that raises or clears
/// faults (e.g. the directory when a service is unregistered).
///
/// Active faults are kept in the order they were raised; cleared ones move to a bounded history
/// ([`DEFAULT_HISTORY_LIMIT`]) with their `duration` fixed at the time they were cleared.
/// Every trigger and clear is logged.
#[derive(Debug, Clone)]
pub struct FaultBoard {
    inner: Arc<Mutex<Board>>,
}

impl Default for FaultBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultBoard {
    /// An empty board keeping [`DEFAULT_HISTORY_LIMIT`] cleared faults.
    pub fn new() -> Self {
        Self::with_history_limit(DEFAULT_HISTORY_LIMIT)
    }

    /// An empty board keeping the last `limit` cleared faults.
    pub fn with_history_limit(limit: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Board {
                active: Vec::new(),
                history: VecDeque::new(),
                history_limit: limit,
            })),
        }
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        // A panic while holding the lock cannot leave the board inconsistent: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Raises `fault` (`TriggerServiceFault`): `STATUS_OK`, or `STATUS_FAULT_ALREADY_ACTIVE` if a
    /// fault with the same id (fault name, service name and payload GUID) is active. An unset
    /// `onset_timestamp` becomes now.
    ///
    /// # Errors
    ///
    /// A fault without an id, with an empty name, or without a valid severity.
    pub fn trigger(
        &self,
        mut fault: ServiceFault,
    ) -> Result<trigger_service_fault_response::Status, InvalidFault> {
        use trigger_service_fault_response::Status;
        let id = fault
            .fault_id
            .as_ref()
            .ok_or(InvalidFault::MissingFaultId)?;
        if id.fault_name.is_empty() {
            return Err(InvalidFault::EmptyFaultName);
        }
        match service_fault::Severity::try_from(fault.severity) {
            Ok(service_fault::Severity::Unknown) | Err(_) => {
                return Err(InvalidFault::InvalidSeverity(fault.severity));
            }
            Ok(_) => {}
        }
        let mut board = self.board();
        if board.active.iter().any(|f| f.fault_id.as_ref() == Some(id)) {
            tracing::info!(
                fault = %id.fault_name,
                service = %id.service_name,
                payload = %id.payload_guid,
                "service fault already active"
            );
            return Ok(Status::FaultAlreadyActive);
        }
        tracing::info!(
            fault = %id.fault_name,
            service = %id.service_name,
            payload = %id.payload_guid,
            severity = fault.severity().as_str_name(),
            message = %fault.error_message,
            "service fault triggered"
        );
        if fault.onset_timestamp.is_none() {
            fault.onset_timestamp = Some(now_timestamp());
        }
        fault.duration = None;
        board.active.push(fault);
        Ok(Status::Ok)
    }

    /// Clears faults (`ClearServiceFault`): the fault with exactly `fault_id`, plus, with
    /// `all_service`, every fault with the same non-empty service name and, with `all_payload`,
    /// every fault with the same non-empty payload GUID. Returns how many were cleared (zero is
    /// the service's `STATUS_FAULT_NOT_ACTIVE`).
    pub fn clear_matching(
        &self,
        fault_id: &ServiceFaultId,
        all_service: bool,
        all_payload: bool,
    ) -> usize {
        self.clear_where("ClearServiceFault", |id| {
            id == fault_id
                || (all_service
                    && !fault_id.service_name.is_empty()
                    && id.service_name == fault_id.service_name)
                || (all_payload
                    && !fault_id.payload_guid.is_empty()
                    && id.payload_guid == fault_id.payload_guid)
        })
    }

    /// Clears the fault with exactly `fault_id`; returns whether it was active.
    pub fn clear(&self, fault_id: &ServiceFaultId) -> bool {
        self.clear_matching(fault_id, false, false) > 0
    }

    /// Clears every fault of the service `service_name` (what the robot does when a service is
    /// unregistered); returns how many.
    pub fn clear_service(&self, service_name: &str) -> usize {
        if service_name.is_empty() {
            return 0;
        }
        self.clear_where("service unregistered", |id| id.service_name == service_name)
    }

    fn clear_where(&self, cause: &str, mut matches: impl FnMut(&ServiceFaultId) -> bool) -> usize {
        let now = SystemTime::now();
        let mut board = self.board();
        let (cleared, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut board.active)
            .into_iter()
            .partition(|f| f.fault_id.as_ref().is_some_and(&mut matches));
        board.active = kept;
        let count = cleared.len();
        for mut fault in cleared {
            let id = fault.fault_id.clone().unwrap_or_default();
            tracing::info!(
                fault = %id.fault_name,
                service = %id.service_name,
                payload = %id.payload_guid,
                cause,
                "service fault cleared"
            );
            fault.duration = Some(duration_since(fault.onset_timestamp.as_ref(), now));
            board.history.push_back(fault);
        }
        while board.history.len() > board.history_limit {
            board.history.pop_front();
        }
        count
    }

    /// Whether a fault with exactly `fault_id` is active.
    pub fn is_active(&self, fault_id: &ServiceFaultId) -> bool {
        self.board()
            .active
            .iter()
            .any(|f| f.fault_id.as_ref() == Some(fault_id))
    }

    /// The active faults, in the order they were raised, with their duration so far.
    pub fn active(&self) -> Vec<ServiceFault> {
        self.state().faults
    }

    /// The cleared faults kept in the history, oldest first.
    pub fn historical(&self) -> Vec<ServiceFault> {
        self.board().history.iter().cloned().collect()
    }

    /// The service fault state as `GetRobotState` reports it: active faults with their duration
    /// so far, the history, and for each attribute of an active fault the highest severity
    /// among the active faults carrying it.
    pub fn state(&self) -> ServiceFaultState {
        let now = SystemTime::now();
        let board = self.board();
        let faults: Vec<ServiceFault> = board
            .active
            .iter()
            .cloned()
            .map(|mut fault| {
                fault.duration = Some(duration_since(fault.onset_timestamp.as_ref(), now));
                fault
            })
            .collect();
        let mut aggregated: HashMap<String, i32> = HashMap::new();
        for fault in &faults {
            for attribute in &fault.attributes {
                let severity = aggregated
                    .entry(attribute.clone())
                    .or_insert(fault.severity);
                *severity = (*severity).max(fault.severity);
            }
        }
        ServiceFaultState {
            faults,
            historical_faults: board.history.iter().cloned().collect(),
            aggregated,
        }
    }
}

/// `now - onset`, zero if the onset is unset, invalid or in the future.
fn duration_since(
    onset: Option<&prost_types::Timestamp>,
    now: SystemTime,
) -> prost_types::Duration {
    let elapsed = onset
        .and_then(|t| SystemTime::try_from(*t).ok())
        .and_then(|onset| now.duration_since(onset).ok())
        .unwrap_or_default();
    prost_types::Duration::try_from(elapsed).unwrap_or_default()
}

/// The emulated fault service (`fault` at `api.spot.robot`): raises and clears faults on a
/// [`FaultBoard`], answering the official statuses. A malformed fault (no id, empty name, no
/// valid severity) is answered with `CODE_INVALID_REQUEST`.
#[derive(Debug, Clone)]
pub struct EmulatedFaultService {
    board: FaultBoard,
}

impl EmulatedFaultService {
    /// The service over `board`.
    pub fn new(board: FaultBoard) -> Self {
        Self { board }
    }

    /// The board the service writes to.
    pub fn board(&self) -> &FaultBoard {
        &self.board
    }
}

#[crate::spot_service(name = "fault", authority = "api.spot.robot")]
impl FaultService for EmulatedFaultService {
    async fn trigger_service_fault(
        &self,
        request: TriggerServiceFaultRequest,
    ) -> crate::Result<TriggerServiceFaultResponse> {
        let fault = request.fault.ok_or(InvalidFault::MissingFault);
        let status = fault
            .and_then(|fault| self.board.trigger(fault))
            .map_err(|e| RpcError::invalid_request(e.to_string()))?;
        Ok(TriggerServiceFaultResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn clear_service_fault(
        &self,
        request: ClearServiceFaultRequest,
    ) -> crate::Result<ClearServiceFaultResponse> {
        use clear_service_fault_response::Status;
        let fault_id = request
            .fault_id
            .ok_or_else(|| RpcError::invalid_request(InvalidFault::MissingFaultId.to_string()))?;
        let cleared = self.board.clear_matching(
            &fault_id,
            request.clear_all_service_faults,
            request.clear_all_payload_faults,
        );
        let status = if cleared > 0 {
            Status::Ok
        } else {
            tracing::info!(
                fault = %fault_id.fault_name,
                service = %fault_id.service_name,
                payload = %fault_id.payload_guid,
                all_service = request.clear_all_service_faults,
                all_payload = request.clear_all_payload_faults,
                "no active service fault to clear"
            );
            Status::FaultNotActive
        };
        Ok(ClearServiceFaultResponse {
            header: None,
            status: status as i32,
        })
    }
}

/// The emulated robot state service (`robot-state` at `api.spot.robot`): `GetRobotState`
/// reports the [`FaultBoard`]'s service faults (the rest of the robot's state is not
/// emulated).
#[derive(Debug, Clone)]
pub struct EmulatedRobotState {
    board: FaultBoard,
}

impl EmulatedRobotState {
    /// The service over `board`.
    pub fn new(board: FaultBoard) -> Self {
        Self { board }
    }
}

#[crate::spot_service(name = "robot-state", authority = "api.spot.robot")]
impl RobotStateService for EmulatedRobotState {
    async fn get_robot_state(
        &self,
        _request: RobotStateRequest,
    ) -> crate::Result<RobotStateResponse> {
        Ok(RobotStateResponse {
            header: None,
            robot_state: Some(RobotState {
                service_fault_state: Some(self.board.state()),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{fault_id, service_fault as fault};
    use service_fault::Severity;

    #[test]
    fn board_rejects_malformed_faults() {
        let board = FaultBoard::new();
        let mut no_id = fault(fault_id("f", "s"), Severity::Warn, "");
        no_id.fault_id = None;
        assert_eq!(board.trigger(no_id), Err(InvalidFault::MissingFaultId));
        assert_eq!(
            board.trigger(fault(fault_id("", "s"), Severity::Warn, "")),
            Err(InvalidFault::EmptyFaultName)
        );
        assert_eq!(
            board.trigger(fault(fault_id("f", "s"), Severity::Unknown, "")),
            Err(InvalidFault::InvalidSeverity(0))
        );
        assert!(board.active().is_empty());
    }

    #[test]
    fn board_history_is_bounded_and_aggregates_attributes() {
        let board = FaultBoard::with_history_limit(2);
        for name in ["a", "b", "c"] {
            let mut f = fault(fault_id(name, "s"), Severity::Info, "");
            f.attributes = vec!["camera".into()];
            board.trigger(f).unwrap();
        }
        let mut critical = fault(fault_id("d", "other"), Severity::Critical, "");
        critical.attributes = vec!["camera".into(), "arm".into()];
        board.trigger(critical).unwrap();
        let state = board.state();
        assert_eq!(state.aggregated["camera"], Severity::Critical as i32);
        assert_eq!(state.aggregated["arm"], Severity::Critical as i32);
        assert_eq!(board.clear_service("s"), 3);
        let history: Vec<_> = board
            .historical()
            .into_iter()
            .map(|f| f.fault_id.unwrap().fault_name)
            .collect();
        assert_eq!(history, ["b", "c"]);
        assert_eq!(board.state().aggregated.len(), 2);
        assert!(board.clear(&fault_id("d", "other")));
        assert!(board.state().aggregated.is_empty());
    }

    #[test]
    fn board_group_clears_ignore_empty_names() {
        let board = FaultBoard::new();
        board
            .trigger(fault(fault_id("a", ""), Severity::Warn, ""))
            .unwrap();
        assert_eq!(board.clear_matching(&fault_id("x", ""), true, true), 0);
        assert_eq!(board.active().len(), 1);
    }
}
