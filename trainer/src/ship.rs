//! `trainer export`: a run's checkpoint → float model file, quantized int8
//! model file and a manifest with held-out measurements.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use model_int8::{quantize, FloatModel, FloatStorage, QuantOptions};
use serde::Serialize;

use crate::backend::{self, Inner};
use crate::error::{Error, Result};
use crate::int8eval::{self, Int8Eval};
use crate::run::{self, Engine, RunState, TrainConfig};
use crate::train::{self, Observer};
use crate::{data, eval, export};

/// What `export` writes beside the model files.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    pub name: String,
    pub model: model_int8::Config,
    pub parameters: u64,
    pub int8_file: String,
    pub int8_file_bytes: usize,
    pub float_file: String,
    /// Every training source, its weight and the tokens drawn from it.
    pub sources: Vec<SourceReport>,
    /// Float model the run warm-restarted from, if any.
    pub init_from: Option<String>,
    /// The float model exported instead of the run's last checkpoint
    /// (e.g. an average of its checkpoints), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_float: Option<String>,
    /// The validation source of the headline figures, and its range.
    pub validation: String,
    pub validation_range: Range<usize>,
    pub steps: u64,
    pub tokens_seen: u64,
    pub train_wall_time_s: f64,
    /// CPU seconds (user + system) of the training processes, when counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_cpu_time_s: Option<f64>,
    pub hardware: String,
    pub backend: String,
    pub recipe: Recipe,
    pub calibration: String,
    pub float_val_bpb: f64,
    /// Float bits per byte on the run's further validation sources (on
    /// the evenly spread chunks of its curve).
    pub other_validation: Vec<OtherValidation>,
    pub int8_val: Int8Eval,
    pub int8_vs_float_loss_pct: f64,
    pub evaluation: String,
    pub limitations: String,
    pub exported_at_unix: u64,
    /// A token-level model's tokenizer (absent for bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<TokenizerReport>,
}

/// The tokenizer of a token-level model, as its manifest names it.
#[derive(Clone, Debug, Serialize)]
pub struct TokenizerReport {
    /// The file shipped beside the model (`NAME.tokenizer.json`).
    pub file: String,
    /// FNV-1a 64 of the file, mixed into the model's fingerprint.
    pub hash: String,
    pub vocab: usize,
    /// Tokens of the held-out text (each chunk tokenized on its own).
    pub held_out_tokens: usize,
    /// Held-out bytes per token: the sequence-length reduction.
    pub bytes_per_token: f64,
}

/// One training source in a manifest.
#[derive(Clone, Debug, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub paths: Vec<String>,
    pub range: Option<Range<usize>>,
    pub weight: f64,
    /// Training tokens drawn from it (as counted since mixtures exist).
    pub tokens: u64,
    /// Its share of those tokens.
    pub token_share: f64,
}

/// Float bits per byte on a further validation source.
#[derive(Clone, Debug, Serialize)]
pub struct OtherValidation {
    pub name: String,
    pub bytes: usize,
    pub float_bpb: f64,
}

/// The training recipe, copied from the run's config.
#[derive(Clone, Debug, Serialize)]
pub struct Recipe {
    pub seq_len: usize,
    pub batch: usize,
    pub final_seq_len: usize,
    pub final_frac: f64,
    pub optimizer: String,
    pub lr: f64,
    pub min_lr: f64,
    pub warmup: u64,
    pub schedule: String,
    pub weight_decay: f32,
    pub beta2: f32,
    pub grad_clip_per_tensor: f32,
    pub dropout: f32,
    /// Decay of the moving average of the weights that was exported (0:
    /// the raw weights).
    #[serde(skip_serializing_if = "crate::run::is_zero")]
    pub ema: f32,
    pub seed: u64,
}

