//! The paper's Figure 2: the adjusted rate `(compressed + model) / raw`
//! against model size for data sets of 10^7, 10^8 and 10^9 bytes.
//!
//! What is measured: each model's raw rate on held-out enwik8 (real
//! arithmetic codes, decoded back and compared, by `lm::measure_lm`, or
//! read from a Table 1 JSON of such a run). What is extrapolated: that rate
//! is assumed to hold unchanged on 10^7–10^9 bytes, so
//! `adjusted(D) = raw + model_bytes / D`. Model bytes are counted both ways:
//! 2 bytes per parameter (the paper's bfloat16 convention) and the real
//! int8 model file.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::meta::Meta;
use crate::plot::{self, LineChart, Series};
use crate::Error;

/// The paper's data sizes, bytes.
pub const DATA_SIZES: [f64; 3] = [1e7, 1e8, 1e9];

/// A model's measured raw rate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelRate {
    /// Row label ("LM lm-200k (int8, 230K params)").
    pub name: String,
    /// Float parameters.
    pub parameters: u64,
    /// int8 model file size, bytes.
    pub file_bytes: u64,
    /// Measured raw rate (coded / raw) on the evaluation range.
    pub raw_rate: f64,
    /// Raw bytes behind `raw_rate`.
    pub eval_bytes: u64,
    /// Where `raw_rate` comes from.
    pub source: String,
}

/// How model size is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Convention {
    /// 2 bytes per parameter (the paper).
    TwoBytesPerParam,
    /// The real int8 model file.
    Int8File,
}

impl Convention {
    /// Label in plots and tables.
    pub fn label(self) -> &'static str {
        match self {
            Convention::TwoBytesPerParam => "2 B/param",
            Convention::Int8File => "int8 file",
        }
    }

    /// The model's bytes under this convention.
    pub fn model_bytes(self, m: &ModelRate) -> u64 {
        match self {
            Convention::TwoBytesPerParam => 2 * m.parameters,
            Convention::Int8File => m.file_bytes,
        }
    }
}

/// One point of the figure.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// Model label.
    pub model: String,
    /// Float parameters.
    pub parameters: u64,
    /// How model size is counted.
    pub convention: Convention,
    /// Model bytes counted.
    pub model_bytes: u64,
    /// Data set size, bytes.
    pub data_bytes: f64,
    /// Measured raw rate.
    pub raw_rate: f64,
    /// `raw_rate + model_bytes / data_bytes`.
    pub adjusted_rate: f64,
    /// True when `data_bytes` is not the measured size (the raw rate is
    /// assumed to hold there).
    pub extrapolated: bool,
}

/// `raw + model / data`.
pub fn adjusted(raw_rate: f64, model_bytes: u64, data_bytes: f64) -> f64 {
    raw_rate + model_bytes as f64 / data_bytes
}

/// Every (model, convention, data size) point, in that order.
pub fn points(models: &[ModelRate], sizes: &[f64]) -> Vec<Point> {
    let mut out = Vec::new();
    for m in models {
        for conv in [Convention::TwoBytesPerParam, Convention::Int8File] {
            for &d in sizes {
                let mb = conv.model_bytes(m);
                out.push(Point {
                    model: m.name.clone(),
                    parameters: m.parameters,
                    convention: conv,
                    model_bytes: mb,
                    data_bytes: d,
                    raw_rate: m.raw_rate,
                    adjusted_rate: adjusted(m.raw_rate, mb, d),
                    extrapolated: d != m.eval_bytes as f64,
                });
            }
        }
    }
    out
}

/// The raw enwik LM rates of a Table 1 JSON (`table1.json` as
/// `host-bench table1` writes it), for models with the given labels.
pub fn rates_from_table1(json: &str, source: &str) -> Result<Vec<ModelRate>, Error> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| Error::Data(format!("{source}: {e}")))?;
    let models = v["meta"]["models"]
        .as_array()
        .ok_or_else(|| Error::Data(format!("{source}: no meta.models")))?;
    let records = v["records"]
        .as_array()
        .ok_or_else(|| Error::Data(format!("{source}: no records")))?;
    let mut out = Vec::new();
    for m in models {
        let name = m["name"].as_str().unwrap_or_default().to_string();
        let rec = records.iter().find(|r| {
            r["dataset"] == "enwik" && r["measure"] == "raw" && r["compressor"] == name.as_str()
        });
        let Some(r) = rec else { continue };
        out.push(ModelRate {
            name: name.clone(),
            parameters: m["parameters"].as_u64().unwrap_or(0),
            file_bytes: m["file_bytes"].as_u64().unwrap_or(0),
            raw_rate: r["rate"].as_f64().unwrap_or(f64::NAN),
            eval_bytes: r["bytes"].as_u64().unwrap_or(0),
            source: format!("{source}: enwik raw LM row, {} chunks", r["chunks"]),
        });
    }
    if out.is_empty() {
        return Err(Error::Data(format!("{source}: no enwik LM rows")));
    }
    Ok(out)
}

