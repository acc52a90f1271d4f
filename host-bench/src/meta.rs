//! Run metadata: the data sets, models and machine of a run, and when it
//! started. Shared by [`table1`](crate::table1), which fills it in, and
//! [`report`](crate::report), which writes it.

use std::fs;

use serde::{Deserialize, Serialize};

use crate::data::{Chunks, Kind};

/// A data set as measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatasetMeta {
    /// Which one.
    pub kind: Kind,
    /// Path and range, or seed.
    pub source: String,
    /// How chunks were chosen.
    pub sample: String,
    /// Chunks measured.
    pub chunks: usize,
    /// Bytes measured.
    pub bytes: usize,
    /// Chunks available before sub-sampling.
    pub available: usize,
    /// Files read.
    pub files: usize,
}

impl DatasetMeta {
    /// Describes `c`, chosen by `sample`.
    pub fn of(c: &Chunks, sample: &str) -> Self {
        let sample = if c.len() == c.available {
            "all chunks"
        } else {
            sample
        };
        Self {
            kind: c.kind,
            source: c.source.clone(),
            sample: sample.into(),
            chunks: c.len(),
            bytes: c.bytes(),
            available: c.available,
            files: c.files,
        }
    }
}

/// A model as used.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Row label.
    pub name: String,
    /// Model file.
    pub path: String,
    /// Float parameters.
    pub parameters: u64,
    /// Model file size, bytes.
    pub file_bytes: u64,
}

/// The machine a run used.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Logical cores available.
    pub cores: usize,
    /// Total memory, GiB.
    pub memory_gib: f64,
    /// OS and architecture.
    pub os: String,
}

impl Machine {
    /// This machine (Linux details from `/proc`, elsewhere what std knows).
    pub fn detect() -> Self {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let memory_gib = fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / (1024.0 * 1024.0));
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

/// Metadata of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// `host-bench` and its version.
    pub tool: String,
    /// Start time, UTC, RFC 3339.
    pub started_utc: String,
    /// Wall time of the measurement, seconds.
    pub seconds: f64,
    /// The machine.
    pub machine: Machine,
    /// Data sets measured.
    pub datasets: Vec<DatasetMeta>,
    /// Models used.
    pub models: Vec<ModelMeta>,
    /// Free-form notes (skipped rows, settings).
    pub notes: Vec<String>,
}

impl Meta {
    /// Metadata stamped now on this machine.
    pub fn now() -> Self {
        Self {
            tool: format!("host-bench {}", env!("CARGO_PKG_VERSION")),
            started_utc: utc_now(),
            seconds: 0.0,
            machine: Machine::detect(),
            datasets: Vec::new(),
            models: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_from_unix(secs)
}

/// Formats Unix seconds as RFC 3339 UTC (civil-from-days, H. Hinnant).
pub fn utc_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
