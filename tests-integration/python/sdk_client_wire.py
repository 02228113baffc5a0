"""The official Spot Python SDK (bosdyn-client 5.2.0) as an independent client of spot-service.

Usage: sdk_client_wire.py ADDRESS PROTO_DIR BOSDYN_PROTO_DIR

ADDRESS hosts spot-service's test EchoService and a RobotIdService. Stubs for the test proto are
generated here with grpcio-tools; its bosdyn imports resolve to the official bosdyn-api modules,
so every bosdyn message on the wire is encoded and decoded by the official code.
"""
import importlib
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

from bosdyn.api import header_pb2
from bosdyn.client.common import BaseClient, common_header_errors
from bosdyn.client.exceptions import InternalServerError, InvalidRequestError
from bosdyn.client.processors import AddRequestHeader
from bosdyn.client.robot_id import RobotIdClient

import sdk_checks
from sdk_checks import check, raises

address, proto_dir, bosdyn_dir = sys.argv[1:4]
CLIENT_NAME = 'python-sdk-wire-test'

# Generate the test service's Python stubs (only testing.proto; bosdyn comes from the wheel).
out = tempfile.mkdtemp()
includes = os.path.join(os.path.dirname(protoc.__file__), '_proto')
code = protoc.main(['protoc', f'-I{proto_dir}', f'-I{bosdyn_dir}', f'-I{includes}', f'--python_out={out}',
                    f'--grpc_python_out={out}', 'testing.proto'])
assert code == 0, 'grpc_tools.protoc failed'
sys.path.insert(0, out)
testing_pb2 = importlib.import_module('testing_pb2')
testing_pb2_grpc = importlib.import_module('testing_pb2_grpc')


class EchoClient(BaseClient):
    """A client written the way the SDK's own clients are."""
    default_service_name = 'echo-service'
    service_type = 'spot_service.testing.EchoService'

    def __init__(self):
        super().__init__(testing_pb2_grpc.EchoServiceStub)

    def echo(self, text, behavior=testing_pb2.BEHAVIOR_ECHO, **kwargs):
        request = testing_pb2.EchoRequest(text=text, behavior=behavior)
        return self.call(self._stub.Echo, request, error_from_response=common_header_errors,
                         copy_request=False, **kwargs)


channel = grpc.insecure_channel(address)
client = EchoClient()
client.channel = channel
client.request_processors.append(AddRequestHeader(lambda: CLIENT_NAME))


def ok_call():
    response = client.echo('hello')
    assert response.text == 'hello', response
    header = response.header
    assert header.error.code == header_pb2.CommonError.CODE_OK
    assert header.request_header.client_name == CLIENT_NAME, header
    assert header.request_header.request_timestamp.seconds > 0
    assert header.request_received_timestamp.seconds > 0
    assert header.response_timestamp.ToNanoseconds() >= header.request_received_timestamp.ToNanoseconds()
    assert header.request.type_url == 'type.googleapis.com/spot_service.testing.EchoRequest', header.request
    packed = testing_pb2.EchoRequest()
    assert header.request.Unpack(packed)
    assert packed.text == 'hello' and packed.header.client_name == CLIENT_NAME


def handler_error():
    exc = raises(InternalServerError, lambda: client.echo('x', behavior=testing_pb2.BEHAVIOR_FAIL))
    assert exc.response.header.error.message == 'the sensor is unplugged', exc


def invalid_request():
    exc = raises(InvalidRequestError, lambda: client.echo('bad', behavior=testing_pb2.BEHAVIOR_INVALID))
    assert exc.response.header.error.message == 'text "bad" is not allowed', exc


def panic_then_serving():
    exc = raises(InternalServerError, lambda: client.echo('kaboom', behavior=testing_pb2.BEHAVIOR_PANIC))
    assert exc.response.header.error.message == 'handler panicked: boom: kaboom', exc
    assert client.echo('after panic').text == 'after panic'


def no_header_raw_stub():
    stub = testing_pb2_grpc.EchoServiceStub(channel)
    response = stub.Echo(testing_pb2.EchoRequest(text='raw'))
    assert response.header.error.code == header_pb2.CommonError.CODE_OK, response.header
    assert response.text == 'raw'
    assert response.header.HasField('response_timestamp')


def robot_id_official_client():
    robot_id = RobotIdClient()
    robot_id.channel = channel  # no request processors: the local examples' empty header
    rid = robot_id.get_id()
    assert rid.serial_number == 'spot-service-test', rid
    assert rid.nickname == 'emulated', rid
    assert rid.software_release.version.major_version == 5, rid
    robot_id.request_processors.append(AddRequestHeader(lambda: CLIENT_NAME))
    assert robot_id.get_id().species == 'spot'


for name, fn in [('ok call', ok_call), ('handler error', handler_error),
                 ('invalid request', invalid_request), ('panic then serving', panic_then_serving),
                 ('raw stub without header', no_header_raw_stub),
                 ('official RobotIdClient', robot_id_official_client)]:
    check(name, fn)
sdk_checks.finish()
