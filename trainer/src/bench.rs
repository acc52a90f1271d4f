//! Training throughput: tokens per second of full training steps
//! (forward, backward, AdamW update) at a given size and context.

use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor, TensorData};
use model_int8::Config;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::backend::{self, Train};
use crate::data;
use crate::error::Result;
use crate::model::{Aux, Lm};

/// Median tokens/s over `steps` timed steps (after one warm-up step) of
/// `batch` sequences of `len` positions sampled from `bytes`.
pub fn train_throughput(
    config: &Config,
    bytes: &[u8],
    len: usize,
    batch: usize,
    steps: usize,
) -> f64 {
    let device = backend::device();
    let mut model = Lm::<Train>::new(config, &device);
    let mut optim = AdamWConfig::new().init::<Train, Lm<Train>>();
    let aux = Aux::<Train>::new(config, len, &device);
    let mut rng = StdRng::seed_from_u64(1);
    let range = 0..bytes.len();
    let mut rates = Vec::new();
    for i in 0..=steps {
        let (inp, tgt) =
            data::sample_batch(bytes, &range, batch, len, config.vocab as i32, &mut rng);
        let t = Instant::now();
        let inp = Tensor::<Train, 2, Int>::from_data(TensorData::new(inp, [batch, len]), &device);
        let tgt = Tensor::<Train, 2, Int>::from_data(TensorData::new(tgt, [batch, len]), &device);
        let loss = model.loss(inp, tgt, &aux);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        if i > 0 {
            rates.push((batch * len) as f64 / t.elapsed().as_secs_f64());
        }
    }
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// As [`train_throughput`], for the fused CPU engine with `threads`
/// worker threads (forward, backward and AdamW update).
pub fn fused_throughput(
    config: &Config,
    bytes: &[u8],
    len: usize,
    batch: usize,
    steps: usize,
    threads: usize,
) -> Result<f64> {
    let mut engine = crate::fused::Engine::new(config, threads)?;
    let layout = engine.layout().clone();
    let tensors = layout.tensors();
    let mut params = layout.init(1);
    let mut grad = vec![0f32; layout.len];
    let mut optim = crate::fused::AdamW::new(layout.len, 0.99, 0.01, 1.0);
    let mut rng = StdRng::seed_from_u64(1);
    let range = 0..bytes.len();
    let mut rates = Vec::new();
    for i in 0..=steps {
        let (inp, tgt) =
            data::sample_batch(bytes, &range, batch, len, config.vocab as i32, &mut rng);
        let t = Instant::now();
        engine.loss_and_grad(&params, &inp, &tgt, batch, len, &mut grad);
        optim.step(1e-3, &mut params, &mut grad, &tensors);
        if i > 0 {
            rates.push((batch * len) as f64 / t.elapsed().as_secs_f64());
        }
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}
