"""The official Spot Python SDK (bosdyn-client and bosdyn-mission 5.2.0, unmodified) drives
spot-service's RemoteMission examples: `hello-world` (examples/hello-world) and `power-off`
(examples/power-off).

Usage:

    sdk_remote_mission.py direct --port P --service hello|power-off
    sdk_remote_mission.py robot --emulator-port P --ca FILE --username U --password W \
        --service hello|power-off --authority A [--direct-port P]

`direct` calls the service on 127.0.0.1:P over plain h2c. `robot` logs in to the robot emulator
on 127.0.0.1:P (trusting the CA in FILE instead of the Boston Dynamics root CA, as
sdk_against_emulator.py does) and reaches the service through the robot's proxy by its authority
(A, as the directory must list it), as the robot's mission service would. For `power-off`, `--direct-port` also drives the service
directly on that port with the robot's leases.

Every RPC is called twice over: with the official `bosdyn.mission.remote_client.RemoteClient`
(which turns statuses into the SDK's exceptions) and with the raw
`remote_service_pb2_grpc.RemoteMissionServiceStub`, whose responses are checked for the header
rules. Parameter errors are compared with what the official validator
(`bosdyn.client.service_customization_helpers.create_value_validator`) says about the same value
against the spec the service itself returned.

Prints `ok: <check>` or `FAILED: <check>: <error>` per check, then `N passed, M failed`; exits 1
if any check failed.
"""
import argparse
import re
import time

import grpc

from bosdyn.api import lease_pb2, power_pb2
from bosdyn.api import service_customization_pb2 as sc
from bosdyn.api.mission import remote_pb2, remote_service_pb2_grpc
from bosdyn.client.exceptions import CustomParamError, LeaseUseError
from bosdyn.client.lease import LeaseClient, LeaseKeepAlive
from bosdyn.client.power import PowerClient, power_on_motors
from bosdyn.client.processors import AddRequestHeader
from bosdyn.client.robot import UnregisteredServiceNameError
from bosdyn.client.service_customization_helpers import create_value_validator
from bosdyn.mission.remote_client import InvalidSessionId, MissingLeases, RemoteClient

import sdk_checks
from sdk_checks import TIMEOUT, check, fail, raises

CLIENT_PREFIX = 'SdkRemoteMission'
RAW_CLIENT_NAME = 'sdk-remote-mission-raw-stub'
SERVICE_TYPE = 'bosdyn.api.mission.RemoteMissionService'
DIRECTORY_NAMES = {'hello': 'hello-world-callback', 'power-off': 'power-off-callback'}
SESSION_ID = re.compile(r'^[0-9a-f]{32}$')
# Well formed, never handed out.
UNKNOWN_SESSION_IDS = ['', 'not-a-session', '0123456789abcdef0123456789abcdef']
STOP_OK = remote_pb2.StopResponse.STATUS_OK
TEARDOWN_OK = remote_pb2.TeardownSessionResponse.STATUS_OK

def status_name(response):
    return type(response).Status.Name(response.status)


def expect_status(response, status):
    assert response.status == status, \
        f'{status_name(response)} instead of {type(response).Status.Name(status)}: {response}'


# Parameter values.
def string_param(value):
    return sc.CustomParam(string_value=sc.StringParam(value=value))


def int_param(value):
    return sc.CustomParam(int_value=sc.Int64Param(value=value))


def double_param(value):
    return sc.CustomParam(double_value=sc.DoubleParam(value=value))


def toggle(key, values=None):
    """The `toggle_key` one-of set to `key`, with `values` in its dict (if given)."""
    one_of = sc.OneOfParam(key=key)
    if values is not None:
        one_of.values[key].CopyFrom(sc.DictParam(values=values))
    return sc.CustomParam(one_of_value=one_of)


def repeats(count):
    return toggle('toggle_key_enable', {'toggle_enable_value_key': int_param(count)})


def params(**values):
    return sc.DictParam(values=values)


