//! The paper's Figure 6: in-context compression rate over sequence length.
//!
//! For every chunk, the rate of its first `n` bytes for `n = 1..=2048`,
//! averaged over the chunks (`Σ_c size_c(n) / (chunks · n)`):
//!
//! - **models**: one metered pass per chunk through the same coder and
//!   model Table 1 uses; `size_c(n)` is the cumulative ideal code length of
//!   the first `n` bytes under the int8 model's integer tables (`Σ -log2(freq
//!   / total)` / 8), so every `n` comes from one pass. The real arithmetic
//!   code of the whole chunk is kept too: at `n = 2048` it is Table 1's LM
//!   row (the command checks that against `lm::measure_lm`).
//! - **gzip / LZMA2**: each prefix compressed on its own (decoded back and
//!   compared) on a grid of lengths ([`classical_grid`]: every `n` up to 64,
//!   then every 16), `size_c(n) = len(C(chunk[..n]))`, the whole file with
//!   its header; the header-once variant of Table 1
//!   (`(Σ_c size_c(n) - (chunks - 1) · len(C(b"\0"))) / (chunks · n)`) is
//!   kept in the data beside it.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use coder_core::{encode_to_vec, symbol_bits, FreqTable, Model};
use lmc::{with_thread_models, ChunkModel};
use rayon::prelude::*;
use serde::Serialize;

use crate::baselines::Compressor;
use crate::data::{Chunks, Kind, CHUNK};
use crate::meta::Meta;
use crate::plot::{self, LineChart, Series};
use crate::Error;

/// The lengths at which classical compressors are run: every `n` in
/// `1..=dense`, then every `step` up to `max`, and `max` itself.
pub fn classical_grid(max: usize, dense: usize, step: usize) -> Vec<usize> {
    let mut g: Vec<usize> = (1..=dense.min(max)).collect();
    let step = step.max(1);
    let mut n = dense + step;
    while n < max {
        g.push(n);
        n += step;
    }
    if g.last() != Some(&max) && max > 0 {
        g.push(max);
    }
    g
}

/// What a curve is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CurveKind {
    /// An int8 model: ideal code length, every `n`.
    Model,
    /// A classical compressor: whole compressed prefixes, on a grid.
    Classical,
}

/// One compressor's rate over prefix length on one data set.
#[derive(Clone, Debug, Serialize)]
pub struct Curve {
    /// Row label (as in Table 1).
    pub compressor: String,
    /// Model or classical.
    pub kind: CurveKind,
    /// Prefix lengths.
    pub n: Vec<usize>,
    /// Rate at each length: `Σ_c size_c(n) / (chunks · n)`.
    pub rate: Vec<f64>,
    /// Classical: Table 1's header-once rate at each length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_header_once: Option<Vec<f64>>,
    /// Model: the real arithmetic codes of the whole chunks, bytes summed
    /// (Table 1's LM raw row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coded_bytes: Option<u64>,
    /// Chunks averaged.
    pub chunks: usize,
}

impl Curve {
    /// The rate at the longest prefix (the whole chunk).
    pub fn end_rate(&self) -> f64 {
        self.rate.last().copied().unwrap_or(f64::NAN)
    }

    /// The rate at length `n`, if measured there.
    pub fn rate_at(&self, n: usize) -> Option<f64> {
        self.n.iter().position(|&m| m == n).map(|i| self.rate[i])
    }

    /// Model: the real coded rate of the whole chunks.
    pub fn coded_rate(&self) -> Option<f64> {
        let len = self.n.last().copied()? * self.chunks;
        self.coded_bytes.map(|b| b as f64 / len as f64)
    }
}

/// A pass-through [`Model`] recording the cumulative ideal code length
/// after every symbol (the same sum, in the same order, as
/// `coder_core::Meter`).
pub struct Trace<M> {
    model: M,
    bits: f64,
    /// Cumulative bits after each observed symbol.
    pub cumulative: Vec<f64>,
}

impl<M: Model> Trace<M> {
    /// A trace at zero around `model`.
    pub fn new(model: M) -> Self {
        Self {
            model,
            bits: 0.0,
            cumulative: Vec::with_capacity(CHUNK),
        }
    }
}

impl<M: Model> Model for Trace<M> {
    fn symbols(&self) -> usize {
        self.model.symbols()
    }

