//! The right model for each block (issue 27): an input that is neither
//! text nor an image or sound file has each block coded by the shortest
//! of the candidates, a stream per run of blocks that chose the same, and
//! decodes back with each stream's own model; text and media inputs are
//! written exactly as before; `lmc` does it by default with the shipped
//! models it finds, `-v` says what each block chose and `info` shows it.

mod cli_common;

use std::fs;
use std::io::Cursor;

use cli_common::*;
use coder_core::container::{Coding, Mode};
use lmc::choose::{compress_choosing, compress_choosing_to_pipe, Candidate, PROBE_BYTES};
use lmc::{
    compress_to_pipe, compress_with, decode_stream, decompress_each, Int8Source, Media, Settings,
    Streams,
};
use model_int8::{quantize, Config, FloatModel, QuantOptions};

/// A tiny model with a sliding window (it codes blocks of any length).
fn streaming_model() -> Vec<u8> {
    seeded_model(3)
}

fn seeded_model(seed: u64) -> Vec<u8> {
    let m = FloatModel::random(Config::sized(16, 1, 2, 32, 64), seed);
    let opts = QuantOptions {
        max_calibration_bytes: 256,
        ..QuantOptions::default()
    };
    quantize(&m, b"Calibration text for a tiny model, 0123456789.", &opts).unwrap()
}

const MIXED: Coding = Coding {
    mode: Mode::Mixed,
    preset: 1,
    chained: false,
    region: None,
};
const ADAPTIVE: Coding = Coding {
    mode: Mode::Adaptive,
    preset: 1,
    chained: false,
    region: None,
};
const ALONE: Coding = Coding::MODEL;

fn candidates<'m>(model: &'m Int8Source<'m>) -> Vec<Candidate<'m, Int8Source<'m>>> {
    vec![
        Candidate {
            name: "mixed".into(),
            model: Some(model),
            coding: MIXED,
        },
        Candidate {
            name: "alone".into(),
            model: Some(model),
            coding: ALONE,
        },
        Candidate {
            name: "adaptive".into(),
            model: None,
            coding: ADAPTIVE,
        },
    ]
}

/// Blocks of different kinds: a slow ramp (samples near 0x80), a short
/// period, noise.
fn binary(block: usize) -> Vec<u8> {
    let ramp = (0..block).map(|i| 0x78 + ((i / 50) % 16) as u8);
    let period = (0..block).map(|i| [0u8, 3, 1, 0xfe, 7, 0x80][i % 6]);
    ramp.chain(period)
        .chain(noise(block, 5))
        .chain((0..block / 3).map(|i| (i % 7) as u8))
        .collect()
}

fn decode_all(model: &Int8Source<'_>, packed: &[u8]) -> Vec<u8> {
    let mut back = Vec::new();
    decompress_each(packed, &mut back, |r, w| {
        let m = r.header().coding.mode.uses_model().then_some(model);
        decode_stream(m, r, w, &|_| {})
    })
    .unwrap();
    back
}

#[test]
fn each_block_keeps_the_shortest_candidate_and_decodes_back() {
    let bytes = streaming_model();
    let model = Int8Source::new(&bytes).unwrap();
    let cands = candidates(&model);
    let block = 3000;
    assert!(block <= PROBE_BYTES, "each block judged whole");
    let data = binary(block);
    let settings = Settings::new(block as u32);
    let mut out = Cursor::new(Vec::new());
    let chosen = compress_choosing(&cands, &data[..], &mut out, &settings, |_| {}).unwrap();
    assert!(chosen.judged);
    assert_eq!(chosen.blocks.iter().sum::<u64>(), 4);
    assert_eq!(chosen.summary.header.original_len, data.len() as u64);
    assert_eq!(chosen.summary.compressed_len, out.get_ref().len() as u64);
    let packed = out.into_inner();
    assert_eq!(decode_all(&model, &packed), data);

    // Each stream is a run of blocks of one candidate, and each block's
    // candidate codes it no longer than any other would.
    let mut streams = Streams::new(&packed[..]);
    let mut at = 0usize;
    let mut runs = 0;
    while let Some(mut r) = streams.next_stream().unwrap() {
        let h = *r.header();
        let mine = cands.iter().position(|c| c.coding == h.coding).unwrap();
        let n = h.original_len as usize;
        for b in data[at..at + n].chunks(block) {
            let size = |c: &Candidate<'_, Int8Source<'_>>| {
                let mut o = Cursor::new(Vec::new());
                compress_with(c.model, b, &mut o, &settings.coding(c.coding), |_| {})
                    .unwrap()
                    .compressed_len
            };
            let best = cands.iter().map(size).min().unwrap();
            assert_eq!(
                size(&cands[mine]),
                best,
                "block at {at} kept {}",
                cands[mine].name
            );
        }
        lmc::scan(&mut r).unwrap();
        at += n;
        runs += 1;
    }
    assert_eq!(at, data.len());
    assert!(
        runs >= 2,
        "the blocks chose differently: {:?}",
        chosen.blocks
    );

    // To a pipe: the same bytes.
    let mut piped = Vec::new();
    compress_choosing_to_pipe(&cands, &data[..], &mut piped, &settings, |_| {}).unwrap();
    assert_eq!(piped, packed);
}

