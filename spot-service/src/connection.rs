//! Accepted connections that can be cut off: when the drain deadline passes, their reads and
//! writes fail, so the HTTP/2 connection ends and the calls still running on it are dropped.
//! Without this, a stuck call would outlive the server that accepted it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// A TCP connection that fails all I/O once its token is cancelled.
pub(crate) struct CuttableConnection {
    inner: TcpStream,
    token: CancellationToken,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl CuttableConnection {
    pub(crate) fn new(inner: TcpStream, cut: CancellationToken) -> Self {
        Self {
            inner,
            token: cut.clone(),
            cut: Box::pin(cut.cancelled_owned()),
        }
    }

    fn cut_error() -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "connection cut off at the drain deadline",
        )
    }

    /// Runs one I/O poll unless the connection is cut. The cut is checked with an atomic load
    /// before the I/O; only when the I/O has to wait is the cut's waker registered (so a cut
    /// wakes a connection blocked on I/O), which keeps the lock of the token's waker list off
    /// the path of every read and write.
    fn poll_io<T>(
        &mut self,
        cx: &mut Context<'_>,
        io: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if self.token.is_cancelled() {
            return Poll::Ready(Err(Self::cut_error()));
        }
        match io(Pin::new(&mut self.inner), cx) {
            Poll::Pending => match self.cut.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(Self::cut_error())),
                Poll::Pending => Poll::Pending,
            },
            ready => ready,
        }
    }
}

impl AsyncRead for CuttableConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_io(cx, |inner, cx| inner.poll_read(cx, buf))
    }
}

impl AsyncWrite for CuttableConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io(cx, |inner, cx| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io(cx, |inner, cx| inner.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl Connected for CuttableConnection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}
