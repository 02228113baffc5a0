//! Image services: sources, capture, encoding, custom parameters, faults.
//!
//! (Work in progress: module docs to come with the service.)

pub mod encode;
mod frame;
mod runtime;
mod service;
mod source;

pub use frame::{Frame, FrameData, ImageFormat, PixelFormat};
pub use service::{
    DEFAULT_CAPTURE_INTERVAL, DEFAULT_MAX_FRAME_AGE, DuplicateSource, ImageService,
    ImageServiceInfo, SERVICE_TYPE,
};
pub use source::{CaptureError, ImageSource, ImageType, PinholeIntrinsics, SourceInfo};
