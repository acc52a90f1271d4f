//! Codes whole files with the host mixer preset (or `--preset N`), as one chunk, with the
//! media region `sniff` finds (or none with `--plain`), decodes them back
//! and prints the coded size: a quick probe of the image and audio models.
//!
//! `cargo run --release -p coder-core --example media_rate -- FILE...`

use coder_core::media::{sniff, Sniffed};
use coder_core::mix::{max_coded_len, MixConfig, Mixer};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plain = args.iter().any(|a| a == "--plain");
    let preset: u8 = args
        .iter()
        .position(|a| a == "--preset")
        .map_or(1, |i| args[i + 1].parse().expect("--preset N"));
    let mut base = MixConfig::preset(preset).expect("no such preset");
    // Experiments: `--set field=value` overrides a field of the preset.
    let sets: Vec<&String> = (1..args.len())
        .filter(|&i| args[i - 1] == "--set")
        .map(|i| &args[i])
        .collect();
    for kv in sets {
        let (k, v) = kv.split_once('=').expect("--set field=value");
        let v = if let Some(hex) = v.strip_prefix("0x") {
            u32::from_str_radix(hex, 16)
        } else {
            v.parse()
        }
        .expect("a number");
        match k {
            "orders" => base.orders = v as u8,
            "text" => base.text = v,
            "table_bits" => base.table_bits = v,
            "min_match" => base.min_match = v,
            "mixer_rate" => base.mixer_rate = v,
            "apm2_bits" => base.apm2_bits = v,
            "sparse" => base.sparse = v as u8,
            "word" => base.word = v != 0,
            _ => panic!("unknown field {k}"),
        }
    }
    let (mut total_in, mut total_out) = (0u64, 0u64);
    let files = args
        .iter()
        .enumerate()
        .filter(|&(i, a)| {
            !a.starts_with("--")
                && (i == 0 || !matches!(args[i - 1].as_str(), "--preset" | "--set"))
        })
        .map(|(_, a)| a);
    for path in files {
        let data = std::fs::read(path).expect("read");
        let found = sniff(&data, data.len() as u64);
        let region = match found {
            Sniffed::Media(r) if !plain => Some(r),
            _ => None,
        };
        let cfg = base.fit_to(data.len());
        let mut mixer = Mixer::new(cfg).expect("mixer");
        mixer.set_region(region, 0);
        let mut out = vec![0u8; max_coded_len(data.len())];
        let t = Instant::now();
        let n = mixer.encode_chunk(&data, &mut out).expect("encode");
        let secs = t.elapsed().as_secs_f64();
        let mut back = vec![0u8; data.len()];
        mixer.decode_chunk(&out[..n], &mut back).expect("decode");
        assert!(back == data, "{path}: round trip failed");
        total_in += data.len() as u64;
        total_out += n as u64;
        println!(
            "{path}\t{}\t{n}\t{:.2}%\t{:.0} KB/s\t{found:?}",
            data.len(),
            100.0 * n as f64 / data.len() as f64,
            data.len() as f64 / secs / 1e3
        );
    }
    println!(
        "total\t{total_in}\t{total_out}\t{:.2}%",
        100.0 * total_out as f64 / total_in as f64
    );
}
