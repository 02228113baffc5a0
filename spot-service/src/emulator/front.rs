//! The emulator's TLS front: what clients reach at `ROBOT:443`.
//!
//! Like a robot, the front accepts TLS connections (ALPN `h2`), presents for each the certificate
//! of the authority the client names (SNI), minted by the emulator's CA ([`EmulatorCa`]), and
//! routes every call by its `:authority`:
//!
//! 1. a built-in robot service registered with [`FrontConfig::builtin`] (`auth.spot.robot`,
//!    `api.spot.robot`, …) answers it in process;
//! 2. otherwise, if [`Routing::route`] knows a registered service for the authority, the call is
//!    forwarded to its `host_ip:port` over plain HTTP/2 (h2c), as the robot's proxy does:
//!    method, path, headers (gRPC ones, `te`, the token) and both bodies stream through, with
//!    trailers;
//! 3. otherwise the answer is HTTP 502 with an empty body, which clients report as an
//!    unavailable, possibly unregistered service. A registered service that cannot be reached
//!    gets the same answer.
//!
//! A call to a built-in marked `token_required`, or to a service registered with
//! `user_token_required`, must carry `authorization: Bearer <token>` with a token
//! [`Routing::token_is_valid`] accepts; otherwise it is answered gRPC `UNAUTHENTICATED`.
//!
//! Every proxied call is logged (tracing, level info) when it ends, with its authority, path,
//! target and outcome; every rejected or failed call is logged at level warn.
//!
//! ```no_run
//! # async fn example(routing: std::sync::Arc<dyn spot_service::emulator::routing::Routing>,
//! #     routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use spot_service::emulator::front::{EmulatorCa, Front, FrontConfig};
//!
//! let ca = Arc::new(EmulatorCa::load_or_create("/var/lib/spot-emulator")?);
//! let config = FrontConfig::new("0.0.0.0:443".parse()?, ca, routing)
//!     .builtin("id.spot.robot", routes, false);
//! let front = Front::start(config).await?;
//! println!("robot emulator on {}", front.local_addr());
//! front.stop().await;
//! # Ok(())
//! # }
//! ```

mod ca;
mod proxy;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

pub use ca::{
    AuthorityCertResolver, CA_CERT_FILE, CA_KEY_FILE, CaError, EMULATOR_CA_NAME, EmulatorCa,
};
pub use proxy::BuiltinService;

use super::routing::Routing;
use crate::robot::normalize_authority;
use proxy::{Builtin, Proxy, ProxySettings};

/// Default of [`FrontConfig::handshake_timeout`]: 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`FrontConfig::shutdown_timeout`]: 5 s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of [`FrontConfig::upstream_connect_timeout`]: 5 s.
pub const DEFAULT_UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of [`FrontConfig::default_server_name`]: `api.spot.robot`.
pub const DEFAULT_SERVER_NAME: &str = "api.spot.robot";

/// Concurrent calls allowed per client connection (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`).
const MAX_CONCURRENT_STREAMS: u32 = 1024;
/// HTTP/2 flow-control windows, for client connections and for connections to registered
/// services. Fixed and generous rather than adaptive: an adaptive window starts at 64 KiB, and
/// h2 then treats a few hundred small DATA frames buffered at once (many concurrent calls whose
/// bodies wait for the forwarding connection) as abuse (`ENHANCE_YOUR_CALM`), since it allows
/// half the connection window for their framing overhead.
pub(crate) const STREAM_WINDOW: u32 = 4 * 1024 * 1024;
/// See [`STREAM_WINDOW`].
pub(crate) const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;
/// Interval of HTTP/2 pings on client connections, to notice dead clients.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// Pause after a failed `accept` (e.g. out of file descriptors) before accepting again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Why the front could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrontError {
    /// The listening address could not be bound.
    #[error("the emulator cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The TLS configuration could not be built.
    #[error("the emulator's TLS configuration is unusable: {0}")]
    Tls(#[from] rustls::Error),
}

/// How to run the front. Build it with [`FrontConfig::new`], then the builder methods.
#[must_use]
pub struct FrontConfig {
    listen_addr: SocketAddr,
    ca: Arc<EmulatorCa>,
    routing: Arc<dyn Routing>,
    builtins: HashMap<String, Builtin>,
    handshake_timeout: Duration,
    shutdown_timeout: Duration,
    upstream_connect_timeout: Duration,
    default_server_name: String,
    shutdown: CancellationToken,
}

