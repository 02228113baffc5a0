//! The RemoteMission (Autowalk callback) benchmark: spot-service's `hello-world` example against
//! the same service built the official way with the Python SDK
//! (`tests-integration/python/hello_world_mission_service.py`), side by side in one run, with the
//! transport floor next to them: a bare tonic `RemoteMissionService` with fixed answers (no header
//! handling, sessions, params or logging), served by this binary (`mission-bench serve-floor`), so
//! that the CPU spot-service and hello-world add per Tick shows above what tonic itself costs.
//!
//! All three run as child processes on loopback, pinned to core 0; h2load (and this process) run
//! on core 1. For each service it measures:
//! - start-up time: from spawn to the first answer of a real call (GetRemoteMissionServiceInfo),
//!   polled every 2 ms with a short connect timeout; median of `--startup-runs` fresh starts;
//! - idle RSS (`VmRSS`) after start-up plus `--settle`, and peak RSS (`VmHWM`) after the load;
//! - Tick under h2load at each `--concurrency` (requests in flight: `--connections` HTTP/2
//!   connections x concurrency/connections streams each), in timing-based rounds (`--warm-up`
//!   then `--duration`), the services' order rotating each round, median over `--rounds`:
//!   requests/s, service
//!   CPU time per Tick (`/proc/<pid>/stat` over the measured part only) and p50/p99 latency (from
//!   h2load's per-request log).
//!
//! Before the load, a tonic client opens a session (EstablishSession), checks that the Tick that
//! h2load will send (that session, params `{who: "bench"}`) answers STATUS_SUCCESS with CODE_OK and,
//! on the two real services, that invalid params answer STATUS_CUSTOM_PARAMS_ERROR and that the
//! params spec has `who` and `toggle_key` (the floor validates nothing and has no spec). After
//! each run, h2load must report every
//! request succeeded, and the response bytes per request must match the size of the checked answer
//! (a gRPC error would be a trailers-only answer with no body).
//!
//! ```text
//! cargo run --release -p tests-integration --bin mission-bench -- --rounds 5 --duration 5
//! ```

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use clap::{Parser, Subcommand};
use spot_service::MAX_MESSAGE_SIZE;
use spot_service::client::check_response;
use spot_service::proto::bosdyn::api::mission::remote_mission_service_client::RemoteMissionServiceClient;
use spot_service::proto::bosdyn::api::mission::remote_mission_service_server::{
    RemoteMissionService, RemoteMissionServiceServer,
};
use spot_service::proto::bosdyn::api::mission::{
    EstablishSessionRequest, EstablishSessionResponse, GetRemoteMissionServiceInfoRequest,
    GetRemoteMissionServiceInfoResponse, StopRequest, StopResponse, TeardownSessionRequest,
    TeardownSessionResponse, TickRequest, TickResponse, establish_session_response, stop_response,
    teardown_session_response, tick_response,
};
use spot_service::proto::bosdyn::api::{
    CommonError, CustomParam, DictParam, Int64Param, OneOfParam, RequestHeader, ResponseHeader,
    StringParam, common_error, custom_param,
};
use tests_integration::bench::{
    self, Amount, H2load, KillOnDrop, Memory, connect_h2c, free_port, median, mib, pass,
    percentile, ratio, time_to_first_answer,
};
use tests_integration::python;

const TICK_PATH: &str = "/bosdyn.api.mission.RemoteMissionService/Tick";

/// The services, by index in [`run`]'s arrays.
const RUST: usize = 0;
/// See [`RUST`].
const PYTHON: usize = 1;
/// See [`RUST`].
const FLOOR: usize = 2;
/// How many services are compared.
const SERVICES: usize = 3;

/// The floor's name in the report.
const FLOOR_NAME: &str = "bare tonic (floor)";
/// The session id the floor hands out.
const FLOOR_SESSION: &str = "floor-session";

