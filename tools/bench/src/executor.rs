//! Executor speed: transitions per second of `statemachine::execute` on a
//! Pass/Choice loop (a counter incremented with `States.MathAdd`, a Choice
//! comparing it), next to the npm package aws-local-stepfunctions on the
//! same definition in the same run when `node` is present; and the wall time
//! of the whole offline main job (`local_run::run`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};
use statemachine::{ExecutionStatus, MockInvoker, RunOptions, StateMachine};

use crate::{command_output, median, met, runtime, Options, ScratchDir, Table};
use offline_runner::local_run::{self, workspace_root, RunConfig};

/// Target: at least 20 times faster than aws-local-stepfunctions.
pub(crate) const TARGET_SPEEDUP: f64 = 20.0;
/// aws-local-stepfunctions gets at most this many iterations (it is slower).
const NODE_MAX_ITERATIONS: u64 = 100_000;

/// The loop: `Init` (1 transition), then `Increment` + `Loop` per
/// iteration, then `Done` (1): 2·iterations + 2 transitions.
pub(crate) fn loop_definition() -> Value {
    // One file, also run alone by statemachine's `pass_choice_loop` example.
    serde_json::from_str(include_str!(
        "../../../statemachine/examples/pass_choice_loop.asl.json"
    ))
    .expect("the loop definition is JSON")
}

pub(crate) fn expected_transitions(iterations: u64) -> u64 {
    2 * iterations + 2
}

