//! The embedded S3 server, driven by the real aws-sdk-s3 client the Lambdas use.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use local_services::s3::{client, LocalS3};

const PART: usize = 5 * 1024 * 1024;

async fn server() -> (tempfile::TempDir, LocalS3, aws_sdk_s3::Client) {
    let dir = tempfile::tempdir().unwrap();
    let s3 = LocalS3::start(dir.path()).await.unwrap();
    s3.create_bucket("reports").unwrap();
    let c = client(&s3);
    (dir, s3, c)
}

/// A plain PutObject of `body` at `key` in "reports".
async fn put(c: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) {
    c.put_object()
        .bucket("reports")
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
}

/// Every byte of the object at `key` in "reports".
async fn get_bytes(c: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    let got = c
        .get_object()
        .bucket("reports")
        .key(key)
        .send()
        .await
        .unwrap();
    bytes(got.body).await
}

/// Every byte of a GET's body.
async fn bytes(body: ByteStream) -> Vec<u8> {
    body.collect().await.unwrap().into_bytes().to_vec()
}

fn status_of<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

#[tokio::test]
async fn given_a_bucket_when_an_object_is_put_then_get_returns_it_and_it_is_a_file_under_the_root()
{
    let (_dir, s3, c) = server().await;
    let body = "id,name\n1,Zoë\n".as_bytes().to_vec();
    c.put_object()
        .bucket("reports")
        .key("raw/rpt-1.csv")
        .content_type("text/csv")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let got = c
        .get_object()
        .bucket("reports")
        .key("raw/rpt-1.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/csv"));
    assert_eq!(bytes(got.body).await, body);
    assert_eq!(
        std::fs::read(s3.object_path("reports", "raw/rpt-1.csv")).unwrap(),
        body
    );
}

#[tokio::test]
async fn given_a_plain_put_and_one_with_a_checksum_then_both_read_back_alike_with_md5_etags() {
    // GIVEN the same body put twice: plainly (the server's own one-write
    // path) and with a CRC32 checksum (s3s-fs's path), with attributes
    let (_dir, _s3, c) = server().await;
    let body = "id,name\n1,Zoë\n".repeat(1000).into_bytes();
    let md5 = {
        use md5::{Digest, Md5};
        Md5::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    for (key, checksum) in [("site/a/p1.html", false), ("site/b/p1.html", true)] {
        let mut put = c
            .put_object()
            .bucket("reports")
            .key(key)
            .content_type("text/html; charset=utf-8")
            .content_encoding("identity")
            .cache_control("public, max-age=60")
            .metadata("report-id", "rpt-1")
            .body(ByteStream::from(body.clone()));
        if checksum {
            put = put.checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32);
        }
        // WHEN it is stored
        let out = put.send().await.unwrap();
        // THEN the ETag is the body's MD5, as S3 gives for a single PUT
        assert_eq!(out.e_tag(), Some(format!("\"{md5}\"").as_str()), "{key}");
        // AND a GET, a HEAD and a copy give back the body and every attribute
        let got = c
            .get_object()
            .bucket("reports")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.content_type(),
            Some("text/html; charset=utf-8"),
            "{key}"
        );
        assert_eq!(got.content_encoding(), Some("identity"), "{key}");
        assert_eq!(got.cache_control(), Some("public, max-age=60"), "{key}");
        assert_eq!(got.e_tag(), Some(format!("\"{md5}\"").as_str()), "{key}");
        assert_eq!(
            got.metadata()
                .and_then(|m| m.get("report-id"))
                .map(String::as_str),
            Some("rpt-1"),
            "{key}"
        );
        assert_eq!(bytes(got.body).await, body);
        let copy = format!("{key}.copy");
        c.copy_object()
            .bucket("reports")
            .key(&copy)
            .copy_source(format!("reports/{key}"))
            .send()
            .await
            .unwrap();
        let head = c
            .head_object()
            .bucket("reports")
            .key(&copy)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.content_type(),
            Some("text/html; charset=utf-8"),
            "{copy}"
        );
        assert_eq!(head.content_length(), Some(body.len() as i64), "{copy}");
    }
    // AND a listing shows both, with no temp file left behind
    let listed = c
        .list_objects_v2()
        .bucket("reports")
        .prefix("site/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(4));
}

#[tokio::test]
async fn given_a_large_object_when_got_whole_or_by_range_then_every_byte_and_the_length_are_right()
{
    // GIVEN an object of 3 MiB and a bit (a whole GET is read in 1 MiB
    // chunks by the server, a range GET by s3s-fs)
    let (_dir, _s3, c) = server().await;
    let body: Vec<u8> = (0..3 * 1024 * 1024 + 77).map(|i| (i % 251) as u8).collect();
    put(&c, "raw/big.csv", body.clone()).await;
    // WHEN it is got whole
    let got = c
        .get_object()
        .bucket("reports")
        .key("raw/big.csv")
        .send()
        .await
        .unwrap();
    // THEN the length header and every byte match
    assert_eq!(got.content_length(), Some(body.len() as i64));
    assert_eq!(bytes(got.body).await, body);
    // AND a range still gives just that range
    let part = c
        .get_object()
        .bucket("reports")
        .key("raw/big.csv")
        .range("bytes=1048570-1048589")
        .send()
        .await
        .unwrap();
    assert_eq!(part.content_length(), Some(20));
    assert_eq!(bytes(part.body).await, body[1_048_570..1_048_590].to_vec());
}

