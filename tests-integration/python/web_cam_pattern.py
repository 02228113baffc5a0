"""The web-cam example's synthetic test pattern (examples/web-cam/src/test_pattern.rs), as both
the benchmark's Python service (web_cam_image_service.py) and the official-SDK check of the web
cam (sdk_web_cam.py) need it: the colour bars and the contrast table."""

import numpy as np

# The colour bars, left to right, as RGB: white, yellow, cyan, green, magenta, red, blue, black.
BARS_RGB = np.array([
    [235, 235, 235],
    [235, 235, 16],
    [16, 235, 235],
    [16, 235, 16],
    [235, 16, 235],
    [235, 16, 16],
    [16, 16, 235],
    [16, 16, 16],
], dtype=np.uint8)


def contrast_table(contrast):
    """The 8-bit lookup table of `128 + (value - 128) * contrast`, rounded half away from zero
    (as Rust's `f64::round`) and clamped to 0..=255."""
    scaled = 128.0 + (np.arange(256, dtype=np.float64) - 128.0) * contrast
    whole = np.trunc(scaled)
    rounded = whole + np.where(np.abs(scaled - whole) >= 0.5, np.sign(scaled), 0.0)
    return np.clip(rounded, 0, 255).astype(np.uint8)