    fn precision(&self) -> u32 {
        self.model.precision()
    }

    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        self.model.frequencies()
    }

    fn observe(&mut self, symbol: usize) {
        let t = self.model.frequencies();
        if let Some(f) = t.frequency(symbol) {
            self.bits += symbol_bits(f, t.precision());
        }
        self.cumulative.push(self.bits);
        self.model.observe(symbol);
    }

    fn reset(&mut self) {
        self.model.reset();
    }

    fn fingerprint(&self) -> u64 {
        self.model.fingerprint()
    }

    fn lookup(&mut self, target: u32) -> Option<(usize, u32, core::num::NonZeroU32)> {
        self.model.lookup(target)
    }
}

/// One chunk through a model: the arithmetic code and the cumulative ideal
/// bits after every byte.
#[derive(Clone, Debug)]
pub struct TracedChunk {
    /// The real arithmetic code of the chunk.
    pub code: Vec<u8>,
    /// Cumulative ideal bits after byte `i`.
    pub cumulative_bits: Vec<f64>,
}

/// Codes every chunk once with a metered trace (in parallel, one model per
/// thread, each reset before its chunk as in Table 1).
pub fn trace_chunks<M: ChunkModel>(
    model: &M,
    chunks: &Chunks,
    progress: impl Fn(u64) + Sync,
) -> Result<Vec<TracedChunk>, Error> {
    with_thread_models(model, |threads| {
        chunks
            .data
            .par_chunks(CHUNK)
            .map(|chunk| {
                let t = threads.run(|m| -> Result<TracedChunk, Error> {
                    let mut tr = Trace::new(&mut *m);
                    let code =
                        encode_to_vec(&mut tr, chunk).map_err(|e| Error::codec("LM trace", e))?;
                    Ok(TracedChunk {
                        code,
                        cumulative_bits: tr.cumulative,
                    })
                })?;
                progress(1);
                Ok(t)
            })
            .collect()
    })?
}

/// The model curve (every `n` in `1..=2048`) from traced chunks.
pub fn model_curve(name: &str, traced: &[TracedChunk]) -> Curve {
    let len = traced.first().map_or(0, |t| t.cumulative_bits.len());
    let mut sum = vec![0.0f64; len];
    for t in traced {
        for (s, b) in sum.iter_mut().zip(&t.cumulative_bits) {
            *s += b;
        }
    }
    let c = traced.len().max(1) as f64;
    Curve {
        compressor: name.to_string(),
        kind: CurveKind::Model,
        n: (1..=len).collect(),
        rate: sum
            .iter()
            .enumerate()
            .map(|(i, b)| b / 8.0 / (c * (i + 1) as f64))
            .collect(),
        rate_header_once: None,
        coded_bytes: Some(traced.iter().map(|t| t.code.len() as u64).sum()),
        chunks: traced.len(),
    }
}

/// The classical curve on `grid`: every prefix of every chunk compressed
/// alone, decoded back and compared (in parallel). Calls `progress` with 1
/// per chunk done.
pub fn classical_curve(
    c: &dyn Compressor,
    chunks: &Chunks,
    grid: &[usize],
    progress: impl Fn(u64) + Sync,
) -> Result<Curve, Error> {
    let per_chunk: Vec<Vec<u64>> = chunks
        .data
        .par_chunks(CHUNK)
        .map(|chunk| {
            let sizes = grid
                .par_iter()
                .map(|&n| Ok(c.compress_checked(&chunk[..n.min(chunk.len())])?.len() as u64))
                .collect::<Result<Vec<u64>, Error>>()?;
            progress(1);
            Ok(sizes)
        })
        .collect::<Result<_, Error>>()?;
    let header = c.compress(&[0])?.len() as f64;
    let k = chunks.len() as f64;
    let mut rate = Vec::with_capacity(grid.len());
    let mut once = Vec::with_capacity(grid.len());
    for (i, &n) in grid.iter().enumerate() {
        let sum: u64 = per_chunk.iter().map(|s| s[i]).sum();
        let raw = k * n as f64;
        rate.push(sum as f64 / raw);
        once.push((sum as f64 - (k - 1.0) * header) / raw);
    }
    Ok(Curve {
        compressor: c.name(),
        kind: CurveKind::Classical,
        n: grid.to_vec(),
        rate,
        rate_header_once: Some(once),
        coded_bytes: None,
        chunks: chunks.len(),
    })
}

