//! What went wrong with a call through the robot: the errors the robot's proxy (and the TLS and
//! TCP layers below it) produce, told apart the way the official SDK's clients tell them apart.

use std::error::Error;
use std::io;

use tonic::{Code, Status};

/// A failed call to (or connection with) the robot, classified.
///
/// Built by [`classify_status`] from the status a call returned, or by the
/// [`ChannelPool`](super::ChannelPool) when it cannot connect. `detail` is the underlying
/// message (with its chain of causes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The robot refused the call's credentials: no token, an expired one, or one it does not
    /// accept (gRPC `UNAUTHENTICATED`, or HTTP 401 from the proxy).
    #[error(
        "the robot rejected the call's credentials (missing, expired or invalid token): {detail}"
    )]
    Unauthenticated {
        /// The underlying message.
        detail: String,
    },
    /// The robot's proxy has no route for the call (HTTP 404).
    #[error("the robot's proxy found nothing to route the call to (HTTP 404): {detail}")]
    NotFound {
        /// The underlying message.
        detail: String,
    },
    /// The robot is rate-limiting calls (HTTP 429).
    #[error("the robot is rate-limiting calls (HTTP 429): {detail}")]
    TooManyRequests {
        /// The underlying message.
        detail: String,
    },
    /// The robot's proxy could not reach the service behind the authority: it is not registered
    /// in the directory, or not answering (HTTP 502).
    #[error(
        "the robot's proxy could not find the (possibly unregistered) service {} (HTTP 502): {detail}",
        authority.as_deref().unwrap_or("behind this authority")
    )]
    ServiceUnavailable {
        /// The authority called, when known (see [`ProxyError::with_authority`]).
        authority: Option<String>,
        /// The underlying message.
        detail: String,
    },
    /// The call did not finish in time (gRPC `DEADLINE_EXCEEDED`, a tonic timeout, or HTTP 504
    /// from the proxy).
    #[error("the call timed out: {detail}")]
    TimedOut {
        /// The underlying message.
        detail: String,
    },
    /// The robot's TLS certificate is not valid for the authority called, or the robot has no
    /// certificate for it: the robot serves no such authority (the official SDK's
    /// `NonexistentAuthorityError`).
    #[error(
        "the robot serves no authority {} (its TLS certificate is not valid for that name): {detail}",
        authority.as_deref().unwrap_or("of that name")
    )]
    NonexistentAuthority {
        /// The authority called, when known (see [`ProxyError::with_authority`]).
        authority: Option<String>,
        /// The underlying message.
        detail: String,
    },
    /// The robot's TLS certificate was rejected for another reason than its name: it does not
    /// chain to a trusted CA (wrong [`Trust`](super::Trust), or not a Spot), has expired, etc.
    #[error(
        "the robot's TLS certificate is not trusted (check the configured CA: the Boston Dynamics \
         root CA for a real Spot): {detail}"
    )]
    UntrustedCertificate {
        /// The underlying message.
        detail: String,
    },
    /// The TLS handshake failed for a reason other than the certificate (e.g. the peer does not
    /// speak TLS or HTTP/2, or ended the handshake with an alert).
    #[error("the TLS handshake with the robot failed: {detail}")]
    TlsHandshake {
        /// The underlying message.
        detail: String,
    },
    /// The robot cannot be reached: connection refused, reset or timed out, no route, name
    /// resolution failed (gRPC `UNAVAILABLE` without an HTTP status).
    #[error("cannot reach the robot: {detail}")]
    Unreachable {
        /// The underlying message.
        detail: String,
    },
    /// The caller is not allowed to make this call (gRPC `PERMISSION_DENIED`).
    #[error("permission denied: {detail}")]
    PermissionDenied {
        /// The underlying message.
        detail: String,
    },
    /// The service does not implement the method (gRPC `UNIMPLEMENTED`).
    #[error("the service does not implement this method: {detail}")]
    Unimplemented {
        /// The underlying message.
        detail: String,
    },
    /// The response exceeded the largest message the client accepts.
    #[error("the response is larger than the client accepts: {detail}")]
    ResponseTooLarge {
        /// The underlying message.
        detail: String,
    },
    /// The call was cancelled (gRPC `CANCELLED` without a proxy HTTP status).
    #[error("the call was cancelled: {detail}")]
    Cancelled {
        /// The underlying message.
        detail: String,
    },
    /// Any other status, e.g. one the service itself returned.
    #[error("{code:?}: {detail}")]
    Other {
        /// The gRPC status code.
        code: Code,
        /// The underlying message.
        detail: String,
    },
}

