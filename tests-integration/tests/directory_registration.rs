//! Directory registration against an in-test fake robot directory (and fault service) on
//! loopback h2c: the plain client's typed errors, and the keep-alive's reset, heartbeats,
//! corrections, recovery, back-off, faults, status, health and shutdown.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use spot_service::directory::{
    DIRECTORY_REGISTRATION_FAULT_NAME, DirectoryKeepAlive, DirectoryRegistrationClient,
    DirectoryRegistrationError, KeepAliveConfig, RegistrationStatus, ServiceRegistration,
};
use spot_service::proto::bosdyn::api::fault_service_client::FaultServiceClient;
use spot_service::proto::bosdyn::api::{
    ClearServiceFaultRequest, ClearServiceFaultResponse, Endpoint, RegisterServiceRequest,
    RegisterServiceResponse, ServiceEntry, ServiceFault, TriggerServiceFaultRequest,
    TriggerServiceFaultResponse, UnregisterServiceRequest, UnregisterServiceResponse,
    UpdateServiceRequest, UpdateServiceResponse, clear_service_fault_response,
    register_service_response, service_entry, service_fault, trigger_service_fault_response,
    unregister_service_response, update_service_response,
};
use spot_service::{RpcError, ServiceMetadata, ServiceRunner, SpotService, spot_service};
use tests_integration::{RunningServer, SpotEcho, channel, spawn};
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use spot_service::proto::bosdyn::api::directory_registration_service_server::DirectoryRegistrationService;
use spot_service::proto::bosdyn::api::fault_service_server::FaultService;

/// Upper bound for anything a test waits for: no test can hang.
const PATIENCE: Duration = Duration::from_secs(10);
const SERVICE: &str = "test-payload-service";
const HOST: &str = "10.0.0.42";

// ---------------------------------------------------------------------------------------------
// The fake robot.

/// One call the fake directory received.
#[derive(Debug, Clone)]
struct Call {
    rpc: &'static str,
    name: String,
    port: Option<i32>,
    client_name: String,
    at: Instant,
    /// Answered with the "unreachable" gRPC status.
    refused: bool,
}

/// One call the fake fault service received.
#[derive(Debug, Clone)]
enum FaultCall {
    Trigger(ServiceFault),
    Clear {
        fault_name: String,
        service_name: String,
    },
}

#[derive(Debug, Default)]
struct RobotState {
    entries: HashMap<String, (ServiceEntry, Endpoint)>,
    calls: Vec<Call>,
    /// Active faults by (fault name, service name).
    faults: HashMap<(String, String), ServiceFault>,
    fault_calls: Vec<FaultCall>,
    /// While set, every directory call answers gRPC UNAVAILABLE.
    directory_down: bool,
    /// While set, directory calls never answer.
    directory_hangs: bool,
}

/// The shared state of the fake robot's services.
#[derive(Debug, Clone, Default)]
struct FakeRobot(Arc<Mutex<RobotState>>);

impl FakeRobot {
    fn state(&self) -> MutexGuard<'_, RobotState> {
        self.0.lock().expect("robot state lock")
    }

    /// Pre-populates (or overwrites) an entry, as another client would.
    fn put(&self, name: &str, port: i32) {
        let entry = ServiceEntry {
            name: name.to_owned(),
            service_type: Some(service_entry::ServiceType::Type("stale.Type".into())),
            authority: "stale.spot.robot".into(),
            ..Default::default()
        };
        let endpoint = Endpoint {
            host_ip: "10.9.9.9".into(),
            port,
        };
        self.state()
            .entries
            .insert(name.to_owned(), (entry, endpoint));
    }

    fn entry(&self, name: &str) -> Option<(ServiceEntry, Endpoint)> {
        self.state().entries.get(name).cloned()
    }

    /// Robot reboot: the directory forgets everything (faults too).
    fn wipe(&self) {
        let mut state = self.state();
        state.entries.clear();
        state.faults.clear();
    }

    fn set_directory_down(&self, down: bool) {
        self.state().directory_down = down;
    }

    fn set_directory_hangs(&self, hangs: bool) {
        self.state().directory_hangs = hangs;
    }

    /// Never returns while the directory hangs.
    async fn maybe_hang(&self) {
        let hangs = self.state().directory_hangs;
        if hangs {
            std::future::pending::<()>().await;
        }
    }

    fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    fn count(&self, rpc: &str) -> usize {
        self.state().calls.iter().filter(|c| c.rpc == rpc).count()
    }

    fn fault_calls(&self) -> Vec<FaultCall> {
        self.state().fault_calls.clone()
    }

    fn active_faults(&self) -> usize {
        self.state().faults.len()
    }

    /// Records the call; answers UNAVAILABLE while the directory is down.
    fn record(
        &self,
        rpc: &'static str,
        name: &str,
        port: Option<i32>,
        header: Option<&spot_service::proto::bosdyn::api::RequestHeader>,
    ) -> Result<MutexGuard<'_, RobotState>, RpcError> {
        let mut state = self.state();
        let refused = state.directory_down;
        state.calls.push(Call {
            rpc,
            name: name.to_owned(),
            port,
            client_name: header.map(|h| h.client_name.clone()).unwrap_or_default(),
            at: Instant::now(),
            refused,
        });
        if refused {
            return Err(RpcError::status(tonic::Status::unavailable(
                "robot directory is unreachable",
            )));
        }
        Ok(state)
    }
}

