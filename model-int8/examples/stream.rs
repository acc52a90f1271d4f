//! Codes held-out enwik8 as one long stream with a shipped model and prints
//! the speed (per CPU-second of this thread) and the bits per byte inside
//! the first `max_context` positions and past them.
//!
//! `cargo run --release -p model-int8 --features simd --example stream [model.lmm] [bytes] [chunk]`
//!
//! `chunk` 0 (the default) codes one stream of `bytes`; otherwise the
//! stream is cut into chunks of `chunk` bytes, each from a fresh context.

use std::time::Instant;

use coder_core::{symbol_bits, Model};
use model_int8::bench::thread_cpu_ns;
use model_int8::{working_memory_size, Int8Model, ModelFile};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/models/lm-200k.lmm").into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(65536);
    let chunk: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let enwik8 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/enwik8/enwik8.head"
    );
    let data = std::fs::read(enwik8).unwrap_or_else(|e| panic!("{enwik8}: {e}"));
    let data = &data[3_600_000..3_600_000 + n];
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file = ModelFile::parse(&bytes).unwrap();
    let c = *file.config();
    let mut work = vec![0u8; working_memory_size(&c)];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let ctx = c.max_context as usize;
    let w = c.window as usize;
    // Bits of positions [window, max_context) and [max_context, ..) of
    // each chunk.
    let (mut inside, mut n_in, mut past, mut n_past) = (0.0, 0usize, 0.0, 0usize);
    // Past max_context, the positions whose window still holds keys of
    // the previous epoch (position % max_context < window - 1).
    let (mut seam, mut n_seam) = (0.0, 0usize);
    let chunk = if chunk == 0 { n } else { chunk };
    let (t0, c0) = (Instant::now(), thread_cpu_ns());
    for part in data.chunks(chunk) {
        m.reset();
        for (i, &b) in part.iter().enumerate() {
            let f = m.frequencies().frequency(b as usize).unwrap();
            let bits = symbol_bits(f, m.precision());
            if i >= ctx {
                past += bits;
                n_past += 1;
                if i % ctx + 1 < w {
                    seam += bits;
                    n_seam += 1;
                }
            } else if i >= w {
                inside += bits;
                n_in += 1;
            }
            m.observe(b as usize);
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = match (c0, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 * 1e-9,
        _ => wall,
    };
    println!(
        "{path}: {n} bytes in chunks of {chunk}: {:.2} KB/s per CPU-second ({:.2} KB/s wall)",
        n as f64 / cpu / 1e3,
        n as f64 / wall / 1e3
    );
    println!(
        "bits/byte: positions {w}..{ctx} {:.4} ({n_in} B), past {ctx} {:.4} ({n_past} B), \
         of which across an epoch seam {:.4} ({n_seam} B)",
        inside / n_in.max(1) as f64,
        past / n_past.max(1) as f64,
        seam / n_seam.max(1) as f64
    );
}
