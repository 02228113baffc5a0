//! `bosdyn.api.PowerService`: switching the emulated robot's motor power on and off.
//!
//! # Model
//!
//! The motors go through `Off -> PoweringOn -> On -> PoweringOff -> Off` ([`PowerState`]); each
//! transition takes [`EmulatedPower::transition_time`] ([`DEFAULT_TRANSITION_TIME`] unless set
//! with [`EmulatedPower::with_transition_time`]). Every accepted command gets a new id (from 1);
//! the last [`COMMAND_HISTORY`] ids are remembered for `PowerCommandFeedback`.
//!
//! # RPCs
//!
//! | RPC | Answer |
//! | --- | --- |
//! | `PowerCommand` | `REQUEST_ON_MOTORS` / `REQUEST_OFF_MOTORS` need the body lease (see below). Accepted: a new `power_command_id`, `STATUS_IN_PROGRESS` if a transition started (or one to the same state was already running), `STATUS_SUCCESS` if the motors already were in the requested state. A command still in progress when a newer one is accepted becomes `STATUS_OVERRIDDEN`. `REQUEST_UNKNOWN` and the requests the emulator does not model (robot, payload ports, Wi-Fi, reboot) are answered `CODE_INVALID_REQUEST`. |
//! | `PowerCommandFeedback` | `STATUS_IN_PROGRESS` until the command's transition completes, then `STATUS_SUCCESS` (or `STATUS_OVERRIDDEN`). An unknown (or forgotten) id is answered `CODE_INVALID_REQUEST` with `STATUS_UNKNOWN`. |
//!
//! # Lease
//!
//! The request's lease is checked by the shared [`EmulatedLease`] exactly as its `RetainLease`
//! would (so an accepted use also counts as a retain, refreshing the holder). A missing lease or
//! one for another resource than `body` is `STATUS_INVALID_LEASE`; an older lease (e.g. after a
//! take) is `STATUS_OLDER`; another epoch is `STATUS_WRONG_EPOCH`; a returned or stale one is
//! `STATUS_REVOKED`. A refused lease is answered with that `lease_use_result`, `power_command_id`
//! 0 and `STATUS_UNKNOWN` (the power enum has no lease status; clients check the lease use result
//! first), and changes nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::lease::BODY_RESOURCE;
use crate::proto::bosdyn::api::lease_service_server::LeaseService;
use crate::proto::bosdyn::api::lease_use_result::Status as UseStatus;
use crate::proto::bosdyn::api::power_command_request::Request as PowerRequest;
use crate::proto::bosdyn::api::power_service_server::PowerService;
use crate::proto::bosdyn::api::{
    self, LeaseUseResult, PowerCommandFeedbackRequest, PowerCommandFeedbackResponse,
    PowerCommandRequest, PowerCommandResponse, PowerCommandStatus, RetainLeaseRequest,
};
use crate::{Result, RpcError};

use super::lease::EmulatedLease;

/// How long a power transition takes by default: 1 s.
pub const DEFAULT_TRANSITION_TIME: Duration = Duration::from_secs(1);

/// How many commands are remembered for `PowerCommandFeedback`; older ids are unknown.
pub const COMMAND_HISTORY: usize = 256;

/// The motor power state of the emulated robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerState {
    /// Motors off.
    Off,
    /// Powering on; becomes [`PowerState::On`] when the transition completes.
    PoweringOn,
    /// Motors on.
    On,
    /// Powering off; becomes [`PowerState::Off`] when the transition completes.
    PoweringOff,
}

/// The emulated power service (`power` at `api.spot.robot`, token needed); see the
/// [module docs](self) for its rules.
///
/// Cheap to clone: clones share one power state. It checks leases with the [`EmulatedLease`] it
/// was given, which should be the one hosted next to it.
#[derive(Debug, Clone)]
pub struct EmulatedPower {
    lease: EmulatedLease,
    machine: Arc<Mutex<Machine>>,
    transition_time: Duration,
}

impl EmulatedPower {
    /// The service, motors off, checking leases with `lease`; transitions take
    /// [`DEFAULT_TRANSITION_TIME`].
    pub fn new(lease: EmulatedLease) -> Self {
        Self {
            lease,
            machine: Arc::new(Mutex::new(Machine::default())),
            transition_time: DEFAULT_TRANSITION_TIME,
        }
    }

    /// Sets how long each power transition takes (zero: commands complete at once).
    #[must_use]
    pub fn with_transition_time(mut self, transition_time: Duration) -> Self {
        self.transition_time = transition_time;
        self
    }

    /// How long each power transition takes.
    pub fn transition_time(&self) -> Duration {
        self.transition_time
    }

    /// The current motor power state.
    pub fn state(&self) -> PowerState {
        let mut machine = self.lock();
        machine.advance(Instant::now());
        machine.state()
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        lock(&self.machine)
    }

