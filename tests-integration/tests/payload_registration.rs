//! The payload registration client against a fake robot service on a loopback port: every status
//! becomes its typed error, and waiting for authorization retries, reminds, times out and can be
//! cancelled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spot_service::ServiceRunner;
use spot_service::payload::credentials::PayloadCredentials;
use spot_service::payload::registration::{
    AuthorizationWait, PayloadRegistrationClient, PayloadRegistrationError,
};
use spot_service::proto::bosdyn::api::payload_registration_service_server::PayloadRegistrationService;
use spot_service::proto::bosdyn::api::{
    GetPayloadAuthTokenRequest, GetPayloadAuthTokenResponse, Payload, RegisterPayloadRequest,
    RegisterPayloadResponse, SoftwareVersion, UpdatePayloadAttachedRequest,
    UpdatePayloadAttachedResponse, UpdatePayloadVersionRequest, UpdatePayloadVersionResponse,
    get_payload_auth_token_response, register_payload_response, update_payload_attached_request,
    update_payload_attached_response, update_payload_version_response,
};
use spot_service::spot_service;
use tests_integration::{RunningServer, channel, spawn};
use tokio_util::sync::CancellationToken;

/// A registered payload as the fake robot keeps it.
#[derive(Debug, Clone)]
struct Record {
    secret: String,
    authorized: bool,
    attached: bool,
    version: Option<SoftwareVersion>,
    /// Token requests answered NOT_AUTHORIZED before the payload becomes authorized by itself
    /// (an operator clicking in the web page).
    authorize_after: Option<u32>,
}

/// The fake robot's payload registration service.
#[derive(Debug, Clone, Default)]
struct FakePayloadRegistration {
    payloads: Arc<Mutex<HashMap<String, Record>>>,
    /// While set, RegisterPayload fails as if the robot were unreachable.
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl FakePayloadRegistration {
    /// Checks credentials: Err(status code to answer) on failure.
    fn check(&self, guid: &str, secret: &str) -> Result<(), &'static str> {
        match self.payloads.lock().unwrap().get(guid) {
            None => Err("does-not-exist"),
            Some(r) if r.secret != secret => Err("invalid"),
            Some(_) => Ok(()),
        }
    }
}

#[spot_service(
    name = "payload-registration",
    authority = "payload-registration.spot.robot"
)]
impl PayloadRegistrationService for FakePayloadRegistration {
    async fn register_payload(
        &self,
        request: RegisterPayloadRequest,
    ) -> spot_service::Result<RegisterPayloadResponse> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(spot_service::RpcError::status(tonic::Status::unavailable(
                "robot rebooting",
            )));
        }
        let payload = request
            .payload
            .ok_or_else(|| spot_service::RpcError::invalid_request("no payload"))?;
        let mut payloads = self.payloads.lock().unwrap();
        let status = match payloads.entry(payload.guid) {
            std::collections::hash_map::Entry::Occupied(_) => {
                register_payload_response::Status::AlreadyExists
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(Record {
                    secret: request.payload_secret,
                    authorized: false,
                    attached: true,
                    version: payload.version,
                    authorize_after: None,
                });
                register_payload_response::Status::Ok
            }
        };
        Ok(RegisterPayloadResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn update_payload_version(
        &self,
        request: UpdatePayloadVersionRequest,
    ) -> spot_service::Result<UpdatePayloadVersionResponse> {
        use update_payload_version_response::Status;
        let creds = request.payload_credentials.unwrap_or_default();
        let status = match self.check(&creds.guid, &creds.secret) {
            Err("does-not-exist") => Status::DoesNotExist,
            Err(_) => Status::InvalidCredentials,
            Ok(()) => {
                self.payloads
                    .lock()
                    .unwrap()
                    .get_mut(&creds.guid)
                    .unwrap()
                    .version = request.updated_version;
                Status::Ok
            }
        };
        Ok(UpdatePayloadVersionResponse {
            header: None,
            status: status as i32,
        })
    }

    async fn get_payload_auth_token(
        &self,
        request: GetPayloadAuthTokenRequest,
    ) -> spot_service::Result<GetPayloadAuthTokenResponse> {
        use get_payload_auth_token_response::Status;
        let creds = request.payload_credentials.unwrap_or_default();
        let (status, token) = match self.check(&creds.guid, &creds.secret) {
            Err(_) => (Status::InvalidCredentials, String::new()),
            Ok(()) => {
                let mut payloads = self.payloads.lock().unwrap();
                let record = payloads.get_mut(&creds.guid).unwrap();
                if let Some(n) = record.authorize_after.as_mut() {
                    if *n == 0 {
                        record.authorized = true;
                    } else {
                        *n -= 1;
                    }
                }
                if record.authorized {
                    (Status::Ok, format!("token-for-{}", creds.guid))
                } else {
                    (Status::PayloadNotAuthorized, String::new())
                }
            }
        };
        Ok(GetPayloadAuthTokenResponse {
            header: None,
            status: status as i32,
            token,
        })
    }

    async fn update_payload_attached(
        &self,
        request: UpdatePayloadAttachedRequest,
    ) -> spot_service::Result<UpdatePayloadAttachedResponse> {
        use update_payload_attached_response::Status;
        let attach = request.request() == update_payload_attached_request::Request::Attach;
        let creds = request.payload_credentials.unwrap_or_default();
        let status = match self.check(&creds.guid, &creds.secret) {
            Err("does-not-exist") => Status::DoesNotExist,
            Err(_) => Status::InvalidCredentials,
            Ok(()) => {
                let mut payloads = self.payloads.lock().unwrap();
                let record = payloads.get_mut(&creds.guid).unwrap();
                if record.authorized {
                    record.attached = attach;
                    Status::Ok
                } else {
                    Status::PayloadNotAuthorized
                }
            }
        };
        Ok(UpdatePayloadAttachedResponse {
            header: None,
            status: status as i32,
        })
    }
}

