//! Shared helpers of the integration tests.
#![allow(dead_code)]

use model_int8::{quantize, Config, FloatModel, QuantOptions};

/// A fixed English sample (no external files needed).
pub const TEXT: &[u8] = b"The quick brown fox jumps over the lazy dog. In the beginning \
was the word, and the word was compressed. Language models are general purpose \
compressors: a model that predicts the next byte well can drive an arithmetic \
coder to a short code. This test text has [[links]], numbers like 1234 and 2026, \
and punctuation; it is repeated with small changes so that attention has \
something to find. The quick brown fox jumps over the lazy cat. In the end \
was the byte, and the byte was decoded.";

/// A small test configuration.
pub fn small_config() -> Config {
    Config::sized(32, 2, 2, 64, 128)
}

/// A random model and its int8 file, calibrated on [`TEXT`].
pub fn small_model(config: Config, seed: u64) -> (FloatModel, Vec<u8>) {
    let m = FloatModel::random(config, seed);
    let bytes = quantize(&m, TEXT, &QuantOptions::default()).expect("quantize");
    (m, bytes)
}
