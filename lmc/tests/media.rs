//! Images and sound (issue 27): `lmc` finds a PGM, PPM or WAV file's
//! pixels or samples, codes them with the mixer's image or audio model
//! (the adaptive models alone unless `-M` says otherwise), shows the
//! choice in `-l` and `info`, decodes them back exactly (from a file and
//! from a pipe), and says why a WAV it has no model for is coded as bytes.

mod cli_common;

use std::fs;
use std::process::Output;

use cli_common::*;
use model_int8::{quantize, Config, FloatModel, QuantOptions};

/// A tiny random model with a sliding window (so blocks may be longer
/// than its context, as with the shipped models).
fn streaming_model(dir: &std::path::Path) -> std::path::PathBuf {
    let m = FloatModel::random(Config::sized(16, 1, 2, 32, 64), 3);
    let opts = QuantOptions {
        max_calibration_bytes: 256,
        ..QuantOptions::default()
    };
    let calibration = b"Calibration text for a tiny model, 0123456789, and more words.";
    let p = dir.join("stream.lmm");
    fs::write(&p, quantize(&m, calibration, &opts).unwrap()).unwrap();
    p
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "lmc failed: {}", stderr(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A smooth synthetic photo, `ch` samples a pixel, as a PNM file.
fn pnm(w: usize, h: usize, ch: usize) -> Vec<u8> {
    let n = noise(w * h * ch, 5);
    let mut v = format!(
        "P{}\n# made by a test\n{w} {h}\n255\n",
        if ch == 1 { 5 } else { 6 }
    )
    .into_bytes();
    for y in 0..h {
        for x in 0..w {
            for c in 0..ch {
                let i = (y * w + x) * ch + c;
                v.push(((x * 3 + y * 2 + 20 * c) / 4 + usize::from(n[i] % 4)) as u8);
            }
        }
    }
    v
}

/// A WAV file of `bits`-bit samples: two tones.
fn wav(samples: usize, bits: u16) -> Vec<u8> {
    let bytes = usize::from(bits / 8);
    let mut data = Vec::new();
    for i in 0..samples {
        let t = i as f64 / 16000.0;
        let s = 9000.0 * (2.0 * std::f64::consts::PI * 200.0 * t).sin()
            + 2000.0 * (2.0 * std::f64::consts::PI * 1500.0 * t).sin();
        data.extend_from_slice(&((s as i32) << (8 * bytes - 16)).to_le_bytes()[..bytes]);
    }
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0");
    v.extend_from_slice(&16000u32.to_le_bytes());
    v.extend_from_slice(&(16000 * bytes as u32).to_le_bytes());
    v.extend_from_slice(&(bytes as u16).to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&data);
    v
}

#[test]
fn images_and_sound_code_with_their_models_and_decode_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = streaming_model(d);
    for (name, data, kind, ceiling) in [
        ("grey.pgm", pnm(120, 80, 1), "+image", 0.45),
        ("colour.ppm", pnm(60, 40, 3), "+image", 0.45),
        ("speech.wav", wav(12000, 16), "+audio", 0.25),
    ] {
        fs::write(d.join(name), &data).unwrap();
        // The default mode; the model (needed for text) goes unused.
        ok(&lmc(d)
            .args(["-k", "--model"])
            .arg(&model)
            .arg(name)
            .output()
            .unwrap());
        let packed = fs::read(d.join(format!("{name}.lmc"))).unwrap();
        let rate = packed.len() as f64 / data.len() as f64;
        let listed = ok(&lmc(d)
            .args(["-l", &format!("{name}.lmc")])
            .output()
            .unwrap());
        assert!(rate < ceiling, "{name}: {rate:.3}\n{listed}");
        let listed = ok(&lmc(d)
            .args(["-l", &format!("{name}.lmc")])
            .output()
            .unwrap());
        assert!(listed.contains(&format!("adaptive/1{kind}")), "{listed}");
        let info = ok(&lmc(d)
            .args(["info", &format!("{name}.lmc")])
            .output()
            .unwrap());
        assert!(
            info.contains("media:") && info.contains("version 3"),
            "{info}"
        );
        let o = lmc(d)
            .args(["-d", "-c", &format!("{name}.lmc")])
            .output()
            .unwrap();
        assert_eq!(o.stdout, data, "{name}");
        // Through pipes both ways: the same stream.
        let piped = run_with_stdin(lmc(d).args(["-c", "--model"]).arg(&model), &data);
        assert!(piped.status.success(), "{}", stderr(&piped));
        assert_eq!(piped.stdout, packed, "{name} from a pipe");
        let back = run_with_stdin(lmc(d).args(["-d", "-c"]), &piped.stdout);
        assert_eq!(back.stdout, data);
    }
}

#[test]
fn a_24_bit_wav_is_coded_as_bytes_and_the_user_told_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = wav(3000, 24);
    fs::write(d.join("hi.wav"), &data).unwrap();
    let o = lmc(d)
        .args(["-k", "-M", "adaptive", "hi.wav"])
        .output()
        .unwrap();
    ok(&o);
    assert!(stderr(&o).contains("24- or 32-bit"), "{}", stderr(&o));
    let listed = ok(&lmc(d).args(["-l", "hi.wav.lmc"]).output().unwrap());
    assert!(!listed.contains("+audio"), "{listed}");
    let o = lmc(d).args(["-d", "-c", "hi.wav.lmc"]).output().unwrap();
    assert_eq!(o.stdout, data);
}

