//! The Burn model: exactly the architecture of `docs/ARCHITECTURE.md`
//! (pre-norm blocks, no biases, NeoX RoPE, banded causal attention).

use burn::module::Module;
use burn::nn::{
    Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
    RmsNorm, RmsNormConfig,
};
use burn::tensor::activation::{gelu, log_softmax, relu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};
use model_int8::numerics::rope_angle;
use model_int8::{Activation, Config, Norm};

/// The one normalization epsilon (`model_int8::NORM_EPS`), as Burn takes it.
const NORM_EPS: f64 = model_int8::NORM_EPS as f64;

/// RMSNorm or LayerNorm, as `Config::norm` says.
#[derive(Module, Debug)]
pub enum NormLayer<B: Backend> {
    /// RMSNorm (gain only).
    Rms(RmsNorm<B>),
    /// LayerNorm (gain and bias).
    Layer(LayerNorm<B>),
}

impl<B: Backend> NormLayer<B> {
    fn new(norm: Norm, d: usize, device: &B::Device) -> Self {
        match norm {
            Norm::Rms => Self::Rms(RmsNormConfig::new(d).with_epsilon(NORM_EPS).init(device)),
            Norm::Layer => Self::Layer(LayerNormConfig::new(d).with_epsilon(NORM_EPS).init(device)),
        }
    }

    fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Self::Rms(n) => n.forward(x),
            Self::Layer(n) => n.forward(x),
        }
    }
}

/// One pre-norm Transformer block.
#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    pub attn_norm: NormLayer<B>,
    pub wq: Linear<B>,
    pub wk: Linear<B>,
    pub wv: Linear<B>,
    pub wo: Linear<B>,
    pub ffn_norm: NormLayer<B>,
    pub w1: Linear<B>,
    pub w2: Linear<B>,
}

/// The byte-level language model.
#[derive(Module, Debug)]
pub struct Lm<B: Backend> {
    pub embedding: Embedding<B>,
    pub blocks: Vec<Block<B>>,
    pub final_norm: NormLayer<B>,
    pub head: Linear<B>,
    /// Hyper-parameters as [`Config::to_words`], so they live in the record.
    pub dims: Vec<usize>,
}

/// Position-dependent constants for one sequence length: RoPE tables and
/// the banded causal mask. Built once per length and reused.
#[derive(Clone, Debug)]
pub struct Aux<B: Backend> {
    /// `[1, 1, T, hd]`: cos, duplicated over both halves.
    cos: Tensor<B, 4>,
    /// `[1, 1, T, hd]`: sin, with the sign of the rotation folded in
    /// (`-sin` on the first half, `+sin` on the second).
    sin: Tensor<B, 4>,
    /// `[1, 1, T, T]`: true where attention is forbidden.
    mask: Tensor<B, 4, Bool>,
    len: usize,
}

impl<B: Backend> Aux<B> {
    /// Tables for sequences of `len` positions (from 0) of `config`.
    pub fn new(config: &Config, len: usize, device: &B::Device) -> Self {
        let hd = config.head_dim() as usize;
        let half = hd / 2;
        let mut cos = vec![0f32; len * hd];
        let mut sin = vec![0f32; len * hd];
        for pos in 0..len {
            for i in 0..half {
                let (s, c) = rope_angle(pos, i, hd, config.rope_base).sin_cos();
                cos[pos * hd + i] = c as f32;
                cos[pos * hd + i + half] = c as f32;
                sin[pos * hd + i] = -s as f32;
                sin[pos * hd + i + half] = s as f32;
            }
        }
        let window = config.window as usize;
        let mut mask = vec![false; len * len];
        for t in 0..len {
            for s in 0..len {
                mask[t * len + s] = s > t || t - s >= window;
            }
        }
        Self {
            cos: Tensor::from_data(TensorData::new(cos, [1, 1, len, hd]), device),
            sin: Tensor::from_data(TensorData::new(sin, [1, 1, len, hd]), device),
            mask: Tensor::from_data(TensorData::new(mask, [1, 1, len, len]), device),
            len,
        }
    }

    /// Sequence length these tables are for.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never empty (kept for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn linear<B: Backend>(i: usize, o: usize, std: f64, device: &B::Device) -> Linear<B> {
    LinearConfig::new(i, o)
        .with_bias(false)
        .with_initializer(Initializer::Normal { mean: 0.0, std })
        .init(device)
}

impl<B: Backend> Lm<B> {
    /// A freshly initialised model (GPT-2 style: N(0, 0.02), residual
    /// projections scaled by `1/sqrt(2 layers)`).
    pub fn new(config: &Config, device: &B::Device) -> Self {
        let d = config.d_model as usize;
        let f = config.d_ff as usize;
        let v = config.vocab as usize;
        let std = 0.02;
        let res_std = std / (2.0 * config.n_layers as f64).sqrt();
        let blocks = (0..config.n_layers)
            .map(|_| Block {
                attn_norm: NormLayer::new(config.norm, d, device),
                wq: linear(d, d, std, device),
                wk: linear(d, d, std, device),
                wv: linear(d, d, std, device),
                wo: linear(d, d, res_std, device),
                ffn_norm: NormLayer::new(config.norm, d, device),
                w1: linear(d, f, std, device),
                w2: linear(f, d, res_std, device),
            })
            .collect();
        Self {
            embedding: EmbeddingConfig::new(v + 1, d)
                .with_initializer(Initializer::Normal { mean: 0.0, std })
                .init(device),
            blocks,
            final_norm: NormLayer::new(config.norm, d, device),
            head: linear(d, v, std, device),
            dims: config.to_words().iter().map(|&w| w as usize).collect(),
        }
    }

