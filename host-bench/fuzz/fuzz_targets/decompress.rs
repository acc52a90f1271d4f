//! `lmc`'s decompressor on arbitrary bytes: it must return an error or the
//! verified data, never panic or hang.
//!
//! `cargo +nightly fuzz run decompress fuzz/seeds/decompress` (from
//! `host-bench/`); the model and the seeds (its streams) are written by
//! `cargo test -p host-bench --test cli_fuzz_seeds -- --ignored`.
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../src/codec/mod.rs"]
mod codec;

use std::sync::LazyLock;

use indicatif::ProgressBar;
use libfuzzer_sys::fuzz_target;

/// The model the seeds were made with (`codec::models::tiny_random_model`).
static MODEL: &[u8] = include_bytes!("../tiny.lmm");
static POOL: LazyLock<rayon::ThreadPool> = LazyLock::new(|| {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool")
});

/// Headers may claim any length, and a few bytes can code a long run, so
/// the work is bounded by the header's claim: keep each run short.
const MAX_CLAIMED_LEN: u64 = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let model = codec::Int8Source::new(MODEL).expect("model parses");
    if let Ok(h) = codec::read_header(&mut &data[..]) {
        if h.original_len > MAX_CLAIMED_LEN {
            return;
        }
    }
    let hide = ProgressBar::hidden();
    POOL.install(|| {
        let mut out = Vec::new();
        if let Ok(h) = codec::decompress(&model, data, &mut out, &hide) {
            assert_eq!(out.len() as u64, h.original_len);
            assert_eq!(coder_core::crc32(&out), h.crc32);
            // What decodes re-encodes to a stream that decodes to the same.
            let mut again = std::io::Cursor::new(Vec::new());
            codec::compress(&model, &out[..], &mut again, h.chunk_size, &hide).expect("compress");
            let mut back = Vec::new();
            codec::decompress(&model, &again.get_ref()[..], &mut back, &hide).expect("round trip");
            assert_eq!(back, out);
        }
    });
});
