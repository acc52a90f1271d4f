//! Shared helpers of the `lmc` binary's tests: a tiny random int8 model and
//! data it compresses well (sampled from the model itself).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coder_core::Model;
use model_int8::{
    quantize, working_memory_size, Config, FloatModel, Int8Model, ModelFile, QuantOptions,
};

/// Context (and default chunk size in the tests) of the test models.
pub const CONTEXT: u32 = 64;

const CALIBRATION: &[u8] = b"The quick brown fox jumps over the lazy dog. Language models \
are general purpose compressors; a model that predicts the next byte well drives an \
arithmetic coder to a short code. 0123456789 [[links]] and punctuation!";

/// The bytes of a tiny random int8 model (d 16, 1 layer, context 64).
pub fn model_bytes(seed: u64) -> Vec<u8> {
    let config = Config::sized(16, 1, 2, CONTEXT, CONTEXT);
    let m = FloatModel::random(config, seed);
    let opts = QuantOptions {
        max_calibration_bytes: 256,
        ..QuantOptions::default()
    };
    quantize(&m, CALIBRATION, &opts).expect("quantize test model")
}

/// Writes the model of `seed` into `dir`; returns its path.
pub fn write_model(dir: &Path, seed: u64) -> PathBuf {
    let p = dir.join(format!("model-{seed}.lmm"));
    std::fs::write(&p, model_bytes(seed)).unwrap();
    p
}

/// `n` bytes drawn from the model (mostly its most likely next byte), restarting its context every `chunk`
/// bytes (as the compressor does), so they compress well under it.
pub fn sample(model: &[u8], n: usize, chunk: usize, seed: u64) -> Vec<u8> {
    let file = ModelFile::parse(model).unwrap();
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        if out.len() % chunk == 0 {
            m.reset();
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Three bytes in four are the most likely one, the rest sampled.
        let s = if x.is_multiple_of(4) {
            let target = (x >> 20) as u32 & ((1 << m.precision()) - 1);
            m.lookup(target).unwrap().0
        } else {
            let t = m.frequencies();
            let c = t.cumulative();
            (0..t.symbols())
                .max_by_key(|&i| (c[i + 1] - c[i], usize::MAX - i))
                .unwrap()
        };
        m.observe(s);
        out.push(s as u8);
    }
    out
}

/// Pseudo-random bytes (incompressible).
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as u8
        })
        .collect()
}

/// The `lmc` binary with the shipped-model search pointed at an empty
/// place, so tests never pick up a real model by accident.
pub fn lmc(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lmc"));
    c.current_dir(dir)
        .env("LMC_MODEL_DIR", dir.join("no-models"));
    c
}

/// Compresses `name` in `dir` with `model` in 64-byte chunks (`args`
/// added, e.g. `-k`) to `name.lmc`; the stream written.
pub fn pack(dir: &Path, model: &Path, args: &[&str], name: &str) -> Vec<u8> {
    let o = lmc(dir)
        .args(["-b", "64"])
        .args(args)
        .arg("--model")
        .arg(model)
        .arg(name)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read(dir.join(format!("{name}.lmc"))).unwrap()
}

/// Runs `cmd` with `stdin` as standard input.
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Asserts that `o` failed (status 1) with `message` on standard error.
pub fn fails_with(o: &Output, message: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert!(stderr(o).contains(message), "{}", stderr(o));
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Names in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Waits (at most a minute) until a temporary output appears in `dir`,
/// while `child` is still running.
pub fn wait_for_temporary(dir: &Path, child: &mut std::process::Child) {
    use std::time::{Duration, Instant};
    let start = Instant::now();
    while !listing(dir).iter().any(|n| n.ends_with(".lmc-tmp")) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary file appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "lmc ended before its output was being written"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
