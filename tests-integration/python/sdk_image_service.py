"""The official Spot Python SDK (bosdyn-client 5.2.0, unmodified) uses a spot-service image
service: the synthetic sources `colour` and `grey` of tests-integration/tests/python_image_service.rs.

Usage:

    sdk_image_service.py direct --port P [--failure-switch]
    sdk_image_service.py robot --emulator-port P --ca FILE --username U --password W \
        --service NAME [--authority A] [--failure-switch]

`direct` calls the service on 127.0.0.1:P over plain h2c. `robot` logs in to the robot emulator
on 127.0.0.1:P (trusting the CA in FILE instead of the Boston Dynamics root CA) and reaches the
service NAME through the robot's proxy by the authority the directory lists (A, if given, must be
that authority).

Every check is made with the official `bosdyn.client.image.ImageClient` (which turns per-image
statuses into the SDK's exceptions) and with the raw `image_service_pb2_grpc.ImageServiceStub`,
whose responses are checked for the header rules (CODE_OK, request header echoed, timestamps).
Custom parameter errors are compared with what the official validator
(`bosdyn.client.service_customization_helpers.create_value_validator`) says about the same value
against the spec the service listed.

With `--failure-switch`, the script prints `SWITCH fail` and waits for `OK` on its stdin (the
test has then made every source's capture fail and let the last good frame go stale), checks
STATUS_IMAGE_DATA_ERROR, then prints `SWITCH recover` and waits for `OK` again.

Prints `ok: <check>` or `FAILED: <check>: <error>` per check, then `N passed, M failed`; exits 1
if any check failed.
"""
import argparse
import sys
import time

import grpc
import numpy as np

from bosdyn.api import image_pb2, image_service_pb2_grpc
from bosdyn.api import service_customization_pb2 as sc
from bosdyn.client.exceptions import CustomParamError
from bosdyn.client.image import (ImageClient, ImageDataError, UnknownImageSourceError,
                                 UnsupportedImageFormatRequestedError,
                                 UnsupportedPixelFormatRequestedError,
                                 UnsupportedResizeRatioRequestedError, build_image_request)
from bosdyn.client.processors import AddRequestHeader
from bosdyn.client.service_customization_helpers import create_value_validator

import sdk_checks
import sdk_images
from sdk_checks import TIMEOUT, check, fail, raises
from sdk_images import (BYTES_PER_PIXEL, DEPTH16, GREY8, GREY16, JPEG, OK, RAW, RGB8, RGBA8, RLE,
                        ImageResponse, describe, format_name, luma, parse_jpeg, pixel_name,
                        status_name)

CLIENT_PREFIX = 'SdkImageService'
RAW_CLIENT_NAME = 'sdk-image-service-raw-stub'

# The synthetic sources of tests/python_image_service.rs (keep in step with it).
COLOUR = 'colour'
GREY = 'grey'
SOURCES = {
    COLOUR: dict(cols=40, rows=30, pixel_formats=[RGB8, GREY8, RGBA8]),
    GREY: dict(cols=24, rows=16, pixel_formats=[GREY8]),
}
DEFAULT_CONTRAST = 1.0


# The pixels the synthetic sources make, as the Rust test does.
def saturate(value):
    return int(min(max(value, 0.0), 255.0))


def colour_rgb(contrast):
    cols, rows = SOURCES[COLOUR]['cols'], SOURCES[COLOUR]['rows']
    out = bytearray()
    for row in range(rows):
        for col in range(cols):
            out += bytes((saturate(6 * col * contrast), saturate(8 * row * contrast),
                          255 - saturate((col + row) * contrast)))
    return bytes(out)


def expected_pixels(source, pixel_format, contrast=DEFAULT_CONTRAST):
    if source == GREY:
        cols, rows = SOURCES[GREY]['cols'], SOURCES[GREY]['rows']
        assert pixel_format == GREY8
        return bytes((row * 16 + col) % 256 for row in range(rows) for col in range(cols))
    rgb = colour_rgb(contrast)
    pixels = [rgb[i:i + 3] for i in range(0, len(rgb), 3)]
    if pixel_format == RGB8:
        return rgb
    if pixel_format == RGBA8:
        return b''.join(p + b'\xff' for p in pixels)
    if pixel_format == GREY8:
        return bytes(luma(*p) for p in pixels)
    fail(f'no expected pixels for {pixel_name(pixel_format)}')


