//! Hosts the announce service until SIGINT, SIGTERM or SIGQUIT.
//!
//! ```text
//! # on its own:
//! announce-service local --port 50051
//! # as a payload of a robot (the official self-registration flow):
//! announce-service robot ROBOT --payload-credentials-file FILE --host-ip MY_IP --port 50051
//! ```

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use spot_service::cli::{PayloadCredentialsArgs, RobotConnectionArgs, ServiceHostingArgs};
use spot_service::payload::registration::AuthorizationWait;
use spot_service::robot::RefreshTimings;
use spot_service::shutdown::shutdown_signal;
use tokio_util::sync::CancellationToken;

/// Hosts the announce service.
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
    /// Register this payload and the service with a robot (or the emulator), then serve.
    Robot {
        #[command(flatten)]
        connection: RobotConnectionArgs,
        #[command(flatten)]
        payload: PayloadCredentialsArgs,
        #[command(flatten)]
        hosting: ServiceHostingArgs,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    // One token for "stop": a signal ends the wait for authorization as well as the server.
    let shutdown = CancellationToken::new();
    let signal = shutdown_signal()?;
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let signal = signal.await;
        tracing::info!(?signal, "announce service stopping");
        on_signal.cancel();
    });
    let stop = shutdown.clone().cancelled_owned();
    let ready = |addr: std::net::SocketAddr| {
        tracing::info!(port = addr.port(), "announce service ready");
    };
    match cli.mode {
        Mode::Local { hosting } => {
            announce::serve(None, &hosting.host_ip, hosting.port, ready, stop).await
        }
        Mode::Robot {
            connection,
            payload,
            hosting,
        } => {
            let robot = connection.robot()?;
            let credentials = payload.credentials_or_create()?;
            tracing::info!(guid = credentials.guid(), "registering the payload");
            robot
                .authenticate_payload(
                    &credentials,
                    announce::payload_description(),
                    &AuthorizationWait {
                        cancel: shutdown.clone(),
                        ..AuthorizationWait::default()
                    },
                )
                .await
                .context("payload authentication failed")?;
            let _refresher = robot.start_token_refresh(RefreshTimings::default()).await?;
            announce::serve(Some(&robot), &hosting.host_ip, hosting.port, ready, stop).await
        }
    }
}