/// A model's check against Table 1's code path on the same chunks.
#[derive(Clone, Debug, Serialize)]
pub struct Table1Check {
    /// Model row label.
    pub compressor: String,
    /// Sum of the trace pass's codes, bytes.
    pub traced_coded_bytes: u64,
    /// Sum of `lm::measure_lm`'s codes (encoded, decoded, compared), bytes.
    pub table1_coded_bytes: u64,
    /// Table 1's ideal rate.
    pub table1_ideal_rate: f64,
    /// The curve's rate at 2048 (ideal).
    pub curve_end_rate: f64,
    /// Every chunk's code identical in both passes.
    pub identical: bool,
}

/// Figure 6 on one data set.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetCurves {
    /// Which data set.
    pub dataset: Kind,
    /// Chunks averaged.
    pub chunks: usize,
    /// One curve per compressor.
    pub curves: Vec<Curve>,
    /// The models' Table 1 checks.
    pub table1_checks: Vec<Table1Check>,
}

/// Everything one `figure6` run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Figure6 {
    /// Run metadata (command, data, machine, date).
    pub meta: Meta,
    /// The command line.
    pub command: String,
    /// How the classical grid was chosen.
    pub classical_grid: String,
    /// One entry per data set.
    pub datasets: Vec<DatasetCurves>,
}

/// The lengths shown in the Markdown summary.
pub const SUMMARY_N: [usize; 8] = [1, 4, 16, 64, 128, 256, 1024, 2048];

/// A short Markdown table: rate (%) at a few lengths per data set.
pub fn markdown(f: &Figure6) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Figure 6: in-context compression rate (%) of the first n bytes\n"
    );
    let _ = writeln!(
        s,
        "{} on {} ({} cores), started {}, {:.0} s. Classical grid: {}.\n",
        f.meta.tool,
        f.meta.machine.cpu,
        f.meta.machine.cores,
        f.meta.started_utc,
        f.meta.seconds,
        f.classical_grid
    );
    for d in &f.datasets {
        let _ = writeln!(s, "## {} ({} chunks)\n", d.dataset, d.chunks);
        let _ = write!(s, "| compressor |");
        for n in SUMMARY_N {
            let _ = write!(s, " n={n} |");
        }
        let _ = write!(s, "\n|---|");
        for _ in SUMMARY_N {
            s.push_str("---:|");
        }
        s.push('\n');
        for c in &d.curves {
            let _ = write!(s, "| {} |", c.compressor);
            for n in SUMMARY_N {
                match c.rate_at(n) {
                    Some(r) => {
                        let _ = write!(s, " {:.1} |", 100.0 * r);
                    }
                    None => s.push_str(" |"),
                }
            }
            s.push('\n');
        }
        for k in &d.table1_checks {
            let _ = writeln!(
                s,
                "\n{}: real code {} B in the trace pass, {} B in Table 1's pass ({}), \
                 Table 1 ideal {:.3}% = curve end {:.3}%",
                k.compressor,
                k.traced_coded_bytes,
                k.table1_coded_bytes,
                if k.identical {
                    "identical codes"
                } else {
                    "CODES DIFFER"
                },
                100.0 * k.table1_ideal_rate,
                100.0 * k.curve_end_rate
            );
        }
        s.push('\n');
    }
    s
}

/// One data set's curves as CSV: a row per length, a column per
/// compressor (empty where not measured), header-once columns for the
/// classical ones.
pub fn csv(d: &DatasetCurves) -> String {
    let max = d
        .curves
        .iter()
        .filter_map(|c| c.n.last().copied())
        .max()
        .unwrap_or(0);
    let mut s = String::from("n");
    for c in &d.curves {
        let _ = write!(s, ",\"{}\"", c.compressor.replace('"', "\"\""));
        if c.rate_header_once.is_some() {
            let _ = write!(s, ",\"{} header once\"", c.compressor.replace('"', "\"\""));
        }
    }
    s.push('\n');
    let idx: Vec<Vec<Option<usize>>> = d
        .curves
        .iter()
        .map(|c| {
            let mut v = vec![None; max + 1];
            for (i, &n) in c.n.iter().enumerate() {
                v[n] = Some(i);
            }
            v
        })
        .collect();
    for n in 1..=max {
        let _ = write!(s, "{n}");
        for (c, ix) in d.curves.iter().zip(&idx) {
            match ix[n] {
                Some(i) => {
                    let _ = write!(s, ",{:.5}", c.rate[i]);
                    if let Some(h) = &c.rate_header_once {
                        let _ = write!(s, ",{:.5}", h[i]);
                    }
                }
                None => {
                    s.push(',');
                    if c.rate_header_once.is_some() {
                        s.push(',');
                    }
                }
            }
        }
        s.push('\n');
    }
    s
}

