//! Turning a captured [`FrameData`] into the bytes an `ImageResponse` carries.
//!
//! [`encode`] takes a frame and an [`EncodeSpec`] (image format, pixel format, JPEG quality,
//! resize ratio) and returns an [`Encoded`] image. The steps, in order:
//!
//! 1. **Check.** A frame with no pixels (`cols == 0` or `rows == 0`) is refused, and so is a
//!    [`FrameData::Pixels`] whose data length is not `rows * cols * bytes_per_pixel`. The spec
//!    must be producible from the frame's pixel format ([`can_encode`]).
//! 2. **Pass through.** A [`FrameData::Jpeg`] is returned as it is (the same [`Bytes`], no copy)
//!    when the spec asks for JPEG, in the frame's own pixel format, without resizing; the quality
//!    is then the camera's. Likewise a [`FrameData::Pixels`] asked for RAW in its own pixel format
//!    without resizing. [`Encoded::passthrough`] tells when this happened.
//! 3. **Decode.** Otherwise a camera JPEG is decoded (pure Rust, `zune-jpeg`): to grey when the
//!    frame or the spec is greyscale, else to RGB. Its size must be the frame's.
//! 4. **Convert and resize.** Pixel conversions (see [`can_convert`]):
//!
//!    | from | to |
//!    | --- | --- |
//!    | `Greyscale8`, `Rgb8`, `Rgba8` | `Greyscale8`, `Rgb8`, `Rgba8` |
//!    | `Greyscale16` | `Greyscale16`, `Greyscale8` (the high byte: `v >> 8`) |
//!    | `Depth16` | `Depth16` only |
//!
//!    Colour to grey uses the official SDK's BT.601 integer luma
//!    (`(19595 R + 38470 G + 7471 B + 0x8000) >> 16`, alpha ignored); grey to colour copies the
//!    level into each channel; alpha is added as 255 and dropped without blending.
//!
//!    The output is `max(1, round(n * ratio))` pixels on each side ([`ResizeRatio::scale`]).
//!    Downscaling averages the covered source pixels (a box filter, like OpenCV's `INTER_AREA`
//!    that the official web-cam example uses), for 8-bit and 16-bit greys and colours; RGBA is
//!    averaged with its alpha premultiplied. Depth is resized by nearest neighbour instead, so no
//!    depth is invented across an edge or from invalid (zero) pixels. A ratio that leaves the
//!    size unchanged does no work. Resizing comes before conversion (fewer pixels to
//!    convert), except from RGBA (resizing with alpha costs the most) and from 16-bit grey
//!    (converting halves the data).
//! 5. **Encode.** RAW is the pixels, row-major and tightly packed (16-bit little-endian). JPEG
//!    carries only `Greyscale8` or `Rgb8` ([`can_encode`]); the encoder is chosen by
//!    [`JpegEncoder`]: pure Rust (`jpeg-encoder`) or libjpeg-turbo (the `turbojpeg` cargo
//!    feature). Colour uses 4:2:0 chroma subsampling below quality 90 and 4:4:4 from 90 up.
//!
//! The request rules of the official Python SDK are here too: [`jpeg_quality`] (the quality is
//! `quality_percent` when in (0, 100], else 75) and [`ResizeRatio::from_request`] (0 means full
//! size; outside [0, 1] is `STATUS_UNSUPPORTED_RESIZE_RATIO_REQUESTED`).
//!
//! Nothing here panics on any input: every failure is an [`EncodeError`].

mod convert;
mod jpeg;
mod resize;

use std::hash::{Hash, Hasher};

use prost::bytes::Bytes;

pub use convert::can_convert;
pub use jpeg::JpegEncoder;

use super::{FrameData, ImageFormat, PixelFormat};

/// The JPEG quality the official SDK uses for a request's `quality_percent`: the value rounded
/// when it is in (0, 100], else 75.
pub fn jpeg_quality(quality_percent: f64) -> u8 {
    if quality_percent > 0.0 && quality_percent <= 100.0 {
        // In (0, 100]: the cast cannot truncate; 0.4 rounds to 0, which JPEG cannot carry.
        (quality_percent.round() as u8).max(1)
    } else {
        DEFAULT_JPEG_QUALITY
    }
}

