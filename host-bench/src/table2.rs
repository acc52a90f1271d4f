//! Table 2 of the paper, "tokenization is compression": the same
//! Transformer trained on raw bytes ("ASCII") and on byte-level BPE tokens
//! of 1K–20K, each row's raw rate measured on held-out enwik8 in 2048-byte
//! chunks, for two model sizes: the paper's 200K (d_model 64) and 800K
//! (d_model 128) architectures, one column each.
//!
//! Every chunk is tokenized on its own (`tokenize`), its tokens coded by the
//! int8 model from a reset (`tokenize::encode_chunk`; bytes one symbol each
//! for ASCII), decoded back to bytes and compared; the raw rate is the
//! coded bits of the token streams over the raw bytes. Each row also gives
//! the tokenizer's sequence-length reduction (bytes per token), the
//! model's parameters counted as the paper does (without the embedding
//! and output layers) and with them, how it was trained (the manifest
//! beside the model) and whether that training converged (the held-out
//! curve of `{stem}.metrics.csv` beside the model, see [`convergence`]).
//!
//! Files ([`find_rows`]): `table2-{size}-{row}.lmm` in the models folder
//! (`size` 200k or 800k, `row` bytes, bpe1k, ... bpe20k), a BPE row with
//! `table2-{size}-{row}.tokenizer.json` beside it. The byte row of a
//! column is by default the shipped enwik8-only byte model of that size
//! (`model-int8/models/lm-{size}-enwik8.lmm`), unless overridden; the
//! single-column names of the first measurement (`table2-ascii.lmm`,
//! `table2-bpe1k.lmm`, ...) are read as the 200K column where no sized
//! file exists.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use coder_core::{decode_into, encode_into, max_encoded_len, Meter};
use model_int8::{working_memory_size, Config, Int8Model, ModelFile};
use plotters::coord::Shift;
use plotters::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use tokenize::Bpe;

use crate::data::Chunks;
use crate::meta::Meta;
use crate::plot::{self, PALETTE};
use crate::{paper, Error};

/// A model-size column of the table: the paper's architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Size {
    /// 200K: d_model 64, 4 layers, 4 heads.
    #[serde(rename = "200k")]
    K200,
    /// 800K: d_model 128, 4 layers, 4 heads.
    #[serde(rename = "800k")]
    K800,
}

impl Size {
    /// Both columns, in table order.
    pub const ALL: [Size; 2] = [Size::K200, Size::K800];

    /// In file names: `200k`, `800k`.
    pub fn slug(self) -> &'static str {
        match self {
            Size::K200 => "200k",
            Size::K800 => "800k",
        }
    }

    /// In tables and plots: `200K`, `800K`.
    pub fn label(self) -> &'static str {
        match self {
            Size::K200 => "200K",
            Size::K800 => "800K",
        }
    }

    /// The residual width of the architecture (what tells the columns'
    /// model files apart).
    pub fn d_model(self) -> u32 {
        match self {
            Size::K200 => 64,
            Size::K800 => 128,
        }
    }

    /// The column of a model of width `d_model`, if it is one.
    pub fn of_d_model(d_model: u32) -> Option<Size> {
        Size::ALL.into_iter().find(|s| s.d_model() == d_model)
    }

    /// The shipped enwik8-only byte model of this size in `models_dir`
    /// (`lm-200k-enwik8.lmm`, `lm-800k-enwik8.lmm`): the default byte row.
    pub fn shipped_bytes_model(self, models_dir: &Path) -> PathBuf {
        models_dir.join(format!("lm-{}-enwik8.lmm", self.slug()))
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Size::ALL
            .into_iter()
            .find(|z| z.slug().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown model size {s:?} (200k or 800k)"))
    }
}

/// Where the shipped byte models live, relative to the repository root.
pub const SHIPPED_DIR: &str = "model-int8/models";

/// A byte model given for one column (`200k=PATH` on the command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BytesModel {
    pub size: Size,
    pub path: PathBuf,
}

impl FromStr for BytesModel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (size, path) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected SIZE=PATH, e.g. 200k=model.lmm"))?;
        if path.is_empty() {
            return Err(format!("{s:?}: no path after '='"));
        }
        Ok(BytesModel {
            size: size.parse()?,
            path: PathBuf::from(path),
        })
    }
}

