//! Plumbing shared by the benchmark binaries (`overhead-bench`, `mission-bench`, `image-bench`):
//! pinning processes to cores, reading a process's CPU time and memory from `/proc`, running
//! `h2load` and reading its report and per-request log, gRPC-framed request bodies, start-up
//! timing, building and stopping the services, the Python SDK, report formatting and small
//! statistics.
//!
//! Linux only (`/proc`, `taskset`, `getconf`), like the benchmarks.

use std::ffi::OsStr;
use std::future::Future;
use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};

// ---------------------------------------------------------------------------------------------
// Cores

/// Whether processes can be pinned: `taskset` is installed and there are 2+ cores.
pub fn can_pin() -> bool {
    static CAN_PIN: OnceLock<bool> = OnceLock::new();
    *CAN_PIN.get_or_init(|| {
        std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
            && Command::new("taskset")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success())
    })
}

/// A command running `program` on `core` only (`taskset -c <core>`, which execs the program, so
/// the child's pid is the program's), or plainly when pinning is not possible.
pub fn pinned(core: u32, program: impl AsRef<OsStr>) -> Command {
    if can_pin() {
        let mut command = Command::new("taskset");
        command.args(["-c", &core.to_string()]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Pins this process (every thread it has, and those it starts later) to `core`. Returns whether
/// it did; call it before starting a runtime so that all worker threads inherit the affinity.
pub fn pin_self(core: u32) -> Result<bool> {
    if !can_pin() {
        return Ok(false);
    }
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &core.to_string()])
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("taskset could not pin this process to core {core}");
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Processes: CPU time, memory

/// Clock ticks per second of the `/proc` CPU times (`getconf CLK_TCK`).
pub fn clock_ticks() -> Result<u64> {
    static TICKS: OnceLock<u64> = OnceLock::new();
    if let Some(ticks) = TICKS.get() {
        return Ok(*ticks);
    }
    let out = Command::new("getconf").arg("CLK_TCK").output()?;
    let ticks = String::from_utf8(out.stdout)?.trim().parse()?;
    Ok(*TICKS.get_or_init(|| ticks))
}

/// User + system CPU time of a process (all its threads, exited ones included), from
/// `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is gone"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').context("stat format")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(Duration::from_secs_f64(
        ticks as f64 / clock_ticks()? as f64,
    ))
}

/// Serves `service` on `addr` until killed, as a benchmark's transport floor: plain
/// `tonic::transport::Server` (TCP_NODELAY, as spot-service's runner sets it) on tokio's default
/// multi-thread runtime (what `#[tokio::main]` builds, as in the example binaries). The caller
/// sets spot-service's message size limits on the generated server.
pub fn serve_floor<S>(addr: std::net::SocketAddr, service: S) -> Result<()>
where
    S: tonic::codegen::Service<
            tonic::codegen::http::Request<tonic::body::Body>,
            Response = tonic::codegen::http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + tonic::server::NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    tokio::runtime::Runtime::new()?.block_on(async {
        tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .add_service(service)
            .serve(addr)
            .await
            .with_context(|| format!("serving the floor on {addr}"))
    })
}

/// Processes stopped (SIGSTOP) until this is dropped (SIGCONT): a service that is not being
/// measured cannot then take CPU time from the measured one on their shared core (the official
/// image helper's capture thread alone uses about 15 % of it).
#[derive(Debug)]
pub struct Paused(Vec<u32>);

impl Paused {
    /// Stops `pids`.
    pub fn new(pids: impl IntoIterator<Item = u32>) -> Result<Self> {
        let paused = Self(pids.into_iter().collect());
        for &pid in &paused.0 {
            signal("STOP", pid)?;
        }
        Ok(paused)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if let Err(error) = signal("CONT", pid) {
                eprintln!("could not resume process {pid}: {error:#}");
            }
        }
    }
}

