//! The image service benchmark: spot-service's `web-cam` example (device `test-pattern`) against
//! the same service built the official way with the Python SDK
//! (`tests-integration/python/web_cam_image_service.py`: a `CameraInterface` rendering the same
//! 640x480 moving pattern, `VisualImageSource` + `CameraBaseImageServicer` with its background
//! capture thread, OpenCV encoding, `GrpcServiceRunner`), side by side in one run.
//!
//! Both need a robot (capture faults go to its FaultService, acquisition times are in robot time),
//! so the benchmark starts the robot emulator (`spot-emulator`) and both services log in to it
//! as a user (`external` mode), register in its directory, keep time sync, and capture in the
//! background every 50 ms at Contrast 1. The load goes straight to each service's port (h2c), not
//! through the emulator.
//!
//! The services run as child processes on loopback, pinned to core 0; h2load, the emulator and
//! this process run on core 1. For each service it measures:
//! - start-up time: from spawn to the first answer of ListImageSources (login, time sync and
//!   server start included), polled every 2 ms; median of `--startup-runs` fresh starts;
//! - idle RSS (`VmRSS`) after start-up plus `--settle`, and peak RSS (`VmHWM`) after the load;
//! - under h2load, for GetImage JPEG quality 75 RGB full size, GetImage RAW RGB and
//!   ListImageSources, at each `--concurrency` (one HTTP/2 connection, that many streams), in
//!   timing-based rounds (`--warm-up` then `--duration`), the services' order rotating each round,
//!   median over `--rounds`: requests/s, service CPU time per request (`/proc/<pid>/stat` over the
//!   measured part only) and p50/p99 latency (from h2load's per-request log). The other service
//!   is stopped (SIGSTOP) while one is measured, so that its capture loop does not share the core.
//!
//! Three floors are measured the same way on RAW and ListImageSources, answering the Rust
//! service's own answers and doing nothing else: a bare tonic server (tonic's generated
//! ImageService, the stack the Rust service is built on), a bare h2 server (the HTTP/2 crate
//! under hyper and tonic, alone), and nghttpd, nghttp2's HTTP/2 server in C (the library h2load
//! is built on), serving the gRPC-framed answers as static files with a `grpc-status: 0` trailer.
//! They show what the transport alone reaches on this machine, so that a target beyond them
//! reads as what it is: beyond the stack or beyond any server, not a gap in the service.
//!
//! The GetImage requests carry the custom params the background loop captures with
//! (`Contrast: 1`), so both services answer from the background loop's latest frame, as the
//! official helpers intend.
//!
//! Before the load, each answer that h2load will ask for is checked with a tonic client: header
//! CODE_OK, the source `test-pattern` listed at 640x480 with its Contrast spec; the image
//! STATUS_OK, 640x480, RGB, an acquisition time; the JPEG starting with FF D8, ending with FF D9
//! and 640x480 in its SOF header; the RAW data 640*480*3 bytes of the pattern's values only. After
//! each run, h2load must report every request succeeded, with response bytes per request near the
//! checked answer's (a gRPC error is trailers-only; a per-image error status has no image data),
//! and the service must still answer correctly.
//!
//! ```text
//! cargo run --release -p tests-integration --bin image-bench -- --rounds 3 --duration 4
//! ```

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use prost::Message as _;
use spot_service::MAX_MESSAGE_SIZE;
use spot_service::client::check_response;
use spot_service::proto::bosdyn::api::image_service_client::ImageServiceClient;
use spot_service::proto::bosdyn::api::image_service_server::{ImageService, ImageServiceServer};
use spot_service::proto::bosdyn::api::{
    CustomParam, DictParam, DoubleParam, GetImageRequest, GetImageResponse, ImageRequest,
    ListImageSourcesRequest, ListImageSourcesResponse, RequestHeader, custom_param, image,
    image_response,
};
use tests_integration::bench::{
    self, Amount, H2load, KillOnDrop, Listen, Memory, Paused, connect_h2c, free_port, median, mib,
    pass, percentile, pinned, ratio, time_to_first_answer,
};
use tests_integration::python;

/// The source both services serve.
const SOURCE: &str = "test-pattern";
/// Its width.
const COLS: u32 = 640;
/// Its height.
const ROWS: u32 = 480;
/// The emulator's user, whom both services log in as.
const USER: &str = "admin";
/// That user's password.
const PASSWORD: &str = "password";

/// The services, by index in [`run`]'s arrays.
const RUST: usize = 0;
/// See [`RUST`].
const PYTHON: usize = 1;
/// How many services are compared.
const SERVICES: usize = 2;

/// The values the test pattern's pixels take at Contrast 1: the bars' 16 and 235, the box's 0
/// and 255.
const PATTERN_VALUES: [u8; 4] = [0, 16, 235, 255];

