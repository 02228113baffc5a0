//! What the emulated robot remembers: its users and the tokens it issued, its service directory,
//! and the payloads registered with it (payloads and tokens are kept in a state file, so they
//! survive restarts like the registrations and the JWTs of a real robot survive reboots).
//!
//! [`EmulatorState`] is cheap to clone (clones share everything) and safe to use from any task.
//! The emulated services ([`crate::emulator::services`]) answer RPCs from it, the TLS front routes
//! calls with its [`Routing`] implementation, and an operator (the `spot-emulator` binary, or a
//! test) uses its methods directly, e.g. [`EmulatorState::authorize_payload`] where a real
//! robot's administrator would click "Authorize" in the admin web page.
//!
//! Every method takes one short lock and never waits on I/O other than reading and rewriting the
//! small state file after a payload change or a new token (under the file's advisory lock, which
//! other processes hold only while they rewrite it). Another process (`spot-emulator authorize`)
//! may change the file while the emulator runs: [`EmulatorState::refresh_from_file`] merges such
//! changes, and every write merges them first.

mod auth;
mod directory;
mod payloads;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::payload::credentials::Secret;
use crate::proto::bosdyn::api::ServiceEntry;

use super::routing::{Routing, ServiceRoute};

pub use auth::{AuthFailure, TokenOwner};
pub use directory::DirectoryError;
pub use payloads::{PayloadError, PayloadInfo};
pub use store::{STATE_FILE_HEADER, StateError};

/// Lifetime of the tokens the emulator issues unless configured otherwise: 12 hours, like the
/// robot's.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// Consecutive failed logins of one username after which its logins are refused for a while.
pub const DEFAULT_MAX_FAILED_LOGINS: u32 = 5;

/// How long logins stay refused (`STATUS_TEMPORARILY_LOCKED_OUT`) after too many failures.
pub const DEFAULT_LOCKOUT_DURATION: Duration = Duration::from_secs(60);

/// Serial number of the emulated robot unless configured otherwise.
pub const DEFAULT_SERIAL_NUMBER: &str = "spot-emulator-0001";

/// Nickname of the emulated robot unless configured otherwise.
pub const DEFAULT_NICKNAME: &str = "spot-emulator";

/// Software version the emulated robot reports: `(major, minor, patch)`.
pub const EMULATED_SOFTWARE_VERSION: (i32, i32, i32) = (5, 2, 0);

/// How the emulated robot behaves: who may log in, how long tokens last, where payload
/// registrations are kept, and what it calls itself.
///
/// Start from [`EmulatorConfig::default`] and change what you need:
///
/// ```
/// use spot_service::emulator::state::EmulatorConfig;
///
/// let config = EmulatorConfig::default()
///     .with_user("admin", "correct horse battery staple")
///     .with_state_file("/var/lib/spot-emulator/state");
/// assert!(config.users.contains_key("admin"));
/// ```
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Who may log in: username -> password. Empty by default (no login succeeds).
    pub users: HashMap<String, Secret>,
    /// How long issued tokens stay valid (default [`DEFAULT_TOKEN_LIFETIME`]).
    pub token_lifetime: Duration,
    /// Consecutive failed logins of one username after which its logins are refused for
    /// [`lockout_duration`](Self::lockout_duration) (default [`DEFAULT_MAX_FAILED_LOGINS`]);
    /// `0` disables the lockout.
    pub max_failed_logins: u32,
    /// How long a username stays locked out (default [`DEFAULT_LOCKOUT_DURATION`]).
    pub lockout_duration: Duration,
    /// Where payload registrations and issued tokens are kept; `None` keeps them in memory
    /// only.
    pub state_file: Option<PathBuf>,
    /// Whether newly registered payloads are authorized at once, without an operator.
    pub auto_authorize: bool,
    /// The robot's serial number (default [`DEFAULT_SERIAL_NUMBER`]).
    pub serial_number: String,
    /// The robot's nickname (default [`DEFAULT_NICKNAME`]).
    pub nickname: String,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            users: HashMap::new(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            max_failed_logins: DEFAULT_MAX_FAILED_LOGINS,
            lockout_duration: DEFAULT_LOCKOUT_DURATION,
            state_file: None,
            auto_authorize: false,
            serial_number: DEFAULT_SERIAL_NUMBER.to_owned(),
            nickname: DEFAULT_NICKNAME.to_owned(),
        }
    }
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&str> = self.users.keys().map(String::as_str).collect();
        users.sort_unstable();
        f.debug_struct("EmulatorConfig")
            .field("users", &users)
            .field("token_lifetime", &self.token_lifetime)
            .field("max_failed_logins", &self.max_failed_logins)
            .field("lockout_duration", &self.lockout_duration)
            .field("state_file", &self.state_file)
            .field("auto_authorize", &self.auto_authorize)
            .field("serial_number", &self.serial_number)
            .field("nickname", &self.nickname)
            .finish()
    }
}

impl EmulatorConfig {
    /// Adds (or replaces) a user who may log in.
    pub fn with_user(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.insert(username.into(), Secret::new(password));
        self
    }

