//! Measures what spot-service's header handling costs over bare tonic.
//!
//! Three server processes host the same trivial unary RPC (`EchoService/Echo`):
//! - bare tonic, answering with no header at all (the issue's baseline);
//! - plain tonic filling the Spot response header by hand (what the protocol itself costs: the
//!   response carries the request header, two timestamps and the packed request);
//! - `#[spot_service]` (header stamping, request packing, DEBUG span, panic guard, logging).
//!
//! A load generator drives each in turn, in alternating rounds, and the benchmark reports
//! requests/s and server CPU time per request (from `/proc/<pid>/stat`), median over the rounds.
//! With `taskset` available and 2+ cores, each server is pinned to core 0 and h2load to core 1,
//! so load generator and server do not compete for a core.
//!
//! Load: `h2load` (Debian package `nghttp2-client`; lowest client overhead) or, with
//! `--load tonic`, a tonic client loop in this process.
//!
//! ```text
//! cargo run --release -p tests-integration --bin overhead-bench -- --requests 200000
//! ```

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use spot_service::ServiceRunner;
use spot_service::proto::bosdyn::api::RequestHeader;
use tests_integration::bench::{self, Amount, H2load, KillOnDrop, cpu_time, median, pinned};
use tests_integration::proto::EchoRequest;
use tests_integration::proto::echo_service_server::EchoServiceServer;
use tests_integration::{BareEcho, HandStampedEcho, SpotEcho, echo_client};

