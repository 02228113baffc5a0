//! JPEG encoding (pure Rust, or libjpeg-turbo with the `turbojpeg` feature) and decoding of
//! camera JPEGs (pure Rust, `zune-jpeg`).
//!
//! Both encoders write baseline JPEG with the standard tables scaled by quality, greyscale as one
//! component, colour as YCbCr with 4:2:0 chroma subsampling below quality 90 and 4:4:4 from 90
//! up (`jpeg-encoder`'s rule, applied to libjpeg-turbo as well).

use std::panic::{AssertUnwindSafe, catch_unwind};

use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::EncodeError;
use crate::image::PixelFormat;

/// From this quality up, colour JPEGs keep full-resolution chroma (4:4:4).
const FULL_CHROMA_QUALITY: u8 = 90;

/// Which JPEG encoder to use. [`JpegEncoder::default`] is the fastest one compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JpegEncoder {
    /// `jpeg-encoder`: pure Rust, with AVX2 when the CPU has it (about 3x slower than
    /// libjpeg-turbo).
    Pure,
    /// libjpeg-turbo through the `turbojpeg` crate (the `turbojpeg` cargo feature; building it
    /// needs cmake and nasm). It bundles libjpeg's `jpeg_*` symbols: a binary that also links
    /// mozjpeg (or another bundled libjpeg) fails to link.
    #[cfg(feature = "turbojpeg")]
    Turbo,
}

impl Default for JpegEncoder {
    /// `Turbo` when the `turbojpeg` feature is on, else `Pure`.
    fn default() -> Self {
        Self::ALL[0]
    }
}

impl JpegEncoder {
    /// Every encoder compiled in, the default first.
    pub const ALL: &'static [Self] = &[
        #[cfg(feature = "turbojpeg")]
        Self::Turbo,
        Self::Pure,
    ];

    /// A short name (`"jpeg-encoder"`, `"turbojpeg"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pure => "jpeg-encoder",
            #[cfg(feature = "turbojpeg")]
            Self::Turbo => "turbojpeg",
        }
    }

    /// Encodes `data` (`cols` x `rows` pixels of `format`, `Greyscale8` or `Rgb8`, length
    /// already checked) at `quality` (1..=100).
    pub(super) fn encode(
        self,
        data: &[u8],
        cols: u32,
        rows: u32,
        format: PixelFormat,
        quality: u8,
    ) -> Result<Vec<u8>, EncodeError> {
        let grey = match format {
            PixelFormat::Greyscale8 => true,
            PixelFormat::Rgb8 => false,
            other => {
                return Err(EncodeError::UnsupportedImageFormat {
                    format: crate::image::ImageFormat::Jpeg,
                    pixel_format: other,
                });
            }
        };
        let mut out = match self {
            Self::Pure => pure::encode(data, cols, rows, grey, quality),
            #[cfg(feature = "turbojpeg")]
            Self::Turbo => {
                turbo::encode(data, cols, rows, grey, quality).map_err(|e| e.to_string())
            }
        }
        .map_err(|e| EncodeError::Failed(format!("{}: {e}", self.name())))?;
        // Drop the spare capacity: the result may be cached for a while.
        out.shrink_to_fit();
        Ok(out)
    }
}

