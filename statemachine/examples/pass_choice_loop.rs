//! The executor's hot loop on its own, for profilers: the same Pass/Choice
//! counter as `make bench`'s executor section, without the rest of the
//! benchmark binary.
//!
//! ```text
//! cargo run --release -p statemachine --example pass_choice_loop -- 1000000
//! ```

use std::time::Instant;

use serde_json::json;
use statemachine::{ExecutionStatus, MockInvoker, RunOptions, StateMachine};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let iterations: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("iterations: a whole number"))
        .unwrap_or(100_000);
    // The definition `make bench` runs too (tools/bench/src/executor.rs).
    let machine = StateMachine::from_value(
        serde_json::from_str(include_str!("pass_choice_loop.asl.json"))
            .expect("the loop definition is JSON"),
    )
    .expect("the loop definition parses");
    let options = RunOptions {
        wait_scale: 0.0,
        ..Default::default()
    };
    let started = Instant::now();
    let execution = statemachine::execute(
        &machine,
        json!({ "iterations": iterations }),
        &MockInvoker::new(),
        options,
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    let transitions = 2 * iterations + 2;
    println!(
        "{transitions} transitions in {seconds:.3} s: {:.0} transitions/s",
        transitions as f64 / seconds
    );
}
