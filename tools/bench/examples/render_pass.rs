//! The render section's two passes alone, for a profiler: the floor
//! (`read_byte_record` into one `ByteRecord`) and UpdateSite's render pass,
//! N times each, over the same generated CSV.
//!
//! `cargo build --profile profiling -p benchmarks --example render_pass`, then
//! `perf record target/profiling/examples/render_pass 300000000 2`
//! (bytes of CSV, render passes; 300 MB and 2 by default).

use local_services::csvgen::CsvSpec;
use update_site::site::scan;
use update_site::Limits;

fn main() -> Result<(), String> {
    let arg = |i: usize, default: u64| {
        std::env::args().nth(i).map_or(Ok(default), |s| {
            s.parse::<u64>().map_err(|e| format!("{s}: {e}"))
        })
    };
    let bytes = arg(1, 300_000_000)?;
    let passes = arg(2, 2)?;
    let spec = CsvSpec::for_size(bytes, 1);
    let scanned = scan::scan(spec.reader(), &Limits::default(), 20_000_000)
        .map_err(|e| format!("scan: {e}"))?;

    // Floor and render passes interleaved, each printed against the best
    // floor so far: one cold floor pass alone can be off by a third.
    let mb_s = |seconds: f64| bytes as f64 / seconds / 1e6;
    let mut floor = f64::INFINITY;
    for _ in 0..passes {
        floor = floor.min(benchmarks::render::floor(&spec)?.seconds);
        let pass = benchmarks::render::render_pass(&spec, &scanned)?;
        println!(
            "render {:.1} MB/s, floor {:.1} MB/s: {:.3}",
            mb_s(pass.seconds),
            mb_s(floor),
            floor / pass.seconds
        );
    }
    Ok(())
}
