//! The fused CPU engine computes the same loss and gradients as Burn's
//! autodiff of `trainer::model::Lm`, on random models and real text.

use burn::module::Param;
use burn::nn::{Linear, RmsNorm};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;
use model_int8::{Activation, Config, FloatLayer, FloatModel, Norm, NormParams};
use trainer::export::from_float_model;
use trainer::fused::{Dropout, Engine, Layout};
use trainer::model::{Aux, NormLayer};

type B = Autodiff<NdArray<f32>>;
type G = <B as burn::tensor::backend::AutodiffBackend>::Gradients;

fn grad_of<const D: usize>(p: &Param<Tensor<B, D>>, grads: &G) -> Tensor<NdArray<f32>, D> {
    p.val().grad(grads).expect("parameter has a gradient")
}

fn values<Bk: Backend, const D: usize>(t: Tensor<Bk, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32")
}

fn lin(l: &Linear<B>, grads: &G) -> Vec<f32> {
    values(grad_of(&l.weight, grads).transpose())
}

fn norm(n: &NormLayer<B>, grads: &G) -> NormParams {
    let NormLayer::Rms(RmsNorm { gamma, .. }) = n else {
        panic!("RMSNorm expected")
    };
    NormParams {
        gain: values(grad_of(gamma, grads)),
        bias: Vec::new(),
    }
}

/// Real text as `[batch][len]` inputs (BOS first) and targets.
fn batch(batch: usize, len: usize) -> (Vec<i32>, Vec<i32>) {
    let text = include_bytes!("../../README.md");
    let (mut inp, mut tgt) = (Vec::new(), Vec::new());
    for b in 0..batch {
        let s = &text[b * 97..b * 97 + len];
        inp.push(256);
        inp.extend(s[..len - 1].iter().map(|&x| x as i32));
        tgt.extend(s.iter().map(|&x| x as i32));
    }
    (inp, tgt)
}

fn check(config: Config, nb: usize, len: usize, threads: usize) {
    let device = Default::default();
    let fm = FloatModel::random(config, 7);
    let lm = from_float_model::<B>(&fm, &device).expect("valid model");
    let (inp, tgt) = batch(nb, len);
    let aux = Aux::<B>::new(&config, len, &device);
    let it = Tensor::<B, 2, Int>::from_data(TensorData::new(inp.clone(), [nb, len]), &device);
    let tt = Tensor::<B, 2, Int>::from_data(TensorData::new(tgt.clone(), [nb, len]), &device);
    let loss = lm.loss(it, tt, &aux);
    let burn_loss = values(loss.clone().inner())[0];
    let grads = loss.backward();
    let gfm = FloatModel {
        config,
        embedding: values(grad_of(&lm.embedding.weight, &grads)),
        layers: lm
            .blocks
            .iter()
            .map(|b| FloatLayer {
                attn_norm: norm(&b.attn_norm, &grads),
                wq: lin(&b.wq, &grads),
                wk: lin(&b.wk, &grads),
                wv: lin(&b.wv, &grads),
                wo: lin(&b.wo, &grads),
                ffn_norm: norm(&b.ffn_norm, &grads),
                w1: lin(&b.w1, &grads),
                w2: lin(&b.w2, &grads),
            })
            .collect(),
        final_norm: norm(&lm.final_norm, &grads),
        head: lin(&lm.head, &grads),
    };
    let layout = Layout::new(&config).expect("supported");
    let burn_grad = layout.flatten(&gfm).expect("same shape");

    let params = layout.flatten(&fm).expect("same shape");
    let mut engine = Engine::new(&config, threads).expect("supported");
    let mut grad = vec![0f32; layout.len];
    let loss = engine.loss_and_grad(&params, &inp, &tgt, nb, len, &mut grad);
    assert!(
        (loss - burn_loss).abs() < 1e-4 * burn_loss.abs().max(1.0),
        "loss: fused {loss} vs Burn {burn_loss}"
    );
    assert_eq!(engine.loss(&params, &inp, &tgt, nb, len), loss);
    for (i, r) in layout.tensors().iter().enumerate() {
        let (a, b) = (&grad[r.clone()], &burn_grad[r.clone()]);
        let norm = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        let diff = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            .sqrt();
        assert!(
            diff <= 1e-3 * norm + 1e-7,
            "tensor {i} ({r:?}): |fused - Burn| = {diff}, |Burn| = {norm}"
        );
    }
}

fn config(window: u32, activation: Activation) -> Config {
    Config {
        vocab: 256,
        d_model: 32,
        n_layers: 2,
        n_heads: 4,
        d_ff: 64,
        window,
        max_context: 2048,
        rope_base: 10_000,
        norm: Norm::Rms,
        activation,
    }
}

#[test]
fn full_causal_attention_matches_burn() {
    check(config(256, Activation::Gelu), 3, 100, 2);
}

