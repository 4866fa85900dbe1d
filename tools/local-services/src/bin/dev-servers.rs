//! `dev-servers`: the simulator and the S3 server together on fixed ports,
//! with the `reports` and `site` buckets, printing the environment a Lambda
//! needs as `export NAME=value` lines (so `eval "$(dev-servers &)"`-style
//! scripts or a copy-paste both work). Runs until Ctrl-C.

use local_services::cli;
use local_services::s3::LocalS3;
use local_services::simulator::{SimConfig, Simulator};
use std::path::PathBuf;

fn usage() -> String {
    format!(
        "usage: dev-servers [--sim-port N (default 9100)] [--s3-port N (default 9200)] [--root DIR (default .local/s3)] [simulator options]\n\nsimulator options:\n{}",
        cli::SIM_FLAGS
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sim = cli::SimArgs::new(SimConfig {
        port: 9100,
        ..SimConfig::default()
    });
    let (mut s3_port, mut root) = (9200u16, PathBuf::from(".local/s3"));
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-h" | "--help" => {
                println!("{}", usage());
                return;
            }
            "--sim-port" | "--port" => {
                i += 1;
                sim.config.port = cli::port("--sim-port", args.get(i))
                    .unwrap_or_else(|e| cli::fail(&e, &usage()));
            }
            "--s3-port" => {
                i += 1;
                s3_port =
                    cli::port("--s3-port", args.get(i)).unwrap_or_else(|e| cli::fail(&e, &usage()));
            }
            "--root" => {
                i += 1;
                root = args
                    .get(i)
                    .unwrap_or_else(|| cli::fail("--root needs a value", &usage()))
                    .into();
            }
            _ => match sim.flag(&args, &mut i) {
                Ok(true) => {}
                Ok(false) => cli::fail(&format!("unknown argument {:?}", args[i]), &usage()),
                Err(e) => cli::fail(&e, &usage()),
            },
        }
        i += 1;
    }
    let config = sim.finish();
    let sim = Simulator::start(config)
        .await
        .unwrap_or_else(|e| cli::fail(&format!("simulator: {e}"), &usage()));
    let s3 = LocalS3::start_on(&root, s3_port)
        .await
        .unwrap_or_else(|e| cli::fail(&format!("S3 server: {e}"), &usage()));
    for bucket in ["reports", "site"] {
        s3.create_bucket(bucket)
            .unwrap_or_else(|e| cli::fail(&format!("bucket {bucket}: {e}"), &usage()));
    }
    for (name, value) in sim.env_vars() {
        println!("export {name}={}", shell_quote(&value));
    }
    for (name, value) in s3.env_vars() {
        println!("export {name}={}", shell_quote(&value));
    }
    println!("export REPORTS_BUCKET=reports");
    println!("export SITE_BUCKET=site");
    eprintln!(
        "dev-servers: simulator {} and S3 {} serving {}; Ctrl-C to stop",
        sim.base_url(),
        s3.endpoint_url(),
        s3.root().display()
    );
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    s3.shutdown().await;
}

/// Quotes a value for `sh` when it needs it (dialect words may hold spaces).
fn shell_quote(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/,@%+=".contains(&b))
    {
        v.to_string()
    } else {
        format!("'{}'", v.replace('\'', "'\\''"))
    }
}
