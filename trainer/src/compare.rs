//! Finished runs side by side: each run's setup and its last validation
//! as a Markdown and a JSON table, and a figure of held-out bits per byte
//! against the attention window, one line per model size (the window
//! study of `trainer/README.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics::Curves;
use crate::plot::{canvas, chart, draw_legend, draw_line, font_loaded};
use crate::run::{read_json, write_atomic, write_json, RunDir, RunState, TrainConfig};

/// One run, as the comparison reports it.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// The run directory's name.
    pub run: String,
    /// Model parameters.
    pub parameters: u64,
    /// Attention window (positions).
    pub window: u32,
    /// Training sequence length.
    pub seq_len: usize,
    /// Sequences per step.
    pub batch: usize,
    /// The float model the run started from, if a warm restart.
    pub init_from: Option<PathBuf>,
    /// Optimizer steps done.
    pub steps: u64,
    /// Training tokens seen.
    pub tokens: u64,
    /// Seconds the budget counted (CPU seconds with `--cpu-clock`).
    pub seconds: f64,
    /// Wall-clock seconds of training.
    pub wall_s: f64,
    /// Whether `seconds` is CPU time rather than wall time.
    pub cpu_clock: bool,
    /// Whether the run reached its limit.
    pub finished: bool,
    /// Validation chunks per source (0: all of them).
    pub val_chunks: usize,
    /// Last validation bits per byte, by validation source.
    pub val_bpb: BTreeMap<String, f64>,
}

impl RunSummary {
    /// Training tokens per second of the budget's clock.
    pub fn tokens_per_s(&self) -> f64 {
        self.tokens as f64 / self.seconds.max(1e-9)
    }

    /// Bits per byte on the first validation source, the headline.
    pub fn headline(&self, first_source: &str) -> Option<f64> {
        self.val_bpb.get(first_source).copied()
    }
}

/// Reads a run directory's config, state and the last validated row of its
/// metrics.
pub fn summarize(dir: &Path) -> Result<RunSummary> {
    let run = RunDir(dir.to_path_buf());
    let cfg = TrainConfig::read(&run.config())?;
    let state: RunState = read_json(&run.state())?;
    Ok(RunSummary {
        run: dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        parameters: cfg.model.parameters(),
        window: cfg.model.window,
        seq_len: cfg.seq_len,
        batch: cfg.batch,
        init_from: cfg.init_from.clone(),
        steps: state.step,
        tokens: state.tokens,
        seconds: if cfg.cpu_clock {
            state.cpu_s
        } else {
            state.elapsed_s
        },
        wall_s: state.elapsed_s,
        cpu_clock: cfg.cpu_clock,
        finished: state.finished,
        val_chunks: cfg.val_chunks,
        val_bpb: last_validation(&run.metrics(), &cfg)?,
    })
}

/// The last validated value of each validation source in `metrics.csv`.
fn last_validation(csv: &Path, cfg: &TrainConfig) -> Result<BTreeMap<String, f64>> {
    let curves = Curves::read(csv)?;
    let first = cfg.val.first().map_or("val", |s| s.name.as_str());
    Ok(curves
        .val_names
        .iter()
        .zip(&curves.val)
        .filter_map(|(name, v)| {
            let &(_, bpb) = v.last()?;
            Some((name.as_deref().unwrap_or(first).to_string(), bpb))
        })
        .collect())
}

/// Writes `PREFIX.md`, `PREFIX.json` and `PREFIX.png` for `runs`;
/// `caption` (what was run, on what, when) heads the table and the figure.
pub fn write_comparison(runs: &[RunSummary], prefix: &Path, caption: &str) -> Result<()> {
    let with = |ext: &str| PathBuf::from(format!("{}.{ext}", prefix.display()));
    let sources: Vec<String> = {
        let mut s: Vec<String> = runs
            .iter()
            .flat_map(|r| r.val_bpb.keys().cloned())
            .collect();
        s.sort();
        s.dedup();
        s
    };
    let json = serde_json::json!({
        "caption": caption,
        "hardware": crate::ship::hardware(),
        "runs": runs,
    });
    write_json(&with("json"), &json)?;
    let md = markdown(runs, &sources, caption);
    write_atomic(&with("md"), md.as_bytes())?;
    let headline = sources
        .iter()
        .find(|s| s.as_str() == "enwik8")
        .or(sources.first());
    match headline {
        Some(h) => plot_by_window(runs, h, caption, &with("png")),
        None => Ok(()),
    }
}

fn markdown(runs: &[RunSummary], sources: &[String], caption: &str) -> String {
    let mut s = format!("{caption}\n\nHardware: {}.\n\n", crate::ship::hardware());
    s.push_str("| run | params | window | seq len x batch | steps | tokens | seconds | tokens/s |");
    for src in sources {
        let _ = write!(s, " {src} bpb |");
    }
    s.push_str("\n|---|---:|---:|---:|---:|---:|---:|---:|");
    s.push_str(&"---:|".repeat(sources.len()));
    s.push('\n');
    for r in runs {
        let clock = if r.cpu_clock { " CPU" } else { "" };
        let _ = write!(
            s,
            "| {} | {} | {} | {} x {} | {} | {:.2} M | {:.0}{clock} | {:.0} |",
            r.run,
            r.parameters,
            r.window,
            r.seq_len,
            r.batch,
            r.steps,
            r.tokens as f64 / 1e6,
            r.seconds,
            r.tokens_per_s()
        );
        for src in sources {
            match r.val_bpb.get(src) {
                Some(v) => {
                    let _ = write!(s, " {v:.4} |");
                }
                None => s.push_str(" - |"),
            }
        }
        s.push('\n');
    }
    s
}

