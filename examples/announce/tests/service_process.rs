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
        .args(["--port", "0"])
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
