//! An embedded S3-protocol server: `s3s` serving an `s3s-fs` store rooted at
//! a directory, on a loopback port, with SigV4 auth.
//!
//! Buckets are directories under the root and objects are files, so a test
//! can also look at what was written with plain `std::fs`.
//!
//! s3s-fs does not implement ListMultipartUploads; a thin wrapper (`LocalFs`) adds it,
//! answering from the upload metadata files s3s-fs leaves in the root
//! (the abort-on-failure tests need it to prove nothing was left behind).

use crate::server::ServerTask;
use base64::Engine as _;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Fixed credentials: local only, never secret.
pub(crate) const ACCESS_KEY: &str = "test";
pub(crate) const SECRET_KEY: &str = "testtesttest";
pub const REGION: &str = "us-east-1";

/// A running S3 server. Stops when dropped.
#[derive(Debug)]
pub struct LocalS3 {
    server: ServerTask,
    root: PathBuf,
    endpoint: String,
    faults: S3Faults,
}

/// The S3 operations fault injection tells apart, from the request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3Op {
    PutObject,
    CopyObject,
    CreateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    GetObject,
    HeadObject,
    /// Listing, bucket operations and anything else.
    Other,
}

impl S3Op {
    fn of<B>(req: &hyper::Request<B>) -> S3Op {
        let query = req.uri().query().unwrap_or("");
        let has = |name: &str| {
            query
                .split('&')
                .any(|p| p == name || p.starts_with(&format!("{name}=")))
        };
        // Path style: /bucket or /bucket/key.
        let has_key = req
            .uri()
            .path()
            .trim_start_matches('/')
            .split_once('/')
            .is_some_and(|(_, k)| !k.is_empty());
        match *req.method() {
            hyper::Method::PUT if has("partNumber") && has("uploadId") => S3Op::UploadPart,
            hyper::Method::PUT if has_key && req.headers().contains_key("x-amz-copy-source") => {
                S3Op::CopyObject
            }
            hyper::Method::PUT if has_key => S3Op::PutObject,
            hyper::Method::POST if has("uploads") => S3Op::CreateMultipartUpload,
            hyper::Method::POST if has("uploadId") => S3Op::CompleteMultipartUpload,
            hyper::Method::DELETE if has("uploadId") => S3Op::AbortMultipartUpload,
            hyper::Method::GET if has_key && !has("uploadId") => S3Op::GetObject,
            hyper::Method::HEAD if has_key => S3Op::HeadObject,
            _ => S3Op::Other,
        }
    }
}

/// One scripted S3 misbehaviour, consumed by the next request of its operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Fault {
    /// Answer with this status and S3 error code (`SlowDown`, `AccessDenied`…).
    Error { status: u16, code: String },
    /// Close the connection without answering, as a reset would.
    Reset,
}

impl S3Fault {
    pub fn slow_down() -> S3Fault {
        S3Fault::Error {
            status: 503,
            code: "SlowDown".into(),
        }
    }
    pub fn internal_error() -> S3Fault {
        S3Fault::Error {
            status: 500,
            code: "InternalError".into(),
        }
    }
    pub fn access_denied() -> S3Fault {
        S3Fault::Error {
            status: 403,
            code: "AccessDenied".into(),
        }
    }
    pub fn no_such_bucket() -> S3Fault {
        S3Fault::Error {
            status: 404,
            code: "NoSuchBucket".into(),
        }
    }
}

/// The fault queue and per-operation request counts of a [`LocalS3`].
#[derive(Debug, Clone, Default)]
struct S3Faults(Arc<Mutex<FaultState>>);

#[derive(Debug, Default)]
struct FaultState {
    queued: Vec<(S3Op, S3Fault)>,
    counts: std::collections::HashMap<S3Op, u64>,
}

impl S3Faults {
    fn take(&self, op: S3Op) -> Option<S3Fault> {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *state.counts.entry(op).or_default() += 1;
        let i = state.queued.iter().position(|(o, _)| *o == op)?;
        Some(state.queued.remove(i).1)
    }
}

fn fault_response(status: u16, code: &str) -> hyper::Response<s3s::Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected fault</Message><RequestId>fault</RequestId></Error>"
    );
    let mut resp = hyper::Response::new(s3s::Body::from(body));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    resp
}

