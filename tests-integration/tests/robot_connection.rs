//! The robot connection over real TLS on loopback: a fake robot that picks its certificate by SNI
//! (like the robot's proxy) and records what every call carries.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use spot_service::SpotService;
use spot_service::proto::bosdyn::api::RobotIdRequest;
use spot_service::proto::bosdyn::api::robot_id_service_client::RobotIdServiceClient;
use spot_service::robot::{
    AuthenticatedChannel, ProxyError, Robot, RobotChannel, RobotConfig, RobotError, Trust,
    classify_status,
};
use tests_integration::proto::echo_service_client::EchoServiceClient;
use tests_integration::proto::{Behavior, EchoRequest};
use tests_integration::{FixedRobotId, SpotEcho};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::body::Body;
use tonic::codegen::{BoxFuture, Service, http};
use tonic::transport::server::Connected;

const ROBOT_ID_PATH: &str = "/bosdyn.api.RobotIdService/GetRobotId";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A test CA issuing leaf certificates.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `name`, with its key.
    fn leaf(&self, name: &str) -> Arc<CertifiedKey> {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Arc::new(
            CertifiedKey::from_der(vec![cert.der().clone()], key, &provider()).expect("usable key"),
        )
    }
}

/// Picks the certificate by SNI; names it has none for get the fallback's (a certificate for
/// another name), as a robot asked for an authority it does not serve.
#[derive(Debug)]
struct BySni {
    certs: HashMap<String, Arc<CertifiedKey>>,
    fallback: Arc<CertifiedKey>,
}

impl ResolvesServerCert for BySni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let cert = hello
            .server_name()
            .and_then(|name| self.certs.get(name))
            .unwrap_or(&self.fallback);
        Some(cert.clone())
    }
}

/// What the fake robot saw of one call.
#[derive(Debug, Clone)]
struct SeenCall {
    /// The SNI of the TLS connection the call came on.
    sni: Option<String>,
    /// The request URI as the server sees it (HTTP/2 `:scheme`, `:authority`, `:path`).
    uri: String,
    /// The URI's authority (from `:authority`).
    authority: Option<String>,
    /// A `host` header, if any.
    host: Option<String>,
    path: String,
    authorization: Option<String>,
    grpc_timeout: Option<String>,
}

/// The SNI of a connection, handed to every request on it as a request extension.
#[derive(Debug, Clone)]
struct SniInfo(Option<String>);

/// A server-side TLS stream that tells tonic its SNI.
struct SniStream {
    inner: TlsStream<TcpStream>,
    sni: Option<String>,
}

impl Connected for SniStream {
    type ConnectInfo = SniInfo;

    fn connect_info(&self) -> SniInfo {
        SniInfo(self.sni.clone())
    }
}

impl AsyncRead for SniStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SniStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Records each call, then routes it; a call with `x-proxy-status: <code>` gets that bare HTTP
/// status instead, as the robot's proxy answers when it cannot route a call.
#[derive(Clone)]
struct Recording {
    routes: tonic::service::Routes,
    calls: Arc<Mutex<Vec<SeenCall>>>,
}

impl Service<http::Request<Body>> for Recording {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<http::Request<Body>>::poll_ready(&mut self.routes, cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .map(|v| v.to_str().expect("ascii header").to_owned())
        };
        self.calls.lock().expect("calls").push(SeenCall {
            sni: request
                .extensions()
                .get::<SniInfo>()
                .and_then(|info| info.0.clone()),
            uri: request.uri().to_string(),
            authority: request.uri().authority().map(|a| a.to_string()),
            host: header("host"),
            path: request.uri().path().to_owned(),
            authorization: header("authorization"),
            grpc_timeout: header("grpc-timeout"),
        });
        if let Some(status) = header("x-proxy-status") {
            let status: u16 = status.parse().expect("x-proxy-status is a number");
            return Box::pin(async move {
                Ok(http::Response::builder()
                    .status(status)
                    .body(Body::empty())
                    .expect("response"))
            });
        }
        Box::pin(Service::call(&mut self.routes, request))
    }
}

