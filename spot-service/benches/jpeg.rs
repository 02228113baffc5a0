//! Encoding cost per frame: JPEG at quality 75 with each compiled-in encoder, RAW RGB to grey,
//! and a 0.5 resize, on 640x480 and 1920x1080 synthetic RGB frames.
//!
//! `cargo bench -p spot-service --bench jpeg` (add `--features turbojpeg` for libjpeg-turbo).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prost::bytes::Bytes;
use spot_service::image::encode::{EncodeSpec, JpegEncoder, ResizeRatio, encode};
use spot_service::image::{FrameData, PixelFormat};

const SIZES: [(u32, u32); 2] = [(640, 480), (1920, 1080)];

/// Frames in a row of a moving test pattern, so no encode sees the same pixels twice in a row.
const PHASES: u32 = 8;

/// A camera-like RGB test pattern: a diagonal colour gradient, a checkerboard that moves with
/// `phase`, and a little deterministic noise (so the JPEG has texture to code, as real frames do).
fn test_pattern(cols: u32, rows: u32, phase: u32) -> FrameData {
    let mut data = Vec::with_capacity(cols as usize * rows as usize * 3);
    let mut noise = 0x9e37_79b9_u32.wrapping_add(phase);
    for y in 0..rows {
        for x in 0..cols {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let jitter = (noise & 15) as i32 - 8;
            let square = ((x + phase * 8) / 32 + y / 32).is_multiple_of(2);
            let level = |v: u32| {
                let v = v as i32 + jitter + if square { 40 } else { -40 };
                v.clamp(0, 255) as u8
            };
            data.extend([
                level(x * 255 / cols),
                level(y * 255 / rows),
                level((x + y + phase * 16) * 255 / (cols + rows + PHASES * 16)),
            ]);
        }
    }
    FrameData::Pixels {
        cols,
        rows,
        format: PixelFormat::Rgb8,
        data: Bytes::from(data),
    }
}

/// Runs `spec` on the moving frames of each size, under `name` in `group`.
fn bench_spec(c: &mut Criterion, group: &str, name: &str, spec: EncodeSpec, encoder: JpegEncoder) {
    let mut group = c.benchmark_group(group);
    for (cols, rows) in SIZES {
        let frames: Vec<FrameData> = (0..PHASES).map(|p| test_pattern(cols, rows, p)).collect();
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(
            BenchmarkId::new(name, format!("{cols}x{rows}")),
            &frames,
            |b, frames| {
                let mut next = frames.iter().cycle();
                b.iter(|| {
                    let frame = next.next().expect("cycle never ends");
                    encode(black_box(frame), &spec, encoder).expect("encodes")
                });
            },
        );
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    for &encoder in JpegEncoder::ALL {
        bench_spec(
            c,
            "jpeg_q75",
            encoder.name(),
            EncodeSpec::jpeg(PixelFormat::Rgb8, 75),
            encoder,
        );
    }
    let half = ResizeRatio::new(0.5).expect("0.5 is a valid ratio");
    for &encoder in JpegEncoder::ALL {
        bench_spec(
            c,
            "jpeg_q75_resize_0.5",
            encoder.name(),
            EncodeSpec::jpeg(PixelFormat::Rgb8, 75).with_resize_ratio(half),
            encoder,
        );
    }
    let default = JpegEncoder::default();
    bench_spec(
        c,
        "raw",
        "rgb_to_grey",
        EncodeSpec::raw(PixelFormat::Greyscale8),
        default,
    );
    bench_spec(
        c,
        "raw",
        "rgb_resize_0.5",
        EncodeSpec::raw(PixelFormat::Rgb8).with_resize_ratio(half),
        default,
    );
    bench_spec(
        c,
        "raw",
        "rgb_to_grey_resize_0.5",
        EncodeSpec::raw(PixelFormat::Greyscale8).with_resize_ratio(half),
        default,
    );
}

criterion_group! {
    name = jpeg;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(jpeg);
