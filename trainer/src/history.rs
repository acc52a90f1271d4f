//! A model's whole training history: the runs it went through in order
//! (a first run, warm restarts, continuations), their headline validation
//! curves on one axis of cumulative training tokens, written as
//! `PREFIX.md`, `PREFIX.json` and `PREFIX.png`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics::Curves;
use crate::plot::{canvas, chart, draw_legend, draw_line, font_loaded};
use crate::run::{write_atomic, write_json, RunDir, TrainConfig};

/// One run of the history.
#[derive(Clone, Debug)]
pub struct Stage {
    /// The run directory's name, or the results prefix (`lm-3m2` for
    /// `lm-3m2-metrics.csv`).
    pub name: String,
    /// Validation chunks per source (0: all), when the config was found.
    pub val_chunks: Option<usize>,
    pub curves: Curves,
}

impl Stage {
    /// Reads a run directory (`metrics.csv`, `config.json`) or a results
    /// file `PREFIX-metrics.csv` (with `PREFIX-config.json` beside it).
    pub fn read(path: &Path) -> Result<Stage> {
        let (name, csv, config) = if path.is_dir() {
            let run = RunDir(path.to_path_buf());
            (file_name(path), run.metrics(), run.config())
        } else {
            let stem = file_name(path);
            let prefix = stem
                .strip_suffix("-metrics.csv")
                .unwrap_or(&stem)
                .to_string();
            let config = path.with_file_name(format!("{prefix}-config.json"));
            (prefix, path.to_path_buf(), config)
        };
        let val_chunks = config
            .exists()
            .then(|| TrainConfig::read(&config).map(|c| c.val_chunks))
            .transpose()?;
        Ok(Stage {
            name,
            val_chunks,
            curves: Curves::read(&csv)?,
        })
    }

    /// Training tokens of this stage (its last row).
    pub fn tokens(&self) -> u64 {
        self.curves.train.last().map_or(0, |&(t, _)| t)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// One row of the history table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StageSummary {
    pub stage: String,
    /// Training tokens before this stage, and in it.
    pub tokens_before: u64,
    pub tokens: u64,
    pub val_chunks: Option<usize>,
    /// Headline validation bits per byte: first, best and last evaluation.
    pub first_val: Option<f64>,
    pub best_val: Option<f64>,
    pub last_val: Option<f64>,
}

/// The table of `stages`, in order.
pub fn summarize(stages: &[Stage]) -> Vec<StageSummary> {
    let mut before = 0;
    stages
        .iter()
        .map(|s| {
            let v = s.curves.headline();
            let row = StageSummary {
                stage: s.name.clone(),
                tokens_before: before,
                tokens: s.tokens(),
                val_chunks: s.val_chunks,
                first_val: v.first().map(|p| p.1),
                best_val: v.iter().map(|p| p.1).reduce(f64::min),
                last_val: v.last().map(|p| p.1),
            };
            before += s.tokens();
            row
        })
        .collect()
}

/// Writes `PREFIX.md`, `PREFIX.json` and `PREFIX.png` for `stages`;
/// `caption` (what was run, on what, when) heads the table and the figure.
pub fn write_history(stages: &[Stage], prefix: &Path, caption: &str) -> Result<()> {
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", prefix.display()));
    let rows = summarize(stages);
    write_json(
        &with("json"),
        &serde_json::json!({ "caption": caption, "stages": rows }),
    )?;
    write_atomic(&with("md"), markdown(&rows, caption).as_bytes())?;
    plot(stages, &rows, &with("png"), caption)
}

fn markdown(rows: &[StageSummary], caption: &str) -> String {
    let f = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.4}"));
    let mut md = format!("{caption}\n\n");
    md.push_str("| stage | tokens before (M) | tokens (M) | val chunks | first | best | last |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {:.1} | {:.1} | {} | {} | {} | {} |",
            r.stage,
            r.tokens_before as f64 / 1e6,
            r.tokens as f64 / 1e6,
            chunks(r.val_chunks),
            f(r.first_val),
            f(r.best_val),
            f(r.last_val),
        );
    }
    md
}

