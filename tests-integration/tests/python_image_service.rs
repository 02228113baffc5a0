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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use prost::bytes::Bytes;
use spot_service::ServiceRunner;
use spot_service::directory::{KeepAliveConfig, RegistrationStatus};
use spot_service::image::{
    CaptureError, Frame, FrameData, ImageService, ImageServiceInfo, ImageSource, PixelFormat,
    SERVICE_TYPE, SourceInfo,
};
use spot_service::params::DictParams;
use spot_service::proto::bosdyn::api::service_entry;
use spot_service::robot::normalize_authority;
use tests_integration::emulated::LoggedIn;
use tests_integration::python::{self, CheckScript};
use tests_integration::{bounded, spawn};

const SCRIPT: &str = "sdk_image_service.py";
/// Bound on one run of the script (about a hundred calls).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(120);
/// How old a background frame may be and still be served: short, so that once the sources fail
/// the last good frame soon goes stale and requests capture (and fail) themselves.
const MAX_FRAME_AGE: Duration = Duration::from_millis(250);

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

/// Runs the script with `args` and `--failure-switch`, making the sources fail when it asks.
/// `Ok(stdout)` if it passed every check after asking for both switches, otherwise `Err` with
/// what went wrong and its whole output.
async fn run_script(mut args: Vec<String>, fail: &AtomicBool) -> Result<String, String> {
    args.push("--failure-switch".into());
    let mut script = CheckScript::start(SCRIPT, &args, SCRIPT_PATIENCE);
    let mut switches: Vec<String> = Vec::new();
    while let Some(line) = script.next_line().await {
        let Some(switch) = line.strip_prefix("SWITCH ") else {
            continue;
        };
        match switch {
            "fail" => {
                fail.store(true, Ordering::SeqCst);
                // Let the last good frame go stale, so that requests capture (and fail).
                tokio::time::sleep(MAX_FRAME_AGE * 2).await;
            }
            "recover" => fail.store(false, Ordering::SeqCst),
            _ => {}
        }
        switches.push(switch.to_owned());
        script.answer("OK");
    }
    fail.store(false, Ordering::SeqCst);
    let output = script.finish().await?;
    if switches == ["fail", "recover"] {
        Ok(output)
    } else {
        Err(format!(
            "{SCRIPT} asked for the switches {switches:?}, not fail then recover:\n{output}"
        ))
    }
}

/// The checks every run must have passed (one line each per mode).
fn assert_covered(output: &str) {
    python::assert_passed(
        output,
        &[
            "STATUS_UNKNOWN_CAMERA",
            "STATUS_UNSUPPORTED_RESIZE_RATIO_REQUESTED",
            "STATUS_UNSUPPORTED_PIXEL_FORMAT_REQUESTED",
            "STATUS_UNSUPPORTED_IMAGE_FORMAT_REQUESTED",
            "CUSTOM_PARAMS_ERROR (CustomParamError)",
            "ImageClient raises ImageDataError",
            "acquisition times strictly increase",
            "every source, format and pixel format in one request",
            "every source is STATUS_OK with a new frame",
        ],
    );
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
    let robot = LoggedIn::start().await;

    let fail = Arc::new(AtomicBool::new(false));
    let mut runner = runner(&fail).await;
    let mut statuses = runner
        .keep_registered_with_robot(&robot.robot, "127.0.0.1", KeepAliveConfig::default())
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
    let entry = robot
        .until_registered(metadata.name, &authority, server.addr)
        .await;
    assert_eq!(
        entry.service_type,
        Some(service_entry::ServiceType::Type(SERVICE_TYPE.into()))
    );

    let run = run_script(robot.script_args(metadata.name, &authority), &fail).await;

    bounded("the image service stops", server.stop()).await;
    assert!(
        !robot.is_registered(metadata.name),
        "unregistered at shutdown"
    );
    robot.stop().await;
    let output = run.unwrap_or_else(|failure| panic!("{failure}"));
    assert_covered(&output);
}
