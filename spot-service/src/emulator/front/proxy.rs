//! What the front does with one call: route it by authority to a built-in service, or forward it
//! to a registered service over h2c, or answer the robot proxy's errors.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, poll_fn};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::{Service, StdError};

use crate::emulator::routing::{Routing, ServiceRoute};
use crate::robot::normalize_authority;

/// A service hosted by the front itself at one authority (a built-in robot service): any
/// clonable tower [`Service`] taking [`http::Request<tonic::body::Body>`], such as the
/// [`tonic::service::Routes`] of one or several gRPC services.
///
/// Cheap to clone.
#[derive(Clone)]
pub struct BuiltinService {
    call: Arc<dyn Fn(Request<Body>) -> BoxFuture<'static, Response<Body>> + Send + Sync>,
}

impl fmt::Debug for BuiltinService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltinService").finish_non_exhaustive()
    }
}

impl BuiltinService {
    /// Wraps `service`; each call is made on a clone of it. An error it returns is answered as
    /// gRPC `INTERNAL`.
    pub fn new<S, B>(service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Error: Into<StdError>,
        S::Future: Send + 'static,
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<StdError>,
    {
        Self {
            call: Arc::new(move |request| {
                let mut service = service.clone();
                Box::pin(async move {
                    let failed = |e: S::Error| {
                        let e: StdError = e.into();
                        tracing::warn!("a built-in service failed: {e}");
                        Status::internal(format!("the emulated robot service failed: {e}"))
                            .into_http()
                    };
                    if let Err(e) = poll_fn(|cx| service.poll_ready(cx)).await {
                        return failed(e);
                    }
                    match service.call(request).await {
                        Ok(response) => response.map(Body::new),
                        Err(e) => failed(e),
                    }
                })
            }),
        }
    }

    /// Answers one request.
    pub async fn call(&self, request: Request<Body>) -> Response<Body> {
        (self.call)(request).await
    }
}

impl From<tonic::service::Routes> for BuiltinService {
    fn from(routes: tonic::service::Routes) -> Self {
        Self::new(routes)
    }
}

/// A built-in service and whether its calls need a valid user token.
#[derive(Debug, Clone)]
pub(super) struct Builtin {
    pub(super) service: BuiltinService,
    pub(super) token_required: bool,
}

/// How the front reaches registered services.
pub(super) struct ProxySettings {
    pub(super) connect_timeout: Duration,
}

/// Everything the per-call handler needs; shared by all connections.
pub(super) struct Proxy {
    builtins: HashMap<String, Builtin>,
    routing: Arc<dyn Routing>,
    client: Client<HttpConnector, Body>,
}

impl Proxy {
    pub(super) fn new(
        builtins: HashMap<String, Builtin>,
        routing: Arc<dyn Routing>,
        settings: &ProxySettings,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(settings.connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .http2_initial_stream_window_size(super::STREAM_WINDOW)
            .http2_initial_connection_window_size(super::CONNECTION_WINDOW)
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self {
            builtins,
            routing,
            client,
        }
    }

    /// Answers one call that arrived on a TLS connection whose SNI was `sni`.
    pub(super) async fn handle(
        &self,
        request: Request<Incoming>,
        sni: Option<&str>,
    ) -> Result<Response<Body>, Infallible> {
        let Some(authority) = request_authority(&request, sni) else {
            tracing::warn!(
                path = request.uri().path(),
                "a call without authority (neither :authority nor SNI): answering HTTP 502"
            );
            return Ok(bad_gateway());
        };
        let path = request.uri().path().to_owned();

        if let Some(builtin) = self.builtins.get(&authority) {
            if builtin.token_required
                && let Some(rejection) = self.check_token(&request, &authority, &path)
            {
                return Ok(rejection);
            }
            let response = builtin.service.call(request.map(Body::new)).await;
            tracing::debug!(
                authority,
                path,
                http_status = response.status().as_u16(),
                "built-in call answered"
            );
            return Ok(response);
        }

        let Some(route) = self.routing.route(&authority) else {
            tracing::warn!(
                authority,
                path,
                "no registered service for authority {authority}: answering HTTP 502"
            );
            return Ok(bad_gateway());
        };
        if route.user_token_required
            && let Some(rejection) = self.check_token(&request, &authority, &path)
        {
            return Ok(rejection);
        }
        Ok(self.forward(request, authority, path, &route).await)
    }

    /// `None` if the call carries `authorization: Bearer <valid token>`; otherwise the
    /// `UNAUTHENTICATED` answer.
    fn check_token(
        &self,
        request: &Request<Incoming>,
        authority: &str,
        path: &str,
    ) -> Option<Response<Body>> {
        let problem = match bearer_token(request.headers()) {
            None => "no `authorization: Bearer <token>` header",
            Some(token) if !self.routing.token_is_valid(token) => "the token is not valid",
            Some(_) => return None,
        };
        tracing::warn!(
            authority,
            path,
            "rejected a call to {authority}{path}: {problem} (answering UNAUTHENTICATED)"
        );
        Some(
            Status::unauthenticated(format!(
                "missing or invalid user token for {authority}: {problem}"
            ))
            .into_http(),
        )
    }

    /// Forwards the call to the registered service over h2c, streaming both ways.
    async fn forward(
        &self,
        request: Request<Incoming>,
        authority: String,
        path: String,
        route: &ServiceRoute,
    ) -> Response<Body> {
        let target = target_address(route);
        let (mut parts, body) = request.into_parts();
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        parts.uri = match Uri::try_from(format!("http://{target}{path_and_query}")) {
            Ok(uri) => uri,
            Err(e) => {
                tracing::warn!(
                    authority,
                    path,
                    target,
                    "cannot forward to {target} (service {:?}): invalid address: {e}; answering HTTP 502",
                    route.name
                );
                return bad_gateway();
            }
        };
        strip_hop_by_hop(&mut parts.headers);
        let started = Instant::now();
        match self
            .client
            .request(Request::from_parts(parts, Body::new(body)))
            .await
        {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let log = CallLog {
                    authority,
                    path,
                    target,
                    http_status: parts.status,
                    grpc_status: grpc_status(&parts.headers),
                    started,
                };
                Response::from_parts(parts, Body::new(LoggedBody::new(body, log)))
            }
            Err(e) => {
                let cause = error_chain(&e);
                tracing::warn!(
                    authority,
                    path,
                    target,
                    "cannot reach service {:?} at {target} for {authority}{path}: {cause}; \
                     answering HTTP 502",
                    route.name
                );
                bad_gateway()
            }
        }
    }
}

/// The proxy's answer when it has nowhere to send a call: HTTP 502 with an empty body, which
/// clients report as an unavailable (possibly unregistered) service.
fn bad_gateway() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

/// The authority a call is for: the host of its `:authority` (lower-cased, port stripped, a bare
/// label expanded to `<label>.spot.robot`), else the connection's SNI. An `:authority` that is an
/// IP address names no service, so the SNI wins over it.
fn request_authority<B>(request: &Request<B>, sni: Option<&str>) -> Option<String> {
    let from_uri = request.uri().host().map(str::to_owned).or_else(|| {
        let host = request.headers().get(header::HOST)?.to_str().ok()?;
        let authority: http::uri::Authority = host.parse().ok()?;
        Some(authority.host().to_owned())
    });
    let from_uri = from_uri.filter(|host| !host.is_empty());
    let is_ip = |host: &str| {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
    };
    let host = match (from_uri, sni) {
        (Some(host), Some(sni)) if is_ip(&host) => sni.to_owned(),
        (Some(host), _) => host,
        (None, Some(sni)) => sni.to_owned(),
        (None, None) => return None,
    };
    let authority = normalize_authority(host.trim_end_matches('.'));
    (!authority.is_empty()).then_some(authority)
}

/// The token of an `authorization: Bearer <token>` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `host:port` of a route (`[v6]:port` for an IPv6 address).
fn target_address(route: &ServiceRoute) -> String {
    let host = route.host_ip.trim();
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]:{}", route.port)
    } else {
        format!("{host}:{}", route.port)
    }
}

