//! Tests of the whole pipeline, and helpers for the submodules' tests.

use std::collections::HashSet;

use super::*;
use PixelFormat::{Depth16, Greyscale8, Greyscale16, Rgb8, Rgba8};

const ALL_PIXEL_FORMATS: [PixelFormat; 5] = [Greyscale8, Rgb8, Rgba8, Depth16, Greyscale16];

/// A smooth RGB test pattern: red rises left to right, green top to bottom, blue along the
/// diagonal; `phase` shifts it (a moving pattern for benchmarks).
pub(super) fn gradient_rgb(cols: u32, rows: u32, phase: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(cols as usize * rows as usize * 3);
    for y in 0..rows {
        for x in 0..cols {
            let r = (x + phase) * 255 / cols.max(1);
            let g = y * 255 / rows.max(1);
            let b = (x + y + phase) * 255 / (cols + rows);
            out.extend([r as u8, g as u8, b as u8]);
        }
    }
    out
}

/// The mean absolute difference between two equally long byte strings.
pub(super) fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.len() as f64
}

/// Peak signal-to-noise ratio in dB.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

fn pixels(cols: u32, rows: u32, format: PixelFormat, data: Vec<u8>) -> FrameData {
    FrameData::Pixels {
        cols,
        rows,
        format,
        data: Bytes::from(data),
    }
}

fn rgb_frame(cols: u32, rows: u32) -> FrameData {
    pixels(cols, rows, Rgb8, gradient_rgb(cols, rows, 0))
}

fn half() -> ResizeRatio {
    ResizeRatio::new(0.5).unwrap()
}

/// A camera JPEG of the gradient.
fn jpeg_frame(cols: u32, rows: u32, format: PixelFormat) -> FrameData {
    let encoded = encode(
        &rgb_frame(cols, rows),
        &EncodeSpec::jpeg(format, 90),
        JpegEncoder::Pure,
    )
    .unwrap();
    FrameData::Jpeg {
        cols,
        rows,
        format,
        data: encoded.data,
    }
}

fn decode(encoded: &Encoded) -> Vec<u8> {
    assert_eq!(encoded.format, ImageFormat::Jpeg);
    jpeg::decode(
        &encoded.data,
        encoded.cols,
        encoded.rows,
        encoded.pixel_format == Greyscale8,
    )
    .unwrap()
}

#[test]
fn jpeg_quality_follows_the_official_rule() {
    for (percent, quality) in [
        (75.0, 75),
        (100.0, 100),
        (1.0, 1),
        (50.5, 51),
        (49.4, 49),
        (0.4, 1),
        (0.0, 75),
        (-3.0, 75),
        (100.5, 75),
        (f64::NAN, 75),
        (f64::INFINITY, 75),
    ] {
        assert_eq!(jpeg_quality(percent), quality, "{percent}");
    }
}

#[test]
fn resize_ratio_accepts_only_zero_to_one() {
    for ok in [1.0, 0.5, 1e-9, f64::MIN_POSITIVE] {
        assert_eq!(ResizeRatio::new(ok).unwrap().get(), ok);
    }
    for bad in [0.0, -0.0, -0.5, 1.0000001, 2.0, f64::NAN, f64::INFINITY] {
        assert!(ResizeRatio::new(bad).is_err(), "{bad}");
    }
    // The request rule: 0 (unset) is full size.
    assert_eq!(ResizeRatio::from_request(0.0), Ok(ResizeRatio::FULL));
    assert_eq!(ResizeRatio::from_request(0.25), ResizeRatio::new(0.25));
    assert!(ResizeRatio::from_request(-0.1).is_err());
    assert!(ResizeRatio::from_request(1.5).is_err());
    assert_eq!(ResizeRatio::default(), ResizeRatio::FULL);
}

#[test]
fn resize_ratio_scales_with_rounding_and_a_floor_of_one() {
    let r = |v| ResizeRatio::new(v).unwrap();
    assert_eq!(r(0.5).scale(640), 320);
    assert_eq!(r(0.5).scale(3), 2); // 1.5 rounds up
    assert_eq!(r(0.5).scale(1), 1);
    assert_eq!(r(1.0 / 3.0).scale(1000), 333);
    assert_eq!(r(2.0 / 3.0).scale(1920), 1280);
    assert_eq!(r(1e-9).scale(4000), 1);
    assert_eq!(r(1.0).scale(u32::MAX), u32::MAX);
    assert_eq!(r(0.5).scale(0), 0);
}