#[derive(Debug, Parser)]
#[command(about = "RemoteMission hello-world: spot-service vs the official Python SDK")]
struct Cli {
    /// Internal: what a child process of the benchmark serves.
    #[command(subcommand)]
    serve: Option<Serve>,
    /// Measured rounds per server and concurrency (the servers' order rotating); the median is
    /// reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Measured seconds per round.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Unmeasured seconds of load before each round's measured part.
    #[arg(long, default_value_t = 1.0)]
    warm_up: f64,
    /// Requests in flight to measure at (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16])]
    concurrency: Vec<u32>,
    /// HTTP/2 connections the requests in flight are spread over (at most one per request).
    #[arg(long, default_value_t = 1)]
    connections: u32,
    /// Fresh starts per server for the start-up time (after one unmeasured start).
    #[arg(long, default_value_t = 5)]
    startup_runs: usize,
    /// Seconds between start-up and reading the idle RSS.
    #[arg(long, default_value_t = 1.0)]
    settle: f64,
    /// The Rust service binary, run as `BIN local --host-ip 127.0.0.1 --port P` [default:
    /// target/release/hello-world, built with `cargo build --release -p hello-world`].
    #[arg(long)]
    rust_bin: Option<PathBuf>,
    /// Name of the Rust service in the report.
    #[arg(long, default_value = "spot-service (Rust)")]
    rust_name: String,
    /// Python with the official SDK [default: $SPOT_SDK_PYTHON, else target/sdk-venv, created
    /// with `cargo xtask python-env` when missing].
    #[arg(long)]
    python: Option<PathBuf>,
    /// Do not build the Rust service; use the binary as it is.
    #[arg(long)]
    no_build: bool,
    /// `RUST_LOG` of the Rust service (a real deployment logs at `info`, like the Python one).
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Where the services' stdout and stderr go (appended; each Tick of the two real services
    /// logs a "Hello" line; the floor logs nothing).
    #[arg(long, default_value = "/dev/null")]
    server_output: PathBuf,
}

/// What the benchmark starts itself as a child process.
#[derive(Debug, Subcommand)]
enum Serve {
    /// Serves the transport floor: a bare tonic RemoteMissionService with fixed answers.
    #[command(hide = true)]
    ServeFloor {
        /// The address to listen on.
        #[arg(long, default_value_t = Ipv4Addr::LOCALHOST)]
        host_ip: Ipv4Addr,
        /// The port to listen on.
        #[arg(long)]
        port: u16,
    },
}

/// One of the services.
#[derive(Debug)]
struct Service {
    name: String,
    program: PathBuf,
    /// Arguments before `--host-ip 127.0.0.1 --port P`.
    args: Vec<OsString>,
    env: Vec<(&'static str, String)>,
    /// The bare-tonic floor: no params spec, validates nothing (those checks are skipped).
    floor: bool,
}

impl Service {
    fn command(&self, port: u16, output: &File) -> Result<Command> {
        bench::service_command(
            &self.program,
            &self.args,
            &self.env,
            bench::Listen::SdkFlags,
            port,
            output,
        )
    }
}

/// A started service.
struct Running<'a> {
    service: &'a Service,
    process: KillOnDrop,
    addr: SocketAddr,
    startup: Duration,
}

/// A service's checked Tick: what h2load sends.
struct Checked {
    /// The Tick, checked to answer SUCCESS.
    tick: TickRequest,
    /// It, gRPC-framed, as h2load's body.
    body: PathBuf,
    /// The size of its gRPC-framed answer.
    response_bytes: f64,
}

/// One measured round of one service at one concurrency.
#[derive(Debug, Clone, Copy)]
struct Sample {
    requests_per_sec: f64,
    cpu_us_per_tick: f64,
    p50_us: u64,
    p99_us: u64,
}