impl ProxyError {
    /// Names the authority called in the variants that mention it
    /// ([`ServiceUnavailable`](Self::ServiceUnavailable),
    /// [`NonexistentAuthority`](Self::NonexistentAuthority)), unless already known.
    #[must_use]
    pub fn with_authority(mut self, authority: &str) -> Self {
        match &mut self {
            Self::ServiceUnavailable { authority: a, .. }
            | Self::NonexistentAuthority { authority: a, .. } => {
                a.get_or_insert_with(|| authority.to_owned());
            }
            _ => {}
        }
        self
    }

    /// Whether retrying later may succeed without changing anything: the robot was unreachable,
    /// busy, slow, or the service not (yet) registered.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::TooManyRequests { .. }
                | Self::ServiceUnavailable { .. }
                | Self::TimedOut { .. }
        )
    }

    /// The underlying message.
    pub fn detail(&self) -> &str {
        match self {
            Self::Unauthenticated { detail }
            | Self::NotFound { detail }
            | Self::TooManyRequests { detail }
            | Self::ServiceUnavailable { detail, .. }
            | Self::TimedOut { detail }
            | Self::NonexistentAuthority { detail, .. }
            | Self::UntrustedCertificate { detail }
            | Self::TlsHandshake { detail }
            | Self::Unreachable { detail }
            | Self::PermissionDenied { detail }
            | Self::Unimplemented { detail }
            | Self::ResponseTooLarge { detail }
            | Self::Cancelled { detail }
            | Self::Other { detail, .. } => detail,
        }
    }
}

/// Classifies the status a call through the robot returned, as the official SDK's
/// `translate_exception` does:
///
/// | status | result |
/// |---|---|
/// | TLS: certificate not valid for the name, or `unrecognized_name` alert | [`NonexistentAuthority`](ProxyError::NonexistentAuthority) |
/// | TLS: other certificate failure | [`UntrustedCertificate`](ProxyError::UntrustedCertificate) |
/// | TLS: other handshake failure | [`TlsHandshake`](ProxyError::TlsHandshake) |
/// | `UNAUTHENTICATED`, or HTTP 401 | [`Unauthenticated`](ProxyError::Unauthenticated) |
/// | HTTP 404 | [`NotFound`](ProxyError::NotFound) |
/// | HTTP 429 | [`TooManyRequests`](ProxyError::TooManyRequests) |
/// | HTTP 502 | [`ServiceUnavailable`](ProxyError::ServiceUnavailable) |
/// | HTTP 504, `DEADLINE_EXCEEDED`, tonic's `CANCELLED` "Timeout expired" | [`TimedOut`](ProxyError::TimedOut) |
/// | `UNAVAILABLE` otherwise | [`Unreachable`](ProxyError::Unreachable) |
/// | `PERMISSION_DENIED`, `UNIMPLEMENTED`, `CANCELLED` | the variant of that name |
/// | `RESOURCE_EXHAUSTED` for a too large response | [`ResponseTooLarge`](ProxyError::ResponseTooLarge) |
/// | anything else | [`Other`](ProxyError::Other) |
///
/// The HTTP status of a proxy error is read from the status message in the forms tonic
/// (`… mapped from HTTP status code 502`) and gRPC C-core (`Received http2 header with status:
/// 502`) write; for `CANCELLED` and `UNAVAILABLE`, like the official SDK, any of the five codes
/// standing alone in the message counts. TLS failures are read from the status's chain of
/// causes (the rustls error).
///
/// Call [`ProxyError::with_authority`] on the result to name the authority in its message.
pub fn classify_status(status: &Status) -> ProxyError {
    let detail = status_detail(status);
    if let Some(source) = status.source()
        && let Some(tls) = tls_failure(source, &detail)
    {
        return tls;
    }
    let message = status.message();
    let code = status.code();
    let http = proxy_http_status(message).or_else(|| {
        matches!(code, Code::Cancelled | Code::Unavailable)
            .then(|| loose_http_status(message))
            .flatten()
    });
    match (code, http) {
        (Code::Unauthenticated, _) | (_, Some(401)) => ProxyError::Unauthenticated { detail },
        (_, Some(404)) => ProxyError::NotFound { detail },
        (_, Some(429)) => ProxyError::TooManyRequests { detail },
        (_, Some(502)) => ProxyError::ServiceUnavailable {
            authority: None,
            detail,
        },
        (_, Some(504)) | (Code::DeadlineExceeded, _) => ProxyError::TimedOut { detail },
        (Code::Cancelled, _) if message == TONIC_TIMEOUT_MESSAGE => ProxyError::TimedOut { detail },
        (Code::Cancelled, _) => ProxyError::Cancelled { detail },
        (Code::Unavailable, None) => ProxyError::Unreachable { detail },
        (Code::PermissionDenied, _) => ProxyError::PermissionDenied { detail },
        (Code::Unimplemented, _) => ProxyError::Unimplemented { detail },
        (Code::ResourceExhausted, _) if response_too_large(message) => {
            ProxyError::ResponseTooLarge { detail }
        }
        (code, _) => ProxyError::Other { code, detail },
    }
}

