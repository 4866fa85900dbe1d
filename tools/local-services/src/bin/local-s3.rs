//! `local-s3`: the embedded S3 server alone. Prints its endpoint URL on the
//! first line of stdout, then serves until Ctrl-C.

use local_services::cli;
use local_services::s3::LocalS3;
use std::path::PathBuf;

const USAGE: &str =
    "usage: local-s3 [--root DIR (default .local/s3)] [--port N (default 9200)] [--bucket NAME]...";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut root, mut port, mut buckets) = (PathBuf::from(".local/s3"), 9200u16, Vec::new());
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            "--port" => {
                i += 1;
                port = cli::port("--port", args.get(i)).unwrap_or_else(|e| cli::fail(&e, USAGE));
            }
            "--root" | "--bucket" => {
                let flag = args[i].clone();
                i += 1;
                let v = args
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| cli::fail(&format!("{flag} needs a value"), USAGE));
                if flag == "--root" {
                    root = v.into();
                } else {
                    buckets.push(v);
                }
            }
            other => cli::fail(&format!("unknown argument {other:?}"), USAGE),
        }
        i += 1;
    }
    let s3 = LocalS3::start_on(&root, port)
        .await
        .unwrap_or_else(|e| cli::fail(&format!("cannot start: {e}"), USAGE));
    for b in &buckets {
        s3.create_bucket(b)
            .unwrap_or_else(|e| cli::fail(&format!("bucket {b}: {e}"), USAGE));
    }
    println!("{}", s3.endpoint_url());
    eprintln!(
        "local-s3: serving {} (access key {}, secret {}, region {}); Ctrl-C to stop",
        s3.root().display(),
        s3.access_key(),
        s3.secret_key(),
        s3.region()
    );
    let _ = tokio::signal::ctrl_c().await;
    s3.shutdown().await;
}
