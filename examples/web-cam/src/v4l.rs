//! [`V4lCamera`]: a V4L2 camera (feature `v4l`), through the pure-Rust `linuxvideo` crate.
//!
//! MJPEG frames (`--codec MJPG`) are served as the camera encoded them
//! ([`FrameData::Jpeg`]); YUYV frames (`--codec YUYV`) are converted to RGB. The "Contrast"
//! parameter is written to the camera's contrast control (`V4L2_CID_CONTRAST`), as OpenCV's
//! `CAP_PROP_CONTRAST` does for the official example.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use anyhow::{Context as _, bail};
use linuxvideo::controls::Cid;
use linuxvideo::format::{Format, PixFormat, PixelFormat as V4lPixelFormat};
use linuxvideo::stream::ReadStream;
use linuxvideo::{BufType, Device};
use prost::bytes::Bytes;
use spot_service::image::{CaptureError, Frame, FrameData, ImageSource, PixelFormat, SourceInfo};

use crate::{CONTRAST_MAX, CONTRAST_MIN, CameraOptions, FRAME_TIMEOUT, WebCamParams, source_name};

/// What the camera sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// A JPEG per frame.
    Mjpeg,
    /// 4:2:2 YUV, `Y0 U Y1 V` per two pixels.
    Yuyv { bytes_per_line: u32 },
}

/// The camera's contrast control: its range, its value when the camera opened, and the value
/// last written.
struct Contrast {
    /// A second handle on the device, for its controls while the first one streams.
    device: Device,
    min: i32,
    max: i32,
    initial: Option<i32>,
    current: Option<i32>,
}

/// A V4L2 camera.
pub struct V4lCamera {
    name: String,
    path: PathBuf,
    cols: u32,
    rows: u32,
    encoding: Encoding,
    stream: Mutex<ReadStream>,
    contrast: Mutex<Option<Contrast>>,
}

impl std::fmt::Debug for V4lCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4lCamera")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("cols", &self.cols)
            .field("rows", &self.rows)
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

/// The device file of a `--device-name`: `/dev/video<N>` for an index, else the path itself.
pub fn device_path(device: &str) -> PathBuf {
    match device.parse::<u32>() {
        Ok(index) => PathBuf::from(format!("/dev/video{index}")),
        Err(_) => PathBuf::from(device),
    }
}

impl V4lCamera {
    /// Opens the camera `device` (an index or a path), negotiates the codec and size of
    /// `options` (`MJPG` or `YUYV`; empty: the camera's current format if it is one of them,
    /// else MJPG), and starts streaming.
    ///
    /// # Errors
    ///
    /// The device cannot be opened or does not stream MJPEG or YUYV.
    pub fn open(device: &str, options: &CameraOptions) -> anyhow::Result<Self> {
        let path = device_path(device);
        let open = || {
            Device::open(&path).with_context(|| format!("unable to open camera {}", path.display()))
        };
        let capture = open()?;
        let current = match capture.format(BufType::VIDEO_CAPTURE) {
            Ok(Format::VideoCapture(format)) => Some(format),
            _ => None,
        };
        let wanted = match options.fourcc()? {
            Some(code) if &code == b"MJPG" => V4lPixelFormat::MJPG,
            Some(code) if &code == b"YUYV" => V4lPixelFormat::YUYV,
            Some(code) => bail!(
                "codec {}: this web cam serves MJPG or YUYV",
                String::from_utf8_lossy(&code)
            ),
            None => match current.as_ref().map(PixFormat::pixel_format) {
                Some(format) if format == V4lPixelFormat::YUYV => V4lPixelFormat::YUYV,
                _ => V4lPixelFormat::MJPG,
            },
        };
        let (cols, rows) = options
            .resolution()
            .or_else(|| current.as_ref().map(|f| (f.width(), f.height())))
            .unwrap_or((640, 480));
        let capture = capture
            .video_capture(PixFormat::new(cols, rows, wanted))
            .with_context(|| format!("setting the format of {}", path.display()))?;
        let format = capture.format();
        let (cols, rows) = (format.width(), format.height());
        let encoding = match format.pixel_format() {
            f if f == V4lPixelFormat::MJPG => Encoding::Mjpeg,
            f if f == V4lPixelFormat::YUYV => Encoding::Yuyv {
                bytes_per_line: format.bytes_per_line().max(cols * 2),
            },
            other => bail!(
                "{} offers {other:?} instead of {wanted:?}: try another --codec",
                path.display()
            ),
        };
        let stream = capture
            .into_stream()
            .with_context(|| format!("starting to stream from {}", path.display()))?;

        let contrast = match open() {
            Ok(device) => contrast_control(device),
            Err(error) => {
                tracing::warn!(%error, "no contrast control");
                None
            }
        };
        let name = source_name(device);
        tracing::info!(
            source = name,
            device = %path.display(),
            cols,
            rows,
            ?encoding,
            "camera open"
        );
        Ok(Self {
            name,
            path,
            cols,
            rows,
            encoding,
            stream: Mutex::new(stream),
            contrast: Mutex::new(contrast),
        })
    }

    /// Writes `contrast` (rounded, clamped to the control's range) to the camera if it changed.
    fn set_contrast(&self, contrast: f64) {
        let mut control = self.contrast.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(control) = control.as_mut() else {
            return;
        };
        let value = (contrast.round() as i32).clamp(control.min, control.max);
        if control.current == Some(value) {
            return;
        }
        match control.device.write_control_raw(Cid::CONTRAST, value) {
            Ok(()) => control.current = Some(value),
            Err(error) => tracing::warn!(%error, value, "could not set the camera's contrast"),
        }
    }

