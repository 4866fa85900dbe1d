//! Command-line parsing shared by the binaries (no clap: three small tools
//! do not justify the dependency).

use crate::csvgen::CsvSpec;
use crate::simulator::{Fault, Gzip, Outcome, Route, SimConfig};

/// Usage of the simulator's flags, shared by `report-sim` and `dev-servers`.
pub const SIM_FLAGS: &str = "\
  --polls N            status polls answered IN_PROGRESS before the outcome (default 1)
  --fail               reports end FAILED instead of COMPLETED
  --never              reports never complete
  --rows N             data rows of the generated CSV (default 100)
  --size BYTES         generate at least BYTES of CSV instead of --rows
  --seed N             seed of the generated CSV (default 42)
  --gzip MODE          'encoding' (Content-Encoding: gzip) or 'file' (.csv.gz)
  --body-file PATH     serve this file instead of the generated CSV
  --token T            require 'Authorization: Bearer T'
  --token-header NAME  carry the raw token in header NAME instead (e.g. x-api-key)
  --id-field F / --status-url-field F / --status-field F / --in-progress W / --completed W / --failed W / --download-url-field F
                       the API dialect (defaults: report_id, status_url, status, IN_PROGRESS, COMPLETED, FAILED, download_url)
  --fault ROUTE:SPEC   queue a fault; ROUTE is create|status|download, SPEC is
                       503 | 429:retry-after=2 | delay=MS | stall=BYTES | truncate=BYTES | malformed | unknown=WORD | disconnect
";

/// The simulator's flags as parsed so far.
#[derive(Debug, Default)]
pub struct SimArgs {
    pub config: SimConfig,
    /// `--size`, applied at the end so that `--seed` may come after it.
    size: Option<u64>,
}

impl SimArgs {
    pub fn new(config: SimConfig) -> Self {
        SimArgs { config, size: None }
    }

    /// Applies the simulator flag at `args[*i]` (advancing `*i` past its
    /// value). `Ok(false)` when it is not a simulator flag.
    pub fn flag(&mut self, args: &[String], i: &mut usize) -> Result<bool, String> {
        if args[*i] == "--size" {
            *i += 1;
            let v = args.get(*i).ok_or("--size needs a value")?;
            self.size = Some(v.parse().map_err(|e| format!("--size {v:?}: {e}"))?);
            return Ok(true);
        }
        sim_flag(&mut self.config, args, i)
    }

    pub fn finish(mut self) -> SimConfig {
        if let Some(size) = self.size {
            self.config.csv = CsvSpec::for_size(size, self.config.csv.seed);
        }
        self.config
    }
}

fn sim_flag(config: &mut SimConfig, args: &[String], i: &mut usize) -> Result<bool, String> {
    let flag = args[*i].as_str();
    let mut value = || -> Result<String, String> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| format!("{flag} needs a value"))
    };
    let num = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v:?}: {e}"));
    match flag {
        "--polls" => config.polls_to_complete = num(value()?)? as u32,
        "--fail" => config.outcome = Outcome::Fail,
        "--never" => config.outcome = Outcome::Never,
        "--rows" => config.csv.rows = num(value()?)?,
        "--seed" => config.csv.seed = num(value()?)?,
        "--gzip" => {
            config.gzip = match value()?.as_str() {
                "encoding" => Gzip::ContentEncoding,
                "file" => Gzip::File,
                "none" => Gzip::None,
                other => return Err(format!("--gzip {other:?}: expected encoding, file or none")),
            }
        }
        "--body-file" => {
            let path = value()?;
            config.download_body = Some(
                std::fs::read(&path)
                    .map_err(|e| format!("{path}: {e}"))?
                    .into(),
            );
        }
        "--token" => config.token = Some(value()?),
        "--token-header" => config.token_header = Some(value()?),
        "--id-field" => config.dialect.report_id_field = value()?,
        "--status-url-field" => config.dialect.status_url_field = value()?,
        "--status-field" => config.dialect.status_field = value()?,
        "--in-progress" => config.dialect.in_progress = value()?,
        "--completed" => config.dialect.completed = value()?,
        "--failed" => config.dialect.failed = value()?,
        "--download-url-field" => config.dialect.download_url_field = value()?,
        "--fault" => {
            let v = value()?;
            let (route, spec) = v
                .split_once(':')
                .ok_or_else(|| format!("--fault {v:?}: expected ROUTE:SPEC"))?;
            config
                .faults
                .push((route.parse::<Route>()?, spec.parse::<Fault>()?));
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Parses a port number.
pub fn port(flag: &str, v: Option<&String>) -> Result<u16, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.parse().map_err(|e| format!("{flag} {v:?}: {e}"))
}

/// Prints `msg` and the usage, then exits with status 2.
pub fn fail(msg: &str, usage: &str) -> ! {
    eprintln!("error: {msg}\n\n{usage}");
    std::process::exit(2)
}