#[test]
fn specs_are_cache_keys() {
    let a = EncodeSpec::jpeg(Rgb8, 75).with_resize_ratio(half());
    let b = EncodeSpec {
        format: ImageFormat::Jpeg,
        pixel_format: Rgb8,
        quality: 75,
        resize_ratio: ResizeRatio::new(0.5).unwrap(),
    };
    assert_eq!(a, b);
    let set: HashSet<EncodeSpec> = [
        a,
        b,
        EncodeSpec::jpeg(Rgb8, 76).with_resize_ratio(half()),
        EncodeSpec::jpeg(Rgb8, 75),
        EncodeSpec::raw(Rgb8),
        EncodeSpec::raw(Greyscale8),
    ]
    .into_iter()
    .collect();
    assert_eq!(set.len(), 5);
}

#[test]
fn can_encode_table() {
    for source in ALL_PIXEL_FORMATS {
        for target in ALL_PIXEL_FORMATS {
            let convertible = can_convert(source, target);
            assert_eq!(
                can_encode(source, ImageFormat::Raw, target),
                convertible,
                "RAW {source:?} -> {target:?}"
            );
            assert_eq!(
                can_encode(source, ImageFormat::Jpeg, target),
                convertible && matches!(target, Greyscale8 | Rgb8),
                "JPEG {source:?} -> {target:?}"
            );
        }
    }
    assert!(can_encode(Rgba8, ImageFormat::Jpeg, Rgb8));
    assert!(can_encode(Greyscale16, ImageFormat::Jpeg, Greyscale8));
    assert!(!can_encode(Rgb8, ImageFormat::Jpeg, Rgba8));
    assert!(!can_encode(Depth16, ImageFormat::Jpeg, Depth16));
    assert!(!can_encode(Depth16, ImageFormat::Raw, Greyscale8));
    assert!(!can_encode(Greyscale8, ImageFormat::Raw, Greyscale16));
}

#[test]
fn raw_conversions_through_encode() {
    let rgb = pixels(2, 1, Rgb8, vec![255, 0, 0, 10, 200, 30]);
    let cases: [(PixelFormat, &[u8]); 3] = [
        (Greyscale8, &[76, 124]),
        (Rgba8, &[255, 0, 0, 255, 10, 200, 30, 255]),
        (Rgb8, &[255, 0, 0, 10, 200, 30]),
    ];
    for (target, expected) in cases {
        let out = encode(&rgb, &EncodeSpec::raw(target), JpegEncoder::Pure).unwrap();
        assert_eq!(
            (out.cols, out.rows, out.format, out.pixel_format),
            (2, 1, ImageFormat::Raw, target)
        );
        assert_eq!(&out.data[..], expected, "{target:?}");
        assert_eq!(out.passthrough, target == Rgb8);
    }

    let grey = pixels(3, 1, Greyscale8, vec![0, 7, 255]);
    let out = encode(&grey, &EncodeSpec::raw(Rgb8), JpegEncoder::Pure).unwrap();
    assert_eq!(&out.data[..], [0, 0, 0, 7, 7, 7, 255, 255, 255]);
    let out = encode(&grey, &EncodeSpec::raw(Rgba8), JpegEncoder::Pure).unwrap();
    assert_eq!(
        &out.data[..],
        [0, 0, 0, 255, 7, 7, 7, 255, 255, 255, 255, 255]
    );

    let rgba = pixels(1, 1, Rgba8, vec![10, 200, 30, 0]);
    let out = encode(&rgba, &EncodeSpec::raw(Rgb8), JpegEncoder::Pure).unwrap();
    assert_eq!(&out.data[..], [10, 200, 30]);
    let out = encode(&rgba, &EncodeSpec::raw(Greyscale8), JpegEncoder::Pure).unwrap();
    assert_eq!(&out.data[..], [124]);

    let grey16 = pixels(2, 1, Greyscale16, vec![0xff, 0x12, 0x00, 0xff]);
    let out = encode(&grey16, &EncodeSpec::raw(Greyscale8), JpegEncoder::Pure).unwrap();
    assert_eq!(&out.data[..], [0x12, 0xff]);
    let out = encode(&grey16, &EncodeSpec::raw(Greyscale16), JpegEncoder::Pure).unwrap();
    assert_eq!(&out.data[..], [0xff, 0x12, 0x00, 0xff]);

    let depth = pixels(2, 1, Depth16, vec![1, 2, 3, 4]);
    let out = encode(&depth, &EncodeSpec::raw(Depth16), JpegEncoder::Pure).unwrap();
    assert_eq!(&out.data[..], [1, 2, 3, 4]);
}

