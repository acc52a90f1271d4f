//! `lmc` at the edges a hostile user finds (issue 28): names that are not
//! UTF-8, inputs that change or are not files, signals, limits, damaged
//! chained streams, concatenated streams of different models, and
//! standard output as a stream. One test per behaviour; each failed on
//! the `lmc` before it.

mod cli_common;

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_common::*;

/// Names in `dir` and below that are temporary outputs.
fn temporaries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            found.extend(temporaries(&p));
        } else if e.file_name().to_string_lossy().ends_with(".lmc-tmp") {
            found.push(p.display().to_string());
        }
    }
    found
}

/// Text the adaptive models take a while over: the test sample, repeated
/// with a counter so that it is not one long match.
fn text(n: usize) -> Vec<u8> {
    let sample =
        fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sample.txt")).unwrap();
    let mut out = Vec::with_capacity(n + sample.len());
    let mut i = 0u64;
    while out.len() < n {
        out.extend_from_slice(format!("{i} ").as_bytes());
        out.extend_from_slice(&sample[(i as usize * 37) % 4000..]);
        i += 1;
    }
    out.truncate(n);
    out
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_are_kept_byte_for_byte() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = OsStr::from_bytes(b"x\xff");
    let b = OsStr::from_bytes(b"x\xfe");
    fs::write(d.join(a), b"A").unwrap();
    fs::write(d.join(b), b"B").unwrap();
    let o = lmc(d)
        .args(["-M", "adaptive"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let packed = |n: &OsStr| {
        let mut s = n.to_owned();
        s.push(".lmc");
        s
    };
    assert!(d.join(packed(a)).exists() && d.join(packed(b)).exists());
    let o = lmc(d)
        .args(["-d", "-f"])
        .arg(packed(a))
        .arg(packed(b))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(d.join(a)).unwrap(), b"A");
    assert_eq!(fs::read(d.join(b)).unwrap(), b"B");
    assert_eq!(fs::read_dir(d).unwrap().count(), 2, "{:?}", listing(d));
}

#[cfg(unix)]
#[test]
fn an_input_that_grows_while_it_is_read_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let original = text(128 << 10);
    fs::write(d.join("g"), &original).unwrap();
    let mut child = lmc(d)
        .args(["-M", "adaptive", "-T", "1", "g"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The output is being written: the input is open and being read.
    wait_for_temporary(d, &mut child);
    fs::OpenOptions::new()
        .append(true)
        .open(d.join("g"))
        .unwrap()
        .write_all(b"TAIL")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("g: warning: the file changed while lmc read it; it is kept"),
        "{}",
        stderr(&o)
    );
    let now = fs::read(d.join("g")).unwrap();
    assert!(now.ends_with(b"TAIL"), "the input is kept");
    // What was read is coded consistently: a prefix of the file as it is
    // now (with or without the tail, as the reading went).
    let o = lmc(d).args(["-dc", "g.lmc"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.len() >= original.len() && now.starts_with(&o.stdout));
}

#[cfg(unix)]
#[test]
fn early_signals_leave_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tree = d.join("t");
    fs::create_dir(&tree).unwrap();
    // Many small files: most of the time goes to creating and renaming
    // temporary files, where the signal used to race the cleanup.
    for i in 0..300 {
        fs::write(tree.join(format!("f{i:03}")), text(20 + i % 50)).unwrap();
    }
    let rounds: u64 = std::env::var("LMC_SIGNAL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let mut x = 12345u64;
    for round in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (sig, code) = [("-INT", 130), ("-TERM", 143), ("-HUP", 129)][(x % 3) as usize];
        let mut child = lmc(d)
            .args(["-M", "adaptive", "-r", "-k", "-f", "-T", "1", "t"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(2_000 + x % 30_000));
        let _ = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        // Done before the signal (0), or stopped by it (the handler's
        // status, or the signal itself before the handler was installed).
        assert!(
            matches!(status.code(), Some(0) | None) || status.code() == Some(code),
            "round {round}: {status:?}"
        );
        assert_eq!(temporaries(d), Vec::<String>::new(), "round {round}, {sig}");
    }
}

#[cfg(unix)]
#[test]
fn a_file_size_limit_is_an_error_naming_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("big"), noise(160 << 10, 3)).unwrap();
    let lmc_path = env!("CARGO_BIN_EXE_lmc");
    let o = Command::new("sh")
        .current_dir(d)
        .env("LMC_MODEL_DIR", d.join("no-models"))
        .arg("-c")
        .arg(format!("ulimit -f 100; exec '{lmc_path}' -M adaptive big"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "lmc: big: cannot write big.lmc: File too large\n",
        "named after the output, not its temporary file"
    );
    assert_eq!(listing(d), ["big"], "input kept, nothing else left");
}

#[test]
fn threads_past_the_cap_and_the_blocks_cost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), text(5000)).unwrap();
    let start = Instant::now();
    let o = lmc(d)
        .args(["-M", "adaptive", "-k", "-T", "1000000", "f"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "-T 1000000 is capped ({:?})",
        start.elapsed()
    );
    let o = lmc(d).args(["-dc", "f.lmc"]).output().unwrap();
    assert_eq!(o.stdout, text(5000));
    let help = lmc(d).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("at most 4 per core"));
}

