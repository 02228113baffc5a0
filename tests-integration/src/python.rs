//! The official Python SDK (bosdyn-api, bosdyn-client, bosdyn-mission 5.2.0 from PyPI), used by
//! the tests as an independent client and as the reference for wire compatibility.
//!
//! `cargo xtask python-env` (run by `cargo xtask test`) creates a venv with it in
//! `<workspace>/target/sdk-venv`; `SPOT_SDK_PYTHON` may point at another interpreter.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
