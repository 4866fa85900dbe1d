//! The whole pipeline, offline: the main job behind `make run`.
//!
//! [`run`] starts what is missing (the reporting-API simulator, the
//! embedded S3 server), runs the deployed definition file unchanged with the
//! local ASL executor, and resolves its Tasks to the four handlers
//! in-process ([`in_process_invoker`]) or to a Lambda Invoke endpoint such as
//! `cargo lambda watch`. Progress is printed state by state.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use create_report::CreateReport;
use download_report::DownloadReport;
use poll_report::PollReport;
use serde_json::Value;
use shared::config::{Lookup, ProcessEnv};
use shared::function::Function;
use statemachine::{
    Execution, ExecutionStatus, FnInvoker, HistoryEvent, Observer, RunOptions, StateMachine,
    TaskFailure, TaskInvoker,
};
use update_site::UpdateSite;

use local_services::csvgen::CsvSpec;
use local_services::s3::{LocalS3, S3Fault, S3Op};
use local_services::simulator::{Outcome, SimConfig, Simulator};

/// Configuration of the handlers: explicit values first, then the process
/// environment (so a user's `REPORT_API_TOKEN`, `SITE_TITLE`… still apply).
#[derive(Clone, Default)]
pub struct Layered(pub HashMap<String, String>);

impl Lookup for Layered {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .cloned()
            .filter(|v| !v.is_empty())
            .or_else(|| ProcessEnv.get(name))
    }
}

fn failure(d: lambda_runtime::Diagnostic) -> TaskFailure {
    TaskFailure {
        error: d.error_type,
        cause: d.error_message,
    }
}

fn init_failure(function: &str, e: impl std::fmt::Display) -> TaskFailure {
    // What Lambda reports when a function's init fails.
    TaskFailure {
        error: "Runtime.ExitError".into(),
        cause: format!("{function}: init failed: {e}"),
    }
}

/// The simulator's next report number, kept in the work folder so that each
/// run publishes a new report (the archive grows run by run, as in production)
/// instead of overwriting `rpt-000001`.
const REPORT_COUNTER: &str = "simulator-next-report";

fn next_report_number(work_dir: &Path) -> u64 {
    std::fs::read_to_string(work_dir.join(REPORT_COUNTER))
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

/// Moves the work folder's report counter past the reports `sim` created,
/// so the next run (or endpoint) numbers on from them.
pub fn save_report_counter(work_dir: &Path, sim: &Simulator) {
    let created = sim.reports().len() as u64;
    let next = next_report_number(work_dir) + created;
    // Best effort: a lost counter only means a later run reuses an id.
    let _ = std::fs::write(work_dir.join(REPORT_COUNTER), format!("{next}\n"));
}

/// Adds `F` to `invoker`, built from `env` once, as its Lambda builds itself
/// at cold start. A build that fails answers every invocation the way Lambda
/// reports a failed init (`Runtime.ExitError`).
async fn add<F: Function>(invoker: &mut FnInvoker, env: &Layered) {
    let built = Arc::new(F::build(env).await.map_err(|e| e.to_string()));
    invoker.insert(F::NAME, move |input: Value| {
        let built = built.clone();
        async move {
            let function = built
                .as_ref()
                .as_ref()
                .map_err(|e| init_failure(F::NAME, e))?;
            let out = function
                .handle(input)
                .await
                .map_err(|e| failure(e.into()))?;
            Ok(serde_json::to_value(out).expect("serializable"))
        }
    });
}

/// The four functions, in process, each built from `env` by its own
/// [`Function::build`], the constructor its `main.rs` calls.
pub async fn in_process_invoker(env: Layered) -> FnInvoker {
    let mut invoker = FnInvoker::new();
    add::<CreateReport>(&mut invoker, &env).await;
    add::<PollReport>(&mut invoker, &env).await;
    add::<DownloadReport>(&mut invoker, &env).await;
    add::<UpdateSite>(&mut invoker, &env).await;
    invoker
}

/// What `make run` does, as options.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub definition: PathBuf,
    /// The execution input.
    pub input: Value,
    /// Where the embedded S3 keeps its buckets, and the run writes its history.
    pub work_dir: PathBuf,
    /// A real reporting API instead of the simulator.
    pub report_api: Option<String>,
    /// A real S3 endpoint instead of the embedded server (credentials from the environment).
    pub s3_endpoint: Option<String>,
    /// Invoke functions through this Lambda Invoke endpoint instead of in-process.
    pub lambda_endpoint: Option<String>,
    pub wait_scale: f64,
    /// The simulated reporting API and its report (rows, polls, outcome, faults).
    pub sim: SimConfig,
    /// Faults the embedded S3 server injects, queued before the run.
    pub s3_faults: Vec<(S3Op, S3Fault)>,
    /// Extra configuration for the handlers (over the process environment).
    pub env: HashMap<String, String>,
    /// Create the two buckets in the embedded S3 (off to test a missing bucket).
    pub create_buckets: bool,
    pub reports_bucket: String,
    pub site_bucket: String,
    /// Print progress lines.
    pub progress: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            definition: workspace_root().join("statemachine/report-pipeline.asl.json"),
            input: serde_json::json!({}),
            work_dir: workspace_root().join(".local/run"),
            report_api: None,
            s3_endpoint: None,
            lambda_endpoint: None,
            wait_scale: 0.0,
            sim: SimConfig {
                polls_to_complete: 3,
                outcome: Outcome::Complete,
                csv: CsvSpec {
                    rows: 1_000,
                    seed: 1,
                },
                ..Default::default()
            },
            s3_faults: Vec::new(),
            env: HashMap::new(),
            create_buckets: true,
            reports_bucket: "reports".into(),
            site_bucket: "site".into(),
            progress: true,
        }
    }
}