#[derive(Debug, Parser)]
#[command(about = "spot-service header handling overhead vs bare tonic")]
struct Cli {
    #[command(subcommand)]
    serve: Option<ServerMode>,
    /// Requests per measured run.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Client connections.
    #[arg(long, default_value_t = 4)]
    connections: u32,
    /// Concurrent streams per connection.
    #[arg(long, default_value_t = 16)]
    streams: u32,
    /// Measured rounds per server (alternating); the median is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Load generator.
    #[arg(long, value_enum, default_value_t = Load::H2load)]
    load: Load,
    /// `RUST_LOG` of the server processes (a real deployment logs at `info`).
    #[arg(long, default_value = "info")]
    server_log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Load {
    /// nghttp2's h2load.
    H2load,
    /// A tonic client loop in this process.
    Tonic,
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum ServerMode {
    /// Internal: host the spot-service echo and print its port.
    #[command(name = "serve-spot")]
    Spot,
    /// Internal: host the bare tonic echo and print its port.
    #[command(name = "serve-bare")]
    Bare,
    /// Internal: host the hand-stamped tonic echo and print its port.
    #[command(name = "serve-hand")]
    Hand,
}

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Run {
    requests_per_sec: f64,
    cpu_us_per_request: f64,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(serve) = cli.serve {
        return serve_forever(serve);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(bench(&cli))
}

/// Server mode: the runtime and logging setup a real service has (INFO logs, so RPC spans are
/// really created), port printed on stdout.
fn serve_forever(serve: ServerMode) -> Result<()> {
    spot_service::telemetry::init_tracing();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let builder = ServiceRunner::builder().host("127.0.0.1");
        let builder = match serve {
            ServerMode::Spot => builder.add_service(SpotEcho),
            ServerMode::Bare => builder.add_tonic_service(EchoServiceServer::new(BareEcho)),
            ServerMode::Hand => builder.add_tonic_service(EchoServiceServer::new(HandStampedEcho)),
        };
        let runner = builder.build().await?;
        println!("PORT {}", runner.local_addr().port());
        std::io::stdout().flush()?;
        runner.run().await?;
        anyhow::Ok(())
    })
}

/// A server child process.
struct Server {
    name: &'static str,
    process: KillOnDrop,
    port: u16,
}

fn start_server(name: &'static str, mode: &str, log: &str) -> Result<Server> {
    let mut child = pinned(0, std::env::current_exe()?)
        .arg(mode)
        .env("RUST_LOG", log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .context("server did not print its port")?
        .parse()?;
    Ok(Server {
        name,
        process: KillOnDrop(child),
        port,
    })
}

fn echo_request() -> EchoRequest {
    EchoRequest {
        header: Some(RequestHeader {
            request_timestamp: Some(SystemTime::now().into()),
            client_name: "overhead-bench:load-1".into(),
            disable_rpc_logging: false,
        }),
        text: "ping".into(),
        ..Default::default()
    }
}

/// A gRPC-framed request body for h2load.
fn write_body(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("echo-request.bin");
    bench::write_grpc_body(&path, &echo_request())?;
    Ok(path)
}

fn h2load(cli: &Cli, port: u16, body: &Path) -> Result<u64> {
    let run = H2load {
        url: format!("http://127.0.0.1:{port}/spot_service.testing.EchoService/Echo"),
        body: body.to_owned(),
        connections: cli.connections,
        streams: cli.streams,
        amount: Amount::Requests(cli.requests),
        core: 1,
        latency_log: None,
    }
    .run(None)
    .context("h2load (or use --load tonic)")?;
    if run.succeeded != cli.requests {
        bail!(
            "h2load: only {} of {} requests succeeded:\n{}",
            run.succeeded,
            cli.requests,
            run.output
        );
    }
    Ok(run.succeeded)
}

async fn tonic_load(cli: &Cli, port: u16) -> Result<u64> {
    let tasks = u64::from(cli.connections * cli.streams);
    let per_task = cli.requests / tasks;
    let mut clients = Vec::new();
    for _ in 0..cli.connections {
        clients.push(echo_client(format!("http://127.0.0.1:{port}")).await);
    }
    let mut handles = Vec::new();
    for i in 0..tasks {
        let mut client = clients[(i % u64::from(cli.connections)) as usize].clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..per_task {
                client.echo(echo_request()).await?;
            }
            anyhow::Ok(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    Ok(per_task * tasks)
}

async fn measure(cli: &Cli, server: &Server, body: &Path) -> Result<Run> {
    let pid = server.process.id();
    let before = cpu_time(pid)?;
    let start = Instant::now();
    let requests = match cli.load {
        Load::H2load => h2load(cli, server.port, body)?,
        Load::Tonic => tonic_load(cli, server.port).await?,
    };
    let elapsed = start.elapsed();
    let cpu = cpu_time(pid)? - before;
    Ok(Run {
        requests_per_sec: requests as f64 / elapsed.as_secs_f64(),
        cpu_us_per_request: cpu.as_secs_f64() * 1e6 / requests as f64,
    })
}

async fn bench(cli: &Cli) -> Result<()> {
    let bare = start_server("bare tonic", "serve-bare", &cli.server_log)?;
    let hand = start_server("hand-stamped", "serve-hand", &cli.server_log)?;
    let spot = start_server("spot-service", "serve-spot", &cli.server_log)?;
    let servers = [&bare, &hand, &spot];
    // Correctness first: all answer, and the stamping ones answer CODE_OK.
    for server in servers {
        let mut client = echo_client(format!("http://127.0.0.1:{}", server.port)).await;
        let response = client.echo(echo_request()).await?.into_inner();
        if response.text != "ping" {
            bail!("{} answered {:?}", server.name, response.text);
        }
    }
    for server in [&hand, &spot] {
        let mut client = echo_client(format!("http://127.0.0.1:{}", server.port)).await;
        spot_service::client::check_response(client.echo(echo_request()).await?.into_inner())?;
    }

    let dir = std::env::temp_dir().join(format!("overhead-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let body = write_body(&dir)?;

    // Warm-up, then alternating measured rounds.
    for server in servers {
        measure(cli, server, &body).await?;
    }
    let mut runs: [Vec<Run>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..cli.rounds {
        for (i, server) in servers.into_iter().enumerate() {
            let run = measure(cli, server, &body).await?;
            eprintln!(
                "round {round}: {:<12} {:>9.0} req/s {:>7.2} us CPU/request",
                server.name, run.requests_per_sec, run.cpu_us_per_request
            );
            runs[i].push(run);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let summary: Vec<(f64, f64)> = runs
        .iter()
        .map(|r| {
            (
                median(r.iter().map(|x| x.requests_per_sec)),
                median(r.iter().map(|x| x.cpu_us_per_request)),
            )
        })
        .collect();
    println!(
        "load: {:?}, {} requests/run, {} connections x {} streams, median of {} rounds",
        cli.load, cli.requests, cli.connections, cli.streams, cli.rounds
    );
    println!("| server | requests/s | server CPU per request |");
    println!("|---|---|---|");
    for (server, (rate, cpu)) in servers.iter().zip(&summary) {
        println!("| {} | {rate:.0} | {cpu:.2} us |", server.name);
    }
    let cost = |base: usize, other: usize| {
        (
            (summary[base].0 / summary[other].0 - 1.0) * 100.0,
            (summary[other].1 / summary[base].1 - 1.0) * 100.0,
        )
    };
    let (throughput, cpu) = cost(0, 2);
    println!(
        "spot-service vs bare tonic: {throughput:+.1} % throughput cost, {cpu:+.1} % CPU per request"
    );
    let (throughput, cpu) = cost(1, 2);
    println!(
        "spot-service vs hand-stamped headers: {throughput:+.1} % throughput cost, {cpu:+.1} % CPU per request"
    );
    Ok(())
}
