//! The emulator's robot services (auth, robot-id, directory, directory registration, payload
//! registration) hosted with `ServiceRunner` on loopback h2c and driven by the real clients:
//! every status they answer, the lockout, token expiry, payload authorization by an operator,
//! the state file, liveness timeouts, reboots, and routing by authority.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use spot_service::ServiceRunner;
use spot_service::directory::{
    DirectoryRegistrationClient, DirectoryRegistrationError, ServiceRegistration,
};
use spot_service::emulator::routing::Routing;
use spot_service::emulator::services::{self, EmulatedDirectoryRegistration};
use spot_service::emulator::state::{EmulatorConfig, EmulatorState, TokenOwner};
use spot_service::payload::credentials::{PayloadCredentials, Secret};
use spot_service::payload::registration::{
    AuthorizationWait, PayloadRegistrationClient, PayloadRegistrationError,
};
use spot_service::proto::bosdyn::api::directory_registration_service_client::DirectoryRegistrationServiceClient;
use spot_service::proto::bosdyn::api::directory_service_client::DirectoryServiceClient;
use spot_service::proto::bosdyn::api::payload_registration_service_client::PayloadRegistrationServiceClient;
use spot_service::proto::bosdyn::api::robot_id_service_client::RobotIdServiceClient;
use spot_service::proto::bosdyn::api::{
    Endpoint, GetServiceEntryRequest, ListServiceEntriesRequest, Payload, RegisterPayloadRequest,
    RegisterServiceRequest, RobotIdRequest, ServiceEntry, SoftwareVersion,
    UpdatePayloadAttachedRequest, common_error, get_service_entry_response, service_entry,
};
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
        AuthClient::new(self.channel.clone()).with_client_name("emulator-test")
    }

    fn payloads(&self) -> PayloadRegistrationClient<Channel> {
        PayloadRegistrationClient::new(self.channel.clone()).with_client_name("emulator-test")
    }

    fn registration(&self) -> DirectoryRegistrationClient<Channel> {
        DirectoryRegistrationClient::new(self.channel.clone()).with_client_name("emulator-test")
    }

    fn directory(&self) -> DirectoryServiceClient<Channel> {
        DirectoryServiceClient::new(self.channel.clone())
    }

    async fn stop(self) {
        bounded(self.server.stop()).await;
    }
}

fn config() -> EmulatorConfig {
    EmulatorConfig::default().with_user(USER, PASSWORD)
}

/// A state file path in the system's temporary directory, removed on drop.
struct TempStateFile(PathBuf);

