//! `bench`: benchmarks that print figures (what `make bench` runs).
//!
//! `bench --help` lists the sections; see the `benchmarks` crate.

use std::process::ExitCode;

use benchmarks::{self as bench, Options, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Hidden: one handler in a fresh process, for the memory section.
    if args.first().map(String::as_str) == Some("__child") {
        return match bench::child::child_main(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let command = if args.is_empty() {
        "make bench".to_string()
    } else {
        format!("make bench BENCH_ARGS='{}'", args.join(" "))
    };
    if bench::run(&options, &command) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