impl LocalS3 {
    /// Serves `root` (created if missing) on a free loopback port.
    pub async fn start(root: &Path) -> io::Result<LocalS3> {
        Self::start_on(root, 0).await
    }

    /// Serves `root` (created if missing) on `127.0.0.1:port` (0 = any free port).
    pub async fn start_on(root: &Path, port: u16) -> io::Result<LocalS3> {
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        let fs = FileSystem::new(&root).map_err(|e| io::Error::other(format!("{e:?}")))?;
        let service = {
            let mut b = S3ServiceBuilder::new(LocalFs {
                fs,
                root: root.clone(),
                write_lock: tokio::sync::Mutex::new(()),
                plain_writes: std::sync::atomic::AtomicU64::new(0),
            });
            // SigV4 is checked exactly as AWS would: a wrong secret fails here, not in production.
            b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            b.build()
        };
        let listener = ServerTask::listen(port).await?;
        let addr = listener.local_addr()?;
        let faults = S3Faults::default();
        let conn_faults = faults.clone();
        let server = ServerTask::spawn(
            listener,
            Box::new(move |io| {
                let (svc, faults) = (service.clone(), conn_faults.clone());
                // Faults are decided before s3s sees the request, so an
                // injected error looks to the client exactly like AWS's.
                let with_faults = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let fault = faults.take(S3Op::of(&req));
                        let svc = svc.clone();
                        async move {
                            match fault {
                                Some(S3Fault::Reset) => {
                                    Err(s3s::HttpError::new("injected connection reset".into()))
                                }
                                Some(S3Fault::Error { status, code }) => {
                                    Ok(fault_response(status, &code))
                                }
                                None => hyper::service::Service::call(&svc, req).await,
                            }
                        }
                    },
                );
                Box::pin(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(io, with_faults)
                        .await;
                })
            }),
        )?;
        Ok(LocalS3 {
            server,
            root,
            endpoint: format!("http://{addr}"),
            faults,
        })
    }

    /// Queues `fault` for the next request of operation `op`.
    pub fn push_fault(&self, op: S3Op, fault: S3Fault) {
        self.push_faults(op, fault, 1);
    }

    /// Queues the same fault `n` times.
    pub(crate) fn push_faults(&self, op: S3Op, fault: S3Fault, n: usize) {
        let mut state = self.faults.0.lock().unwrap_or_else(|p| p.into_inner());
        state.queued.extend(std::iter::repeat_n((op, fault), n));
    }

    /// Faults still queued.
    pub fn pending_faults(&self) -> usize {
        self.faults
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .queued
            .len()
    }

    /// Requests of operation `op` received so far (faulted ones included).
    pub fn request_count(&self, op: S3Op) -> u64 {
        self.faults
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .counts
            .get(&op)
            .copied()
            .unwrap_or(0)
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub fn access_key(&self) -> &str {
        ACCESS_KEY
    }

    pub fn secret_key(&self) -> &str {
        SECRET_KEY
    }

    pub fn region(&self) -> &str {
        REGION
    }

    /// The directory served (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where object `key` of `bucket` lives on disk.
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    /// Creates a bucket (a directory under the root); fine if it exists.
    pub fn create_bucket(&self, name: &str) -> io::Result<()> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad bucket name {name:?}"),
            ));
        }
        std::fs::create_dir_all(self.root.join(name))
    }

    /// The environment a Lambda needs to use this server, as `(NAME, value)`.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("S3_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("S3_FORCE_PATH_STYLE", "true".into()),
        ]
    }

    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

