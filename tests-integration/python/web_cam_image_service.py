"""A web cam image service with a synthetic camera, written the way the official Spot SDK
(bosdyn-client 5.2.0) builds one.

It is the Python side of `image-bench` (tests-integration/src/bin/image-bench.rs), which runs it
next to spot-service's `web-cam` example (device `test-pattern`) and compares the two. It is the
official `custom_parameter_image_server.py` example with its OpenCV camera replaced by a synthetic
one, so that both services serve the same 640x480 picture on any machine:

- `TestPatternCamera` is a `CameraInterface`. Its `blocking_capture` renders what web-cam's
  `TestPattern` renders (eight colour bars scrolling left to right, a full width every 4 s, under
  a white box with a black border bouncing around), with the "Contrast" parameter applied as a gain
  about mid-grey, and returns it in OpenCV's channel order (BGR), as `cv2.VideoCapture.read` does.
  Its `image_decode` is the official one: `cv2.cvtColor` plus the SDK's
  `convert_RGB_to_grayscale` for grey, `cv2.resize` with INTER_AREA for a resize ratio, the raw
  array bytes for FORMAT_RAW, `cv2.imencode` with IMWRITE_JPEG_QUALITY (75 unless the request
  asks) for FORMAT_JPEG.
- "Contrast" is declared as the official example declares it: a double spec from 0 to 255 whose
  default is the camera's contrast (1 here), background captures at Contrast 1.
- `VisualImageSource` and `CameraBaseImageServicer` with the background capture thread (one
  capture every 0.05 s); the servicer reports capture faults through the robot's FaultService
  and stamps acquisition times in robot time (time sync), so it needs a robot: it logs in to the
  robot given (the emulator: trusting its CA instead of the Boston Dynamics root, on its port),
  with BOSDYN_CLIENT_USERNAME and BOSDYN_CLIENT_PASSWORD from the environment.
- hosted by the SDK's `GrpcServiceRunner` and kept in the robot's directory by a
  `DirectoryRegistrationKeepAlive`, as the official example does.

    BOSDYN_CLIENT_USERNAME=admin BOSDYN_CLIENT_PASSWORD=password \
        python web_cam_image_service.py 127.0.0.1 --robot-port 8443 --robot-ca CA.pem \
        --host-ip 127.0.0.1 --port 50071

Needs numpy (a bosdyn-client dependency) and OpenCV (`bench-requirements.txt`).
"""

import argparse
import logging
import time

import cv2
import numpy as np

import bosdyn.client
import bosdyn.client.util
from bosdyn.api import image_pb2, image_service_pb2_grpc, service_customization_pb2
from bosdyn.client.directory_registration import (DirectoryRegistrationClient,
                                                  DirectoryRegistrationKeepAlive)
from bosdyn.client.image_service_helpers import (CameraBaseImageServicer, CameraInterface,
                                                 VisualImageSource, convert_RGB_to_grayscale)
from bosdyn.client.server_util import GrpcServiceRunner
from bosdyn.client.util import setup_logging

from web_cam_pattern import BARS_RGB, contrast_table

DIRECTORY_NAME = 'web-cam-service'
AUTHORITY = 'robot-web-cam'
SERVICE_TYPE = 'bosdyn.api.ImageService'
SOURCE_NAME = 'test-pattern'

CONTRAST_MIN = 0
CONTRAST_MAX = 255

_LOGGER = logging.getLogger('web-cam-python')


