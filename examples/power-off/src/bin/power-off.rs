//! Hosts the power-off mission callback, registered with a robot (or the emulator), until
//! SIGINT, SIGTERM or SIGQUIT.
//!
//! ```text
//! BOSDYN_CLIENT_USERNAME=user BOSDYN_CLIENT_PASSWORD=pass \
//!     power-off ROBOT --host-ip MY_IP --port 50052
//! ```

use anyhow::Context as _;
use clap::Parser;
use spot_service::cli::{RobotConnectionArgs, ServiceHostingArgs, UserCredentialsArgs};
use spot_service::robot::RefreshTimings;
use spot_service::shutdown::shutdown_signal;

/// Hosts the power-off mission callback.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    connection: RobotConnectionArgs,
    #[command(flatten)]
    user: UserCredentialsArgs,
    #[command(flatten)]
    hosting: ServiceHostingArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    let signal = shutdown_signal()?;
    let robot = cli.connection.robot()?;
    let (username, password) = cli.user.credentials()?;
    robot
        .authenticate(&username, &password)
        .await
        .context("login failed")?;
    let _refresher = robot.start_token_refresh(RefreshTimings::default()).await?;
    let stop = async move {
        let signal = signal.await;
        tracing::info!(?signal, "power-off callback stopping");
    };
    let ready = |addr: std::net::SocketAddr| {
        tracing::info!(
            port = addr.port(),
            "{} service running",
            power_off::DIRECTORY_NAME
        );
    };
    power_off::serve(&robot, &cli.hosting.host_ip, cli.hosting.port, ready, stop).await
}