class Target:
    """Where and how the script reaches the service under test."""

    def __init__(self, label, channel, client, lease_wallet=None):
        self.label = label
        self.channel = channel
        # The official client.
        self.client = client
        # The raw stub.
        self.stub = remote_service_pb2_grpc.RemoteMissionServiceStub(channel)
        self.lease_wallet = lease_wallet
        self._spec = None

    def spec(self):
        """The parameter spec the service returned (fetched once)."""
        if self._spec is None:
            self._spec = self.client.get_service_info(timeout=TIMEOUT).custom_params
        return self._spec

    def raw(self, method, request, with_header=True):
        """Calls `method` with the raw stub; checks the header rules of the response."""
        return sdk_checks.call_raw(self.stub, method, request, RAW_CLIENT_NAME, with_header)

    def bare_client(self):
        """An official client on the same channel without the robot's lease wallet (it sends only
        the leases it is given and leaves the wallet alone)."""
        client = RemoteClient()
        client.channel = self.channel
        client.request_processors.append(AddRequestHeader(lambda: RAW_CLIENT_NAME))
        return client


def check_official_header(response):
    """A response an official client got: CODE_OK and its own header echoed."""
    sdk_checks.check_official_header(response, CLIENT_PREFIX, RAW_CLIENT_NAME)


def expect_param_error(target, value, status=None, messages=None, session_id=None, leases=()):
    """Ticks with `value`: the official client must raise CustomParamError, and the error (status
    and messages) must equal what the official validator says about `value` against the spec the
    service returned; and, when given, the expected `status` and `messages`."""
    exc = raises(
        CustomParamError, lambda: target.client.tick(session_id, params=value, leases=leases,
                                                     lease_resources=[], timeout=TIMEOUT))
    ours = exc.custom_param_error
    assert exc.response.status == remote_pb2.TickResponse.STATUS_CUSTOM_PARAMS_ERROR, exc.response
    check_official_header(exc.response)
    sdk_checks.check_param_error(ours, target.spec(), value, status, messages)
    # The raw stub sees the same, with a CODE_OK header.
    raw = target.raw('Tick',
                     remote_pb2.TickRequest(session_id=session_id, params=value, leases=leases))
    expect_status(raw, remote_pb2.TickResponse.STATUS_CUSTOM_PARAMS_ERROR)
    assert raw.custom_param_error == ours, raw


def check_common(target, leases_fn=lambda: ()):
    """What every RemoteMission service must do, whatever its parameters: unknown session ids,
    unknown parameter keys, headers on requests without one, stop and teardown."""
    label = target.label

    def raw_without_header():
        response = target.raw('GetRemoteMissionServiceInfo',
                              remote_pb2.GetRemoteMissionServiceInfoRequest(), with_header=False)
        assert response.HasField('custom_params'), response

    def unknown_sessions():
        for session_id in UNKNOWN_SESSION_IDS:
            raises(InvalidSessionId,
                   lambda: target.client.tick(session_id, leases=leases_fn(), lease_resources=[],
                                              timeout=TIMEOUT))
            raises(InvalidSessionId, lambda: target.client.stop(session_id, timeout=TIMEOUT))
            raises(InvalidSessionId,
                   lambda: target.client.teardown_session(session_id, timeout=TIMEOUT))
            tick = target.raw('Tick',
                              remote_pb2.TickRequest(session_id=session_id, leases=leases_fn()))
            expect_status(tick, remote_pb2.TickResponse.STATUS_INVALID_SESSION_ID)
            stop = target.raw('Stop', remote_pb2.StopRequest(session_id=session_id))
            expect_status(stop, remote_pb2.StopResponse.STATUS_INVALID_SESSION_ID)
            teardown = target.raw('TeardownSession',
                                  remote_pb2.TeardownSessionRequest(session_id=session_id))
            expect_status(teardown, remote_pb2.TeardownSessionResponse.STATUS_INVALID_SESSION_ID)

    check(f'{label}: a request without header gets CODE_OK and both timestamps',
          raw_without_header)
    check(f'{label}: unknown session ids (tick, stop, teardown) raise InvalidSessionId and are '
          'STATUS_INVALID_SESSION_ID with a CODE_OK header', unknown_sessions)


