//! A download's body as it streams: a byte limit, and I/O errors tagged
//! with why they happened, so a broken stream (retry), a corrupt gzip and an
//! oversized report (do not) get different error names wherever they surface.

use std::io;
use std::pin::Pin;

use tokio::io::AsyncRead;

use crate::errors::ErrorName;

/// Why reading a download body failed: the transport (worth a retry) or
/// the bytes themselves (corrupt gzip: a retry gets the same bytes).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the download stream broke: {0}")]
    Transport(String),
    #[error("the download is not valid gzip: {0}")]
    Corrupt(String),
    #[error("the report is larger than the limit of {0} bytes")]
    TooLarge(u64),
}

impl BodyError {
    /// Classifies an I/O error from a [`Download`] body.
    pub fn classify(err: &io::Error) -> ErrorName {
        match err.get_ref().and_then(|e| e.downcast_ref::<BodyError>()) {
            Some(BodyError::Corrupt(_)) => ErrorName::CsvMalformed,
            Some(BodyError::TooLarge(_)) => ErrorName::CsvLimitExceeded,
            _ => ErrorName::ReportApiUnavailable,
        }
    }
}

/// Fails a body that grows past `max` bytes, while it streams.
pub struct LimitedBody<R> {
    inner: R,
    seen: u64,
    max: u64,
}

impl<R> LimitedBody<R> {
    pub fn new(inner: R, max: u64) -> Self {
        LimitedBody {
            inner,
            seen: 0,
            max,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LimitedBody<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let std::task::Poll::Ready(Ok(())) = polled {
            self.seen += (buf.filled().len() - before) as u64;
            if self.seen > self.max {
                return std::task::Poll::Ready(Err(io::Error::other(BodyError::TooLarge(
                    self.max,
                ))));
            }
        }
        polled
    }
}

/// Tags decoder errors as [`BodyError::Corrupt`] unless they are transport
/// errors passed through from the inner stream.
pub(crate) struct GzipErrors<R>(pub(crate) R);

impl<R: AsyncRead + Unpin> AsyncRead for GzipErrors<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            std::task::Poll::Ready(Err(e))
                if e.get_ref()
                    .and_then(|i| i.downcast_ref::<BodyError>())
                    .is_none() =>
            {
                std::task::Poll::Ready(Err(io::Error::other(BodyError::Corrupt(e.to_string()))))
            }
            other => other,
        }
    }
}
