//! `site-rollback` (what `make rollback STAGE=local` runs) against the
//! embedded S3 server, on the site three offline runs published.

use std::path::Path;
use std::process::Command;

use offline_runner::local_run::{self, RunConfig};

fn rollback(work: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_site-rollback"))
        .arg("--work-dir")
        .arg(work)
        .args(args)
        .output()
        .expect("site-rollback runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn read(work: &Path, key: &str) -> String {
    std::fs::read_to_string(work.join("s3/site").join(key)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_three_runs_when_rolled_back_over_s3_then_the_site_shows_each_earlier_report_and_the_archive_drops_the_newer(
) {
    // GIVEN three offline runs in one work folder (three reports, distinct ids)
    let work = tempfile::tempdir().unwrap();
    let mut config = RunConfig {
        work_dir: work.path().to_path_buf(),
        progress: false,
        ..Default::default()
    };
    config.sim.csv.rows = 30;
    let mut pages = Vec::new();
    for _ in 0..3 {
        let run = local_run::run(&config).await.unwrap();
        assert_eq!(format!("{:?}", run.execution.status), "Succeeded");
        pages.push(read(work.path(), "index.html"));
        drop(run);
    }
    assert!(pages[2].contains("rpt-000003"), "ids continue across runs");

    // WHEN rolled back THEN index.html is the page the second run published
    let (ok, said) = rollback(work.path(), &[]);
    assert!(ok, "{said}");
    assert_eq!(said.trim(), "index.html now shows report rpt-000002 (was rpt-000003); taken off the archive: rpt-000003");
    assert_eq!(read(work.path(), "index.html"), pages[1]);
    let archive = read(work.path(), "archive.html");
    assert!(
        !archive.contains("rpt-000003") && archive.contains("rpt-000002"),
        "{archive}"
    );
    assert!(!read(work.path(), "feed.xml").contains("rpt-000003"));

    // WHEN a named report that is not in the archive THEN refused, site unchanged
    let (ok, said) = rollback(work.path(), &["--report", "rpt-000003"]);
    assert!(!ok);
    assert!(
        said.contains("report rpt-000003 is not in the archive (it has: rpt-000002, rpt-000001)"),
        "{said}"
    );
    assert_eq!(read(work.path(), "index.html"), pages[1]);

    // WHEN rolled back to the first by name THEN it shows the first run's page
    let (ok, said) = rollback(work.path(), &["--report", "rpt-000001"]);
    assert!(ok, "{said}");
    assert_eq!(read(work.path(), "index.html"), pages[0]);

    // WHEN the next run publishes THEN it is the latest again
    let run = local_run::run(&config).await.unwrap();
    drop(run);
    assert!(read(work.path(), "index.html").contains("rpt-000004"));
}
