//! Project automation for spot-service: `cargo xtask <command>`.
//!
//! - `python-env`: create `target/sdk-venv` with the official Spot Python SDK (from PyPI).
//! - `test`: the full test suite: formatting, clippy, every crate's tests (including the
//!   wire-compatibility tests against the Python SDK and the macro UI tests) and doc tests. Uses
//!   the interpreter in `SPOT_SDK_PYTHON` if set, else the venv above.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "spot-service project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create (or update) target/sdk-venv with the official Python SDK used by the tests.
    PythonEnv,
    /// Run the whole test suite (fmt, clippy, tests, doc tests).
    Test {
        /// Skip `cargo fmt --check` and clippy.
        #[arg(long)]
        no_lint: bool,
    },
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {command:?}");
    let status = command
        .status()
        .with_context(|| format!("cannot start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed: {status}");
    }
    Ok(())
}

/// Creates the venv if needed and installs the pinned requirements; returns its Python.
fn python_env(root: &Path) -> Result<PathBuf> {
    let venv = root.join("target/sdk-venv");
    let python = venv.join("bin/python");
    let requirements = root.join("tests-integration/python/requirements.txt");
    let stamp = venv.join(".requirements-installed");
    let wanted = std::fs::read_to_string(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return Ok(python);
    }
    if !python.exists() {
        let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(Command::new(system_python).args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "--upgrade", "pip"]))?;
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(root);
    command
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    match cli.command {
        Cmd::PythonEnv => {
            let python = python_env(&root)?;
            println!("{}", python.display());
        }
        Cmd::Test { no_lint } => {
            // An interpreter given in SPOT_SDK_PYTHON is used as is; otherwise the venv.
            let python = match std::env::var_os("SPOT_SDK_PYTHON").filter(|p| !p.is_empty()) {
                Some(python) => PathBuf::from(python),
                None => python_env(&root)?,
            };
            if !no_lint {
                run(cargo(&root).args(["fmt", "--all", "--check"]))?;
                run(cargo(&root).args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]))?;
            }
            run(cargo(&root)
                .args(["test", "--workspace", "--all-targets"])
                .env("SPOT_SDK_PYTHON", &python))?;
            run(cargo(&root)
                .args(["test", "--workspace", "--doc"])
                .env("SPOT_SDK_PYTHON", &python))?;
            // The native JPEG encoder builds libjpeg-turbo, which needs cmake and nasm.
            if has_tools(&["cmake", "nasm"]) {
                if !no_lint {
                    run(cargo(&root).args([
                        "clippy",
                        "-p",
                        "spot-service",
                        "--features",
                        "turbojpeg",
                        "--all-targets",
                        "--",
                        "-D",
                        "warnings",
                    ]))?;
                }
                run(cargo(&root).args([
                    "test",
                    "-p",
                    "spot-service",
                    "--features",
                    "turbojpeg",
                    "--lib",
                    "image::",
                ]))?;
            } else if std::env::var_os("CI").is_some() {
                anyhow::bail!(
                    "cmake and nasm are needed for the turbojpeg tests (.ci/run installs them)"
                );
            } else {
                eprintln!(
                    "skipping the turbojpeg feature's tests: install cmake and nasm to run them"
                );
            }
        }
    }
    Ok(())
}

/// Whether every program in `tools` is on the PATH.
fn has_tools(tools: &[&str]) -> bool {
    tools.iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}
