"""The official Spot Python SDK (bosdyn-client 5.2.0, unmodified) uses the web cam example
(examples/web-cam, its `test-pattern` source), registered in the robot emulator's directory as
the `web-cam` binary registers it.

Usage:

    sdk_web_cam.py robot --emulator-port P --ca FILE --username U --password W \
        --service NAME --authority A

The script logs in to the robot emulator on 127.0.0.1:P (trusting the CA in FILE instead of the
Boston Dynamics root CA), finds the service NAME in the robot's directory at authority A, and
calls it with the official `bosdyn.client.image.ImageClient` through the robot's proxy; requests
are made with `bosdyn.client.image.build_image_request`.

The test pattern (examples/web-cam/src/test_pattern.rs) is eight colour bars (white, yellow,
cyan, green, magenta, red, blue, black at video levels, 16 and 235) scrolling left to right a
full width every 4 s, under a box a fifth of the smaller side across, white (255) with a black
(0) border a tenth of its side wide, bouncing off the edges at the speed of a full width every
4 s across and a full height every 3 s down. "Contrast" c maps each value v to
128 + (v - 128) c, rounded and clamped. RAW images are checked pixel for pixel against that
pattern at some instant; the instants of successive captures must be as far apart as their
acquisition times.

Reports its checks with sdk_checks: `ok: <check>` or `FAILED: <check>: <error>` per check, then
`N passed, M failed`; exits 1 if any check failed.
"""
import argparse
import math
import time

import numpy as np

from bosdyn.api import image_pb2, image_service_pb2_grpc
from bosdyn.api import service_customization_pb2 as sc
from bosdyn.client.image import UnknownImageSourceError, build_image_request
from bosdyn.client.service_customization_helpers import create_value_validator

import sdk_checks
import sdk_images
from web_cam_pattern import BARS_RGB, contrast_table
from sdk_checks import TIMEOUT, check, fail
from sdk_images import (BYTES_PER_PIXEL, GREY8, JPEG, OK, RAW, RGB8, ImageResponse, describe,
                        format_name, luma, parse_jpeg, pixel_name, status_name)

CLIENT_PREFIX = 'SdkWebCam'
RAW_CLIENT_NAME = 'sdk-web-cam-raw-stub'

# What the web-cam binary serves with `--device-name test-pattern` and no resolution.
SOURCE = 'test-pattern'
COLS, ROWS = 640, 480
PIXEL_FORMATS = [RGB8, GREY8]
CONTRAST = 'Contrast'
CONTRAST_MIN, CONTRAST_MAX, CONTRAST_DEFAULT = 0.0, 255.0, 1.0

# How far (ms) the time between two frames' instants of the pattern may be from the time between
# their acquisition times: the clocks agree to a millisecond (the source reads both at once), but
# a time sync update or a preemption between the readings may add some. A stale frame is a capture
# interval (50 ms) or more off.
MOTION_TOLERANCE_MS = 20


def in_format(rgb, pixel_format):
    """RGB pixels (uint8, last axis the channels) as the service converts them to
    `pixel_format`."""
    if pixel_format == RGB8:
        return rgb
    if pixel_format == GREY8:
        wide = rgb.astype(np.uint32)
        return luma(wide[..., 0], wide[..., 1], wide[..., 2]).astype(np.uint8)
    fail(f'no test pattern in {pixel_name(pixel_format)}')


def motion_period(extent, per_ms, modulus):
    """The period (ms) of `millis * extent // per_ms % modulus`."""
    return per_ms * modulus // math.gcd(per_ms * modulus, extent)


