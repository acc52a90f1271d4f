//! Compress then decompress arbitrary data with an adaptive model and a
//! fuzzer-chosen chunk size: the round trip is exact and within bounds.
#![no_main]

use coder_core::container::{compress_to_vec, decompress_to_vec, max_compressed_len};
use coder_core::models::{ContextConfig, ContextModel};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knob, data)) = data.split_first() else {
        return;
    };
    let chunk = 1 + usize::from(knob) * 8;
    let mut cfg = ContextConfig::order2_bytes(8);
    cfg.precision = 12 + u32::from(knob % 13);
    cfg.max_rate = 1 + u32::from(knob % 16);
    let mut model = ContextModel::new(cfg).unwrap();
    let stream = compress_to_vec(&mut model, data, chunk).unwrap();
    assert!(stream.len() <= max_compressed_len(data.len(), chunk));
    assert_eq!(decompress_to_vec(&mut model, &stream).unwrap(), data);
});
