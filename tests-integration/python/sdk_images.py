"""What the scripts in which the official Spot Python SDK gets images from spot-service image
services have in common (sdk_image_service.py, sdk_web_cam.py): the image enums' names, the luma
formula, a JPEG structure check, and the per-image errors as the official `ImageClient` raises
them.
"""
import io
import struct
import time

import numpy as np
from PIL import Image as PilImage

from bosdyn.api import image_pb2
from bosdyn.client.image import ImageClient
from bosdyn.client.exceptions import CustomParamError

import sdk_checks
from sdk_checks import TIMEOUT, check_official_header, check_param_error, raises

Image = image_pb2.Image
ImageResponse = image_pb2.ImageResponse
JPEG, RAW, RLE = Image.FORMAT_JPEG, Image.FORMAT_RAW, Image.FORMAT_RLE
GREY8 = Image.PIXEL_FORMAT_GREYSCALE_U8
RGB8 = Image.PIXEL_FORMAT_RGB_U8
RGBA8 = Image.PIXEL_FORMAT_RGBA_U8
DEPTH16 = Image.PIXEL_FORMAT_DEPTH_U16
GREY16 = Image.PIXEL_FORMAT_GREYSCALE_U16
BYTES_PER_PIXEL = {GREY8: 1, RGB8: 3, RGBA8: 4, DEPTH16: 2, GREY16: 2}
OK = ImageResponse.STATUS_OK

SERVICE_TYPE = 'bosdyn.api.ImageService'


def robot_image_client(options, client_prefix):
    """Logs in to the robot of `options`, checks the image service's directory entry, and returns
    the robot, the service's directory name and its official ImageClient."""
    robot = sdk_checks.logged_in_robot(options, client_prefix)
    name = options.service
    sdk_checks.check_directory_entry(robot, name, SERVICE_TYPE, options.authority)
    client = robot.ensure_client(name)
    assert isinstance(client, ImageClient), type(client)
    return robot, name, client

# Out-of-range values of a 0..255 double parameter (the contrast of both image services under
# test), each with the message the official validator gives for it.
OUT_OF_RANGE_CONTRASTS = ((300.0, 'Value 300.0 above max_bound 255.0'),
                          (255.5, 'Value 255.5 above max_bound 255.0'),
                          (-1.0, 'Value -1.0 below min_bound 0.0'))


def status_name(status):
    return ImageResponse.Status.Name(status)


def format_name(image_format):
    return Image.Format.Name(image_format)


def pixel_name(pixel_format):
    return Image.PixelFormat.Name(pixel_format)


def luma(r, g, b):
    """The official SDK's (Pillow's) integer BT.601 luma, of ints or of numpy arrays of a wide
    enough integer type."""
    return (19595 * r + 38470 * g + 7471 * b + 0x8000) >> 16


# JPEG, without a decoder in the venv: every marker segment walked, the frame header read, the
# entropy-coded scans run through to the EOI that ends the file.
def parse_jpeg(data):
    """Returns (cols, rows, components) from the SOF header, after checking the structure."""
    data = bytes(data)
    assert data[:2] == b'\xff\xd8', f'no SOI: {data[:4].hex()}'
    assert data[-2:] == b'\xff\xd9', f'does not end with EOI: {data[-4:].hex()}'
    i, frame, seen, scans = 2, None, set(), 0
    while True:
        assert data[i] == 0xff, f'no marker at byte {i}'
        while data[i] == 0xff:
            i += 1
        marker = data[i]
        i += 1
        if marker == 0xd9:
            assert i == len(data), f'EOI at {i - 2} of {len(data)}'
            break
        assert marker not in (0x00, 0x01, 0xd8) and not 0xd0 <= marker <= 0xd7, \
            f'unexpected marker FF{marker:02X} at {i - 2}'
        (length,) = struct.unpack('>H', data[i:i + 2])
        segment = data[i + 2:i + length]
        assert length >= 2 and len(segment) == length - 2, f'truncated segment FF{marker:02X}'
        seen.add(marker)
        i += length
        if marker in (0xc0, 0xc1, 0xc2):
            precision, rows, cols, components = struct.unpack('>BHHB', segment[:6])
            assert precision == 8, f'{precision}-bit samples'
            assert len(segment) == 6 + 3 * components, 'SOF length'
            frame = (cols, rows, components)
        elif marker == 0xda:
            assert frame is not None, 'SOS before SOF'
            assert 1 <= segment[0] <= frame[2], f'scan of {segment[0]} components'
            scans += 1
            # Entropy-coded data: 0xFF only stuffed (FF00) or as a restart marker.
            while True:
                assert i + 1 < len(data), 'scan runs past the end'
                if data[i] == 0xff and data[i + 1] != 0x00 and not 0xd0 <= data[i + 1] <= 0xd7:
                    break
                i += 2 if data[i] == 0xff else 1
    assert frame is not None, 'no SOF'
    assert scans >= 1, 'no scan'
    assert 0xdb in seen, 'no quantization table (DQT)'
    assert 0xc4 in seen, 'no Huffman table (DHT)'
    return frame