/// Where a row's model file was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowSource {
    /// `table2-{size}-{row}.lmm` in the models folder.
    Sized,
    /// The single-column name of the first measurement
    /// (`table2-ascii.lmm`, `table2-bpe1k.lmm`), read as 200K.
    SingleColumn,
    /// The byte model given for the column (`--bytes-model`).
    BytesOverride,
    /// The shipped enwik8-only byte model of the size.
    ShippedBytes,
}

impl RowSource {
    /// In notes.
    pub fn describe(self) -> &'static str {
        match self {
            RowSource::Sized => "sized name in the models folder",
            RowSource::SingleColumn => "single-column name of the first measurement, read as 200K",
            RowSource::BytesOverride => "byte model given with --bytes-model",
            RowSource::ShippedBytes => "shipped enwik8-only byte model",
        }
    }
}

/// One row to measure: a model file and, for a token-level model, its
/// tokenizer.
#[derive(Clone, Debug)]
pub struct RowSpec {
    /// The paper's row name ("ASCII", "BPE 1K", ...).
    pub name: String,
    /// The column; the model's d_model must agree ([`measure_row`]).
    pub size: Size,
    /// The int8 model file.
    pub model: PathBuf,
    /// Its tokenizer (`None`: bytes).
    pub tokenizer: Option<PathBuf>,
    /// Where the model was found.
    pub source: RowSource,
}

/// The byte row's slug in file names.
pub const BYTES_ROW: &str = "bytes";

/// A row named on the command line as it appears in file names: `bytes`
/// (`ascii` is read as `bytes`) or `bpe…` (`bpe1k`, `bpe20k`).
pub fn row_slug(s: &str) -> Result<String, Error> {
    let s = s.trim().to_ascii_lowercase();
    match s.as_str() {
        "bytes" | "ascii" => Ok(BYTES_ROW.into()),
        _ if s.len() > 3
            && s.starts_with("bpe")
            && s.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Ok(s)
        }
        _ => Err(Error::Data(format!(
            "unknown Table 2 row {s:?}: bytes (or ascii), or bpe… such as bpe1k"
        ))),
    }
}

/// The rows found by [`find_rows`], and a note per row not found.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub specs: Vec<RowSpec>,
    pub skipped: Vec<String>,
}

/// Finds the model of every `(size, row)` (`rows` as [`row_slug`] gives
/// them), in this order:
///
/// 1. `dir/table2-{size}-{row}.lmm`;
/// 2. for the byte row, the model `bytes_models` gives for the size (it
///    must exist), else `Size::shipped_bytes_model(shipped_dir)`;
/// 3. for the 200K column, the single-column name `dir/table2-{row}.lmm`
///    (`table2-ascii.lmm` for bytes).
///
/// A BPE row needs its `NAME.tokenizer.json` beside the model; its name
/// comes from the tokenizer's vocabulary. A row with no model is skipped
/// with a note.
pub fn find_rows(
    dir: &Path,
    sizes: &[Size],
    rows: &[String],
    bytes_models: &[BytesModel],
    shipped_dir: &Path,
) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    for &size in sizes {
        for row in rows {
            let bytes = row == BYTES_ROW;
            let sized = dir.join(format!("table2-{}-{row}.lmm", size.slug()));
            let legacy_name = if bytes { "ascii" } else { row.as_str() };
            let legacy = dir.join(format!("table2-{legacy_name}.lmm"));
            let given = bytes_models.iter().rev().find(|b| b.size == size);
            let mut tried = vec![sized.clone()];
            let found = if sized.exists() {
                Some((sized, RowSource::Sized))
            } else if let (true, Some(b)) = (bytes, given) {
                if !b.path.exists() {
                    return Err(Error::Data(format!(
                        "--bytes-model {}={}: no such file",
                        size.slug(),
                        b.path.display()
                    )));
                }
                Some((b.path.clone(), RowSource::BytesOverride))
            } else {
                let shipped = size.shipped_bytes_model(shipped_dir);
                if bytes {
                    tried.push(shipped.clone());
                }
                if size == Size::K200 {
                    tried.push(legacy.clone());
                }
                if bytes && shipped.exists() {
                    Some((shipped, RowSource::ShippedBytes))
                } else if size == Size::K200 && legacy.exists() {
                    Some((legacy, RowSource::SingleColumn))
                } else {
                    None
                }
            };
            let Some((model, source)) = found else {
                let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                plan.skipped.push(format!(
                    "{} {row}: not found ({}), skipped",
                    size.label(),
                    tried.join(", ")
                ));
                continue;
            };
            let (name, tokenizer) = if bytes {
                (row_name(256), None)
            } else {
                let tok = lmc::tokens::tokenizer_beside(&model);
                if !tok.exists() {
                    return Err(Error::Data(format!(
                        "{}: a BPE row needs its tokenizer {} beside it",
                        model.display(),
                        tok.display()
                    )));
                }
                let vocab = Bpe::load(&tok)
                    .map_err(|e| Error::Model(format!("{}: {e}", tok.display())))?
                    .vocab();
                (row_name(vocab), Some(tok))
            };
            plan.specs.push(RowSpec {
                name,
                size,
                model,
                tokenizer,
                source,
            });
        }
    }
    Ok(plan)
}

