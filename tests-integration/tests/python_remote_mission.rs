//! The official Python SDK (bosdyn-client and bosdyn-mission 5.2.0, unmodified) drives both
//! RemoteMission examples, `hello-world` and `power-off`, with its `RemoteClient` and with the raw
//! `RemoteMissionServiceStub`: directly (plain h2c to the service's port) and through the robot
//! emulator (TLS, authority routing, a logged-in user), as the robot's mission service would.
//!
//! `tests-integration/python/sdk_remote_mission.py` does the checking: the spec, establish, ticks
//! with parameters, stop and teardown; unknown session ids, missing leases, bad parameter values
//! and unknown keys, each compared with what the official validator says about the same value;
//! the header rules on every raw response; and, for power-off, the robot's motors switched off
//! with the mission's body lease (and a refused lease reported back).
//!
//! Each example gets an emulator of its own. All traffic stays on 127.0.0.1.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use hello_world::HelloWorld;
use power_off::PowerOff;
use spot_service::ServiceRunner;
use spot_service::emulator::front::CA_CERT_FILE;
use spot_service::emulator::state::EmulatorConfig;
use spot_service::emulator::{Emulator, RunningEmulator};
use spot_service::payload::credentials::Secret;
use spot_service::remote_mission::RemoteMission;
use spot_service::robot::{Robot, normalize_authority};
use tests_integration::python::{scripts_dir, sdk_python};
use tests_integration::spawn;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SCRIPT: &str = "sdk_remote_mission.py";
const USERNAME: &str = "operator";
const PASSWORD: &str = "correct horse battery staple";
/// Bound on each step on the Rust side.
const PATIENCE: Duration = Duration::from_secs(20);
/// Bound on one run of the script (a few dozen calls; power-off waits for three power
/// transitions of the emulator, about 1 s each).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(120);

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// The script's process, killed if the test fails while it runs.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Reads a pipe to its end on a thread of its own.
fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Runs the script with `args` (killed after [`SCRIPT_PATIENCE`]) without blocking the runtime
/// that serves the services it calls. `Ok(stdout)` if it exited 0 with a `N passed, 0 failed`
/// summary, otherwise `Err` with what went wrong and its whole output.
async fn run_script(args: &[String]) -> Result<String, String> {
    let script = scripts_dir().join(SCRIPT);
    let mut child = KillOnDrop(
        Command::new(sdk_python())
            .arg("-u")
            .arg(&script)
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display())),
    );
    let stdout = read_all(child.0.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.0.stderr.take().expect("piped stderr"));
    let deadline = tokio::time::Instant::now() + SCRIPT_PATIENCE;
    let status: Option<ExitStatus> = loop {
        if let Some(status) = child.0.try_wait().expect("script status") {
            break Some(status);
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.0.kill();
            let _ = child.0.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let command = format!("{SCRIPT} {}", args.join(" "));
    let Some(status) = status else {
        return Err(format!(
            "{command} did not finish within {SCRIPT_PATIENCE:?}:\n--- stdout\n{stdout}\n\
             --- stderr\n{stderr}"
        ));
    };
    let summary = stdout.lines().last().unwrap_or_default();
    if status.success() && summary.ends_with(" passed, 0 failed") {
        println!("--- {command}\n{stdout}");
        Ok(stdout)
    } else {
        Err(format!(
            "{command} failed ({status}, summary {summary:?}):\n--- stdout\n{stdout}\n\
             --- stderr\n{stderr}"
        ))
    }
}

/// Panics with every failed run's report, or returns the outputs.
fn all_passed(runs: Vec<Result<String, String>>) -> Vec<String> {
    let failures: Vec<&String> = runs.iter().filter_map(|run| run.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .map(|failure| failure.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    runs.into_iter().map(Result::unwrap_or_default).collect()
}

/// An emulator with [`USERNAME`], its CA in a temporary directory, and a robot logged in to it.
struct LoggedIn {
    emulator: RunningEmulator,
    robot: Robot,
    ca_file: std::path::PathBuf,
    _data: tempfile::TempDir,
}

impl LoggedIn {
    async fn start() -> Self {
        let data = tempfile::tempdir().unwrap();
        let emulator = Emulator::builder()
            .config(EmulatorConfig::default().with_user(USERNAME, PASSWORD))
            .ca_dir(data.path())
            .start()
            .await
            .unwrap();
        let ca_file = data.path().join(CA_CERT_FILE);
        assert!(ca_file.is_file(), "no CA file at {}", ca_file.display());
        let robot = Robot::new(emulator.robot_config().unwrap()).unwrap();
        bounded(
            "login",
            robot.authenticate(USERNAME, &Secret::new(PASSWORD)),
        )
        .await
        .unwrap();
        Self {
            emulator,
            robot,
            ca_file,
            _data: data,
        }
    }

    /// The script's arguments for robot mode: `service` registered with `authority`.
    fn robot_args(&self, service: &str, authority: &str) -> Vec<String> {
        vec![
            "robot".into(),
            "--service".into(),
            service.into(),
            "--authority".into(),
            authority.into(),
            "--emulator-port".into(),
            self.emulator.port().to_string(),
            "--ca".into(),
            path_arg(&self.ca_file),
            "--username".into(),
            USERNAME.into(),
            "--password".into(),
            PASSWORD.into(),
        ]
    }

    /// Waits until `name` is in the emulator's directory, with `authority`, at `addr`'s port
    /// on 127.0.0.1.
    async fn until_registered(&self, name: &str, authority: &str, addr: SocketAddr) {
        bounded(&format!("{name} registered in the directory"), async {
            while self.emulator.state().service_entry(name).is_none() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        let (entry, endpoint) = self
            .emulator
            .state()
            .registered_services()
            .into_iter()
            .find(|(entry, _)| entry.name == name)
            .expect("registered");
        assert_eq!(entry.authority, authority);
        assert_eq!(endpoint.host_ip, "127.0.0.1");
        assert_eq!(endpoint.port, i32::from(addr.port()));
    }

    async fn stop(self) {
        self.emulator.stop().await;
    }
}

fn path_arg(path: &Path) -> String {
    path.to_str().expect("UTF-8 temporary path").to_owned()
}

/// An example's `serve` running in a task: stopped by [`Served::stop`].
struct Served {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Served {
    /// Spawns `serve(ready, stop)` and waits for its address.
    async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(Box<dyn FnOnce(SocketAddr) + Send>, oneshot::Receiver<()>) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel();
        let ready = Box::new(move |addr: SocketAddr| {
            let _ = ready_tx.send(addr);
        });
        let task = tokio::spawn(serve(ready, stop_rx));
        let addr = bounded("the service is ready", ready_rx)
            .await
            .expect("the service started");
        Self { addr, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        bounded("the service stops", self.task)
            .await
            .expect("serve task panicked")
            .expect("serve failed");
    }
}

/// `stop` as the `impl Future<Output = ()>` the examples' `serve` takes.
async fn until_stopped(stop: oneshot::Receiver<()>) {
    let _ = stop.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_drives_hello_world_directly() {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(HelloWorld)
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let run = run_script(&[
        "direct".into(),
        "--service".into(),
        "hello".into(),
        "--port".into(),
        server.addr.port().to_string(),
    ])
    .await;
    bounded("hello-world stops", server.stop()).await;
    let output = all_passed(vec![run]).remove(0);
    assert!(
        output.contains("ok: hello-world-callback direct: 0 repeats"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_drives_hello_world_through_the_emulator() {
    let robot = LoggedIn::start().await;
    let served = {
        let robot = robot.robot.clone();
        Served::start(move |ready, stop| async move {
            hello_world::serve(Some(&robot), "127.0.0.1", 0, ready, until_stopped(stop)).await
        })
        .await
    };
    let authority = normalize_authority(<HelloWorld as RemoteMission>::METADATA.authority);
    robot
        .until_registered(hello_world::DIRECTORY_NAME, &authority, served.addr)
        .await;

    let run = run_script(&robot.robot_args("hello", &authority)).await;

    served.stop().await;
    assert!(
        robot
            .emulator
            .state()
            .service_entry(hello_world::DIRECTORY_NAME)
            .is_none(),
        "unregistered at shutdown"
    );
    robot.stop().await;
    let output = all_passed(vec![run]).remove(0);
    assert!(
        output.contains("ok: hello-world-callback via robot: 0 repeats"),
        "{output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_drives_power_off_directly_and_through_the_emulator() {
    let robot = LoggedIn::start().await;
    let served = {
        let robot = robot.robot.clone();
        Served::start(move |ready, stop| async move {
            power_off::serve(&robot, "127.0.0.1", 0, ready, until_stopped(stop)).await
        })
        .await
    };
    let authority = normalize_authority(<PowerOff as RemoteMission>::METADATA.authority);
    robot
        .until_registered(power_off::DIRECTORY_NAME, &authority, served.addr)
        .await;
    let port = served.addr.port().to_string();

    // Directly, without the robot's leases: a lease of another epoch is refused by the robot.
    let direct = run_script(&[
        "direct".into(),
        "--service".into(),
        "power-off".into(),
        "--port".into(),
        port.clone(),
    ])
    .await;

    // Through the robot with its body lease, then directly with the same lease.
    let mut args = robot.robot_args("power-off", &authority);
    args.extend(["--direct-port".into(), port]);
    let through_robot = run_script(&args).await;

    served.stop().await;
    assert!(
        robot
            .emulator
            .state()
            .service_entry(power_off::DIRECTORY_NAME)
            .is_none(),
        "unregistered at shutdown"
    );
    robot.stop().await;
    let output = all_passed(vec![direct, through_robot]).remove(1);
    assert!(
        output.contains("ok: power-off-callback via robot: with the body lease")
            && output.contains("ok: power-off-callback direct with the robot's lease: with the"),
        "{output}"
    );
}
