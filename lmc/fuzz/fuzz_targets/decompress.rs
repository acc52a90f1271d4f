//! `lmc`'s decompressor on arbitrary bytes: it must return an error or the
//! verified data, never panic or hang.
//!
//! `cargo +nightly fuzz run decompress fuzz/seeds/decompress` (from
//! `lmc/`); the model and the seeds (its streams) are written by
//! `cargo test -p lmc --test cli_fuzz_seeds -- --ignored`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use lmc::{Int8Source, LogLoss};

/// The model the seeds were made with (`lmc::models::tiny_random_model`).
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
    let model = Int8Source::new(MODEL).expect("model parses");
    if let Ok(r) = lmc::open(data) {
        if r.header().original_len > MAX_CLAIMED_LEN {
            return;
        }
    }
    POOL.install(|| {
        let mut out = Vec::new();
        if let Ok(h) = lmc::decompress(&model, data, &mut out, |_| {}) {
            assert_eq!(out.len() as u64, h.original_len);
            assert_eq!(coder_core::crc32(&out), h.crc32);
            // What decodes re-encodes to a stream that decodes to the same.
            let mut again = std::io::Cursor::new(Vec::new());
            lmc::compress(&model, &out[..], &mut again, h.chunk_size, LogLoss::Skip, |_| {})
                .expect("compress");
            let mut back = Vec::new();
            lmc::decompress(&model, &again.get_ref()[..], &mut back, |_| {}).expect("round trip");
            assert_eq!(back, out);
        }
    });
});