    /// Checks `lease` as the body lease with the lease service's `RetainLease` rules.
    async fn check_lease(&self, lease: Option<api::Lease>) -> Result<LeaseUseResult> {
        let lease = match lease {
            Some(lease) if lease.resource == BODY_RESOURCE => lease,
            other => {
                return Ok(LeaseUseResult {
                    status: UseStatus::InvalidLease as i32,
                    attempted_lease: other,
                    ..Default::default()
                });
            }
        };
        let request = tonic::Request::new(RetainLeaseRequest {
            header: None,
            lease: Some(lease.clone()),
        });
        let response = LeaseService::retain_lease(&self.lease, request)
            .await
            .map_err(|status| {
                RpcError::internal(format!("lease check failed: {}", status.message()))
            })?;
        Ok(response
            .into_inner()
            .lease_use_result
            .unwrap_or_else(|| LeaseUseResult {
                status: UseStatus::InvalidLease as i32,
                attempted_lease: Some(lease),
                ..Default::default()
            }))
    }

    /// Wakes up when the transition ending at `done_at` should complete, so that it is logged on
    /// time even if nobody asks.
    fn schedule(&self, done_at: Instant) {
        let machine: Weak<Mutex<Machine>> = Arc::downgrade(&self.machine);
        tokio::spawn(async move {
            tokio::time::sleep_until(done_at.into()).await;
            if let Some(machine) = machine.upgrade() {
                lock(&machine).advance(Instant::now());
            }
        });
    }
}

fn lock(machine: &Mutex<Machine>) -> MutexGuard<'_, Machine> {
    // Every change is a few field assignments that cannot panic halfway.
    machine.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running transition.
#[derive(Debug, Clone, Copy)]
struct Transition {
    /// The state it ends in ([`PowerState::On`] or [`PowerState::Off`]).
    target: PowerState,
    done_at: Instant,
    /// The command that drives it.
    command: u32,
}

/// The power state machine and the remembered commands.
#[derive(Debug)]
struct Machine {
    /// The last settled state ([`PowerState::On`] or [`PowerState::Off`]).
    settled: PowerState,
    transition: Option<Transition>,
    next_id: u32,
    /// `(id, status)` of the last [`COMMAND_HISTORY`] commands, oldest first.
    commands: VecDeque<(u32, PowerCommandStatus)>,
}

impl Default for Machine {
    fn default() -> Self {
        Self {
            settled: PowerState::Off,
            transition: None,
            next_id: 1,
            commands: VecDeque::new(),
        }
    }
}

impl Machine {
    fn state(&self) -> PowerState {
        match self.transition {
            Some(Transition {
                target: PowerState::On,
                ..
            }) => PowerState::PoweringOn,
            Some(_) => PowerState::PoweringOff,
            None => self.settled,
        }
    }

    fn status_mut(&mut self, id: u32) -> Option<&mut PowerCommandStatus> {
        self.commands
            .iter_mut()
            .find(|(known, _)| *known == id)
            .map(|(_, status)| status)
    }

    /// Completes the running transition if its time has come.
    fn advance(&mut self, now: Instant) {
        let Some(transition) = self.transition else {
            return;
        };
        if transition.done_at > now {
            return;
        }
        let from = self.state();
        self.transition = None;
        self.settled = transition.target;
        if let Some(status) = self.status_mut(transition.command) {
            *status = PowerCommandStatus::StatusSuccess;
        }
        tracing::info!(
            ?from,
            to = ?self.settled,
            command = transition.command,
            "emulated power transition"
        );
    }

    /// Accepts a command towards `target` (`On` or `Off`); returns its id, its status and, if a
    /// new transition started, when it ends.
    fn command(
        &mut self,
        target: PowerState,
        now: Instant,
        transition_time: Duration,
    ) -> (u32, PowerCommandStatus, Option<Instant>) {
        self.advance(now);
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        // Whatever is still running is replaced by this command.
        for (_, status) in &mut self.commands {
            if *status == PowerCommandStatus::StatusInProgress {
                *status = PowerCommandStatus::StatusOverridden;
            }
        }
        let from = self.state();
        let mut started = None;
        let status = match self.transition {
            None if self.settled == target => PowerCommandStatus::StatusSuccess,
            Some(ref mut running) if running.target == target => {
                // Already on its way: this command takes the running transition over.
                running.command = id;
                PowerCommandStatus::StatusInProgress
            }
            _ => {
                let done_at = now + transition_time;
                self.transition = Some(Transition {
                    target,
                    done_at,
                    command: id,
                });
                started = Some(done_at);
                tracing::info!(?from, to = ?self.state(), command = id, "emulated power transition");
                PowerCommandStatus::StatusInProgress
            }
        };
        if self.commands.len() >= COMMAND_HISTORY {
            self.commands.pop_front();
        }
        self.commands.push_back((id, status));
        self.advance(now);
        let status = self.status_mut(id).map_or(status, |s| *s);
        (id, status, started.filter(|_| self.transition.is_some()))
    }

