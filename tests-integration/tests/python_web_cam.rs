//! The official Python SDK (bosdyn-client 5.2.0, unmodified) drives the web cam example: the
//! service `web_cam::image_service` builds for `--device-name test-pattern`, hosted by
//! `web_cam::serve` with a robot (faults, time sync, kept registered in the directory), as the
//! `web-cam` binary runs it, in the robot emulator's directory as `web-cam-service`. The script
//! logs in to the emulator over TLS and reaches the service through the robot's proxy with its
//! `ImageClient`.
//!
//! `tests-integration/python/sdk_web_cam.py` does the checking: the listed source (size, pixel
//! formats, the Contrast spec); JPEG and RAW in every advertised pixel format (RAW pixel for
//! pixel against the test pattern, JPEG structure, and decoded by Pillow to the RAW image of the same frame);
//! acquisition times increasing, with the pattern moving as far as they are apart; Contrast 2
//! and other good values changing the pixels as the pattern defines; bad Contrast values and
//! types refused with `STATUS_CUSTOM_PARAMS_ERROR`, as the official validator says; an unknown
//! source answered `STATUS_UNKNOWN_CAMERA` with a `CODE_OK` header.
//!
//! All traffic stays on 127.0.0.1.

use std::time::Duration;

use spot_service::image::SERVICE_TYPE;
use spot_service::proto::bosdyn::api::service_entry;
use spot_service::robot::normalize_authority;
use tests_integration::Served;
use tests_integration::emulated::LoggedIn;
use tests_integration::python::{self, run_checks};
use web_cam::CameraOptions;

const SCRIPT: &str = "sdk_web_cam.py";
/// Bound on the run of the script (about sixty calls).
const SCRIPT_PATIENCE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdk_drives_the_web_cam_through_the_emulator() {
    let robot = LoggedIn::start().await;
    let service = web_cam::image_service(
        &[web_cam::TEST_PATTERN_DEVICE.to_owned()],
        &CameraOptions::default(),
    )
    .expect("the test pattern service");
    let served = {
        let robot = robot.robot.clone();
        Served::start(move |ready, stop| async move {
            web_cam::serve(Some(&robot), service, "127.0.0.1", 0, ready, stop).await
        })
        .await
    };
    let authority = normalize_authority(web_cam::AUTHORITY);
    let entry = robot
        .until_registered(web_cam::DIRECTORY_NAME, &authority, served.addr)
        .await;
    assert_eq!(
        entry.service_type,
        Some(service_entry::ServiceType::Type(SERVICE_TYPE.into()))
    );

    let run = run_checks(
        SCRIPT,
        &robot.script_args(web_cam::DIRECTORY_NAME, &authority),
        SCRIPT_PATIENCE,
    )
    .await;

    served.stop().await;
    assert!(
        !robot.is_registered(web_cam::DIRECTORY_NAME),
        "unregistered at shutdown"
    );
    robot.stop().await;
    let output = run.unwrap_or_else(|failure| panic!("{failure}"));
    python::assert_passed(
        &output,
        &[
            "ListImageSources lists test-pattern",
            "RAW is the test pattern pixel for pixel",
            "the pattern moves between RAW frames as far as their acquisition times are apart",
            "Contrast 2 (the official validator accepts it) gives the test pattern",
            "Contrast 300.0 is STATUS_CUSTOM_PARAMS_ERROR",
            "Contrast -1.0 is STATUS_CUSTOM_PARAMS_ERROR",
            "an integer Contrast is STATUS_CUSTOM_PARAMS_ERROR",
            "an unknown source is STATUS_UNKNOWN_CAMERA (UnknownImageSourceError), header CODE_OK",
        ],
    );
}
