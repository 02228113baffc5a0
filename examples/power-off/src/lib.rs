//! The power-off mission callback: powers the robot's motors off with the body lease the
//! mission hands it.
//!
//! Each session keeps the id of the power command it sent. The first tick sends
//! `PowerCommand(REQUEST_OFF_MOTORS)` with the session's sub-lease of the body lease and answers
//! RUNNING; later ticks follow the command's feedback, answering RUNNING until the motors are
//! off, then SUCCESS. If the robot refuses the lease, the tick reports the robot's
//! `LeaseUseResult` back to the mission and answers RUNNING: the mission sends a newer lease with
//! the next tick, as the official lease handling recommends. Any other refusal (estopped,
//! overridden, ...) answers FAILURE with the reason. `Stop` forgets the command, so a later tick
//! starts over.
//!
//! `REQUEST_OFF_MOTORS` cuts motor power where the robot is: on a real robot, sit it down first
//! (a mission usually does, before this node).

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use spot_service::directory::KeepAliveConfig;
use spot_service::power::{POWER_AUTHORITY, PowerClient, PowerClientError};
use spot_service::proto::bosdyn::api::power_command_request::Request as PowerRequest;
use spot_service::remote_mission::{
    MissionService, RemoteMission, StopContext, TickContext, TickStatus,
};
use spot_service::robot::{AuthenticatedChannel, Robot};
use spot_service::{RpcError, ServiceRunner};

/// The directory name.
pub const DIRECTORY_NAME: &str = "power-off-callback";

/// The power-off callback.
#[derive(Debug, Clone)]
pub struct PowerOff {
    power: PowerClient<AuthenticatedChannel>,
}

impl PowerOff {
    /// A callback that sends its power commands through `robot`.
    pub fn new(robot: &Robot) -> anyhow::Result<Self> {
        let channel = robot
            .lazy_intercepted(POWER_AUTHORITY)
            .context("invalid power service channel")?;
        Ok(Self {
            power: PowerClient::new(channel).with_client_name(DIRECTORY_NAME),
        })
    }
}

/// A session's progress.
#[derive(Debug, Default)]
pub struct PowerOffSession {
    /// The power command in flight, if one was sent.
    command: Option<u32>,
}

#[spot_service::remote_mission(
    name = "power-off-callback",
    authority = "power-off-callback",
    leases = ["body"]
)]
impl RemoteMission for PowerOff {
    type Session = PowerOffSession;

    async fn tick(
        &self,
        session: &mut PowerOffSession,
        context: &mut TickContext<'_, ()>,
    ) -> Result<TickStatus, RpcError> {
        if let Some(id) = session.command {
            return Ok(match self.power.feedback(id).await {
                Ok(true) => {
                    session.command = None;
                    tracing::info!("motors are off");
                    TickStatus::Success
                }
                Ok(false) => TickStatus::Running,
                Err(error) => {
                    session.command = None;
                    TickStatus::failure(error.to_string())
                }
            });
        }
        let Some(lease) = context.leases().body() else {
            // The robot revoked the session's lease; the next tick brings a newer one.
            return Ok(TickStatus::Running);
        };
        Ok(
            match self
                .power
                .power_command(PowerRequest::OffMotors, &lease)
                .await
            {
                Ok(command) if command.done => TickStatus::Success,
                Ok(command) => {
                    tracing::info!(id = command.id, "powering the motors off");
                    session.command = Some(command.id);
                    TickStatus::Running
                }
                Err(PowerClientError::LeaseUse { error, result }) => {
                    tracing::warn!(%error, "the robot refused the lease");
                    context.report_lease_use_result(*result);
                    TickStatus::Running
                }
                Err(error) => TickStatus::failure(error.to_string()),
            },
        )
    }

    async fn stop(
        &self,
        session: &mut PowerOffSession,
        _context: &StopContext<'_>,
    ) -> Result<(), RpcError> {
        session.command = None;
        Ok(())
    }
}

/// Hosts the power-off callback on `port` (0: any free port), registered in `robot`'s directory
/// at `host_ip:<port>`, with the sessions' body sub-leases retained with the robot, until `stop`
/// resolves. `ready` is called with the bound address once the service is up.
pub async fn serve(
    robot: &Robot,
    host_ip: &str,
    port: u16,
    ready: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let service = MissionService::new(PowerOff::new(robot)?)
        .with_robot_leases(robot)
        .context("invalid lease service channel")?;
    let mut runner = ServiceRunner::builder()
        .port(port)
        .add_service(service)
        .build()
        .await?;
    runner
        .keep_registered_with_robot(robot, host_ip, KeepAliveConfig::default())
        .context("invalid robot channel")?;
    ready(runner.local_addr());
    runner.run_until(stop).await?;
    Ok(())
}
