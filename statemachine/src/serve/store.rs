//! The endpoint's state machines and executions, in memory and on disk:
//! one JSON file per state machine and per execution (its description and
//! its history in `GetExecutionHistory`'s shape), written whole to a temporary
//! file and renamed over the old one, so a crash leaves the old file or the
//! new one, never half of one. A restart reads them back; an execution that
//! was running when the endpoint stopped is recorded as aborted (it can be
//! redriven).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::{aws, HistoryEvent};

/// A state machine as `DescribeStateMachine` tells it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MachineRecord {
    pub(crate) state_machine_arn: String,
    pub(crate) name: String,
    pub(crate) definition: String,
    pub(crate) role_arn: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) creation_date: f64,
    #[serde(default)]
    pub(crate) update_date: Option<f64>,
    pub(crate) revision_id: String,
}

/// An execution as `DescribeExecution` tells it, plus what a redrive needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecutionRecord {
    pub(crate) execution_arn: String,
    pub(crate) state_machine_arn: String,
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) start_date: f64,
    #[serde(default)]
    pub(crate) stop_date: Option<f64>,
    pub(crate) input: String,
    #[serde(default)]
    pub(crate) output: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) cause: Option<String>,
    #[serde(default)]
    pub(crate) redrive_count: u32,
    #[serde(default)]
    pub(crate) redrive_date: Option<f64>,
    /// The definition it ran (`DescribeStateMachineForExecution`), kept as
    /// it was when the execution started.
    pub(crate) definition: String,
    /// The mock configuration's test case it runs with (`arn#TestCase`).
    #[serde(default)]
    pub(crate) test_case: Option<String>,
    /// Real seconds per virtual second of waits.
    pub(crate) wait_scale: f64,
}

impl ExecutionRecord {
    /// A new execution of `machine`, running from now.
    pub(crate) fn running(
        arn: &str,
        machine: &MachineRecord,
        name: &str,
        input: String,
        test_case: Option<String>,
        wait_scale: f64,
    ) -> Self {
        ExecutionRecord {
            execution_arn: arn.to_string(),
            state_machine_arn: machine.state_machine_arn.clone(),
            name: name.to_string(),
            status: "RUNNING".into(),
            start_date: super::now(),
            stop_date: None,
            input,
            output: None,
            error: None,
            cause: None,
            redrive_count: 0,
            redrive_date: None,
            definition: machine.definition.clone(),
            test_case,
            wait_scale,
        }
    }
}

/// What is stored of one execution.
#[derive(Clone)]
pub(crate) struct StoredExecution {
    pub(crate) record: ExecutionRecord,
    pub(crate) history: Arc<std::sync::Mutex<Vec<HistoryEvent>>>,
}

/// The files under the store's folder.
pub(crate) struct Store {
    dir: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct ExecutionFile {
    execution: ExecutionRecord,
    history: Value,
}

impl Store {
    /// A store in `dir` (created), or in memory only when `None`.
    pub(crate) fn open(dir: Option<&Path>) -> std::io::Result<Self> {
        if let Some(d) = dir {
            std::fs::create_dir_all(d.join("state-machines"))?;
            std::fs::create_dir_all(d.join("executions"))?;
        }
        Ok(Store {
            dir: dir.map(Path::to_path_buf),
        })
    }

    fn machine_file(&self, name: &str) -> Option<PathBuf> {
        Some(
            self.dir
                .as_ref()?
                .join("state-machines")
                .join(format!("{name}.json")),
        )
    }

    fn execution_file(&self, rec: &ExecutionRecord) -> Option<PathBuf> {
        // Names are [A-Za-z0-9_-] only (checked when created), so they are safe file names.
        let machine = rec.state_machine_arn.rsplit(':').next().unwrap_or_default();
        let machine = machine.split('#').next().unwrap_or(machine);
        Some(
            self.dir
                .as_ref()?
                .join("executions")
                .join(format!("{machine}.{}.json", rec.name)),
        )
    }

    pub(crate) fn save_machine(&self, m: &MachineRecord) -> Result<(), String> {
        match self.machine_file(&m.name) {
            Some(f) => write_atomic(&f, &serde_json::to_vec_pretty(m).expect("record")),
            None => Ok(()),
        }
    }

    pub(crate) fn delete_machine(&self, name: &str) -> Result<(), String> {
        match self.machine_file(name) {
            Some(f) if f.exists() => {
                std::fs::remove_file(&f).map_err(|e| format!("{}: {e}", f.display()))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn save_execution(&self, e: &StoredExecution) -> Result<(), String> {
        let Some(f) = self.execution_file(&e.record) else {
            return Ok(());
        };
        let history = aws::to_aws(
            &e.history.lock().expect("history"),
            crate::exec::LOCAL_REGION,
        );
        let file = ExecutionFile {
            execution: e.record.clone(),
            history,
        };
        write_atomic(&f, &serde_json::to_vec(&file).expect("record"))
    }

    /// Everything stored, read back. Files that do not parse are named in
    /// the second list and left where they are.
    pub(crate) fn load(&self) -> (Vec<MachineRecord>, Vec<StoredExecution>, Vec<String>) {
        let (mut machines, mut executions, mut bad) = (Vec::new(), Vec::new(), Vec::new());
        let Some(dir) = &self.dir else {
            return (machines, executions, bad);
        };
        for f in json_files(&dir.join("state-machines")) {
            match std::fs::read(&f)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                Some(m) => machines.push(m),
                None => bad.push(f.display().to_string()),
            }
        }
        for f in json_files(&dir.join("executions")) {
            let parsed: Option<ExecutionFile> = std::fs::read(&f)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            match parsed.and_then(|p| Some((p.execution, aws::from_aws(&p.history).ok()?))) {
                Some((record, history)) => executions.push(StoredExecution {
                    record,
                    history: Arc::new(std::sync::Mutex::new(history)),
                }),
                None => bad.push(f.display().to_string()),
            }
        }
        (machines, executions, bad)
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Records sorted as AWS lists them: newest first.
pub(crate) fn newest_first<T>(items: BTreeMap<String, T>, date: impl Fn(&T) -> f64) -> Vec<T> {
    let mut v: Vec<T> = items.into_values().collect();
    v.sort_by(|a, b| date(b).total_cmp(&date(a)));
    v
}
