//! Float bits per byte of a Burn model on chunks coded from an empty
//! context (BOS first), with the model's attention window.

use std::ops::Range;

use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::model::{Aux, Lm};

/// Total bits (`-log2 p`) of every byte of every chunk, each coded from
/// BOS. Chunks of equal length are batched `batch` at a time.
pub fn chunk_bits<B: Backend>(
    model: &Lm<B>,
    data: &[u8],
    chunks: &[Range<usize>],
    batch: usize,
    device: &B::Device,
) -> f64 {
    let config = model.config();
    let bos = config.vocab as i32;
    let mut total = 0f64;
    let mut i = 0;
    let mut aux: Option<Aux<B>> = None;
    while i < chunks.len() {
        let len = chunks[i].len();
        let mut j = i;
        while j < chunks.len() && j - i < batch && chunks[j].len() == len {
            j += 1;
        }
        let group = &chunks[i..j];
        if aux.as_ref().is_none_or(|a| a.len() < len) {
            aux = Some(Aux::new(&config, len, device));
        }
        let mut inputs = Vec::with_capacity(group.len() * len);
        let mut targets = Vec::with_capacity(group.len() * len);
        for r in group {
            let bytes = &data[r.clone()];
            inputs.push(bos);
            inputs.extend(bytes[..len - 1].iter().map(|&b| b as i32));
            targets.extend(bytes.iter().map(|&b| b as i32));
        }
        let n = group.len();
        let inputs = Tensor::<B, 2, Int>::from_data(TensorData::new(inputs, [n, len]), device);
        let targets =
            Tensor::<B, 2, Int>::from_data(TensorData::new(targets, [n * len, 1]), device);
        let logits = model.forward(inputs, aux.as_ref().expect("built above"));
        let v = config.vocab as usize;
        let logp = log_softmax(logits.reshape([n * len, v]), 1).gather(1, targets);
        let nats: f32 = logp.sum().into_scalar().to_f32_lossy();
        total += -(nats as f64) / std::f64::consts::LN_2;
        i = j;
    }
    total
}

/// Total bits (`-log2 p`) of token sequences, each coded from BOS, one
/// at a time (their lengths differ).
pub fn token_bits<B: Backend>(model: &Lm<B>, seqs: &[Vec<i32>], device: &B::Device) -> f64 {
    let config = model.config();
    let bos = config.vocab as i32;
    let v = config.vocab as usize;
    let mut total = 0f64;
    for seq in seqs.iter().filter(|s| !s.is_empty()) {
        let len = seq.len();
        let aux = Aux::new(&config, len, device);
        let mut inputs = Vec::with_capacity(len);
        inputs.push(bos);
        inputs.extend_from_slice(&seq[..len - 1]);
        let inputs = Tensor::<B, 2, Int>::from_data(TensorData::new(inputs, [1, len]), device);
        let targets =
            Tensor::<B, 2, Int>::from_data(TensorData::new(seq.clone(), [len, 1]), device);
        let logits = model.forward(inputs, &aux);
        let logp = log_softmax(logits.reshape([len, v]), 1).gather(1, targets);
        let nats: f32 = logp.sum().into_scalar().to_f32_lossy();
        total += -(nats as f64) / std::f64::consts::LN_2;
    }
    total
}

trait ToF32 {
    fn to_f32_lossy(self) -> f32;
}

impl<E: burn::tensor::ElementConversion> ToF32 for E {
    fn to_f32_lossy(self) -> f32 {
        self.elem::<f32>()
    }
}

/// Bits per byte over `chunks`.
pub fn bits_per_byte<B: Backend>(
    model: &Lm<B>,
    data: &[u8],
    chunks: &[Range<usize>],
    batch: usize,
    device: &B::Device,
) -> f64 {
    let bytes: usize = chunks.iter().map(|r| r.len()).sum();
    chunk_bits(model, data, chunks, batch, device) / bytes as f64
}
