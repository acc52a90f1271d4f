//! `host-bench throughput`: int8 inference speed of the paper's three sizes,
//! per core and on all cores, with multiply-accumulates per byte.

use std::fmt::Write as _;
use std::path::Path;

use model_int8::bench::{
    kernel_name, macs_per_byte, measure_parallel, measure_throughput, paper_configs,
    random_int8_model,
};
use serde::Serialize;

use crate::Error;

/// One row: a model size at one attention window.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// "200K", "800K" or "3.2M".
    pub size: &'static str,
    /// Attention window (positions seen).
    pub window: u32,
    /// Float parameters of the configuration.
    pub parameters: u64,
    /// Bytes per second of this thread's CPU time (per core), if known.
    pub cpu_bytes_per_sec: Option<f64>,
    /// Bytes per second of wall time on one thread.
    pub wall_bytes_per_sec: f64,
    /// Bytes per second of wall time with chunks coded on `threads` threads.
    pub parallel_bytes_per_sec: f64,
    /// Threads used for the parallel figure.
    pub threads: usize,
    /// Multiply-accumulates per byte (2048-byte chunks).
    pub macs_per_byte: f64,
}

/// Measures every paper size at each window on `data` (2048-byte chunks),
/// random weights (speed does not depend on them).
pub fn run(data: &[u8], windows: &[u32], threads: usize) -> Result<Vec<Row>, Error> {
    let model_err = |e: model_int8::Error| Error::Model(e.to_string());
    let mut rows = Vec::new();
    for &w in windows {
        for (size, cfg) in paper_configs(w) {
            let file = random_int8_model(cfg, 1).map_err(model_err)?;
            let one = measure_throughput(&file, data, 2048).map_err(model_err)?;
            let all = measure_parallel(&file, data, 2048, threads).map_err(model_err)?;
            eprintln!(
                "{size} window {w}: {:.1} KB/s per core",
                one.cpu_bytes_per_sec.unwrap_or(one.bytes_per_sec) / 1e3
            );
            rows.push(Row {
                size,
                window: w,
                parameters: cfg.parameters(),
                cpu_bytes_per_sec: one.cpu_bytes_per_sec,
                wall_bytes_per_sec: one.bytes_per_sec,
                parallel_bytes_per_sec: all,
                threads,
                macs_per_byte: macs_per_byte(&cfg, 2048),
            });
        }
    }
    Ok(rows)
}

/// The rows as a Markdown table.
pub fn markdown(rows: &[Row], data_bytes: usize) -> String {
    let mut s = format!(
        "int8 inference, {} kernels, {} bytes of held-out enwik8 in 2048-byte chunks\n\n\
         | model | window | KB/s per core (CPU time) | KB/s one thread (wall) | KB/s all threads (wall) | threads | MAC/byte | GMAC/s per core |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
        kernel_name(),
        data_bytes
    );
    for r in rows {
        let per_core = r.cpu_bytes_per_sec.unwrap_or(r.wall_bytes_per_sec);
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {:.1} | {:.1} | {} | {:.0} | {:.2} |",
            r.size,
            r.window,
            per_core / 1e3,
            r.wall_bytes_per_sec / 1e3,
            r.parallel_bytes_per_sec / 1e3,
            r.threads,
            r.macs_per_byte,
            per_core * r.macs_per_byte / 1e9
        );
    }
    s
}

/// Writes `throughput.md` and `throughput.json` to `out`.
pub fn write(rows: &[Row], md: &str, out: &Path) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Data(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
    std::fs::write(out.join("throughput.md"), md).map_err(io)?;
    let json = serde_json::json!({ "kernels": kernel_name(), "rows": rows });
    std::fs::write(
        out.join("throughput.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    )
    .map_err(io)
}
