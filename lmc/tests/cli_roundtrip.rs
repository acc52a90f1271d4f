//! `lmc` end to end: round trips, gzip habits, stdin/stdout, levels, info.

mod cli_common;

use std::fs;
use std::path::Path;

use cli_common::*;

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "lmc failed: {}", stderr(o));
}

/// Compresses `data` as `name` (keeping it), decompresses it back from
/// the `.lmc` with the original moved away; returns the `.lmc` bytes.
fn round_trip(dir: &Path, model: &Path, name: &str, data: &[u8], extra: &[&str]) -> Vec<u8> {
    let src = dir.join(name);
    fs::write(&src, data).unwrap();
    let o = lmc(dir)
        .arg("-k")
        .arg("--model")
        .arg(model)
        .args(extra)
        .arg(name)
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(fs::read(&src).unwrap(), data, "-k keeps the input");
    let packed = fs::read(dir.join(format!("{name}.lmc"))).unwrap();
    fs::remove_file(&src).unwrap();
    let o = lmc(dir)
        .arg("-d")
        .arg("--model")
        .arg(model)
        .arg(format!("{name}.lmc"))
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(fs::read(&src).unwrap(), data, "{name} round trip");
    assert!(
        !dir.join(format!("{name}.lmc")).exists(),
        "-d removes the .lmc without -k"
    );
    packed
}

#[test]
fn round_trips_empty_small_multi_chunk_and_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let mb = fs::read(&model).unwrap();

    let empty = round_trip(d, &model, "empty", b"", &[]);
    assert_eq!(empty.len(), 36, "an empty input is a bare header");

    round_trip(d, &model, "one", b"x", &[]);
    round_trip(
        d,
        &model,
        "small.txt",
        &sample(&mb, 50, 64, 7),
        &["-b", "64"],
    );

    // Several chunks and a short last one, coded on two threads.
    let text = sample(&mb, 5 * 64 + 17, 64, 9);
    let packed = round_trip(d, &model, "multi.txt", &text, &["-b", "64", "-T", "2"]);
    assert!(
        packed.len() < text.len() * 3 / 4,
        "data sampled from the model compresses: {} -> {}",
        text.len(),
        packed.len()
    );

    // Every byte value, and noise: stored chunks.
    let all: Vec<u8> = (0..=255u8).cycle().take(700).collect();
    round_trip(d, &model, "all-bytes.bin", &all, &["-b", "50"]);
    let rnd = noise(3000, 5);
    for args in [
        &["-M", "adaptive", "--chunk-size", "1K"][..],
        &["-M", "mixed", "-b", "64"],
        &["-M", "model", "-b", "64"],
    ] {
        let packed = round_trip(d, &model, "noise.bin", &rnd, args);
        let blocks = rnd
            .len()
            .div_ceil(if args.contains(&"1K") { 1024 } else { 64 });
        assert!(
            packed.len() <= rnd.len() + 36 + 2 * blocks,
            "{args:?}: noise is stored, not expanded: {} -> {}",
            rnd.len(),
            packed.len()
        );
    }
}

#[test]
fn same_bytes_on_one_or_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 2);
    let text = sample(&fs::read(&model).unwrap(), 9 * 64 + 3, 64, 4);
    fs::write(d.join("t"), &text).unwrap();
    let mut outs = Vec::new();
    for t in ["1", "2", "3"] {
        let o = lmc(d)
            .args(["-c", "-b", "64", "-T", t, "--model"])
            .arg(&model)
            .arg("t")
            .output()
            .unwrap();
        ok(&o);
        outs.push(o.stdout);
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
}

