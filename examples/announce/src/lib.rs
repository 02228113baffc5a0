//! The announce service from the official payload self-registration example, written with
//! spot-service: it answers with the message it received in capital letters.
//!
//! Binaries:
//! - `announce-service`: hosts the service, either `local`ly or registered with a `robot` (the
//!   payload self-registration flow: register the payload, wait for authorization, get the
//!   payload token, register the service in the directory and keep it there);
//! - `announce-client`: calls it `local`ly or through the `robot`;
//! - `announce-demo`: all of it in one process against an embedded robot emulator.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use spot_service::client::{check_response, default_client_name, stamp_request};
use spot_service::directory::KeepAliveConfig;
use spot_service::proto::bosdyn::api::Payload;
use spot_service::robot::Robot;
use spot_service::{ServiceRunner, SpotService as _, spot_service};

/// Generated from `proto/announce.proto` (no protobuf package, like the official example).
#[allow(missing_docs)]
pub mod proto {
    tonic::include_proto!("_");
}

use proto::announce_service_client::AnnounceServiceClient;
use proto::announce_service_server::AnnounceService;
use proto::{AnnounceRequest, AnnounceResponse};

/// Descriptors of announce.proto (and its imports), for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("spot_descriptor_set");

/// What is announced when the request's message is empty.
pub const DEFAULT_ANNOUNCEMENT: &str = "DEFAULT ANNOUNCEMENT!";

/// The announce service. Its directory name and authority are the official example's
/// (`announce-service`); read them at run time from `<Announcer as SpotService>::METADATA`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Announcer;

#[spot_service(name = "announce-service", authority = "announce-service")]
impl AnnounceService for Announcer {
    async fn announce(&self, request: AnnounceRequest) -> spot_service::Result<AnnounceResponse> {
        tracing::info!(message = %request.message, "got an announcement request");
        let message = if request.message.is_empty() {
            DEFAULT_ANNOUNCEMENT.to_owned()
        } else {
            request.message.to_uppercase()
        };
        Ok(AnnounceResponse {
            header: None,
            message,
        })
    }
}

/// How this payload describes itself to the robot when it registers.
pub fn payload_description() -> Payload {
    Payload {
        name: "Announce payload".into(),
        description: "spot-service announce example".into(),
        ..Default::default()
    }
}

/// Hosts the announce service on `port` (0: any free port) until `stop` resolves or a shutdown
/// signal arrives. With a `robot`, the service is registered in its directory at
/// `host_ip:<port>` and kept there; it is unregistered before the server stops. `ready` is
/// called with the bound address once the service is up.
pub async fn serve(
    robot: Option<&Robot>,
    host_ip: &str,
    port: u16,
    ready: impl FnOnce(SocketAddr),
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut runner = ServiceRunner::builder()
        .port(port)
        .add_service(Announcer)
        .reflection_descriptor_set(FILE_DESCRIPTOR_SET)
        .build()
        .await?;
    if let Some(robot) = robot {
        // Lazy channels: if the robot is still down, the keep-alive retries until it is up.
        // Registration failures show up as a service fault on the robot (and clear on success).
        let mut statuses = runner
            .keep_registered_with_robot(robot, host_ip, KeepAliveConfig::default())
            .context("invalid robot channel")?;
        tracing::info!(
            name = Announcer::METADATA.name,
            %host_ip,
            port = runner.local_addr().port(),
            "registering with the robot's directory"
        );
        ready(runner.local_addr());
        let mut status = statuses.remove(0);
        tokio::spawn(async move {
            if status.wait_for(|s| s.is_registered()).await.is_ok() {
                tracing::info!("announce service registered in the robot's directory");
            }
        });
    } else {
        ready(runner.local_addr());
    }
    runner.run_until(stop).await?;
    Ok(())
}

/// Sends `message` through the robot: looks up the announce service in the directory (as the
/// official `robot.ensure_client('announce-service')` does) and calls it at its authority.
pub async fn announce_through_robot(robot: &Robot, message: &str) -> anyhow::Result<String> {
    let channel = robot.service_channel(Announcer::METADATA.name).await?;
    call(AnnounceServiceClient::new(channel), message).await
}

/// Sends `message` to the announce service at `addr` (no robot in between) and returns the
/// announcement.
pub async fn announce(addr: SocketAddr, message: &str) -> anyhow::Result<String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the announce service at {addr}: {e}"))?;
    call(AnnounceServiceClient::new(channel), message).await
}

/// One Announce call with the Spot header rules.
async fn call<T>(client: AnnounceServiceClient<T>, message: &str) -> anyhow::Result<String>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let mut client = client
        .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(spot_service::MAX_MESSAGE_SIZE);
    let mut request = AnnounceRequest {
        header: None,
        message: message.to_owned(),
    };
    stamp_request(&mut request, &default_client_name());
    let response = client.announce(request).await?.into_inner();
    Ok(check_response(response)?.message)
}

/// How long clients wait for the payload to be authorized before giving up.
pub const CLIENT_AUTHORIZATION_LIMIT: Duration = Duration::from_secs(60);