#[test]
fn text_and_media_inputs_are_written_as_before() {
    let bytes = streaming_model();
    let model = Int8Source::new(&bytes).unwrap();
    let cands = candidates(&model);
    let text = b"Plain text, as any file of prose holds it. ".repeat(200);
    let mut wav =
        b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data"
            .to_vec();
    let samples: Vec<u8> = (0..4000i32)
        .flat_map(|i| ((i * 37 % 2000 - 1000) as i16).to_le_bytes())
        .collect();
    wav.extend((samples.len() as u32).to_le_bytes());
    wav.extend(&samples);
    for (input, block) in [(&text[..], 1000u32), (&wav[..], 1000), (&text[..100], 1000)] {
        let settings = Settings::new(block).media(Media::Adaptive).fit_block(true);
        let mut chosen = Cursor::new(Vec::new());
        let c = compress_choosing(&cands, input, &mut chosen, &settings, |_| {}).unwrap();
        assert!(!c.judged);
        let mut before = Cursor::new(Vec::new());
        compress_with(
            Some(&model),
            input,
            &mut before,
            &settings.coding(MIXED),
            |_| {},
        )
        .unwrap();
        assert_eq!(chosen.get_ref(), before.get_ref());
        let mut piped = Vec::new();
        compress_choosing_to_pipe(&cands, input, &mut piped, &settings, |_| {}).unwrap();
        let mut before = Vec::new();
        compress_to_pipe(
            Some(&model),
            input,
            &mut before,
            &settings.coding(MIXED),
            |_| {},
        )
        .unwrap();
        assert_eq!(piped, before);
    }
}

/// A seed whose tiny model wins some of [`binary`]'s blocks from the
/// other.
const SPEECH_SEED: u64 = 4;

#[test]
fn lmc_chooses_per_block_by_default_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ship = d.join("ship");
    fs::create_dir(&ship).unwrap();
    // Tiny models stand for the text 200K and the speech model.
    fs::write(ship.join("lm-200k.lmm"), streaming_model()).unwrap();
    fs::write(ship.join("lm-200k-speech.lmm"), seeded_model(SPEECH_SEED)).unwrap();
    let data = binary(5000);
    fs::write(d.join("b"), &data).unwrap();
    let o = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["-v", "-k", "-b", "5000", "b"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let said = stderr(&o);
    assert!(
        said.contains("lmc: b: blocks: 3 text model, 1 200K speech"),
        "{said}"
    );
    let info = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["info", "b.lmc"])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.contains("(stream 2)"), "{info}");
    let list = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["-l", "b.lmc"])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    // (The last run, shorter than a block, is coded as one of its length.)
    assert!(list.contains(" per-block           - b\n"), "{list}");
    // Decodes by itself: each stream finds its model here.
    fs::remove_file(d.join("b")).unwrap();
    let o = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["-d", "b.lmc"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(d.join("b")).unwrap(), data);
    // A mode named: one stream, as before.
    let o = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["-M", "mixed", "-c", "-b", "5000", "b"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut streams = Streams::new(&o.stdout[..]);
    let mut n = 0;
    while let Some(mut r) = streams.next_stream().unwrap() {
        lmc::scan(&mut r).unwrap();
        n += 1;
    }
    assert_eq!(n, 1);
}
