//! The coded length is within 2 bytes + 0.01% of the ideal `-Σ log2 p`
//! computed from the quantized frequencies the coder was given, over 1 MiB
//! of real text (the first MiB of enwik8 from `../shared/data`).

use coder_core::models::{ContextConfig, ContextModel, StaticModel};
use coder_core::{decode_into, encode_into, max_encoded_len, FreqTable, Model};

const LEN: usize = 1 << 20;

fn enwik8() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/enwik8/enwik8.head"
    );
    let mut d = std::fs::read(path).unwrap_or_else(|e| {
        panic!("{path}: {e} (the shared data set must sit beside the workspace)")
    });
    assert!(d.len() >= LEN, "{path} is shorter than 1 MiB");
    d.truncate(LEN);
    d
}

/// Ideal code length in bits of `data` under `model` (from a reset), from
/// the exact integer frequencies.
fn ideal_bits<M: Model>(model: &mut M, data: &[u8]) -> f64 {
    model.reset();
    let mut bits = 0.0;
    for &b in data {
        let t = model.frequencies();
        let f = f64::from(t.frequency(b as usize).unwrap().get());
        bits += f64::from(t.precision()) - f.log2();
        model.observe(b as usize);
    }
    bits
}

fn check<M: Model>(name: &str, model: &mut M, data: &[u8]) {
    let ideal = ideal_bits(model, data);
    let mut out = vec![0u8; max_encoded_len(data.len(), model.precision())];
    let n = encode_into(model, data, &mut out).unwrap();
    let actual = 8.0 * n as f64;
    let bound = ideal + 16.0 + ideal * 1e-4;
    println!(
        "{name}: ideal {:.1} bytes, coded {n} bytes, bound {:.1}",
        ideal / 8.0,
        bound / 8.0
    );
    assert!(
        actual <= bound,
        "{name}: {n} bytes > bound {:.1}",
        bound / 8.0
    );
    // In fact the design promises one byte plus 2^-32 bits a symbol.
    assert!(actual <= ideal + 8.0 + 1e-6 * ideal, "{name}: {n} bytes");
    // No code beats the ideal by more than the final byte's rounding.
    assert!(
        actual >= ideal - 8.0,
        "{name}: {n} bytes below ideal {:.1}",
        ideal / 8.0
    );
    let mut back = vec![0u8; data.len()];
    decode_into(model, &out[..n], &mut back).unwrap();
    assert!(back == data, "{name}: round trip differs");
}

#[test]
fn static_models_code_within_two_bytes_and_a_hundredth_percent() {
    let data = enwik8();
    let mut counts = [0f64; 256];
    for &b in &data {
        counts[b as usize] += 1.0;
    }
    for precision in [12, 16, 24] {
        let t = FreqTable::from_probabilities(&counts, precision).unwrap();
        check(
            &format!("static p{precision}"),
            &mut StaticModel::new(t),
            &data,
        );
    }
    // A table far from the data: most symbols at the minimum frequency.
    let mut skewed = [1.0f64; 256];
    skewed[b' ' as usize] = 1e9;
    let t = FreqTable::from_probabilities(&skewed, 24).unwrap();
    check(
        "static p24 mismatched",
        &mut StaticModel::new(t),
        &data[..LEN / 8],
    );
}

#[test]
fn adaptive_models_code_within_two_bytes_and_a_hundredth_percent() {
    let data = enwik8();
    check(
        "order0",
        &mut ContextModel::new(ContextConfig::order0_bytes()).unwrap(),
        &data,
    );
    let mut cfg = ContextConfig::order2_bytes(14);
    cfg.precision = 24;
    check("order2 p24", &mut ContextModel::new(cfg).unwrap(), &data);
}
