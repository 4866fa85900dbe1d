//! `asl`: validate, run and conformance-test ASL state machines locally.
//!
//! ```text
//! asl validate FILE
//! asl run FILE [--input JSON] [--mocks FILE] [--lambda-endpoint URL] [--wait-scale N] [--history OUT.json]
//! asl mermaid FILE
//! asl view --definition FILE --history HISTORY.json [-o RUN.html] [--title TEXT]
//! asl conformance DIR [--verbose] [--histories]
//! asl jsonata-suite DIR [--verbose]
//! asl serve [--port N] [--store DIR] [--wait-scale X] [--lambda-endpoint URL] [--mock-config FILE]
//! asl test-state FILE --state NAME [--input JSON] [--mock JSON] [--inspection-level DEBUG]
//! ```

mod endpoint;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use statemachine::history::summarize;
use statemachine::{
    execute, validate, ExecutionStatus, HistoryEvent, LambdaEndpointInvoker, MockInvoker, Observer,
    RunOptions, StateMachine, TaskInvoker,
};

const USAGE: &str = "usage:
  asl validate FILE
  asl run FILE [--input JSON] [--mocks FILE] [--lambda-endpoint URL] [--wait-scale N] [--history OUT.json]
  asl mermaid FILE
  asl view --definition FILE --history HISTORY.json [-o RUN.html] [--title TEXT]
      the run as the console shows it: graph, states, table, events, timeline;
      the history ours (asl run --history, make run) or AWS's
      (aws stepfunctions get-execution-history --output json); the definition
      a file or describe-state-machine's output. With -o, asl-view.css and
      asl-view.js are written beside the page (it links them)
  asl conformance DIR [--verbose] [--histories]
  asl jsonata-suite DIR [--verbose] [--min-passed N]   the official JSONata test suite against our engine
";

/// Prints one line per state: entered, exited with a short output, task errors.
struct Progress;

impl Observer for Progress {
    fn on_event(&self, e: &HistoryEvent) {
        let t = e.elapsed_seconds;
        let name = e.state_name.as_deref().unwrap_or("");
        let ty = e.event_type;
        if let Some(kind) = ty.strip_suffix("StateEntered") {
            eprintln!("[{t:>9.3}s] > {name} ({kind})");
        } else if ty.ends_with("StateExited") {
            let out = e
                .output
                .as_ref()
                .map(|o| summarize(o, 120))
                .unwrap_or_default();
            eprintln!("[{t:>9.3}s] < {name} -> {out}");
        } else if e.is_task_failure() || ty.ends_with("Failed") && ty != "ExecutionFailed" {
            eprintln!(
                "[{t:>9.3}s] ! {name} {ty}: {} {}",
                e.error.as_deref().unwrap_or(""),
                e.cause.as_deref().unwrap_or("")
            );
        }
    }
}

