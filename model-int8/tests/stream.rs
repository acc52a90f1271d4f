//! Streams longer than `max_context` (models with `window < max_context`):
//! positions below `max_context` exactly as before streaming existed, the
//! positions past it as good as those inside, `prime` equal to observing
//! byte by byte, and 1 MB streams that round-trip with every shipped model
//! (release builds only: `cargo test -p model-int8 --features simd
//! --release`; the level defaults' there, the other models' with
//! `-- --ignored`, the full tier of `scripts/test-all.sh`).

mod common;

use std::path::{Path, PathBuf};

use coder_core::{decode_to_vec, encode_to_vec, symbol_bits, Model};
use model_int8::format::table_hash;
use model_int8::{working_memory_size, Config, Int8Model, ModelFile};

const HELD_OUT_START: usize = 3_600_000;

fn model_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(format!("{name}.lmm"))
}

fn shipped(name: &str) -> Vec<u8> {
    let p = model_path(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (shipped in the repository)", p.display()))
}

/// Runs `f` on an int8 model of `bytes`.
fn with_model<R>(bytes: &[u8], f: impl FnOnce(&mut Int8Model<'_>) -> R) -> R {
    let file = ModelFile::parse(bytes).unwrap();
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    f(&mut m)
}

/// Held-out enwik8 from byte 3,600,000 on, at most `n` bytes (`None`:
/// data missing and `LMC_SKIP_MISSING_DATA=1`).
fn held_out(n: usize) -> Option<Vec<u8>> {
    let all = common::shared_enwik8()?;
    let h = &all[HELD_OUT_START..];
    Some(h[..n.min(h.len())].to_vec())
}

/// A file of the shared data, with the same missing-data rule as
/// `common::shared_enwik8`.
fn shared(rel: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) if std::env::var(common::SKIP_DATA_ENV).is_ok_and(|v| v == "1") => {
            println!(
                "skipped ({}=1): {}: {e}",
                common::SKIP_DATA_ENV,
                path.display()
            );
            None
        }
        Err(e) => panic!(
            "{}: {e}; put the shared data sets beside the checkout (see DEVELOPERS.md), \
             or set {}=1 to skip this test",
            path.display(),
            common::SKIP_DATA_ENV
        ),
    }
}

