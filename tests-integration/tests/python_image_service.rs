//! The official Python SDK (bosdyn-client 5.2.0, unmodified) uses a spot-service image service
//! with its `ImageClient` and with the raw `ImageServiceStub`: directly (plain h2c to the
//! service's port) and through the robot emulator (TLS, authority routing, a logged-in user).
//!
//! `tests-integration/python/sdk_image_service.py` does the checking: the listed sources; JPEG
//! and RAW in every advertised pixel format from every source and from all sources in one
//! request (RAW pixels byte for byte, JPEG structure and size); fallbacks, resizing, quality;
//! acquisition times increasing; good and bad contrast values, each error compared with what the
//! official validator says; every per-image error status, with a CODE_OK header; and, while
//! this test makes the sources fail (the script prints `SWITCH fail` and waits for `OK`),
//! `STATUS_IMAGE_DATA_ERROR`, then recovery (`SWITCH recover`).
//!
//! All traffic stays on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use prost::bytes::Bytes;
use spot_service::ServiceRunner;
use spot_service::directory::{KeepAliveConfig, RegistrationStatus};
use spot_service::emulator::Emulator;
use spot_service::emulator::front::CA_CERT_FILE;
use spot_service::emulator::state::EmulatorConfig;
use spot_service::image::{
    CaptureError, Frame, FrameData, ImageService, ImageServiceInfo, ImageSource, PixelFormat,
    SERVICE_TYPE, SourceInfo,
};
use spot_service::params::DictParams;
use spot_service::payload::credentials::Secret;
use spot_service::proto::bosdyn::api::service_entry;
use spot_service::robot::{Robot, normalize_authority};
use tests_integration::python::{scripts_dir, sdk_python};
use tests_integration::spawn;

const SCRIPT: &str = "sdk_image_service.py";
const USERNAME: &str = "operator";
const PASSWORD: &str = "correct horse battery staple";
/// Bound on each step on the Rust side.
const PATIENCE: Duration = Duration::from_secs(20);
/// Bound on one run of the script (about a hundred calls).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(120);
/// How old a background frame may be and still be served: short, so that once the sources fail
/// the last good frame soon goes stale and requests capture (and fail) themselves.
const MAX_FRAME_AGE: Duration = Duration::from_millis(250);

async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

// The synthetic sources (sdk_image_service.py computes the same pixels).

#[derive(Debug, Clone, PartialEq, DictParams)]
struct Contrast {
    #[param(display_name = "Contrast", default = 1.0, min = 0.0, max = 255.0)]
    contrast: f64,
}

fn saturate(value: f64) -> u8 {
    value.clamp(0.0, 255.0) as u8
}

/// 40x30 RGB: red grows along a row, green down the columns, blue falls along the diagonal,
/// each scaled by the contrast. Offers RGB_U8 (native), GREYSCALE_U8 and RGBA_U8.
struct Colour {
    fail: Arc<AtomicBool>,
}

const COLOUR_COLS: u32 = 40;
const COLOUR_ROWS: u32 = 30;

impl ImageSource for Colour {
    type Params = Contrast;

    fn info(&self) -> SourceInfo {
        SourceInfo::visual(
            "colour",
            COLOUR_COLS,
            COLOUR_ROWS,
            [
                PixelFormat::Rgb8,
                PixelFormat::Greyscale8,
                PixelFormat::Rgba8,
            ],
        )
    }

    fn capture(&self, params: &Contrast) -> Result<Frame, CaptureError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err("the colour camera is unplugged".into());
        }
        let k = params.contrast;
        let mut data = Vec::with_capacity((COLOUR_COLS * COLOUR_ROWS * 3) as usize);
        for row in 0..COLOUR_ROWS {
            for col in 0..COLOUR_COLS {
                let (row, col) = (f64::from(row), f64::from(col));
                data.extend_from_slice(&[
                    saturate(6.0 * col * k),
                    saturate(8.0 * row * k),
                    255 - saturate((col + row) * k),
                ]);
            }
        }
        Ok(Frame {
            data: FrameData::Pixels {
                cols: COLOUR_COLS,
                rows: COLOUR_ROWS,
                format: PixelFormat::Rgb8,
                data: Bytes::from(data),
            },
            captured_at: SystemTime::now(),
        })
    }
}