/// A TLS gRPC server on loopback standing in for the robot: certificates for `api.spot.robot`,
/// `id.spot.robot` and `echo.spot.robot` (and the `api` one for any other name), hosting the
/// robot-id and echo services.
struct FakeRobot {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<SeenCall>>>,
    /// The SNI of every completed TLS handshake.
    handshakes: Arc<Mutex<Vec<Option<String>>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeRobot {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl FakeRobot {
    async fn start(ca: &TestCa) -> Self {
        let api = ca.leaf("api.spot.robot");
        let certs = HashMap::from([
            ("api.spot.robot".to_owned(), api.clone()),
            ("id.spot.robot".to_owned(), ca.leaf("id.spot.robot")),
            ("echo.spot.robot".to_owned(), ca.leaf("echo.spot.robot")),
        ]);
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(BySni {
                certs,
                fallback: api,
            }));
        config.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let (streams, incoming) = tokio::sync::mpsc::channel::<io::Result<SniStream>>(16);

        let accepted = handshakes.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, streams, accepted) =
                    (acceptor.clone(), streams.clone(), accepted.clone());
                tokio::spawn(async move {
                    // A failed handshake (the client rejecting the certificate) just drops.
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let sni = tls.get_ref().1.server_name().map(str::to_owned);
                        accepted.lock().expect("handshakes").push(sni.clone());
                        let _ = streams.send(Ok(SniStream { inner: tls, sni })).await;
                    }
                });
            }
        });

        let mut routes = spot_service::ServiceRoutes::default();
        FixedRobotId.add_to_routes(&mut routes);
        SpotEcho.add_to_routes(&mut routes);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let service = Recording {
            routes: routes.into_tonic_routes(),
            calls: calls.clone(),
        };
        let serve = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .serve_with_incoming(
                    service,
                    tokio_stream::wrappers::ReceiverStream::new(incoming),
                )
                .await
                .expect("server runs");
        });

        Self {
            addr,
            calls,
            handshakes,
            tasks: vec![accept, serve],
        }
    }

    fn calls(&self) -> Vec<SeenCall> {
        self.calls.lock().expect("calls").clone()
    }

    fn handshakes(&self) -> Vec<Option<String>> {
        self.handshakes.lock().expect("handshakes").clone()
    }

    fn config(&self, trust: Trust) -> spot_service::robot::RobotConfigBuilder {
        RobotConfig::builder(self.addr.to_string())
            .trust(trust)
            .client_name("robot-connection-test")
            .connect_timeout(Duration::from_secs(5))
    }

    fn robot(&self, trust: Trust) -> Robot {
        Robot::new(self.config(trust).build().expect("config")).expect("robot")
    }
}

/// A robot-id client with spot-service's message size limits, over a [`RobotChannel`] or an
/// [`AuthenticatedChannel`].
fn robot_id_client<T>(channel: T) -> RobotIdServiceClient<T>
where
    T: tonic::client::GrpcService<Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    RobotIdServiceClient::new(channel)
        .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(spot_service::MAX_MESSAGE_SIZE)
}

async fn get_robot_id(
    client: &mut RobotIdServiceClient<AuthenticatedChannel>,
) -> Result<String, tonic::Status> {
    let response = client.get_robot_id(RobotIdRequest::default()).await?;
    Ok(response
        .into_inner()
        .robot_id
        .expect("robot id")
        .serial_number)
}