#[test]
fn a_damaged_region_is_a_damaged_header() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("a.pgm"), pnm(30, 20, 1)).unwrap();
    ok(&lmc(d)
        .args(["-k", "-M", "adaptive", "a.pgm"])
        .output()
        .unwrap());
    let mut packed = fs::read(d.join("a.pgm.lmc")).unwrap();
    packed[40] ^= 1;
    fs::write(d.join("bad.lmc"), &packed).unwrap();
    let o = lmc(d).args(["-d", "-c", "bad.lmc"]).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("header"), "{}", stderr(&o));
}

#[test]
fn raw_pixels_given_a_format_code_as_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let image = pnm(100, 60, 3);
    let raw = &image[image.len() - 100 * 60 * 3..];
    fs::write(d.join("raw"), raw).unwrap();
    let as_image = run_with_stdin(lmc(d).args(["-c", "--format", "rgb:100"]), raw);
    assert!(as_image.status.success(), "{}", stderr(&as_image));
    let as_bytes = run_with_stdin(lmc(d).args(["-c", "-M", "adaptive"]), raw);
    assert!(
        as_image.stdout.len() < as_bytes.stdout.len() * 95 / 100,
        "{} vs {}",
        as_image.stdout.len(),
        as_bytes.stdout.len()
    );
    let back = run_with_stdin(lmc(d).args(["-d", "-c"]), &as_image.stdout);
    assert_eq!(back.stdout, raw);
    for (args, message) in [
        (&["--format", "rgb"][..], "is not a format"),
        (&["--format", "rgb:0"], "widths run from 1"),
        (&["--format", "s16le:9"], "channels from 1 to 8"),
        (
            &["--format", "gray:8", "-M", "model"],
            "-M model has no image",
        ),
    ] {
        let o = lmc(d).args(args).args(["-c", "raw"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn a_piped_output_keeps_the_model_in_every_member() {
    // More than a member (1 MiB of input) of 64 KiB blocks: each member's
    // header holds the region as it sees it, and codes as well as one
    // stream does.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let image = pnm(1000, 1100, 1);
    // Standard output to a pipe: one stream (member) per MiB of input.
    let piped = run_with_stdin(lmc(d).args(["-c", "-M", "adaptive", "-b", "64K"]), &image);
    assert!(piped.status.success(), "{}", stderr(&piped));
    let back = run_with_stdin(lmc(d).args(["-d", "-c"]), &piped.stdout);
    assert_eq!(back.stdout, image);
    // One stream of it codes to 30.25%, the two members to 30.34%
    // (measured): the second member's 50 KB coded as plain bytes would
    // cost some 0.3 points more.
    let rate = piped.stdout.len() as f64 / image.len() as f64;
    assert!(rate < 0.3040, "{rate:.4}");
}
