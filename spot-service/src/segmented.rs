//! Unary gRPC responses sent as a list of buffers, so that a large `bytes` field (an image) goes
//! to the socket by reference instead of being copied into one encoded message.
//!
//! tonic encodes every response into one contiguous buffer: a 1 MB RAW image is copied once more
//! per request, and sixteen requests in flight hold sixteen copies. A [`Segments`] is the protobuf
//! encoding of a message in pieces (the small fields encoded, large `bytes` shared), and
//! [`SegmentedServer`] serves chosen unary methods of a service with it. tonic still decodes the
//! request (size limit, compression refusal) and turns errors into trailers-only responses; only
//! the body of a successful response is replaced, by the segments framed as one gRPC message and
//! the same `grpc-status: 0` trailers.
//!
//! Protobuf parsers accept fields in any order, so an encoder is free to write the large field
//! last: the length of every enclosing message is known up front from `encoded_len`.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::future::BoxFuture;
use http_body::Frame;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint};
use tonic::body::Body;
use tonic::codec::{BufferSettings, Codec, EncodeBuf, Encoder};
use tonic::codegen::Service;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};
use tonic_prost::ProstDecoder;

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

/// One gRPC length-prefixed message as buffers (carried from the handler to the route in the
/// response's extensions).
#[derive(Debug, Clone)]
pub(crate) struct EncodedMessage(Vec<Bytes>);

impl EncodedMessage {
    /// The buffers joined (for tests).
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.0.concat()
    }

    /// The buffers (for tests).
    #[cfg(test)]
    pub(crate) fn buffers(&self) -> &[Bytes] {
        &self.0
    }
}

/// A successful unary response body: the message's buffers, then `grpc-status: 0`.
struct SegmentedBody {
    buffers: VecDeque<Bytes>,
    trailers: Option<http::HeaderMap>,
}

impl SegmentedBody {
    fn new(message: EncodedMessage) -> Self {
        let mut trailers = http::HeaderMap::new();
        // Adding the headers of an OK status without details cannot fail.
        let _ = Status::ok("").add_header(&mut trailers);
        Self {
            buffers: message.0.into(),
            trailers: Some(trailers),
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

/// What a segmented handler answers: the response metadata and the encoded message.
pub(crate) type SegmentedResult = Result<Response<Segments>, Status>;

type Route =
    Arc<dyn Fn(http::Request<Body>) -> BoxFuture<'static, http::Response<Body>> + Send + Sync>;

/// A gRPC service (named by `N`) whose unary methods are served with segmented responses;
/// other methods answer UNIMPLEMENTED, as tonic's generated servers do.
pub(crate) struct SegmentedServer<N> {
    routes: Arc<HashMap<String, Route>>,
    name: PhantomData<fn() -> N>,
}

impl<N> Clone for SegmentedServer<N> {
    fn clone(&self) -> Self {
        Self {
            routes: self.routes.clone(),
            name: PhantomData,
        }
    }
}

impl<N: NamedService> SegmentedServer<N> {
    /// A server with no method yet.
    pub(crate) fn new() -> Self {
        Self {
            routes: Arc::new(HashMap::new()),
            name: PhantomData,
        }
    }

    /// Serves `method` with `handler`.
    pub(crate) fn method<Req, F, Fut>(mut self, method: &str, handler: F) -> Self
    where
        Req: Message + Default + Send + 'static,
        F: Fn(Request<Req>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = SegmentedResult> + Send + 'static,
    {
        let route: Route = Arc::new(move |request| {
            let handler = handler.clone();
            Box::pin(async move {
                let mut grpc = Grpc::new(SegmentedCodec::<Req>(PhantomData))
                    .apply_max_message_size_config(Some(MAX_MESSAGE_SIZE), Some(MAX_MESSAGE_SIZE));
                let response = grpc.unary(SegmentedUnary(handler), request).await;
                let (mut parts, body) = response.into_parts();
                match parts.extensions.remove::<EncodedMessage>() {
                    Some(message) => {
                        http::Response::from_parts(parts, Body::new(SegmentedBody::new(message)))
                    }
                    None => http::Response::from_parts(parts, body),
                }
            })
        });
        let path = format!("/{}/{method}", N::NAME);
        Arc::make_mut(&mut self.routes).insert(path, route);
        self
    }
}

impl<N: NamedService> NamedService for SegmentedServer<N> {
    const NAME: &'static str = N::NAME;
}

impl<N> Service<http::Request<Body>> for SegmentedServer<N> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match self.routes.get(request.uri().path()) {
            Some(route) => {
                let response = route(request);
                Box::pin(async move { Ok(response.await) })
            }
            None => Box::pin(async { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}

/// Runs the handler and moves its encoded message into the response's extensions; tonic then
/// sees an empty placeholder message.
struct SegmentedUnary<F>(F);

impl<Req, F, Fut> UnaryService<Req> for SegmentedUnary<F>
where
    F: Fn(Request<Req>) -> Fut,
    Fut: Future<Output = SegmentedResult> + Send + 'static,
{
    type Response = Placeholder;
    type Future = BoxFuture<'static, Result<Response<Placeholder>, Status>>;

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        let answer = (self.0)(request);
        Box::pin(async move {
            let (metadata, segments, mut extensions) = answer.await?.into_parts();
            extensions.insert(segments.into_grpc_message()?);
            Ok(Response::from_parts(metadata, Placeholder, extensions))
        })
    }
}

/// The message tonic encodes in place of a segmented one (its body is then replaced).
struct Placeholder;

/// Decodes `Req` with prost; "encodes" the placeholder as nothing.
struct SegmentedCodec<Req>(PhantomData<fn() -> Req>);

impl<Req: Message + Default + Send + 'static> Codec for SegmentedCodec<Req> {
    type Encode = Placeholder;
    type Decode = Req;
    type Encoder = PlaceholderEncoder;
    type Decoder = ProstDecoder<Req>;

    fn encoder(&mut self) -> PlaceholderEncoder {
        PlaceholderEncoder
    }

    fn decoder(&mut self) -> ProstDecoder<Req> {
        ProstDecoder::new(BufferSettings::default())
    }
}

/// See [`SegmentedCodec`].
struct PlaceholderEncoder;

impl Encoder for PlaceholderEncoder {
    type Item = Placeholder;
    type Error = Status;

    fn encode(&mut self, _: Placeholder, _: &mut EncodeBuf<'_>) -> Result<(), Status> {
        Ok(())
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
