//! Hosts the announce service until SIGINT, SIGTERM or SIGQUIT.
//!
//! `announce-service --port 50051`

use clap::Parser;
use spot_service::ServiceRunner;
use spot_service::cli::ServiceHostingArgs;

/// Hosts the announce service.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    hosting: ServiceHostingArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    spot_service::telemetry::init_tracing();
    let cli = Cli::parse();
    let runner = ServiceRunner::builder()
        .port(cli.hosting.port)
        .add_service(announce::Announcer)
        .reflection_descriptor_set(announce::FILE_DESCRIPTOR_SET)
        .on_shutdown(|| async { tracing::info!("announce service stopping") })
        .build()
        .await?;
    tracing::info!(
        port = runner.local_addr().port(),
        host_ip = %cli.hosting.host_ip,
        "announce service ready"
    );
    runner.run().await?;
    Ok(())
}
