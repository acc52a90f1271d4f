//! Streams written before the codec moved into this crate (by `lmc` at
//! commit 4a90c06, see `tests/data/README.md`) still decode byte for byte,
//! with the library and with the binary, and today's `lmc` writes the very
//! same bytes.

use std::fs;
use std::io::Cursor;
use std::path::PathBuf;

use lmc::{Int8Source, LogLoss};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The model the old streams were written with: the enwik8-only 200K,
/// retired as the default (found by fingerprint, `Shipped::retired`).
fn shipped_200k() -> Vec<u8> {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../model-int8/models/lm-200k-enwik8.lmm");
    fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (the enwik8-only 200K model)", p.display()))
}

/// `(input, stream, chunk size)`.
const CASES: [(&str, &str, u32); 2] = [
    ("sample.txt", "sample.txt.lmc", 2048),
    ("mixed.bin", "mixed.bin.lmc", 1024),
];

#[test]
fn old_streams_decode_and_today_writes_the_same_bytes() {
    let bytes = shipped_200k();
    let model = Int8Source::new(&bytes).unwrap();
    for (input, stream, cs) in CASES {
        let original = fs::read(data(input)).unwrap();
        let old = fs::read(data(stream)).unwrap();
        let mut back = Vec::new();
        let h = lmc::decompress(&model, &old[..], &mut back, |_| {}).unwrap();
        assert_eq!(back, original, "{stream}");
        assert_eq!(h.chunk_size, cs);
        let mut again = Cursor::new(Vec::new());
        let s = lmc::compress(
            &model,
            &original[..],
            &mut again,
            cs,
            LogLoss::Measure,
            |_| {},
        )
        .unwrap();
        assert_eq!(again.into_inner(), old, "{input} re-compressed");
        let mut skip = Cursor::new(Vec::new());
        lmc::compress(&model, &original[..], &mut skip, cs, LogLoss::Skip, |_| {}).unwrap();
        assert_eq!(
            skip.into_inner(),
            old,
            "{input} re-compressed without metering"
        );
        // The metered log-loss is the int8 reference's, chunk by chunk.
        let bits = s.ideal_bits.unwrap();
        let file = model_int8::ModelFile::parse(&bytes).unwrap();
        let mut work = vec![0u8; model_int8::working_memory_size(file.config())];
        let mut m = model_int8::Int8Model::new(&file, &mut work).unwrap();
        let reference = model_int8::bits_per_byte(&mut m, &original, cs as usize);
        assert!(
            (bits - reference * original.len() as f64).abs() < 1e-6,
            "{bits} vs {reference}"
        );
    }
}

#[test]
fn old_streams_decode_with_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../model-int8/models");
    for (input, stream, _) in CASES {
        fs::copy(data(stream), dir.path().join(stream)).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_lmc"))
            .current_dir(dir.path())
            .env("LMC_MODEL_DIR", &models)
            .args(["-d", stream])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            fs::read(dir.path().join(input)).unwrap(),
            fs::read(data(input)).unwrap()
        );
        assert!(!dir.path().join(stream).exists());
    }
}

/// Version 2 streams (written 2026-12-03, when mixing arrived): the
/// Transformer mixed with the adaptive models (the mixed-and-trained 200K),
/// and the adaptive models alone. They decode byte for byte, and today's
/// `lmc` writes the very same bytes.
#[test]
fn version_2_streams_decode_and_today_writes_the_same_bytes() {
    use coder_core::container::{Coding, Mode};
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../model-int8/models");
    let bytes = fs::read(models.join("lm-200k.lmm")).unwrap();
    let model = Int8Source::new(&bytes).unwrap();
    let original = fs::read(data("sample.txt")).unwrap();
    let cases = [
        ("sample.txt.mixed.lmc", Mode::Mixed, 2048),
        ("sample.txt.adaptive.lmc", Mode::Adaptive, 1 << 20),
    ];
    for (stream, mode, cs) in cases {
        let old = fs::read(data(stream)).unwrap();
        let mut back = Vec::new();
        let h = lmc::decompress(&model, &old[..], &mut back, |_| {}).unwrap();
        assert_eq!(back, original, "{stream}");
        assert_eq!((h.coding.mode, h.chunk_size, h.version()), (mode, cs, 2));
        let coding = Coding {
            mode,
            preset: lmc::coding::HOST_PRESET,
            chained: false,
            region: None,
        };
        let settings = lmc::Settings::new(cs).coding(coding);
        let mut again = Cursor::new(Vec::new());
        lmc::compress_with(Some(&model), &original[..], &mut again, &settings, |_| {}).unwrap();
        assert_eq!(again.into_inner(), old, "{stream} re-compressed");
        // And with the binary, finding the model by fingerprint (or
        // needing none).
        let dir = tempfile::tempdir().unwrap();
        fs::copy(data(stream), dir.path().join(stream)).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_lmc"))
            .current_dir(dir.path())
            .env("LMC_MODEL_DIR", &models)
            .args(["-d", "-c", stream])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout, original);
    }
}

/// Each level's default, and each earlier default kept in the tree (the
/// enwik8-only models, `Shipped::retired`), has a fingerprint of its own,
/// and `lmc` finds it by that fingerprint, so files compressed with them
/// still decode by themselves. (Defaults retired from the tree are on the
/// shelf: `tests/shelf.rs`.)
#[test]
fn every_default_in_the_tree_is_found_by_fingerprint() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../model-int8/models");
    let mut seen = std::collections::BTreeMap::new();
    for s in lmc::models::SHIPPED {
        for name in s.files.iter().take(1).chain(s.retired) {
            let p = dir.join(name);
            let bytes = fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let fp = model_int8::ModelFile::parse(&bytes)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .fingerprint();
            if let Some(other) = seen.insert(fp, *name) {
                panic!("{name} and {other} share the fingerprint {fp:016x}");
            }
            let (found, path, _) = lmc::models::find_shipped(fp)
                .unwrap_or_else(|| panic!("{name} is not found by its fingerprint"));
            assert_eq!(found.level, s.level, "{name}");
            assert!(path.ends_with(name), "{name} found as {}", path.display());
        }
    }
}
