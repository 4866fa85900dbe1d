//! Size and cold start.
//!
//! - Size: the arm64 release zips `make build` leaves in `dist/` (not built
//!   here: the cross build is slow), next to the host build's size for
//!   reference.
//! - Cold start: the four functions built for the host in release, each run
//!   N times as a child process whose `AWS_LAMBDA_RUNTIME_API` points at a
//!   minimal Runtime API served here on loopback; the figure is the time
//!   from spawning the process to its first `GET .../invocation/next`, i.e.
//!   everything its `main` does before it can take an event (runtime, config,
//!   clients). The request is never answered; the child is killed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{median, met, percentile, Options, ScratchDir, Table};
use offline_runner::local_run::workspace_root;

pub const FUNCTIONS: [&str; 4] = ["CreateReport", "PollReport", "DownloadReport", "UpdateSite"];
/// Target: each zip at most 3 MiB.
pub(crate) const TARGET_ZIP_MIB: f64 = 3.0;
/// Target: median init at most 10 ms.
pub(crate) const TARGET_INIT_MS: f64 = 10.0;
/// The marker of the placeholder zips some setups leave in `dist/`.
const STUB_MARKER: &[u8] = b"REPORT_PIPELINE_STUB_ARTIFACT";

/// What the minimal Runtime API saw.
#[derive(Debug)]
enum ApiEvent {
    Next(Instant),
    InitError(String),
}

/// A minimal Lambda Runtime API on loopback: notes `invocation/next`
/// (leaving it unanswered) and init errors.
struct RuntimeApi {
    addr: String,
    events: mpsc::Receiver<ApiEvent>,
}

impl RuntimeApi {
    fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?.to_string();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let tx = tx.clone();
                std::thread::spawn(move || serve(stream, tx));
            }
        });
        Ok(RuntimeApi { addr, events: rx })
    }
}