#[derive(Debug, Parser)]
#[command(about = "Image service (web cam): spot-service vs the official Python SDK helpers")]
struct Cli {
    /// Internal: what a child process of the benchmark serves.
    #[command(subcommand)]
    serve: Option<Serve>,
    /// Measured rounds per server, RPC and concurrency (the servers' order rotating); the median
    /// is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Measured seconds per round.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Unmeasured seconds of load before each round's measured part.
    #[arg(long, default_value_t = 1.0)]
    warm_up: f64,
    /// Requests in flight to measure at (comma-separated), as concurrent streams on one HTTP/2
    /// connection.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16])]
    concurrency: Vec<u32>,
    /// Fresh starts per server for the start-up time (after one unmeasured start).
    #[arg(long, default_value_t = 3)]
    startup_runs: usize,
    /// Seconds between start-up and reading the idle RSS.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// The Rust web cam binary [default: target/release/web-cam, built with
    /// `cargo build --release -p web-cam`].
    #[arg(long)]
    rust_bin: Option<PathBuf>,
    /// The robot emulator binary [default: target/release/spot-emulator, built with
    /// `cargo build --release -p spot-service --features emulator`].
    #[arg(long)]
    emulator_bin: Option<PathBuf>,
    /// Python with the official SDK [default: $SPOT_SDK_PYTHON, else target/sdk-venv, created
    /// with `cargo xtask python-env` when missing]; OpenCV is installed into it from
    /// `tests-integration/python/bench-requirements.txt` when missing.
    #[arg(long)]
    python: Option<PathBuf>,
    /// Do not build the Rust binaries; use them as they are.
    #[arg(long)]
    no_build: bool,
    /// `RUST_LOG` of the Rust service (a real deployment logs at `info`, like the Python one).
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Where the services' and the emulator's logs go (appended).
    #[arg(long, default_value = "/dev/null")]
    server_output: PathBuf,
}

/// What the benchmark starts itself as a child process.
#[derive(Debug, Subcommand)]
enum Serve {
    /// Serves a floor: every ListImageSources and every GetImage answered with a fixed answer
    /// (read from files), and nothing else.
    #[command(hide = true)]
    ServeFloor {
        /// What serves them.
        #[arg(long, value_enum)]
        stack: Stack,
        /// The encoded ListImageSourcesResponse to answer.
        list_answer: PathBuf,
        /// The encoded GetImageResponse to answer.
        image_answer: PathBuf,
        /// The address to listen on.
        #[arg(long, default_value_t = Ipv4Addr::LOCALHOST)]
        host_ip: Ipv4Addr,
        /// The port to listen on.
        #[arg(long)]
        port: u16,
    },
}

/// The Rust stacks a floor is served with (by this binary, as a child process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Stack {
    /// tonic's generated ImageService server (on hyper, h2 and tokio), answering fixed messages:
    /// what the Rust service is built on, without its header handling and images.
    Tonic,
    /// The h2 crate's HTTP/2 server alone (what hyper and tonic use), answering fixed gRPC-framed
    /// bytes and a `grpc-status: 0` trailer.
    H2,
}

/// The floors: servers that answer RAW and ListImageSources with the Rust service's own answers
/// and do nothing else, to show what the transport costs on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Floor {
    /// One of the Rust stacks.
    Rust(Stack),
    /// nghttpd, nghttp2's HTTP/2 server in C (the library h2load is built on), serving the
    /// answers' gRPC-framed bytes as static files with a `grpc-status: 0` trailer.
    Nghttpd,
}

impl Floor {
    const ALL: [Floor; 3] = [
        Floor::Rust(Stack::Tonic),
        Floor::Rust(Stack::H2),
        Floor::Nghttpd,
    ];
    /// The RPCs the floors are measured on.
    const RPCS: [Rpc; 2] = [Rpc::Raw, Rpc::List];

    fn name(self) -> &'static str {
        match self {
            Floor::Rust(Stack::Tonic) => "bare tonic (floor)",
            Floor::Rust(Stack::H2) => "bare h2 (floor)",
            Floor::Nghttpd => "nghttpd, C (floor)",
        }
    }
}

/// The RPCs measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rpc {
    /// GetImage, JPEG quality 75, RGB, full size.
    Jpeg,
    /// GetImage, RAW, RGB.
    Raw,
    /// ListImageSources.
    List,
}

impl Rpc {
    const ALL: [Rpc; 3] = [Rpc::Jpeg, Rpc::Raw, Rpc::List];

    fn label(self) -> &'static str {
        match self {
            Rpc::Jpeg => "GetImage JPEG q75",
            Rpc::Raw => "GetImage RAW",
            Rpc::List => "ListImageSources",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Rpc::Jpeg | Rpc::Raw => "/bosdyn.api.ImageService/GetImage",
            Rpc::List => "/bosdyn.api.ImageService/ListImageSources",
        }
    }

    /// The throughput target: at least this many times Python's.
    fn target(self) -> f64 {
        match self {
            Rpc::Jpeg => 20.0,
            Rpc::Raw => 8.0,
            Rpc::List => 15.0,
        }
    }

    fn format(self) -> Option<image::Format> {
        match self {
            Rpc::Jpeg => Some(image::Format::Jpeg),
            Rpc::Raw => Some(image::Format::Raw),
            Rpc::List => None,
        }
    }
}

