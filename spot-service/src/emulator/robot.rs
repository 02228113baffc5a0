//! The whole emulated robot: its state, its built-in services behind the TLS front (auth,
//! robot-id, payload registration, and at `api.spot.robot` the directory, directory
//! registration, faults, robot state, leases, power and time sync), and a background sweep of
//! silent directory entries.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::emulator::front::{CaError, EmulatorCa, FrontConfig, FrontError, RunningFront};
use crate::emulator::services::lease::EmulatedLease;
use crate::emulator::services::power::EmulatedPower;
use crate::emulator::services::{
    EmulatedAuth, EmulatedDirectory, EmulatedDirectoryRegistration, EmulatedFaultService,
    EmulatedPayloadRegistration, EmulatedRobotId, EmulatedRobotState, EmulatedTimeSync, FaultBoard,
};
use crate::emulator::state::{EmulatorConfig, EmulatorState, StateError};
use crate::robot::{RobotConfig, RobotError, Trust};
use crate::{ServiceRoutes, SpotService};

/// How often silent directory entries are dropped and the state file is checked for the
/// operator's changes (liveness timeouts are seconds).
const SWEEP_INTERVAL: Duration = Duration::from_millis(500);

/// Failures starting the emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The state (users, state file) could not be set up.
    #[error(transparent)]
    State(#[from] StateError),
    /// The CA could not be created, loaded or written.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The TLS front could not start.
    #[error(transparent)]
    Front(#[from] FrontError),
}

/// Configures an emulated robot; see [`Emulator::builder`].
#[derive(Debug)]
#[must_use]
pub struct EmulatorBuilder {
    listen: SocketAddr,
    config: EmulatorConfig,
    ca_dir: Option<PathBuf>,
    ca_out: Option<PathBuf>,
}

/// An emulated Spot robot on this machine.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use spot_service::emulator::{Emulator, state::EmulatorConfig};
/// let robot = Emulator::builder()
///     .config(EmulatorConfig::default().with_user("admin", "password").with_auto_authorize(true))
///     .start()
///     .await?;
/// let client_config = robot.robot_config()?; // trusts the emulator's CA, targets its port
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Starts configuring an emulator listening on `127.0.0.1:0` with an in-memory state and a
    /// fresh CA.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            config: EmulatorConfig::default(),
            ca_dir: None,
            ca_out: None,
        }
    }
}

impl EmulatorBuilder {
    /// Where the robot listens (a real robot: port 443 on all interfaces).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Users, tokens, state file, authorization policy and identity.
    pub fn config(mut self, config: EmulatorConfig) -> Self {
        self.config = config;
        self
    }

    /// Keeps the CA (certificate and key) in `dir`, so clients keep trusting the emulator across
    /// restarts; created on first use.
    pub fn ca_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.ca_dir = Some(dir.into());
        self
    }

    /// Writes the CA certificate (PEM) to `path`, for clients to trust.
    pub fn write_ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_out = Some(path.into());
        self
    }

    /// Starts the robot: loads the state (payloads from the state file; the directory starts
    /// empty, as after a reboot), then serves the built-in services behind the TLS front.
    pub async fn start(self) -> Result<RunningEmulator, EmulatorError> {
        let state = EmulatorState::new(self.config)?;
        let ca = match &self.ca_dir {
            Some(dir) => EmulatorCa::load_or_create(dir)?,
            None => EmulatorCa::generate()?,
        };
        if let Some(path) = &self.ca_out {
            ca.write_ca_pem(path)?;
        }
        let ca = Arc::new(ca);

        let routes = |add: &dyn Fn(&mut ServiceRoutes)| {
            let mut routes = ServiceRoutes::default();
            add(&mut routes);
            routes.into_tonic_routes()
        };
        let auth = routes(&|b| EmulatedAuth::new(state.clone()).add_to_routes(b));
        let id = routes(&|b| EmulatedRobotId::new(state.clone()).add_to_routes(b));
        let faults = FaultBoard::new();
        let lease = EmulatedLease::new(state.clone());
        let power = EmulatedPower::new(lease.clone());
        let time_sync = EmulatedTimeSync::new();
        let api = routes(&|b| {
            EmulatedDirectory::new(state.clone()).add_to_routes(b);
            EmulatedDirectoryRegistration::new(state.clone()).add_to_routes(b);
            EmulatedFaultService::new(faults.clone()).add_to_routes(b);
            EmulatedRobotState::new(faults.clone()).add_to_routes(b);
            lease.clone().add_to_routes(b);
            power.clone().add_to_routes(b);
            time_sync.clone().add_to_routes(b);
        });
        let payload_registration =
            routes(&|b| EmulatedPayloadRegistration::new(state.clone()).add_to_routes(b));

        let stop = CancellationToken::new();
        let front = FrontConfig::new(self.listen, ca.clone(), Arc::new(state.clone()))
            .builtin(EmulatedAuth::METADATA.authority, auth, false)
            .builtin(EmulatedRobotId::METADATA.authority, id, false)
            .builtin(EmulatedDirectory::METADATA.authority, api, true)
            .builtin(
                EmulatedPayloadRegistration::METADATA.authority,
                payload_registration,
                false,
            )
            .shutdown_token(stop.clone());
        let front = crate::emulator::front::Front::start(front).await?;

        let sweeper_state = state.clone();
        let sweeper_stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            loop {
                tokio::select! {
                    () = sweeper_stop.cancelled() => return,
                    _ = tick.tick() => {
                        sweeper_state.sweep();
                        // Picks up the operator's `spot-emulator authorize GUID` (another process).
                        if let Err(error) = sweeper_state.refresh_from_file() {
                            tracing::warn!(%error, "could not refresh the emulator state file");
                        }
                    }
                }
            }
        });
        tracing::info!(address = %front.local_addr(), "emulated robot ready");
        Ok(RunningEmulator {
            front,
            state,
            faults,
            ca,
            _stop_on_drop: stop.drop_guard(),
        })
    }
}

/// A running emulated robot; stopped by [`RunningEmulator::stop`] or when dropped.
#[derive(Debug)]
pub struct RunningEmulator {
    front: RunningFront,
    state: EmulatorState,
    faults: FaultBoard,
    ca: Arc<EmulatorCa>,
    /// Stops the sweeper when the emulator is stopped or dropped (the front stops on drop).
    _stop_on_drop: tokio_util::sync::DropGuard,
}

impl RunningEmulator {
    /// Where the robot listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.front.local_addr()
    }

    /// The robot's port.
    pub fn port(&self) -> u16 {
        self.front.port()
    }

    /// The CA certificate clients must trust (PEM).
    pub fn ca_pem(&self) -> &str {
        self.ca.ca_pem()
    }

    /// The robot's state: users, tokens, directory, payloads (e.g. to authorize a payload as
    /// the operator would).
    pub fn state(&self) -> &EmulatorState {
        &self.state
    }

    /// The robot's service faults (what `GetRobotState` reports).
    pub fn faults(&self) -> &FaultBoard {
        &self.faults
    }

    /// A client configuration for this robot: its loopback address and port, trusting its CA.
    pub fn robot_config(&self) -> Result<RobotConfig, RobotError> {
        RobotConfig::builder(self.local_addr().ip().to_string())
            .port(self.port())
            .trust(Trust::CaPem(self.ca_pem().to_owned()))
            .build()
    }

    /// Stops the robot (as a power-off: the next start has an empty directory).
    pub async fn stop(self) {
        let Self {
            front,
            _stop_on_drop,
            ..
        } = self;
        drop(_stop_on_drop);
        front.stop().await;
    }
}
