//! `lmc` on bad input: every error is one line naming the problem, exits
//! with status 1, and leaves no output (not even a temporary file) behind.

mod cli_common;

use std::fs;
use std::path::Path;

use cli_common::*;

/// Offsets of the records of a stream (after the 36-byte header): `(tag
/// start, payload start, payload end, coded)`.
fn records(stream: &[u8]) -> Vec<(usize, usize, usize, bool)> {
    let mut v = Vec::new();
    let mut p = 36;
    while p < stream.len() {
        let (mut tag, mut shift, mut q) = (0usize, 0, p);
        loop {
            let b = stream[q];
            tag |= ((b & 0x7f) as usize) << shift;
            shift += 7;
            q += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        v.push((p, q, q + tag / 2, tag & 1 == 1));
        p = q + tag / 2;
    }
    v
}

struct Case {
    dir: tempfile::TempDir,
    model: std::path::PathBuf,
    text: Vec<u8>,
    packed: Vec<u8>,
}

/// Three 64-byte chunks of model-sampled text, compressed.
/// Three 64-byte chunks coded by the Transformer alone (`-M model`), whose
/// damage the tests below pin exactly.
fn setup() -> Case {
    setup_mode("model")
}

fn setup_mode(mode: &str) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let text = sample(&fs::read(&model).unwrap(), 3 * 64, 64, 11);
    fs::write(d.join("t"), &text).unwrap();
    let packed = pack(d, &model, &["-M", mode], "t");
    Case {
        dir,
        model,
        text,
        packed,
    }
}

/// The original length the header of `stream` claims (0 without one).
fn claimed_len(stream: &[u8]) -> u64 {
    stream
        .get(20..28)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
}

/// Decompresses `bad` as `bad.lmc` to a file, to stdout and in test mode;
/// each must fail with status 1 and `message` and leave the directory as
/// it was (with `precious` kept intact). Only decompression to stdout
/// writes anything to stdout (it streams): at most the length the
/// header claims.
fn expect_failure(c: &Case, bad: &[u8], message: &str) {
    expect_one_of(c, bad, &[message]);
}

/// [`expect_failure`] where the message may start with any of `messages`
/// (for damage whose first symptom depends on the model's weights).
fn expect_one_of(c: &Case, bad: &[u8], messages: &[&str]) {
    let d = c.dir.path();
    fs::write(d.join("bad.lmc"), bad).unwrap();
    let before = listing(d);
    let runs: [&[&str]; 4] = [
        &["-d"],
        &["-d", "-c"],
        &["-t"],
        &["-d", "-f", "-o", "precious"],
    ];
    fs::write(d.join("precious"), b"user data").unwrap();
    for args in runs {
        let before = listing(d);
        let o = lmc(d)
            .args(args)
            .arg("--model")
            .arg(&c.model)
            .arg("bad.lmc")
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            messages
                .iter()
                .any(|m| err.starts_with(&format!("lmc: bad.lmc: {m}"))),
            "{args:?}: {err}"
        );
        assert!(
            err.ends_with('\n') && err.lines().count() == 1,
            "{args:?}: one line: {err}"
        );
        if args.contains(&"-c") {
            assert!(
                o.stdout.len() as u64 <= claimed_len(bad),
                "{args:?}: no more than the header claims"
            );
        } else {
            assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout");
        }
        assert_eq!(
            listing(d),
            before,
            "{args:?}: no output or temporary file left"
        );
    }
    assert_eq!(fs::read(d.join("precious")).unwrap(), b"user data");
    fs::remove_file(d.join("precious")).unwrap();
    assert_eq!(fs::read(d.join("bad.lmc")).unwrap(), bad, "input kept");
    assert!(!d.join("bad").exists());
    assert_eq!(listing(d), before);

    // From stdin to stdout too.
    let o = run_with_stdin(lmc(d).arg("-d").arg("--model").arg(&c.model), bad);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(messages
        .iter()
        .any(|m| err.starts_with(&format!("lmc: stdin: {m}"))));
    assert!(o.stdout.len() as u64 <= claimed_len(bad));
}

#[test]
fn the_good_file_decodes() {
    let c = setup();
    let o = run_with_stdin(
        lmc(c.dir.path()).arg("-d").arg("--model").arg(&c.model),
        &c.packed,
    );
    assert!(o.status.success());
    assert_eq!(o.stdout, c.text);
    let recs = records(&c.packed);
    assert_eq!(recs.len(), 3);
    assert!(recs.iter().all(|r| r.3), "all three chunks are coded");
}