/// One of the servers: a service compared, or a floor.
#[derive(Debug)]
struct Service {
    name: String,
    program: PathBuf,
    /// Arguments before the port's.
    args: Vec<OsString>,
    env: Vec<(&'static str, String)>,
    listen: Listen,
}

impl Service {
    fn command(&self, port: u16, output: &File) -> Result<Command> {
        bench::service_command(
            &self.program,
            &self.args,
            &self.env,
            self.listen,
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

impl Running<'_> {
    /// Stops it with SIGINT (it unregisters from the directory), killing it after 10 s.
    fn stop(mut self) -> Result<()> {
        bench::interrupt_and_wait(&mut self.process.0, Duration::from_secs(10))
    }
}

/// The emulator, running.
struct Emulator {
    _process: KillOnDrop,
    port: u16,
    ca: PathBuf,
}

/// What one h2load run measures.
#[derive(Debug, Clone, Copy)]
enum Measured {
    /// A service compared (index in [`run`]'s arrays).
    Service(usize),
    /// A floor (index in [`Floor::ALL`]) on an RPC (index in [`Floor::RPCS`]).
    Floor { floor: usize, rpc: usize },
}

/// One measured round of one service, RPC and concurrency.
#[derive(Debug, Clone, Copy)]
struct Sample {
    requests_per_sec: f64,
    cpu_us_per_request: f64,
    p50_us: u64,
    p99_us: u64,
}

impl Sample {
    /// Prints this sample as one progress line.
    fn log(&self, round: usize, rpc: Rpc, concurrency: u32, server: &str) {
        eprintln!(
            "round {round}: {:<18} c{concurrency:<3} {server:<28} {:>8.0} req/s {:>9.1} us CPU/req  p50 {:>7} us  p99 {:>7} us",
            rpc.label(),
            self.requests_per_sec,
            self.cpu_us_per_request,
            self.p50_us,
            self.p99_us
        );
    }
}

/// What one service got, over all rounds.
#[derive(Debug, Default)]
struct Results {
    startup: Vec<Duration>,
    idle: Option<Memory>,
    peak: Option<Memory>,
    /// `[rpc][concurrency level]`, in [`Rpc::ALL`] and `--concurrency` order.
    samples: Vec<Vec<Vec<Sample>>>,
}

/// The file, in the benchmark's directory, holding the encoded ListImageSourcesResponse the
/// floors answer.
const LIST_ANSWER: &str = "list-answer.bin";
/// The file holding the encoded GetImageResponse (RAW) the floors answer.
const IMAGE_ANSWER: &str = "image-answer.bin";
/// nghttpd's document root: the answers, gRPC-framed, at the RPCs' paths.
const HTDOCS: &str = "htdocs";

/// `image-bench serve-floor`: serves the answers in `list_answer` and `image_answer` with `stack`
/// to every ListImageSources and GetImage on `addr` until killed.
fn serve_floor(
    stack: Stack,
    list_answer: &Path,
    image_answer: &Path,
    addr: SocketAddr,
) -> Result<()> {
    let read =
        |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let list = ListImageSourcesResponse::decode(read(list_answer)?.as_slice())?;
    let image = GetImageResponse::decode(read(image_answer)?.as_slice())?;
    match stack {
        Stack::Tonic => {
            let service = ImageServiceServer::new(FloorServer { list, image })
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE);
            bench::serve_floor(addr, service)
        }
        Stack::H2 => tokio::runtime::Runtime::new()?.block_on(serve_h2(
            Bytes::from(bench::grpc_frame(&list)),
            Bytes::from(bench::grpc_frame(&image)),
            addr,
        )),
    }
}

/// The bare h2 floor: accepts connections on `addr` and answers ListImageSources with `list` and
/// GetImage with `image` (both gRPC-framed).
async fn serve_h2(list: Bytes, image: Bytes, addr: SocketAddr) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    loop {
        let (socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        let (list, image) = (list.clone(), image.clone());
        tokio::spawn(async move {
            if let Err(error) = serve_h2_connection(socket, list, image).await {
                eprintln!("bare h2 floor: {error:#}");
            }
        });
    }
}

/// One connection of the bare h2 floor: each request answered in a task of its own, as hyper
/// does.
async fn serve_h2_connection(
    socket: tokio::net::TcpStream,
    list: Bytes,
    image: Bytes,
) -> Result<()> {
    let mut connection = h2::server::handshake(socket).await?;
    while let Some(request) = connection.accept().await {
        let (request, respond) = request?;
        let answer = match request.uri().path() {
            path if path == Rpc::List.path() => Some(list.clone()),
            path if path == Rpc::Raw.path() => Some(image.clone()),
            _ => None,
        };
        tokio::spawn(async move {
            if let Err(error) = answer_h2(request, respond, answer).await {
                eprintln!("bare h2 floor: {error:#}");
            }
        });
    }
    Ok(())
}

/// Reads the request's body and sends `answer` with a `grpc-status: 0` trailer, or, for an RPC
/// the floor does not serve, a trailers-only UNIMPLEMENTED.
async fn answer_h2(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    answer: Option<Bytes>,
) -> Result<()> {
    let mut body = request.into_body();
    while let Some(data) = body.data().await {
        body.flow_control().release_capacity(data?.len())?;
    }
    let response = http::Response::builder().header("content-type", "application/grpc");
    let Some(answer) = answer else {
        // gRPC's UNIMPLEMENTED.
        let response = response.header("grpc-status", "12").body(())?;
        respond.send_response(response, true)?;
        return Ok(());
    };
    let mut stream = respond.send_response(response.body(())?, false)?;
    stream.send_data(answer, false)?;
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    stream.send_trailers(trailers)?;
    Ok(())
}

/// The bare tonic floor's ImageService.
struct FloorServer {
    list: ListImageSourcesResponse,
    image: GetImageResponse,
}

#[tonic::async_trait]
impl ImageService for FloorServer {
    async fn list_image_sources(
        &self,
        _: tonic::Request<ListImageSourcesRequest>,
    ) -> Result<tonic::Response<ListImageSourcesResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.list.clone()))
    }

    async fn get_image(
        &self,
        _: tonic::Request<GetImageRequest>,
    ) -> Result<tonic::Response<GetImageResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.image.clone()))
    }
}

