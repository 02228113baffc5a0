//! Hosts spot-service services on one `host:port` over plain HTTP/2 (h2c), as the robot's proxy
//! expects, with health, reflection and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;
use tonic::codegen::Service;
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::ServiceRoutes;
use crate::connection::CuttableConnection;
use crate::directory::{
    DirectoryKeepAlive, DirectoryRegistrationClient, KeepAliveConfig, RegistrationStatus,
    ServiceRegistration,
};
use crate::proto::bosdyn::api::fault_service_client::FaultServiceClient;
use crate::service::{ServiceMetadata, SpotService};
use crate::shutdown::shutdown_signal;
use tokio::sync::watch;

/// Errors from building or running a [`ServiceRunner`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The `host:port` that was asked for.
        address: String,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// Signal handlers could not be installed.
    #[error("cannot install shutdown signal handlers: {0}")]
    Signals(std::io::Error),
    /// Reflection could not be set up from the registered descriptor sets.
    #[cfg(feature = "reflection")]
    #[error("invalid file descriptor set for reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

type ShutdownHook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Name of the standard health service every runner hosts (advertised by reflection).
#[cfg(feature = "reflection")]
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";
/// Name of the reflection service hosted with the `reflection` feature.
#[cfg(feature = "reflection")]
const REFLECTION_SERVICE: &str = "grpc.reflection.v1.ServerReflection";

/// Idle time before TCP keep-alive probes start on an accepted connection.
const TCP_KEEPALIVE: Duration = Duration::from_secs(5);

/// Default time allowed for in-flight calls to finish once shutdown starts (the official runner
/// allows 3 s).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Default time allowed for each shutdown hook.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Builder for a [`ServiceRunner`]; created with [`ServiceRunner::builder`].
#[must_use]
pub struct ServiceRunnerBuilder {
    host: String,
    port: u16,
    routes: ServiceRoutes,
    services: Vec<ServiceMetadata>,
    service_grpc_names: Vec<&'static str>,
    health_names: Vec<&'static str>,
    descriptor_sets: Vec<&'static [u8]>,
    drain_timeout: Duration,
    hook_timeout: Duration,
    hooks: Vec<ShutdownHook>,
}

impl std::fmt::Debug for ServiceRunnerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRunnerBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("services", &self.services)
            .field("drain_timeout", &self.drain_timeout)
            .field("hooks", &self.hooks.len())
            .finish_non_exhaustive()
    }
}

impl ServiceRunnerBuilder {
    /// Interface to listen on (default `0.0.0.0`, all IPv4 interfaces; `::` for IPv6 too).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Port to listen on (default 0: the system picks a free port, see
    /// [`ServiceRunner::local_addr`]).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Hosts a spot-service service (one made with `#[spot_service]` or another service macro).
    pub fn add_service<S: SpotService>(mut self, service: S) -> Self {
        self.services.push(S::METADATA);
        self.service_grpc_names.push(S::GRPC_NAME);
        self.health_names.push(S::GRPC_NAME);
        service.add_to_routes(&mut self.routes);
        self
    }

    /// Hosts any tonic service as is, without Spot header handling (e.g. a standard service).
    pub fn add_tonic_service<S>(mut self, service: S) -> Self
    where
        S: Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.health_names.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Adds an encoded `FileDescriptorSet` to what gRPC reflection serves (the bosdyn API is
    /// always included). `spot-service-build` writes one for your own protos: pass
    /// `tonic::include_file_descriptor_set!("spot_descriptor_set")`. Without the `reflection`
    /// feature this does nothing.
    pub fn reflection_descriptor_set(mut self, encoded: &'static [u8]) -> Self {
        self.descriptor_sets.push(encoded);
        self
    }

    /// Time allowed for in-flight calls once shutdown starts; calls still running after it are
    /// dropped so shutdown never hangs (default 3 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Time allowed for each shutdown hook (default 10 s).
    pub fn hook_timeout(mut self, timeout: Duration) -> Self {
        self.hook_timeout = timeout;
        self
    }

    /// Runs `hook` when shutdown starts, before the server stops accepting calls (hooks run in
    /// the order added). Typical use: unregister from the robot's directory.
    pub fn on_shutdown<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.push(Box::new(move || Box::pin(hook())));
        self
    }

