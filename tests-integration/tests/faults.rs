//! Service faults end to end on loopback h2c: the emulated fault and robot-state services
//! (sharing one `FaultBoard`) driven by `spot_service::fault::FaultClient` and `FaultReporter`,
//! and the directory keep-alive raising and clearing its fault through them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use spot_service::client::{CallError, HeaderError, check_response, stamp_request};
use spot_service::directory::{
    DIRECTORY_REGISTRATION_FAULT_NAME, DirectoryKeepAlive, DirectoryRegistrationClient,
    KeepAliveConfig, RegistrationStatus, ServiceRegistration,
};
use spot_service::emulator::services::EmulatedDirectoryRegistration;
use spot_service::emulator::services::faults::{
    EmulatedFaultService, EmulatedRobotState, FaultBoard,
};
use spot_service::emulator::state::EmulatorState;
use spot_service::fault::{FaultClient, FaultError, FaultReporter, fault_id, service_fault};
use spot_service::proto::bosdyn::api::robot_state_service_client::RobotStateServiceClient;
use spot_service::proto::bosdyn::api::service_fault::Severity;
use spot_service::proto::bosdyn::api::{
    RobotStateRequest, ServiceFault, ServiceFaultId, ServiceFaultState,
};
use spot_service::{ServiceRunner, SpotService};
use tests_integration::{RunningServer, SpotEcho, channel, spawn};
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Upper bound for anything a test waits for: no test can hang.
const PATIENCE: Duration = Duration::from_secs(10);
const SERVICE: &str = "test-camera-service";

/// Bounds a future by [`PATIENCE`].
async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than the test's patience"))
}

/// The emulated fault and robot-state services over one board, on a loopback port.
struct Robot {
    board: FaultBoard,
    server: RunningServer,
    channel: Channel,
}

impl Robot {
    async fn start() -> Self {
        let board = FaultBoard::new();
        let runner = ServiceRunner::builder()
            .host("127.0.0.1")
            .add_service(EmulatedFaultService::new(board.clone()))
            .add_service(EmulatedRobotState::new(board.clone()))
            .drain_timeout(Duration::from_millis(200))
            .build()
            .await
            .expect("runner builds");
        let server = spawn(runner);
        let channel = bounded("connecting", channel(server.uri())).await;
        Self {
            board,
            server,
            channel,
        }
    }

    fn faults(&self) -> FaultClient<Channel> {
        FaultClient::new(self.channel.clone())
            .with_client_name("faults-test")
            .with_rpc_timeout(Some(Duration::from_secs(5)))
    }

    /// The service fault state from `GetRobotState`, as a client sees it.
    async fn fault_state(&self) -> ServiceFaultState {
        let mut client = RobotStateServiceClient::new(self.channel.clone());
        let mut request = RobotStateRequest { header: None };
        stamp_request(&mut request, "faults-test");
        let response = bounded("GetRobotState", client.get_robot_state(request))
            .await
            .expect("GetRobotState answers")
            .into_inner();
        let response = check_response(response).expect("GetRobotState header is OK");
        response
            .robot_state
            .expect("robot_state is set")
            .service_fault_state
            .expect("service_fault_state is set")
    }

    async fn stop(self) {
        bounded("stopping the robot", self.server.stop()).await;
    }
}

fn names(faults: &[ServiceFault]) -> Vec<String> {
    let mut names: Vec<String> = faults
        .iter()
        .map(|f| f.fault_id.clone().unwrap_or_default().fault_name)
        .collect();
    names.sort();
    names
}

fn camera_fault(name: &str) -> ServiceFault {
    let mut fault = service_fault(fault_id(name, SERVICE), Severity::Warn, "no frames");
    fault.attributes = vec!["camera".into()];
    fault
}