impl TempStateFile {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Self(std::env::temp_dir().join(format!(
            "spot-emulator-test-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        )))
    }
}

impl Drop for TempStateFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        // The advisory lock file writers of the state file take.
        let mut lock = self.0.clone().into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}

fn payload(credentials: &PayloadCredentials) -> Payload {
    Payload {
        guid: credentials.guid().to_owned(),
        name: "emulator test payload".into(),
        description: "a payload of the emulator tests".into(),
        // The robot ignores what the payload claims: registration starts unauthorized.
        is_authorized: true,
        is_enabled: true,
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

fn service_at(name: &str, authority: &str, port: u16, liveness: f64) -> ServiceRegistration {
    ServiceRegistration {
        name: name.to_owned(),
        service_type: "test.EmulatedService".to_owned(),
        authority: authority.to_owned(),
        user_token_required: true,
        liveness_timeout_secs: liveness,
        host_ip: "127.0.0.1".to_owned(),
        port,
    }
}

// ---------------------------------------------------------------------------------------------
// Auth.

#[tokio::test]
async fn login_wrong_password_refresh_and_token_validity() {
    let emulator = Emulator::start(config()).await;
    let mut auth = emulator.auth();

    let token = bounded(auth.login(USER, &Secret::new(PASSWORD)))
        .await
        .unwrap();
    assert!(!token.expose().is_empty());
    assert!(emulator.state.token_is_valid(token.expose()));
    assert_eq!(
        emulator.state.token_owner(token.expose()),
        Some(TokenOwner::User(USER.into()))
    );

    let wrong = bounded(auth.login(USER, &Secret::new("wrong")))
        .await
        .unwrap_err();
    assert!(
        matches!(&wrong, AuthError::InvalidLogin { username } if username == USER),
        "{wrong}"
    );
    let unknown = bounded(auth.login("nobody", &Secret::new(PASSWORD)))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, AuthError::InvalidLogin { .. }),
        "{unknown}"
    );

    let fresh = bounded(auth.refresh(token.expose())).await.unwrap();
    assert_ne!(fresh.expose(), token.expose());
    assert!(emulator.state.token_is_valid(fresh.expose()));
    // Refreshing again from the new token works too.
    bounded(auth.refresh(fresh.expose())).await.unwrap();

    let invalid = bounded(auth.refresh("forged-token")).await.unwrap_err();
    assert!(matches!(invalid, AuthError::InvalidToken), "{invalid}");
    assert!(!emulator.state.token_is_valid("forged-token"));
    assert!(!emulator.state.token_is_valid(""));
    emulator.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_user_out_for_a_while() {
    let emulator = Emulator::start(config().with_lockout(3, Duration::from_millis(500))).await;
    let mut auth = emulator.auth();
    for _ in 0..3 {
        let error = bounded(auth.login(USER, &Secret::new("guess")))
            .await
            .unwrap_err();
        assert!(matches!(error, AuthError::InvalidLogin { .. }), "{error}");
    }
    // Locked out, even with the right password.
    let locked = bounded(auth.login(USER, &Secret::new(PASSWORD)))
        .await
        .unwrap_err();
    assert!(
        matches!(locked, AuthError::TemporarilyLockedOut),
        "{locked}"
    );
    tokio::time::sleep(Duration::from_millis(550)).await;
    bounded(auth.login(USER, &Secret::new(PASSWORD)))
        .await
        .expect("the lockout ends");
    emulator.stop().await;
}

#[tokio::test]
async fn expired_tokens_are_invalid() {
    let emulator = Emulator::start(config().with_token_lifetime(Duration::from_millis(500))).await;
    let mut auth = emulator.auth();
    let token = bounded(auth.login(USER, &Secret::new(PASSWORD)))
        .await
        .unwrap();
    assert!(emulator.state.token_is_valid(token.expose()));
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert!(!emulator.state.token_is_valid(token.expose()));
    let expired = bounded(auth.refresh(token.expose())).await.unwrap_err();
    assert!(matches!(expired, AuthError::InvalidToken), "{expired}");
    emulator.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Robot id.

#[tokio::test]
async fn robot_id_reports_the_configured_identity() {
    let emulator = Emulator::start(config().with_identity("BD-1234", "rover")).await;
    let mut client = RobotIdServiceClient::new(emulator.channel.clone());
    let response = bounded(client.get_robot_id(RobotIdRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let header = response.header.expect("header stamped");
    assert_eq!(header.error.unwrap().code, common_error::Code::Ok as i32);
    let id = response.robot_id.unwrap();
    assert_eq!(id.serial_number, "BD-1234");
    assert_eq!(id.nickname, "rover");
    assert_eq!(id.species, "spot");
    let version = id.software_release.unwrap().version.unwrap();
    assert_eq!(
        (
            version.major_version,
            version.minor_version,
            version.patch_level
        ),
        (5, 2, 0)
    );
    emulator.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Payload registration.

#[tokio::test]
async fn payload_waits_for_the_operator_then_gets_a_token() {
    let emulator = Emulator::start(config()).await;
    let mut client = emulator.payloads();
    let credentials = PayloadCredentials::generate().unwrap();

    bounded(client.register_payload(payload(&credentials), credentials.secret()))
        .await
        .unwrap();
    let info = emulator.state.payload(credentials.guid()).unwrap();
    assert!(!info.authorized && !info.payload.is_authorized && !info.payload.is_enabled);
    let again = bounded(client.register_payload(payload(&credentials), credentials.secret()))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, PayloadRegistrationError::AlreadyExists { guid } if guid == credentials.guid()),
        "{again}"
    );

    let not_yet = bounded(client.get_payload_auth_token(&credentials))
        .await
        .unwrap_err();
    assert!(
        matches!(not_yet, PayloadRegistrationError::NotAuthorized { .. }),
        "{not_yet}"
    );
    let wrong_secret =
        PayloadCredentials::from_parts(credentials.guid(), "not the secret").unwrap();
    let invalid = bounded(client.get_payload_auth_token(&wrong_secret))
        .await
        .unwrap_err();
    assert!(
        matches!(invalid, PayloadRegistrationError::InvalidCredentials { .. }),
        "{invalid}"
    );
    let stranger = PayloadCredentials::generate().unwrap();
    let unknown = bounded(client.get_payload_auth_token(&stranger))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, PayloadRegistrationError::InvalidCredentials { .. }),
        "an unknown GUID is invalid credentials: {unknown}"
    );
    let detach = bounded(client.update_payload_attached(&credentials, false))
        .await
        .unwrap_err();
    assert!(
        matches!(detach, PayloadRegistrationError::NotAuthorized { .. }),
        "{detach}"
    );

    // The payload waits; an operator authorizes it from another task.
    let operator = {
        let state = emulator.state.clone();
        let guid = credentials.guid().to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            state.authorize_payload(&guid).unwrap();
        })
    };
    let token = bounded(client.wait_for_authorization(&credentials, &fast_wait()))
        .await
        .unwrap();
    bounded(operator).await.unwrap();
    assert_eq!(
        emulator.state.token_owner(token.expose()),
        Some(TokenOwner::Payload(credentials.guid().to_owned()))
    );
    assert!(emulator.state.token_is_valid(token.expose()));