    /// Binds the listen address and returns the runner, ready to serve.
    pub async fn build(self) -> Result<ServiceRunner, RunnerError> {
        let address = format_address(&self.host, self.port);
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|source| RunnerError::Bind {
                address: address.clone(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| RunnerError::Bind {
            address: address.clone(),
            source,
        })?;

        let mut routes = self.routes;
        let (health_reporter, health_service) = tonic_health::server::health_reporter();
        health_reporter
            .set_service_status("", ServingStatus::Serving)
            .await;
        for name in &self.health_names {
            health_reporter
                .set_service_status(*name, ServingStatus::Serving)
                .await;
        }
        routes.add_service(health_service);

        #[cfg(feature = "reflection")]
        {
            // Advertise only what is hosted, not every service of the registered files.
            let mut builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name(HEALTH_SERVICE)
                .with_service_name(REFLECTION_SERVICE);
            for set in &self.descriptor_sets {
                builder = builder.register_encoded_file_descriptor_set(set);
            }
            for name in &self.health_names {
                builder = builder.with_service_name(*name);
            }
            routes.add_service(builder.build_v1()?);
        }

        #[cfg(not(feature = "reflection"))]
        let _ = &self.descriptor_sets;

        tracing::info!(
            address = %local_addr,
            services = ?self.services.iter().map(|s| s.service_type).collect::<Vec<_>>(),
            "listening (h2c)"
        );
        Ok(ServiceRunner {
            listener,
            local_addr,
            routes,
            services: self.services,
            service_grpc_names: self.service_grpc_names,
            health_names: self.health_names,
            health_reporter,
            shutdown: CancellationToken::new(),
            drain_timeout: self.drain_timeout,
            hook_timeout: self.hook_timeout,
            hooks: self.hooks,
        })
    }
}

fn format_address(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Hosts services on one listen address; see [`ServiceRunner::builder`].
///
/// ```no_run
/// # async fn f(my_service: impl spot_service::SpotService) -> Result<(), spot_service::RunnerError> {
/// let runner = spot_service::ServiceRunner::builder()
///     .port(50051)
///     .add_service(my_service)
///     .build()
///     .await?;
/// println!("serving on {}", runner.local_addr());
/// runner.run().await // until SIGINT, SIGTERM or SIGQUIT
/// # }
/// ```
pub struct ServiceRunner {
    listener: TcpListener,
    local_addr: SocketAddr,
    routes: ServiceRoutes,
    services: Vec<ServiceMetadata>,
    service_grpc_names: Vec<&'static str>,
    health_names: Vec<&'static str>,
    health_reporter: HealthReporter,
    shutdown: CancellationToken,
    drain_timeout: Duration,
    hook_timeout: Duration,
    hooks: Vec<ShutdownHook>,
}

impl std::fmt::Debug for ServiceRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRunner")
            .field("local_addr", &self.local_addr)
            .field("services", &self.services)
            .field("drain_timeout", &self.drain_timeout)
            .finish_non_exhaustive()
    }
}

/// Starts a runner's shutdown from anywhere (cloneable).
#[derive(Debug, Clone)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    /// Starts shutdown: hooks run, in-flight calls drain, the server stops.
    pub fn shutdown(&self) {
        self.0.cancel();
    }

    /// Whether shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.0.is_cancelled()
    }
}

impl ServiceRunner {
    /// Starts configuring a runner.
    pub fn builder() -> ServiceRunnerBuilder {
        ServiceRunnerBuilder {
            host: "0.0.0.0".to_owned(),
            port: 0,
            routes: ServiceRoutes::default(),
            services: Vec::new(),
            service_grpc_names: Vec::new(),
            health_names: Vec::new(),
            descriptor_sets: Vec::new(),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            hook_timeout: DEFAULT_HOOK_TIMEOUT,
            hooks: Vec::new(),
        }
    }

    /// The address actually bound (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The metadata of the hosted spot-service services.
    pub fn services(&self) -> &[ServiceMetadata] {
        &self.services
    }

    /// The health reporter (grpc.health.v1) of this server; every service starts SERVING.
    pub fn health_reporter(&self) -> HealthReporter {
        self.health_reporter.clone()
    }

    /// Runs `hook` when shutdown starts, before the server stops accepting calls, after the hooks
    /// given to the builder. Use it for what needs the bound port (known only after `build`).
    pub fn on_shutdown<F, Fut>(&mut self, hook: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.hooks.push(Box::new(move || Box::pin(hook())));
    }