def describe(req):
    text = (f'{req.image_source_name or "<empty>"} {format_name(req.image_format)} '
            f'{pixel_name(req.pixel_format)}')
    if req.resize_ratio:
        text += f' x{req.resize_ratio}'
    if req.fallback_formats:
        text += ' fallbacks ' + ','.join(pixel_name(f) for f in req.fallback_formats)
    if req.HasField('custom_params'):
        text += f' params {dict(req.custom_params.values)}'
    return text


def expect_image_error(client, req, status, error_type, client_prefix):
    """The official `client` raises `error_type` for `req`, with a CODE_OK header (the client's
    name starting with `client_prefix`), the status and no image; returns the exception."""
    exc = raises(error_type, lambda: client.get_image([req], timeout=TIMEOUT))
    check_official_header(exc.response, client_prefix)
    (response,) = exc.response.image_responses
    assert response.status == status, f'{describe(req)}: {status_name(response.status)}'
    assert not response.shot.image.data, f'{describe(req)}: image data with an error'
    return exc


def expect_param_error(client, req, spec, client_prefix, status=None, messages=None):
    """The official `client` raises CustomParamError for `req` (STATUS_CUSTOM_PARAMS_ERROR, see
    [`expect_image_error`]), with the error the official validator finds in its custom_params
    against `spec` (and `status` and `messages`, when given); returns the error."""
    exc = expect_image_error(client, req, ImageResponse.STATUS_CUSTOM_PARAMS_ERROR,
                             CustomParamError, client_prefix)
    ours = exc.custom_param_error
    assert ours == exc.response.image_responses[0].custom_param_error, exc
    check_param_error(ours, spec, req.custom_params, status, messages)
    return ours


def check_shot(what, shot, req):
    """`shot` was acquired within 10 s of now and echoes `req`'s custom params in its capture
    params; returns its acquisition time in nanoseconds."""
    assert shot.HasField('acquisition_time'), what
    taken = shot.acquisition_time.ToNanoseconds()
    assert abs(taken - time.time_ns()) < 10e9, f'{what}: acquired at {shot.acquisition_time}'
    assert shot.capture_params.custom_params == req.custom_params, \
        f'{what}: capture params {shot.capture_params}'
    return taken


def decode_jpeg(data):
    """The pixels of a JPEG, decoded by Pillow (an independent decoder): rows x cols x 3 for
    colour, rows x cols for grey."""
    return np.asarray(PilImage.open(io.BytesIO(data)))


def jpeg_error(data, expected):
    """The absolute difference, per sample, between a decoded JPEG and the `expected` pixels (an
    array of the same shape)."""
    decoded = decode_jpeg(data)
    assert decoded.shape == expected.shape, f'decoded {decoded.shape}, not {expected.shape}'
    return np.abs(decoded.astype(np.int16) - expected.astype(np.int16))
