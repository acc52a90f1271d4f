//! The training loop: AdamW, warm-up + cosine, gradient clipping, optional
//! longer sequences at the end, checkpoints with resume, a validation curve.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use model_int8::{Config, FloatModel};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::data;
use crate::learner::{self, Learner};
use crate::mixture::{self, Mixture, Source};
use crate::plot;

/// Everything that defines a training run; saved as `config.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Model hyper-parameters.
    pub model: Config,
    /// Training sources, sampled by weight ([`Mixture`]).
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
    /// Training engine: "fused" (hand-fused CPU kernels) or "burn".
    #[serde(default = "burn_engine")]
    pub engine: String,
    /// Worker threads of the fused engine (0: all cores).
    #[serde(default)]
    pub threads: usize,
    /// Residual dropout probability (0: none).
    #[serde(default)]
    pub dropout: f32,
}

/// Runs written before the fused engine existed were Burn runs.
fn burn_engine() -> String {
    "burn".into()
}

impl TrainConfig {
    /// Reads a run's `config.json`, also in the single-source form of runs
    /// written before mixtures (`data`, `train_range`, `val_range`).
    pub fn read(path: &Path) -> Result<Self, String> {
        let mut v: serde_json::Value = read_json(path)?;
        if let Some(obj) = v.as_object_mut() {
            if let Some(data) = obj.remove("data") {
                let data: PathBuf = serde_json::from_value(data)
                    .map_err(|e| format!("bad data path in {}: {e}", path.display()))?;
                let range = |obj: &mut serde_json::Map<_, _>, key: &str| {
                    obj.remove(key)
                        .map(serde_json::from_value::<Range<usize>>)
                        .transpose()
                        .map_err(|e| format!("bad {key} in {}: {e}", path.display()))
                };
                let train = range(obj, "train_range")?;
                let val = range(obj, "val_range")?;
                let to = |r, w| serde_json::to_value(vec![Source::new("enwik8", &data, r, w)]);
                obj.insert("train".into(), to(train, 1.0).expect("serializable"));
                obj.insert("val".into(), to(val, 0.0).expect("serializable"));
            }
        }
        serde_json::from_value(v).map_err(|e| format!("bad run config {}: {e}", path.display()))
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
}

/// Learning rate at `step` with overall progress `p` in [0, 1].
pub fn learning_rate(cfg: &TrainConfig, step: u64, p: f64) -> f64 {
    if step < cfg.warmup {
        return cfg.lr * (step + 1) as f64 / cfg.warmup as f64;
    }
    let p = p.clamp(0.0, 1.0);
    cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + (std::f64::consts::PI * p).cos())
}

fn progress(cfg: &TrainConfig, st: &RunState) -> f64 {
    let by_steps = if cfg.steps > 0 {
        st.step as f64 / cfg.steps as f64
    } else {
        0.0
    };
    let by_time = if cfg.time_budget_s > 0.0 {
        st.elapsed_s / cfg.time_budget_s
    } else {
        0.0
    };
    by_steps.max(by_time)
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
}

/// Loads the config, progress and model of a run directory.
pub fn load_run(dir: &Path) -> Result<(TrainConfig, RunState, FloatModel), String> {
    let run = RunDir(dir.to_path_buf());
    let cfg = TrainConfig::read(&run.config())?;
    let st: RunState = read_json(&run.state())?;
    let fm = learner::load_float_model(&run, &cfg)?
        .ok_or_else(|| format!("{} has no checkpoint", dir.display()))?;
    Ok((cfg, st, fm))
}

/// Reads a JSON file.
pub fn read_json<T: for<'a> Deserialize<'a>>(path: &Path) -> Result<T, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("bad JSON in {}: {e}", path.display()))
}

/// Writes a JSON file atomically (temp file + rename).
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value).expect("serializable");
    fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Evenly spread 2048-byte validation chunks (at most `n`).
pub fn val_chunks(range: &Range<usize>, chunk: usize, n: usize) -> Vec<Range<usize>> {
    let all: Vec<_> = data::chunks(range, chunk)
        .into_iter()
        .filter(|r| r.len() == chunk)
        .collect();
    if n == 0 || all.len() <= n {
        return all;
    }
    (0..n).map(|i| all[i * all.len() / n].clone()).collect()
}

/// Options that only affect how a run is driven, not its result.
pub struct Driver {
    /// Show a progress bar.
    pub progress: bool,
    /// Print a line per validation.
    pub verbose: bool,
}

/// Validation data of a run: each source's bytes and evenly spread chunks.
pub struct ValSet {
    pub name: String,
    pub bytes: Vec<u8>,
    pub chunks: Vec<Range<usize>>,
}

