//! A service started while the robot is down (still booting): its directory-registration client
//! is built on a lazily-connecting channel, its keep-alive fails while the robot is unreachable,
//! and registers it once the robot (the emulator, over TLS on loopback) is up.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use spot_service::directory::{DirectoryRegistrationClient, KeepAliveConfig, RegistrationStatus};
use spot_service::emulator::Emulator;
use spot_service::emulator::front::EmulatorCa;
use spot_service::emulator::state::EmulatorConfig;
use spot_service::payload::credentials::Secret;
use spot_service::proto::bosdyn::api::RobotIdRequest;
use spot_service::proto::bosdyn::api::robot_id_service_client::RobotIdServiceClient;
use spot_service::robot::{
    DIRECTORY_REGISTRATION_AUTHORITY, ProxyError, ROBOT_ID_AUTHORITY, Robot, RobotConfig, Trust,
    classify_status,
};
use spot_service::{ServiceRunner, SpotService as _};
use tests_integration::{SpotEcho, spawn};
use tokio::sync::watch;

/// The bound on every wait.
const PATIENCE: Duration = Duration::from_secs(20);

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A loopback port nothing listens on (bound, noted, released).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A robot at `127.0.0.1:port` trusting `ca_pem`, with short timeouts.
fn robot_at(port: u16, ca_pem: &str) -> Robot {
    let config = RobotConfig::builder("127.0.0.1")
        .port(port)
        .trust(Trust::CaPem(ca_pem.to_owned()))
        .connect_timeout(Duration::from_secs(2))
        .call_timeout(Duration::from_secs(5))
        .build()
        .expect("config");
    Robot::new(config).expect("robot")
}

async fn until(
    what: &str,
    status: &mut watch::Receiver<RegistrationStatus>,
    condition: impl FnMut(&RegistrationStatus) -> bool,
) -> RegistrationStatus {
    bounded(what, status.wait_for(condition))
        .await
        .expect("status channel open")
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_channel_to_a_down_robot_fails_calls_as_unreachable() {
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = EmulatorCa::load_or_create(ca_dir.path()).unwrap();
    let robot = robot_at(free_port(), ca.ca_pem());

    // The eager channel cannot be made while the robot is down…
    let err = bounded("eager connect", robot.channel(ROBOT_ID_AUTHORITY))
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(err.proxy_error(), Some(ProxyError::Unreachable { .. })),
        "{err:?}"
    );

    // …the lazy one can, without touching the network; its calls fail, classified.
    let channel = robot.lazy_intercepted(ROBOT_ID_AUTHORITY).unwrap();
    let mut client = RobotIdServiceClient::new(channel);
    let status = bounded(
        "call on a lazy channel",
        client.get_robot_id(RobotIdRequest::default()),
    )
    .await
    .expect_err("nothing listens");
    let classified = classify_status(&status);
    assert!(
        matches!(classified, ProxyError::Unreachable { .. }),
        "{status:?} → {classified:?}"
    );
    assert!(classified.is_transient());
    assert_eq!(
        robot.channels().lazy_authorities(),
        [ROBOT_ID_AUTHORITY.to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_started_while_the_robot_is_down_registers_once_it_is_up() {
    let ca_dir = tempfile::tempdir().unwrap();
    let ca_pem = EmulatorCa::load_or_create(ca_dir.path())
        .unwrap()
        .ca_pem()
        .to_owned();
    let port = free_port();
    let robot = robot_at(port, &ca_pem);

    // 1. The robot is down: the registration client is created all the same.
    let directory = DirectoryRegistrationClient::new(
        robot
            .lazy_intercepted(DIRECTORY_REGISTRATION_AUTHORITY)
            .expect("a lazy channel needs no robot"),
    );

    // 2. The service starts; its keep-alive fails while the robot is unreachable.
    let mut runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .build()
        .await
        .unwrap();
    let interval = Duration::from_millis(200);
    let mut statuses = runner.keep_registered(
        directory,
        None,
        "127.0.0.1",
        KeepAliveConfig {
            initial_retry: Duration::from_millis(20),
            rpc_timeout: Duration::from_secs(2),
            ..KeepAliveConfig::with_interval(interval)
        },
    );
    let service = spawn(runner);
    let failing = until("failing while the robot is down", &mut statuses[0], |s| {
        matches!(s, RegistrationStatus::Failing { .. })
    })
    .await;
    let RegistrationStatus::Failing { error, .. } = &failing else {
        unreachable!()
    };
    assert!(!error.is_empty(), "{failing:?}");

    // 3. The robot comes up (same port, same CA); the service's owner logs in.
    let emulator = Emulator::builder()
        .listen(SocketAddr::from(([127, 0, 0, 1], port)))
        .ca_dir(ca_dir.path())
        .config(EmulatorConfig::default().with_user("admin", "password"))
        .start()
        .await
        .unwrap();
    assert_eq!(emulator.ca_pem(), ca_pem, "the emulator reuses the CA");
    bounded(
        "log in",
        robot.authenticate("admin", &Secret::new("password")),
    )
    .await
    .unwrap();

    // 4. The keep-alive's retries reach the robot: the service is registered.
    until("registered once the robot is up", &mut statuses[0], |s| {
        s.is_registered()
    })
    .await;
    let entry = emulator
        .state()
        .service_entry(SpotEcho::METADATA.name)
        .expect("in the emulator's directory");
    assert_eq!(entry.authority, SpotEcho::METADATA.authority);

    // 5. Shutdown unregisters it.
    bounded("service stops", service.stop()).await;
    assert!(
        emulator
            .state()
            .service_entry(SpotEcho::METADATA.name)
            .is_none(),
        "unregistered at shutdown"
    );
    emulator.stop().await;
}
