"""What the scripts in which the official Spot Python SDK checks spot-service have in common: the
check runner and its report, expected exceptions, the Spot header rules, custom parameter errors
compared with the official validator, and logging in to the robot emulator.

A script imports it as `import sdk_checks` (Python puts the script's own directory first on
`sys.path`, and the Rust tests run every script by its path).

The report, which the Rust tests parse: one line per check, `ok: <check>` or
`FAILED: <check>: <error>` (the traceback goes to stderr), then `N passed, M failed` as the last
line of stdout; the exit status is 1 if any check failed.
"""
import sys
import traceback

from google.protobuf import timestamp_pb2

import bosdyn.client
from bosdyn.api import header_pb2
from bosdyn.api import service_customization_pb2 as sc
from bosdyn.client.service_customization_helpers import create_value_validator

TIMEOUT = 10  # seconds, for every RPC

_counts = {'passed': 0, 'failed': 0}


def _failed(what, exc):
    _counts['failed'] += 1
    print(f'FAILED: {what}{exc!r}', flush=True)
    traceback.print_exc()


def check(name, fn):
    """Runs the check `fn` and reports it as `name`; a failure is reported and the script goes
    on."""
    try:
        fn()
    except Exception as exc:  # report every failure, keep going
        _failed(f'{name}: ', exc)
        return
    _counts['passed'] += 1
    print(f'ok: {name}', flush=True)


def finish():
    """Prints the summary line and exits: 1 if any check failed, 0 otherwise."""
    print(f'{_counts["passed"]} passed, {_counts["failed"]} failed', flush=True)
    sys.exit(1 if _counts['failed'] else 0)


def run(body, *args):
    """Runs `body(*args)`, whose checks are reported as they run; an exception outside any check
    counts as a failure. Then [`finish`]es."""
    try:
        body(*args)
    except Exception as exc:  # a failure outside any check
        _failed('', exc)
    finish()


def fail(message):
    raise AssertionError(message)


def raises(error_type, fn):
    """Runs `fn`, which must raise `error_type`; returns the exception."""
    try:
        result = fn()
    except error_type as exc:
        return exc
    raise AssertionError(f'expected {error_type.__name__}, got {result!r}')


def now():
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


# The Spot header rules.
def call_raw(stub, method, request, client_name, with_header=True):
    """Calls `method` with the raw gRPC `stub` (with a request header naming `client_name`,
    unless `with_header` is false); checks the header rules of the response and returns it."""
    if with_header:
        request.header.CopyFrom(
            header_pb2.RequestHeader(client_name=client_name, request_timestamp=now()))
    response = getattr(stub, method)(request, timeout=TIMEOUT)
    check_response_header(method, request, response, with_header)
    return response


def check_response_header(method, request, response, with_header):
    """The header rules: CODE_OK, the request header echoed, both timestamps set and ordered, the
    request packed with its type URL."""
    header = response.header
    assert header.error.code == header_pb2.CommonError.CODE_OK, f'{method}: {header}'
    assert header.HasField('request_received_timestamp'), f'{method}: {header}'
    assert header.HasField('response_timestamp'), f'{method}: {header}'
    received = header.request_received_timestamp.ToNanoseconds()
    answered = header.response_timestamp.ToNanoseconds()
    assert received > 0 and answered >= received, f'{method}: {header}'
    if with_header:
        assert header.request_header == request.header, \
            f'{method}: echoed {header.request_header} instead of {request.header}'
        assert request.header.request_timestamp.ToNanoseconds() <= received, header
    type_url = f'type.googleapis.com/{request.DESCRIPTOR.full_name}'
    assert header.request.type_url == type_url, f'{method}: {header.request.type_url}'
    packed = type(request)()
    assert header.request.Unpack(packed), header.request
    assert packed == request, f'{method}: packed {packed} instead of {request}'


def check_official_header(response, *client_prefixes):
    """A response an official client got: CODE_OK, its own header echoed (a client name that
    starts with one of `client_prefixes`), both timestamps."""
    header = response.header
    assert header.error.code == header_pb2.CommonError.CODE_OK, header
    assert header.request_header.client_name.startswith(client_prefixes), header
    assert header.HasField('request_received_timestamp'), header
    assert header.HasField('response_timestamp'), header


# Custom parameters.
def check_param_error(ours, spec, value, status=None, messages=None):
    """The service's CustomParamError `ours` for `value` must be what the official validator
    says about `value` against `spec` (status and messages identical), and have `status` and
    `messages` when they are given."""
    official = create_value_validator(spec)(value)
    assert official is not None, f'the official validator accepts {value}'
    assert (ours.status, list(ours.error_messages)) == \
        (official.status, list(official.error_messages)), (
            f'\n  ours:     {sc.CustomParamError.Status.Name(ours.status)} '
            f'{list(ours.error_messages)!r}'
            f'\n  official: {sc.CustomParamError.Status.Name(official.status)} '
            f'{list(official.error_messages)!r}')
    if status is not None:
        assert ours.status == status, ours
    if messages is not None:
        assert list(ours.error_messages) == messages, list(ours.error_messages)


# The robot emulator.
def add_emulator_arguments(parser):
    """The arguments that reach the emulator: --emulator-port, --ca, --username, --password."""
    parser.add_argument('--emulator-port', type=int, required=True)
    parser.add_argument('--ca', required=True, help='the emulator\'s CA certificate (PEM)')
    parser.add_argument('--username', required=True)
    parser.add_argument('--password', required=True)


def emulator_robot(client_name, port, ca_file, clients=()):
    """An SDK robot object for the emulator on 127.0.0.1:`port`, not logged in; the SDK's
    clients are named after `client_name`, and `clients` are registered with it. The only
    departures from a real robot's setup are trusting `ca_file` instead of the Boston Dynamics
    root CA and using `port` instead of 443."""
    sdk = bosdyn.client.create_standard_sdk(client_name)
    for client in clients:
        sdk.register_service_client(client)
    # Before create_robot, which copies the certificate from the Sdk.
    sdk.load_robot_cert(ca_file)
    robot = sdk.create_robot('127.0.0.1')
    robot.update_secure_channel_port(port)
    return robot


def logged_in_robot(options, client_name, clients=()):
    """[`emulator_robot`] from the [`add_emulator_arguments`] `options`, logged in as the user
    they name, with the directory read."""
    robot = emulator_robot(client_name, options.emulator_port, options.ca, clients)
    robot.authenticate(options.username, options.password, timeout=TIMEOUT)
    robot.sync_with_directory()
    return robot


def check_directory_entry(robot, name, service_type, authority=None):
    """A check: `name` is in the robot's directory as a `service_type` (at `authority`, if
    given), and the robot routes to it by the authority listed."""

    def listed():
        entry = robot.ensure_client('directory').get_entry(name, timeout=TIMEOUT)
        assert entry.type == service_type, entry
        if authority is not None:
            assert entry.authority == authority, entry
        assert robot.authorities_by_name.get(name) == entry.authority, robot.authorities_by_name

    at = f' at {authority}' if authority is not None else ''
    check(f'{name} is in the robot\'s directory as a {service_type}{at}', listed)