/// Held-out bits per byte (source `source`) against the window on a log
/// axis, one line per parameter count.
fn plot_by_window(runs: &[RunSummary], source: &str, caption: &str, png: &Path) -> Result<()> {
    let plot_err = |e: &dyn std::fmt::Display| Error::Plot(format!("{}: {e}", png.display()));
    let mut by_size: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    for r in runs {
        if let Some(v) = r.headline(source) {
            by_size
                .entry(r.parameters)
                .or_default()
                .push((f64::from(r.window).log2(), v));
        }
    }
    if by_size.is_empty() {
        return Ok(());
    }
    let points = || by_size.values().flatten();
    let (xmin, xmax) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    let (ymin, ymax) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.1), b.max(p.1))
    });
    let pad = ((ymax - ymin) * 0.15).max(0.005);
    let labels = font_loaded();
    let root = canvas(png)?;
    let (x, y) = ((xmin - 0.3)..(xmax + 0.3), (ymin - pad)..(ymax + pad));
    let mut chart = chart(&root, caption, x, y, png)?;
    let mut mesh = chart.configure_mesh();
    if labels {
        mesh.x_desc("attention window (bytes, log scale)")
            .y_desc(format!("held-out {source} bits/byte"))
            .x_labels(((xmax - xmin) as usize + 1).max(2))
            .x_label_formatter(&|x| format!("{:.0}", x.exp2()))
            .y_label_formatter(&|y| format!("{y:.3}"));
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(|e| plot_err(&e))?;
    let colours = [RED, BLUE, GREEN, MAGENTA, BLACK];
    for (k, (params, mut pts)) in by_size.into_iter().enumerate() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let c = colours[k % colours.len()];
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))
            .map_err(|e| plot_err(&e))?;
        let label = labels.then(|| format!("{params} parameters"));
        draw_line(&mut chart, pts, c.stroke_width(2), label, png)?;
    }
    if labels {
        draw_legend(&mut chart, png)?;
    }
    root.present().map_err(|e| plot_err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A run directory with the shipped 800K's config (validation on
    /// enwik8, then wiki-AC) on 256 x 16 sequences, a state and `csv` as
    /// its metrics.
    fn fake_run(dir: &Path, window: u32, csv: &str) {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/lm-800k-config.json");
        let mut cfg = TrainConfig::read(&shipped).unwrap();
        cfg.model.window = window;
        (cfg.seq_len, cfg.batch) = (256, 16);
        cfg.cpu_clock = true;
        fs::create_dir_all(dir).unwrap();
        let run = RunDir(dir.to_path_buf());
        write_json(&run.config(), &cfg).unwrap();
        let state = RunState {
            step: 4,
            tokens: 40_000,
            elapsed_s: 30.0,
            cpu_s: 20.0,
            finished: true,
            ..Default::default()
        };
        write_json(&run.state(), &state).unwrap();
        fs::write(run.metrics(), csv).unwrap();
    }

    #[test]
    fn runs_are_tabulated_with_each_sources_last_validation() {
        let root = std::env::temp_dir().join(format!("compare-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let csv = |a: &str, b: &str| {
            format!(
                "step,tokens,elapsed_s,lr,train_bpb,val_bpb,tokens_per_s,val_wiki-AC\n\
                 1,10,1.0,1e-3,2.0,1.90,10,1.80\n\
                 3,30,3.0,1e-3,2.0,{a},10,{b}\n\
                 4,40,4.0,1e-3,2.0,,10,\n"
            )
        };
        fake_run(&root.join("w256"), 256, &csv("1.85", "1.75"));
        fake_run(&root.join("w1024"), 1024, &csv("1.83", ""));
        let runs: Vec<RunSummary> = ["w256", "w1024"]
            .iter()
            .map(|r| summarize(&root.join(r)).unwrap())
            .collect();
        assert_eq!(runs[0].val_bpb.get("enwik8"), Some(&1.85));
        assert_eq!(runs[0].val_bpb.get("wiki-AC"), Some(&1.75));
        // An empty cell keeps the earlier value of that source.
        assert_eq!(runs[1].val_bpb.get("wiki-AC"), Some(&1.80));
        assert_eq!(runs[1].window, 1024);
        assert!((runs[1].tokens_per_s() - 2000.0).abs() < 1e-9);

        let prefix = root.join("study");
        write_comparison(&runs, &prefix, "test caption").unwrap();
        let md = fs::read_to_string(root.join("study.md")).unwrap();
        assert!(md.starts_with("test caption"), "{md}");
        assert!(md.contains("| w1024 | 853248 | 1024 | 256 x 16 | 4 | 0.04 M | 20 CPU | 2000 | 1.8300 | 1.8000 |"), "{md}");
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(root.join("study.json")).unwrap()).unwrap();
        assert_eq!(json["runs"][0]["val_bpb"]["enwik8"], 1.85);
        assert!(fs::metadata(root.join("study.png")).unwrap().len() > 1000);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_run_is_an_error_naming_it() {
        let err = summarize(Path::new("/no/such/run-dir")).unwrap_err();
        assert!(err.to_string().contains("run-dir"), "{err}");
    }
}