/// The message of tonic's `TimeoutExpired`, which tonic reports as `CANCELLED`.
const TONIC_TIMEOUT_MESSAGE: &str = "Timeout expired";

/// Classifies an error from connecting to the robot (TCP, TLS, HTTP/2 set-up).
pub(crate) fn classify_connect_error(err: &(dyn Error + 'static)) -> ProxyError {
    let detail = chain_text(err);
    if let Some(tls) = tls_failure(err, &detail) {
        return tls;
    }
    ProxyError::Unreachable { detail }
}

/// The TLS failure somewhere in `err`'s chain of causes, classified.
fn tls_failure(err: &(dyn Error + 'static), detail: &str) -> Option<ProxyError> {
    let detail = detail.to_owned();
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(rustls) = as_rustls_error(err) {
            return Some(classify_rustls_error(rustls, detail));
        }
        // tonic's own TLS errors are private types: recognise their messages.
        let message = err.to_string();
        if message.contains("HTTP/2 was not negotiated") {
            return Some(ProxyError::TlsHandshake {
                detail: format!("{detail} (the server did not offer HTTP/2 through ALPN)"),
            });
        }
        if message.contains("TLS handshake timeout") {
            return Some(ProxyError::TlsHandshake { detail });
        }
        current = err.source();
    }
    None
}

/// `err` as a rustls error, also when wrapped in an `io::Error` (as tokio-rustls reports them:
/// `io::Error::source` skips the wrapped error, so look inside).
fn as_rustls_error<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(rustls) = err.downcast_ref::<rustls::Error>() {
        return Some(rustls);
    }
    err.downcast_ref::<io::Error>()
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

fn classify_rustls_error(err: &rustls::Error, detail: String) -> ProxyError {
    use rustls::{AlertDescription, CertificateError, Error as E};
    match err {
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )
        | E::AlertReceived(AlertDescription::UnrecognisedName) => {
            ProxyError::NonexistentAuthority {
                authority: None,
                detail,
            }
        }
        E::InvalidCertificate(_) | E::NoCertificatesPresented => {
            ProxyError::UntrustedCertificate { detail }
        }
        _ => ProxyError::TlsHandshake { detail },
    }
}

/// The status message, followed by its chain of causes where they add anything.
fn status_detail(status: &Status) -> String {
    let mut text = status.message().to_owned();
    if let Some(source) = status.source() {
        append_chain(&mut text, source);
    }
    if text.is_empty() {
        text = format!("{:?} with no message", status.code());
    }
    text
}

/// `err`'s message and those of its causes, joined with `: `, skipping the ones already shown.
pub(crate) fn chain_text(err: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    append_chain(&mut text, err);
    text
}