#[tokio::test]
async fn triggered_fault_is_visible_in_robot_state() {
    let robot = Robot::start().await;
    let mut client = robot.faults();
    assert!(robot.fault_state().await.faults.is_empty());

    let before = std::time::SystemTime::now();
    bounded("trigger", client.trigger(camera_fault("Camera Stalled")))
        .await
        .expect("trigger succeeds");

    let state = robot.fault_state().await;
    assert_eq!(state.faults.len(), 1, "{state:?}");
    let fault = &state.faults[0];
    let id = fault.fault_id.clone().unwrap();
    assert_eq!(id, fault_id("Camera Stalled", SERVICE));
    assert_eq!(fault.severity, Severity::Warn as i32);
    assert_eq!(fault.error_message, "no frames");
    assert_eq!(fault.attributes, ["camera"]);
    // The robot stamps the onset and reports the duration so far.
    let onset = std::time::SystemTime::try_from(fault.onset_timestamp.unwrap()).unwrap();
    assert!(
        onset + Duration::from_millis(1) >= before,
        "{onset:?} < {before:?}"
    );
    let duration = fault.duration.expect("duration is set");
    assert!(duration.seconds >= 0 && duration.nanos >= 0, "{duration:?}");
    assert_eq!(state.aggregated["camera"], Severity::Warn as i32);
    assert!(state.historical_faults.is_empty());
    assert!(robot.board.is_active(&id));

    // A client-given onset is kept.
    let mut old = camera_fault("Camera Hot");
    old.onset_timestamp = Some(prost_types::Timestamp {
        seconds: 1_000_000,
        nanos: 0,
    });
    client.trigger(old).await.expect("trigger succeeds");
    let state = robot.fault_state().await;
    let hot = state
        .faults
        .iter()
        .find(|f| f.fault_id.as_ref().unwrap().fault_name == "Camera Hot")
        .expect("second fault is active");
    assert_eq!(hot.onset_timestamp.unwrap().seconds, 1_000_000);
    assert!(hot.duration.unwrap().seconds > 1_000_000);

    robot.stop().await;
}

#[tokio::test]
async fn duplicate_trigger_is_already_active() {
    let robot = Robot::start().await;
    let mut client = robot.faults();
    client
        .trigger(camera_fault("Camera Stalled"))
        .await
        .unwrap();
    let mut again = camera_fault("Camera Stalled");
    again.error_message = "still no frames".into();
    match bounded("trigger", client.trigger(again)).await {
        Err(FaultError::AlreadyActive { fault_id: id }) => {
            assert_eq!(id, fault_id("Camera Stalled", SERVICE));
        }
        other => panic!("expected AlreadyActive, got {other:?}"),
    }
    // The active fault is unchanged.
    let state = robot.fault_state().await;
    assert_eq!(state.faults.len(), 1);
    assert_eq!(state.faults[0].error_message, "no frames");

    // The same name for another service (or payload) is another fault.
    client
        .trigger(service_fault(
            fault_id("Camera Stalled", "other-service"),
            Severity::Info,
            "",
        ))
        .await
        .expect("another service's fault of the same name");
    assert_eq!(robot.fault_state().await.faults.len(), 2);
    robot.stop().await;
}

#[tokio::test]
async fn malformed_faults_are_invalid_requests() {
    let robot = Robot::start().await;
    let mut client = robot.faults();
    let unknown_severity = service_fault(fault_id("f", SERVICE), Severity::Unknown, "");
    let mut no_id = camera_fault("f");
    no_id.fault_id = None;
    let no_name = service_fault(fault_id("", SERVICE), Severity::Warn, "");
    for fault in [unknown_severity, no_id, no_name] {
        match client.trigger(fault.clone()).await {
            Err(FaultError::Call(CallError::Header {
                source: HeaderError::InvalidRequest(_),
                ..
            })) => {}
            other => panic!("{fault:?}: expected an invalid request, got {other:?}"),
        }
    }
    assert!(robot.fault_state().await.faults.is_empty());
    robot.stop().await;
}

