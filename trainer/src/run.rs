//! A run directory and what it holds: the training config
//! (`config.json`), the progress (`state.json`), the last checkpoint of
//! either engine, the metrics and the curve.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use model_int8::{Config, FloatModel};
use serde::{Deserialize, Serialize};

use crate::backend::{self, Inner};
use crate::error::{Error, Result};
use crate::export;
use crate::mixture::Source;
use crate::model::Lm;

/// The engine that trains a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Hand-fused CPU kernels ([`crate::fused`]), the CPU default.
    Fused,
    /// Burn's autodiff on the build's backend, the CUDA default.
    Burn,
}

impl Engine {
    /// The build's default: Burn with the `cuda` feature, else fused.
    pub const DEFAULT: Engine = if cfg!(feature = "cuda") {
        Engine::Burn
    } else {
        Engine::Fused
    };

    /// The name used on the command line and in `config.json`.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Fused => "fused",
            Engine::Burn => "burn",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that defines a training run; saved as `config.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Model hyper-parameters.
    pub model: Config,
    /// Training sources, sampled by weight ([`crate::mixture::Mixture`]).
    pub train: Vec<Source>,
    /// Validation sources, each with its own curve; the first is the
    /// run's headline figure and what `export` measures.
    pub val: Vec<Source>,
    /// Float model the run started from with a fresh optimizer (a warm
    /// restart), if any.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// Sequence length (positions, BOS included).
    pub seq_len: usize,
    /// Sequences per step.
    pub batch: usize,
    /// Sequence length of the final phase (0: none).
    pub final_seq_len: usize,
    /// Fraction of the run (by progress) spent at `final_seq_len`; its
    /// batch is scaled so a step keeps the same number of tokens.
    pub final_frac: f64,
    /// Stop after this many steps (0: no step limit).
    pub steps: u64,
    /// Stop after this many seconds of training (0: no time limit).
    pub time_budget_s: f64,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine.
    pub min_lr: f64,
    /// Linear warm-up steps.
    pub warmup: u64,
    /// AdamW weight decay.
    pub weight_decay: f32,
    /// AdamW beta 2.
    pub beta2: f32,
    /// Per-parameter gradient norm clip (0: none).
    pub grad_clip: f32,
    /// Seconds between checkpoints.
    pub checkpoint_every_s: f64,
    /// Seconds between validations.
    pub eval_every_s: f64,
    /// 2048-byte validation chunks used for the curve.
    pub val_chunks: usize,
    /// Random seed.
    pub seed: u64,
    /// Training engine.
    #[serde(default = "burn_engine")]
    pub engine: Engine,
    /// Worker threads of the fused engine (0: all cores).
    #[serde(default)]
    pub threads: usize,
    /// Residual dropout probability (0: none).
    #[serde(default)]
    pub dropout: f32,
    /// A token-level run: the BPE tokenizer file (`tokenize`) whose
    /// vocabulary the model predicts. A new run copies it to
    /// `tokenizer.json` in the run directory and trains from that copy;
    /// `None` (and absent from older configs) is a byte-level run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PathBuf>,
    /// The time budget (`time_budget_s`) counts the process's CPU seconds
    /// (user + system, [`RunState::cpu_s`]) instead of wall seconds, so
    /// runs on a loaded machine get the same compute.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cpu_clock: bool,
    /// Decay of an exponential moving average of the weights, updated
    /// every step (0: none; fused engine). With one, validation and
    /// `export` use the average (`ema.float`), training the raw weights.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ema: f32,
}

/// For `skip_serializing_if`: a setting left at zero (off).
pub(crate) fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

/// Runs written before the fused engine existed were Burn runs.
fn burn_engine() -> Engine {
    Engine::Burn
}

impl TrainConfig {
    /// Reads a run's `config.json`, also in the single-source form of runs
    /// written before mixtures (`data`, `train_range`, `val_range`).
    pub fn read(path: &Path) -> Result<Self> {
        let mut v: serde_json::Value = read_json(path)?;
        if let Some(obj) = v.as_object_mut() {
            if let Some(data) = obj.remove("data") {
                let data: PathBuf = serde_json::from_value(data).map_err(Error::json(path))?;
                let range = |obj: &mut serde_json::Map<_, _>, key: &str| {
                    obj.remove(key)
                        .map(serde_json::from_value::<Range<usize>>)
                        .transpose()
                        .map_err(Error::json(path))
                };
                let train = range(obj, "train_range")?;
                let val = range(obj, "val_range")?;
                let to = |r, w| serde_json::to_value(vec![Source::new("enwik8", &data, r, w)]);
                obj.insert("train".into(), to(train, 1.0).expect("serializable"));
                obj.insert("val".into(), to(val, 0.0).expect("serializable"));
            }
        }
        serde_json::from_value(v).map_err(Error::json(path))
    }
}

/// Progress of a run; saved as `state.json` with every checkpoint.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunState {
    /// Optimizer steps done.
    pub step: u64,
    /// Training tokens (predicted bytes) seen.
    pub tokens: u64,
    /// Wall-clock seconds of training so far (all sessions).
    pub elapsed_s: f64,
    /// Whether the run reached its step or time limit.
    pub finished: bool,
    /// Last validation bits per byte (first validation source).
    pub last_val_bpb: Option<f64>,
    /// Training tokens drawn from each source (runs from before mixtures
    /// count only from their first resume on).
    #[serde(default)]
    pub tokens_by_source: BTreeMap<String, u64>,
    /// CPU seconds (user + system) of the training processes so far (all
    /// sessions; 0 for runs from before it was counted).
    #[serde(default)]
    pub cpu_s: f64,
}

/// CPU seconds (user + system) this process has used so far (0 where the
/// platform does not say).
pub fn process_cpu_s() -> f64 {
    #[cfg(unix)]
    {
        let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a `rusage` into the pointer it is given.
        let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) } == 0;
        if ok {
            // SAFETY: initialised by the successful call above.
            let u = unsafe { u.assume_init() };
            let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
            return t(u.ru_utime) + t(u.ru_stime);
        }
    }
    0.0
}

/// Files of a run directory.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn config(&self) -> PathBuf {
        self.0.join("config.json")
    }
    pub fn state(&self) -> PathBuf {
        self.0.join("state.json")
    }
    /// Model record (without the `.mpk` the recorder adds).
    pub fn model(&self) -> PathBuf {
        self.0.join("model")
    }
    pub fn optim(&self) -> PathBuf {
        self.0.join("optim")
    }
    /// Float checkpoint of the fused engine.
    pub fn float_model(&self) -> PathBuf {
        self.0.join("model.float")
    }
    /// The fused engine's moving average of the weights (`--ema`).
    pub fn ema_model(&self) -> PathBuf {
        self.0.join("ema.float")
    }
    /// AdamW state of the fused engine.
    pub fn fused_optim(&self) -> PathBuf {
        self.0.join("adam.bin")
    }
    pub fn metrics(&self) -> PathBuf {
        self.0.join("metrics.csv")
    }
    pub fn plot(&self) -> PathBuf {
        self.0.join("val_bpb.png")
    }
    /// The tokenizer of a token-level run.
    pub fn tokenizer(&self) -> PathBuf {
        self.0.join("tokenizer.json")
    }

    /// Whether either engine has saved a checkpoint here.
    pub fn has_checkpoint(&self) -> bool {
        self.float_model().exists() || self.model().with_extension("mpk").exists()
    }

    /// The model saved here, by whichever engine wrote it last (`None`
    /// when the run has no checkpoint yet).
    pub fn load_float_model(&self, cfg: &TrainConfig) -> Result<Option<FloatModel>> {
        let (float, mpk) = (self.float_model(), self.model().with_extension("mpk"));
        let newer = |a: &PathBuf, b: &PathBuf| {
            let t = |p: &PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
            t(a) >= t(b)
        };
        if float.exists() && (!mpk.exists() || newer(&float, &mpk)) {
            return read_float_model(&float).map(Some);
        }
        if mpk.exists() {
            let device = backend::device();
            let lm = Lm::<Inner>::new(&cfg.model, &device)
                .load_file(self.model(), &recorder(), &device)
                .map_err(Error::record("load", &mpk))?;
            return Ok(Some(export::to_float_model(&lm)));
        }
        Ok(None)
    }
}

/// The recorder of Burn checkpoints (`model.mpk`, `optim.mpk`).
pub fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::<FullPrecisionSettings>::new()
}

/// Loads the config, progress and model of a run directory (its moving
/// average of the weights, when it keeps one).
pub fn load_run(dir: &Path) -> Result<(TrainConfig, RunState, FloatModel)> {
    let run = RunDir(dir.to_path_buf());
    let cfg = TrainConfig::read(&run.config())?;
    let st: RunState = read_json(&run.state())?;
    let fm = if cfg.ema > 0.0 && run.ema_model().exists() {
        read_float_model(&run.ema_model())?
    } else {
        run.load_float_model(&cfg)?
            .ok_or_else(|| Error::Run(format!("{} has no checkpoint", dir.display())))?
    };
    Ok((cfg, st, fm))
}

/// Reads a JSON file.
pub fn read_json<T: for<'a> Deserialize<'a>>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(Error::io("read", path))?;
    serde_json::from_str(&text).map_err(Error::json(path))
}

/// Writes a JSON file atomically (temp file + rename).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("serializable");
    write_atomic(path, text.as_bytes())
}

/// Writes a file atomically (temp file beside it + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes).map_err(Error::io("write", &tmp))?;
    fs::rename(&tmp, path).map_err(Error::io("write", path))
}

/// Reads a float model file (`export` writes them beside the int8 file,
/// the fused engine checkpoints one).
pub fn read_float_model(path: &Path) -> Result<FloatModel> {
    let bytes = fs::read(path).map_err(Error::io("read", path))?;
    FloatModel::from_bytes(&bytes)
        .map_err(|e| Error::Model(format!("{} is not a float model file: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("run-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A config as the single-source trainer wrote it, before engines.
    fn old_config() -> serde_json::Value {
        serde_json::json!({
            "model": Config::sized(32, 2, 2, 32, 128),
            "data": "../shared/data/enwik8/enwik8.head",
            "train_range": {"start": 0, "end": 3_600_000},
            "val_range": {"start": 3_600_000, "end": 4_154_399},
            "seq_len": 64, "batch": 8, "final_seq_len": 0, "final_frac": 0.0,
            "steps": 10, "time_budget_s": 0.0, "lr": 1e-3, "min_lr": 1e-4, "warmup": 1,
            "weight_decay": 0.1, "beta2": 0.99, "grad_clip": 1.0,
            "checkpoint_every_s": 300.0, "eval_every_s": 300.0, "val_chunks": 16, "seed": 1
        })
    }

    #[test]
    fn an_old_config_without_engine_is_a_burn_run() {
        let dir = temp("old");
        let path = dir.join("config.json");
        fs::write(&path, old_config().to_string()).unwrap();
        let cfg = TrainConfig::read(&path).unwrap();
        assert_eq!(cfg.engine, Engine::Burn);
        assert_eq!(cfg.train[0].range, Some(0..3_600_000));
        assert_eq!(cfg.val[0].range, Some(3_600_000..4_154_399));
        // Written back, the engine is its lower-case name and reads again.
        write_json(&path, &cfg).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"engine\": \"burn\""), "{text}");
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["engine"] = "fused".into();
        let cfg: TrainConfig = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(cfg.engine, Engine::Fused);
        v["engine"] = "tpu".into();
        fs::write(&path, v.to_string()).unwrap();
        let err = TrainConfig::read(&path).unwrap_err();
        assert!(matches!(err, Error::Json { .. }), "{err:?}");
        assert!(err.to_string().contains("config.json"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_shipped_models_configs_still_load() {
        let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
        for size in ["200k", "800k", "3m2"] {
            let cfg = TrainConfig::read(&results.join(format!("lm-{size}-config.json"))).unwrap();
            assert_eq!(cfg.engine, Engine::Fused, "{size}");
            assert_eq!(cfg.train[0].range, Some(0..3_600_000), "{size}");
        }
    }

    #[test]
    fn errors_name_the_file_at_fault() {
        let dir = temp("errors");
        let missing = dir.join("no-such-run");
        let err = load_run(&missing).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("cannot read ") && msg.contains("no-such-run/config.json"),
            "{msg}"
        );
        assert!(std::error::Error::source(&err).is_some());

        let junk = dir.join("junk.float");
        fs::write(&junk, b"not a model").unwrap();
        let err = read_float_model(&junk).unwrap_err();
        assert!(matches!(err, Error::Model(_)), "{err:?}");
        assert!(err.to_string().contains("junk.float"), "{err}");

        // A run with a config and state but no checkpoint.
        let run = RunDir(dir.join("empty"));
        fs::create_dir_all(&run.0).unwrap();
        fs::write(run.config(), old_config().to_string()).unwrap();
        write_json(&run.state(), &RunState::default()).unwrap();
        let err = load_run(&run.0).unwrap_err();
        assert!(matches!(err, Error::Run(_)), "{err:?}");
        assert!(err.to_string().contains("has no checkpoint"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
