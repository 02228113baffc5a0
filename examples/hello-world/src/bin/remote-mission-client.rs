//! Drives any mission callback as a mission would (the spot-service port of the official
//! `remote_mission_client.py`): establish a session, tick at 10 Hz while it answers RUNNING,
//! then stop and tear the session down.
//!
//! ```text
//! # a callback served on its own:
//! remote-mission-client local --port 50051 --user-string Spot
//! # a callback registered with a robot (or the emulator), by directory name:
//! BOSDYN_CLIENT_USERNAME=user BOSDYN_CLIENT_PASSWORD=pass \
//!     remote-mission-client robot ROBOT --service hello-world-callback
//! # one that needs the body lease: the client takes it, keeps it, and powers the robot on
//! remote-mission-client robot ROBOT --service power-off-callback --lease body
//! ```

use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use spot_service::cli::{RobotConnectionArgs, UserCredentialsArgs};
use spot_service::lease::keepalive::{
    LEASE_AUTHORITY, LeaseClient, LeaseKeepAlive, LeaseKeepAliveConfig,
};
use spot_service::lease::{BODY_RESOURCE, Lease, LeaseWallet};
use spot_service::power::{POWER_AUTHORITY, PowerClient};
use spot_service::proto::bosdyn::api::mission::tick_response;
use spot_service::proto::bosdyn::api::power_command_request::Request as PowerRequest;
use spot_service::proto::bosdyn::api::{
    BoolParam, CustomParam, DictParam, DoubleParam, Int64Param, StringParam, custom_param,
    dict_param,
};
use spot_service::remote_mission::{DEFAULT_TICK_INTERVAL, RemoteMissionClient};

/// Drives a mission callback: establish, tick while RUNNING, stop, teardown.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Sets the `who` parameter (the official client's flag).
    #[arg(long, global = true)]
    user_string: Option<String>,
    /// Sets a top-level parameter, typed by the service's spec: `--param who=Spot`,
    /// `--param count=3`. Repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE", global = true)]
    params: Vec<String>,
    /// Time between ticks while the callback answers RUNNING, in milliseconds.
    #[arg(long, default_value_t = DEFAULT_TICK_INTERVAL.as_millis() as u64, global = true)]
    tick_interval_ms: u64,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Call a callback served directly (no robot, no leases).
    Local {
        /// The callback's address.
        #[arg(long = "host-ip", default_value = "127.0.0.1")]
        host_ip: String,
        /// The callback's port.
        #[arg(long)]
        port: u16,
    },
    /// Call a callback through a robot (or the emulator), by directory name.
    Robot {
        #[command(flatten)]
        connection: RobotConnectionArgs,
        #[command(flatten)]
        user: UserCredentialsArgs,
        /// The callback's directory name.
        #[arg(long, default_value = hello_world::DIRECTORY_NAME)]
        service: String,
        /// A lease resource to take, keep and hand to the callback (`body` also powers the
        /// robot on first). Repeatable.
        #[arg(long = "lease", value_name = "RESOURCE")]
        leases: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    let interval = Duration::from_millis(cli.tick_interval_ms);
    let response = match &cli.mode {
        Mode::Local { host_ip, port } => {
            let channel =
                tonic::transport::Endpoint::from_shared(format!("http://{host_ip}:{port}"))?
                    .connect()
                    .await
                    .with_context(|| format!("cannot reach {host_ip}:{port}"))?;
            let mut client = RemoteMissionClient::new(channel);
            let params = params(&cli, &client.get_info().await?)?;
            client.run(&[], params, interval).await?
        }
        Mode::Robot {
            connection,
            user,
            service,
            leases,
        } => {
            let robot = connection.robot()?;
            let (username, password) = user.credentials()?;
            robot
                .authenticate(&username, &password)
                .await
                .context("login failed")?;
            let mut client = RemoteMissionClient::new(robot.service_channel(service).await?);
            let params = params(&cli, &client.get_info().await?)?;
            let wallet = LeaseWallet::with_client_name(robot.client_name());
            let mut lease_client = LeaseClient::new(robot.intercepted(LEASE_AUTHORITY).await?)
                .with_wallet(wallet.clone());
            let mut keepalives = Vec::new();
            let mut held: Vec<Lease> = Vec::new();
            for resource in leases {
                lease_client.take(resource).await?;
                keepalives.push(LeaseKeepAlive::spawn(
                    lease_client.clone(),
                    wallet.clone(),
                    resource.as_str(),
                    LeaseKeepAliveConfig::default().with_return_on_shutdown(true),
                ));
                held.push(wallet.get_lease(resource)?);
            }
            if leases.iter().any(|r| r == BODY_RESOURCE) {
                let power = PowerClient::new(robot.intercepted(POWER_AUTHORITY).await?);
                power
                    .power_command_and_wait(
                        PowerRequest::OnMotors,
                        &wallet.get_lease(BODY_RESOURCE)?,
                        Duration::from_millis(100),
                    )
                    .await
                    .context("could not power the robot on")?;
                println!("Robot powered on.");
            }
            let response = client.run(&held, params, interval).await;
            for keepalive in keepalives {
                if let Err(error) = keepalive.shutdown().await {
                    tracing::warn!(%error, "could not return a lease");
                }
            }
            response?
        }
    };
    let status = tick_response::Status::try_from(response.status)
        .map_or("unknown status", |s| s.as_str_name());
    println!("Servicer stopped with status {status}");
    if !response.error_message.is_empty() {
        println!("\tError message: {}", response.error_message);
    }
    Ok(())
}

/// The tick parameters from `--user-string` and `--param`, typed by the service's spec.
fn params(cli: &Cli, spec: &dict_param::Spec) -> anyhow::Result<Option<DictParam>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(who) = &cli.user_string {
        pairs.push(("who".into(), who.clone()));
    }
    for param in &cli.params {
        let Some((key, value)) = param.split_once('=') else {
            bail!("--param {param:?}: expected KEY=VALUE");
        };
        pairs.push((key.into(), value.into()));
    }
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut dict = DictParam::default();
    for (key, value) in pairs {
        let Some(child) = spec.specs.get(&key).and_then(|c| c.spec.as_ref()) else {
            bail!("the service has no parameter {key:?}");
        };
        use custom_param::Value;
        use custom_param::spec::Spec;
        let typed = match &child.spec {
            Some(Spec::StringSpec(_)) => Value::StringValue(StringParam { value }),
            Some(Spec::IntSpec(_)) => Value::IntValue(Int64Param {
                value: value
                    .parse()
                    .with_context(|| format!("{key}: not an integer"))?,
            }),
            Some(Spec::DoubleSpec(_)) => Value::DoubleValue(DoubleParam {
                value: value
                    .parse()
                    .with_context(|| format!("{key}: not a number"))?,
            }),
            Some(Spec::BoolSpec(_)) => Value::BoolValue(BoolParam {
                value: value
                    .parse()
                    .with_context(|| format!("{key}: not true/false"))?,
            }),
            _ => {
                bail!("{key}: only string, integer, number and boolean parameters can be set here")
            }
        };
        dict.values.insert(key, CustomParam { value: Some(typed) });
    }
    Ok(Some(dict))
}
