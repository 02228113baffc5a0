//! Reusable `clap` argument groups with the official SDK's flag names; `#[command(flatten)]`
//! them into your own CLI.

use clap::Args;

/// Where a service listens and which address the robot should use to reach it
/// (`--host-ip`, `--port`, as in the official examples).
#[derive(Debug, Clone, Args)]
pub struct ServiceHostingArgs {
    /// Address of this computer that the robot (or a client) uses to reach the service.
    #[arg(
        long = "host-ip",
        env = "SPOT_SERVICE_HOST_IP",
        default_value = "127.0.0.1"
    )]
    pub host_ip: String,
    /// Port the service listens on; 0 picks a free port.
    #[arg(long, env = "SPOT_SERVICE_PORT", default_value_t = 0)]
    pub port: u16,
}
