//! One TLS channel per authority, all to the robot's address.

use std::collections::HashMap;
use std::error::Error as _;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use tonic::body::Body;
use tonic::codegen::http::{self, HeaderMap, HeaderValue, Uri};
use tonic::codegen::{Service, StdError};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Status, TimeoutExpired};

use super::proxy_error::{ProxyError, chain_text, classify_connect_error};
use super::tls::TrustAnchors;
use super::token::AuthInterceptor;
use super::{RobotConfig, RobotError};

/// The domain a bare label is expanded into (`announce-service` → `announce-service.spot.robot`).
pub const AUTHORITY_DOMAIN: &str = "spot.robot";

/// Interval of HTTP/2 keep-alive pings while calls are in flight (the official SDK's 5 s).
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// The metadata key of a call's deadline.
const GRPC_TIMEOUT: &str = "grpc-timeout";
const GRPC_STATUS: &str = "grpc-status";
const GRPC_MESSAGE: &str = "grpc-message";

/// The authority a service is reached at, in canonical form: trimmed, lower-case, and a bare
/// label (no dot) expanded to `<label>.spot.robot`, as the directory does
/// (`directory.proto`: "a bare label such as `remote-mission` is expanded").
///
/// ```
/// use spot_service::robot::normalize_authority;
/// assert_eq!(normalize_authority("announce-service"), "announce-service.spot.robot");
/// assert_eq!(normalize_authority("API.spot.robot"), "api.spot.robot");
/// ```
pub fn normalize_authority(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if authority.is_empty() || authority.contains('.') {
        authority
    } else {
        format!("{authority}.{AUTHORITY_DOMAIN}")
    }
}

/// Checks that a normalized authority can be a TLS server name and an `:authority`: a DNS name,
/// without port, scheme or path.
fn validate_authority(original: &str, authority: &str) -> Result<Uri, RobotError> {
    let invalid = |reason: &str| RobotError::InvalidAuthority {
        authority: original.to_owned(),
        reason: reason.to_owned(),
    };
    if authority.is_empty() {
        return Err(invalid("it is empty"));
    }
    if authority.contains(':') || authority.contains('/') {
        return Err(invalid(
            "give a bare name such as `api.spot.robot`, without scheme, port or path",
        ));
    }
    if rustls::pki_types::DnsName::try_from(authority).is_err() {
        return Err(invalid("it is not a valid DNS name"));
    }
    if authority.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(invalid(
            "it is an IP address; an authority names a service, e.g. `api.spot.robot`",
        ));
    }
    format!("https://{authority}")
        .parse()
        .map_err(|_| invalid("it is not a valid URI authority"))
}

type Connecting = Shared<BoxFuture<'static, Result<Channel, ProxyError>>>;

/// What the pool needs to open channels.
pub(crate) struct PoolSettings {
    /// `https://<robot host>:<port>`: where every channel connects.
    pub(crate) robot_uri: Uri,
    /// `<robot host>:<port>`, for messages.
    pub(crate) robot_address: String,
    pub(crate) trust: TrustAnchors,
    pub(crate) connect_timeout: Duration,
    pub(crate) call_timeout: Duration,
}

impl PoolSettings {
    pub(crate) fn new(config: &RobotConfig, trust: TrustAnchors) -> Result<Self, RobotError> {
        let robot_address = config.address();
        let robot_uri =
            format!("https://{robot_address}")
                .parse()
                .map_err(|e| RobotError::InvalidAddress {
                    address: robot_address.clone(),
                    reason: format!("not usable in a URI: {e}"),
                })?;
        Ok(Self {
            robot_uri,
            robot_address,
            trust,
            connect_timeout: config.connect_timeout(),
            call_timeout: config.call_timeout(),
        })
    }
}

