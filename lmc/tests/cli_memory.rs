//! `lmc`'s peak memory follows the input, not the thread count: a small
//! input at `-T 16` costs what it costs at `-T 1` (threads past the
//! blocks build no models and no mixers), and the mixer's tables are
//! sized to the block a small file is. Its own test binary, so that the
//! children measured are its only ones (the peak is the largest child's).

mod cli_common;

use cli_common::*;

/// The largest peak resident set of the children waited for so far, in
/// KiB (Linux's `getrusage(RUSAGE_CHILDREN)`).
#[cfg(target_os = "linux")]
fn children_peak_kib() -> i64 {
    #[repr(C)]
    struct Rusage {
        utime: [i64; 2],
        stime: [i64; 2],
        maxrss: i64,
        rest: [i64; 14],
    }
    extern "C" {
        fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }
    const RUSAGE_CHILDREN: i32 = -1;
    let mut u = Rusage {
        utime: [0; 2],
        stime: [0; 2],
        maxrss: 0,
        rest: [0; 14],
    };
    // SAFETY: `u` is a `struct rusage` as Linux lays it out on 64-bit
    // targets, and lives through the call.
    assert_eq!(unsafe { getrusage(RUSAGE_CHILDREN, &mut u) }, 0);
    u.maxrss
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn a_small_input_costs_little_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A model with a sliding window, which codes blocks of any length (as
    // the shipped ones do), so the default 1 MiB block applies.
    let config = model_int8::Config::sized(16, 1, 2, 32, 64);
    let float = model_int8::FloatModel::random(config, 7);
    let bytes = model_int8::quantize(
        &float,
        b"calibration text, calibration text",
        &model_int8::QuantOptions::default(),
    )
    .unwrap();
    let model = d.join("window.lmm");
    std::fs::write(&model, bytes).unwrap();
    let text = sample(&model_bytes(1), 5000, 64, 4);
    std::fs::write(d.join("f"), &text).unwrap();
    let run = |threads: &str, mode: &str| {
        let o = lmc(d)
            .args(["-k", "-f", "-M", mode, "-T", threads, "--model"])
            .arg(&model)
            .arg("f")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        children_peak_kib()
    };
    // The mixed coding (the default) and the adaptive models alone.
    let one = run("1", "mixed").max(run("1", "adaptive"));
    let sixteen = run("16", "mixed").max(run("16", "adaptive"));
    eprintln!("peak: -T 1 {one} KiB, -T 16 {sixteen} KiB");
    // Before: 64 MB at -T 1 (the mixer of a 1 MiB block), 938 MB at -T 16.
    assert!(one < 40 << 10, "-T 1: {one} KiB");
    assert!(
        sixteen < one + (8 << 10),
        "-T 16: {sixteen} KiB against {one} KiB"
    );
}
