//! User tokens: login with username and password, every GetAuthToken status as a typed error,
//! token refresh, and the background refresher (hourly on a robot; milliseconds here), including
//! recovery after the robot failed to answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spot_service::ServiceRunner;
use spot_service::payload::credentials::Secret;
use spot_service::proto::bosdyn::api::auth_service_server::AuthService;
use spot_service::proto::bosdyn::api::{
    GetAuthTokenRequest, GetAuthTokenResponse, get_auth_token_response::Status,
};
use spot_service::robot::{AuthClient, AuthError, RefreshTimings, TokenRefresher, TokenStore};
use spot_service::{RpcError, spot_service};
use tests_integration::{RunningServer, channel, spawn};

const PASSWORD: &str = "correct horse battery staple";

/// A fake robot auth service: one user, tokens `token-<n>`, lockout after 3 failed logins, and a
/// switch that makes the next calls fail as if the robot were unreachable.
#[derive(Debug, Clone, Default)]
struct FakeAuth {
    valid_tokens: Arc<Mutex<HashMap<String, ()>>>,
    issued: Arc<AtomicU32>,
    failed_logins: Arc<AtomicU32>,
    refreshes: Arc<AtomicU32>,
    fail_next: Arc<AtomicU32>,
}

impl FakeAuth {
    fn issue(&self) -> String {
        let token = format!("token-{}", self.issued.fetch_add(1, Ordering::SeqCst));
        self.valid_tokens.lock().unwrap().insert(token.clone(), ());
        token
    }
}

#[spot_service(
    name = "auth",
    authority = "auth.spot.robot",
    user_token_required = false
)]
impl AuthService for FakeAuth {
    async fn get_auth_token(
        &self,
        request: GetAuthTokenRequest,
    ) -> spot_service::Result<GetAuthTokenResponse> {
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(RpcError::status(tonic::Status::unavailable(
                "robot rebooting",
            )));
        }
        let (status, token) = if !request.token.is_empty() {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            let known = self
                .valid_tokens
                .lock()
                .unwrap()
                .remove(&request.token)
                .is_some();
            if known {
                (Status::Ok, self.issue())
            } else {
                (Status::InvalidToken, String::new())
            }
        } else if self.failed_logins.load(Ordering::SeqCst) >= 3 {
            (Status::TemporarilyLockedOut, String::new())
        } else if request.username == "admin" && request.password == PASSWORD {
            (Status::Ok, self.issue())
        } else {
            self.failed_logins.fetch_add(1, Ordering::SeqCst);
            (Status::InvalidLogin, String::new())
        };
        Ok(GetAuthTokenResponse {
            header: None,
            status: status as i32,
            token,
        })
    }
}

async fn start() -> (
    FakeAuth,
    RunningServer,
    AuthClient<tonic::transport::Channel>,
) {
    let fake = FakeAuth::default();
    let server = spawn(
        ServiceRunner::builder()
            .host("127.0.0.1")
            .add_service(fake.clone())
            .build()
            .await
            .unwrap(),
    );
    let client = AuthClient::new(channel(server.uri()).await).with_client_name("auth-test");
    (fake, server, client)
}

#[tokio::test]
async fn login_refresh_and_every_status() {
    let (_fake, server, mut client) = start().await;
    let token = client.login("admin", &Secret::new(PASSWORD)).await.unwrap();
    assert_eq!(token.expose(), "token-0");

    let fresh = client.refresh(token.expose()).await.unwrap();
    assert_eq!(fresh.expose(), "token-1");
    let reused = client.refresh(token.expose()).await.unwrap_err();
    assert!(matches!(reused, AuthError::InvalidToken), "{reused}");

    let wrong = client
        .login("admin", &Secret::new("hunter2"))
        .await
        .unwrap_err();
    assert!(matches!(&wrong, AuthError::InvalidLogin { username } if username == "admin"));
    assert!(
        !format!("{wrong} {wrong:?}").contains("hunter2"),
        "the password never appears in errors"
    );
    for _ in 0..2 {
        client
            .login("admin", &Secret::new("nope"))
            .await
            .unwrap_err();
    }
    let locked = client
        .login("admin", &Secret::new(PASSWORD))
        .await
        .unwrap_err();
    assert!(
        matches!(locked, AuthError::TemporarilyLockedOut),
        "{locked}"
    );
    server.stop().await;
}

#[tokio::test]
async fn login_into_feeds_the_token_store() {
    let (_fake, server, mut client) = start().await;
    let tokens = TokenStore::new();
    client
        .login_into("admin", &Secret::new(PASSWORD), &tokens)
        .await
        .unwrap();
    assert_eq!(tokens.get().unwrap().expose(), "token-0");
    assert!(
        !format!("{tokens:?}").contains("token-0"),
        "tokens are redacted"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_refresher_keeps_the_token_fresh_and_recovers_from_failures() {
    let (fake, server, mut client) = start().await;
    let tokens = TokenStore::new();
    client
        .login_into("admin", &Secret::new(PASSWORD), &tokens)
        .await
        .unwrap();
    let timings = RefreshTimings {
        interval: Duration::from_millis(40),
        initial_retry: Duration::from_millis(5),
    };
    let refresher = TokenRefresher::spawn(client.clone(), tokens.clone(), timings);

    // Several refreshes happen, each replacing the token with a new valid one.
    tokio::time::timeout(Duration::from_secs(10), async {
        while fake.refreshes.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("refreshed three times");
    let current = tokens.get().unwrap();
    assert_ne!(current.expose(), "token-0");

    // The robot stops answering for a few calls: the refresher retries sooner and recovers.
    let before = fake.refreshes.load(Ordering::SeqCst);
    fake.fail_next.store(3, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(10), async {
        while fake.fail_next.load(Ordering::SeqCst) > 0
            || fake.refreshes.load(Ordering::SeqCst) <= before
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("recovered after the failures");
    // The stored token is one the robot accepts. Looked up without using it (the fake consumes
    // a token that is refreshed), and polled: between a refresh reaching the robot and its
    // answer being stored, the stored token is the consumed one.
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let stored = tokens.get().unwrap();
            if fake
                .valid_tokens
                .lock()
                .unwrap()
                .contains_key(stored.expose())
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("the stored token is valid");
    refresher.shutdown().await;

    // Once shut down, nothing refreshes any more.
    let after = fake.refreshes.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), after);
    server.stop().await;
}