/// The pure-Rust encoder.
mod pure {
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    pub(super) fn encode(
        data: &[u8],
        cols: u32,
        rows: u32,
        grey: bool,
        quality: u8,
    ) -> Result<Vec<u8>, String> {
        let too_big = |_| format!("{cols}x{rows} is larger than JPEG allows (65535x65535)");
        let width = u16::try_from(cols).map_err(too_big)?;
        let height = u16::try_from(rows).map_err(too_big)?;
        // The output is about a tenth of the pixels at usual qualities: start there.
        let mut out = Vec::with_capacity(data.len() / 8 + 1024);
        let mut encoder = Encoder::new(&mut out, quality);
        encoder.set_sampling_factor(if quality < super::FULL_CHROMA_QUALITY {
            SamplingFactor::F_2_2
        } else {
            SamplingFactor::F_1_1
        });
        let color = if grey {
            ColorType::Luma
        } else {
            ColorType::Rgb
        };
        encoder
            .encode(data, width, height, color)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// libjpeg-turbo, with one compressor kept per thread.
#[cfg(feature = "turbojpeg")]
mod turbo {
    use std::cell::Cell;

    use turbojpeg::{Compressor, Image, PixelFormat, Subsamp};

    thread_local! {
        static COMPRESSOR: Cell<Option<Compressor>> = const { Cell::new(None) };
    }

    pub(super) fn encode(
        data: &[u8],
        cols: u32,
        rows: u32,
        grey: bool,
        quality: u8,
    ) -> Result<Vec<u8>, turbojpeg::Error> {
        let mut compressor = match COMPRESSOR.take() {
            Some(compressor) => compressor,
            None => Compressor::new()?,
        };
        compressor.set_quality(i32::from(quality))?;
        compressor.set_subsamp(if grey {
            Subsamp::Gray
        } else if quality < super::FULL_CHROMA_QUALITY {
            Subsamp::Sub2x2
        } else {
            Subsamp::None
        })?;
        let (format, bpp) = if grey {
            (PixelFormat::GRAY, 1)
        } else {
            (PixelFormat::RGB, 3)
        };
        let width = cols as usize;
        let image = Image {
            pixels: data,
            width,
            pitch: width * bpp,
            height: rows as usize,
            format,
        };
        // Copies exactly the JPEG out of libjpeg-turbo's buffer.
        let out = compressor.compress_to_vec(image)?;
        // Kept only after a success: a failed compressor is dropped.
        COMPRESSOR.set(Some(compressor));
        Ok(out)
    }
}

/// Decodes a camera JPEG that should be `cols` x `rows`, to grey (one byte per pixel) or RGB.
pub(super) fn decode(
    data: &[u8],
    cols: u32,
    rows: u32,
    grey: bool,
) -> Result<Vec<u8>, EncodeError> {
    let failed = |e: &dyn std::fmt::Display| EncodeError::JpegDecode(e.to_string());
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(if grey {
            ColorSpace::Luma
        } else {
            ColorSpace::RGB
        })
        // Never allocate more than the frame says it holds.
        .set_max_width(cols as usize)
        .set_max_height(rows as usize);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
    // The decoder is fuzzed, but a camera can send anything: a panic is a failed decode too.
    let decoded = catch_unwind(AssertUnwindSafe(|| -> Result<_, EncodeError> {
        decoder.decode_headers().map_err(|e| failed(&e))?;
        let (width, height) = decoder
            .dimensions()
            .ok_or_else(|| failed(&"no image size"))?;
        if (width as u64, height as u64) != (u64::from(cols), u64::from(rows)) {
            return Err(failed(&format!(
                "the JPEG is {width}x{height}, the frame says {cols}x{rows}"
            )));
        }
        decoder.decode().map_err(|e| failed(&e))
    }))
    .map_err(|_| failed(&"the decoder panicked"))??;
    let expected = cols as usize * rows as usize * if grey { 1 } else { 3 };
    if decoded.len() != expected {
        return Err(failed(&format!(
            "decoded {} bytes, expected {expected}",
            decoded.len()
        )));
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::encode::tests::{gradient_rgb, mean_abs_diff};

    #[test]
    fn default_is_the_fastest_compiled_in() {
        assert_eq!(JpegEncoder::ALL[0], JpegEncoder::default());
        #[cfg(feature = "turbojpeg")]
        assert_eq!(JpegEncoder::default(), JpegEncoder::Turbo);
        #[cfg(not(feature = "turbojpeg"))]
        assert_eq!(JpegEncoder::ALL, [JpegEncoder::Pure]);
    }

    #[test]
    fn every_encoder_round_trips_rgb_and_grey() {
        let (cols, rows) = (64, 48);
        let rgb = gradient_rgb(cols, rows, 0);
        let grey = super::super::convert::convert(&rgb, PixelFormat::Rgb8, PixelFormat::Greyscale8)
            .unwrap();
        for &encoder in JpegEncoder::ALL {
            for quality in [50, 75, 95] {
                let jpeg = encoder
                    .encode(&rgb, cols, rows, PixelFormat::Rgb8, quality)
                    .unwrap();
                let back = decode(&jpeg, cols, rows, false).unwrap();
                let diff = mean_abs_diff(&rgb, &back);
                assert!(diff < 3.0, "{encoder:?} q{quality} rgb: {diff}");

                let jpeg = encoder
                    .encode(&grey, cols, rows, PixelFormat::Greyscale8, quality)
                    .unwrap();
                let back = decode(&jpeg, cols, rows, true).unwrap();
                let diff = mean_abs_diff(&grey, &back);
                assert!(diff < 2.0, "{encoder:?} q{quality} grey: {diff}");
            }
        }
    }

    #[test]
    fn encoders_refuse_what_jpeg_cannot_carry() {
        for &encoder in JpegEncoder::ALL {
            let err = encoder
                .encode(&[0; 8], 2, 1, PixelFormat::Rgba8, 75)
                .unwrap_err();
            assert!(matches!(err, EncodeError::UnsupportedImageFormat { .. }));
        }
        let err = JpegEncoder::Pure
            .encode(&vec![0; 70_000], 70_000, 1, PixelFormat::Greyscale8, 75)
            .unwrap_err();
        assert!(matches!(err, EncodeError::Failed(_)), "{err}");
    }

    #[test]
    fn decode_refuses_garbage_and_wrong_sizes() {
        for data in [&b""[..], b"not a jpeg", &[0xff, 0xd8, 0xff, 0xc0, 0, 0]] {
            assert!(matches!(
                decode(data, 4, 4, false),
                Err(EncodeError::JpegDecode(_))
            ));
        }
        let rgb = gradient_rgb(16, 8, 0);
        let jpeg = JpegEncoder::Pure
            .encode(&rgb, 16, 8, PixelFormat::Rgb8, 75)
            .unwrap();
        assert!(decode(&jpeg, 16, 8, false).is_ok());
        for (cols, rows) in [(8, 16), (16, 9), (15, 8)] {
            let err = decode(&jpeg, cols, rows, false).unwrap_err();
            assert!(matches!(err, EncodeError::JpegDecode(_)), "{err}");
        }
        // Truncated to its first half: no panic, whatever the decoder makes of it.
        let _ = decode(&jpeg[..jpeg.len() / 2], 16, 8, false);
    }
}