#[test]
fn another_model() {
    let c = setup();
    let other = write_model(c.dir.path(), 2);
    let fp = |p: &Path| {
        model_int8::ModelFile::parse(&fs::read(p).unwrap())
            .unwrap()
            .fingerprint()
    };
    let msg = format!(
        "compressed with a different model (file needs model {:016x}; this model is {:016x}); pass the right one with --model or a level",
        fp(&c.model),
        fp(&other)
    );
    let d = c.dir.path();
    fs::write(d.join("bad.lmc"), &c.packed).unwrap();
    let o = lmc(d)
        .arg("-d")
        .arg("--model")
        .arg(&other)
        .arg("bad.lmc")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), format!("lmc: bad.lmc: {msg}\n"));
    assert!(!d.join("bad").exists());
    // The same through the common checks, with the roles swapped.
    let c2 = Case { model: other, ..c };
    expect_failure(
        &c2,
        &c2.packed,
        &format!(
            "compressed with a different model (file needs model {:016x}; this model is {:016x}); pass the right one with --model or a level",
            fp(&c2.dir.path().join("model-1.lmm")),
            fp(&c2.model)
        ),
    );
}

#[test]
fn truncated_files() {
    let c = setup();
    let p = &c.packed;
    expect_failure(
        &c,
        &p[..p.len() - 1],
        "truncated file (ends inside chunk 3 of 3)",
    );
    let second = records(p)[1];
    expect_failure(
        &c,
        &p[..second.1 + 1],
        "truncated file (ends inside chunk 2 of 3)",
    );
    expect_failure(
        &c,
        &p[..second.0],
        "truncated file (ends inside chunk 2 of 3)",
    );
    expect_failure(&c, &p[..36], "truncated file (ends inside chunk 1 of 3)");
    expect_failure(&c, &p[..20], "truncated file (ends inside the header)");
    expect_failure(&c, &p[..3], "truncated file (ends inside the header)");
}

#[test]
fn corrupted_chunks() {
    let c = setup();
    let second = records(&c.packed)[1];
    // A coded payload that is not a canonical coding (ends in a zero
    // byte) is refused in its chunk.
    let mut bad = c.packed.clone();
    bad[second.2 - 1] = 0;
    expect_failure(&c, &bad, "corrupt data in chunk 2 of 3");
    // A flipped bit inside one either breaks the coding or decodes to
    // other bytes, which the CRC-32 catches; a record length one byte
    // off breaks this chunk or, through the shifted framing, the next.
    let crc = "CRC-32 mismatch: decompressed data is corrupt (expected ";
    let mut bad = c.packed.clone();
    bad[(second.1 + second.2) / 2] ^= 0x10;
    expect_one_of(&c, &bad, &["corrupt data in chunk 2 of 3", crc]);
    let mut bad = c.packed.clone();
    bad[second.0] ^= 0x02;
    expect_one_of(
        &c,
        &bad,
        &[
            "corrupt data in chunk 2 of 3",
            "corrupt data in chunk 3 of 3",
            crc,
        ],
    );

    let d = c.dir.path();
    fs::write(d.join("n"), noise(300, 3)).unwrap();
    let o = lmc(d)
        .args(["-b", "60", "--model"])
        .arg(&c.model)
        .arg("n")
        .output()
        .unwrap();
    assert!(o.status.success());
    let mut bad = fs::read(d.join("n.lmc")).unwrap();
    fs::remove_file(d.join("n.lmc")).unwrap();
    let recs = records(&bad);
    assert!(recs.iter().all(|r| !r.3), "noise is stored");
    bad[recs[1].1 + 5] ^= 1;
    let crc = coder_core::crc32(&noise(300, 3));
    let mut changed = noise(300, 3);
    changed[60 + 5] ^= 1;
    expect_failure(
        &c,
        &bad,
        &format!(
            "CRC-32 mismatch: decompressed data is corrupt (expected {crc:08x}, got {:08x})",
            coder_core::crc32(&changed)
        ),
    );
}

#[test]
fn not_our_files() {
    let c = setup();
    expect_failure(&c, b"", "not an lmc compressed file (bad magic)");
    expect_failure(
        &c,
        b"\x1f\x8b\x08\x00 gzip, not ours",
        "not an lmc compressed file (bad magic)",
    );
    expect_failure(
        &c,
        &noise(5000, 1),
        "not an lmc compressed file (bad magic)",
    );

    // A newer version's header (its own checksum holds) versus a damaged
    // version byte (the checksum fails): only the first is "not supported".
    let mut bad = c.packed.clone();
    bad[4] = 4;
    let check = coder_core::crc32(&bad[..32]).to_le_bytes();
    bad[32..36].copy_from_slice(&check);
    expect_failure(
        &c,
        &bad,
        "lmc format version 4 is not supported by this build (it reads versions 1 to 3)",
    );
}

