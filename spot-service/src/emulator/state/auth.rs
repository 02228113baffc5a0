//! Logins, login lockout, and the tokens the emulator issues.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Data, EmulatorState};

/// Random bytes in a token (encoded as 43 characters of URL-safe base64).
const TOKEN_BYTES: usize = 32;

/// Who a token was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOwner {
    /// A user who logged in with a username and password.
    User(String),
    /// A payload, through `GetPayloadAuthToken` (its GUID).
    Payload(String),
}

/// Why `GetAuthToken` failed; each variant is one status of `GetAuthTokenResponse`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// Wrong username or password (`STATUS_INVALID_LOGIN`).
    #[error("invalid login")]
    InvalidLogin,
    /// The token to refresh is unknown, expired or revoked (`STATUS_INVALID_TOKEN`).
    #[error("invalid token")]
    InvalidToken,
    /// Too many failed logins of this username (`STATUS_TEMPORARILY_LOCKED_OUT`).
    #[error("temporarily locked out")]
    TemporarilyLockedOut,
}

/// An issued token.
#[derive(Debug, Clone)]
pub(super) struct TokenRecord {
    pub(super) owner: TokenOwner,
    expires_at: Instant,
    /// The same expiry in seconds since the Unix epoch (rounded down), for the state file.
    pub(super) expires_unix: u64,
}

impl TokenRecord {
    /// A token issued at `now` (Unix time `now_unix`), valid for `lifetime`.
    fn new(owner: TokenOwner, now: Instant, lifetime: Duration) -> Self {
        let expires_wall = SystemTime::now() + lifetime;
        Self {
            owner,
            expires_at: now + lifetime,
            expires_unix: expires_wall
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
        }
    }

    /// A token read from the state file, expiring at `expires_unix`; `None` if it has expired
    /// (at `now`, Unix time `now_unix`).
    pub(super) fn restore(
        owner: TokenOwner,
        expires_unix: u64,
        now: Instant,
        now_unix: u64,
    ) -> Option<Self> {
        let left = expires_unix
            .checked_sub(now_unix)
            .filter(|&left| left > 0)?;
        Some(Self {
            owner,
            expires_at: now.checked_add(Duration::from_secs(left))?,
            expires_unix,
        })
    }
}

/// Failed logins of one username.
#[derive(Debug, Clone, Default)]
pub(super) struct LoginRecord {
    /// Consecutive failures since the last success or lockout.
    failures: u32,
    /// Logins are refused until then.
    locked_until: Option<Instant>,
}

/// Compares without stopping at the first difference, so timing tells nothing about the
/// password.
pub(super) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

/// A fresh, unguessable token: 32 random bytes, URL-safe base64.
fn new_token_value() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // Without randomness no token may be issued: an unguessable token is the whole point.
        panic!("the operating system's random number generator failed: {error}");
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Drops expired tokens and ended lockouts.
pub(super) fn sweep(data: &mut Data, now: Instant) {
    data.tokens.retain(|_, record| record.expires_at > now);
    data.logins.retain(|_, record| {
        record.failures > 0 || record.locked_until.is_some_and(|until| until > now)
    });
}

/// The owner of `token` if it is valid at `now`: issued here, unexpired, and for payload tokens
/// the payload still registered and authorized.
fn valid_owner(data: &Data, token: &str, now: Instant) -> Option<TokenOwner> {
    let record = data.tokens.get(token)?;
    if record.expires_at <= now {
        return None;
    }
    if let TokenOwner::Payload(guid) = &record.owner
        && !data.payloads.get(guid).is_some_and(|p| p.authorized)
    {
        return None;
    }
    Some(record.owner.clone())
}