/// The floors' servers, answering from files in `dir` that [`write_floor_answers`] writes.
fn floor_services(dir: &Path) -> Result<[Service; Floor::ALL.len()]> {
    let this = std::env::current_exe().context("the path of this benchmark binary")?;
    Ok(Floor::ALL.map(|floor| match floor {
        Floor::Rust(stack) => Service {
            name: floor.name().into(),
            program: this.clone(),
            args: vec![
                "serve-floor".into(),
                "--stack".into(),
                stack
                    .to_possible_value()
                    .map_or_else(String::new, |v| v.get_name().to_owned())
                    .into(),
                dir.join(LIST_ANSWER).into(),
                dir.join(IMAGE_ANSWER).into(),
            ],
            env: Vec::new(),
            listen: Listen::SdkFlags,
        },
        Floor::Nghttpd => {
            let mut args: Vec<OsString> = ["--no-tls", "--address=127.0.0.1", "--trailer"]
                .map(OsString::from)
                .into();
            args.push("grpc-status: 0".into());
            args.push("--htdocs".into());
            args.push(dir.join(HTDOCS).into());
            Service {
                name: floor.name().into(),
                program: "nghttpd".into(),
                args,
                env: Vec::new(),
                listen: Listen::LastArgument,
            }
        }
    }))
}