def session_lifecycle(target, establish, tick_ok, leases_fn=lambda: ()):
    """Stop keeps the session, teardown ends it; everything after is INVALID_SESSION_ID."""
    label = target.label

    def lifecycle():
        session_id = establish()
        other = establish()
        assert other != session_id, 'two sessions got the same id'
        expect_status(target.client.stop(session_id, timeout=TIMEOUT), STOP_OK)
        raw_stop = target.raw('Stop', remote_pb2.StopRequest(session_id=session_id))
        expect_status(raw_stop, remote_pb2.StopResponse.STATUS_OK)
        tick_ok(session_id)  # a stopped session ticks again
        expect_status(target.client.teardown_session(session_id, timeout=TIMEOUT), TEARDOWN_OK)
        raises(InvalidSessionId,
               lambda: target.client.tick(session_id, leases=leases_fn(), lease_resources=[],
                                          timeout=TIMEOUT))
        raises(InvalidSessionId, lambda: target.client.stop(session_id, timeout=TIMEOUT))
        raises(InvalidSessionId,
               lambda: target.client.teardown_session(session_id, timeout=TIMEOUT))
        # The other session is not affected; the raw stub tears it down.
        tick_ok(other)
        raw_teardown = target.raw('TeardownSession',
                                  remote_pb2.TeardownSessionRequest(session_id=other))
        expect_status(raw_teardown, remote_pb2.TeardownSessionResponse.STATUS_OK)
        raw_tick = target.raw('Tick', remote_pb2.TickRequest(session_id=other,
                                                             leases=leases_fn()))
        expect_status(raw_tick, remote_pb2.TickResponse.STATUS_INVALID_SESSION_ID)

    check(f'{label}: stop keeps the session, teardown ends it (then tick, stop and teardown raise '
          'InvalidSessionId); sessions are independent', lifecycle)


