//! [`ImageSource`]: a camera (or anything that makes images) as the image service sees it.

use crate::params::DictParams;
use crate::proto::bosdyn::api::{Vec2, image_source};

use super::frame::{Frame, PixelFormat};

/// What a source's images are of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    /// A visual image (greyscale or colour).
    Visual,
    /// A depth image (`PixelFormat::Depth16`, in units of [`SourceInfo::depth_scale`]).
    Depth,
}

/// Pinhole camera intrinsics, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PinholeIntrinsics {
    /// Focal length (x, y).
    pub focal_length: (f64, f64),
    /// Principal point (x, y).
    pub principal_point: (f64, f64),
    /// Skew (x, y); usually zero.
    pub skew: (f64, f64),
}

/// How a source describes itself in `ListImageSources`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// The source's name, unique in its service (e.g. `"video0"`).
    pub name: String,
    /// Height of its images at full size.
    pub rows: u32,
    /// Width of its images at full size.
    pub cols: u32,
    /// Visual or depth.
    pub image_type: ImageType,
    /// The pixel formats a request may ask for; the first one is what a request that names none
    /// gets.
    pub pixel_formats: Vec<PixelFormat>,
    /// For depth sources: depth units per metre (the proto's `depth_scale`).
    pub depth_scale: f64,
    /// The camera model, when known.
    pub pinhole: Option<PinholeIntrinsics>,
    /// The sensor frame's name in the robot's frame tree (`frame_name_image_sensor`), if any.
    pub frame_name: String,
}

impl SourceInfo {
    /// A visual source named `name` of `cols` x `rows` pixels, offering `pixel_formats` (first
    /// is the default).
    pub fn visual(
        name: impl Into<String>,
        cols: u32,
        rows: u32,
        pixel_formats: impl Into<Vec<PixelFormat>>,
    ) -> Self {
        Self {
            name: name.into(),
            rows,
            cols,
            image_type: ImageType::Visual,
            pixel_formats: pixel_formats.into(),
            depth_scale: 0.0,
            pinhole: None,
            frame_name: String::new(),
        }
    }

    /// Sets the pinhole intrinsics.
    #[must_use]
    pub fn with_pinhole(mut self, pinhole: PinholeIntrinsics) -> Self {
        self.pinhole = Some(pinhole);
        self
    }

    /// The `ImageSource` proto, without the custom parameter spec and image formats (the
    /// service fills those in).
    pub(crate) fn to_proto(&self) -> crate::proto::bosdyn::api::ImageSource {
        let vec2 = |(x, y): (f64, f64)| Some(Vec2 { x, y });
        crate::proto::bosdyn::api::ImageSource {
            name: self.name.clone(),
            cols: i32::try_from(self.cols).unwrap_or(i32::MAX),
            rows: i32::try_from(self.rows).unwrap_or(i32::MAX),
            depth_scale: self.depth_scale,
            image_type: match self.image_type {
                ImageType::Visual => image_source::ImageType::Visual,
                ImageType::Depth => image_source::ImageType::Depth,
            } as i32,
            pixel_formats: self
                .pixel_formats
                .iter()
                .map(|f| f.to_proto() as i32)
                .collect(),
            camera_models: self.pinhole.map(|p| {
                image_source::CameraModels::Pinhole(image_source::PinholeModel {
                    intrinsics: Some(image_source::pinhole_model::CameraIntrinsics {
                        focal_length: vec2(p.focal_length),
                        principal_point: vec2(p.principal_point),
                        skew: vec2(p.skew),
                    }),
                })
            }),
            ..Default::default()
        }
    }
}

/// Why a capture failed: any error, with its message shown in the fault and logs.
pub type CaptureError = Box<dyn std::error::Error + Send + Sync>;

/// A camera, or anything else that makes images: implement it and add it to an
/// [`ImageService`](super::ImageService).
///
/// `capture` is called from a blocking thread (never from the async runtime), by the service's
/// background capture loop and, for a request whose parameters differ from the loop's, directly.
/// It may be called concurrently: serialize access to the device inside if it needs it.
pub trait ImageSource: Send + Sync + 'static {
    /// The source's custom parameters (a `#[derive(DictParams)]` struct, or `()` for none);
    /// requests carry them in `ImageRequest.custom_params`, validated before `capture` sees
    /// them.
    type Params: DictParams + Clone + PartialEq;

    /// The source's description. Read once, when the service is built.
    fn info(&self) -> SourceInfo;

    /// Takes one image with `params`.
    fn capture(&self, params: &Self::Params) -> Result<Frame, CaptureError>;

    /// The parameters' values when a request leaves them out, if they are not the spec's own
    /// defaults: e.g. a camera's settings as found when it opened, as the official web-cam
    /// advertises its camera's contrast. They are advertised as the spec's defaults in
    /// ListImageSources, complete every request's parameters, and are what the background loop
    /// captures with. Read once, when the source is added: [`ImageService::source`] refuses
    /// values that do not fit the spec (see
    /// [`dict_spec_with_defaults`](crate::params::dict_spec_with_defaults)). By default,
    /// `None`: the spec's defaults.
    ///
    /// [`ImageService::source`]: super::ImageService::source
    fn default_params(&self) -> Option<Self::Params> {
        None
    }
}