/// Writes the answers the floors serve: `list` and `image` encoded for the tonic floor, and
/// gRPC-framed at their RPCs' paths under nghttpd's document root.
fn write_floor_answers(
    dir: &Path,
    list: &ListImageSourcesResponse,
    image: &GetImageResponse,
) -> Result<()> {
    std::fs::write(dir.join(LIST_ANSWER), list.encode_to_vec())?;
    std::fs::write(dir.join(IMAGE_ANSWER), image.encode_to_vec())?;
    for (rpc, framed) in [
        (Rpc::List, bench::grpc_frame(list)),
        (Rpc::Raw, bench::grpc_frame(image)),
    ] {
        let path = dir.join(HTDOCS).join(rpc.path().trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().context("an RPC path has a service")?)?;
        std::fs::write(&path, framed).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Serve::ServeFloor {
        stack,
        list_answer,
        image_answer,
        host_ip,
        port,
    }) = &cli.serve
    {
        return serve_floor(
            *stack,
            list_answer,
            image_answer,
            SocketAddr::from((*host_ip, *port)),
        );
    }
    ensure!(
        cli.rounds > 0 && cli.startup_runs > 0,
        "need at least one round and start-up"
    );
    ensure!(
        !cli.concurrency.is_empty() && cli.concurrency.iter().all(|&c| c > 0),
        "--concurrency needs positive levels"
    );
    let build = !cli.no_build;
    let emulator_bin = match &cli.emulator_bin {
        Some(bin) => bin.clone(),
        None => bench::release_binary("spot-service", "spot-emulator", &["emulator"], build)?,
    };
    let rust_bin = match &cli.rust_bin {
        Some(bin) => bin.clone(),
        None => bench::release_binary("web-cam", "web-cam", &[], build)?,
    };
    let interpreter = bench::sdk_python(cli.python.as_deref())?;
    bench::ensure_python_module(
        &interpreter,
        "cv2",
        &python::scripts_dir().join("bench-requirements.txt"),
    )?;
    let script = python::scripts_dir().join("web_cam_image_service.py");
    ensure!(script.exists(), "no {}", script.display());
    Command::new("h2load")
        .arg("--version")
        .output()
        .context("h2load not found: apt-get install nghttp2-client")?;
    Command::new("nghttpd")
        .arg("--version")
        .output()
        .context("nghttpd (a floor) not found: apt-get install nghttp2-server")?;

    let output = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&cli.server_output)
        .with_context(|| format!("cannot open {}", cli.server_output.display()))?;
    let dir = std::env::temp_dir().join(format!("image-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = (|| {
        let emulator = start_emulator(&emulator_bin, &dir.join("emulator"), &output)?;
        let robot = |extra: &[&str]| -> Vec<OsString> {
            let mut args: Vec<OsString> = extra.iter().map(Into::into).collect();
            args.extend(
                [
                    "127.0.0.1",
                    "--robot-port",
                    &emulator.port.to_string(),
                    "--robot-ca",
                ]
                .map(OsString::from),
            );
            args.push(emulator.ca.clone().into());
            args
        };
        let credentials = [
            ("BOSDYN_CLIENT_USERNAME", USER.to_owned()),
            ("BOSDYN_CLIENT_PASSWORD", PASSWORD.to_owned()),
        ];
        let rust = Service {
            name: "spot-service web-cam (Rust)".into(),
            program: rust_bin,
            args: robot(&["--device-name", SOURCE, "external"]),
            env: [("RUST_LOG", cli.server_log.clone())]
                .into_iter()
                .chain(credentials.clone())
                .collect(),
            listen: Listen::SdkFlags,
        };
        let mut python_args = vec![OsString::from(&script)];
        python_args.extend(robot(&[]));
        // Its own directory entry, so that the two services do not take each other's.
        python_args.extend(
            [
                "--directory-name",
                "web-cam-service-python",
                "--authority",
                "robot-web-cam-python",
            ]
            .map(OsString::from),
        );
        let python = Service {
            name: "Python SDK helpers".into(),
            program: interpreter.clone(),
            args: python_args,
            env: [("PYTHONDONTWRITEBYTECODE", "1".to_owned())]
                .into_iter()
                .chain(credentials)
                .collect(),
            listen: Listen::SdkFlags,
        };
        // This process only watches and checks; keep it off the services' core.
        let pinned = bench::pin_self(1)?;
        let runtime = tokio::runtime::Runtime::new()?;
        let floors = floor_services(&dir)?;
        runtime.block_on(run(&cli, [&rust, &python], &floors, &output, &dir, pinned))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Starts `spot-emulator` on a free port with the benchmark's user and its CA in `data_dir`, and
/// waits for its `ROBOT <addr> CA <file>` line.
fn start_emulator(bin: &Path, data_dir: &Path, output: &File) -> Result<Emulator> {
    let port = free_port()?;
    let mut child = KillOnDrop(
        pinned(1, bin)
            .args(["--port", &port.to_string()])
            .args(["--user", &format!("{USER}:{PASSWORD}")])
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(output.try_clone()?)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?,
    );
    let mut lines = BufReader::new(child.0.stdout.take().context("emulator stdout")?).lines();
    let ca = loop {
        let Some(line) = lines.next().transpose()? else {
            bail!("the emulator exited before it was up");
        };
        if let Some(rest) = line.strip_prefix("ROBOT ") {
            let (_, ca) = rest
                .split_once(" CA ")
                .with_context(|| format!("unexpected emulator line {line:?}"))?;
            break PathBuf::from(ca.trim());
        }
    };
    // Keep reading its stdout, so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let ca = if ca.is_absolute() {
        ca
    } else {
        std::env::current_dir()?.join(ca)
    };
    ensure!(
        ca.exists(),
        "the emulator's CA {} does not exist",
        ca.display()
    );
    eprintln!("emulator up on 127.0.0.1:{port}, CA {}", ca.display());
    Ok(Emulator {
        _process: child,
        port,
        ca,
    })
}

async fn run(
    cli: &Cli,
    services: [&Service; SERVICES],
    floors: &[Service; Floor::ALL.len()],
    output: &File,
    dir: &Path,
    pinned: bool,
) -> Result<()> {
    let mut results: [Results; SERVICES] = Default::default();
    for r in &mut results {
        r.samples = vec![vec![Vec::new(); cli.concurrency.len()]; Rpc::ALL.len()];
    }

    // Start-up: fresh processes, alternating, after one unmeasured start each (file caches).
    for run in 0..=cli.startup_runs {
        for i in bench::rotation::<SERVICES>(run) {
            let running = start(services[i], output).await?;
            if run > 0 {
                eprintln!(
                    "start-up {run}: {:<28} {:>8.1} ms",
                    services[i].name,
                    bench::ms(running.startup)
                );
                results[i].startup.push(running.startup);
            }
            tokio::task::block_in_place(|| running.stop())?;
        }
    }

    // The measured instances.
    let mut running = Vec::new();
    for service in services {
        running.push(start(service, output).await?);
    }
    tokio::time::sleep(Duration::from_secs_f64(cli.settle)).await;
    for (r, server) in results.iter_mut().zip(&running) {
        r.idle = Some(bench::memory(server.process.id())?);
    }

    // The requests h2load sends, and their answers checked on each service.
    let mut bodies = Vec::new();
    for rpc in Rpc::ALL {
        let body = dir.join(format!("{rpc:?}.bin"));
        match rpc {
            Rpc::List => bench::write_grpc_body(&body, &list_request())?,
            _ => bench::write_grpc_body(&body, &image_request(rpc))?,
        }
        bodies.push(body);
    }
    // [service][rpc]: the gRPC-framed size of the checked answer.
    let mut answer_bytes = [[0.0; 3]; SERVICES];
    for (i, server) in running.iter().enumerate() {
        for (k, rpc) in Rpc::ALL.into_iter().enumerate() {
            answer_bytes[i][k] = check(server, rpc).await?;
        }
        eprintln!(
            "{}: answers checked (JPEG {:.0} B, RAW {:.0} B, list {:.0} B)",
            server.service.name, answer_bytes[i][0], answer_bytes[i][1], answer_bytes[i][2]
        );
    }

    // The floors answer RAW and ListImageSources with the Rust service's own answers.
    let mut rust_client = client(running[RUST].addr).await?;
    let list = rust_client.list_image_sources(list_request()).await?;
    let raw = rust_client.get_image(image_request(Rpc::Raw)).await?;
    write_floor_answers(dir, list.get_ref(), raw.get_ref())?;
    let mut floors_running = Vec::new();
    // [floor][rpc in Floor::RPCS]: the gRPC-framed size of the checked answer.
    let mut floor_bytes = Vec::new();
    for floor in floors {
        let floor = start(floor, output).await?;
        let mut bytes = Vec::new();
        for rpc in Floor::RPCS {
            bytes.push(check(&floor, rpc).await?);
        }
        floor_bytes.push(bytes);
        floors_running.push(floor);
    }
    // [floor][rpc in Floor::RPCS][concurrency level]
    let mut floor_samples =
        vec![vec![vec![Vec::new(); cli.concurrency.len()]; Floor::RPCS.len()]; floors.len()];

    // Everything started, to stop all but the one measured.
    let pids: Vec<u32> = running
        .iter()
        .chain(&floors_running)
        .map(|r| r.process.id())
        .collect();
    for round in 0..cli.rounds {
        for (k, rpc) in Rpc::ALL.into_iter().enumerate() {
            for (level, &concurrency) in cli.concurrency.iter().enumerate() {
                let mut order: Vec<Measured> = bench::rotation::<SERVICES>(round)
                    .map(Measured::Service)
                    .into();
                if let Some(rpc) = Floor::RPCS.iter().position(|&r| r == rpc) {
                    order.extend((0..floors.len()).map(|floor| Measured::Floor { floor, rpc }));
                }
                for measured in order {
                    let (server, answer_bytes) = match measured {
                        Measured::Service(i) => (&running[i], answer_bytes[i][k]),
                        Measured::Floor { floor, rpc } => {
                            (&floors_running[floor], floor_bytes[floor][rpc])
                        }
                    };
                    let paused = Paused::new(
                        pids.iter()
                            .copied()
                            .filter(|&pid| pid != server.process.id()),
                    )?;
                    let sample = tokio::task::block_in_place(|| {
                        measure(cli, server, rpc, &bodies[k], answer_bytes, concurrency, dir)
                    })?;
                    drop(paused);
                    check(server, rpc).await.context("after the load")?;
                    sample.log(round, rpc, concurrency, &server.service.name);
                    match measured {
                        Measured::Service(i) => results[i].samples[k][level].push(sample),
                        Measured::Floor { floor, rpc } => {
                            floor_samples[floor][rpc][level].push(sample);
                        }
                    }
                }
            }
        }
    }
    for floor in floors_running {
        tokio::task::block_in_place(|| floor.stop())?;
    }
    for (r, server) in results.iter_mut().zip(&running) {
        r.peak = Some(bench::memory(server.process.id())?);
    }
    for server in running {
        tokio::task::block_in_place(|| server.stop())?;
    }

    report(
        cli,
        services,
        &results,
        &floor_samples,
        &answer_bytes,
        pinned,
    );
    Ok(())
}

fn header() -> Option<RequestHeader> {
    Some(RequestHeader {
        request_timestamp: Some(spot_service::header::now_timestamp()),
        client_name: "image-bench".into(),
        disable_rpc_logging: false,
    })
}

fn list_request() -> ListImageSourcesRequest {
    ListImageSourcesRequest { header: header() }
}

/// GetImage of the test pattern in `rpc`'s format, RGB, full size, quality 75, with the
/// background loop's params (Contrast 1).
fn image_request(rpc: Rpc) -> GetImageRequest {
    let contrast = CustomParam {
        value: Some(custom_param::Value::DoubleValue(DoubleParam { value: 1.0 })),
    };
    GetImageRequest {
        header: header(),
        image_requests: vec![ImageRequest {
            image_source_name: SOURCE.into(),
            quality_percent: 75.0,
            image_format: rpc.format().unwrap_or(image::Format::Jpeg) as i32,
            resize_ratio: 1.0,
            pixel_format: image::PixelFormat::RgbU8 as i32,
            fallback_formats: Vec::new(),
            custom_params: Some(DictParam {
                values: [("Contrast".to_owned(), contrast)].into(),
            }),
        }],
    }
}

async fn client(addr: SocketAddr) -> Result<ImageServiceClient<tonic::transport::Channel>> {
    Ok(
        ImageServiceClient::new(connect_h2c(addr, Duration::from_millis(200)).await?)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE),
    )
}

