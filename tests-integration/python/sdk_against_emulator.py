"""The official Spot Python SDK (bosdyn-client 5.2.0, unmodified) against spot-service's robot
emulator, as a client of a real robot would use it.

Usage: sdk_against_emulator.py PORT CA_FILE USERNAME PASSWORD ANNOUNCE_PROTO_DIR BOSDYN_PROTO_DIR

The emulator listens on 127.0.0.1:PORT with certificates from the CA in CA_FILE; USERNAME and
PASSWORD are a user it knows. The announce service (examples/announce) is already registered in
its directory. The only departures from a real robot's setup are trusting CA_FILE instead of the
Boston Dynamics root CA and using PORT instead of 443.

Payload authorization is the operator's job: the script prints `AUTHORIZE <guid>` and waits for a
line on stdin (the test authorizes the payload in the emulator, then answers `OK`).

Prints `ok: <check>` or `FAILED: <check>: <error>` per check, then `N passed, M failed`; exits 1
if any check failed.
"""
import importlib
import os
import sys
import tempfile
import uuid

from grpc_tools import protoc

from bosdyn.api import header_pb2, payload_pb2
from bosdyn.client.auth import InvalidLoginError
from bosdyn.client.common import BaseClient, common_header_errors
from bosdyn.client.exceptions import ServiceUnavailableError, UnauthenticatedError
from bosdyn.client.payload_registration import (InvalidPayloadCredentialsError,
                                                PayloadAlreadyExistsError,
                                                PayloadNotAuthorizedError,
                                                PayloadRegistrationClient)
from bosdyn.client.robot import UnregisteredServiceNameError

import sdk_checks
from sdk_checks import TIMEOUT, check, raises

port, ca_file, username, password, announce_proto_dir, bosdyn_proto_dir = sys.argv[1:7]
port = int(port)

# Stubs for announce.proto only: its `bosdyn/api/header.proto` import resolves to the official
# bosdyn-api modules, so every bosdyn message on the wire is the official code's.
out = tempfile.mkdtemp()
includes = os.path.join(os.path.dirname(protoc.__file__), '_proto')
code = protoc.main([
    'protoc', f'-I{announce_proto_dir}', f'-I{bosdyn_proto_dir}', f'-I{includes}',
    f'--python_out={out}', f'--grpc_python_out={out}', 'announce.proto'
])
assert code == 0, 'grpc_tools.protoc failed on announce.proto'
sys.path.insert(0, out)
announce_pb2 = importlib.import_module('announce_pb2')
announce_pb2_grpc = importlib.import_module('announce_pb2_grpc')


class AnnounceClient(BaseClient):
    """The official self-registration example's announce client (announce_client.py), plus the
    standard header error check and a call returning the whole response."""

    # Typical name of the service in the robot's directory listing.
    default_service_name = 'announce-service'
    # gRPC service proto definition implemented by this service.
    service_type = 'AnnounceService'

    def __init__(self):
        super(AnnounceClient, self).__init__(announce_pb2_grpc.AnnounceServiceStub)

    def make_announcement(self, message, **kwargs):
        """Announce a message."""
        req = announce_pb2.AnnounceRequest(message=message)
        return self.call(self._stub.Announce, req,
                         value_from_response=lambda response: response.message,
                         error_from_response=common_header_errors, **kwargs)

    def announce_response(self, message, **kwargs):
        """Announce a message; the whole response."""
        req = announce_pb2.AnnounceRequest(message=message)
        return self.call(self._stub.Announce, req, error_from_response=common_header_errors,
                         **kwargs)


robot = sdk_checks.emulator_robot('SdkAgainstEmulator', port, ca_file, [AnnounceClient])

BUILTIN_SERVICES = {
    'auth': ('bosdyn.api.AuthService', 'auth.spot.robot'),
    'directory': ('bosdyn.api.DirectoryService', 'api.spot.robot'),
    'directory-registration': ('bosdyn.api.DirectoryRegistrationService', 'api.spot.robot'),
    'payload-registration': ('bosdyn.api.PayloadRegistrationService',
                             'payload-registration.spot.robot'),
    'robot-id': ('bosdyn.api.RobotIdService', 'id.spot.robot'),
}


# 1. Login.
def directory_needs_a_token():
    raises(UnauthenticatedError, lambda: robot.ensure_client('directory').list(timeout=TIMEOUT))


def wrong_password():
    raises(InvalidLoginError,
           lambda: robot.authenticate(username, password + '-wrong', timeout=TIMEOUT))
    assert robot.user_token is None, robot.user_token


def login():
    robot.authenticate(username, password, timeout=TIMEOUT)
    assert robot.user_token, 'no user token'


check('the directory refuses calls without a token (UnauthenticatedError)',
      directory_needs_a_token)
check('authenticate with a wrong password raises InvalidLoginError', wrong_password)
check('authenticate with the configured user', login)


def robot_id():
    robot_id = robot.get_id()
    assert robot_id.serial_number, robot_id
    assert robot_id.software_release.version.major_version == 5, robot_id


check('robot-id answers (get_id)', robot_id)


