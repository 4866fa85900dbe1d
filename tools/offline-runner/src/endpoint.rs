//! The pipeline behind a local Step Functions endpoint (`make serve`): the
//! reporting-API simulator, the embedded S3 server and the four functions
//! in process (or behind a Lambda endpoint), with `asl serve`'s endpoint in
//! front, so the AWS SDKs and CLI create and start the pipeline's state
//! machine as they would on AWS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use statemachine::serve::{Endpoint, EndpointOptions, MockConfig};
use statemachine::{LambdaEndpointInvoker, TaskInvoker};

use crate::local_run::{
    in_process_invoker, save_report_counter, start_services, RunConfig, Services,
};

/// A running endpoint and the servers its functions use.
pub struct PipelineEndpoint {
    pub endpoint: Endpoint,
    pub services: Services,
    work_dir: PathBuf,
}

/// How [`start`] runs.
pub struct EndpointConfig {
    /// The services and functions, as for `make run` (its work folder holds
    /// the embedded S3 data and the simulator's report counter).
    pub run: RunConfig,
    /// Where state machines and executions are kept (`None`: memory only).
    pub store_dir: Option<PathBuf>,
    pub addr: SocketAddr,
    pub mocks: Option<MockConfig>,
    /// Print a line as each execution ends.
    pub log: bool,
}

/// Starts the services, the functions and the endpoint.
pub async fn start(config: EndpointConfig) -> Result<PipelineEndpoint, String> {
    std::fs::create_dir_all(&config.run.work_dir)
        .map_err(|e| format!("{}: {e}", config.run.work_dir.display()))?;
    let services = start_services(&config.run).await?;
    let functions: Arc<dyn TaskInvoker> = match &config.run.lambda_endpoint {
        Some(url) => Arc::new(LambdaEndpointInvoker::new(url)),
        None => Arc::new(in_process_invoker(services.env.clone()).await),
    };
    let endpoint = Endpoint::start(
        config.addr,
        EndpointOptions {
            store_dir: config.store_dir,
            wait_scale: config.run.wait_scale,
            functions,
            mocks: config.mocks,
            log: config.log,
        },
    )
    .await?;
    Ok(PipelineEndpoint {
        endpoint,
        services,
        work_dir: config.run.work_dir,
    })
}

impl PipelineEndpoint {
    /// Where the embedded S3 server keeps `bucket/key`, when it is in use.
    pub fn object_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        self.services
            .s3
            .as_ref()
            .map(|s3| s3.object_path(bucket, key))
    }
}

impl Drop for PipelineEndpoint {
    fn drop(&mut self) {
        if let Some(sim) = &self.services.simulator {
            save_report_counter(&self.work_dir, sim);
        }
    }
}
