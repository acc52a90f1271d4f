//! The integer kernels the forward pass spends its time in: portable code
//! (`portable`, re-exported here); with the `simd` feature on
//! x86-64 hosts (`std`), AVX2 / AVX-512 versions (the private `simd`
//! module) are picked at run time; on aarch64, NEON versions (the private
//! `neon` module, `SDOT` where the CPU has it). Integer sums are exact, so
//! every version gives identical results.

pub use crate::pack::{pack, packed_len, PACK_COLS, PACK_ROWS};
pub use crate::portable::{
    dot_portable, exp_weights_portable, lookup_i8_portable, matvec_portable, norm_scale_portable,
    requantize_rows_portable, rope_row_portable, shares_portable, softmax_weights_portable,
    sum_squares_portable, weighted_sum_portable,
};

/// Environment variable that caps the kernel set (read once, on the first
/// kernel call; `std` builds): on x86-64 `portable` or `avx2` (the AVX2
/// kernels even where AVX-512 exists), on aarch64 `neon` (NEON without
/// `SDOT`, where `SDOT` is detected at run time). Unset, empty or
/// unknown: the best set the CPU has. A set the CPU lacks is never used;
/// [`active`] names the one in use. Every set
/// gives the same bytes, so this only changes speed: it lets one machine
/// measure and test the paths of others.
pub const FORCE_VAR: &str = "MODEL_INT8_KERNELS";

