//! What an image source captures: a [`Frame`] of raw pixels or camera-encoded JPEG, with the
//! time it was taken.

use std::time::SystemTime;

use prost::bytes::Bytes;

use crate::proto::bosdyn::api::image;

/// The layout of raw pixels, as `bosdyn.api.Image.PixelFormat` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PixelFormat {
    /// One byte per pixel.
    Greyscale8,
    /// Three bytes per pixel: red, green, blue.
    Rgb8,
    /// Four bytes per pixel: red, green, blue, alpha.
    Rgba8,
    /// Two bytes per pixel (little-endian), a depth in the source's `depth_scale` units.
    Depth16,
    /// Two bytes per pixel (little-endian), a grey level.
    Greyscale16,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Greyscale8 => 1,
            Self::Rgb8 => 3,
            Self::Rgba8 => 4,
            Self::Depth16 | Self::Greyscale16 => 2,
        }
    }

    /// The proto enum value.
    pub fn to_proto(self) -> image::PixelFormat {
        match self {
            Self::Greyscale8 => image::PixelFormat::GreyscaleU8,
            Self::Rgb8 => image::PixelFormat::RgbU8,
            Self::Rgba8 => image::PixelFormat::RgbaU8,
            Self::Depth16 => image::PixelFormat::DepthU16,
            Self::Greyscale16 => image::PixelFormat::GreyscaleU16,
        }
    }

    /// From the proto enum value; `None` for `PIXEL_FORMAT_UNKNOWN` and unknown values.
    pub fn from_proto(value: i32) -> Option<Self> {
        match image::PixelFormat::try_from(value).ok()? {
            image::PixelFormat::GreyscaleU8 => Some(Self::Greyscale8),
            image::PixelFormat::RgbU8 => Some(Self::Rgb8),
            image::PixelFormat::RgbaU8 => Some(Self::Rgba8),
            image::PixelFormat::DepthU16 => Some(Self::Depth16),
            image::PixelFormat::GreyscaleU16 => Some(Self::Greyscale16),
            image::PixelFormat::Unknown => None,
        }
    }
}

/// The encodings a response can carry, as `bosdyn.api.Image.Format` names them (RLE is not
/// produced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageFormat {
    /// JPEG (8-bit greyscale or RGB).
    Jpeg,
    /// The pixels as they are, row-major, tightly packed.
    Raw,
}

impl ImageFormat {
    /// The proto enum value.
    pub fn to_proto(self) -> image::Format {
        match self {
            Self::Jpeg => image::Format::Jpeg,
            Self::Raw => image::Format::Raw,
        }
    }
}

/// The pixels of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameData {
    /// Raw pixels: `rows` rows of `cols` pixels in `format`, row-major, tightly packed
    /// (`data.len() == rows * cols * format.bytes_per_pixel()`).
    Pixels {
        /// Width.
        cols: u32,
        /// Height.
        rows: u32,
        /// Layout of each pixel.
        format: PixelFormat,
        /// The bytes.
        data: Bytes,
    },
    /// A JPEG the camera encoded itself (MJPEG): served as is when a request allows it, decoded
    /// otherwise.
    Jpeg {
        /// Width.
        cols: u32,
        /// Height.
        rows: u32,
        /// [`PixelFormat::Rgb8`] for a colour JPEG, [`PixelFormat::Greyscale8`] for a grey one.
        format: PixelFormat,
        /// The JPEG file.
        data: Bytes,
    },
}

impl FrameData {
    /// Width in pixels.
    pub fn cols(&self) -> u32 {
        match self {
            Self::Pixels { cols, .. } | Self::Jpeg { cols, .. } => *cols,
        }
    }

    /// Height in pixels.
    pub fn rows(&self) -> u32 {
        match self {
            Self::Pixels { rows, .. } | Self::Jpeg { rows, .. } => *rows,
        }
    }

    /// The pixel layout (of the decoded pixels, for a JPEG).
    pub fn pixel_format(&self) -> PixelFormat {
        match self {
            Self::Pixels { format, .. } | Self::Jpeg { format, .. } => *format,
        }
    }
}

/// One capture: the pixels and when they were taken (local clock; the service converts it to
/// robot time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The pixels.
    pub data: FrameData,
    /// When the image was taken.
    pub captured_at: SystemTime,
}