/// The plot of one data set: log-x, y clipped at `y_max`.
pub fn chart(d: &DatasetCurves, y_max: f64, caption: Vec<String>) -> LineChart {
    let series = d
        .curves
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let pts: Vec<(f64, f64)> = c.n.iter().map(|&n| n as f64).zip(c.rate.clone()).collect();
            Series {
                name: c.compressor.clone(),
                points: plot::thin_log(&pts, 64.0),
                color: i,
                dashed: c.kind == CurveKind::Classical,
                markers: false,
            }
        })
        .collect();
    let max = d
        .curves
        .iter()
        .filter_map(|c| c.n.last().copied())
        .max()
        .unwrap_or(CHUNK);
    LineChart {
        title: format!(
            "Figure 6: in-context compression, {} ({} chunks)",
            d.dataset, d.chunks
        ),
        x_label: "sequence length n (bytes, log scale)".into(),
        y_label: "compression rate of the first n bytes".into(),
        log_x: true,
        x_range: 1.0..max as f64,
        y_range: 0.0..y_max,
        y_percent: true,
        series,
        caption,
        size: (900, 600),
        legend: true,
        legend_left: false,
    }
}

/// Serializes with every float rounded to 6 significant decimals (keeps the
/// JSON small).
/// The model curves are kept only at the classical grid's lengths (the CSV
/// has every `n`).
pub fn rounded_json(f: &Figure6) -> Result<String, Error> {
    let mut f = f.clone();
    for d in &mut f.datasets {
        let grid: Vec<usize> = d
            .curves
            .iter()
            .find(|c| c.kind == CurveKind::Classical)
            .map(|c| c.n.clone())
            .unwrap_or_default();
        if grid.is_empty() {
            continue;
        }
        for c in &mut d.curves {
            if c.kind == CurveKind::Model {
                let (n, rate) =
                    c.n.iter()
                        .zip(&c.rate)
                        .filter(|(n, _)| grid.contains(n))
                        .map(|(&n, &r)| (n, r))
                        .unzip();
                c.n = n;
                c.rate = rate;
            }
        }
    }
    let mut v = serde_json::to_value(&f).map_err(|e| Error::Data(e.to_string()))?;
    round_floats(&mut v);
    serde_json::to_string(&v).map_err(|e| Error::Data(e.to_string()))
}

fn round_floats(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64() {
                let r = (x * 1e6).round() / 1e6;
                if let Some(m) = serde_json::Number::from_f64(r) {
                    *n = m;
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(round_floats),
        serde_json::Value::Object(o) => o.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// Writes `figure6.json`, `figure6-<dataset>.csv` and the plots
/// `figure6-<dataset>.{png,svg}` into `dir`.
pub fn write_all(f: &Figure6, dir: &Path, y_max: f64) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let write = |name: String, body: String| {
        let p = dir.join(name);
        fs::write(&p, body).map_err(|e| Error::io(&p, e))
    };
    write("figure6.json".into(), rounded_json(f)?)?;
    for d in &f.datasets {
        write(format!("figure6-{}.csv", d.dataset), csv(d))?;
        let caption = vec![
            format!(
                "Models (solid): ideal code length of the first n bytes under the int8 tables, every n, one pass per chunk; {} chunks.",
                d.chunks
            ),
            format!(
                "gzip / LZMA2 (dashed): len(C(first n bytes)) / n, header included, on the grid {}; y clipped at {:.0}%.",
                f.classical_grid,
                100.0 * y_max
            ),
            format!("{}, {}.", f.meta.tool, f.meta.started_utc),
        ];
        plot::write_line_chart(
            &chart(d, y_max, caption),
            dir,
            &format!("figure6-{}", d.dataset),
        )?;
    }
    Ok(())
}