#[test]
fn resize_sizes_for_every_format() {
    for format in ALL_PIXEL_FORMATS {
        for (cols, rows, ratio, expected) in [
            (640, 480, 0.5, (320, 240)),
            (3, 3, 0.5, (2, 2)),
            (5, 1, 0.1, (1, 1)),
            (1920, 1080, 2.0 / 3.0, (1280, 720)),
            (7, 5, 0.999, (7, 5)),
        ] {
            // A flat image (opaque, for RGBA).
            let pixel: &[u8] = match format {
                Rgba8 => &[100, 100, 100, 255],
                _ => &[100; 3][..format.bytes_per_pixel()],
            };
            let frame = pixels(cols, rows, format, pixel.repeat((cols * rows) as usize));
            let spec = EncodeSpec::raw(format).with_resize_ratio(ResizeRatio::new(ratio).unwrap());
            let out = encode(&frame, &spec, JpegEncoder::Pure).unwrap();
            assert_eq!(
                (out.cols, out.rows),
                expected,
                "{format:?} {cols}x{rows} {ratio}"
            );
            let (c, r) = expected;
            assert_eq!(
                out.data.len(),
                c as usize * r as usize * format.bytes_per_pixel()
            );
            // A flat image stays flat.
            assert!(
                out.data.chunks_exact(pixel.len()).all(|p| p == pixel),
                "{format:?}"
            );
            // No size change, no work.
            assert_eq!(out.passthrough, expected == (cols, rows));
        }
    }
}

#[test]
fn resize_keeps_a_smooth_gradient() {
    let (cols, rows) = (200, 100);
    // Grey rising 0..=199 left to right.
    let data: Vec<u8> = (0..rows).flat_map(|_| 0..cols as u8).collect();
    let frame = pixels(cols, rows, Greyscale8, data);
    let spec = EncodeSpec::raw(Greyscale8).with_resize_ratio(half());
    let out = encode(&frame, &spec, JpegEncoder::Pure).unwrap();
    assert_eq!((out.cols, out.rows), (100, 50));
    for row in out.data.chunks_exact(100) {
        for (x, &v) in row.iter().enumerate() {
            // Output pixel x covers source pixels 2x and 2x + 1.
            let expected = 2.0 * x as f64 + 0.5;
            assert!((f64::from(v) - expected).abs() <= 1.0, "x={x}: {v}");
        }
    }

    // RGB, converted to grey while halving: matches converting the halved RGB.
    let frame = rgb_frame(64, 32);
    let grey_half = encode(&frame, &spec, JpegEncoder::Pure).unwrap();
    let rgb_half = encode(
        &frame,
        &EncodeSpec::raw(Rgb8).with_resize_ratio(half()),
        JpegEncoder::Pure,
    )
    .unwrap();
    let expected = convert::convert(&rgb_half.data, Rgb8, Greyscale8).unwrap();
    assert!(mean_abs_diff(&grey_half.data, &expected) < 1.0);
    let diff_max = grey_half
        .data
        .iter()
        .zip(&expected)
        .map(|(a, b)| a.abs_diff(*b))
        .max();
    assert!(diff_max <= Some(1));
}

#[test]
fn jpeg_output_decodes_close_to_the_input() {
    let (cols, rows) = (160, 120);
    let frame = rgb_frame(cols, rows);
    let rgb = gradient_rgb(cols, rows, 0);
    let grey = convert::convert(&rgb, Rgb8, Greyscale8).unwrap();
    for &encoder in JpegEncoder::ALL {
        let out = encode(&frame, &EncodeSpec::jpeg(Rgb8, 75), encoder).unwrap();
        assert_eq!((out.cols, out.rows, out.pixel_format), (cols, rows, Rgb8));
        assert!(!out.passthrough);
        assert!(out.data.starts_with(&[0xff, 0xd8]));
        let back = decode(&out);
        let db = psnr(&rgb, &back);
        assert!(db > 35.0, "{encoder:?}: {db} dB");

        let out = encode(&frame, &EncodeSpec::jpeg(Greyscale8, 75), encoder).unwrap();
        let back = decode(&out);
        assert_eq!(back.len(), (cols * rows) as usize);
        let db = psnr(&grey, &back);
        assert!(db > 38.0, "{encoder:?} grey: {db} dB");

        // Resized before encoding.
        let spec = EncodeSpec::jpeg(Rgb8, 75).with_resize_ratio(half());
        let out = encode(&frame, &spec, encoder).unwrap();
        assert_eq!((out.cols, out.rows), (80, 60));
        let back = decode(&out);
        let halved = encode(
            &frame,
            &EncodeSpec::raw(Rgb8).with_resize_ratio(half()),
            encoder,
        )
        .unwrap();
        assert!(mean_abs_diff(&halved.data, &back) < 2.0, "{encoder:?}");
    }
}

