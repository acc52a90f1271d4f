//! Golden test: the exact frequency tables of a fixed quantized model on a
//! fixed input. The hash must be the same in debug and release, with and
//! without `simd`, on every machine (the firmware checks it too).

mod common;

use coder_core::Model;
use model_int8::{format::fnv1a64, working_memory_size, Config, Int8Model, ModelFile};

/// `format::table_hash` of `tests/data/golden.lmi8` on
/// `tests/data/golden.txt`: FNV-1a 64 over the little-endian cumulative
/// tables of every step.
const GOLDEN_TABLES: u64 = 0x2b37_e594_9166_52a8;

/// The committed golden model and input (also used by the firmware's
/// check).
const GOLDEN_FILE: &[u8] = include_bytes!("data/golden.lmi8");
const GOLDEN_INPUT: &[u8] = include_bytes!("data/golden.txt");

fn golden_model() -> Vec<u8> {
    // Window smaller than the input so the ring buffer wraps.
    common::small_model(Config::sized(32, 2, 2, 48, 320), 0x5EED).1
}

fn table_hash(bytes: &[u8], input: &[u8]) -> u64 {
    let file = ModelFile::parse(bytes).unwrap();
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let h = model_int8::format::table_hash(&mut m, input);
    // The same hash computed the long way.
    let mut all = Vec::new();
    m.reset();
    for &b in input {
        for c in m.frequencies().cumulative() {
            all.extend_from_slice(&c.to_le_bytes());
        }
        m.observe(b as usize);
    }
    assert_eq!(h, fnv1a64(&all));
    h
}

#[test]
fn golden_tables() {
    assert_eq!(GOLDEN_INPUT, &common::TEXT[..300]);
    let tables = table_hash(GOLDEN_FILE, GOLDEN_INPUT);
    println!("tables {tables:#018x}");
    assert_eq!(tables, GOLDEN_TABLES, "int8 inference output changed");
}

/// The quantizer still writes the committed file. Its float calibration
/// goes through the platform's `exp`/`cos`/`erf`, so on an exotic libm this
/// may differ in a last bit; the table hash above is the portable claim.
/// `MODEL_INT8_BLESS=1` rewrites the file.
#[test]
fn quantizer_reproduces_golden_file() {
    let bytes = golden_model();
    if std::env::var_os("MODEL_INT8_BLESS").is_some() {
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/golden.lmi8"),
            &bytes,
        )
        .unwrap();
    }
    assert!(
        bytes == GOLDEN_FILE,
        "quantizer output changed (fnv {:#018x})",
        fnv1a64(&bytes)
    );
}

#[test]
fn portable_kernels_agree_with_dispatched() {
    use model_int8::kernels;
    let mut s = 12345u64;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as i32
    };
    for &(rows, cols) in &[
        (1, 1),
        (3, 7),
        (17, 16),
        (64, 64),
        (11, 65),
        (9, 200),
        (33, 256),
        (5, 1000),
    ] {
        // Weights never hold -128 (the kernels' contract); inputs may.
        let w: Vec<i8> = (0..rows * cols).map(|_| (rnd() as i8).max(-127)).collect();
        let x: Vec<i8> = (0..cols).map(|_| rnd() as i8).collect();
        let mut a = vec![0; rows];
        let mut b = vec![0; rows];
        kernels::matvec(&w, &x, &mut a);
        kernels::matvec_portable(&w, &x, &mut b);
        assert_eq!(a, b, "matvec {rows}x{cols}");
        // Extremes.
        let w = vec![-127i8; rows * cols];
        let x = vec![-128i8; cols];
        kernels::matvec(&w, &x, &mut a);
        kernels::matvec_portable(&w, &x, &mut b);
        assert_eq!(a, b);
    }
    for &(n, hd) in &[(1, 16), (5, 16), (100, 32), (2048, 16), (300, 64), (7, 8)] {
        let wts: Vec<i32> = (0..n)
            .map(|i| if i % 5 == 0 { 32767 } else { rnd() & 0x7fff })
            .collect();
        for stride in [n, n + 3] {
            let v: Vec<i8> = (0..hd * stride).map(|_| (rnd() as i8).max(-127)).collect();
            let mut a = vec![0i64; hd];
            let mut b = vec![0i64; hd];
            let da = kernels::weighted_sum(&wts, &v, stride, &mut a);
            let db = kernels::weighted_sum_portable(&wts, &v, stride, &mut b);
            assert_eq!((da, a), (db, b), "weighted_sum {n}x{hd} stride {stride}");
        }
    }
}

#[test]
fn softmax_kernels_agree() {
    use model_int8::kernels;
    let mut exp = [0u32; 256];
    for (j, e) in exp.iter_mut().enumerate() {
        *e = (2f64.powf(-(j as f64) / 256.0) * (1u64 << 30) as f64).round() as u32;
    }
    let mut s = 99u64;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as i32
    };
    for &(mult, shift) in &[
        (1 << 30, 0),
        (1_500_000_000, -3),
        (2_147_483_647, -12),
        (1 << 30, 4),
        (1_234_567_890, -31),
        (0, 0),
    ] {
        for &spread in &[10, 1000, 1 << 20, i32::MAX] {
            let mut a: Vec<i32> = (0..203).map(|_| rnd() % spread).collect();
            a.push(i32::MIN);
            a.push(i32::MAX);
            let max = *a.iter().max().unwrap();
            let mut b = a.clone();
            kernels::softmax_weights(&mut a, max, mult, shift, &exp);
            kernels::softmax_weights_portable(&mut b, max, mult, shift, &exp);
            assert_eq!(a, b, "mult {mult} shift {shift} spread {spread}");
        }
    }
}