/// How a row's model was trained, from the manifest beside the model.
#[derive(Clone, Debug, Serialize)]
pub struct Training {
    pub steps: u64,
    /// Tokens (positions predicted) seen in training.
    pub tokens: u64,
    pub wall_time_s: f64,
    /// CPU seconds of training, when the run counted them.
    pub cpu_time_s: Option<f64>,
    /// Held-out bits per byte of the float model, when the export measured it.
    pub float_val_bpb: Option<f64>,
}

/// A held-out curve counts as flat when its last fifth gained less than
/// this share of its bits per byte.
pub const FLAT_GAIN: f64 = 0.01;

/// Whether a row's training converged, from its held-out curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Convergence {
    /// The `metrics.csv` read.
    pub metrics_file: String,
    /// The run's last step in it.
    pub steps: u64,
    /// The first evaluation at or after 80% of the steps.
    pub from_step: u64,
    pub from_bpb: f64,
    /// The last evaluation.
    pub to_step: u64,
    pub to_bpb: f64,
    /// `(from_bpb - to_bpb) / from_bpb`.
    pub gain: f64,
    /// `gain < FLAT_GAIN`.
    pub converged: bool,
}

/// The convergence of a run from the text of its `metrics.csv` (the
/// trainer's `step,tokens,elapsed_s,lr,train_bpb,val_bpb,...`: the held-out
/// column is `val_bpb`, else the first `val_*` column): the bits per byte
/// of the first evaluation at or after 80% of the run's steps against the
/// last evaluation; converged when they differ by less than [`FLAT_GAIN`].
/// `None` when the text has no such column or no two such evaluations.
pub fn convergence(csv: &str, file: &str) -> Option<Convergence> {
    fn cell<'a>(f: &[&'a str], i: usize) -> Option<&'a str> {
        f.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.split(',').map(str::trim).collect();
    let step_col = header.iter().position(|h| *h == "step")?;
    let val_col = header
        .iter()
        .position(|h| *h == "val_bpb")
        .or_else(|| header.iter().position(|h| h.starts_with("val_")))?;
    let mut steps = 0u64;
    let mut evals = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let Some(Ok(step)) = cell(&f, step_col).map(str::parse::<u64>) else {
            continue;
        };
        steps = steps.max(step);
        if let Some(Ok(v)) = cell(&f, val_col).map(str::parse::<f64>) {
            if v.is_finite() && v > 0.0 {
                evals.push((step, v));
            }
        }
    }
    let &(from_step, from_bpb) = evals.iter().find(|&&(s, _)| s * 5 >= steps * 4)?;
    let &(to_step, to_bpb) = evals.last()?;
    if to_step <= from_step {
        return None;
    }
    let gain = (from_bpb - to_bpb) / from_bpb;
    Some(Convergence {
        metrics_file: file.into(),
        steps,
        from_step,
        from_bpb,
        to_step,
        to_bpb,
        gain,
        converged: gain < FLAT_GAIN,
    })
}

/// The held-out curve beside a model: `{stem}.metrics.csv` (or the
/// trainer's results name `{stem}-metrics.csv`), if there is one.
pub fn metrics_beside(model: &Path) -> Option<PathBuf> {
    let stem = model.file_stem()?.to_string_lossy().into_owned();
    [".metrics.csv", "-metrics.csv"]
        .iter()
        .map(|suffix| model.with_file_name(format!("{stem}{suffix}")))
        .find(|p| p.exists())
}

/// [`convergence`] of the curve beside `model`, if any.
pub fn convergence_of(model: &Path) -> Option<Convergence> {
    let p = metrics_beside(model)?;
    let text = std::fs::read_to_string(&p).ok()?;
    convergence(&text, &file_name(&p))
}

