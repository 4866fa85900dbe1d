//! PutObject for the common case, in one blocking write.
//!
//! s3s-fs writes an object as three files (the body, its attributes, its
//! ETag), each through `tokio::fs`: a blocking-pool hop per body chunk and
//! per file step, a dozen or more for a 200 KB page. On UpdateSite's 1 GB
//! report (15,000 pages) the embedded server spent more CPU than the
//! function (make bench memory, "server CPU s"). A plain PutObject (no
//! condition, no checksum or MD5 header, a body up to [`GATHER_MAX`]) is
//! written here instead: the body gathered, its MD5 taken, and the same
//! three files s3s-fs would write (same names, same JSON, so its GetObject,
//! HeadObject, CopyObject and listing read them) written in one
//! `spawn_blocking`, each to a temp file renamed into place. Everything else
//! goes to s3s-fs.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use md5::{Digest, Md5};
use s3s::dto::{ETag, PutObjectInput, PutObjectOutput, StreamingBlob};
use s3s::{s3_error, S3Result};

/// Bodies up to this size are written here; larger ones (multipart-sized)
/// stream through s3s-fs.
pub(crate) const GATHER_MAX: i64 = 8 * 1024 * 1024;

/// Whether `input` is a PutObject this module writes as s3s-fs would.
pub(crate) fn is_plain(input: &PutObjectInput) -> bool {
    is_plain_key(&input.key)
        && input.content_length.is_some_and(|l| l <= GATHER_MAX)
        && input.if_match.is_none()
        && input.if_none_match.is_none()
        && input.content_md5.is_none()
        && input.checksum_algorithm.is_none()
        && input.checksum_crc32.is_none()
        && input.checksum_crc32c.is_none()
        && input.checksum_sha1.is_none()
        && input.checksum_sha256.is_none()
        && input.checksum_crc64nvme.is_none()
        && input.storage_class.is_none()
        && input.expires.is_none()
        && input.write_offset_bytes.is_none()
}

/// A plain PutObject with its whole body.
pub(crate) struct Gathered {
    input: PutObjectInput,
    body: Vec<u8>,
}

/// Reads the whole body of a plain PutObject.
pub(crate) async fn gather_body(mut input: PutObjectInput) -> S3Result<Gathered> {
    let body = gather(input.body.take().ok_or_else(|| s3_error!(IncompleteBody))?).await?;
    Ok(Gathered { input, body })
}

/// A key that is a file below its bucket's folder: no `..`, no leading `/`,
/// not a folder (s3s-fs handles the others its own way).
pub(crate) fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && !key.ends_with('/')
        && Path::new(key)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Writes a plain PutObject (see [`is_plain`]) under `root`.
pub(crate) async fn put(
    root: &Path,
    counter: &AtomicU64,
    Gathered { input, body }: Gathered,
) -> S3Result<PutObjectOutput> {
    let e_tag = hex(&Md5::digest(&body));
    let attributes = attributes(&input);
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let (bucket, key) = (b64(&input.bucket), b64(&input.key));
    let bucket_dir = root.join(&input.bucket);
    let object = bucket_dir.join(&input.key);
    let files = [
        (object, body),
        (
            root.join(format!(".bucket-{bucket}.object-{key}.metadata.json")),
            attributes.into_bytes(),
        ),
        (
            root.join(format!(".bucket-{bucket}.object-{key}.internal.json")),
            serde_json::json!({ "e_tag": e_tag })
                .to_string()
                .into_bytes(),
        ),
    ];
    let temps: Vec<PathBuf> = (0..files.len())
        .map(|_| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            // s3s-fs's temp-file pattern (removed at its start), with a name
            // of our own so the two counters never collide.
            root.join(format!(".tmp.plain-{n}.internal.part"))
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        if !bucket_dir.is_dir() {
            return Err(s3_error!(NoSuchBucket));
        }
        for ((path, bytes), temp) in files.iter().zip(&temps) {
            write_atomic(path, bytes, temp).map_err(|e| s3_error!(e, InternalError))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| s3_error!(InternalError, "the write stopped: {e}"))??;
    Ok(PutObjectOutput {
        e_tag: Some(ETag::Strong(e_tag)),
        ..Default::default()
    })
}

fn write_atomic(path: &Path, bytes: &[u8], temp: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(temp, bytes)?;
    std::fs::rename(temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(temp);
    })
}

/// The object's attributes as s3s-fs stores them (its `ObjectAttributes`:
/// only the fields that are set).
fn attributes(input: &PutObjectInput) -> String {
    let mut map = serde_json::Map::new();
    if let Some(m) = &input.metadata {
        map.insert("user_metadata".into(), serde_json::json!(m));
    }
    let fields = [
        ("content_encoding", &input.content_encoding),
        ("content_type", &input.content_type),
        ("content_disposition", &input.content_disposition),
        ("content_language", &input.content_language),
        ("cache_control", &input.cache_control),
        (
            "website_redirect_location",
            &input.website_redirect_location,
        ),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            map.insert(name.into(), serde_json::Value::String(v.clone()));
        }
    }
    serde_json::Value::Object(map).to_string()
}

/// `body` as one buffer.
async fn gather(body: StreamingBlob) -> S3Result<Vec<u8>> {
    use futures::TryStreamExt;
    let mut body = body;
    let mut all = Vec::new();
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| s3_error!(IncompleteBody, "reading the body: {e}"))?
    {
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