/// Sends `SIG<name>` to `pid` with kill(1).
fn signal(name: &str, pid: u32) -> Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .context("kill")?;
    ensure!(status.success(), "kill -{name} {pid} failed");
    Ok(())
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Resident set size now (`VmRSS`), in KiB.
    pub rss_kib: u64,
    /// Peak resident set size so far (`VmHWM`), in KiB.
    pub peak_rss_kib: u64,
}

/// The resident memory of process `pid`.
pub fn memory(pid: u32) -> Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid} is gone"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        // "    1234 kB"
        Ok(line
            .split_whitespace()
            .next()
            .context("empty memory field")?
            .parse()?)
    };
    Ok(Memory {
        rss_kib: field("VmRSS")?,
        peak_rss_kib: field("VmHWM")?,
    })
}

/// A child process that is killed (and reaped) when dropped.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// The child's pid.
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback TCP port that was free a moment ago (for a child process to listen on).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

// ---------------------------------------------------------------------------------------------
// Start-up

/// How often [`time_to_first_answer`] retries.
pub const FIRST_ANSWER_RETRY: Duration = Duration::from_millis(2);

/// Polls `call` (a real RPC, making its own short-timeout connection) every
/// [`FIRST_ANSWER_RETRY`] until it succeeds, and returns the time from `spawned` (taken just
/// before the child was spawned) to that first answer, with the answer. Fails if `child` exits or
/// nothing answers within `timeout` (which also bounds each call).
pub async fn time_to_first_answer<T, F, Fut>(
    child: &mut Child,
    spawned: Instant,
    timeout: Duration,
    mut call: F,
) -> Result<(Duration, T)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    loop {
        let remaining = timeout.saturating_sub(spawned.elapsed());
        let attempt = tokio::time::timeout(remaining, call())
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the call did not finish")));
        let elapsed = spawned.elapsed();
        match attempt {
            Ok(answer) => return Ok((elapsed, answer)),
            Err(error) => {
                if let Some(status) = child.try_wait()? {
                    bail!("the server exited ({status}) before answering: {error:#}");
                }
                if elapsed > timeout {
                    bail!("no answer within {timeout:?}: {error:#}");
                }
            }
        }
        tokio::time::sleep(FIRST_ANSWER_RETRY).await;
    }
}

