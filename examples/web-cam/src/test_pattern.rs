//! [`TestPattern`]: a synthetic camera, for trying the service (and testing it) anywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use prost::bytes::Bytes;
use spot_service::image::{CaptureError, Frame, FrameData, ImageSource, PixelFormat, SourceInfo};

use crate::{CameraOptions, TEST_PATTERN_DEVICE, WebCamParams};

/// Default width, as a common web cam's.
pub const DEFAULT_COLS: u32 = 640;
/// Default height.
pub const DEFAULT_ROWS: u32 = 480;

/// The eight colour bars, left to right: white, yellow, cyan, green, magenta, red, blue, black.
const BARS: [[u8; 3]; 8] = [
    [235, 235, 235],
    [235, 235, 16],
    [16, 235, 235],
    [16, 235, 16],
    [235, 16, 235],
    [235, 16, 16],
    [16, 16, 235],
    [16, 16, 16],
];

/// Makes a [`TestPattern`]'s captures fail (as an unplugged camera's would) until
/// [`recover`](Self::recover) is called. Clones share the switch.
#[derive(Debug, Clone, Default)]
pub struct FailureSwitch(Arc<AtomicBool>);

impl FailureSwitch {
    /// Captures fail from now on.
    pub fn fail(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Captures work again.
    pub fn recover(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// Whether captures fail.
    pub fn is_failing(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Colour bars scrolling left to right (a full width every 4 s) under a white box with a black
/// border bouncing around (a quarter of the width per second): every capture differs from the
/// one before. RGB, also offered as greyscale.
#[derive(Debug, Clone)]
pub struct TestPattern {
    name: String,
    cols: u32,
    rows: u32,
    started: Instant,
    failure: FailureSwitch,
}

impl Default for TestPattern {
    fn default() -> Self {
        Self::new(DEFAULT_COLS, DEFAULT_ROWS)
    }
}

impl TestPattern {
    /// A `cols` x `rows` pattern named `test-pattern` (sizes below 8 are raised to 8).
    pub fn new(cols: u32, rows: u32) -> Self {
        Self {
            name: TEST_PATTERN_DEVICE.to_owned(),
            cols: cols.max(8),
            rows: rows.max(8),
            started: Instant::now(),
            failure: FailureSwitch::default(),
        }
    }

    /// The pattern at `--res-width` x `--res-height`, 640x480 unless both are given.
    pub fn from_options(options: &CameraOptions) -> Self {
        let (cols, rows) = options.resolution().unwrap_or((DEFAULT_COLS, DEFAULT_ROWS));
        Self::new(cols, rows)
    }

    /// Names the source `name` instead of `test-pattern`.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The switch that makes this source's captures fail.
    pub fn failure_switch(&self) -> FailureSwitch {
        self.failure.clone()
    }

    /// The RGB pixels `elapsed` after the start, with `contrast` applied.
    pub fn render(&self, elapsed: Duration, contrast: f64) -> Vec<u8> {
        let (cols, rows) = (u64::from(self.cols), u64::from(self.rows));
        let millis = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let scroll = millis * cols / 4000 % cols;
        // The box: a fifth of the smaller side, bouncing off the edges.
        let side = cols.min(rows) / 5;
        let travel = |range: u64, speed_num: u64, speed_den: u64| {
            let range = range.saturating_sub(side).max(1);
            let position = millis * speed_num / speed_den % (2 * range);
            if position < range {
                position
            } else {
                2 * range - position
            }
        };
        let box_x = travel(cols, cols, 4000);
        let box_y = travel(rows, rows, 3000);
        let border = (side / 10).max(1);
        let lut = contrast_table(contrast);
        let pixel = |rgb: [u8; 3]| rgb.map(|v| lut[usize::from(v)]);

        // Every row is the same scrolled bars, with the box drawn over some: one row is made
        // and copied (a frame every 50 ms should not cost a millisecond of CPU).
        let bars: Vec<u8> = (0..cols)
            .flat_map(|x| pixel(BARS[(((x + cols - scroll) % cols) * 8 / cols) as usize]))
            .collect();
        let (black, white) = (pixel([0, 0, 0]), pixel([255, 255, 255]));
        let mut data = Vec::with_capacity((cols * rows * 3) as usize);
        for y in 0..rows {
            let start = data.len();
            data.extend_from_slice(&bars);
            if !(box_y..box_y + side).contains(&y) {
                continue;
            }
            let edge_row = y < box_y + border || y >= box_y + side - border;
            let row = &mut data[start..];
            for x in box_x..(box_x + side).min(cols) {
                let edge = edge_row || x < box_x + border || x >= box_x + side - border;
                let at = (x * 3) as usize;
                row[at..at + 3].copy_from_slice(if edge { &black } else { &white });
            }
        }
        data
    }
}

/// Applies `contrast` to one 8-bit value: `128 + (value - 128) * contrast`, rounded and clamped
/// to 0..=255. At 1 the value is unchanged, at 0 everything is mid-grey, above 1 values move
/// away from mid-grey.
///
/// The official web cam does no arithmetic on the pixels: it hands the value to the camera's
/// own contrast control (`cv2.CAP_PROP_CONTRAST`, which on Linux is V4L2's
/// `V4L2_CID_CONTRAST`), as the V4L2 source (feature `v4l`) does. The test pattern has no camera, so
/// it plays the part of one with this gain about mid-grey, which leaves the image unchanged at
/// the background loop's contrast (1).
pub fn apply_contrast(value: u8, contrast: f64) -> u8 {
    let scaled = 128.0 + (f64::from(value) - 128.0) * contrast;
    // In range after the clamp, so the cast is exact.
    scaled.round().clamp(0.0, 255.0) as u8
}

fn contrast_table(contrast: f64) -> [u8; 256] {
    let mut table = [0; 256];
    for (value, out) in (0..=255u8).zip(table.iter_mut()) {
        *out = apply_contrast(value, contrast);
    }
    table
}

impl ImageSource for TestPattern {
    type Params = WebCamParams;

    fn info(&self) -> SourceInfo {
        SourceInfo::visual(
            self.name.clone(),
            self.cols,
            self.rows,
            [PixelFormat::Rgb8, PixelFormat::Greyscale8],
        )
    }

    fn capture(&self, params: &WebCamParams) -> Result<Frame, CaptureError> {
        if self.failure.is_failing() {
            return Err(format!("{}: the test pattern is switched to fail", self.name).into());
        }
        let captured_at = SystemTime::now();
        let data = self.render(self.started.elapsed(), params.contrast);
        Ok(Frame {
            data: FrameData::Pixels {
                cols: self.cols,
                rows: self.rows,
                format: PixelFormat::Rgb8,
                data: Bytes::from(data),
            },
            captured_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(contrast: f64) -> WebCamParams {
        WebCamParams { contrast }
    }

    #[test]
    fn contrast_is_a_gain_about_mid_grey() {
        assert_eq!(apply_contrast(200, 1.0), 200);
        assert_eq!(apply_contrast(16, 1.0), 16);
        assert_eq!(apply_contrast(200, 0.0), 128);
        assert_eq!(apply_contrast(138, 2.0), 148);
        assert_eq!(apply_contrast(118, 2.0), 108);
        assert_eq!(apply_contrast(200, 255.0), 255);
        assert_eq!(apply_contrast(10, 255.0), 0);
    }

    #[test]
    fn frames_have_the_size_and_move() {
        let pattern = TestPattern::new(64, 48);
        let first = pattern.render(Duration::ZERO, 1.0);
        assert_eq!(first.len(), 64 * 48 * 3);
        let later = pattern.render(Duration::from_millis(500), 1.0);
        assert_ne!(first, later, "the pattern moves");
        let flat = pattern.render(Duration::from_millis(500), 0.0);
        assert!(flat.iter().all(|&v| v == 128));
    }

    /// The pattern pixel by pixel, as its doc describes it.
    fn reference(pattern: &TestPattern, elapsed: Duration, contrast: f64) -> Vec<u8> {
        let (cols, rows) = (u64::from(pattern.cols), u64::from(pattern.rows));
        let millis = elapsed.as_millis() as u64;
        let scroll = millis * cols / 4000 % cols;
        let side = cols.min(rows) / 5;
        let travel = |range: u64, num: u64, den: u64| {
            let range = range.saturating_sub(side).max(1);
            let p = millis * num / den % (2 * range);
            if p < range { p } else { 2 * range - p }
        };
        let (box_x, box_y) = (travel(cols, cols, 4000), travel(rows, rows, 3000));
        let border = (side / 10).max(1);
        let mut data = Vec::new();
        for y in 0..rows {
            for x in 0..cols {
                let in_box =
                    (box_x..box_x + side).contains(&x) && (box_y..box_y + side).contains(&y);
                let edge = x < box_x + border
                    || x >= box_x + side - border
                    || y < box_y + border
                    || y >= box_y + side - border;
                let rgb = match (in_box, edge) {
                    (true, true) => [0, 0, 0],
                    (true, false) => [255, 255, 255],
                    _ => BARS[(((x + cols - scroll) % cols) * 8 / cols) as usize],
                };
                data.extend(rgb.map(|v| apply_contrast(v, contrast)));
            }
        }
        data
    }

    #[test]
    fn rendering_matches_the_pixel_by_pixel_pattern() {
        for (cols, rows) in [(640, 480), (64, 48), (8, 8), (100, 30)] {
            let pattern = TestPattern::new(cols, rows);
            for millis in [0, 137, 999, 2_500, 3_999, 12_345] {
                for contrast in [1.0, 0.0, 2.5] {
                    let elapsed = Duration::from_millis(millis);
                    assert!(
                        pattern.render(elapsed, contrast) == reference(&pattern, elapsed, contrast),
                        "{cols}x{rows} at {millis} ms, contrast {contrast}"
                    );
                }
            }
        }
    }

    #[test]
    fn default_is_640_by_480_rgb_then_grey() {
        let info = TestPattern::default().info();
        assert_eq!((info.cols, info.rows), (640, 480));
        assert_eq!(info.name, "test-pattern");
        assert_eq!(
            info.pixel_formats,
            [PixelFormat::Rgb8, PixelFormat::Greyscale8]
        );
    }

    #[test]
    fn the_switch_fails_and_recovers_captures() {
        let pattern = TestPattern::new(16, 16);
        let switch = pattern.failure_switch();
        assert!(pattern.capture(&params(1.0)).is_ok());
        switch.fail();
        assert!(pattern.capture(&params(1.0)).is_err());
        switch.recover();
        let frame = pattern.capture(&params(1.0)).unwrap();
        assert_eq!((frame.data.cols(), frame.data.rows()), (16, 16));
    }
}
