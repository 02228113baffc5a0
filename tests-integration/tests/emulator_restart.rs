//! The emulator's state file across restarts and processes, driven by the real clients over
//! loopback h2c: issued tokens survive a restart (as a real robot's JWTs survive a reboot), and
//! an operator's authorization written to the state file by another process (`spot-emulator
//! authorize GUID`, here a second `EmulatorState` on the same file) reaches a running emulator
//! through `EmulatorState::refresh_from_file`.

use std::time::Duration;

use spot_service::ServiceRunner;
use spot_service::emulator::routing::Routing as _;
use spot_service::emulator::services;
use spot_service::emulator::state::{EmulatorConfig, EmulatorState, TokenOwner};
use spot_service::payload::credentials::{PayloadCredentials, Secret};
use spot_service::payload::registration::{AuthorizationWait, PayloadRegistrationClient};
use spot_service::proto::bosdyn::api::Payload;
use spot_service::robot::{AuthClient, AuthError};
use tests_integration::{RunningServer, channel, spawn};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// Upper bound for anything a test waits for: no test can hang.
const PATIENCE: Duration = Duration::from_secs(10);
const USER: &str = "admin";
const PASSWORD: &str = "correct horse battery staple";

/// Bounds a future by [`PATIENCE`].
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .expect("took longer than the test's patience")
}

/// The emulated services over one state, on a loopback port.
struct Emulator {
    state: EmulatorState,
    server: RunningServer,
    channel: Channel,
}

impl Emulator {
    async fn start(config: EmulatorConfig) -> Self {
        let state = EmulatorState::new(config).expect("state");
        let runner = services::add_all(ServiceRunner::builder().host("127.0.0.1"), &state)
            .build()
            .await
            .expect("runner builds");
        let server = spawn(runner);
        let channel = bounded(channel(server.uri())).await;
        Self {
            state,
            server,
            channel,
        }
    }

    fn auth(&self) -> AuthClient<Channel> {
        AuthClient::new(self.channel.clone()).with_client_name("emulator-restart-test")
    }

    fn payloads(&self) -> PayloadRegistrationClient<Channel> {
        PayloadRegistrationClient::new(self.channel.clone())
            .with_client_name("emulator-restart-test")
    }

    async fn stop(self) {
        bounded(self.server.stop()).await;
    }
}

fn config(state_file: &std::path::Path) -> EmulatorConfig {
    EmulatorConfig::default()
        .with_user(USER, PASSWORD)
        .with_state_file(state_file)
}

fn payload(credentials: &PayloadCredentials) -> Payload {
    Payload {
        guid: credentials.guid().to_owned(),
        name: "emulator restart test payload".into(),
        ..Default::default()
    }
}

fn fast_wait() -> AuthorizationWait {
    AuthorizationWait {
        poll_interval: Duration::from_millis(10),
        reminder_interval: Duration::from_millis(100),
        time_limit: Some(PATIENCE),
        cancel: CancellationToken::new(),
    }
}

#[tokio::test]
async fn user_and_payload_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.txt");
    let credentials = PayloadCredentials::generate().unwrap();
    let (user_token, payload_token) = {
        let emulator = Emulator::start(config(&file)).await;
        let user_token = bounded(emulator.auth().login(USER, &Secret::new(PASSWORD)))
            .await
            .unwrap();
        let mut client = emulator.payloads();
        bounded(client.register_payload(payload(&credentials), credentials.secret()))
            .await
            .unwrap();
        emulator
            .state
            .authorize_payload(credentials.guid())
            .unwrap();
        let payload_token = bounded(client.get_payload_auth_token(&credentials))
            .await
            .unwrap();
        emulator.stop().await;
        (user_token, payload_token)
    };

    // A restart: a new emulator on the same state file.
    let emulator = Emulator::start(config(&file)).await;
    assert_eq!(
        emulator.state.token_owner(user_token.expose()),
        Some(TokenOwner::User(USER.into()))
    );
    assert_eq!(
        emulator.state.token_owner(payload_token.expose()),
        Some(TokenOwner::Payload(credentials.guid().to_owned()))
    );
    let mut auth = emulator.auth();
    let fresh = bounded(auth.refresh(user_token.expose()))
        .await
        .expect("an earlier user token refreshes after a restart");
    assert!(emulator.state.token_is_valid(fresh.expose()));
    bounded(auth.refresh(payload_token.expose()))
        .await
        .expect("an earlier payload token refreshes after a restart");
    let forged = bounded(auth.refresh("forged-token")).await.unwrap_err();
    assert!(matches!(forged, AuthError::InvalidToken), "{forged}");

    // Revoked while stopped (by the operator's process): its tokens stay invalid.
    emulator.stop().await;
    EmulatorState::new(config(&file))
        .unwrap()
        .revoke_payload(credentials.guid())
        .unwrap();
    let emulator = Emulator::start(config(&file)).await;
    let revoked = bounded(emulator.auth().refresh(payload_token.expose()))
        .await
        .unwrap_err();
    assert!(matches!(revoked, AuthError::InvalidToken), "{revoked}");
    assert!(emulator.state.token_is_valid(user_token.expose()));
    emulator.stop().await;
}

#[tokio::test]
async fn an_operator_process_authorizes_a_payload_on_a_running_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.txt");
    let emulator = Emulator::start(config(&file)).await;
    // What the running emulator does periodically.
    let refresher = {
        let state = emulator.state.clone();
        tokio::spawn(async move {
            loop {
                state.refresh_from_file().expect("state file refreshes");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let credentials = PayloadCredentials::generate().unwrap();
    let mut client = emulator.payloads();
    bounded(client.register_payload(payload(&credentials), credentials.secret()))
        .await
        .unwrap();

    // The operator's process (`spot-emulator authorize GUID`): its own state on the same file.
    let operator = {
        let file = file.clone();
        let guid = credentials.guid().to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let state = EmulatorState::new(EmulatorConfig::default().with_state_file(&file))
                .expect("the operator reads the state file");
            assert!(!state.payload(&guid).unwrap().authorized);
            state.authorize_payload(&guid).unwrap();
        })
    };
    let token = bounded(client.wait_for_authorization(&credentials, &fast_wait()))
        .await
        .expect("authorized by the operator's process");
    bounded(operator).await.unwrap();
    assert!(
        emulator
            .state
            .payload(credentials.guid())
            .unwrap()
            .authorized
    );
    assert!(emulator.state.token_is_valid(token.expose()));

    // Revoked by the operator's process: the token stops being valid.
    EmulatorState::new(EmulatorConfig::default().with_state_file(&file))
        .unwrap()
        .revoke_payload(credentials.guid())
        .unwrap();
    bounded(async {
        while emulator.state.token_is_valid(token.expose()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let revoked = bounded(emulator.auth().refresh(token.expose()))
        .await
        .unwrap_err();
    assert!(matches!(revoked, AuthError::InvalidToken), "{revoked}");

    refresher.abort();
    emulator.stop().await;
}
