//! The HTTP/2 server under [`ServiceRunner`](crate::ServiceRunner): plain h2c connections served
//! with the h2 crate.
//!
//! A segmented route (see [`crate::segmented`]) is answered straight from the stream: its body
//! read, the message decoded, the handler run, and the response sent as one DATA frame of the
//! message's buffers. Such a call first runs in the connection's own task, where it usually
//! completes at once; only if it has to wait does it move to a task of its own. Answers completed
//! there are held until the connection has no request left to hand out (or a few are ready), so
//! that the answers to a burst of requests leave in a few writes instead of one write each.
//!
//! Every other request runs in a task of its own from the start and goes to tonic's routes, with
//! the stream bridged to an HTTP body and the response body sent under HTTP/2 flow control. Both
//! get what tonic's server gives a call: the client's `grpc-timeout` enforced, the connection's
//! address in the request's extensions (`Request::remote_addr`), and the call dropped when the
//! client resets its stream.
//!
//! The image RPCs are why this is not hyper under `tonic::transport::Server`: per call, the
//! routing, codec and dispatch of those layers cost about as much as the whole of a
//! ListImageSources call (docs/src/performance.md has the figures).

mod body;
mod deadline;

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt as _;
use h2::RecvStream;
use h2::server::SendResponse;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::{Stream, StreamExt as _};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::Status;
use tonic::codegen::Service as _;
use tonic::service::Routes;
use tonic::transport::server::Connected;

use self::body::{RequestBody, SendBuf, SendError, send_body};
use crate::routes::ServiceRoutes;
use crate::segmented::{
    SegmentedReply, SegmentedRoute, ok_trailers, read_unary_body, response_head,
};

/// Pause after an accept error that is not about one connection (e.g. out of file
/// descriptors), so the accept loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// HTTP/2 settings, hyper's server defaults (what tonic's server used): 1 MiB stream and
/// connection windows, 16 KiB frames and header lists, at most 400 KiB buffered per stream
/// through flow-control reservations.
fn h2_builder() -> h2::server::Builder {
    let mut builder = h2::server::Builder::new();
    builder
        .initial_window_size(1024 * 1024)
        .initial_connection_window_size(1024 * 1024)
        .max_frame_size(16 * 1024)
        .max_header_list_size(16 * 1024)
        .max_send_buffer_size(400 * 1024);
    builder
}

/// Where requests go: segmented routes by path, tonic's routes for the rest.
struct Dispatch {
    routes: Routes,
    segmented: HashMap<String, SegmentedRoute>,
}

/// A call's answer, before it is sent.
enum Reply {
    /// A segmented route's answer: its message, or the status of a failed call.
    Segmented(SegmentedReply),
    /// A whole HTTP response (tonic's, or a timed-out call's status).
    Http(http::Response<tonic::body::Body>),
}

impl From<Status> for Reply {
    fn from(status: Status) -> Self {
        Reply::Http(status.into_http())
    }
}

/// A segmented route's answer to one request: the body read, the message decoded, the route
/// run.
async fn segmented_reply(
    route: SegmentedRoute,
    parts: http::request::Parts,
    body: RequestBody,
) -> SegmentedReply {
    let body = read_unary_body(body).await?;
    route(parts, body).await
}

/// tonic's answer to one request.
async fn tonic_reply(mut routes: Routes, parts: http::request::Parts, body: RequestBody) -> Reply {
    let request = http::Request::from_parts(parts, tonic::body::Body::new(body));
    // tonic's routes are always ready and never fail.
    let Ok(()) = poll_fn(|cx| {
        tonic::codegen::Service::<http::Request<tonic::body::Body>>::poll_ready(&mut routes, cx)
    })
    .await;
    let Ok(response) = routes.call(request).await;
    Reply::Http(response)
}

/// Serves `routes` on every connection of `incoming` until `stop`: then no connection is
/// accepted any more (the listener is closed), each connection is shut down gracefully (GOAWAY,
/// calls in flight finish), and this returns once all have closed.
pub(crate) async fn serve<I, IO>(incoming: I, routes: ServiceRoutes, stop: CancellationToken)
where
    I: Stream<Item = io::Result<IO>>,
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
{
    let (routes, segmented) = routes.into_parts();
    let dispatch = Arc::new(Dispatch { routes, segmented });
    let connections = TaskTracker::new();
    {
        let mut incoming = pin!(incoming);
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => break,
                accepted = incoming.next() => accepted,
            };
            match accepted {
                Some(Ok(io)) => {
                    connections.spawn(serve_connection(io, dispatch.clone(), stop.clone()));
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "could not accept a connection");
                    if !is_per_connection(&error) {
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                }
                None => break,
            }
        }
    }
    connections.close();
    connections.wait().await;
}