/// A plain-text HTTP/2 channel to `addr`, giving up after `connect_timeout` when nothing accepts
/// the connection (calls on it have no timeout of their own).
pub async fn connect_h2c(
    addr: SocketAddr,
    connect_timeout: Duration,
) -> Result<tonic::transport::Channel> {
    Ok(
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(connect_timeout)
            .connect()
            .await?,
    )
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/// `message` in a gRPC frame (uncompressed flag, big-endian length, message), as sent on the wire.
pub fn grpc_frame(message: &impl prost::Message) -> Vec<u8> {
    let message = message.encode_to_vec();
    let mut body = Vec::with_capacity(5 + message.len());
    body.push(0u8);
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    body
}

/// Writes `message`, gRPC-framed, to `path` (an h2load `-d` body).
pub fn write_grpc_body(path: &Path, message: &impl prost::Message) -> Result<()> {
    std::fs::write(path, grpc_frame(message))
        .with_context(|| format!("cannot write {}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// h2load

/// How much load one h2load run sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// A fixed number of requests across all connections (`-n`).
    Requests(u64),
    /// Timing-based: `warm_up` unmeasured, then `main` measured (`--warm-up-time`, `-D`).
    Timed {
        /// Load before the measured part; not counted.
        warm_up: Duration,
        /// The measured part.
        main: Duration,
    },
}

/// The SETTINGS_MAX_FRAME_SIZE the official Python client (gRPC C core) advertises; h2load
/// advertises the same.
pub const GRPC_CLIENT_MAX_FRAME_SIZE: u32 = 4 * 1024 * 1024;

/// One h2load run: gRPC POSTs of a fixed body to one URL over h2c, h2load pinned to a core.
#[derive(Debug, Clone)]
pub struct H2load {
    /// `http://host:port/package.Service/Method`.
    pub url: String,
    /// The gRPC-framed request body (see [`write_grpc_body`]).
    pub body: PathBuf,
    /// Connections (`-c`).
    pub connections: u32,
    /// Concurrent streams per connection (`-m`): requests in flight = connections x streams.
    pub streams: u32,
    /// How much load.
    pub amount: Amount,
    /// The core h2load is pinned to (when pinning is possible).
    pub core: u32,
    /// If set, h2load logs every request there (`--log-file`); the log is read into
    /// [`H2loadRun::latencies_us`] and then deleted.
    pub latency_log: Option<PathBuf>,
}

/// What an h2load run reported.
#[derive(Debug, Clone, Default)]
pub struct H2loadRun {
    /// The `requests:` line: total, started, done, succeeded, failed, errored, timeout.
    pub total: u64,
    /// Requests started.
    pub started: u64,
    /// Requests done.
    pub done: u64,
    /// Requests answered with a 2xx status.
    pub succeeded: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Requests that errored.
    pub errored: u64,
    /// Requests that timed out.
    pub timeout: u64,
    /// h2load's own rate (over the main duration in timing-based runs).
    pub requests_per_sec: f64,
    /// Response DATA bytes received (the `traffic:` line's `data`).
    pub data_bytes: u64,
    /// Time to the end of each response, in microseconds, sorted (only with a latency log).
    pub latencies_us: Vec<u64>,
    /// Log rows whose HTTP status was neither 200 nor unknown (only with a latency log).
    pub non_200: u64,
    /// Log rows with status 0: in timing-based runs, h2load logs so the requests whose response
    /// headers came during the warm-up but whose end came in the measured part (it records
    /// statuses in the measured part only). There can be one per request in flight when the
    /// measured part begins; large answers make them common.
    pub status_before_main: u64,
    /// The most requests h2load had in flight (connections x streams).
    pub in_flight: u64,
    /// CPU time the watched process used during the measured part (see [`H2load::run`]).
    pub watched_cpu: Option<Duration>,
    /// h2load's standard output.
    pub output: String,
}

impl H2loadRun {
    /// Fails unless every request succeeded: none failed, errored or timed out, every one done and
    /// answered 2xx (and 200 in the log, when there is one, except at most one row per request
    /// in flight with status 0 whose headers came during the warm-up), and at least one.
    pub fn check_all_succeeded(&self) -> Result<()> {
        let logged = self.latency_log_ok();
        if self.succeeded == 0
            || self.failed + self.errored + self.timeout > 0
            || self.succeeded != self.done
            || self.done != self.started
            || !logged
        {
            bail!(
                "h2load: not every request succeeded ({} rows not 200 in the log, {} with status \
                 0 for {} in flight):\n{}",
                self.non_200,
                self.status_before_main,
                self.in_flight,
                self.output
            );
        }
        Ok(())
    }

    fn latency_log_ok(&self) -> bool {
        self.non_200 == 0
            && self.status_before_main <= self.in_flight
            && (self.latencies_us.is_empty() || self.latencies_us.len() as u64 == self.succeeded)
    }

    /// Mean response DATA bytes per succeeded request.
    pub fn data_bytes_per_request(&self) -> f64 {
        self.data_bytes as f64 / self.succeeded.max(1) as f64
    }
}

/// h2load's line that says the measured part began (timing-based runs; one per worker thread).
const MAIN_STARTED: &str = "Main benchmark duration is started";
/// h2load's line that says the measured part ended.
const MAIN_OVER: &str = "Main benchmark duration is over";

impl H2load {
    /// Runs h2load (one worker thread) and parses its report.
    ///
    /// With `watch`, also measures that process's CPU time over the measured part: from h2load's
    /// start to its exit for [`Amount::Requests`]; from the end of the warm-up to the end of the
    /// main duration for [`Amount::Timed`] (h2load announces both on its output, which is read as
    /// it comes).
    pub fn run(&self, watch: Option<u32>) -> Result<H2loadRun> {
        let mut command = pinned(self.core, "h2load");
        command
            .args(["-c", &self.connections.to_string()])
            .args(["-m", &self.streams.to_string()])
            .args(["-t", "1"])
            // The HTTP/2 settings the official Python client (gRPC C core) advertises: frames and
            // stream windows of 4 MiB. h2load's default 16 KiB frames would make a server split a
            // 1 MB image into 57 frames, which no real gRPC client asks for.
            .args(["-f", &GRPC_CLIENT_MAX_FRAME_SIZE.to_string()])
            .args(["-w", "22"]);
        match self.amount {
            Amount::Requests(n) => command.args(["-n", &n.to_string()]),
            Amount::Timed { warm_up, main } => command
                .arg(format!("--warm-up-time={}ms", warm_up.as_millis()))
                .arg(format!("--duration={}ms", main.as_millis())),
        };
        if let Some(log) = &self.latency_log {
            command.arg(format!("--log-file={}", log.display()));
        }
        command
            .arg("-d")
            .arg(&self.body)
            .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
            .arg(&self.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        let cpu = |pid: Option<u32>| pid.map(cpu_time).transpose();
        let timed = matches!(self.amount, Amount::Timed { .. });
        let mut before = if timed { None } else { cpu(watch)? };
        let mut child = command
            .spawn()
            .context("h2load not found: apt-get install nghttp2-client")?;
        let mut stderr = child.stderr.take().context("h2load stderr")?;
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        let mut output = String::new();
        let mut after = None;
        for line in BufReader::new(child.stdout.take().context("h2load stdout")?).lines() {
            let line = line?;
            if timed && line.starts_with(MAIN_STARTED) {
                before = cpu(watch)?;
            } else if timed && line.starts_with(MAIN_OVER) {
                after = cpu(watch)?;
            }
            output.push_str(&line);
            output.push('\n');
        }
        let status = child.wait()?;
        if !timed {
            after = cpu(watch)?;
        }
        let stderr = stderr_reader.join().unwrap_or_default();
        if !status.success() {
            bail!("h2load failed ({status}):\n{output}{stderr}");
        }

        let requests = |index| h2load_number(&output, "requests:", index).map(|n| n as u64);
        let (Some(total), Some(started), Some(done), Some(succeeded)) =
            (requests(0), requests(1), requests(2), requests(3))
        else {
            bail!("h2load: no requests line:\n{output}{stderr}");
        };
        let mut run = H2loadRun {
            total,
            started,
            done,
            succeeded,
            failed: requests(4).unwrap_or(0),
            errored: requests(5).unwrap_or(0),
            timeout: requests(6).unwrap_or(0),
            requests_per_sec: h2load_number(&output, "finished in", 1).unwrap_or(0.0),
            data_bytes: traffic_data_bytes(&output).unwrap_or(0),
            watched_cpu: match (before, after) {
                (Some(before), Some(after)) => Some(after.saturating_sub(before)),
                (None, None) => None,
                _ => bail!("h2load did not announce its main duration:\n{output}"),
            },
            in_flight: match self.amount {
                Amount::Timed { .. } => u64::from(self.connections) * u64::from(self.streams),
                // Nothing is in flight when the measurement starts.
                Amount::Requests(_) => 0,
            },
            output,
            ..Default::default()
        };
        if let Some(log) = &self.latency_log {
            (run.latencies_us, run.non_200, run.status_before_main) = read_latency_log(log)?;
            let _ = std::fs::remove_file(log);
        }
        Ok(run)
    }
}

/// Field `index` of the comma-separated h2load line starting with `prefix`, as a number
/// (`requests: N total, N started, ...`, `finished in 4.00s, 2191.67 req/s, ...`).
pub fn h2load_number(text: &str, prefix: &str, index: usize) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))?
        .trim_start_matches(prefix)
        .split(',')
        .nth(index)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The exact DATA byte count of h2load's `traffic:` line (`..., 347.41KB (355748) data`).
fn traffic_data_bytes(text: &str) -> Option<u64> {
    let part = text
        .lines()
        .find(|l| l.starts_with("traffic:"))?
        .split(',')
        .find(|p| p.trim_end().ends_with(" data"))?;
    let (_, bytes) = part.split_once('(')?;
    bytes.split_once(')')?.0.parse().ok()
}

/// Reads an h2load `--log-file` (tab-separated: start time in us since epoch, HTTP status, us to
/// the end of the response): the sorted latencies, how many rows had a status other than 200 and
/// 0, and how many had status 0 (see [`H2loadRun::status_before_main`]).
pub fn read_latency_log(path: &Path) -> Result<(Vec<u64>, u64, u64)> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("no h2load log at {}", path.display()))?;
    let mut latencies = Vec::new();
    let mut non_200 = 0;
    let mut status_0 = 0;
    for line in BufReader::new(file).lines() {
        let line = line?;
        let mut columns = line.split('\t');
        let (Some(_start), Some(status), Some(latency)) =
            (columns.next(), columns.next(), columns.next())
        else {
            bail!("h2load log row {line:?} has fewer than 3 columns");
        };
        match status {
            "200" => {}
            "0" => status_0 += 1,
            _ => non_200 += 1,
        }
        latencies.push(latency.trim().parse::<u64>()?);
    }
    latencies.sort_unstable();
    Ok((latencies, non_200, status_0))
}

