//! The fused CPU engine: the whole model's forward and backward pass
//! written by hand over flat `f32` parameters, with matrix products in
//! `matrixmultiply` and the batch split across threads.
//!
//! Burn's ndarray backend runs this model's many small element-wise ops
//! (softmax, RoPE, norms, GELU, copies) one tensor at a time on one
//! thread; fusing them here is what makes CPU training fast. The engine
//! computes exactly the function of [`crate::model::Lm`] (tested against
//! Burn's autodiff gradients), so checkpoints convert both ways through
//! [`layout::Layout`].

mod attention;
mod engine;
mod kernels;
pub mod layout;
pub mod optim;

pub use engine::{Dropout, Engine};
pub use layout::Layout;
pub use optim::AdamW;

use std::ops::Range;

/// Total bits (`-log2 p`) of every byte of `chunks` of `data`, each coded
/// from BOS, chunks of equal length batched `batch` at a time.
pub fn bits(
    engine: &mut Engine,
    params: &[f32],
    data: &[u8],
    chunks: &[Range<usize>],
    batch: usize,
) -> f64 {
    let bos = engine.layout().config.vocab as i32;
    let mut total = 0f64;
    let mut i = 0;
    while i < chunks.len() {
        let len = chunks[i].len();
        let mut j = i;
        while j < chunks.len() && j - i < batch && chunks[j].len() == len {
            j += 1;
        }
        let (mut inputs, mut targets) = (Vec::new(), Vec::new());
        for r in &chunks[i..j] {
            let bytes = &data[r.clone()];
            inputs.push(bos);
            inputs.extend(bytes[..len - 1].iter().map(|&b| b as i32));
            targets.extend(bytes.iter().map(|&b| b as i32));
        }
        let n = j - i;
        let mean = engine.loss(params, &inputs, &targets, n, len) as f64;
        total += mean * (n * len) as f64 / std::f64::consts::LN_2;
        i = j;
    }
    total
}

/// Total bits (`-log2 p`) of every token of `seqs`, each sequence coded
/// from BOS (one at a time: their lengths differ).
pub fn token_bits(engine: &mut Engine, params: &[f32], seqs: &[Vec<i32>]) -> f64 {
    let bos = engine.layout().config.vocab as i32;
    let mut total = 0f64;
    for seq in seqs.iter().filter(|s| !s.is_empty()) {
        let len = seq.len();
        let mut inputs = Vec::with_capacity(len);
        inputs.push(bos);
        inputs.extend_from_slice(&seq[..len - 1]);
        let mean = engine.loss(params, &inputs, seq, 1, len) as f64;
        total += mean * len as f64 / std::f64::consts::LN_2;
    }
    total
}