#[tokio::test]
async fn cleared_fault_moves_to_history() {
    let robot = Robot::start().await;
    let mut client = robot.faults();
    client
        .trigger(camera_fault("Camera Stalled"))
        .await
        .unwrap();
    client.trigger(camera_fault("Camera Hot")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    bounded("clear", client.clear(fault_id("Camera Stalled", SERVICE)))
        .await
        .expect("clear succeeds");
    let state = robot.fault_state().await;
    assert_eq!(names(&state.faults), ["Camera Hot"]);
    assert_eq!(names(&state.historical_faults), ["Camera Stalled"]);
    let cleared = &state.historical_faults[0];
    assert_eq!(cleared.error_message, "no frames");
    assert!(cleared.onset_timestamp.is_some());
    // The duration is fixed at the time of clearing.
    let lasted = cleared.duration.expect("historical duration is set");
    assert!(
        lasted.seconds > 0 || lasted.nanos >= 15_000_000,
        "lasted {lasted:?}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        robot.fault_state().await.historical_faults[0].duration,
        Some(lasted)
    );

    // It can be raised again once cleared.
    client
        .trigger(camera_fault("Camera Stalled"))
        .await
        .unwrap();
    assert_eq!(
        names(&robot.fault_state().await.faults),
        ["Camera Hot", "Camera Stalled"]
    );
    robot.stop().await;
}

#[tokio::test]
async fn clearing_an_unknown_fault_is_not_active() {
    let robot = Robot::start().await;
    let mut client = robot.faults();
    let unknown = fault_id("Never Raised", SERVICE);
    match bounded("clear", client.clear(unknown.clone())).await {
        Err(FaultError::NotActive { fault_id: id }) => assert_eq!(id, unknown),
        other => panic!("expected NotActive, got {other:?}"),
    }
    // Clearing twice: the second is not active either.
    client
        .trigger(camera_fault("Camera Stalled"))
        .await
        .unwrap();
    client
        .clear(fault_id("Camera Stalled", SERVICE))
        .await
        .unwrap();
    assert!(matches!(
        client.clear(fault_id("Camera Stalled", SERVICE)).await,
        Err(FaultError::NotActive { .. })
    ));
    // A clear must match the whole id: same name, other service.
    client
        .trigger(camera_fault("Camera Stalled"))
        .await
        .unwrap();
    assert!(matches!(
        client
            .clear(fault_id("Camera Stalled", "other-service"))
            .await,
        Err(FaultError::NotActive { .. })
    ));
    assert_eq!(robot.fault_state().await.faults.len(), 1);
    robot.stop().await;
}

#[tokio::test]
async fn clear_all_for_a_service_or_payload() {
    let robot = Robot::start().await;
    let mut client = robot.faults();
    client
        .trigger(camera_fault("Camera Stalled"))
        .await
        .unwrap();
    client.trigger(camera_fault("Camera Hot")).await.unwrap();
    client
        .trigger(service_fault(
            fault_id("Lidar Down", "lidar-service"),
            Severity::Critical,
            "",
        ))
        .await
        .unwrap();
    let payload_fault = |name: &str| {
        service_fault(
            ServiceFaultId {
                fault_name: name.into(),
                service_name: String::new(),
                payload_guid: "payload-1".into(),
            },
            Severity::Warn,
            "",
        )
    };
    client.trigger(payload_fault("Overheating")).await.unwrap();
    client.trigger(payload_fault("Low Voltage")).await.unwrap();

    bounded("clear all", client.clear_all_for_service(SERVICE))
        .await
        .expect("clears the service's faults");
    let state = robot.fault_state().await;
    assert_eq!(
        names(&state.faults),
        ["Lidar Down", "Low Voltage", "Overheating"]
    );
    assert_eq!(
        names(&state.historical_faults),
        ["Camera Hot", "Camera Stalled"]
    );
    assert!(!state.aggregated.contains_key("camera"));
    // Nothing left for that service.
    assert!(matches!(
        client.clear_all_for_service(SERVICE).await,
        Err(FaultError::NotActive { .. })
    ));

    client.clear_all_for_payload("payload-1").await.unwrap();
    assert_eq!(names(&robot.fault_state().await.faults), ["Lidar Down"]);
    robot.stop().await;
}

/// An interceptor that counts the calls made through it.
#[derive(Debug, Clone)]
struct CountCalls(Arc<AtomicUsize>);

impl tonic::service::Interceptor for CountCalls {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(request)
    }
}