fn append_chain(text: &mut String, err: &(dyn Error + 'static)) {
    /// tonic's `transport::Error` says only this, its cause says what happened.
    const UNINFORMATIVE: &str = "transport error";
    let mut current = Some(err);
    while let Some(err) = current {
        let message = err.to_string();
        let informative = !message.is_empty()
            && !text.contains(&message)
            && (message != UNINFORMATIVE || err.source().is_none());
        if informative {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
        current = err.source();
    }
}

/// The HTTP status of a proxy error, in the phrasings tonic (`HTTP status code 502`) and gRPC
/// C-core (`Received http2 header with status: 502`) use: `status`, optionally `code` and/or
/// `:`, then three digits standing alone.
fn proxy_http_status(message: &str) -> Option<u16> {
    let lower = message.to_ascii_lowercase();
    lower.match_indices("status").find_map(|(at, word)| {
        let rest = &lower[at + word.len()..];
        let rest = rest.trim_start();
        let rest = rest.strip_prefix("code").unwrap_or(rest).trim_start();
        let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
        leading_code(rest)
    })
}

/// Like the official SDK: one of the proxy's HTTP codes standing alone anywhere in the message.
fn loose_http_status(message: &str) -> Option<u16> {
    const PROXY_CODES: [u16; 5] = [401, 404, 429, 502, 504];
    message
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|token| (token.len() == 3).then(|| token.parse().ok()).flatten())
        .find(|code| PROXY_CODES.contains(code))
}

/// Three digits at the start of `text`, not followed by another digit.
fn leading_code(text: &str) -> Option<u16> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    (digits == 3).then(|| text[..3].parse().ok()).flatten()
}