/// The JPEG quality when a request gives none (the official SDK's default).
pub const DEFAULT_JPEG_QUALITY: u8 = 75;

/// A resize ratio in (0, 1]: each side of the output is `max(1, round(n * ratio))` pixels.
///
/// Compared and hashed by its bits, which is exact since NaN, zero and negative values are not
/// allowed.
#[derive(Debug, Clone, Copy)]
pub struct ResizeRatio(f64);

/// A resize ratio outside (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("resize ratio {0} is not in (0, 1]")]
pub struct InvalidResizeRatio(pub f64);

impl ResizeRatio {
    /// Full size: no resizing.
    pub const FULL: Self = Self(1.0);

    /// The ratio, if it is in (0, 1].
    pub fn new(ratio: f64) -> Result<Self, InvalidResizeRatio> {
        if ratio > 0.0 && ratio <= 1.0 {
            Ok(Self(ratio))
        } else {
            Err(InvalidResizeRatio(ratio))
        }
    }

    /// The ratio for an `ImageRequest.resize_ratio`, by the official rule: 0 (unset) means full
    /// size; a value outside [0, 1] is refused (`STATUS_UNSUPPORTED_RESIZE_RATIO_REQUESTED`).
    pub fn from_request(resize_ratio: f64) -> Result<Self, InvalidResizeRatio> {
        if resize_ratio == 0.0 {
            Ok(Self::FULL)
        } else {
            Self::new(resize_ratio)
        }
    }

    /// The value, in (0, 1].
    pub fn get(self) -> f64 {
        self.0
    }

    /// The length of a side of `n` pixels after resizing: `max(1, round(n * ratio))`, never
    /// more than `n` (and 0 stays 0).
    pub fn scale(self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        // n * ratio <= n, so the cast cannot saturate.
        ((f64::from(n) * self.0).round() as u32).clamp(1, n)
    }
}

impl Default for ResizeRatio {
    fn default() -> Self {
        Self::FULL
    }
}

impl PartialEq for ResizeRatio {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for ResizeRatio {}

impl Hash for ResizeRatio {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

/// What to produce from a frame. Equal specs give equal output for a frame, so a service can
/// encode each distinct spec once per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodeSpec {
    /// The encoding.
    pub format: ImageFormat,
    /// The pixel layout of the output (of the decoded pixels, for JPEG).
    pub pixel_format: PixelFormat,
    /// JPEG quality, 1..=100 (values outside are clamped); ignored for RAW. See
    /// [`jpeg_quality`].
    pub quality: u8,
    /// How much to shrink the frame.
    pub resize_ratio: ResizeRatio,
}

impl EncodeSpec {
    /// RAW pixels in `pixel_format`, full size.
    pub fn raw(pixel_format: PixelFormat) -> Self {
        Self {
            format: ImageFormat::Raw,
            pixel_format,
            quality: DEFAULT_JPEG_QUALITY,
            resize_ratio: ResizeRatio::FULL,
        }
    }

    /// A JPEG of `pixel_format` pixels at `quality`, full size.
    pub fn jpeg(pixel_format: PixelFormat, quality: u8) -> Self {
        Self {
            format: ImageFormat::Jpeg,
            pixel_format,
            quality,
            resize_ratio: ResizeRatio::FULL,
        }
    }

    /// The same spec, resized by `ratio`.
    pub fn with_resize_ratio(self, ratio: ResizeRatio) -> Self {
        Self {
            resize_ratio: ratio,
            ..self
        }
    }

