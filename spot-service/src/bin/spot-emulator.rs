//! `spot-emulator`: a Spot robot on this machine, for developing and testing payload services
//! without a robot. It serves auth, robot-id, directory, directory-registration and payload
//! registration over TLS on the robot port, and proxies calls to registered services.
//!
//! ```text
//! spot-emulator --port 8443 --user admin:password --auto-authorize
//! ```
//!
//! Clients trust the CA it writes (`<data-dir>/emulator-ca.pem`) instead of the Boston Dynamics
//! root. Restarting it is a reboot: the directory is empty again, payloads and unexpired tokens
//! are remembered (in `<data-dir>/state.txt`).
//!
//! The operator authorizes payloads from another shell, while the emulator runs (it picks the
//! change up from the state file), as an administrator would in a robot's admin web page:
//!
//! ```text
//! spot-emulator payloads                 # registered payloads and their status
//! spot-emulator authorize GUID           # let the payload get tokens
//! spot-emulator revoke GUID              # withdraw that; its tokens stop being valid
//! ```
//!
//! (each takes `--data-dir` like the emulator).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use spot_service::emulator::Emulator;
use spot_service::emulator::front::CA_CERT_FILE;
use spot_service::emulator::state::{
    DEFAULT_NICKNAME, DEFAULT_SERIAL_NUMBER, EmulatorConfig, EmulatorState, PayloadError,
};
use spot_service::shutdown::shutdown_signal;

/// Runs an emulated Spot robot, or (with a subcommand) manages its payloads.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    /// What to do instead of running the robot.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

/// Operator commands on the state file of an emulator (running or not).
#[derive(Debug, Subcommand)]
enum Command {
    /// Authorize a registered payload (it may then get tokens), as in the admin web page.
    Authorize {
        /// The payload's GUID.
        guid: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Withdraw a payload's authorization (its tokens stop being valid).
    Revoke {
        /// The payload's GUID.
        guid: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// List the registered payloads and their status.
    Payloads {
        #[command(flatten)]
        data: DataDir,
    },
}

/// Where the emulator keeps its state.
#[derive(Debug, clap::Args)]
struct DataDir {
    /// The emulator's data directory (its `--data-dir`).
    #[arg(long, default_value = "spot-emulator-data")]
    data_dir: PathBuf,
}

/// Running the robot.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Address to listen on (a real robot listens on all interfaces: 0.0.0.0).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Robot port (a real robot: 443, which needs privileges).
    #[arg(long, default_value_t = 443)]
    port: u16,
    /// Where the CA and the payload state are kept (created if missing).
    #[arg(long, default_value = "spot-emulator-data")]
    data_dir: PathBuf,
    /// A user who may log in, as NAME:PASSWORD (repeatable).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// A file of users, one NAME:PASSWORD per line (`#` starts a comment).
    #[arg(long)]
    users_file: Option<PathBuf>,
    /// Authorize payloads as soon as they register (no operator needed).
    #[arg(long)]
    auto_authorize: bool,
    /// The robot's serial number.
    #[arg(long, default_value = DEFAULT_SERIAL_NUMBER)]
    serial_number: String,
    /// The robot's nickname.
    #[arg(long, default_value = DEFAULT_NICKNAME)]
    nickname: String,
}

/// Splits `NAME:PASSWORD`.
fn parse_user(text: &str, origin: &str) -> anyhow::Result<(String, String)> {
    match text.split_once(':') {
        Some((name, password)) if !name.trim().is_empty() && !password.is_empty() => {
            Ok((name.trim().to_owned(), password.to_owned()))
        }
        _ => bail!("{origin}: expected NAME:PASSWORD"),
    }
}

/// The state file in `data_dir`.
fn state_file(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("state.txt")
}

fn config(cli: &RunArgs) -> anyhow::Result<EmulatorConfig> {
    let mut config = EmulatorConfig::default()
        .with_state_file(state_file(&cli.data_dir))
        .with_auto_authorize(cli.auto_authorize)
        .with_identity(cli.serial_number.clone(), cli.nickname.clone());
    for user in &cli.users {
        let (name, password) = parse_user(user, "--user")?;
        config = config.with_user(name, password);
    }
    if let Some(path) = &cli.users_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the users file {}", path.display()))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let origin = format!("{} line {}", path.display(), number + 1);
            let (name, password) = parse_user(line, &origin)?;
            config = config.with_user(name, password);
        }
    }
    if config.users.is_empty() {
        tracing::warn!("no users: user logins will fail (add --user NAME:PASSWORD)");
    }
    Ok(config)
}

/// Runs an operator command on the state file (the running emulator picks the change up).
fn operate(command: Command) -> anyhow::Result<()> {
    let (Command::Authorize { data, .. }
    | Command::Revoke { data, .. }
    | Command::Payloads { data }) = &command;
    let path = state_file(&data.data_dir);
    if !path.exists() {
        bail!(
            "no emulator state file at {} (no payload registered yet, or another --data-dir?)",
            path.display()
        );
    }
    let state = EmulatorState::new(EmulatorConfig::default().with_state_file(&path))?;
    let (guid, authorize) = match &command {
        Command::Authorize { guid, .. } => (guid, true),
        Command::Revoke { guid, .. } => (guid, false),
        Command::Payloads { .. } => {
            let payloads = state.payloads();
            if payloads.is_empty() {
                println!("no payload registered");
            }
            for info in payloads {
                println!(
                    "{}\t{}\t{}\t{}",
                    info.payload.guid,
                    if info.authorized {
                        "authorized"
                    } else {
                        "waiting-for-authorization"
                    },
                    if info.attached {
                        "attached"
                    } else {
                        "detached"
                    },
                    info.payload.name,
                );
            }
            return Ok(());
        }
    };
    let result = if authorize {
        state.authorize_payload(guid)
    } else {
        state.revoke_payload(guid)
    };
    match result {
        Ok(()) => {
            println!(
                "payload {guid} {}",
                if authorize { "authorized" } else { "revoked" }
            );
            Ok(())
        }
        Err(PayloadError::DoesNotExist(_)) => {
            bail!("no payload {guid} is registered (see `spot-emulator payloads`)")
        }
        Err(error) => Err(error.into()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let Cli { command, run: cli } = Cli::parse();
    if let Some(command) = command {
        return operate(command);
    }
    std::fs::create_dir_all(&cli.data_dir)
        .with_context(|| format!("cannot create {}", cli.data_dir.display()))?;
    let signal = shutdown_signal()?;
    let robot = Emulator::builder()
        .listen(SocketAddr::new(cli.host, cli.port))
        .config(config(&cli)?)
        .ca_dir(&cli.data_dir)
        .start()
        .await?;
    let ca = cli.data_dir.join(CA_CERT_FILE);
    tracing::info!(
        address = %robot.local_addr(),
        ca = %ca.display(),
        "spot-emulator running: point clients at this address and trust this CA"
    );
    println!("ROBOT {} CA {}", robot.local_addr(), ca.display());
    let signal = signal.await;
    tracing::info!(?signal, "stopping");
    robot.stop().await;
    Ok(())
}