class TestPattern:
    """The pattern's geometry, and the instants at which it shows a given image."""

    def __init__(self, cols, rows):
        self.cols, self.rows = cols, rows
        self.side = min(cols, rows) // 5
        self.border = max(self.side // 10, 1)
        self.span_x = max(cols - self.side, 1)
        self.span_y = max(rows - self.side, 1)
        # Every state of the pattern, one per millisecond of its period.
        self.period = math.lcm(motion_period(cols, 4000, cols),
                               motion_period(cols, 4000, 2 * self.span_x),
                               motion_period(rows, 3000, 2 * self.span_y))
        millis = np.arange(self.period, dtype=np.int64)
        self.scroll = millis * cols // 4000 % cols
        self.box_x = self._bounce(millis * cols // 4000, self.span_x)
        self.box_y = self._bounce(millis * rows // 3000, self.span_y)

    @staticmethod
    def _bounce(travelled, span):
        position = travelled % (2 * span)
        return np.where(position < span, position, 2 * span - position)

    def bars(self, scroll):
        """One row of the bars, scrolled by `scroll` pixels (RGB)."""
        x = np.arange(self.cols)
        return BARS_RGB[(x + self.cols - scroll) % self.cols * 8 // self.cols]

    def frame(self, scroll, box_x, box_y, with_box=True):
        """The RGB frame with the bars scrolled by `scroll` and the box at (`box_x`, `box_y`)."""
        frame = np.broadcast_to(self.bars(scroll), (self.rows, self.cols, 3)).copy()
        if with_box:
            side, border = self.side, self.border
            frame[box_y:box_y + side, box_x:box_x + side] = 0
            frame[box_y + border:box_y + side - border, box_x + border:box_x + side - border] = 255
        return frame

    def instants(self, image, contrast, pixel_format):
        """The milliseconds after the start (modulo the period) at which the pattern, with
        `contrast` and in `pixel_format`, is `image` (rows x cols, x channels unless grey)."""
        table = contrast_table(contrast)

        def shown(rgb):
            return in_format(table[rgb], pixel_format)

        levels = table[[0, 16, 235, 255]]
        if np.all(levels == levels[0]):
            # No gain: the pattern is one flat grey at every instant.
            return np.arange(self.period) if np.all(image == levels[0]) else np.arange(0)
        # The box covers less than half the height: two of these three rows are bars only.
        samples = [image[0], image[self.rows // 2], image[-1]]
        bars = [row for row in samples if sum(np.array_equal(row, other) for other in samples) >= 2]
        assert bars, 'no two of the first, middle and last rows are the same'
        scrolls = [s for s in range(self.cols) if np.array_equal(shown(self.bars(s)), bars[0])]
        assert scrolls, 'the bars are not the pattern\'s'
        found = []
        for scroll in scrolls:
            # Where the image differs from the bars alone: inside the box.
            differs = image != shown(self.frame(scroll, 0, 0, with_box=False))
            if differs.ndim == 3:
                differs = differs.any(axis=2)
            ys, xs = np.nonzero(differs)
            candidates = np.nonzero(self.scroll == scroll)[0]
            if len(xs):
                box_x, box_y = self.box_x[candidates], self.box_y[candidates]
                inside = ((box_x <= xs.min()) & (xs.max() < box_x + self.side) &
                          (box_y <= ys.min()) & (ys.max() < box_y + self.side))
                candidates = candidates[inside]
            layouts = {}
            for millis in candidates:
                layouts.setdefault((self.box_x[millis], self.box_y[millis]), []).append(millis)
            for (box_x, box_y), millis in layouts.items():
                if np.array_equal(shown(self.frame(scroll, box_x, box_y)), image):
                    found.extend(millis)
        return np.array(found, dtype=np.int64)

    def elapsed_between(self, earlier, later):
        """Every time (ms, modulo the period) from one of the instants `earlier` to one of the
        instants `later`."""
        return (later[None, :] - earlier[:, None]) % self.period


PATTERN = TestPattern(COLS, ROWS)


# Requests and answers.
def contrast_params(value):
    return sc.DictParam(values={CONTRAST: sc.CustomParam(double_value=sc.DoubleParam(
        value=value))})


def request(image_format=None, pixel_format=None, contrast=None, source=SOURCE):
    """build_image_request, with the Contrast parameter when given."""
    built = build_image_request(source, image_format=image_format, pixel_format=pixel_format)
    if contrast is not None:
        built.custom_params.CopyFrom(contrast_params(contrast))
    return built


def pixels(image):
    """A RAW image's data as rows x cols (x channels)."""
    channels = BYTES_PER_PIXEL[image.pixel_format]
    size = image.rows * image.cols * channels
    assert len(image.data) == size, f'{len(image.data)} bytes instead of {size}'
    array = np.frombuffer(image.data, dtype=np.uint8)
    return array.reshape((image.rows, image.cols) if channels == 1 else
                         (image.rows, image.cols, channels))


class Capture:
    """A checked STATUS_OK answer."""

    def __init__(self, req, response, contrast):
        self.req, self.response, self.contrast = req, response, contrast
        self.image = response.shot.image
        self.acquired = response.shot.acquisition_time.ToNanoseconds()
        # RAW: the pattern's instants it shows.
        self.instants = None


def capture(client, req, response=None, pixel_format=None, contrast=CONTRAST_DEFAULT):
    """Gets `req` with ImageClient (unless its `response` is given) and checks the answer: the
    source, format, pixel format (`pixel_format`, by default the request's or the source's
    first), size, data (RAW: the test pattern at `contrast`, pixel for pixel; JPEG: its
    structure), the acquisition time near now, the capture parameters echoed."""
    what = describe(req)
    if response is None:
        (response,) = client.get_image([req], timeout=TIMEOUT)
    assert response.status == OK, f'{what}: {status_name(response.status)}'
    assert response.source.name == SOURCE, f'{what}: source {response.source}'
    image = response.shot.image
    want_format = req.image_format or JPEG
    want_pixel = pixel_format or req.pixel_format or PIXEL_FORMATS[0]
    assert image.format == want_format, f'{what}: {format_name(image.format)}'
    assert image.pixel_format == want_pixel, f'{what}: {pixel_name(image.pixel_format)}'
    assert (image.cols, image.rows) == (COLS, ROWS), f'{what}: {image.cols}x{image.rows}'
    sdk_images.check_shot(what, response.shot, req)
    result = Capture(req, response, contrast)
    if want_format == RAW:
        result.instants = PATTERN.instants(pixels(image), contrast, want_pixel)
        assert len(result.instants), f'{what}: not the test pattern at contrast {contrast}'
    else:
        components = 1 if want_pixel == GREY8 else 3
        frame = parse_jpeg(image.data)
        assert frame == (COLS, ROWS, components), f'{what}: JPEG {frame}'
    return result


def check_motion(captures):
    """Successive RAW captures: the pattern moved between them as far as their acquisition times
    are apart."""
    for earlier, later in zip(captures, captures[1:]):
        apart_ms = (later.acquired - earlier.acquired) / 1e6
        moved = PATTERN.elapsed_between(earlier.instants, later.instants)
        closest = np.min(np.abs(moved - apart_ms))
        assert closest <= MOTION_TOLERANCE_MS, (
            f'acquired {apart_ms:.1f} ms apart, but the pattern moved by '
            f'{sorted(set(moved.ravel().tolist()))[:8]} ms')


# The checks.
def list_sources(client):
    spec = {}

    def listed():
        sources = client.list_image_sources(timeout=TIMEOUT)
        assert [s.name for s in sources] == [SOURCE], [s.name for s in sources]
        (source,) = sources
        assert (source.cols, source.rows) == (COLS, ROWS), source
        assert source.image_type == image_pb2.ImageSource.IMAGE_TYPE_VISUAL, source
        assert list(source.pixel_formats) == PIXEL_FORMATS, source
        assert list(source.image_formats) == [JPEG, RAW], source
        params = source.custom_params
        assert sorted(params.specs) == [CONTRAST], params
        contrast = params.specs[CONTRAST]
        assert contrast.ui_info.display_name == 'Contrast', contrast
        assert contrast.spec.WhichOneof('spec') == 'double_spec', contrast
        double = contrast.spec.double_spec
        assert double.HasField('min_value') and double.min_value.value == CONTRAST_MIN, double
        assert double.HasField('max_value') and double.max_value.value == CONTRAST_MAX, double
        assert double.HasField('default_value'), double
        assert double.default_value.value == CONTRAST_DEFAULT, double
        # The official validator accepts the spec (it raises on an invalid one) and no values.
        validator = create_value_validator(params)
        assert validator(sc.DictParam()) is None, validator(sc.DictParam())
        spec['spec'] = params

    check(f'ListImageSources lists {SOURCE}: {COLS}x{ROWS}, visual, RGB_U8 and GREYSCALE_U8, '
          'JPEG and RAW, and the Contrast spec (double, min 0, max 255, default 1) the official '
          'validator accepts', listed)
    return spec.get('spec')


def every_format(client):
    def each():
        for image_format in (JPEG, RAW):
            for pixel_format in PIXEL_FORMATS:
                capture(client, request(image_format, pixel_format))
        # The defaults: JPEG in the first pixel format.
        (response,) = client.get_image_from_sources([SOURCE], timeout=TIMEOUT)
        capture(client, build_image_request(SOURCE), response)

    check('ImageClient gets JPEG and RAW in every advertised pixel format (RGB_U8, '
          'GREYSCALE_U8) and with the defaults: RAW is the test pattern pixel for pixel, JPEG '
          'well formed (SOI, SOF 640x480 with 3 or 1 components, tables, scan, EOI)', each)

    def all_at_once():
        requests = [request(f, p) for f in (JPEG, RAW) for p in PIXEL_FORMATS]
        responses = client.get_image(requests, timeout=TIMEOUT)
        assert len(responses) == len(requests), len(responses)
        for req, response in zip(requests, responses):
            capture(client, req, response)

    check('ImageClient gets every format and pixel format in one request', all_at_once)


def jpeg_decodes(client):
    def same_frame():
        for pixel_format in PIXEL_FORMATS:
            requests = [request(RAW, pixel_format), request(JPEG, pixel_format)]
            for _ in range(5):
                raw, jpeg = (capture(client, req, response) for req, response in zip(
                    requests, client.get_image(requests, timeout=TIMEOUT)))
                if raw.acquired == jpeg.acquired:
                    break
            else:
                fail('RAW and JPEG never of the same frame in one request')
            error = sdk_images.jpeg_error(jpeg.image.data, pixels(raw.image))
            # JPEG at quality 75 blurs the colours at the bars' and the box's edges only.
            assert error.mean() < 4 and np.median(error) <= 2, (
                f'{pixel_name(pixel_format)}: mean error {error.mean():.2f}, median '
                f'{np.median(error)}')

    check('JPEG decodes (Pillow) to the RAW image of the same frame, in each pixel format '
          '(mean error below 4, median at most 2)', same_frame)


def acquisition_times(client):
    def increasing():
        raws, times = [], []
        for round in range(6):
            time.sleep(0.12)
            if round % 2 == 0:
                raws.append(capture(client, request(RAW, RGB8)))
                times.append(raws[-1].acquired)
            else:
                (response,) = client.get_image_from_sources([SOURCE], timeout=TIMEOUT)
                times.append(capture(client, build_image_request(SOURCE), response).acquired)
        assert all(a < b for a, b in zip(times, times[1:])), \
            f'acquisition times {times} do not increase'
        check_motion(raws)

    check('acquisition times strictly increase over successive captures (every 120 ms, RAW and '
          'JPEG in turn), and the pattern moves between RAW frames as far as their acquisition '
          'times are apart', increasing)


def contrast(client, spec):
    validator = create_value_validator(spec)

    def two():
        assert validator(contrast_params(2.0)) is None
        ones = capture(client, request(RAW, RGB8))
        values = set(np.unique(pixels(ones.image)).tolist())
        assert values <= {0, 16, 235, 255}, values
        for pixel_format in PIXEL_FORMATS:
            twos = capture(client, request(RAW, pixel_format, 2.0), contrast=2.0)
            if pixel_format == RGB8:
                values = set(np.unique(pixels(twos.image)).tolist())
                assert values == {0, 255}, values
        capture(client, request(JPEG, RGB8, 2.0), contrast=2.0)

    check('Contrast 2 (the official validator accepts it) gives the test pattern with the gain '
          'about mid-grey (RGB: 16 -> 0, 235 -> 255), echoed in capture_params', two)

    def others():
        for value in (0.5, CONTRAST_MAX, CONTRAST_DEFAULT):
            assert validator(contrast_params(value)) is None, value
            for pixel_format in PIXEL_FORMATS:
                capture(client, request(RAW, pixel_format, value), contrast=value)
        flat = capture(client, request(RAW, RGB8, CONTRAST_MIN), contrast=CONTRAST_MIN)
        assert np.all(pixels(flat.image) == 128), 'contrast 0 is not flat mid-grey'

    check('Contrast 0.5, 255 and 1 give the pattern with that gain; 0 gives flat mid-grey', others)

    invalid = sc.CustomParamError.STATUS_INVALID_VALUE
    unsupported = sc.CustomParamError.STATUS_UNSUPPORTED_PARAMETER

    def refused(value, status=None, messages=None):
        req = request(RAW, RGB8)
        req.custom_params.CopyFrom(value)
        sdk_images.expect_param_error(client, req, spec, CLIENT_PREFIX, status, messages)

    for bad, message in sdk_images.OUT_OF_RANGE_CONTRASTS:
        check(
            f'Contrast {bad} is STATUS_CUSTOM_PARAMS_ERROR (CustomParamError) with the official '
            'validator\'s INVALID_VALUE and message, header CODE_OK',
            lambda bad=bad, message=message: refused(
                contrast_params(bad), invalid, [f'{CONTRAST} param has error: {message}']))
    for kind, param in (('an integer', sc.CustomParam(int_value=sc.Int64Param(value=2))),
                        ('a string', sc.CustomParam(string_value=sc.StringParam(value='2.0'))),
                        ('a bool', sc.CustomParam(bool_value=sc.BoolParam(value=True)))):
        check(
            f'{kind} Contrast is STATUS_CUSTOM_PARAMS_ERROR (CustomParamError) with the official '
            'validator\'s status and message, header CODE_OK',
            lambda param=param: refused(sc.DictParam(values={CONTRAST: param})))
    check(
        'a lowercase contrast key is STATUS_CUSTOM_PARAMS_ERROR (CustomParamError) with the '
        'official validator\'s UNSUPPORTED_PARAMETER, header CODE_OK', lambda: refused(
            sc.DictParam(values={'contrast': sc.CustomParam(double_value=sc.DoubleParam(
                value=2.0))}), unsupported,
            ["DictParam value contains keys {'contrast'} not present in the spec."]))


def unknown_source(client, stub):
    def official():
        req = request(JPEG, RGB8, source='no-such-camera')
        sdk_images.expect_image_error(client, req, ImageResponse.STATUS_UNKNOWN_CAMERA,
                                      UnknownImageSourceError, CLIENT_PREFIX)

    check('an unknown source is STATUS_UNKNOWN_CAMERA (UnknownImageSourceError), header CODE_OK',
          official)

    def raw():
        requests = [request(RAW, RGB8, source='no-such-camera'), request(RAW, GREY8)]
        response = sdk_checks.call_raw(stub, 'GetImage',
                                       image_pb2.GetImageRequest(image_requests=requests),
                                       RAW_CLIENT_NAME)
        unknown, known = response.image_responses
        assert unknown.status == ImageResponse.STATUS_UNKNOWN_CAMERA, unknown
        assert not unknown.shot.image.data, 'image data for an unknown source'
        capture(client, requests[1], known)

    check('the raw stub: an unknown source is STATUS_UNKNOWN_CAMERA next to a good request, '
          'the header CODE_OK with the request echoed', raw)


def robot_mode(options):
    robot, name, client = sdk_images.robot_image_client(options, CLIENT_PREFIX)
    stub = image_service_pb2_grpc.ImageServiceStub(robot.ensure_channel(name))
    spec = list_sources(client)
    if spec is None:
        fail('cannot go on without the source')
    every_format(client)
    jpeg_decodes(client)
    acquisition_times(client)
    contrast(client, spec)
    unknown_source(client, stub)
    robot.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    modes = parser.add_subparsers(dest='mode', required=True)
    robot = modes.add_parser('robot', help='through the robot emulator')
    sdk_checks.add_emulator_arguments(robot)
    robot.add_argument('--service', required=True, help='the service\'s directory name')
    robot.add_argument('--authority', required=True, help='the authority the directory lists')
    sdk_checks.run(robot_mode, parser.parse_args())


if __name__ == '__main__':
    main()