/// One measured row.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    /// The column (`200k`, `800k`).
    pub size: Size,
    pub model_file: String,
    /// The model file as given (path).
    pub model_path: String,
    /// Where it was found.
    pub source: RowSource,
    pub model_file_bytes: usize,
    /// The model's configuration (in the JSON: `d_model`, `layers`).
    #[serde(skip)]
    pub config: Config,
    pub d_model: u32,
    pub layers: u32,
    /// Token vocabulary (256 for ASCII).
    pub vocab: u32,
    /// Parameters without the embedding and output layers (the paper's count).
    pub params_paper: u64,
    /// All parameters, embedding and output layers included.
    pub params_total: u64,
    pub tokenizer_file: Option<String>,
    /// FNV-1a 64 of the tokenizer file, hex.
    pub tokenizer_hash: Option<String>,
    pub chunks: usize,
    pub bytes: usize,
    /// Tokens of the chunks, each tokenized on its own.
    pub tokens: usize,
    /// `bytes / tokens`: the sequence-length reduction.
    pub bytes_per_token: f64,
    /// Sum of the coded chunks.
    pub coded_bytes: usize,
    /// `coded_bytes / bytes`.
    pub raw_rate: f64,
    /// Log-loss of the integer tables over the raw bytes.
    pub ideal_rate: f64,
    /// Every chunk decoded back to exactly its bytes.
    pub round_trip_ok: bool,
    /// The paper's 200K column (enwik9), percent.
    pub paper_rate_pct: Option<f64>,
    pub training: Option<Training>,
    /// From the held-out curve beside the model, when there is one.
    pub convergence: Option<Convergence>,
}

/// The whole table with its metadata.
#[derive(Clone, Debug, Serialize)]
pub struct Table2 {
    pub meta: Meta,
    pub command: String,
    /// What every row was given to train.
    pub budget: String,
    pub rows: Vec<Row>,
}

/// What coding one chunk gave.
struct ChunkResult {
    coded: usize,
    tokens: usize,
    bits: f64,
    ok: bool,
}

fn code_chunk(file: &ModelFile<'_>, bpe: Option<&Bpe>, chunk: &[u8]) -> Result<ChunkResult, Error> {
    let mut work = vec![0u8; working_memory_size(file.config())];
    let model = Int8Model::new(file, &mut work).map_err(|e| Error::Model(e.to_string()))?;
    let mut meter = Meter::new(model);
    match bpe {
        Some(b) => {
            let err = |e: tokenize::Error| Error::Model(e.to_string());
            let (code, tokens) = tokenize::encode_chunk(b, &mut meter, chunk).map_err(err)?;
            let bits = meter.bits();
            let back = tokenize::decode_chunk(b, meter.get_mut(), &code, chunk.len());
            Ok(ChunkResult {
                coded: code.len(),
                tokens,
                bits,
                ok: back.as_deref().ok() == Some(chunk),
            })
        }
        None => {
            let mut out = vec![0u8; max_encoded_len(chunk.len(), file.precision())];
            let n = encode_into(&mut meter, chunk, &mut out)
                .map_err(|e| Error::Model(format!("{e:?}")))?;
            let bits = meter.bits();
            let mut back = vec![0u8; chunk.len()];
            let ok = decode_into(meter.get_mut(), &out[..n], &mut back).is_ok() && back == chunk;
            Ok(ChunkResult {
                coded: n,
                tokens: chunk.len(),
                bits,
                ok,
            })
        }
    }
}

/// Parameters of `c` without the embedding (`vocab + 1` rows) and output
/// layer (`vocab` rows): the paper's count.
pub fn params_paper(c: &Config) -> u64 {
    let emb = (u64::from(c.vocab) * 2 + 1) * u64::from(c.d_model);
    c.parameters() - emb
}

