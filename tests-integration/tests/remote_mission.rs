//! RemoteMission services on a live loopback server: sessions, leases, parameters, statuses,
//! header rules, hundreds of concurrent sessions, abandoned sessions, and the Rust client.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spot_service::lease::Lease;
use spot_service::params::{DictParams, OneOfParams};
use spot_service::proto::bosdyn::api::common_error::Code;
use spot_service::proto::bosdyn::api::custom_param_error::Status as ParamStatus;
use spot_service::proto::bosdyn::api::mission::remote_mission_service_client::RemoteMissionServiceClient;
use spot_service::proto::bosdyn::api::mission::{
    EstablishSessionRequest, StopRequest, TeardownSessionRequest, TickRequest,
    establish_session_response, stop_response, teardown_session_response, tick_response,
};
use spot_service::proto::bosdyn::api::{
    self, CustomParam, DictParam, Int64Param, RequestHeader, StringParam, custom_param,
};
use spot_service::remote_mission::{
    EstablishContext, MissionService, RemoteMission, RemoteMissionClient, RemoteMissionError,
    StopContext, TeardownReason, TickContext, TickStatus,
};
use spot_service::{RpcError, ServiceRunner};
use tests_integration::{RunningServer, channel, spawn};
use tonic::transport::Channel;

/// The parameters of the test mission.
#[derive(Debug, Clone, PartialEq, DictParams)]
struct CountParams {
    /// How many ticks answer RUNNING before SUCCESS.
    #[param(default = 2, min = 0, max = 100)]
    ticks: i64,
    /// Makes the tick panic.
    #[param(default = false)]
    panic: bool,
    /// Fails the tick with this message when not empty.
    #[param(default = "")]
    fail: String,
    /// A choice, to check nested paths.
    mode: Mode,
}

#[derive(Debug, Clone, PartialEq, OneOfParams)]
enum Mode {
    #[param(default)]
    Plain,
    Scaled {
        #[param(default = 1.0, min = 0.5, max = 2.0)]
        factor: f64,
    },
}

/// What the test mission saw, shared with the test.
#[derive(Debug, Default)]
struct Seen {
    sub_leases: Vec<Lease>,
    teardowns: Vec<(u64, TeardownReason)>,
    stops: u32,
}

/// Counts ticks per session; needs the body lease.
#[derive(Clone, Default)]
struct Counter {
    seen: Arc<Mutex<Seen>>,
    next: Arc<Mutex<u64>>,
}

/// A session: its serial number and its tick count.
#[derive(Debug)]
struct CounterSession {
    serial: u64,
    ticks: i64,
}

#[spot_service::remote_mission(name = "counter", authority = "counter.spot.robot", leases = ["body"])]
impl RemoteMission for Counter {
    type Session = CounterSession;
    type Params = CountParams;

    async fn establish(&self, context: &EstablishContext<'_>) -> Result<CounterSession, RpcError> {
        assert_eq!(context.session_id().len(), 32);
        let mut next = self.next.lock().unwrap();
        *next += 1;
        Ok(CounterSession {
            serial: *next,
            ticks: 0,
        })
    }

    async fn tick(
        &self,
        session: &mut CounterSession,
        context: &mut TickContext<'_, CountParams>,
    ) -> Result<TickStatus, RpcError> {
        let params = context.params().clone();
        if params.panic {
            panic!("asked to panic");
        }
        if !params.fail.is_empty() {
            return Ok(TickStatus::failure(params.fail));
        }
        if let Some(lease) = context.leases().body() {
            self.seen.lock().unwrap().sub_leases.push(lease);
        }
        // Yield, so that concurrent sessions interleave.
        tokio::task::yield_now().await;
        session.ticks += 1;
        Ok(if session.ticks > params.ticks {
            TickStatus::Success
        } else {
            TickStatus::Running
        })
    }

    async fn stop(&self, _: &mut CounterSession, _: &StopContext<'_>) -> Result<(), RpcError> {
        self.seen.lock().unwrap().stops += 1;
        Ok(())
    }

    async fn teardown(
        &self,
        session: CounterSession,
        reason: TeardownReason,
    ) -> Result<(), RpcError> {
        self.seen
            .lock()
            .unwrap()
            .teardowns
            .push((session.serial, reason));
        Ok(())
    }
}