/// Spawns `service` on a fresh port and waits for its first ListImageSources answer.
async fn start<'a>(service: &'a Service, output: &File) -> Result<Running<'a>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let mut command = service.command(addr.port(), output)?;
    let spawned = Instant::now();
    let mut process = KillOnDrop(
        command
            .spawn()
            .with_context(|| format!("cannot start {}", service.program.display()))?,
    );
    let (startup, list) =
        time_to_first_answer(&mut process.0, spawned, Duration::from_secs(60), || async {
            Ok(client(addr)
                .await?
                .list_image_sources(list_request())
                .await?
                .into_inner())
        })
        .await
        .with_context(|| format!("{} did not start", service.name))?;
    check_list(list).with_context(|| format!("{}: ListImageSources", service.name))?;
    Ok(Running {
        service,
        process,
        addr,
        startup,
    })
}

/// Checks the list: CODE_OK, `test-pattern` at 640x480 with RGB and a Contrast spec.
fn check_list(list: ListImageSourcesResponse) -> Result<ListImageSourcesResponse> {
    let list = check_response(list)?;
    let source = list
        .image_sources
        .iter()
        .find(|s| s.name == SOURCE)
        .with_context(|| format!("no source {SOURCE} listed"))?;
    ensure!(
        (source.cols, source.rows) == (COLS as i32, ROWS as i32),
        "{SOURCE} is listed at {}x{}",
        source.cols,
        source.rows
    );
    ensure!(
        source
            .pixel_formats
            .contains(&(image::PixelFormat::RgbU8 as i32)),
        "{SOURCE} does not list RGB"
    );
    ensure!(
        source
            .custom_params
            .as_ref()
            .is_some_and(|spec| spec.specs.contains_key("Contrast")),
        "{SOURCE} has no Contrast param spec"
    );
    Ok(list)
}