class Target:
    """Where and how the script reaches the service under test."""

    def __init__(self, label, channel, client):
        self.label = label
        # The official client.
        self.client = client
        # The raw stub.
        self.stub = image_service_pb2_grpc.ImageServiceStub(channel)
        # The sources as the service listed them.
        self.sources = {}
        # The last acquisition time seen, per source (nanoseconds).
        self.last_acquisition = {}

    def spec(self, source):
        return self.sources[source].custom_params

    def raw(self, method, request, with_header=True):
        """Calls `method` with the raw stub; checks the header rules of the response."""
        return sdk_checks.call_raw(self.stub, method, request, RAW_CLIENT_NAME, with_header)

    def raw_get(self, requests):
        """GetImage with the raw stub: one response per request, in order."""
        request = image_pb2.GetImageRequest(image_requests=requests)
        responses = self.raw('GetImage', request).image_responses
        assert len(responses) == len(requests), f'{len(responses)} responses'
        return responses


def check_official_header(response):
    """A response the official client got: CODE_OK and its own header echoed."""
    sdk_checks.check_official_header(response, CLIENT_PREFIX)


# Requests.
def contrast_params(value):
    return sc.DictParam(values={'contrast': sc.CustomParam(double_value=sc.DoubleParam(
        value=value))})


def request(source, image_format=None, pixel_format=None, contrast=None, **kwargs):
    """build_image_request, with the contrast parameter when given."""
    built = build_image_request(source, image_format=image_format, pixel_format=pixel_format,
                                **kwargs)
    if contrast is not None:
        built.custom_params.CopyFrom(contrast_params(contrast))
    return built




# The most a decoded JPEG may differ from the source's pixels, on average per sample.
JPEG_MEAN_ERROR = 8


def check_image(target, req, response, pixel_format=None, contrast=DEFAULT_CONTRAST,
                resize=None):
    """An OK response to `req`: the source, the image's format, pixel format, size and data (RAW:
    byte for byte; JPEG: structure, size and components, and at full size decoded and near the
    source's pixels), the acquisition time near now, the capture parameters echoed. Returns the
    acquisition time in nanoseconds."""
    what = describe(req)
    assert response.status == OK, f'{what}: {status_name(response.status)}'
    source = req.image_source_name
    layout = SOURCES[source]
    assert response.source == target.sources[source], f'{what}: source {response.source}'
    image = response.shot.image
    want_format = req.image_format or JPEG  # the service chooses JPEG for visual sources
    want_pixel = pixel_format or req.pixel_format or layout['pixel_formats'][0]
    assert image.format == want_format, f'{what}: {format_name(image.format)}'
    assert image.pixel_format == want_pixel, f'{what}: {pixel_name(image.pixel_format)}'
    cols, rows = layout['cols'], layout['rows']
    if resize is not None:
        cols, rows = resize
    assert (image.cols, image.rows) == (cols, rows), f'{what}: {image.cols}x{image.rows}'
    if want_format == RAW:
        size = rows * cols * BYTES_PER_PIXEL[want_pixel]
        assert len(image.data) == size, f'{what}: {len(image.data)} bytes instead of {size}'
        if resize is None:
            assert image.data == expected_pixels(source, want_pixel, contrast), \
                f'{what}: not the pixels the source made'
    else:
        components = 1 if want_pixel == GREY8 else 3
        assert parse_jpeg(image.data) == (cols, rows, components), \
            f'{what}: JPEG {parse_jpeg(image.data)}'
        if resize is None:
            expected = np.frombuffer(expected_pixels(source, want_pixel, contrast),
                                     dtype=np.uint8).reshape(
                (rows, cols) if components == 1 else (rows, cols, components))
            error = sdk_images.jpeg_error(image.data, expected)
            # JPEG's loss stays under 8 on average even at quality 10 or contrast 255; another
            # image (channels swapped, another contrast) is 45 or more off.
            assert error.mean() < JPEG_MEAN_ERROR, \
                f'{what}: decoded JPEG off the source by {error.mean():.2f} on average'
    return sdk_images.check_shot(what, response.shot, req)


def every_combination():
    """A request for every source, image format and advertised pixel format (JPEG carries no
    alpha: RGBA_U8 as JPEG falls back to RGB_U8), with the pixel format each gets."""
    combinations = []
    for source, layout in SOURCES.items():
        for image_format in (JPEG, RAW):
            for pixel_format in layout['pixel_formats']:
                if image_format == JPEG and pixel_format == RGBA8:
                    combinations.append(
                        (request(source, JPEG, RGBA8, fallback_formats=[RGB8]), RGB8))
                else:
                    combinations.append((request(source, image_format, pixel_format), None))
    return combinations