// ---------------------------------------------------------------------------------------------
// Programs: the services' binaries, the Python SDK, stopping

/// The workspace directory (the parent of `tests-integration`).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests-integration lives inside the workspace directory")
        .to_owned()
}

/// The release binary `bin` of the workspace (in `$CARGO_TARGET_DIR` or `target`). With `build`,
/// runs `cargo build --release -p <package> --bin <bin> [--features <features>]` first (a no-op
/// when it is up to date). Fails if the binary does not exist afterwards.
pub fn release_binary(package: &str, bin: &str, features: &[&str], build: bool) -> Result<PathBuf> {
    let workspace = workspace_dir();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let path = target.join("release").join(bin);
    if build {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command
            .args(["build", "--release", "-p", package, "--bin", bin])
            .current_dir(&workspace);
        if !features.is_empty() {
            command.args(["--features", &features.join(",")]);
        }
        eprintln!("building {bin}: cargo build --release -p {package} --bin {bin}");
        let status = command.status().context("cannot run cargo")?;
        if !status.success() {
            bail!("cargo build --release -p {package} --bin {bin} failed");
        }
    }
    if !path.exists() {
        bail!("no {bin} at {}", path.display());
    }
    Ok(path)
}

/// The Python interpreter with the official SDK: `explicit` if given, else `SPOT_SDK_PYTHON`, else
/// `target/sdk-venv` (created with `cargo xtask python-env` when missing).
pub fn sdk_python(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(python) = explicit {
        return Ok(python.to_owned());
    }
    let configured = std::env::var_os(crate::python::SDK_PYTHON_VAR).is_some_and(|v| !v.is_empty());
    let workspace = workspace_dir();
    if !configured && !workspace.join("target/sdk-venv/bin/python").exists() {
        eprintln!("creating the Python SDK venv: cargo xtask python-env");
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["xtask", "python-env"])
            .current_dir(&workspace)
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("cargo xtask python-env failed");
        }
    }
    Ok(crate::python::sdk_python())
}

