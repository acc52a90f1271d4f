//! Token-level models (BPE vocabularies up to 32K): the quantizer picks a
//! table precision with room for every symbol, the integer head gives
//! valid tables that follow the float model, and token streams round-trip
//! through `coder-core`.

use coder_core::{decode_into, encode_into, max_encoded_len, Model};
use model_int8::{
    precision_for_vocab, quantize_tokens, working_memory_size, Config, FloatModel, FloatState,
    Int8Model, ModelFile, QuantOptions,
};

fn token_config(vocab: u32) -> Config {
    Config {
        vocab,
        ..Config::sized(32, 2, 2, 48, 128)
    }
}

/// Deterministic pseudo-random tokens, skewed towards small ids as BPE
/// text is (the frequent merges get the low ids after the bytes).
fn tokens(n: usize, vocab: u32, seed: u64) -> Vec<u32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 33) as u32;
            (u % 64 + (u >> 6) % (u % vocab.max(1) + 1)) % vocab
        })
        .collect()
}

fn softmax_bits(logits: &[f32], sym: usize) -> f64 {
    let max = logits.iter().fold(f32::MIN, |a, &b| a.max(b)) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    -((logits[sym] as f64 - max).exp() / sum).log2()
}

#[test]
fn a_20k_vocabulary_codes_tokens_and_follows_the_float_model() {
    let v = 20_000;
    let c = token_config(v);
    let fm = FloatModel::random(c, 0x70C3);
    let calib = tokens(600, v, 1);
    let bytes = quantize_tokens(&fm, &calib, &QuantOptions::default()).unwrap();
    let file = ModelFile::parse(&bytes).unwrap();
    assert_eq!(file.precision(), precision_for_vocab(v));
    assert_eq!(file.precision(), 23);
    let mut work = vec![0u8; working_memory_size(&c)];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    assert_eq!(m.symbols(), v as usize);

    // Ideal bits under the int8 tables and under the float model agree.
    let seq = tokens(200, v, 2);
    let (mut int8_bits, mut float_bits) = (0.0, 0.0);
    let mut st = FloatState::new(&c);
    let mut logits = vec![0.0; v as usize];
    fm.step(&mut st, v as usize, &mut logits);
    m.reset();
    for &t in &seq {
        let table = m.frequencies();
        // Every table is complete and valid (checked, not trusted).
        let checked =
            coder_core::FreqTable::from_cumulative(table.cumulative(), table.precision()).unwrap();
        assert_eq!(checked.symbols(), v as usize);
        let f = checked.frequency(t as usize).unwrap().get();
        int8_bits += 23.0 - f64::from(f).log2();
        float_bits += softmax_bits(&logits, t as usize);
        m.observe(t as usize);
        fm.step(&mut st, t as usize, &mut logits);
    }
    let rel = (int8_bits - float_bits).abs() / float_bits;
    assert!(
        rel < 0.02,
        "int8 {int8_bits:.1} vs float {float_bits:.1} bits"
    );

    // A real encode and decode of the token stream, in two chunks.
    for chunk in seq.chunks(120) {
        let mut out = vec![0u8; max_encoded_len(chunk.len(), m.precision())];
        let n = encode_into(&mut m, chunk, &mut out).unwrap();
        let mut back = vec![0u16; chunk.len()];
        decode_into(&mut m, &out[..n], &mut back).unwrap();
        assert!(back.iter().zip(chunk).all(|(&a, &b)| u32::from(a) == b));
    }
}

#[test]
fn the_largest_vocabulary_and_bytes_keep_their_precisions() {
    // 32,768 symbols: the format's limit.
    let c = Config {
        vocab: 32_768,
        ..Config::sized(16, 1, 2, 16, 32)
    };
    let fm = FloatModel::random(c, 9);
    let bytes = quantize_tokens(&fm, &tokens(64, 32_768, 3), &QuantOptions::default()).unwrap();
    let file = ModelFile::parse(&bytes).unwrap();
    assert_eq!(file.precision(), 23);
    let mut work = vec![0u8; working_memory_size(&c)];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let seq = tokens(40, 32_768, 4);
    let mut out = vec![0u8; max_encoded_len(seq.len(), m.precision())];
    let n = encode_into(&mut m, &seq, &mut out).unwrap();
    let mut back = vec![0u32; seq.len()];
    decode_into(&mut m, &out[..n], &mut back).unwrap();
    assert_eq!(back, seq);
    // Over the limit is refused.
    let big = Config { vocab: 32_769, ..c };
    assert!(big.validate().is_err());

    // Bytes stay at 16 bits (the golden tables of tests/golden.rs pin the
    // rest), and an explicit higher precision is kept.
    let c = Config::sized(16, 1, 2, 16, 32);
    let fm = FloatModel::random(c, 9);
    let b = model_int8::quantize(&fm, b"some text", &QuantOptions::default()).unwrap();
    assert_eq!(ModelFile::parse(&b).unwrap().precision(), 16);
    let opts = QuantOptions {
        precision: 20,
        ..QuantOptions::default()
    };
    let b = model_int8::quantize(&fm, b"some text", &opts).unwrap();
    assert_eq!(ModelFile::parse(&b).unwrap().precision(), 20);
}