# The checks.
def list_sources(target):
    label = target.label

    def official():
        sources = target.client.list_image_sources(timeout=TIMEOUT)
        assert [s.name for s in sources] == list(SOURCES), [s.name for s in sources]
        for source in sources:
            layout = SOURCES[source.name]
            assert (source.cols, source.rows) == (layout['cols'], layout['rows']), source
            assert source.image_type == image_pb2.ImageSource.IMAGE_TYPE_VISUAL, source
            assert list(source.pixel_formats) == layout['pixel_formats'], source
            assert list(source.image_formats) == [JPEG, RAW], source
            # The official validator accepts the spec (it raises on an invalid one) and a
            # request without values.
            validator = create_value_validator(source.custom_params)
            assert validator(sc.DictParam()) is None, validator(sc.DictParam())
            target.sources[source.name] = source
        spec = target.spec(COLOUR)
        assert sorted(spec.specs) == ['contrast'], spec
        contrast = spec.specs['contrast']
        assert contrast.ui_info.display_name == 'Contrast', contrast
        double = contrast.spec.double_spec
        assert contrast.spec.WhichOneof('spec') == 'double_spec', contrast
        assert double.default_value.value == DEFAULT_CONTRAST, double
        assert double.min_value.value == 0.0 and double.max_value.value == 255.0, double
        assert len(target.spec(GREY).specs) == 0, target.spec(GREY)

    check(f'{label}: ListImageSources lists colour and grey (size, type, pixel formats, JPEG and '
          'RAW, the contrast spec), which the official validator accepts', official)

    def raw():
        bare = target.raw('ListImageSources', image_pb2.ListImageSourcesRequest(),
                          with_header=False)
        listed = target.raw('ListImageSources', image_pb2.ListImageSourcesRequest())
        for response in (bare, listed):
            assert list(response.image_sources) == list(target.sources.values()), response

    check(f'{label}: the raw stub lists the same sources, with a CODE_OK header (with and without '
          'a request header)', raw)


def every_format(target):
    label = target.label
    for source, layout in SOURCES.items():
        def one_by_one(source=source, layout=layout):
            for image_format in (JPEG, RAW):
                for pixel_format in layout['pixel_formats']:
                    if image_format == JPEG and pixel_format == RGBA8:
                        continue
                    req = request(source, image_format, pixel_format)
                    (response,) = target.client.get_image([req], timeout=TIMEOUT)
                    check_image(target, req, response)
            # The defaults: JPEG in the source's first pixel format.
            (response,) = target.client.get_image_from_sources([source], timeout=TIMEOUT)
            check_image(target, build_image_request(source), response)

        check(f'{label}: ImageClient gets {source} as JPEG and RAW in every advertised pixel '
              f'format ({", ".join(pixel_name(p) for p in layout["pixel_formats"])}) and with the '
              'defaults: RAW pixels exact, JPEG well formed with the right size and components',
              one_by_one)

    def all_at_once_official():
        combinations = every_combination()
        responses = target.client.get_image([req for req, _ in combinations], timeout=TIMEOUT)
        assert len(responses) == len(combinations), len(responses)
        for (req, pixel_format), response in zip(combinations, responses):
            check_image(target, req, response, pixel_format)
        responses = target.client.get_image_from_sources(list(SOURCES), timeout=TIMEOUT)
        assert [r.source.name for r in responses] == list(SOURCES), responses
        for source, response in zip(SOURCES, responses):
            check_image(target, build_image_request(source), response)

    check(f'{label}: ImageClient gets every source, format and pixel format in one request, and '
          'get_image_from_sources every source at once', all_at_once_official)

    def all_at_once_raw():
        combinations = every_combination()
        responses = target.raw_get([req for req, _ in combinations])
        for (req, pixel_format), response in zip(combinations, responses):
            check_image(target, req, response, pixel_format)

    check(f'{label}: the raw stub gets every source, format and pixel format in one request',
          all_at_once_raw)

    def fallbacks():
        depth = request(COLOUR, RAW, DEPTH16, fallback_formats=[GREY16, GREY8])
        rgba = request(COLOUR, JPEG, RGBA8, fallback_formats=[RGB8])
        for req, pixel_format in ((depth, GREY8), (rgba, RGB8)):
            (response,) = target.client.get_image([req], timeout=TIMEOUT)
            check_image(target, req, response, pixel_format)

    check(f'{label}: fallback pixel formats (RAW DEPTH_U16 -> GREYSCALE_U8, JPEG RGBA_U8 -> '
          'RGB_U8)', fallbacks)

    def resize():
        for source, image_format, ratio, size in (
            (COLOUR, RAW, 0.5, (20, 15)),
            (COLOUR, JPEG, 0.5, (20, 15)),
            (GREY, RAW, 0.25, (6, 4)),
            (GREY, JPEG, 0.25, (6, 4)),
            (GREY, RAW, 1.0, None),
        ):
            req = request(source, image_format, resize_ratio=ratio)
            (response,) = target.client.get_image([req], timeout=TIMEOUT)
            check_image(target, req, response, resize=size)

    check(f'{label}: resize ratios 0.5, 0.25 and 1 give the resized sizes (RAW bytes, JPEG '
          'header)', resize)

    def quality():
        sizes = {}
        for percent in (10, 95):
            req = request(COLOUR, JPEG, RGB8, quality_percent=percent)
            (response,) = target.client.get_image([req], timeout=TIMEOUT)
            check_image(target, req, response)
            sizes[percent] = len(response.shot.image.data)
        assert sizes[10] < sizes[95], sizes

    check(f'{label}: JPEG quality 10 is smaller than quality 95', quality)


