//! The int8 model against its float original on held-out enwik8.
//!
//! With a random model (always run): the int8 log-loss stays within 3% of
//! the float reference's. With trained models (run when present): every
//! `models/<name>.lmm` that has a float checkpoint `models/<name>.float`
//! (or `.lmf`) next to it must code held-out enwik8 bytes `[3_600_000, end)` of
//! `../shared/data/enwik8/enwik8.head` within 2% of the float model's bits
//! per byte. `MODEL_INT8_EVAL_BYTES` sets how many held-out bytes are used
//! (default 16384, 4096 for models above 1.5 M parameters: the float
//! reference is slow in test builds), in 2048-byte chunks.

mod common;

use std::path::{Path, PathBuf};

use model_int8::{bits_per_byte, working_memory_size, FloatModel, FloatRef, Int8Model, ModelFile};

const HELD_OUT_START: usize = 3_600_000;

/// `(int8 bits/byte, float bits/byte)` of a model pair on `data`.
fn compare(int8_file: &[u8], float: FloatModel, data: &[u8], chunk: usize) -> (f64, f64) {
    let file = ModelFile::parse(int8_file).expect("int8 model parses");
    assert_eq!(
        *file.config(),
        float.config,
        "int8 and float configs differ"
    );
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let mut f = FloatRef::new(float, file.precision());
    (
        bits_per_byte(&mut m, data, chunk),
        bits_per_byte(&mut f, data, chunk),
    )
}

fn held_out() -> Option<Vec<u8>> {
    let all = common::shared_enwik8()?;
    let n: usize = std::env::var("MODEL_INT8_EVAL_BYTES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16384);
    all.get(HELD_OUT_START..)
        .map(|h| h[..n.min(h.len())].to_vec())
}

fn trained_pairs() -> Vec<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut pairs = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "lmm") {
                let f = ["float", "lmf"].map(|e| p.with_extension(e));
                if let Some(f) = f.into_iter().find(|f| f.exists()) {
                    pairs.push((p, f));
                }
            }
        }
    }
    pairs.sort();
    pairs
}

#[test]
fn random_model_within_3_percent() {
    let text: Vec<u8> = match held_out() {
        Some(h) => h[..2048.min(h.len())].to_vec(),
        None => common::TEXT.to_vec(),
    };
    let layer_relu = model_int8::Config {
        norm: model_int8::Norm::Layer,
        activation: model_int8::Activation::Relu,
        ..common::small_config()
    };
    for (cfg, seed) in [(common::small_config(), 21), (layer_relu, 22)] {
        let (fm, bytes) = common::small_model(cfg, seed);
        let (bi, bf) = compare(&bytes, fm, &text, 512);
        println!("random model {cfg:?}: int8 {bi:.4} float {bf:.4} bits/byte");
        assert!((bi - bf).abs() <= 0.03 * bf, "int8 {bi} float {bf}");
    }
}

#[test]
// 15 s a run: once, in the release stage of scripts/test-all.sh (the
// debug stage's overflow checks cover every model through tests/pinned.rs).
#[cfg_attr(debug_assertions, ignore = "release only")]
fn trained_models_within_2_percent() {
    let pairs = trained_pairs();
    let Some(data) = held_out() else {
        return;
    };
    // The shipped models are in the repository: none found is a failure.
    assert!(
        !pairs.is_empty(),
        "no models/<name>.lmm with a models/<name>.float"
    );
    for (int8_path, float_path) in pairs {
        let int8 = std::fs::read(&int8_path).unwrap();
        let float = FloatModel::from_bytes(&std::fs::read(&float_path).unwrap()).unwrap();
        // The float reference is slow in test builds: fewer bytes for big
        // models unless MODEL_INT8_EVAL_BYTES says otherwise.
        let n = if std::env::var_os("MODEL_INT8_EVAL_BYTES").is_none()
            && float.config.parameters() > 1_500_000
        {
            4096
        } else {
            data.len()
        };
        let data = &data[..n.min(data.len())];
        let (bi, bf) = compare(&int8, float, data, 2048);
        println!(
            "{}: int8 {bi:.4} float {bf:.4} bits/byte on {} held-out bytes ({:+.2}%)",
            int8_path.display(),
            data.len(),
            (bi / bf - 1.0) * 100.0
        );
        assert!(
            bi <= bf * 1.02,
            "{}: int8 {bi} vs float {bf}",
            int8_path.display()
        );
    }
}

/// A random model with the outliers trained Transformers are known for (a
/// few residual channels 30x larger, a few query/key pairs 8x larger):
/// smoothing and per-pair q/k scales keep int8 close to float.
#[test]
fn outlier_model_within_3_percent() {
    use model_int8::{quantize, QuantOptions};
    let cfg = common::small_config();
    let mut fm = FloatModel::random(cfg, 33);
    let d = cfg.d_model as usize;
    for row in fm.embedding.chunks_exact_mut(d) {
        row[3] *= 30.0;
        row[17] *= -20.0;
    }
    for l in fm.layers.iter_mut() {
        for o in [1usize, 9] {
            for x in &mut l.wq[o * d..(o + 1) * d] {
                *x *= 8.0;
            }
            for x in &mut l.wk[(o + 4) * d..(o + 5) * d] {
                *x *= 8.0;
            }
        }
    }
    let text: Vec<u8> = common::TEXT.iter().cycle().take(1200).copied().collect();
    let mut results = Vec::new();
    for (smoothing, clip_quantile) in [(0.0f32, None), (0.5, Some(0.999)), (0.5, None)] {
        let opts = QuantOptions {
            smoothing,
            clip_quantile,
            ..QuantOptions::default()
        };
        let bytes = quantize(&fm, &text[..600], &opts).unwrap();
        let (bi, bf) = compare(&bytes, fm.clone(), &text[600..], 600);
        println!(
            "outliers, smoothing {smoothing}, clip {clip_quantile:?}: int8 {bi:.4} float {bf:.4} ({:+.2}%)",
            (bi / bf - 1.0) * 100.0
        );
        results.push((bi, bf));
    }
    let (bi, bf) = results[2];
    assert!((bi - bf).abs() <= 0.03 * bf, "int8 {bi} float {bf}");
}
