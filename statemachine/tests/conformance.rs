//! Replays the ASL conformance corpus (executions recorded on AWS) and requires
//! every case, JSONPath and JSONata, to pass: status, output and error; and
//! the histories to keep AWS's shape in at least as many cases as today.
//!
//! The corpus lives outside the repository: `$ASL_CONFORMANCE_DIR`, or by
//! default `<workspace root>/../shared/asl-conformance/cases`. When it is
//! absent the test says so and is skipped.

use std::path::PathBuf;
use std::time::Duration;

fn corpus_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ASL_CONFORMANCE_DIR") {
        return PathBuf::from(dir);
    }
    // statemachine/.. is the workspace root; its parent holds shared/.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("shared")
        .join("asl-conformance")
        .join("cases")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_the_aws_recorded_corpus_when_replayed_then_every_case_passes() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        println!(
            "SKIPPED: conformance corpus not found at {} (set ASL_CONFORMANCE_DIR)",
            dir.display()
        );
        return;
    }
    let summary = statemachine::conformance::run_dir(&dir, Duration::from_secs(10))
        .await
        .expect("corpus readable");
    let (passed, total) = summary.by_language("JSONPath");
    let (jp, jt) = summary.by_language("JSONata");
    let (cm, ct) = summary.causes_for("JSONPath");
    let (hp, hpt) = summary.histories_for("JSONPath");
    let (hj, hjt) = summary.histories_for("JSONata");
    let (all_c, all_ct) = summary.causes();
    println!("JSONPath: {passed}/{total} passed; JSONata: {jp}/{jt}");
    println!("FAILED cases with AWS's exact cause: {all_c}/{all_ct} ({cm}/{ct} JSONPath)");
    println!("histories with AWS's shape: JSONPath {hp}/{hpt}, JSONata {hj}/{hjt}");
    assert!(total > 0, "no JSONPath cases found in {}", dir.display());
    // Every recorded history has AWS's shape (README).
    assert_eq!(
        (hp, hj),
        (hpt, hjt),
        "histories with AWS's shape: JSONPath {hp} of {hpt}, JSONata {hj} of {hjt}"
    );
    assert!(
        all_c * 100 >= all_ct * 95,
        "exact causes: {all_c} of {all_ct}"
    );

    let failing: Vec<String> = summary
        .results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{}\n    {}", r.name, r.diff.join("\n    ")))
        .collect();
    assert!(
        failing.is_empty(),
        "{} case(s) failed:\n{}",
        failing.len(),
        failing.join("\n")
    );
}
