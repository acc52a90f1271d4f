//! What the training loop drives: a model, its optimizer and its
//! checkpoint files, on one of two engines.
//!
//! - [`BurnLearner`]: `trainer::model::Lm` under Burn's autodiff and
//!   AdamW (any backend: ndarray on the CPU, CUDA with `--features cuda`).
//! - [`FusedLearner`]: the hand-fused CPU engine of [`crate::fused`] with
//!   its own AdamW, ~10x faster than Burn's ndarray backend on this model.
//!
//! Both compute the same function and save a float model, so a run can
//! move between engines (the optimizer state restarts on a switch).

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use burn::grad_clipping::GradientClippingConfig;
use burn::module::{AutodiffModule, Module};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::record::Recorder;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use model_int8::FloatModel;

use crate::backend::{self, Inner, Train};
use crate::error::{Error, Result};
use crate::model::{Aux, Lm};
use crate::run::{recorder, Engine, RunDir, TrainConfig};
use crate::{eval, export, fused};

/// A model being trained.
pub trait Learner {
    /// One optimizer step on `batch` sequences of `len` tokens; returns
    /// the mean loss in nats. `seed` draws this step's dropout masks.
    fn step(
        &mut self,
        inputs: Vec<i32>,
        targets: Vec<i32>,
        batch: usize,
        len: usize,
        lr: f64,
        seed: u64,
    ) -> f32;
    /// Bits per byte over `chunks` of `bytes`, each coded from BOS.
    fn val_bpb(&mut self, bytes: &[u8], chunks: &[Range<usize>]) -> f64;
    /// Total bits (`-log2 p`) of token sequences, each coded from BOS.
    fn val_bits_tokens(&mut self, seqs: &[Vec<i32>]) -> f64;
    /// Writes the model and optimizer state into the run directory
    /// (temporary names, then renames).
    fn save(&mut self, run: &RunDir) -> Result<()>;
    /// The current parameters as a float model.
    fn float_model(&self) -> FloatModel;
}

/// Builds the learner for `cfg.engine`, starting from `start` (else a
/// random initialisation). The optimizer state in `run` is picked up only
/// when `start` is that run's own checkpoint.
pub fn open(
    cfg: &TrainConfig,
    run: &RunDir,
    start: Option<FloatModel>,
) -> Result<Box<dyn Learner>> {
    Ok(match cfg.engine {
        Engine::Burn if cfg.ema > 0.0 => {
            return Err(Error::Usage(
                "--ema (a moving average of the weights) needs --engine fused".into(),
            ))
        }
        Engine::Burn => Box::new(BurnLearner::new(cfg, run, start)?),
        Engine::Fused => Box::new(FusedLearner::new(cfg, run, start)?),
    })
}

fn rename(a: &Path, b: &Path) -> Result<()> {
    fs::rename(a, b).map_err(Error::io("rename", a))
}

type BurnOptim = OptimizerAdaptor<AdamW, Lm<Train>, Train>;

/// Burn's autodiff and AdamW.
pub struct BurnLearner {
    model: Option<Lm<Train>>,
    optim: BurnOptim,
    aux: Option<Aux<Train>>,
    device: backend::Device,
    dropout: f64,
}

impl BurnLearner {
    fn new(cfg: &TrainConfig, run: &RunDir, start: Option<FloatModel>) -> Result<Self> {
        let device = backend::device();
        let clip = (cfg.grad_clip > 0.0).then_some(GradientClippingConfig::Norm(cfg.grad_clip));
        let mut optim = AdamWConfig::new()
            .with_beta_2(cfg.beta2)
            .with_epsilon(1e-8)
            .with_weight_decay(cfg.weight_decay)
            .with_grad_clipping(clip)
            .init::<Train, Lm<Train>>();
        let model = match start {
            Some(fm) => {
                // The optimizer state only matches a Burn checkpoint.
                let mpk = run.optim().with_extension("mpk");
                if mpk.exists() && !run.float_model().exists() {
                    let rec = recorder()
                        .load(run.optim(), &device)
                        .map_err(Error::record("load", &mpk))?;
                    optim = optim.load_record(rec);
                }
                export::from_float_model::<Train>(&fm, &device)?
            }
            None => Lm::<Train>::new(&cfg.model, &device),
        };
        Ok(Self {
            model: Some(model),
            optim,
            aux: None,
            device,
            dropout: cfg.dropout as f64,
        })
    }

