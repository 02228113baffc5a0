//! Resizing raw pixels with `fast_image_resize` (SIMD).
//!
//! Greys and colours (8-bit and 16-bit) use a box filter: for downscaling, each output pixel is
//! the average of the source pixels it covers, weighted by coverage, like OpenCV's
//! `INTER_AREA`. RGBA is averaged with its alpha premultiplied. Depth uses nearest neighbour,
//! so no depth is invented between a foreground and a background or from invalid (zero) pixels.
//! 16-bit pixels are little-endian, whatever the host.

use std::cell::Cell;

use fast_image_resize::images::{Image, ImageRef, TypedImage, TypedImageRef};
use fast_image_resize::pixels::U16;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::EncodeError;
use crate::image::PixelFormat;

/// `data` (`cols` x `rows` pixels in `format`, length already checked) resized to `to_cols` x
/// `to_rows`.
pub(super) fn resize(
    data: &[u8],
    cols: u32,
    rows: u32,
    format: PixelFormat,
    to_cols: u32,
    to_rows: u32,
) -> Result<Vec<u8>, EncodeError> {
    let algorithm = match format {
        PixelFormat::Depth16 => ResizeAlg::Nearest,
        _ => ResizeAlg::Convolution(FilterType::Box),
    };
    let options = ResizeOptions::new()
        .resize_alg(algorithm)
        .use_alpha(format == PixelFormat::Rgba8);
    let failed = |e: &dyn std::fmt::Display| EncodeError::Failed(format!("resize: {e}"));
    // Reused per thread: its working buffers then stay allocated (and paged in) between frames.
    let mut resizer = RESIZER.take().unwrap_or_default();
    let resized = match format {
        PixelFormat::Greyscale8 | PixelFormat::Rgb8 | PixelFormat::Rgba8 => {
            let pixel_type = match format {
                PixelFormat::Greyscale8 => PixelType::U8,
                PixelFormat::Rgb8 => PixelType::U8x3,
                _ => PixelType::U8x4,
            };
            let src = ImageRef::new(cols, rows, data, pixel_type).map_err(|e| failed(&e))?;
            let mut dst = Image::new(to_cols, to_rows, pixel_type);
            resizer
                .resize(&src, &mut dst, &options)
                .map_err(|e| failed(&e))?;
            Ok(dst.into_vec())
        }
        PixelFormat::Depth16 | PixelFormat::Greyscale16 => {
            // Bytes carry no alignment and a fixed byte order: go through native u16s.
            let pixels: Vec<U16> = data
                .chunks_exact(2)
                .map(|p| U16::new(u16::from_le_bytes([p[0], p[1]])))
                .collect();
            let src = TypedImageRef::new(cols, rows, &pixels).map_err(|e| failed(&e))?;
            let mut dst = TypedImage::<U16>::new(to_cols, to_rows);
            resizer
                .resize_typed(&src, &mut dst, &options)
                .map_err(|e| failed(&e))?;
            Ok(dst
                .pixels()
                .iter()
                .flat_map(|p| p.0.to_le_bytes())
                .collect())
        }
    };
    // (An error above drops the resizer; the next call makes another.)
    RESIZER.set(Some(resizer));
    resized
}

thread_local! {
    static RESIZER: Cell<Option<Resizer>> = const { Cell::new(None) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le16(values: &[u16]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn halving_averages_blocks() {
        // 4x2 grey: two 2x2 blocks, averaging to 25 and 200.
        let grey = [0, 50, 200, 200, 50, 0, 200, 200];
        assert_eq!(
            resize(&grey, 4, 2, PixelFormat::Greyscale8, 2, 1).unwrap(),
            [25, 200]
        );
        // The same in RGB, one channel per block pattern.
        let rgb: Vec<u8> = grey.iter().flat_map(|&g| [g, 255 - g, 9]).collect();
        assert_eq!(
            resize(&rgb, 4, 2, PixelFormat::Rgb8, 2, 1).unwrap(),
            [25, 230, 9, 200, 55, 9]
        );
        let rgba: Vec<u8> = grey.iter().flat_map(|&g| [g, 255 - g, 9, 255]).collect();
        assert_eq!(
            resize(&rgba, 4, 2, PixelFormat::Rgba8, 2, 1).unwrap(),
            [25, 230, 9, 255, 200, 55, 9, 255]
        );
    }

    #[test]
    fn sixteen_bit_averages_little_endian() {
        let grey = le16(&[0, 1000, 60000, 60000, 1000, 0, 60000, 65535]);
        assert_eq!(
            resize(&grey, 4, 2, PixelFormat::Greyscale16, 2, 1).unwrap(),
            le16(&[500, 61384])
        );
    }

    #[test]
    fn depth_is_not_blended() {
        // A foreground (1000) beside a background (5000) and invalid pixels (0).
        let depth = le16(&[1000, 5000, 0, 5000, 1000, 5000, 0, 5000]);
        let out = resize(&depth, 4, 2, PixelFormat::Depth16, 2, 1).unwrap();
        for v in out.chunks_exact(2) {
            let v = u16::from_le_bytes([v[0], v[1]]);
            assert!([0, 1000, 5000].contains(&v), "invented depth {v}");
        }
    }

    #[test]
    fn odd_sizes() {
        let grey: Vec<u8> = (0..7 * 5).map(|i| i as u8).collect();
        let out = resize(&grey, 7, 5, PixelFormat::Greyscale8, 3, 2).unwrap();
        assert_eq!(out.len(), 6);
        let out = resize(&grey, 7, 5, PixelFormat::Greyscale8, 1, 1).unwrap();
        // The mean of 0..35.
        assert_eq!(out, [17]);
    }
}