#[cfg(unix)]
#[test]
fn model_and_tokenizer_paths_must_be_regular_files_of_a_possible_size() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), b"some text").unwrap();
    let start = Instant::now();
    let o = lmc(d)
        .args(["-k", "--model", "/dev/zero", "f"])
        .output()
        .unwrap();
    fails_with(&o, "lmc: /dev/zero: not a regular file");
    assert!(start.elapsed() < Duration::from_secs(10));
    // A model file with more bytes than its header declares.
    let mut long = model_bytes(1);
    long.extend_from_slice(&[0u8; 4096]);
    fs::write(d.join("long.lmm"), &long).unwrap();
    let o = lmc(d)
        .args(["-k", "--model", "long.lmm", "f"])
        .output()
        .unwrap();
    fails_with(&o, "more than its format allows");
    // A tokenizer that is a device.
    let model = write_model(d, 1);
    let o = lmc(d)
        .args(["-k", "--tokenizer", "/dev/zero", "--model"])
        .arg(&model)
        .arg("f")
        .output()
        .unwrap();
    fails_with(&o, "/dev/zero: not a regular file");
}

/// `cmd` run as the user nobody when the tests run as root (who reads
/// every directory), for permission tests.
#[cfg(unix)]
fn as_unprivileged(dir: &Path, args: &[&str]) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut c = if root {
        // A copy nobody may run, wherever the checkout is (`/root` is
        // closed to others).
        let exe = dir.join("lmc-as-nobody");
        fs::copy(env!("CARGO_BIN_EXE_lmc"), &exe).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_lmc"))
    };
    c.current_dir(dir)
        .env("LMC_MODEL_DIR", dir.join("no-models"))
        .args(args);
    c
}

#[cfg(unix)]
#[test]
fn recursion_goes_on_past_an_unreadable_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::set_permissions(d, fs::Permissions::from_mode(0o777)).unwrap();
    for sub in ["t", "t/a", "t/locked", "t/z"] {
        fs::create_dir(d.join(sub)).unwrap();
        fs::set_permissions(d.join(sub), fs::Permissions::from_mode(0o777)).unwrap();
    }
    for f in ["t/a/x", "t/locked/y", "t/z/w"] {
        fs::write(d.join(f), b"data").unwrap();
        fs::set_permissions(d.join(f), fs::Permissions::from_mode(0o666)).unwrap();
    }
    fs::set_permissions(d.join("t/locked"), fs::Permissions::from_mode(0o000)).unwrap();
    let o = as_unprivileged(d, &["-M", "adaptive", "-r", "t"])
        .output()
        .unwrap();
    fs::set_permissions(d.join("t/locked"), fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(stderr(&o), "lmc: t/locked: Permission denied\n");
    assert!(d.join("t/a/x.lmc").exists() && d.join("t/z/w.lmc").exists());
    assert!(d.join("t/locked/y").exists());
    let _ = fs::remove_file(d.join("lmc-as-nobody"));
}

