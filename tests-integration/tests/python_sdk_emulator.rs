//! The official Python SDK (bosdyn-client 5.2.0, unmodified) uses the robot emulator as it would
//! a robot: it logs in, lists the directory, registers a payload that the operator (this test)
//! authorizes, authenticates with the payload's credentials, and calls the announce service,
//! hosted here and kept registered in the emulator's directory, through the robot's proxy.
//!
//! The script only trusts the emulator's CA file and uses its port instead of 443; all traffic
//! stays on 127.0.0.1. It prints `AUTHORIZE <guid>` when the payload needs the operator and
//! waits for `OK` on its stdin.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use announce::Announcer;
use spot_service::directory::{DirectoryRegistrationClient, KeepAliveConfig, RegistrationStatus};
use spot_service::emulator::Emulator;
use spot_service::emulator::front::CA_CERT_FILE;
use spot_service::emulator::state::EmulatorConfig;
use spot_service::payload::credentials::Secret;
use spot_service::robot::{DIRECTORY_REGISTRATION_AUTHORITY, Robot};
use spot_service::{ServiceRunner, SpotService as _};
use tests_integration::python::{scripts_dir, sdk_python};
use tests_integration::spawn;

const SCRIPT: &str = "sdk_against_emulator.py";
const USERNAME: &str = "operator";
const PASSWORD: &str = "correct horse battery staple";
/// Bound on each step on the Rust side.
const PATIENCE: Duration = Duration::from_secs(20);
/// Bound on the whole script (it generates stubs with protoc and makes about 25 calls).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(120);

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_uses_the_emulator_like_a_robot() {
    let data = tempfile::tempdir().unwrap();
    let emulator = Emulator::builder()
        .config(EmulatorConfig::default().with_user(USERNAME, PASSWORD))
        .ca_dir(data.path())
        .start()
        .await
        .unwrap();
    let ca_file = data.path().join(CA_CERT_FILE);
    assert!(ca_file.is_file(), "no CA file at {}", ca_file.display());

    // The announce service, kept registered in the directory with a user token.
    let robot = Robot::new(emulator.robot_config().unwrap()).unwrap();
    bounded(
        "login",
        robot.authenticate(USERNAME, &Secret::new(PASSWORD)),
    )
    .await
    .unwrap();
    let mut runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(Announcer)
        .build()
        .await
        .unwrap();
    let directory = DirectoryRegistrationClient::new(
        robot
            .intercepted(DIRECTORY_REGISTRATION_AUTHORITY)
            .await
            .unwrap(),
    );
    let mut statuses = runner.keep_registered(
        directory,
        None,
        "127.0.0.1",
        KeepAliveConfig {
            initial_retry: Duration::from_millis(20),
            ..KeepAliveConfig::with_interval(Duration::from_secs(2))
        },
    );
    let service = spawn(runner);
    bounded(
        "announce service registered",
        statuses[0].wait_for(RegistrationStatus::is_registered),
    )
    .await
    .expect("status channel open");
    let entry = emulator
        .state()
        .service_entry(Announcer::METADATA.name)
        .expect("announce-service in the emulator's directory");
    assert_eq!(entry.authority, "announce-service.spot.robot");

    // The official SDK, as a child process with piped stdio.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = scripts_dir().join(SCRIPT);
    let mut child = KillOnDrop(
        Command::new(sdk_python())
            .arg("-u")
            .arg(&script)
            .arg(emulator.port().to_string())
            .arg(&ca_file)
            .arg(USERNAME)
            .arg(PASSWORD)
            .arg(manifest.join("../examples/announce/proto"))
            .arg(manifest.join("../protos"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display())),
    );
    let mut stdin = child.0.stdin.take().expect("piped stdin");
    let stdout = child.0.stdout.take().expect("piped stdout");
    let mut stderr = child.0.stderr.take().expect("piped stderr");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    // Read its report; authorize its payload when it asks, as the robot's operator would.
    let deadline = tokio::time::Instant::now() + SCRIPT_PATIENCE;
    let mut transcript: Vec<String> = Vec::new();
    let mut authorized_guid = None;
    loop {
        let line = match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(_) => panic!(
                "{SCRIPT} did not finish within {SCRIPT_PATIENCE:?}; output so far:\n{}",
                transcript.join("\n")
            ),
        };
        println!("{line}");
        if let Some(guid) = line.strip_prefix("AUTHORIZE ") {
            let guid = guid.trim().to_owned();
            let payload = emulator
                .state()
                .payload(&guid)
                .unwrap_or_else(|| panic!("payload {guid} is not registered in the emulator"));
            assert!(!payload.authorized, "payload {guid} authorized too early");
            emulator.state().authorize_payload(&guid).unwrap();
            stdin
                .write_all(b"OK\n")
                .and_then(|()| stdin.flush())
                .expect("answer the script");
            authorized_guid = Some(guid);
        }
        transcript.push(line);
    }
    drop(stdin);

    let status: ExitStatus = loop {
        if let Some(status) = child.0.try_wait().expect("script status") {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{SCRIPT} closed its output but did not exit within {SCRIPT_PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let stderr = stderr_reader.join().unwrap_or_default();
    if !stderr.trim().is_empty() {
        eprintln!("--- {SCRIPT} stderr\n{stderr}");
    }
    let transcript = transcript.join("\n");
    assert!(
        status.success(),
        "{SCRIPT} failed ({status}):\n--- stdout\n{transcript}\n--- stderr\n{stderr}"
    );
    let summary = transcript.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with(" passed, 0 failed") && !transcript.contains("FAILED"),
        "unexpected summary {summary:?}:\n{transcript}\n--- stderr\n{stderr}"
    );
    let guid = authorized_guid.expect("the script asked for its payload to be authorized");
    assert!(emulator.state().payload(&guid).unwrap().authorized);

    bounded("announce service stops", service.stop()).await;
    assert!(
        emulator
            .state()
            .service_entry(Announcer::METADATA.name)
            .is_none(),
        "unregistered at shutdown"
    );
    emulator.stop().await;
}
