//! Unary gRPC responses sent as a list of buffers, so that a large `bytes` field (an image) goes
//! to the socket by reference instead of being copied into one encoded message.
//!
//! tonic encodes every response into one contiguous buffer: a 1 MB RAW image is copied once more
//! per request, and sixteen requests in flight hold sixteen copies. A [`Segments`] is the protobuf
//! encoding of a message in pieces (the small fields encoded, large `bytes` shared), and a
//! [`SegmentedRoute`] answers one unary method with it. The runner's server answers these routes
//! straight from the HTTP/2 stream, before tonic's routing and codec (see `crate::server`);
//! [`SegmentedService`] serves one from tonic's routes instead. Requests are read and decoded with
//! the statuses tonic's server gives for the same faults (size limit, compression refusal,
//! truncated or malformed message), and errors are trailers-only responses.
//!
//! Protobuf parsers accept fields in any order, so an encoder is free to write the large field
//! last: the length of every enclosing message is known up front from `encoded_len`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::{Pin, pin};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::future::BoxFuture;
use http_body::Frame;
use http_body_util::BodyExt as _;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};
use tonic::body::Body;
use tonic::codegen::Service;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Request, Response, Status};

use crate::service::MAX_MESSAGE_SIZE;

/// Shared buffers shorter than this are copied instead: a separate HTTP/2 DATA frame costs more
/// than copying a few kilobytes.
const SHARE_MIN: usize = 16 * 1024;

/// The gRPC message prefix: compressed flag and big-endian length.
const GRPC_PREFIX: usize = 5;

/// The protobuf encoding of one message, in pieces.
#[derive(Debug)]
pub(crate) struct Segments {
    /// The gRPC prefix (patched at the end) and the encoding up to the first shared buffer.
    head: BytesMut,
    /// Shared buffers, and the encoded runs between them.
    pieces: Vec<Bytes>,
    /// The encoding after the last shared buffer.
    tail: BytesMut,
}

impl Segments {
    /// An empty message.
    pub(crate) fn new() -> Self {
        let mut head = BytesMut::with_capacity(256);
        head.put_bytes(0, GRPC_PREFIX);
        Self {
            head,
            pieces: Vec::new(),
            tail: BytesMut::new(),
        }
    }

    /// The encoded length so far (without the gRPC prefix).
    fn len(&self) -> usize {
        self.head.len() - GRPC_PREFIX
            + self.pieces.iter().map(Bytes::len).sum::<usize>()
            + self.tail.len()
    }

    /// Where encoded bytes go now.
    fn open(&mut self) -> &mut BytesMut {
        if self.pieces.is_empty() {
            &mut self.head
        } else {
            &mut self.tail
        }
    }

    /// Appends `message`'s fields as they are encoded at the top level (no key, no length).
    pub(crate) fn put_fields(&mut self, message: &impl Message) {
        message.encode_raw(self.open());
    }

    /// Appends `message` as the length-delimited field `tag`.
    pub(crate) fn put_message_field(&mut self, tag: u32, message: &impl Message) {
        self.put_field_header(tag, message.encoded_len());
        self.put_fields(message);
    }

    /// Appends the key and length of the length-delimited field `tag` whose content (`len`
    /// bytes) follows.
    pub(crate) fn put_field_header(&mut self, tag: u32, len: usize) {
        let open = self.open();
        encode_key(tag, WireType::LengthDelimited, open);
        encode_varint(len as u64, open);
    }

    /// Appends `bytes`, by reference when large.
    pub(crate) fn put_shared(&mut self, bytes: Bytes) {
        if bytes.len() < SHARE_MIN {
            self.open().extend_from_slice(&bytes);
            return;
        }
        if !self.tail.is_empty() {
            self.pieces.push(self.tail.split().freeze());
        }
        self.pieces.push(bytes);
    }