/// 24x16 greyscale, `(16 row + col) mod 256`, without parameters. Offers GREYSCALE_U8 only.
struct Grey {
    fail: Arc<AtomicBool>,
}

const GREY_COLS: u32 = 24;
const GREY_ROWS: u32 = 16;

impl ImageSource for Grey {
    type Params = ();

    fn info(&self) -> SourceInfo {
        SourceInfo::visual("grey", GREY_COLS, GREY_ROWS, [PixelFormat::Greyscale8])
    }

    fn capture(&self, _: &()) -> Result<Frame, CaptureError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err("the grey camera is unplugged".into());
        }
        let data: Vec<u8> = (0..GREY_ROWS)
            .flat_map(|row| (0..GREY_COLS).map(move |col| ((row * 16 + col) % 256) as u8))
            .collect();
        Ok(Frame {
            data: FrameData::Pixels {
                cols: GREY_COLS,
                rows: GREY_ROWS,
                format: PixelFormat::Greyscale8,
                data: Bytes::from(data),
            },
            captured_at: SystemTime::now(),
        })
    }
}

#[spot_service::image_service(name = "python-images", authority = "python-images")]
struct PythonImages;

/// Both sources, failing while `fail` is set, with the default background capture loop.
fn image_service(fail: &Arc<AtomicBool>) -> ImageService<PythonImages> {
    ImageService::new(PythonImages)
        .source(Colour { fail: fail.clone() })
        .unwrap()
        .source(Grey { fail: fail.clone() })
        .unwrap()
        .with_max_frame_age(MAX_FRAME_AGE)
}

async fn runner(fail: &Arc<AtomicBool>) -> ServiceRunner {
    ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(image_service(fail))
        .build()
        .await
        .unwrap()
}

// The script.

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

fn answer(stdin: &mut ChildStdin) {
    stdin
        .write_all(b"OK\n")
        .and_then(|()| stdin.flush())
        .expect("answer the script");
}

