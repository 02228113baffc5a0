//! `spot-emulator`: a Spot robot on this machine, for developing and testing payload services
//! without a robot. It serves auth, robot-id, directory, directory-registration and payload
//! registration over TLS on the robot port, and proxies calls to registered services.
//!
//! ```text
//! spot-emulator --port 8443 --user admin:password --auto-authorize
//! ```
//!
//! Clients trust the CA it writes (`<data-dir>/emulator-ca.pem`) instead of the Boston Dynamics
//! root. Restarting it is a reboot: the directory is empty again, payloads are remembered (in
//! `<data-dir>/state.txt`).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Parser;
use spot_service::emulator::Emulator;
use spot_service::emulator::front::CA_CERT_FILE;
use spot_service::emulator::state::{DEFAULT_NICKNAME, DEFAULT_SERIAL_NUMBER, EmulatorConfig};
use spot_service::shutdown::shutdown_signal;

/// Runs an emulated Spot robot.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
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

fn config(cli: &Cli) -> anyhow::Result<EmulatorConfig> {
    let mut config = EmulatorConfig::default()
        .with_state_file(cli.data_dir.join("state.txt"))
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
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