/// `out[r] = sum_c w[r * cols + c] * x[c]` with `cols = x.len()` and
/// `rows = out.len()`. `w` never holds `-128` (weights and keys are
/// symmetric int8), which the SIMD versions rely on.
#[inline]
pub fn matvec(w: &[i8], x: &[i8], out: &mut [i32]) {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::simd::matvec(w, x, out) {
        return;
    }
    #[cfg(all(feature = "simd", target_arch = "aarch64", target_feature = "neon"))]
    if crate::neon::matvec(w, x, out) {
        return;
    }
    #[cfg(model_int8_dsp)]
    if crate::dsp::matvec(w, x, out) {
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
    #[cfg(all(feature = "simd", target_arch = "aarch64", target_feature = "neon"))]
    if let Some(s) = crate::neon::weighted_sum(wts, v, stride, out) {
        return s;
    }
    #[cfg(model_int8_dsp)]
    if let Some(s) = crate::dsp::weighted_sum(wts, v, stride, out) {
        return s;
    }
    weighted_sum_portable(wts, v, stride, out)
}

/// Attention weights from scores, in place: `s = min(32767, exp[u & 255]
/// >> ((u >> 8) + 15))` with `u = requantize(max - s, mult, shift)` (the
/// stored table: entry `j` is `2^30 * 2^(-j/256)`), so the largest score gets
/// `32767` and the others `2^15 * 2^(-u/256)`. `max` is the largest score
/// (the SIMD versions rely on `max >= s`), and the table's entries are at
/// most `2^30`, as the model file guarantees.
#[inline]
pub fn softmax_weights(scores: &mut [i32], max: i32, mult: i32, shift: i32, exp: &[u32; 256]) {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::simd::softmax_weights(scores, max, mult, shift, exp) {
        return;
    }
    #[cfg(all(feature = "simd", target_arch = "aarch64", target_feature = "neon"))]
    if crate::neon::softmax_weights(scores, max, mult, shift, exp) {
        return;
    }
    #[cfg(model_int8_dsp)]
    if crate::dsp::softmax_weights(scores, max, mult, shift, exp) {
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
    #[cfg(all(feature = "simd", target_arch = "aarch64", target_feature = "neon"))]
    if crate::neon::requantize_rows(acc, rq) {
        return;
    }
    #[cfg(model_int8_dsp)]
    if crate::dsp::requantize_rows(acc, rq) {
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
    #[cfg(all(feature = "simd", target_arch = "aarch64", target_feature = "neon"))]
    if let Some(m) = crate::neon::max_i32(x) {
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
    #[cfg(all(feature = "simd", target_arch = "aarch64", target_feature = "neon"))]
    if let Some(name) = crate::neon::name() {
        return name;
    }
    if cfg!(model_int8_dsp) {
        return "arm-dsp";
    }
    "portable"
}

/// `out[i * rows + r] = sum_c w[r * cols + c] * x[i * cols + c]` for every
/// sequence `i < x.len() / cols`, with `rows = w.len() / cols`: one
/// [`matvec`] per sequence, reading the weights once for all of them where
/// a kernel for packed weights (`packed`, from [`pack`]) exists. Equal to
/// [`matvec`] row for row.
#[inline]
pub fn matmul(w: &[i8], packed: &[i8], x: &[i8], cols: usize, out: &mut [i32]) {
    let rows = w.len() / cols.max(1);
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::gemm::matmul(packed, rows, cols, x, out, None) {
        return;
    }
    let _ = packed;
    for (xi, oi) in x.chunks_exact(cols).zip(out.chunks_exact_mut(rows)) {
        matvec(w, xi, oi);
    }
}

/// [`matmul`] then [`requantize_rows`] of every sequence's rows with `rq`
/// (the file's little-endian `[bias, mult, shift]` rows); `split` holds the
/// same constants as `[bias; rows] [mult; rows] [shift; rows]` for kernels
/// that fuse the two steps.
#[inline]
pub fn matmul_requantize(
    w: &[i8],
    packed: &[i8],
    rq: &[u8],
    split: &[i32],
    x: &[i8],
    cols: usize,
    out: &mut [i32],
) {
    let rows = w.len() / cols.max(1);
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::gemm::matmul(packed, rows, cols, x, out, Some(split)) {
        return;
    }
    let _ = split;
    matmul(w, packed, x, cols, out);
    for o in out.chunks_exact_mut(rows.max(1)) {
        requantize_rows(o, rq);
    }
}

/// The scaling step of the integer norms: `out[j] = sym_i8(sign(c) *
/// min(127, round(|c| * k_j * inv / 2^73)))` with `c = h[j] - mean` and
/// `k_j` the little-endian `i32`s of `ks`. Callers keep `|c| <= 2^24` and
/// `0 <= k_j <= 2^24` (the residual limit and the model file's checked
/// norm constants), which the SIMD versions rely on.
#[inline]
pub fn norm_scale(h: &[i32], mean: i64, ks: &[u8], inv: u64, out: &mut [i8]) {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::simd::norm_scale(h, mean, ks, inv, out) {
        return;
    }
    norm_scale_portable(h, mean, ks, inv, out)
}

/// `out[j] = lut[sym_i8(pre[j]) + 128]`: a 256-entry table on the int8
/// value of each input (the activation function).
#[inline]
pub fn lookup_i8(pre: &[i32], lut: &[i8; 256], out: &mut [i8]) {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::simd::lookup_i8(pre, lut, out) {
        return;
    }
    lookup_i8_portable(pre, lut, out)
}

/// `RoPE` (NeoX half split) of each head of `x` (head width `hd`) with
/// one row of the model's table (`[cos; hd / 2] [sin; hd / 2]`, `i16` Q14,
/// little-endian), values at 1/256 of their int8 step, rounded once to
/// int8.
#[inline]
pub fn rope_row(x: &[i32], hd: usize, row: &[u8], out: &mut [i8]) {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if crate::simd::rope_row(x, hd, row, out) {
        return;
    }
    rope_row_portable(x, hd, row, out)
}

/// The output head's exponentials: `out[i] = 2^30 * 2^(-(max - l_i) / 256)`
/// from the stored table (`exp[u & 255] >> (u >> 8)`, 0 past 31 halvings)
/// for logits `l_i <= max` within `±2^24`; returns their sum.
#[inline]
pub fn exp_weights(logits: &[i32], max: i32, exp: &[u32; 256], out: &mut [u32]) -> u64 {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if let Some(s) = crate::simd::exp_weights(logits, max, exp, out) {
        return s;
    }
    exp_weights_portable(logits, max, exp, out)
}

/// Each `e` (below `2^31`) to its share of the table, `1 + (e * recip) >>
/// 32` (`recip < 2^32`), in place; returns their sum.
#[inline]
pub fn shares(e: &mut [u32], recip: u64) -> u64 {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if let Some(s) = crate::simd::shares(e, recip) {
        return s;
    }
    shares_portable(e, recip)
}

/// `sum (h_j - mean)^2` (the norms' variance numerator); callers keep
/// `|h_j - mean| <= 2^24` (the residual limit), which the SIMD versions
/// rely on.
#[inline]
pub fn sum_squares(h: &[i32], mean: i64) -> u64 {
    #[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
    if let Some(s) = crate::simd::sum_squares(h, mean) {
        return s;
    }
    sum_squares_portable(h, mean)
}