    fn model(&self) -> &Lm<Train> {
        self.model
            .as_ref()
            .expect("model is only taken during a step")
    }
}

impl Learner for BurnLearner {
    fn step(
        &mut self,
        inputs: Vec<i32>,
        targets: Vec<i32>,
        batch: usize,
        len: usize,
        lr: f64,
        seed: u64,
    ) -> f32 {
        let model = self.model.take().expect("model present");
        if self.dropout > 0.0 {
            <Train as burn::tensor::backend::Backend>::seed(&self.device, seed);
        }
        if self.aux.as_ref().is_none_or(|a| a.len() != len) {
            self.aux = Some(Aux::new(&model.config(), len, &self.device));
        }
        let aux = self.aux.as_ref().expect("built above");
        let inp =
            Tensor::<Train, 2, Int>::from_data(TensorData::new(inputs, [batch, len]), &self.device);
        let tgt = Tensor::<Train, 2, Int>::from_data(
            TensorData::new(targets, [batch, len]),
            &self.device,
        );
        let loss = model.loss_with_dropout(inp, tgt, aux, self.dropout);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let value: f32 = loss.into_scalar().elem();
        self.model = Some(self.optim.step(lr, model, grads));
        value
    }

    fn val_bpb(&mut self, bytes: &[u8], chunks: &[Range<usize>]) -> f64 {
        let valid = self.model().valid();
        eval::bits_per_byte::<Inner>(&valid, bytes, chunks, 4, &self.device)
    }

    fn val_bits_tokens(&mut self, seqs: &[Vec<i32>]) -> f64 {
        let valid = self.model().valid();
        eval::token_bits::<Inner>(&valid, seqs, &self.device)
    }

    fn save(&mut self, run: &RunDir) -> Result<()> {
        let tmp_model = run.0.join("model-tmp");
        let tmp_optim = run.0.join("optim-tmp");
        self.model()
            .clone()
            .save_file(&tmp_model, &recorder())
            .map_err(Error::record("save", &tmp_model.with_extension("mpk")))?;
        recorder()
            .record(self.optim.to_record(), tmp_optim.clone())
            .map_err(Error::record("save", &tmp_optim.with_extension("mpk")))?;
        rename(
            &tmp_model.with_extension("mpk"),
            &run.model().with_extension("mpk"),
        )?;
        rename(
            &tmp_optim.with_extension("mpk"),
            &run.optim().with_extension("mpk"),
        )?;
        // A stale float checkpoint of the other engine must not win.
        let _ = fs::remove_file(run.float_model());
        Ok(())
    }

    fn float_model(&self) -> FloatModel {
        export::to_float_model(self.model())
    }
}

/// The fused CPU engine and its AdamW.
pub struct FusedLearner {
    engine: fused::Engine,
    params: Vec<f32>,
    grad: Vec<f32>,
    optim: fused::AdamW,
    tensors: Vec<Range<usize>>,
    dropout: f32,
    /// The moving average of `params` (empty without `--ema`).
    ema: Vec<f32>,
    ema_decay: f32,
}

