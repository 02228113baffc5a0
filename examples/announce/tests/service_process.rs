//! The `announce-service` binary as a process: it answers the client binary, and SIGINT, SIGTERM
//! and SIGQUIT (what `docker stop` sends) each stop it gracefully, running its shutdown hook.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `announce-service` and the lines it logs.
struct Service {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
}

fn start_service() -> Service {
    let mut child = Command::new(env!("CARGO_BIN_EXE_announce-service"))
        .args(["local", "--port", "0"])
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("announce-service starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let port = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the service logs that it is ready");
        if line.contains("announce service ready") {
            let port = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("port="))
                .expect("port in the ready line");
            break port.parse().expect("numeric port");
        }
    };
    Service { child, lines, port }
}

fn call(port: u16, message: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_announce-client"))
        .args(["local", "--port", &port.to_string(), "--message", message])
        .output()
        .expect("announce-client runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn stop_with(signal: &str) {
    let mut service = start_service();
    assert_eq!(
        call(service.port, "stop me gently"),
        "AnnounceClient received: STOP ME GENTLY\n"
    );
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &service.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    // Bounded wait for the exit (the drain deadline is 3 s).
    let mut exited = None;
    for _ in 0..200 {
        if let Some(status) = service.child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(status) = exited else {
        let _ = service.child.kill();
        panic!("announce-service did not stop after SIG{signal}");
    };
    assert!(
        status.success(),
        "graceful exit after SIG{signal}: {status}"
    );
    // The reader thread ends at EOF, which follows the exit.
    let log: Vec<String> = service.lines.iter().collect();
    assert!(
        log.iter().any(|l| l.contains("announce service stopping")),
        "the shutdown hook ran after SIG{signal}: {log:#?}"
    );
    assert!(log.iter().any(|l| l.contains("server stopped")), "{log:#?}");
}

#[test]
fn sigterm_stops_gracefully() {
    stop_with("TERM");
}

#[test]
fn sigint_stops_gracefully() {
    stop_with("INT");
}

#[test]
fn sigquit_stops_gracefully() {
    stop_with("QUIT");
}

#[test]
fn empty_message_gets_the_default_announcement() {
    let mut service = start_service();
    assert_eq!(
        call(service.port, ""),
        "AnnounceClient received: DEFAULT ANNOUNCEMENT!\n"
    );
    service.child.kill().unwrap();
    service.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_mode_registers_through_the_emulator_and_answers_through_the_proxy() {
    use spot_service::emulator::Emulator;
    use spot_service::emulator::state::EmulatorConfig;

    let scratch = std::env::temp_dir().join(format!("announce-robot-mode-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let ca = scratch.join("emulator-ca.pem");
    let emulator = Emulator::builder()
        .config(EmulatorConfig::default().with_auto_authorize(true))
        .write_ca(&ca)
        .start()
        .await
        .unwrap();
    let credentials = scratch.join("payload_guid_and_secret");
    let robot_args = |port: u16| {
        vec![
            "127.0.0.1".to_owned(),
            "--robot-port".to_owned(),
            port.to_string(),
            "--robot-ca".to_owned(),
            ca.display().to_string(),
            "--payload-credentials-file".to_owned(),
            credentials.display().to_string(),
        ]
    };
    let mut service = Command::new(env!("CARGO_BIN_EXE_announce-service"))
        .arg("robot")
        .args(robot_args(emulator.port()))
        .args(["--host-ip", "127.0.0.1", "--port", "0"])
        .env("NO_COLOR", "1")
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("announce-service starts");
    let registered = tokio::time::timeout(Duration::from_secs(30), async {
        while emulator.state().service_entry("announce-service").is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if registered.is_err() {
        let _ = service.kill();
        panic!("announce-service did not register in the emulator's directory");
    }

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_announce-client"))
        .arg("robot")
        .args(robot_args(emulator.port()))
        .args(["--message", "through the robot"])
        .output()
        .await
        .expect("announce-client runs");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "AnnounceClient received: THROUGH THE ROBOT\n"
    );

    // SIGTERM: the service unregisters before it exits.
    Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || service.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        emulator.state().service_entry("announce-service").is_none(),
        "unregistered at shutdown"
    );
    emulator.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn demo_runs_the_main_job_and_exits_zero() {
    let output = Command::new(env!("CARGO_BIN_EXE_announce-demo"))
        .args(["--message", "main job"])
        .output()
        .expect("announce-demo runs");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "AnnounceClient received: MAIN JOB\n"
    );
}
