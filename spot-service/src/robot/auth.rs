//! Getting and keeping a user token: `GetAuthToken` with a username and password (or with the
//! current token, to refresh it), and a background task that refreshes the token hourly like the
//! official SDK's token manager, backing off on failure.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::codegen::{Body, Bytes, StdError};

use crate::client::{HeaderError, check_response, default_client_name, stamp_request};
use crate::payload::credentials::PayloadCredentials;
use crate::payload::credentials::Secret;
use crate::payload::registration::{
    AuthorizationWait, PAYLOAD_REGISTRATION_AUTHORITY, PayloadRegistrationClient,
    PayloadRegistrationError,
};
use crate::proto::bosdyn::api::Payload;
use crate::proto::bosdyn::api::auth_service_client::AuthServiceClient;
use crate::proto::bosdyn::api::{GetAuthTokenRequest, get_auth_token_response::Status};
use crate::robot::token::TokenStore;
use crate::robot::{AUTH_AUTHORITY, Robot, RobotChannel, RobotError};

/// How often the official SDK refreshes its token (tokens last 12 hours).
pub const DEFAULT_TOKEN_REFRESH_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// First delay before retrying a failed refresh; it doubles up to the refresh interval.
pub const INITIAL_REFRESH_RETRY: Duration = Duration::from_secs(1);

/// Failures of `GetAuthToken`, one variant per status the robot can answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Wrong username or password.
    #[error("invalid login for user {username:?}: wrong username or password")]
    InvalidLogin {
        /// The username that was tried.
        username: String,
    },
    /// The token to refresh is not valid (expired, or from another robot).
    #[error("the robot rejected the token (expired or invalid): log in again")]
    InvalidToken,
    /// Too many failed logins: the robot refuses logins for a while.
    #[error("the robot temporarily locked out logins after too many failures; try again later")]
    TemporarilyLockedOut,
    /// The robot answered a status this version does not know.
    #[error("GetAuthToken answered unknown status {0}")]
    UnknownStatus(i32),
    /// The response header reported an error.
    #[error("GetAuthToken: {0}")]
    Header(#[from] HeaderError),
    /// The call itself failed (robot unreachable, proxy error, timeout...).
    #[error("GetAuthToken failed: {0}")]
    Rpc(Box<tonic::Status>),
    /// The robot returned a token that cannot be sent as a header.
    #[error("the robot returned an unusable token: {0}")]
    UnusableToken(String),
    /// The robot could not be reached.
    #[error(transparent)]
    Connect(Box<RobotError>),
}

/// Client of `bosdyn.api.AuthService`, over any tonic transport (a robot channel for
/// `auth.spot.robot`, or a plain channel in tests).
#[derive(Debug, Clone)]
pub struct AuthClient<T> {
    inner: AuthServiceClient<T>,
    client_name: String,
}

impl<T> AuthClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    /// A client over `transport`.
    pub fn new(transport: T) -> Self {
        Self {
            inner: AuthServiceClient::new(transport)
                .max_decoding_message_size(crate::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(crate::MAX_MESSAGE_SIZE),
            client_name: default_client_name(),
        }
    }

    /// Sets the `client_name` sent in request headers.
    pub fn with_client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    async fn get_auth_token(
        &mut self,
        mut request: GetAuthTokenRequest,
        username: &str,
    ) -> Result<Secret, AuthError> {
        stamp_request(&mut request, &self.client_name);
        let response = self
            .inner
            .get_auth_token(request)
            .await
            .map_err(|s| AuthError::Rpc(Box::new(s)))?
            .into_inner();
        let response = check_response(response)?;
        match Status::try_from(response.status) {
            Ok(Status::Ok) => Ok(Secret::new(response.token)),
            Ok(Status::InvalidLogin) => Err(AuthError::InvalidLogin {
                username: username.to_owned(),
            }),
            Ok(Status::InvalidToken) => Err(AuthError::InvalidToken),
            Ok(Status::TemporarilyLockedOut) => Err(AuthError::TemporarilyLockedOut),
            _ => Err(AuthError::UnknownStatus(response.status)),
        }
    }

    /// Logs in with a username and password; returns a user token (valid 12 hours on a robot).
    pub async fn login(&mut self, username: &str, password: &Secret) -> Result<Secret, AuthError> {
        let request = GetAuthTokenRequest {
            header: None,
            username: username.to_owned(),
            password: password.expose().to_owned(),
            token: String::new(),
        };
        self.get_auth_token(request, username).await
    }

    /// Exchanges a valid token (user or payload) for a fresh one.
    pub async fn refresh(&mut self, token: &str) -> Result<Secret, AuthError> {
        let request = GetAuthTokenRequest {
            header: None,
            username: String::new(),
            password: String::new(),
            token: token.to_owned(),
        };
        self.get_auth_token(request, "").await
    }

    /// Logs in and stores the token in `tokens`, so every authenticated call carries it.
    pub async fn login_into(
        &mut self,
        username: &str,
        password: &Secret,
        tokens: &TokenStore,
    ) -> Result<(), AuthError> {
        let token = self.login(username, password).await?;
        tokens
            .set(token.expose())
            .map_err(|e| AuthError::UnusableToken(e.to_string()))
    }
}