#[tokio::test]
async fn calls_carry_the_authority_as_sni_and_authority_and_the_token_once_set() {
    let ca = TestCa::new("spot-service test CA");
    let fake = FakeRobot::start(&ca).await;
    let robot = fake.robot(Trust::CaPem(ca.pem()));
    let mut client = robot_id_client(robot.intercepted("id.spot.robot").await.expect("connects"));

    assert_eq!(
        get_robot_id(&mut client).await.expect("call"),
        "spot-service-test"
    );
    robot.tokens().set("test-token-123").expect("token");
    get_robot_id(&mut client).await.expect("call with token");
    robot.tokens().clear();
    get_robot_id(&mut client).await.expect("call after clear");

    let calls = fake.calls();
    eprintln!("the fake robot saw: {calls:#?}");
    assert_eq!(calls.len(), 3);
    for call in &calls {
        assert_eq!(call.sni.as_deref(), Some("id.spot.robot"), "{call:?}");
        assert_eq!(call.authority.as_deref(), Some("id.spot.robot"), "{call:?}");
        assert_eq!(
            call.uri,
            format!("https://id.spot.robot{ROBOT_ID_PATH}"),
            "{call:?}"
        );
        assert_eq!(call.host, None, "HTTP/2 carries :authority, not host");
        assert_eq!(call.path, ROBOT_ID_PATH);
        // The default call timeout (30 s) travels as grpc-timeout.
        assert_eq!(call.grpc_timeout.as_deref(), Some("30000000u"), "{call:?}");
    }
    assert_eq!(calls[0].authorization, None);
    assert_eq!(
        calls[1].authorization.as_deref(),
        Some("Bearer test-token-123")
    );
    assert_eq!(calls[2].authorization, None);
    assert_eq!(fake.handshakes(), [Some("id.spot.robot".to_owned())]);
}

#[tokio::test]
async fn each_authority_gets_its_own_channel_and_bare_labels_are_expanded() {
    let ca = TestCa::new("spot-service test CA");
    let fake = FakeRobot::start(&ca).await;
    let robot = fake.robot(Trust::CaPem(ca.pem()));

    for authority in ["api.spot.robot", "id", "ID.spot.robot"] {
        let channel = robot.channel(authority).await.expect("connects");
        robot_id_client(channel)
            .get_robot_id(RobotIdRequest::default())
            .await
            .expect("call");
    }

    let seen: Vec<(Option<String>, Option<String>)> = fake
        .calls()
        .into_iter()
        .map(|call| (call.sni, call.authority))
        .collect();
    let api = Some("api.spot.robot".to_owned());
    let id = Some("id.spot.robot".to_owned());
    assert_eq!(
        seen,
        [
            (api.clone(), api.clone()),
            (id.clone(), id.clone()),
            (id.clone(), id.clone())
        ]
    );
    let handshakes: BTreeSet<_> = fake.handshakes().into_iter().collect();
    assert_eq!(handshakes, BTreeSet::from([api, id]));
    assert_eq!(fake.handshakes().len(), 2, "one connection per authority");
    assert_eq!(
        robot.channels().authorities(),
        ["api.spot.robot", "id.spot.robot"]
    );
}

#[tokio::test]
async fn concurrent_first_use_opens_one_connection() {
    let ca = TestCa::new("spot-service test CA");
    let fake = FakeRobot::start(&ca).await;
    let robot = fake.robot(Trust::CaPem(ca.pem()));

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let robot = robot.clone();
        tasks.spawn(async move {
            let mut client =
                robot_id_client(robot.intercepted("id.spot.robot").await.expect("connects"));
            get_robot_id(&mut client).await.expect("call")
        });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.expect("task"), "spot-service-test");
    }

    assert_eq!(fake.calls().len(), 32);
    assert_eq!(fake.handshakes(), [Some("id.spot.robot".to_owned())]);
    assert_eq!(robot.channels().len(), 1);

    // Later uses reuse the cached channel too.
    let channel = robot.channel("id.spot.robot").await.expect("cached");
    robot_id_client(channel)
        .get_robot_id(RobotIdRequest::default())
        .await
        .expect("call");
    assert_eq!(fake.handshakes().len(), 1);

    // Forgetting it makes the next use connect anew.
    assert!(robot.channels().forget("id"));
    assert!(robot.channels().is_empty());
    let channel = robot.channel("id.spot.robot").await.expect("reconnects");
    robot_id_client(channel)
        .get_robot_id(RobotIdRequest::default())
        .await
        .expect("call");
    assert_eq!(fake.handshakes().len(), 2);
}

/// A unique path in the temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn with(contents: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "spot-service-robot-ca-{}-{nanos}.pem",
            std::process::id()
        ));
        std::fs::write(&path, contents).expect("write temp file");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn trust_from_a_ca_file() {
    let ca = TestCa::new("spot-service test CA");
    let fake = FakeRobot::start(&ca).await;
    let file = TempFile::with(&format!("# test CA\n{}", ca.pem()));
    let robot = fake.robot(Trust::CaFile(file.0.clone()));
    let mut client = robot_id_client(robot.intercepted("id.spot.robot").await.expect("connects"));
    get_robot_id(&mut client).await.expect("call");
}