/// Makes sure `python` can import `module`; if it cannot, installs `requirements` (a pip
/// requirements file) with `python -m pip install -r`, and checks again.
pub fn ensure_python_module(python: &Path, module: &str, requirements: &Path) -> Result<()> {
    let imports = || {
        Command::new(python)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if imports() {
        return Ok(());
    }
    eprintln!(
        "installing {} into {}: pip install -r {}",
        module,
        python.display(),
        requirements.display()
    );
    let status = Command::new(python)
        .args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(requirements)
        .status()
        .context("cannot run pip")?;
    if !status.success() || !imports() {
        bail!(
            "{} cannot import {module} after pip install -r {}",
            python.display(),
            requirements.display()
        );
    }
    Ok(())
}

/// Asks `child` to stop with SIGINT (as Ctrl-C would: the services unregister from the robot's
/// directory on it) and waits up to `grace` for it to exit; kills it after that.
pub fn interrupt_and_wait(child: &mut Child, grace: Duration) -> Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait()?;
    Ok(())
}

/// How a benchmarked server is told its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// `--host-ip 127.0.0.1 --port PORT`: the official SDK's flags, which every service here takes.
    SdkFlags,
    /// `PORT` as the last argument (nghttpd); the other arguments choose 127.0.0.1.
    LastArgument,
}

