//! Every dispatched kernel of `model_int8::kernels` (AVX2 / AVX-512 VNNI on
//! x86-64, NEON with or without `SDOT` on aarch64, with the `simd` feature;
//! the portable ones otherwise) against its portable definition, bit for
//! bit, on random inputs of awkward sizes (not multiples of the vector
//! widths) and on extreme values. `scripts/test-all.sh` runs it natively
//! and for aarch64 under `qemu-aarch64`, once with the default CPU (which
//! has the dot-product extension) and once as a Cortex-A53 (which has not).

use model_int8::kernels;

/// A small deterministic generator (PCG-style LCG, high bits).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 32) as u32
    }
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
    fn i8(&mut self) -> i8 {
        self.next() as i8
    }
    fn i32(&mut self) -> i32 {
        self.next() as i32
    }
}

/// Prints the kernel set once, so test logs say what was compared.
fn announce() {
    println!("kernels::active() = {}", kernels::active());
}

#[test]
fn matvec_agrees() {
    announce();
    let mut r = Rng(1);
    let mut shapes = vec![
        (1, 1),
        (1, 16),
        (4, 15),
        (5, 16),
        (8, 17),
        (3, 31),
        (9, 32),
        (7, 33),
        (12, 48),
        (13, 63),
        (16, 64),
        (11, 65),
        (6, 127),
        (33, 256),
        (3, 1000),
        (2, 16384),
        (300, 16),
        (257, 32),
    ];
    for _ in 0..60 {
        shapes.push((1 + r.below(40), 1 + r.below(300)));
    }
    for (rows, cols) in shapes {
        for fill in 0..5 {
            // Weights never hold -128 (the kernels' contract); inputs may.
            let (w, x): (Vec<i8>, Vec<i8>) = match fill {
                0 => (
                    (0..rows * cols).map(|_| r.i8().max(-127)).collect(),
                    (0..cols).map(|_| r.i8()).collect(),
                ),
                1 => (vec![-127; rows * cols], vec![-128; cols]),
                2 => (vec![127; rows * cols], vec![127; cols]),
                3 => (vec![127; rows * cols], vec![-128; cols]),
                // Extremes of both signs mixed.
                _ => (
                    (0..rows * cols)
                        .map(|_| if r.next() & 1 == 0 { 127 } else { -127 })
                        .collect(),
                    (0..cols)
                        .map(|_| if r.next() & 1 == 0 { 127 } else { -128 })
                        .collect(),
                ),
            };
            let mut want = vec![0; rows];
            kernels::matvec_portable(&w, &x, &mut want);
            let mut got = vec![7; rows];
            kernels::matvec(&w, &x, &mut got);
            assert_eq!(got, want, "matvec {rows}x{cols} fill {fill}");
            // A sub-range of rows, as the attention scores use (unaligned
            // start in `w`).
            if rows > 2 {
                let mut want = vec![0; rows - 2];
                kernels::matvec_portable(&w[cols..(rows - 1) * cols], &x, &mut want);
                let mut got = vec![0; rows - 2];
                kernels::matvec(&w[cols..(rows - 1) * cols], &x, &mut got);
                assert_eq!(got, want, "matvec rows 1..{} of {rows}x{cols}", rows - 1);
            }
        }
    }
}

#[test]
fn weighted_sum_agrees() {
    announce();
    let mut r = Rng(2);
    let mut shapes = vec![
        (1, 1),
        (1, 16),
        (7, 8),
        (15, 16),
        (16, 16),
        (17, 32),
        (31, 3),
        (100, 32),
        (511, 16),
        (512, 16),
        (513, 17),
        (1024, 16),
        (2048, 32),
        (300, 64),
    ];
    for _ in 0..30 {
        shapes.push((1 + r.below(1200), 1 + r.below(40)));
    }
    for (n, hd) in shapes {
        for fill in 0..3 {
            let wts: Vec<i32> = (0..n)
                .map(|i| match fill {
                    0 => {
                        if i % 5 == 0 {
                            32767
                        } else {
                            (r.next() & 0x7fff) as i32
                        }
                    }
                    _ => 32767,
                })
                .collect();
            let stride = n + r.below(5);
            let v: Vec<i8> = (0..hd * stride)
                .map(|_| match fill {
                    0 => r.i8(),
                    1 => -128,
                    _ => 127,
                })
                .collect();
            // `out` accumulates: start from something other than 0.
            let start: Vec<i64> = (0..hd).map(|_| r.i32() as i64).collect();
            let mut want = start.clone();
            let dw = kernels::weighted_sum_portable(&wts, &v, stride, &mut want);
            let mut got = start.clone();
            let dg = kernels::weighted_sum(&wts, &v, stride, &mut got);
            assert_eq!((dg, &got), (dw, &want), "weighted_sum {n}x{hd} fill {fill}");
        }
    }
}