fn body_lease(sequence: &[u32]) -> api::Lease {
    api::Lease {
        resource: "body".into(),
        epoch: "epoch".into(),
        sequence: sequence.to_vec(),
        client_names: vec!["mission".into()],
    }
}

async fn serve(
    service: MissionService<Counter>,
) -> (RunningServer, RemoteMissionServiceClient<Channel>) {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(service)
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let client = RemoteMissionServiceClient::new(channel(server.uri()).await);
    (server, client)
}

fn header() -> Option<RequestHeader> {
    Some(RequestHeader {
        client_name: "remote-mission-test".into(),
        ..Default::default()
    })
}

async fn establish(client: &mut RemoteMissionServiceClient<Channel>) -> String {
    let response = client
        .establish_session(EstablishSessionRequest {
            header: header(),
            leases: vec![body_lease(&[1])],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response.status,
        establish_session_response::Status::Ok as i32
    );
    response.session_id
}

fn tick_request(session_id: &str, params: Option<DictParam>) -> TickRequest {
    TickRequest {
        header: header(),
        session_id: session_id.into(),
        leases: vec![body_lease(&[1])],
        params,
        group_name: String::new(),
    }
}

fn int_param(key: &str, value: i64) -> DictParam {
    DictParam {
        values: [(
            key.to_owned(),
            CustomParam {
                value: Some(custom_param::Value::IntValue(Int64Param { value })),
            },
        )]
        .into(),
    }
}

#[tokio::test]
async fn a_session_from_establish_to_teardown() {
    let counter = Counter::default();
    let (server, mut client) = serve(MissionService::new(counter.clone())).await;

    let id = establish(&mut client).await;
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = client
            .tick(tick_request(&id, None))
            .await
            .unwrap()
            .into_inner();
        // Header rules: echoed request header, timestamps, CODE_OK.
        let header = response.header.clone().unwrap();
        assert_eq!(
            header.request_header.unwrap().client_name,
            "remote-mission-test"
        );
        assert!(header.request_received_timestamp.is_some());
        assert!(header.response_timestamp.is_some());
        assert_eq!(header.error.unwrap().code, Code::Ok as i32);
        statuses.push(response.status);
    }
    let (running, success) = (
        tick_response::Status::Running as i32,
        tick_response::Status::Success as i32,
    );
    assert_eq!(statuses, [running, running, success]);

    // The mission got a sub-lease of the body lease, named after the service.
    let sub_lease = counter.seen.lock().unwrap().sub_leases[0].clone();
    assert_eq!(sub_lease.sequence(), &[1, 0]);
    assert_eq!(
        sub_lease.client_names(),
        ["mission".to_owned(), "counter".to_owned()]
    );

    let stop = client
        .stop(StopRequest {
            header: header(),
            session_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stop.status, stop_response::Status::Ok as i32);
    let teardown = client
        .teardown_session(TeardownSessionRequest {
            header: header(),
            session_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        teardown.status,
        teardown_session_response::Status::Ok as i32
    );
    assert_eq!(
        counter.seen.lock().unwrap().teardowns,
        [(1, TeardownReason::Requested)]
    );

    // The session is gone.
    let after = client
        .tick(tick_request(&id, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.status, tick_response::Status::InvalidSessionId as i32);
    server.stop().await;
}

#[tokio::test]
async fn unknown_session_ids_are_answered_invalid_session_id() {
    let (server, mut client) = serve(MissionService::new(Counter::default())).await;
    let id = establish(&mut client).await;
    let mut wrong = id.clone();
    wrong.replace_range(0..1, if id.starts_with('0') { "1" } else { "0" });
    for session_id in ["", "nope", wrong.as_str()] {
        let tick = client
            .tick(tick_request(session_id, None))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(tick.status, tick_response::Status::InvalidSessionId as i32);
        assert_eq!(tick.header.unwrap().error.unwrap().code, Code::Ok as i32);
        let stop = client
            .stop(StopRequest {
                header: header(),
                session_id: session_id.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(stop.status, stop_response::Status::InvalidSessionId as i32);
        let teardown = client
            .teardown_session(TeardownSessionRequest {
                header: header(),
                session_id: session_id.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            teardown.status,
            teardown_session_response::Status::InvalidSessionId as i32
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn declared_leases_are_required() {
    let (server, mut client) = serve(MissionService::new(Counter::default())).await;
    // None at all, or only other resources.
    for leases in [
        vec![],
        vec![api::Lease {
            resource: "arm".into(),
            ..body_lease(&[1])
        }],
    ] {
        let response = client
            .establish_session(EstablishSessionRequest {
                header: header(),
                leases,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            response.status,
            establish_session_response::Status::MissingLeases as i32
        );
        assert_eq!(response.missing_lease_resources, ["body"]);
        assert!(response.session_id.is_empty());
    }
    // Two body leases: an invalid request.
    let response = client
        .establish_session(EstablishSessionRequest {
            header: header(),
            leases: vec![body_lease(&[1]), body_lease(&[2])],
        })
        .await
        .unwrap()
        .into_inner();
    let error = response.header.unwrap().error.unwrap();
    assert_eq!(error.code, Code::InvalidRequest as i32);
    assert!(
        error.message.contains("more than one lease"),
        "{}",
        error.message
    );

    // A tick without the lease.
    let id = establish(&mut client).await;
    let mut request = tick_request(&id, None);
    request.leases.clear();
    let tick = client.tick(request).await.unwrap().into_inner();
    assert_eq!(tick.status, tick_response::Status::MissingLeases as i32);
    assert_eq!(tick.missing_lease_resources, ["body"]);
    server.stop().await;
}

#[tokio::test]
async fn a_newer_lease_replaces_the_sub_lease() {
    let counter = Counter::default();
    let (server, mut client) = serve(MissionService::new(counter.clone())).await;
    let id = establish(&mut client).await;
    let mut request = tick_request(&id, None);
    request.leases = vec![body_lease(&[5])];
    client.tick(request).await.unwrap();
    let seen = counter.seen.lock().unwrap().sub_leases.clone();
    assert_eq!(seen.last().unwrap().sequence(), &[5, 0]);
    server.stop().await;
}

#[tokio::test]
async fn parameters_are_validated_with_the_official_rules() {
    let (server, mut client) = serve(MissionService::new(Counter::default())).await;
    let id = establish(&mut client).await;

    // Out of range.
    let tick = client
        .tick(tick_request(&id, Some(int_param("ticks", 101))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::CustomParamsError as i32);
    let error = tick.custom_param_error.unwrap();
    assert_eq!(error.status, ParamStatus::InvalidValue as i32);
    assert_eq!(error.error_messages.len(), 1);
    assert!(
        error.error_messages[0].starts_with("ticks param has error: "),
        "{:?}",
        error.error_messages
    );

    // Unknown key.
    let tick = client
        .tick(tick_request(&id, Some(int_param("tics", 1))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::CustomParamsError as i32);
    let error = tick.custom_param_error.unwrap();
    assert_eq!(error.status, ParamStatus::UnsupportedParameter as i32);
    assert!(
        error.error_messages[0].contains("tics"),
        "{:?}",
        error.error_messages
    );

    // Wrong type: a string for an integer.
    let wrong_type = DictParam {
        values: [(
            "ticks".to_owned(),
            CustomParam {
                value: Some(custom_param::Value::StringValue(StringParam {
                    value: "3".into(),
                })),
            },
        )]
        .into(),
    };
    let tick = client
        .tick(tick_request(&id, Some(wrong_type)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::CustomParamsError as i32);
    assert_eq!(
        tick.custom_param_error.unwrap().status,
        ParamStatus::InvalidValue as i32
    );

    // Nested: the path names the one-of's choice and field.
    let nested = Mode::Scaled { factor: 3.0 };
    let mut params = CountParams {
        ticks: 0,
        panic: false,
        fail: String::new(),
        mode: nested,
    }
    .to_dict_param();
    let tick = client
        .tick(tick_request(&id, Some(params.clone())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::CustomParamsError as i32);
    let message = &tick.custom_param_error.unwrap().error_messages[0];
    assert_eq!(
        message,
        "mode.scaled.factor param has error: Value 3.0 above max_bound 2.0"
    );

    // A valid value goes through.
    params.values.remove("mode");
    let tick = client
        .tick(tick_request(&id, Some(params)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::Success as i32);
    server.stop().await;
}

#[tokio::test]
async fn failures_and_panics_keep_the_service_and_session() {
    let (server, mut client) = serve(MissionService::new(Counter::default())).await;
    let id = establish(&mut client).await;
    let fail = DictParam {
        values: [(
            "fail".to_owned(),
            CustomParam {
                value: Some(custom_param::Value::StringValue(StringParam {
                    value: "no luck".into(),
                })),
            },
        )]
        .into(),
    };
    let tick = client
        .tick(tick_request(&id, Some(fail)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::Failure as i32);
    assert_eq!(tick.error_message, "no luck");

    let panic = DictParam {
        values: [(
            "panic".to_owned(),
            CustomParam {
                value: Some(custom_param::Value::BoolValue(api::BoolParam {
                    value: true,
                })),
            },
        )]
        .into(),
    };
    let tick = client
        .tick(tick_request(&id, Some(panic)))
        .await
        .unwrap()
        .into_inner();
    let error = tick.header.unwrap().error.unwrap();
    assert_eq!(error.code, Code::InternalServerError as i32);
    assert!(
        error.message.contains("asked to panic"),
        "{}",
        error.message
    );

    // The session still works.
    let tick = client
        .tick(tick_request(&id, Some(int_param("ticks", 0))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::Success as i32);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_sessions_stay_independent() {
    const SESSIONS: usize = 300;
    let counter = Counter::default();
    let service = MissionService::new(counter.clone());
    let (server, client) = serve(service.clone()).await;

    let tasks: Vec<_> = (0..SESSIONS)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let id = establish(&mut client).await;
                // Each session needs ticks+1 ticks; they run interleaved with the others.
                let mut statuses = Vec::new();
                loop {
                    let tick = client
                        .tick(tick_request(&id, Some(int_param("ticks", 3))))
                        .await
                        .unwrap()
                        .into_inner();
                    statuses.push(tick.status);
                    if tick.status != tick_response::Status::Running as i32 {
                        break;
                    }
                }
                (id, statuses)
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        let (id, statuses) = task.await.unwrap();
        assert_eq!(statuses, [2, 2, 2, 3], "each session counts its own ticks");
        ids.insert(id);
    }
    assert_eq!(ids.len(), SESSIONS, "every session id is distinct");
    assert_eq!(service.session_count(), SESSIONS);

    let teardowns: Vec<_> = ids
        .iter()
        .map(|id| {
            let mut client = client.clone();
            let id = id.clone();
            tokio::spawn(async move {
                client
                    .teardown_session(TeardownSessionRequest {
                        header: header(),
                        session_id: id,
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .status
            })
        })
        .collect();
    for teardown in teardowns {
        assert_eq!(
            teardown.await.unwrap(),
            teardown_session_response::Status::Ok as i32
        );
    }
    assert_eq!(service.session_count(), 0);
    let serials: HashSet<u64> = counter
        .seen
        .lock()
        .unwrap()
        .teardowns
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(serials.len(), SESSIONS);
    server.stop().await;
}

#[tokio::test]
async fn an_abandoned_session_is_torn_down() {
    let counter = Counter::default();
    let service =
        MissionService::new(counter.clone()).with_session_timeout(Duration::from_millis(200));
    let (server, mut client) = serve(service.clone()).await;
    let abandoned = establish(&mut client).await;
    let kept = establish(&mut client).await;
    // Keep one session busy with ticks; leave the other alone.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        client
            .tick(tick_request(&kept, Some(int_param("ticks", 100))))
            .await
            .unwrap();
    }
    let tick = client
        .tick(tick_request(&abandoned, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::InvalidSessionId as i32);
    let tick = client
        .tick(tick_request(&kept, Some(int_param("ticks", 100))))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tick.status, tick_response::Status::Running as i32);
    assert_eq!(
        counter.seen.lock().unwrap().teardowns,
        [(1, TeardownReason::Abandoned)]
    );
    assert_eq!(service.session_count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn the_rust_client_runs_a_session() {
    let counter = Counter::default();
    let (server, _) = serve(MissionService::new(counter.clone())).await;
    let mut client = RemoteMissionClient::new(channel(server.uri()).await);

    let spec = client.get_info().await.unwrap();
    assert_eq!(&spec, CountParams::dict_spec());

    let lease = Lease::from_proto(body_lease(&[7])).unwrap();
    let response = client
        .run(
            std::slice::from_ref(&lease),
            Some(int_param("ticks", 2)),
            Duration::from_millis(10),
        )
        .await
        .unwrap();
    assert_eq!(response.status, tick_response::Status::Success as i32);
    {
        let seen = counter.seen.lock().unwrap();
        assert_eq!(seen.sub_leases.len(), 3);
        assert_eq!(seen.stops, 1);
        assert_eq!(seen.teardowns, [(1, TeardownReason::Requested)]);
    }

    // Typed errors.
    let error = client.establish_session(&[]).await.unwrap_err();
    assert!(
        matches!(&error, RemoteMissionError::MissingLeases { resources, .. } if resources == &["body"]),
        "{error}"
    );
    let error = client
        .tick("nope", std::slice::from_ref(&lease), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, RemoteMissionError::InvalidSessionId { .. }),
        "{error}"
    );
    let id = client
        .establish_session(std::slice::from_ref(&lease))
        .await
        .unwrap();
    let error = client
        .tick(&id, &[lease], Some(int_param("tics", 1)))
        .await
        .unwrap_err();
    match error {
        RemoteMissionError::CustomParams(error) => {
            assert_eq!(error.status, ParamStatus::UnsupportedParameter);
        }
        other => panic!("expected a params error, got {other}"),
    }
    server.stop().await;
}

/// The lease service and a mission service retaining through it, on one loopback server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_leases_are_retained_while_the_session_lives() {
    use spot_service::emulator::services::lease::{EmulatedLease, EmulatedLeaseConfig};
    use spot_service::emulator::state::{EmulatorConfig, EmulatorState};
    use spot_service::lease::keepalive::{LeaseClient, LeaseKeepAliveConfig};

    const STALE: Duration = Duration::from_secs(1);
    const PATIENCE: Duration = Duration::from_secs(10);
    let state = EmulatorState::new(EmulatorConfig::default()).unwrap();
    let lease_service = EmulatedLease::with_config(
        state,
        EmulatedLeaseConfig::default().with_stale_timeout(STALE),
    );
    // The mission service's lease client needs the server's address: bind first, then connect
    // lazily.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let lazy = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_lazy();
    let service = MissionService::new(Counter::default()).with_lease_client_config(
        LeaseClient::new(lazy.clone()),
        LeaseKeepAliveConfig::default().with_interval(Duration::from_millis(100)),
    );
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .port(port)
        .add_service(lease_service.clone())
        .add_service(service)
        .build()
        .await
        .unwrap();
    let server = spawn(runner);
    let mut missions = RemoteMissionServiceClient::new(lazy.clone());
    let mut observer = LeaseClient::new(lazy.clone()).with_client_name("observer");
    let is_stale = |resources: Vec<api::LeaseResource>| {
        resources
            .iter()
            .find(|r| r.resource == "body")
            .is_some_and(|r| r.is_stale)
    };

    // The "mission" acquires the body lease and hands it over without retaining it itself.
    let body = LeaseClient::new(lazy.clone())
        .with_client_name("mission")
        .acquire("body")
        .await
        .unwrap();
    let id = missions
        .establish_session(EstablishSessionRequest {
            header: header(),
            leases: vec![body.as_proto().clone()],
        })
        .await
        .unwrap()
        .into_inner()
        .session_id;

    // Two staleness periods later, the lease is still fresh: the session retains its sub-lease.
    tokio::time::sleep(STALE * 2 + STALE / 2).await;
    assert!(!is_stale(observer.list_leases(true).await.unwrap()));

    // Once the session is torn down, nobody retains it any more.
    missions
        .teardown_session(TeardownSessionRequest {
            header: header(),
            session_id: id,
        })
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !is_stale(observer.list_leases(true).await.unwrap()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lease never went stale"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}