    fn feedback(&mut self, id: u32, now: Instant) -> Option<PowerCommandStatus> {
        self.advance(now);
        self.status_mut(id).map(|s| *s)
    }
}

#[crate::spot_service(name = "power", authority = "api.spot.robot")]
impl PowerService for EmulatedPower {
    async fn power_command(&self, request: PowerCommandRequest) -> Result<PowerCommandResponse> {
        let target = match request.request() {
            PowerRequest::OnMotors => PowerState::On,
            PowerRequest::OffMotors => PowerState::Off,
            PowerRequest::Unknown => {
                return Err(RpcError::invalid_request("no power request given"));
            }
            other => {
                return Err(RpcError::invalid_request(format!(
                    "{} is not supported by the emulated robot",
                    other.as_str_name()
                )));
            }
        };
        let lease_use_result = self.check_lease(request.lease).await?;
        if lease_use_result.status != UseStatus::Ok as i32 {
            return Ok(PowerCommandResponse {
                header: None,
                lease_use_result: Some(lease_use_result),
                status: PowerCommandStatus::StatusUnknown as i32,
                power_command_id: 0,
            });
        }
        let (id, status, started) =
            self.lock()
                .command(target, Instant::now(), self.transition_time);
        if let Some(done_at) = started {
            self.schedule(done_at);
        }
        Ok(PowerCommandResponse {
            header: None,
            lease_use_result: Some(lease_use_result),
            status: status as i32,
            power_command_id: id,
        })
    }

    async fn power_command_feedback(
        &self,
        request: PowerCommandFeedbackRequest,
    ) -> Result<PowerCommandFeedbackResponse> {
        let id = request.power_command_id;
        match self.lock().feedback(id, Instant::now()) {
            Some(status) => Ok(PowerCommandFeedbackResponse {
                header: None,
                status: status as i32,
            }),
            None => Err(RpcError::invalid_request(format!(
                "unknown power_command_id {id}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(50);

    #[test]
    fn on_then_off() {
        let mut m = Machine::default();
        let now = Instant::now();
        let (on, status, started) = m.command(PowerState::On, now, T);
        assert_eq!(status, PowerCommandStatus::StatusInProgress);
        assert_eq!(started, Some(now + T));
        assert_eq!(m.state(), PowerState::PoweringOn);
        assert_eq!(
            m.feedback(on, now),
            Some(PowerCommandStatus::StatusInProgress)
        );
        assert_eq!(
            m.feedback(on, now + T),
            Some(PowerCommandStatus::StatusSuccess)
        );
        assert_eq!(m.state(), PowerState::On);
        let (again, status, started) = m.command(PowerState::On, now + T, T);
        assert_eq!((status, started), (PowerCommandStatus::StatusSuccess, None));
        assert_ne!(again, on);
        let (off, _, _) = m.command(PowerState::Off, now + T, T);
        assert_eq!(m.state(), PowerState::PoweringOff);
        assert_eq!(
            m.feedback(on, now + T),
            Some(PowerCommandStatus::StatusSuccess)
        );
        assert_eq!(
            m.feedback(off, now + 2 * T),
            Some(PowerCommandStatus::StatusSuccess)
        );
        assert_eq!(m.state(), PowerState::Off);
        assert_eq!(m.feedback(off + 1, now), None);
    }

    #[test]
    fn newer_commands_override() {
        let mut m = Machine::default();
        let now = Instant::now();
        let (first, _, _) = m.command(PowerState::On, now, T);
        let (second, status, started) = m.command(PowerState::On, now, T);
        assert_eq!(
            (status, started),
            (PowerCommandStatus::StatusInProgress, None)
        );
        assert_eq!(
            m.feedback(first, now),
            Some(PowerCommandStatus::StatusOverridden)
        );
        let (off, _, _) = m.command(PowerState::Off, now, T);
        assert_eq!(
            m.feedback(second, now),
            Some(PowerCommandStatus::StatusOverridden)
        );
        assert_eq!(m.state(), PowerState::PoweringOff);
        assert_eq!(
            m.feedback(off, now + T),
            Some(PowerCommandStatus::StatusSuccess)
        );
        assert_eq!(m.state(), PowerState::Off);
    }

    #[test]
    fn zero_transition_time_completes_at_once() {
        let mut m = Machine::default();
        let now = Instant::now();
        let (_, status, started) = m.command(PowerState::On, now, Duration::ZERO);
        assert_eq!((status, started), (PowerCommandStatus::StatusSuccess, None));
        assert_eq!(m.state(), PowerState::On);
    }
}
