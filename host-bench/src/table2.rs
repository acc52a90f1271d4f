//! Table 2 of the paper, "tokenization is compression": the same 200K
//! Transformer trained on raw bytes ("ASCII") and on byte-level BPE tokens
//! of 1K–20K, each row's raw rate measured on held-out enwik8 in 2048-byte
//! chunks.
//!
//! Every chunk is tokenized on its own (`tokenize`), its tokens coded by the
//! int8 model from a reset (`tokenize::encode_chunk`; bytes one symbol each
//! for ASCII), decoded back to bytes and compared; the raw rate is the
//! coded bits of the token streams over the raw bytes. Each row also gives
//! the tokenizer's sequence-length reduction (bytes per token) and the
//! model's parameters counted as the paper does (without the embedding
//! and output layers) and with them.

use std::path::{Path, PathBuf};

use coder_core::{decode_into, encode_into, max_encoded_len, Meter};
use model_int8::{working_memory_size, Config, Int8Model, ModelFile};
use rayon::prelude::*;
use serde::Serialize;
use tokenize::Bpe;

use crate::data::Chunks;
use crate::meta::Meta;
use crate::{paper, Error};

/// One row to measure: a model file and, for a token-level model, its
/// tokenizer.
#[derive(Clone, Debug)]
pub struct RowSpec {
    /// The paper's row name ("ASCII", "BPE 1K", ...).
    pub name: String,
    /// The int8 model file.
    pub model: PathBuf,
    /// Its tokenizer (`None`: bytes).
    pub tokenizer: Option<PathBuf>,
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
    pub float_val_bpb: f64,
}

/// One measured row.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub name: String,
    pub model_file: String,
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
}

/// The whole table with its metadata.
#[derive(Clone, Debug, Serialize)]
pub struct Table2 {
    pub meta: Meta,
    pub command: String,
    /// What every row was given to train (the same for all).
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
/// `progress` gets 1 per chunk done.
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
        model_file: file_name(&spec.model),
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
        float_val_bpb: v.get("float_val_bpb")?.as_f64()?,
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

/// The table as Markdown, the paper's 200K column beside ours.
pub fn markdown(t: &Table2) -> String {
    let mut s = String::new();
    s.push_str("| tokenizer | vocab | params (paper's count) | params (with embedding + output) | bytes per token | raw rate (ours, held-out enwik8) | log-loss rate | paper 200K (enwik9) | round trip |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for r in &t.rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | **{}** | {} | {} | {} |\n",
            r.name,
            thousands(u64::from(r.vocab)),
            thousands(r.params_paper),
            thousands(r.params_total),
            r.bytes_per_token,
            pct(r.raw_rate),
            pct(r.ideal_rate),
            r.paper_rate_pct.map_or("–".into(), |p| format!("{p:.1}%")),
            if r.round_trip_ok { "ok" } else { "FAILED" },
        ));
    }
    if let Some(r) = t.rows.first() {
        s.push_str(&format!(
            "\n{} chunks of 2048 bytes ({} bytes) of held-out enwik8, each tokenized on its own, coded from an empty context, decoded back and compared. Training budget: {}.\n",
            r.chunks,
            thousands(r.bytes as u64),
            t.budget
        ));
    }
    let trained: Vec<String> = t
        .rows
        .iter()
        .filter_map(|r| {
            r.training.as_ref().map(|tr| {
                let cpu = tr
                    .cpu_time_s
                    .map_or(String::new(), |c| format!("{:.1} CPU-min, ", c / 60.0));
                format!(
                    "{}: {} steps, {} tokens, {cpu}{:.1} min wall",
                    r.name,
                    thousands(tr.steps),
                    thousands(tr.tokens),
                    tr.wall_time_s / 60.0
                )
            })
        })
        .collect();
    if !trained.is_empty() {
        s.push_str(&format!("Trained: {}.\n", trained.join("; ")));
    }
    s
}

/// Writes `table2.md` and `table2.json` into `dir`.
pub fn write_all(t: &Table2, dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let md = dir.join("table2.md");
    std::fs::write(&md, markdown(t)).map_err(|e| Error::io(&md, e))?;
    let js = dir.join("table2.json");
    let text = serde_json::to_string_pretty(t).map_err(|e| Error::Data(e.to_string()))?;
    std::fs::write(&js, text).map_err(|e| Error::io(&js, e))?;
    Ok(())
}