/// Our executor: (transitions counted from the history, seconds).
pub(crate) async fn rust_loop(iterations: u64) -> Result<(u64, f64), String> {
    let machine = StateMachine::from_value(loop_definition()).map_err(|e| e.to_string())?;
    let invoker = MockInvoker::new();
    let options = RunOptions {
        wait_scale: 0.0,
        observer: None,
        // 200,000 transitions are 400,000 events: past AWS's quota on
        // purpose, to measure the executor, not the quota (the peer has none).
        max_history_events: usize::MAX,
        ..Default::default()
    };
    let started = Instant::now();
    let execution = statemachine::execute(
        &machine,
        json!({ "iterations": iterations }),
        &invoker,
        options,
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    if execution.status != ExecutionStatus::Succeeded {
        return Err(format!(
            "the loop ended {:?}: {:?} {:?}",
            execution.status, execution.error, execution.cause
        ));
    }
    let i = execution.output.as_ref().and_then(|o| o["i"].as_u64());
    if i != Some(iterations) {
        return Err(format!("the loop ended with i = {i:?}"));
    }
    let transitions = execution
        .history
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .count() as u64;
    Ok((transitions, seconds))
}

/// Installs tools/bench-node's pinned lock into .local/bench-node (once).
fn ensure_node_package(root: &Path) -> Result<PathBuf, String> {
    let src = root.join("tools/bench-node");
    let prefix = root.join(".local/bench-node");
    let lock = std::fs::read(src.join("package-lock.json"))
        .map_err(|e| format!("tools/bench-node/package-lock.json: {e}"))?;
    let installed = prefix.join("node_modules/aws-local-stepfunctions/package.json");
    let current = std::fs::read(prefix.join("package-lock.json")).ok();
    if installed.exists() && current.as_deref() == Some(&lock[..]) {
        return Ok(prefix);
    }
    std::fs::create_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(src.join(f), prefix.join(f)).map_err(|e| format!("copying {f}: {e}"))?;
    }
    eprintln!("bench: npm ci --prefix .local/bench-node (aws-local-stepfunctions, pinned)…");
    let status = Command::new("npm")
        .args(["ci", "--prefix"])
        .arg(&prefix)
        .args([
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("npm: {e}"))?;
    if !status.success() {
        return Err(format!("npm ci failed ({status})"));
    }
    Ok(prefix)
}

/// aws-local-stepfunctions on the same definition: (label, seconds).
fn node_loop(iterations: u64, scratch: &Path) -> Result<(String, f64), String> {
    let root = workspace_root();
    let prefix = ensure_node_package(&root)?;
    let def = scratch.join("loop.asl.json");
    std::fs::write(&def, loop_definition().to_string()).map_err(|e| e.to_string())?;
    let out = Command::new("node")
        .arg(root.join("tools/bench-node/run.mjs"))
        .arg(&prefix)
        .arg(&def)
        .arg(json!({ "iterations": iterations }).to_string())
        .arg(expected_transitions(iterations).to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(format!("node run.mjs failed ({})", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    let v: Value =
        serde_json::from_str(line).map_err(|e| format!("run.mjs printed {line:?}: {e}"))?;
    if v["output"]["i"].as_u64() != Some(iterations) {
        return Err(format!(
            "aws-local-stepfunctions ended with {}",
            v["output"]
        ));
    }
    let seconds = v["seconds"].as_f64().ok_or("run.mjs: no seconds")?;
    let label = format!(
        "{} (node {})",
        v["executor"].as_str().unwrap_or("aws-local-stepfunctions"),
        v["node"].as_str().unwrap_or("?").trim_start_matches('v')
    );
    Ok((label, seconds))
}

pub fn run(options: &Options) -> Result<(), String> {
    let rt = runtime()?;
    let scratch = ScratchDir::new("executor").map_err(|e| format!("temp dir: {e}"))?;
    let n = options.iterations;
    eprintln!("bench: executor loop, {n} iterations…");
    let (transitions, seconds) = rt.block_on(rust_loop(n))?;
    if transitions != expected_transitions(n) {
        return Err(format!(
            "{transitions} transitions, expected {}",
            expected_transitions(n)
        ));
    }
    let ours = transitions as f64 / seconds;
    let mut table = Table::new(
        "Executor speed: Pass/Choice loop (States.MathAdd counter), wait_scale 0, no observer",
        &[
            "executor",
            "iterations",
            "transitions",
            "seconds",
            "transitions/s",
            "vs aws-local-stepfunctions",
            "target ≥ 20×",
        ],
    );
    let mut rows = vec![vec![
        "statemachine::execute (this repo)".to_string(),
        n.to_string(),
        transitions.to_string(),
        format!("{seconds:.3}"),
        format!("{ours:.0}"),
        String::new(),
        String::new(),
    ]];
    let node_version = command_output("node", &["--version"]);
    match node_version {
        None => table.note("node not found: aws-local-stepfunctions not run."),
        Some(_) => {
            let node_n = n.min(NODE_MAX_ITERATIONS);
            eprintln!("bench: aws-local-stepfunctions loop, {node_n} iterations…");
            match node_loop(node_n, scratch.path()) {
                Ok((label, secs)) => {
                    let t = expected_transitions(node_n);
                    let theirs = t as f64 / secs;
                    let speedup = ours / theirs;
                    rows[0][5] = format!("{speedup:.1}×");
                    rows[0][6] = met(speedup >= TARGET_SPEEDUP).to_string();
                    rows.push(vec![
                        label,
                        node_n.to_string(),
                        t.to_string(),
                        format!("{secs:.3}"),
                        format!("{theirs:.0}"),
                        "1.0×".into(),
                        String::new(),
                    ]);
                    if node_n < n {
                        table.note(format!(
                            "aws-local-stepfunctions ran {node_n} iterations (not {n}): it is slower; rates compare."
                        ));
                    }
                }
                Err(e) => table.note(format!("aws-local-stepfunctions not measured: {e}")),
            }
        }
    }
    for r in rows {
        table.row(r);
    }
    table.note(
        "Transitions = states entered (Init, then Increment + Loop per iteration, then Done); \
         ours are counted from the execution history, which our executor always records. \
         aws-local-stepfunctions runs without an event-log consumer; Promise.withResolvers is \
         polyfilled on Node < 22 (tools/bench-node/run.mjs).",
    );
    table.print();

    // The offline main job.
    let runs = if options.quick { 1 } else { 3 };
    let rows = 10_000;
    let mut walls = Vec::new();
    let (mut states, mut polls) = (0, 0);
    for i in 0..runs {
        eprintln!("bench: offline run {}/{runs} ({rows} rows)…", i + 1);
        let work = scratch.path().join(format!("run-{i}"));
        let mut config = RunConfig {
            work_dir: work.clone(),
            wait_scale: 0.0,
            progress: false,
            ..Default::default()
        };
        config.sim.csv.rows = rows;
        let started = Instant::now();
        let report = rt.block_on(local_run::run(&config))?;
        let wall = started.elapsed().as_secs_f64();
        if !local_run::succeeded(&report.execution) {
            return Err(format!(
                "the offline run failed: {:?} {:?}",
                report.execution.error, report.execution.cause
            ));
        }
        let entered = |name: Option<&str>| {
            report
                .execution
                .history
                .iter()
                .filter(|e| e.event_type.ends_with("StateEntered"))
                .filter(|e| name.is_none() || e.state_name.as_deref() == name)
                .count()
        };
        states = entered(None);
        polls = entered(Some("PollReport"));
        rt.block_on(async {
            if let Some(s) = report.simulator {
                s.shutdown().await;
            }
            if let Some(s) = report.s3 {
                s.shutdown().await;
            }
        });
        let _ = std::fs::remove_dir_all(&work);
        walls.push(wall);
    }
    walls.sort_by(f64::total_cmp);
    let mut t = Table::new(
        "Offline main job: local_run::run (make run), waits skipped, progress off",
        &[
            "report rows",
            "polls",
            "states entered",
            "runs",
            "median wall s",
            "min wall s",
        ],
    );
    t.row(vec![
        rows.to_string(),
        polls.to_string(),
        states.to_string(),
        runs.to_string(),
        format!("{:.3}", median(&walls)),
        format!("{:.3}", walls[0]),
    ]);
    t.note(
        "Wall time of the whole run: starting the simulator and the embedded S3 server, \
         validating and executing statemachine/report-pipeline.asl.json with the four handlers \
         in-process (HTTP to the simulator, S3 over loopback, rendering the page).",
    );
    t.print();
    Ok(())
}
