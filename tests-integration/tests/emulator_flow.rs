//! The whole payload flow against the robot emulator, over TLS on loopback: register the payload,
//! wait until the operator authorizes it, get its token, host a service, keep it registered in the
//! directory, call it through the robot's proxy, survive a reboot (directory wiped), and
//! unregister at shutdown.

use std::time::Duration;

use spot_service::directory::{DirectoryRegistrationClient, KeepAliveConfig, RegistrationStatus};
use spot_service::emulator::Emulator;
use spot_service::emulator::state::EmulatorConfig;
use spot_service::payload::credentials::PayloadCredentials;
use spot_service::payload::registration::{AuthorizationWait, PayloadRegistrationClient};
use spot_service::proto::bosdyn::api::Payload;
use spot_service::robot::{
    DIRECTORY_REGISTRATION_AUTHORITY, PAYLOAD_REGISTRATION_AUTHORITY, ProxyError, Robot,
    classify_status,
};
use spot_service::{ServiceRunner, SpotService as _};
use tests_integration::proto::EchoRequest;
use tests_integration::proto::echo_service_client::EchoServiceClient;
use tests_integration::{SpotEcho, spawn};
use tokio::sync::watch;

const PATIENCE: Duration = Duration::from_secs(20);

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

async fn until_registered(status: &mut watch::Receiver<RegistrationStatus>) {
    bounded(
        "registered",
        status.wait_for(RegistrationStatus::is_registered),
    )
    .await
    .expect("status channel open");
}