def acquisition_times(target):
    def increasing():
        times = {source: [] for source in SOURCES}
        for round in range(6):
            time.sleep(0.12)
            if round % 2 == 0:
                responses = target.client.get_image_from_sources(list(SOURCES), timeout=TIMEOUT)
                for source, response in zip(SOURCES, responses):
                    times[source].append(
                        check_image(target, build_image_request(source), response))
            else:
                raw = target.raw_get([request(source, RAW) for source in SOURCES])
                for source, response in zip(SOURCES, raw):
                    times[source].append(check_image(target, request(source, RAW), response))
        for source, stamps in times.items():
            assert all(a < b for a, b in zip(stamps, stamps[1:])), \
                f'{source}: acquisition times {stamps} do not increase'
            target.last_acquisition[source] = stamps[-1]

    check(f'{target.label}: acquisition times strictly increase over successive captures (every '
          '120 ms, official and raw in turn)', increasing)


def expect_param_error(target, source, value, status=None, message=None):
    """Gets `source` with `value`: the official client must raise CustomParamError with the
    error the official validator finds in `value` against the spec the service listed (status
    and messages identical); the raw stub sees the same, with a CODE_OK header."""
    req = build_image_request(source)
    req.custom_params.CopyFrom(value)
    ours = sdk_images.expect_param_error(target.client, req, target.spec(source), CLIENT_PREFIX,
                                         status, None if message is None else [message])
    (raw,) = target.raw_get([req])
    assert raw.status == ImageResponse.STATUS_CUSTOM_PARAMS_ERROR, raw
    assert raw.custom_param_error == ours, raw


def contrast(target):
    label = target.label

    def good():
        validator = create_value_validator(target.spec(COLOUR))
        for value in (0.5, 2.0, 0.0, 255.0, DEFAULT_CONTRAST):
            assert validator(contrast_params(value)) is None, value
            for pixel_format in (RGB8, GREY8, RGBA8):
                req = request(COLOUR, RAW, pixel_format, contrast=value)
                (response,) = target.client.get_image([req], timeout=TIMEOUT)
                check_image(target, req, response, contrast=value)
            req = request(COLOUR, JPEG, RGB8, contrast=value)
            (response,) = target.raw_get([req])
            check_image(target, req, response, contrast=value)

    check(f'{label}: contrast 0.5, 2, 0, 255 and 1 (the official validator accepts them) give '
          'the pixels made with that contrast, echoed in capture_params', good)

    invalid = sc.CustomParamError.STATUS_INVALID_VALUE
    unsupported = sc.CustomParamError.STATUS_UNSUPPORTED_PARAMETER
    for value, message in sdk_images.OUT_OF_RANGE_CONTRASTS:
        check(
            f'{label}: contrast {value} is CUSTOM_PARAMS_ERROR (CustomParamError), INVALID_VALUE, '
            'as the official validator says',
            lambda value=value, message=message: expect_param_error(
                target, COLOUR, contrast_params(value), invalid,
                f'contrast param has error: {message}'))
    check(
        f'{label}: an unknown key is UNSUPPORTED_PARAMETER, as the official validator says',
        lambda: expect_param_error(
            target, COLOUR,
            sc.DictParam(values={'brightness': sc.CustomParam(double_value=sc.DoubleParam(
                value=1.0))}), unsupported,
            "DictParam value contains keys {'brightness'} not present in the spec."))
    check(
        f'{label}: an integer contrast is CUSTOM_PARAMS_ERROR with the official validator\'s '
        'status and message', lambda: expect_param_error(
            target, COLOUR,
            sc.DictParam(values={'contrast': sc.CustomParam(int_value=sc.Int64Param(value=2))})))
    check(
        f'{label}: contrast for grey (no parameters) is UNSUPPORTED_PARAMETER, as the official '
        'validator says',
        lambda: expect_param_error(
            target, GREY, contrast_params(1.0), unsupported,
            "DictParam value contains keys {'contrast'} not present in the spec."))