/// The repository's root (where the definition lives), found from this crate.
pub fn workspace_root() -> PathBuf {
    // This crate is tools/offline-runner.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tools/offline-runner has a grandparent")
        .to_path_buf()
}

/// A finished run.
pub struct RunReport {
    pub execution: Execution,
    /// Where the published page is on disk, when the embedded S3 served it.
    pub page: Option<PathBuf>,
    pub history_file: PathBuf,
    /// The run viewer's page of this execution (`asl view`), beside the history.
    pub view_file: PathBuf,
    /// The servers, still running, so a caller can inspect or serve them.
    pub simulator: Option<Simulator>,
    pub s3: Option<LocalS3>,
    pub env: Layered,
}

/// The servers a run needs and the functions' configuration.
pub struct Services {
    /// The reporting-API simulator, unless a real API is used.
    pub simulator: Option<Simulator>,
    /// The embedded S3 server, unless a real endpoint is used.
    pub s3: Option<LocalS3>,
    /// The functions' configuration (service URLs, buckets).
    pub env: Layered,
}

/// Starts what `config` does not point elsewhere: the reporting-API
/// simulator (numbering reports on from the work folder's counter) and the
/// embedded S3 server with the two buckets.
pub async fn start_services(config: &RunConfig) -> Result<Services, String> {
    std::fs::create_dir_all(&config.work_dir)
        .map_err(|e| format!("{}: {e}", config.work_dir.display()))?;

    let mut env = HashMap::new();
    let simulator = match &config.report_api {
        Some(url) => {
            env.insert("REPORT_API_URL".to_string(), url.clone());
            None
        }
        None => {
            let mut sim_config = config.sim.clone();
            sim_config.first_id = next_report_number(&config.work_dir);
            let sim = Simulator::start(sim_config)
                .await
                .map_err(|e| format!("starting the reporting-API simulator: {e}"))?;
            env.insert("REPORT_API_URL".to_string(), sim.base_url().to_string());
            env.insert("LOCAL_MODE".to_string(), "true".to_string());
            Some(sim)
        }
    };
    let s3 = match &config.s3_endpoint {
        Some(url) => {
            env.insert("S3_ENDPOINT_URL".to_string(), url.clone());
            None
        }
        None => {
            let s3 = LocalS3::start(&config.work_dir.join("s3"))
                .await
                .map_err(|e| format!("starting the embedded S3 server: {e}"))?;
            for b in [&config.reports_bucket, &config.site_bucket]
                .into_iter()
                .filter(|_| config.create_buckets)
            {
                s3.create_bucket(b)
                    .map_err(|e| format!("creating bucket {b}: {e}"))?;
            }
            for (op, fault) in &config.s3_faults {
                s3.push_fault(*op, fault.clone());
            }
            for (k, v) in s3.env_vars() {
                env.insert(k.to_string(), v);
            }
            Some(s3)
        }
    };
    env.extend(config.env.clone());
    env.insert("REPORTS_BUCKET".into(), config.reports_bucket.clone());
    env.insert("SITE_BUCKET".into(), config.site_bucket.clone());
    let env = Layered(env);

    Ok(Services { simulator, s3, env })
}

