//! # pipeline-tests support
//!
//! A [`Harness`] starts the real outside systems on loopback, a
//! reporting-API simulator (HTTP) and the embedded S3 server (s3s-fs in a
//! temporary directory), and calls the four handlers in-process with the real
//! HTTP and S3 clients, configured exactly as a Lambda's environment would.
//! [`html`] reads the published table back for assertions.

use std::collections::HashMap;
use std::sync::Arc;

use create_report::CreateReport;
use download_report::DownloadReport;
use lambda_runtime::Diagnostic;
use local_services::s3::LocalS3;
use local_services::simulator::{SimConfig, Simulator};
use poll_report::PollReport;
use serde_json::{json, Value};
use shared::config::Secret;
use shared::function::Function;
use shared::store::S3Store;
use update_site::UpdateSite;

pub const REPORTS_BUCKET: &str = "reports";
pub const SITE_BUCKET: &str = "site";

pub struct Harness {
    pub sim: Simulator,
    pub s3: LocalS3,
    pub client: aws_sdk_s3::Client,
    pub env: HashMap<String, String>,
    pub token: Option<Secret>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// GIVEN a simulator configured as `sim` and an empty S3 with the two buckets.
    pub async fn start(sim: SimConfig) -> Harness {
        let token = sim.token.clone().map(Secret::new);
        let sim = Simulator::start(sim).await.expect("start the simulator");
        let dir = tempfile::tempdir().expect("tempdir");
        let s3 = LocalS3::start(dir.path())
            .await
            .expect("start the S3 server");
        s3.create_bucket(REPORTS_BUCKET).unwrap();
        s3.create_bucket(SITE_BUCKET).unwrap();
        let client = local_services::s3::client(&s3);
        let env: HashMap<String, String> = [
            ("REPORT_API_URL", sim.base_url().to_string()),
            ("REPORTS_BUCKET", REPORTS_BUCKET.into()),
            ("SITE_BUCKET", SITE_BUCKET.into()),
            ("SITE_TITLE", "Daily sales".into()),
            ("LOCAL_MODE", "true".into()),
            ("MAX_POLLS", "10".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Harness {
            sim,
            s3,
            client,
            env,
            token,
            _dir: dir,
        }
    }

    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.insert(name.into(), value.into());
    }

    pub fn store(&self) -> Arc<S3Store> {
        Arc::new(S3Store::new(self.client.clone()))
    }

    /// The environment a Lambda of this harness gets: [`Harness::env`], the
    /// S3 server's endpoint and credentials, and [`Harness::token`].
    pub fn lambda_env(&self) -> HashMap<String, String> {
        let mut env = self.env.clone();
        for (k, v) in self.s3.env_vars() {
            env.entry(k.to_string()).or_insert(v);
        }
        match &self.token {
            Some(t) => env.insert("REPORT_API_TOKEN".into(), t.expose().to_string()),
            None => env.remove("REPORT_API_TOKEN"),
        };
        env
    }

    /// `F` as its Lambda builds itself at cold start, from [`Harness::lambda_env`].
    pub async fn function<F: Function>(&self) -> F {
        F::build(&self.lambda_env())
            .await
            .unwrap_or_else(|e| panic!("{} init: {e}", F::NAME))
    }

    /// One invocation of a freshly built `F`.
    pub async fn invoke<F: Function>(&self, input: Value) -> Result<Value, Diagnostic> {
        let out = self
            .function::<F>()
            .await
            .handle(input)
            .await
            .map_err(Into::into)?;
        Ok(serde_json::to_value(out).unwrap())
    }

    pub async fn create(&self, input: Value) -> Result<Value, Diagnostic> {
        self.invoke::<CreateReport>(input).await
    }

    pub async fn poll(&self, input: Value) -> Result<Value, Diagnostic> {
        self.invoke::<PollReport>(input).await
    }

    pub async fn download(&self, input: Value) -> Result<Value, Diagnostic> {
        self.invoke::<DownloadReport>(input).await
    }

    pub async fn update(&self, input: Value) -> Result<Value, Diagnostic> {
        self.invoke::<UpdateSite>(input).await
    }

    /// Every row of a published report, page after page, read through S3
    /// as a reader's browser would follow the pages.
    pub async fn site_rows(&self, report_id: &str) -> Vec<Vec<String>> {
        let manifest = self
            .get(SITE_BUCKET, &format!("reports/{report_id}/manifest.json"))
            .await
            .expect("the report's manifest");
        let manifest: Value = serde_json::from_slice(&manifest).unwrap();
        let pages = manifest["pages"].as_u64().expect("pages");
        let mut rows = Vec::new();
        for p in 1..=pages {
            let page = self
                .get(SITE_BUCKET, &format!("reports/{report_id}/page-{p}.html"))
                .await
                .unwrap_or_else(|| panic!("page {p} of {pages}"));
            rows.extend(html::rows(&String::from_utf8(page).unwrap()));
        }
        rows
    }

    /// Polls until the report is no longer in progress (at most `MAX_POLLS`).
    pub async fn poll_until_done(&self, mut state: Value) -> Result<Value, Diagnostic> {
        loop {
            state = self.poll(state).await?;
            if state["status"] != "IN_PROGRESS"
                || state["poll_count"].as_u64() >= state["max_polls"].as_u64()
            {
                return Ok(state);
            }
        }
    }

    /// The whole chain, as the state machine runs it.
    pub async fn run_chain(&self) -> Result<Value, Diagnostic> {
        let handle = self.create(json!({})).await?;
        let polled = self.poll_until_done(handle).await?;
        assert_eq!(polled["status"], "COMPLETED", "{polled}");
        let stored = self.download(polled).await?;
        self.update(stored).await
    }

    /// An object's bytes, read through the S3 protocol; `None` if absent.
    pub async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Some(out.body.collect().await.unwrap().into_bytes().to_vec()),
            Err(_) => None,
        }
    }

    /// Puts an object directly (a page published by an earlier run).
    pub async fn put(&self, bucket: &str, key: &str, data: &[u8]) {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(data.to_vec().into())
            .send()
            .await
            .unwrap();
    }

    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(String::from))
            .collect();
        keys.sort();
        keys
    }

    /// Incomplete multipart uploads left in `bucket`.
    pub async fn open_uploads(&self, bucket: &str) -> usize {
        let out = self
            .client
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        out.uploads().len()
    }
}

