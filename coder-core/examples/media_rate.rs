//! Codes whole files with the host mixer preset, as one chunk, with the
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
    let (mut total_in, mut total_out) = (0u64, 0u64);
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let data = std::fs::read(path).expect("read");
        let found = sniff(&data, data.len() as u64);
        let region = match found {
            Sniffed::Media(r) if !plain => Some(r),
            _ => None,
        };
        let cfg = MixConfig::host().fit_to(data.len());
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