/// Runs the pipeline once.
pub async fn run(config: &RunConfig) -> Result<RunReport, String> {
    let machine = StateMachine::from_path(&config.definition)
        .map_err(|e| format!("{}: {e}", config.definition.display()))?;
    let problems = statemachine::validate(&machine);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        return Err(format!(
            "{} is not valid:\n{}",
            config.definition.display(),
            list.join("\n")
        ));
    }
    let input_size = serde_json::to_vec(&config.input).map_or(0, |v| v.len());
    if input_size > statemachine::MAX_PAYLOAD_BYTES {
        return Err(format!(
            "the execution input is {input_size} bytes; Step Functions refuses more than {} (StartExecution fails with a ValidationException)",
            statemachine::MAX_PAYLOAD_BYTES
        ));
    }
    let Services { simulator, s3, env } = start_services(config).await?;

    let invoker: Box<dyn TaskInvoker> = match &config.lambda_endpoint {
        Some(url) => Box::new(statemachine::LambdaEndpointInvoker::new(url)),
        None => Box::new(in_process_invoker(env.clone()).await),
    };
    let observer = Arc::new(Progress::new(config.progress));
    let options = RunOptions {
        wait_scale: config.wait_scale,
        observer: Some(observer.clone()),
        state_machine_name: "report-pipeline".into(),
        ..Default::default()
    };
    if config.progress {
        eprintln!(
            "running {} (reporting API {}, S3 {}, functions {})",
            config.definition.display(),
            env.get("REPORT_API_URL").unwrap_or_default(),
            env.get("S3_ENDPOINT_URL").unwrap_or_else(|| "AWS".into()),
            config.lambda_endpoint.as_deref().unwrap_or("in-process")
        );
    }
    let execution =
        statemachine::execute(&machine, config.input.clone(), invoker.as_ref(), options).await;

    if let Some(sim) = &simulator {
        save_report_counter(&config.work_dir, sim);
    }
    let history_file = config.work_dir.join("history.json");
    // GetExecutionHistory's shape, as `aws stepfunctions get-execution-history` prints it.
    let doc = statemachine::history::aws::to_aws(&execution.history, "us-east-1");
    let history = serde_json::to_vec_pretty(&doc).expect("history serializes");
    std::fs::write(&history_file, history)
        .map_err(|e| format!("{}: {e}", history_file.display()))?;
    let view_file = config.work_dir.join("view").join("index.html");
    std::fs::create_dir_all(config.work_dir.join("view"))
        .and_then(|()| {
            statemachine::view::write(
                &view_file,
                &machine.definition,
                &execution.history,
                "report-pipeline",
            )
        })
        .map_err(|e| format!("{}: {e}", view_file.display()))?;
    let page = s3
        .as_ref()
        .map(|s3| s3.object_path(&config.site_bucket, "index.html"))
        .filter(|p| p.exists());
    Ok(RunReport {
        execution,
        page,
        history_file,
        view_file,
        simulator,
        s3,
        env,
    })
}

/// Prints one line per state: when it ended, its name, and what it produced.
pub struct Progress {
    enabled: bool,
    started: Instant,
    entered: Mutex<HashMap<String, Instant>>,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            started: Instant::now(),
            entered: Mutex::new(HashMap::new()),
        }
    }
}

impl Observer for Progress {
    fn on_event(&self, event: &HistoryEvent) {
        if !self.enabled {
            return;
        }
        let name = event.state_name.as_deref().unwrap_or_default().to_string();
        let t = event.event_type;
        if t.ends_with("StateEntered") {
            self.entered.lock().unwrap().insert(name, Instant::now());
            return;
        }
        let line = if t.ends_with("StateExited") {
            let took = self
                .entered
                .lock()
                .unwrap()
                .remove(&name)
                .map(|s| s.elapsed().as_secs_f64() * 1000.0)
                .unwrap_or(0.0);
            format!(
                "{:<16} {:>8.1} ms  {}",
                name,
                took,
                summarize(event.output.as_deref())
            )
        } else if event.is_task_failure() || t == "ExecutionFailed" || t == "ExecutionTimedOut" {
            format!(
                "{:<16} {:>11}  {} {}",
                if name.is_empty() {
                    "(execution)".to_string()
                } else {
                    name
                },
                t,
                event.error.as_deref().unwrap_or(""),
                event
                    .cause
                    .as_deref()
                    .map(|c| one_line(c, 160))
                    .unwrap_or_default()
            )
        } else {
            return;
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "[{:>7.2}s] {line}",
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// A one-line summary of a state's output: the fields a reader cares about.
pub fn summarize(output: Option<&Value>) -> String {
    let Some(Value::Object(map)) = output else {
        return String::new();
    };
    let keys = [
        "status",
        "poll_count",
        "wait_seconds",
        "report_id",
        "key",
        "bytes",
        "rows",
        "index_key",
        "error",
    ];
    let parts: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            map.get(*k)
                .map(|v| format!("{k}={}", one_line(&v.to_string().replace('"', ""), 60)))
        })
        .collect();
    parts.join(" ")
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

/// True when the execution succeeded.
pub fn succeeded(e: &Execution) -> bool {
    e.status == ExecutionStatus::Succeeded
}
