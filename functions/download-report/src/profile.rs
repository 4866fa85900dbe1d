//! The report's profile and gzip download (`update_site::site::profile`),
//! made while the report streams into the bucket: a [`Tap`] on the body
//! hands every chunk the upload reads to a blocking thread, which scans it
//! and gzips it into a second upload. The upload waits for the thread
//! when it is behind, so memory stays a few chunks whatever the size.
//!
//! The profile is an optimisation for UpdateSite, never a condition of
//! storing the report: whatever goes wrong with it (a CSV the scan refuses,
//! a failed upload) is logged, and UpdateSite, finding no profile, makes
//! its own.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use flate2::write::GzEncoder;
use shared::pipe::PipeWriter;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;
use update_site::site::scan::Scan;
use update_site::Limits;

/// Chunks between the upload and the profiler.
const DEPTH: usize = 8;

/// The body, as the upload reads it, with every chunk also sent on.
pub(crate) struct Tap<R> {
    inner: R,
    /// `None` once the profiler is gone (it failed) or the end was sent.
    tx: Option<PollSender<Bytes>>,
    /// A chunk read but not yet sent on.
    pending: Option<Bytes>,
}

impl<R> Tap<R> {
    /// Sends `pending` on; `Pending` while the profiler is behind.
    fn poll_send(&mut self, cx: &mut Context<'_>, item: Bytes) -> Poll<()> {
        let Some(tx) = self.tx.as_mut() else {
            return Poll::Ready(());
        };
        match tx.poll_reserve(cx) {
            Poll::Pending => {
                self.pending = Some(item);
                Poll::Pending
            }
            Poll::Ready(Ok(())) => {
                let end = item.is_empty();
                if tx.send_item(item).is_err() || end {
                    self.tx = None;
                }
                Poll::Ready(())
            }
            // The profiler stopped: the upload goes on without it.
            Poll::Ready(Err(_)) => {
                self.tx = None;
                Poll::Ready(())
            }
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Tap<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(chunk) = this.pending.take() {
            ready!(this.poll_send(cx, chunk));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if this.tx.is_none() {
            return Poll::Ready(Ok(()));
        }
        if read.is_empty() {
            // The end: an empty chunk says the body ended cleanly (a
            // dropped sender says it did not).
            // Not sent yet: the next poll sends it and reads the end again,
            // which a finished body gives again.
            ready!(this.poll_send(cx, Bytes::new()));
            return Poll::Ready(Ok(()));
        }
        // Sent on the next read (or at the end): this chunk is the caller's
        // now, and a Pending here would lose it.
        this.pending = Some(Bytes::copy_from_slice(read));
        Poll::Ready(Ok(()))
    }
}

/// The profiler's end: the chunks as a blocking reader.
struct Chunks {
    rx: mpsc::Receiver<Bytes>,
    chunk: Bytes,
    ended: bool,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(c) if c.is_empty() => self.ended = true,
                Some(c) => self.chunk = c,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the report's body stopped before its end",
                    ))
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// Why there is no profile.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NoProfile {
    #[error("the scan refused the report: {0}")]
    Scan(#[from] update_site::RenderError),
    #[error("the download's copy failed: {0}")]
    Copy(#[from] io::Error),
}

/// Wraps `body` in a tap, and starts the profiler on a blocking thread: it
/// writes the gzip download into `gz` and ends with the scan. `gz` is
/// finished only when the scan succeeded, so a failed profile never leaves a
/// download behind (its upload fails).
pub(crate) fn start<R>(
    body: R,
    gz: PipeWriter,
    limits: Limits,
    diff_max_bytes: u64,
) -> (Tap<R>, tokio::task::JoinHandle<Result<Scan, NoProfile>>) {
    let (tx, rx) = mpsc::channel(DEPTH);
    let tap = Tap {
        inner: body,
        tx: Some(PollSender::new(tx)),
        pending: None,
    };
    let profiler = tokio::task::spawn_blocking(move || {
        let input = Chunks {
            rx,
            chunk: Bytes::new(),
            ended: false,
        };
        let gz = GzEncoder::new(gz, flate2::Compression::fast());
        let (scanned, gz) = update_site::site::profile::make(input, gz, &limits, diff_max_bytes);
        let gz = gz?;
        let scanned = scanned?;
        gz.finish()?.finish()?;
        Ok(scanned)
    });
    (tap, profiler)
}