/// A directory of models under the shipped names, so that levels and
/// `-d`'s search by fingerprint find them.
fn shipped_dir(d: &Path) -> std::path::PathBuf {
    let models = d.join("models");
    fs::create_dir(&models).unwrap();
    fs::write(models.join("lm-200k.lmm"), model_bytes(1)).unwrap();
    fs::write(models.join("lm-800k.lmm"), model_bytes(2)).unwrap();
    models
}

#[test]
fn each_concatenated_stream_finds_its_own_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let models = shipped_dir(d);
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_lmc"))
            .current_dir(d)
            .env("LMC_MODEL_DIR", &models)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        o.stdout
    };
    let (a, b, c) = (text(3000), text(5000)[1000..].to_vec(), text(700));
    fs::write(d.join("a"), &a).unwrap();
    fs::write(d.join("b"), &b).unwrap();
    fs::write(d.join("c"), &c).unwrap();
    let mut all = run(&["-1", "-c", "a"]);
    all.extend(run(&["-2", "-c", "b"]));
    all.extend(run(&["-M", "adaptive", "-c", "c"]));
    fs::write(d.join("abc.lmc"), &all).unwrap();
    let out = run(&["-dc", "abc.lmc"]);
    assert_eq!(out, [a, b, c].concat());
    // Named, a model is every stream's: the others are a mismatch.
    let o = Command::new(env!("CARGO_BIN_EXE_lmc"))
        .current_dir(d)
        .env("LMC_MODEL_DIR", &models)
        .args(["-dc", "-1", "abc.lmc"])
        .output()
        .unwrap();
    fails_with(&o, "compressed with a different model");
}

#[cfg(unix)]
#[test]
fn a_closed_standard_output_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), b"text").unwrap();
    let o = Command::new("sh")
        .current_dir(d)
        .env("LMC_MODEL_DIR", d.join("no-models"))
        .arg("-c")
        .arg(format!(
            "exec '{}' -M adaptive -c f >&-",
            env!("CARGO_BIN_EXE_lmc")
        ))
        .output()
        .unwrap();
    fails_with(&o, "cannot write standard output: Bad file descriptor");
    // A full device is the output's fault, not the input's.
    let o = Command::new("sh")
        .current_dir(d)
        .env("LMC_MODEL_DIR", d.join("no-models"))
        .arg("-c")
        .arg(format!(
            "exec '{}' -M adaptive -c f > /dev/full",
            env!("CARGO_BIN_EXE_lmc")
        ))
        .output()
        .unwrap();
    assert_eq!(
        stderr(&o),
        "lmc: f: cannot write standard output: No space left on device\n"
    );
}

#[test]
fn a_sound_header_with_fields_this_build_refuses_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), text(3000)).unwrap();
    let o = lmc(d).args(["-M", "adaptive", "-k", "f"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut s = fs::read(d.join("f.lmc")).unwrap();
    s[16..20].copy_from_slice(&0u32.to_le_bytes()); // chunk size 0
    let check = coder_core::crc32(&s[..32]);
    s[32..36].copy_from_slice(&check.to_le_bytes());
    fs::write(d.join("bad.lmc"), &s).unwrap();
    let o = lmc(d).args(["-dc", "bad.lmc"]).output().unwrap();
    fails_with(&o, "its checksum holds, but its chunk size, mode or flags");
}

/// The records of a stream: (offset of the payload, its length).
fn record_spans(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut at = 36;
    let mut spans = Vec::new();
    while at < stream.len() {
        let (mut tag, mut shift) = (0usize, 0);
        loop {
            let b = stream[at];
            at += 1;
            tag |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                break;
            }
        }
        spans.push((at, tag >> 1));
        at += tag >> 1;
    }
    spans
}

