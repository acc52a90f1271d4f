//! Host trainer for the byte-level Transformers of `docs/ARCHITECTURE.md`:
//! trains them with the hand-fused CPU engine ([`fused`], the CPU default)
//! or Burn's autodiff ([`model`], on `burn-ndarray` or, with the `cuda`
//! feature, `burn-cuda`), and exports the float model and the int8 model of
//! `model-int8`. The two engines compute the same function
//! (`tests/fused_agreement.rs`) and share checkpoints ([`learner`]).
//!
//! The main entry point is [`train::train`]: it trains (or resumes) a run
//! directory ([`run`]: `config.json`, `state.json`, checkpoints, metrics)
//! and reports progress to an [`train::Observer`] (the `trainer` binary
//! draws a progress bar; `()` stays silent). [`ship::export_run`] turns a
//! run into model files. Every fallible function returns the one
//! [`Error`], whose message names the file or option at fault.
//!
//! ```
//! use trainer::mixture::Source;
//! use trainer::run::{Engine, TrainConfig};
//! use trainer::train::{self, Observer, StepProgress};
//!
//! // A tiny model trained for 30 steps on a few KB of real text.
//! let dir = std::env::temp_dir().join(format!("trainer-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let text = dir.join("text");
//! std::fs::write(&text, include_str!("../README.md").repeat(2))?;
//! let len = std::fs::metadata(&text)?.len() as usize;
//! let cfg = TrainConfig {
//!     model: model_int8::Config::sized(32, 1, 2, 32, 128),
//!     train: vec![Source::new("readme", &text, Some(0..len * 3 / 4), 1.0)],
//!     val: vec![Source::new("readme", &text, Some(len * 3 / 4..len), 1.0)],
//!     init_from: None,
//!     seq_len: 64, batch: 4, final_seq_len: 0, final_frac: 0.0,
//!     steps: 30, time_budget_s: 0.0,
//!     lr: 1e-2, min_lr: 1e-3, warmup: 5, weight_decay: 0.01, beta2: 0.99, grad_clip: 1.0,
//!     checkpoint_every_s: 1e9, eval_every_s: 1e9, val_chunks: 2, seed: 1,
//!     engine: Engine::Fused, threads: 1, dropout: 0.0, tokenizer: None, cpu_clock: false,
//!     ema: 0.0,
//! };
//!
//! // Collects the training loss of every step.
//! struct Losses(Vec<f64>);
//! impl Observer for Losses {
//!     fn step(&mut self, p: &StepProgress) {
//!         self.0.push(p.train_bpb);
//!     }
//! }
//! let mut losses = Losses(Vec::new());
//! let st = train::train(&dir.join("run"), cfg, false, &mut losses)?;
//! assert_eq!((st.step, losses.0.len()), (30, 30));
//! assert!(st.last_val_bpb.unwrap() < 8.0);
//!
//! // The run directory now holds a checkpoint: a new run there is refused.
//! let (cfg, _, _) = trainer::run::load_run(&dir.join("run"))?;
//! let err = train::train(&dir.join("run"), cfg, false, &mut ()).unwrap_err();
//! assert!(matches!(err, trainer::Error::Run(_)), "{err}");
//! std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! One optimizer step of the fused engine, without a run directory:
//!
//! ```
//! use model_int8::Config;
//! use trainer::fused::{AdamW, Engine};
//!
//! // One training step of a tiny model on a few bytes of text.
//! let config = Config::sized(32, 2, 2, 32, 128);
//! let mut engine = Engine::new(&config, 2).unwrap();
//! let layout = engine.layout().clone();
//! let mut params = layout.init(1);
//! let mut grad = vec![0.0; layout.len];
//! let text = b"byte-level language models compress text";
//! let inputs: Vec<i32> = std::iter::once(256).chain(text[..text.len() - 1].iter().map(|&b| b as i32)).collect();
//! let targets: Vec<i32> = text.iter().map(|&b| b as i32).collect();
//! let before = engine.loss_and_grad(&params, &inputs, &targets, 1, text.len(), &mut grad);
//! let mut adam = AdamW::new(layout.len, 0.99, 0.0, 1.0);
//! adam.step(1e-2, &mut params, &mut grad, &layout.tensors());
//! let after = engine.loss(&params, &inputs, &targets, 1, text.len());
//! assert!(after < before);
//! ```

pub mod average;
pub mod backend;
pub mod bench;
pub mod compare;
pub mod data;
pub mod error;
pub mod eval;
pub mod export;
pub mod fused;
pub mod history;
pub mod int8eval;
pub mod learner;
pub mod metrics;
pub mod mixture;
pub mod model;
pub mod plot;
pub mod run;
pub mod ship;
pub mod train;

pub use error::Error;
