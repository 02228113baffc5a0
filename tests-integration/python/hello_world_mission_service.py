"""A hello-world RemoteMission (Autowalk callback) service, written the way the official Spot SDK
(bosdyn-client 5.2.0) builds one.

It is the Python side of `mission-bench` (tests-integration/src/bin/mission-bench.rs), which runs
it next to spot-service's `hello-world` example and compares the two. It behaves like the official
`hello_world_mission_service.py` example:

- Tick checks the request's params against the spec. Invalid params give
  STATUS_CUSTOM_PARAMS_ERROR with the validator's error. Otherwise it logs "Hello <who>!" once,
  plus once per repeat when the repeat toggle is on, and answers STATUS_SUCCESS.
- EstablishSession, Stop and TeardownSession answer STATUS_OK.
- GetRemoteMissionServiceInfo returns the params spec.

Every RPC fills its response header with the SDK's `ResponseContext`, and the service is hosted by
the SDK's `GrpcServiceRunner`.

    python hello_world_mission_service.py --host-ip 127.0.0.1 --port 50051
"""

import argparse
import logging

import bosdyn.client.util
from bosdyn.api.mission import remote_pb2, remote_service_pb2_grpc
from bosdyn.client.server_util import GrpcServiceRunner, ResponseContext
from bosdyn.client.service_customization_helpers import (
    create_value_validator,
    dict_params_to_dict,
    make_dict_child_spec,
    make_dict_param_spec,
    make_int64_param_spec,
    make_one_of_child_spec,
    make_one_of_param_spec,
    make_string_param_spec,
    make_user_interface_info,
    validate_dict_spec,
)

SERVICE_NAME = 'hello-world-callback'

WHO = 'who'
REPEAT_TOGGLE = 'toggle_key'
REPEAT_ON = 'toggle_key_enable'
REPEAT_OFF = 'toggle_key_disable'
REPEAT_COUNT = 'toggle_enable_value_key'

LOGGER = logging.getLogger(SERVICE_NAME)


def hello_params_spec(default_who='World'):
    """The params Tick accepts: who to greet, and an optional number of repeats (1 to 1337)."""
    who = make_dict_child_spec(
        make_string_param_spec(default_value=default_who, editable=True),
        make_user_interface_info('Who', description='Who Spot says hello to', display_order=0))

    repeat_on = make_one_of_child_spec(
        make_dict_param_spec(
            {
                REPEAT_COUNT:
                    make_dict_child_spec(
                        make_int64_param_spec(default_value=1337, min_value=1, max_value=1337))
            }, is_hidden_by_default=True),
        ui_info=make_user_interface_info('Enable',
                                         description='Spot repeats itself this many times',
                                         display_order=0))
    repeat_off = make_one_of_child_spec(
        make_dict_param_spec({}, is_hidden_by_default=True),
        ui_info=make_user_interface_info('Disable', description='Spot says it once',
                                         display_order=1))
    repeats = make_dict_child_spec(
        make_one_of_param_spec({
            REPEAT_ON: repeat_on,
            REPEAT_OFF: repeat_off
        }),
        ui_info=make_user_interface_info('Repeats',
                                         description='How many times Spot repeats itself',
                                         display_order=1))

    return make_dict_param_spec({WHO: who, REPEAT_TOGGLE: repeats}, is_hidden_by_default=False)


class HelloWorldServicer(remote_service_pb2_grpc.RemoteMissionServiceServicer):
    """Says hello on every Tick."""

    def __init__(self, logger=LOGGER, default_who='World'):
        self.logger = logger
        self.params_spec = hello_params_spec(default_who)
        # Raises if the spec itself is malformed.
        validate_dict_spec(self.params_spec)
        self.validate_params = create_value_validator(self.params_spec)

    def Tick(self, request, context):
        response = remote_pb2.TickResponse()
        with ResponseContext(response, request):
            error = self.validate_params(request.params)
            if error is not None:
                self.logger.error('Invalid params, not saying hello')
                response.status = remote_pb2.TickResponse.STATUS_CUSTOM_PARAMS_ERROR
                response.custom_param_error.CopyFrom(error)
                return response

            params = dict_params_to_dict(request.params, self.params_spec, validate=True)
            who = params.get(WHO, self.params_spec.specs[WHO].spec.string_spec.default_value)
            repeats = params.get(REPEAT_TOGGLE, {}).get(REPEAT_COUNT, 0)
            for _ in range(1 + repeats):
                self.logger.info('Hello %s!', who)
            response.status = remote_pb2.TickResponse.STATUS_SUCCESS
        return response

    def EstablishSession(self, request, context):
        response = remote_pb2.EstablishSessionResponse()
        with ResponseContext(response, request):
            response.status = remote_pb2.EstablishSessionResponse.STATUS_OK
        return response

    def Stop(self, request, context):
        response = remote_pb2.StopResponse()
        with ResponseContext(response, request):
            response.status = remote_pb2.StopResponse.STATUS_OK
        return response

    def TeardownSession(self, request, context):
        response = remote_pb2.TeardownSessionResponse()
        with ResponseContext(response, request):
            response.status = remote_pb2.TeardownSessionResponse.STATUS_OK
        return response

    def GetRemoteMissionServiceInfo(self, request, context):
        response = remote_pb2.GetRemoteMissionServiceInfoResponse()
        with ResponseContext(response, request):
            response.custom_params.CopyFrom(self.params_spec)
        return response


def serve(host_ip, port, logger=LOGGER, default_who='World'):
    """Hosts the servicer with the SDK's GrpcServiceRunner, listening on `host_ip:port` only.

    GrpcServiceRunner always listens on '[::]' (every interface). Its server is handed to the
    add-servicer function before it adds that port, so this function narrows the address there;
    everything else (thread pool, channel options, shutdown on SIGINT/SIGTERM) is the runner's own.
    """

    def add_servicer_listening_on_host(servicer, server):
        remote_service_pb2_grpc.add_RemoteMissionServiceServicer_to_server(servicer, server)
        add_port = server.add_insecure_port

        def add_host_port(address):
            return add_port('{}:{}'.format(host_ip, address.rpartition(':')[2]))

        server.add_insecure_port = add_host_port

    servicer = HelloWorldServicer(logger=logger, default_who=default_who)
    return GrpcServiceRunner(servicer, add_servicer_listening_on_host, port, logger=logger)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    bosdyn.client.util.add_service_hosting_arguments(parser)
    parser.add_argument('--host-ip', default='127.0.0.1',
                        help='Address to listen on (default: 127.0.0.1).')
    parser.add_argument('--default-who', default='World',
                        help='Who Spot says hello to when Tick names nobody.')
    options = parser.parse_args()

    bosdyn.client.util.setup_logging()
    runner = serve(options.host_ip, options.port, default_who=options.default_who)
    print('{} service running on {}:{}.'.format(SERVICE_NAME, options.host_ip, runner.port),
          flush=True)
    runner.run_until_interrupt()


if __name__ == '__main__':
    main()
