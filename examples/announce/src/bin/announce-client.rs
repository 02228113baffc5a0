//! Sends one announcement and prints the answer.
//!
//! `announce-client local --host-ip 127.0.0.1 --port 50051 --message "hello"`

use std::net::{IpAddr, SocketAddr};

use clap::{Parser, Subcommand};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    let Mode::Local { host_ip, port } = cli.mode;
    let announcement = announce::announce(SocketAddr::new(host_ip, port), &cli.message).await?;
    println!("AnnounceClient received: {announcement}");
    Ok(())
}