#[tokio::test]
async fn given_a_plain_put_to_a_missing_bucket_then_no_such_bucket() {
    let (_dir, _s3, c) = server().await;
    let err = c
        .put_object()
        .bucket("nope")
        .key("x.html")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), Some(404));
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("NoSuchBucket")
    );
}

#[tokio::test]
async fn given_a_wrong_secret_when_signing_then_the_request_is_refused() {
    let (_dir, s3, _) = server().await;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let bad = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(s3.endpoint_url())
            .force_path_style(true)
            .credentials_provider(Credentials::new("test", "not-the-secret", None, None, "t"))
            .build(),
    );
    let err = bad
        .list_objects_v2()
        .bucket("reports")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), Some(403), "{err:?}");
}

#[tokio::test]
async fn given_three_5mib_parts_when_the_multipart_upload_completes_then_the_object_is_their_concatenation(
) {
    let (_dir, _s3, c) = server().await;
    let up = c
        .create_multipart_upload()
        .bucket("reports")
        .key("big.csv")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_string();
    let mut parts = Vec::new();
    for n in 1..=3 {
        let data = vec![b'a' + n as u8; PART];
        let p = c
            .upload_part()
            .bucket("reports")
            .key("big.csv")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(data))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(p.e_tag().unwrap())
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket("reports")
        .key("big.csv")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = c
        .get_object()
        .bucket("reports")
        .key("big.csv")
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.len(), 3 * PART);
    assert!(bytes[..PART].iter().all(|&b| b == b'b'));
    assert!(bytes[2 * PART..].iter().all(|&b| b == b'd'));
    let open = c
        .list_multipart_uploads()
        .bucket("reports")
        .send()
        .await
        .unwrap();
    assert!(
        open.uploads().is_empty(),
        "completed upload still listed: {open:?}"
    );
}

#[tokio::test]
async fn given_an_open_multipart_upload_when_aborted_then_list_multipart_uploads_no_longer_shows_it(
) {
    let (_dir, _s3, c) = server().await;
    let up = c
        .create_multipart_upload()
        .bucket("reports")
        .key("partial.csv")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap().to_string();
    c.upload_part()
        .bucket("reports")
        .key("partial.csv")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from(vec![0u8; PART]))
        .send()
        .await
        .unwrap();

    let open = c
        .list_multipart_uploads()
        .bucket("reports")
        .send()
        .await
        .unwrap();
    let listed: Vec<_> = open
        .uploads()
        .iter()
        .map(|u| (u.key().unwrap(), u.upload_id().unwrap()))
        .collect();
    assert_eq!(listed, vec![("partial.csv", id.as_str())]);

    c.abort_multipart_upload()
        .bucket("reports")
        .key("partial.csv")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let open = c
        .list_multipart_uploads()
        .bucket("reports")
        .send()
        .await
        .unwrap();
    assert!(open.uploads().is_empty(), "{open:?}");
    let err = c
        .head_object()
        .bucket("reports")
        .key("partial.csv")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), Some(404));
}

#[tokio::test]
async fn given_an_existing_key_when_put_with_if_none_match_star_then_412_and_the_object_is_unchanged(
) {
    let (_dir, _s3, c) = server().await;
    put(&c, "k", b"first".to_vec()).await;
    let err = c
        .put_object()
        .bucket("reports")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"second"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), Some(412), "{err:?}");
    assert_eq!(get_bytes(&c, "k").await, b"first");

    // A new key with If-None-Match: * is written.
    c.put_object()
        .bucket("reports")
        .key("new")
        .if_none_match("*")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn given_an_existing_key_when_put_with_a_wrong_if_match_etag_then_412_and_the_right_etag_succeeds(
) {
    let (_dir, _s3, c) = server().await;
    let put = c
        .put_object()
        .bucket("reports")
        .key("k")
        .body(ByteStream::from_static(b"v1"))
        .send()
        .await
        .unwrap();
    let etag = put.e_tag().unwrap().to_string();
    let err = c
        .put_object()
        .bucket("reports")
        .key("k")
        .if_match("\"0123456789abcdef0123456789abcdef\"")
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), Some(412), "{err:?}");
    c.put_object()
        .bucket("reports")
        .key("k")
        .if_match(etag)
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_bytes(&c, "k").await, b"v2");
}

#[tokio::test]
async fn given_a_running_server_when_dropped_then_its_port_refuses_connections() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = LocalS3::start(dir.path()).await.unwrap();
    let addr = s3.addr();
    s3.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
