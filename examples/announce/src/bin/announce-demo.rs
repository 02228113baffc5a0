//! The one-command demo: hosts the announce service on a free loopback port, calls it with the
//! client, prints the answer, shuts the service down gracefully and exits 0.

use clap::Parser;
use spot_service::ServiceRunner;

/// Runs the announce service and its client in one process.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Message to announce.
    #[arg(long, default_value = "hello from spot-service")]
    message: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(announce::Announcer)
        .build()
        .await?;
    let addr = runner.local_addr();
    let shutdown = runner.shutdown_handle();
    let server = tokio::spawn(runner.run());

    let result = announce::announce(addr, &cli.message).await;
    shutdown.shutdown();
    server.await??;

    let announcement = result?;
    println!("AnnounceClient received: {announcement}");
    Ok(())
}
