//! Encode → decode round trips through `coder-core` with the int8 model.

mod common;

use coder_core::{decode_to_vec, encode_to_vec};
use model_int8::{bits_per_byte, working_memory_size, Int8Model, ModelFile};

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 56) as u8
        })
        .collect()
}

#[test]
fn round_trips_text_and_random_data() {
    // Window 64 < chunk so the ring buffer wraps; positions past
    // max_context (128) exercise the documented fallback.
    let (_, bytes) = common::small_model(common::small_config(), 5);
    let file = ModelFile::parse(&bytes).unwrap();
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let long_text: Vec<u8> = common::TEXT.iter().cycle().take(700).copied().collect();
    for data in [
        Vec::new(),
        vec![0u8],
        common::TEXT[..120].to_vec(),
        long_text,
        random_bytes(300, 9),
        vec![255u8; 200],
    ] {
        let coded = encode_to_vec(&mut m, &data).unwrap();
        let back: Vec<u8> = decode_to_vec(&mut m, &coded, data.len()).unwrap();
        assert_eq!(back, data);
        // The coded size matches the model's log-loss (plus a few bytes of
        // coder overhead).
        let bits = bits_per_byte(&mut m, &data, usize::MAX) * data.len() as f64;
        let coded_bits = coded.len() as f64 * 8.0;
        assert!(coded_bits <= bits * 1.01 + 64.0, "{coded_bits} vs {bits}");
        assert!(coded_bits + 64.0 >= bits, "{coded_bits} vs {bits}");
    }
}

#[test]
fn separate_instances_agree() {
    // Encoder and decoder in separate model instances with separate memory.
    let (_, bytes) = common::small_model(common::small_config(), 6);
    let file = ModelFile::parse(&bytes).unwrap();
    let mut w1 = vec![0u8; working_memory_size(file.config())];
    let mut w2 = vec![0xAAu8; working_memory_size(file.config()) + 7];
    let mut enc = Int8Model::new(&file, &mut w1).unwrap();
    let mut dec = Int8Model::new(&file, &mut w2[7..]).unwrap();
    let coded = encode_to_vec(&mut enc, common::TEXT).unwrap();
    let back: Vec<u8> = decode_to_vec(&mut dec, &coded, common::TEXT.len()).unwrap();
    assert_eq!(back, common::TEXT);
    assert!(coded.len() < common::TEXT.len() * 2);
}

#[test]
fn degenerate_models_quantize_and_run() {
    use model_int8::{quantize, Config, FloatModel, QuantOptions};
    // All-zero weights, and no calibration text at all.
    let cfg = Config::sized(16, 1, 2, 8, 16);
    for m in [FloatModel::zeros(cfg), FloatModel::random(cfg, 1)] {
        for text in [&b""[..], b"x", common::TEXT] {
            let bytes = quantize(&m, text, &QuantOptions::default()).unwrap();
            let file = ModelFile::parse(&bytes).unwrap();
            let mut work = vec![0u8; working_memory_size(file.config())];
            let mut model = Int8Model::new(&file, &mut work).unwrap();
            let data = &common::TEXT[..40];
            let coded = encode_to_vec(&mut model, data).unwrap();
            let back: Vec<u8> = decode_to_vec(&mut model, &coded, data.len()).unwrap();
            assert_eq!(back, data);
        }
    }
    // Non-finite weights are refused.
    let mut m = FloatModel::random(cfg, 2);
    m.head[3] = f32::NAN;
    assert_eq!(
        quantize(&m, b"abc", &QuantOptions::default()),
        Err(model_int8::Error::NotQuantizable)
    );
    let mut m = FloatModel::random(cfg, 2);
    m.layers.pop();
    assert_eq!(
        quantize(&m, b"abc", &QuantOptions::default()),
        Err(model_int8::Error::BadFloatModel)
    );
}

/// Real data: held-out enwik8 (fails when the shared data is absent,
/// unless `LMC_SKIP_MISSING_DATA=1`), with a random model and with every
/// shipped model in `models/*.lmm`.
#[test]
fn round_trips_enwik8() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(all) = common::shared_enwik8() else {
        return;
    };
    let data = &all[3_600_000..3_600_000 + 3000];
    let mut models = vec![common::small_model(common::small_config(), 8).1];
    if let Ok(rd) = std::fs::read_dir(root.join("models")) {
        for e in rd.flatten() {
            if e.path().extension().is_some_and(|x| x == "lmm") {
                models.push(std::fs::read(e.path()).unwrap());
            }
        }
    }
    for bytes in models {
        let file = ModelFile::parse(&bytes).unwrap();
        let mut work = vec![0u8; working_memory_size(file.config())];
        let mut m = Int8Model::new(&file, &mut work).unwrap();
        for chunk in data.chunks(file.config().max_context as usize) {
            let coded = encode_to_vec(&mut m, chunk).unwrap();
            let back: Vec<u8> = decode_to_vec(&mut m, &coded, chunk.len()).unwrap();
            assert_eq!(back, chunk);
        }
    }
}
