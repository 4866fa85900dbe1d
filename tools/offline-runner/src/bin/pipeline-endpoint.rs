//! `pipeline-endpoint`: a local Step Functions endpoint with the pipeline's
//! functions and services behind it (what `make serve` runs).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use offline_runner::endpoint::{self, EndpointConfig};
use offline_runner::local_run::{workspace_root, RunConfig};
use statemachine::serve::MockConfig;

const USAGE: &str = "usage: pipeline-endpoint [options]

A Step Functions endpoint (AWS JSON 1.0) on 127.0.0.1 whose Tasks run the
pipeline's four functions in process, against the reporting-API simulator
and the embedded S3 server (started here). Point the AWS SDKs or CLI at it:

  aws stepfunctions create-state-machine --endpoint-url http://127.0.0.1:8083 \\
      --name report-pipeline --role-arn arn:aws:iam::111111111111:role/local \\
      --definition file://statemachine/report-pipeline.asl.json

  --port N               listen here (default: 8083)
  --store DIR            state machines and executions (default: .local/sfn)
  --work-dir DIR         embedded S3 data (default: .local/serve)
  --wait-scale X         real seconds per Wait second; 0 skips waits (default: 0)
  --rows N               rows in each simulated report (default: 1000)
  --lambda-endpoint URL  invoke functions here (cargo lambda watch) instead
  --mock-config FILE     Step Functions Local's mock configuration file
  -h, --help             this help";

#[tokio::main]
async fn main() -> ExitCode {
    let mut run = RunConfig {
        work_dir: workspace_root().join(".local/serve"),
        progress: false,
        ..Default::default()
    };
    let mut store = workspace_root().join(".local/sfn");
    let (mut port, mut mocks) = (8083u16, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let parsed: Result<(), String> = (|| {
            match arg.as_str() {
                "--port" => {
                    port = value("--port")?
                        .parse()
                        .map_err(|_| "--port needs a number")?
                }
                "--store" => store = PathBuf::from(value("--store")?),
                "--work-dir" => run.work_dir = PathBuf::from(value("--work-dir")?),
                "--wait-scale" => {
                    run.wait_scale = value("--wait-scale")?
                        .parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .ok_or("--wait-scale needs a number ≥ 0")?
                }
                "--rows" => {
                    run.sim.csv.rows = value("--rows")?
                        .parse()
                        .map_err(|_| "--rows needs a number")?
                }
                "--lambda-endpoint" => run.lambda_endpoint = Some(value("--lambda-endpoint")?),
                "--mock-config" => {
                    mocks = Some(MockConfig::from_path(&PathBuf::from(value(
                        "--mock-config",
                    )?))?)
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown option {other}")),
            }
            Ok(())
        })();
        if let Err(e) = parsed {
            eprintln!("pipeline-endpoint: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let config = EndpointConfig {
        run,
        store_dir: Some(store.clone()),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        mocks,
        log: true,
    };
    let served = match endpoint::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pipeline-endpoint: {e}");
            return ExitCode::FAILURE;
        }
    };
    let url = served.endpoint.url();
    eprintln!(
        "Step Functions endpoint: {url}  (store {})",
        store.display()
    );
    eprintln!("  executions and their views: {url}/");
    if let Some(p) = served.object_path("site", "index.html") {
        eprintln!("  published page (after a run): {}", p.display());
    }
    eprintln!("  try: aws stepfunctions list-state-machines --endpoint-url {url}");
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("pipeline-endpoint: stopped");
    ExitCode::SUCCESS
}
