//! Writes the raw-data files of lmc's block-choice measurement
//! (lmc/README.md, "Data that is not text"): the paper's byte formats of
//! the evaluation sets, which no model trained on, each alone and
//! concatenated: `speech.raw` (LibriSpeech as 8-bit samples), `patches.raw`
//! (ImageNet as grey 32 x 64 patches), `text.raw` (held-out enwik8), each
//! `MIB` MiB of evenly spaced 2048-byte chunks (the text: its first bytes),
//! and `mixed.raw`, the three one after the other.
//!
//! `cargo run --release -p host-bench --example mixed_sample -- DATA OUTDIR [MIB]`
//! (DATA: `../shared/data`)

use std::path::Path;

use host_bench::data::{load_imagenet, load_librispeech, Sample, CHUNK};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (data, out, mib) = match &args[..] {
        [d, o] => (d, o, 1),
        [d, o, m] => (d, o, m.parse().expect("MIB: a whole number")),
        _ => {
            eprintln!("usage: mixed_sample DATA OUTDIR [MIB]");
            std::process::exit(2);
        }
    };
    let data = Path::new(data);
    let out = Path::new(out);
    let n = (mib << 20) / CHUNK;
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! {
        eprintln!("{what}: {e}");
        std::process::exit(1)
    };
    let speech = load_librispeech(&data.join("librispeech"), Sample::Even(n))
        .unwrap_or_else(|e| fail("librispeech", &e))
        .data;
    let patches = load_imagenet(&data.join("imagenet"), Sample::Even(n))
        .unwrap_or_else(|e| fail("imagenet", &e))
        .data;
    let enwik =
        std::fs::read(data.join("enwik8/enwik8.head")).unwrap_or_else(|e| fail("enwik8", &e));
    let text = &enwik[3_600_000..(3_600_000 + (mib << 20)).min(enwik.len())];
    std::fs::create_dir_all(out).unwrap_or_else(|e| fail("OUTDIR", &e));
    let mixed: Vec<u8> = [&speech[..], &patches[..], text].concat();
    for (name, bytes) in [
        ("speech.raw", &speech[..]),
        ("patches.raw", &patches[..]),
        ("text.raw", text),
        ("mixed.raw", &mixed[..]),
    ] {
        std::fs::write(out.join(name), bytes).unwrap_or_else(|e| fail(name, &e));
        eprintln!("{name}: {} bytes", bytes.len());
    }
}
