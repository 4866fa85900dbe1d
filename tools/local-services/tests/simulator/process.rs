//! The `report-sim` binary in its own process: a 256 MiB report in flat memory.

use super::*;

/// The `report-sim` binary as a child process, killed on drop.
struct SimProcess(std::process::Child);

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// Measured on the binary in its own process: RSS of the test process mixes
/// in whatever the tests running in parallel allocate.
#[tokio::test]
async fn given_the_report_sim_binary_serving_256mib_when_streamed_then_every_byte_arrives_and_its_memory_stays_flat(
) {
    use std::io::BufRead;
    let size = 256u64 << 20;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_report-sim"))
        .args(["--size", &size.to_string(), "--seed", "5"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = SimProcess(child);
    let mut base = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut base)
        .unwrap();
    let base = base.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let created: Value = http()
        .post(format!("{base}/reports"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!(
        "{base}/files/{}.csv",
        created["report_id"].as_str().unwrap()
    );
    let pid = child.0.id();
    let before = rss_of(pid);
    let mut resp = reqwest::Client::new().get(url).send().await.unwrap();
    let expected = CsvSpec::for_size(size, 5).exact_len();
    assert_eq!(resp.content_length(), Some(expected));
    let (mut got, mut peak) = (0u64, before);
    while let Some(c) = resp.chunk().await.unwrap() {
        got += c.len() as u64;
        if got % (16 << 20) < c.len() as u64 {
            peak = peak.max(rss_of(pid));
        }
    }
    assert_eq!(got, expected);
    assert!(
        peak.saturating_sub(before) < 32 << 20,
        "simulator RSS grew by {} MiB",
        (peak - before) >> 20
    );
}
