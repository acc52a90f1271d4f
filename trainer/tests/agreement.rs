//! The Burn model and `model-int8`'s float reference compute the same
//! logits: same RoPE convention, window mask, norm epsilon and GELU form.

use burn::tensor::{Int, Tensor, TensorData};
use burn_ndarray::NdArray;
use model_int8::{Activation, Config, FloatModel, FloatState, Norm};
use trainer::export::{from_float_model, to_float_model};
use trainer::model::Aux;

type B = NdArray<f32>;

fn check(config: Config, seed: u64, len: usize) {
    let device = Default::default();
    let fm = FloatModel::random(config, seed);
    let lm = from_float_model::<B>(&fm, &device).expect("valid model");
    // Export is the exact inverse of import.
    assert_eq!(to_float_model(&lm), fm);

    let v = config.vocab as usize;
    let text = b"The window bounds the KV cache, which is what a microcontroller needs.";
    let mut tokens = vec![v as i32];
    tokens.extend(
        text.iter()
            .cycle()
            .take(len - 1)
            .map(|&b| (b as usize % v) as i32),
    );
    let aux = Aux::<B>::new(&config, len, &device);
    let input = Tensor::<B, 2, Int>::from_data(TensorData::new(tokens.clone(), [1, len]), &device);
    let burn_logits: Vec<f32> = lm
        .forward(input, &aux)
        .into_data()
        .into_vec::<f32>()
        .expect("f32 logits");

    let mut st = FloatState::new(&config);
    let mut logits = vec![0f32; v];
    let mut worst = 0f32;
    let mut spread = 0f32;
    for (t, &tok) in tokens.iter().enumerate() {
        fm.step(&mut st, tok as usize, &mut logits);
        for (i, &r) in logits.iter().enumerate() {
            let b = burn_logits[t * v + i];
            worst = worst.max((b - r).abs() / (1.0 + r.abs()));
            spread = spread.max(r.abs());
        }
    }
    assert!(spread > 1.0, "logits too flat to test anything ({spread})");
    assert!(
        worst < 1e-3,
        "Burn and the float reference disagree: {worst}"
    );
}

#[test]
fn burn_matches_float_reference_rms_gelu_windowed() {
    // 80 positions with a window of 16: both regimes (sees BOS, does not).
    check(Config::sized(32, 2, 4, 16, 128), 7, 80);
}

#[test]
fn burn_matches_float_reference_layernorm_relu() {
    let mut c = Config::sized(24, 1, 2, 8, 64);
    c.norm = Norm::Layer;
    c.activation = Activation::Relu;
    c.vocab = 200;
    check(c, 11, 40);
}

#[test]
fn burn_matches_float_reference_full_attention() {
    check(Config::sized(16, 2, 2, 48, 48), 3, 48);
}