/// Runs the script with `args` and `--failure-switch` (killed after [`SCRIPT_PATIENCE`]),
/// making the sources fail when it asks, without blocking the runtime that serves the service.
/// `Ok(stdout)` if it exited 0 with a `N passed, 0 failed` summary after asking for both
/// switches, otherwise `Err` with what went wrong and its whole output.
async fn run_script(mut args: Vec<String>, fail: &AtomicBool) -> Result<String, String> {
    args.push("--failure-switch".into());
    let script = scripts_dir().join(SCRIPT);
    let mut child = KillOnDrop(
        Command::new(sdk_python())
            .arg("-u")
            .arg(&script)
            .args(&args)
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

    let command = format!("{SCRIPT} {}", args.join(" "));
    let deadline = tokio::time::Instant::now() + SCRIPT_PATIENCE;
    let mut transcript: Vec<String> = Vec::new();
    let mut switches: Vec<String> = Vec::new();
    let mut timed_out = false;
    loop {
        let line = match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(_) => {
                timed_out = true;
                break;
            }
        };
        match line.strip_prefix("SWITCH ") {
            Some("fail") => {
                fail.store(true, Ordering::SeqCst);
                // Let the last good frame go stale, so that requests capture (and fail).
                tokio::time::sleep(MAX_FRAME_AGE * 2).await;
                answer(&mut stdin);
                switches.push("fail".into());
            }
            Some("recover") => {
                fail.store(false, Ordering::SeqCst);
                answer(&mut stdin);
                switches.push("recover".into());
            }
            Some(other) => {
                transcript.push(format!("(unknown switch {other:?})"));
            }
            None => {}
        }
        transcript.push(line);
    }
    drop(stdin);
    fail.store(false, Ordering::SeqCst);

    let status = if timed_out {
        None
    } else {
        loop {
            if let Some(status) = child.0.try_wait().expect("script status") {
                break Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if status.is_none() {
        let _ = child.0.kill();
        let _ = child.0.wait();
    }
    let stderr = stderr_reader.join().unwrap_or_default();
    let stdout = transcript.join("\n");
    let Some(status) = status else {
        return Err(format!(
            "{command} did not finish within {SCRIPT_PATIENCE:?}:\n--- stdout\n{stdout}\n\
             --- stderr\n{stderr}"
        ));
    };
    let summary = transcript.last().map(String::as_str).unwrap_or_default();
    if status.success()
        && summary.ends_with(" passed, 0 failed")
        && !stdout.contains("FAILED")
        && switches == ["fail", "recover"]
    {
        println!("--- {command}\n{stdout}");
        Ok(stdout)
    } else {
        Err(format!(
            "{command} failed ({status}, summary {summary:?}, switches {switches:?}):\n\
             --- stdout\n{stdout}\n--- stderr\n{stderr}"
        ))
    }
}

/// The checks every run must have passed (one line each per mode).
fn assert_covered(output: &str) {
    for status in [
        "STATUS_UNKNOWN_CAMERA",
        "STATUS_UNSUPPORTED_RESIZE_RATIO_REQUESTED",
        "STATUS_UNSUPPORTED_PIXEL_FORMAT_REQUESTED",
        "STATUS_UNSUPPORTED_IMAGE_FORMAT_REQUESTED",
        "CUSTOM_PARAMS_ERROR (CustomParamError)",
        "ImageClient raises ImageDataError",
        "acquisition times strictly increase",
        "every source, format and pixel format in one request",
        "every source is STATUS_OK with a new frame",
    ] {
        assert!(
            output
                .lines()
                .any(|l| l.starts_with("ok: ") && l.contains(status)),
            "no passed check for {status}:\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_gets_images_directly() {
    let fail = Arc::new(AtomicBool::new(false));
    let server = spawn(runner(&fail).await);
    let run = run_script(
        vec![
            "direct".into(),
            "--port".into(),
            server.addr.port().to_string(),
        ],
        &fail,
    )
    .await;
    bounded("the image service stops", server.stop()).await;
    let output = run.unwrap_or_else(|failure| panic!("{failure}"));
    assert_covered(&output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_gets_images_through_the_emulator() {
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

    let fail = Arc::new(AtomicBool::new(false));
    let mut runner = runner(&fail).await;
    let mut statuses = runner
        .keep_registered_with_robot(&robot, "127.0.0.1", KeepAliveConfig::default())
        .unwrap();
    let server = spawn(runner);
    bounded(
        "the image service registered",
        statuses[0].wait_for(RegistrationStatus::is_registered),
    )
    .await
    .expect("status channel open");
    let metadata = <PythonImages as ImageServiceInfo>::METADATA;
    let authority = normalize_authority(metadata.authority);
    let (entry, endpoint) = emulator
        .state()
        .registered_services()
        .into_iter()
        .find(|(entry, _)| entry.name == metadata.name)
        .expect("python-images in the emulator's directory");
    assert_eq!(
        entry.service_type,
        Some(service_entry::ServiceType::Type(SERVICE_TYPE.into()))
    );
    assert_eq!(entry.authority, authority);
    assert_eq!(endpoint.host_ip, "127.0.0.1");
    assert_eq!(endpoint.port, i32::from(server.addr.port()));

    let run = run_script(
        vec![
            "robot".into(),
            "--emulator-port".into(),
            emulator.port().to_string(),
            "--ca".into(),
            ca_file.to_str().expect("UTF-8 temporary path").to_owned(),
            "--username".into(),
            USERNAME.into(),
            "--password".into(),
            PASSWORD.into(),
            "--service".into(),
            metadata.name.into(),
            "--authority".into(),
            authority,
        ],
        &fail,
    )
    .await;

    bounded("the image service stops", server.stop()).await;
    assert!(
        emulator.state().service_entry(metadata.name).is_none(),
        "unregistered at shutdown"
    );
    bounded("the emulator stops", emulator.stop()).await;
    let output = run.unwrap_or_else(|failure| panic!("{failure}"));
    assert_covered(&output);
}
