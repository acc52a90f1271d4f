//! The training loop: AdamW, warm-up + cosine, gradient clipping, optional
//! longer sequences at the end, checkpoints with resume, a validation curve.

use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::data;
use crate::error::{Error, Result};
use crate::learner::{self, Learner};
use crate::metrics;
use crate::mixture::{self, Mixture, Source};
use crate::plot;
use crate::run::{read_float_model, read_json, write_json, RunDir, RunState, TrainConfig};

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
        let spent = if cfg.cpu_clock {
            st.cpu_s
        } else {
            st.elapsed_s
        };
        spent / cfg.time_budget_s
    } else {
        0.0
    };
    by_steps.max(by_time)
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

/// What a run reports while it trains, after every step.
#[derive(Clone, Debug)]
pub struct StepProgress {
    /// Optimizer steps done.
    pub step: u64,
    /// Training tokens seen.
    pub tokens: u64,
    /// Wall-clock seconds of training so far (all sessions).
    pub elapsed_s: f64,
    /// Share of the step or time limit done, in [0, 1].
    pub fraction: f64,
    /// Mean training bits per byte since the last validation.
    pub train_bpb: f64,
    /// Training tokens per second since the last validation.
    pub tokens_per_s: f64,
    /// This step's learning rate.
    pub lr: f64,
    /// Last validation bits per byte (first validation source).
    pub last_val_bpb: Option<f64>,
}

/// Watches a run: progress after each step, and a line of text per
/// validation and per warning. Options that only change how a run is
/// shown live here, not in [`TrainConfig`]. `()` watches silently.
pub trait Observer {
    /// Called after every optimizer step.
    fn step(&mut self, _progress: &StepProgress) {}
    /// A validation summary or a warning, one line.
    fn message(&mut self, _line: &str) {}
}

impl Observer for () {}

/// Validation data of a run: each source's bytes and evenly spread chunks
/// (and, for a token-level run, each chunk's tokens).
pub struct ValSet {
    pub name: String,
    pub bytes: Vec<u8>,
    pub chunks: Vec<Range<usize>>,
    /// Each chunk tokenized on its own (token-level runs).
    pub tokens: Option<Vec<Vec<i32>>>,
}

impl ValSet {
    /// Loads `source` (fixing an open range in place) and picks at most
    /// `n` evenly spread `chunk`-byte chunks of it ([`val_chunks`]).
    pub fn load(source: &mut Source, chunk: usize, n: usize) -> Result<Self> {
        let bytes = source.load()?;
        let chunks = val_chunks(&(0..bytes.len()), chunk, n);
        Ok(Self {
            name: source.name.clone(),
            bytes,
            chunks,
            tokens: None,
        })
    }

    /// Tokenizes each chunk on its own, as a token-level model codes it.
    pub fn tokenize(&mut self, bpe: &tokenize::Bpe) {
        self.tokens = Some(
            self.chunks
                .iter()
                .map(|r| {
                    bpe.encode(&self.bytes[r.clone()])
                        .into_iter()
                        .map(|t| t as i32)
                        .collect()
                })
                .collect(),
        );
    }

    /// Bits per raw byte of the chunks under `learner`: for a token-level
    /// run, the bits of the chunks' token streams over their bytes.
    pub fn bpb(&self, learner: &mut dyn Learner) -> f64 {
        match &self.tokens {
            None => learner.val_bpb(&self.bytes, &self.chunks),
            Some(t) => {
                let bytes: usize = self.chunks.iter().map(|r| r.len()).sum();
                learner.val_bits_tokens(t) / bytes as f64
            }
        }
    }
}

/// The tokenizer of a token-level run (`None` for bytes): a new run
/// copies `cfg.tokenizer` into the run directory, a resumed one reads its
/// copy. Its vocabulary must be the model's.
pub fn open_tokenizer(
    cfg: &TrainConfig,
    run: &RunDir,
    resuming: bool,
) -> Result<Option<tokenize::Bpe>> {
    let Some(src) = &cfg.tokenizer else {
        return Ok(None);
    };
    let copy = run.tokenizer();
    let path = if resuming && copy.exists() {
        &copy
    } else {
        src
    };
    let bpe = tokenize::Bpe::load(path).map_err(|e| Error::Data(e.to_string()))?;
    if bpe.vocab() != cfg.model.vocab as usize {
        return Err(Error::Model(format!(
            "{} has {} tokens but the model predicts {}",
            path.display(),
            bpe.vocab(),
            cfg.model.vocab
        )));
    }
    if path != &copy {
        bpe.save(&copy).map_err(|e| Error::Data(e.to_string()))?;
    }
    Ok(Some(bpe))
}

/// The learner a run starts or continues with: its last checkpoint when
/// resuming, else `cfg.init_from` (a warm restart: the float model's
/// weights, a fresh optimizer), else a random initialisation.
pub fn open_learner(cfg: &TrainConfig, run: &RunDir, resuming: bool) -> Result<Box<dyn Learner>> {
    if !resuming && run.has_checkpoint() {
        return Err(Error::Run(format!(
            "{} already holds a run's checkpoint: pass --resume to continue it, or give a new --run",
            run.0.display()
        )));
    }
    let start = if resuming {
        run.load_float_model(cfg)?
    } else if let Some(path) = &cfg.init_from {
        let mut fm = read_float_model(path)?;
        // The attention window and the longest chunk hold no weights, so
        // a warm restart may change them.
        fm.config.window = cfg.model.window;
        fm.config.max_context = cfg.model.max_context;
        if fm.config != cfg.model {
            return Err(Error::Model(format!(
                "{} is a {:?} model, not the run's {:?}",
                path.display(),
                fm.config,
                cfg.model
            )));
        }
        Some(fm)
    } else {
        None
    };
    learner::open(cfg, run, start)
}

