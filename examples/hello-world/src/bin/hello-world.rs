//! Hosts the hello-world mission callback until SIGINT, SIGTERM or SIGQUIT.
//!
//! ```text
//! # on its own (drive it with `remote-mission-client local --port 50051`):
//! hello-world local --port 50051
//! # registered with a robot (or the emulator) as "hello-world-callback":
//! BOSDYN_CLIENT_USERNAME=user BOSDYN_CLIENT_PASSWORD=pass \
//!     hello-world robot ROBOT --host-ip MY_IP --port 50051
//! ```

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use spot_service::cli::{RobotConnectionArgs, ServiceHostingArgs, UserCredentialsArgs};
use spot_service::robot::RefreshTimings;
use spot_service::shutdown::shutdown_signal;

/// Hosts the hello-world mission callback.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Serve without a robot.
    Local {
        #[command(flatten)]
        hosting: ServiceHostingArgs,
    },
    /// Log in to a robot (or the emulator), register the service in its directory, then serve.
    Robot {
        #[command(flatten)]
        connection: RobotConnectionArgs,
        #[command(flatten)]
        user: UserCredentialsArgs,
        #[command(flatten)]
        hosting: ServiceHostingArgs,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    let signal = shutdown_signal()?;
    let stop = async move {
        let signal = signal.await;
        tracing::info!(?signal, "hello-world callback stopping");
    };
    let ready = |addr: std::net::SocketAddr| {
        tracing::info!(
            port = addr.port(),
            "{} service running",
            hello_world::DIRECTORY_NAME
        );
    };
    match cli.mode {
        Mode::Local { hosting } => {
            hello_world::serve(None, &hosting.host_ip, hosting.port, ready, stop).await
        }
        Mode::Robot {
            connection,
            user,
            hosting,
        } => {
            let robot = connection.robot()?;
            let (username, password) = user.credentials()?;
            robot
                .authenticate(&username, &password)
                .await
                .context("login failed")?;
            let _refresher = robot.start_token_refresh(RefreshTimings::default()).await?;
            hello_world::serve(Some(&robot), &hosting.host_ip, hosting.port, ready, stop).await
        }
    }
}