    // A payload token refreshes like a user token.
    let refreshed = bounded(emulator.auth().refresh(token.expose()))
        .await
        .unwrap();
    assert!(emulator.state.token_is_valid(refreshed.expose()));

    // Version and attachment.
    bounded(client.update_payload_version(
        &credentials,
        SoftwareVersion {
            major_version: 1,
            minor_version: 4,
            patch_level: 2,
        },
    ))
    .await
    .unwrap();
    bounded(client.update_payload_attached(&credentials, false))
        .await
        .unwrap();
    let info = emulator.state.payload(credentials.guid()).unwrap();
    assert_eq!(info.payload.version.unwrap().minor_version, 4);
    assert!(info.authorized && !info.attached && !info.payload.is_enabled);
    let missing = bounded(client.update_payload_version(&stranger, SoftwareVersion::default()))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, PayloadRegistrationError::DoesNotExist { .. }),
        "{missing}"
    );
    let bad = bounded(client.update_payload_attached(&wrong_secret, true))
        .await
        .unwrap_err();
    assert!(
        matches!(bad, PayloadRegistrationError::InvalidCredentials { .. }),
        "{bad}"
    );

    // Revoking the authorization invalidates the payload's tokens.
    emulator.state.revoke_payload(credentials.guid()).unwrap();
    assert!(!emulator.state.token_is_valid(token.expose()));
    assert!(!emulator.state.token_is_valid(refreshed.expose()));
    emulator.stop().await;
}

