//! The step payloads in tests/payloads/ (for `cargo lambda invoke`) are what
//! each handler accepts: each parses as its step's input type.

use std::path::Path;

use serde_json::Value;
use shared::payload::*;

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("payloads")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_payload_parses_as_its_steps_input_type() {
    parse_input::<CreateReportInput>(load("CreateReport")).unwrap();
    parse_input::<ReportHandle>(load("PollReport")).unwrap();
    let completed: PollOutcome = parse_input(load("DownloadReport")).unwrap();
    assert_eq!(completed.status, ReportStatus::Completed);
    assert!(completed.download_url.is_some());
    parse_input::<StoredReport>(load("UpdateSite")).unwrap();
}
