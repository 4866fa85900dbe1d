//! The README says what the code does: the cost table is recomputed from the
//! polling policy, and the configuration table lists every variable read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use shared::polling::PollPolicy;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// States entered by a run that polls `polls` times and then publishes:
/// CreateReport, (Wait, Poll, Choice) per poll, DownloadReport, UpdateSite, Published.
fn transitions(polls: u32) -> u32 {
    4 + 3 * polls
}

fn ready(policy: &PollPolicy, latency: u64) -> Option<u32> {
    let polls = policy.polls_for(latency);
    let waited: u64 = (0..polls).map(|n| policy.wait_after(n)).sum();
    (waited >= latency).then_some(polls)
}

#[test]
fn the_cost_table_is_what_the_polling_policy_gives() {
    let default = PollPolicy::default();
    let long = PollPolicy {
        max_polls: 40,
        max_wait_seconds: 300,
        ..Default::default()
    };
    let fixed = PollPolicy {
        initial_wait_seconds: 10,
        max_wait_seconds: 10,
        backoff_rate: 1.0,
        max_polls: u32::MAX,
    };
    let mut table = String::from(
        "| report ready after | polls (default backoff) | transitions | polls (fixed 10 s) | transitions |\n|---|---|---|---|---|\n",
    );
    for (label, latency) in [("10 s", 10), ("1 min", 60), ("10 min", 600), ("1 h", 3600)] {
        let f = ready(&fixed, latency).unwrap();
        let (polls, cost) = match ready(&default, latency) {
            Some(p) => (p.to_string(), transitions(p).to_string()),
            None => {
                let alt = ready(&long, latency).expect("the long policy fits an hour");
                // CreateReport, every poll's three states, then ReportTimedOut.
                let timed_out = 1 + 3 * default.max_polls + 1;
                (
                    format!("{}, then `Report.TimedOut` ({alt})", default.max_polls),
                    format!("{timed_out} ({})", transitions(alt)),
                )
            }
        };
        table.push_str(&format!(
            "| {label} | {polls} | {cost} | {f} | {} |\n",
            transitions(f)
        ));
    }
    let text = readme();
    let block = text
        .split_once("<!-- cost:start -->\n")
        .and_then(|(_, r)| r.split_once("<!-- cost:end -->"))
        .map(|(b, _)| b);
    assert_eq!(
        block,
        Some(table.as_str()),
        "README.md's cost table is stale; expected:\n{table}"
    );
}

/// Variable names passed to the configuration readers in `dir`'s sources.
fn variables_read(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            variables_read(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for pattern in ["(env, \"", "env.get(\"", "ProcessEnv.get(\""] {
                for (i, _) in text.match_indices(pattern) {
                    let name: String = text[i + pattern.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                        .collect();
                    if name.len() > 2 {
                        found.insert(name);
                    }
                }
            }
        }
    }
}

#[test]
fn the_configuration_table_lists_every_variable_the_functions_read() {
    let mut vars = BTreeSet::new();
    variables_read(&root().join("shared/src"), &mut vars);
    variables_read(&root().join("functions"), &mut vars);
    assert!(
        vars.contains("REPORT_API_URL") && vars.contains("SITE_BUCKET"),
        "the scan found {vars:?}"
    );
    let text = readme();
    let missing: Vec<_> = vars
        .iter()
        .filter(|v| !text.contains(&format!("`{v}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not document {missing:?}"
    );
}