    /// Registers every hosted Spot service in the robot's directory at `host_ip` and this
    /// runner's port, and keeps it registered with a [`DirectoryKeepAlive`] per service (see
    /// there: reset at start, periodic re-registration, recovery, faults). Each service's health
    /// follows its registration (NOT_SERVING until registered), and at shutdown every service is
    /// unregistered before the server stops. Returns each service's registration status, in the
    /// order the services were added.
    pub fn keep_registered<T>(
        &mut self,
        client: DirectoryRegistrationClient<T>,
        fault_client: Option<FaultServiceClient<T>>,
        host_ip: impl Into<String>,
        config: KeepAliveConfig,
    ) -> Vec<watch::Receiver<RegistrationStatus>>
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Clone + Send + 'static,
        T::Error: Into<tonic::codegen::StdError>,
        T::Future: Send,
        T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
        <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
    {
        let host_ip = host_ip.into();
        let port = self.local_addr.port();
        let mut keepalives = Vec::new();
        let mut statuses = Vec::new();
        for (metadata, grpc_name) in self.services.iter().zip(&self.service_grpc_names) {
            let registration = ServiceRegistration::from_metadata(*metadata, host_ip.clone(), port);
            let keepalive = DirectoryKeepAlive::spawn(
                client.clone(),
                fault_client.clone(),
                registration,
                config,
            );
            keepalive.report_health(self.health_reporter.clone(), *grpc_name);
            statuses.push(keepalive.status());
            keepalives.push(keepalive);
        }
        self.on_shutdown(move || async move {
            // All at once: one slow unregistration must not use up the others' time.
            let results = futures_util::future::join_all(
                keepalives.into_iter().map(DirectoryKeepAlive::shutdown),
            )
            .await;
            for error in results.into_iter().filter_map(Result::err) {
                tracing::warn!(%error, "could not unregister from the robot's directory");
            }
        });
        statuses
    }

    /// [`keep_registered`](Self::keep_registered) through `robot`: its directory registration
    /// service, and its fault service for the registration faults. The channels connect on
    /// first use, so a robot that is still down is retried until it is up.
    ///
    /// # Errors
    ///
    /// A channel for the robot's services could not be built (an invalid robot address).
    pub fn keep_registered_with_robot(
        &mut self,
        robot: &crate::robot::Robot,
        host_ip: impl Into<String>,
        config: KeepAliveConfig,
    ) -> Result<Vec<watch::Receiver<RegistrationStatus>>, crate::robot::RobotError> {
        let directory = DirectoryRegistrationClient::new(
            robot.lazy_intercepted(crate::robot::DIRECTORY_REGISTRATION_AUTHORITY)?,
        );
        let faults =
            FaultServiceClient::new(robot.lazy_intercepted(crate::fault::FAULT_SERVICE_AUTHORITY)?);
        Ok(self.keep_registered(directory, Some(faults), host_ip, config))
    }

    /// A handle that starts shutdown when asked.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Serves until SIGINT, SIGTERM or SIGQUIT (or a [`ShutdownHandle`]), then shuts down
    /// gracefully.
    pub async fn run(self) -> Result<(), RunnerError> {
        let signal = shutdown_signal().map_err(RunnerError::Signals)?;
        self.run_until(async move {
            let signal = signal.await;
            tracing::info!(?signal, "shutdown requested");
        })
        .await
    }

    /// Serves until `stop` resolves (or a [`ShutdownHandle`] is used), then shuts down:
    /// health turns NOT_SERVING, shutdown hooks run, in-flight calls get the drain timeout to
    /// finish, and the server stops.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> Result<(), RunnerError> {
        let server_stop = CancellationToken::new();
        let cut_connections = CancellationToken::new();
        let cut = cut_connections.clone();
        // Dead peers (a robot that rebooted, a pulled cable) are found by TCP keep-alive, which
        // costs nothing per call; HTTP/2 PING keep-alive would put a timer and a lock on the
        // path of every frame.
        let incoming = TcpIncoming::from(self.listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(TCP_KEEPALIVE))
            // A child token per connection: each connection polls its own (uncontended) node.
            .map(move |accepted| {
                accepted.map(|tcp| CuttableConnection::new(tcp, cut.child_token()))
            });
        let mut server = tokio::spawn(crate::server::serve(
            incoming,
            self.routes,
            server_stop.clone(),
        ));

        tokio::select! {
            () = stop => {}
            () = self.shutdown.cancelled() => tracing::info!("shutdown requested"),
            result = &mut server => {
                // The server stops on its own only when the listener does (or on a panic).
                return match result {
                    Ok(()) => Ok(()),
                    Err(join) => std::panic::resume_unwind(join.into_panic()),
                };
            }
        }
        self.shutdown.cancel();

        for name in std::iter::once("").chain(self.health_names.iter().copied()) {
            self.health_reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        for hook in self.hooks {
            if tokio::time::timeout(self.hook_timeout, hook())
                .await
                .is_err()
            {
                tracing::warn!(timeout = ?self.hook_timeout, "a shutdown hook timed out");
            }
        }

        server_stop.cancel();
        match tokio::time::timeout(self.drain_timeout, &mut server).await {
            Ok(Ok(())) => {
                tracing::info!("server stopped");
                Ok(())
            }
            Ok(Err(join)) => std::panic::resume_unwind(join.into_panic()),
            Err(_) => {
                tracing::warn!(
                    timeout = ?self.drain_timeout,
                    "calls still in flight after the drain timeout; cutting their connections"
                );
                cut_connections.cancel();
                server.abort();
                Ok(())
            }
        }
    }
}
