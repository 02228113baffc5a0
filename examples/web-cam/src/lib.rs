//! The web cam image service: the spot-service port of the official
//! `custom_parameter_image_server.py`.
//!
//! One image source per `--device-name`, each with a "Contrast" parameter (a double from 0 to
//! 255; the background capture loop uses 1, as the official one does):
//!
//! - `test-pattern`: [`TestPattern`], synthetic moving colour bars, on any machine;
//! - a V4L2 camera (`0` for `/dev/video0`, or a path) with the `v4l` feature: MJPEG frames are
//!   passed through as the camera encoded them, YUYV frames are converted to RGB.
//!
//! The service is registered as `web-cam-service` (authority `robot-web-cam`); a source that
//! fails to capture raises the fault "Image Capture Failure for <source>" on the robot until it
//! works again.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use spot_service::ServiceRunner;
use spot_service::directory::KeepAliveConfig;
use spot_service::image::ImageService;
use spot_service::params::DictParams;
use spot_service::proto::bosdyn::api::Payload;
use spot_service::robot::Robot;
use spot_service::time_sync::{DEFAULT_WAIT_FOR_SYNC, TimeSyncConfig};

mod test_pattern;
#[cfg(feature = "v4l")]
pub mod v4l;

pub use test_pattern::{FailureSwitch, TestPattern, apply_contrast};

/// The directory name, as in the official example.
pub const DIRECTORY_NAME: &str = "web-cam-service";

/// The authority, as in the official example.
pub const AUTHORITY: &str = "robot-web-cam";

/// The `--device-name` that selects the synthetic [`TestPattern`].
pub const TEST_PATTERN_DEVICE: &str = "test-pattern";

/// The smallest contrast a request may ask for (the official `CONTRAST_MIN`).
pub const CONTRAST_MIN: f64 = 0.0;

/// The largest contrast a request may ask for (the official `CONTRAST_MAX`).
pub const CONTRAST_MAX: f64 = 255.0;

/// Every source's custom parameters: the official "Contrast" double.
#[derive(Debug, Clone, PartialEq, DictParams)]
pub struct WebCamParams {
    /// The contrast to capture with. The test pattern multiplies each value's distance from
    /// mid-grey by it (1 leaves the pattern as it is); a V4L2 camera gets it as its contrast
    /// control, and advertises the control's value when it opened as the default (through
    /// `ImageSource::default_params`), as the official example does. The official background
    /// capture thread always uses 1; the service's loop captures with the defaults, so that
    /// requests without parameters are answered from it.
    #[param(
        key = "Contrast",
        display_name = "Contrast",
        default = 1.0,
        min = 0.0,
        max = 255.0
    )]
    pub contrast: f64,
}

/// The service's registration: `web-cam-service`, authority `robot-web-cam`.
#[spot_service::image_service(name = "web-cam-service", authority = "robot-web-cam")]
#[derive(Debug, Clone, Copy, Default)]
pub struct WebCamService;

/// How the cameras are opened: the official `--codec`, `--res-width` and `--res-height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraOptions {
    /// The four-character video codec to ask the camera for (`MJPG`, `YUYV`); empty: keep the
    /// camera's current one.
    pub codec: String,
    /// Image width in pixels; not positive: the default (the camera's current width, 640 for
    /// the test pattern).
    pub res_width: i32,
    /// Image height in pixels; not positive: the default (the camera's current height, 480 for
    /// the test pattern).
    pub res_height: i32,
}

impl Default for CameraOptions {
    fn default() -> Self {
        Self {
            codec: String::new(),
            res_width: -1,
            res_height: -1,
        }
    }
}

impl CameraOptions {
    /// The requested size, when both dimensions are given (as the official example requires).
    pub fn resolution(&self) -> Option<(u32, u32)> {
        match (
            u32::try_from(self.res_width),
            u32::try_from(self.res_height),
        ) {
            (Ok(w), Ok(h)) if w > 0 && h > 0 => Some((w, h)),
            _ => None,
        }
    }

    /// The codec as four upper-case characters, `None` when empty.
    ///
    /// # Errors
    ///
    /// The codec is neither empty nor four characters (as the official example refuses it).
    pub fn fourcc(&self) -> anyhow::Result<Option<[u8; 4]>> {
        if self.codec.is_empty() {
            return Ok(None);
        }
        let upper = self.codec.to_ascii_uppercase();
        let bytes: [u8; 4] = upper.as_bytes().try_into().map_err(|_| {
            anyhow::anyhow!(
                "the codec argument provided ({}) is the incorrect format: it should be a four \
                 character string",
                self.codec
            )
        })?;
        Ok(Some(bytes))
    }
}

/// The image source name of a device, as the official `device_name_to_source_name`: `video<N>`
/// for an index `N`, the file name of a path (`/dev/video0` is `video0`).
pub fn source_name(device: &str) -> String {
    match device.parse::<u32>() {
        Ok(index) => format!("video{index}"),
        Err(_) => Path::new(device)
            .file_name()
            .map_or_else(|| device.to_owned(), |n| n.to_string_lossy().into_owned()),
    }
}

/// The devices to serve when no `--device-name` is given: the first camera (`0`, as official)
/// with the `v4l` feature, the test pattern without.
pub fn default_devices() -> Vec<String> {
    if cfg!(feature = "v4l") {
        vec!["0".to_owned()]
    } else {
        vec![TEST_PATTERN_DEVICE.to_owned()]
    }
}