#[test]
fn sliding_window_across_query_blocks_matches_burn() {
    // 150 positions = 3 query blocks; window 40 cuts every block's keys.
    check(config(40, Activation::Gelu), 2, 150, 1);
}

#[test]
fn relu_and_uneven_thread_split_match_burn() {
    check(config(17, Activation::Relu), 3, 70, 2);
}

#[test]
fn layout_round_trips_float_models() {
    let c = config(64, Activation::Gelu);
    let fm = FloatModel::random(c, 3);
    let layout = Layout::new(&c).unwrap();
    assert_eq!(layout.unflatten(&layout.flatten(&fm).unwrap()), fm);
    let fresh = layout.unflatten(&layout.init(1));
    assert_eq!(fresh.config, c);
    assert!(Layout::new(&Config {
        norm: Norm::Layer,
        ..c
    })
    .is_err());
}

#[test]
fn gradients_are_bit_identical_run_to_run() {
    let c = config(32, Activation::Gelu);
    let layout = Layout::new(&c).unwrap();
    let params = layout.init(9);
    let (inp, tgt) = batch(3, 80);
    let mut engine = Engine::new(&c, 2).unwrap();
    let (mut g1, mut g2) = (vec![0f32; layout.len], vec![0f32; layout.len]);
    let l1 = engine.loss_and_grad(&params, &inp, &tgt, 3, 80, &mut g1);
    let l2 = engine.loss_and_grad(&params, &inp, &tgt, 3, 80, &mut g2);
    assert_eq!(l1.to_bits(), l2.to_bits());
    assert!(g1.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(g1.iter().any(|&g| g != 0.0));
}

fn dropout_grad(threads: usize, p: f32, seed: u64, params: &[f32]) -> (f32, Vec<f32>) {
    let c = config(32, Activation::Gelu);
    let (inp, tgt) = batch(3, 80);
    let mut engine = Engine::new(&c, threads).unwrap();
    let mut g = vec![0f32; params.len()];
    let l = engine.loss_and_grad_dropout(params, &inp, &tgt, 3, 80, &mut g, Dropout { p, seed });
    (l, g)
}

#[test]
fn dropout_zero_is_exactly_no_dropout() {
    let c = config(32, Activation::Gelu);
    let params = Layout::new(&c).unwrap().init(9);
    let (inp, tgt) = batch(3, 80);
    let mut engine = Engine::new(&c, 2).unwrap();
    let mut g = vec![0f32; params.len()];
    let l = engine.loss_and_grad(&params, &inp, &tgt, 3, 80, &mut g);
    let (ld, gd) = dropout_grad(2, 0.0, 123, &params);
    assert_eq!(l.to_bits(), ld.to_bits());
    assert!(g.iter().zip(&gd).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn dropout_masks_follow_the_seed_not_the_threads() {
    let params = Layout::new(&config(32, Activation::Gelu)).unwrap().init(9);
    let (none, _) = dropout_grad(1, 0.0, 0, &params);
    let (a, ga) = dropout_grad(1, 0.3, 77, &params);
    let (b, gb) = dropout_grad(3, 0.3, 77, &params);
    let (other, _) = dropout_grad(1, 0.3, 78, &params);
    // Same masks on 1 and 3 threads: only the summation order differs.
    assert!((a - b).abs() <= 1e-5 * a.abs(), "{a} vs {b}");
    let (dn, gn) = ga.iter().zip(&gb).fold((0f64, 0f64), |(d, n), (x, y)| {
        (d + ((x - y) as f64).powi(2), n + (*x as f64).powi(2))
    });
    assert!(
        dn.sqrt() <= 1e-4 * gn.sqrt(),
        "gradients differ: {dn} vs {gn}"
    );
    assert_ne!(a, none, "p = 0.3 must change the loss");
    assert_ne!(a, other, "another seed must draw other masks");
}

/// The backward pass differentiates the same masked function the forward
/// pass computes: the directional derivative along the gradient, by
/// central differences with the masks held fixed, equals |grad|.
#[test]
fn dropout_gradient_matches_finite_differences() {
    let params = Layout::new(&config(32, Activation::Gelu)).unwrap().init(9);
    let (_, g) = dropout_grad(2, 0.25, 5, &params);
    let (_, g0) = dropout_grad(2, 0.0, 5, &params);
    let norm = g.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let diff = g
        .iter()
        .zip(&g0)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(diff > 0.05 * norm, "masks barely change the gradient");
    let eps = 1e-2;
    let shifted = |sign: f64| -> f64 {
        let p: Vec<f32> = params
            .iter()
            .zip(&g)
            .map(|(&p, &d)| (p as f64 + sign * eps * d as f64 / norm) as f32)
            .collect();
        dropout_grad(2, 0.25, 5, &p).0 as f64
    };
    let fd = (shifted(1.0) - shifted(-1.0)) / (2.0 * eps);
    assert!(
        (fd - norm).abs() < 0.02 * norm,
        "finite differences {fd} vs |grad| {norm}"
    );
}
