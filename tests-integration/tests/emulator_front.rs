//! The robot emulator's TLS front on loopback, reached with spot-service's own robot client: SNI
//! certificates minted by the emulator's CA, built-in services, the proxy to registered services
//! (h2c), its errors (502, UNAUTHENTICATED), large and concurrent calls, and stopping.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use prost_types::Timestamp;
use spot_service::SpotService;
use spot_service::emulator::front::{EmulatorCa, Front, FrontConfig, RunningFront};
use spot_service::emulator::routing::{Routing, ServiceRoute};
use spot_service::proto::bosdyn::api::common_error::Code as HeaderCode;
use spot_service::proto::bosdyn::api::robot_id_service_client::RobotIdServiceClient;
use spot_service::proto::bosdyn::api::{RequestHeader, RobotIdRequest};
use spot_service::robot::{
    AuthenticatedChannel, ProxyError, Robot, RobotConfig, Trust, classify_status,
};
use tests_integration::proto::echo_service_client::EchoServiceClient;
use tests_integration::proto::{Behavior, EchoRequest};
use tests_integration::{FixedRobotId, RunningServer, start_spot_echo};

/// The bound of every test.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);
const ECHO_AUTHORITY: &str = "echo.spot.robot";
const VALID_TOKEN: &str = "valid-user-token";

/// Runs a test body, failing it if it takes longer than [`TEST_TIMEOUT`].
async fn bounded<T>(body: impl Future<Output = T>) -> T {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "spot_service=info".into()),
        )
        .with_test_writer()
        .try_init();
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .expect("the test finished in time")
}

/// What the emulator's state tells the front: registered services and valid tokens.
#[derive(Debug, Default)]
struct TestRouting {
    routes: Mutex<HashMap<String, ServiceRoute>>,
    tokens: Mutex<HashSet<String>>,
}

impl TestRouting {
    fn with_token(token: &str) -> Arc<Self> {
        let routing = Self::default();
        routing
            .tokens
            .lock()
            .expect("tokens")
            .insert(token.to_owned());
        Arc::new(routing)
    }

    fn register(&self, authority: &str, name: &str, port: u16, user_token_required: bool) {
        self.routes.lock().expect("routes").insert(
            authority.to_owned(),
            ServiceRoute {
                name: name.to_owned(),
                host_ip: "127.0.0.1".to_owned(),
                port,
                user_token_required,
            },
        );
    }
}

impl Routing for TestRouting {
    fn route(&self, authority: &str) -> Option<ServiceRoute> {
        self.routes.lock().expect("routes").get(authority).cloned()
    }

    fn token_is_valid(&self, token: &str) -> bool {
        self.tokens.lock().expect("tokens").contains(token)
    }
}

fn robot_id_routes() -> tonic::service::Routes {
    let mut routes = spot_service::ServiceRoutes::default();
    FixedRobotId.add_to_routes(&mut routes);
    routes.into_tonic_routes()
}

/// A front on `127.0.0.1:0` with the robot-id service at `id.spot.robot` (no token) and again
/// at `api.spot.robot` (token required).
fn config(ca: Arc<EmulatorCa>, routing: Arc<TestRouting>) -> FrontConfig {
    FrontConfig::new("127.0.0.1:0".parse().expect("address"), ca, routing)
        .builtin("id.spot.robot", robot_id_routes(), false)
        .builtin("api.spot.robot", robot_id_routes(), true)
        .shutdown_timeout(Duration::from_secs(2))
        .upstream_connect_timeout(Duration::from_secs(2))
}

async fn start_front(routing: Arc<TestRouting>) -> RunningFront {
    let ca = Arc::new(EmulatorCa::generate().expect("CA"));
    Front::start(config(ca, routing))
        .await
        .expect("front starts")
}

fn robot(front: &RunningFront, trust: Trust) -> Robot {
    let config = RobotConfig::builder("127.0.0.1")
        .port(front.port())
        .trust(trust)
        .client_name("emulator-front-test")
        .connect_timeout(Duration::from_secs(5))
        .call_timeout(Duration::from_secs(20))
        .build()
        .expect("config");
    Robot::new(config).expect("robot")
}

fn trusting(front: &RunningFront) -> Robot {
    robot(front, Trust::CaPem(front.ca().ca_pem().to_owned()))
}

async fn robot_id_client(
    robot: &Robot,
    authority: &str,
) -> RobotIdServiceClient<AuthenticatedChannel> {
    RobotIdServiceClient::new(robot.intercepted(authority).await.expect("connects"))
        .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(spot_service::MAX_MESSAGE_SIZE)
}

