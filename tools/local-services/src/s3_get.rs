//! GetObject's body in large chunks.
//!
//! s3s-fs streams an object with `ReaderStream::with_capacity(file, 4096)`:
//! a `tokio::fs` blocking-pool hop every 4 KiB, half a million for each read
//! of a 1 GB report (UpdateSite reads it twice), and as many small HTTP
//! frames for the client to take in. For a whole-object GET this swaps the
//! body s3s-fs built for the same file read in chunks of [`CHUNK`], once the
//! file opened here is the version s3s-fs answered for (same length, same
//! modification time). Everything else in the answer (headers, conditions,
//! checksums, errors) is s3s-fs's own.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use s3s::dto::{GetObjectOutput, StreamingBlob, Timestamp};
use s3s::stream::{ByteStream, RemainingLength};
use s3s::StdError;
use tokio_util::io::ReaderStream;

/// Read size for a GET's body (one blocking-pool hop each).
const CHUNK: usize = 1024 * 1024;

/// Replaces `output`'s body with `path` read in large chunks, if `path` is
/// still the object s3s-fs answered for; otherwise leaves it as it is.
pub(crate) async fn rechunk(path: &Path, output: &mut GetObjectOutput) {
    let Ok(file) = tokio::fs::File::open(path).await else {
        return;
    };
    let Ok(meta) = file.metadata().await else {
        return;
    };
    let same_length = output
        .content_length
        .is_some_and(|l| u64::try_from(l).ok() == Some(meta.len()));
    let same_time = meta
        .modified()
        .ok()
        .map(Timestamp::from)
        .is_some_and(|t| output.last_modified.as_ref() == Some(&t));
    let Ok(remaining) = usize::try_from(meta.len()) else {
        return;
    };
    if same_length && same_time {
        output.body = Some(StreamingBlob::new(FileBody {
            inner: ReaderStream::with_capacity(file, CHUNK),
            remaining,
        }));
    }
}

/// A file's bytes, with their exact length (for the Content-Length header).
struct FileBody {
    inner: ReaderStream<tokio::fs::File>,
    remaining: usize,
}

impl Stream for FileBody {
    type Item = Result<Bytes, StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                self.remaining = self.remaining.saturating_sub(bytes.len());
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ByteStream for FileBody {
    fn remaining_length(&self) -> RemainingLength {
        RemainingLength::new_exact(self.remaining)
    }
}