/// Trains (or resumes) the run in `dir`. With `resume`, the config in the
/// directory is used, except for the limits, engine and threads given in
/// `cfg` (no limits and threads 0 keep the run's). `observer` sees the progress.
pub fn train(
    dir: &Path,
    mut cfg: TrainConfig,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<RunState> {
    let run = RunDir(dir.to_path_buf());
    fs::create_dir_all(dir).map_err(Error::io("create", dir))?;

    let resuming = resume && run.state().exists();
    let mut st = if resuming {
        let saved = TrainConfig::read(&run.config())?;
        // Limits, engine and threads may change on resume, and a moving
        // average or the CPU clock may be turned on; the rest is the saved
        // run. No limit given keeps the run's own, and threads 0 (the
        // default) keep its threads, so a bare `--resume` finishes the
        // run as it was started.
        let mut next = saved;
        if cfg.steps > 0 || cfg.time_budget_s > 0.0 {
            next.steps = cfg.steps;
            next.time_budget_s = cfg.time_budget_s;
        }
        next.engine = cfg.engine;
        if cfg.threads > 0 {
            next.threads = cfg.threads;
        }
        next.cpu_clock |= cfg.cpu_clock;
        if cfg.ema > 0.0 {
            next.ema = cfg.ema;
        }
        cfg = next;
        read_json::<RunState>(&run.state())?
    } else {
        RunState::default()
    };
    st.finished = false;
    if cfg.steps == 0 && cfg.time_budget_s <= 0.0 {
        return Err(Error::Usage("give a step limit or a time budget".into()));
    }
    mixture::check_disjoint(&cfg.train, &cfg.val)?;
    let mut mix = Mixture::load(&mut cfg.train)?;
    let config = cfg.model;
    let chunk = 2048.min(config.max_context as usize);
    let mut vals = cfg
        .val
        .iter_mut()
        .map(|s| ValSet::load(s, chunk, cfg.val_chunks))
        .collect::<Result<Vec<_>>>()?;
    if let Some(bpe) = open_tokenizer(&cfg, &run, resuming)? {
        mix.tokenize(&bpe, dir)?;
        for v in &mut vals {
            v.tokenize(&bpe);
        }
    }
    let mut learner = open_learner(&cfg, &run, resuming)?;
    write_json(&run.config(), &cfg)?;

    let bos = config.vocab as i32;
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ st.step.wrapping_mul(0x9E37_79B9_7F4A_7C15));

    if !run.metrics().exists() {
        let val_names: Vec<&str> = vals.iter().map(|v| v.name.as_str()).collect();
        fs::write(run.metrics(), format!("{}\n", metrics::header(&val_names)))
            .map_err(Error::io("write", &run.metrics()))?;
    }

    let session_start = Instant::now();
    let base_elapsed = st.elapsed_s;
    let (base_cpu, session_cpu) = (st.cpu_s, crate::run::process_cpu_s());
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
        st.cpu_s = base_cpu + (crate::run::process_cpu_s() - session_cpu);
        window_loss += loss_val as f64;
        window_steps += 1;
        window_tokens += (batch * len) as u64;
        if !loss_val.is_finite() {
            return Err(Error::Diverged {
                step: st.step,
                loss: loss_val,
            });
        }
        let ws = window_start.elapsed().as_secs_f64();
        if ws > 0.0 {
            rate = window_tokens as f64 / ws;
        }
        let train_bpb = window_loss / window_steps as f64 / std::f64::consts::LN_2;
        observer.step(&StepProgress {
            step: st.step,
            tokens: st.tokens,
            elapsed_s: st.elapsed_s,
            fraction: progress(&cfg, &st).min(1.0),
            train_bpb,
            tokens_per_s: rate,
            lr,
            last_val_bpb: st.last_val_bpb,
        });

        let done_next = (cfg.steps > 0 && st.step >= cfg.steps)
            || (cfg.time_budget_s > 0.0 && progress(&cfg, &st) >= 1.0);
        let do_eval = done_next || last_eval.elapsed().as_secs_f64() >= cfg.eval_every_s;
        if do_eval {
            let vbpb: Vec<Option<f64>> = vals
                .iter()
                .map(|v| (!v.chunks.is_empty()).then(|| v.bpb(learner.as_mut())))
                .collect();
            let val = vbpb.first().copied().flatten();
            st.last_val_bpb = val;
            let line = metrics::Row {
                step: st.step,
                tokens: st.tokens,
                elapsed_s: st.elapsed_s,
                lr,
                train_bpb,
                val: vbpb.clone(),
                tokens_per_s: rate,
            }
            .line();
            fs::OpenOptions::new()
                .append(true)
                .open(run.metrics())
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(Error::io("write", &run.metrics()))?;
            observer.message(&format!(
                "step {} tokens {} elapsed {:.0}s lr {:.2e} train {:.4} val {} ({:.0} tok/s)",
                st.step,
                st.tokens,
                st.elapsed_s,
                lr,
                train_bpb,
                vals.iter()
                    .zip(&vbpb)
                    .map(|(s, v)| match v {
                        Some(v) => format!("{} {v:.4}", s.name),
                        None => format!("{} -", s.name),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                rate
            ));
            if let Err(e) = plot::plot_metrics(&run.metrics(), &run.plot()) {
                observer.message(&format!("warning: plot not written: {e}"));
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
    save_checkpoint(&run, learner.as_mut(), &st)?;
    Ok(st)
}

fn save_checkpoint(run: &RunDir, learner: &mut dyn Learner, st: &RunState) -> Result<()> {
    learner.save(run)?;
    write_json(&run.state(), st)
}
