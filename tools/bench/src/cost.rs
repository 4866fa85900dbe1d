//! Cost per run: state transitions per execution of the deployed definition
//! (`statemachine/report-pipeline.asl.json`) for a report that becomes ready
//! after 10 s, 1 min, 10 min and 1 h, measured by executing it.
//!
//! CreateReport and PollReport are the real handlers (so the waits are the
//! ones `PollPolicy` gives in production) in front of a fake reporting API
//! that answers `IN_PROGRESS` until the executor's virtual clock (read from
//! the history events) reaches the report's latency. DownloadReport and
//! UpdateSite answer canned payloads: they cost one transition each
//! whatever they do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};
use shared::config::Lookup;
use shared::payload::{PublishedSite, ReportStatus, StoredReport};
use shared::polling::PollPolicy;
use shared::report_api::{ApiError, CreatedReport, ReportCreator, StatusReader, StatusReply};
use statemachine::{
    Execution, ExecutionStatus, FnInvoker, HistoryEvent, Observer, RunOptions, StateMachine,
    TaskFailure,
};

use crate::{runtime, Options, Table};
use offline_runner::local_run::workspace_root;

/// Step Functions Standard: USD per state transition ($0.025 per 1,000).
pub(crate) const USD_PER_TRANSITION: f64 = 0.025 / 1000.0;
/// Hourly runs in a month.
pub(crate) const RUNS_PER_MONTH: f64 = 730.0;

/// The latencies of the README's table, with its labels.
pub(crate) const LATENCIES: [(&str, u64); 4] =
    [("10 s", 10), ("1 min", 60), ("10 min", 600), ("1 h", 3600)];

/// The executor's virtual clock as the history shows it.
#[derive(Default)]
struct VirtualClock(Mutex<f64>);

impl Observer for VirtualClock {
    fn on_event(&self, event: &HistoryEvent) {
        *self.0.lock().expect("clock") = event.elapsed_seconds;
    }
}

impl VirtualClock {
    fn now(&self) -> f64 {
        *self.0.lock().expect("clock")
    }
}

/// A reporting API whose report is ready once the virtual clock reaches `latency`.
struct VirtualApi {
    clock: Arc<VirtualClock>,
    latency: f64,
}

#[async_trait]
impl ReportCreator for VirtualApi {
    async fn create(
        &self,
        _parameters: &Map<String, Value>,
        _idempotency_key: Option<&str>,
    ) -> Result<CreatedReport, ApiError> {
        Ok(CreatedReport {
            report_id: "rpt-bench".into(),
            status_url: "https://reports.example.com/reports/rpt-bench".into(),
        })
    }
}

#[async_trait]
impl StatusReader for VirtualApi {
    async fn status(&self, _status_url: &str) -> Result<StatusReply, ApiError> {
        Ok(if self.clock.now() >= self.latency {
            StatusReply {
                status: ReportStatus::Completed,
                download_url: Some("https://reports.example.com/files/rpt-bench.csv".into()),
            }
        } else {
            StatusReply {
                status: ReportStatus::InProgress,
                download_url: None,
            }
        })
    }
}

/// Only these variables: the caller's environment must not change the figures.
struct Vars(HashMap<String, String>);

