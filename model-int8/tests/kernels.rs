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
        for fill in 0..4 {
            let wts: Vec<i32> = (0..n)
                .map(|i| match fill {
                    0 => {
                        if i % 5 == 0 {
                            32767
                        } else {
                            (r.next() & 0x7fff) as i32
                        }
                    }
                    // Sparse: runs of zero weights (sharp attention),
                    // which the SIMD kernels skip.
                    3 if (i / 16) % 3 != 1 && r.below(7) != 0 => 0,
                    3 => (r.next() & 0x7fff) as i32,
                    _ => 32767,
                })
                .collect();
            let stride = n + r.below(5);
            let v: Vec<i8> = (0..hd * stride)
                .map(|_| match fill {
                    0 | 3 => r.i8(),
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

/// Vector lengths for the element-wise kernels: around the vector widths
/// (8, 16, 32, 64) and the model's widths, plus random ones up to 1100.
fn lengths(r: &mut Rng) -> Vec<usize> {
    let mut n = vec![
        0, 1, 2, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 63, 64, 65, 95, 127, 255, 256, 257, 511,
        1023, 1024, 1025, 1100,
    ];
    for _ in 0..30 {
        n.push(1 + r.below(1100));
    }
    n
}

/// A value in `-bound ..= bound`.
fn within(r: &mut Rng, bound: i64) -> i64 {
    (r.next() as u64 | (r.next() as u64) << 32) as i64 % (bound + 1)
}

#[test]
fn norm_scale_agrees() {
    announce();
    let mut r = Rng(6);
    const LIM: i64 = 1 << 24;
    for n in lengths(&mut r) {
        for fill in 0..6 {
            let mean = match fill {
                0 | 1 => within(&mut r, LIM),
                2 => LIM,
                3 => -LIM,
                _ => within(&mut r, 1000),
            };
            // |c| up to 2^cb and k up to 2^kb, and an rms that puts the
            // typical result mid-range (not all saturated).
            let (cb, kb) = (r.below(25) as u32, r.below(25) as u32);
            let c: Vec<i64> = (0..n)
                .map(|i| match fill {
                    // |h| up to 2^25 with |c| = 2^24.
                    2 | 3 if i % 2 == 0 => LIM,
                    2 | 3 => -LIM,
                    4 if i % 3 == 0 => 0,
                    4 if i % 3 == 1 => LIM,
                    _ => within(&mut r, 1 << cb),
                })
                .collect();
            let h: Vec<i32> = c.iter().map(|&c| (mean + c) as i32).collect();
            let pad = r.below(4);
            let mut ks = vec![0u8; pad];
            for _ in 0..n {
                let k = match fill {
                    2 | 3 => LIM as i32,
                    4 => [0, 1, LIM as i32][r.below(3)],
                    _ => within(&mut r, 1 << kb).abs() as i32,
                };
                ks.extend_from_slice(&k.to_le_bytes());
            }
            let ks = &ks[pad..];
            let rms = (1u64 << (cb + kb)) >> 15;
            let inv = match fill {
                1 => r.next() as u64 | (r.next() as u64) << 32,
                2 => u64::MAX,
                3 => u64::MAX / 2,
                _ => u64::MAX / (rms.max(2) + r.below(1 + rms as usize) as u64),
            };
            let mut want = vec![5i8; n];
            kernels::norm_scale_portable(&h, mean, ks, inv, &mut want);
            let mut got = vec![-3i8; n];
            kernels::norm_scale(&h, mean, ks, inv, &mut got);
            assert_eq!(
                got, want,
                "norm_scale n {n} fill {fill} mean {mean} inv {inv}"
            );
            // A shorter output than inputs.
            if n > 1 {
                let m = n - 1 - r.below(n - 1);
                let mut want = vec![5i8; m];
                kernels::norm_scale_portable(&h, mean, ks, inv, &mut want);
                let mut got = vec![-3i8; m];
                kernels::norm_scale(&h, mean, ks, inv, &mut got);
                assert_eq!(got, want, "norm_scale out {m} of {n} fill {fill}");
            }
        }
    }
}

#[test]
fn sum_squares_agrees() {
    announce();
    let mut r = Rng(7);
    const LIM: i64 = 1 << 24;
    for n in lengths(&mut r) {
        for fill in 0..5 {
            let mean = match fill {
                0 => within(&mut r, LIM),
                1 => LIM,
                2 => -LIM,
                3 => 0,
                // Past the limit the SIMD kernels decline; still equal.
                _ => LIM + 1 + within(&mut r, 1000).abs(),
            };
            let bits = r.below(25) as u32;
            let h: Vec<i32> = (0..n)
                .map(|i| {
                    let c = match fill {
                        1 => -LIM,
                        2 => LIM,
                        3 if i % 2 == 0 => LIM,
                        3 => -LIM,
                        _ => within(&mut r, 1 << bits),
                    };
                    (mean + c) as i32
                })
                .collect();
            let want = kernels::sum_squares_portable(&h, mean);
            assert_eq!(
                kernels::sum_squares(&h, mean),
                want,
                "sum_squares n {n} fill {fill} mean {mean}"
            );
        }
    }
}

#[test]
fn rope_row_agrees() {
    announce();
    let mut r = Rng(8);
    const Q14: i32 = 1 << 14;
    let widths = [2, 6, 10, 16, 24, 32, 48, 64, 96, 128, 256];
    for round in 0..200 {
        let hd = widths[round % widths.len()];
        let heads = 1 + r.below(8);
        let fill = round % 5;
        // Sometimes a partial head past the last whole one.
        let len = heads * hd + if round % 3 == 0 { r.below(hd) } else { 0 };
        let x: Vec<i32> = (0..len)
            .map(|_| match fill {
                0 => r.i32(),
                1 => [32767, -32767, 32768, -32768, i32::MAX, i32::MIN][r.below(6)],
                2 => r.i32() >> (8 + r.below(20)),
                _ => r.i32() % 40_000,
            })
            .collect();
        // The table: Q14 values within ±2^14 (checked at parse), extremes
        // included; sometimes longer than 2 hd and misaligned.
        let pad = round % 2;
        let extra = if round % 4 == 0 { 2 * r.below(8) } else { 0 };
        let mut row = vec![0u8; pad];
        for _ in 0..hd + extra / 2 {
            let v = match fill {
                1 => [Q14, -Q14, 0][r.below(3)],
                3 => Q14,
                4 => -Q14,
                _ => (r.i32() % (Q14 + 1)).clamp(-Q14, Q14),
            } as i16;
            row.extend_from_slice(&v.to_le_bytes());
        }
        let row = &row[pad..];
        for out_len in [len, heads * hd, (heads - 1) * hd + hd / 2] {
            let mut want = vec![9i8; out_len];
            kernels::rope_row_portable(&x, hd, row, &mut want);
            let mut got = vec![9i8; out_len];
            kernels::rope_row(&x, hd, row, &mut got);
            assert_eq!(
                got, want,
                "rope_row hd {hd} heads {heads} fill {fill} out {out_len}"
            );
        }
    }
}

#[test]
fn exp_weights_agrees() {
    announce();
    let mut r = Rng(9);
    const LIM: i32 = 1 << 24;
    let stored = exp_table();
    // Entries beyond the format's 2^30: the kernels are exact anyway.
    let mut wide = [0u32; 256];
    for e in wide.iter_mut() {
        *e = r.next();
    }
    wide[0] = u32::MAX;
    for n in lengths(&mut r) {
        for fill in 0..5 {
            let exp = if fill == 4 { &wide } else { &stored };
            let spread = [1 << 13, 1 << 16, 2 * LIM, 1 << 9, 1 << 20][fill];
            let logits: Vec<i32> = (0..n)
                .map(|i| match (fill, i % 4) {
                    // The extremes: 2^25 below the maximum.
                    (2, 0) => -LIM,
                    (2, 1) => LIM,
                    _ => (LIM - (r.next() % spread as u32) as i32).max(-LIM),
                })
                .collect();
            let top = logits.iter().copied().max().unwrap_or(0);
            // The true maximum (as the model passes it) and larger bounds.
            for max in [
                top,
                top.saturating_add((r.next() % 5000) as i32).min(LIM),
                LIM,
            ] {
                let mut want = vec![7u32; n];
                let sw = kernels::exp_weights_portable(&logits, max, exp, &mut want);
                let mut got = vec![3u32; n];
                let sg = kernels::exp_weights(&logits, max, exp, &mut got);
                assert_eq!(
                    (sg, &got),
                    (sw, &want),
                    "exp_weights n {n} fill {fill} max {max}"
                );
            }
        }
    }
}

#[test]
fn shares_agrees() {
    announce();
    let mut r = Rng(10);
    for n in lengths(&mut r) {
        for fill in 0..6 {
            let recip = match fill {
                0 => r.next() as u64,
                1 => u32::MAX as u64,
                2 => 0,
                3 => (r.next() >> 6) as u64,
                4 => (1 << 32) - 2,
                _ => (r.next() >> r.below(32)) as u64,
            };
            let e: Vec<u32> = (0..n)
                .map(|i| match (fill, i % 3) {
                    (1, _) => (1 << 31) - 1,
                    (4, 0) => u32::MAX,
                    (4, 1) => 0,
                    _ => r.next() >> (1 + r.below(31)),
                })
                .collect();
            let mut want = e.clone();
            let gw = kernels::shares_portable(&mut want, recip);
            let mut got = e.clone();
            let gg = kernels::shares(&mut got, recip);
            assert_eq!(
                (gg, &got),
                (gw, &want),
                "shares n {n} fill {fill} recip {recip}"
            );
        }
    }
}

#[test]
fn lookup_i8_agrees() {
    announce();
    let mut r = Rng(11);
    for (round, n) in lengths(&mut r).into_iter().enumerate() {
        // Random tables (every byte value, -128 included), and one whose
        // entries are their own index, so any wrong row shows.
        let mut lut = [0i8; 256];
        for (i, l) in lut.iter_mut().enumerate() {
            *l = if round % 3 == 0 {
                (i as i32 - 128) as i8
            } else {
                r.i8()
            };
        }
        for fill in 0..4 {
            let pre: Vec<i32> = (0..n)
                .map(|_| match fill {
                    0 => r.i32(),
                    1 => r.i32() % 200,
                    2 => [
                        i32::MIN,
                        i32::MAX,
                        -128,
                        -127,
                        -126,
                        126,
                        127,
                        128,
                        0,
                        -1,
                        1,
                    ][r.below(11)],
                    _ => r.i32() >> r.below(32),
                })
                .collect();
            for m in [n, n.saturating_sub(1 + r.below(40))] {
                let mut want = vec![1i8; m];
                kernels::lookup_i8_portable(&pre, &lut, &mut want);
                let mut got = vec![2i8; m];
                kernels::lookup_i8(&pre, &lut, &mut got);
                assert_eq!(got, want, "lookup_i8 n {n} out {m} fill {fill}");
            }
        }
    }
}
