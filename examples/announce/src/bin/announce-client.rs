//! Sends one announcement and prints the answer.
//!
//! ```text
//! announce-client local --port 50051 --message "hello"
//! announce-client robot ROBOT --payload-credentials-file FILE --message "hello"
//! ```

use std::net::{IpAddr, SocketAddr};

use clap::{Parser, Subcommand};
use spot_service::cli::{PayloadCredentialsArgs, RobotConnectionArgs};
use spot_service::payload::registration::AuthorizationWait;

/// Makes one announcement through the announce service.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
    /// Message to send to the service.
    #[arg(long, global = true, default_value = "hello from spot-service")]
    message: String,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Call a service directly (no robot in between).
    Local {
        /// Address of the computer hosting the service.
        #[arg(long = "host-ip", default_value = "127.0.0.1")]
        host_ip: IpAddr,
        /// Port of the service.
        #[arg(long)]
        port: u16,
    },
    /// Call the service through a robot, authenticated with payload credentials (as the
    /// official announce client does).
    Robot {
        #[command(flatten)]
        connection: RobotConnectionArgs,
        #[command(flatten)]
        payload: PayloadCredentialsArgs,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    let announcement = match cli.mode {
        Mode::Local { host_ip, port } => {
            announce::announce(SocketAddr::new(host_ip, port), &cli.message).await?
        }
        Mode::Robot {
            connection,
            payload,
        } => {
            let robot = connection.robot()?;
            let credentials = payload.credentials()?;
            let wait = AuthorizationWait {
                time_limit: Some(announce::CLIENT_AUTHORIZATION_LIMIT),
                ..AuthorizationWait::default()
            };
            robot
                .authenticate_payload(&credentials, announce::payload_description(), &wait)
                .await?;
            announce::announce_through_robot(&robot, &cli.message).await?
        }
    };
    println!("AnnounceClient received: {announcement}");
    Ok(())
}
