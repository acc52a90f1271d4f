//! The integer kernels the forward pass spends its time in. Portable code
//! here; with the `simd` feature on x86-64 hosts (`std`), AVX2 / AVX-512
//! versions (the private `simd` module) are picked at run time. Integer sums are
//! exact, so every version gives identical results.

/// `out[r] = sum_c w[r * cols + c] * x[c]` with `cols = x.len()` and
/// `rows = out.len()`. `w` never holds `-128` (weights and keys are
/// symmetric int8), which the SIMD versions rely on.
#[inline]
pub fn matvec(w: &[i8], x: &[i8], out: &mut [i32]) {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::simd::matvec(w, x, out) {
        return;
    }
    matvec_portable(w, x, out)
}

/// `out[j] += sum_t wts[t] * v[j * stride + t]` for `t < wts.len()` and `j
/// < out.len()` (values stored transposed); weights are in `0 ..= 32767`.
/// Returns `sum_t wts[t]`.
#[inline]
pub fn weighted_sum(wts: &[i32], v: &[i8], stride: usize, out: &mut [i64]) -> i64 {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if let Some(s) = crate::simd::weighted_sum(wts, v, stride, out) {
        return s;
    }
    weighted_sum_portable(wts, v, stride, out)
}

/// Attention weights from scores, in place: `s = min(32767, exp[u & 255]
/// >> ((u >> 8) + 15))` with `u = requantize(max - s, mult, shift)` (the
/// stored table: entry `j` is `2^30 * 2^(-j/256)`), so the largest score gets
/// `32767` and the others `2^15 * 2^(-u/256)`.
#[inline]
pub fn softmax_weights(scores: &mut [i32], max: i32, mult: i32, shift: i32, exp: &[u32; 256]) {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::simd::softmax_weights(scores, max, mult, shift, exp) {
        return;
    }
    softmax_weights_portable(scores, max, mult, shift, exp)
}

/// Portable [`softmax_weights`].
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

/// `acc[o] = requantize(acc[o] + bias[o], mult[o], shift[o])` (the add
/// saturating) with `rq` the little-endian `[bias, mult, shift]` rows.
#[inline]
pub fn requantize_rows(acc: &mut [i32], rq: &[u8]) {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::simd::requantize_rows(acc, rq) {
        return;
    }
    requantize_rows_portable(acc, rq)
}

/// Portable [`requantize_rows`].
pub fn requantize_rows_portable(acc: &mut [i32], rq: &[u8]) {
    let rq = crate::format::I32s(rq);
    for (o, a) in acc.iter_mut().enumerate() {
        let z = a.saturating_add(rq.get(3 * o));
        *a = crate::fixed::requantize(z, rq.get(3 * o + 1), rq.get(3 * o + 2));
    }
}

/// The largest element (`i32::MIN` for an empty slice).
#[inline]
pub fn max_i32(x: &[i32]) -> i32 {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if let Some(m) = crate::simd::max_i32(x) {
        return m;
    }
    x.iter().copied().fold(i32::MIN, i32::max)
}

/// Portable [`matvec`].
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

/// Portable [`weighted_sum`].
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

/// Name of the kernel set in use on this machine.
pub fn active() -> &'static str {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if let Some(name) = crate::simd::name() {
        return name;
    }
    "portable"
}