/// Whether an accept error concerns only the connection being accepted.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// Serves one connection until it closes; on `stop`, shuts it down gracefully.
async fn serve_connection<IO>(io: IO, dispatch: Arc<Dispatch>, stop: CancellationToken)
where
    IO: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
{
    let info = io.connect_info();
    let mut connection = tokio::select! {
        handshake = h2_builder().handshake::<_, SendBuf>(io) => match handshake {
            Ok(connection) => connection,
            Err(error) => {
                tracing::debug!(%error, "HTTP/2 handshake failed");
                return;
            }
        },
        () = stop.cancelled() => return,
    };
    let mut stopping = false;
    let mut answered = Answered::default();
    loop {
        let next = tokio::select! {
            next = poll_fn(|cx| answered.poll_accept(&mut connection, cx)) => next,
            () = stop.cancelled(), if !stopping => {
                connection.graceful_shutdown();
                stopping = true;
                continue;
            }
        };
        match next {
            Some(Ok((request, respond))) => {
                let timeout = deadline::client_timeout(request.headers());
                let route = dispatch.segmented.get(request.uri().path()).cloned();
                let (mut parts, body) = request.into_parts();
                parts.extensions.insert(info.clone());
                let body = RequestBody::new(body);
                match route {
                    Some(route) => {
                        // A segmented call usually completes at once (its body came with its
                        // headers, its handler does not block): finished here, it saves a task
                        // and its answer leaves with the others in the connection's next write.
                        let mut reply = Box::pin(segmented_reply(route, parts, body));
                        match (&mut reply).now_or_never() {
                            Some(reply) => answered.push(respond, reply),
                            None => {
                                tokio::spawn(answer(respond, timeout, reply.map(Reply::Segmented)));
                            }
                        }
                    }
                    None => {
                        let reply = tonic_reply(dispatch.routes.clone(), parts, body);
                        tokio::spawn(answer(respond, timeout, reply));
                    }
                }
            }
            Some(Err(error)) => {
                tracing::debug!(%error, "HTTP/2 connection failed");
                return;
            }
            None => return,
        }
    }
}

/// A request as h2 hands it out, with the handle to answer it.
type Incoming = (http::Request<RecvStream>, SendResponse<SendBuf>);

/// The most answers [`Answered`] holds: the first answers of a burst reach the client while the
/// rest are computed, so that client and server work at the same time. With 16 streams in flight
/// (ListImageSources, h2load), 8 doubled the rate of holding them all, which made client and
/// server take turns; 4 and 12 were slower than 8, and with 4 streams it changes nothing.
const MAX_HELD: usize = 8;

/// Answers completed in the connection's task, not yet handed to h2.
///
/// h2 writes what it has queued only once it has read everything the client sent, and a request
/// is handed out before that: answers queued one by one would each leave in a write (a system
/// call and a TCP segment) of their own. Held until no request is left to accept, or until
/// [`MAX_HELD`] are ready, the answers to a burst of requests leave together.
#[derive(Default)]
struct Answered(Vec<(SendResponse<SendBuf>, SegmentedReply)>);

impl Answered {
    fn push(&mut self, respond: SendResponse<SendBuf>, reply: SegmentedReply) {
        self.0.push((respond, reply));
    }

    /// The next request; when there is none yet or [`MAX_HELD`] answers are held, hands the
    /// held answers to h2 first (the connection's poll then writes them).
    fn poll_accept<IO>(
        &mut self,
        connection: &mut h2::server::Connection<IO, SendBuf>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, h2::Error>>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        loop {
            if self.0.len() < MAX_HELD {
                let polled = connection.poll_accept(cx);
                if polled.is_ready() || self.0.is_empty() {
                    return polled;
                }
            }
            for (mut respond, reply) in self.0.drain(..) {
                if let Err(error) = send_segmented(&mut respond, reply) {
                    tracing::debug!(%error, "response not sent");
                }
            }
        }
    }
}

/// Finishes a call whose answer was not ready at once: waits for `reply` (at most `timeout`),
/// unless the client resets its stream first, and sends it.
async fn answer(
    mut respond: SendResponse<SendBuf>,
    timeout: Option<Duration>,
    reply: impl Future<Output = Reply>,
) {
    let reply = async {
        match timeout {
            Some(timeout) => tokio::time::timeout(timeout, reply)
                .await
                .unwrap_or_else(|_| Status::cancelled("Timeout expired").into()),
            None => reply.await,
        }
    };
    let reply = tokio::select! {
        reply = reply => reply,
        _ = poll_fn(|cx| respond.poll_reset(cx)) => return,
    };
    if let Err(error) = send_reply(&mut respond, reply).await {
        tracing::debug!(%error, "response not sent");
    }
}

/// Sends `reply` on the call's stream.
async fn send_reply(respond: &mut SendResponse<SendBuf>, reply: Reply) -> Result<(), SendError> {
    match reply {
        Reply::Segmented(reply) => send_segmented(respond, reply)?,
        Reply::Http(response) => {
            let (head, body) = response.into_parts();
            let end = http_body::Body::is_end_stream(&body);
            let mut stream = respond.send_response(http::Response::from_parts(head, ()), end)?;
            if !end {
                send_body(&mut stream, body).await?;
            }
        }
    }
    Ok(())
}

/// Sends a segmented route's answer (a failed call's as a trailers-only response): h2 queues it
/// at once, nothing to wait for.
fn send_segmented(
    respond: &mut SendResponse<SendBuf>,
    reply: SegmentedReply,
) -> Result<(), SendError> {
    let (metadata, message) = match reply {
        Ok(answer) => answer,
        Err(status) => {
            let head = status.into_http::<tonic::body::Body>().map(|_| ());
            respond.send_response(head, true)?;
            return Ok(());
        }
    };
    let mut stream = respond.send_response(response_head(metadata), false)?;
    // All at once: the buffers are already in memory (shared, not copied), and h2 sends them as
    // the client's window allows.
    stream.send_data(SendBuf::from(message.into_buffers()), false)?;
    stream.send_trailers(ok_trailers())?;
    Ok(())
}

#[cfg(test)]
mod tests;
