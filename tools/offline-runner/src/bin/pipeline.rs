//! `pipeline`: the whole report pipeline offline (what `make run` runs).
//!
//! Starts the reporting-API simulator and the embedded S3 server, runs
//! statemachine/report-pipeline.asl.json unchanged with the local ASL
//! executor and the four handlers in-process, prints progress state by
//! state, and ends with where the published page is.

use std::path::Path;
use std::process::ExitCode;

use local_services::simulator::Outcome;
use offline_runner::local_run::{self, RunConfig};

const USAGE: &str = "usage: pipeline [options]

Runs the state machine end to end on this machine.

  --definition FILE      ASL definition (default: statemachine/report-pipeline.asl.json)
  --input JSON           execution input (default: {})
  --rows N               rows in the simulated report (default: 1000)
  --polls N              IN_PROGRESS answers before the report is ready (default: 3)
  --outcome WORD         complete | fail | never (default: complete)
  --wait-scale X         real seconds per Wait second; 0 skips waits (default: 0)
  --work-dir DIR         embedded S3 data and history.json (default: .local/run)
  --report-api URL       use this reporting API instead of the simulator
                         (REPORT_API_TOKEN / REPORT_API_* variables apply)
  --s3-endpoint URL      use this S3 endpoint instead of the embedded server
                         (AWS credentials from the environment)
  --lambda-endpoint URL  invoke functions here (e.g. http://127.0.0.1:9000 for
                         `cargo lambda watch`) instead of in-process
  --serve PORT           after a successful run, serve the site on this port until Ctrl-C
  --quiet                no progress lines
  -h, --help             this help

Exit status: 0 when the execution succeeded; 1 when it failed (the error name
and cause are printed); 2 for bad options or a definition that is not valid.";

fn fail(msg: &str) -> ExitCode {
    eprintln!("pipeline: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut config = RunConfig::default();
    let mut serve: Option<u16> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let parsed: Result<(), String> = (|| {
            match arg.as_str() {
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                "--definition" => config.definition = value("--definition")?.into(),
                "--input" => {
                    config.input = serde_json::from_str(&value("--input")?)
                        .map_err(|e| format!("--input is not JSON: {e}"))?
                }
                "--rows" => {
                    config.sim.csv.rows = value("--rows")?
                        .parse()
                        .map_err(|e| format!("--rows: {e}"))?
                }
                "--polls" => {
                    config.sim.polls_to_complete = value("--polls")?
                        .parse()
                        .map_err(|e| format!("--polls: {e}"))?
                }
                "--outcome" => {
                    config.sim.outcome = match value("--outcome")?.as_str() {
                        "complete" => Outcome::Complete,
                        "fail" => Outcome::Fail,
                        "never" => Outcome::Never,
                        other => {
                            return Err(format!(
                                "--outcome {other:?}: expected complete, fail or never"
                            ))
                        }
                    }
                }
                "--wait-scale" => {
                    config.wait_scale = value("--wait-scale")?
                        .parse()
                        .map_err(|e| format!("--wait-scale: {e}"))?
                }
                "--work-dir" => config.work_dir = value("--work-dir")?.into(),
                "--report-api" => config.report_api = Some(value("--report-api")?),
                "--s3-endpoint" => config.s3_endpoint = Some(value("--s3-endpoint")?),
                "--lambda-endpoint" => config.lambda_endpoint = Some(value("--lambda-endpoint")?),
                "--serve" => {
                    serve = Some(
                        value("--serve")?
                            .parse()
                            .map_err(|e| format!("--serve: {e}"))?,
                    )
                }
                "--quiet" => config.progress = false,
                other => return Err(format!("unknown option {other}")),
            }
            Ok(())
        })();
        if let Err(e) = parsed {
            return fail(&e);
        }
    }
    if config.wait_scale < 0.0 || !config.wait_scale.is_finite() {
        return fail("--wait-scale must be 0 or more");
    }

    let report = match local_run::run(&config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pipeline: {e}");
            return ExitCode::from(2);
        }
    };
    let exec = &report.execution;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "status": format!("{:?}", exec.status).to_uppercase(),
            "output": exec.output,
            "error": exec.error,
            "cause": exec.cause,
        }))
        .unwrap()
    );
    eprintln!("history: {}", report.history_file.display());
    eprintln!("run view: {}", report.view_file.display());
    if !local_run::succeeded(exec) {
        eprintln!(
            "FAILED: {}: {}",
            exec.error.as_deref().unwrap_or("(no error name)"),
            exec.cause.as_deref().unwrap_or("(no cause)")
        );
        return ExitCode::FAILURE;
    }
    match &report.page {
        Some(page) => eprintln!("published page: {}", page.display()),
        None => eprintln!("published to s3://{}/index.html", config.site_bucket),
    }
    if let (Some(port), Some(page)) = (serve, &report.page) {
        let dir = page
            .parent()
            .expect("index.html has a folder")
            .to_path_buf();
        let view = report.view_file.parent().map(Path::to_path_buf);
        match offline_runner::site::serve(dir, view, port).await {
            Ok(()) => {}
            Err(e) => {
                eprintln!("pipeline: serving the site: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