/// A transport that counts the calls made through it.
fn counting(channel: Channel) -> (InterceptedService<Channel, CountCalls>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    (
        InterceptedService::new(channel, CountCalls(calls.clone())),
        calls,
    )
}

#[tokio::test]
async fn fault_reporter_only_calls_on_changes() {
    let robot = Robot::start().await;
    let (transport, calls) = counting(robot.channel.clone());
    let id = fault_id("Capture Failed", SERVICE);
    let mut reporter = FaultReporter::new(
        FaultClient::new(transport).with_client_name("reporter-test"),
        id.clone(),
        Severity::Critical,
    )
    .with_attributes(["camera"]);
    assert_eq!(reporter.is_active(), None);
    assert_eq!(reporter.fault_id(), &id);

    // Unknown at start: the first clear is sent (and "not active" is fine).
    assert!(reporter.clear().await.unwrap());
    assert_eq!(reporter.is_active(), Some(false));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Known clear: no call.
    for _ in 0..3 {
        assert!(!reporter.set(None).await.unwrap());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Failure: raised once, however often it is reported.
    assert!(reporter.set(Some("capture timed out")).await.unwrap());
    for _ in 0..5 {
        assert!(!reporter.raise("capture timed out again").await.unwrap());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(reporter.is_active(), Some(true));
    let state = robot.fault_state().await;
    assert_eq!(state.faults.len(), 1);
    assert_eq!(state.faults[0].fault_id.as_ref(), Some(&id));
    assert_eq!(state.faults[0].error_message, "capture timed out");
    assert_eq!(state.faults[0].severity, Severity::Critical as i32);
    assert_eq!(state.aggregated["camera"], Severity::Critical as i32);

    // Recovery: cleared once.
    assert!(reporter.set(None).await.unwrap());
    assert!(!reporter.set(None).await.unwrap());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let state = robot.fault_state().await;
    assert!(state.faults.is_empty());
    assert_eq!(names(&state.historical_faults), ["Capture Failed"]);

    // A fault already active on the robot (an earlier run) counts as raised.
    robot
        .board
        .trigger(service_fault(id.clone(), Severity::Critical, "left over"))
        .unwrap();
    let (transport, fresh_calls) = counting(robot.channel.clone());
    let mut fresh = FaultReporter::new(FaultClient::new(transport), id.clone(), Severity::Critical);
    assert!(fresh.raise("again").await.unwrap());
    assert_eq!(fresh.is_active(), Some(true));
    assert!(!fresh.raise("again").await.unwrap());
    assert_eq!(fresh_calls.load(Ordering::SeqCst), 1);
    // ... and a reporter that assumes clear sends nothing for a clear.
    let (transport, quiet_calls) = counting(robot.channel.clone());
    let mut quiet = FaultReporter::new(FaultClient::new(transport), id.clone(), Severity::Critical)
        .assume_clear();
    assert!(!quiet.clear().await.unwrap());
    assert_eq!(quiet_calls.load(Ordering::SeqCst), 0);
    robot.stop().await;
}

#[tokio::test]
async fn fault_reporter_retries_after_a_failed_call() {
    // Nothing listens on this port: every call fails.
    let port = free_port();
    let mut reporter = FaultReporter::new(
        FaultClient::new(lazy_channel(format!("http://127.0.0.1:{port}")))
            .with_rpc_timeout(Some(Duration::from_secs(2))),
        fault_id("Capture Failed", SERVICE),
        Severity::Warn,
    )
    .assume_clear();
    let error = bounded("raise", reporter.raise("boom"))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(
            error,
            FaultError::Call(CallError::Rpc { .. } | CallError::Timeout { .. })
        ),
        "{error:?}"
    );
    // The outcome is unknown: the next raise and the next clear are both sent.
    assert_eq!(reporter.is_active(), None);
    assert!(bounded("clear", reporter.clear()).await.is_err());
    assert_eq!(reporter.is_active(), None);
}

// ---------------------------------------------------------------------------------------------
// The directory keep-alive raises and clears its fault on the emulated robot.

/// A channel that connects on first use (the server may not be up yet).
fn lazy_channel(uri: String) -> Channel {
    tonic::transport::Endpoint::from_shared(uri)
        .expect("valid uri")
        .connect_timeout(Duration::from_millis(500))
        .connect_lazy()
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("has address").port()
}

/// Waits, bounded by [`PATIENCE`], for a status matching `predicate`.
async fn status_where(
    status: &mut watch::Receiver<RegistrationStatus>,
    what: &str,
    predicate: impl FnMut(&RegistrationStatus) -> bool,
) {
    bounded(what, status.wait_for(predicate))
        .await
        .unwrap_or_else(|_| panic!("the keep-alive stopped before {what}"));
}

/// Polls `GetRobotState`, bounded by [`PATIENCE`], until `condition` holds; returns that state.
async fn robot_state_where(
    robot: &Robot,
    what: &str,
    mut condition: impl FnMut(&ServiceFaultState) -> bool,
) -> ServiceFaultState {
    let polling = async {
        loop {
            let state = robot.fault_state().await;
            if condition(&state) {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(PATIENCE, polling)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting until {what}"))
}

#[tokio::test]
async fn keepalive_fault_shows_in_robot_state_until_the_directory_comes_up() {
    let robot = Robot::start().await;
    let directory_port = free_port();
    let config = KeepAliveConfig {
        initial_retry: Duration::from_millis(20),
        rpc_timeout: Duration::from_secs(2),
        ..KeepAliveConfig::with_interval(Duration::from_millis(200))
    };
    let registration = ServiceRegistration::from_metadata(SpotEcho::METADATA, "127.0.0.1", 4242);
    let name = registration.name.clone();
    let keep_alive = DirectoryKeepAlive::spawn(
        DirectoryRegistrationClient::new(lazy_channel(format!(
            "http://127.0.0.1:{directory_port}"
        )))
        .with_client_name("faults-test"),
        Some(robot.faults().into_inner()),
        registration,
        config,
    );
    let mut status = keep_alive.status();
    status_where(&mut status, "Failing", |s| {
        matches!(s, RegistrationStatus::Failing { .. })
    })
    .await;

    let expected = fault_id(DIRECTORY_REGISTRATION_FAULT_NAME, name.clone());
    let state = robot_state_where(&robot, "the registration fault is raised", |s| {
        s.faults
            .iter()
            .any(|f| f.fault_id.as_ref() == Some(&expected))
    })
    .await;
    let fault = state
        .faults
        .iter()
        .find(|f| f.fault_id.as_ref() == Some(&expected))
        .unwrap();
    assert_eq!(
        fault.fault_id.as_ref().unwrap().fault_name,
        "Directory Registration Fault"
    );
    assert_eq!(fault.severity, Severity::Critical as i32);
    assert!(fault.error_message.contains(&name), "{fault:?}");
    assert!(fault.onset_timestamp.is_some());
    assert!(state.historical_faults.is_empty());

    // The directory comes up on that port.
    let directory_state = EmulatorState::new(Default::default()).expect("emulator state");
    let directory = spawn(
        ServiceRunner::builder()
            .host("127.0.0.1")
            .port(directory_port)
            .add_service(EmulatedDirectoryRegistration::new(directory_state))
            .drain_timeout(Duration::from_millis(200))
            .build()
            .await
            .expect("directory runner builds"),
    );
    status_where(&mut status, "Registered", RegistrationStatus::is_registered).await;
    let state = robot_state_where(&robot, "the registration fault is cleared", |s| {
        s.faults.is_empty()
    })
    .await;
    assert_eq!(state.historical_faults.len(), 1, "{state:?}");
    assert_eq!(
        state.historical_faults[0].fault_id.as_ref(),
        Some(&expected)
    );
    assert!(!robot.board.is_active(&expected));

    bounded("shutdown", keep_alive.shutdown())
        .await
        .expect("unregisters");
    bounded("stopping the directory", directory.stop()).await;
    robot.stop().await;
}