# The hello-world callback.
def hello_world(target):
    label = target.label

    def info():
        response = target.client.get_service_info(timeout=TIMEOUT)
        check_official_header(response)
        spec = response.custom_params
        assert sorted(spec.specs) == ['toggle_key', 'who'], sorted(spec.specs)
        who = spec.specs['who']
        assert who.spec.WhichOneof('spec') == 'string_spec', who
        assert who.spec.string_spec.default_value == 'World', who
        assert who.spec.string_spec.editable, who
        assert who.ui_info.display_name == 'Who', who.ui_info
        assert who.ui_info.description == 'Specify who Spot says hello to', who.ui_info
        toggle_spec = spec.specs['toggle_key']
        assert toggle_spec.spec.WhichOneof('spec') == 'one_of_spec', toggle_spec
        assert toggle_spec.ui_info.display_name == 'Repeats', toggle_spec.ui_info
        one_of = toggle_spec.spec.one_of_spec
        assert sorted(one_of.specs) == ['toggle_key_disable', 'toggle_key_enable'], one_of
        assert one_of.default_key == 'toggle_key_disable', one_of
        enable = one_of.specs['toggle_key_enable']
        assert enable.ui_info.display_name == 'Enable', enable.ui_info
        assert one_of.specs['toggle_key_disable'].ui_info.display_name == 'Disable', one_of
        assert len(one_of.specs['toggle_key_disable'].spec.specs) == 0, one_of
        assert sorted(enable.spec.specs) == ['toggle_enable_value_key'], enable
        count = enable.spec.specs['toggle_enable_value_key'].spec
        assert count.WhichOneof('spec') == 'int_spec', count
        assert count.int_spec.default_value.value == 1337, count
        assert count.int_spec.min_value.value == 1, count
        assert count.int_spec.max_value.value == 1337, count
        # The official validator accepts the spec (it raises on an invalid one).
        create_value_validator(spec)
        raw = target.raw('GetRemoteMissionServiceInfo',
                         remote_pb2.GetRemoteMissionServiceInfoRequest())
        assert raw.custom_params == spec, raw

    check(f'{label}: GetRemoteMissionServiceInfo returns the spec (keys, types, defaults, bounds, '
          'ui_info) and the official validator accepts it', info)

    session = {}

    def establish():
        session_id = target.client.establish_session(lease_resources=[], timeout=TIMEOUT)
        assert SESSION_ID.match(session_id), f'session id {session_id!r} is not 32 hex digits'
        return session_id

    def establish_first():
        session['id'] = establish()
        raw = target.raw('EstablishSession', remote_pb2.EstablishSessionRequest())
        expect_status(raw, remote_pb2.EstablishSessionResponse.STATUS_OK)
        assert SESSION_ID.match(raw.session_id), raw
        assert raw.session_id != session['id'], raw
        target.client.teardown_session(raw.session_id, timeout=TIMEOUT)

    check(f'{label}: EstablishSession is STATUS_OK with a 32-hex session id', establish_first)
    session_id = session.get('id', 'no-session')

    def tick_success(session_id, value=None):
        response = target.client.tick(session_id, params=value, lease_resources=[],
                                      timeout=TIMEOUT)
        expect_status(response, remote_pb2.TickResponse.STATUS_SUCCESS)
        check_official_header(response)
        raw = target.raw('Tick', remote_pb2.TickRequest(session_id=session_id, params=value))
        expect_status(raw, remote_pb2.TickResponse.STATUS_SUCCESS)
        assert create_value_validator(target.spec())(value or sc.DictParam()) is None

    check(f'{label}: tick without params is STATUS_SUCCESS', lambda: tick_success(session_id))
    check(f'{label}: tick with who="Spot" is STATUS_SUCCESS',
          lambda: tick_success(session_id, params(who=string_param('Spot'))))
    check(
        f'{label}: tick with the repeat toggle enabled and 5 repeats is STATUS_SUCCESS',
        lambda: tick_success(session_id, params(who=string_param('Spot'), toggle_key=repeats(5))))
    check(f'{label}: tick with the toggle enabled and its dict left out (defaults) is '
          'STATUS_SUCCESS',
          lambda: tick_success(session_id, params(toggle_key=toggle('toggle_key_enable'))))
    check(f'{label}: tick with the toggle disabled is STATUS_SUCCESS',
          lambda: tick_success(session_id, params(toggle_key=toggle('toggle_key_disable', {}))))

    invalid = sc.CustomParamError.STATUS_INVALID_VALUE
    unsupported = sc.CustomParamError.STATUS_UNSUPPORTED_PARAMETER
    check(
        f'{label}: 0 repeats is CUSTOM_PARAMS_ERROR, INVALID_VALUE, as the official validator says',
        lambda: expect_param_error(target, params(toggle_key=repeats(0)), invalid, [
            'toggle_key.toggle_key_enable.toggle_enable_value_key param has error: '
            'Value 0 below min_bound 1'
        ], session_id))
    check(
        f'{label}: 1338 repeats is CUSTOM_PARAMS_ERROR, INVALID_VALUE, as the official validator '
        'says',
        lambda: expect_param_error(target, params(toggle_key=repeats(1338)), invalid, [
            'toggle_key.toggle_key_enable.toggle_enable_value_key param has error: '
            'Value 1338 above max_bound 1337'
        ], session_id))
    check(
        f'{label}: a one-of key the spec lacks is INVALID_VALUE, as the official validator says',
        lambda: expect_param_error(target, params(toggle_key=toggle('toggle_key_maybe', {})),
                                   invalid, [
                                       'toggle_key param has error: '
                                       'OneOf parameter value has nonexistent key of '
                                       'toggle_key_maybe'
                                   ], session_id))
    check(
        f'{label}: an unknown key is UNSUPPORTED_PARAMETER, as the official validator says',
        lambda: expect_param_error(target, params(whom=string_param('Spot')), unsupported,
                                   ["DictParam value contains keys {'whom'} not present in the "
                                    'spec.'], session_id))
    check(
        f'{label}: an unknown key inside the one-of is UNSUPPORTED_PARAMETER, as the official '
        'validator says',
        lambda: expect_param_error(
            target, params(toggle_key=toggle('toggle_key_enable', {'count': int_param(2)})),
            unsupported, [
                'toggle_key.toggle_key_enable param has error: '
                "DictParam value contains keys {'count'} not present in the spec."
            ], session_id))
    check(
        f'{label}: a double for who is INVALID_VALUE, with the official validator\'s message',
        lambda: expect_param_error(target, params(who=double_param(1.5)), invalid, None,
                                   session_id))

    check_common(target)
    session_lifecycle(target, establish, tick_success)

    def teardown():
        expect_status(target.client.teardown_session(session_id, timeout=TIMEOUT), TEARDOWN_OK)
        raises(InvalidSessionId,
               lambda: target.client.tick(session_id, lease_resources=[], timeout=TIMEOUT))

    check(f'{label}: teardown, then tick raises InvalidSessionId', teardown)