#[tokio::test]
async fn malformed_payload_requests_are_invalid_requests() {
    let emulator = Emulator::start(config()).await;
    let mut raw = PayloadRegistrationServiceClient::new(emulator.channel.clone());
    for request in [
        RegisterPayloadRequest {
            header: None,
            payload: None,
            payload_secret: "s".into(),
        },
        RegisterPayloadRequest {
            header: None,
            payload: Some(Payload::default()),
            payload_secret: "s".into(),
        },
        RegisterPayloadRequest {
            header: None,
            payload: Some(Payload {
                guid: "g".into(),
                ..Default::default()
            }),
            payload_secret: String::new(),
        },
    ] {
        let response = bounded(raw.register_payload(request))
            .await
            .unwrap()
            .into_inner();
        let error = response.header.unwrap().error.unwrap();
        assert_eq!(error.code, common_error::Code::InvalidRequest as i32);
        assert!(!error.message.is_empty());
    }
    let response = bounded(raw.update_payload_attached(UpdatePayloadAttachedRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        response.header.unwrap().error.unwrap().code,
        common_error::Code::InvalidRequest as i32
    );
    assert!(emulator.state.payloads().is_empty());
    emulator.stop().await;
}

#[tokio::test]
async fn auto_authorize_grants_tokens_at_once() {
    let emulator = Emulator::start(config().with_auto_authorize(true)).await;
    let mut client = emulator.payloads();
    let credentials = PayloadCredentials::generate().unwrap();
    bounded(client.register_payload(payload(&credentials), credentials.secret()))
        .await
        .unwrap();
    let info = emulator.state.payload(credentials.guid()).unwrap();
    assert!(info.authorized && info.payload.is_authorized && info.payload.is_enabled);
    let token = bounded(client.get_payload_auth_token(&credentials))
        .await
        .unwrap();
    assert!(emulator.state.token_is_valid(token.expose()));
    emulator.stop().await;
}

#[tokio::test]
async fn the_state_file_remembers_payloads_and_their_authorization() {
    let file = TempStateFile::new();
    let authorized = PayloadCredentials::generate().unwrap();
    let waiting = PayloadCredentials::generate().unwrap();
    {
        let emulator = Emulator::start(config().with_state_file(&file.0)).await;
        let mut client = emulator.payloads();
        for credentials in [&authorized, &waiting] {
            bounded(client.register_payload(payload(credentials), credentials.secret()))
                .await
                .unwrap();
        }
        emulator.state.authorize_payload(authorized.guid()).unwrap();
        emulator.stop().await;
    }
    assert!(file.0.exists());

    // A new emulator on the same file: registrations and authorization survive.
    let emulator = Emulator::start(config().with_state_file(&file.0)).await;
    let mut client = emulator.payloads();
    assert_eq!(emulator.state.payloads().len(), 2);
    let again = bounded(client.register_payload(payload(&authorized), authorized.secret()))
        .await
        .unwrap_err();
    assert!(
        matches!(again, PayloadRegistrationError::AlreadyExists { .. }),
        "{again}"
    );
    bounded(client.get_payload_auth_token(&authorized))
        .await
        .expect("still authorized");
    let not_yet = bounded(client.get_payload_auth_token(&waiting))
        .await
        .unwrap_err();
    assert!(
        matches!(not_yet, PayloadRegistrationError::NotAuthorized { .. }),
        "{not_yet}"
    );
    let stored = emulator.state.payload(waiting.guid()).unwrap().payload;
    assert_eq!(stored.name, "emulator test payload");
    assert_eq!(stored.description, "a payload of the emulator tests");
    emulator.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Directory.

#[tokio::test]
async fn directory_register_update_unregister_statuses() {
    let emulator = Emulator::start(config()).await;
    let mut registration = emulator.registration();
    let mut directory = emulator.directory();
    let service = service_at("emulated-svc", "Emulated-Svc", 50051, 0.0);

    // The robot's own services are listed from the start.
    let listed = bounded(directory.list_service_entries(ListServiceEntriesRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .service_entries;
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    for builtin in [
        "auth",
        "directory",
        "directory-registration",
        "payload-registration",
        "robot-id",
    ] {
        assert!(names.contains(&builtin), "{names:?}");
    }

    bounded(registration.register(service.entry(), service.endpoint()))
        .await
        .unwrap();
    let again = bounded(registration.register(service.entry(), service.endpoint()))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, DirectoryRegistrationError::AlreadyExists { name } if name == "emulated-svc"),
        "{again}"
    );
    let taken =
        bounded(registration.register(service_at("auth", "x", 1, 0.0).entry(), service.endpoint()))
            .await
            .unwrap_err();
    assert!(
        matches!(taken, DirectoryRegistrationError::AlreadyExists { .. }),
        "built-in names are taken: {taken}"
    );

    let response = bounded(directory.get_service_entry(GetServiceEntryRequest {
        header: None,
        service_name: "emulated-svc".into(),
    }))
    .await
    .unwrap()
    .into_inner();
    assert_eq!(
        response.status,
        get_service_entry_response::Status::Ok as i32
    );
    let entry = response.service_entry.unwrap();
    assert_eq!(entry.authority, "emulated-svc.spot.robot");
    assert_eq!(
        entry.service_type,
        Some(service_entry::ServiceType::Type(
            "test.EmulatedService".into()
        ))
    );
    assert!(entry.last_update.is_some());

    let moved = service_at("emulated-svc", "emulated-svc", 50052, 0.0);
    bounded(registration.update(moved.entry(), moved.endpoint()))
        .await
        .unwrap();
    assert_eq!(emulator.state.route("emulated-svc").unwrap().port, 50052);
    let ghost = service_at("ghost", "ghost", 1, 0.0);
    let missing = bounded(registration.update(ghost.entry(), ghost.endpoint()))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, DirectoryRegistrationError::DoesNotExist { name } if name == "ghost"),
        "{missing}"
    );

    bounded(registration.unregister("emulated-svc"))
        .await
        .unwrap();
    let gone = bounded(registration.unregister("emulated-svc"))
        .await
        .unwrap_err();
    assert!(
        matches!(gone, DirectoryRegistrationError::DoesNotExist { .. }),
        "{gone}"
    );
    let response = bounded(directory.get_service_entry(GetServiceEntryRequest {
        header: None,
        service_name: "emulated-svc".into(),
    }))
    .await
    .unwrap()
    .into_inner();
    assert_eq!(
        response.status,
        get_service_entry_response::Status::NonexistentService as i32
    );
    assert!(response.service_entry.is_none());

    // reset and register_or_update work against the emulator too.
    bounded(registration.reset(service.entry(), service.endpoint()))
        .await
        .unwrap();
    bounded(registration.register_or_update(moved.entry(), moved.endpoint()))
        .await
        .unwrap();
    assert_eq!(emulator.state.route("emulated-svc").unwrap().port, 50052);
    emulator.stop().await;
}