/// The channels to one robot: one [`tonic::transport::Channel`] per authority, created on first
/// use and cached.
///
/// Every channel connects to the robot's address (e.g. `192.168.80.3:443`) over TLS with ALPN
/// `h2`; its TLS server name (SNI and the name the certificate must be valid for) and the
/// `:authority` of its calls are the authority (e.g. `id.spot.robot`), which is how the robot's
/// proxy routes calls. tonic has no per-call authority override, hence one channel per authority.
///
/// Thread-safe: concurrent first uses of an authority share one connection attempt. A failed
/// attempt is not cached; the next use tries again. Once connected, a channel reconnects by
/// itself when its connection drops.
///
/// Two ways to get a channel:
///
/// - [`get`](Self::get) connects eagerly: it returns a channel only once the robot answered the
///   TLS handshake, and an error ([`RobotError::Connect`]) while the robot is unreachable.
/// - [`get_lazy`](Self::get_lazy) does no network I/O: it returns at once a channel that
///   connects on its first call, and reconnects on a later call after the connection dropped (or
///   could not be made). While the robot is down, each call fails with a status that
///   [`classify_status`](super::classify_status) reports as
///   [`ProxyError::Unreachable`] (or a TLS variant). Use it for clients created before the robot
///   is up, e.g. the directory keep-alive of a service started while the robot boots.
///
/// Both are cached per authority. A lazy request reuses the eagerly connected channel of the
/// authority if there is one; otherwise it gets the authority's cached lazy channel, created on
/// first request. An eager request never returns a lazy channel (its connection is not known to
/// be up), so it connects a channel of its own, which later lazy requests then share.
pub struct ChannelPool {
    settings: PoolSettings,
    channels: Mutex<HashMap<String, Connecting>>,
    /// The lazily-connecting channels, by normalized authority.
    lazy: Mutex<HashMap<String, Channel>>,
}

impl fmt::Debug for ChannelPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelPool")
            .field("robot", &self.settings.robot_address)
            .field("authorities", &self.authorities())
            .field("lazy_authorities", &self.lazy_authorities())
            .finish_non_exhaustive()
    }
}

impl ChannelPool {
    pub(crate) fn new(settings: PoolSettings) -> Self {
        Self {
            settings,
            channels: Mutex::new(HashMap::new()),
            lazy: Mutex::new(HashMap::new()),
        }
    }

    /// The channel for `authority` (normalized with [`normalize_authority`]), connecting it on
    /// first use. The connection (TCP and TLS) must be up within the configured connect timeout.
    pub async fn get(&self, authority: &str) -> Result<RobotChannel, RobotError> {
        let normalized = normalize_authority(authority);
        let origin = validate_authority(authority, &normalized)?;
        let connecting = {
            let mut channels = self.lock();
            channels
                .entry(normalized.clone())
                .or_insert_with(|| self.connect(&normalized, origin))
                .clone()
        };
        match connecting.clone().await {
            Ok(channel) => Ok(self.robot_channel(channel, normalized)),
            Err(cause) => {
                // Forget the failed attempt (unless another caller already replaced it).
                let mut channels = self.lock();
                if channels
                    .get(&normalized)
                    .is_some_and(|current| current.ptr_eq(&connecting))
                {
                    channels.remove(&normalized);
                }
                Err(RobotError::Connect {
                    authority: normalized,
                    address: self.settings.robot_address.clone(),
                    cause,
                })
            }
        }
    }