    /// Whether this spec can be produced from `source` pixels, with the error [`encode`] would
    /// return if not.
    pub fn check(&self, source: PixelFormat) -> Result<(), EncodeError> {
        if !can_convert(source, self.pixel_format) {
            return Err(EncodeError::UnsupportedPixelFormat {
                frame: source,
                requested: self.pixel_format,
            });
        }
        if !format_carries(self.format, self.pixel_format) {
            return Err(EncodeError::UnsupportedImageFormat {
                format: self.format,
                pixel_format: self.pixel_format,
            });
        }
        Ok(())
    }
}

/// Whether a frame of `source` pixels can be encoded as `format` with `pixel_format` pixels:
/// the pixels convert ([`can_convert`]), and JPEG carries only `Greyscale8` and `Rgb8` while
/// RAW carries every pixel format.
pub fn can_encode(source: PixelFormat, format: ImageFormat, pixel_format: PixelFormat) -> bool {
    can_convert(source, pixel_format) && format_carries(format, pixel_format)
}

/// Whether `format` can carry `pixel_format` pixels.
fn format_carries(format: ImageFormat, pixel_format: PixelFormat) -> bool {
    match format {
        ImageFormat::Raw => true,
        ImageFormat::Jpeg => matches!(pixel_format, PixelFormat::Greyscale8 | PixelFormat::Rgb8),
    }
}

/// An encoded image, ready for `bosdyn.api.Image`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Width, after resizing.
    pub cols: u32,
    /// Height, after resizing.
    pub rows: u32,
    /// The encoding of `data`.
    pub format: ImageFormat,
    /// The pixel layout (of the decoded pixels, for JPEG).
    pub pixel_format: PixelFormat,
    /// The image bytes.
    pub data: Bytes,
    /// Whether `data` is the frame's own bytes, untouched (no decode, conversion, resize or
    /// encode).
    pub passthrough: bool,
}

/// Why a frame could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The requested pixel format cannot be made from the frame's
    /// (`STATUS_UNSUPPORTED_PIXEL_FORMAT_REQUESTED`).
    #[error("cannot produce {requested:?} pixels from {frame:?}")]
    UnsupportedPixelFormat {
        /// The frame's pixel format.
        frame: PixelFormat,
        /// The requested pixel format.
        requested: PixelFormat,
    },
    /// The requested image format cannot carry the requested pixels
    /// (`STATUS_UNSUPPORTED_IMAGE_FORMAT_REQUESTED`).
    #[error("{format:?} cannot carry {pixel_format:?} pixels")]
    UnsupportedImageFormat {
        /// The requested image format.
        format: ImageFormat,
        /// The requested pixel format.
        pixel_format: PixelFormat,
    },
    /// A [`FrameData::Pixels`] whose data is not `rows * cols * bytes_per_pixel` long.
    #[error("frame data is {actual} bytes; {cols}x{rows} {format:?} needs {expected}")]
    DataLength {
        /// Width.
        cols: u32,
        /// Height.
        rows: u32,
        /// Pixel format.
        format: PixelFormat,
        /// The length the size and format need (saturated at `u64::MAX`).
        expected: u64,
        /// The data's length.
        actual: usize,
    },
    /// A frame with no pixels.
    #[error("frame is empty ({cols}x{rows})")]
    ZeroSize {
        /// Width.
        cols: u32,
        /// Height.
        rows: u32,
    },
    /// A camera JPEG that does not decode, or not to the frame's size.
    #[error("camera JPEG does not decode: {0}")]
    JpegDecode(String),
    /// An encoder or the resizer failed.
    #[error("encoding failed: {0}")]
    Failed(String),
}

