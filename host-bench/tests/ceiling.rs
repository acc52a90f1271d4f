//! Compression-ratio ceiling: on held-out enwik8 text the shipped 200K
//! model beats chunked gzip and chunked LZMA2 (the paper's accounting, header
//! counted once), measured by real encodes decoded back.
//!
//! Needs the shipped model `model-int8/models/lm-200k.lmm`, which is
//! committed: a missing model fails the test.

use std::path::Path;

use host_bench::baselines;
use host_bench::data::{self, Sample};
use host_bench::lm;
use host_bench::table1::measure_classical;

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../model-int8/models/lm-200k.lmm"
);
const ENWIK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/enwik8/enwik8.head"
);

#[test]
fn shipped_200k_model_beats_chunked_gzip_and_lzma2() {
    assert!(
        Path::new(MODEL).exists(),
        "{MODEL} is missing: the shipped 200K model must be in the repo"
    );
    let chunks = data::load_enwik(
        Path::new(ENWIK),
        data::ENWIK_EVAL_START,
        None,
        Sample::Even(12),
    )
    .unwrap();
    let bytes = lm::read_model(Path::new(MODEL)).unwrap();
    let m = lm::LmModel::from_file(Path::new(MODEL), &bytes).unwrap();
    let s = lm::measure_lm(&m, &chunks, false, |_| {}).unwrap();
    let gzip = measure_classical(&baselines::Gzip::default(), &chunks, false).unwrap();
    let xz = measure_classical(&baselines::Xz::paper(), &chunks, false).unwrap();
    eprintln!(
        "LM {:.4} (ideal {:.4}), gzip {:.4}, LZMA2 {:.4}",
        s.raw_rate(),
        s.ideal_rate(),
        gzip.chunked_rate(),
        xz.chunked_rate()
    );
    assert!(s.raw_rate() < gzip.chunked_rate());
    assert!(s.raw_rate() < xz.chunked_rate());
}