    /// The channel for `authority` (normalized with [`normalize_authority`]), connecting lazily:
    /// no network I/O happens here. The channel connects (TCP, then TLS within the configured
    /// connect timeout each) on its first call, and again on a later call once the connection
    /// dropped or could not be made. While the robot is unreachable, calls fail with
    /// `UNAVAILABLE`, which [`classify_status`](super::classify_status) reports as
    /// [`ProxyError::Unreachable`] (or a TLS variant if the robot answers with an unacceptable
    /// certificate).
    ///
    /// Returns the authority's eagerly connected channel if [`get`](Self::get) made one, else its
    /// cached lazy channel, created on first request (see the [type's documentation](Self)).
    ///
    /// Must be called within a Tokio runtime (the channel's worker task runs in it); outside one
    /// it returns [`RobotError::NoRuntime`]. Also fails for an invalid authority
    /// ([`RobotError::InvalidAuthority`]) or an unusable TLS configuration
    /// ([`RobotError::Connect`]).
    pub fn get_lazy(&self, authority: &str) -> Result<RobotChannel, RobotError> {
        let normalized = normalize_authority(authority);
        let origin = validate_authority(authority, &normalized)?;
        let connected =
            self.lock()
                .get(&normalized)
                .and_then(|connecting| match connecting.peek() {
                    Some(Ok(channel)) => Some(channel.clone()),
                    _ => None,
                });
        if let Some(channel) = connected {
            return Ok(self.robot_channel(channel, normalized));
        }
        let channel = {
            let mut lazy = self.lock_lazy();
            match lazy.get(&normalized) {
                Some(channel) => channel.clone(),
                None => {
                    if tokio::runtime::Handle::try_current().is_err() {
                        return Err(RobotError::NoRuntime);
                    }
                    let endpoint = self.endpoint(&normalized, origin).map_err(|cause| {
                        RobotError::Connect {
                            authority: normalized.clone(),
                            address: self.settings.robot_address.clone(),
                            cause,
                        }
                    })?;
                    let channel = endpoint.connect_lazy();
                    lazy.insert(normalized.clone(), channel.clone());
                    channel
                }
            }
        };
        Ok(self.robot_channel(channel, normalized))
    }

    /// The endpoint every channel for `authority` connects through: the robot's address, with
    /// `authority` as TLS server name and as the `:authority` of calls (`origin`).
    fn endpoint(&self, authority: &str, origin: Uri) -> Result<Endpoint, ProxyError> {
        let settings = &self.settings;
        Endpoint::from(settings.robot_uri.clone())
            .origin(origin)
            .connect_timeout(settings.connect_timeout)
            .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .user_agent(concat!("spot-service/", env!("CARGO_PKG_VERSION")))
            .and_then(|endpoint| {
                endpoint.tls_config(
                    settings
                        .trust
                        .client_config(authority, settings.connect_timeout),
                )
            })
            .map_err(|e| ProxyError::TlsHandshake {
                detail: chain_text(&e),
            })
    }

    fn robot_channel(&self, channel: Channel, authority: String) -> RobotChannel {
        RobotChannel {
            channel,
            authority: authority.into(),
            call_timeout: self.settings.call_timeout,
        }
    }

    /// Starts connecting a channel for `authority` in a task of its own, so that it completes
    /// even if the callers waiting for it give up.
    fn connect(&self, authority: &str, origin: Uri) -> Connecting {
        let endpoint = self.endpoint(authority, origin);
        let timeout = self.settings.connect_timeout;
        let authority = authority.to_owned();
        let task = tokio::spawn(async move {
            let endpoint = endpoint?;
            match tokio::time::timeout(timeout, endpoint.connect()).await {
                Ok(Ok(channel)) => Ok(channel),
                Ok(Err(e)) => Err(classify_connect_error(&e).with_authority(&authority)),
                Err(_) => Err(ProxyError::Unreachable {
                    detail: format!("no TLS connection within the connect timeout ({timeout:?})"),
                }),
            }
        });
        async move {
            task.await.unwrap_or_else(|e| {
                Err(ProxyError::Unreachable {
                    detail: format!("the connect task failed: {e}"),
                })
            })
        }
        .boxed()
        .shared()
    }

