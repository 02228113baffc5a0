//! The runner's HTTP/2 server on a loopback port: image RPCs (answered straight from the
//! stream) and tonic services side by side on one connection, large messages both ways under
//! flow control, malformed requests answered with the statuses tonic gives, the client's
//! `grpc-timeout`, client resets, the peer address, and connections that are not HTTP/2.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{BufMut as _, Bytes, BytesMut};
use prost::Message;
use spot_service::ServiceRunner;
use spot_service::client::stamp_request;
use spot_service::image::ImageService;
use spot_service::proto::bosdyn::api::image_service_client::ImageServiceClient;
use spot_service::proto::bosdyn::api::{
    GetImageRequest, ImageRequest, ImageResponse, ListImageSourcesRequest, image, image_response,
};
use tests_integration::bench::grpc_frame;
use tests_integration::proto::echo_service_client::EchoServiceClient;
use tests_integration::proto::echo_service_server::{EchoService, EchoServiceServer};
use tests_integration::proto::{Behavior, EchoRequest, EchoResponse};
use tests_integration::{RunningServer, bounded, channel, spawn};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tonic::Code;
use web_cam::{TestPattern, WebCamService};

const LIST: &str = "/bosdyn.api.ImageService/ListImageSources";
const ECHO: &str = "/spot_service.testing.EchoService/Echo";

/// A plain tonic echo service that reports what the server gave it: it answers with as many
/// `x` as the request's blob has bytes, the peer address in the `peer` metadata, and for
/// `BEHAVIOR_SLOW` sleeps `delay_ms` first, setting `dropped` if the call is dropped meanwhile.
#[derive(Clone, Default)]
struct Probe {
    dropped: Arc<AtomicBool>,
}

/// Sets its flag when dropped before being disarmed.
struct DropAlarm(Arc<AtomicBool>, bool);