#[test]
fn a_flipped_version_bit_is_a_corrupt_header() {
    let c = setup();
    for bit in 0..8 {
        let mut bad = c.packed.clone();
        bad[4] ^= 1 << bit;
        expect_failure(&c, &bad, "corrupt header (header checksum mismatch)");
    }
    // Cut short, an unknown version cannot be checked: truncated.
    let mut bad = c.packed[..20].to_vec();
    bad[4] = 4;
    expect_failure(&c, &bad, "truncated file (ends inside the header)");
}

#[test]
fn every_header_byte_and_sampled_payload_bits_fail_cleanly() {
    for mode in ["model", "mixed", "adaptive"] {
        damage_fails_cleanly(&setup_mode(mode));
    }
}

fn damage_fails_cleanly(c: &Case) {
    let mut cases = Vec::new();
    for i in 0..36 {
        let mut bad = c.packed.clone();
        bad[i] ^= 0x5a;
        cases.push(bad);
    }
    for i in (36..c.packed.len()).step_by(7) {
        let mut bad = c.packed.clone();
        bad[i] ^= 1 << (i % 8);
        cases.push(bad);
    }
    // Status 1, one line naming the file, nothing written, to a file, to
    // stdout, in -t mode, over an existing -f -o target and from stdin.
    for bad in &cases {
        expect_one_of(c, bad, &[""]);
    }
    let mut bad = c.packed.clone();
    bad[17] ^= 1; // chunk size
    expect_failure(c, &bad, "corrupt header (header checksum mismatch)");
    let mut bad = c.packed.clone();
    bad.push(0);
    expect_failure(c, &bad, "corrupt file (extra bytes after the last chunk)");
}

#[test]
fn bad_models_and_inputs() {
    let c = setup();
    let d = c.dir.path();
    fs::write(d.join("junk.lmm"), b"definitely not a model").unwrap();
    let o = lmc(d)
        .args(["-d", "--model", "junk.lmm", "t.lmc"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "lmc: model junk.lmm: not a model-int8 file (bad magic)\n"
    );
    let o = lmc(d)
        .args(["-d", "--model", "missing.lmm", "t.lmc"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("lmc: cannot read model missing.lmm: "),
        "{}",
        stderr(&o)
    );

    let o = lmc(d)
        .arg("--model")
        .arg(&c.model)
        .args(["-b", "64", "nothing-here"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("lmc: nothing-here: No such file"),
        "{}",
        stderr(&o)
    );
    fs::create_dir(d.join("sub")).unwrap();
    let o = lmc(d)
        .arg("--model")
        .arg(&c.model)
        .args(["-b", "64", "sub"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "lmc: sub: is a directory -- ignored\n");

    // One bad file does not stop the others; the status reports it.
    fs::write(d.join("u"), b"fine").unwrap();
    let o = lmc(d)
        .arg("--model")
        .arg(&c.model)
        .args(["nothing-here", "u"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(d.join("u.lmc").exists(), "{}", stderr(&o));

    let o = lmc(d)
        .args(["-b", "0", "--model"])
        .arg(&c.model)
        .arg("u")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "usage error");
    assert!(
        stderr(&o).contains("chunk size must be 1 to 16777216 bytes"),
        "{}",
        stderr(&o)
    );

    // info on a damaged file prints the header, then the problem.
    let p = &c.packed;
    fs::write(d.join("cut.lmc"), &p[..p.len() - 2]).unwrap();
    let o = lmc(d).args(["info", "cut.lmc"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("chunks:      3"));
    assert_eq!(
        stderr(&o),
        "lmc: cut.lmc: truncated file (ends inside chunk 3 of 3)\n"
    );
}

#[cfg(unix)]
#[test]
fn interrupted_run_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    // Long enough to be caught mid-way (seconds even in release).
    fs::write(d.join("big"), noise(8 << 20, 1)).unwrap();
    fs::write(d.join("big.lmc"), b"an older file").unwrap();
    let before = listing(d);
    let mut child = lmc(d)
        .args(["-f", "-T", "1", "-b", "64", "--model"])
        .arg(&model)
        .arg("big")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_temporary(d, &mut child);
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "lmc: interrupted\n");
    assert_eq!(listing(d), before, "temporary file removed, input kept");
    assert_eq!(fs::read(d.join("big.lmc")).unwrap(), b"an older file");
}