/// Removes the headers that belong to one connection (`te: trailers` stays: gRPC needs it).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    const HOP_BY_HOP: [&str; 6] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "host",
    ];
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    let te = HeaderName::from_static("te");
    let keep_te = headers
        .get(&te)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    if !keep_te {
        headers.remove(&te);
    }
}

fn grpc_status(headers: &HeaderMap) -> Option<GrpcOutcome> {
    let code = headers.get("grpc-status")?;
    Some(GrpcOutcome {
        code: code.clone(),
        message: headers.get("grpc-message").cloned(),
    })
}

/// An error and its causes, `: `-separated.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut current = err.source();
    while let Some(cause) = current {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        current = cause.source();
    }
    text
}

#[derive(Debug, Clone)]
struct GrpcOutcome {
    code: HeaderValue,
    message: Option<HeaderValue>,
}

impl fmt::Display for GrpcOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = String::from_utf8_lossy(self.code.as_bytes());
        let name = code
            .parse::<i32>()
            .map(|c| format!(" ({:?})", tonic::Code::from_i32(c)))
            .unwrap_or_default();
        write!(f, "grpc-status {code}{name}")?;
        if let Some(message) = &self.message {
            write!(f, ": {}", String::from_utf8_lossy(message.as_bytes()))?;
        }
        Ok(())
    }
}