async fn serial_number(
    client: &mut RobotIdServiceClient<AuthenticatedChannel>,
) -> Result<String, tonic::Status> {
    let response = client.get_robot_id(RobotIdRequest::default()).await?;
    Ok(response
        .into_inner()
        .robot_id
        .expect("robot id")
        .serial_number)
}

async fn echo_client(robot: &Robot) -> EchoServiceClient<AuthenticatedChannel> {
    EchoServiceClient::new(robot.intercepted(ECHO_AUTHORITY).await.expect("connects"))
        .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(spot_service::MAX_MESSAGE_SIZE)
}

fn echo_request(text: &str) -> EchoRequest {
    EchoRequest {
        header: Some(RequestHeader {
            request_timestamp: Some(Timestamp::from(SystemTime::now())),
            client_name: "emulator-front-test".to_owned(),
            disable_rpc_logging: false,
        }),
        text: text.to_owned(),
        behavior: Behavior::Echo as i32,
        ..Default::default()
    }
}

/// The echo service on an h2c port, registered at `echo.spot.robot` with a token required.
async fn registered_echo(routing: &TestRouting) -> RunningServer {
    let echo = start_spot_echo().await;
    routing.register(ECHO_AUTHORITY, "echo-service", echo.addr.port(), true);
    echo
}