/// An `aws-sdk-s3` client for `s3`: static credentials, endpoint override
/// and path-style addressing, the same code path as on AWS otherwise.
pub fn client(s3: &LocalS3) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(s3.endpoint_url())
        .force_path_style(true)
        // As shared::store::S3Settings does, for the same reason.
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .credentials_provider(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "local-s3",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// s3s-fs plus ListMultipartUploads, and writes made atomic.
struct LocalFs {
    fs: FileSystem,
    root: PathBuf,
    /// s3s-fs checks `If-Match`/`If-None-Match` and then writes, so two
    /// conditional writes racing could both pass. AWS makes the check and the
    /// write one step; serialising object writes does the same here.
    write_lock: tokio::sync::Mutex<()>,
    /// Temp-file names of `s3_put`.
    plain_writes: std::sync::atomic::AtomicU64,
}

/// Writes the whole `impl S3` so that `#[async_trait]` sees the expanded
/// methods (an attribute cannot look inside a macro call in the impl).
macro_rules! impl_s3_delegating {
    ($($op:ident: $input:ident => $output:ident,)* { $($own:tt)* }) => {
        #[async_trait::async_trait]
        impl S3 for LocalFs {
            $(
                async fn $op(&self, req: S3Request<$input>) -> S3Result<S3Response<$output>> {
                    self.fs.$op(req).await
                }
            )*
            $($own)*
        }
    };
}

impl_s3_delegating! {
        create_bucket: CreateBucketInput => CreateBucketOutput,
        copy_object: CopyObjectInput => CopyObjectOutput,
        delete_bucket: DeleteBucketInput => DeleteBucketOutput,
        delete_object: DeleteObjectInput => DeleteObjectOutput,
        delete_objects: DeleteObjectsInput => DeleteObjectsOutput,
        get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput,
        head_bucket: HeadBucketInput => HeadBucketOutput,
        head_object: HeadObjectInput => HeadObjectOutput,
        list_buckets: ListBucketsInput => ListBucketsOutput,
        list_objects: ListObjectsInput => ListObjectsOutput,
        list_objects_v2: ListObjectsV2Input => ListObjectsV2Output,

        create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput,
        upload_part: UploadPartInput => UploadPartOutput,
        upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput,
        list_parts: ListPartsInput => ListPartsOutput,

        abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput,
        {

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let input = &req.input;
        let whole = input.range.is_none()
            && input.part_number.is_none()
            && crate::s3_put::is_plain_key(&input.key);
        let path = self.root.join(&input.bucket).join(&input.key);
        let mut resp = self.fs.get_object(req).await?;
        if whole {
            crate::s3_get::rechunk(&path, &mut resp.output).await;
        }
        Ok(resp)
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        if crate::s3_put::is_plain(&req.input) {
            // Gathered before the lock, so writes wait on each other only for the disk.
            let body = crate::s3_put::gather_body(req.input).await?;
            let _write = self.write_lock.lock().await;
            return crate::s3_put::put(&self.root, &self.plain_writes, body).await.map(S3Response::new);
        }
        let _write = self.write_lock.lock().await;
        self.fs.put_object(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let _write = self.write_lock.lock().await;
        self.fs.complete_multipart_upload(req).await
    }

    /// s3s-fs writes `.bucket-{b64}.object-{b64}.upload-{uuid}.metadata.json`
    /// at create and removes it at complete and abort, so those files are the
    /// open uploads. Prefix filtering only; no pagination (tests have few).
    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        if !self.root.join(&input.bucket).is_dir() {
            return Err(s3s::s3_error!(NoSuchBucket));
        }
        let prefix = input.prefix.clone().unwrap_or_default();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut uploads = Vec::new();
        let entries = std::fs::read_dir(&self.root).map_err(|e| s3s::s3_error!(e, InternalError))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(rest) = name.strip_prefix(".bucket-").and_then(|r| r.strip_suffix(".metadata.json")) else {
                continue;
            };
            let Some((bucket, rest)) = rest.split_once(".object-") else { continue };
            let Some((key, upload_id)) = rest.split_once(".upload-") else { continue };
            let decode = |s: &str| b64.decode(s).ok().and_then(|v| String::from_utf8(v).ok());
            let (Some(bucket), Some(key)) = (decode(bucket), decode(key)) else { continue };
            if bucket != input.bucket || !key.starts_with(&prefix) {
                continue;
            }
            let initiated = entry.metadata().and_then(|m| m.modified()).ok().map(Timestamp::from);
            uploads.push(MultipartUpload {
                key: Some(key),
                upload_id: Some(upload_id.to_string()),
                initiated,
                ..Default::default()
            });
        }
        uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..Default::default()
        }))
    }
}
}