async fn start() -> (
    FakePayloadRegistration,
    RunningServer,
    PayloadRegistrationClient<tonic::transport::Channel>,
) {
    let fake = FakePayloadRegistration::default();
    let server = spawn(
        ServiceRunner::builder()
            .host("127.0.0.1")
            .add_service(fake.clone())
            .build()
            .await
            .unwrap(),
    );
    let client = PayloadRegistrationClient::new(channel(server.uri()).await)
        .with_client_name("payload-registration-test");
    (fake, server, client)
}

fn payload(credentials: &PayloadCredentials) -> Payload {
    Payload {
        guid: credentials.guid().to_owned(),
        name: "test payload".into(),
        ..Default::default()
    }
}

fn fast_wait() -> AuthorizationWait {
    AuthorizationWait {
        poll_interval: Duration::from_millis(10),
        reminder_interval: Duration::from_millis(50),
        time_limit: Some(Duration::from_secs(10)),
        cancel: CancellationToken::new(),
    }
}

#[tokio::test]
async fn register_then_wait_until_an_operator_authorizes() {
    let (fake, server, mut client) = start().await;
    let credentials = PayloadCredentials::generate().unwrap();
    client
        .register_payload(payload(&credentials), credentials.secret())
        .await
        .unwrap();
    let record = fake.payloads.lock().unwrap()[credentials.guid()].clone();
    assert!(!record.authorized, "registered unauthorized");
    assert_eq!(record.secret, credentials.secret().expose());

    // Registering again is "already exists"; ensure_registered accepts it.
    let again = client
        .register_payload(payload(&credentials), credentials.secret())
        .await
        .unwrap_err();
    assert!(
        matches!(&again, PayloadRegistrationError::AlreadyExists { guid } if guid == credentials.guid()),
        "{again}"
    );
    client
        .ensure_registered(payload(&credentials), credentials.secret())
        .await
        .unwrap();

    // Not authorized yet: the plain call says so, the wait retries until the operator acts.
    let not_yet = client
        .get_payload_auth_token(&credentials)
        .await
        .unwrap_err();
    assert!(
        matches!(not_yet, PayloadRegistrationError::NotAuthorized { .. }),
        "{not_yet}"
    );
    fake.payloads
        .lock()
        .unwrap()
        .get_mut(credentials.guid())
        .unwrap()
        .authorize_after = Some(5);
    let token = tokio::time::timeout(
        Duration::from_secs(10),
        client.wait_for_authorization(&credentials, &fast_wait()),
    )
    .await
    .expect("bounded")
    .unwrap();
    assert_eq!(token.expose(), format!("token-for-{}", credentials.guid()));
    server.stop().await;
}

#[tokio::test]
async fn wrong_credentials_and_unknown_payloads_are_typed_errors() {
    let (_fake, server, mut client) = start().await;
    let credentials = PayloadCredentials::generate().unwrap();
    client
        .register_payload(payload(&credentials), credentials.secret())
        .await
        .unwrap();
    let wrong = PayloadCredentials::from_parts(credentials.guid(), "not-the-secret").unwrap();
    let unknown = PayloadCredentials::generate().unwrap();

    let error = client.get_payload_auth_token(&wrong).await.unwrap_err();
    assert!(
        matches!(error, PayloadRegistrationError::InvalidCredentials { .. }),
        "{error}"
    );
    assert!(
        !error.to_string().contains("not-the-secret"),
        "no secret in messages"
    );
    // Waiting does not retry errors that cannot fix themselves.
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        client.wait_for_authorization(&wrong, &fast_wait()),
    )
    .await
    .expect("returns at once")
    .unwrap_err();
    assert!(
        matches!(error, PayloadRegistrationError::InvalidCredentials { .. }),
        "{error}"
    );

    let version = SoftwareVersion {
        major_version: 1,
        minor_version: 2,
        patch_level: 3,
    };
    let error = client
        .update_payload_version(&unknown, version)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PayloadRegistrationError::DoesNotExist { .. }),
        "{error}"
    );
    let error = client
        .update_payload_version(&wrong, version)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PayloadRegistrationError::InvalidCredentials { .. }),
        "{error}"
    );
    client
        .update_payload_version(&credentials, version)
        .await
        .unwrap();

    let error = client
        .update_payload_attached(&credentials, false)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PayloadRegistrationError::NotAuthorized { .. }),
        "{error}"
    );
    let error = client
        .update_payload_attached(&unknown, true)
        .await
        .unwrap_err();
    assert!(
        matches!(error, PayloadRegistrationError::DoesNotExist { .. }),
        "{error}"
    );
    server.stop().await;
}