#[test]
fn damage_in_a_chained_stream_emits_nothing_unverified() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let original = sample(&model_bytes(1), 64 * 6, 64, 9);
    fs::write(d.join("f"), &original).unwrap();
    let o = lmc(d)
        .args(["-M", "model", "--chain", "-b", "64", "-k", "--model"])
        .arg(&model)
        .arg("f")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let good = fs::read(d.join("f.lmc")).unwrap();
    let spans = record_spans(&good);
    assert_eq!(spans.len(), 6);
    let mut later = 0;
    // Every byte of the first three records, damaged.
    for &(start, len) in &spans[..3] {
        for i in start..start + len {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            fs::write(d.join("bad.lmc"), &bad).unwrap();
            let o = lmc(d)
                .args(["-dc", "--model"])
                .arg(&model)
                .arg("bad.lmc")
                .output()
                .unwrap();
            if o.status.success() {
                continue;
            }
            let e = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{e}");
            // The chunk named (1-based), and what may be out by then: the
            // chunks before the one the failed chunk continues.
            let named = e
                .split("chunk ")
                .nth(1)
                .and_then(|t| t.split(' ').next())
                .and_then(|k| k.parse::<usize>().ok());
            let allowed = match named {
                Some(1) => 0,
                Some(k) => {
                    later += 1;
                    assert!(e.contains("or in chunk"), "byte {i}: {e}");
                    (k - 2) * 64
                }
                None => {
                    assert!(e.contains("CRC-32 mismatch"), "byte {i}: {e}");
                    5 * 64
                }
            };
            assert!(
                o.stdout.len() <= allowed,
                "byte {i}: {} bytes out, at most {allowed} ({e})",
                o.stdout.len()
            );
        }
    }
    assert!(later > 0, "no damage was found past the chunk it hit");
}

#[test]
fn a_level_past_three_is_named_as_typed_and_tiny_chained_blocks_get_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = lmc(d).args(["-19", "f"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("lmc: -19: no such level"),
        "{}",
        stderr(&o)
    );
    let model = write_model(d, 1);
    fs::write(d.join("f"), text(500)).unwrap();
    let o = lmc(d)
        .args(["-k", "--chain", "-b", "16", "--model"])
        .arg(&model)
        .arg("f")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: with --chain each 16-byte block first reads the 64 bytes"),
        "{}",
        stderr(&o)
    );
}

#[cfg(unix)]
#[test]
fn streams_that_are_not_files_compress_with_c() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A device.
    let o = lmc(d)
        .args(["-M", "adaptive", "-c", "/dev/null"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let back = run_with_stdin(lmc(d).args(["-dc"]), &o.stdout);
    assert!(back.status.success() && back.stdout.is_empty());
    // A FIFO, fed while lmc reads it; never removed.
    let fifo = d.join("p");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let data = text(30_000);
    let feed = {
        let (fifo, data) = (fifo.clone(), data.clone());
        std::thread::spawn(move || fs::write(fifo, data).unwrap())
    };
    let o = lmc(d).args(["-M", "adaptive", "-c", "p"]).output().unwrap();
    feed.join().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let back = run_with_stdin(lmc(d).args(["-dc"]), &o.stdout);
    assert_eq!(back.stdout, data);
    assert!(fifo.exists());
    // Without -c there is nowhere to put it: refused, as gzip does.
    let o = lmc(d).args(["-M", "adaptive", "p"]).output().unwrap();
    fails_with(&o, "p: not a regular file -- ignored");
}

#[test]
fn compressing_to_a_pipe_streams_without_spooling() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let spool = d.join("tmp");
    fs::create_dir(&spool).unwrap();
    let run = |threads: &str| {
        let mut c = lmc(d);
        c.env("TMPDIR", &spool)
            .args(["-M", "model", "-b", "64", "-T", threads, "-c", "--model"])
            .arg(&model);
        c
    };
    let mut child = run("1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A stream a MiB of input (at 64-byte blocks): the first is out while
    // the input is open.
    let data = text(1_500_000);
    let mut input = child.stdin.take().unwrap();
    let mut output = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut first = [0u8; 64];
        output.read_exact(&mut first).unwrap();
        tx.send(()).unwrap();
        let mut rest = first.to_vec();
        output.read_to_end(&mut rest).unwrap();
        rest
    });
    input.write_all(&data[..1_200_000]).unwrap();
    input.flush().unwrap();
    rx.recv_timeout(Duration::from_secs(120))
        .expect("compressed data arrives before the input ends");
    assert_eq!(listing(&spool), Vec::<String>::new(), "nothing spooled");
    input.write_all(&data[1_200_000..]).unwrap();
    drop(input);
    let packed = reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    let back = run_with_stdin(lmc(d).args(["-dc", "--model"]).arg(&model), &packed);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(back.stdout, data);
    // Two streams, listed as one file's; the same bytes on more threads.
    fs::write(d.join("s.lmc"), &packed).unwrap();
    let l = lmc(d).args(["-l", "s.lmc"]).output().unwrap();
    assert!(l.status.success(), "{}", stderr(&l));
    assert!(String::from_utf8_lossy(&l.stdout).contains(&format!(" {} ", data.len())));
    let again = run_with_stdin(&mut run("3"), &data);
    assert_eq!(again.stdout, packed);
}