/// Asks `server` what h2load will ask for `rpc` and checks the answer; returns its gRPC-framed size.
async fn check(server: &Running<'_>, rpc: Rpc) -> Result<f64> {
    let name = &server.service.name;
    let mut client = client(server.addr).await?;
    let Some(format) = rpc.format() else {
        let list = client
            .list_image_sources(list_request())
            .await?
            .into_inner();
        let list = check_list(list).with_context(|| format!("{name}: ListImageSources"))?;
        return Ok(bench::grpc_frame(&list).len() as f64);
    };
    let response = client.get_image(image_request(rpc)).await?.into_inner();
    let response = check_image(response, format)
        .with_context(|| format!("{name}: GetImage {}", rpc.label()))?;
    Ok(bench::grpc_frame(&response).len() as f64)
}

/// Checks a GetImage answer: CODE_OK, one image, STATUS_OK, 640x480 RGB in `format`, with an
/// acquisition time; a whole JPEG of 640x480, or RAW of 640*480*3 bytes of the pattern's values.
fn check_image(response: GetImageResponse, format: image::Format) -> Result<GetImageResponse> {
    let response = check_response(response)?;
    let [answer] = response.image_responses.as_slice() else {
        bail!("{} image responses, not 1", response.image_responses.len());
    };
    ensure!(
        answer.status() == image_response::Status::Ok,
        "status {:?}",
        answer.status()
    );
    let shot = answer.shot.as_ref().context("no shot")?;
    ensure!(shot.acquisition_time.is_some(), "no acquisition time");
    let image = shot.image.as_ref().context("no image")?;
    ensure!(
        image.format() == format,
        "format {:?}, not {format:?}",
        image.format()
    );
    ensure!(
        image.pixel_format() == image::PixelFormat::RgbU8,
        "pixel format {:?}",
        image.pixel_format()
    );
    ensure!(
        (image.cols, image.rows) == (COLS as i32, ROWS as i32),
        "{}x{}",
        image.cols,
        image.rows
    );
    let data = &image.data;
    match format {
        image::Format::Jpeg => {
            let (width, height) = jpeg_size(data)?;
            ensure!(
                (u32::from(width), u32::from(height)) == (COLS, ROWS),
                "the JPEG is {width}x{height}"
            );
            ensure!(
                data.ends_with(&[0xFF, 0xD9]),
                "the JPEG does not end with FF D9"
            );
        }
        _ => {
            ensure!(
                data.len() == (COLS * ROWS * 3) as usize,
                "RAW data of {} bytes, not {}",
                data.len(),
                COLS * ROWS * 3
            );
            ensure!(
                data.iter().all(|v| PATTERN_VALUES.contains(v)),
                "RAW pixels that the test pattern (Contrast 1) does not have"
            );
        }
    }
    Ok(response)
}

/// The width and height in a JPEG's start-of-frame header. Fails unless the data starts with
/// the SOI marker (FF D8) and has a SOF segment before the scan.
fn jpeg_size(data: &[u8]) -> Result<(u16, u16)> {
    ensure!(data.starts_with(&[0xFF, 0xD8]), "not a JPEG: no FF D8");
    let mut i = 2;
    while i + 4 <= data.len() {
        ensure!(data[i] == 0xFF, "no JPEG marker at byte {i}");
        let marker = data[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        match marker {
            // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                ensure!(i + 9 <= data.len(), "truncated SOF");
                let height = u16::from_be_bytes([data[i + 5], data[i + 6]]);
                let width = u16::from_be_bytes([data[i + 7], data[i + 8]]);
                return Ok((width, height));
            }
            0xDA => bail!("no SOF before the scan"),
            _ => i += 2 + length,
        }
    }
    bail!("no SOF in the JPEG")
}