# The power-off callback.
def power_off_common(target, leases_fn):
    """The power-off checks that need no lease from the robot."""
    label = target.label

    def info():
        response = target.client.get_service_info(timeout=TIMEOUT)
        check_official_header(response)
        assert len(response.custom_params.specs) == 0, response.custom_params
        create_value_validator(response.custom_params)
        target.raw('GetRemoteMissionServiceInfo', remote_pb2.GetRemoteMissionServiceInfoRequest())

    check(f'{label}: GetRemoteMissionServiceInfo returns an empty spec', info)

    def establish_without_leases():
        exc = raises(MissingLeases,
                     lambda: target.client.establish_session(lease_resources=[], timeout=TIMEOUT))
        assert list(exc.response.missing_lease_resources) == ['body'], exc.response
        assert not exc.response.session_id, exc.response
        check_official_header(exc.response)
        raw = target.raw('EstablishSession', remote_pb2.EstablishSessionRequest())
        expect_status(raw, remote_pb2.EstablishSessionResponse.STATUS_MISSING_LEASES)
        assert list(raw.missing_lease_resources) == ['body'], raw
        # A lease for another resource is not the body's.
        arm = lease_pb2.Lease(resource='arm', epoch='e', sequence=[1])
        raw = target.raw('EstablishSession', remote_pb2.EstablishSessionRequest(leases=[arm]))
        expect_status(raw, remote_pb2.EstablishSessionResponse.STATUS_MISSING_LEASES)
        assert list(raw.missing_lease_resources) == ['body'], raw

    check(f'{label}: establish without the body lease raises MissingLeases, '
          'missing_lease_resources ["body"]', establish_without_leases)

    def establish():
        session_id = target.client.establish_session(leases=leases_fn(), timeout=TIMEOUT)
        assert SESSION_ID.match(session_id), f'session id {session_id!r} is not 32 hex digits'
        return session_id

    session = {}
    check(f'{label}: establish with the body lease is STATUS_OK with a 32-hex session id',
          lambda: session.update(id=establish()))
    session_id = session.get('id', 'no-session')

    def tick_without_lease():
        exc = raises(MissingLeases,
                     lambda: target.client.tick(session_id, lease_resources=[], timeout=TIMEOUT))
        assert list(exc.response.missing_lease_resources) == ['body'], exc.response
        raw = target.raw('Tick', remote_pb2.TickRequest(session_id=session_id))
        expect_status(raw, remote_pb2.TickResponse.STATUS_MISSING_LEASES)
        assert list(raw.missing_lease_resources) == ['body'], raw

    check(f'{label}: tick without the body lease raises MissingLeases, '
          'missing_lease_resources ["body"]', tick_without_lease)

    unsupported = sc.CustomParamError.STATUS_UNSUPPORTED_PARAMETER
    check(
        f'{label}: a parameter (the spec has none) is UNSUPPORTED_PARAMETER, as the official '
        'validator says', lambda: expect_param_error(
            target, params(speed=double_param(0.5)), unsupported,
            ["DictParam value contains keys {'speed'} not present in the spec."], session_id,
            leases_fn()))

    check_common(target, leases_fn)

    def teardown():
        expect_status(target.client.stop(session_id, timeout=TIMEOUT), STOP_OK)
        expect_status(target.client.teardown_session(session_id, timeout=TIMEOUT), TEARDOWN_OK)
        raises(InvalidSessionId, lambda: target.client.tick(session_id, leases=leases_fn(),
                                                            timeout=TIMEOUT))

    check(f'{label}: stop and teardown are OK, then tick raises InvalidSessionId', teardown)
    return establish