/// `asl jsonata-suite DIR`: ends with "N passed, M failed" (and the cases
/// that need `$eval`, which Step Functions lacks, as skipped).
fn cmd_jsonata_suite(args: &[String]) -> Result<ExitCode, String> {
    let dir = args.first().ok_or(USAGE)?;
    let verbose = args.iter().any(|a| a == "--verbose");
    let min_passed = match args.iter().position(|a| a == "--min-passed") {
        Some(i) => Some(
            args.get(i + 1)
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or("--min-passed takes a number")?,
        ),
        None => None,
    };
    if !Path::new(dir).join("groups").is_dir() {
        println!("jsonata-suite: skipped, no test suite at {dir} (set JSONATA_TEST_SUITE_DIR)");
        return Ok(ExitCode::SUCCESS);
    }
    let report = statemachine::jsonata::suite::run(Path::new(dir))?;
    if verbose {
        for id in &report.failed {
            eprintln!("FAILED {id}");
        }
    }
    let per_case =
        report.elapsed.as_secs_f64() * 1e6 / (report.passed + report.failed.len()).max(1) as f64;
    eprintln!(
        "JSONata test suite ({dir}): {:.0} µs per case, parse and evaluation",
        per_case
    );
    println!(
        "jsonata-suite: {} passed, {} failed, {} skipped",
        report.passed,
        report.failed.len(),
        report.not_applicable
    );
    if let Some(min) = min_passed.filter(|m| report.passed < *m) {
        eprintln!("fewer cases pass than the {min} that passed before: a regression");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn load(file: &str) -> Result<StateMachine, String> {
    StateMachine::from_path(Path::new(file)).map_err(|e| format!("{file}: {e}"))
}

fn cmd_validate(args: &[String]) -> Result<ExitCode, String> {
    let file = args.first().ok_or(USAGE)?;
    let m = load(file)?;
    let errs = validate(&m);
    if errs.is_empty() {
        println!("{file}: valid ({} states)", m.states.len());
        Ok(ExitCode::SUCCESS)
    } else {
        for e in &errs {
            println!("{file}: {} [{}]", e, e.code);
        }
        println!("{} validation error(s)", errs.len());
        Ok(ExitCode::FAILURE)
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn cmd_run(args: &[String]) -> Result<ExitCode, String> {
    let file = args.first().ok_or(USAGE)?;
    let m = load(file)?;
    // As AWS does at CreateStateMachine: an invalid definition never runs.
    let errs = validate(&m);
    if !errs.is_empty() {
        let lines: Vec<String> = errs.iter().map(|e| format!("  {e} [{}]", e.code)).collect();
        return Err(format!(
            "{file} is not a valid definition:\n{}",
            lines.join("\n")
        ));
    }
    let input: Value = match flag(args, "--input") {
        Some(s) => serde_json::from_str(&s).map_err(|e| format!("--input is not JSON: {e}"))?,
        None => Value::Object(Default::default()),
    };
    let invoker: Box<dyn TaskInvoker> =
        match (flag(args, "--mocks"), flag(args, "--lambda-endpoint")) {
            (Some(m), _) => Box::new(MockInvoker::from_path(Path::new(&m))?),
            (None, Some(url)) => Box::new(LambdaEndpointInvoker::new(url)),
            (None, None) => Box::new(LambdaEndpointInvoker::new("http://127.0.0.1:9000")),
        };
    let wait_scale = match flag(args, "--wait-scale") {
        Some(s) => s.parse::<f64>().map_err(|e| format!("--wait-scale: {e}"))?,
        None => 1.0,
    };
    let name = Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("StateMachine")
        .trim_end_matches(".asl")
        .to_string();
    let opts = RunOptions {
        wait_scale,
        observer: Some(Arc::new(Progress)),
        state_machine_name: name,
        ..RunOptions::default()
    };
    let exec = execute(&m, input, invoker.as_ref(), opts).await;
    if let Some(h) = flag(args, "--history") {
        // GetExecutionHistory's shape, as `aws stepfunctions get-execution-history` prints it.
        let doc = statemachine::history::aws::to_aws(&exec.history, "us-east-1");
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(&h, text).map_err(|e| format!("{h}: {e}"))?;
    }
    match exec.status {
        ExecutionStatus::Succeeded => {
            let out = exec.output.unwrap_or(Value::Null);
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        status => {
            println!(
                "{}: {} {}",
                status.as_aws(),
                exec.error.unwrap_or_default(),
                exec.cause.unwrap_or_default()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn cmd_conformance(args: &[String]) -> Result<ExitCode, String> {
    let dir = PathBuf::from(args.first().ok_or(USAGE)?);
    let verbose = args.iter().any(|a| a == "--verbose");
    let histories = args.iter().any(|a| a == "--histories");
    let summary = statemachine::conformance::run_dir(&dir, Duration::from_secs(10)).await?;
    for r in &summary.results {
        if r.passed && verbose && r.cause_matches == Some(false) {
            println!("CAUSE {} ({})", r.name, r.file.display());
            for d in &r.diff {
                println!("  {}", d.replace('\n', "\n  "));
            }
        }
        if histories {
            if let Some(d) = &r.history_diff {
                println!(
                    "HISTORY {} ({})\n  {}",
                    r.name,
                    r.file.display(),
                    d.replace('\n', "\n  ")
                );
            }
        }
        if !r.passed {
            let unsupported = r.diff.iter().any(|d| d.starts_with("unsupported"));
            if unsupported && !verbose {
                continue;
            }
            println!("FAIL {} ({})", r.name, r.file.display());
            for d in &r.diff {
                println!("  {}", d.replace('\n', "\n  "));
            }
        }
    }
    for ql in ["JSONPath", "JSONata"] {
        let (p, t) = summary.by_language(ql);
        println!("{ql}: {p} passed, {} failed", t - p);
    }
    for ql in ["JSONPath", "JSONata"] {
        let (m, t) = summary.histories_for(ql);
        println!("{ql} histories with AWS's shape: {m} of {t}");
    }
    let (m, t) = summary.causes();
    let (mp, tp) = summary.causes_for("JSONPath");
    println!("causes matching exactly: {m} of {t} FAILED cases ({mp} of {tp} JSONPath)");
    println!("{} passed, {} failed", summary.passed(), summary.failed());
    Ok(
        if summary.by_language("JSONPath").0 == summary.by_language("JSONPath").1 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

fn cmd_view(args: &[String]) -> Result<ExitCode, String> {
    let (mut def, mut history, mut out, mut title) = (None, None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value\n\n{USAGE}"))
        };
        match a.as_str() {
            "--definition" => def = Some(value()?),
            "--history" => history = Some(value()?),
            "-o" | "--output" => out = Some(value()?),
            "--title" => title = Some(value()?),
            other => return Err(format!("asl view: unknown option {other}\n\n{USAGE}")),
        }
    }
    let (Some(def), Some(history)) = (def, history) else {
        return Err(format!(
            "asl view needs --definition and --history\n\n{USAGE}"
        ));
    };
    let machine = load(&def)?;
    let text = std::fs::read_to_string(&history).map_err(|e| format!("{history}: {e}"))?;
    let doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{history}: not JSON: {e}"))?;
    let events =
        statemachine::history::aws::from_aws(&doc).map_err(|e| format!("{history}: {e}"))?;
    let title = title.unwrap_or_else(|| {
        let stem = Path::new(&def)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("run");
        stem.trim_end_matches(".asl").to_string()
    });
    match out {
        Some(path) => {
            statemachine::view::write(Path::new(&path), &machine.definition, &events, &title)
                .map_err(|e| format!("{path}: {e}"))?;
            eprintln!("run view: {path} (with asl-view.css and asl-view.js beside it)");
        }
        None => {
            print!(
                "{}",
                statemachine::view::render(&machine.definition, &events, &title)
            );
            eprintln!("asl view: the page links asl-view.css and asl-view.js; write it with -o FILE to get them beside it");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_mermaid(args: &[String]) -> Result<ExitCode, String> {
    let m = load(args.first().ok_or(USAGE)?)?;
    print!("{}", statemachine::to_mermaid(&m));
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    let result = match args.first().map(String::as_str) {
        Some("validate") => cmd_validate(rest),
        Some("run") => cmd_run(rest).await,
        Some("conformance") => cmd_conformance(rest).await,
        Some("mermaid") => cmd_mermaid(rest),
        Some("view") => cmd_view(rest),
        Some("jsonata-suite") => cmd_jsonata_suite(rest),
        Some("serve") => endpoint::cmd_serve(rest).await,
        Some("test-state") => endpoint::cmd_test_state(rest).await,
        _ => Err(format!("{USAGE}{}", endpoint::USAGE)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