/// What is logged about a proxied call when its response ends.
struct CallLog {
    authority: String,
    path: String,
    target: String,
    http_status: StatusCode,
    grpc_status: Option<GrpcOutcome>,
    started: Instant,
}

impl CallLog {
    fn emit(&self, ending: Ending) {
        let outcome = match (&self.grpc_status, ending) {
            (Some(grpc), _) => grpc.to_string(),
            (None, Ending::Error(e)) => format!("the response stream failed: {e}"),
            (None, Ending::Abandoned) => {
                "abandoned before its end (the caller cancelled or went away)".to_owned()
            }
            (None, Ending::Complete) if self.http_status == StatusCode::OK => {
                "no grpc-status".to_owned()
            }
            (None, Ending::Complete) => format!("HTTP {}", self.http_status),
        };
        let elapsed_ms = self.started.elapsed().as_millis();
        tracing::info!(
            authority = self.authority,
            path = self.path,
            target = self.target,
            http_status = self.http_status.as_u16(),
            elapsed_ms,
            "proxied {}{} to {}: {outcome} ({elapsed_ms} ms)",
            self.authority,
            self.path,
            self.target
        );
    }
}

enum Ending {
    Complete,
    Error(String),
    Abandoned,
}

/// A proxied response body that logs the call once it ends (with the `grpc-status` of its
/// trailers), fails, or is dropped unfinished.
struct LoggedBody {
    inner: Incoming,
    log: Option<CallLog>,
}

impl LoggedBody {
    fn new(inner: Incoming, log: CallLog) -> Self {
        Self {
            inner,
            log: Some(log),
        }
    }

    fn finish(&mut self, ending: Ending) {
        if let Some(log) = self.log.take() {
            log.emit(ending);
        }
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(trailers), Some(log)) = (frame.trailers_ref(), this.log.as_mut()) {
                    if let Some(outcome) = grpc_status(trailers) {
                        log.grpc_status = Some(outcome);
                    }
                    this.finish(Ending::Complete);
                }
            }
            Poll::Ready(Some(Err(e))) => this.finish(Ending::Error(error_chain(e))),
            Poll::Ready(None) => this.finish(Ending::Complete),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        let ending = if self.inner.is_end_stream() {
            Ending::Complete
        } else {
            Ending::Abandoned
        };
        self.finish(ending);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str) -> Request<()> {
        Request::builder().uri(uri).body(()).expect("request")
    }

    #[test]
    fn authority_comes_from_the_uri_then_the_sni() {
        let sni = Some("id.spot.robot");
        assert_eq!(
            request_authority(&request("https://Echo.Spot.Robot:443/a/b"), sni).as_deref(),
            Some("echo.spot.robot")
        );
        assert_eq!(
            request_authority(&request("/a/b"), sni).as_deref(),
            Some("id.spot.robot")
        );
        assert_eq!(
            request_authority(&request("https://127.0.0.1:443/a/b"), sni).as_deref(),
            Some("id.spot.robot")
        );
        assert_eq!(
            request_authority(&request("https://announce/a"), None).as_deref(),
            Some("announce.spot.robot")
        );
        assert_eq!(request_authority(&request("/a/b"), None), None);
        let with_host = Request::builder()
            .uri("/a")
            .header("host", "API.spot.robot:443")
            .body(())
            .expect("request");
        assert_eq!(
            request_authority(&with_host, None).as_deref(),
            Some("api.spot.robot")
        );
    }

    #[test]
    fn bearer_tokens() {
        let headers = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            headers
        };
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&headers("Bearer ")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn targets_and_headers() {
        let route = |host: &str| ServiceRoute {
            name: "x".into(),
            host_ip: host.into(),
            port: 50051,
            user_token_required: false,
        };
        assert_eq!(target_address(&route("10.0.0.2")), "10.0.0.2:50051");
        assert_eq!(target_address(&route("fe80::1")), "[fe80::1]:50051");

        let mut headers = HeaderMap::new();
        headers.insert("te", HeaderValue::from_static("trailers"));
        headers.insert("connection", HeaderValue::from_static("close"));
        headers.insert("grpc-timeout", HeaderValue::from_static("1S"));
        strip_hop_by_hop(&mut headers);
        assert!(headers.contains_key("te"));
        assert!(headers.contains_key("grpc-timeout"));
        assert!(!headers.contains_key("connection"));
    }
}