fn serve(stream: TcpStream, tx: mpsc::Sender<ApiEvent>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let at = Instant::now();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let _ = tx.send(ApiEvent::Next(at));
            // Never answered: the bench kills the process. Wait for the close.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
            return;
        }
        if method == "POST" && path.ends_with("/runtime/init/error") {
            let _ = tx.send(ApiEvent::InitError(
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        let _ = writer.write_all(
            b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        );
    }
}

/// The environment each function gets: what Lambda sets, plus what the
/// function needs to pass its init (endpoints on a closed loopback port:
/// nothing is contacted before the first event).
fn function_env(function: &str, runtime_api: &str) -> HashMap<String, String> {
    let nowhere = "http://127.0.0.1:9";
    let mut env: HashMap<String, String> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDBENCHEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "benchbenchbenchbenchbench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("REPORT_API_URL", nowhere),
        ("REPORTS_BUCKET", "reports"),
        ("SITE_BUCKET", "site"),
        ("S3_ENDPOINT_URL", nowhere),
        ("S3_FORCE_PATH_STYLE", "true"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Ok(path) = std::env::var("PATH") {
        env.insert("PATH".into(), path);
    }
    env
}

/// Builds the four functions for the host in release; returns their paths.
fn build_host_functions() -> Result<HashMap<String, PathBuf>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec![
        "build",
        "--release",
        "--locked",
        "--quiet",
        "--message-format=json-render-diagnostics",
    ];
    for f in FUNCTIONS {
        args.extend(["--bin", f]);
    }
    eprintln!(
        "bench: startup: {cargo} {} (release + LTO: slow the first time)…",
        args.join(" ")
    );
    let out = Command::new(&cargo)
        .args(&args)
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {cargo}: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo build failed ({})", out.status));
    }
    let mut found = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let name = msg["target"]["name"].as_str().unwrap_or_default();
        if let (true, Some(exe)) = (FUNCTIONS.contains(&name), msg["executable"].as_str()) {
            found.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    for f in FUNCTIONS {
        if !found.contains_key(f) {
            return Err(format!("cargo did not report the {f} executable"));
        }
    }
    Ok(found)
}

/// One cold start: spawn → first `invocation/next`, in milliseconds.
fn cold_start(
    api: &RuntimeApi,
    exe: &Path,
    env: &HashMap<String, String>,
    log: &Path,
) -> Result<f64, String> {
    while api.events.try_recv().is_ok() {}
    let stderr = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("spawning {}: {e}", exe.display()))?;
    let deadline = started + Duration::from_secs(20);
    let result = loop {
        match api.events.recv_timeout(Duration::from_millis(20)) {
            Ok(ApiEvent::Next(at)) => break Ok(at.duration_since(started).as_secs_f64() * 1e3),
            Ok(ApiEvent::InitError(body)) => break Err(format!("init error: {body}")),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(log).unwrap_or_default();
                    break Err(format!(
                        "exited ({status}) before asking for an event: {log}"
                    ));
                }
                if Instant::now() > deadline {
                    break Err("no invocation/next within 20 s".into());
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break Err("runtime API stopped".into()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// A zip's size, or why there is none. A zip whose `bootstrap` is a few
/// bytes (the placeholder some setups leave in `dist/`) is not a build.
fn zip_size(path: &Path) -> Result<u64, String> {
    let data = std::fs::read(path).map_err(|_| "absent".to_string())?;
    if data.windows(STUB_MARKER.len()).any(|w| w == STUB_MARKER) {
        return Err("placeholder (not a real build)".into());
    }
    match zip_entry_size(&data, "bootstrap") {
        Some(n) if n >= MIN_REAL_BOOTSTRAP => Ok(data.len() as u64),
        Some(n) => Err(format!("placeholder ({n}-byte bootstrap)")),
        None => Err("not a Lambda zip (no bootstrap)".into()),
    }
}

/// A real Rust Lambda binary is megabytes; anything under this is a stand-in.
const MIN_REAL_BOOTSTRAP: u64 = 64 * 1024;

/// Uncompressed size of entry `name`, from the zip's central directory.
fn zip_entry_size(data: &[u8], name: &str) -> Option<u64> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let eocd = (0..data.len().saturating_sub(21))
        .rev()
        .find(|&i| data[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))?;
    let entries = u16_at(eocd + 10)? as usize;
    let mut at = u32_at(eocd + 16)? as usize;
    for _ in 0..entries {
        if u32_at(at)? != 0x0201_4b50 {
            return None;
        }
        let size = u32_at(at + 24)?;
        let (n, extra, comment) = (
            u16_at(at + 28)? as usize,
            u16_at(at + 30)? as usize,
            u16_at(at + 32)? as usize,
        );
        if data.get(at + 46..at + 46 + n)? == name.as_bytes() {
            return Some(u64::from(size));
        }
        at += 46 + n + extra + comment;
    }
    None
}

/// Size of `exe` zipped alone as `bootstrap` with the `zip` tool (-9), like
/// cargo-lambda's zip; None without `zip`.
fn host_zip_size(exe: &Path, scratch: &Path) -> Option<u64> {
    let dir = scratch.join(exe.file_name()?);
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::copy(exe, dir.join("bootstrap")).ok()?;
    let status = Command::new("zip")
        .args(["-q", "-9", "bootstrap.zip", "bootstrap"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    std::fs::metadata(dir.join("bootstrap.zip"))
        .ok()
        .map(|m| m.len())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

pub fn run(options: &Options) -> Result<(), String> {
    let dist = workspace_root().join("dist");
    let exes = build_host_functions()?;
    let scratch = ScratchDir::new("startup").map_err(|e| format!("temp dir: {e}"))?;
    let api = RuntimeApi::start().map_err(|e| format!("runtime API: {e}"))?;
    let host = std::env::consts::ARCH;
    let mut table = Table::new(
        "Size and cold start",
        &[
            "function",
            "dist zip (arm64)",
            "target ≤ 3 MiB",
            &format!("{host} binary"),
            &format!("{host} zip"),
            "init median ms",
            "init p90 ms",
            "init min ms",
            "target median ≤ 10 ms",
        ],
    );
    let mut missing_zip = false;
    for f in FUNCTIONS {
        let exe = &exes[f];
        let env = function_env(f, &api.addr);
        let log = scratch.path().join(format!("{f}.log"));
        eprintln!("bench: startup: {f} x{} (+1 warm-up)…", options.runs);
        // One unrecorded run first: the page cache, not the function, would
        // decide the first figure.
        cold_start(&api, exe, &env, &log).map_err(|e| format!("{f}: {e}"))?;
        let mut times = Vec::with_capacity(options.runs);
        for _ in 0..options.runs {
            times.push(cold_start(&api, exe, &env, &log).map_err(|e| format!("{f}: {e}"))?);
        }
        times.sort_by(f64::total_cmp);
        let med = median(&times);
        let (zip_cell, zip_ok) = match zip_size(&dist.join(format!("{f}.zip"))) {
            Ok(n) => (format!("{:.2} MiB", mib(n)), met(mib(n) <= TARGET_ZIP_MIB)),
            Err(why) => {
                missing_zip = true;
                (why, "n/a")
            }
        };
        let bin = std::fs::metadata(exe).map(|m| m.len()).unwrap_or(0);
        table.row(vec![
            f.to_string(),
            zip_cell,
            zip_ok.to_string(),
            format!("{:.2} MiB", mib(bin)),
            host_zip_size(exe, scratch.path())
                .map(|n| format!("{:.2} MiB", mib(n)))
                .unwrap_or_else(|| "no zip tool".into()),
            format!("{med:.2}"),
            format!("{:.2}", percentile(&times, 90.0)),
            format!("{:.2}", times[0]),
            met(med <= TARGET_INIT_MS).to_string(),
        ]);
    }
    if missing_zip {
        table.note(
            "dist/<Function>.zip is absent or a placeholder: build the real arm64 zips with \
             `make build` (cargo lambda build --release --arm64 --output-format zip), then \
             rerun `make bench BENCH_ARGS=startup`. The host columns are the same code built \
             for this machine, for an idea of the size.",
        );
    }
    table.note(format!(
        "Init = time from spawning the host ({host}) release binary to its first GET \
         /2018-06-01/runtime/invocation/next on a Runtime API served by the bench on loopback \
         (runtime, configuration, clients; no SSM: REPORT_API_TOKEN_PARAMETER unset), {} runs \
         after one warm-up, 128 MB advertised. Lambda's own sandbox start is not included.",
        options.runs
    ));
    table.print();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_zip_made_by_the_zip_tool_then_the_bootstrap_size_is_read() {
        let Some(_) = Command::new("zip").arg("-v").output().ok() else {
            return; // no zip tool here: nothing to build the fixture with
        };
        let dir = ScratchDir::new("zip-test").unwrap();
        std::fs::write(dir.path().join("bootstrap"), vec![7u8; 1000]).unwrap();
        let ok = Command::new("zip")
            .args(["-q", "-9", "f.zip", "bootstrap"])
            .current_dir(dir.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            return;
        }
        let data = std::fs::read(dir.path().join("f.zip")).unwrap();
        assert_eq!(zip_entry_size(&data, "bootstrap"), Some(1000));
        assert_eq!(zip_entry_size(&data, "other"), None);
        assert!(zip_size(&dir.path().join("f.zip"))
            .unwrap_err()
            .contains("1000-byte"));
        assert_eq!(
            zip_size(&dir.path().join("none.zip")).unwrap_err(),
            "absent"
        );
    }
}