#[test]
fn gzip_habits_remove_keep_and_force() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    fs::write(d.join("a"), b"hello hello hello").unwrap();

    // `lmc FILE` replaces FILE by FILE.lmc.
    ok(&lmc(d).arg("--model").arg(&model).arg("a").output().unwrap());
    assert!(!d.join("a").exists());
    let packed = fs::read(d.join("a.lmc")).unwrap();

    // Compressing again refuses to overwrite a.lmc.
    fs::write(d.join("a"), b"other").unwrap();
    let o = lmc(d).arg("--model").arg(&model).arg("a").output().unwrap();
    fails_with(&o, "a.lmc already exists; use -f to overwrite");
    assert_eq!(
        fs::read(d.join("a.lmc")).unwrap(),
        packed,
        "refused output untouched"
    );
    assert_eq!(
        fs::read(d.join("a")).unwrap(),
        b"other",
        "input kept on refusal"
    );

    // Decompressing refuses to overwrite `a`; -f does, -k keeps a.lmc.
    let o = lmc(d)
        .arg("-d")
        .arg("--model")
        .arg(&model)
        .arg("a.lmc")
        .output()
        .unwrap();
    fails_with(&o, "a already exists; use -f to overwrite");
    assert_eq!(fs::read(d.join("a")).unwrap(), b"other");
    ok(&lmc(d)
        .args(["-d", "-f", "-k", "--model"])
        .arg(&model)
        .arg("a.lmc")
        .output()
        .unwrap());
    assert_eq!(fs::read(d.join("a")).unwrap(), b"hello hello hello");
    assert!(d.join("a.lmc").exists());

    // -f overwrites a compressed output too; a .lmc input needs -f.
    ok(&lmc(d)
        .args(["-f", "--model"])
        .arg(&model)
        .arg("a")
        .output()
        .unwrap());
    assert_eq!(fs::read(d.join("a.lmc")).unwrap(), packed);
    let o = lmc(d)
        .arg("--model")
        .arg(&model)
        .arg("a.lmc")
        .output()
        .unwrap();
    fails_with(&o, "already has the .lmc suffix");

    // -d wants the suffix unless told where to write.
    fs::copy(d.join("a.lmc"), d.join("packed")).unwrap();
    let o = lmc(d)
        .arg("-d")
        .arg("--model")
        .arg(&model)
        .arg("packed")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown suffix"), "{}", stderr(&o));
    ok(&lmc(d)
        .args(["-d", "-o", "restored", "--model"])
        .arg(&model)
        .arg("packed")
        .output()
        .unwrap());
    assert_eq!(fs::read(d.join("restored")).unwrap(), b"hello hello hello");
    assert!(
        !d.join("packed").exists(),
        "-o still removes the input without -k"
    );

    // Subcommand spelling.
    fs::write(d.join("b"), b"bee").unwrap();
    ok(&lmc(d)
        .args(["compress", "--model"])
        .arg(&model)
        .arg("b")
        .output()
        .unwrap());
    ok(&lmc(d)
        .args(["decompress", "--model"])
        .arg(&model)
        .arg("b.lmc")
        .output()
        .unwrap());
    assert_eq!(fs::read(d.join("b")).unwrap(), b"bee");
    assert_eq!(listing(d), ["a.lmc", "b", "model-1.lmm", "restored"]);
}

#[test]
fn stdin_stdout_and_test_mode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 3);
    let data = sample(&fs::read(&model).unwrap(), 300, 64, 1);

    let packed = run_with_stdin(lmc(d).args(["-b", "64", "--model"]).arg(&model), &data);
    ok(&packed);
    assert_eq!(&packed.stdout[..4], b"LMCZ");
    let back = run_with_stdin(lmc(d).args(["-d", "--model"]).arg(&model), &packed.stdout);
    ok(&back);
    assert_eq!(back.stdout, data);
    let verbose = run_with_stdin(
        lmc(d).args(["-d", "-v", "--model"]).arg(&model),
        &packed.stdout,
    );
    ok(&verbose);
    let line = format!("stdin: {} -> {} bytes (", data.len(), packed.stdout.len());
    assert!(stderr(&verbose).starts_with(&line), "{}", stderr(&verbose));

    // "-" is stdin too; -c writes a file's output to stdout and keeps it.
    let dash = run_with_stdin(
        lmc(d).args(["-b", "64", "--model"]).arg(&model).arg("-"),
        &data,
    );
    assert_eq!(dash.stdout, packed.stdout);
    fs::write(d.join("f.lmc"), &packed.stdout).unwrap();
    let o = lmc(d)
        .args(["-d", "-c", "--model"])
        .arg(&model)
        .arg("f.lmc")
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(o.stdout, data);
    assert!(d.join("f.lmc").exists());

    // -t decodes and verifies, writes nothing.
    let o = lmc(d)
        .args(["-t", "--model"])
        .arg(&model)
        .arg("f.lmc")
        .output()
        .unwrap();
    ok(&o);
    assert!(o.stdout.is_empty());
    assert_eq!(stderr(&o), "", "-t is silent on success");
    let o = lmc(d)
        .args(["-t", "-v", "--model"])
        .arg(&model)
        .arg("f.lmc")
        .output()
        .unwrap();
    ok(&o);
    assert!(stderr(&o).contains("OK"), "{}", stderr(&o));
    assert_eq!(listing(d), ["f.lmc", "model-3.lmm"]);
}

#[test]
fn levels_use_shipped_models_and_info_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 4);
    fs::write(d.join("t"), b"level test level test").unwrap();

    // Nothing shipped: a clear error for the default and for -2.
    let o = lmc(d).arg("-k").arg("t").output().unwrap();
    fails_with(&o, "the 200K model (level -1) is not shipped");
    let o = lmc(d).args(["-2", "-k", "t"]).output().unwrap();
    assert!(
        stderr(&o).contains("the 800K model (level -2) is not shipped"),
        "{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!d.join("t.lmc").exists());

    // A "shipped" 200K model in the model directory is the default.
    let ship = d.join("ship");
    fs::create_dir(&ship).unwrap();
    fs::copy(&model, ship.join("lm-200k.lmm")).unwrap();
    let o = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["-k", "t"])
        .output()
        .unwrap();
    ok(&o);
    let o = lmc(d)
        .args(["-d", "-c", "--model"])
        .arg(&model)
        .arg("t.lmc")
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(o.stdout, b"level test level test");

    let o = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["info", "t.lmc"])
        .output()
        .unwrap();
    ok(&o);
    let text = String::from_utf8(o.stdout).unwrap();
    let fp = model_int8::ModelFile::parse(&fs::read(&model).unwrap())
        .unwrap()
        .fingerprint();
    assert!(
        text.contains(&format!("{fp:016x} (200K (level -1))")),
        "{text}"
    );
    assert!(text.contains("original:    21 bytes"), "{text}");
    assert!(text.contains("chunks:      1"), "{text}");
    assert!(text.contains("rate:"), "{text}");
    // Without the shipped model, info still reads the header.
    let o = lmc(d).args(["info", "t.lmc"]).output().unwrap();
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("not a shipped model found here"));
}