#[tokio::test]
async fn attach_and_detach_an_authorized_payload() {
    let (fake, server, mut client) = start().await;
    let credentials = PayloadCredentials::generate().unwrap();
    client
        .register_payload(payload(&credentials), credentials.secret())
        .await
        .unwrap();
    fake.payloads
        .lock()
        .unwrap()
        .get_mut(credentials.guid())
        .unwrap()
        .authorized = true;
    client
        .update_payload_attached(&credentials, false)
        .await
        .unwrap();
    assert!(!fake.payloads.lock().unwrap()[credentials.guid()].attached);
    client
        .update_payload_attached(&credentials, true)
        .await
        .unwrap();
    assert!(fake.payloads.lock().unwrap()[credentials.guid()].attached);
    server.stop().await;
}

#[tokio::test]
async fn waiting_times_out_or_is_cancelled() {
    let (_fake, server, mut client) = start().await;
    let credentials = PayloadCredentials::generate().unwrap();
    client
        .register_payload(payload(&credentials), credentials.secret())
        .await
        .unwrap();

    let limited = AuthorizationWait {
        time_limit: Some(Duration::from_millis(100)),
        ..fast_wait()
    };
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        client.wait_for_authorization(&credentials, &limited),
    )
    .await
    .expect("bounded")
    .unwrap_err();
    assert!(
        matches!(&error, PayloadRegistrationError::AuthorizationTimedOut { waited, .. } if *waited >= Duration::from_millis(100)),
        "{error}"
    );

    let cancel = CancellationToken::new();
    let wait = AuthorizationWait {
        time_limit: None,
        cancel: cancel.clone(),
        ..fast_wait()
    };
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
    });
    let error = tokio::time::timeout(
        Duration::from_secs(10),
        client.wait_for_authorization(&credentials, &wait),
    )
    .await
    .expect("cancellation ends the wait")
    .unwrap_err();
    assert!(
        matches!(error, PayloadRegistrationError::Cancelled { .. }),
        "{error}"
    );
    canceller.await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_robot_is_an_rpc_error() {
    // Bind and drop a listener to get a loopback port with nothing behind it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint =
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
    let mut client = PayloadRegistrationClient::new(endpoint.connect_lazy());
    let credentials = PayloadCredentials::generate().unwrap();
    let error = client
        .get_payload_auth_token(&credentials)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PayloadRegistrationError::Rpc { rpc: "GetPayloadAuthToken", status } if status.code() == tonic::Code::Unavailable),
        "{error}"
    );
}

#[tokio::test]
async fn the_keepalive_keeps_the_payload_registered() {
    use spot_service::payload::keepalive::{PayloadKeepAlive, PayloadKeepAliveStatus};
    use std::sync::atomic::Ordering;

    let (fake, server, client) = start().await;
    let credentials = PayloadCredentials::generate().unwrap();
    let keepalive = PayloadKeepAlive::spawn(
        client,
        payload(&credentials),
        credentials.secret().clone(),
        Duration::from_millis(50),
    );
    let mut status = keepalive.status();
    let wait_for = |status: &mut tokio::sync::watch::Receiver<PayloadKeepAliveStatus>,
                    what: fn(&PayloadKeepAliveStatus) -> bool| {
        let mut status = status.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(10), status.wait_for(what))
                .await
                .expect("bounded")
                .expect("open")
                .clone()
        }
    };
    wait_for(&mut status, |s| *s == PayloadKeepAliveStatus::Registered).await;
    assert!(
        fake.payloads
            .lock()
            .unwrap()
            .contains_key(credentials.guid())
    );

    // The robot's payload list is reset: the payload registers again.
    fake.payloads.lock().unwrap().clear();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !fake
            .payloads
            .lock()
            .unwrap()
            .contains_key(credentials.guid())
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("registered again within an interval");

    // Unreachable: failing; reachable again: registered.
    fake.down.store(true, Ordering::SeqCst);
    wait_for(&mut status, |s| {
        matches!(s, PayloadKeepAliveStatus::Failing { .. })
    })
    .await;
    fake.down.store(false, Ordering::SeqCst);
    wait_for(&mut status, |s| *s == PayloadKeepAliveStatus::Registered).await;

    keepalive.shutdown().await;
    assert_eq!(*status.borrow(), PayloadKeepAliveStatus::Stopped);
    server.stop().await;
}