/// The learner a run starts or continues with: its last checkpoint when
/// resuming, else `cfg.init_from` (a warm restart: the float model's
/// weights, a fresh optimizer), else a random initialisation.
pub fn open_learner(
    cfg: &TrainConfig,
    run: &RunDir,
    resuming: bool,
) -> Result<Box<dyn Learner>, String> {
    let has_checkpoint = [run.float_model(), run.model().with_extension("mpk")]
        .iter()
        .any(|p| p.exists());
    if !resuming && has_checkpoint {
        return Err(format!(
            "{} already holds a run's checkpoint: pass --resume to continue it, or give a new --run",
            run.0.display()
        ));
    }
    let start = if resuming {
        learner::load_float_model(run, cfg)?
    } else if let Some(path) = &cfg.init_from {
        let mut fm = read_float_model(path)?;
        // The attention window and the longest chunk hold no weights, so
        // a warm restart may change them.
        fm.config.window = cfg.model.window;
        fm.config.max_context = cfg.model.max_context;
        if fm.config != cfg.model {
            return Err(format!(
                "{} is a {:?} model, not the run's {:?}",
                path.display(),
                fm.config,
                cfg.model
            ));
        }
        Some(fm)
    } else {
        None
    };
    learner::open(cfg, run, start)
}

/// Reads a float model file (`export` writes them beside the int8 file).
pub fn read_float_model(path: &Path) -> Result<FloatModel, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    FloatModel::from_bytes(&bytes)
        .map_err(|e| format!("{} is not a float model file: {e}", path.display()))
}

