//! The connection to a Spot robot: TLS channels to its services, the bearer token their calls
//! carry, and the errors its proxy returns.
//!
//! Clients reach every service of the robot at one address (`ROBOT_IP:443`) over TLS; the
//! robot's proxy routes each call by its authority (`auth.spot.robot`, `api.spot.robot`, …),
//! which is both the TLS server name (SNI, and the name the certificate must be valid for) and the
//! `:authority` of the call. A [`Robot`] keeps one channel per authority ([`ChannelPool`]), a
//! [`TokenStore`] whose token an [`AuthInterceptor`] attaches to calls, and classifies failures
//! ([`classify_status`], [`ProxyError`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use spot_service::proto::bosdyn::api::RobotIdRequest;
//! use spot_service::proto::bosdyn::api::robot_id_service_client::RobotIdServiceClient;
//! use spot_service::robot::{ROBOT_ID_AUTHORITY, Robot, RobotConfig};
//!
//! let robot = Robot::new(RobotConfig::builder("192.168.80.3").build()?)?;
//! robot.tokens().set("<token from GetAuthToken>")?;
//! let mut client = RobotIdServiceClient::new(robot.intercepted(ROBOT_ID_AUTHORITY).await?)
//!     .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
//!     .max_encoding_message_size(spot_service::MAX_MESSAGE_SIZE);
//! let id = client.get_robot_id(RobotIdRequest::default()).await?;
//! # Ok(())
//! # }
//! ```

mod auth;
mod channels;
mod config;
mod error;
mod lookup;
mod proxy_error;
mod tls;
mod token;

use std::fmt;
use std::sync::Arc;

pub use auth::{
    AuthClient, AuthError, DEFAULT_TOKEN_REFRESH_INTERVAL, INITIAL_REFRESH_RETRY, RefreshTimings,
    TokenRefresher,
};
pub use channels::{
    AUTHORITY_DOMAIN, AuthenticatedChannel, ChannelPool, RobotChannel, normalize_authority,
};
pub use config::{
    DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_ROBOT_PORT, RobotConfig,
    RobotConfigBuilder,
};
pub use error::RobotError;
pub use lookup::ServiceLookupError;
pub use proxy_error::{ProxyError, classify_status};
pub use tls::{BOSTON_DYNAMICS_ROOT_CA_PEM, Trust};
pub use token::{AUTHORIZATION, AuthInterceptor, Token, TokenStore};

/// The authority of the auth service (`GetAuthToken`).
pub const AUTH_AUTHORITY: &str = "auth.spot.robot";
/// The authority of the directory service (`ListServiceEntries`, …).
pub const DIRECTORY_AUTHORITY: &str = "api.spot.robot";
/// The authority of the directory-registration service.
pub const DIRECTORY_REGISTRATION_AUTHORITY: &str = "api.spot.robot";
/// The authority of the payload-registration service.
pub const PAYLOAD_REGISTRATION_AUTHORITY: &str = "payload-registration.spot.robot";
/// The authority of the robot-id service.
pub const ROBOT_ID_AUTHORITY: &str = "id.spot.robot";

/// A connection to one robot: its configuration, its channels (one per authority) and the
/// bearer token of its calls.
///
/// Cheap to clone: clones share channels and token.
#[derive(Clone)]
pub struct Robot {
    inner: Arc<Inner>,
}

struct Inner {
    config: RobotConfig,
    channels: ChannelPool,
    tokens: TokenStore,
}

impl fmt::Debug for Robot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Robot")
            .field("config", &self.inner.config)
            .field("channels", &self.inner.channels)
            .field("tokens", &self.inner.tokens)
            .finish()
    }
}

impl Robot {
    /// A connection to the robot `config` describes, with an empty [`TokenStore`]. Loads the
    /// trust (reading [`Trust::CaFile`]); connects nothing yet.
    pub fn new(config: RobotConfig) -> Result<Self, RobotError> {
        Self::with_tokens(config, TokenStore::new())
    }

    /// Like [`Robot::new`], with calls carrying the token of `tokens`.
    pub fn with_tokens(config: RobotConfig, tokens: TokenStore) -> Result<Self, RobotError> {
        let trust = config.trust().load()?;
        let settings = channels::PoolSettings::new(&config, trust)?;
        Ok(Self {
            inner: Arc::new(Inner {
                channels: ChannelPool::new(settings),
                config,
                tokens,
            }),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &RobotConfig {
        &self.inner.config
    }

    /// The `client_name` to put in request headers.
    pub fn client_name(&self) -> &str {
        self.inner.config.client_name()
    }

    /// The bearer token its calls carry (through [`Robot::intercepted`]).
    pub fn tokens(&self) -> &TokenStore {
        &self.inner.tokens
    }

    /// Its channels.
    pub fn channels(&self) -> &ChannelPool {
        &self.inner.channels
    }

    /// The channel to `authority` (e.g. `id.spot.robot`; a bare label is expanded, see
    /// [`normalize_authority`]), connected on first use and then cached. Its calls carry no
    /// token; see [`Robot::intercepted`].
    pub async fn channel(&self, authority: &str) -> Result<RobotChannel, RobotError> {
        self.inner.channels.get(authority).await
    }

    /// The channel to `authority`, with calls carrying `authorization: Bearer <token>` while
    /// [`Robot::tokens`] holds a token.
    pub async fn intercepted(&self, authority: &str) -> Result<AuthenticatedChannel, RobotError> {
        let channel = self.channel(authority).await?;
        Ok(AuthenticatedChannel::new(channel, self.auth_interceptor()))
    }

    /// The channel to `authority`, connecting lazily: unlike [`Robot::channel`], this does no
    /// network I/O and succeeds while the robot is down (e.g. still booting). The channel
    /// connects on its first call and reconnects as needed; while the robot is unreachable, each
    /// call fails with a status [`classify_status`] reports as [`ProxyError::Unreachable`].
    /// Same TLS configuration and call deadlines as [`Robot::channel`]; cached per authority
    /// (see [`ChannelPool::get_lazy`]).
    ///
    /// Fails only for an invalid authority, an unusable TLS configuration, or outside a Tokio
    /// runtime ([`RobotError::NoRuntime`]).
    pub fn lazy_channel(&self, authority: &str) -> Result<RobotChannel, RobotError> {
        self.inner.channels.get_lazy(authority)
    }

    /// [`Robot::lazy_channel`] with calls carrying `authorization: Bearer <token>` while
    /// [`Robot::tokens`] holds a token (read at each call, so a token obtained later is used).
    /// For clients that must exist before the robot is reachable, such as the
    /// [`DirectoryRegistrationClient`](crate::directory::DirectoryRegistrationClient) of a
    /// directory keep-alive, which then retries until the robot is up.
    pub fn lazy_intercepted(&self, authority: &str) -> Result<AuthenticatedChannel, RobotError> {
        let channel = self.lazy_channel(authority)?;
        Ok(AuthenticatedChannel::new(channel, self.auth_interceptor()))
    }

    /// An interceptor attaching this robot's token.
    pub fn auth_interceptor(&self) -> AuthInterceptor {
        AuthInterceptor::new(self.inner.tokens.clone())
    }
}