/// One timing-based h2load run of `rpc` at `concurrency` streams on one connection.
fn measure(
    cli: &Cli,
    server: &Running<'_>,
    rpc: Rpc,
    body: &Path,
    answer_bytes: f64,
    concurrency: u32,
    dir: &Path,
) -> Result<Sample> {
    let run = H2load {
        url: format!("http://{}{}", server.addr, rpc.path()),
        body: body.to_owned(),
        connections: 1,
        streams: concurrency,
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
        .with_context(|| format!("{name}: {} at concurrency {concurrency}", rpc.label()))?;
    // The answers must be about the size of the checked one: a gRPC error is trailers-only, a
    // per-image error has no image data (under 1 kB, against 10 to 16 kB for the JPEG). JPEG
    // sizes vary by a quarter with where the moving box is, and h2load's byte count includes the
    // warm-up's answers, so this is a loose lower bound.
    let per_request = run.data_bytes_per_request();
    ensure!(
        per_request >= 0.5 * answer_bytes,
        "{name}: {} answered {per_request:.0} bytes per request, the checked answer {answer_bytes:.0}:\n{}",
        rpc.label(),
        run.output
    );
    ensure!(
        !run.latencies_us.is_empty(),
        "{name}: h2load logged no request"
    );
    let cpu = run.watched_cpu.context("no CPU time measured")?;
    Ok(Sample {
        requests_per_sec: run.requests_per_sec,
        cpu_us_per_request: cpu.as_secs_f64() * 1e6 / run.succeeded as f64,
        p50_us: percentile(&run.latencies_us, 50.0),
        p99_us: percentile(&run.latencies_us, 99.0),
    })
}

fn report(
    cli: &Cli,
    services: [&Service; SERVICES],
    results: &[Results; SERVICES],
    floors: &[Vec<Vec<Vec<Sample>>>],
    answer_bytes: &[[f64; 3]; SERVICES],
    pinned: bool,
) {
    let [rust, python] = results;
    println!(
        "bosdyn.api.ImageService, source {SOURCE} ({COLS}x{ROWS} synthetic, background capture \
         every 50 ms at Contrast 1), both logged in to the robot emulator; h2load over h2c \
         straight to each service, 1 connection, {}s warm-up + {}s measured per round, median of \
         {} rounds; {}",
        cli.warm_up,
        cli.duration,
        cli.rounds,
        if pinned {
            "services on core 0, h2load and the emulator on core 1"
        } else {
            "not pinned (no taskset or 1 core)"
        }
    );
    println!(
        "answer sizes (gRPC frame): JPEG {:.0} / {:.0} B, RAW {:.0} / {:.0} B, list {:.0} / {:.0} B \
         ({} / {})",
        answer_bytes[RUST][0],
        answer_bytes[PYTHON][0],
        answer_bytes[RUST][1],
        answer_bytes[PYTHON][1],
        answer_bytes[RUST][2],
        answer_bytes[PYTHON][2],
        services[RUST].name,
        services[PYTHON].name
    );
    println!();
    println!(
        "| metric | {} | {} | Rust vs Python | target | |",
        services[RUST].name, services[PYTHON].name
    );
    println!("|---|---|---|---|---|---|");
    for (k, rpc) in Rpc::ALL.into_iter().enumerate() {
        for (level, &c) in cli.concurrency.iter().enumerate() {
            let stat = |f: fn(&Sample) -> f64| {
                let of = |r: &Results| median(r.samples[k][level].iter().map(f));
                (of(rust), of(python))
            };
            let label = rpc.label();
            let (rate_r, rate_p) = stat(|s| s.requests_per_sec);
            println!(
                "| {label} throughput, c{c} | {rate_r:.0}/s | {rate_p:.0}/s | {} | >= {}x | {} |",
                ratio(rate_r, rate_p),
                rpc.target(),
                pass(rate_r >= rpc.target() * rate_p)
            );
            let (cpu_r, cpu_p) = stat(|s| s.cpu_us_per_request);
            println!(
                "| {label} service CPU per request, c{c} | {cpu_r:.1} us | {cpu_p:.1} us | {} | | |",
                ratio(cpu_r, cpu_p)
            );
            let (p50_r, p50_p) = stat(|s| s.p50_us as f64);
            println!(
                "| {label} p50 latency, c{c} | {p50_r:.0} us | {p50_p:.0} us | {} | | |",
                ratio(p50_r, p50_p)
            );
            let (p99_r, p99_p) = stat(|s| s.p99_us as f64);
            println!(
                "| {label} p99 latency, c{c} | {p99_r:.0} us | {p99_p:.0} us | {} | | |",
                ratio(p99_r, p99_p)
            );
        }
    }
    let rate = |samples: &[Sample]| median(samples.iter().map(|s| s.requests_per_sec));
    let cpu = |samples: &[Sample]| median(samples.iter().map(|s| s.cpu_us_per_request));
    for (f, rpc) in Floor::RPCS.into_iter().enumerate() {
        let k = Rpc::ALL.iter().position(|&r| r == rpc).unwrap_or_default();
        for (level, &c) in cli.concurrency.iter().enumerate() {
            let rust_rate = rate(&rust.samples[k][level]);
            let needed = rpc.target() * rate(&python.samples[k][level]);
            for (floor, samples) in Floor::ALL.into_iter().zip(floors) {
                let samples = &samples[f][level];
                let floor_rate = rate(samples);
                println!(
                    "| {}, {}, c{c} | {floor_rate:.0}/s, {:.1} us CPU | | Rust at {:.0} % of it \
                     | {}x Python: {needed:.0}/s | {} |",
                    rpc.label(),
                    floor.name(),
                    cpu(samples),
                    100.0 * rust_rate / floor_rate,
                    rpc.target(),
                    if needed > floor_rate {
                        "beyond it"
                    } else {
                        "within it"
                    }
                );
            }
        }
    }
    let idle = |r: &Results| r.idle.map_or(0, |m| m.rss_kib);
    let (idle_r, idle_p) = (idle(rust), idle(python));
    println!(
        "| idle RSS | {} | {} | {} | < 1/6 | {} |",
        mib(idle_r),
        mib(idle_p),
        ratio(idle_r as f64, idle_p as f64),
        pass(idle_r * 6 < idle_p)
    );
    let peak = |r: &Results| r.peak.map_or(0, |m| m.peak_rss_kib);
    let (peak_r, peak_p) = (peak(rust), peak(python));
    println!(
        "| peak RSS (after the load) | {} | {} | {} | < 1/6 | {} |",
        mib(peak_r),
        mib(peak_p),
        ratio(peak_r as f64, peak_p as f64),
        pass(peak_r * 6 < peak_p)
    );
    let startup = |r: &Results| median(r.startup.iter().map(|d| bench::ms(*d)));
    println!(
        "| start-up to first ListImageSources (median of {}) | {:.1} ms | {:.1} ms | {} | | |",
        cli.startup_runs,
        startup(rust),
        startup(python),
        ratio(startup(rust), startup(python))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_size_of_a_jpeg() {
        // SOI, APP0 (length 4, two bytes of payload), SOF0 (8-bit, 480 rows, 640 columns), ...
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01,
            0xE0, 0x02, 0x80, 0x03,
        ];
        assert_eq!(jpeg_size(&jpeg).unwrap(), (640, 480));
        assert!(jpeg_size(&jpeg[2..]).is_err());
        assert!(jpeg_size(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02]).is_err());
    }
}
