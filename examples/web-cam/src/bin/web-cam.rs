//! Hosts the web cam image service until SIGINT, SIGTERM or SIGQUIT.
//!
//! ```text
//! # on its own, the synthetic source:
//! web-cam --device-name test-pattern local --port 50071
//! # registered with a robot (or the emulator), logged in as a user:
//! BOSDYN_CLIENT_USERNAME=user BOSDYN_CLIENT_PASSWORD=pass \
//!     web-cam --device-name test-pattern external ROBOT --host-ip MY_IP --port 50071
//! # on a payload computer, a V4L2 camera (built with --features v4l):
//! web-cam --device-name /dev/video0 --codec MJPG payload ROBOT \
//!     --payload-credentials-file FILE --host-ip MY_IP --port 50071
//! ```

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use spot_service::cli::{
    PayloadCredentialsArgs, RobotConnectionArgs, ServiceHostingArgs, UserCredentialsArgs,
};
use spot_service::payload::registration::AuthorizationWait;
use spot_service::robot::RefreshTimings;
use spot_service::shutdown::shutdown_signal;
use tokio_util::sync::CancellationToken;
use web_cam::CameraOptions;

/// Hosts the web cam image service.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Image source to serve: `test-pattern` (synthetic), a camera index (`0` is
    /// `/dev/video0`) or a device path. Repeatable. Default: `0` with the `v4l` feature,
    /// `test-pattern` without.
    #[arg(long = "device-name", global = true)]
    device_name: Vec<String>,
    /// The four-character video codec to ask the cameras for: `MJPG` (served as the camera
    /// encodes it) or `YUYV`. Default: the camera's current one.
    #[arg(long, default_value = "", global = true)]
    codec: String,
    /// Resolution width (pixels).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, global = true)]
    res_width: i32,
    /// Resolution height (pixels).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true, global = true)]
    res_height: i32,
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
    /// Run on an external computer: log in to the robot (or the emulator) as a user, register
    /// the service in its directory, then serve.
    External {
        #[command(flatten)]
        connection: RobotConnectionArgs,
        #[command(flatten)]
        user: UserCredentialsArgs,
        #[command(flatten)]
        hosting: ServiceHostingArgs,
    },
    /// Run on a payload computer: authenticate with the payload's credentials (registering the
    /// payload and waiting for its authorization if needed), register the service, then serve.
    Payload {
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
    let devices = if cli.device_name.is_empty() {
        web_cam::default_devices()
    } else {
        cli.device_name.clone()
    };
    let options = CameraOptions {
        codec: cli.codec.clone(),
        res_width: cli.res_width,
        res_height: cli.res_height,
    };
    let service = web_cam::image_service(&devices, &options)?;

    // One token for "stop": a signal ends the wait for authorization as well as the server.
    let shutdown = CancellationToken::new();
    let signal = shutdown_signal()?;
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let signal = signal.await;
        tracing::info!(?signal, "web cam service stopping");
        on_signal.cancel();
    });
    let stop = shutdown.clone().cancelled_owned();
    let ready = |addr: std::net::SocketAddr| {
        tracing::info!(
            port = addr.port(),
            ?devices,
            "{} service running",
            web_cam::DIRECTORY_NAME
        );
    };
    match cli.mode {
        Mode::Local { hosting } => {
            web_cam::serve(None, service, &hosting.host_ip, hosting.port, ready, stop).await
        }
        Mode::External {
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
            let host_ip = &hosting.host_ip;
            web_cam::serve(Some(&robot), service, host_ip, hosting.port, ready, stop).await
        }
        Mode::Payload {
            connection,
            payload,
            hosting,
        } => {
            let robot = connection.robot()?;
            let credentials = payload.credentials()?;
            tracing::info!(guid = credentials.guid(), "authenticating as the payload");
            robot
                .authenticate_payload(
                    &credentials,
                    web_cam::payload_description(),
                    &AuthorizationWait {
                        cancel: shutdown.clone(),
                        ..AuthorizationWait::default()
                    },
                )
                .await
                .context("payload authentication failed")?;
            let _refresher = robot.start_token_refresh(RefreshTimings::default()).await?;
            let host_ip = &hosting.host_ip;
            web_cam::serve(Some(&robot), service, host_ip, hosting.port, ready, stop).await
        }
    }
}