/// The fake `bosdyn.api.DirectoryRegistrationService`.
#[derive(Debug, Clone)]
struct FakeDirectory(FakeRobot);

#[spot_service(name = "directory-registration", authority = "api.spot.robot")]
impl DirectoryRegistrationService for FakeDirectory {
    async fn register_service(
        &self,
        request: RegisterServiceRequest,
    ) -> spot_service::Result<RegisterServiceResponse> {
        self.0.maybe_hang().await;
        use register_service_response::Status;
        let entry = request.service_entry.unwrap_or_default();
        let endpoint = request.endpoint.unwrap_or_default();
        let mut state = self.0.record(
            "RegisterService",
            &entry.name,
            Some(endpoint.port),
            request.header.as_ref(),
        )?;
        let status = match state.entries.entry(entry.name.clone()) {
            Entry::Occupied(_) => Status::AlreadyExists,
            Entry::Vacant(slot) => {
                slot.insert((entry, endpoint));
                Status::Ok
            }
        };
        Ok(RegisterServiceResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn update_service(
        &self,
        request: UpdateServiceRequest,
    ) -> spot_service::Result<UpdateServiceResponse> {
        self.0.maybe_hang().await;
        use update_service_response::Status;
        let entry = request.service_entry.unwrap_or_default();
        let endpoint = request.endpoint.unwrap_or_default();
        let mut state = self.0.record(
            "UpdateService",
            &entry.name,
            Some(endpoint.port),
            request.header.as_ref(),
        )?;
        let status = match state.entries.get_mut(&entry.name) {
            Some(slot) => {
                *slot = (entry, endpoint);
                Status::Ok
            }
            None => Status::NonexistentService,
        };
        Ok(UpdateServiceResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn unregister_service(
        &self,
        request: UnregisterServiceRequest,
    ) -> spot_service::Result<UnregisterServiceResponse> {
        self.0.maybe_hang().await;
        use unregister_service_response::Status;
        let name = request.service_name;
        let mut state = self
            .0
            .record("UnregisterService", &name, None, request.header.as_ref())?;
        let status = if state.entries.remove(&name).is_some() {
            // Like the robot: unregistering clears the service's faults.
            state.faults.retain(|(_, service), _| *service != name);
            Status::Ok
        } else {
            Status::NonexistentService
        };
        Ok(UnregisterServiceResponse {
            header: None,
            status: status as i32,
        })
    }
}

/// The fake `bosdyn.api.FaultService`.
#[derive(Debug, Clone)]
struct FakeFaults(FakeRobot);

#[spot_service(name = "fault", authority = "api.spot.robot")]
impl FaultService for FakeFaults {
    async fn trigger_service_fault(
        &self,
        request: TriggerServiceFaultRequest,
    ) -> spot_service::Result<TriggerServiceFaultResponse> {
        use trigger_service_fault_response::Status;
        let fault = request
            .fault
            .ok_or_else(|| RpcError::invalid_request("no fault"))?;
        let id = fault.fault_id.clone().unwrap_or_default();
        let mut state = self.0.state();
        state.fault_calls.push(FaultCall::Trigger(fault.clone()));
        let key = (id.fault_name, id.service_name);
        let status = match state.faults.entry(key) {
            Entry::Occupied(_) => Status::FaultAlreadyActive,
            Entry::Vacant(slot) => {
                slot.insert(fault);
                Status::Ok
            }
        };
        Ok(TriggerServiceFaultResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn clear_service_fault(
        &self,
        request: ClearServiceFaultRequest,
    ) -> spot_service::Result<ClearServiceFaultResponse> {
        use clear_service_fault_response::Status;
        let id = request.fault_id.unwrap_or_default();
        let mut state = self.0.state();
        state.fault_calls.push(FaultCall::Clear {
            fault_name: id.fault_name.clone(),
            service_name: id.service_name.clone(),
        });
        let status = if state
            .faults
            .remove(&(id.fault_name, id.service_name))
            .is_some()
        {
            Status::Ok
        } else {
            Status::FaultNotActive
        };
        Ok(ClearServiceFaultResponse {
            header: None,
            status: status as i32,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Hosts the fake directory and fault service on `127.0.0.1:port` (0: any free port).
async fn start_robot(robot: &FakeRobot, port: u16) -> RunningServer {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .port(port)
        .add_service(FakeDirectory(robot.clone()))
        .add_service(FakeFaults(robot.clone()))
        .drain_timeout(Duration::from_millis(200))
        .build()
        .await
        .expect("fake robot runner builds");
    spawn(runner)
}

/// Hosts only the fake fault service.
async fn start_fault_service(robot: &FakeRobot) -> RunningServer {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(FakeFaults(robot.clone()))
        .drain_timeout(Duration::from_millis(200))
        .build()
        .await
        .expect("fault runner builds");
    spawn(runner)
}

fn metadata() -> ServiceMetadata {
    ServiceMetadata {
        name: SERVICE,
        service_type: "testing.PayloadService",
        authority: "payload.spot.robot",
        user_token_required: true,
    }
}

fn registration(port: u16) -> ServiceRegistration {
    ServiceRegistration::from_metadata(metadata(), HOST, port)
}

/// Fast timings: heartbeats every `interval`, retries from 20 ms.
fn fast(interval: Duration) -> KeepAliveConfig {
    KeepAliveConfig {
        initial_retry: Duration::from_millis(20),
        rpc_timeout: Duration::from_secs(2),
        ..KeepAliveConfig::with_interval(interval)
    }
}

async fn client(uri: String) -> DirectoryRegistrationClient<Channel> {
    DirectoryRegistrationClient::new(channel(uri).await).with_client_name("directory-test")
}

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

/// Waits, bounded by [`PATIENCE`], until `condition` holds.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let polling = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(PATIENCE, polling)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

/// Waits, bounded by [`PATIENCE`], for a status matching `predicate`.
async fn status_where(
    status: &mut watch::Receiver<RegistrationStatus>,
    what: &str,
    predicate: impl FnMut(&RegistrationStatus) -> bool,
) -> RegistrationStatus {
    tokio::time::timeout(PATIENCE, status.wait_for(predicate))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for status {what}"))
        .unwrap_or_else(|_| panic!("status channel closed while waiting for {what}"))
        .clone()
}

async fn registered(status: &mut watch::Receiver<RegistrationStatus>) -> RegistrationStatus {
    status_where(status, "Registered", RegistrationStatus::is_registered).await
}

/// Bounds a future by [`PATIENCE`].
async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

async fn health_of(uri: String, service: &str) -> ServingStatus {
    let mut client = HealthClient::new(channel(uri).await);
    client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health check answers")
        .into_inner()
        .status()
}

async fn eventually_health(uri: &str, service: &str, expected: ServingStatus) {
    let polling = async {
        loop {
            if health_of(uri.to_owned(), service).await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(PATIENCE, polling)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for health {expected:?}"));
}

// ---------------------------------------------------------------------------------------------
// The plain client.

#[tokio::test]
async fn plain_client_reports_typed_errors() {
    let robot = FakeRobot::default();
    let server = start_robot(&robot, 0).await;
    let mut client = client(server.uri()).await;
    let registration = registration(50051);

    bounded(
        "register",
        client.register(registration.entry(), registration.endpoint()),
    )
    .await
    .expect("first registration succeeds");
    let (entry, endpoint) = robot.entry(SERVICE).expect("entry registered");
    assert_eq!(entry, registration.entry());
    assert_eq!(endpoint.port, 50051);
    assert_eq!(endpoint.host_ip, HOST);
    let calls = robot.calls();
    assert_eq!(calls[0].client_name, "directory-test", "header stamped");

    let error = bounded(
        "register again",
        client.register(registration.entry(), registration.endpoint()),
    )
    .await
    .expect_err("second registration fails");
    assert!(
        matches!(&error, DirectoryRegistrationError::AlreadyExists { name } if name == SERVICE),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("service \"{SERVICE}\" is already registered in the robot directory")
    );

    let moved = registration_with_port(&registration, 50052);
    bounded("update", client.update(moved.entry(), moved.endpoint()))
        .await
        .expect("update succeeds");
    assert_eq!(robot.entry(SERVICE).unwrap().1.port, 50052);

    bounded("unregister", client.unregister(SERVICE))
        .await
        .expect("unregister succeeds");
    assert!(robot.entry(SERVICE).is_none());

    let error = bounded("unregister again", client.unregister(SERVICE))
        .await
        .expect_err("nothing to unregister");
    assert!(
        matches!(&error, DirectoryRegistrationError::DoesNotExist { name } if name == SERVICE),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("service \"{SERVICE}\" is not registered in the robot directory")
    );

    let error = bounded(
        "update missing",
        client.update(moved.entry(), moved.endpoint()),
    )
    .await
    .expect_err("nothing to update");
    assert!(
        matches!(&error, DirectoryRegistrationError::DoesNotExist { name } if name == SERVICE),
        "{error:?}"
    );

    // Reset tolerates a missing entry, and replaces an existing one.
    bounded(
        "reset missing",
        client.reset(registration.entry(), registration.endpoint()),
    )
    .await
    .expect("reset registers");
    robot.put(SERVICE, 1111);
    bounded(
        "reset existing",
        client.reset(registration.entry(), registration.endpoint()),
    )
    .await
    .expect("reset replaces");
    assert_eq!(robot.entry(SERVICE).unwrap().1.port, 50051);

    // A gRPC failure keeps its status.
    robot.set_directory_down(true);
    let error = bounded("unregister while down", client.unregister(SERVICE))
        .await
        .expect_err("directory is down");
    assert_eq!(
        error.grpc_status().map(tonic::Status::code),
        Some(tonic::Code::Unavailable),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "directory registration RPC failed: gRPC status Unavailable: robot directory is unreachable"
    );
    server.stop().await;
}

fn registration_with_port(registration: &ServiceRegistration, port: u16) -> ServiceRegistration {
    ServiceRegistration {
        port,
        ..registration.clone()
    }
}

#[tokio::test]
async fn plain_client_times_out_when_configured() {
    // A listener that accepts connections but never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let mut client = DirectoryRegistrationClient::new(lazy_channel(uri))
        .with_rpc_timeout(Some(Duration::from_millis(150)));
    let started = Instant::now();
    let error = bounded("unregister", client.unregister(SERVICE))
        .await
        .expect_err("times out");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(
            &error,
            DirectoryRegistrationError::Timeout { rpc: "UnregisterService", name, after }
                if name == SERVICE && *after == Duration::from_millis(150)
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("UnregisterService for service \"{SERVICE}\" timed out after 150ms")
    );
    hold.abort();
}

// ---------------------------------------------------------------------------------------------
// The keep-alive.

#[tokio::test]
async fn keepalive_reset_at_start_replaces_a_stale_entry() {
    let robot = FakeRobot::default();
    robot.put(SERVICE, 1111);
    let server = start_robot(&robot, 0).await;
    let config = fast(Duration::from_secs(5));
    let keep_alive =
        DirectoryKeepAlive::spawn(client(server.uri()).await, None, registration(2222), config);
    let mut status = keep_alive.status();
    registered(&mut status).await;

    let (entry, endpoint) = robot.entry(SERVICE).expect("registered");
    assert_eq!(endpoint.port, 2222);
    assert_eq!(endpoint.host_ip, HOST);
    assert_eq!(
        entry.service_type,
        Some(service_entry::ServiceType::Type(
            "testing.PayloadService".into()
        ))
    );
    assert_eq!(entry.authority, "payload.spot.robot");
    assert!(entry.user_token_required);
    assert_eq!(entry.liveness_timeout_secs, 12.5, "2.5 x interval");
    let rpcs: Vec<_> = robot.calls().iter().map(|c| c.rpc).collect();
    assert_eq!(rpcs, ["UnregisterService", "RegisterService"]);
    assert!(robot.calls().iter().all(|c| c.name == SERVICE));

    bounded("shutdown", keep_alive.shutdown())
        .await
        .expect("unregisters");
    server.stop().await;
}

#[tokio::test]
async fn keepalive_reregisters_every_interval() {
    let robot = FakeRobot::default();
    let server = start_robot(&robot, 0).await;
    let interval = Duration::from_millis(100);
    let keep_alive = DirectoryKeepAlive::spawn(
        client(server.uri()).await,
        None,
        registration(2222),
        fast(interval),
    );
    let mut status = keep_alive.status();
    registered(&mut status).await;
    // Each heartbeat finds the entry (Register answers ALREADY_EXISTS) and refreshes it with
    // Update.
    eventually("five heartbeats", || {
        robot.count("RegisterService") >= 6 && robot.count("UpdateService") >= 5
    })
    .await;

    let registers: Vec<Instant> = robot
        .calls()
        .iter()
        .filter(|c| c.rpc == "RegisterService")
        .map(|c| c.at)
        .collect();
    for pair in registers.windows(2) {
        let gap = pair[1] - pair[0];
        // Never early; late only by scheduling noise.
        assert!(gap >= interval - Duration::from_millis(20), "gap {gap:?}");
        assert!(gap < interval * 5, "gap {gap:?}");
    }
    assert_eq!(robot.count("UnregisterService"), 1, "reset only at start");
    assert!(status.borrow().is_registered());

    bounded("shutdown", keep_alive.shutdown()).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn keepalive_corrects_a_stale_endpoint_with_update() {
    let robot = FakeRobot::default();
    let server = start_robot(&robot, 0).await;
    let keep_alive = DirectoryKeepAlive::spawn(
        client(server.uri()).await,
        None,
        registration(2222),
        fast(Duration::from_millis(100)),
    );
    let mut status = keep_alive.status();
    registered(&mut status).await;

    // Someone changes the entry behind our back.
    robot.put(SERVICE, 9999);
    let changed_at = Instant::now();
    eventually("the endpoint is corrected", || {
        robot.entry(SERVICE).map(|(_, e)| e.port) == Some(2222)
    })
    .await;
    let corrected = robot
        .calls()
        .into_iter()
        .find(|c| c.rpc == "UpdateService" && c.at >= changed_at)
        .expect("an Update corrected it");
    assert_eq!(corrected.port, Some(2222));
    let (entry, endpoint) = robot.entry(SERVICE).unwrap();
    assert_eq!(endpoint.host_ip, HOST);
    assert_eq!(entry.authority, "payload.spot.robot");

    bounded("shutdown", keep_alive.shutdown()).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn keepalive_recreates_a_wiped_directory_within_one_interval() {
    let robot = FakeRobot::default();
    let server = start_robot(&robot, 0).await;
    let interval = Duration::from_millis(200);
    let keep_alive = DirectoryKeepAlive::spawn(
        client(server.uri()).await,
        None,
        registration(2222),
        fast(interval),
    );
    let mut status = keep_alive.status();
    registered(&mut status).await;

    robot.wipe();
    let wiped_at = Instant::now();
    eventually("the entry is back", || robot.entry(SERVICE).is_some()).await;
    let took = wiped_at.elapsed();
    assert!(
        took <= interval + Duration::from_millis(100),
        "re-registered after {took:?}"
    );
    assert_eq!(robot.entry(SERVICE).unwrap().1.port, 2222);
    // No failure in between: a plain Register recreated it.
    assert!(status.borrow().is_registered());
    assert!(robot.calls().iter().all(|c| !c.refused));

    bounded("shutdown", keep_alive.shutdown()).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn keepalive_recovers_when_the_robot_comes_up_and_clears_its_fault() {
    let robot = FakeRobot::default();
    // The fault service is reachable; the directory is not up yet.
    let faults = start_fault_service(&robot).await;
    let directory_port = free_port();
    let directory_uri = format!("http://127.0.0.1:{directory_port}");
    let fault_client = FaultServiceClient::new(channel(faults.uri()).await);
    let keep_alive = DirectoryKeepAlive::spawn(
        DirectoryRegistrationClient::new(lazy_channel(directory_uri)),
        Some(fault_client),
        registration(2222),
        fast(Duration::from_millis(200)),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    keep_alive.on_status(move |status| record.lock().unwrap().push(status.clone()));
    let mut status = keep_alive.status();

    let failing = status_where(&mut status, "Failing", |s| {
        matches!(s, RegistrationStatus::Failing { .. })
    })
    .await;
    let RegistrationStatus::Failing { error, attempts } = failing else {
        unreachable!()
    };
    assert!(attempts >= 1);
    assert!(error.contains("RPC failed"), "{error}");
    eventually("the fault is raised", || robot.active_faults() == 1).await;
    let triggered = robot
        .fault_calls()
        .into_iter()
        .find_map(|c| match c {
            FaultCall::Trigger(fault) => Some(fault),
            FaultCall::Clear { .. } => None,
        })
        .expect("a trigger");
    let id = triggered.fault_id.clone().unwrap();
    assert_eq!(id.fault_name, DIRECTORY_REGISTRATION_FAULT_NAME);
    assert_eq!(id.fault_name, "Directory Registration Fault");
    assert_eq!(id.service_name, SERVICE);
    assert_eq!(triggered.severity, service_fault::Severity::Critical as i32);
    assert!(triggered.error_message.contains(SERVICE), "{triggered:?}");

    // Let it fail a few times: the fault is raised once, not on every attempt.
    status_where(
        &mut status,
        "several failures",
        |s| matches!(s, RegistrationStatus::Failing { attempts, .. } if *attempts >= 3),
    )
    .await;
    let triggers = robot
        .fault_calls()
        .iter()
        .filter(|c| matches!(c, FaultCall::Trigger(_)))
        .count();
    assert_eq!(triggers, 1);

    // The robot comes up on that port.
    let server = start_robot(&robot, directory_port).await;
    registered(&mut status).await;
    assert_eq!(robot.entry(SERVICE).unwrap().1.port, 2222);
    eventually("the fault is cleared", || {
        robot.active_faults() == 0
            && robot
                .fault_calls()
                .iter()
                .any(|c| matches!(c, FaultCall::Clear { .. }))
    })
    .await;
    match robot.fault_calls().last().unwrap() {
        FaultCall::Clear {
            fault_name,
            service_name,
        } => {
            assert_eq!(fault_name, DIRECTORY_REGISTRATION_FAULT_NAME);
            assert_eq!(service_name, SERVICE);
        }
        other => panic!("last fault call: {other:?}"),
    }

    bounded("shutdown", keep_alive.shutdown()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.first(), Some(&RegistrationStatus::Registering));
    let failing_at = seen
        .iter()
        .position(|s| matches!(s, RegistrationStatus::Failing { .. }))
        .expect("saw Failing");
    let registered_at = seen
        .iter()
        .position(RegistrationStatus::is_registered)
        .expect("saw Registered");
    assert!(failing_at < registered_at, "{seen:?}");
    assert_eq!(seen.last(), Some(&RegistrationStatus::Unregistered));
    server.stop().await;
    faults.stop().await;
}

#[tokio::test]
async fn keepalive_backs_off_quickly_instead_of_waiting_an_interval() {
    let robot = FakeRobot::default();
    robot.set_directory_down(true);
    let server = start_robot(&robot, 0).await;
    // A long interval: only the back-off can explain quick retries.
    let config = KeepAliveConfig {
        interval: Duration::from_secs(30),
        liveness_timeout: Duration::from_secs(75),
        rpc_timeout: Duration::from_secs(2),
        initial_retry: Duration::from_millis(10),
        max_retry: Duration::from_millis(80),
    };
    let keep_alive =
        DirectoryKeepAlive::spawn(client(server.uri()).await, None, registration(2222), config);
    let mut status = keep_alive.status();
    status_where(
        &mut status,
        "five failures",
        |s| matches!(s, RegistrationStatus::Failing { attempts, .. } if *attempts >= 5),
    )
    .await;
    let attempts: Vec<Instant> = robot.calls().iter().map(|c| c.at).collect();
    for pair in attempts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap < Duration::from_secs(2), "gap {gap:?}");
    }
    // Until the first success, every attempt is the reset (which starts with Unregister).
    assert!(robot.calls().iter().all(|c| c.rpc == "UnregisterService"));

    robot.set_directory_down(false);
    registered(&mut status).await;
    assert_eq!(robot.entry(SERVICE).unwrap().1.port, 2222);

    bounded("shutdown", keep_alive.shutdown()).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn keepalive_status_and_health_follow_registration() {
    let robot = FakeRobot::default();
    let server = start_robot(&robot, 0).await;
    // The payload service whose health the keep-alive reports.
    let payload_runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .build()
        .await
        .unwrap();
    let reporter = payload_runner.health_reporter();
    let payload_port = payload_runner.local_addr().port();
    let payload = spawn(payload_runner);
    let echo = <SpotEcho as SpotService>::GRPC_NAME;

    robot.set_directory_down(true);
    let keep_alive = DirectoryKeepAlive::spawn(
        client(server.uri()).await,
        None,
        registration(payload_port),
        fast(Duration::from_millis(100)),
    );
    keep_alive.report_health(reporter, echo);
    let mut status = keep_alive.status();

    status_where(&mut status, "Failing", |s| {
        matches!(s, RegistrationStatus::Failing { .. })
    })
    .await;
    eventually_health(&payload.uri(), echo, ServingStatus::NotServing).await;

    robot.set_directory_down(false);
    let since = match registered(&mut status).await {
        RegistrationStatus::Registered { since } => since,
        other => panic!("{other:?}"),
    };
    eventually_health(&payload.uri(), echo, ServingStatus::Serving).await;

    // Heartbeats while registered do not change the status (nor its `since`).
    let before = robot.count("RegisterService");
    eventually("two more heartbeats", || {
        robot.count("RegisterService") >= before + 2
    })
    .await;
    assert_eq!(
        *status.borrow(),
        RegistrationStatus::Registered { since },
        "steady state"
    );

    // Failing again, then recovering.
    robot.set_directory_down(true);
    status_where(&mut status, "Failing again", |s| {
        matches!(s, RegistrationStatus::Failing { .. })
    })
    .await;
    eventually_health(&payload.uri(), echo, ServingStatus::NotServing).await;
    robot.set_directory_down(false);
    registered(&mut status).await;
    eventually_health(&payload.uri(), echo, ServingStatus::Serving).await;

    bounded("shutdown", keep_alive.shutdown()).await.unwrap();
    assert_eq!(*status.borrow(), RegistrationStatus::Unregistered);
    // The follower reported the final state before shutdown returned.
    assert_eq!(
        health_of(payload.uri(), echo).await,
        ServingStatus::NotServing
    );
    payload.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn keepalive_shutdown_unregisters_and_drop_does_not() {
    let robot = FakeRobot::default();
    let server = start_robot(&robot, 0).await;
    let keep_alive = DirectoryKeepAlive::spawn(
        client(server.uri()).await,
        None,
        registration(2222),
        fast(Duration::from_millis(100)),
    );
    let mut status = keep_alive.status();
    registered(&mut status).await;

    bounded("shutdown", keep_alive.shutdown())
        .await
        .expect("unregisters");
    assert!(robot.entry(SERVICE).is_none(), "entry gone");
    assert_eq!(robot.calls().last().unwrap().rpc, "UnregisterService");
    assert_eq!(
        *status.borrow_and_update(),
        RegistrationStatus::Unregistered
    );
    // The loop is over: no more calls.
    let calls = robot.calls().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(robot.calls().len(), calls);
    assert!(
        bounded("status closes", status.changed()).await.is_err(),
        "status channel closed"
    );

    // Shutting down when the entry is already gone (robot rebooted) is fine.
    let keep_alive = DirectoryKeepAlive::spawn(
        client(server.uri()).await,
        None,
        registration(2222),
        fast(Duration::from_millis(100)),
    );
    let mut status = keep_alive.status();
    registered(&mut status).await;
    robot.wipe();
    bounded("shutdown of a wiped entry", keep_alive.shutdown())
        .await
        .expect("already gone counts as success");

    // Dropping stops the loop but leaves the entry (the liveness timeout removes it).
    let keep_alive = DirectoryKeepAlive::spawn(
        client(server.uri()).await,
        None,
        registration(3333),
        fast(Duration::from_millis(100)),
    );
    let mut status = keep_alive.status();
    registered(&mut status).await;
    drop(keep_alive);
    status_where(&mut status, "Stopped", |s| {
        *s == RegistrationStatus::Stopped
    })
    .await;
    let calls = robot.calls().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(robot.calls().len(), calls, "no calls after drop");
    assert_eq!(robot.entry(SERVICE).unwrap().1.port, 3333, "entry kept");
    server.stop().await;
}

#[tokio::test]
async fn keepalive_shutdown_reports_a_failed_unregistration() {
    let robot = FakeRobot::default();
    let server = start_robot(&robot, 0).await;
    let keep_alive = DirectoryKeepAlive::spawn(
        client(server.uri()).await,
        None,
        registration(2222),
        fast(Duration::from_millis(100)),
    );
    let mut status = keep_alive.status();
    registered(&mut status).await;

    robot.set_directory_down(true);
    let error = bounded("shutdown", keep_alive.shutdown())
        .await
        .expect_err("cannot unregister");
    assert_eq!(
        error.grpc_status().map(tonic::Status::code),
        Some(tonic::Code::Unavailable),
        "{error:?}"
    );
    assert_eq!(*status.borrow(), RegistrationStatus::Stopped);
    assert!(robot.entry(SERVICE).is_some());
    server.stop().await;
}

#[tokio::test]
async fn keepalive_shutdown_is_bounded_when_the_robot_hangs() {
    let robot = FakeRobot::default();
    let server = start_robot(&robot, 0).await;
    let config = KeepAliveConfig {
        rpc_timeout: Duration::from_millis(300),
        ..fast(Duration::from_millis(100))
    };
    let keep_alive =
        DirectoryKeepAlive::spawn(client(server.uri()).await, None, registration(2222), config);
    let mut status = keep_alive.status();
    registered(&mut status).await;

    // A hanging heartbeat fails by timeout (and is retried) ...
    robot.set_directory_hangs(true);
    let failing = status_where(&mut status, "Failing", |s| {
        matches!(s, RegistrationStatus::Failing { .. })
    })
    .await;
    let RegistrationStatus::Failing { error, .. } = failing else {
        unreachable!()
    };
    assert!(error.contains("timed out after 300ms"), "{error}");

    // ... and shutdown, interrupting the loop mid-call, gives up after the RPC timeout.
    let started = Instant::now();
    let error = bounded("shutdown", keep_alive.shutdown())
        .await
        .expect_err("cannot unregister");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    assert!(
        matches!(
            &error,
            DirectoryRegistrationError::Timeout {
                rpc: "UnregisterService",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(*status.borrow(), RegistrationStatus::Stopped);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// The runner keeps its services registered.

#[tokio::test]
async fn runner_keeps_its_services_registered_and_unregisters_them_on_shutdown() {
    use spot_service::SpotService as _;
    use tests_integration::SpotEcho;

    let robot = FakeRobot::default();
    let directory = start_robot(&robot, 0).await;
    // Another instance left a stale entry with another port.
    robot.put(SpotEcho::METADATA.name, 1);

    let mut runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .build()
        .await
        .unwrap();
    let port = runner.local_addr().port();
    let mut statuses = runner.keep_registered(
        client(directory.uri()).await,
        None,
        HOST,
        fast(Duration::from_millis(100)),
    );
    let server = spawn(runner);
    assert_eq!(statuses.len(), 1);
    registered(&mut statuses[0]).await;
    let (entry, endpoint) = robot.entry(SpotEcho::METADATA.name).expect("registered");
    assert_eq!(
        endpoint.port,
        i32::from(port),
        "the stale endpoint was replaced"
    );
    assert_eq!(endpoint.host_ip, HOST);
    assert_eq!(entry.authority, SpotEcho::METADATA.authority);
    eventually_health(&server.uri(), SpotEcho::GRPC_NAME, ServingStatus::Serving).await;

    // The robot reboots: the entry comes back, health follows.
    robot.wipe();
    eventually("re-registered after the wipe", || {
        robot.entry(SpotEcho::METADATA.name).is_some()
    })
    .await;

    bounded("runner stops", server.stop()).await;
    assert!(
        robot.entry(SpotEcho::METADATA.name).is_none(),
        "unregistered at shutdown"
    );
    directory.stop().await;
}