#[test]
fn rgba_and_grey16_sources_encode_to_jpeg() {
    let rgb = gradient_rgb(32, 16, 0);
    let rgba: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let frame = pixels(32, 16, Rgba8, rgba);
    let out = encode(&frame, &EncodeSpec::jpeg(Rgb8, 90), JpegEncoder::default()).unwrap();
    assert!(psnr(&rgb, &decode(&out)) > 35.0);

    let grey16: Vec<u8> = (0..32 * 16u32)
        .flat_map(|i| ((i * 100) as u16).to_le_bytes())
        .collect();
    let frame = pixels(32, 16, Greyscale16, grey16.clone());
    let out = encode(
        &frame,
        &EncodeSpec::jpeg(Greyscale8, 90),
        JpegEncoder::default(),
    )
    .unwrap();
    let high_bytes: Vec<u8> = grey16.chunks_exact(2).map(|p| p[1]).collect();
    assert!(mean_abs_diff(&high_bytes, &decode(&out)) < 2.0);
}

#[test]
fn quality_changes_the_size() {
    let frame = rgb_frame(320, 240);
    for &encoder in JpegEncoder::ALL {
        let sizes: Vec<usize> = [10, 50, 90, 100]
            .into_iter()
            .map(|q| {
                encode(&frame, &EncodeSpec::jpeg(Rgb8, q), encoder)
                    .unwrap()
                    .data
                    .len()
            })
            .collect();
        assert!(
            sizes.windows(2).all(|w| w[0] < w[1]),
            "{encoder:?}: {sizes:?}"
        );
        // Out-of-range qualities are clamped, not refused.
        let q0 = encode(&frame, &EncodeSpec::jpeg(Rgb8, 0), encoder).unwrap();
        let q1 = encode(&frame, &EncodeSpec::jpeg(Rgb8, 1), encoder).unwrap();
        assert_eq!(q0.data, q1.data);
        let q200 = encode(&frame, &EncodeSpec::jpeg(Rgb8, 200), encoder).unwrap();
        assert_eq!(q200.data.len(), sizes[3]);
    }
}

#[test]
fn camera_jpeg_passes_through_untouched() {
    for format in [Rgb8, Greyscale8] {
        let frame = jpeg_frame(64, 48, format);
        let FrameData::Jpeg { data, .. } = &frame else {
            unreachable!()
        };
        // Any quality: the camera's is kept.
        for quality in [10, 75] {
            let out = encode(
                &frame,
                &EncodeSpec::jpeg(format, quality),
                JpegEncoder::Pure,
            )
            .unwrap();
            assert!(out.passthrough);
            assert_eq!(out.data.as_ptr(), data.as_ptr());
            assert_eq!(out.data.len(), data.len());
            assert_eq!(
                (out.cols, out.rows, out.format, out.pixel_format),
                (64, 48, ImageFormat::Jpeg, format)
            );
        }
    }
}

#[test]
fn raw_full_size_in_the_frame_format_is_not_copied() {
    let frame = rgb_frame(64, 48);
    let FrameData::Pixels { data, .. } = &frame else {
        unreachable!()
    };
    let out = encode(&frame, &EncodeSpec::raw(Rgb8), JpegEncoder::Pure).unwrap();
    assert!(out.passthrough);
    assert_eq!(out.data.as_ptr(), data.as_ptr());
    // A ratio too close to 1 to change the size is no work either.
    let spec = EncodeSpec::raw(Rgb8).with_resize_ratio(ResizeRatio::new(0.999).unwrap());
    let out = encode(&frame, &spec, JpegEncoder::Pure).unwrap();
    assert_eq!(out.data.as_ptr(), data.as_ptr());
}