    /// The message as the buffers of one gRPC length-prefixed message.
    ///
    /// # Errors
    ///
    /// The message is longer than [`MAX_MESSAGE_SIZE`] (the status tonic gives for the same).
    pub(crate) fn into_grpc_message(self) -> Result<EncodedMessage, Status> {
        let len = self.len();
        let Self {
            mut head,
            pieces,
            tail,
        } = self;
        if len > MAX_MESSAGE_SIZE {
            return Err(Status::out_of_range(format!(
                "Error, encoded message length too large: found {len} bytes, the limit is: \
                 {MAX_MESSAGE_SIZE} bytes"
            )));
        }
        let len = u32::try_from(len).map_err(|_| Status::out_of_range("message over 4 GiB"))?;
        head[1..GRPC_PREFIX].copy_from_slice(&len.to_be_bytes());
        let mut buffers = Vec::with_capacity(pieces.len() + 2);
        buffers.push(head.freeze());
        buffers.extend(pieces);
        if !tail.is_empty() {
            buffers.push(tail.freeze());
        }
        Ok(EncodedMessage(buffers))
    }
}

/// One gRPC length-prefixed message as buffers.
#[derive(Debug, Clone)]
pub(crate) struct EncodedMessage(Vec<Bytes>);

impl EncodedMessage {
    /// The buffers, in order.
    pub(crate) fn into_buffers(self) -> Vec<Bytes> {
        self.0
    }

    /// The buffers joined (for tests).
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.0.concat()
    }
}

/// What a segmented handler answers: the response metadata and the encoded message.
pub(crate) type SegmentedResult = Result<Response<Segments>, Status>;

/// What a [`SegmentedRoute`] answers: the response metadata and the message, or the status of a
/// failed call.
pub(crate) type SegmentedReply = Result<(MetadataMap, EncodedMessage), Status>;

/// A unary method answered with segments: called with the request's head and its body (the
/// gRPC-framed request message, read with [`read_unary_body`]).
pub(crate) type SegmentedRoute =
    Arc<dyn Fn(http::request::Parts, Bytes) -> BoxFuture<'static, SegmentedReply> + Send + Sync>;

/// A route that decodes `Req` from the body (with the statuses tonic's server gives for the same
/// faults) and answers with `handler`.
pub(crate) fn segmented_route<Req, F, Fut>(handler: F) -> SegmentedRoute
where
    Req: Message + Default + Send + 'static,
    F: Fn(Request<Req>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = SegmentedResult> + Send + 'static,
{
    Arc::new(move |parts, body| {
        let answer = decode_unary::<Req>(&parts.headers, &body).map(|message| {
            handler(Request::from_http(http::Request::from_parts(
                parts, message,
            )))
        });
        Box::pin(async move {
            let (metadata, segments, _) = answer?.await?.into_parts();
            Ok((metadata, segments.into_grpc_message()?))
        })
    })
}

/// Reads a unary request's body: one gRPC-framed message, checked against
/// [`MAX_MESSAGE_SIZE`] as soon as its length prefix arrives.
pub(crate) async fn read_unary_body<B>(body: B) -> Result<Bytes, Status>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<tonic::codegen::StdError>,
{
    let mut body = pin!(body);
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| Status::from_error(error.into()))?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        // The common case, the whole message in one DATA frame, is kept without a copy.
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            None => joined.extend_from_slice(&chunk),
            Some(previous) => {
                joined.extend_from_slice(&previous);
                joined.extend_from_slice(&chunk);
            }
        }
        let received = first.as_deref().unwrap_or(&joined);
        if let Some(len) = message_len(received) {
            if len > MAX_MESSAGE_SIZE {
                return Err(Status::out_of_range(format!(
                    "Error, decoded message length too large: found {len} bytes, the limit is: \
                     {MAX_MESSAGE_SIZE} bytes"
                )));
            }
            if received.len() > GRPC_PREFIX + len {
                return Err(Status::internal(
                    "more than one request message in a unary call",
                ));
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}

/// The message length in a gRPC prefix, once the prefix is complete.
fn message_len(framed: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = framed.get(1..GRPC_PREFIX)?.try_into().ok()?;
    Some(u32::from_be_bytes(prefix) as usize)
}

/// Decodes the one message of a unary request body read by [`read_unary_body`].
fn decode_unary<Req: Message + Default>(
    headers: &http::HeaderMap,
    framed: &[u8],
) -> Result<Req, Status> {
    if let Some(encoding) = headers.get("grpc-encoding")
        && encoding != "identity"
    {
        let mut status = Status::unimplemented(format!(
            "Content is compressed with `{}` which isn't supported",
            String::from_utf8_lossy(encoding.as_bytes())
        ));
        status.metadata_mut().insert(
            "grpc-accept-encoding",
            MetadataValue::from_static("identity"),
        );
        return Err(status);
    }
    let Some(len) = message_len(framed) else {
        return Err(if framed.is_empty() {
            Status::internal("Missing request message.")
        } else {
            Status::internal("Unexpected EOF decoding stream.")
        });
    };
    let Some(message) = framed.get(GRPC_PREFIX..GRPC_PREFIX + len) else {
        return Err(Status::internal("Unexpected EOF decoding stream."));
    };
    match framed[0] {
        0 => Req::decode(message).map_err(|error| Status::internal(error.to_string())),
        1 => Err(Status::internal(
            "protocol error: received message with compressed-flag but no grpc-encoding was \
             specified",
        )),
        flag => Err(Status::internal(format!(
            "protocol error: received message with invalid compression flag: {flag} (valid flags \
             are 0 and 1)"
        ))),
    }
}

/// The head of a successful gRPC response carrying `metadata`.
pub(crate) fn response_head(metadata: MetadataMap) -> http::Response<()> {
    let mut head = http::Response::new(());
    *head.headers_mut() = metadata.into_headers();
    head.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    head
}

/// The trailers of a successful gRPC response (built once; each response sends a copy).
pub(crate) fn ok_trailers() -> http::HeaderMap {
    static OK: LazyLock<http::HeaderMap> = LazyLock::new(|| {
        let mut trailers = http::HeaderMap::new();
        // Adding the headers of an OK status without details cannot fail.
        let _ = Status::ok("").add_header(&mut trailers);
        trailers
    });
    OK.clone()
}

/// A [`SegmentedRoute`] as a tower service, for serving it from tonic's routes (the runner's own
/// server answers it without this).
#[derive(Clone)]
pub(crate) struct SegmentedService(pub(crate) SegmentedRoute);

impl<B> Service<http::Request<B>> for SegmentedService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let route = self.0.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let reply = match read_unary_body(body).await {
                Ok(body) => route(parts, body).await,
                Err(status) => Err(status),
            };
            Ok(match reply {
                Ok((metadata, message)) => {
                    let (head, ()) = response_head(metadata).into_parts();
                    http::Response::from_parts(head, Body::new(SegmentedBody::new(message)))
                }
                Err(status) => status.into_http(),
            })
        })
    }
}

