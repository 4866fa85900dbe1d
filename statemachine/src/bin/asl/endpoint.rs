//! `asl serve` (the local Step Functions endpoint) and `asl test-state`
//! (one TestState call, printed as the endpoint answers it).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Value};
use statemachine::serve::{test_state_answer, Endpoint, EndpointOptions, MockConfig, NoFunctions};
use statemachine::{LambdaEndpointInvoker, TaskInvoker};

pub(crate) const USAGE: &str = "  asl serve [--port N] [--store DIR] [--wait-scale X] [--lambda-endpoint URL] [--mock-config FILE] [--memory]
      a local Step Functions endpoint (AWS JSON 1.0) on 127.0.0.1 for the AWS
      SDKs and CLI (--endpoint-url http://127.0.0.1:N): state machines,
      executions, history, callbacks, redrive, TestState. Kept in --store
      (default .local/sfn) unless --memory. Tasks call --lambda-endpoint, or
      the mocks of Step Functions Local's mock configuration file for a
      state machine ARN ending in #TestCase. Defaults: port 8083, waits
      skipped (--wait-scale 0). Each execution's view: http://127.0.0.1:N/
  asl test-state FILE --state NAME [--input JSON] [--mock JSON] [--variables JSON]
                 [--inspection-level INFO|DEBUG|TRACE] [--lambda-endpoint URL]
      TestState on one state of FILE: prints the JSON the endpoint's TestState
      answers (--mock is TestState's mock: {\"result\": \"...\"} or
      {\"errorOutput\": {\"error\": \"...\", \"cause\": \"...\"}})";

fn functions(lambda: Option<String>) -> Arc<dyn TaskInvoker> {
    match lambda {
        Some(url) => Arc::new(LambdaEndpointInvoker::new(url)),
        None => Arc::new(NoFunctions),
    }
}

pub(crate) async fn cmd_serve(args: &[String]) -> Result<ExitCode, String> {
    let mut port: u16 = 8083;
    let mut store = Some(PathBuf::from(".local/sfn"));
    let (mut wait_scale, mut lambda, mut mocks) = (0.0, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--port" => {
                port = value()?
                    .parse()
                    .map_err(|_| "--port needs a number".to_string())?
            }
            "--store" => store = Some(PathBuf::from(value()?)),
            "--memory" => store = None,
            "--wait-scale" => {
                wait_scale = value()?
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .ok_or("--wait-scale needs a number ≥ 0")?
            }
            "--lambda-endpoint" => lambda = Some(value()?),
            "--mock-config" => mocks = Some(MockConfig::from_path(&PathBuf::from(value()?))?),
            other => return Err(format!("asl serve: unknown option {other}\n\n{USAGE}")),
        }
    }
    let opts = EndpointOptions {
        store_dir: store.clone(),
        wait_scale,
        functions: functions(lambda),
        mocks,
        log: true,
    };
    let endpoint = Endpoint::start(SocketAddr::from(([127, 0, 0, 1], port)), opts).await?;
    eprintln!(
        "Step Functions endpoint on {url} (store: {store}); executions at {url}/\n  aws stepfunctions list-state-machines --endpoint-url {url}\n  (test-state and start-sync-execution: export AWS_DISABLE_HOST_PREFIX_INJECTION=true)",
        url = endpoint.url(),
        store = store.map_or("memory only".into(), |s| s.display().to_string())
    );
    tokio::select! {
        r = endpoint.serve_forever() => r.map_err(|e| e.to_string())?,
        _ = tokio::signal::ctrl_c() => eprintln!("asl serve: stopped"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn cmd_test_state(args: &[String]) -> Result<ExitCode, String> {
    let file = args.first().filter(|a| !a.starts_with('-')).ok_or(USAGE)?;
    let definition = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let mut req = json!({ "definition": definition });
    let mut lambda = None;
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--state" => req["stateName"] = json!(value()?),
            "--input" => req["input"] = json!(value()?),
            "--variables" => req["variables"] = json!(value()?),
            "--inspection-level" => req["inspectionLevel"] = json!(value()?),
            "--lambda-endpoint" => lambda = Some(value()?),
            "--mock" => {
                let m: Value = serde_json::from_str(&value()?)
                    .map_err(|e| format!("--mock is not JSON: {e}"))?;
                req["mock"] = m;
            }
            other => return Err(format!("asl test-state: unknown option {other}\n\n{USAGE}")),
        }
    }
    if req.get("stateName").is_none()
        && serde_json::from_str::<Value>(&definition)
            .ok()
            .and_then(|d| d.get("States").cloned())
            .is_some()
    {
        return Err(
            "asl test-state: FILE is a whole state machine; name the state with --state NAME"
                .into(),
        );
    }
    match test_state_answer(&req, functions(lambda).as_ref()).await {
        Ok(answer) => {
            println!("{}", serde_json::to_string_pretty(&answer).expect("json"));
            let failed = answer["status"] == "FAILED";
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) => Err(format!("asl test-state: {}: {}", e.code, e.message)),
    }
}