#[test]
fn camera_jpeg_is_decoded_when_the_spec_differs() {
    let rgb = gradient_rgb(64, 48, 0);
    let frame = jpeg_frame(64, 48, Rgb8);

    let out = encode(&frame, &EncodeSpec::raw(Rgb8), JpegEncoder::Pure).unwrap();
    assert!(!out.passthrough);
    assert_eq!((out.cols, out.rows, out.format), (64, 48, ImageFormat::Raw));
    assert!(psnr(&rgb, &out.data) > 35.0);

    let out = encode(&frame, &EncodeSpec::raw(Rgba8), JpegEncoder::Pure).unwrap();
    assert_eq!(out.data.len(), 64 * 48 * 4);
    assert!(out.data.chunks_exact(4).all(|p| p[3] == 255));

    let grey = convert::convert(&rgb, Rgb8, Greyscale8).unwrap();
    for &encoder in JpegEncoder::ALL {
        let out = encode(&frame, &EncodeSpec::jpeg(Greyscale8, 90), encoder).unwrap();
        assert!(!out.passthrough);
        assert!(mean_abs_diff(&grey, &decode(&out)) < 2.0);

        let spec = EncodeSpec::jpeg(Rgb8, 90).with_resize_ratio(half());
        let out = encode(&frame, &spec, encoder).unwrap();
        assert!(!out.passthrough);
        assert_eq!((out.cols, out.rows), (32, 24));
        assert_eq!(decode(&out).len(), 32 * 24 * 3);
    }

    // A grey camera JPEG asked for colour.
    let frame = jpeg_frame(64, 48, Greyscale8);
    let out = encode(&frame, &EncodeSpec::raw(Rgb8), JpegEncoder::Pure).unwrap();
    assert!(
        out.data
            .chunks_exact(3)
            .all(|p| p[0] == p[1] && p[1] == p[2])
    );
    assert!(
        mean_abs_diff(
            &grey,
            &out.data.iter().step_by(3).copied().collect::<Vec<_>>()
        ) < 2.0
    );
}

#[test]
fn unsupported_formats_are_refused() {
    let frame = rgb_frame(4, 4);
    let err = encode(&frame, &EncodeSpec::raw(Depth16), JpegEncoder::Pure).unwrap_err();
    assert_eq!(
        err,
        EncodeError::UnsupportedPixelFormat {
            frame: Rgb8,
            requested: Depth16
        }
    );
    let err = encode(&frame, &EncodeSpec::jpeg(Rgba8, 75), JpegEncoder::Pure).unwrap_err();
    assert_eq!(
        err,
        EncodeError::UnsupportedImageFormat {
            format: ImageFormat::Jpeg,
            pixel_format: Rgba8
        }
    );
    let depth = pixels(2, 2, Depth16, vec![0; 8]);
    for spec in [
        EncodeSpec::raw(Greyscale8),
        EncodeSpec::jpeg(Greyscale8, 75),
    ] {
        let err = encode(&depth, &spec, JpegEncoder::Pure).unwrap_err();
        assert!(
            matches!(err, EncodeError::UnsupportedPixelFormat { .. }),
            "{err}"
        );
    }
    let err = encode(&depth, &EncodeSpec::jpeg(Depth16, 75), JpegEncoder::Pure).unwrap_err();
    assert!(
        matches!(err, EncodeError::UnsupportedImageFormat { .. }),
        "{err}"
    );
    // check() gives the same answers before any capture.
    assert_eq!(EncodeSpec::jpeg(Depth16, 75).check(Depth16), Err(err));
    assert_eq!(EncodeSpec::raw(Depth16).check(Depth16), Ok(()));
}