class TestPatternCamera(CameraInterface):
    """A synthetic camera: the frames web-cam's `TestPattern` renders, in OpenCV's BGR order."""

    def __init__(self, cols=640, rows=480):
        super().__init__()
        self.image_source_name = SOURCE_NAME
        self.cols = max(int(cols), 8)
        self.rows = max(int(rows), 8)
        self.started = time.monotonic()
        # What the official example reads from the camera (`CAP_PROP_CONTRAST`, gain, exposure).
        self.default_contrast = 1.0
        self.camera_gain = None
        self.camera_exposure = None
        self.default_jpeg_quality = 75
        # Three channels, as the official example decides from its first frame.
        self.supported_pixel_formats = [
            image_pb2.Image.PIXEL_FORMAT_GREYSCALE_U8, image_pb2.Image.PIXEL_FORMAT_RGB_U8
        ]
        self._bars_bgr = BARS_RGB[:, ::-1].copy()
        self._columns = np.arange(self.cols, dtype=np.int64)

    def render(self, millis, contrast):
        """The BGR frame `millis` after the start, with `contrast` applied."""
        cols, rows = self.cols, self.rows
        scroll = millis * cols // 4000 % cols
        bars = (self._columns + cols - scroll) % cols * 8 // cols
        frame = np.empty((rows, cols, 3), dtype=np.uint8)
        frame[:] = self._bars_bgr[bars]

        side = min(cols, rows) // 5

        def travel(extent, speed_num, speed_den):
            span = max(extent - side, 1)
            position = millis * speed_num // speed_den % (2 * span)
            return position if position < span else 2 * span - position

        box_x = travel(cols, cols, 4000)
        box_y = travel(rows, rows, 3000)
        border = max(side // 10, 1)
        frame[box_y:box_y + side, box_x:box_x + side] = 0
        frame[box_y + border:box_y + side - border, box_x + border:box_x + side - border] = 255
        return contrast_table(contrast)[frame]

    def blocking_capture(self, *, custom_params=None, **kwargs):
        contrast = self.default_contrast
        if custom_params is not None:
            contrast_param = custom_params.values.get('Contrast')
            contrast = contrast_param.double_value.value if contrast_param else self.default_contrast
        # The lock the official example holds while it sets the contrast and reads a frame.
        with self.capture_lock:
            capture_time = time.time()
            millis = int((time.monotonic() - self.started) * 1000)
            image = self.render(millis, contrast)
        return image, capture_time

    def image_decode(self, image_data, image_proto, image_req):
        # The official example's decoding, for its three-channel (BGR) frames.
        pixel_format = image_req.pixel_format
        image_format = image_req.image_format

        converted_image_data = image_data
        if pixel_format == image_pb2.Image.PIXEL_FORMAT_GREYSCALE_U8:
            converted_image_data = convert_RGB_to_grayscale(
                cv2.cvtColor(converted_image_data, cv2.COLOR_BGR2RGB))
            image_proto.pixel_format = pixel_format
        else:
            image_proto.pixel_format = image_pb2.Image.PIXEL_FORMAT_RGB_U8

        resize_ratio = image_req.resize_ratio
        quality_percent = image_req.quality_percent
        if resize_ratio < 0 or resize_ratio > 1:
            raise ValueError(f'Resize ratio {resize_ratio} is out of bounds.')
        if resize_ratio != 1.0 and resize_ratio != 0:
            image_proto.rows = int(image_proto.rows * resize_ratio)
            image_proto.cols = int(image_proto.cols * resize_ratio)
            converted_image_data = cv2.resize(converted_image_data,
                                              (image_proto.cols, image_proto.rows),
                                              interpolation=cv2.INTER_AREA)

        if image_format == image_pb2.Image.FORMAT_RAW:
            image_proto.data = np.ndarray.tobytes(converted_image_data)
            image_proto.format = image_pb2.Image.FORMAT_RAW
        elif image_format in (image_pb2.Image.FORMAT_JPEG, image_pb2.Image.FORMAT_UNKNOWN, None):
            quality = self.default_jpeg_quality
            if 0 < quality_percent <= 100:
                quality = quality_percent
            encode_param = [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)]
            image_proto.data = cv2.imencode('.jpg', converted_image_data, encode_param)[1].tobytes()
            image_proto.format = image_pb2.Image.FORMAT_JPEG
        else:
            raise Exception(
                f'Image format {image_pb2.Image.Format.Name(image_format)} is unsupported.')


def contrast_child_spec(default_val, min_val, max_val, display_name):
    """The "Contrast" entry of the params spec: a double, as the official example declares it."""
    child = service_customization_pb2.DictParam.ChildSpec()
    child.ui_info.display_name = display_name
    child.spec.double_spec.default_value.value = default_val
    child.spec.double_spec.min_value.value = min_val
    child.spec.double_spec.max_value.value = max_val
    return child


def make_image_servicer(robot, service_name, cols, rows):
    camera = TestPatternCamera(cols, rows)
    param_spec = service_customization_pb2.DictParam.Spec()
    param_spec.specs.get_or_create('Contrast').CopyFrom(
        contrast_child_spec(camera.default_contrast, CONTRAST_MIN, CONTRAST_MAX, 'Contrast'))
    source = VisualImageSource(camera.image_source_name, camera, rows=camera.rows,
                               cols=camera.cols, gain=camera.camera_gain,
                               exposure=camera.camera_exposure,
                               pixel_formats=camera.supported_pixel_formats,
                               param_spec=param_spec)
    background_capture_params = service_customization_pb2.DictParam()
    background_capture_params.values.get_or_create('Contrast').double_value.value = 1
    return CameraBaseImageServicer(bosdyn_sdk_robot=robot, service_name=service_name,
                                   image_sources=[source], logger=_LOGGER,
                                   use_background_capture_thread=True,
                                   background_capture_params=background_capture_params)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('hostname', help='The robot (the emulator: 127.0.0.1).')
    parser.add_argument('--robot-port', type=int, default=443, help='The robot\'s port.')
    parser.add_argument('--robot-ca', help='A CA to trust instead of the Boston Dynamics root.')
    parser.add_argument('--host-ip', default='127.0.0.1',
                        help='The address the robot reaches this service at.')
    parser.add_argument('--port', type=int, default=0, help='The port to serve on.')
    parser.add_argument('--directory-name', default=DIRECTORY_NAME)
    parser.add_argument('--authority', default=AUTHORITY)
    parser.add_argument('--res-width', type=int, default=640)
    parser.add_argument('--res-height', type=int, default=480)
    parser.add_argument('-v', '--verbose', action='store_true')
    options = parser.parse_args()

    setup_logging(options.verbose, include_dedup_filter=True)

    sdk = bosdyn.client.create_standard_sdk('ImageServiceSDK')
    if options.robot_ca:
        sdk.load_robot_cert(options.robot_ca)
    robot = sdk.create_robot(options.hostname)
    robot.update_secure_channel_port(options.robot_port)
    bosdyn.client.util.authenticate(robot)

    servicer = make_image_servicer(robot, options.directory_name, options.res_width,
                                   options.res_height)
    service_runner = GrpcServiceRunner(servicer,
                                       image_service_pb2_grpc.add_ImageServiceServicer_to_server,
                                       options.port, logger=_LOGGER)

    dir_reg_client = robot.ensure_client(DirectoryRegistrationClient.default_service_name)
    keep_alive = DirectoryRegistrationKeepAlive(dir_reg_client, logger=_LOGGER)
    keep_alive.start(options.directory_name, SERVICE_TYPE, options.authority, options.host_ip,
                     service_runner.port)
    with keep_alive:
        service_runner.run_until_interrupt()


if __name__ == '__main__':
    main()
