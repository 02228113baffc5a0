//! The official Python SDK (bosdyn-api, bosdyn-client, bosdyn-mission 5.2.0 from PyPI), used by
//! the tests as an independent client and as the reference for wire compatibility.
//!
//! `cargo xtask python-env` (run by `cargo xtask test`) creates a venv with it in
//! `<workspace>/target/sdk-venv`; `SPOT_SDK_PYTHON` may point at another interpreter.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// Environment variable naming a Python interpreter that has the official SDK installed.
pub const SDK_PYTHON_VAR: &str = "SPOT_SDK_PYTHON";

/// The directory holding this crate's Python scripts (`tests-integration/python`).
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// The Python interpreter that has the official SDK.
///
/// # Panics
///
/// If neither `SPOT_SDK_PYTHON` nor the venv exists, with instructions to create the venv.
pub fn sdk_python() -> PathBuf {
    if let Some(python) = std::env::var_os(SDK_PYTHON_VAR).filter(|v| !v.is_empty()) {
        return PathBuf::from(python);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests-integration lives inside the workspace directory");
    let python = workspace.join("target/sdk-venv/bin/python");
    if python.exists() {
        return python;
    }
    panic!(
        "the official Python SDK is needed: run `cargo xtask test` (or `cargo xtask python-env`) \
         first, or set {SDK_PYTHON_VAR} (no interpreter at {})",
        python.display()
    );
}

/// Runs `python/<script>` with `args` under [`sdk_python`] and returns its output.
///
/// # Panics
///
/// If the interpreter cannot be started.
pub fn run_script(script: &str, args: &[&str]) -> Output {
    let path = scripts_dir().join(script);
    Command::new(sdk_python())
        .arg(&path)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
}

/// Panics with the script's stdout and stderr unless it exited successfully.
pub fn assert_success(script: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{script} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A check script (`python/<script>`, reporting with `sdk_checks.py`) running under
/// [`sdk_python`] without blocking the async runtime that serves what it calls: its stdout is
/// read line by line, its stdin can be answered, and it is killed if it outlives its patience
/// or the test fails while it runs.
#[derive(Debug)]
pub struct CheckScript {
    command: String,
    patience: Duration,
    deadline: Instant,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    transcript: Vec<String>,
    timed_out: bool,
}

impl CheckScript {
    /// Starts `python -u python/<script> <args>`, which has `patience` to finish.
    ///
    /// # Panics
    ///
    /// If the interpreter cannot be started.
    pub fn start(script: &str, args: &[String], patience: Duration) -> Self {
        let path = scripts_dir().join(script);
        let mut child = Command::new(sdk_python())
            .arg("-u")
            .arg(&path)
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (lines_tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self {
            command: format!("{script} {}", args.join(" ")),
            patience,
            deadline: Instant::now() + patience,
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            transcript: Vec::new(),
            timed_out: false,
        }
    }

    /// The next line the script prints (kept for the report), or `None` once its output has
    /// ended or its patience has run out.
    pub async fn next_line(&mut self) -> Option<String> {
        if self.timed_out {
            return None;
        }
        match tokio::time::timeout_at(self.deadline, self.lines.recv()).await {
            Ok(Some(line)) => {
                self.transcript.push(line.clone());
                Some(line)
            }
            Ok(None) => None,
            Err(_) => {
                self.timed_out = true;
                None
            }
        }
    }

    /// Writes `answer` and a newline to the script's stdin.
    ///
    /// # Panics
    ///
    /// If the script's stdin is closed.
    pub fn answer(&mut self, answer: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish");
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("cannot answer {}: {e}", self.command));
    }

    /// Reads the rest of the script's output, closes its stdin and waits for it to exit (killing
    /// it once its patience has run out). `Ok(stdout)` if it exited 0 with a
    /// `N passed, 0 failed` summary as its last line and no `FAILED` line; otherwise `Err` with
    /// what went wrong and its whole output.
    pub async fn finish(mut self) -> Result<String, String> {
        while self.next_line().await.is_some() {}
        drop(self.stdin.take());
        let status = self.exit_status().await;
        let stderr = self
            .stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        let stdout = self.transcript.join("\n");
        let command = &self.command;
        let Some(status) = status else {
            return Err(format!(
                "{command} did not finish within {:?}:\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                self.patience
            ));
        };
        let summary = self
            .transcript
            .last()
            .map(String::as_str)
            .unwrap_or_default();
        if status.success() && summary.ends_with(" passed, 0 failed") && !stdout.contains("FAILED")
        {
            println!("--- {command}\n{stdout}");
            Ok(stdout)
        } else {
            Err(format!(
                "{command} failed ({status}, summary {summary:?}):\n--- stdout\n{stdout}\n\
                 --- stderr\n{stderr}"
            ))
        }
    }

    /// The exit status, or `None` (the script killed) if it does not exit before the deadline.
    async fn exit_status(&mut self) -> Option<ExitStatus> {
        if !self.timed_out {
            loop {
                if let Some(status) = self.child.try_wait().expect("script status") {
                    return Some(status);
                }
                if Instant::now() >= self.deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for CheckScript {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a check script that needs no answers: [`CheckScript::start`], then
/// [`CheckScript::finish`].
pub async fn run_checks(
    script: &str,
    args: &[String],
    patience: Duration,
) -> Result<String, String> {
    CheckScript::start(script, args, patience).finish().await
}

/// Asserts that a check script's `output` has a passed check (an `ok: ` line) naming each of
/// `checks`.
///
/// # Panics
///
/// If one has none, naming it, with the whole output.
pub fn assert_passed(output: &str, checks: &[&str]) {
    for check in checks {
        assert!(
            output
                .lines()
                .any(|line| line.starts_with("ok: ") && line.contains(check)),
            "no passed check for {check:?}:\n{output}"
        );
    }
}