    /// The hyper-parameters this model was built with.
    pub fn config(&self) -> Config {
        let mut w = [0u32; Config::WORDS];
        for (w, &d) in w.iter_mut().zip(&self.dims) {
            *w = d as u32;
        }
        Config::from_words(w).expect("the record holds the words of a valid config")
    }

    /// Logits `[B, T, vocab]` for input tokens `[B, T]` (position 0 first).
    pub fn forward(&self, tokens: Tensor<B, 2, Int>, aux: &Aux<B>) -> Tensor<B, 3> {
        self.forward_with_dropout(tokens, aux, 0.0)
    }

    /// [`Lm::forward`] with residual dropout of probability `p` on each
    /// block's attention and feed-forward outputs (active only under
    /// autodiff, like Burn's `Dropout`).
    pub fn forward_with_dropout(
        &self,
        tokens: Tensor<B, 2, Int>,
        aux: &Aux<B>,
        p: f64,
    ) -> Tensor<B, 3> {
        let drop = burn::nn::Dropout { prob: p };
        let config = self.config();
        let [b, t] = tokens.dims();
        assert!(t <= aux.len, "sequence longer than the position tables");
        let (cos, sin, mask) = if t == aux.len {
            (aux.cos.clone(), aux.sin.clone(), aux.mask.clone())
        } else {
            (
                aux.cos.clone().narrow(2, 0, t),
                aux.sin.clone().narrow(2, 0, t),
                aux.mask.clone().slice([0..1, 0..1, 0..t, 0..t]),
            )
        };
        let h_count = config.n_heads as usize;
        let d = config.d_model as usize;
        let hd = d / h_count;
        let scale = 1.0 / (hd as f64).sqrt();
        let mut h = self.embedding.forward(tokens);
        for blk in &self.blocks {
            let a = blk.attn_norm.forward(h.clone());
            let heads = |x: Tensor<B, 3>| x.reshape([b, t, h_count, hd]).swap_dims(1, 2);
            let q = rope(heads(blk.wq.forward(a.clone())), &cos, &sin).mul_scalar(scale);
            let k = rope(heads(blk.wk.forward(a.clone())), &cos, &sin);
            let v = heads(blk.wv.forward(a));
            let scores = q.matmul(k.swap_dims(2, 3));
            let scores = scores.mask_fill(mask.clone().expand([b, h_count, t, t]), -1e9);
            let att = softmax(scores, 3).matmul(v);
            let att = att.swap_dims(1, 2).reshape([b, t, d]);
            h = h + drop.forward(blk.wo.forward(att));
            let f = blk.ffn_norm.forward(h.clone());
            let f = blk.w1.forward(f);
            let f = match config.activation {
                Activation::Gelu => gelu(f),
                Activation::Relu => relu(f),
            };
            h = h + drop.forward(blk.w2.forward(f));
        }
        self.head.forward(self.final_norm.forward(h))
    }

    /// Mean cross-entropy in nats of `targets [B, T]` under the logits.
    pub fn loss(
        &self,
        inputs: Tensor<B, 2, Int>,
        targets: Tensor<B, 2, Int>,
        aux: &Aux<B>,
    ) -> Tensor<B, 1> {
        self.loss_with_dropout(inputs, targets, aux, 0.0)
    }

    /// [`Lm::loss`] with residual dropout (see [`Lm::forward_with_dropout`]).
    pub fn loss_with_dropout(
        &self,
        inputs: Tensor<B, 2, Int>,
        targets: Tensor<B, 2, Int>,
        aux: &Aux<B>,
        p: f64,
    ) -> Tensor<B, 1> {
        let logits = self.forward_with_dropout(inputs, aux, p);
        let [b, t, v] = logits.dims();
        let logp = log_softmax(logits.reshape([b * t, v]), 1);
        let picked = logp.gather(1, targets.reshape([b * t, 1]));
        picked.mean().neg()
    }
}

/// NeoX half-split rotation: `x cos + rotate_half(x) sin` with the sign
/// folded into the `sin` table.
fn rope<B: Backend>(x: Tensor<B, 4>, cos: &Tensor<B, 4>, sin: &Tensor<B, 4>) -> Tensor<B, 4> {
    let hd = x.dims()[3];
    let half = hd / 2;
    let x1 = x.clone().narrow(3, 0, half);
    let x2 = x.clone().narrow(3, half, half);
    let swapped = Tensor::cat(vec![x2, x1], 3);
    x * cos.clone() + swapped * sin.clone()
}
