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