/// Measures one row on `chunks` (in parallel on the current rayon pool);
/// `progress` gets 1 per chunk done. A model whose d_model is not its
/// column's (64 for 200K, 128 for 800K), or whose vocabulary is not its
/// tokenizer's, is refused.
pub fn measure_row(
    spec: &RowSpec,
    chunks: &Chunks,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Row, Error> {
    let bytes = std::fs::read(&spec.model).map_err(|e| Error::io(&spec.model, e))?;
    let src = lmc::Int8Source::from_file(&spec.model, &bytes).map_err(Error::Lmc)?;
    let file = *src.file();
    let c = *file.config();
    let bpe = match &spec.tokenizer {
        Some(p) => Some(Bpe::load(p).map_err(|e| Error::Model(e.to_string()))?),
        None => None,
    };
    match Size::of_d_model(c.d_model) {
        Some(size) if size == spec.size => {}
        found => {
            return Err(Error::Model(format!(
                "{}: named for the {} column (d_model {}), but the model has d_model {} ({}); rename or move it",
                spec.model.display(),
                spec.size.label(),
                spec.size.d_model(),
                c.d_model,
                found.map_or("neither 200K nor 800K", Size::label)
            )))
        }
    }
    let want = bpe.as_ref().map_or(256, |b| b.vocab());
    if c.vocab as usize != want {
        return Err(Error::Model(format!(
            "{}: the model predicts {} symbols, its tokenizer has {want}",
            spec.model.display(),
            c.vocab
        )));
    }
    let results: Vec<ChunkResult> = chunks
        .iter()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|chunk| {
            let r = code_chunk(&file, bpe.as_ref(), chunk);
            progress(1);
            r
        })
        .collect::<Result<_, _>>()?;
    let n = chunks.bytes();
    let coded: usize = results.iter().map(|r| r.coded).sum();
    let tokens: usize = results.iter().map(|r| r.tokens).sum();
    let bits: f64 = results.iter().map(|r| r.bits).sum();
    Ok(Row {
        name: spec.name.clone(),
        size: spec.size,
        model_file: file_name(&spec.model),
        model_path: spec.model.display().to_string(),
        source: spec.source,
        model_file_bytes: bytes.len(),
        config: c,
        d_model: c.d_model,
        layers: c.n_layers,
        vocab: c.vocab,
        params_paper: params_paper(&c),
        params_total: c.parameters(),
        tokenizer_file: spec.tokenizer.as_deref().map(file_name),
        tokenizer_hash: bpe.as_ref().map(|b| format!("{:016x}", b.hash())),
        chunks: chunks.len(),
        bytes: n,
        tokens,
        bytes_per_token: n as f64 / tokens.max(1) as f64,
        coded_bytes: coded,
        raw_rate: coded as f64 / n.max(1) as f64,
        ideal_rate: bits / 8.0 / n.max(1) as f64,
        round_trip_ok: results.iter().all(|r| r.ok),
        paper_rate_pct: paper::table2_200k(&spec.name),
        training: training_of(&spec.model),
        convergence: convergence_of(&spec.model),
    })
}

/// The training figures of the manifest `NAME.json` beside `NAME.lmm`.
fn training_of(model: &Path) -> Option<Training> {
    let text = std::fs::read_to_string(model.with_extension("json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(Training {
        steps: v.get("steps")?.as_u64()?,
        tokens: v.get("tokens_seen")?.as_u64()?,
        wall_time_s: v.get("train_wall_time_s")?.as_f64()?,
        cpu_time_s: v.get("train_cpu_time_s").and_then(|x| x.as_f64()),
        float_val_bpb: v.get("float_val_bpb").and_then(|x| x.as_f64()),
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The row name of a vocabulary: "ASCII" for 256, else "BPE nK".
pub fn row_name(vocab: usize) -> String {
    if vocab == 256 {
        "ASCII".into()
    } else if vocab.is_multiple_of(1000) {
        format!("BPE {}K", vocab / 1000)
    } else {
        format!("BPE {vocab}")
    }
}

/// The vocabulary of a row name ([`row_name`]'s inverse).
pub fn vocab_of(name: &str) -> Option<u32> {
    if name == "ASCII" {
        return Some(256);
    }
    let n = name.strip_prefix("BPE ")?;
    match n.strip_suffix('K') {
        Some(k) => k.parse::<u32>().ok().map(|k| k * 1000),
        None => n.parse().ok(),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// One column's cell of a [`SummaryRow`].
#[derive(Clone, Debug, Serialize)]
pub struct SummaryCell {
    pub size: Size,
    pub raw_rate: f64,
    pub bytes_per_token: f64,
    /// `None`: no held-out curve beside the model.
    pub converged: Option<bool>,
}

/// One tokenizer row across the columns.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryRow {
    pub name: String,
    pub vocab: u32,
    /// The paper's 200K column (enwik9), percent.
    pub paper_200k_pct: Option<f64>,
    /// The columns that measured this row, in [`Size::ALL`] order.
    pub cells: Vec<SummaryCell>,
}

impl SummaryRow {
    /// This row's cell of column `size`.
    pub fn cell(&self, size: Size) -> Option<&SummaryCell> {
        self.cells.iter().find(|c| c.size == size)
    }
}

/// The tokenizer rows of `t` across its columns, by vocabulary.
pub fn summary(t: &Table2) -> Vec<SummaryRow> {
    let mut out: Vec<SummaryRow> = Vec::new();
    for r in &t.rows {
        let cell = SummaryCell {
            size: r.size,
            raw_rate: r.raw_rate,
            bytes_per_token: r.bytes_per_token,
            converged: r.convergence.as_ref().map(|c| c.converged),
        };
        match out.iter_mut().find(|s| s.name == r.name) {
            Some(s) => s.cells.push(cell),
            None => out.push(SummaryRow {
                name: r.name.clone(),
                vocab: r.vocab,
                paper_200k_pct: r.paper_rate_pct,
                cells: vec![cell],
            }),
        }
    }
    for s in &mut out {
        s.cells.sort_by_key(|c| c.size);
    }
    out.sort_by_key(|s| s.vocab);
    out
}

/// The columns `t` measured, in [`Size::ALL`] order.
pub fn sizes(t: &Table2) -> Vec<Size> {
    Size::ALL
        .into_iter()
        .filter(|&z| t.rows.iter().any(|r| r.size == z))
        .collect()
}

/// `text` in bold when `best`.
fn bold_if(best: bool, text: String) -> String {
    if best {
        format!("**{text}**")
    } else {
        text
    }
}

/// The lowest of `xs` (at the one-decimal percent shown), to bold.
fn best_pct(xs: impl Iterator<Item = f64>) -> Option<String> {
    xs.fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))))
        .map(pct)
}