impl EmulatorState {
    /// Issues a token to `owner`, valid for the configured lifetime, and keeps it in the state
    /// file if there is one (if that fails, the token is still valid until this emulator stops).
    pub(super) fn issue_token(&self, data: &mut Data, owner: TokenOwner, now: Instant) -> String {
        sweep(data, now);
        let token = new_token_value();
        data.tokens.insert(
            token.clone(),
            TokenRecord::new(owner, now, self.inner.config.token_lifetime),
        );
        if let Err(error) = self.persist(data, |data| {
            Ok::<_, super::StateError>((data.payloads.clone(), ()))
        }) {
            tracing::warn!(
                %error,
                "could not keep the new token in the emulator state file: it will not survive a \
                 restart"
            );
        }
        token
    }

    /// `GetAuthToken` with a username and password: a new user token, or why not.
    ///
    /// After [`max_failed_logins`](super::EmulatorConfig::max_failed_logins) consecutive failures
    /// of one username (the attempt that reaches the limit still answers
    /// [`InvalidLogin`](AuthFailure::InvalidLogin)), every login of that username answers
    /// [`TemporarilyLockedOut`](AuthFailure::TemporarilyLockedOut) for the
    /// [`lockout_duration`](super::EmulatorConfig::lockout_duration), even with the right
    /// password. A success resets the count.
    pub fn login(&self, username: &str, password: &str) -> Result<String, AuthFailure> {
        let config = &self.inner.config;
        let now = Instant::now();
        let mut data = self.lock();
        let record = data.logins.entry(username.to_owned()).or_default();
        if let Some(until) = record.locked_until {
            if until > now {
                tracing::warn!(
                    username,
                    "login refused: user temporarily locked out after too many failed logins"
                );
                return Err(AuthFailure::TemporarilyLockedOut);
            }
            *record = LoginRecord::default();
        }
        let correct = config
            .users
            .get(username)
            .is_some_and(|expected| same_secret(expected.expose(), password));
        if !correct {
            record.failures += 1;
            let failures = record.failures;
            if config.max_failed_logins > 0 && failures >= config.max_failed_logins {
                record.failures = 0;
                record.locked_until = Some(now + config.lockout_duration);
                tracing::warn!(
                    username,
                    failures,
                    lockout = ?config.lockout_duration,
                    "login failed: wrong username or password; too many failures, user locked out"
                );
            } else {
                tracing::warn!(
                    username,
                    failures,
                    "login failed: wrong username or password"
                );
            }
            return Err(AuthFailure::InvalidLogin);
        }
        data.logins.remove(username);
        let token = self.issue_token(&mut data, TokenOwner::User(username.to_owned()), now);
        tracing::info!(username, "user logged in: token issued");
        Ok(token)
    }

    /// `GetAuthToken` with a token: a new token for the same owner (user or payload) if `token`
    /// is valid. The old token stays valid until it expires, as a JWT would.
    pub fn refresh_token(&self, token: &str) -> Result<String, AuthFailure> {
        let now = Instant::now();
        let mut data = self.lock();
        let Some(owner) = valid_owner(&data, token, now) else {
            tracing::warn!("token refresh refused: unknown, expired or revoked token");
            return Err(AuthFailure::InvalidToken);
        };
        let fresh = self.issue_token(&mut data, owner.clone(), now);
        match &owner {
            TokenOwner::User(username) => tracing::info!(username, "user token refreshed"),
            TokenOwner::Payload(guid) => tracing::info!(guid, "payload token refreshed"),
        }
        Ok(fresh)
    }

    /// Who `token` belongs to, if it is valid: issued by this emulator, not expired, and (for a
    /// payload token) its payload still registered and authorized.
    pub fn token_owner(&self, token: &str) -> Option<TokenOwner> {
        valid_owner(&self.lock(), token, Instant::now())
    }

    /// How many issued tokens are still valid (expired ones are dropped first).
    pub fn token_count(&self) -> usize {
        let mut data = self.lock();
        sweep(&mut data, Instant::now());
        data.tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_secret_compares_whole_strings() {
        assert!(same_secret("", ""));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", "a"));
        // A byte equal to the complement of its counterpart must not make a shorter string pass.
        assert!(!same_secret("a", "a\u{0}"));
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = new_token_value();
        let b = new_token_value();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }
}