/// Options of [`export_run`].
pub struct ExportArgs {
    pub run: PathBuf,
    pub name: String,
    pub out_int8: PathBuf,
    pub out_float: PathBuf,
    pub manifest: PathBuf,
    /// Evaluate on at most this many held-out bytes (0: all).
    pub eval_bytes: usize,
    pub calibration_bytes: usize,
    pub limitations: String,
    /// Export this float model file (of the run's configuration, e.g.
    /// `trainer average` of its checkpoints) instead of the run's last
    /// checkpoint; the manifest still describes the run.
    pub float: Option<PathBuf>,
}

impl ExportArgs {
    /// Where a token-level model's tokenizer goes: beside the int8 file.
    pub fn tokenizer_path(&self) -> PathBuf {
        let name = format!("{}.tokenizer.json", self.name);
        self.out_int8.with_file_name(name)
    }
}

/// CPU model and core count, for manifests.
pub fn hardware() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores ({})", std::env::consts::ARCH)
}

/// Calibration text: `n` bytes from 2048-byte slices spread over the
/// training range.
pub fn calibration_text(bytes: &[u8], range: &Range<usize>, n: usize, chunk: usize) -> Vec<u8> {
    let pieces = n.div_ceil(chunk).max(1);
    let span = range.len().saturating_sub(chunk).max(1);
    let mut out = Vec::with_capacity(pieces * chunk);
    for i in 0..pieces {
        let start = range.start + i * span / pieces;
        let end = (start + chunk).min(range.end);
        out.extend_from_slice(&bytes[start..end]);
    }
    out.truncate(n);
    out
}

/// Float and int8 held-out measurements of a float model.
pub fn measure(
    fm: &FloatModel,
    int8_file: &[u8],
    text: &[u8],
    chunk: usize,
) -> Result<(f64, Int8Eval)> {
    let chunks = data::chunks(&(0..text.len()), chunk);
    let bytes: usize = chunks.iter().map(|r| r.len()).sum();
    // The fused engine computes the same float function, much faster;
    // Burn covers what it does not support (LayerNorm).
    let float_bpb = match crate::fused::Engine::new(&fm.config, threads()) {
        Ok(mut engine) => {
            let params = engine.layout().flatten(fm)?;
            crate::fused::bits(&mut engine, &params, text, &chunks, 4) / bytes as f64
        }
        Err(_) => {
            let device = backend::device();
            let lm = export::from_float_model::<Inner>(fm, &device)?;
            eval::bits_per_byte(&lm, text, &chunks, 4, &device)
        }
    };
    let int8 = int8eval::evaluate(int8_file, text, chunk)?;
    Ok((float_bpb, int8))
}

