//! Image services: sources, capture, encoding, custom parameters, faults.
//!
//! Implement [`ImageSource`] for each camera (a blocking `capture` that returns a [`Frame`] of
//! raw pixels, or of the camera's own JPEG), name the service with
//! [`#[image_service]`](macro@crate::image_service), and build an [`ImageService`] from any
//! number of sources. It answers `bosdyn.api.ImageService` as the official Python helpers
//! (`CameraBaseImageServicer`, `VisualImageSource`, the background capture thread) do:
//!
//! - **ListImageSources**: each source's name, size, image type, pixel formats (the first is
//!   the default), the image formats it can produce, its pinhole intrinsics when known, and the
//!   spec of its custom parameters.
//! - **GetImage**: each `ImageRequest` gets its own `ImageResponse`; the RPC header stays
//!   `CODE_OK` for per-image problems. In order: an unknown source is `UNKNOWN_CAMERA`; a
//!   `resize_ratio` outside (0, 1] (0 means full size) is `UNSUPPORTED_RESIZE_RATIO_REQUESTED`;
//!   custom parameters that fail the official validation are `CUSTOM_PARAMS_ERROR` with
//!   `custom_param_error`; a pixel format the source does not offer (after trying
//!   `fallback_formats` in order) is `UNSUPPORTED_PIXEL_FORMAT_REQUESTED`; an image format that
//!   cannot carry it (RLE, or JPEG of RGBA or 16-bit pixels) is
//!   `UNSUPPORTED_IMAGE_FORMAT_REQUESTED`; a capture or encoding that fails is
//!   `IMAGE_DATA_ERROR`. Format `UNKNOWN` means JPEG; JPEG quality is `quality_percent` when in
//!   (0, 100], else 75.
//! - Each shot carries the source, the capture parameters, the acquisition time (in robot time
//!   with [`ImageService::with_time_sync`]), rows and cols after resizing, format and pixel
//!   format.
//!
//! **Capture.** A background loop per source captures every [`DEFAULT_CAPTURE_INTERVAL`]
//! (started by the first request) and keeps the latest frame. A request with the loop's
//! parameters gets that frame; one with other parameters captures synchronously, and the loop
//! switches to them. A failure raises the service fault "Image Capture Failure for <source>"
//! ([`ImageService::with_robot_faults`]); the next success clears it.
//!
//! **Encoding** ([`encode`]): each frame is encoded at most once per distinct (format, quality,
//! pixel format, resize), on a blocking thread; concurrent and later requests for the same
//! frame share that result. A camera's JPEG is passed through untouched when the request asks
//! for JPEG at full size in the camera's pixel format.

pub mod encode;
mod frame;
mod runtime;
mod service;
mod source;
mod wire;

pub use frame::{Frame, FrameData, ImageFormat, PixelFormat};
pub use service::{
    DEFAULT_CAPTURE_INTERVAL, DEFAULT_MAX_FRAME_AGE, ImageService, ImageServiceInfo, SERVICE_TYPE,
    SourceError,
};
pub use source::{CaptureError, ImageSource, ImageType, PinholeIntrinsics, SourceInfo};