#[tokio::test]
async fn malformed_registrations_are_invalid_requests() {
    let emulator = Emulator::start(config()).await;
    let mut raw = DirectoryRegistrationServiceClient::new(emulator.channel.clone());
    let good = service_at("svc", "svc", 1234, 0.0);
    let mut cases: Vec<(ServiceEntry, Option<Endpoint>)> = Vec::new();
    let mut no_name = good.entry();
    no_name.name.clear();
    cases.push((no_name, Some(good.endpoint())));
    let mut no_authority = good.entry();
    no_authority.authority.clear();
    cases.push((no_authority, Some(good.endpoint())));
    let mut no_type = good.entry();
    no_type.service_type = None;
    cases.push((no_type, Some(good.endpoint())));
    let mut empty_type = good.entry();
    empty_type.service_type = Some(service_entry::ServiceType::Type(String::new()));
    cases.push((empty_type, Some(good.endpoint())));
    cases.push((
        good.entry(),
        Some(Endpoint {
            host_ip: "127.0.0.1".into(),
            port: 0,
        }),
    ));
    cases.push((
        good.entry(),
        Some(Endpoint {
            host_ip: String::new(),
            port: 1234,
        }),
    ));
    cases.push((good.entry(), None));
    for (entry, endpoint) in cases {
        let response = bounded(raw.register_service(RegisterServiceRequest {
            header: None,
            endpoint,
            service_entry: Some(entry.clone()),
        }))
        .await
        .unwrap()
        .into_inner();
        let error = response.header.unwrap().error.unwrap();
        assert_eq!(
            error.code,
            common_error::Code::InvalidRequest as i32,
            "{entry:?}"
        );
        assert!(!error.message.is_empty());
    }
    assert!(emulator.state.registered_services().is_empty());

    // Built-in services cannot be updated or unregistered.
    let mut client = emulator.registration();
    let builtin = service_at("auth", "auth", 1, 0.0);
    let error = bounded(client.update(builtin.entry(), builtin.endpoint()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DirectoryRegistrationError::Header(_)),
        "{error}"
    );
    let error = bounded(client.unregister("directory")).await.unwrap_err();
    assert!(
        matches!(error, DirectoryRegistrationError::Header(_)),
        "{error}"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn a_silent_service_is_dropped_after_its_liveness_timeout() {
    let emulator = Emulator::start(config()).await;
    let mut client = emulator.registration();
    // Heartbeats come every 80 ms: a late wake-up has a wide margin.
    let silent = service_at("silent", "silent", 7001, 0.5);
    let chatty = service_at("chatty", "chatty", 7002, 0.5);
    bounded(client.register(silent.entry(), silent.endpoint()))
        .await
        .unwrap();
    bounded(client.register(chatty.entry(), chatty.endpoint()))
        .await
        .unwrap();
    // Heartbeats keep the chatty one alive: Update, or (as the official Python keep-alive
    // does) Register of the same entry, answered ALREADY_EXISTS.
    for i in 0..10 {
        tokio::time::sleep(Duration::from_millis(80)).await;
        if i % 2 == 0 {
            bounded(client.update(chatty.entry(), chatty.endpoint()))
                .await
                .unwrap();
        } else {
            let error = bounded(client.register(chatty.entry(), chatty.endpoint()))
                .await
                .unwrap_err();
            assert!(
                matches!(error, DirectoryRegistrationError::AlreadyExists { .. }),
                "{error}"
            );
        }
    }
    assert!(emulator.state.route("silent").is_none());
    assert!(emulator.state.route("chatty").is_some());
    let response = bounded(
        emulator
            .directory()
            .get_service_entry(GetServiceEntryRequest {
                header: None,
                service_name: "silent".into(),
            }),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(
        response.status,
        get_service_entry_response::Status::NonexistentService as i32
    );
    // Its next update says it no longer exists; registering brings it back.
    let error = bounded(client.update(silent.entry(), silent.endpoint()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, DirectoryRegistrationError::DoesNotExist { .. }),
        "{error}"
    );
    bounded(client.register_or_update(silent.entry(), silent.endpoint()))
        .await
        .unwrap();
    assert!(emulator.state.route("silent").is_some());
    emulator.stop().await;
}

#[tokio::test]
async fn reboot_clears_the_directory_but_keeps_payloads_and_tokens() {
    let emulator = Emulator::start(config()).await;
    let mut client = emulator.registration();
    let service = service_at("survivor", "survivor", 7100, 0.0);
    bounded(client.register(service.entry(), service.endpoint()))
        .await
        .unwrap();
    let credentials = PayloadCredentials::generate().unwrap();
    let mut payloads = emulator.payloads();
    bounded(payloads.register_payload(payload(&credentials), credentials.secret()))
        .await
        .unwrap();
    emulator
        .state
        .authorize_payload(credentials.guid())
        .unwrap();
    let token = bounded(emulator.auth().login(USER, &Secret::new(PASSWORD)))
        .await
        .unwrap();

    emulator.state.reboot();

    assert!(emulator.state.route("survivor").is_none());
    assert!(emulator.state.registered_services().is_empty());
    let listed = bounded(
        emulator
            .directory()
            .list_service_entries(ListServiceEntriesRequest::default()),
    )
    .await
    .unwrap()
    .into_inner()
    .service_entries;
    assert!(listed.iter().all(|e| e.name != "survivor"));
    assert!(listed.iter().any(|e| e.name == "auth"));
    assert!(emulator.state.token_is_valid(token.expose()));
    bounded(payloads.get_payload_auth_token(&credentials))
        .await
        .expect("payload registrations survive reboots");
    // The service registers again, as the keep-alive does after a reboot.
    bounded(client.register(service.entry(), service.endpoint()))
        .await
        .unwrap();
    assert!(emulator.state.route("survivor").is_some());
    emulator.stop().await;
}

#[tokio::test]
async fn routes_by_authority_including_bare_labels() {
    let emulator = Emulator::start(config()).await;
    let mut client = emulator.registration();
    let bare = service_at("bare-svc", "Bare-Label", 7201, 0.0);
    let mut full = service_at("full-svc", "full.spot.robot", 7202, 0.0);
    full.user_token_required = false;
    for service in [&bare, &full] {
        bounded(client.register(service.entry(), service.endpoint()))
            .await
            .unwrap();
    }
    let route = emulator.state.route("bare-label.spot.robot").unwrap();
    assert_eq!(route.name, "bare-svc");
    assert_eq!(route.host_ip, "127.0.0.1");
    assert_eq!(route.port, 7201);
    assert!(route.user_token_required);
    assert_eq!(emulator.state.route("bare-label").unwrap().port, 7201);
    assert_eq!(
        emulator.state.route("BARE-LABEL.SPOT.ROBOT").unwrap().port,
        7201
    );
    let route = emulator.state.route("full").unwrap();
    assert_eq!((route.name.as_str(), route.port), ("full-svc", 7202));
    assert!(!route.user_token_required);
    assert!(emulator.state.route("nothing-here.spot.robot").is_none());
    assert!(
        emulator.state.route("auth.spot.robot").is_none(),
        "the emulator's own services are not routed to an endpoint"
    );
    emulator.stop().await;
}

#[tokio::test]
async fn services_registered_with_a_payload_token_record_their_payload() {
    let emulator = Emulator::start(config().with_auto_authorize(true)).await;
    let credentials = PayloadCredentials::generate().unwrap();
    let mut payloads = emulator.payloads();
    bounded(payloads.register_payload(payload(&credentials), credentials.secret()))
        .await
        .unwrap();
    let token = bounded(payloads.get_payload_auth_token(&credentials))
        .await
        .unwrap();

    let mut raw = DirectoryRegistrationServiceClient::new(emulator.channel.clone());
    let service = service_at("payload-svc", "payload-svc", 7300, 0.0);
    let mut request = tonic::Request::new(RegisterServiceRequest {
        header: None,
        endpoint: Some(service.endpoint()),
        service_entry: Some(service.entry()),
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", token.expose()).parse().unwrap(),
    );
    bounded(raw.register_service(request)).await.unwrap();
    let entry = emulator.state.service_entry("payload-svc").unwrap();
    assert_eq!(entry.host_payload_guid, credentials.guid());
    // Without a payload token nothing is recorded.
    let other = service_at("user-svc", "user-svc", 7301, 0.0);
    bounded(
        emulator
            .registration()
            .register(other.entry(), other.endpoint()),
    )
    .await
    .unwrap();
    assert!(
        emulator
            .state
            .service_entry("user-svc")
            .unwrap()
            .host_payload_guid
            .is_empty()
    );
    emulator.stop().await;
}

#[test]
fn the_emulated_services_have_the_robots_names_and_authorities() {
    use spot_service::SpotService;
    let meta = EmulatedDirectoryRegistration::METADATA;
    assert_eq!(meta.name, "directory-registration");
    assert_eq!(meta.authority, "api.spot.robot");
    assert_eq!(meta.service_type, "bosdyn.api.DirectoryRegistrationService");
    assert!(meta.user_token_required);
    let by_name: Vec<(&str, &str, bool)> = services::builtin_metadata()
        .iter()
        .map(|m| (m.name, m.authority, m.user_token_required))
        .collect();
    assert_eq!(
        by_name,
        [
            ("auth", "auth.spot.robot", false),
            ("robot-id", "id.spot.robot", false),
            ("directory", "api.spot.robot", true),
            ("directory-registration", "api.spot.robot", true),
            (
                "payload-registration",
                "payload-registration.spot.robot",
                false
            ),
            ("lease", "api.spot.robot", true),
            ("power", "api.spot.robot", true),
            ("time-sync", "api.spot.robot", true),
            ("fault", "api.spot.robot", true),
            ("robot-state", "api.spot.robot", true),
        ]
    );
}