/// What one service got, over all rounds.
#[derive(Debug, Default)]
struct Results {
    startup: Vec<Duration>,
    idle: Option<Memory>,
    peak: Option<Memory>,
    /// Per concurrency level (same order as `--concurrency`).
    samples: Vec<Vec<Sample>>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Serve::ServeFloor { host_ip, port }) = cli.serve {
        return serve_floor(SocketAddr::from((host_ip, port)));
    }
    ensure!(
        cli.rounds > 0 && cli.startup_runs > 0,
        "need at least one round and start-up"
    );
    ensure!(!cli.concurrency.is_empty(), "no --concurrency given");
    for &c in &cli.concurrency {
        let connections = cli.connections.min(c);
        ensure!(
            c > 0 && connections > 0 && c.is_multiple_of(connections),
            "concurrency {c} cannot be spread evenly over {} connections",
            cli.connections
        );
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace directory")?
        .to_owned();
    let rust = rust_service(&cli, &workspace)?;
    let python = python_service(&cli, &workspace)?;
    let floor = Service {
        name: FLOOR_NAME.into(),
        program: std::env::current_exe().context("the path of this benchmark binary")?,
        args: vec!["serve-floor".into()],
        env: Vec::new(),
        floor: true,
    };
    Command::new("h2load")
        .arg("--version")
        .output()
        .context("h2load not found: apt-get install nghttp2-client")?;
    // This process only watches and checks; keep it off the services' core.
    let pinned = bench::pin_self(1)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(&cli, [&rust, &python, &floor], pinned))
}

/// The transport floor: `RemoteMissionService` implemented directly on tonic with fixed answers.
/// No spot-service header handling (the request header is ignored; the response header carries
/// only CODE_OK, the minimum a client accepts), no sessions, no params, no logging.
#[derive(Debug, Clone, Copy)]
struct Floor;

/// A floor answer.
type Answer<T> = std::result::Result<tonic::Response<T>, tonic::Status>;