# (request, status, the official client's exception) for every refused request but the failing
# capture.
def bad_requests():
    return [
        (request('no-such-camera', JPEG, RGB8), ImageResponse.STATUS_UNKNOWN_CAMERA,
         UnknownImageSourceError),
        (request('', RAW, GREY8), ImageResponse.STATUS_UNKNOWN_CAMERA, UnknownImageSourceError),
        (request(COLOUR, JPEG, RGB8, resize_ratio=1.5),
         ImageResponse.STATUS_UNSUPPORTED_RESIZE_RATIO_REQUESTED,
         UnsupportedResizeRatioRequestedError),
        (request(GREY, RAW, GREY8, resize_ratio=-0.5),
         ImageResponse.STATUS_UNSUPPORTED_RESIZE_RATIO_REQUESTED,
         UnsupportedResizeRatioRequestedError),
        (request(COLOUR, RAW, DEPTH16), ImageResponse.STATUS_UNSUPPORTED_PIXEL_FORMAT_REQUESTED,
         UnsupportedPixelFormatRequestedError),
        (request(COLOUR, RAW, GREY16), ImageResponse.STATUS_UNSUPPORTED_PIXEL_FORMAT_REQUESTED,
         UnsupportedPixelFormatRequestedError),
        (request(GREY, RAW, RGB8), ImageResponse.STATUS_UNSUPPORTED_PIXEL_FORMAT_REQUESTED,
         UnsupportedPixelFormatRequestedError),
        (request(COLOUR, RLE, RGB8), ImageResponse.STATUS_UNSUPPORTED_IMAGE_FORMAT_REQUESTED,
         UnsupportedImageFormatRequestedError),
        (request(COLOUR, JPEG, RGBA8), ImageResponse.STATUS_UNSUPPORTED_IMAGE_FORMAT_REQUESTED,
         UnsupportedImageFormatRequestedError),
        (request(GREY, RLE, GREY8), ImageResponse.STATUS_UNSUPPORTED_IMAGE_FORMAT_REQUESTED,
         UnsupportedImageFormatRequestedError),
    ]


def expect_image_error(target, req, status, error_type):
    """The official client raises `error_type` for `req`, with a CODE_OK header, the status and
    no image; returns the image response."""
    exc = sdk_images.expect_image_error(target.client, req, status, error_type, CLIENT_PREFIX)
    return exc.response.image_responses[0]


def errors(target):
    label = target.label
    for req, status, error_type in bad_requests():
        check(
            f'{label}: {describe(req)} is {status_name(status)} ({error_type.__name__}), header '
            'CODE_OK', lambda req=req, status=status, error_type=error_type: expect_image_error(
                target, req, status, error_type))

    def batch():
        bad = bad_requests()
        bad.insert(3, (request(COLOUR, RAW, RGB8, contrast=300.0),
                       ImageResponse.STATUS_CUSTOM_PARAMS_ERROR, CustomParamError))
        good = request(COLOUR, RAW, RGB8, contrast=2.0)
        requests = [req for req, _, _ in bad] + [good]
        responses = target.raw_get(requests)
        statuses = [status_name(r.status) for r in responses]
        assert statuses == [status_name(s) for _, s, _ in bad] + ['STATUS_OK'], statuses
        for (req, _, _), response in zip(bad, responses):
            assert not response.shot.image.data, describe(req)
        check_image(target, good, responses[-1], contrast=2.0)
        # The official client raises the first one's error, with the whole response.
        exc = raises(UnknownImageSourceError,
                     lambda: target.client.get_image(requests, timeout=TIMEOUT))
        check_official_header(exc.response)
        assert [status_name(r.status) for r in exc.response.image_responses] == statuses

    check(f'{label}: every refused request in one GetImage, with a good one: each its status, '
          'header CODE_OK (raw stub and ImageClient)', batch)


