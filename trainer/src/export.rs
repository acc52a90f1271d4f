//! Burn model → `model_int8::FloatModel` (linear weights transposed to
//! `[out][in]`).

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use model_int8::{FloatLayer, FloatModel, NormParams};

use crate::error::{Error, Result};
use crate::model::{Lm, NormLayer};

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32 data")
}

/// `[out][in]` row-major from Burn's `[in, out]`.
fn linear_out_in<B: Backend>(l: &Linear<B>) -> Vec<f32> {
    values(l.weight.val().transpose())
}

fn norm<B: Backend>(n: &NormLayer<B>) -> NormParams {
    match n {
        NormLayer::Rms(n) => NormParams {
            gain: values(n.gamma.val()),
            bias: Vec::new(),
        },
        NormLayer::Layer(n) => {
            let gain = values(n.gamma.val());
            let bias = match &n.beta {
                Some(b) => values(b.val()),
                None => vec![0.0; gain.len()],
            };
            NormParams { gain, bias }
        }
    }
}

/// The float model handed to `model-int8` (reference pass, quantizer).
pub fn to_float_model<B: Backend>(model: &Lm<B>) -> FloatModel {
    FloatModel {
        config: model.config(),
        embedding: values(model.embedding.weight.val()),
        layers: model
            .blocks
            .iter()
            .map(|b| FloatLayer {
                attn_norm: norm(&b.attn_norm),
                wq: linear_out_in(&b.wq),
                wk: linear_out_in(&b.wk),
                wv: linear_out_in(&b.wv),
                wo: linear_out_in(&b.wo),
                ffn_norm: norm(&b.ffn_norm),
                w1: linear_out_in(&b.w1),
                w2: linear_out_in(&b.w2),
            })
            .collect(),
        final_norm: norm(&model.final_norm),
        head: linear_out_in(&model.head),
    }
}

fn tensor2<B: Backend>(v: &[f32], rows: usize, cols: usize, device: &B::Device) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [rows, cols]), device)
}

fn set_linear<B: Backend>(l: &mut Linear<B>, w_out_in: &[f32], device: &B::Device) {
    let [i, o] = l.weight.dims();
    l.weight = Param::from_tensor(tensor2::<B>(w_out_in, o, i, device).transpose());
}

fn set_norm<B: Backend>(n: &mut NormLayer<B>, p: &NormParams, device: &B::Device) {
    let vec1 =
        |v: &[f32]| Tensor::<B, 1>::from_data(TensorData::new(v.to_vec(), [v.len()]), device);
    match n {
        NormLayer::Rms(n) => n.gamma = Param::from_tensor(vec1(&p.gain)),
        NormLayer::Layer(n) => {
            n.gamma = Param::from_tensor(vec1(&p.gain));
            n.beta = Some(Param::from_tensor(vec1(&p.bias)));
        }
    }
}

/// A Burn model holding the weights of `fm` (the inverse of
/// [`to_float_model`]), e.g. to fine-tune or to check agreement.
pub fn from_float_model<B: Backend>(fm: &FloatModel, device: &B::Device) -> Result<Lm<B>> {
    fm.validate().map_err(|e| {
        Error::Model(format!(
            "the float model does not match its configuration: {e}"
        ))
    })?;
    let c = fm.config;
    let mut lm = Lm::<B>::new(&c, device);
    let (v, d) = (c.vocab as usize + 1, c.d_model as usize);
    lm.embedding.weight = Param::from_tensor(tensor2::<B>(&fm.embedding, v, d, device));
    for (b, l) in lm.blocks.iter_mut().zip(&fm.layers) {
        set_norm(&mut b.attn_norm, &l.attn_norm, device);
        set_linear(&mut b.wq, &l.wq, device);
        set_linear(&mut b.wk, &l.wk, device);
        set_linear(&mut b.wv, &l.wv, device);
        set_linear(&mut b.wo, &l.wo, device);
        set_norm(&mut b.ffn_norm, &l.ffn_norm, device);
        set_linear(&mut b.w1, &l.w1, device);
        set_linear(&mut b.w2, &l.w2, device);
    }
    set_norm(&mut lm.final_norm, &fm.final_norm, device);
    set_linear(&mut lm.head, &fm.head, device);
    Ok(lm)
}
