//! The local Step Functions endpoint (`make serve`, `asl serve`) driven by
//! the Rust SDK (`aws-sdk-sfn`), as a user's test suite would drive AWS:
//! the pipeline from its definition file, callbacks, redrive, mocks,
//! TestState, bad requests and a restart.

mod callbacks;
mod machines;
mod pipeline;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use aws_sdk_sfn::types::{
    ExecutionStatus, HistoryEvent, HistoryEventType, InspectionLevel, MockInput,
};
use aws_sdk_sfn::Client;
use offline_runner::endpoint::{self, EndpointConfig, PipelineEndpoint};
use offline_runner::local_run::{self, workspace_root};
use pipeline_tests::{html, run_config};
use serde_json::{json, Value};
use statemachine::serve::MockConfig;

/// Takes the `sync-` host prefix off `StartSyncExecution`'s and
/// `TestState`'s requests, as a user's code does for any endpoint on an IP
/// address (docs/endpoint.md).
#[derive(Debug)]
struct NoSyncPrefix;

impl aws_sdk_sfn::config::Intercept for NoSyncPrefix {
    fn name(&self) -> &'static str {
        "NoSyncPrefix"
    }
    fn modify_before_transmit(
        &self,
        ctx: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _rc: &aws_sdk_sfn::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let req = ctx.request_mut();
        let uri = req.uri().replacen("://sync-", "://", 1);
        req.set_uri(uri)?;
        Ok(())
    }
}

const ROLE: &str = "arn:aws:iam::111111111111:role/local";

async fn start(work_dir: &Path, store: Option<&Path>, mocks: Option<Value>) -> PipelineEndpoint {
    endpoint::start(EndpointConfig {
        run: run_config(&work_dir.join("run")),
        store_dir: store.map(Path::to_path_buf),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        mocks: mocks.map(|m| MockConfig::from_value(m).expect("mock config")),
        log: false,
    })
    .await
    .expect("the endpoint starts")
}

/// A client as a user's code makes one, with `--endpoint-url`'s equivalent.
async fn client(url: &str) -> Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    let sfn = aws_sdk_sfn::config::Builder::from(&conf)
        .interceptor(NoSyncPrefix)
        .build();
    Client::from_conf(sfn)
}

async fn create(c: &Client, name: &str, definition: &str) -> String {
    c.create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn
}

/// StartExecution on `sm` with `input`: the execution's ARN.
async fn start_exec(c: &Client, sm: &str, input: &str) -> String {
    c.start_execution()
        .state_machine_arn(sm)
        .input(input)
        .send()
        .await
        .expect("StartExecution")
        .execution_arn
}

/// DescribeExecution.
async fn describe(
    c: &Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    c.describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("DescribeExecution")
}

/// Polls DescribeExecution until the execution is no longer running.
async fn wait_done(
    c: &Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..600 {
        let d = c
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .expect("DescribeExecution");
        if d.status != ExecutionStatus::Running {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{arn} still running after 30 s");
}

/// The whole history, page by page (maxResults 7 to cross pages).
async fn history(c: &Client, arn: &str) -> Vec<HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .get_execution_history()
            .execution_arn(arn)
            .max_results(7)
            .set_next_token(token)
            .send()
            .await
            .expect("GetExecutionHistory");
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            return events;
        }
    }
}

fn entered(events: &[HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.state_entered_event_details.as_ref())
        .map(|d| d.name.clone())
        .collect()
}

const CALLBACK: &str = r#"{
  "StartAt": "Approve",
  "States": {
    "Approve": {
      "Type": "Task",
      "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
      "Parameters": {"QueueUrl": "https://sqs.example/q", "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
      "ResultPath": "$.approval",
      "End": true
    }
  }
}"#;

/// The token the Task handed on, read from its TaskScheduled parameters.
async fn token_of(c: &Client, arn: &str) -> String {
    for _ in 0..200 {
        let events = history(c, arn).await;
        if let Some(d) = events
            .iter()
            .find_map(|e| e.task_scheduled_event_details.as_ref())
        {
            let params: Value = serde_json::from_str(&d.parameters).unwrap();
            return params["MessageBody"]["token"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = c
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
    panic!(
        "no TaskScheduled event; the execution is {:?}: {:?} {:?}",
        d.status, d.error, d.cause
    );
}