/// Trains (or resumes) the run in `dir`. With `resume`, the config in the
/// directory is used, except for the limits given in `cfg`.
pub fn train(
    dir: &Path,
    mut cfg: TrainConfig,
    resume: bool,
    driver: &Driver,
) -> Result<RunState, String> {
    let run = RunDir(dir.to_path_buf());
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;

    let resuming = resume && run.state().exists();
    let mut st = if resuming {
        let saved = TrainConfig::read(&run.config())?;
        // Limits, engine and threads may change on resume; the rest is
        // the saved run.
        let mut next = saved;
        next.steps = cfg.steps;
        next.time_budget_s = cfg.time_budget_s;
        next.engine = cfg.engine.clone();
        next.threads = cfg.threads;
        cfg = next;
        read_json::<RunState>(&run.state())?
    } else {
        RunState::default()
    };
    st.finished = false;
    mixture::check_disjoint(&cfg.train, &cfg.val)?;
    let mix = Mixture::load(&mut cfg.train)?;
    let config = cfg.model;
    let vals = cfg
        .val
        .iter_mut()
        .map(|s| {
            let bytes = s.load()?;
            let chunks = val_chunks(
                &(0..bytes.len()),
                2048.min(config.max_context as usize),
                cfg.val_chunks,
            );
            Ok(ValSet {
                name: s.name.clone(),
                bytes,
                chunks,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut learner = open_learner(&cfg, &run, resuming)?;
    write_json(&run.config(), &cfg)?;

    let bos = config.vocab as i32;
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ st.step.wrapping_mul(0x9E37_79B9_7F4A_7C15));

    if !run.metrics().exists() {
        fs::write(run.metrics(), format!("{}\n", metrics_header(&vals)))
            .map_err(|e| format!("cannot write metrics: {e}"))?;
    }
    let bar = if driver.progress {
        let (len, unit) = if cfg.time_budget_s > 0.0 {
            (cfg.time_budget_s as u64, "s")
        } else {
            (cfg.steps, "steps")
        };
        let b = ProgressBar::new(len);
        b.set_style(
            ProgressStyle::with_template(&format!(
                "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit} ETA {{eta}} {{msg}}"
            ))
            .expect("valid template"),
        );
        b
    } else {
        ProgressBar::hidden()
    };

    let session_start = Instant::now();
    let base_elapsed = st.elapsed_s;
    let mut last_ckpt = session_start;
    let mut last_eval = session_start;
    let mut window_loss = 0f64;
    let mut window_steps = 0u64;
    let mut window_tokens = 0u64;
    let mut window_start = Instant::now();
    let mut rate = 0f64;
    loop {
        let p = progress(&cfg, &st);
        if (cfg.steps > 0 && st.step >= cfg.steps) || (cfg.time_budget_s > 0.0 && p >= 1.0) {
            st.finished = true;
            break;
        }
        if cfg.steps == 0 && cfg.time_budget_s <= 0.0 {
            return Err("give a step limit or a time budget".into());
        }
        let long = cfg.final_seq_len > 0 && p >= 1.0 - cfg.final_frac;
        let (len, batch) = if long {
            let len = cfg.final_seq_len;
            (len, (cfg.batch * cfg.seq_len / len).max(1))
        } else {
            (cfg.seq_len, cfg.batch)
        };
        let (inp, tgt) = mix.sample_batch(batch, len, bos, &mut rng, &mut st.tokens_by_source)?;
        let lr = learning_rate(&cfg, st.step, p);
        let seed = cfg.seed ^ st.step.wrapping_mul(0xA076_1D64_78BD_642F);
        let loss_val = learner.step(inp, tgt, batch, len, lr, seed);
        st.step += 1;
        st.tokens += (batch * len) as u64;
        st.elapsed_s = base_elapsed + session_start.elapsed().as_secs_f64();
        window_loss += loss_val as f64;
        window_steps += 1;
        window_tokens += (batch * len) as u64;
        if !loss_val.is_finite() {
            return Err(format!("loss is {loss_val} at step {}", st.step));
        }
        let ws = window_start.elapsed().as_secs_f64();
        if ws > 0.0 {
            rate = window_tokens as f64 / ws;
        }
        let train_bpb = window_loss / window_steps as f64 / std::f64::consts::LN_2;
        bar.set_position(if cfg.time_budget_s > 0.0 {
            st.elapsed_s as u64
        } else {
            st.step
        });
        bar.set_message(format!(
            "step {} loss {:.3} bpb {:.0} tok/s lr {:.2e}{}",
            st.step,
            train_bpb,
            rate,
            lr,
            st.last_val_bpb
                .map(|v| format!(" val {v:.3}"))
                .unwrap_or_default()
        ));

        let done_next = (cfg.steps > 0 && st.step >= cfg.steps)
            || (cfg.time_budget_s > 0.0 && progress(&cfg, &st) >= 1.0);
        let do_eval = done_next || last_eval.elapsed().as_secs_f64() >= cfg.eval_every_s;
        if do_eval {
            let vbpb: Vec<Option<f64>> = vals
                .iter()
                .map(|v| (!v.chunks.is_empty()).then(|| learner.val_bpb(&v.bytes, &v.chunks)))
                .collect();
            let val = vbpb.first().copied().flatten();
            st.last_val_bpb = val;
            let fmt = |v: &Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
            let mut line = format!(
                "{},{},{:.1},{:.3e},{:.4},{},{:.0}",
                st.step,
                st.tokens,
                st.elapsed_s,
                lr,
                train_bpb,
                fmt(&val),
                rate
            );
            for v in vbpb.iter().skip(1) {
                line.push(',');
                line.push_str(&fmt(v));
            }
            line.push('\n');
            fs::OpenOptions::new()
                .append(true)
                .open(run.metrics())
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(|e| format!("cannot write metrics: {e}"))?;
            if driver.verbose {
                say(
                    &bar,
                    format!(
                    "step {} tokens {} elapsed {:.0}s lr {:.2e} train {:.4} val {} ({:.0} tok/s)",
                    st.step,
                    st.tokens,
                    st.elapsed_s,
                    lr,
                    train_bpb,
                    vals.iter()
                        .zip(&vbpb)
                        .map(|(s, v)| format!("{} {}", s.name, fmt(v)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    rate
                ),
                );
            }
            if let Err(e) = plot::plot_metrics(&run.metrics(), &run.plot()) {
                say(&bar, format!("warning: plot not written: {e}"));
            }
            last_eval = Instant::now();
            window_loss = 0.0;
            window_steps = 0;
            window_tokens = 0;
            window_start = Instant::now();
        }
        if done_next || last_ckpt.elapsed().as_secs_f64() >= cfg.checkpoint_every_s {
            st.finished = done_next;
            save_checkpoint(&run, learner.as_mut(), &st)?;
            last_ckpt = Instant::now();
        }
    }
    bar.finish();
    save_checkpoint(&run, learner.as_mut(), &st)?;
    Ok(st)
}

/// The CSV header: `val_bpb` is the first validation source, then a
/// `val_NAME` column for each further one.
fn metrics_header(vals: &[ValSet]) -> String {
    let mut h = String::from("step,tokens,elapsed_s,lr,train_bpb,val_bpb,tokens_per_s");
    for v in vals.iter().skip(1) {
        h.push_str(",val_");
        h.push_str(&v.name);
    }
    h
}

/// Prints above the bar, or to stderr when there is no bar.
fn say(bar: &ProgressBar, msg: String) {
    if bar.is_hidden() {
        eprintln!("{msg}");
    } else {
        bar.println(msg);
    }
}

fn save_checkpoint(run: &RunDir, learner: &mut dyn Learner, st: &RunState) -> Result<(), String> {
    learner.save(run)?;
    write_json(&run.state(), st)
}