/// Bits of each symbol of `data` coded as one stream from a reset.
fn stream_bits(m: &mut Int8Model<'_>, data: &[u8]) -> Vec<f64> {
    let precision = m.precision();
    m.reset();
    data.iter()
        .map(|&b| {
            let f = m.frequencies().frequency(b as usize).unwrap();
            m.observe(b as usize);
            symbol_bits(f, precision)
        })
        .collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn text(n: usize) -> Vec<u8> {
    common::TEXT.iter().cycle().take(n).copied().collect()
}

#[test]
fn can_stream_needs_a_window_shorter_than_the_context() {
    assert!(Config::paper_200k(256, 2048).can_stream());
    assert!(Config::sized(32, 2, 2, 127, 128).can_stream());
    assert!(!Config::sized(32, 2, 2, 128, 128).can_stream());
    for name in shipped_models() {
        let b = shipped(&name);
        assert!(
            ModelFile::parse(&b).unwrap().config().can_stream(),
            "{name}"
        );
    }
}

/// The shipped model files, by name.
fn shipped_models() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "lmm"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The enwik8-trained 200K model of 2026-12-02 (first shipped as
/// `lm-200k.lmm`), by its checksum.
const ENWIK8_200K_FINGERPRINT: u64 = 0x737d_0557_cc87_b01e;

/// Positions below `max_context` give the tables they gave before streaming
/// existed (hashes recorded with that code): the committed golden model
/// over its whole context, a shipped 200K model (window 256) over a full
/// 2048-byte chunk of held-out enwik8; a full-attention model (which cannot
/// stream) keeps its old behaviour past its context too.
#[test]
fn positions_inside_the_context_are_unchanged() {
    let golden =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden.lmi8"))
            .unwrap();
    assert_eq!(ModelFile::parse(&golden).unwrap().config().max_context, 320);
    let got = with_model(&golden, |m| table_hash(m, &text(320)));
    assert_eq!(
        got, 0xe8cb_e1d1_28a8_6e98,
        "golden model over 320 positions"
    );
    if let Some(h) = held_out(2048) {
        assert_eq!(h.len(), 2048);
        let model = shipped_models().into_iter().map(|n| shipped(&n)).find(|b| {
            ModelFile::parse(b).is_ok_and(|f| f.fingerprint() == ENWIK8_200K_FINGERPRINT)
        });
        match model {
            Some(b) => {
                let got = with_model(&b, |m| table_hash(m, &h));
                assert_eq!(got, 0x0887_8a6b_9bc8_0728, "200K on 2048 held-out bytes");
            }
            None => println!("the enwik8 200K model of 2026-12-02 is no longer shipped"),
        }
    }
    let t = text(600);
    let full = common::small_model(Config::sized(32, 2, 2, 128, 128), 7).1;
    let got = with_model(&full, |m| table_hash(m, &t));
    assert_eq!(
        got, 0x55c6_5299_d767_6e34,
        "full attention, past its context"
    );
    let windowed = common::small_model(Config::sized(32, 2, 2, 64, 128), 7).1;
    let got = with_model(&windowed, |m| table_hash(m, &t[..128]));
    assert_eq!(got, 0xfce4_c533_dab7_06ba, "window 64, inside the context");
}

/// The tables of a stream past its context: the same in debug and release,
/// with and without `simd` (the firmware checks a long stream against the
/// host too).
#[test]
fn streaming_tables_are_pinned() {
    let windowed = common::small_model(Config::sized(32, 2, 2, 64, 128), 7).1;
    let got = with_model(&windowed, |m| table_hash(m, &text(600)));
    assert_eq!(got, 0x99c4_1e9f_b861_4ebf);
}

/// Past `max_context`, a position whose whole receptive field (the last
/// `n_layers * (window - 1)` inputs) lies in one epoch of `max_context`
/// positions is computed exactly like the position `p % max_context` of a
/// fresh chunk given the same inputs: keys are rotated by their position
/// modulo `max_context`, and only distances matter.
#[test]
fn positions_are_rebased_modulo_the_context() {
    let c = Config::sized(32, 2, 2, 16, 64);
    let bytes = common::small_model(c, 11).1;
    let data: Vec<u8> = text(1000);
    let (m_ctx, reach) = (64usize, 2 * 15);
    with_model(&bytes, |m| {
        // Tables of the long stream at every position.
        let mut long = Vec::new();
        m.reset();
        for &b in &data {
            long.push(m.frequencies().cumulative().to_vec());
            m.observe(b as usize);
        }
        let mut checked = 0;
        for p in m_ctx..data.len() {
            let r = p % m_ctx;
            if r < reach + 1 {
                continue;
            }
            // A fresh chunk whose position r sees the inputs position p
            // saw: input at t is byte t - 1.
            let start = p - r;
            m.reset();
            for &b in &data[start..p] {
                m.frequencies();
                m.observe(b as usize);
            }
            assert_eq!(m.frequencies().cumulative(), &long[p][..], "position {p}");
            checked += 1;
        }
        assert!(checked > 300, "{checked}");
    });
}

/// `prime(ctx)` after a reset leaves the model exactly where observing
/// `ctx` byte by byte (with or without asking for the tables) does, at any
/// length, inside the context and past it.
#[test]
fn prime_equals_observing_one_by_one() {
    let small = common::small_model(common::small_config(), 3).1;
    let big = shipped("lm-200k");
    let cases: [(&[u8], &[usize]); 2] = [
        (&small, &[0, 1, 5, 63, 64, 65, 127, 128, 129, 200, 300, 450]),
        (&big, &[256, 2047, 2300]),
    ];
    let data = text(2500);
    for (bytes, lengths) in cases {
        with_model(bytes, |m| {
            for &n in lengths {
                let (ctx, next) = (&data[..n], &data[n..n + 40]);
                // Reference: the coder's way, a table before each byte.
                m.reset();
                for &b in ctx {
                    m.frequencies();
                    m.observe(b as usize);
                }
                let mut want = Vec::new();
                for &b in next {
                    want.push(m.frequencies().cumulative().to_vec());
                    m.observe(b as usize);
                }
                // Primed, then observed without tables, then primed again
                // mid-stream.
                for way in 0..3 {
                    m.reset();
                    match way {
                        0 => m.prime(ctx),
                        1 => ctx.iter().for_each(|&b| m.observe(b as usize)),
                        _ => {
                            m.prime(&ctx[..n / 2]);
                            m.frequencies();
                            m.prime(&ctx[n / 2..]);
                        }
                    }
                    assert_eq!(m.position(), n);
                    for (i, &b) in next.iter().enumerate() {
                        assert_eq!(
                            m.frequencies().cumulative(),
                            &want[i][..],
                            "context {n}, way {way}, step {i}"
                        );
                        m.observe(b as usize);
                    }
                }
            }
        });
    }
}

/// The shipped 200K model on 64 KiB (16 KiB in debug builds) of held-out
/// enwik8 as one stream: the
/// bytes past position 2048 cost within 5% of bytes 256..2048 of the same
/// stream, and within 1% of the same bytes coded inside fresh 2048-byte
/// chunks (each at a position in 1024..2048, a full window and no BOS in
/// sight), the epoch seams included. Other shipped models: printed, and in
/// release builds checked for "not worse" (their first 2 KiB are harder
/// text than the rest, so they are better past the context by more than
/// 5%).
#[test]
fn bytes_past_the_context_cost_what_bytes_inside_do() {
    // Debug builds run the portable kernels at a few KB/s: 16 KiB there.
    let n = if cfg!(debug_assertions) { 16 } else { 64 } * 1024;
    let Some(data) = held_out(n) else {
        return;
    };
    let models: &[&str] = if cfg!(debug_assertions) {
        &["lm-200k"]
    } else {
        &[
            "lm-200k",
            "lm-200k-enwik8",
            "lm-800k",
            "lm-800k-enwik8",
            "lm-3m2",
        ]
    };
    for &name in models {
        if !model_path(name).exists() && name != "lm-200k" {
            continue;
        }
        let bytes = shipped(name);
        let c = *ModelFile::parse(&bytes).unwrap().config();
        let (w, ctx) = (c.window as usize, c.max_context as usize);
        with_model(&bytes, |m| {
            let bits = stream_bits(m, &data);
            let inside = mean(&bits[w..ctx]);
            let past = mean(&bits[ctx..]);
            let seam: Vec<f64> = (ctx..data.len())
                .filter(|i| i % ctx + 1 < w)
                .map(|i| bits[i])
                .collect();
            // The same bytes, each at a position in ctx/2..ctx of a fresh
            // chunk.
            let half = ctx / 2;
            let mut chunked = vec![f64::NAN; data.len()];
            let mut start = ctx - half;
            while start < data.len() - half {
                let end = (start + ctx).min(data.len());
                let b = stream_bits(m, &data[start..end]);
                chunked[start + half..end].copy_from_slice(&b[half..]);
                start += half;
            }
            let chunked_past = mean(&chunked[ctx..]);
            let chunked_seam: Vec<f64> = (ctx..data.len())
                .filter(|i| i % ctx + 1 < w)
                .map(|i| chunked[i])
                .collect();
            println!(
                "{name}: bits/byte positions {w}..{ctx} {inside:.4}, past {ctx} {past:.4} \
                 ({:+.2}%); past {ctx} in fresh chunks {chunked_past:.4} ({:+.2}%); \
                 epoch seams {:.4} vs {:.4} in fresh chunks",
                (past / inside - 1.0) * 100.0,
                (past / chunked_past - 1.0) * 100.0,
                mean(&seam),
                mean(&chunked_seam),
            );
            assert!(past <= inside * 1.05, "{name}: past {past} inside {inside}");
            assert!(
                (past / chunked_past - 1.0).abs() <= 0.01,
                "{name}: past {past} vs fresh chunks {chunked_past}"
            );
            assert!(
                (mean(&seam) / mean(&chunked_seam) - 1.0).abs() <= 0.02,
                "{name}: seams"
            );
            if name == "lm-200k" {
                assert!(past >= inside * 0.95, "{name}: past {past} inside {inside}");
            }
        });
    }
}

/// One megabyte: held-out enwik8 from byte 3,600,000 (554,399 bytes), then
/// the validation Wikipedia text `wikipedia/AC/wiki_00`.
fn one_megabyte() -> Option<Vec<u8>> {
    const N: usize = 1_000_000;
    let mut data = held_out(N)?;
    let wiki = shared("wikipedia/AC/wiki_00")?;
    data.extend_from_slice(&wiki[..N - data.len()]);
    Some(data)
}

/// Codes one 1 MB stream with a shipped model (one `encode_into`, one
/// reset), decodes it and compares; the rate stays at a trained model's
/// level (a model that stops predicting past its context, as before
/// streaming, codes at about 75%).
fn round_trip_1mb(name: &str, ceiling: f64) {
    let Some(data) = one_megabyte() else {
        return;
    };
    if !model_path(name).exists() {
        println!("{name} is no longer shipped");
        return;
    }
    let bytes = shipped(name);
    with_model(&bytes, |m| {
        let coded = encode_to_vec(m, &data[..]).unwrap();
        let back: Vec<u8> = decode_to_vec(m, &coded, data.len()).unwrap();
        assert!(back == data, "{name}: decoded stream differs");
        let rate = coded.len() as f64 / data.len() as f64;
        println!(
            "{name}: {} -> {} B as one stream ({:.2}%, {:.4} bits/byte)",
            data.len(),
            coded.len(),
            rate * 100.0,
            8.0 * rate
        );
        assert!(rate < ceiling, "{name}: rate {rate}");
    });
}

macro_rules! round_trip_tests {
    ($($test:ident: $name:literal, $ceiling:literal, $tier:meta;)*) => {
        $(
            #[test]
            #[$tier]
            fn $test() {
                round_trip_1mb($name, $ceiling);
            }
        )*
        /// Every shipped model has its 1 MB test above.
        #[test]
        fn every_shipped_model_has_a_1mb_test() {
            let listed = [$($name),*];
            for stem in shipped_models() {
                assert!(listed.contains(&stem.as_str()), "no 1 MB test for {stem}");
            }
        }
    };
}

// One 1 MB stream per model size in the fast tier (the level defaults);
// every other model's in the full tier (`scripts/test-all.sh --full`,
// which runs this file's ignored tests): they share the defaults' code
// paths, and `tests/pinned.rs` pins a 32 KiB stream of every model.
// Named so that the slowest (3.2M) starts first beside the 200K.
round_trip_tests! {
    stream_1mb_a_lm_3m2: "lm-3m2", 0.30, cfg_attr(debug_assertions, ignore = "release only");
    stream_1mb_b_lm_200k: "lm-200k", 0.32, cfg_attr(debug_assertions, ignore = "release only");
    stream_1mb_c_lm_800k: "lm-800k", 0.30, cfg_attr(debug_assertions, ignore = "release only");
    stream_1mb_d_lm_800k_enwik8: "lm-800k-enwik8", 0.30, ignore = "full tier, release";
    stream_1mb_e_lm_200k_enwik8: "lm-200k-enwik8", 0.32, ignore = "full tier, release";
    stream_1mb_f_lm_3m2_enwik8: "lm-3m2-enwik8", 0.30, ignore = "full tier, release";
    // A speech model on text: the round trip, not the rate, is the point.
    stream_1mb_g_lm_200k_speech: "lm-200k-speech", 2.0, ignore = "full tier, release";
    // A photo model on text, likewise.
    stream_1mb_h_lm_200k_photos: "lm-200k-photos", 2.0, ignore = "full tier, release";
    // The universal model (text, photos, speech) on text.
    stream_1mb_i_lm_200k_universal: "lm-200k-universal", 0.34, ignore = "full tier, release";
}