/// A response header with CODE_OK and nothing else.
fn ok_header() -> Option<ResponseHeader> {
    Some(ResponseHeader {
        error: Some(CommonError {
            code: common_error::Code::Ok.into(),
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[tonic::async_trait]
impl RemoteMissionService for Floor {
    async fn establish_session(
        &self,
        _: tonic::Request<EstablishSessionRequest>,
    ) -> Answer<EstablishSessionResponse> {
        Ok(tonic::Response::new(EstablishSessionResponse {
            header: ok_header(),
            status: establish_session_response::Status::Ok.into(),
            session_id: FLOOR_SESSION.into(),
            ..Default::default()
        }))
    }

    async fn tick(&self, _: tonic::Request<TickRequest>) -> Answer<TickResponse> {
        Ok(tonic::Response::new(TickResponse {
            header: ok_header(),
            status: tick_response::Status::Success.into(),
            ..Default::default()
        }))
    }

    async fn stop(&self, _: tonic::Request<StopRequest>) -> Answer<StopResponse> {
        Ok(tonic::Response::new(StopResponse {
            header: ok_header(),
            status: stop_response::Status::Ok.into(),
        }))
    }

    async fn teardown_session(
        &self,
        _: tonic::Request<TeardownSessionRequest>,
    ) -> Answer<TeardownSessionResponse> {
        Ok(tonic::Response::new(TeardownSessionResponse {
            header: ok_header(),
            status: teardown_session_response::Status::Ok.into(),
        }))
    }

    async fn get_remote_mission_service_info(
        &self,
        _: tonic::Request<GetRemoteMissionServiceInfoRequest>,
    ) -> Answer<GetRemoteMissionServiceInfoResponse> {
        Ok(tonic::Response::new(GetRemoteMissionServiceInfoResponse {
            header: ok_header(),
            custom_params: None,
        }))
    }
}

/// `mission-bench serve-floor`: serves [`Floor`] on `addr` until killed (see
/// [`bench::serve_floor`]), with spot-service's message size limits.
fn serve_floor(addr: SocketAddr) -> Result<()> {
    let service = RemoteMissionServiceServer::new(Floor)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    bench::serve_floor(addr, service)
}

/// The Rust service: `--rust-bin`, else `target/release/hello-world` (built first).
fn rust_service(cli: &Cli, workspace: &Path) -> Result<Service> {
    let program = match &cli.rust_bin {
        Some(bin) => bin.clone(),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace.join("target"));
            let bin = target.join("release/hello-world");
            if !cli.no_build {
                ensure!(
                    workspace.join("examples/hello-world/Cargo.toml").exists(),
                    "no examples/hello-world package to build: give --rust-bin"
                );
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                eprintln!("building the Rust service: cargo build --release -p hello-world");
                let status = Command::new(cargo)
                    .args(["build", "--release", "-p", "hello-world"])
                    .current_dir(workspace)
                    .status()?;
                ensure!(
                    status.success(),
                    "cargo build --release -p hello-world failed"
                );
            }
            bin
        }
    };
    ensure!(program.exists(), "no Rust service at {}", program.display());
    Ok(Service {
        name: cli.rust_name.clone(),
        program,
        args: vec!["local".into()],
        env: vec![("RUST_LOG", cli.server_log.clone())],
        floor: false,
    })
}

/// The Python SDK service, with `--python`, `SPOT_SDK_PYTHON` or the venv (created if missing).
fn python_service(cli: &Cli, workspace: &Path) -> Result<Service> {
    let interpreter = match &cli.python {
        Some(python) => python.clone(),
        None => {
            let configured =
                std::env::var_os(python::SDK_PYTHON_VAR).is_some_and(|v| !v.is_empty());
            if !configured && !workspace.join("target/sdk-venv/bin/python").exists() {
                eprintln!("creating the Python SDK venv: cargo xtask python-env");
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let status = Command::new(cargo)
                    .args(["xtask", "python-env"])
                    .current_dir(workspace)
                    .stdout(Stdio::null())
                    .status()?;
                ensure!(status.success(), "cargo xtask python-env failed");
            }
            python::sdk_python()
        }
    };
    let script = python::scripts_dir().join("hello_world_mission_service.py");
    ensure!(script.exists(), "no {}", script.display());
    Ok(Service {
        name: "Python SDK".into(),
        program: interpreter,
        args: vec![script.into()],
        env: vec![("PYTHONDONTWRITEBYTECODE", "1".into())],
        floor: false,
    })
}

async fn run(cli: &Cli, services: [&Service; SERVICES], pinned: bool) -> Result<()> {
    let output = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cli.server_output)
        .with_context(|| format!("cannot open {}", cli.server_output.display()))?;
    let mut results: [Results; SERVICES] = Default::default();
    for r in &mut results {
        r.samples = vec![Vec::new(); cli.concurrency.len()];
    }

    // Start-up: fresh processes, alternating, after one unmeasured start each (file caches).
    for run in 0..=cli.startup_runs {
        for i in bench::rotation::<SERVICES>(run) {
            let running = start(services[i], &output).await?;
            if run > 0 {
                eprintln!(
                    "start-up {run}: {:<20} {:>8.1} ms",
                    services[i].name,
                    bench::ms(running.startup)
                );
                results[i].startup.push(running.startup);
            }
        }
    }

    // The measured instances.
    let mut running = Vec::new();
    for service in services {
        running.push(start(service, &output).await?);
    }
    tokio::time::sleep(Duration::from_secs_f64(cli.settle)).await;
    for (r, server) in results.iter_mut().zip(&running) {
        r.idle = Some(bench::memory(server.process.id())?);
    }

    // Sessions and the Tick that h2load will send, checked on each.
    let dir = std::env::temp_dir().join(format!("mission-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut checked = Vec::new();
    for server in &running {
        let (tick, response) = check_service(server).await?;
        let body = dir.join(format!("tick-{}.bin", server.addr.port()));
        bench::write_grpc_body(&body, &tick)?;
        checked.push(Checked {
            body,
            response_bytes: bench::grpc_frame(&response).len() as f64,
            tick,
        });
    }

    let measured = measure_rounds(cli, &running, &checked, &dir, &mut results).await;
    let _ = std::fs::remove_dir_all(&dir);
    measured?;
    for (r, server) in results.iter_mut().zip(&running) {
        r.peak = Some(bench::memory(server.process.id())?);
    }
    for (server, checked) in running.iter().zip(&checked) {
        teardown(server, &checked.tick.session_id).await?;
    }
    drop(running);

    report(cli, services, &results, pinned);
    Ok(())
}

fn header() -> Option<RequestHeader> {
    Some(RequestHeader {
        request_timestamp: Some(spot_service::header::now_timestamp()),
        client_name: "mission-bench".into(),
        disable_rpc_logging: false,
    })
}

async fn client(addr: SocketAddr) -> Result<RemoteMissionServiceClient<tonic::transport::Channel>> {
    Ok(RemoteMissionServiceClient::new(
        connect_h2c(addr, Duration::from_millis(200)).await?,
    ))
}

/// Spawns `service` on a fresh port and waits for its first answer.
async fn start<'a>(service: &'a Service, output: &File) -> Result<Running<'a>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let mut command = service.command(addr.port(), output)?;
    let spawned = Instant::now();
    let mut process = KillOnDrop(
        command
            .spawn()
            .with_context(|| format!("cannot start {}", service.program.display()))?,
    );
    let (startup, info) =
        time_to_first_answer(&mut process.0, spawned, Duration::from_secs(60), || async {
            let request = GetRemoteMissionServiceInfoRequest { header: header() };
            Ok(client(addr)
                .await?
                .get_remote_mission_service_info(request)
                .await?
                .into_inner())
        })
        .await
        .with_context(|| format!("{} did not start", service.name))?;
    let info = check_response(info).with_context(|| format!("{}: the info", service.name))?;
    // The floor answers an empty spec.
    if !service.floor {
        let specs = info.custom_params.map(|p| p.specs).unwrap_or_default();
        ensure!(
            specs.contains_key("who") && specs.contains_key("toggle_key"),
            "{}: the params spec lacks `who` or `toggle_key`: {:?}",
            service.name,
            specs.keys()
        );
    }
    Ok(Running {
        service,
        process,
        addr,
        startup,
    })
}

fn dict(values: impl IntoIterator<Item = (&'static str, custom_param::Value)>) -> DictParam {
    DictParam {
        values: values
            .into_iter()
            .map(|(k, v)| (k.to_owned(), CustomParam { value: Some(v) }))
            .collect(),
    }
}

fn who(name: &str) -> (&'static str, custom_param::Value) {
    let value = StringParam { value: name.into() };
    ("who", custom_param::Value::StringValue(value))
}

/// Opens a session and checks the Tick h2load will send: STATUS_SUCCESS with CODE_OK. Also checks,
/// except on the floor (which validates nothing), that params out of the spec are refused, so the
/// real services really validate what they get. Returns that Tick and its answer.
async fn check_service(server: &Running<'_>) -> Result<(TickRequest, TickResponse)> {
    let name = &server.service.name;
    let mut client = client(server.addr).await?;
    let session = check_response(
        client
            .establish_session(EstablishSessionRequest {
                header: header(),
                leases: Vec::new(),
            })
            .await?
            .into_inner(),
    )?;
    ensure!(
        session.status() == establish_session_response::Status::Ok,
        "{name}: EstablishSession answered {:?}",
        session.status()
    );
    let tick = TickRequest {
        header: header(),
        session_id: session.session_id,
        params: Some(dict([who("bench")])),
        ..Default::default()
    };
    let response = tick_succeeds(&mut client, name, &tick).await?;
    if server.service.floor {
        return Ok((tick, response));
    }

    let repeats = dict([(
        "toggle_enable_value_key",
        custom_param::Value::IntValue(Int64Param { value: 2000 }),
    )]);
    let toggle = OneOfParam {
        key: "toggle_key_enable".into(),
        values: [("toggle_key_enable".to_owned(), repeats)].into(),
    };
    let invalid = TickRequest {
        params: Some(dict([
            who("bench"),
            ("toggle_key", custom_param::Value::OneOfValue(toggle)),
        ])),
        ..tick.clone()
    };
    let refused = client.tick(invalid).await?.into_inner();
    ensure!(
        refused.status() == tick_response::Status::CustomParamsError,
        "{name}: Tick with 2000 repeats (max 1337) answered {:?}, not CUSTOM_PARAMS_ERROR",
        refused.status()
    );
    Ok((tick, response))
}

/// Sends `tick` and checks that it answers STATUS_SUCCESS with CODE_OK.
async fn tick_succeeds(
    client: &mut RemoteMissionServiceClient<tonic::transport::Channel>,
    name: &str,
    tick: &TickRequest,
) -> Result<TickResponse> {
    let response = check_response(client.tick(tick.clone()).await?.into_inner())
        .with_context(|| format!("{name}: Tick"))?;
    ensure!(
        response.status() == tick_response::Status::Success,
        "{name}: Tick answered {:?} ({})",
        response.status(),
        response.error_message
    );
    Ok(response)
}

async fn teardown(server: &Running<'_>, session_id: &str) -> Result<()> {
    let response = client(server.addr)
        .await?
        .teardown_session(TeardownSessionRequest {
            header: header(),
            session_id: session_id.to_owned(),
        })
        .await?
        .into_inner();
    check_response(response)?;
    Ok(())
}

async fn measure_rounds(
    cli: &Cli,
    running: &[Running<'_>],
    checked: &[Checked],
    dir: &Path,
    results: &mut [Results; SERVICES],
) -> Result<()> {
    for round in 0..cli.rounds {
        for (level, &concurrency) in cli.concurrency.iter().enumerate() {
            for i in bench::rotation::<SERVICES>(round) {
                let server = &running[i];
                let name = &server.service.name;
                let sample = tokio::task::block_in_place(|| {
                    measure(cli, server, &checked[i], concurrency, dir)
                })?;
                // Still answering SUCCESS after the load.
                tick_succeeds(&mut client(server.addr).await?, name, &checked[i].tick)
                    .await
                    .context("after the load")?;
                eprintln!(
                    "round {round}: concurrency {concurrency:>3} {name:<20} {:>9.0} Tick/s {:>8.1} us CPU/Tick  p50 {:>6} us  p99 {:>6} us",
                    sample.requests_per_sec, sample.cpu_us_per_tick, sample.p50_us, sample.p99_us
                );
                results[i].samples[level].push(sample);
            }
        }
    }
    Ok(())
}

/// One timing-based h2load run of Tick at `concurrency` requests in flight.
fn measure(
    cli: &Cli,
    server: &Running<'_>,
    checked: &Checked,
    concurrency: u32,
    dir: &Path,
) -> Result<Sample> {
    let connections = cli.connections.min(concurrency);
    let run = H2load {
        url: format!("http://{}{TICK_PATH}", server.addr),
        body: checked.body.clone(),
        connections,
        streams: concurrency / connections,
        amount: Amount::Timed {
            warm_up: Duration::from_secs_f64(cli.warm_up),
            main: Duration::from_secs_f64(cli.duration),
        },
        core: 1,
        latency_log: Some(dir.join("h2load.log")),
    }
    .run(Some(server.process.id()))?;
    let name = &server.service.name;
    run.check_all_succeeded()
        .with_context(|| format!("{name} at concurrency {concurrency}"))?;
    // The answers must carry bodies the size of the checked answer's (a gRPC error is
    // trailers-only, with no body). h2load's byte count includes the warm-up's answers, so this
    // is a lower bound: at least 90 % of the measured Ticks' bodies.
    let per_request = run.data_bytes_per_request();
    ensure!(
        per_request >= 0.9 * checked.response_bytes,
        "{name}: {per_request:.1} response bytes per Tick, but the checked answer has {}:\n{}",
        checked.response_bytes,
        run.output
    );
    ensure!(
        !run.latencies_us.is_empty(),
        "{name}: h2load logged no request"
    );
    let cpu = run.watched_cpu.context("no CPU time measured")?;
    Ok(Sample {
        requests_per_sec: run.requests_per_sec,
        cpu_us_per_tick: cpu.as_secs_f64() * 1e6 / run.succeeded as f64,
        p50_us: percentile(&run.latencies_us, 50.0),
        p99_us: percentile(&run.latencies_us, 99.0),
    })
}

fn report(cli: &Cli, services: [&Service; SERVICES], results: &[Results; SERVICES], pinned: bool) {
    let [rust, python, floor] = results;
    println!(
        "Tick of bosdyn.api.mission.RemoteMissionService, params {{who: \"bench\"}}; h2load, \
         {}s warm-up + {}s measured per round, median of {} rounds; {}; service logs to {}",
        cli.warm_up,
        cli.duration,
        cli.rounds,
        if pinned {
            "services on core 0, h2load on core 1"
        } else {
            "not pinned (no taskset or 1 core)"
        },
        cli.server_output.display()
    );
    for &c in &cli.concurrency {
        let connections = cli.connections.min(c);
        println!(
            "concurrency {c}: {connections} connection(s) x {} concurrent stream(s)",
            c / connections
        );
    }
    println!(
        "{}: tonic's RemoteMissionService with fixed answers, no spot-service, served by this \
         binary; checked like the others (Tick answers STATUS_SUCCESS with CODE_OK, 0 h2load \
         failures), but not for STATUS_CUSTOM_PARAMS_ERROR on invalid params nor for a params \
         spec: it validates nothing",
        services[FLOOR].name
    );
    println!();
    println!(
        "| metric | {} | {} | {} | Rust vs Python | target | |",
        services[RUST].name, services[PYTHON].name, services[FLOOR].name
    );
    println!("|---|---|---|---|---|---|---|");
    let mut above_floor = Vec::new();
    for (level, &c) in cli.concurrency.iter().enumerate() {
        let stat = |f: fn(&Sample) -> f64| {
            let of = |r: &Results| median(r.samples[level].iter().map(f));
            (of(rust), of(python), of(floor))
        };
        let (rate_r, rate_p, rate_f) = stat(|s| s.requests_per_sec);
        println!(
            "| Tick throughput, concurrency {c} | {rate_r:.0}/s | {rate_p:.0}/s | {rate_f:.0}/s | {} | >= 15x | {} |",
            ratio(rate_r, rate_p),
            pass(rate_r >= 15.0 * rate_p)
        );
        let (cpu_r, cpu_p, cpu_f) = stat(|s| s.cpu_us_per_tick);
        println!(
            "| service CPU per Tick, concurrency {c} | {cpu_r:.1} us | {cpu_p:.1} us | {cpu_f:.1} us | {} | <= 1/15 | {} |",
            ratio(cpu_r, cpu_p),
            pass(cpu_r * 15.0 <= cpu_p)
        );
        above_floor.push((c, cpu_r, cpu_f));
        let (p50_r, p50_p, p50_f) = stat(|s| s.p50_us as f64);
        println!(
            "| p50 latency, concurrency {c} | {p50_r:.0} us | {p50_p:.0} us | {p50_f:.0} us | {} | | |",
            ratio(p50_r, p50_p)
        );
        let (p99_r, p99_p, p99_f) = stat(|s| s.p99_us as f64);
        let (target, verdict) = if c == 16 {
            ("< 1 ms", pass(p99_r < 1000.0))
        } else {
            ("", "")
        };
        println!(
            "| p99 latency, concurrency {c} | {p99_r:.0} us | {p99_p:.0} us | {p99_f:.0} us | {} | {target} | {verdict} |",
            ratio(p99_r, p99_p)
        );
    }
    let idle = |r: &Results| r.idle.map_or(0, |m| m.rss_kib);
    let (idle_r, idle_p) = (idle(rust), idle(python));
    println!(
        "| idle RSS | {} | {} | {} | {} | < 1/6 | {} |",
        mib(idle_r),
        mib(idle_p),
        mib(idle(floor)),
        ratio(idle_r as f64, idle_p as f64),
        pass(idle_r * 6 < idle_p)
    );
    let peak = |r: &Results| r.peak.map_or(0, |m| m.peak_rss_kib);
    println!(
        "| peak RSS (after the load) | {} | {} | {} | {} | | |",
        mib(peak(rust)),
        mib(peak(python)),
        mib(peak(floor)),
        ratio(peak(rust) as f64, peak(python) as f64)
    );
    let startup = |r: &Results| median(r.startup.iter().map(|d| bench::ms(*d)));
    println!(
        "| start-up to first answer (median of {}) | {:.1} ms | {:.1} ms | {:.1} ms | {} | | |",
        cli.startup_runs,
        startup(rust),
        startup(python),
        startup(floor),
        ratio(startup(rust), startup(python))
    );
    println!();
    println!(
        "CPU per Tick above the transport floor ({} minus {}):",
        services[RUST].name, services[FLOOR].name
    );
    for (c, cpu_r, cpu_f) in above_floor {
        let above = cpu_r - cpu_f;
        println!(
            "- concurrency {c}: framework + hello-world code: {above:.1} us of {cpu_r:.1} us per \
             Tick ({:.0} %); the floor itself (tokio, hyper, tonic, prost, loopback TCP): {cpu_f:.1} us",
            100.0 * above / cpu_r
        );
    }
}
