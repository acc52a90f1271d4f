//! Writes the committed fuzz seeds to `fuzz/seeds/<target>/`:
//! `cargo run -p coder-core --example fuzz_seeds`.

use std::fs;
use std::path::Path;

use coder_core::container::compress_to_vec;
use coder_core::models::{ContextConfig, ContextModel, StaticModel};
use coder_core::{encode_to_vec, FreqTable};

const TEXT: &[u8] = b"It was the best of times, it was the worst of times, it was the age of \
wisdom, it was the age of foolishness, it was the epoch of belief, it was the epoch of \
incredulity, it was the season of Light, it was the season of Darkness.";

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    // decoder: 4 bytes choosing the model (see fuzz_targets/decoder.rs),
    // then a stream that model decodes.
    let symbols: Vec<u32> = TEXT.iter().map(|&b| u32::from(b)).collect();
    {
        // head[2] % 4 == 1: uniform over 2^(head[3] % 17) symbols.
        let head = [15u8, (symbols.len() / 4) as u8, 1, 8];
        let mut cum = vec![0u32; 257];
        coder_core::freq::fill_uniform(&mut cum, 16).unwrap();
        let mut m = StaticModel::new(FreqTable::from_cumulative(cum, 16).unwrap());
        let n = symbols.len() / 4 * 4;
        let mut seed = head.to_vec();
        seed.extend(encode_to_vec(&mut m, &symbols[..n]).unwrap());
        write("decoder", "uniform256", &seed);
    }
    {
        // head[2] % 4 == 0: one hot symbol (head[0] % symbols), 2^8 symbols.
        let head = [23u8, 16, 0, 8];
        let mut f = vec![1u32; 256];
        f[23] += (1 << 24) - 256;
        let mut cum = vec![0u32; 257];
        FreqTable::from_frequencies_into(&f, 24, &mut cum).unwrap();
        let mut m = StaticModel::new(FreqTable::from_cumulative(cum, 24).unwrap());
        let mut syms = vec![23u32; 64];
        syms[5] = 255;
        syms[40] = 0;
        let mut seed = head.to_vec();
        seed.extend(encode_to_vec(&mut m, &syms).unwrap());
        write("decoder", "spike24", &seed);
    }
    for (i, order) in [0u32, 1, 2].into_iter().enumerate() {
        let head = [15u8, 20, 2, order as u8 + 0x30];
        let cfg = ContextConfig {
            symbols: 256,
            precision: 16,
            order,
            hash_bits: 6,
            max_rate: 4,
        };
        let mut m = ContextModel::new(cfg).unwrap();
        let mut seed = head.to_vec();
        seed.extend(encode_to_vec(&mut m, &TEXT[..80]).unwrap());
        write("decoder", &format!("context{i}"), &seed);
    }

    // container: streams made with the order-0 byte model; a leading '!'
    // asks the target to patch in the fingerprint and header checksum.
    let mut m = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
    for (name, chunk) in [("text64", 64), ("text1", 1), ("textall", 4096)] {
        let s = compress_to_vec(&mut m, TEXT, chunk).unwrap();
        write("container", name, &s);
        let mut patched = s.clone();
        patched[0] = b'!';
        write("container", &format!("{name}-patch"), &patched);
    }
    let mut mixed = TEXT.to_vec();
    mixed.extend((0..=255u8).rev());
    write(
        "container",
        "mixed",
        &compress_to_vec(&mut m, &mixed, 100).unwrap(),
    );
    write(
        "container",
        "empty",
        &compress_to_vec(&mut m, b"", 100).unwrap(),
    );

    // roundtrip: a chunk-size knob, then data.
    let mut seed = vec![7u8];
    seed.extend_from_slice(TEXT);
    write("roundtrip", "text", &seed);
    write("roundtrip", "bytes", &(0..=255u8).collect::<Vec<_>>());
}
