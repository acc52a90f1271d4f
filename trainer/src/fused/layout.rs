//! Where each tensor lives in the flat parameter vector, and conversion
//! to and from [`FloatModel`].
//!
//! Order: embedding `[vocab + 1][d]`; per layer: attention-norm gain `[d]`,
//! `wq`, `wk`, `wv` (together one `[3d][d]` matrix), `wo` `[d][d]`,
//! feed-forward-norm gain `[d]`, `w1` `[ff][d]`, `w2` `[d][ff]`; final-norm
//! gain `[d]`; head `[vocab][d]`. Linear weights are `[out][in]`.

use std::ops::Range;

use model_int8::{Config, FloatLayer, FloatModel, Norm, NormParams};

use crate::error::Error;

/// Offsets of one block's tensors.
#[derive(Clone, Debug)]
pub struct LayerAt {
    pub attn_norm: Range<usize>,
    /// `wq`, `wk`, `wv` stacked: `[3d][d]`.
    pub wqkv: Range<usize>,
    pub wo: Range<usize>,
    pub ffn_norm: Range<usize>,
    pub w1: Range<usize>,
    pub w2: Range<usize>,
}

/// Offsets of every tensor of a model.
#[derive(Clone, Debug)]
pub struct Layout {
    pub config: Config,
    pub embedding: Range<usize>,
    pub layers: Vec<LayerAt>,
    pub final_norm: Range<usize>,
    pub head: Range<usize>,
    /// Total number of parameters.
    pub len: usize,
}

impl Layout {
    /// Layout of `config` (RMSNorm only: the fused path has no norm bias).
    pub fn new(config: &Config) -> Result<Self, Error> {
        if config.norm != Norm::Rms {
            return Err(Error::Model(
                "the fused CPU engine supports RMSNorm models only; use --engine burn".into(),
            ));
        }
        if config.n_heads == 0
            || !config.d_model.is_multiple_of(config.n_heads)
            || !(config.d_model / config.n_heads).is_multiple_of(2)
        {
            return Err(Error::Model(
                "d_model / n_heads must be an even integer".into(),
            ));
        }
        let d = config.d_model as usize;
        let f = config.d_ff as usize;
        let v = config.vocab as usize;
        let mut at = 0;
        let mut take = |n: usize| {
            let r = at..at + n;
            at += n;
            r
        };
        let embedding = take((v + 1) * d);
        let layers = (0..config.n_layers)
            .map(|_| LayerAt {
                attn_norm: take(d),
                wqkv: take(3 * d * d),
                wo: take(d * d),
                ffn_norm: take(d),
                w1: take(f * d),
                w2: take(d * f),
            })
            .collect();
        let final_norm = take(d);
        let head = take(v * d);
        Ok(Self {
            config: *config,
            embedding,
            layers,
            final_norm,
            head,
            len: at,
        })
    }

    /// Every tensor's range, for per-tensor operations (clipping).
    pub fn tensors(&self) -> Vec<Range<usize>> {
        let mut out = vec![self.embedding.clone()];
        for l in &self.layers {
            let d = l.attn_norm.len();
            let qkv = l.wqkv.start;
            out.extend([
                l.attn_norm.clone(),
                qkv..qkv + d * d,
                qkv + d * d..qkv + 2 * d * d,
                qkv + 2 * d * d..l.wqkv.end,
                l.wo.clone(),
                l.ffn_norm.clone(),
                l.w1.clone(),
                l.w2.clone(),
            ]);
        }
        out.push(self.final_norm.clone());
        out.push(self.head.clone());
        out
    }

    /// Flat parameters of a float model.
    pub fn flatten(&self, fm: &FloatModel) -> Result<Vec<f32>, Error> {
        if fm.config != self.config {
            return Err(Error::Model(format!(
                "the float model is a {:?} model, not the engine's {:?}",
                fm.config, self.config
            )));
        }
        let mut p = Vec::with_capacity(self.len);
        p.extend_from_slice(&fm.embedding);
        for l in &fm.layers {
            p.extend_from_slice(&l.attn_norm.gain);
            p.extend_from_slice(&l.wq);
            p.extend_from_slice(&l.wk);
            p.extend_from_slice(&l.wv);
            p.extend_from_slice(&l.wo);
            p.extend_from_slice(&l.ffn_norm.gain);
            p.extend_from_slice(&l.w1);
            p.extend_from_slice(&l.w2);
        }
        p.extend_from_slice(&fm.final_norm.gain);
        p.extend_from_slice(&fm.head);
        if p.len() != self.len {
            return Err(Error::Model(format!(
                "the float model has {} parameters, expected {}",
                p.len(),
                self.len
            )));
        }
        Ok(p)
    }

    /// The float model held in flat parameters `p`.
    pub fn unflatten(&self, p: &[f32]) -> FloatModel {
        assert_eq!(p.len(), self.len, "parameter vector of the wrong length");
        let norm = |r: &Range<usize>| NormParams {
            gain: p[r.clone()].to_vec(),
            bias: Vec::new(),
        };
        let layers = self
            .layers
            .iter()
            .map(|l| {
                let third = l.wqkv.len() / 3;
                let q = l.wqkv.start;
                FloatLayer {
                    attn_norm: norm(&l.attn_norm),
                    wq: p[q..q + third].to_vec(),
                    wk: p[q + third..q + 2 * third].to_vec(),
                    wv: p[q + 2 * third..l.wqkv.end].to_vec(),
                    wo: p[l.wo.clone()].to_vec(),
                    ffn_norm: norm(&l.ffn_norm),
                    w1: p[l.w1.clone()].to_vec(),
                    w2: p[l.w2.clone()].to_vec(),
                }
            })
            .collect();
        FloatModel {
            config: self.config,
            embedding: p[self.embedding.clone()].to_vec(),
            layers,
            final_norm: norm(&self.final_norm),
            head: p[self.head.clone()].to_vec(),
        }
    }

    /// Fresh parameters, initialised as the Burn model is (GPT-2 style:
    /// N(0, 0.02), residual projections scaled by `1/sqrt(2 layers)`,
    /// norm gains 1).
    pub fn init(&self, seed: u64) -> Vec<f32> {
        use rand::SeedableRng;
        use rand_distr::{Distribution, Normal};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let std = 0.02f32;
        let res_std = std / (2.0 * self.config.n_layers as f32).sqrt();
        let mut p = vec![0f32; self.len];
        let mut fill = |p: &mut [f32], s: f32| {
            let n = Normal::new(0.0, s).expect("valid normal");
            p.iter_mut().for_each(|x| *x = n.sample(&mut rng));
        };
        fill(&mut p[self.embedding.clone()], std);
        for l in &self.layers {
            p[l.attn_norm.clone()].fill(1.0);
            fill(&mut p[l.wqkv.clone()], std);
            fill(&mut p[l.wo.clone()], res_std);
            p[l.ffn_norm.clone()].fill(1.0);
            fill(&mut p[l.w1.clone()], std);
            fill(&mut p[l.w2.clone()], res_std);
        }
        p[self.final_norm.clone()].fill(1.0);
        fill(&mut p[self.head.clone()], std);
        p
    }
}