/// The service with one source per device: [`TEST_PATTERN_DEVICE`] is a [`TestPattern`],
/// anything else a V4L2 camera (with the `v4l` feature).
///
/// # Errors
///
/// A camera cannot be opened, two devices have the same source name, or the codec is invalid.
pub fn image_service(
    devices: &[String],
    options: &CameraOptions,
) -> anyhow::Result<ImageService<WebCamService>> {
    options.fourcc()?;
    let mut service = ImageService::new(WebCamService);
    for device in devices {
        service = if device == TEST_PATTERN_DEVICE {
            service.source(TestPattern::from_options(options))?
        } else {
            add_camera(service, device, options)?
        };
    }
    Ok(service)
}

#[cfg(feature = "v4l")]
fn add_camera(
    service: ImageService<WebCamService>,
    device: &str,
    options: &CameraOptions,
) -> anyhow::Result<ImageService<WebCamService>> {
    let camera = v4l::V4lCamera::open(device, options)?;
    Ok(service.source(camera)?)
}

#[cfg(not(feature = "v4l"))]
fn add_camera(
    _service: ImageService<WebCamService>,
    device: &str,
    _options: &CameraOptions,
) -> anyhow::Result<ImageService<WebCamService>> {
    anyhow::bail!(
        "device {device:?}: this web-cam was built without the `v4l` feature; use \
         `--device-name {TEST_PATTERN_DEVICE}` or rebuild with `--features v4l`"
    )
}

/// How this payload describes itself when it registers (`payload` mode).
pub fn payload_description() -> Payload {
    Payload {
        name: "Web cam payload".into(),
        description: "spot-service web cam image service example".into(),
        ..Default::default()
    }
}

/// Hosts `service` on `port` (0: any free port) until `stop` resolves. With a `robot`
/// (authenticated), capture failures are raised as faults on the robot, acquisition times are
/// in robot time (time sync is started and waited for, up to 3 s), and the service is
/// registered in the robot's directory at `host_ip:<port>` and kept there; it is unregistered
/// before the server stops. `ready` is called with the bound address once the service is up.
pub async fn serve(
    robot: Option<&Robot>,
    service: ImageService<WebCamService>,
    host_ip: &str,
    port: u16,
    ready: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut time_sync = None;
    let service = match robot {
        Some(robot) => {
            let keeper = Arc::new(
                robot
                    .start_time_sync(TimeSyncConfig::default())
                    .await
                    .context("starting time sync")?,
            );
            if let Err(error) = keeper.wait_for_sync(DEFAULT_WAIT_FOR_SYNC).await {
                tracing::warn!(%error, "not yet in time sync with the robot");
            }
            time_sync = Some(keeper.clone());
            service
                .with_robot_faults(robot)
                .context("invalid robot channel")?
                .with_time_sync(keeper)
        }
        None => service,
    };
    let mut runner = ServiceRunner::builder()
        .port(port)
        .add_service(service)
        .build()
        .await?;
    if let Some(robot) = robot {
        runner
            .keep_registered_with_robot(robot, host_ip, KeepAliveConfig::default())
            .context("invalid robot channel")?;
        tracing::info!(
            name = DIRECTORY_NAME,
            %host_ip,
            port = runner.local_addr().port(),
            "registering with the robot's directory"
        );
    }
    ready(runner.local_addr());
    let served = runner.run_until(stop).await;
    if let Some(keeper) = time_sync {
        keeper.stop();
    }
    served?;
    Ok(())
}

/// How long a capture waits for a camera frame before it fails.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;
    use spot_service::proto::bosdyn::api::DictParam;

    #[test]
    fn source_names_as_official() {
        assert_eq!(source_name("0"), "video0");
        assert_eq!(source_name("12"), "video12");
        assert_eq!(source_name("/dev/video2"), "video2");
        assert_eq!(source_name("test-pattern"), "test-pattern");
    }

    #[test]
    fn contrast_spec_matches_the_official_one() {
        let spec = WebCamParams::dict_spec();
        let keys: Vec<&String> = spec.specs.keys().collect();
        assert_eq!(keys, ["Contrast"]);
        let child = &spec.specs["Contrast"];
        assert_eq!(child.ui_info.as_ref().unwrap().display_name, "Contrast");
        let params = WebCamParams::from_dict_param(&DictParam::default()).unwrap();
        assert_eq!(params.contrast, 1.0);
    }

    #[test]
    fn codec_must_have_four_characters() {
        let options = |codec: &str| CameraOptions {
            codec: codec.into(),
            ..CameraOptions::default()
        };
        assert_eq!(options("").fourcc().unwrap(), None);
        assert_eq!(options("mjpg").fourcc().unwrap(), Some(*b"MJPG"));
        assert!(options("MJPEG").fourcc().is_err());
    }

    #[test]
    fn resolution_needs_both_dimensions() {
        let options = |res_width, res_height| CameraOptions {
            res_width,
            res_height,
            ..CameraOptions::default()
        };
        assert_eq!(options(-1, -1).resolution(), None);
        assert_eq!(options(320, -1).resolution(), None);
        assert_eq!(options(320, 240).resolution(), Some((320, 240)));
    }
}