#[tokio::test]
async fn unusable_trust_is_reported_with_its_origin() {
    let missing = PathBuf::from("/nonexistent/robot-ca.pem");
    let config = RobotConfig::builder("127.0.0.1")
        .trust(Trust::CaFile(missing))
        .build()
        .expect("config");
    let err = Robot::new(config).expect_err("unreadable CA file");
    assert!(
        matches!(&err, RobotError::CaFileUnreadable { path, .. } if path.to_str() == Some("/nonexistent/robot-ca.pem")),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "cannot read the CA certificate file /nonexistent/robot-ca.pem: No such file or \
         directory (os error 2)"
    );

    let file = TempFile::with("not a certificate\n");
    let config = RobotConfig::builder("127.0.0.1")
        .trust(Trust::CaFile(file.0.clone()))
        .build()
        .expect("config");
    let err = Robot::new(config).expect_err("no certificate in the file");
    assert_eq!(
        err.to_string(),
        format!(
            "CA file {} holds no usable CA certificate: no \"-----BEGIN CERTIFICATE-----\" block \
             found",
            file.0.display()
        )
    );
}

#[tokio::test]
async fn the_boston_dynamics_root_rejects_another_cas_certificate() {
    let ca = TestCa::new("spot-service test CA");
    let fake = FakeRobot::start(&ca).await;
    let robot = fake.robot(Trust::BostonDynamicsRoot);

    let err = robot
        .channel("id.spot.robot")
        .await
        .expect_err("untrusted certificate");
    eprintln!("{err}");
    match &err {
        RobotError::Connect {
            authority,
            address,
            cause: ProxyError::UntrustedCertificate { detail },
        } => {
            assert_eq!(authority, "id.spot.robot");
            assert_eq!(address, &fake.addr.to_string());
            assert_eq!(detail, "invalid peer certificate: UnknownIssuer");
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }
    assert!(
        err.to_string().starts_with(&format!(
            "cannot connect to id.spot.robot at {}: the robot's TLS certificate is not trusted",
            fake.addr
        )),
        "{err}"
    );
    assert!(robot.channels().is_empty(), "failures are not cached");
    assert!(fake.handshakes().is_empty());

    // The same failure seen by a call (a lazily connecting plain tonic channel) is classified
    // from the status's chain of causes.
    let tls = tonic::transport::ClientTlsConfig::new()
        .domain_name("id.spot.robot")
        .ca_certificate(tonic::transport::Certificate::from_pem(
            spot_service::robot::BOSTON_DYNAMICS_ROOT_CA_PEM,
        ));
    let channel = tonic::transport::Endpoint::from_shared(format!("https://{}", fake.addr))
        .expect("uri")
        .tls_config(tls)
        .expect("tls config")
        .connect_lazy();
    let status = robot_id_client(channel)
        .get_robot_id(RobotIdRequest::default())
        .await
        .expect_err("untrusted certificate");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let classified = classify_status(&status);
    assert!(
        matches!(&classified, ProxyError::UntrustedCertificate { detail } if detail.contains("UnknownIssuer")),
        "{status:?} -> {classified:?}"
    );

    // A CA that is not the robot's is rejected the same way.
    let other = TestCa::new("another CA");
    let robot = fake.robot(Trust::CaPem(other.pem()));
    let err = robot.channel("id.spot.robot").await.expect_err("untrusted");
    assert!(
        matches!(
            err.proxy_error(),
            Some(ProxyError::UntrustedCertificate { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_means_a_nonexistent_authority() {
    let ca = TestCa::new("spot-service test CA");
    let fake = FakeRobot::start(&ca).await;
    let robot = fake.robot(Trust::CaPem(ca.pem()));

    // The fake robot has no certificate for this name and presents the api.spot.robot one.
    let err = robot
        .channel("payload-registration.spot.robot")
        .await
        .expect_err("wrong certificate name");
    eprintln!("{err}");
    match err.proxy_error() {
        Some(ProxyError::NonexistentAuthority {
            authority: Some(authority),
            detail,
        }) => {
            assert_eq!(authority, "payload-registration.spot.robot");
            assert!(detail.contains("api.spot.robot"), "{detail}");
        }
        other => panic!("expected a nonexistent authority, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("the robot serves no authority payload-registration.spot.robot"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_robot_is_reported_with_address_and_authority() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let config = RobotConfig::builder(addr.to_string())
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("config");
    let robot = Robot::new(config).expect("robot");
    let err = robot.channel("auth.spot.robot").await.expect_err("refused");
    eprintln!("{err}");
    assert!(
        matches!(err.proxy_error(), Some(ProxyError::Unreachable { detail }) if detail.contains("refused")),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "cannot connect to auth.spot.robot at {addr}: cannot reach the robot"
        )),
        "{err}"
    );
}

fn slow_echo(delay_ms: u32) -> EchoRequest {
    EchoRequest {
        text: "slow".into(),
        behavior: Behavior::Slow as i32,
        delay_ms,
        ..Default::default()
    }
}

fn echo_client(channel: RobotChannel) -> EchoServiceClient<RobotChannel> {
    EchoServiceClient::new(channel)
        .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(spot_service::MAX_MESSAGE_SIZE)
}

#[tokio::test]
async fn the_call_timeout_ends_slow_calls_with_deadline_exceeded() {
    let ca = TestCa::new("spot-service test CA");
    let fake = FakeRobot::start(&ca).await;
    let config = fake
        .config(Trust::CaPem(ca.pem()))
        .call_timeout(Duration::from_millis(300))
        .build()
        .expect("config");
    let robot = Robot::new(config).expect("robot");
    let mut client = echo_client(robot.channel("echo").await.expect("connects"));

    let started = Instant::now();
    let status = client.echo(slow_echo(3_000)).await.expect_err("times out");
    let elapsed = started.elapsed();
    eprintln!("after {elapsed:?}: {status:?}");
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert!(
        status
            .message()
            .contains("no answer from echo.spot.robot within the call's deadline (300ms)"),
        "{status:?}"
    );
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_000), "{elapsed:?}");
    assert!(matches!(
        classify_status(&status),
        ProxyError::TimedOut { .. }
    ));
    assert_eq!(
        fake.calls()[0].grpc_timeout.as_deref(),
        Some("300000u"),
        "the server knows the deadline"
    );

    // A call can set its own deadline.
    let mut request = tonic::Request::new(slow_echo(600));
    request.set_timeout(Duration::from_secs(5));
    let response = client.echo(request).await.expect("within its own deadline");
    assert_eq!(response.into_inner().text, "slow");
    assert_eq!(fake.calls()[1].grpc_timeout.as_deref(), Some("5000000u"));
}

#[tokio::test]
async fn the_proxys_http_errors_are_classified() {
    let ca = TestCa::new("spot-service test CA");
    let fake = FakeRobot::start(&ca).await;
    let robot = fake.robot(Trust::CaPem(ca.pem()));
    let channel = robot.channel("id.spot.robot").await.expect("connects");
    let mut client = robot_id_client(channel);

    for http_status in [401u16, 404, 429, 502, 504] {
        let mut request = tonic::Request::new(RobotIdRequest::default());
        request.metadata_mut().insert(
            "x-proxy-status",
            http_status.to_string().parse().expect("ascii"),
        );
        let status = client.get_robot_id(request).await.expect_err("proxy error");
        let error = classify_status(&status).with_authority("id.spot.robot");
        eprintln!("HTTP {http_status}: {status:?} -> {error}");
        let expected = match (http_status, &error) {
            (401, ProxyError::Unauthenticated { .. })
            | (404, ProxyError::NotFound { .. })
            | (429, ProxyError::TooManyRequests { .. })
            | (504, ProxyError::TimedOut { .. }) => true,
            (502, ProxyError::ServiceUnavailable { authority, .. }) => {
                authority.as_deref() == Some("id.spot.robot")
            }
            _ => false,
        };
        assert!(expected, "HTTP {http_status}: {status:?} -> {error:?}");
    }
}
