//! Decompression to stdout streams (issue 15): a pipe's reader gets the
//! first bytes before the whole input is decoded (before it has even been
//! read), a closed pipe ends `lmc` quietly with SIGPIPE's status, and a
//! damaged stream still fails the run with one line after the data
//! decoded before the damage.

mod cli_common;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use cli_common::*;

/// 128 + SIGPIPE: what a shell reports for gzip in `gzip -dc f | head`.
const BROKEN_PIPE: i32 = 141;

/// A directory with model 1, model-sampled text `t` of `n` bytes and
/// `t.lmc`, compressed in 64-byte chunks on one thread.
fn setup(n: usize) -> (tempfile::TempDir, PathBuf, Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let text = sample(&fs::read(&model).unwrap(), n, 64, 5);
    fs::write(d.join("t"), &text).unwrap();
    let packed = pack(d, &model, &["-k", "-T", "1"], "t");
    (dir, model, text, packed)
}

/// A temp directory of its own for `lmc`, to see that nothing is spooled.
fn tmpdir(d: &Path) -> PathBuf {
    let t = d.join("tmp");
    fs::create_dir(&t).unwrap();
    t
}

#[test]
fn decompression_to_a_pipe_streams_before_the_input_ends_and_a_closed_pipe_ends_quietly() {
    let (dir, model, text, packed) = setup(64 * 1024);
    let d = dir.path();
    let tmp = tmpdir(d);
    let before = listing(d);
    let mut child = lmc(d)
        .args(["-d", "-T", "1", "--model"])
        .arg(&model)
        .env("TMPDIR", &tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Half the compressed stream now, the rest only once the first
    // kilobyte of output has been read and the pipe closed.
    let mut stdin = child.stdin.take().unwrap();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let half = packed.len() / 2;
    let rest = packed[half..].to_vec();
    stdin.write_all(&packed[..half]).unwrap();
    stdin.flush().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = go_rx.recv();
        let _ = stdin.write_all(&rest); // lmc may be gone already: EPIPE
    });
    let mut stdout = child.stdout.take().unwrap();
    let (kb_tx, kb_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut kb = vec![0u8; 1024];
        let r = stdout.read_exact(&mut kb).map(|_| kb);
        drop(stdout); // the reader goes away, as `head -c 1024` does
        let _ = kb_tx.send(r);
    });
    let first = kb_rx.recv_timeout(Duration::from_secs(120));
    let still_running = child.try_wait().unwrap().is_none();
    let _ = go_tx.send(());
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let first = first
        .expect("the first kilobyte arrives while half the input is still unsent")
        .expect("read the first kilobyte");
    assert_eq!(first, text[..1024], "the first kilobyte is the text's");
    assert!(still_running, "lmc was still waiting for its input");
    assert_eq!(status.code(), Some(BROKEN_PIPE), "{err}");
    assert_eq!(err, "", "a closed pipe ends quietly");
    assert!(listing(&tmp).is_empty(), "nothing spooled to $TMPDIR");
    assert_eq!(listing(d), before, "no temporary file left");
}

#[test]
fn head_of_a_file_decompressed_to_stdout_ends_quietly() {
    let (dir, model, text, _) = setup(64 * 1024);
    let d = dir.path();
    let tmp = tmpdir(d);
    let before = listing(d);
    // `lmc -dc t.lmc | head -c 100`.
    let mut child = lmc(d)
        .args(["-dc", "--model"])
        .arg(&model)
        .arg("t.lmc")
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = vec![0u8; 100];
    stdout.read_exact(&mut head).unwrap();
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    assert_eq!(head, text[..100]);
    assert_eq!(o.status.code(), Some(BROKEN_PIPE), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    assert!(listing(&tmp).is_empty(), "nothing spooled to $TMPDIR");
    assert_eq!(listing(d), before, "no temporary file left");
    assert_eq!(fs::read(d.join("t")).unwrap(), text, "inputs untouched");
}

/// Runs `lmc -dc bad.lmc` on `bad`: its output, after checking status 1
/// and one line naming `bad.lmc` that starts with `message`.
fn fails_to_stdout(d: &Path, model: &Path, bad: &[u8], message: &str) -> Vec<u8> {
    fs::write(d.join("bad.lmc"), bad).unwrap();
    let tmp = d.join("tmp");
    let o = lmc(d)
        .args(["-dc", "-T", "1", "--model"])
        .arg(model)
        .arg("bad.lmc")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with(&format!("lmc: bad.lmc: {message}")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(listing(&tmp).is_empty());
    o.stdout
}

#[test]
fn a_damaged_stream_to_stdout_fails_with_one_line_after_what_was_decoded() {
    // 64 chunks of 64 bytes; one thread decodes batches of 8 chunks.
    let (dir, model, text, packed) = setup(64 * 64);
    let d = dir.path();
    tmpdir(d);

    // A forged CRC-32 (the header's own checksum made to hold): all the
    // data goes out, and the run still fails at the end.
    let mut bad = packed.clone();
    bad[28] ^= 1;
    let check = coder_core::crc32(&bad[..32]).to_le_bytes();
    bad[32..36].copy_from_slice(&check);
    let out = fails_to_stdout(d, &model, &bad, "CRC-32 mismatch");
    assert_eq!(out, text, "every chunk was written before the check failed");

    // Cut inside the last record: the first seven batches went out.
    let out = fails_to_stdout(d, &model, &packed[..packed.len() - 1], "");
    assert_eq!(out, text[..7 * 8 * 64], "seven whole batches");

    // A damaged header: nothing at all.
    let mut bad = packed.clone();
    bad[17] ^= 1;
    let out = fails_to_stdout(d, &model, &bad, "corrupt header");
    assert!(out.is_empty());
}
