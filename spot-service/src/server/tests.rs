//! The server's write batching, seen from the socket: an in-memory connection that counts the
//! server's writes.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use prost::Message as _;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::transport::server::Connected;
use tonic::{Request, Response};

use super::{MAX_HELD, serve};
use crate::routes::ServiceRoutes;
use crate::segmented::{Segments, segmented_route};

/// The server's end of an in-memory connection, counting its writes.
struct CountingIo {
    io: DuplexStream,
    writes: Arc<AtomicUsize>,
}

impl Connected for CountingIo {
    type ConnectInfo = ();

    fn connect_info(&self) {}
}

impl AsyncRead for CountingIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl CountingIo {
    fn count(&self, written: &Poll<io::Result<usize>>) {
        if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl AsyncWrite for CountingIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        self.count(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.count(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "test.Echo";
}

/// A unary request for `/test.Echo/Echo` carrying `value`, gRPC-framed.
fn echo_request(value: i64) -> (http::Request<()>, Bytes) {
    let mut body = Segments::new();
    body.put_fields(&prost_types::Duration {
        seconds: value,
        nanos: 0,
    });
    let body = body.into_grpc_message().unwrap().to_vec();
    let request = http::Request::post("http://localhost/test.Echo/Echo")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    (request, body.into())
}

/// Sends `values` as requests at once on `client` and returns the echoed values, in order.
async fn echo_all(client: &mut h2::client::SendRequest<Bytes>, values: &[i64]) -> Vec<i64> {
    let mut responses = Vec::new();
    for &value in values {
        let (request, body) = echo_request(value);
        let (response, mut stream) = client.send_request(request, false).unwrap();
        stream.send_data(body, true).unwrap();
        responses.push(response);
    }
    let mut echoed = Vec::new();
    for response in responses {
        let mut body = response.await.unwrap().into_body();
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            body.flow_control().release_capacity(chunk.len()).unwrap();
            data.extend_from_slice(&chunk);
        }
        let trailers = body.trailers().await.unwrap().expect("trailers");
        assert_eq!(trailers["grpc-status"], "0");
        let message = prost_types::Duration::decode(&data[5..]).unwrap();
        echoed.push(message.seconds);
    }
    echoed
}

/// The answers to requests that arrive together leave in writes of [`MAX_HELD`] answers, not one
/// write each.
#[tokio::test]
async fn answers_to_a_burst_of_requests_leave_together() {
    let mut routes = ServiceRoutes::default();
    routes.add_segmented::<Echo>(
        "Echo",
        segmented_route(|request: Request<prost_types::Duration>| async move {
            let mut segments = Segments::new();
            segments.put_fields(request.get_ref());
            Ok(Response::new(segments))
        }),
    );
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let writes = Arc::new(AtomicUsize::new(0));
    let io = CountingIo {
        io: server_io,
        writes: writes.clone(),
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(tokio_stream::iter([Ok(io)]), routes, stop.clone()));

    let (mut client, connection) = h2::client::handshake(client_io).await.unwrap();
    tokio::spawn(connection);
    // Settle the handshake (SETTINGS and their acknowledgements) with one call first.
    assert_eq!(echo_all(&mut client, &[0]).await, [0]);
    let before = writes.load(Ordering::Relaxed);

    let values: Vec<i64> = (1..=16).collect();
    assert_eq!(echo_all(&mut client, &values).await, values);
    let burst_writes = writes.load(Ordering::Relaxed) - before;
    // At most MAX_HELD answers are held: the first ones leave before the last are computed.
    assert_eq!(
        burst_writes,
        values.len() / MAX_HELD,
        "16 answers took {burst_writes} writes"
    );

    stop.cancel();
    drop(client);
    server.await.unwrap();
}
