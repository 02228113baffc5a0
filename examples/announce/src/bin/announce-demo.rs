//! The one-command demo of the whole payload flow, on one machine:
//!
//! 1. starts the robot emulator (TLS, its own CA) on a free loopback port;
//! 2. the announce service registers its payload, waits for authorization (the demo plays the
//!    operator and authorizes it), gets its payload token, starts, and registers itself in the
//!    robot's directory;
//! 3. the client calls it through the robot's proxy and prints the answer;
//! 4. the service unregisters and stops, the emulator stops, and the demo exits 0.

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use spot_service::SpotService as _;
use spot_service::emulator::Emulator;
use spot_service::emulator::state::EmulatorConfig;
use spot_service::payload::credentials::PayloadCredentials;
use spot_service::payload::registration::AuthorizationWait;
use spot_service::robot::Robot;
use tokio_util::sync::CancellationToken;

/// Runs the emulator, the announce service and its client in one process.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Message to announce.
    #[arg(long, default_value = "hello from spot-service")]
    message: String,
}

/// Removes the demo's scratch directory when the demo ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    let scratch =
        Scratch(std::env::temp_dir().join(format!("announce-demo-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)?;

    // 1. The robot.
    let emulator = Emulator::builder()
        .config(EmulatorConfig::default().with_state_file(scratch.0.join("robot-state.txt")))
        .ca_dir(&scratch.0)
        .start()
        .await?;

    // 2. The payload: credentials file, registration, authorization, token; then the service.
    let credentials =
        PayloadCredentials::read_or_create(scratch.0.join("payload_guid_and_secret"))?;
    let service_robot = Robot::new(emulator.robot_config()?)?;
    let operator = {
        let state = emulator.state().clone();
        let guid = credentials.guid().to_owned();
        tokio::spawn(async move {
            // The operator notices the new payload in the admin page and authorizes it.
            loop {
                if state.payload(&guid).is_some() {
                    tracing::info!(%guid, "operator: authorizing the payload");
                    return state.authorize_payload(&guid);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let wait = AuthorizationWait {
        poll_interval: Duration::from_millis(100),
        time_limit: Some(Duration::from_secs(30)),
        ..AuthorizationWait::default()
    };
    service_robot
        .authenticate_payload(&credentials, announce::payload_description(), &wait)
        .await
        .context("payload authentication")?;
    operator.await??;

    let stop = CancellationToken::new();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let service = {
        let stop = stop.clone();
        let robot = service_robot.clone();
        tokio::spawn(async move {
            announce::serve(
                Some(&robot),
                "127.0.0.1",
                0,
                |addr| {
                    let _ = ready_tx.send(addr);
                },
                stop.cancelled_owned(),
            )
            .await
        })
    };
    ready_rx.await.context("the service did not start")?;
    // Wait until the directory lists it.
    let name = announce::Announcer::METADATA.name;
    tokio::time::timeout(Duration::from_secs(30), async {
        while emulator.state().service_entry(name).is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("the service did not appear in the robot's directory")?;

    // 3. The client, through the robot (its own connection, authenticated as the payload).
    let client_robot = Robot::new(emulator.robot_config()?)?;
    client_robot
        .authenticate_payload(&credentials, announce::payload_description(), &wait)
        .await?;
    let result = announce::announce_through_robot(&client_robot, &cli.message).await;

    // 4. Shutdown: unregister, stop the service, stop the robot.
    stop.cancel();
    service.await??;
    let unregistered = emulator.state().service_entry(name).is_none();
    emulator.stop().await;

    let announcement = result?;
    anyhow::ensure!(
        unregistered,
        "the service was still registered after shutdown"
    );
    println!("AnnounceClient received: {announcement}");
    Ok(())
}