impl Drop for DropAlarm {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

#[tonic::async_trait]
impl EchoService for Probe {
    async fn echo(
        &self,
        request: tonic::Request<EchoRequest>,
    ) -> Result<tonic::Response<EchoResponse>, tonic::Status> {
        let peer = request.remote_addr();
        let request = request.into_inner();
        if request.behavior() == Behavior::Slow {
            let mut alarm = DropAlarm(self.dropped.clone(), true);
            tokio::time::sleep(Duration::from_millis(request.delay_ms.into())).await;
            alarm.1 = false;
        }
        let mut response = tonic::Response::new(EchoResponse {
            header: None,
            text: "x".repeat(request.blob.len()),
            blob_len: request.blob.len() as u64,
        });
        if let Some(peer) = peer {
            response.metadata_mut().insert(
                "peer",
                peer.to_string().parse().expect("an address is ASCII"),
            );
        }
        Ok(response)
    }
}

/// The web cam's 640x480 test pattern (the segmented routes) and a [`Probe`] (a tonic
/// service) on one runner.
async fn start(probe: Probe) -> RunningServer {
    let images = ImageService::new(WebCamService)
        .source(TestPattern::default())
        .expect("one source");
    let runner = ServiceRunner::builder()
        .host("127.0.0.1")
        .add_service(images)
        .add_tonic_service(
            EchoServiceServer::new(probe)
                .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(spot_service::MAX_MESSAGE_SIZE),
        )
        .build()
        .await
        .expect("runner builds");
    spawn(runner)
}

fn raw_rgb_request() -> GetImageRequest {
    let mut request = GetImageRequest {
        image_requests: vec![ImageRequest {
            image_source_name: "test-pattern".into(),
            image_format: image::Format::Raw as i32,
            pixel_format: image::PixelFormat::RgbU8 as i32,
            ..Default::default()
        }],
        ..Default::default()
    };
    stamp_request(&mut request, "server-test");
    request
}

#[tokio::test]
async fn image_and_tonic_calls_share_a_connection() {
    let server = start(Probe::default()).await;
    let channel = channel(server.uri()).await;
    let mut images = ImageServiceClient::new(channel.clone())
        .max_decoding_message_size(spot_service::MAX_MESSAGE_SIZE);
    let mut echo = EchoServiceClient::new(channel);

    let mut list = ListImageSourcesRequest::default();
    stamp_request(&mut list, "server-test");
    let blob = Bytes::from(vec![7u8; 3 * 1024 * 1024]);
    let mut lister = images.clone();
    let (sources, image, echoed) = bounded("three calls at once", async {
        tokio::join!(
            lister.list_image_sources(list),
            images.get_image(raw_rgb_request()),
            echo.echo(EchoRequest {
                blob: blob.clone(),
                ..Default::default()
            }),
        )
    })
    .await;

    let sources = sources.expect("ListImageSources").into_inner();
    assert_eq!(sources.image_sources.len(), 1);
    assert_eq!(sources.image_sources[0].name, "test-pattern");
    let image = image.expect("GetImage").into_inner();
    let answer = &image.image_responses[0];
    assert_eq!(answer.status(), image_response::Status::Ok);
    assert_eq!(
        image_data(answer).len(),
        640 * 480 * 3,
        "the whole RAW image arrives"
    );
    // 3 MiB each way through the tonic route: the request in many DATA frames, the response
    // under the client's 64 KiB initial window.
    let echoed = echoed.expect("Echo");
    let peer = echoed
        .metadata()
        .get("peer")
        .expect("the peer address is known");
    let peer: SocketAddr = peer.to_str().unwrap().parse().unwrap();
    assert!(peer.ip().is_loopback());
    let echoed = echoed.into_inner();
    assert_eq!(echoed.blob_len, blob.len() as u64);
    assert_eq!(echoed.text.len(), blob.len());
    server.stop().await;
}

#[tokio::test]
async fn a_slow_reader_gets_every_byte() {
    let server = start(Probe::default()).await;
    // A client with a 16 KiB window that reads slowly: both kinds of route must wait for
    // window updates instead of failing or giving up.
    let mut client = H2Client::connect(server.addr, 16 * 1024).await;
    let image = client
        .call_slowly(
            "/bosdyn.api.ImageService/GetImage",
            &[],
            framed(&raw_rgb_request()),
        )
        .await;
    assert_eq!(image.status().code(), Code::Ok);
    let response = spot_service::proto::bosdyn::api::GetImageResponse::decode(image.message())
        .expect("a GetImageResponse");
    assert_eq!(
        image_data(&response.image_responses[0]).len(),
        640 * 480 * 3
    );

    let echo = EchoRequest {
        blob: Bytes::from(vec![1u8; 1024 * 1024]),
        ..Default::default()
    };
    let echoed = client.call_slowly(ECHO, &[], framed(&echo)).await;
    assert_eq!(echoed.status().code(), Code::Ok);
    let echoed = EchoResponse::decode(echoed.message()).expect("an EchoResponse");
    assert_eq!(echoed.text.len(), 1024 * 1024);
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_the_statuses_tonic_gives() {
    let server = start(Probe::default()).await;
    let mut client = H2Client::connect(server.addr, 1024 * 1024).await;
    // Non-empty messages, so a truncated one has bytes left over (tonic calls an empty
    // leftover a missing message).
    let mut list = ListImageSourcesRequest::default();
    stamp_request(&mut list, "server-test");
    let list = framed(&list);
    let echo = framed(&EchoRequest {
        text: "hello".into(),
        ..Default::default()
    });
    let truncate = |framed: &Bytes| {
        let mut prefix = BytesMut::from(&framed[..5]);
        prefix[4] = prefix[4].wrapping_add(10);
        let mut body = prefix;
        body.put_slice(&framed[5..]);
        body.freeze()
    };
    let compressed_flag = |framed: &Bytes| {
        let mut body = BytesMut::from(&framed[..]);
        body[0] = 1;
        body.freeze()
    };
    let oversized = {
        let mut body = BytesMut::new();
        body.put_u8(0);
        body.put_u32(200 * 1024 * 1024);
        body.freeze()
    };
    let not_protobuf = {
        let mut body = BytesMut::new();
        body.put_u8(0);
        body.put_u32(3);
        body.put_slice(&[0xff, 0xff, 0xff]);
        body.freeze()
    };
    // (case, extra headers, image route body, tonic route body, expected code)
    type Case = (
        &'static str,
        Vec<(&'static str, &'static str)>,
        Bytes,
        Bytes,
        Code,
    );
    let cases: [Case; 6] = [
        (
            "empty body",
            vec![],
            Bytes::new(),
            Bytes::new(),
            Code::Internal,
        ),
        (
            "truncated",
            vec![],
            truncate(&list),
            truncate(&echo),
            Code::Internal,
        ),
        (
            "compressed flag without an encoding",
            vec![],
            compressed_flag(&list),
            compressed_flag(&echo),
            Code::Internal,
        ),
        (
            "unsupported encoding",
            vec![("grpc-encoding", "gzip")],
            list.clone(),
            echo.clone(),
            Code::Unimplemented,
        ),
        (
            "over the size limit",
            vec![],
            oversized.clone(),
            oversized,
            Code::OutOfRange,
        ),
        (
            "not protobuf",
            vec![],
            not_protobuf.clone(),
            not_protobuf,
            Code::Internal,
        ),
    ];
    for (case, headers, image_body, echo_body, code) in cases {
        let image = client.call(LIST, &headers, image_body).await;
        let tonic = client.call(ECHO, &headers, echo_body).await;
        assert_eq!(image.status().code(), code, "image route, {case}");
        assert_eq!(tonic.status().code(), code, "tonic route, {case}");
        assert_eq!(
            image.status().message(),
            tonic.status().message(),
            "the same message on both routes, {case}"
        );
        if headers.is_empty() {
            continue;
        }
        assert_eq!(
            image.header("grpc-accept-encoding"),
            Some("identity"),
            "{case}"
        );
    }

    // Two messages in one unary call: tonic reads the first only; the image route refuses.
    let mut two = BytesMut::from(&list[..]);
    two.put_slice(&list);
    let image = client.call(LIST, &[], two.freeze()).await;
    assert_eq!(image.status().code(), Code::Internal);
    assert_eq!(
        image.status().message(),
        "more than one request message in a unary call"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_client_deadline_cancels_a_call_still_running() {
    let server = start(Probe::default()).await;
    // A bare client: tonic's own client would give up at the deadline by itself.
    let mut client = H2Client::connect(server.addr, 1024 * 1024).await;
    let slow = |delay_ms| {
        framed(&EchoRequest {
            behavior: Behavior::Slow as i32,
            delay_ms,
            ..Default::default()
        })
    };
    let late = client
        .call(ECHO, &[("grpc-timeout", "200m")], slow(5_000))
        .await;
    assert_eq!(late.status().code(), Code::Cancelled);
    assert_eq!(late.status().message(), "Timeout expired");

    let in_time = client
        .call(ECHO, &[("grpc-timeout", "10S")], slow(10))
        .await;
    assert_eq!(in_time.status().code(), Code::Ok);
    // A malformed deadline is ignored, as tonic and grpc-go do.
    let ignored = client
        .call(ECHO, &[("grpc-timeout", "soon")], slow(10))
        .await;
    assert_eq!(ignored.status().code(), Code::Ok);
    server.stop().await;
}

#[tokio::test]
async fn a_client_reset_drops_the_call() {
    let probe = Probe::default();
    let server = start(probe.clone()).await;
    let mut client = H2Client::connect(server.addr, 1024 * 1024).await;
    let request = EchoRequest {
        behavior: Behavior::Slow as i32,
        delay_ms: 30_000,
        ..Default::default()
    };
    let (_response, mut stream) = client.start(ECHO, &[], framed(&request)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!probe.dropped.load(Ordering::SeqCst), "the call is running");
    stream.send_reset(h2::Reason::CANCEL);
    bounded("the call is dropped", async {
        while !probe.dropped.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // The connection still serves.
    let answer = client
        .call(ECHO, &[], framed(&EchoRequest::default()))
        .await;
    assert_eq!(answer.status().code(), Code::Ok);
    server.stop().await;
}

#[tokio::test]
async fn a_connection_that_is_not_http2_is_closed_and_the_server_goes_on() {
    let server = start(Probe::default()).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    bounded(
        "the server closes the connection",
        socket.read_to_end(&mut rest),
    )
    .await
    .ok();
    let mut echo = EchoServiceClient::new(channel(server.uri()).await);
    bounded("a call afterwards", echo.echo(EchoRequest::default()))
        .await
        .expect("the server still answers");
    server.stop().await;
}

/// The image data of a successful answer.
fn image_data(answer: &ImageResponse) -> &Bytes {
    &answer
        .shot
        .as_ref()
        .expect("a shot")
        .image
        .as_ref()
        .expect("an image")
        .data
}

/// `message` as one gRPC length-prefixed message.
fn framed(message: &impl Message) -> Bytes {
    grpc_frame(message).into()
}

/// A bare HTTP/2 client (the h2 crate), for what tonic's client cannot send or does not show.
struct H2Client {
    send: h2::client::SendRequest<Bytes>,
}

/// What came back: the response headers, the data, and the trailers (for a trailers-only
/// response, the headers again).
struct Answer {
    headers: http::HeaderMap,
    data: Bytes,
    trailers: http::HeaderMap,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The gRPC status in the trailers.
    fn status(&self) -> tonic::Status {
        tonic::Status::from_header_map(&self.trailers).expect("a grpc-status")
    }

    /// The one gRPC message in the data.
    fn message(&self) -> &[u8] {
        assert_eq!(self.data[0], 0, "not compressed");
        let len = u32::from_be_bytes(self.data[1..5].try_into().unwrap()) as usize;
        assert_eq!(self.data.len(), 5 + len, "exactly one message");
        &self.data[5..]
    }
}

impl H2Client {
    async fn connect(addr: SocketAddr, window: u32) -> Self {
        let socket = TcpStream::connect(addr).await.expect("connects");
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(window)
            .initial_connection_window_size(window)
            .handshake(socket)
            .await
            .expect("HTTP/2 handshake");
        tokio::spawn(connection);
        Self { send }
    }

    /// Sends a gRPC request; returns the stream to the response.
    async fn start(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
        let mut request = http::Request::post(format!("http://127.0.0.1{path}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut send = bounded("ready to send", self.send.clone().ready())
            .await
            .expect("the connection is open");
        let (response, mut stream) = send
            .send_request(request.body(()).unwrap(), false)
            .expect("request sent");
        stream.send_data(body, true).expect("body sent");
        (response, stream)
    }

    async fn call(&mut self, path: &str, headers: &[(&str, &str)], body: Bytes) -> Answer {
        let (response, _) = self.start(path, headers, body).await;
        bounded(path, read(response, Duration::ZERO)).await
    }

    /// As [`call`](Self::call), pausing 1 ms per DATA frame read.
    async fn call_slowly(&mut self, path: &str, headers: &[(&str, &str)], body: Bytes) -> Answer {
        let (response, _) = self.start(path, headers, body).await;
        bounded(path, read(response, Duration::from_millis(1))).await
    }
}

/// Reads a whole response, releasing flow-control capacity as each frame is read.
async fn read(response: h2::client::ResponseFuture, pause: Duration) -> Answer {
    let response = response.await.expect("response headers");
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut data = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("data");
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        body.flow_control()
            .release_capacity(chunk.len())
            .expect("capacity released");
        data.put_slice(&chunk);
    }
    let trailers = body
        .trailers()
        .await
        .expect("trailers")
        .unwrap_or_else(|| headers.clone());
    Answer {
        headers,
        data: data.freeze(),
        trailers,
    }
}