impl FusedLearner {
    fn new(cfg: &TrainConfig, run: &RunDir, start: Option<FloatModel>) -> Result<Self> {
        let config = cfg.model;
        let threads = if cfg.threads > 0 {
            cfg.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        let engine = fused::Engine::new(&config, threads)?;
        let layout = engine.layout().clone();
        let mut optim = fused::AdamW::new(layout.len, cfg.beta2, cfg.weight_decay, cfg.grad_clip);
        let own_checkpoint = run.float_model().exists();
        let params = match start {
            Some(fm) => {
                let adam = run.fused_optim();
                if adam.exists() && own_checkpoint {
                    let bytes = fs::read(&adam).map_err(Error::io("read", &adam))?;
                    optim.load_bytes(&bytes).map_err(|e| {
                        Error::Model(format!(
                            "{}: {e} (delete it to restart the optimizer)",
                            adam.display()
                        ))
                    })?;
                }
                layout.flatten(&fm)?
            }
            None => layout.init(cfg.seed),
        };
        // The average continues from the run's own checkpoint, else it
        // starts at the weights the run starts from.
        let ema = match cfg.ema > 0.0 {
            false => Vec::new(),
            true if own_checkpoint && run.ema_model().exists() => {
                let fm = crate::run::read_float_model(&run.ema_model())?;
                layout.flatten(&fm)?
            }
            true => params.clone(),
        };
        Ok(Self {
            engine,
            grad: vec![0.0; layout.len],
            params,
            optim,
            tensors: layout.tensors(),
            dropout: cfg.dropout,
            ema,
            ema_decay: cfg.ema,
        })
    }
}

/// The weights validation and export use: the average, if one is kept.
fn eval_weights<'a>(params: &'a [f32], ema: &'a [f32]) -> &'a [f32] {
    if ema.is_empty() {
        params
    } else {
        ema
    }
}

/// One step of an exponential moving average: `avg += (1 - decay) * (x - avg)`.
pub fn ema_update(avg: &mut [f32], x: &[f32], decay: f32) {
    let w = 1.0 - decay;
    for (a, &v) in avg.iter_mut().zip(x) {
        *a += w * (v - *a);
    }
}

impl Learner for FusedLearner {
    fn step(
        &mut self,
        inputs: Vec<i32>,
        targets: Vec<i32>,
        batch: usize,
        len: usize,
        lr: f64,
        seed: u64,
    ) -> f32 {
        let dropout = fused::Dropout {
            p: self.dropout,
            seed,
        };
        let loss = self.engine.loss_and_grad_dropout(
            &self.params,
            &inputs,
            &targets,
            batch,
            len,
            &mut self.grad,
            dropout,
        );
        self.optim
            .step(lr as f32, &mut self.params, &mut self.grad, &self.tensors);
        if !self.ema.is_empty() {
            ema_update(&mut self.ema, &self.params, self.ema_decay);
        }
        loss
    }

    fn val_bpb(&mut self, bytes: &[u8], chunks: &[Range<usize>]) -> f64 {
        let params = eval_weights(&self.params, &self.ema);
        fused::bits(&mut self.engine, params, bytes, chunks, 4)
            / chunks.iter().map(|r| r.len()).sum::<usize>() as f64
    }

    fn val_bits_tokens(&mut self, seqs: &[Vec<i32>]) -> f64 {
        let params = eval_weights(&self.params, &self.ema);
        fused::token_bits(&mut self.engine, params, seqs)
    }

    fn save(&mut self, run: &RunDir) -> Result<()> {
        let layout = self.engine.layout();
        let (tmp_float, tmp_adam) = (run.0.join("model-tmp.float"), run.0.join("adam-tmp.bin"));
        let tmp_ema = run.0.join("ema-tmp.float");
        let write = |p: &PathBuf, b: &[u8]| fs::write(p, b).map_err(Error::io("write", p));
        write(&tmp_float, &layout.unflatten(&self.params).to_bytes())?;
        write(&tmp_adam, &self.optim.to_bytes())?;
        if !self.ema.is_empty() {
            write(&tmp_ema, &layout.unflatten(&self.ema).to_bytes())?;
            rename(&tmp_ema, &run.ema_model())?;
        }
        rename(&tmp_adam, &run.fused_optim())?;
        rename(&tmp_float, &run.float_model())
    }

    fn float_model(&self) -> FloatModel {
        self.engine.layout().unflatten(&self.params)
    }
}