/// A successful unary response body: the message's buffers, then `grpc-status: 0`.
struct SegmentedBody {
    buffers: VecDeque<Bytes>,
    trailers: Option<http::HeaderMap>,
}

impl SegmentedBody {
    fn new(message: EncodedMessage) -> Self {
        Self {
            buffers: message.0.into(),
            trailers: Some(ok_trailers()),
        }
    }
}

impl http_body::Body for SegmentedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        Poll::Ready(match this.buffers.pop_front() {
            Some(data) => Some(Ok(Frame::data(data))),
            None => this.trailers.take().map(|t| Ok(Frame::trailers(t))),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.buffers.is_empty() && self.trailers.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_frame_one_grpc_message() {
        use crate::proto::bosdyn::api::{RequestHeader, ResponseHeader};
        let header = ResponseHeader {
            request_header: Some(RequestHeader {
                client_name: "c".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut segments = Segments::new();
        segments.put_message_field(1, &header);
        let big = Bytes::from(vec![7u8; SHARE_MIN + 1]);
        segments.put_field_header(2, big.len());
        segments.put_shared(big.clone());
        segments.put_message_field(3, &header);
        let len = segments.len();
        let message = segments.into_grpc_message().unwrap();
        assert_eq!(message.0.len(), 3, "head, shared, tail");
        assert_eq!(message.0[1].as_ptr(), big.as_ptr(), "shared, not copied");
        let bytes = message.to_vec();
        assert_eq!(bytes[0], 0);
        assert_eq!(
            u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize,
            len
        );
        assert_eq!(bytes.len(), len + GRPC_PREFIX);
    }

    #[test]
    fn oversized_message_is_out_of_range() {
        let mut segments = Segments::new();
        segments.put_shared(Bytes::from(vec![0u8; MAX_MESSAGE_SIZE + 1]));
        let status = segments.into_grpc_message().unwrap_err();
        assert_eq!(status.code(), tonic::Code::OutOfRange);
    }
}
