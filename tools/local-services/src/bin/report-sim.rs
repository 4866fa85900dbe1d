//! `report-sim`: the reporting-API simulator alone. Prints its base URL on
//! the first line of stdout, then serves until Ctrl-C.

use local_services::cli;
use local_services::simulator::{SimConfig, Simulator};

fn usage() -> String {
    format!(
        "usage: report-sim [--port N (default 0 = any free port)] [options]\n\noptions:\n{}",
        cli::SIM_FLAGS
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sim = cli::SimArgs::new(SimConfig::default());
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-h" | "--help" => {
                println!("{}", usage());
                return;
            }
            "--port" => {
                i += 1;
                sim.config.port =
                    cli::port("--port", args.get(i)).unwrap_or_else(|e| cli::fail(&e, &usage()));
            }
            _ => match sim.flag(&args, &mut i) {
                Ok(true) => {}
                Ok(false) => cli::fail(&format!("unknown argument {:?}", args[i]), &usage()),
                Err(e) => cli::fail(&e, &usage()),
            },
        }
        i += 1;
    }
    let config = sim.finish();
    let sim = Simulator::start(config)
        .await
        .unwrap_or_else(|e| cli::fail(&format!("cannot start: {e}"), &usage()));
    println!("{}", sim.base_url());
    eprintln!(
        "report-sim: POST {}/reports; Ctrl-C to stop",
        sim.base_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
}