/// [`measure`] for a token-level model: each chunk tokenized on its own;
/// float and int8 bits of the token streams over the raw bytes, and the
/// number of tokens.
pub fn measure_tokens(
    fm: &FloatModel,
    int8_file: &[u8],
    bpe: &tokenize::Bpe,
    text: &[u8],
    chunk: usize,
) -> Result<(f64, Int8Eval, usize)> {
    let seqs: Vec<Vec<i32>> = text
        .chunks(chunk.max(1))
        .map(|c| bpe.encode(c).into_iter().map(|t| t as i32).collect())
        .collect();
    let mut engine = crate::fused::Engine::new(&fm.config, threads())?;
    let params = engine.layout().flatten(fm)?;
    let float_bpb =
        crate::fused::token_bits(&mut engine, &params, &seqs) / text.len().max(1) as f64;
    let (int8, tokens) = int8eval::evaluate_tokens(int8_file, bpe, text, chunk)?;
    Ok((float_bpb, int8, tokens))
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Exports the last checkpoint of a run; `observer` gets a line on the
/// quantization and one on the held-out measurements.
pub fn export_run(a: &ExportArgs, observer: &mut dyn Observer) -> Result<Manifest> {
    let (mut cfg, st, mut fm) = run::load_run(&a.run)?;
    if let Some(p) = &a.float {
        let other = run::read_float_model(p)?;
        if other.config != fm.config {
            return Err(Error::Model(format!(
                "{} is not a model of run {}: {:?} against {:?}",
                p.display(),
                a.run.display(),
                other.config,
                fm.config
            )));
        }
        fm = other;
    }
    let bpe = match cfg.tokenizer {
        Some(_) => Some(
            tokenize::Bpe::load(&run::RunDir(a.run.clone()).tokenizer())
                .map_err(|e| Error::Data(e.to_string()))?,
        ),
        None => None,
    };
    let train_bytes = cfg.train[0].load()?;
    let bytes = cfg.val[0].load()?;
    let write = |p: &Path, b: &[u8]| {
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        }
        run::write_atomic(p, b)
    };
    // Shipped float files are binary16: half the size, and a warm restart
    // from one starts within noise of the f32 weights (measured in
    // trainer/README.md). What is quantized and measured below is what the
    // file holds; the run directory keeps the f32 checkpoint.
    let float_file = fm
        .to_bytes_as(FloatStorage::F16)
        .map_err(|e| Error::Model(format!("{}: {e}", a.out_float.display())))?;
    write(&a.out_float, &float_file)?;
    let fm = fm.rounded(FloatStorage::F16);
    let chunk = 2048.min(fm.config.max_context as usize);
    // Calibrated on the first training source: the text the headline
    // validation source resembles.
    let calib = calibration_text(
        &train_bytes,
        &(0..train_bytes.len()),
        a.calibration_bytes,
        chunk,
    );
    let opts = QuantOptions {
        max_calibration_bytes: calib.len(),
        ..QuantOptions::default()
    };
    let t = Instant::now();
    let file = match &bpe {
        None => quantize(&fm, &calib, &opts),
        Some(b) => {
            let tokens = b.encode(&calib);
            let opts = QuantOptions {
                max_calibration_bytes: tokens.len(),
                ..opts.clone()
            };
            model_int8::quantize_tokens(&fm, &tokens, &opts)
        }
    }
    .map_err(Error::Quantize)?;
    observer.message(&format!("quantized in {:.1} s", t.elapsed().as_secs_f64()));
    write(&a.out_int8, &file)?;
    let mut val = 0..bytes.len();
    if a.eval_bytes > 0 && val.len() > a.eval_bytes {
        val.end = val.start + a.eval_bytes;
    }
    let t = Instant::now();
    let (float_bpb, int8, tokenizer) = match &bpe {
        None => {
            let (f, i) = measure(&fm, &file, &bytes[val.clone()], chunk)?;
            (f, i, None)
        }
        Some(b) => {
            let (f, i, tokens) = measure_tokens(&fm, &file, b, &bytes[val.clone()], chunk)?;
            let out = a.tokenizer_path();
            b.save(&out).map_err(|e| Error::Data(e.to_string()))?;
            let report = TokenizerReport {
                file: file_name(&out),
                hash: format!("{:016x}", b.hash()),
                vocab: b.vocab(),
                held_out_tokens: tokens,
                bytes_per_token: val.len() as f64 / tokens.max(1) as f64,
            };
            (f, i, Some(report))
        }
    };
    let offset = cfg.val[0].range.as_ref().map_or(0, |r| r.start);
    let val = val.start + offset..val.end + offset;
    observer.message(&format!(
        "held-out {:?}: float {:.4} bits/byte, int8 {:.4} (log-loss) / {:.4} (coded, round trip {}) in {:.0} s",
        val,
        float_bpb,
        int8.log_loss_bpb,
        int8.coded_bpb,
        if int8.round_trip_ok { "ok" } else { "FAILED" },
        t.elapsed().as_secs_f64()
    ));
    if !int8.round_trip_ok {
        return Err(Error::Model(format!(
            "{}: the int8 round trip did not reproduce the text",
            a.out_int8.display()
        )));
    }
    let m = Manifest {
        name: a.name.clone(),
        model: cfg.model,
        parameters: fm.config.parameters(),
        int8_file: file_name(&a.out_int8),
        int8_file_bytes: file.len(),
        float_file: file_name(&a.out_float),
        sources: source_reports(&cfg, &st),
        init_from: cfg.init_from.as_ref().map(|p| p.display().to_string()),
        exported_float: a.float.as_ref().map(|p| p.display().to_string()),
        validation: cfg.val[0]
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("+"),
        validation_range: val,
        steps: st.step,
        tokens_seen: st.tokens,
        train_wall_time_s: st.elapsed_s,
        train_cpu_time_s: (st.cpu_s > 0.0).then_some(st.cpu_s),
        hardware: hardware(),
        backend: match cfg.engine {
            Engine::Fused => {
                "trainer fused CPU engine (hand-fused forward/backward, matrixmultiply sgemm)"
                    .into()
            }
            Engine::Burn => backend::name().into(),
        },
        recipe: Recipe {
            seq_len: cfg.seq_len,
            batch: cfg.batch,
            final_seq_len: cfg.final_seq_len,
            final_frac: cfg.final_frac,
            optimizer: "AdamW".into(),
            lr: cfg.lr,
            min_lr: cfg.min_lr,
            warmup: cfg.warmup,
            schedule: "linear warm-up, cosine decay over the step or time budget".into(),
            weight_decay: cfg.weight_decay,
            beta2: cfg.beta2,
            grad_clip_per_tensor: cfg.grad_clip,
            dropout: cfg.dropout,
            ema: cfg.ema,
            seed: cfg.seed,
        },
        calibration: format!(
            "{} bytes in {}-byte slices spread over the training range",
            calib.len(),
            chunk
        ),
        float_val_bpb: float_bpb,
        other_validation: if bpe.is_some() {
            Vec::new()
        } else {
            other_validation(&mut cfg, &fm, chunk)?
        },
        int8_vs_float_loss_pct: 100.0 * (int8.log_loss_bpb / float_bpb - 1.0),
        int8_val: int8,
        evaluation: format!(
            "{chunk}-byte chunks, each coded from an empty context (BOS), attention window {}",
            fm.config.window
        ),
        limitations: a.limitations.clone(),
        exported_at_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        tokenizer,
    };
    run::write_json(&a.manifest, &m)?;
    Ok(m)
}