fn yes_no(c: Option<bool>) -> &'static str {
    match c {
        Some(true) => "yes",
        Some(false) => "no",
        None => "–",
    }
}

/// What "converged" means, for the table and the README.
pub fn convergence_rule() -> String {
    format!(
        "Converged: the held-out curve of the row's training run (`{{stem}}.metrics.csv` beside the model, held-out enwik8 bits per byte) gained less than {:.0}% from the first evaluation at or after 80% of the steps to the last; – where no curve is beside the model",
        100.0 * FLAT_GAIN
    )
}

/// The table as Markdown: a summary of every tokenizer row across the
/// 200K and 800K columns beside the paper's 200K column, then one detailed
/// table per column measured. The best (lowest) rate of each column is in
/// bold.
pub fn markdown(t: &Table2) -> String {
    let mut s = String::new();
    let sum = summary(t);
    s.push_str("## Summary\n\n| tokenizer | vocab | bytes per token |");
    for z in Size::ALL {
        let _ = write!(s, " raw rate {} (ours) |", z.label());
    }
    s.push_str(" paper 200K (enwik9) |");
    for z in Size::ALL {
        let _ = write!(s, " converged {} |", z.label());
    }
    s.push_str("\n|---|---:|---:|---:|---:|---:|:---:|:---:|\n");
    let best: Vec<Option<String>> = Size::ALL
        .iter()
        .map(|&z| best_pct(sum.iter().filter_map(|r| r.cell(z)).map(|c| c.raw_rate)))
        .collect();
    let best_paper = sum
        .iter()
        .filter_map(|r| r.paper_200k_pct)
        .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))));
    for r in &sum {
        let mut bpt: Vec<String> = r
            .cells
            .iter()
            .map(|c| format!("{:.2}", c.bytes_per_token))
            .collect();
        bpt.dedup();
        let _ = write!(
            s,
            "| {} | {} | {} |",
            r.name,
            thousands(u64::from(r.vocab)),
            bpt.join(" / ")
        );
        for (z, b) in Size::ALL.iter().zip(&best) {
            let cell = r.cell(*z).map_or("–".into(), |c| {
                let p = pct(c.raw_rate);
                bold_if(b.as_deref() == Some(p.as_str()), p)
            });
            let _ = write!(s, " {cell} |");
        }
        let paper = r.paper_200k_pct.map_or("–".into(), |p| {
            bold_if(Some(p) == best_paper, format!("{p:.1}%"))
        });
        let _ = write!(s, " {paper} |");
        for z in Size::ALL {
            let _ = write!(s, " {} |", yes_no(r.cell(z).and_then(|c| c.converged)));
        }
        s.push('\n');
    }
    if let Some(r) = t.rows.first() {
        let _ = write!(
            s,
            "\n{} chunks of 2048 bytes ({} bytes) of held-out enwik8, each tokenized on its own, coded from an empty context, decoded back and compared. Bytes per token: both columns' tokenizers where they differ (200K / 800K). Training budget: {}. {}.\n",
            r.chunks,
            thousands(r.bytes as u64),
            t.budget,
            convergence_rule()
        );
    }
    for z in sizes(t) {
        let rows: Vec<&Row> = t.rows.iter().filter(|r| r.size == z).collect();
        let _ = write!(s, "\n## {} (d_model {})\n\n", z.label(), z.d_model());
        s.push_str("| tokenizer | model | vocab | params (paper's count) | params (with embedding + output) | bytes per token | raw rate (ours, held-out enwik8) | log-loss rate | paper 200K (enwik9) | round trip | training steps / tokens | training CPU / wall | converged (last-fifth gain) |\n");
        s.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|\n");
        let best = best_pct(rows.iter().map(|r| r.raw_rate));
        for r in &rows {
            let raw = pct(r.raw_rate);
            let (steps, time) = r.training.as_ref().map_or(("–".into(), "–".into()), |tr| {
                let cpu = tr
                    .cpu_time_s
                    .map_or("–".into(), |c| format!("{:.1} min", c / 60.0));
                (
                    format!("{} / {:.2} M", thousands(tr.steps), tr.tokens as f64 / 1e6),
                    format!("{cpu} / {:.1} min", tr.wall_time_s / 60.0),
                )
            });
            let conv = r.convergence.as_ref().map_or("–".into(), |c| {
                format!(
                    "{} ({:.2}%, step {} → {})",
                    yes_no(Some(c.converged)),
                    100.0 * c.gain,
                    thousands(c.from_step),
                    thousands(c.to_step)
                )
            });
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {} | {:.2} | {} | {} | {} | {} | {steps} | {time} | {conv} |",
                r.name,
                r.model_file,
                thousands(u64::from(r.vocab)),
                thousands(r.params_paper),
                thousands(r.params_total),
                r.bytes_per_token,
                bold_if(best.as_deref() == Some(raw.as_str()), raw.clone()),
                pct(r.ideal_rate),
                r.paper_rate_pct.map_or("–".into(), |p| format!("{p:.1}%")),
                if r.round_trip_ok { "ok" } else { "FAILED" },
            );
        }
    }
    s
}