/// A loopback port nothing listens on.
async fn dead_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("address").port()
}

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "spot-emulator-front-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temporary directory");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_built_in_authority_answers_through_tls() {
    bounded(async {
        let front = start_front(TestRouting::with_token(VALID_TOKEN)).await;
        let robot = trusting(&front);
        let mut client = robot_id_client(&robot, "id.spot.robot").await;
        assert_eq!(
            serial_number(&mut client).await.expect("call"),
            "spot-service-test"
        );
        assert_eq!(front.ca().minted_names(), ["id.spot.robot"]);

        // A token-requiring built-in: UNAUTHENTICATED without (or with a bad) token.
        let mut api = robot_id_client(&robot, "api.spot.robot").await;
        let status = serial_number(&mut api).await.expect_err("no token");
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        assert!(
            status
                .message()
                .contains("missing or invalid user token for api.spot.robot"),
            "{status:?}"
        );
        robot.tokens().set("not-a-valid-token").expect("token");
        let status = serial_number(&mut api).await.expect_err("bad token");
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        robot.tokens().set(VALID_TOKEN).expect("token");
        assert_eq!(
            serial_number(&mut api).await.expect("valid token"),
            "spot-service-test"
        );
        front.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_registered_service_is_proxied_with_a_valid_token() {
    bounded(async {
        let routing = TestRouting::with_token(VALID_TOKEN);
        let echo = registered_echo(&routing).await;
        let front = start_front(routing.clone()).await;
        let robot = trusting(&front);
        let mut client = echo_client(&robot).await;

        robot.tokens().set(VALID_TOKEN).expect("token");
        let sent = echo_request("through the proxy");
        let response = client
            .echo(sent.clone())
            .await
            .expect("proxied call")
            .into_inner();
        assert_eq!(response.text, "through the proxy");
        let header = response.header.expect("response header");
        assert_eq!(header.request_header, sent.header, "request header echoed");
        let error = header.error.expect("error set");
        assert_eq!(error.code, HeaderCode::Ok as i32);
        assert!(header.request_received_timestamp.is_some());
        assert!(header.response_timestamp.is_some());
        assert!(
            front
                .ca()
                .minted_names()
                .contains(&ECHO_AUTHORITY.to_owned()),
            "a certificate was minted for the registered authority"
        );

        // A service's own gRPC status passes through unchanged.
        let mut failing = echo_request("x");
        failing.behavior = Behavior::GrpcStatus as i32;
        let status = client.echo(failing).await.expect_err("service's status");
        assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
        assert_eq!(status.message(), "not yet");

        // An invalid token, then none.
        for token in [Some("stale-token"), None] {
            match token {
                Some(token) => robot.tokens().set(token).expect("token"),
                None => robot.tokens().clear(),
            }
            let status = client
                .echo(echo_request("rejected"))
                .await
                .expect_err("no valid token");
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
            assert!(
                status
                    .message()
                    .contains("missing or invalid user token for echo.spot.robot"),
                "{status:?}"
            );
            assert!(
                matches!(classify_status(&status), ProxyError::Unauthenticated { .. }),
                "{status:?}"
            );
        }

        // A service registered without user_token_required needs none.
        routing.register(ECHO_AUTHORITY, "echo-service", echo.addr.port(), false);
        client
            .echo(echo_request("no token needed"))
            .await
            .expect("call without token");

        front.stop().await;
        echo.stop().await;
    })
    .await;
}

#[tokio::test]
async fn unregistered_and_unreachable_services_are_502() {
    bounded(async {
        let routing = TestRouting::with_token(VALID_TOKEN);
        let front = start_front(routing.clone()).await;
        let robot = trusting(&front);
        robot.tokens().set(VALID_TOKEN).expect("token");
        let mut client = echo_client(&robot).await;

        let expect_unavailable = |status: tonic::Status| {
            assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
            assert!(
                status.message().contains("502"),
                "mapped from HTTP 502: {status:?}"
            );
            let classified = classify_status(&status).with_authority(ECHO_AUTHORITY);
            assert!(
                matches!(&classified, ProxyError::ServiceUnavailable { authority: Some(a), .. } if a == ECHO_AUTHORITY),
                "{status:?} -> {classified:?}"
            );
            assert!(classified.is_transient());
        };

        // Nothing registered at the authority.
        let status = client
            .echo(echo_request("nobody home"))
            .await
            .expect_err("unregistered");
        expect_unavailable(status);

        // Registered, but nothing listens at its port.
        routing.register(ECHO_AUTHORITY, "echo-service", dead_port().await, true);
        let started = Instant::now();
        let status = client
            .echo(echo_request("dead port"))
            .await
            .expect_err("unreachable");
        expect_unavailable(status);
        assert!(started.elapsed() < Duration::from_secs(5));

        // Once the service is up at a registered port, the same channel works.
        let echo = registered_echo(&routing).await;
        client
            .echo(echo_request("now up"))
            .await
            .expect("registered service answers");

        front.stop().await;
        echo.stop().await;
    })
    .await;
}

#[tokio::test]
async fn large_messages_pass_through_the_proxy() {
    bounded(async {
        let routing = TestRouting::with_token(VALID_TOKEN);
        let echo = registered_echo(&routing).await;
        let front = start_front(routing).await;
        let robot = trusting(&front);
        robot.tokens().set(VALID_TOKEN).expect("token");
        let mut client = echo_client(&robot).await;

        const BLOB: usize = 12 * 1024 * 1024;
        const TEXT: usize = 6 * 1024 * 1024;
        let mut request = echo_request(&"t".repeat(TEXT));
        request.blob = (0..BLOB).map(|i| (i % 251) as u8).collect();
        let response = client.echo(request).await.expect("large call").into_inner();
        assert_eq!(response.blob_len, BLOB as u64);
        assert_eq!(response.text.len(), TEXT, "a large response comes back");

        front.stop().await;
        echo.stop().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_calls_through_the_proxy_succeed() {
    bounded(async {
        let routing = TestRouting::with_token(VALID_TOKEN);
        let echo = registered_echo(&routing).await;
        let front = start_front(routing).await;
        let robot = trusting(&front);
        robot.tokens().set(VALID_TOKEN).expect("token");
        let client = echo_client(&robot).await;

        let calls: Vec<_> = (0..200)
            .map(|i| {
                let mut client = client.clone();
                tokio::spawn(async move {
                    let text = format!("call {i}");
                    let response = client
                        .echo(echo_request(&text))
                        .await
                        .expect("concurrent call")
                        .into_inner();
                    assert_eq!(response.text, text);
                })
            })
            .collect();
        for call in calls {
            call.await.expect("call task");
        }

        front.stop().await;
        echo.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_ca_written_to_a_file_is_trusted_and_kept_across_restarts() {
    bounded(async {
        let dir = TempDir::new();
        let routing = TestRouting::with_token(VALID_TOKEN);

        let ca = Arc::new(EmulatorCa::load_or_create(dir.0.join("ca")).expect("CA created"));
        let ca_file = dir.0.join("client").join("robot-ca.pem");
        ca.write_ca_pem(&ca_file).expect("CA written");
        let front = Front::start(config(ca, routing.clone()))
            .await
            .expect("front");
        let robot = robot(&front, Trust::CaFile(ca_file.clone()));
        let mut client = robot_id_client(&robot, "id.spot.robot").await;
        assert_eq!(
            serial_number(&mut client).await.expect("call"),
            "spot-service-test"
        );
        front.stop().await;

        // A restart (a new CA object from the same directory, a new port) is still trusted by
        // the file written before.
        let ca = Arc::new(EmulatorCa::load_or_create(dir.0.join("ca")).expect("CA loaded"));
        let front = Front::start(config(ca, routing)).await.expect("front");
        let robot = self::robot(&front, Trust::CaFile(ca_file));
        let mut client = robot_id_client(&robot, "id.spot.robot").await;
        assert_eq!(
            serial_number(&mut client)
                .await
                .expect("call after restart"),
            "spot-service-test"
        );
        front.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_client_trusting_another_ca_is_refused() {
    bounded(async {
        let front = start_front(TestRouting::with_token(VALID_TOKEN)).await;
        let other = EmulatorCa::generate().expect("CA");
        let robot = robot(&front, Trust::CaPem(other.ca_pem().to_owned()));
        let err = robot
            .channel("id.spot.robot")
            .await
            .expect_err("untrusted certificate");
        assert!(
            err.to_string().contains("not trusted"),
            "untrusted certificate: {err}"
        );
        front.stop().await;
    })
    .await;
}

#[tokio::test]
async fn stopping_lets_calls_in_flight_finish_then_ends_promptly() {
    bounded(async {
        let routing = TestRouting::with_token(VALID_TOKEN);
        let echo = registered_echo(&routing).await;
        let front = start_front(routing.clone()).await;
        let addr = front.local_addr();
        let robot = trusting(&front);
        robot.tokens().set(VALID_TOKEN).expect("token");
        let mut client = echo_client(&robot).await;
        client.echo(echo_request("warm up")).await.expect("call");

        // A call in flight shorter than the shutdown timeout (2 s) completes.
        let mut slow = echo_request("slow");
        slow.behavior = Behavior::Slow as i32;
        slow.delay_ms = 300;
        let in_flight = tokio::spawn({
            let mut client = client.clone();
            async move { client.echo(slow).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        front.stop().await;
        let stopped_after = started.elapsed();
        assert!(stopped_after < Duration::from_secs(2), "{stopped_after:?}");
        let response = in_flight
            .await
            .expect("call task")
            .expect("call in flight finished");
        assert_eq!(response.into_inner().text, "slow");
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "no longer listening"
        );

        // A call longer than the shutdown timeout is cut when the timeout expires.
        let ca = Arc::new(EmulatorCa::generate().expect("CA"));
        let front = Front::start(config(ca, routing).shutdown_timeout(Duration::from_millis(300)))
            .await
            .expect("front");
        let robot = trusting(&front);
        robot.tokens().set(VALID_TOKEN).expect("token");
        let mut client = echo_client(&robot).await;
        let mut slower = echo_request("slower");
        slower.behavior = Behavior::Slow as i32;
        slower.delay_ms = 10_000;
        let in_flight = tokio::spawn(async move { client.echo(slower).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        front.stop().await;
        let stopped_after = started.elapsed();
        assert!(stopped_after < Duration::from_secs(2), "{stopped_after:?}");
        let status = tokio::time::timeout(Duration::from_secs(5), in_flight)
            .await
            .expect("the cut call ends promptly")
            .expect("call task")
            .expect_err("cut by the stop");
        eprintln!("the cut call: {status:?}");

        echo.stop().await;
    })
    .await;
}

/// Waits (bounded) until nothing listens at `addr` any more.
async fn wait_until_closed(addr: std::net::SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_front_stops_when_dropped_or_when_its_parent_token_is_cancelled() {
    bounded(async {
        let front = start_front(TestRouting::with_token(VALID_TOKEN)).await;
        let token = front.shutdown_token();
        let addr = front.local_addr();
        drop(front);
        assert!(token.is_cancelled());
        wait_until_closed(addr).await;

        // A parent token (e.g. the emulator's) stops the front; stopping the front leaves it alone.
        let parent = tokio_util::sync::CancellationToken::new();
        let ca = Arc::new(EmulatorCa::generate().expect("CA"));
        let routing = TestRouting::with_token(VALID_TOKEN);
        let front =
            Front::start(config(ca.clone(), routing.clone()).shutdown_token(parent.clone()))
                .await
                .expect("front");
        front.stop().await;
        assert!(
            !parent.is_cancelled(),
            "stopping the front cancels only its own token"
        );
        let front = Front::start(config(ca, routing).shutdown_token(parent.clone()))
            .await
            .expect("front");
        let addr = front.local_addr();
        parent.cancel();
        tokio::time::timeout(Duration::from_secs(5), front.wait())
            .await
            .expect("the front stopped with its parent token");
        wait_until_closed(addr).await;
    })
    .await;
}