    /// The latest frame: drops the frames queued before this call, then waits (at most
    /// [`FRAME_TIMEOUT`]) for the next one.
    fn read_frame(&self) -> Result<(Vec<u8>, SystemTime), CaptureError> {
        let mut stream = self.stream.lock().unwrap_or_else(PoisonError::into_inner);
        while !stream.will_block()? {
            stream.dequeue(|_| Ok(()))?;
        }
        let deadline = Instant::now() + FRAME_TIMEOUT;
        while stream.will_block()? {
            if Instant::now() > deadline {
                return Err(
                    format!("{}: no frame within {FRAME_TIMEOUT:?}", self.path.display()).into(),
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let captured_at = SystemTime::now();
        let data = stream.dequeue(|buffer| {
            if buffer.is_error() {
                return Err(std::io::Error::other("the driver flagged the frame as bad"));
            }
            Ok(buffer.to_vec())
        })?;
        Ok((data, captured_at))
    }
}

fn contrast_control(device: Device) -> Option<Contrast> {
    let description = device
        .controls()
        .filter_map(Result::ok)
        .find(|c| c.id() == Cid::CONTRAST)?;
    let initial = device
        .read_control_raw(Cid::CONTRAST)
        .inspect_err(|error| tracing::warn!(%error, "could not read the camera's contrast"))
        .ok();
    Some(Contrast {
        min: description.minimum(),
        max: description.maximum(),
        initial,
        current: initial,
        device,
    })
}

impl ImageSource for V4lCamera {
    type Params = WebCamParams;

    fn info(&self) -> SourceInfo {
        SourceInfo::visual(
            self.name.clone(),
            self.cols,
            self.rows,
            [PixelFormat::Rgb8, PixelFormat::Greyscale8],
        )
    }

    /// The camera's contrast when it opened, as the official example's spec default; the
    /// spec's own default (1) when the camera has none, or one outside the spec's range.
    fn default_params(&self) -> Option<WebCamParams> {
        let contrast = self.contrast.lock().unwrap_or_else(PoisonError::into_inner);
        let initial = f64::from(contrast.as_ref()?.initial?);
        if !(CONTRAST_MIN..=CONTRAST_MAX).contains(&initial) {
            tracing::warn!(
                contrast = initial,
                "the camera's contrast is outside the parameter's range: advertising 1"
            );
            return None;
        }
        Some(WebCamParams { contrast: initial })
    }

    fn capture(&self, params: &WebCamParams) -> Result<Frame, CaptureError> {
        self.set_contrast(params.contrast);
        let (data, captured_at) = self.read_frame()?;
        let data = match self.encoding {
            Encoding::Mjpeg => FrameData::Jpeg {
                cols: self.cols,
                rows: self.rows,
                format: PixelFormat::Rgb8,
                data: Bytes::from(data),
            },
            Encoding::Yuyv { bytes_per_line } => FrameData::Pixels {
                cols: self.cols,
                rows: self.rows,
                format: PixelFormat::Rgb8,
                data: Bytes::from(yuyv_to_rgb(&data, self.cols, self.rows, bytes_per_line)?),
            },
        };
        Ok(Frame { data, captured_at })
    }
}

/// YUYV (BT.601, limited range) to packed RGB.
///
/// # Errors
///
/// `data` is shorter than `rows` lines of `bytes_per_line`.
pub fn yuyv_to_rgb(
    data: &[u8],
    cols: u32,
    rows: u32,
    bytes_per_line: u32,
) -> Result<Vec<u8>, CaptureError> {
    let (cols, rows, stride) = (cols as usize, rows as usize, bytes_per_line as usize);
    if data.len() < stride * (rows.saturating_sub(1)) + cols * 2 {
        return Err(format!("short YUYV frame: {} bytes", data.len()).into());
    }
    let mut rgb = Vec::with_capacity(cols * rows * 3);
    for line in data.chunks(stride).take(rows) {
        for quad in line[..cols * 2].chunks_exact(4) {
            let (u, v) = (i32::from(quad[1]) - 128, i32::from(quad[3]) - 128);
            for y in [quad[0], quad[2]] {
                let c = 298 * (i32::from(y) - 16);
                let channel = |value: i32| ((value + 128) >> 8).clamp(0, 255) as u8;
                rgb.extend([
                    channel(c + 409 * v),
                    channel(c - 100 * u - 208 * v),
                    channel(c + 516 * u),
                ]);
            }
        }
    }
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_paths() {
        assert_eq!(device_path("0"), PathBuf::from("/dev/video0"));
        assert_eq!(device_path("/dev/video3"), PathBuf::from("/dev/video3"));
    }

    #[test]
    fn yuyv_grey_and_colours() {
        // Two pixels of white (Y 235), two of black (Y 16), no chroma; 4 bytes of padding.
        let data = [235, 128, 235, 128, 16, 128, 16, 128, 0, 0, 0, 0];
        let rgb = yuyv_to_rgb(&data, 4, 1, 12).unwrap();
        assert_eq!(rgb, [255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0]);
        assert!(yuyv_to_rgb(&data[..6], 4, 1, 12).is_err());
    }
}