/// Reading the published page back.
pub mod html {
    /// The `<td>` cells of every body row, unescaped, in order; a number
    /// cell's raw value (its `data-v`, or its text without the thousands
    /// separators where it has none), not its formatted text.
    pub fn rows(page: &str) -> Vec<Vec<String>> {
        let body = page.split_once("<tbody>").map_or("", |(_, b)| b);
        let body = body.split_once("</tbody>").map_or(body, |(b, _)| b);
        body.split("<tr>")
            .skip(1)
            .map(|row| {
                row.split("<td")
                    .skip(1)
                    .map(|cell| {
                        let (attrs, rest) = cell.split_once('>').unwrap_or((cell, ""));
                        let text = rest.split_once("</td>").map_or(rest, |(c, _)| c);
                        match attrs.split_once("data-v=\"") {
                            Some((_, v)) => unescape(v.split_once('"').map_or(v, |(v, _)| v)),
                            None if attrs.contains("class=\"num\"") => text.replace(',', ""),
                            None => unescape(text),
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// The `<th>` header cells, unescaped.
    pub fn header(page: &str) -> Vec<String> {
        let head = page.split_once("<thead>").map_or("", |(_, h)| h);
        let head = head.split_once("</thead>").map_or(head, |(h, _)| h);
        head.split("<th scope=\"col\"")
            .skip(1)
            .map(|c| {
                let rest = c.split_once('>').map_or(c, |(_, r)| r);
                unescape(rest.split_once("</th>").map_or(rest, |(c, _)| c))
            })
            .collect()
    }

    /// The row count the page states.
    pub fn stated_rows(page: &str) -> Option<u64> {
        let rest = page.split_once("data-rows=\"")?.1;
        rest.split_once('"')?.0.parse().ok()
    }

    /// Undoes HTML escaping (named and numeric entities).
    pub fn unescape(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            let Some(end) = tail.find(';') else {
                out.push_str(tail);
                return out;
            };
            let entity = &tail[1..end];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            match ch {
                Some(c) => out.push(c),
                None => out.push_str(&tail[..=end]),
            }
            rest = &tail[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// True when no raw markup from the data made it into the page: every `<`
    /// in the table is one of ours.
    pub fn only_our_tags(page: &str) -> bool {
        let body = page.split_once("<tbody>").map_or("", |(_, b)| b);
        let body = body.split_once("</tbody>").map_or(body, |(b, _)| b);
        body.match_indices('<').all(|(i, _)| {
            let t = &body[i..];
            [
                "<tr>",
                "</tr>",
                "<td>",
                "<td class=\"num\" data-v=\"",
                "<td class=\"num\">",
                "</td>",
            ]
            .iter()
            .any(|tag| t.starts_with(tag))
        })
    }
}

/// `make run`'s configuration for a small report (250 rows, ready after 3
/// polls) in `work_dir`, without progress lines: the offline-run and
/// endpoint tests compare against it.
pub fn run_config(work_dir: &std::path::Path) -> offline_runner::local_run::RunConfig {
    let mut config = offline_runner::local_run::RunConfig {
        work_dir: work_dir.to_path_buf(),
        progress: false,
        ..Default::default()
    };
    config.sim.csv.rows = 250;
    config.sim.polls_to_complete = 3;
    config
}