def switch(state):
    """Asks the test to switch the sources' failure to `state`; waits for its OK."""
    print(f'SWITCH {state}', flush=True)
    answer = sys.stdin.readline()
    if answer.strip() != 'OK':
        fail(f'the test answered {answer!r} to SWITCH {state}')


def failing_capture(target):
    label = target.label
    switch('fail')

    def official():
        for req in (request(COLOUR, JPEG, RGB8), request(COLOUR, RAW, GREY8, contrast=2.0),
                    request(GREY, RAW, GREY8)):
            response = expect_image_error(target, req, ImageResponse.STATUS_IMAGE_DATA_ERROR,
                                          ImageDataError)
            assert response.source == target.sources[req.image_source_name], response
        exc = raises(ImageDataError,
                     lambda: target.client.get_image_from_sources(list(SOURCES), timeout=TIMEOUT))
        check_official_header(exc.response)
        statuses = [status_name(r.status) for r in exc.response.image_responses]
        assert statuses == ['STATUS_IMAGE_DATA_ERROR'] * 2, statuses

    check(f'{label}: while capture fails, ImageClient raises ImageDataError '
          '(STATUS_IMAGE_DATA_ERROR with the source, no image), header CODE_OK', official)

    def raw():
        responses = target.raw_get([
            request(COLOUR, RAW, RGB8),
            request(GREY, JPEG, GREY8),
            request('no-such-camera', JPEG, RGB8),
            request(COLOUR, JPEG, RGB8, contrast=300.0),
        ])
        statuses = [status_name(r.status) for r in responses]
        assert statuses == [
            'STATUS_IMAGE_DATA_ERROR', 'STATUS_IMAGE_DATA_ERROR', 'STATUS_UNKNOWN_CAMERA',
            'STATUS_CUSTOM_PARAMS_ERROR'
        ], statuses

    check(f'{label}: while capture fails, the raw stub gets STATUS_IMAGE_DATA_ERROR for each '
          'source (other refusals unchanged), header CODE_OK', raw)

    switch('recover')

    def recovered():
        responses = target.client.get_image_from_sources(list(SOURCES), timeout=TIMEOUT)
        for source, response in zip(SOURCES, responses):
            taken = check_image(target, build_image_request(source), response)
            last = target.last_acquisition.get(source)
            assert last is None or taken > last, f'{source}: an old frame ({taken} <= {last})'

    check(f'{label}: once capture works again, every source is STATUS_OK with a new frame',
          recovered)


def run_checks(target, failure_switch):
    list_sources(target)
    if set(target.sources) != set(SOURCES):
        fail(f'{target.label}: cannot go on without the sources')
    every_format(target)
    acquisition_times(target)
    contrast(target)
    errors(target)
    if failure_switch:
        failing_capture(target)


def robot_mode(options):
    robot, name, client = sdk_images.robot_image_client(options, CLIENT_PREFIX)
    target = Target(f'{name} via robot', robot.ensure_channel(name), client)
    run_checks(target, options.failure_switch)
    robot.shutdown()


def direct_mode(options):
    channel = grpc.insecure_channel(f'127.0.0.1:{options.port}')
    client = ImageClient()
    client.channel = channel
    client.request_processors.append(AddRequestHeader(lambda: f'{CLIENT_PREFIX}-direct'))
    run_checks(Target('direct', channel, client), options.failure_switch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--failure-switch', action='store_true',
                        help='ask (SWITCH fail / SWITCH recover on stdout, OK on stdin) for the '
                        'sources to fail, and check STATUS_IMAGE_DATA_ERROR')
    modes = parser.add_subparsers(dest='mode', required=True)
    direct = modes.add_parser('direct', parents=[common], help='plain h2c to the service port')
    direct.add_argument('--port', type=int, required=True)
    robot = modes.add_parser('robot', parents=[common], help='through the robot emulator')
    sdk_checks.add_emulator_arguments(robot)
    robot.add_argument('--service', required=True, help='the service\'s directory name')
    robot.add_argument('--authority', help='the authority the directory must list')
    options = parser.parse_args()
    sdk_checks.run(direct_mode if options.mode == 'direct' else robot_mode, options)


if __name__ == '__main__':
    main()