#[test]
fn requantize_kernels_agree() {
    use model_int8::kernels;
    let mut s = 7u64;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 32) as u32 as i32
    };
    for round in 0..200 {
        let n = 1 + round % 37;
        let mut rq = Vec::new();
        for _ in 0..n {
            let bias = match round % 4 {
                0 => rnd(),
                _ => rnd() >> (round % 20),
            };
            let mult = (rnd() as u32 >> 1) as i32 | if round % 3 == 0 { 0 } else { 1 << 30 };
            let shift = (rnd().rem_euclid(62)) - 31;
            let shift = if round % 2 == 0 {
                -shift.abs()
            } else {
                shift.min(30)
            };
            for x in [bias, mult, shift] {
                rq.extend_from_slice(&x.to_le_bytes());
            }
        }
        let acc: Vec<i32> = (0..n)
            .map(|i| match i % 5 {
                0 => i32::MIN,
                1 => i32::MAX,
                _ => rnd() >> (round % 24),
            })
            .collect();
        let mut a = acc.clone();
        let mut b = acc.clone();
        kernels::requantize_rows(&mut a, &rq);
        kernels::requantize_rows_portable(&mut b, &rq);
        assert_eq!(a, b, "round {round}");
    }
}

#[test]
fn norm_scale_kernels_agree() {
    use model_int8::kernels;
    let mut s = 31u64;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 11
    };
    for &d in &[1usize, 7, 8, 64, 100, 256] {
        for &spread in &[100u64, 1 << 16, 1 << 23] {
            // Within the kernel's contract: |h - mean| <= 2^24, k <= 2^24.
            for &inv in &[
                u64::MAX / 2,
                u64::MAX / 300,
                u64::MAX / 70_000,
                1 << 40,
                u64::MAX,
            ] {
                let h: Vec<i32> = (0..d)
                    .map(|_| (rnd() % (2 * spread)) as i32 - spread as i32)
                    .collect();
                let ks: Vec<u8> = (0..d)
                    .flat_map(|_| ((1 + rnd() % (1 << 24)) as i32).to_le_bytes())
                    .collect();
                for &mean in &[0i64, 12_345, -(1 << 20), 1 << 23] {
                    let mut a = vec![0i8; d];
                    let mut b = vec![0i8; d];
                    kernels::norm_scale(&h, mean, &ks, inv, &mut a);
                    kernels::norm_scale_portable(&h, mean, &ks, inv, &mut b);
                    assert_eq!(a, b, "d {d} spread {spread} inv {inv} mean {mean}");
                    assert_eq!(
                        kernels::sum_squares(&h, mean),
                        kernels::sum_squares_portable(&h, mean),
                        "squares d {d} spread {spread} mean {mean}"
                    );
                }
            }
        }
    }
}

#[test]
fn lookup_kernels_agree() {
    use model_int8::kernels;
    let mut lut = [0i8; 256];
    for (i, l) in lut.iter_mut().enumerate() {
        *l = (i as i32 * 37 % 251 - 125) as i8;
    }
    for &n in &[0usize, 1, 63, 64, 65, 256, 1000] {
        let pre: Vec<i32> = (0..n as i32)
            .map(|i| match i % 5 {
                0 => i32::MIN + i,
                1 => i32::MAX - i,
                _ => (i * 7919) % 400 - 200,
            })
            .collect();
        let mut a = vec![0i8; n];
        let mut b = vec![0i8; n];
        kernels::lookup_i8(&pre, &lut, &mut a);
        kernels::lookup_i8_portable(&pre, &lut, &mut b);
        assert_eq!(a, b, "n {n}");
    }
}

#[test]
fn head_kernels_agree() {
    use model_int8::kernels;
    let mut exp = [0u32; 256];
    for (j, e) in exp.iter_mut().enumerate() {
        *e = (2f64.powf(-(j as f64) / 256.0) * (1u64 << 30) as f64).round() as u32;
    }
    let mut s = 5u64;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as i32
    };
    for &n in &[1usize, 15, 16, 17, 256, 1000, 20_000] {
        for &spread in &[10, 3000, 1 << 24] {
            let logits: Vec<i32> = (0..n).map(|_| rnd() % spread).collect();
            let max = *logits.iter().max().unwrap();
            let (mut a, mut b) = (vec![0u32; n], vec![0u32; n]);
            let sa = kernels::exp_weights(&logits, max, &exp, &mut a);
            let sb = kernels::exp_weights_portable(&logits, max, &exp, &mut b);
            assert_eq!((sa, &a), (sb, &b), "exp n {n} spread {spread}");
            for recip in [0u64, 1, 12_345, (1 << 26) - 1, u32::MAX as u64] {
                let (mut c, mut d) = (a.clone(), a.clone());
                let gc = kernels::shares(&mut c, recip);
                let gd = kernels::shares_portable(&mut d, recip);
                assert_eq!((gc, &c), (gd, &d), "shares n {n} recip {recip}");
            }
        }
    }
}