    /// The authorities with a connected channel, sorted.
    pub fn authorities(&self) -> Vec<String> {
        let mut authorities: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, channel)| matches!(channel.peek(), Some(Ok(_))))
            .map(|(authority, _)| authority.clone())
            .collect();
        authorities.sort();
        authorities
    }

    /// The authorities with a cached lazily-connecting channel (see
    /// [`get_lazy`](Self::get_lazy)), sorted, whether or not it has connected yet.
    pub fn lazy_authorities(&self) -> Vec<String> {
        let mut authorities: Vec<String> = self.lock_lazy().keys().cloned().collect();
        authorities.sort();
        authorities
    }

    /// How many authorities have a connected channel.
    pub fn len(&self) -> usize {
        self.authorities().len()
    }

    /// Whether no channel is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the cached channels of `authority` (normalized), eager and lazy, if any: the next use
    /// connects anew (e.g. after the robot's certificate changed). Clones of the old channels
    /// keep working. Returns whether there was one.
    pub fn forget(&self, authority: &str) -> bool {
        let authority = normalize_authority(authority);
        let eager = self.lock().remove(&authority).is_some();
        let lazy = self.lock_lazy().remove(&authority).is_some();
        eager || lazy
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Connecting>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_lazy(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.lazy.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A channel to one authority of the robot, with a deadline on every call: connected
/// ([`ChannelPool::get`]) or connecting on first use ([`ChannelPool::get_lazy`]).
///
/// Use it like a [`Channel`] (it is cheap to clone, and every generated client accepts it), or
/// wrapped with an [`AuthInterceptor`] ([`AuthenticatedChannel`]). Set the message size limits
/// on the client: `.max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)` and
/// `.max_encoding_message_size(…)`.
///
/// Deadlines: a call without a `grpc-timeout` gets the configured call timeout (sent as
/// `grpc-timeout`, so the robot and the service know it too); set another one per call with
/// [`tonic::Request::set_timeout`]. A call still unanswered at its deadline fails with
/// `DEADLINE_EXCEEDED`, as gRPC specifies (plain tonic reports `CANCELLED` "Timeout expired",
/// from its own timer or from a tonic server's; past the deadline, both are rewritten). The
/// deadline covers the wait for the response headers, as tonic's own timeouts do.
#[derive(Clone)]
pub struct RobotChannel {
    channel: Channel,
    authority: Arc<str>,
    call_timeout: Duration,
}

impl fmt::Debug for RobotChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RobotChannel")
            .field("authority", &self.authority)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

/// A [`RobotChannel`] whose calls carry the bearer token.
pub type AuthenticatedChannel = InterceptedService<RobotChannel, AuthInterceptor>;

impl RobotChannel {
    /// The authority its calls go to (normalized).
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The deadline of calls that set none.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// The same channel with another default deadline.
    #[must_use]
    pub fn with_call_timeout(mut self, call_timeout: Duration) -> Self {
        self.call_timeout = call_timeout;
        self
    }

    /// The underlying tonic channel (no default deadline, no `DEADLINE_EXCEEDED` mapping).
    pub fn inner(&self) -> &Channel {
        &self.channel
    }

    /// Unwraps the tonic channel.
    pub fn into_inner(self) -> Channel {
        self.channel
    }
}

impl Service<http::Request<Body>> for RobotChannel {
    type Response = http::Response<Body>;
    type Error = StdError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::poll_ready(&mut self.channel, cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let deadline = match parse_grpc_timeout(request.headers()) {
            Some(deadline) => deadline,
            None => {
                if let Some(value) = grpc_timeout_value(self.call_timeout) {
                    request.headers_mut().insert(GRPC_TIMEOUT, value);
                }
                self.call_timeout
            }
        };
        let authority = self.authority.clone();
        let started = Instant::now();
        let call = Service::call(&mut self.channel, request);
        Box::pin(async move {
            let message =
                || format!("no answer from {authority} within the call's deadline ({deadline:?})");
            let exceeded = || -> StdError { Box::new(Status::deadline_exceeded(message())) };
            match tokio::time::timeout(deadline, call).await {
                Ok(Ok(mut response)) => {
                    if started.elapsed() >= deadline {
                        expired_cancel_to_deadline_exceeded(&mut response, &message());
                    }
                    Ok(response)
                }
                Ok(Err(e)) if has_timeout_expired(&e) => Err(exceeded()),
                Ok(Err(e)) => Err(e.into()),
                Err(_) => Err(exceeded()),
            }
        })
    }
}

/// A tonic server (or a proxy in front of one) reports a call whose `grpc-timeout` expired as
/// `CANCELLED` "Timeout expired"; gRPC's code for it is `DEADLINE_EXCEEDED`. Such an answer can
/// beat the client's own timer by a hair, so once the deadline has passed, rewrite it (a
/// trailers-only response: the status is in the headers).
fn expired_cancel_to_deadline_exceeded(response: &mut http::Response<Body>, message: &str) {
    let headers = response.headers_mut();
    let cancelled = headers
        .get(GRPC_STATUS)
        .is_some_and(|status| status.as_bytes() == b"1");
    if cancelled && let Ok(message) = HeaderValue::from_str(message) {
        headers.insert(GRPC_STATUS, HeaderValue::from_static("4"));
        headers.insert(GRPC_MESSAGE, message);
    }
}

/// Whether tonic's own timeout (`TimeoutExpired`) is in the chain of causes.
fn has_timeout_expired(err: &tonic::transport::Error) -> bool {
    let mut current = err.source();
    while let Some(err) = current {
        if err.is::<TimeoutExpired>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// The `grpc-timeout` header of a request, if present and valid.
fn parse_grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(GRPC_TIMEOUT)?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// `duration` as a `grpc-timeout` value: at most 8 digits, in the finest unit that fits,
/// rounded up.
fn grpc_timeout_value(duration: Duration) -> Option<HeaderValue> {
    const UNITS: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    let nanos = duration.as_nanos();
    UNITS.iter().find_map(|&(unit_nanos, unit)| {
        let amount = nanos.div_ceil(unit_nanos);
        (amount <= 99_999_999)
            .then(|| HeaderValue::from_str(&format!("{amount}{unit}")).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_labels_are_expanded() {
        assert_eq!(
            normalize_authority("announce-service"),
            "announce-service.spot.robot"
        );
        assert_eq!(
            normalize_authority("remote-mission"),
            "remote-mission.spot.robot"
        );
        assert_eq!(normalize_authority("id.spot.robot"), "id.spot.robot");
        assert_eq!(normalize_authority("  Auth.Spot.Robot "), "auth.spot.robot");
        assert_eq!(
            normalize_authority("camera.example.com"),
            "camera.example.com"
        );
        assert_eq!(normalize_authority(""), "");
    }

    #[test]
    fn invalid_authorities_are_rejected() {
        for bad in [
            "",
            "api.spot.robot:443",
            "https://api.spot.robot",
            "api.spot.robot/x",
            "bad_name!.spot.robot",
            "10.0.0.3",
        ] {
            let normalized = normalize_authority(bad);
            let err = validate_authority(bad, &normalized).expect_err(bad);
            assert!(
                matches!(&err, RobotError::InvalidAuthority { authority, .. } if authority == bad),
                "{err:?}"
            );
        }
        let origin = validate_authority("id", &normalize_authority("id")).expect("valid");
        assert_eq!(origin.to_string(), "https://id.spot.robot/");
    }

    #[test]
    fn expired_cancellations_become_deadline_exceeded() {
        let response = |status: &'static str| {
            http::Response::builder()
                .header(GRPC_STATUS, status)
                .header(GRPC_MESSAGE, "Timeout expired")
                .body(Body::empty())
                .expect("response")
        };
        let mut cancelled = response("1");
        expired_cancel_to_deadline_exceeded(&mut cancelled, "no answer within 1s");
        let status = Status::from_header_map(cancelled.headers()).expect("status");
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        assert_eq!(status.message(), "no answer within 1s");

        let mut other = response("13");
        expired_cancel_to_deadline_exceeded(&mut other, "no answer within 1s");
        let status = Status::from_header_map(other.headers()).expect("status");
        assert_eq!(status.code(), tonic::Code::Internal);
    }

    /// A pool for a robot at `127.0.0.1:<port>`, trusting the built-in root CA.
    fn loopback_pool(port: u16) -> ChannelPool {
        let config = RobotConfig::builder("127.0.0.1")
            .port(port)
            .connect_timeout(Duration::from_secs(2))
            .call_timeout(Duration::from_secs(5))
            .build()
            .expect("config");
        let trust = config.trust().load().expect("built-in root");
        ChannelPool::new(PoolSettings::new(&config, trust).expect("settings"))
    }

    /// A loopback port nothing listens on (bound, then released).
    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    }

    #[tokio::test]
    async fn lazy_channels_to_a_down_robot_fail_calls_as_unreachable() {
        use crate::proto::bosdyn::api::RobotIdRequest;
        use crate::proto::bosdyn::api::robot_id_service_client::RobotIdServiceClient;

        let pool = loopback_pool(free_port());
        let channel = pool.get_lazy("id").expect("no network needed");
        assert_eq!(channel.authority(), "id.spot.robot");
        assert_eq!(pool.lazy_authorities(), ["id.spot.robot"]);
        assert!(
            pool.is_empty(),
            "a lazy channel is not known to be connected"
        );

        let mut client = RobotIdServiceClient::new(channel);
        for _ in 0..2 {
            // Each call tries to connect again, and fails the same way.
            let status = tokio::time::timeout(
                Duration::from_secs(10),
                client.get_robot_id(RobotIdRequest::default()),
            )
            .await
            .expect("bounded by the connect timeout")
            .expect_err("nothing listens");
            let classified = super::super::classify_status(&status);
            assert!(
                matches!(classified, ProxyError::Unreachable { .. }),
                "{status:?} → {classified:?}"
            );
        }

        // The eager way still reports the robot unreachable at once.
        let err = pool.get("id.spot.robot").await.expect_err("down");
        assert!(
            matches!(err.proxy_error(), Some(ProxyError::Unreachable { .. })),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn lazy_channels_are_cached_and_forgotten() {
        let pool = loopback_pool(free_port());
        pool.get_lazy("api.spot.robot").expect("lazy");
        pool.get_lazy("API.spot.robot").expect("lazy");
        pool.get_lazy("id").expect("lazy");
        assert_eq!(pool.lazy_authorities(), ["api.spot.robot", "id.spot.robot"]);
        assert!(pool.forget("api"));
        assert!(!pool.forget("api"));
        assert_eq!(pool.lazy_authorities(), ["id.spot.robot"]);
        let err = pool.get_lazy("api.spot.robot:443").expect_err("invalid");
        assert!(
            matches!(err, RobotError::InvalidAuthority { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn lazy_channels_need_a_runtime() {
        let pool = loopback_pool(free_port());
        let err = pool.get_lazy("id").expect_err("no runtime");
        assert!(matches!(err, RobotError::NoRuntime), "{err:?}");
        assert!(pool.lazy_authorities().is_empty());
    }

    #[test]
    fn grpc_timeout_round_trips() {
        for (duration, text) in [
            (Duration::from_secs(30), "30000000u"),
            (Duration::from_millis(200), "200000u"),
            (Duration::from_nanos(1500), "1500n"),
            (Duration::from_secs(3600), "3600000m"),
            (Duration::from_secs(200_000), "200000S"),
        ] {
            let value = grpc_timeout_value(duration).expect("fits");
            assert_eq!(value.to_str().expect("ascii"), text, "{duration:?}");
            let mut headers = HeaderMap::new();
            headers.insert(GRPC_TIMEOUT, value);
            assert_eq!(parse_grpc_timeout(&headers), Some(duration));
        }
        let mut headers = HeaderMap::new();
        headers.insert(GRPC_TIMEOUT, HeaderValue::from_static("5X"));
        assert_eq!(parse_grpc_timeout(&headers), None);
    }
}
