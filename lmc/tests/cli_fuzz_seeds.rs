//! The fuzz target's committed model (`fuzz/tiny.lmm`, so that changes to
//! the quantizer do not invalidate the seeds) and seeds
//! (`fuzz/seeds/decompress`): valid streams of that model, which must keep
//! decoding, so a format change shows up here and not as a silently
//! useless corpus. Rewrite both with `cargo test -p lmc --test
//! cli_fuzz_seeds -- --ignored`.

use std::io::Cursor;
use std::path::PathBuf;

use coder_core::container::{Coding, Mode};
use lmc::{models::tiny_random_model, Int8Source, Media, Settings};

fn model_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/tiny.lmm")
}

fn seeds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/decompress")
}

/// The inputs the valid seeds compress: `(name, data, chunk size,
/// coding)`, every coding of the container among them.
fn inputs() -> Vec<(&'static str, Vec<u8>, u32, Coding)> {
    let text = b"the quick brown fox jumps over the lazy dog; ".repeat(4);
    let m = Coding::MODEL;
    let coding = |mode, preset, chained| Coding {
        mode,
        preset,
        chained,
        region: None,
    };
    vec![
        ("empty", Vec::new(), 64, m),
        ("one-byte", b"a".to_vec(), 64, m),
        ("text-64", text.clone(), 64, m),
        ("text-16", text[..100].to_vec(), 16, m),
        ("zeros", vec![0u8; 130], 64, m),
        ("all-bytes", (0..=255u8).collect(), 100, m),
        (
            "text-mixed",
            text.clone(),
            1024,
            coding(Mode::Mixed, 1, false),
        ),
        (
            "text-adaptive",
            text.clone(),
            1024,
            coding(Mode::Adaptive, 1, false),
        ),
        (
            "text-chained",
            text.clone(),
            48,
            coding(Mode::Mixed, 1, true),
        ),
        // The mixer preset `lmc -M mixed` writes since 2026-12-07.
        (
            "text-mixed3",
            text.clone(),
            1024,
            coding(Mode::Mixed, 3, false),
        ),
        // Version 3: a media region in the header.
        (
            "image-adaptive",
            pgm(),
            1024,
            coding(Mode::Adaptive, 1, false),
        ),
        ("audio-mixed", wav(), 256, coding(Mode::Mixed, 1, false)),
    ]
}

/// A 13 x 9 grey image with a comment in its header.
fn pgm() -> Vec<u8> {
    let mut v = b"P5\n# seed\n13 9\n255\n".to_vec();
    v.extend((0..13 * 9).map(|i| (i * 7 % 61 + i / 13 * 3) as u8));
    v
}

/// A 16-bit mono WAV of 200 samples.
fn wav() -> Vec<u8> {
    let data: Vec<u8> = (0..200i32)
        .flat_map(|i| (((i * 97 % 400 - 200) * 40) as i16).to_le_bytes())
        .collect();
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    v
}

#[test]
#[ignore = "rewrites the committed seeds"]
fn write_seeds() {
    let bytes = tiny_random_model(1).unwrap();
    std::fs::write(model_path(), &bytes).unwrap();
    let model = Int8Source::new(&bytes).unwrap();
    std::fs::create_dir_all(seeds_dir()).unwrap();
    for (name, data, cs, coding) in inputs() {
        let mut out = Cursor::new(Vec::new());
        let settings = Settings::new(cs).coding(coding).media(Media::Detect);
        lmc::compress_with(Some(&model), &data[..], &mut out, &settings, |_| {}).unwrap();
        std::fs::write(seeds_dir().join(format!("{name}.lmc")), out.into_inner()).unwrap();
    }
}

#[test]
fn seeds_decode_to_their_inputs() {
    let bytes = std::fs::read(model_path()).unwrap();
    let model = Int8Source::new(&bytes).unwrap();
    for (name, data, _, _) in inputs() {
        let stream = std::fs::read(seeds_dir().join(format!("{name}.lmc"))).unwrap();
        let mut back = Vec::new();
        lmc::decompress(&model, &stream[..], &mut back, |_| {}).unwrap();
        assert_eq!(back, data, "{name}");
    }
}