/// Everything one `figure2` run produced.
#[derive(Clone, Debug, Serialize)]
pub struct Figure2 {
    /// Run metadata (command, data, machine, date).
    pub meta: Meta,
    /// The command line.
    pub command: String,
    /// What is measured and what is extrapolated.
    pub legend: Vec<String>,
    /// The measured raw rates.
    pub models: Vec<ModelRate>,
    /// Every point.
    pub points: Vec<Point>,
}

/// What the figure's data files and caption say about its provenance.
pub fn legend(models: &[ModelRate]) -> Vec<String> {
    let eval = models.first().map_or(0, |m| m.eval_bytes);
    vec![
        format!(
            "measured: each model's raw rate on held-out enwik8 ({eval} bytes; real arithmetic codes, decoded back)"
        ),
        "extrapolated: that raw rate assumed constant on 10^7, 10^8, 10^9 bytes; adjusted = raw + model bytes / data bytes".into(),
        "solid: model at 2 bytes per parameter (the paper); dashed: the real int8 model file".into(),
    ]
}

/// The points as CSV.
pub fn csv(points: &[Point]) -> String {
    let mut s = String::from(
        "model,parameters,convention,model_bytes,data_bytes,raw_rate,adjusted_rate,extrapolated\n",
    );
    for p in points {
        let _ = writeln!(
            s,
            "\"{}\",{},{},{},{:.0},{:.6},{:.6},{}",
            p.model,
            p.parameters,
            p.convention.label(),
            p.model_bytes,
            p.data_bytes,
            p.raw_rate,
            p.adjusted_rate,
            p.extrapolated
        );
    }
    s
}

/// The plot: adjusted rate against parameters (log x), one colour per data
/// size, solid at 2 B/param, dashed for the int8 file.
pub fn chart(f: &Figure2) -> LineChart {
    let mut series = Vec::new();
    for (i, &d) in DATA_SIZES.iter().enumerate() {
        for conv in [Convention::TwoBytesPerParam, Convention::Int8File] {
            let pts: Vec<(f64, f64)> = f
                .points
                .iter()
                .filter(|p| p.data_bytes == d && p.convention == conv)
                .map(|p| (p.parameters as f64, p.adjusted_rate))
                .collect();
            series.push(Series {
                name: format!("10^{} bytes, {}", d.log10().round(), conv.label()),
                points: pts,
                color: i,
                dashed: conv == Convention::Int8File,
                markers: true,
            });
        }
    }
    let pmin = f
        .models
        .iter()
        .map(|m| m.parameters)
        .min()
        .unwrap_or(1)
        .max(1);
    let pmax = f.models.iter().map(|m| m.parameters).max().unwrap_or(10);
    let ymax = f
        .points
        .iter()
        .filter(|p| DATA_SIZES.contains(&p.data_bytes))
        .map(|p| p.adjusted_rate)
        .fold(0.0, f64::max);
    let mut caption = f.legend.clone();
    caption.push(format!("{}, {}.", f.meta.tool, f.meta.started_utc));
    LineChart {
        title: "Figure 2: adjusted compression rate vs model size (enwik)".into(),
        x_label: "model parameters (log scale)".into(),
        y_label: "adjusted rate (compressed + model) / raw".into(),
        log_x: true,
        x_range: (pmin as f64 / 2.0)..(pmax as f64 * 1.5),
        y_range: 0.0..(ymax * 1.1).max(0.5),
        y_percent: true,
        series,
        caption,
        size: (900, 620),
        legend: true,
        legend_left: true,
    }
}

/// A Markdown table of the points at the paper's sizes.
pub fn markdown(f: &Figure2) -> String {
    let mut s = String::from("# Figure 2: adjusted rate (%) by model and data size\n\n");
    for l in &f.legend {
        let _ = writeln!(s, "- {l}");
    }
    let _ = writeln!(
        s,
        "\n| model | raw (measured) | model bytes | 10^7 | 10^8 | 10^9 |"
    );
    let _ = writeln!(s, "|---|---:|---|---:|---:|---:|");
    for m in &f.models {
        for conv in [Convention::TwoBytesPerParam, Convention::Int8File] {
            let _ = write!(
                s,
                "| {} | {:.2} | {} ({}) |",
                m.name,
                100.0 * m.raw_rate,
                conv.model_bytes(m),
                conv.label()
            );
            for &d in &DATA_SIZES {
                let _ = write!(
                    s,
                    " {:.2} |",
                    100.0 * adjusted(m.raw_rate, conv.model_bytes(m), d)
                );
            }
            s.push('\n');
        }
    }
    s
}

/// Writes `figure2.{json,csv,png,svg}` into `dir`.
pub fn write_all(f: &Figure2, dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_string_pretty(f).map_err(|e| Error::Data(e.to_string()))?;
    for (name, body) in [("figure2.json", json), ("figure2.csv", csv(&f.points))] {
        let p = dir.join(name);
        fs::write(&p, body).map_err(|e| Error::io(&p, e))?;
    }
    plot::write_line_chart(&chart(f), dir, "figure2")
}
