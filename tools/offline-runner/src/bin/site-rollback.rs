//! `site-rollback`: points a published site back at an earlier report (what
//! `make rollback` runs), offline on `make run`'s embedded S3 data or on a
//! deployed site bucket.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use local_services::s3::LocalS3;
use offline_runner::local_run::Layered;
use shared::function::Function;
use update_site::UpdateSite;

const USAGE: &str =
    "usage: site-rollback [--work-dir DIR | --bucket NAME [--prefix P]] [--report ID]

Points index.html back at the report before the one it shows (or at --report),
takes the newer reports off archive.html and feed.xml (their objects stay), with
the same conditional writes as a publish. Run it again to go further back.

  --work-dir DIR   the site `make run` published (embedded S3 data in DIR/s3,
                   bucket `site`; default: .local/run)
  --bucket NAME    a deployed site bucket instead (AWS credentials, region and
                   S3_ENDPOINT_URL from the environment)
  --prefix P       the site's key prefix in that bucket (serverless.yml's sitePrefix)
  --report ID      the report to show (default: the one before the shown one)
  -h, --help       this help

Exit status: 0 rolled back; 1 refused or failed (the reason is printed); 2 bad options.";

struct Args {
    work_dir: PathBuf,
    bucket: Option<String>,
    prefix: String,
    report: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        work_dir: PathBuf::from(".local/run"),
        bucket: None,
        prefix: String::new(),
        report: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--work-dir" => a.work_dir = value()?.into(),
            "--bucket" => a.bucket = Some(value()?),
            "--prefix" => a.prefix = value()?,
            "--report" => a.report = Some(value()?).filter(|r| !r.is_empty()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("site-rollback: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut env = HashMap::from([("SITE_PREFIX".to_string(), args.prefix.clone())]);
    // Held for the run: the embedded server stops when dropped.
    let mut _local = None;
    match &args.bucket {
        Some(bucket) => {
            env.insert("SITE_BUCKET".into(), bucket.clone());
        }
        None => {
            let root = args.work_dir.join("s3");
            if !root.join("site").is_dir() {
                eprintln!(
                    "site-rollback: no site in {} (run `make run` first, or give --bucket)",
                    root.display()
                );
                return ExitCode::from(1);
            }
            let s3 = match LocalS3::start(&root).await {
                Ok(s3) => s3,
                Err(e) => {
                    eprintln!("site-rollback: starting the embedded S3 server: {e}");
                    return ExitCode::from(1);
                }
            };
            env.extend(s3.env_vars().into_iter().map(|(k, v)| (k.to_string(), v)));
            env.insert("SITE_BUCKET".into(), "site".into());
            _local = Some(s3);
        }
    }
    let site = match UpdateSite::build(&Layered(env)).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("site-rollback: {e}");
            return ExitCode::from(1);
        }
    };
    match site.rollback(args.report.as_deref()).await {
        Ok(done) => {
            println!(
                "{} now shows report {}{}{}",
                done.index_key,
                done.report_id,
                done.from.map(|f| format!(" (was {f})")).unwrap_or_default(),
                if done.withdrawn.is_empty() {
                    String::new()
                } else {
                    format!("; taken off the archive: {}", done.withdrawn.join(", "))
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("site-rollback: {e}");
            ExitCode::from(1)
        }
    }
}
