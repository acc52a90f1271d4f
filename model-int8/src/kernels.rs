//! The integer kernels the forward pass spends its time in: portable code
//! ([`crate::portable`], re-exported here); with the `simd` feature on
//! x86-64 hosts (`std`), AVX2 / AVX-512 versions (the private `simd`
//! module) are picked at run time. Integer sums are exact, so every version
//! gives identical results.

pub use crate::portable::{
    dot_portable, matvec_portable, requantize_rows_portable, softmax_weights_portable,
    weighted_sum_portable,
};

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

/// The largest element (`i32::MIN` for an empty slice).
#[inline]
pub fn max_i32(x: &[i32]) -> i32 {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if let Some(m) = crate::simd::max_i32(x) {
        return m;
    }
    x.iter().copied().fold(i32::MIN, i32::max)
}

/// Name of the kernel set in use on this machine.
pub fn active() -> &'static str {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if let Some(name) = crate::simd::name() {
        return name;
    }
    "portable"
}
