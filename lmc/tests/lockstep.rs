//! Chunks coded in lockstep (several per thread, one model pass for all)
//! give the same bytes whatever the batch size and the thread count, and
//! decode back.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use coder_core::container::{Coding, Mode};
use lmc::{ChunkModel, Int8Source, LogLoss, Settings};

fn file(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Runs `f` on a pool of `threads` threads with a progress callback;
/// returns its result and the sum of the progress reported.
fn on_threads<R: Send>(
    threads: usize,
    f: impl FnOnce(&(dyn Fn(u64) + Sync)) -> R + Send,
) -> (R, u64) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let ticks = AtomicU64::new(0);
    let r = pool.install(|| {
        f(&|n| {
            ticks.fetch_add(n, Ordering::Relaxed);
        })
    });
    (r, ticks.into_inner())
}

/// `(stream, ideal bits)` of `data` compressed on `threads` threads.
fn compress(
    model: &Int8Source<'_>,
    data: &[u8],
    settings: &Settings,
    threads: usize,
) -> (Vec<u8>, Option<f64>) {
    let mut out = Cursor::new(Vec::new());
    let (s, ticks) = on_threads(threads, |p| {
        lmc::compress_with(Some(model), data, &mut out, settings, p)
    });
    assert_eq!(ticks, data.len() as u64, "progress sums to the input");
    (out.into_inner(), s.unwrap().ideal_bits)
}

fn decompress(model: &Int8Source<'_>, stream: &[u8], threads: usize) -> Vec<u8> {
    let mut back = Vec::new();
    let (r, ticks) = on_threads(threads, |p| lmc::decompress(model, stream, &mut back, p));
    r.unwrap();
    assert_eq!(ticks, back.len() as u64, "progress sums to the output");
    back
}

#[test]
fn every_batch_size_and_thread_count_writes_the_same_bytes() {
    let bytes = file("../model-int8/models/lm-200k.lmm");
    let model = Int8Source::new(&bytes).unwrap();
    // Text, then binary bytes: 17 chunks of 256, the last one short.
    let mut data = file("tests/data/sample.txt")[..3000].to_vec();
    data.extend(&file("tests/data/mixed.bin")[..1200]);
    let codings = [
        (Mode::Model, false, LogLoss::Measure),
        (Mode::Model, true, LogLoss::Skip),
        (Mode::Mixed, false, LogLoss::Skip),
        (Mode::Mixed, true, LogLoss::Measure),
    ];
    for (mode, chained, log_loss) in codings {
        let coding = Coding {
            mode,
            preset: if mode == Mode::Mixed {
                lmc::coding::HOST_PRESET
            } else {
                0
            },
            chained,
            region: None,
        };
        let settings = Settings::new(256).coding(coding).log_loss(log_loss);
        let what = format!("{mode:?}, chained {chained}");
        let (reference, bits) = compress(&model.with_lanes(1), &data, &settings, 1);
        let mut r = lmc::open(&reference[..]).unwrap();
        let stats = lmc::scan(&mut r).unwrap();
        assert!(stats.coded > 12, "{what}: {stats:?}");
        for lanes in [1, 2, 7, 16] {
            let m = model.with_lanes(lanes);
            assert_eq!(m.lanes(), lanes);
            for threads in [1, 2] {
                let (stream, b) = compress(&m, &data, &settings, threads);
                assert!(
                    stream == reference,
                    "{what}: {lanes} lanes, {threads} threads"
                );
                assert_eq!(b, bits, "{what}: {lanes} lanes, {threads} threads");
                let back = decompress(&m, &stream, threads);
                assert!(
                    back == data,
                    "{what}: {lanes} lanes, {threads} threads, decoded"
                );
            }
        }
    }
}

#[test]
fn a_damaged_chunk_is_named_in_a_lockstep_batch() {
    let bytes = file("../model-int8/models/lm-200k.lmm");
    let model = Int8Source::new(&bytes).unwrap().with_lanes(7);
    let data = file("tests/data/sample.txt");
    let settings = Settings::new(256).coding(Coding::MODEL);
    let (mut stream, _) = compress(&model, &data, &settings, 1);
    // A byte in the middle of the stream: one chunk is corrupt, and the
    // error names it, whichever lane it was decoded in.
    let at = stream.len() / 2;
    stream[at] ^= 0x10;
    let mut back = Vec::new();
    let e = lmc::decompress(&model, &stream[..], &mut back, |_| {}).unwrap_err();
    assert!(
        matches!(
            e,
            lmc::Error::CorruptChunk {
                chunks: 20,
                chunk: 5..=15
            } | lmc::Error::ChecksumMismatch { .. }
        ),
        "{e}"
    );
}