/// Validation chunks per source as the table says it (`0` is all of them).
fn chunks(val_chunks: Option<usize>) -> String {
    match val_chunks {
        Some(0) => "all".into(),
        Some(n) => n.to_string(),
        None => "?".into(),
    }
}

fn plot(stages: &[Stage], rows: &[StageSummary], png: &Path, caption: &str) -> Result<()> {
    let plot_err = |e: &dyn std::fmt::Display| Error::Plot(format!("{}: {e}", png.display()));
    let lines: Vec<Vec<(f64, f64)>> = stages
        .iter()
        .zip(rows)
        .map(|(s, r)| {
            let x0 = r.tokens_before as f64;
            let v = s.curves.headline();
            v.iter().map(|&(t, y)| ((x0 + t as f64) / 1e6, y)).collect()
        })
        .collect();
    let all = lines.iter().flatten();
    let xmax = rows
        .last()
        .map_or(1.0, |r| (r.tokens_before + r.tokens) as f64 / 1e6);
    let ymin = all.clone().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let ymax = all.map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if !ymin.is_finite() {
        return Ok(());
    }
    let labels = font_loaded();
    let root = canvas(png)?;
    let pad = ((ymax - ymin) * 0.05).max(0.01);
    let mut chart = chart(
        &root,
        caption,
        0.0..xmax.max(1e-3) * 1.02,
        ymin - pad..ymax + pad,
        png,
    )?;
    let mut mesh = chart.configure_mesh();
    if labels {
        mesh.x_desc("training tokens, all stages (millions)")
            .y_desc("held-out bits/byte");
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(|e| plot_err(&e))?;
    let colours = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (k, (line, r)) in lines.into_iter().zip(rows).enumerate() {
        let c = colours[k % colours.len()];
        let label = labels.then(|| format!("{}, {} chunks", r.stage, chunks(r.val_chunks)));
        draw_line(&mut chart, line, c.stroke_width(2), label, png)?;
    }
    if labels {
        draw_legend(&mut chart, png)?;
    }
    root.present().map_err(|e| plot_err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{header, Row};
    use std::fs;

    fn csv(rows: &[(u64, f64)]) -> String {
        let mut s = header(&["enwik8"]) + "\n";
        for &(tokens, v) in rows {
            let row = Row {
                step: tokens / 4096,
                tokens,
                elapsed_s: 1.0,
                lr: 1e-3,
                train_bpb: 2.0,
                val: vec![Some(v)],
                tokens_per_s: 1.0,
            };
            s += &row.line();
        }
        s
    }

    #[test]
    fn stages_add_up_on_one_token_axis() {
        let root = std::env::temp_dir().join(format!("history-{}", std::process::id()));
        fs::create_dir_all(&root).unwrap();
        let a = root.join("first-metrics.csv");
        fs::write(&a, csv(&[(1_000_000, 2.0), (2_000_000, 1.9)])).unwrap();
        let b = root.join("second-metrics.csv");
        fs::write(
            &b,
            csv(&[(500_000, 1.95), (3_000_000, 1.8), (3_500_000, 1.81)]),
        )
        .unwrap();
        let stages = [Stage::read(&a).unwrap(), Stage::read(&b).unwrap()];
        let rows = summarize(&stages);
        assert_eq!(rows[0].stage, "first");
        assert_eq!((rows[0].tokens_before, rows[0].tokens), (0, 2_000_000));
        assert_eq!(
            (rows[1].tokens_before, rows[1].tokens),
            (2_000_000, 3_500_000)
        );
        assert_eq!(rows[1].first_val, Some(1.95));
        assert_eq!(rows[1].best_val, Some(1.8));
        assert_eq!(rows[1].last_val, Some(1.81));
        assert_eq!(rows[1].val_chunks, None);

        let prefix = root.join("hist");
        write_history(&stages, &prefix, "test").unwrap();
        let md = fs::read_to_string(root.join("hist.md")).unwrap();
        assert!(
            md.contains("| second | 2.0 | 3.5 | ? | 1.9500 | 1.8000 | 1.8100 |"),
            "{md}"
        );
        assert!(root.join("hist.png").exists());
        let _ = fs::remove_dir_all(&root);
    }
}