#[test]
fn bad_frames_are_refused() {
    let spec = EncodeSpec::raw(Rgb8);
    for (cols, rows) in [(0, 4), (4, 0), (0, 0)] {
        let err = encode(&pixels(cols, rows, Rgb8, vec![]), &spec, JpegEncoder::Pure).unwrap_err();
        assert_eq!(err, EncodeError::ZeroSize { cols, rows });
    }
    for len in [0, 11, 13, 48] {
        let err = encode(&pixels(2, 2, Rgb8, vec![0; len]), &spec, JpegEncoder::Pure).unwrap_err();
        assert_eq!(
            err,
            EncodeError::DataLength {
                cols: 2,
                rows: 2,
                format: Rgb8,
                expected: 12,
                actual: len
            }
        );
    }
    // Sizes whose byte count overflows: refused, no panic.
    let huge = pixels(u32::MAX, u32::MAX, Rgba8, vec![0; 16]);
    let err = encode(&huge, &EncodeSpec::raw(Rgba8), JpegEncoder::Pure).unwrap_err();
    assert!(matches!(err, EncodeError::DataLength { .. }), "{err}");

    let garbage = FrameData::Jpeg {
        cols: 4,
        rows: 4,
        format: Rgb8,
        data: Bytes::from_static(b"\xff\xd8 not really a JPEG"),
    };
    let err = encode(&garbage, &spec, JpegEncoder::Pure).unwrap_err();
    assert!(matches!(err, EncodeError::JpegDecode(_)), "{err}");
    // The pass-through does not look inside.
    assert!(encode(&garbage, &EncodeSpec::jpeg(Rgb8, 75), JpegEncoder::Pure).is_ok());

    // A camera JPEG whose size is not the frame's.
    let FrameData::Jpeg { data, .. } = jpeg_frame(16, 8, Rgb8) else {
        unreachable!()
    };
    let wrong = FrameData::Jpeg {
        cols: 8,
        rows: 8,
        format: Rgb8,
        data,
    };
    let err = encode(&wrong, &spec, JpegEncoder::Pure).unwrap_err();
    assert!(matches!(err, EncodeError::JpegDecode(_)), "{err}");

    // A camera JPEG cannot hold RGBA or 16-bit pixels.
    for format in [Rgba8, Depth16, Greyscale16] {
        let frame = FrameData::Jpeg {
            cols: 4,
            rows: 4,
            format,
            data: Bytes::new(),
        };
        let err = encode(&frame, &EncodeSpec::raw(format), JpegEncoder::Pure).unwrap_err();
        assert!(matches!(err, EncodeError::JpegDecode(_)), "{err}");
    }
}

#[test]
fn no_input_panics() {
    // Every format, spec and small size, with data of the right length and of wrong ones.
    let ratios = [ResizeRatio::FULL, half(), ResizeRatio::new(0.01).unwrap()];
    for source in ALL_PIXEL_FORMATS {
        for (cols, rows) in [(1, 1), (1, 7), (7, 1), (3, 5), (17, 9)] {
            let right = cols as usize * rows as usize * source.bytes_per_pixel();
            for len in [right, right - 1, right + 1] {
                let data: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
                let frame = pixels(cols, rows, source, data);
                for target in ALL_PIXEL_FORMATS {
                    for format in [ImageFormat::Raw, ImageFormat::Jpeg] {
                        for ratio in ratios {
                            for &encoder in JpegEncoder::ALL {
                                let spec = EncodeSpec {
                                    format,
                                    pixel_format: target,
                                    quality: 75,
                                    resize_ratio: ratio,
                                };
                                let result = encode(&frame, &spec, encoder);
                                let expect_ok = len == right && can_encode(source, format, target);
                                assert_eq!(result.is_ok(), expect_ok, "{result:?}");
                                if let Ok(out) = result {
                                    assert_eq!(
                                        (out.cols, out.rows),
                                        (ratio.scale(cols), ratio.scale(rows))
                                    );
                                    if format == ImageFormat::Raw {
                                        assert_eq!(
                                            out.data.len(),
                                            out.cols as usize
                                                * out.rows as usize
                                                * target.bytes_per_pixel()
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // Corrupted camera JPEGs: every truncation and some flipped bytes.
    let FrameData::Jpeg { data, .. } = jpeg_frame(24, 16, Rgb8) else {
        unreachable!()
    };
    let spec = EncodeSpec::raw(Rgb8);
    for cut in (0..data.len()).step_by(7) {
        let frame = FrameData::Jpeg {
            cols: 24,
            rows: 16,
            format: Rgb8,
            data: data.slice(..cut),
        };
        let _ = encode(&frame, &spec, JpegEncoder::Pure);
    }
    for i in (0..data.len()).step_by(5) {
        let mut bytes = data.to_vec();
        bytes[i] ^= 0xa5;
        let frame = FrameData::Jpeg {
            cols: 24,
            rows: 16,
            format: Rgb8,
            data: Bytes::from(bytes),
        };
        if let Ok(out) = encode(&frame, &spec, JpegEncoder::Pure) {
            assert_eq!(out.data.len(), 24 * 16 * 3);
        }
    }
}