async fn echo_through_robot(robot: &Robot, text: &str) -> Result<String, tonic::Status> {
    let channel = robot
        .intercepted(SpotEcho::METADATA.authority)
        .await
        .expect("TLS connection to the emulator");
    let mut client = EchoServiceClient::new(channel);
    let response = client
        .echo(EchoRequest {
            text: text.to_owned(),
            ..Default::default()
        })
        .await?
        .into_inner();
    spot_service::client::check_response(response.clone()).expect("CODE_OK");
    Ok(response.text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_registers_is_authorized_hosts_a_service_and_is_called_through_the_proxy() {
    let data = tempfile::tempdir().unwrap();
    let emulator = Emulator::builder()
        .config(EmulatorConfig::default().with_state_file(data.path().join("state.txt")))
        .ca_dir(data.path())
        .start()
        .await
        .unwrap();
    let robot = Robot::new(emulator.robot_config().unwrap()).unwrap();

    // 1. The payload registers itself without credentials, unauthorized.
    let credentials =
        PayloadCredentials::read_or_create(data.path().join("payload_guid_and_secret")).unwrap();
    let mut registration = PayloadRegistrationClient::new(
        robot.channel(PAYLOAD_REGISTRATION_AUTHORITY).await.unwrap(),
    );
    registration
        .ensure_registered(
            Payload {
                guid: credentials.guid().to_owned(),
                name: "flow test payload".into(),
                ..Default::default()
            },
            credentials.secret(),
        )
        .await
        .unwrap();
    assert!(
        !emulator
            .state()
            .payload(credentials.guid())
            .unwrap()
            .authorized
    );

    // 2. It waits; the operator authorizes it; it gets its token.
    let waiting = {
        let mut registration = registration.clone();
        let credentials = credentials.clone();
        tokio::spawn(async move {
            let wait = AuthorizationWait {
                poll_interval: Duration::from_millis(20),
                ..AuthorizationWait::default()
            };
            registration
                .wait_for_authorization(&credentials, &wait)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    emulator
        .state()
        .authorize_payload(credentials.guid())
        .unwrap();
    let token = bounded("authorized", waiting).await.unwrap().unwrap();
    robot.tokens().set(token.expose()).unwrap();

    // 3. The service starts and keeps itself registered in the directory.
    let mut runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .build()
        .await
        .unwrap();
    let directory = DirectoryRegistrationClient::new(
        robot
            .intercepted(DIRECTORY_REGISTRATION_AUTHORITY)
            .await
            .unwrap(),
    );
    let interval = Duration::from_millis(200);
    let mut statuses = runner.keep_registered(
        directory,
        None,
        "127.0.0.1",
        KeepAliveConfig {
            initial_retry: Duration::from_millis(20),
            ..KeepAliveConfig::with_interval(interval)
        },
    );
    let service = spawn(runner);
    until_registered(&mut statuses[0]).await;
    let entry = emulator
        .state()
        .service_entry(SpotEcho::METADATA.name)
        .expect("in the emulator's directory");
    assert_eq!(entry.authority, SpotEcho::METADATA.authority);

    // 4. A client calls it through the robot: TLS to the emulator, proxied over h2c.
    assert_eq!(echo_through_robot(&robot, "hello").await.unwrap(), "hello");

    // 5. The robot reboots: the directory is wiped, calls fail (502) until the keep-alive
    //    registers again, within one interval.
    emulator.state().reboot();
    let error = echo_through_robot(&robot, "during reboot").await;
    if let Err(status) = &error {
        assert!(
            matches!(
                classify_status(status),
                ProxyError::ServiceUnavailable { .. }
            ),
            "{status:?}"
        );
    }
    bounded("calls succeed again after the reboot", async {
        loop {
            if let Ok(text) = echo_through_robot(&robot, "after reboot").await {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        emulator
            .state()
            .payload(credentials.guid())
            .unwrap()
            .authorized
    );

    // 6. Shutdown unregisters the service; calls then fail as for an unknown service.
    bounded("service stops", service.stop()).await;
    assert!(
        emulator
            .state()
            .service_entry(SpotEcho::METADATA.name)
            .is_none(),
        "unregistered at shutdown"
    );
    let status = echo_through_robot(&robot, "gone").await.unwrap_err();
    assert!(
        matches!(
            classify_status(&status),
            ProxyError::ServiceUnavailable { .. }
        ),
        "{status:?}"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_and_faults_are_served_behind_the_tls_front() {
    use spot_service::fault::{FAULT_SERVICE_AUTHORITY, FaultClient, fault_id, service_fault};
    use spot_service::lease::keepalive::{LEASE_AUTHORITY, LeaseClient};
    use spot_service::payload::credentials::Secret;
    use spot_service::proto::bosdyn::api::service_fault::Severity;

    let emulator = Emulator::builder()
        .config(EmulatorConfig::default().with_user("admin", "password"))
        .start()
        .await
        .unwrap();
    let robot = Robot::new(emulator.robot_config().unwrap()).unwrap();

    // Without a token the lease service is out of reach, as on the robot.
    let mut anonymous = LeaseClient::new(robot.intercepted(LEASE_AUTHORITY).await.unwrap());
    let refused = anonymous.acquire("body").await.unwrap_err();
    assert!(
        refused.to_string().to_lowercase().contains("token"),
        "{refused}"
    );

    robot
        .authenticate("admin", &Secret::new("password"))
        .await
        .unwrap();
    let mut leases = LeaseClient::new(robot.intercepted(LEASE_AUTHORITY).await.unwrap());
    let lease = leases.acquire("body").await.unwrap();
    assert_eq!(lease.resource(), "body");
    let listed = leases.list_leases(true).await.unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r.resource == "body" && r.lease_owner.is_some()),
        "{listed:?}"
    );

    let mut faults = FaultClient::new(robot.intercepted(FAULT_SERVICE_AUTHORITY).await.unwrap());
    faults
        .trigger(service_fault(
            fault_id("Camera Unplugged", "flow-test"),
            Severity::Warn,
            "the camera is gone",
        ))
        .await
        .unwrap();
    assert_eq!(emulator.faults().active().len(), 1);

    // Time sync with the robot's clock, through the front as well.
    let time_sync = robot
        .start_time_sync(spot_service::time_sync::TimeSyncConfig::default())
        .await
        .unwrap();
    bounded(
        "time sync",
        time_sync.wait_for_sync(Duration::from_secs(10)),
    )
    .await
    .expect("synced with the emulated robot");
    let skew = time_sync.clock_skew().unwrap();
    assert!(
        skew.magnitude() < Duration::from_millis(100),
        "same machine, same clock: {skew}"
    );
    time_sync.shutdown().await;
    emulator.stop().await;
}

/// A service with lazy channels and a fast keep-alive, kept registered with `robot`.
async fn registered_echo(
    robot: &Robot,
    interval: Duration,
) -> (
    tests_integration::RunningServer,
    watch::Receiver<RegistrationStatus>,
) {
    let mut runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .build()
        .await
        .unwrap();
    let directory = DirectoryRegistrationClient::new(
        robot
            .lazy_intercepted(DIRECTORY_REGISTRATION_AUTHORITY)
            .unwrap(),
    );
    let mut statuses = runner.keep_registered(
        directory,
        None,
        "127.0.0.1",
        KeepAliveConfig {
            initial_retry: Duration::from_millis(20),
            ..KeepAliveConfig::with_interval(interval)
        },
    );
    (spawn(runner), statuses.remove(0))
}

async fn until_listed(emulator: &spot_service::emulator::RunningEmulator, within: Duration) {
    tokio::time::timeout(within, async {
        while emulator
            .state()
            .service_entry(SpotEcho::METADATA.name)
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not in the directory within {within:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_restart_mid_run_is_survived_like_a_reboot() {
    use spot_service::payload::credentials::Secret;
    let data = tempfile::tempdir().unwrap();
    let config = || {
        EmulatorConfig::default()
            .with_user("admin", "password")
            .with_state_file(data.path().join("state.txt"))
    };
    let first = Emulator::builder()
        .config(config())
        .ca_dir(data.path())
        .start()
        .await
        .unwrap();
    let port = first.port();
    let robot = Robot::new(first.robot_config().unwrap()).unwrap();
    robot
        .authenticate("admin", &Secret::new("password"))
        .await
        .unwrap();
    let interval = Duration::from_millis(300);
    let (service, mut status) = registered_echo(&robot, interval).await;
    until_registered(&mut status).await;
    assert_eq!(
        echo_through_robot(&robot, "before").await.unwrap(),
        "before"
    );

    // The robot restarts: a new process on the same port, same data directory.
    first.stop().await;
    let second = Emulator::builder()
        .listen(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .config(config())
        .ca_dir(data.path())
        .start()
        .await
        .unwrap();
    assert!(
        second
            .state()
            .service_entry(SpotEcho::METADATA.name)
            .is_none(),
        "the directory starts empty"
    );
    // Re-registered within one interval (plus the first quick retries), with the same token.
    until_listed(&second, interval + Duration::from_secs(2)).await;
    bounded("calls succeed again after the restart", async {
        loop {
            if let Ok(text) = echo_through_robot(&robot, "after").await {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    bounded("service stops", service.stop()).await;
    assert!(
        second
            .state()
            .service_entry(SpotEcho::METADATA.name)
            .is_none()
    );
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_refreshed_and_the_registration_kept() {
    use spot_service::payload::credentials::Secret;
    use spot_service::robot::RefreshTimings;
    let lifetime = Duration::from_secs(1);
    let emulator = Emulator::builder()
        .config(
            EmulatorConfig::default()
                .with_user("admin", "password")
                .with_token_lifetime(lifetime),
        )
        .start()
        .await
        .unwrap();
    let robot = Robot::new(emulator.robot_config().unwrap()).unwrap();
    robot
        .authenticate("admin", &Secret::new("password"))
        .await
        .unwrap();
    let first_token = robot.tokens().get().unwrap();
    let refresher = robot
        .start_token_refresh(RefreshTimings {
            interval: Duration::from_millis(300),
            initial_retry: Duration::from_millis(50),
        })
        .await
        .unwrap();
    let (service, mut status) = registered_echo(&robot, Duration::from_millis(200)).await;
    until_registered(&mut status).await;

    // Well past the first token's lifetime: it is refused, the refreshed one is used.
    tokio::time::sleep(lifetime * 3).await;
    assert!(
        emulator.state().token_owner(first_token.expose()).is_none(),
        "the first token expired"
    );
    assert_ne!(robot.tokens().get().unwrap().expose(), first_token.expose());
    assert!(status.borrow().is_registered(), "{:?}", *status.borrow());
    assert!(
        emulator
            .state()
            .service_entry(SpotEcho::METADATA.name)
            .is_some()
    );
    assert_eq!(echo_through_robot(&robot, "fresh").await.unwrap(), "fresh");

    refresher.shutdown().await;
    bounded("service stops", service.stop()).await;
    emulator.stop().await;
}