# 2. The directory.
def directory_list():
    entries = {entry.name: entry for entry in robot.ensure_client('directory').list(
        timeout=TIMEOUT)}
    for name, (service_type, authority) in BUILTIN_SERVICES.items():
        assert name in entries, f'{name} not listed: {sorted(entries)}'
        assert entries[name].type == service_type, entries[name]
        assert entries[name].authority == authority, entries[name]
    announce = entries.get('announce-service')
    assert announce is not None, f'announce-service not listed: {sorted(entries)}'
    assert announce.type == 'AnnounceService', announce
    assert announce.authority == 'announce-service.spot.robot', announce


def directory_get_entry():
    entry = robot.ensure_client('directory').get_entry('announce-service', timeout=TIMEOUT)
    assert entry.name == 'announce-service', entry
    assert entry.type == 'AnnounceService', entry


check('directory list shows the built-in services and the announce service', directory_list)
check('directory get_entry finds the announce service', directory_get_entry)

# 3. Payload registration and the operator's authorization.
guid = str(uuid.uuid4())
secret = uuid.uuid4().hex
registration = robot.ensure_client(PayloadRegistrationClient.default_service_name)


def register_payload():
    payload = payload_pb2.Payload(GUID=guid, name='python sdk test payload',
                                  description='registered by sdk_against_emulator.py')
    registration.register_payload(payload, secret, timeout=TIMEOUT)


def register_again():
    payload = payload_pb2.Payload(GUID=guid, name='python sdk test payload')
    raises(PayloadAlreadyExistsError,
           lambda: registration.register_payload(payload, secret, timeout=TIMEOUT))


def not_authorized_yet():
    raises(PayloadNotAuthorizedError,
           lambda: registration.get_payload_auth_token(guid, secret, timeout=TIMEOUT))


def wrong_secret():
    raises(InvalidPayloadCredentialsError,
           lambda: registration.get_payload_auth_token(guid, secret + 'x', timeout=TIMEOUT))


def operator_authorizes():
    print(f'AUTHORIZE {guid}', flush=True)
    answer = sys.stdin.readline().strip()
    assert answer == 'OK', f'the test answered {answer!r}'


def payload_token():
    user_token = robot.user_token
    robot.authenticate_from_payload_credentials(guid, secret, timeout=TIMEOUT,
                                                retry_interval=0.1)
    assert robot.user_token and robot.user_token != user_token, 'no new token'


def payload_token_lists_directory():
    names = [entry.name for entry in robot.list_services()]
    assert 'announce-service' in names, names


check('register a new payload (register_payload)', register_payload)
check('registering it again raises PayloadAlreadyExistsError', register_again)
check('get_payload_auth_token before authorization raises PayloadNotAuthorizedError',
      not_authorized_yet)
check('get_payload_auth_token with a wrong secret raises InvalidPayloadCredentialsError',
      wrong_secret)
check('the operator authorizes the payload', operator_authorizes)
check('authenticate_from_payload_credentials gets a payload token', payload_token)
check('the payload token lists the directory', payload_token_lists_directory)


# 4. The announce service, through the robot's proxy.
def announce_hello():
    client = robot.ensure_client(AnnounceClient.default_service_name)
    assert client.make_announcement('hello', timeout=TIMEOUT) == 'HELLO'


def announce_default():
    client = robot.ensure_client(AnnounceClient.default_service_name)
    assert client.make_announcement('', timeout=TIMEOUT) == 'DEFAULT ANNOUNCEMENT!'


def announce_header():
    client = robot.ensure_client(AnnounceClient.default_service_name)
    response = client.announce_response('headers', timeout=TIMEOUT)
    assert response.message == 'HEADERS', response
    header = response.header
    assert header.error.code == header_pb2.CommonError.CODE_OK, header
    # create_standard_sdk names the client generate_client_name('SdkAgainstEmulator').
    assert header.request_header.client_name.startswith('SdkAgainstEmulator'), header
    assert header.request_header.request_timestamp.seconds > 0, header
    assert header.request_received_timestamp.seconds > 0, header
    assert header.request.type_url == 'type.googleapis.com/AnnounceRequest', header.request
    echoed = announce_pb2.AnnounceRequest()
    assert header.request.Unpack(echoed), header.request
    assert echoed.message == 'headers', echoed


def announce_channel_authority():
    assert robot.authorities_by_name.get('announce-service') == 'announce-service.spot.robot', \
        robot.authorities_by_name
    assert 'announce-service.spot.robot' in robot.channels_by_authority


check('ensure_client(announce-service).make_announcement("hello") == "HELLO"', announce_hello)
check('an empty announcement is "DEFAULT ANNOUNCEMENT!"', announce_default)
check('the announce response header is CODE_OK and echoes the request', announce_header)
check('the SDK reached it on a channel to announce-service.spot.robot',
      announce_channel_authority)


# 5. Services the robot does not know.
def unknown_authority():
    client = AnnounceClient()
    client.channel = robot.ensure_secure_channel('nope.spot.robot')
    client.update_from(robot)
    raises(ServiceUnavailableError, lambda: client.make_announcement('anyone?', timeout=TIMEOUT))


def unknown_service_name():
    # ensure_channel looks the name up in the robot's directory (sync_with_directory) first.
    raises(UnregisteredServiceNameError, lambda: robot.ensure_channel('no-such-service'))


check('a call to an unregistered authority raises ServiceUnavailableError', unknown_authority)
check('ensure_channel for a name not in the directory raises UnregisteredServiceNameError',
      unknown_service_name)

robot.shutdown()
sdk_checks.finish()