impl Lookup for Vars {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn vars(policy: &PollPolicy) -> Vars {
    Vars(
        [
            ("REPORT_API_URL", "https://reports.example.com".to_string()),
            (
                "POLL_INITIAL_WAIT_SECONDS",
                policy.initial_wait_seconds.to_string(),
            ),
            ("POLL_MAX_WAIT_SECONDS", policy.max_wait_seconds.to_string()),
            ("POLL_BACKOFF_RATE", policy.backoff_rate.to_string()),
            ("MAX_POLLS", policy.max_polls.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    )
}

fn task_failure(d: lambda_runtime::Diagnostic) -> TaskFailure {
    TaskFailure::new(d.error_type, d.error_message)
}

/// The four functions: real CreateReport/PollReport on [`VirtualApi`], canned
/// DownloadReport/UpdateSite.
fn invoker(policy: &PollPolicy, api: Arc<VirtualApi>) -> Result<FnInvoker, String> {
    let env = vars(policy);
    let create =
        Arc::new(create_report::Config::from_lookup(&env, None).map_err(|e| e.to_string())?);
    let poll = Arc::new(poll_report::Config::from_lookup(&env, None).map_err(|e| e.to_string())?);
    let mut inv = FnInvoker::new();
    let (a, c) = (api.clone(), create);
    inv.insert("CreateReport", move |input: Value| {
        let (api, config) = (a.clone(), c.clone());
        async move {
            let out = create_report::handle(api.as_ref(), &config, input, chrono::Utc::now())
                .await
                .map_err(|e| task_failure(e.into()))?;
            Ok(serde_json::to_value(out).expect("serializable"))
        }
    });
    inv.insert("PollReport", move |input: Value| {
        let (api, config) = (api.clone(), poll.clone());
        async move {
            let out = poll_report::handle(api.as_ref(), &config, input)
                .await
                .map_err(|e| task_failure(e.into()))?;
            Ok(serde_json::to_value(out).expect("serializable"))
        }
    });
    inv.insert("DownloadReport", |input: Value| async move {
        let out = StoredReport {
            report_id: input["report_id"].as_str().unwrap_or("rpt-bench").into(),
            created_at: chrono::Utc::now(),
            bucket: "reports".into(),
            key: "reports/rpt-bench.csv".into(),
            bytes: 1,
        };
        Ok(serde_json::to_value(out).expect("serializable"))
    });
    inv.insert("UpdateSite", |_input: Value| async move {
        let out = PublishedSite {
            report_id: "rpt-bench".into(),
            bucket: "site".into(),
            index_key: "index.html".into(),
            archive_key: "archive/rpt-bench.html".into(),
            rows: 1,
            bytes: 1,
            index_updated: true,
        };
        Ok(serde_json::to_value(out).expect("serializable"))
    });
    Ok(inv)
}

/// What one execution cost.
#[derive(Debug, Clone)]
pub struct Measured {
    pub polls: u64,
    /// States entered: what Step Functions Standard bills.
    pub transitions: u64,
    /// `Published`, the Fail state's error, or the execution's status.
    pub end: String,
    pub virtual_seconds: f64,
}

fn measure(execution: &Execution) -> Measured {
    let entered = |name: Option<&str>| {
        execution
            .history
            .iter()
            .filter(|e| e.event_type.ends_with("StateEntered"))
            .filter(|e| name.is_none() || e.state_name.as_deref() == name)
            .count() as u64
    };
    let end = match execution.status {
        ExecutionStatus::Succeeded => "Published".to_string(),
        ExecutionStatus::TimedOut => "States.Timeout".to_string(),
        _ => execution.error.clone().unwrap_or_else(|| "failed".into()),
    };
    Measured {
        polls: entered(Some("PollReport")),
        transitions: entered(None),
        end,
        virtual_seconds: execution
            .history
            .last()
            .map(|e| e.elapsed_seconds)
            .unwrap_or(0.0),
    }
}

/// Executes `machine` for a report ready after `latency` seconds.
pub(crate) async fn execute_once(
    machine: &StateMachine,
    policy: &PollPolicy,
    latency: u64,
) -> Result<Measured, String> {
    let clock = Arc::new(VirtualClock::default());
    let api = Arc::new(VirtualApi {
        clock: clock.clone(),
        latency: latency as f64,
    });
    let inv = invoker(policy, api)?;
    let options = RunOptions {
        wait_scale: 0.0,
        observer: Some(clock),
        state_machine_name: "report-pipeline".into(),
        ..Default::default()
    };
    let execution = statemachine::execute(machine, serde_json::json!({}), &inv, options).await;
    Ok(measure(&execution))
}

/// The README's cost table: (latency label, column) → transitions, where
/// column is `default`, `bracket` (max_polls 40 / max wait 300) or `fixed`.
pub(crate) fn readme_figures(readme: &str) -> HashMap<(String, &'static str), u64> {
    let mut out = HashMap::new();
    let Some(start) = readme.find("<!-- cost:start -->") else {
        return out;
    };
    let Some(len) = readme[start..].find("<!-- cost:end -->") else {
        return out;
    };
    let first_number = |s: &str| -> Option<u64> {
        s.split(|c: char| !c.is_ascii_digit())
            .find(|t| !t.is_empty())
            .and_then(|t| t.parse().ok())
    };
    for line in readme[start..start + len].lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "", latency, polls, transitions, polls (fixed), transitions (fixed), ""
        if cells.len() < 7 || !cells[1].chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let label = cells[1].to_string();
        if let Some(n) = first_number(cells[3]) {
            out.insert((label.clone(), "default"), n);
        }
        if let Some((_, b)) = cells[3].split_once('(') {
            if let Some(n) = first_number(b) {
                out.insert((label.clone(), "bracket"), n);
            }
        }
        if let Some(n) = first_number(cells[5]) {
            out.insert((label, "fixed"), n);
        }
    }
    out
}

/// The formula the README's table uses: 4 + 3·polls to publish, 2 + 3·polls
/// to end in a Fail state after the last Choice.
pub(crate) fn formula(polls: u64, published: bool) -> u64 {
    if published {
        4 + 3 * polls
    } else {
        2 + 3 * polls
    }
}

pub fn run(_options: &Options) -> Result<(), String> {
    let path = workspace_root().join("statemachine/report-pipeline.asl.json");
    let deployed =
        StateMachine::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lifted = deployed.clone();
    lifted.timeout_seconds = None;
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap_or_default();
    let readme = readme_figures(&readme);

    let default = PollPolicy::default();
    let fixed = PollPolicy {
        initial_wait_seconds: 10,
        max_wait_seconds: 10,
        backoff_rate: 1.0,
        max_polls: 10_000,
    };
    let long = PollPolicy {
        max_polls: 40,
        max_wait_seconds: 300,
        ..PollPolicy::default()
    };
    let mut cases: Vec<(&str, u64, &str, &PollPolicy, &'static str)> = Vec::new();
    for (label, latency) in LATENCIES {
        cases.push((label, latency, "default backoff", &default, "default"));
        if latency == 3600 {
            cases.push((
                label,
                latency,
                "backoff, MAX_POLLS 40, max wait 300 s",
                &long,
                "bracket",
            ));
        }
        cases.push((label, latency, "fixed 10 s", &fixed, "fixed"));
    }

    let rt = runtime()?;
    let mut table = Table::new(
        "Cost per run: state transitions of statemachine/report-pipeline.asl.json, executed",
        &[
            "report ready after",
            "polling",
            "polls",
            "transitions",
            "formula",
            "README",
            "ends",
            "virtual time",
            "USD per run",
            "USD per month (730 runs)",
        ],
    );
    let mut disagreements = Vec::new();
    let mut lifted_notes = Vec::new();
    for (label, latency, polling, policy, column) in cases {
        let mut m = rt.block_on(execute_once(&deployed, policy, latency))?;
        let mut end = m.end.clone();
        if m.end == "States.Timeout" {
            lifted_notes.push(format!(
                "{label}, {polling}: the deployed TimeoutSeconds (3300 s) ends the execution \
                 first (States.Timeout after {} transitions, {} polls).",
                m.transitions, m.polls
            ));
            m = rt.block_on(execute_once(&lifted, policy, latency))?;
            end = format!("{} (TimeoutSeconds lifted)", m.end);
        }
        let expected = formula(m.polls, m.end == "Published");
        if m.transitions != expected {
            disagreements.push(format!(
                "{label}, {polling}: measured {} transitions, formula {expected}",
                m.transitions
            ));
        }
        let in_readme = readme.get(&(label.to_string(), column)).copied();
        match in_readme {
            Some(r) if r != m.transitions => disagreements.push(format!(
                "{label}, {polling}: measured {} transitions, README {r}",
                m.transitions
            )),
            _ => {}
        }
        let usd = m.transitions as f64 * USD_PER_TRANSITION;
        table.row(vec![
            label.to_string(),
            polling.to_string(),
            m.polls.to_string(),
            m.transitions.to_string(),
            expected.to_string(),
            in_readme
                .map(|r| r.to_string())
                .unwrap_or_else(|| "–".into()),
            end,
            if m.virtual_seconds < 120.0 {
                format!("{:.0} s", m.virtual_seconds)
            } else {
                format!("{:.0} min", m.virtual_seconds / 60.0)
            },
            format!("{usd:.6}"),
            format!("{:.2}", usd * RUNS_PER_MONTH),
        ]);
    }
    table.note(
        "Transitions = states entered in the execution history (what Standard workflows bill), \
         at $0.025 per 1,000, before the free tier. Formula: 4 + 3·polls when published, \
         2 + 3·polls when a Fail state ends it (Report.TimedOut). Virtual time = the executor's \
         clock with waits skipped (wait_scale 0).",
    );
    for n in lifted_notes {
        table.note(format!("- {n}"));
    }
    if disagreements.is_empty() {
        table.note("Every measured figure agrees with the formula and the README's cost table.");
    } else {
        for d in &disagreements {
            table.note(format!("- DISAGREES: {d}"));
        }
    }
    table.print();
    if disagreements.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} figures disagree (see the table)",
            disagreements.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_readme_table_then_each_column_is_read() {
        let readme = "x\n<!-- cost:start -->\n| report ready after | polls (default backoff) | transitions | polls (fixed 10 s) | transitions |\n|---|---|---|---|---|\n| 10 s | 1 | 7 | 1 | 7 |\n| 1 h | 11, then `Report.TimedOut` (16) | 35 (52) | 360 | 1084 |\n<!-- cost:end -->\n";
        let f = readme_figures(readme);
        assert_eq!(f[&("10 s".to_string(), "default")], 7);
        assert_eq!(f[&("1 h".to_string(), "default")], 35);
        assert_eq!(f[&("1 h".to_string(), "bracket")], 52);
        assert_eq!(f[&("1 h".to_string(), "fixed")], 1084);
        assert!(!f.contains_key(&("10 s".to_string(), "bracket")));
    }

    #[test]
    fn given_a_one_minute_report_then_the_deployed_definition_costs_what_the_formula_says() {
        let path = workspace_root().join("statemachine/report-pipeline.asl.json");
        let machine = StateMachine::from_path(&path).unwrap();
        let rt = runtime().unwrap();
        let policy = PollPolicy::default();
        let m = rt.block_on(execute_once(&machine, &policy, 60)).unwrap();
        assert_eq!(m.end, "Published");
        assert_eq!(m.polls, u64::from(policy.polls_for(60)));
        assert_eq!(m.transitions, formula(m.polls, true));
    }
}