def power_off_fake_lease(target):
    """Direct, without the robot's leases: a lease of another epoch is refused by the robot, which
    the service reports in lease_use_results while answering RUNNING."""
    label = target.label
    fake = lease_pb2.Lease(resource='body', epoch='not-the-robots-epoch', sequence=[1],
                           client_names=['sdk_remote_mission.py'])
    power_off_common(target, lambda: [fake])

    def refused():
        session_id = target.client.establish_session(leases=[fake], timeout=TIMEOUT)
        try:
            refused_tick(target, session_id, fake, lease_pb2.LeaseUseResult.STATUS_WRONG_EPOCH)
        finally:
            target.client.teardown_session(session_id, timeout=TIMEOUT)

    check(f'{label}: tick with a lease of another epoch is RUNNING with the robot\'s WRONG_EPOCH '
          'in lease_use_results (LeaseUseError)', refused)


def refused_tick(target, session_id, lease, use_status):
    """The first tick of session `session_id` (established with `lease`) while the robot refuses
    `lease` with `use_status`: RUNNING, with the robot's LeaseUseResult in lease_use_results,
    which the official client raises as a LeaseUseError, as the official power-off example does.
    Checked with the raw stub on a second session as well (the service need not retry a lease
    the robot refused)."""
    running = remote_pb2.TickResponse.STATUS_RUNNING
    raw_session = target.raw('EstablishSession',
                             remote_pb2.EstablishSessionRequest(leases=[lease])).session_id
    try:
        # A mission establishes its sessions when it loads, and ticks a node later.
        time.sleep(0.5)
        raw = target.raw('Tick', remote_pb2.TickRequest(session_id=raw_session, leases=[lease]))
        expect_status(raw, running)
        assert [r.status for r in raw.lease_use_results] == [use_status], (
            f'expected the robot\'s {lease_pb2.LeaseUseResult.Status.Name(use_status)} in '
            f'lease_use_results, got {list(raw.lease_use_results)}')
        exc = raises(
            LeaseUseError,
            lambda: target.bare_client().tick(session_id, leases=[lease], timeout=TIMEOUT))
        result = exc.lease_use_result
        assert result.status == use_status, result
        assert result.attempted_lease.resource == 'body', result
        assert result.attempted_lease.epoch == lease.epoch, result
        # The service's sub-lease of the lease it was sent.
        sequence = list(result.attempted_lease.sequence)
        assert sequence[:len(lease.sequence)] == list(lease.sequence), result
        expect_status(exc.response, running)
    finally:
        target.raw('TeardownSession', remote_pb2.TeardownSessionRequest(session_id=raw_session))


