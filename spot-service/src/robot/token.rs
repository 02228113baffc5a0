//! The bearer token calls to the robot carry, and the interceptor that attaches it.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

use super::RobotError;

/// The metadata key of the bearer token.
pub const AUTHORIZATION: &str = "authorization";

/// A bearer token (a user token or a payload token). Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// The token itself, e.g. to put in a `GetAuthTokenRequest`. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The current bearer token, shared by everything that talks to one robot.
///
/// Cheap to clone: clones share the token. Setting it takes effect on the next call of every
/// client built with an [`AuthInterceptor`] on this store. Its `Debug` output never shows the
/// token.
#[derive(Clone, Default)]
pub struct TokenStore {
    inner: Arc<RwLock<Option<Stored>>>,
}

struct Stored {
    token: Token,
    /// `Bearer <token>`, built once, marked sensitive (never HPACK-indexed).
    header: AsciiMetadataValue,
}

impl TokenStore {
    /// An empty store: calls carry no `authorization` header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the token. From the next call on, calls carry `authorization: Bearer <token>`.
    ///
    /// Fails, leaving the store unchanged, if the token is empty or holds characters that cannot
    /// appear in a header (tokens the robot issues are JWTs, which never do).
    pub fn set(&self, token: impl Into<String>) -> Result<(), RobotError> {
        let token: String = token.into();
        if token.is_empty() {
            return Err(RobotError::InvalidToken {
                reason: "the token is empty",
            });
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RobotError::InvalidToken {
                reason: "the token holds characters other than visible ASCII",
            });
        }
        let mut header: AsciiMetadataValue = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| RobotError::InvalidToken {
                reason: "the token cannot be sent in a header",
            })?;
        header.set_sensitive(true);
        let stored = Stored {
            token: Token(token.into()),
            header,
        };
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = Some(stored);
        Ok(())
    }

    /// Forgets the token: calls carry no `authorization` header any more.
    pub fn clear(&self) {
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The current token, if any.
    pub fn get(&self) -> Option<Token> {
        self.read(|stored| stored.token.clone())
    }

    /// Whether a token is set.
    pub fn is_set(&self) -> bool {
        self.read(|_| ()).is_some()
    }

    /// The `authorization` header value (`Bearer <token>`), if a token is set.
    pub(crate) fn authorization(&self) -> Option<AsciiMetadataValue> {
        self.read(|stored| stored.header.clone())
    }

    fn read<T>(&self, f: impl FnOnce(&Stored) -> T) -> Option<T> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(f)
    }
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = if self.is_set() {
            "Some(<redacted>)"
        } else {
            "None"
        };
        f.debug_struct("TokenStore")
            .field("token", &format_args!("{token}"))
            .finish()
    }
}

/// A tonic interceptor that adds `authorization: Bearer <token>` to every call while its
/// [`TokenStore`] holds a token, and nothing while it holds none (e.g. before login, or for the
/// payload-registration calls that need no token).
///
/// A call that already carries an `authorization` header keeps it.
#[derive(Clone, Debug)]
pub struct AuthInterceptor {
    tokens: TokenStore,
}

impl AuthInterceptor {
    /// An interceptor reading the token from `tokens`.
    pub fn new(tokens: TokenStore) -> Self {
        Self { tokens }
    }

    /// The store it reads the token from.
    pub fn tokens(&self) -> &TokenStore {
        &self.tokens
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if !request.metadata().contains_key(AUTHORIZATION)
            && let Some(value) = self.tokens.authorization()
        {
            request.metadata_mut().insert(AUTHORIZATION, value);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intercept(interceptor: &mut AuthInterceptor, request: Request<()>) -> Option<String> {
        interceptor
            .call(request)
            .expect("never rejects")
            .metadata()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn header_follows_the_store() {
        let tokens = TokenStore::new();
        let mut interceptor = AuthInterceptor::new(tokens.clone());
        assert_eq!(intercept(&mut interceptor, Request::new(())), None);

        tokens.set("abc.def.ghi").expect("valid token");
        assert_eq!(
            intercept(&mut interceptor, Request::new(())).as_deref(),
            Some("Bearer abc.def.ghi")
        );
        assert_eq!(tokens.get().expect("set").expose(), "abc.def.ghi");

        tokens.set("second").expect("valid token");
        assert_eq!(
            intercept(&mut interceptor, Request::new(())).as_deref(),
            Some("Bearer second")
        );

        tokens.clear();
        assert!(!tokens.is_set());
        assert_eq!(intercept(&mut interceptor, Request::new(())), None);
    }

    #[test]
    fn explicit_header_is_kept() {
        let tokens = TokenStore::new();
        tokens.set("store-token").expect("valid token");
        let mut request = Request::new(());
        request
            .metadata_mut()
            .insert(AUTHORIZATION, "Bearer explicit".parse().expect("ascii"));
        assert_eq!(
            intercept(&mut AuthInterceptor::new(tokens), request).as_deref(),
            Some("Bearer explicit")
        );
    }

    #[test]
    fn header_is_sensitive() {
        let tokens = TokenStore::new();
        tokens.set("t").expect("valid token");
        assert!(tokens.authorization().expect("set").is_sensitive());
    }

    #[test]
    fn invalid_tokens_are_rejected_and_leave_the_store_alone() {
        let tokens = TokenStore::new();
        tokens.set("good").expect("valid token");
        for bad in ["", "with space", "new\nline", "caf\u{e9}"] {
            let err = tokens.set(bad).expect_err("rejected");
            assert!(matches!(err, RobotError::InvalidToken { .. }), "{err:?}");
            assert!(!err.to_string().contains(bad) || bad.is_empty());
        }
        assert_eq!(tokens.get().expect("kept").expose(), "good");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let tokens = TokenStore::new();
        assert_eq!(format!("{tokens:?}"), "TokenStore { token: None }");
        tokens.set("super-secret").expect("valid token");
        let store = format!("{tokens:?}");
        let token = format!("{:?}", tokens.get().expect("set"));
        let interceptor = format!("{:?}", AuthInterceptor::new(tokens.clone()));
        for shown in [&store, &token, &interceptor] {
            assert!(!shown.contains("super-secret"), "{shown}");
        }
        assert_eq!(store, "TokenStore { token: Some(<redacted>) }");
        assert_eq!(token, "Token(<redacted>)");
    }
}