/// The vocabularies marked on the plot's x axis.
pub const PLOT_VOCABS: [u32; 6] = [256, 1000, 2000, 5000, 10_000, 20_000];

/// One series of the plot.
#[derive(Clone, Debug, Serialize)]
pub struct PlotSeries {
    /// Legend label.
    pub name: String,
    /// `(vocabulary, raw rate)` points by vocabulary.
    pub points: Vec<(u32, f64)>,
    /// Measured here (false: the paper's numbers).
    pub measured: bool,
}

/// What the plot shows, as its JSON record.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Lines under the plot: what is measured, where the paper's points
    /// come from, tool and date.
    pub caption: Vec<String>,
    pub series: Vec<PlotSeries>,
    /// The files written.
    pub files: Vec<String>,
}

/// The plot of `t`: raw rate against vocabulary, one line per column
/// measured, the paper's 200K column as a separate series.
pub fn figure(t: &Table2) -> Figure {
    let mut series: Vec<PlotSeries> = sizes(t)
        .into_iter()
        .map(|z| {
            let mut points: Vec<(u32, f64)> = t
                .rows
                .iter()
                .filter(|r| r.size == z)
                .map(|r| (r.vocab, r.raw_rate))
                .collect();
            points.sort_by_key(|p| p.0);
            PlotSeries {
                name: format!("ours {} (int8, held-out enwik8)", z.label()),
                points,
                measured: true,
            }
        })
        .collect();
    series.push(PlotSeries {
        name: "paper 200K (enwik9)".into(),
        points: paper::TABLE2_200K
            .iter()
            .filter_map(|&(name, p)| Some((vocab_of(name)?, p / 100.0)))
            .collect(),
        measured: false,
    });
    let (chunks, bytes) = t.rows.first().map_or((0, 0), |r| (r.chunks, r.bytes));
    let date = t.meta.started_utc.get(..10).unwrap_or(&t.meta.started_utc);
    Figure {
        title: format!(
            "Table 2: raw rate vs vocabulary (held-out enwik8, 2048-byte chunks, {date})"
        ),
        x_label: "vocabulary size (log scale; 256 = raw bytes)".into(),
        y_label: "raw rate (coded / raw bytes)".into(),
        caption: vec![
            format!(
                "ours: int8 models, {chunks} chunks of 2048 bytes ({bytes} bytes) of held-out enwik8, each tokenized on its own, coded from an empty context, decoded back."
            ),
            "paper: Table 2, 200K column (Deletang et al., ICLR 2024), models trained and measured on enwik9.".into(),
            format!("Training budget: {}. {}, {}.", t.budget, t.meta.tool, t.meta.started_utc),
        ],
        series,
        files: vec!["table2.png".into(), "table2.svg".into()],
    }
}