#[cfg(unix)]
#[test]
fn links_are_refused_where_removing_would_lose_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f"), b"linked data").unwrap();
    fs::hard_link(d.join("f"), d.join("h")).unwrap();
    std::os::unix::fs::symlink("f", d.join("s")).unwrap();
    let o = lmc(d).args(["-M", "adaptive", "h"]).output().unwrap();
    fails_with(&o, "lmc: h: has 1 other link -- unchanged");
    let o = lmc(d).args(["-M", "adaptive", "s"]).output().unwrap();
    fails_with(&o, "lmc: s: is a symbolic link -- unchanged");
    assert_eq!(listing(d), ["f", "h", "s"]);
    // Kept, or forced: compressed.
    let o = lmc(d)
        .args(["-M", "adaptive", "-k", "h", "s"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = lmc(d).args(["-M", "adaptive", "-f", "h"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!d.join("h").exists() && d.join("f").exists());
}

#[test]
fn compressing_to_a_regular_file_on_stdout_writes_one_stream() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let data = text(1_200_000);
    fs::write(d.join("f"), &data).unwrap();
    let args = ["-M", "model", "-b", "64", "-k", "--model"];
    let o = lmc(d).args(args).arg(&model).arg("f").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let file = fs::read(d.join("f.lmc")).unwrap();
    // `> out`: the same single stream; `>> out`: streams, after what was
    // there, that decode all the same.
    for append in [false, true] {
        let out = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(!append)
            .append(append)
            .open(d.join("out"))
            .unwrap();
        let o = lmc(d)
            .args(["-c"])
            .args(args)
            .arg(&model)
            .arg("f")
            .stdout(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let written = fs::read(d.join("out")).unwrap();
        if append {
            assert!(written.starts_with(&file) && written.len() > 2 * file.len() - 100);
            let back = lmc(d)
                .args(["-dc", "--model"])
                .arg(&model)
                .arg("out")
                .output()
                .unwrap();
            assert_eq!(back.stdout, [&data[..], &data[..]].concat());
        } else {
            assert_eq!(written, file);
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn memory_the_system_refuses_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("z"), vec![0u8; 17 << 20]).unwrap();
    // 60 MB of address space: the 16 MiB block is read, its 44 MiB mixer
    // is not to be had.
    let o = Command::new("sh")
        .current_dir(d)
        .env("LMC_MODEL_DIR", d.join("no-models"))
        .arg("-c")
        .arg(format!(
            "ulimit -v 60000; exec '{}' -M adaptive -b 16M -T 1 -k z",
            env!("CARGO_BIN_EXE_lmc")
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("lmc: z: out of memory (could not get "),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1);
    assert_eq!(listing(d), ["z"]);
}
