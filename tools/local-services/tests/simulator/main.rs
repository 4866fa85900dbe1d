//! The reporting-API simulator, over real HTTP.

mod access;
mod faults;
mod process;
mod reports;

use local_services::csvgen::CsvSpec;
use local_services::simulator::{Dialect, Fault, Gzip, Outcome, Route, SimConfig, Simulator};
use serde_json::{json, Value};
use std::io::Read;
use std::time::{Duration, Instant};

async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config).await.unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn create(sim: &Simulator) -> String {
    let resp = http()
        .post(sim.create_url())
        .json(&json!({"kind": "sales"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["report_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn poll(sim: &Simulator, id: &str) -> Value {
    let resp = http().get(sim.status_url(id)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}