/// Timings of a [`TokenRefresher`].
#[derive(Debug, Clone, Copy)]
pub struct RefreshTimings {
    /// Time between refreshes (default 1 hour).
    pub interval: Duration,
    /// First retry delay after a failure (default 1 s); it doubles up to `interval`.
    pub initial_retry: Duration,
}

impl Default for RefreshTimings {
    fn default() -> Self {
        Self {
            interval: DEFAULT_TOKEN_REFRESH_INTERVAL,
            initial_retry: INITIAL_REFRESH_RETRY,
        }
    }
}

/// Keeps the token in a [`TokenStore`] fresh in the background: every `interval` it exchanges
/// the current token for a new one; after a failure it retries after 1 s, doubling the delay up
/// to the interval. Stopped by [`TokenRefresher::shutdown`] or by dropping it.
#[derive(Debug)]
pub struct TokenRefresher {
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl TokenRefresher {
    /// Starts refreshing the token in `tokens` through `client`.
    pub fn spawn<T>(mut client: AuthClient<T>, tokens: TokenStore, timings: RefreshTimings) -> Self
    where
        T: tonic::client::GrpcService<tonic::body::Body> + Send + 'static,
        T::Future: Send,
        T::Error: Into<StdError>,
        T::ResponseBody: Body<Data = Bytes> + Send + 'static,
        <T::ResponseBody as Body>::Error: Into<StdError> + Send,
    {
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            let mut delay = timings.interval;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
                let Some(current) = tokens.get() else {
                    tracing::debug!("no token to refresh yet");
                    delay = timings.interval;
                    continue;
                };
                let result = tokio::select! {
                    () = stop.cancelled() => return,
                    result = client.refresh(current.expose()) => result,
                };
                match result.and_then(|fresh| {
                    tokens
                        .set(fresh.expose())
                        .map_err(|e| AuthError::UnusableToken(e.to_string()))
                }) {
                    Ok(()) => {
                        tracing::debug!("token refreshed");
                        delay = timings.interval;
                    }
                    Err(error) => {
                        delay = if delay >= timings.interval {
                            timings.initial_retry
                        } else {
                            (delay * 2).min(timings.interval)
                        };
                        tracing::warn!(%error, retry_in = ?delay, "token refresh failed");
                    }
                }
            }
        });
        Self {
            cancel,
            task: Some(task),
        }
    }

    /// Stops refreshing and waits for the task to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TokenRefresher {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Robot {
    /// Logs in with a username and password (`GetAuthToken` at `auth.spot.robot`) and stores
    /// the token, so every authenticated call carries it. The official `Robot.authenticate`.
    pub async fn authenticate(&self, username: &str, password: &Secret) -> Result<(), AuthError> {
        let channel = self
            .channel(AUTH_AUTHORITY)
            .await
            .map_err(|e| AuthError::Connect(Box::new(e)))?;
        AuthClient::new(channel)
            .with_client_name(self.client_name())
            .login_into(username, password, self.tokens())
            .await
    }

    /// The payload's way in: registers `payload` with its credentials (already registered is
    /// fine; registrations survive reboots), waits until an administrator authorizes it (logging
    /// what to do; see [`AuthorizationWait`]), then stores its payload token. The official
    /// self-registration flow (`register_payload` then `authenticate_from_payload_credentials`).
    pub async fn authenticate_payload(
        &self,
        credentials: &PayloadCredentials,
        mut payload: Payload,
        wait: &AuthorizationWait,
    ) -> Result<(), PayloadRegistrationError> {
        let channel = self
            .channel(PAYLOAD_REGISTRATION_AUTHORITY)
            .await
            .map_err(|e| PayloadRegistrationError::Connect(Box::new(e)))?;
        let mut client =
            PayloadRegistrationClient::new(channel).with_client_name(self.client_name());
        credentials.guid().clone_into(&mut payload.guid);
        client
            .ensure_registered(payload, credentials.secret())
            .await?;
        let token = client.wait_for_authorization(credentials, wait).await?;
        self.tokens()
            .set(token.expose())
            .map_err(|e| PayloadRegistrationError::Connect(Box::new(e)))
    }

    /// Starts refreshing this robot's token in the background (hourly by default).
    pub async fn start_token_refresh(
        &self,
        timings: RefreshTimings,
    ) -> Result<TokenRefresher, RobotError> {
        let channel: RobotChannel = self.channel(AUTH_AUTHORITY).await?;
        let client = AuthClient::new(channel).with_client_name(self.client_name());
        Ok(TokenRefresher::spawn(
            client,
            self.tokens().clone(),
            timings,
        ))
    }
}
