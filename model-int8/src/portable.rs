//! The portable integer kernels: the definition every SIMD version of
//! [`crate::kernels`] must match bit for bit, and the fallback where none
//! applies.

/// Portable [`crate::kernels::softmax_weights`].
pub fn softmax_weights_portable(
    scores: &mut [i32],
    max: i32,
    mult: i32,
    shift: i32,
    exp: &[u32; 256],
) {
    for s in scores.iter_mut() {
        let u = crate::fixed::requantize(max.saturating_sub(*s), mult, shift).max(0) as u32;
        let sh = (u >> 8) + 15;
        let w = if sh >= 32 {
            0
        } else {
            exp[(u & 255) as usize] >> sh
        };
        *s = w.min(32767) as i32;
    }
}

/// Portable [`crate::kernels::requantize_rows`].
pub fn requantize_rows_portable(acc: &mut [i32], rq: &[u8]) {
    let rq = crate::format::I32s(rq);
    for (o, a) in acc.iter_mut().enumerate() {
        let z = a.saturating_add(rq.get(3 * o));
        *a = crate::fixed::requantize(z, rq.get(3 * o + 1), rq.get(3 * o + 2));
    }
}

/// Portable [`crate::kernels::matvec`].
pub fn matvec_portable(w: &[i8], x: &[i8], out: &mut [i32]) {
    let cols = x.len();
    for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
        *o = dot_portable(row, x);
    }
}

/// `sum a[i] * b[i]`.
#[inline]
pub fn dot_portable(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = 0i32;
    for (&x, &y) in a.iter().zip(b) {
        acc += x as i32 * y as i32;
    }
    acc
}

/// Portable [`crate::kernels::weighted_sum`].
pub fn weighted_sum_portable(wts: &[i32], v: &[i8], stride: usize, out: &mut [i64]) -> i64 {
    let n = wts.len();
    for (j, o) in out.iter_mut().enumerate() {
        let col = v.get(j * stride..j * stride + n).unwrap_or(&[]);
        *o += col
            .iter()
            .zip(wts)
            .map(|(&x, &w)| w as i64 * x as i64)
            .sum::<i64>();
    }
    wts.iter().map(|&w| w as i64).sum()
}

/// Portable [`crate::kernels::norm_scale`].
pub fn norm_scale_portable(h: &[i32], mean: i64, ks: &[u8], inv: u64, out: &mut [i8]) {
    for ((o, &x), k) in out.iter_mut().zip(h).zip(ks.chunks_exact(4)) {
        let c = x as i64 - mean;
        let k = i32::from_le_bytes([k[0], k[1], k[2], k[3]]);
        // |c| < 2^25 and k < 2^25: t < 2^50; t * inv < 2^114.
        let t = c.unsigned_abs() * k as u64;
        // t / (r * 2^9) = t * inv / 2^73, rounded: with t * inv = H 2^64
        // + L (L < 2^64, below the rounding bit), (H + 2^8) >> 9.
        let hi = ((t as u128 * inv as u128) >> 64) as u64;
        let m = ((hi + (1 << 8)) >> 9).min(127) as i32;
        *o = crate::fixed::sym_i8(if c < 0 { -m } else { m });
    }
}

/// Portable [`crate::kernels::lookup_i8`].
pub fn lookup_i8_portable(pre: &[i32], lut: &[i8; 256], out: &mut [i8]) {
    for (o, &p) in out.iter_mut().zip(pre) {
        *o = lut[(crate::fixed::sym_i8(p) as i32 + 128) as usize];
    }
}

/// Portable [`crate::kernels::rope_row`], written so that the compiler
/// vectorizes it (inlined into the SIMD wrappers too).
#[inline(always)]
pub fn rope_row_portable(x: &[i32], hd: usize, row: &[u8], out: &mut [i8]) {
    use crate::format::ROPE_BITS;
    let half = hd / 2;
    let shift = ROPE_BITS + 8;
    let round = 1i32 << (shift - 1);
    let (cos, sin) = row[..2 * hd].split_at(hd);
    for (xh, oh) in x.chunks_exact(hd).zip(out.chunks_exact_mut(hd)) {
        let (xa, xb) = xh.split_at(half);
        let (oa, ob) = oh.split_at_mut(half);
        for i in 0..half {
            let cs = i16::from_le_bytes([cos[2 * i], cos[2 * i + 1]]) as i32;
            let sn = i16::from_le_bytes([sin[2 * i], sin[2 * i + 1]]) as i32;
            let a = xa[i].clamp(-32767, 32767);
            let b = xb[i].clamp(-32767, 32767);
            oa[i] = crate::fixed::sym_i8((a * cs - b * sn + round) >> shift);
            ob[i] = crate::fixed::sym_i8((b * cs + a * sn + round) >> shift);
        }
    }
}

/// Portable [`crate::kernels::exp_weights`].
pub fn exp_weights_portable(logits: &[i32], max: i32, exp: &[u32; 256], out: &mut [u32]) -> u64 {
    let mut sum = 0u64;
    for (e, &l) in out.iter_mut().zip(logits) {
        let u = max.wrapping_sub(l) as u32;
        let sh = u >> 8;
        *e = if sh >= 32 {
            0
        } else {
            exp[(u & 255) as usize] >> sh
        };
        sum += *e as u64;
    }
    sum
}

/// Portable [`crate::kernels::shares`].
pub fn shares_portable(e: &mut [u32], recip: u64) -> u64 {
    let mut given = 0u64;
    for e in e.iter_mut() {
        let f = 1 + ((*e as u64 * recip) >> 32);
        *e = f as u32;
        given += f;
    }
    given
}

/// Portable [`crate::kernels::sum_squares`].
pub fn sum_squares_portable(h: &[i32], mean: i64) -> u64 {
    h.iter()
        .map(|&x| {
            let c = (x as i64 - mean).unsigned_abs();
            c * c
        })
        .sum()
}