/// The stored exp table: entry `j` is `round(2^30 * 2^(-j/256))`.
fn exp_table() -> [u32; 256] {
    let mut exp = [0u32; 256];
    for (j, e) in exp.iter_mut().enumerate() {
        *e = (2f64.powf(-(j as f64) / 256.0) * (1u64 << 30) as f64).round() as u32;
    }
    exp
}

#[test]
fn softmax_weights_agrees() {
    announce();
    let exp = exp_table();
    let mut r = Rng(3);
    let mut params = vec![
        (1 << 30, 0),
        (1_500_000_000, -3),
        (2_147_483_647, -12),
        (1 << 30, 4),
        (1 << 30, 30),
        (1_234_567_890, -31),
        (0, 0),
        (-1_000_000_000, -5),
        (i32::MIN, 0),
    ];
    for _ in 0..30 {
        params.push((r.i32() & i32::MAX, (r.below(62) as i32) - 31));
    }
    for (mult, shift) in params {
        for spread in [10, 1000, 1 << 20, i32::MAX] {
            let n = r.below(300);
            let mut a: Vec<i32> = (0..n).map(|_| r.i32() % spread).collect();
            if n > 2 {
                a[r.below(n)] = i32::MIN;
                a[r.below(n)] = i32::MAX;
            }
            // The true maximum, as the model passes, and larger bounds (the
            // kernels' contract: `max` is at least every score; the AVX2
            // kernel relies on it).
            let top = a.iter().copied().max().unwrap_or(i32::MIN);
            for max in [top, top.saturating_add(r.i32() & 0xffff), i32::MAX] {
                let mut got = a.clone();
                let mut want = a.clone();
                kernels::softmax_weights(&mut got, max, mult, shift, &exp);
                kernels::softmax_weights_portable(&mut want, max, mult, shift, &exp);
                assert_eq!(got, want, "mult {mult} shift {shift} spread {spread} n {n}");
            }
        }
    }
}

#[test]
fn requantize_rows_agrees() {
    announce();
    let mut r = Rng(4);
    for round in 0..400 {
        let n = round % 41;
        let mut rq = Vec::new();
        // Misaligned rows: the file's tensors are 32-byte aligned, but the
        // kernels must not care.
        let pad = round % 4;
        rq.resize(pad, 0u8);
        for k in 0..n {
            let bias = match round % 4 {
                0 => r.i32(),
                _ => r.i32() >> (round % 20),
            };
            let mult = match (round + k) % 7 {
                0 => 0,
                1 => i32::MAX,
                2 if round % 5 == 0 => i32::MIN,
                3 if round % 5 == 0 => -(r.i32() & i32::MAX),
                _ => (r.next() >> 1) as i32 | if round % 3 == 0 { 0 } else { 1 << 30 },
            };
            let shift = match (round + k) % 5 {
                0 => -31,
                1 => 30,
                2 => 0,
                _ => r.below(62) as i32 - 31,
            };
            for x in [bias, mult, shift] {
                rq.extend_from_slice(&x.to_le_bytes());
            }
        }
        let acc: Vec<i32> = (0..n)
            .map(|i| match i % 6 {
                0 => i32::MIN,
                1 => i32::MAX,
                2 => -(r.below(1 << (round % 31)) as i32),
                _ => r.i32() >> (round % 24),
            })
            .collect();
        let mut got = acc.clone();
        let mut want = acc.clone();
        kernels::requantize_rows(&mut got, &rq[pad..]);
        kernels::requantize_rows_portable(&mut want, &rq[pad..]);
        assert_eq!(got, want, "round {round}");
    }
}

#[test]
fn max_i32_agrees() {
    announce();
    let mut r = Rng(5);
    for n in (0..70).chain([255, 256, 257, 1000, 2049]) {
        for fill in 0..3 {
            let x: Vec<i32> = (0..n)
                .map(|_| match fill {
                    0 => r.i32(),
                    1 => i32::MIN,
                    _ => -(r.below(100) as i32),
                })
                .collect();
            let want = x.iter().copied().fold(i32::MIN, i32::max);
            assert_eq!(kernels::max_i32(&x), want, "max_i32 n {n} fill {fill}");
            if n > 0 {
                // The maximum in every position of a short vector.
                let mut y = x.clone();
                let k = r.below(n);
                y[k] = i32::MAX;
                assert_eq!(kernels::max_i32(&y), i32::MAX, "max_i32 n {n} at {k}");
            }
        }
    }
}
