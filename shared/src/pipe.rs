//! A pipe from synchronous code (the CSV renderer) to an async reader (the
//! S3 upload), that carries errors as well as bytes.
//!
//! `tokio::io::duplex` would end the reader with a clean EOF when the writer
//! is dropped after a failure, and the upload would then publish a truncated
//! page. Here a writer dropped without [`PipeWriter::finish`] sends an error,
//! so the upload fails and is aborted instead.

use std::io::{self, Write};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

const CHUNK: usize = 64 * 1024;

/// Creates a pipe holding at most `depth` chunks of 64 KiB in flight.
pub fn pipe(depth: usize) -> (PipeWriter, impl AsyncRead + Send + Unpin) {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(depth.max(1));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        PipeWriter {
            tx: Some(tx),
            buf: BytesMut::with_capacity(CHUNK),
        },
        tokio_util::io::StreamReader::new(Box::pin(stream)),
    )
}

/// The blocking, writing end. Use it from `spawn_blocking`, never from an
/// async task (it blocks while the reader is behind).
pub struct PipeWriter {
    tx: Option<mpsc::Sender<io::Result<Bytes>>>,
    buf: BytesMut,
}

impl PipeWriter {
    fn send(&mut self, item: io::Result<Bytes>) -> io::Result<()> {
        match &self.tx {
            Some(tx) => tx.blocking_send(item).map_err(|_| {
                io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped reading")
            }),
            None => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "pipe already closed",
            )),
        }
    }

    /// Ends the stream cleanly: the reader sees EOF.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        self.tx = None;
        Ok(())
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            let chunk = self.buf.split().freeze();
            self.send(Ok(chunk))?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = self.buf.split().freeze();
            self.send(Ok(chunk))?;
        }
        Ok(())
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        if self.tx.is_some() {
            let _ = self.send(Err(io::Error::other(
                "the writer stopped before finishing (render failed or panicked)",
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn finished_pipe_delivers_every_byte_then_eof() {
        let (mut w, mut r) = pipe(2);
        let writer = tokio::task::spawn_blocking(move || {
            for _ in 0..1000 {
                w.write_all(&[b'x'; 1000]).unwrap();
            }
            w.finish().unwrap();
        });
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        writer.await.unwrap();
        assert_eq!(out.len(), 1_000_000);
    }

    #[tokio::test]
    async fn a_writer_dropped_without_finish_fails_the_reader() {
        let (mut w, mut r) = pipe(2);
        tokio::task::spawn_blocking(move || {
            w.write_all(b"partial page").unwrap();
            drop(w);
        });
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).await.is_err());
    }
}
