//! Pixel-format conversion.
//!
//! Among `Greyscale8`, `Rgb8` and `Rgba8` every conversion is possible; `Greyscale16` converts
//! to `Greyscale8` (its high byte); `Depth16` converts to nothing else. Colour to grey is the
//! official SDK's integer BT.601 luma, `(19595 R + 38470 G + 7471 B + 0x8000) >> 16`.

use crate::image::PixelFormat;

/// Whether pixels in `source` format can be converted to `target` (always true when they are
/// the same).
pub fn can_convert(source: PixelFormat, target: PixelFormat) -> bool {
    use PixelFormat::{Greyscale8, Greyscale16, Rgb8, Rgba8};
    source == target
        || matches!(
            (source, target),
            (Greyscale8 | Rgb8 | Rgba8, Greyscale8 | Rgb8 | Rgba8) | (Greyscale16, Greyscale8)
        )
}

/// `data` (whole `source` pixels) converted to `target`; `None` when [`can_convert`] says no.
/// The caller skips the identity.
pub(super) fn convert(data: &[u8], source: PixelFormat, target: PixelFormat) -> Option<Vec<u8>> {
    use PixelFormat::{Greyscale8, Greyscale16, Rgb8, Rgba8};
    let out = match (source, target) {
        (Rgb8, Greyscale8) => map_pixels(data, |[r, g, b]| [luma(r, g, b)]),
        (Rgba8, Greyscale8) => map_pixels(data, |[r, g, b, _]| [luma(r, g, b)]),
        (Greyscale16, Greyscale8) => map_pixels(data, |[_, high]: [u8; 2]| [high]),
        (Greyscale8, Rgb8) => map_pixels(data, |[v]| [v, v, v]),
        (Greyscale8, Rgba8) => map_pixels(data, |[v]| [v, v, v, u8::MAX]),
        (Rgb8, Rgba8) => map_pixels(data, |[r, g, b]| [r, g, b, u8::MAX]),
        (Rgba8, Rgb8) => map_pixels(data, |[r, g, b, _]| [r, g, b]),
        _ if source == target => data.to_vec(),
        _ => return None,
    };
    Some(out)
}

/// The official SDK's luma (Pillow's formula): BT.601 weights in 16-bit fixed point, rounded.
#[inline]
fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = (19595 * u32::from(r) + 38470 * u32::from(g) + 7471 * u32::from(b) + 0x8000) >> 16;
    // The weights sum to 65536, so y <= 255.
    y as u8
}

/// Maps each `IN`-byte pixel of `data` to an `OUT`-byte pixel. Fixed-size pixels let the
/// compiler vectorize the loop.
fn map_pixels<const IN: usize, const OUT: usize>(
    data: &[u8],
    f: impl Fn([u8; IN]) -> [u8; OUT],
) -> Vec<u8> {
    let (pixels, _) = data.as_chunks::<IN>();
    let mut out = vec![0u8; pixels.len() * OUT];
    let (outs, _) = out.as_chunks_mut::<OUT>();
    for (o, &p) in outs.iter_mut().zip(pixels) {
        *o = f(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use PixelFormat::{Depth16, Greyscale8, Greyscale16, Rgb8, Rgba8};

    const ALL: [PixelFormat; 5] = [Greyscale8, Rgb8, Rgba8, Depth16, Greyscale16];

    #[test]
    fn conversion_table() {
        for source in ALL {
            for target in ALL {
                let expected = source == target
                    || matches!(
                        (source, target),
                        (Greyscale8 | Rgb8 | Rgba8, Greyscale8 | Rgb8 | Rgba8)
                            | (Greyscale16, Greyscale8)
                    );
                assert_eq!(
                    can_convert(source, target),
                    expected,
                    "{source:?} -> {target:?}"
                );
                let data = vec![0u8; 2 * source.bytes_per_pixel()];
                let out = convert(&data, source, target);
                assert_eq!(out.is_some(), expected, "{source:?} -> {target:?}");
                if let Some(out) = out {
                    assert_eq!(out.len(), 2 * target.bytes_per_pixel());
                }
            }
        }
    }

    #[test]
    fn rgb_to_grey_is_the_official_luma() {
        let rgb = [
            0, 0, 0, // black
            255, 255, 255, // white
            255, 0, 0, // red
            0, 255, 0, // green
            0, 0, 255, // blue
            10, 200, 30, // mixed
        ];
        // round(0.299 R + 0.587 G + 0.114 B), in the SDK's fixed point.
        let grey = convert(&rgb, Rgb8, Greyscale8).unwrap();
        assert_eq!(grey, [0, 255, 76, 150, 29, 124]);
    }

    #[test]
    fn rgba_to_grey_ignores_alpha() {
        let rgba = [255, 0, 0, 0, 10, 200, 30, 255, 255, 255, 255, 7];
        assert_eq!(convert(&rgba, Rgba8, Greyscale8).unwrap(), [76, 124, 255]);
    }

    #[test]
    fn grey_to_colour_copies_the_level() {
        let grey = [0, 7, 255];
        assert_eq!(
            convert(&grey, Greyscale8, Rgb8).unwrap(),
            [0, 0, 0, 7, 7, 7, 255, 255, 255]
        );
        assert_eq!(
            convert(&grey, Greyscale8, Rgba8).unwrap(),
            [0, 0, 0, 255, 7, 7, 7, 255, 255, 255, 255, 255]
        );
    }

    #[test]
    fn rgb_and_rgba_add_and_drop_alpha() {
        let rgb = [1, 2, 3, 4, 5, 6];
        let rgba = convert(&rgb, Rgb8, Rgba8).unwrap();
        assert_eq!(rgba, [1, 2, 3, 255, 4, 5, 6, 255]);
        let with_alpha = [1, 2, 3, 0, 4, 5, 6, 9];
        assert_eq!(convert(&with_alpha, Rgba8, Rgb8).unwrap(), rgb);
    }

    #[test]
    fn grey16_to_grey8_keeps_the_high_byte() {
        // Little-endian 0x0000, 0x00ff, 0x0100, 0x80ff, 0xffff.
        let grey16 = [0x00, 0x00, 0xff, 0x00, 0x00, 0x01, 0xff, 0x80, 0xff, 0xff];
        assert_eq!(
            convert(&grey16, Greyscale16, Greyscale8).unwrap(),
            [0, 0, 1, 0x80, 0xff]
        );
    }

    #[test]
    fn identity_copies() {
        let depth = [1, 2, 3, 4];
        assert_eq!(convert(&depth, Depth16, Depth16).unwrap(), depth);
    }
}