fn perr(e: impl std::fmt::Display) -> Error {
    Error::Data(format!("plot: {e}"))
}

fn vocab_label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.0}K", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, f: &Figure) -> Result<(), Error> {
    let upper = plot::with_caption(root, &f.caption)?;
    let mut keys: Vec<u32> = PLOT_VOCABS.to_vec();
    keys.extend(f.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
    keys.sort_unstable();
    keys.dedup();
    let (x_lo, x_hi) = (
        f64::from(keys[0]) / 1.3,
        f64::from(*keys.last().unwrap_or(&20_000)) * 1.3,
    );
    let ys = f.series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (y_min, y_max) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let y_lo = ((y_min - 0.02) * 20.0).floor().max(0.0) / 20.0;
    let y_hi = ((y_max + 0.02) * 20.0).ceil() / 20.0;
    let mut c = ChartBuilder::on(&upper)
        .caption(&f.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(
            (x_lo..x_hi)
                .log_scale()
                .with_key_points(keys.iter().map(|&k| f64::from(k)).collect()),
            y_lo..y_hi,
        )
        .map_err(perr)?;
    c.configure_mesh()
        .x_desc(f.x_label.as_str())
        .y_desc(f.y_label.as_str())
        .x_label_formatter(&|v| vocab_label(*v))
        .y_label_formatter(&|v| format!("{:.0}%", 100.0 * v))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 14))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()
        .map_err(perr)?;
    let mut measured = 0;
    for s in &f.series {
        let pts: Vec<(f64, f64)> = s.points.iter().map(|&(v, y)| (f64::from(v), y)).collect();
        let color = if s.measured {
            measured += 1;
            PALETTE[(measured - 1) % PALETTE.len()]
        } else {
            PALETTE[7]
        };
        let style = ShapeStyle::from(&color).stroke_width(2);
        let anno = if s.measured {
            c.draw_series(LineSeries::new(pts.clone(), style))
                .map_err(perr)?
        } else {
            c.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                .map_err(perr)?
        };
        anno.label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        if s.measured {
            c.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(perr)?;
        } else {
            c.draw_series(
                pts.iter()
                    .map(|&p| TriangleMarker::new(p, 6, color.filled())),
            )
            .map_err(perr)?;
        }
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 12))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(perr)?;
    Ok(())
}

/// Writes the plot of `t` as `table2.png` and `table2.svg` into `dir`.
pub fn write_plot(t: &Table2, dir: &Path) -> Result<Figure, Error> {
    let f = figure(t);
    let (w, h) = (900u32, 620u32);
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, &f)?;
        root.present().map_err(perr)?;
    }
    plot::write_png_rgb(&dir.join("table2.png"), w, h, &rgb)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw(&root, &f)?;
        root.present().map_err(perr)?;
    }
    let p = dir.join("table2.svg");
    std::fs::write(&p, svg).map_err(|e| Error::io(&p, e))?;
    Ok(f)
}

/// `table2.json`: the table, its summary and the plot's record.
#[derive(Serialize)]
struct Json<'a> {
    #[serde(flatten)]
    table: &'a Table2,
    summary: Vec<SummaryRow>,
    convergence_rule: String,
    figure: Figure,
}

/// Writes `table2.md`, `table2.json`, `table2.png` and `table2.svg` into
/// `dir`.
pub fn write_all(t: &Table2, dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let md = dir.join("table2.md");
    std::fs::write(&md, markdown(t)).map_err(|e| Error::io(&md, e))?;
    let figure = write_plot(t, dir)?;
    let js = dir.join("table2.json");
    let json = Json {
        table: t,
        summary: summary(t),
        convergence_rule: convergence_rule(),
        figure,
    };
    let text = serde_json::to_string_pretty(&json).map_err(|e| Error::Data(e.to_string()))?;
    std::fs::write(&js, text).map_err(|e| Error::io(&js, e))?;
    Ok(())
}