fn source_reports(cfg: &TrainConfig, st: &RunState) -> Vec<SourceReport> {
    let total: u64 = st.tokens_by_source.values().sum();
    cfg.train
        .iter()
        .map(|s| {
            let tokens = st.tokens_by_source.get(&s.name).copied().unwrap_or(0);
            SourceReport {
                name: s.name.clone(),
                paths: s.paths.iter().map(|p| p.display().to_string()).collect(),
                range: s.range.clone(),
                weight: s.weight,
                tokens,
                token_share: if total > 0 {
                    tokens as f64 / total as f64
                } else {
                    0.0
                },
            }
        })
        .collect()
}

fn other_validation(
    cfg: &mut TrainConfig,
    fm: &FloatModel,
    chunk: usize,
) -> Result<Vec<OtherValidation>> {
    if cfg.val.len() < 2 {
        // No further source; and the fused engine does not run LayerNorm.
        return Ok(Vec::new());
    }
    let n = cfg.val_chunks;
    let mut engine = crate::fused::Engine::new(&fm.config, threads())?;
    let params = engine.layout().flatten(fm)?;
    cfg.val
        .iter_mut()
        .skip(1)
        .map(|s| {
            let v = train::ValSet::load(s, chunk, n)?;
            let total: usize = v.chunks.iter().map(|r| r.len()).sum();
            Ok(OtherValidation {
                name: v.name,
                bytes: total,
                float_bpb: crate::fused::bits(&mut engine, &params, &v.bytes, &v.chunks, 4)
                    / total as f64,
            })
        })
        .collect()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