    /// Sets the lifetime of issued tokens.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Sets the login lockout: after `max_failed_logins` consecutive failures (0 disables it),
    /// logins of that username are refused for `duration`.
    pub fn with_lockout(mut self, max_failed_logins: u32, duration: Duration) -> Self {
        self.max_failed_logins = max_failed_logins;
        self.lockout_duration = duration;
        self
    }

    /// Keeps payload registrations and issued tokens in `path` (loaded at start, rewritten on
    /// every change).
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Authorizes newly registered payloads at once (`true`), or leaves that to an operator.
    pub fn with_auto_authorize(mut self, auto_authorize: bool) -> Self {
        self.auto_authorize = auto_authorize;
        self
    }

    /// Sets the robot's serial number and nickname.
    pub fn with_identity(
        mut self,
        serial_number: impl Into<String>,
        nickname: impl Into<String>,
    ) -> Self {
        self.serial_number = serial_number.into();
        self.nickname = nickname.into();
        self
    }
}

/// The emulated robot's memory. Cheap to clone: clones share one state.
///
/// It implements [`Routing`]: [`route`](Routing::route) finds the registered service for an
/// authority and [`token_is_valid`](Routing::token_is_valid) checks bearer tokens.
#[derive(Clone)]
pub struct EmulatorState {
    inner: Arc<Inner>,
}

struct Inner {
    config: EmulatorConfig,
    /// Directory entries of the emulator's own services: listed, never routed, never dropped.
    builtins: Vec<ServiceEntry>,
    data: Mutex<Data>,
}

/// Everything that changes, behind one lock.
#[derive(Default)]
struct Data {
    /// Issued tokens by value.
    tokens: HashMap<String, auth::TokenRecord>,
    /// Failed-login bookkeeping by username.
    logins: HashMap<String, auth::LoginRecord>,
    /// Registered services by name.
    directory: BTreeMap<String, directory::DirectoryRecord>,
    /// Registered payloads by GUID.
    payloads: BTreeMap<String, payloads::PayloadRecord>,
    /// The state file as last read or written (`None`: not looked at yet, or no state file).
    file: Option<store::FileSeen>,
}

impl fmt::Debug for EmulatorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.lock();
        f.debug_struct("EmulatorState")
            .field("config", &self.inner.config)
            .field("tokens", &data.tokens.len())
            .field("services", &data.directory.keys().collect::<Vec<_>>())
            .field("payloads", &data.payloads.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl EmulatorState {
    /// The state of a robot configured by `config`. If `config.state_file` exists, the payloads
    /// registered in it and the tokens it holds (unless expired) are loaded; a missing file is
    /// an empty one (it is created on the first payload change or token).
    ///
    /// The directory lists the emulator's own services
    /// ([`builtin_service_entries`](crate::emulator::services::builtin_service_entries)).
    ///
    /// # Errors
    ///
    /// The state file exists but cannot be read or is not in the expected format.
    pub fn new(config: EmulatorConfig) -> Result<Self, StateError> {
        let mut data = Data::default();
        if let Some(path) = &config.state_file {
            let (contents, seen) = store::load(path)?;
            data.payloads = contents.payloads;
            store::adopt_tokens(&mut data, contents.tokens);
            data.file = Some(seen);
            tracing::info!(
                path = %path.display(),
                payloads = data.payloads.len(),
                tokens = data.tokens.len(),
                "loaded emulator state file"
            );
        }
        let now = SystemTime::now();
        let builtins = crate::emulator::services::builtin_service_entries()
            .into_iter()
            .map(|mut entry| {
                entry.last_update = Some(prost_types::Timestamp::from(now));
                entry
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                builtins,
                data: Mutex::new(data),
            }),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// Emulates a robot reboot: the directory forgets every registered service (they must
    /// register again, as after a real reboot) and login lockouts end. Payload registrations and
    /// issued tokens (JWTs on a real robot, which survive reboots) are kept.
    pub fn reboot(&self) {
        let mut data = self.lock();
        let services = data.directory.len();
        data.directory.clear();
        data.logins.clear();
        tracing::info!(
            dropped_services = services,
            "emulated robot rebooted: directory cleared"
        );
    }

    /// Drops what has expired: directory entries whose liveness timeout passed without a
    /// heartbeat, expired tokens and ended lockouts. Every access does this lazily for what it
    /// reads; call this to do it all now (e.g. periodically). Returns the names of the dropped
    /// services.
    pub fn sweep(&self) -> Vec<String> {
        let now = Instant::now();
        let mut data = self.lock();
        auth::sweep(&mut data, now);
        directory::sweep(&mut data, now)
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        // No code holding the lock can panic halfway through a change that matters (payload
        // changes are made on a copy and swapped in), so a poisoned lock is still usable.
        self.inner
            .data
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Routing for EmulatorState {
    fn route(&self, authority: &str) -> Option<ServiceRoute> {
        self.route_authority(authority)
    }

    fn token_is_valid(&self, token: &str) -> bool {
        self.token_owner(token).is_some()
    }
}

#[cfg(test)]
mod tests;
