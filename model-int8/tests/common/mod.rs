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

/// Set to `1` to let tests whose shared data is missing pass (skipped).
pub const SKIP_DATA_ENV: &str = "LMC_SKIP_MISSING_DATA";

/// The shared enwik8 head beside the checkout. Missing data fails the test
/// unless [`SKIP_DATA_ENV`] is `1`, when it returns `None` (skip).
pub fn shared_enwik8() -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/enwik8/enwik8.head");
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) if std::env::var(SKIP_DATA_ENV).is_ok_and(|v| v == "1") => {
            println!("skipped ({SKIP_DATA_ENV}=1): {}: {e}", path.display());
            None
        }
        Err(e) => panic!(
            "{}: {e}; put the shared data sets beside the checkout (see DEVELOPERS.md), \
             or set {SKIP_DATA_ENV}=1 to skip this test",
            path.display()
        ),
    }
}

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