class Motors:
    """The robot's motor power, through the official PowerClient."""

    def __init__(self, power_client):
        self.power = power_client

    def on(self):
        power_on_motors(self.power, timeout_sec=TIMEOUT, update_frequency=10)
        assert self.are_on(), 'not on after power_on_motors'

    def _already(self, request):
        """Whether the motors are already in `request`'s state: the robot answers such a command
        STATUS_SUCCESS at once, changing nothing (STATUS_IN_PROGRESS if it has to switch)."""
        response = self.power.power_command(request, timeout=TIMEOUT)
        return response.status == power_pb2.STATUS_SUCCESS

    def are_on(self):
        """Whether the motors are on (if they are not, this starts powering them on)."""
        return self._already(power_pb2.PowerCommandRequest.REQUEST_ON_MOTORS)

    def are_off(self):
        """Whether the motors are off (if they are not, this starts powering them off)."""
        return self._already(power_pb2.PowerCommandRequest.REQUEST_OFF_MOTORS)


def tick_until_done(target, session_id, leases_fn=lambda: (), limit=8.0):
    """Ticks at 10 Hz until the status is no longer RUNNING; returns the statuses seen."""
    statuses = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        response = target.client.tick(session_id, leases=leases_fn(), timeout=TIMEOUT)
        check_official_header(response)
        statuses.append(response.status)
        if response.status != remote_pb2.TickResponse.STATUS_RUNNING:
            return statuses
        time.sleep(0.1)
    raise AssertionError(f'still RUNNING after {limit} s: {statuses}')


def power_off_with_robot(target, motors, lease_client):
    """The whole power-off with the robot's body lease (from the robot's wallet)."""
    label = target.label
    running = remote_pb2.TickResponse.STATUS_RUNNING
    success = remote_pb2.TickResponse.STATUS_SUCCESS
    wallet = target.lease_wallet
    establish = power_off_common(target, lambda: [wallet.get_lease('body').lease_proto])

    def powers_off():
        motors.on()
        # The official client takes the body lease from the robot's wallet, as for any command.
        session_id = target.client.establish_session(timeout=TIMEOUT)
        assert SESSION_ID.match(session_id), session_id
        started = time.monotonic()
        statuses = tick_until_done(target, session_id)
        elapsed = time.monotonic() - started
        assert statuses[0] == running and statuses[-1] == success, statuses
        assert set(statuses[:-1]) == {running}, statuses
        assert elapsed < 5, f'{elapsed:.1f} s to power off'
        assert motors.are_off(), 'the motors are still on'
        # Done: the next tick powers off again, which is at once.
        assert target.client.tick(session_id, timeout=TIMEOUT).status == success
        raw = target.raw(
            'Tick',
            remote_pb2.TickRequest(session_id=session_id,
                                   leases=[wallet.advance('body').lease_proto]))
        expect_status(raw, success)
        expect_status(target.client.stop(session_id, timeout=TIMEOUT), STOP_OK)
        expect_status(target.client.teardown_session(session_id, timeout=TIMEOUT), TEARDOWN_OK)
        print(f'  {label}: RUNNING x{len(statuses) - 1}, then SUCCESS after {elapsed:.2f} s',
              flush=True)

    check(f'{label}: with the body lease, tick is RUNNING, then (at 10 Hz) SUCCESS within 5 s, '
          'and the motors are off', powers_off)

    refusal = {}

    def refused():
        motors.on()
        first = wallet.get_lease('body').lease_proto
        refusal['session'] = target.client.establish_session(leases=[first], timeout=TIMEOUT)
        # Someone takes the body: the session's lease is now older than the robot's.
        lease_client.take(timeout=TIMEOUT)
        refusal['newest'] = wallet.get_lease('body').lease_proto
        assert list(refusal['newest'].sequence) != list(first.sequence), refusal
        refused_tick(target, refusal['session'], first, lease_pb2.LeaseUseResult.STATUS_OLDER)
        assert motors.are_on(), 'powered off with an older lease'

    check(f'{label}: a lease the robot refuses (OLDER, after a take) is reported in '
          'lease_use_results with RUNNING (LeaseUseError)', refused)

    def newer_lease():
        session_id = refusal['session']
        try:
            # The mission sends the newer lease with the next tick.
            statuses = tick_until_done(target, session_id, lambda: [refusal['newest']])
            assert statuses[0] == running and statuses[-1] == success, statuses
            assert motors.are_off(), 'the motors are still on'
        finally:
            expect_status(target.client.teardown_session(session_id, timeout=TIMEOUT),
                          TEARDOWN_OK)

    check(f'{label}: the newer lease in the next ticks powers off (RUNNING, then SUCCESS)',
          newer_lease)

    session_lifecycle(target, establish,
                      lambda session_id: expect_status(
                          target.client.tick(session_id, timeout=TIMEOUT), success),
                      lambda: [wallet.get_lease('body').lease_proto])