/// The command that starts a benchmarked server on 127.0.0.1:`port`, pinned to core 0:
/// `program args...` and the port as `listen` says, with `env`, its output to `output`.
pub fn service_command(
    program: &Path,
    args: &[std::ffi::OsString],
    env: &[(&'static str, String)],
    listen: Listen,
    port: u16,
    output: &std::fs::File,
) -> Result<Command> {
    let port = port.to_string();
    let mut command = pinned(0, program);
    command.args(args);
    match listen {
        Listen::SdkFlags => command.args(["--host-ip", "127.0.0.1", "--port", &port]),
        Listen::LastArgument => command.arg(&port),
    };
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output.try_clone()?);
    Ok(command)
}

/// Round `round`'s order of `N` services: rotated by one each round, so that each service takes
/// each place.
pub fn rotation<const N: usize>(round: usize) -> [usize; N] {
    std::array::from_fn(|k| (round + k) % N)
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// Report

/// "PASS" or "FAIL".
pub fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// `a / b` as "12.3x", or as "1/12.3" when `a` is the smaller.
pub fn ratio(a: f64, b: f64) -> String {
    let r = a / b;
    if r >= 1.0 {
        format!("{r:.1}x")
    } else {
        format!("1/{:.1}", 1.0 / r)
    }
}

/// KiB as "12.3 MiB".
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// The median (the upper one for an even count). Panics on an empty input.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    assert!(!values.is_empty(), "median of nothing");
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The `p`-th percentile (0 < p <= 100, nearest rank) of `sorted` values. Panics on an empty
/// input.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    assert!(!sorted.is_empty(), "percentile of nothing");
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
finished in 4.00s, 2191.67 req/s, 210.08KB/s
requests: 6575 total, 6575 started, 6574 done, 6573 succeeded, 1 failed, 1 errored, 0 timeout
status codes: 6575 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 630.24KB (645367) total, 24.59KB (25182) headers (space savings 96.29%), 347.41KB (355748) data
";

    #[test]
    fn parses_an_h2load_report() {
        assert_eq!(h2load_number(REPORT, "requests:", 0), Some(6575.0));
        assert_eq!(h2load_number(REPORT, "requests:", 3), Some(6573.0));
        assert_eq!(h2load_number(REPORT, "requests:", 5), Some(1.0));
        assert_eq!(h2load_number(REPORT, "finished in", 1), Some(2191.67));
        assert_eq!(traffic_data_bytes(REPORT), Some(355748));
    }

    #[test]
    fn reads_a_latency_log() {
        let dir = std::env::temp_dir().join(format!("bench-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h2load.log");
        std::fs::write(
            &path,
            "1795287765742242\t200\t7388\n1\t200\t6105\n2\t503\t10\n3\t0\t12\n",
        )
        .unwrap();
        let (latencies, non_200, status_0) = read_latency_log(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(latencies, [10, 12, 6105, 7388]);
        assert_eq!(non_200, 1);
        assert_eq!(status_0, 1);
    }

    #[test]
    fn percentiles_and_median() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
    }
}
