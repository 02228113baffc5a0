//! Bodies between h2 streams and tonic: a request stream read as an HTTP body, a response body
//! sent on a stream under HTTP/2 flow control, and the buffers the server sends.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::IoSlice;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use h2::{RecvStream, SendStream};
use http_body::{Body, Frame};

/// A request's h2 stream as an HTTP body (data, then trailers). Received data is released to
/// flow control as soon as it is handed on, as hyper does.
pub(crate) struct RequestBody {
    stream: RecvStream,
    data_done: bool,
}

impl RequestBody {
    pub(crate) fn new(stream: RecvStream) -> Self {
        Self {
            stream,
            data_done: false,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        if !self.data_done {
            match ready!(self.stream.poll_data(cx)) {
                Some(Ok(data)) => {
                    // Fails only when the stream is already closed; the next poll says so.
                    let _ = self.stream.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => self.data_done = true,
            }
        }
        Poll::Ready(match ready!(self.stream.poll_trailers(cx)) {
            Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_end_stream()
    }
}

/// What the server sends in a DATA frame: one buffer, or several sent as one (written to the
/// socket with one vectored write, without joining them).
#[derive(Debug)]
pub(crate) enum SendBuf {
    /// One buffer.
    One(Bytes),
    /// Buffers in order.
    Many(VecDeque<Bytes>),
}

impl From<Bytes> for SendBuf {
    fn from(bytes: Bytes) -> Self {
        SendBuf::One(bytes)
    }
}

impl From<Vec<Bytes>> for SendBuf {
    fn from(buffers: Vec<Bytes>) -> Self {
        SendBuf::Many(buffers.into_iter().filter(|b| !b.is_empty()).collect())
    }
}

impl Buf for SendBuf {
    fn remaining(&self) -> usize {
        match self {
            SendBuf::One(bytes) => bytes.len(),
            SendBuf::Many(buffers) => buffers.iter().map(Bytes::len).sum(),
        }
    }

    fn chunk(&self) -> &[u8] {
        match self {
            SendBuf::One(bytes) => bytes,
            SendBuf::Many(buffers) => buffers.front().map_or(&[], |b| b),
        }
    }

    fn advance(&mut self, mut cnt: usize) {
        match self {
            SendBuf::One(bytes) => bytes.advance(cnt),
            SendBuf::Many(buffers) => {
                while cnt > 0 {
                    let Some(front) = buffers.front_mut() else {
                        return; // advanced past the end: nothing is left
                    };
                    if cnt < front.len() {
                        front.advance(cnt);
                        return;
                    }
                    cnt -= front.len();
                    buffers.pop_front();
                }
            }
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        match self {
            SendBuf::One(bytes) => bytes.chunks_vectored(dst),
            SendBuf::Many(buffers) => {
                // No buffer is empty (see `From<Vec<Bytes>>`).
                let mut filled = 0;
                for (slot, buffer) in dst.iter_mut().zip(buffers) {
                    *slot = IoSlice::new(buffer);
                    filled += 1;
                }
                filled
            }
        }
    }
}

/// Why a response body stopped before its end.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// The stream or connection failed (or the client reset the stream).
    #[error("HTTP/2 stream failed: {0}")]
    Stream(#[from] h2::Error),
    /// The stream closed before the body was sent (the client went away).
    #[error("the HTTP/2 stream closed before the response was sent")]
    Closed,
    /// The body itself failed; the stream was reset with INTERNAL_ERROR.
    #[error("response body failed: {0}")]
    Body(tonic::codegen::StdError),
}

/// Sends `body` on `stream`: each data frame only as the client's flow-control window allows
/// (so a slow client holds back the body instead of filling memory), then the trailers or the
/// end of the stream. Stops, dropping the body, when the client resets the stream.
pub(crate) async fn send_body<B>(stream: &mut SendStream<SendBuf>, body: B) -> Result<(), SendError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<tonic::codegen::StdError>,
{
    let mut body = pin!(body);
    loop {
        let frame = poll_fn(|cx| {
            if let Poll::Ready(reset) = stream.poll_reset(cx) {
                return Poll::Ready(Err(SendError::from(
                    reset.map_or_else(|error| error, h2::Error::from),
                )));
            }
            body.as_mut().poll_frame(cx).map(Ok)
        })
        .await?;
        let frame = match frame {
            None => {
                stream.send_data(SendBuf::from(Bytes::new()), true)?;
                return Ok(());
            }
            Some(Err(error)) => {
                stream.send_reset(h2::Reason::INTERNAL_ERROR);
                return Err(SendError::Body(error.into()));
            }
            Some(Ok(frame)) => frame,
        };
        match frame.into_data() {
            Ok(mut data) => {
                while !data.is_empty() {
                    stream.reserve_capacity(data.len());
                    let granted = poll_fn(|cx| stream.poll_capacity(cx))
                        .await
                        .ok_or(SendError::Closed)??;
                    let chunk = data.split_to(granted.min(data.len()));
                    stream.send_data(SendBuf::from(chunk), false)?;
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    stream.send_trailers(trailers)?;
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_buffers_read_and_advance_in_order() {
        let mut buf = SendBuf::from(vec![
            Bytes::new(),
            Bytes::from_static(b"ab"),
            Bytes::new(),
            Bytes::from_static(b"cde"),
            Bytes::from_static(b"f"),
        ]);
        assert_eq!(buf.remaining(), 6);
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(
            buf.chunks_vectored(&mut slices),
            3,
            "empty buffers are skipped"
        );
        assert_eq!(&*slices[1], b"cde");
        assert_eq!(buf.chunk(), b"ab");
        buf.advance(3);
        assert_eq!(buf.chunk(), b"de");
        assert_eq!(buf.remaining(), 3);
        let mut rest = Vec::new();
        while buf.has_remaining() {
            let chunk = buf.chunk().to_vec();
            buf.advance(chunk.len());
            rest.extend(chunk);
        }
        assert_eq!(rest, b"def");
        assert_eq!(buf.chunks_vectored(&mut [IoSlice::new(&[]); 8]), 0);
    }
}