fn response_too_large(message: &str) -> bool {
    // tonic: "Error, decoded message length too large: …"; gRPC C-core: "Received message larger
    // than max (…)".
    message.contains("decoded message length too large")
        || message.contains("Received message larger than max")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(code: Code, message: &str) -> ProxyError {
        classify_status(&Status::new(code, message))
    }

    /// What tonic reports when the proxy answers `status` without a gRPC status.
    fn tonic_http(status: u16) -> Status {
        let code = match status {
            401 => Code::Unauthenticated,
            404 => Code::Unimplemented,
            429 | 502 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        };
        Status::new(
            code,
            format!("grpc-status header missing, mapped from HTTP status code {status}"),
        )
    }

    #[test]
    fn unauthenticated() {
        assert!(matches!(
            classify(Code::Unauthenticated, "token expired"),
            ProxyError::Unauthenticated { detail } if detail == "token expired"
        ));
        assert!(matches!(
            classify_status(&tonic_http(401)),
            ProxyError::Unauthenticated { .. }
        ));
        // The official SDK's form: CANCELLED carrying the HTTP code.
        assert!(matches!(
            classify(Code::Cancelled, "Received http2 header with status: 401"),
            ProxyError::Unauthenticated { .. }
        ));
    }

    #[test]
    fn not_found() {
        assert!(matches!(
            classify_status(&tonic_http(404)),
            ProxyError::NotFound { .. }
        ));
        assert!(matches!(
            classify(Code::Cancelled, "Received http2 header with status: 404"),
            ProxyError::NotFound { .. }
        ));
    }

    #[test]
    fn too_many_requests() {
        assert!(matches!(
            classify_status(&tonic_http(429)),
            ProxyError::TooManyRequests { .. }
        ));
        assert!(matches!(
            classify(Code::Unavailable, "429 Too Many Requests"),
            ProxyError::TooManyRequests { .. }
        ));
    }

    #[test]
    fn service_unavailable_names_the_authority() {
        let err = classify_status(&tonic_http(502)).with_authority("announce.spot.robot");
        assert!(
            matches!(&err, ProxyError::ServiceUnavailable { authority: Some(a), .. } if a == "announce.spot.robot"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the robot's proxy could not find the (possibly unregistered) service \
             announce.spot.robot (HTTP 502): grpc-status header missing, mapped from HTTP status \
             code 502"
        );
        assert!(err.is_transient());
        assert!(matches!(
            classify(Code::Cancelled, "Received http2 header with status: 502"),
            ProxyError::ServiceUnavailable {
                authority: None,
                ..
            }
        ));
    }

    #[test]
    fn timed_out() {
        assert!(matches!(
            classify_status(&tonic_http(504)),
            ProxyError::TimedOut { .. }
        ));
        assert!(matches!(
            classify(Code::DeadlineExceeded, "deadline"),
            ProxyError::TimedOut { .. }
        ));
        assert!(matches!(
            classify(Code::Cancelled, "Timeout expired"),
            ProxyError::TimedOut { .. }
        ));
    }

    #[test]
    fn service_statuses_mentioning_numbers_are_not_proxy_errors() {
        // A service's own INTERNAL mentioning 404 is not the proxy's 404.
        assert!(matches!(
            classify(Code::Internal, "sensor 404 missing"),
            ProxyError::Other {
                code: Code::Internal,
                ..
            }
        ));
        assert!(matches!(
            classify(Code::Unavailable, "listening on port 5020"),
            ProxyError::Unreachable { .. }
        ));
        assert!(matches!(
            classify(Code::Unimplemented, "not yet"),
            ProxyError::Unimplemented { .. }
        ));
    }

    #[test]
    fn other_codes() {
        assert!(matches!(
            classify(Code::PermissionDenied, "no"),
            ProxyError::PermissionDenied { .. }
        ));
        assert!(matches!(
            classify(Code::Cancelled, "client went away"),
            ProxyError::Cancelled { .. }
        ));
        assert!(matches!(
            classify(
                Code::ResourceExhausted,
                "Error, decoded message length too large: found 200 bytes, the limit is: 100 bytes"
            ),
            ProxyError::ResponseTooLarge { .. }
        ));
        assert!(matches!(
            classify(Code::ResourceExhausted, "quota"),
            ProxyError::Other {
                code: Code::ResourceExhausted,
                ..
            }
        ));
        assert!(matches!(
            classify(Code::Unavailable, "tcp connect error: Connection refused"),
            ProxyError::Unreachable { .. }
        ));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("transport error")]
    struct Wrapper(#[source] io::Error);

    fn status_caused_by(err: rustls::Error) -> Status {
        let io = io::Error::new(io::ErrorKind::InvalidData, err);
        Status::from_error(Box::new(Wrapper(io)))
    }

    #[test]
    fn certificate_name_mismatch_is_nonexistent_authority() {
        let err = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
        let classified = classify_status(&status_caused_by(err)).with_authority("nope.spot.robot");
        assert!(
            matches!(&classified, ProxyError::NonexistentAuthority { authority: Some(a), .. } if a == "nope.spot.robot"),
            "{classified:?}"
        );
        assert!(
            classified
                .to_string()
                .starts_with("the robot serves no authority nope.spot.robot"),
            "{classified}"
        );

        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::UnrecognisedName);
        assert!(matches!(
            classify_status(&status_caused_by(alert)),
            ProxyError::NonexistentAuthority { .. }
        ));
    }

    #[test]
    fn other_certificate_failures_are_untrusted() {
        let err = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let classified = classify_status(&status_caused_by(err));
        assert!(
            matches!(&classified, ProxyError::UntrustedCertificate { detail } if detail.contains("UnknownIssuer")),
            "{classified:?}"
        );
    }

    #[test]
    fn other_tls_failures_are_handshake_failures() {
        let err = rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure);
        assert!(matches!(
            classify_status(&status_caused_by(err)),
            ProxyError::TlsHandshake { .. }
        ));
        let direct = classify_connect_error(&rustls::Error::DecryptError);
        assert!(matches!(direct, ProxyError::TlsHandshake { .. }));
    }

    #[test]
    fn connect_errors_without_tls_are_unreachable() {
        let err = Wrapper(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "Connection refused",
        ));
        let classified = classify_connect_error(&err);
        assert_eq!(
            classified,
            ProxyError::Unreachable {
                detail: "Connection refused".into()
            }
        );
    }

    #[test]
    fn http_status_parsing() {
        assert_eq!(
            proxy_http_status("mapped from HTTP status code 502"),
            Some(502)
        );
        assert_eq!(
            proxy_http_status("Received http2 header with status: 404"),
            Some(404)
        );
        assert_eq!(proxy_http_status("status: 5020"), None);
        assert_eq!(proxy_http_status("no status here"), None);
        assert_eq!(loose_http_status("upstream said 502!"), Some(502));
        assert_eq!(loose_http_status("port 5020"), None);
        assert_eq!(loose_http_status("code 500"), None);
    }
}