def robot_mode(options):
    robot = sdk_checks.logged_in_robot(options, CLIENT_PREFIX, [RemoteClient])
    name = DIRECTORY_NAMES[options.service]
    authority = options.authority
    sdk_checks.check_directory_entry(robot, name, SERVICE_TYPE, authority)
    label = f'{name} via robot'
    client = robot.ensure_client(name)
    assert robot.authorities_by_name.get(name) == authority, robot.authorities_by_name
    target = Target(label, robot.ensure_channel(name), client, robot.lease_wallet)
    if options.service == 'hello':
        hello_world(target)
    else:
        power_off_robot(robot, target, options.direct_port)
    robot.shutdown()


def robot_service_client(robot, name, authority='api.spot.robot'):
    """robot.ensure_client(name); for a service the directory does not list, on a channel to
    its authority (noted in the output)."""
    try:
        return robot.ensure_client(name)
    except UnregisteredServiceNameError:
        print(f'note: the robot\'s directory does not list {name!r}; using {authority}',
              flush=True)
        return robot.ensure_client(name, channel=robot.ensure_secure_channel(authority))


def power_off_robot(robot, target, direct_port):
    lease_client = robot_service_client(robot, LeaseClient.default_service_name)
    motors = Motors(robot_service_client(robot, PowerClient.default_service_name))
    with LeaseKeepAlive(lease_client, must_acquire=True, return_at_exit=True):
        power_off_with_robot(target, motors, lease_client)
        if direct_port is not None:
            channel = grpc.insecure_channel(f'127.0.0.1:{direct_port}')
            client = RemoteClient()
            client.channel = channel
            # The robot's header processor and lease wallet, on the direct channel.
            client.update_from(robot)
            direct = Target(f'{target.label.split()[0]} direct with the robot\'s lease', channel,
                            client, robot.lease_wallet)
            power_off_with_robot(direct, motors, lease_client)
        check('the motors are off at the end', lambda: motors.are_off() or fail('on'))


def direct_mode(options):
    channel = grpc.insecure_channel(f'127.0.0.1:{options.port}')
    client = RemoteClient()
    client.channel = channel
    client.request_processors.append(
        AddRequestHeader(lambda: f'{CLIENT_PREFIX}-direct'))
    target = Target(f'{DIRECTORY_NAMES[options.service]} direct', channel, client)
    if options.service == 'hello':
        hello_world(target)
    else:
        power_off_fake_lease(target)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--service', choices=sorted(DIRECTORY_NAMES), required=True)
    modes = parser.add_subparsers(dest='mode', required=True)
    direct = modes.add_parser('direct', parents=[common], help='plain h2c to the service port')
    direct.add_argument('--port', type=int, required=True)
    robot = modes.add_parser('robot', parents=[common], help='through the robot emulator')
    sdk_checks.add_emulator_arguments(robot)
    robot.add_argument('--authority', required=True,
                       help='the authority the service is registered with')
    robot.add_argument('--direct-port', type=int,
                       help='power-off: also drive the service directly on this port')
    options = parser.parse_args()
    sdk_checks.run(direct_mode if options.mode == 'direct' else robot_mode, options)


if __name__ == '__main__':
    main()
