//! The announce service from the official payload self-registration example, written with
//! spot-service: it answers with the message it received in capital letters.
//!
//! Binaries: `announce-service` (the server), `announce-client` (a client), and `announce-demo`
//! (both in one process: the project's one-command demo).

use std::net::SocketAddr;

use spot_service::client::{check_response, default_client_name, stamp_request};
use spot_service::spot_service;

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

/// Sends `message` to the announce service at `addr` and returns the announcement.
pub async fn announce(addr: SocketAddr, message: &str) -> anyhow::Result<String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the announce service at {addr}: {e}"))?;
    let mut client = AnnounceServiceClient::new(channel)
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
