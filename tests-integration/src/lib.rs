//! Shared pieces of spot-service's end-to-end tests: a test service compiled with
//! spot-service-build, the same service as bare tonic (for the overhead benchmark), and helpers
//! to host them on loopback ports.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use spot_service::{RpcError, ServiceRunner, ShutdownHandle, spot_service};
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// The generated test protos (`spot_service.testing`).
#[allow(missing_docs)]
pub mod proto {
    tonic::include_proto!("spot_service.testing");
}

pub mod bench;
pub mod emulated;
pub mod python;

use proto::echo_service_server::EchoService;
use proto::{Behavior, EchoRequest, EchoResponse};

/// The test service, with spot-service header handling.
#[derive(Debug, Default, Clone)]
pub struct SpotEcho;

#[spot_service(name = "echo-service", authority = "echo.spot.robot")]
impl EchoService for SpotEcho {
    async fn echo(&self, request: EchoRequest) -> spot_service::Result<EchoResponse> {
        match request.behavior() {
            Behavior::Echo => {}
            Behavior::Fail => {
                let err = std::io::Error::other("the sensor is unplugged");
                return Err(RpcError::from(err));
            }
            Behavior::Invalid => {
                return Err(RpcError::invalid_request(format!(
                    "text {:?} is not allowed",
                    request.text
                )));
            }
            Behavior::Panic => panic!("boom: {}", request.text),
            Behavior::Slow => {
                tokio::time::sleep(Duration::from_millis(request.delay_ms.into())).await
            }
            Behavior::OwnError => {
                use spot_service::proto::bosdyn::api::{
                    CommonError, ResponseHeader, common_error::Code,
                };
                return Ok(EchoResponse {
                    header: Some(ResponseHeader {
                        error: Some(CommonError {
                            code: Code::InvalidRequest as i32,
                            message: "set by the handler".into(),
                            data: None,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
            Behavior::GrpcStatus => {
                return Err(RpcError::status(tonic::Status::unimplemented("not yet")));
            }
        }
        Ok(EchoResponse {
            header: None,
            text: request.text,
            blob_len: request.blob.len() as u64,
        })
    }
}

/// The same service written with plain tonic (no header handling): the benchmark's baseline.
#[derive(Debug, Default, Clone)]
pub struct BareEcho;

#[tonic::async_trait]
impl EchoService for BareEcho {
    async fn echo(
        &self,
        request: tonic::Request<EchoRequest>,
    ) -> Result<tonic::Response<EchoResponse>, tonic::Status> {
        let request = request.into_inner();
        Ok(tonic::Response::new(EchoResponse {
            header: None,
            text: request.text,
            blob_len: request.blob.len() as u64,
        }))
    }
}

/// The same service in plain tonic, filling the Spot response header by hand (echo, timestamps,
/// packed request, `CODE_OK`), as a careful service without spot-service would: the benchmark's
/// way to tell the cost of the Spot protocol (bigger responses) from the cost of the framework.
#[derive(Debug, Default, Clone)]
pub struct HandStampedEcho;

#[tonic::async_trait]
impl EchoService for HandStampedEcho {
    async fn echo(
        &self,
        request: tonic::Request<EchoRequest>,
    ) -> Result<tonic::Response<EchoResponse>, tonic::Status> {
        use spot_service::proto::bosdyn::api::{CommonError, ResponseHeader, common_error::Code};
        let received = spot_service::header::now_timestamp();
        let request = request.into_inner();
        let mut header = ResponseHeader {
            request_header: request.header.clone(),
            request_received_timestamp: Some(received),
            response_timestamp: None,
            error: Some(CommonError {
                code: Code::Ok as i32,
                message: String::new(),
                data: None,
            }),
            request: Some(spot_service::proto::pack_any(&request)),
        };
        let response_text = request.text;
        let blob_len = request.blob.len() as u64;
        header.response_timestamp = Some(spot_service::header::now_timestamp());
        Ok(tonic::Response::new(EchoResponse {
            header: Some(header),
            text: response_text,
            blob_len,
        }))
    }
}

/// A runner serving on a loopback port in a background task.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Starts shutdown.
    pub shutdown: ShutdownHandle,
    /// Ends when the runner has stopped.
    pub task: JoinHandle<Result<(), spot_service::RunnerError>>,
}

impl RunningServer {
    /// `http://addr` for tonic clients.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts down and waits for the runner to stop.
    pub async fn stop(self) {
        self.shutdown.shutdown();
        self.task
            .await
            .expect("runner task panicked")
            .expect("runner failed");
    }
}

/// Hosts the [`SpotEcho`] service on `127.0.0.1:0`.
pub async fn start_spot_echo() -> RunningServer {
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(SpotEcho)
        .build()
        .await
        .expect("runner builds");
    spawn(runner)
}

/// Runs a built runner in the background.
pub fn spawn(runner: ServiceRunner) -> RunningServer {
    let addr = runner.local_addr();
    let shutdown = runner.shutdown_handle();
    let task = tokio::spawn(runner.run_until(std::future::pending()));
    RunningServer {
        addr,
        shutdown,
        task,
    }
}

/// How long [`bounded`] waits.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// `future`, which must finish within [`PATIENCE`].
///
/// # Panics
///
/// If it does not, naming `what` it was.
pub async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(PATIENCE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A service's `serve` function (an example's, which hosts it until a stop future resolves)
/// running in a task, stopped by [`Served::stop`].
#[derive(Debug)]
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Served {
    /// Spawns `serve(ready, stop)` and waits until it calls `ready` with its address; `stop`
    /// resolves when [`Served::stop`] is called.
    ///
    /// # Panics
    ///
    /// If it is not ready within [`PATIENCE`].
    pub async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(Box<dyn FnOnce(SocketAddr) + Send>, WaitForCancellationFutureOwned) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let stop = CancellationToken::new();
        let ready = Box::new(move |addr: SocketAddr| {
            let _ = ready_tx.send(addr);
        });
        let task = tokio::spawn(serve(ready, stop.clone().cancelled_owned()));
        let addr = bounded("the service is ready", ready_rx)
            .await
            .expect("the service started");
        Self { addr, stop, task }
    }

    /// Stops it and waits for `serve` to return.
    ///
    /// # Panics
    ///
    /// If `serve` failed or does not return within [`PATIENCE`].
    pub async fn stop(self) {
        self.stop.cancel();
        bounded("the service stops", self.task)
            .await
            .expect("serve task panicked")
            .expect("serve failed");
    }
}

/// A plain-text HTTP/2 channel to `uri`.
pub async fn channel(uri: String) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(uri)
        .expect("valid uri")
        .connect()
        .await
        .expect("connects")
}

/// A client of the test service on `uri`, with spot-service's message size limits.
pub async fn echo_client(
    uri: String,
) -> proto::echo_service_client::EchoServiceClient<tonic::transport::Channel> {
    proto::echo_service_client::EchoServiceClient::new(channel(uri).await)
        .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(spot_service::MAX_MESSAGE_SIZE)
}

use spot_service::proto::bosdyn::api::robot_id_service_server::RobotIdService;
use spot_service::proto::bosdyn::api::{
    RobotId, RobotIdRequest, RobotIdResponse, RobotSoftwareRelease, SoftwareVersion,
};

/// A robot-id service answering a fixed identity: a bosdyn service implemented with
/// `#[spot_service]`, so official SDK clients can be pointed at it.
#[derive(Debug, Default, Clone)]
pub struct FixedRobotId;

#[spot_service(name = "robot-id", authority = "id.spot.robot")]
impl RobotIdService for FixedRobotId {
    async fn get_robot_id(
        &self,
        _request: RobotIdRequest,
    ) -> spot_service::Result<RobotIdResponse> {
        Ok(RobotIdResponse {
            header: None,
            robot_id: Some(RobotId {
                serial_number: "spot-service-test".into(),
                species: "spot".into(),
                version: "V3".into(),
                software_release: Some(RobotSoftwareRelease {
                    version: Some(SoftwareVersion {
                        major_version: 5,
                        minor_version: 2,
                        patch_level: 0,
                    }),
                    ..Default::default()
                }),
                nickname: "emulated".into(),
                computer_serial_number: String::new(),
            }),
        })
    }
}

/// The test service written in the tonic shape: it takes the whole `tonic::Request` (to read
/// metadata) and returns a `tonic::Response` carrying metadata of its own. Its directory type is
/// overridden, which must not change its gRPC name.
#[derive(Debug, Default, Clone)]
pub struct MetadataEcho;

#[spot_service(
    name = "metadata-echo",
    authority = "metadata-echo.spot.robot",
    service_type = "testing.MetadataEcho",
    user_token_required = false
)]
impl EchoService for MetadataEcho {
    async fn echo(
        &self,
        request: tonic::Request<EchoRequest>,
    ) -> Result<tonic::Response<EchoResponse>, RpcError> {
        let caller = request
            .metadata()
            .get("x-caller")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .to_owned();
        let message = request.into_inner();
        let mut response = tonic::Response::new(EchoResponse {
            header: None,
            text: message.text,
            blob_len: message.blob.len() as u64,
        });
        let value = format!("hello {caller}")
            .parse()
            .map_err(|_| RpcError::invalid_request("x-caller is not valid metadata"))?;
        response.metadata_mut().insert("x-greeting", value);
        Ok(response)
    }
}
