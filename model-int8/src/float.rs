//! The float model as the trainer hands it over (`std` only): the input of
//! the float reference forward pass and of the quantizer.

use alloc::vec::Vec;

use crate::Config;

/// Parameters of a normalization layer.
#[derive(Clone, Debug, PartialEq)]
pub struct NormParams {
    /// `[d_model]`.
    pub gain: Vec<f32>,
    /// `[d_model]` for LayerNorm, empty for RMSNorm.
    pub bias: Vec<f32>,
}

/// One Transformer block. Linear weights are `[out][in]`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLayer {
    /// Norm before attention.
    pub attn_norm: NormParams,
    /// `[d_model][d_model]`.
    pub wq: Vec<f32>,
    /// `[d_model][d_model]`.
    pub wk: Vec<f32>,
    /// `[d_model][d_model]`.
    pub wv: Vec<f32>,
    /// `[d_model][d_model]`.
    pub wo: Vec<f32>,
    /// Norm before the feed-forward.
    pub ffn_norm: NormParams,
    /// `[d_ff][d_model]`.
    pub w1: Vec<f32>,
    /// `[d_model][d_ff]`.
    pub w2: Vec<f32>,
}

/// A trained float model of the architecture in `docs/ARCHITECTURE.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatModel {
    /// Hyper-parameters.
    pub config: Config,
    /// `[vocab + 1][d_model]`; row `vocab` is BOS.
    pub embedding: Vec<f32>,
    /// `n_layers` blocks.
    pub layers: Vec<FloatLayer>,
    /// Norm before the output head.
    pub final_norm: NormParams,
    /// `[vocab][d_model]`.
    pub head: Vec<f32>,
}
