//! The arithmetic decoder on arbitrary bytes, under a model picked by the
//! first input bytes. It must never panic, and whatever it accepts must be
//! exactly what the encoder writes for the symbols it decoded.
#![no_main]

use coder_core::models::{ContextConfig, ContextModel, StaticModel};
use coder_core::{decode_into, encode_to_vec, FreqTable, Model};
use libfuzzer_sys::fuzz_target;

fn check<M: Model>(model: &mut M, coded: &[u8], n: usize) {
    let mut out = vec![0u32; n];
    if decode_into(model, coded, &mut out).is_ok() {
        let again = encode_to_vec(model, &out).expect("re-encoding decoded symbols");
        assert_eq!(again, coded, "decoder accepted a non-canonical stream");
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, coded) = data.split_at(4);
    let precision = 1 + u32::from(head[0]) % 24;
    let n = usize::from(head[1]) * 4;
    match head[2] % 4 {
        0 => {
            // A table with one hot symbol and the rest at the minimum.
            let symbols = (1usize << (head[3] % 17)).min(1 << precision);
            let mut f = vec![1u32; symbols];
            let hot = usize::from(head[0]) % symbols;
            f[hot] += (1u32 << precision) - symbols as u32;
            let mut cum = vec![0u32; symbols + 1];
            FreqTable::from_frequencies_into(&f, precision, &mut cum).unwrap();
            let t = FreqTable::from_cumulative(cum, precision).unwrap();
            check(&mut StaticModel::new(t.clone()), coded, n);
            check(&mut StaticModel::<_, 256>::with_index(t).unwrap(), coded, n);
        }
        1 => {
            let symbols = (1usize << (head[3] % 17)).min(1 << precision).max(1);
            let mut cum = vec![0u32; symbols + 1];
            coder_core::freq::fill_uniform(&mut cum, precision).unwrap();
            let t = FreqTable::from_cumulative(cum, precision).unwrap();
            check(&mut StaticModel::<_, 64>::with_index(t).unwrap(), coded, n);
        }
        _ => {
            let cfg = ContextConfig {
                symbols: 256,
                precision: precision.max(8),
                order: u32::from(head[3]) % 3,
                hash_bits: 6,
                max_rate: 1 + u32::from(head[3] >> 4),
            };
            check(&mut ContextModel::new(cfg).unwrap(), coded, n);
        }
    }
});
