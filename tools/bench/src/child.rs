//! The child processes of the memory section: `bench __child <which>`
//! runs one handler (or UpdateSite's S3 traffic alone) in a fresh process,
//! wired as its Lambda's `main.rs` wires it, and prints a [`ChildReport`]:
//! so each has its own peak RSS and CPU seconds, and the servers in the
//! parent are not counted.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Instant;

use download_report::DownloadReport;
use serde_json::Value;
use shared::config::ProcessEnv;
use shared::function::Function;
use update_site::UpdateSite;

use crate::{proc_status_kib, runtime};

/// What a child prints as its last stdout line.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ChildReport {
    /// VmHWM after init (runtime, config, clients), before the handler runs.
    pub init_kib: u64,
    /// VmHWM at the end: the peak of the whole process.
    pub peak_kib: u64,
    pub seconds: f64,
    /// User + system CPU seconds of the invocation (after init).
    #[serde(default)]
    pub cpu_seconds: f64,
    pub output: Value,
}

/// This process's user + system CPU seconds (`/proc/self/stat`, in clock
/// ticks of 1/100 s, Linux's USER_HZ).
pub(crate) fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// `bench __child <download|update-site|traffic> <event-json>`: runs one
/// handler as its Lambda's `main.rs` would (configuration from the
/// environment), or UpdateSite's S3 traffic alone, prints a [`ChildReport`]
/// as JSON.
pub fn child_main(args: &[String]) -> Result<(), String> {
    let (which, event) = match args {
        [w, e] => (w.as_str(), e.as_str()),
        _ => return Err("usage: bench __child <download|update-site|traffic> <event-json>".into()),
    };
    let event: Value = serde_json::from_str(event).map_err(|e| format!("event: {e}"))?;
    let rt = runtime()?;
    let (init_kib, seconds, cpu, output) = rt.block_on(async {
        match which {
            "download" => measure::<DownloadReport>(event).await,
            "update-site" => measure::<UpdateSite>(event).await,
            "traffic" => {
                let t = serde_json::from_value(event).map_err(|e| format!("traffic: {e}"))?;
                let init = proc_status_kib("VmHWM").unwrap_or(0);
                let cpu = cpu_seconds();
                let (seconds, out) = crate::traffic::run(t).await?;
                Ok((init, seconds, cpu_seconds() - cpu, out))
            }
            other => Err(format!("unknown child {other:?}")),
        }
    })?;
    let report = ChildReport {
        init_kib,
        peak_kib: proc_status_kib("VmHWM").ok_or("no VmHWM in /proc/self/status")?,
        seconds,
        cpu_seconds: cpu,
        output,
    };
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Builds `F` as its Lambda does at cold start, then runs one invocation:
/// the peak RSS after init, the seconds the invocation took, its output.
async fn measure<F: Function>(event: Value) -> Result<(u64, f64, f64, Value), String> {
    let function = F::build(&ProcessEnv).await.map_err(|e| e.to_string())?;
    let init = proc_status_kib("VmHWM").unwrap_or(0);
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let out = function
        .handle(event)
        .await
        .map_err(|e| format!("{} failed: {e:?}", F::NAME))?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let out = serde_json::to_value(out).map_err(|e| e.to_string())?;
    Ok((init, seconds, cpu, out))
}

/// Runs `bench __child which event` with `env` and returns its report.
pub(crate) fn run_child(
    which: &str,
    event: &Value,
    env: &HashMap<String, String>,
) -> Result<ChildReport, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = Command::new(exe)
        .arg("__child")
        .arg(which)
        .arg(event.to_string())
        .env_remove("REPORT_API_TOKEN_PARAMETER")
        .env_remove("REPORT_API_TOKEN")
        .env_remove("AWS_PROFILE")
        .envs(env)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("spawning the {which} child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the {which} child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| format!("the {which} child printed {last:?}: {e}"))
}