#[test]
fn info_counts_chunks_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let text = sample(&fs::read(&model).unwrap(), 4 * 64, 64, 3);
    fs::write(d.join("t"), &text).unwrap();
    ok(&lmc(d)
        .args(["-b", "64", "--model"])
        .arg(&model)
        .arg("t")
        .output()
        .unwrap());
    let len = fs::metadata(d.join("t.lmc")).unwrap().len();
    let o = lmc(d).args(["info", "t.lmc"]).output().unwrap();
    ok(&o);
    let s = String::from_utf8(o.stdout).unwrap();
    let l = lmc(d).args(["-v", "-l", "t.lmc"]).output().unwrap();
    ok(&l);
    assert_eq!(String::from_utf8(l.stdout).unwrap(), s, "-v -l is info");
    assert!(s.contains("chunk size:  64 bytes"), "{s}");
    assert!(s.contains("chunks:      4"), "{s}");
    assert!(s.contains(&format!("compressed:  {len} bytes")), "{s}");
    assert!(
        s.contains(&format!("crc32:       {:08x}", coder_core::crc32(&text))),
        "{s}"
    );
    assert!(
        s.contains(&format!("rate:        {:.2}%", 100.0 * len as f64 / 256.0)),
        "{s}"
    );
}

/// Every mode, chained or not, round-trips; `info` and `-l` name the mode
/// and block size; the adaptive mode needs no model to decode.
#[test]
fn modes_and_chaining_round_trip_and_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let text = sample(&fs::read(&model).unwrap(), 700, 64, 9);
    for (args, words) in [
        (&["-M", "model"][..], "model "),
        (&["-M", "mixed"], "mixed/3 "),
        (&["-M", "model", "--chain"], "model+chain "),
        (&["-M", "mixed", "--chain", "-b", "40"], "mixed/3+chain "),
        (&["-M", "adaptive", "-b", "1M"], "adaptive/1 "),
    ] {
        let mut all = vec!["-b", "64"];
        all.extend_from_slice(args);
        let packed = round_trip(d, &model, "m.txt", &text, &all);
        fs::write(d.join("m.txt.lmc"), &packed).unwrap();
        let o = lmc(d).args(["-l", "m.txt.lmc"]).output().unwrap();
        ok(&o);
        let listed = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(listed.contains(words), "{args:?}: {listed}");
        let o = lmc(d).args(["info", "m.txt.lmc"]).output().unwrap();
        ok(&o);
        assert!(String::from_utf8_lossy(&o.stdout).contains("  mode:        "));
        fs::remove_file(d.join("m.txt.lmc")).unwrap();
    }
    // The adaptive models alone: decoded with no model named, and none
    // shipped where it looks.
    fs::write(d.join("a"), &text).unwrap();
    ok(&lmc(d).args(["-M", "adaptive", "-k", "a"]).output().unwrap());
    fs::remove_file(d.join("a")).unwrap();
    let o = lmc(d)
        .env("LMC_MODEL_DIR", d.join("nowhere"))
        .args(["-d", "a.lmc"])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(fs::read(d.join("a")).unwrap(), text);
}

/// A model that cannot stream (full attention over its context) refuses
/// blocks longer than its context by name, and by default gets blocks of
/// its context.
#[test]
fn a_model_that_cannot_stream_refuses_long_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    fs::write(d.join("t"), vec![b'a'; 300]).unwrap();
    let o = lmc(d)
        .args(["-k", "-b", "65", "--model"])
        .arg(&model)
        .arg("t")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "lmc: chunk size 65 is longer than the model's context (64 bytes), and this model cannot stream past it; use -b 64 or less, or a model with a sliding window\n"
    );
    assert!(!d.join("t.lmc").exists());
    ok(&lmc(d)
        .args(["-k", "--model"])
        .arg(&model)
        .arg("t")
        .output()
        .unwrap());
    let o = lmc(d).args(["info", "t.lmc"]).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("chunk size:  64 bytes"));
    // The adaptive models have no such limit.
    ok(&lmc(d)
        .args(["-f", "-k", "-M", "adaptive", "-b", "1M", "--model"])
        .arg(&model)
        .arg("t")
        .output()
        .unwrap());
}