impl fmt::Debug for FrontConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut builtins: Vec<(&String, bool)> = self
            .builtins
            .iter()
            .map(|(authority, builtin)| (authority, builtin.token_required))
            .collect();
        builtins.sort();
        f.debug_struct("FrontConfig")
            .field("listen_addr", &self.listen_addr)
            .field("builtins (authority, token_required)", &builtins)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("upstream_connect_timeout", &self.upstream_connect_timeout)
            .field("default_server_name", &self.default_server_name)
            .finish_non_exhaustive()
    }
}

impl FrontConfig {
    /// A front listening on `listen_addr` (port 0 picks a free port; see
    /// [`RunningFront::local_addr`]), presenting certificates from `ca`, forwarding calls for
    /// registered services as `routing` says. No built-in services yet; timeouts are the
    /// `DEFAULT_*` constants.
    pub fn new(listen_addr: SocketAddr, ca: Arc<EmulatorCa>, routing: Arc<dyn Routing>) -> Self {
        Self {
            listen_addr,
            ca,
            routing,
            builtins: HashMap::new(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            upstream_connect_timeout: DEFAULT_UPSTREAM_CONNECT_TIMEOUT,
            default_server_name: DEFAULT_SERVER_NAME.to_owned(),
            shutdown: CancellationToken::new(),
        }
    }

    /// Hosts `service` at `authority` (normalized: lower case, a bare label expanded to
    /// `<label>.spot.robot`). Built-ins take precedence over registered services. With
    /// `token_required`, calls need a valid user token. One service per authority (a later one
    /// replaces an earlier one): put all the gRPC services of an authority into one
    /// [`tonic::service::Routes`].
    pub fn builtin(
        mut self,
        authority: &str,
        service: impl Into<BuiltinService>,
        token_required: bool,
    ) -> Self {
        self.builtins.insert(
            normalize_authority(authority),
            Builtin {
                service: service.into(),
                token_required,
            },
        );
        self
    }

    /// The time a client has to complete the TLS handshake. Default:
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long stopping waits for calls in flight before closing their connections. Default:
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`].
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The time allowed to connect to a registered service before answering HTTP 502. Default:
    /// [`DEFAULT_UPSTREAM_CONNECT_TIMEOUT`].
    pub fn upstream_connect_timeout(mut self, timeout: Duration) -> Self {
        self.upstream_connect_timeout = timeout;
        self
    }

    /// The certificate presented to clients that send no server name (SNI). Default:
    /// [`DEFAULT_SERVER_NAME`].
    pub fn default_server_name(mut self, name: impl Into<String>) -> Self {
        self.default_server_name = name.into();
        self
    }

    /// Stops the front when `token` is cancelled (e.g. the emulator's own shutdown token).
    /// Stopping the front does not cancel `token`: the front runs on a child of it.
    pub fn shutdown_token(mut self, token: CancellationToken) -> Self {
        self.shutdown = token;
        self
    }
}

/// A front bound to its address, not yet serving. [`Front::start`] binds and serves in one step.
#[derive(Debug)]
pub struct Front {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: FrontConfig,
}

impl Front {
    /// Binds the listening address.
    pub async fn bind(config: FrontConfig) -> Result<Self, FrontError> {
        let addr = config.listen_addr;
        let bind_error = |source| FrontError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            local_addr,
            config,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves in a background task until stopped. Must be called within a Tokio runtime.
    pub fn spawn(self) -> Result<RunningFront, FrontError> {
        let Self {
            listener,
            local_addr,
            config,
        } = self;
        let resolver = AuthorityCertResolver::new(config.ca.clone(), &config.default_server_name);
        let mut tls = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
        tls.alpn_protocols = vec![b"h2".to_vec()];

        let mut builtins: Vec<&str> = config.builtins.keys().map(String::as_str).collect();
        builtins.sort_unstable();
        let builtins = builtins.join(", ");
        let proxy = Proxy::new(
            config.builtins,
            config.routing,
            &ProxySettings {
                connect_timeout: config.upstream_connect_timeout,
            },
        );
        // A child: stopping or dropping the front must not cancel a token the caller shares.
        let shutdown = config.shutdown.child_token();
        let server = Server {
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            proxy: Arc::new(proxy),
            shutdown: shutdown.clone(),
            handshake_timeout: config.handshake_timeout,
            shutdown_timeout: config.shutdown_timeout,
        };
        tracing::info!(
            "robot emulator front listening on {local_addr} (TLS, HTTP/2); built-in authorities: \
             {builtins}"
        );
        let task = tokio::spawn(server.run(listener));
        Ok(RunningFront {
            local_addr,
            ca: config.ca,
            shutdown,
            task,
        })
    }

    /// Binds and serves in a background task until stopped.
    pub async fn start(config: FrontConfig) -> Result<RunningFront, FrontError> {
        Self::bind(config).await?.spawn()
    }
}

/// A serving front. Dropping it stops it (without waiting); [`RunningFront::stop`] stops it and
/// waits.
#[derive(Debug)]
pub struct RunningFront {
    local_addr: SocketAddr,
    ca: Arc<EmulatorCa>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl RunningFront {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The CA its certificates come from.
    pub fn ca(&self) -> &Arc<EmulatorCa> {
        &self.ca
    }

    /// The token that stops it when cancelled (a child of the one given to
    /// [`FrontConfig::shutdown_token`], if any).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Starts stopping: no new connections; calls in flight get the configured shutdown
    /// timeout to finish, then their connections are closed.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Whether it has stopped.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops it and waits until it has (at most about the shutdown timeout).
    pub async fn stop(mut self) {
        self.shutdown();
        self.wait_task().await;
    }

    /// Waits until it has stopped (after [`RunningFront::shutdown`], or the cancellation of its
    /// [`shutdown_token`](RunningFront::shutdown_token)), without stopping it.
    pub async fn wait(mut self) {
        self.wait_task().await;
    }

    async fn wait_task(&mut self) {
        if let Err(e) = (&mut self.task).await
            && e.is_panic()
        {
            tracing::error!("the robot emulator front panicked: {e}");
        }
    }
}

impl Drop for RunningFront {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The accept loop and what each connection needs.
struct Server {
    acceptor: TlsAcceptor,
    proxy: Arc<Proxy>,
    shutdown: CancellationToken,
    handshake_timeout: Duration,
    shutdown_timeout: Duration,
}

impl Server {
    async fn run(self, listener: TcpListener) {
        let server = Arc::new(self);
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = server.shutdown.cancelled() => break,
                Some(done) = connections.join_next(), if !connections.is_empty() => {
                    if let Err(e) = done && e.is_panic() {
                        tracing::error!("a connection task of the emulator front panicked: {e}");
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        connections.spawn(server.clone().connection(tcp, peer));
                    }
                    Err(e) => {
                        tracing::warn!("the emulator front cannot accept a connection: {e}");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                },
            }
        }
        drop(listener);
        let open = connections.len();
        if open > 0 {
            tracing::info!(
                "robot emulator front stopping: closing {open} connection(s), waiting at most {:?} \
                 for calls in flight",
                server.shutdown_timeout
            );
        }
        let drained = tokio::time::timeout(server.shutdown_timeout, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "robot emulator front: {} connection(s) still busy after {:?}; closing them",
                connections.len(),
                server.shutdown_timeout
            );
            connections.shutdown().await;
        }
        tracing::info!("robot emulator front stopped");
    }

    /// One client connection: the TLS handshake, then HTTP/2 until the client leaves or the
    /// front stops.
    async fn connection(self: Arc<Self>, tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let handshake = tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(tcp));
        let tls = tokio::select! {
            () = self.shutdown.cancelled() => return,
            handshake = handshake => match handshake {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!("TLS handshake with {peer} failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::info!(
                        "TLS handshake with {peer} did not complete within {:?}",
                        self.handshake_timeout
                    );
                    return;
                }
            },
        };
        let sni: Option<Arc<str>> = tls.get_ref().1.server_name().map(Arc::from);
        tracing::debug!(
            "TLS connection from {peer} for {}",
            sni.as_deref().unwrap_or("<no SNI>")
        );

        let proxy = self.proxy.clone();
        let service = hyper::service::service_fn(move |request| {
            let (proxy, sni) = (proxy.clone(), sni.clone());
            async move { proxy.handle(request, sni.as_deref()).await }
        });
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .keep_alive_interval(KEEP_ALIVE_INTERVAL);
        let connection = builder.serve_connection(TokioIo::new(tls), service);
        tokio::pin!(connection);
        let served = tokio::select! {
            served = connection.as_mut() => served,
            () = self.shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = served {
            tracing::debug!("HTTP/2 connection from {peer} ended: {e}");
        }
    }
}
