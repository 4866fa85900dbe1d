//! `.waitForTaskToken` Tasks: each waits on its token until a
//! `SendTaskSuccess` or `SendTaskFailure` names it; `SendTaskHeartbeat`
//! keeps a Task with `HeartbeatSeconds` alive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::invoke::TaskFailure;

/// The tokens of the Tasks waiting for a callback.
#[derive(Default)]
pub(crate) struct Callbacks {
    waiting: Mutex<HashMap<String, Waiter>>,
}

struct Waiter {
    done: oneshot::Sender<Result<Value, TaskFailure>>,
    heartbeat: mpsc::UnboundedSender<()>,
}

/// What a callback call found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    Delivered,
    /// No Task waits on this token (never issued, already answered, or its
    /// execution ended).
    Unknown,
}

impl Callbacks {
    /// Waits for the callback of `token`; `heartbeat` seconds without a
    /// heartbeat fail it with `States.HeartbeatTimeout`.
    pub(crate) async fn wait(
        self: &Arc<Self>,
        token: &str,
        heartbeat: Option<f64>,
    ) -> Result<Value, TaskFailure> {
        let (done, mut rx) = oneshot::channel();
        let (beat, mut beats) = mpsc::unbounded_channel();
        self.waiting.lock().expect("callbacks").insert(
            token.to_string(),
            Waiter {
                done,
                heartbeat: beat,
            },
        );
        // Dropped when the Task ends any way (a stopped execution too): the
        // token is forgotten, so a late callback gets TaskDoesNotExist.
        let _forget = Forget(self.clone(), token.to_string());
        loop {
            let beat_timeout = async {
                match heartbeat {
                    Some(s) => tokio::time::sleep(Duration::from_secs_f64(s)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = &mut rx => {
                    return r.unwrap_or_else(|_| Err(TaskFailure::new("States.Runtime", "the callback was dropped")));
                }
                Some(()) = beats.recv() => continue,
                () = beat_timeout => {
                    return Err(TaskFailure::new("States.HeartbeatTimeout", "Task timed out: no heartbeat received within HeartbeatSeconds"));
                }
            }
        }
    }

    /// `SendTaskSuccess` / `SendTaskFailure`.
    pub(crate) fn complete(&self, token: &str, result: Result<Value, TaskFailure>) -> Delivery {
        match self.waiting.lock().expect("callbacks").remove(token) {
            Some(w) => {
                let _ = w.done.send(result);
                Delivery::Delivered
            }
            None => Delivery::Unknown,
        }
    }

    /// `SendTaskHeartbeat`.
    pub(crate) fn heartbeat(&self, token: &str) -> Delivery {
        match self.waiting.lock().expect("callbacks").get(token) {
            Some(w) => {
                let _ = w.heartbeat.send(());
                Delivery::Delivered
            }
            None => Delivery::Unknown,
        }
    }
}

struct Forget(Arc<Callbacks>, String);

impl Drop for Forget {
    fn drop(&mut self) {
        self.0.waiting.lock().expect("callbacks").remove(&self.1);
    }
}