/// Encodes `frame` per `spec`, with `jpeg` for any JPEG encoding. See the [module](self) docs
/// for the rules.
pub fn encode(
    frame: &FrameData,
    spec: &EncodeSpec,
    jpeg: JpegEncoder,
) -> Result<Encoded, EncodeError> {
    let (cols, rows, source) = (frame.cols(), frame.rows(), frame.pixel_format());
    if cols == 0 || rows == 0 {
        return Err(EncodeError::ZeroSize { cols, rows });
    }
    if let FrameData::Jpeg { .. } = frame
        && !matches!(source, PixelFormat::Greyscale8 | PixelFormat::Rgb8)
    {
        // A camera JPEG decodes to grey or RGB only: the frame is mislabelled.
        return Err(EncodeError::JpegDecode(format!(
            "a JPEG frame cannot hold {source:?} pixels"
        )));
    }
    spec.check(source)?;
    let (out_cols, out_rows) = (spec.resize_ratio.scale(cols), spec.resize_ratio.scale(rows));
    let resized = (out_cols, out_rows) != (cols, rows);
    let output = |data: Bytes, passthrough: bool| Encoded {
        cols: out_cols,
        rows: out_rows,
        format: spec.format,
        pixel_format: spec.pixel_format,
        data,
        passthrough,
    };

    let pixels = match frame {
        FrameData::Jpeg { data, .. } => {
            if spec.format == ImageFormat::Jpeg && spec.pixel_format == source && !resized {
                return Ok(output(data.clone(), true));
            }
            let grey =
                source == PixelFormat::Greyscale8 || spec.pixel_format == PixelFormat::Greyscale8;
            let decoded = jpeg::decode(data, cols, rows, grey)?;
            let format = if grey {
                PixelFormat::Greyscale8
            } else {
                PixelFormat::Rgb8
            };
            Pixels {
                cols,
                rows,
                format,
                data: Bytes::from(decoded),
            }
        }
        FrameData::Pixels { data, .. } => {
            check_length(cols, rows, source, data.len())?;
            if spec.format == ImageFormat::Raw && spec.pixel_format == source && !resized {
                return Ok(output(data.clone(), true));
            }
            Pixels {
                cols,
                rows,
                format: source,
                data: data.clone(),
            }
        }
    };

    let pixels = pixels.convert_and_resize(spec.pixel_format, out_cols, out_rows)?;
    match spec.format {
        ImageFormat::Raw => Ok(output(pixels.data, false)),
        ImageFormat::Jpeg => {
            let quality = spec.quality.clamp(1, 100);
            let data = jpeg.encode(&pixels.data, out_cols, out_rows, spec.pixel_format, quality)?;
            Ok(output(Bytes::from(data), false))
        }
    }
}

/// Fails unless `len` is `cols * rows * bytes_per_pixel`.
fn check_length(cols: u32, rows: u32, format: PixelFormat, len: usize) -> Result<(), EncodeError> {
    let expected = u64::from(cols)
        .saturating_mul(u64::from(rows))
        .saturating_mul(format.bytes_per_pixel() as u64);
    if u64::try_from(len).ok() == Some(expected) {
        Ok(())
    } else {
        Err(EncodeError::DataLength {
            cols,
            rows,
            format,
            expected,
            actual: len,
        })
    }
}

/// Raw pixels being worked on: the length matches the size and format.
struct Pixels {
    cols: u32,
    rows: u32,
    format: PixelFormat,
    data: Bytes,
}

impl Pixels {
    /// Converts to `target` and resizes to `cols` x `rows`, each step skipped when it has
    /// nothing to do. Resizing first leaves fewer pixels to convert, except from RGBA (resizing
    /// with alpha costs the most) and from 16-bit grey (converting is a byte pick that halves
    /// the data).
    fn convert_and_resize(
        self,
        target: PixelFormat,
        cols: u32,
        rows: u32,
    ) -> Result<Self, EncodeError> {
        if matches!(self.format, PixelFormat::Rgba8 | PixelFormat::Greyscale16) {
            self.convert(target)?.resize(cols, rows)
        } else {
            self.resize(cols, rows)?.convert(target)
        }
    }

    fn convert(self, target: PixelFormat) -> Result<Self, EncodeError> {
        if target == self.format {
            return Ok(self);
        }
        let data = convert::convert(&self.data, self.format, target).ok_or(
            EncodeError::UnsupportedPixelFormat {
                frame: self.format,
                requested: target,
            },
        )?;
        Ok(Self {
            format: target,
            data: Bytes::from(data),
            ..self
        })
    }

    fn resize(self, cols: u32, rows: u32) -> Result<Self, EncodeError> {
        if (cols, rows) == (self.cols, self.rows) {
            return Ok(self);
        }
        let data = resize::resize(&self.data, self.cols, self.rows, self.format, cols, rows)?;
        Ok(Self {
            cols,
            rows,
            data: Bytes::from(data),
            ..self
        })
    }
}

#[cfg(test)]
mod tests;
