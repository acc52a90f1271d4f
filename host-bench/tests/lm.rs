//! LM rows with a small random-weight int8 model (until a trained one is
//! shipped): real encodes, decoded back, and the container framing.

use host_bench::data::{self, Sample};
use host_bench::lm::{self, LmModel};
use lmc::ChunkModel;
use model_int8::{Config, FloatModel, QuantOptions};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn enwik(n: usize) -> data::Chunks {
    data::load_enwik(
        format!("{SHARED}/enwik8/enwik8.head").as_ref(),
        data::ENWIK_EVAL_START,
        None,
        Sample::First(n),
    )
    .unwrap()
}

fn random_model(d: u32, layers: u32, heads: u32, window: u32) -> Vec<u8> {
    let cfg = Config::sized(d, layers, heads, window, 2048);
    let float = FloatModel::random(cfg, 7);
    let calib = enwik(1);
    let opts = QuantOptions {
        max_calibration_bytes: 2048,
        ..QuantOptions::default()
    };
    model_int8::quantize(&float, &calib.data, &opts).unwrap()
}

#[test]
fn lm_rows_round_trip_and_account() {
    let bytes = random_model(32, 2, 2, 64);
    let m = LmModel::new("random".into(), &bytes).unwrap();
    let chunks = enwik(3);
    let s = lm::measure_lm(&m, &chunks, true, |_| {}).unwrap();
    assert_eq!((s.chunks, s.raw_bytes), (3, 3 * 2048));
    // Termination costs at most a few bytes per chunk over the ideal.
    let ideal = s.ideal_bits / 8.0;
    assert!(
        s.coded_sum as f64 >= ideal - 1e-6,
        "{} < {ideal}",
        s.coded_sum
    );
    assert!(
        (s.coded_sum as f64) <= ideal + 3.0 * 3.0,
        "{} vs {ideal}",
        s.coded_sum
    );
    // Container: 36-byte header plus a 1-2 byte tag per chunk around the
    // payloads (or stored chunks).
    let c = s.container.unwrap();
    assert!(
        c >= 36 + s.fallback_sum + 3 && c <= 36 + s.fallback_sum + 6,
        "{c}"
    );
    assert_eq!(s.model_file_bytes, m.model_file_bytes());
    assert_eq!(m.paper_name(), None);
}

#[test]
fn container_is_readable_by_coder_core() {
    let bytes = random_model(32, 2, 2, 64);
    let m = LmModel::new("random".into(), &bytes).unwrap();
    let chunks = enwik(2);
    let codes = lm::code_chunks(m.source(), &chunks, |_| {}).unwrap();
    let fp = m.source().fingerprint();
    let stream = lm::assemble_container(fp, &chunks.data, &codes).unwrap();
    // coder-core's own decompressor with the same model gives the data back.
    let file = model_int8::ModelFile::parse(&bytes).unwrap();
    let mut work = vec![0u8; model_int8::working_memory_size(file.config())];
    let mut model = model_int8::Int8Model::new(&file, &mut work).unwrap();
    let back = coder_core::container::decompress_to_vec(&mut model, &stream).unwrap();
    assert_eq!(back, chunks.data);
    // The metered log-loss is the int8 reference's.
    let ideal: f64 = codes.iter().map(|c| c.ideal_bits).sum();
    let bpb = model_int8::bits_per_byte(&mut model, &chunks.data, 2048);
    assert!(
        (ideal - bpb * chunks.data.len() as f64).abs() < 1e-6,
        "{ideal} vs {bpb}"
    );
}

#[test]
fn bad_model_files_are_clear_errors() {
    let missing = lm::read_model("/nonexistent/model.lmm".as_ref())
        .err()
        .unwrap();
    assert!(
        missing.to_string().contains("/nonexistent/model.lmm"),
        "{missing}"
    );
    let bad = LmModel::from_file("bad.lmm".as_ref(), b"definitely not a model")
        .err()
        .unwrap();
    assert!(matches!(bad, host_bench::Error::Model(_)), "{bad}");
    assert!(bad.to_string().contains("bad.lmm"), "{bad}");
}
