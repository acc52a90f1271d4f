//! Writes a photo or speech folder as the paper's byte chunks, one file
//! of concatenated 2048-byte chunks, for `trainer --source NAME=FILE`:
//! photos as grey 32 x 64 patches, speech as 8-bit samples (see
//! `../shared/data/README.md`). Only for the training folders
//! (`photos/bsds500`, `speech/*`): ImageNet and LibriSpeech are
//! evaluation data and are refused.
//!
//! `cargo run --release -p host-bench --example export_chunks -- photos DIR OUT`
//! `cargo run --release -p host-bench --example export_chunks -- speech DIR[+DIR...] OUT`

use std::path::Path;

use host_bench::data::{load_imagenet, load_librispeech, Sample};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, dirs, out] = &args[..] else {
        eprintln!("usage: export_chunks photos|speech DIR[+DIR...] OUT");
        std::process::exit(2);
    };
    let mut all = Vec::new();
    for dir in dirs.split('+') {
        if dir.contains("imagenet") || dir.contains("librispeech") {
            eprintln!("{dir}: evaluation data; never train on it");
            std::process::exit(2);
        }
        let chunks = match kind.as_str() {
            "photos" => load_imagenet(Path::new(dir), Sample::All),
            "speech" => load_librispeech(Path::new(dir), Sample::All),
            _ => {
                eprintln!("{kind}: photos or speech");
                std::process::exit(2);
            }
        }
        .unwrap_or_else(|e| {
            eprintln!("{dir}: {e}");
            std::process::exit(1);
        });
        eprintln!("{}: {} chunks", chunks.source, chunks.len());
        all.extend_from_slice(&chunks.data);
    }
    std::fs::write(out, &all).unwrap_or_else(|e| {
        eprintln!("{out}: {e}");
        std::process::exit(1);
    });
    eprintln!("{out}: {} bytes", all.len());
}
