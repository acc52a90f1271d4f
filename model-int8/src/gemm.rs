//! Matrix products for many sequences at once ([`crate::kernels::matmul`])
//! on x86-64 (`simd` + `std`): AVX-512 VNNI or AVX2, picked as in
//! [`crate::simd`], over weights packed in blocks of 16 rows by 4 columns
//! ([`crate::pack::pack`]) so that one load of 64 bytes feeds every
//! sequence of the batch. Exact integer sums, so the results equal the
//! portable `matvec` row by row.
//!
//! Per block, each sequence keeps its 16 row sums in one register and adds
//! the products of the block's 4 columns with its 4 inputs broadcast: VNNI
//! multiplies `w + 128` (unsigned, `w` never holds `-128`) by `x` and
//! subtracts `128 * sum x` per sequence (as `simd::matvec_vnni`); AVX2
//! multiplies `|x|` by `w * sign(x)` with `maddubs` (no saturation: `|w|
//! <= 127`), as `simd::dot32`.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::pack::{PACK_COLS, PACK_ROWS};
use crate::simd::{level, vnni256, AVX2, VNNI, VNNI256_EVEX, VNNI256_VEX};

/// Sequences that share one pass over a block of weights.
const TILE: usize = 8;

/// [`crate::kernels::matmul`] on packed weights, followed, with `rq`
/// (`[bias; rows]`, `[mult; rows]`, `[shift; rows]`, `mult >= 0`), by
/// [`crate::kernels::requantize_rows`] of every sequence's rows (fused into
/// the kernels); `false` when not handled here (no AVX2, or `cols` not a
/// multiple of 4).
pub fn matmul(
    packed: &[i8],
    rows: usize,
    cols: usize,
    x: &[i8],
    out: &mut [i32],
    rq: Option<&[i32]>,
) -> bool {
    let l = level();
    if l < AVX2 || cols == 0 || !cols.is_multiple_of(PACK_COLS) {
        return false;
    }
    if rq.is_some_and(|r| r.len() < 3 * rows) {
        return false;
    }
    let n = x.len() / cols;
    let blocks = rows.div_ceil(PACK_ROWS);
    if packed.len() < blocks * PACK_ROWS * cols || out.len() < n * rows || x.len() < n * cols {
        return false;
    }
    // SAFETY: the features are present (`level`); the kernels read
    // `packed[..blocks * 16 * cols]`, `x[..n * cols]` and write
    // `out[..n * rows]`, all checked above.
    unsafe {
        match (l, vnni256()) {
            (VNNI, _) => matmul_vnni(packed, rows, cols, x, n, out, rq),
            (_, VNNI256_VEX) => matmul_avx2(packed, rows, cols, x, n, out, rq, Dot::AvxVnni),
            (_, VNNI256_EVEX) => matmul_avx2(packed, rows, cols, x, n, out, rq, Dot::Vnni256),
            _ => matmul_avx2(packed, rows, cols, x, n, out, rq, Dot::Maddubs),
        }
    }
    true
}

/// Runs `$f::<N>` for the `N` (1 ..= 8) that is `$m`.
macro_rules! by_tile {
    ($m:expr, $f:ident, $($a:expr),*) => {
        match $m {
            1 => $f::<1>($($a),*),
            2 => $f::<2>($($a),*),
            3 => $f::<3>($($a),*),
            4 => $f::<4>($($a),*),
            5 => $f::<5>($($a),*),
            6 => $f::<6>($($a),*),
            7 => $f::<7>($($a),*),
            _ => $f::<8>($($a),*),
        }
    };
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn matmul_vnni(
    p: &[i8],
    rows: usize,
    cols: usize,
    x: &[i8],
    n: usize,
    out: &mut [i32],
    rq: Option<&[i32]>,
) {
    // At most MAX_SEQS sequences per pass, for the offsets' array.
    const MAX_SEQS: usize = 64;
    if n > MAX_SEQS {
        let (x0, x1) = x.split_at(MAX_SEQS * cols);
        let (o0, o1) = out.split_at_mut(MAX_SEQS * rows);
        // SAFETY: as for the whole (the features, and the lengths split).
        unsafe {
            matmul_vnni(p, rows, cols, x0, MAX_SEQS, o0, rq);
            matmul_vnni(p, rows, cols, x1, n - MAX_SEQS, o1, rq);
        }
        return;
    }
    let mut off = [0i32; MAX_SEQS];
    for (o, xi) in off.iter_mut().zip(x.chunks_exact(cols)) {
        *o = 128 * xi.iter().map(|&v| v as i32).sum::<i32>();
    }
    for b in 0..rows.div_ceil(PACK_ROWS) {
        // SAFETY: block b is p[b * 16 * cols ..][.. 16 * cols].
        let wp = unsafe { p.as_ptr().add(b * PACK_ROWS * cols) };
        let r0 = b * PACK_ROWS;
        let valid = (rows - r0).min(PACK_ROWS);
        let mask: __mmask16 = if valid >= 16 { !0 } else { (1u16 << valid) - 1 };
        // SAFETY: rq holds 3 * rows constants (checked by the caller);
        // masked loads read rows r0 .. r0 + valid only.
        let c = rq.map(|r| unsafe { Rq16::load(r, rows, r0, mask) });
        let mut i = 0;
        while i < n {
            let m = (n - i).min(TILE);
            // SAFETY: sequences i .. i + m of x and out exist (n checked
            // by the caller); rows r0 .. r0 + valid of each exist.
            unsafe {
                let xp = x.as_ptr().add(i * cols);
                let op = out.as_mut_ptr().add(i * rows + r0);
                by_tile!(
                    m,
                    block_vnni,
                    wp,
                    cols,
                    xp,
                    op,
                    rows,
                    mask,
                    &off[i..],
                    c.as_ref()
                )
            }
            i += m;
        }
    }
}

/// One block of 16 rows for `N` sequences: `x` at the first sequence's
/// inputs (stride `cols`), `out` at its first row of the block (stride
/// `rows`).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn block_vnni<const N: usize>(
    wp: *const i8,
    cols: usize,
    x: *const i8,
    out: *mut i32,
    rows: usize,
    mask: __mmask16,
    off: &[i32],
    rq: Option<&Rq16>,
) {
    let flip = _mm512_set1_epi8(-128);
    let mut acc = [_mm512_setzero_si512(); N];
    let mut g = 0;
    while g < cols {
        // SAFETY: (caller) the block holds 16 * cols bytes; each sequence
        // holds cols inputs, read 4 at a time at g < cols.
        let w = _mm512_xor_si512(
            unsafe { _mm512_loadu_si512(wp.add(g * PACK_ROWS) as *const _) },
            flip,
        );
        for (k, a) in acc.iter_mut().enumerate() {
            let xv = unsafe { (x.add(k * cols + g) as *const i32).read_unaligned() };
            *a = _mm512_dpbusd_epi32(*a, w, _mm512_set1_epi32(xv));
        }
        g += PACK_COLS;
    }
    for (k, a) in acc.iter().enumerate() {
        let s = _mm512_sub_epi32(*a, _mm512_set1_epi32(off[k]));
        let s = match rq {
            Some(c) => c.apply(s),
            None => s,
        };
        // SAFETY: (caller) out[k * rows ..][.. valid] exists; masked-out
        // lanes are not written.
        unsafe { _mm512_mask_storeu_epi32(out.add(k * rows), mask, s) };
    }
}

/// The requantization constants of one block of 16 rows, with what the
/// per-element step needs of them worked out once for every sequence.
struct Rq16 {
    bias: __m512i,
    /// Even lanes' multipliers (the low halves of the 64-bit lanes).
    mult: __m512i,
    /// Odd lanes' multipliers, moved to the low halves.
    mult_odd: __m512i,
    /// Left shifts, `max(shift, 0)`.
    ls: __m512i,
    /// `2^31 >> ls`, the largest `|z|` a left shift keeps.
    limit: __m512i,
    /// Right shifts, `max(-shift, 0)`, and their rounding halves.
    rs: __m512i,
    half: __m512i,
}

impl Rq16 {
    /// Rows `r0 ..` of `rq` (`[bias; rows] [mult; rows] [shift; rows]`)
    /// where `mask` is set (others 0).
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
    unsafe fn load(rq: &[i32], rows: usize, r0: usize, mask: __mmask16) -> Self {
        let p = rq.as_ptr();
        // SAFETY: (caller) rows r0 .. r0 + popcount(mask) of each field.
        let (bias, mult, shift) = unsafe {
            (
                _mm512_maskz_loadu_epi32(mask, p.add(r0)),
                _mm512_maskz_loadu_epi32(mask, p.add(rows + r0)),
                _mm512_maskz_loadu_epi32(mask, p.add(2 * rows + r0)),
            )
        };
        let zero = _mm512_setzero_si512();
        let ls = _mm512_max_epi32(shift, zero);
        let rs = _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero);
        let one = _mm512_set1_epi32(1);
        Rq16 {
            bias,
            mult,
            mult_odd: _mm512_srli_epi64::<32>(mult),
            ls,
            limit: _mm512_srlv_epi32(_mm512_set1_epi32(i32::MIN), ls),
            rs,
            half: _mm512_srlv_epi32(_mm512_sllv_epi32(one, rs), one),
        }
    }

    /// `requantize(a + bias, mult, shift)` per lane, the addition
    /// saturating: `simd::requantize_rows_avx2`'s steps on 16 lanes (`|z|`
    /// shifted left with saturation, `(|z| m + 2^30 - [z < 0]) >> 31`, the
    /// rounding right shift, the sign).
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
    unsafe fn apply(&self, a: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512();
        let imax = _mm512_set1_epi32(i32::MAX);
        let sum = _mm512_add_epi32(a, self.bias);
        let ovf = _mm512_and_si512(_mm512_xor_si512(sum, a), _mm512_xor_si512(sum, self.bias));
        let sat = _mm512_xor_si512(_mm512_srai_epi32::<31>(a), imax);
        let z = _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(ovf, zero), sum, sat);
        let neg = _mm512_srai_epi32::<31>(z);
        let az = _mm512_abs_epi32(z);
        // |z| << ls saturates past 2^31 - 1 (z >= 0) or 2^31 (z < 0).
        let limit = _mm512_add_epi32(self.limit, _mm512_xor_si512(neg, _mm512_set1_epi32(-1)));
        let over = _mm512_cmpgt_epu32_mask(az, limit);
        let az = _mm512_mask_blend_epi32(
            over,
            _mm512_sllv_epi32(az, self.ls),
            _mm512_sub_epi32(imax, neg),
        );
        let nudge = _mm512_add_epi32(_mm512_set1_epi32(1 << 30), neg);
        let lo32 = _mm512_set1_epi64(0xffff_ffff);
        let pe = _mm512_add_epi64(
            _mm512_mul_epu32(az, self.mult),
            _mm512_and_si512(nudge, lo32),
        );
        let po = _mm512_add_epi64(
            _mm512_mul_epu32(_mm512_srli_epi64::<32>(az), self.mult_odd),
            _mm512_srli_epi64::<32>(nudge),
        );
        let ye = _mm512_srli_epi64::<31>(pe);
        let yo = _mm512_slli_epi64::<32>(_mm512_srli_epi64::<31>(po));
        let y = _mm512_mask_blend_epi32(0xaaaa, ye, yo);
        let q = _mm512_srlv_epi32(_mm512_add_epi32(y, self.half), self.rs);
        _mm512_sub_epi32(_mm512_xor_si512(q, neg), neg)
    }
}

/// Sequences that share one pass over a block in the AVX2 kernel: each
/// keeps two accumulators (16 rows), and 4 of them with the block's two
/// weight registers and the temporaries fill the 16 `ymm` registers.
const TILE_AVX2: usize = 4;

/// How the 256-bit kernel multiplies a block's bytes: `maddubs` (AVX2),
/// or `vpdpbusd` in its VEX (AVX-VNNI) or EVEX (AVX-512 VNNI + VL) form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dot {
    Maddubs,
    AvxVnni,
    Vnni256,
}

/// The 256-bit matrix product: AVX2, with `vpdpbusd` where `dot` says the
/// CPU has it (the caller checks).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2")]
unsafe fn matmul_avx2(
    p: &[i8],
    rows: usize,
    cols: usize,
    x: &[i8],
    n: usize,
    out: &mut [i32],
    rq: Option<&[i32]>,
    dot: Dot,
) {
    if dot != Dot::Maddubs && n > TILE_AVX2 {
        // The VNNI forms keep one offset per sequence of a pass.
        let (x0, x1) = x.split_at(TILE_AVX2 * cols);
        let (o0, o1) = out.split_at_mut(TILE_AVX2 * rows);
        // SAFETY: as for the whole.
        unsafe {
            matmul_avx2(p, rows, cols, x0, TILE_AVX2, o0, rq, dot);
            matmul_avx2(p, rows, cols, x1, n - TILE_AVX2, o1, rq, dot);
        }
        return;
    }
    let mut off = [0i32; TILE_AVX2];
    if dot != Dot::Maddubs {
        for (o, xi) in off.iter_mut().zip(x.chunks_exact(cols)) {
            *o = 128 * xi.iter().map(|&v| v as i32).sum::<i32>();
        }
    }
    for b in 0..rows.div_ceil(PACK_ROWS) {
        let r0 = b * PACK_ROWS;
        let valid = (rows - r0).min(PACK_ROWS);
        // SAFETY: rq holds 3 * rows constants (checked by the caller);
        // rows r0 .. r0 + valid of each field are read.
        let c = rq.map(|r| unsafe {
            [
                Rq8::split(r, rows, r0, valid),
                Rq8::split(r, rows, r0 + 8, valid.saturating_sub(8)),
            ]
        });
        // SAFETY: block b is p[b * 16 * cols ..][.. 16 * cols].
        let wp = unsafe { p.as_ptr().add(b * PACK_ROWS * cols) };
        let mut i = 0;
        while i < n {
            let m = (n - i).min(TILE_AVX2);
            // SAFETY: sequences i .. i + m of x and out exist (n checked
            // by the caller); rows r0 .. r0 + valid of each exist.
            unsafe {
                let xp = x.as_ptr().add(i * cols);
                let op = out.as_mut_ptr().add(i * rows + r0);
                let c = c.as_ref();
                let acc = match (dot, m) {
                    (Dot::Maddubs, 1) => block_avx2::<1>(wp, cols, xp),
                    (Dot::Maddubs, 2) => block_avx2::<2>(wp, cols, xp),
                    (Dot::Maddubs, 3) => block_avx2::<3>(wp, cols, xp),
                    (Dot::Maddubs, _) => block_avx2::<4>(wp, cols, xp),
                    (Dot::AvxVnni, 1) => block_avxvnni::<1>(wp, cols, xp, &off),
                    (Dot::AvxVnni, 2) => block_avxvnni::<2>(wp, cols, xp, &off),
                    (Dot::AvxVnni, 3) => block_avxvnni::<3>(wp, cols, xp, &off),
                    (Dot::AvxVnni, _) => block_avxvnni::<4>(wp, cols, xp, &off),
                    (Dot::Vnni256, 1) => block_vnni256::<1>(wp, cols, xp, &off),
                    (Dot::Vnni256, 2) => block_vnni256::<2>(wp, cols, xp, &off),
                    (Dot::Vnni256, 3) => block_vnni256::<3>(wp, cols, xp, &off),
                    (Dot::Vnni256, _) => block_vnni256::<4>(wp, cols, xp, &off),
                };
                store_avx2(&acc[..m], op, rows, valid, c);
            }
            i += m;
        }
    }
}

/// Row sums of one block (rows 0-7, rows 8-15) for each of up to
/// [`TILE_AVX2`] sequences.
type Acc2 = [[__m256i; 2]; TILE_AVX2];

/// One block of 16 rows for `N` sequences, as [`block_vnni`]: per group
/// of 4 columns, the block's 64 weight bytes (rows 0-7 in the first 32,
/// 8-15 in the second) meet each sequence's 4 inputs broadcast, `|x|`
/// computed once for both halves. `x` is the first sequence's inputs
/// (stride `cols`).
#[target_feature(enable = "avx2")]
unsafe fn block_avx2<const N: usize>(wp: *const i8, cols: usize, x: *const i8) -> Acc2 {
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); 2]; TILE_AVX2];
    let mut g = 0;
    while g < cols {
        // SAFETY: (caller) the block holds 16 * cols bytes; each sequence
        // holds cols inputs, read 4 at a time at g < cols.
        let (w0, w1) = unsafe {
            let q = wp.add(g * PACK_ROWS) as *const __m256i;
            (_mm256_loadu_si256(q), _mm256_loadu_si256(q.add(1)))
        };
        for (k, a) in acc.iter_mut().enumerate().take(N) {
            let xv = unsafe { (x.add(k * cols + g) as *const i32).read_unaligned() };
            let xb = _mm256_set1_epi32(xv);
            let xa = _mm256_abs_epi8(xb);
            let p0 = _mm256_maddubs_epi16(xa, _mm256_sign_epi8(w0, xb));
            let p1 = _mm256_maddubs_epi16(xa, _mm256_sign_epi8(w1, xb));
            a[0] = _mm256_add_epi32(a[0], _mm256_madd_epi16(p0, ones));
            a[1] = _mm256_add_epi32(a[1], _mm256_madd_epi16(p1, ones));
        }
        g += PACK_COLS;
    }
    acc
}

/// [`block_avx2`] with `vpdpbusd` on `w + 128` (unsigned) and `x`, minus
/// `off[k] = 128 * sum x` per sequence, as [`block_vnni`] on 256 bits; one
/// body for the VEX (AVX-VNNI) and EVEX (AVX-512 VNNI + VL) encodings.
macro_rules! block_dpbusd {
    ($name:ident, $features:literal, $dp:ident) => {
        #[target_feature(enable = $features)]
        unsafe fn $name<const N: usize>(
            wp: *const i8,
            cols: usize,
            x: *const i8,
            off: &[i32; TILE_AVX2],
        ) -> Acc2 {
            let flip = _mm256_set1_epi8(-128);
            let mut acc = [[_mm256_setzero_si256(); 2]; TILE_AVX2];
            let mut g = 0;
            while g < cols {
                // SAFETY: as in block_avx2.
                let (w0, w1) = unsafe {
                    let q = wp.add(g * PACK_ROWS) as *const __m256i;
                    (
                        _mm256_xor_si256(_mm256_loadu_si256(q), flip),
                        _mm256_xor_si256(_mm256_loadu_si256(q.add(1)), flip),
                    )
                };
                for (k, a) in acc.iter_mut().enumerate().take(N) {
                    let xv = unsafe { (x.add(k * cols + g) as *const i32).read_unaligned() };
                    let xb = _mm256_set1_epi32(xv);
                    a[0] = $dp(a[0], w0, xb);
                    a[1] = $dp(a[1], w1, xb);
                }
                g += PACK_COLS;
            }
            for (a, &o) in acc.iter_mut().zip(off).take(N) {
                let o = _mm256_set1_epi32(o);
                a[0] = _mm256_sub_epi32(a[0], o);
                a[1] = _mm256_sub_epi32(a[1], o);
            }
            acc
        }
    };
}
block_dpbusd!(block_avxvnni, "avx2,avxvnni", _mm256_dpbusd_avx_epi32);
block_dpbusd!(
    block_vnni256,
    "avx2,avx512f,avx512vl,avx512vnni",
    _mm256_dpbusd_epi32
);

/// Writes each sequence's 16 (or `valid`) row sums of a block, requantized
/// with `rq` if given: `out` at the first sequence's first row of the
/// block (stride `rows`).
#[target_feature(enable = "avx2")]
unsafe fn store_avx2(
    acc: &[[__m256i; 2]],
    out: *mut i32,
    rows: usize,
    valid: usize,
    rq: Option<&[Rq8; 2]>,
) {
    for (k, a) in acc.iter().enumerate() {
        let (a, b) = match rq {
            Some([c0, c1]) => (c0.apply(a[0]), c1.apply(a[1])),
            None => (a[0], a[1]),
        };
        // SAFETY: (caller) out[k * rows ..][.. valid] exists.
        unsafe {
            let o = out.add(k * rows);
            if valid == PACK_ROWS {
                _mm256_storeu_si256(o as *mut __m256i, a);
                _mm256_storeu_si256(o.add(8) as *mut __m256i, b);
            } else {
                let mut s = [0i32; 16];
                _mm256_storeu_si256(s.as_mut_ptr() as *mut __m256i, a);
                _mm256_storeu_si256(s.as_mut_ptr().add(8) as *mut __m256i, b);
                core::ptr::copy_nonoverlapping(s.as_ptr(), o, valid);
            }
        }
    }
}

/// The requantization constants of 8 rows, with what the per-element step
/// needs of them worked out once (for every sequence of a block, or for
/// one call of [`crate::kernels::requantize_rows`]).
pub(crate) struct Rq8 {
    bias: __m256i,
    mult: __m256i,
    /// Odd lanes' multipliers, moved to the low halves.
    mult_odd: __m256i,
    /// Left shifts, `max(shift, 0)`, and `2^31 >> ls`, the largest `|z|`
    /// a left shift keeps.
    ls: __m256i,
    limit: __m256i,
    /// Right shifts, `max(-shift, 0)`, and their rounding halves.
    rs: __m256i,
    half: __m256i,
}

impl Rq8 {
    /// From the fields (`mult >= 0`).
    #[target_feature(enable = "avx2")]
    pub(crate) fn new(bias: __m256i, mult: __m256i, shift: __m256i) -> Self {
        let zero = _mm256_setzero_si256();
        let one = _mm256_set1_epi32(1);
        let ls = _mm256_max_epi32(shift, zero);
        let rs = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
        Rq8 {
            bias,
            mult,
            mult_odd: _mm256_srli_epi64::<32>(mult),
            ls,
            limit: _mm256_srlv_epi32(_mm256_set1_epi32(i32::MIN), ls),
            rs,
            half: _mm256_srlv_epi32(_mm256_sllv_epi32(one, rs), one),
        }
    }

    /// Rows `r0 .. r0 + valid` (at most 8; the others 0) of `rq` split by
    /// field (`[bias; rows] [mult; rows] [shift; rows]`).
    #[target_feature(enable = "avx2")]
    unsafe fn split(rq: &[i32], rows: usize, r0: usize, valid: usize) -> Self {
        let mut f = [[0i32; 8]; 3];
        let n = valid.min(8);
        if n > 0 {
            for (k, f) in f.iter_mut().enumerate() {
                f[..n].copy_from_slice(&rq[k * rows + r0..][..n]);
            }
        }
        let v = |a: &[i32; 8]| unsafe { _mm256_loadu_si256(a.as_ptr() as *const __m256i) };
        Self::new(v(&f[0]), v(&f[1]), v(&f[2]))
    }

    /// `requantize(a + bias, mult, shift)` per lane, the addition
    /// saturating. With `m >= 0` the sign of the result is the sign of
    /// `z`, and TFLite's two roundings become, on `|z|`:
    /// `y = (|z| m + 2^30 - [z < 0]) >> 31`, then `(y + 2^(e-1)) >> e`,
    /// then the sign; a left shift saturates `|z|` first.
    #[target_feature(enable = "avx2")]
    pub(crate) fn apply(&self, a: __m256i) -> __m256i {
        let imax = _mm256_set1_epi32(i32::MAX);
        let sum = _mm256_add_epi32(a, self.bias);
        let ovf = _mm256_and_si256(_mm256_xor_si256(sum, a), _mm256_xor_si256(sum, self.bias));
        let sat = _mm256_xor_si256(_mm256_srai_epi32::<31>(a), imax);
        let z = _mm256_blendv_epi8(sum, sat, _mm256_srai_epi32::<31>(ovf));
        let neg = _mm256_srai_epi32::<31>(z);
        let az = _mm256_abs_epi32(z);
        // |z| << ls saturates past 2^31 - 1 (z >= 0) or 2^31 (z < 0),
        // compared as unsigned.
        let limit = _mm256_add_epi32(self.limit, _mm256_xor_si256(neg, _mm256_set1_epi32(-1)));
        let flip = _mm256_set1_epi32(i32::MIN);
        let over = _mm256_cmpgt_epi32(_mm256_xor_si256(az, flip), _mm256_xor_si256(limit, flip));
        let az = _mm256_blendv_epi8(
            _mm256_sllv_epi32(az, self.ls),
            _mm256_sub_epi32(imax, neg),
            over,
        );
        // 2^30 - [z < 0], zero-extended to 64 bits per even / odd lane.
        let nudge = _mm256_add_epi32(_mm256_set1_epi32(1 << 30), neg);
        let lo32 = _mm256_set1_epi64x(0xffff_ffff);
        let pe = _mm256_add_epi64(
            _mm256_mul_epu32(az, self.mult),
            _mm256_and_si256(nudge, lo32),
        );
        let po = _mm256_add_epi64(
            _mm256_mul_epu32(_mm256_srli_epi64::<32>(az), self.mult_odd),
            _mm256_srli_epi64::<32>(nudge),
        );
        let ye = _mm256_srli_epi64::<31>(pe);
        let yo = _mm256_slli_epi64::<32>(_mm256_srli_epi64::<31>(po));
        let y = _mm256_blend_epi32::<0b1010_1010>(ye, yo);
        let q = _mm256_srlv_epi32(_mm256_add_epi32(y, self.half), self.rs);
        _mm256_sub_epi32(_mm256_xor_si256(q, neg), neg)
    }
}

/// Int8 multiply-accumulates per second one core does from registers
/// alone (`vpdpbusd` on 12 independent 512-bit accumulators, or the AVX2
/// `maddubs` sequence the kernels use): the ceiling the kernels are
/// measured against. `None` without AVX2.
pub fn peak_macs_per_sec() -> Option<f64> {
    let l = level();
    if l < AVX2 {
        return None;
    }
    const ITERS: u64 = 20_000_000;
    // The best of seven runs of wall time (a thread's CPU-time counter is
    // too coarse for runs this short): other work on the machine only
    // slows a run down.
    let mut best = 0f64;
    for _ in 0..7 {
        let start = std::time::Instant::now();
        // SAFETY: the features are present (`level`).
        let (sink, macs_per_iter) = unsafe {
            if l == VNNI {
                (peak_vnni(ITERS), 12 * 64)
            } else {
                (peak_avx2(ITERS), 8 * 32)
            }
        };
        let secs = start.elapsed().as_secs_f64();
        core::hint::black_box(sink);
        best = best.max((ITERS * macs_per_iter) as f64 / secs.max(1e-9));
    }
    Some(best)
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn peak_vnni(iters: u64) -> i32 {
    let a = _mm512_set1_epi8(3);
    let b = core::hint::black_box(_mm512_set1_epi8(5));
    let mut acc = [_mm512_setzero_si512(); 12];
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = _mm512_dpbusd_epi32(*v, a, b);
        }
    }
    acc.iter()
        .map(|&v| _mm512_reduce_add_epi32(v))
        .fold(0, i32::wrapping_add)
}

#[target_feature(enable = "avx2")]
unsafe fn peak_avx2(iters: u64) -> i32 {
    // Eight distinct products an iteration (four `a` by two `b`), each
    // operand passed through an empty asm that "changes" it: otherwise the
    // products are loop-invariant, the compiler hoists them, and the loop
    // measures additions alone (the old probe's 646 GMAC/s on a Zen 2).
    let mut a = [0i8, 1, 2, 3].map(|k| core::hint::black_box(_mm256_set1_epi8(3 + k)));
    let mut b = [0i8, 1].map(|k| core::hint::black_box(_mm256_set1_epi8(5 + k)));
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_si256(); 8];
    for _ in 0..iters {
        // SAFETY: the asm does nothing.
        unsafe {
            core::arch::asm!(
                "/* {0} {1} {2} {3} {4} {5} */",
                inout(ymm_reg) a[0], inout(ymm_reg) a[1], inout(ymm_reg) a[2],
                inout(ymm_reg) a[3], inout(ymm_reg) b[0], inout(ymm_reg) b[1],
                options(pure, nomem, nostack)
            )
        };
        for (k, v) in acc.iter_mut().enumerate() {
            let p = _mm256_maddubs_epi16(a[k % 4], b[k / 4]);
            *v = _mm256_add_epi32(*v, _mm256_madd_epi16(p, ones));
        }
    }
    let mut s = [0i32; 8];
    for v in acc {
        let mut t = [0i32; 8];
        // SAFETY: `t` holds 8 i32.
        unsafe { _mm256_storeu_si256(t.as_mut_ptr() as *mut __m256i, v) };
        for (a, b) in s.iter_mut().zip(t) {
            *a = a.wrapping_add(b);
        }
    }
    s.iter().fold(0, |a, &b| a.wrapping_add(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::{pack, packed_len};
    use crate::portable::matvec_portable;
    use std::vec;
    use std::vec::Vec;

    /// The fused requantization against `fixed::requantize` (after a
    /// saturating bias add) on edge values of every field.
    #[test]
    fn fused_requantize_matches_portable() {
        if level() < AVX2 {
            return;
        }
        let edges = [
            i32::MIN,
            i32::MIN + 1,
            -(1 << 30),
            -65_536,
            -1,
            0,
            1,
            77,
            1 << 20,
            i32::MAX - 1,
            i32::MAX,
        ];
        let mults = [0, 1, 1 << 30, i32::MAX, 1_518_500_250];
        let shifts = [-31, -20, -8, -1, 0, 1, 5, 30];
        let mut cases = Vec::new();
        for &a in &edges {
            for &b in &[0, 1, -1, i32::MAX, i32::MIN, 12_345] {
                for &m in &mults {
                    for &sh in &shifts {
                        cases.push((a, b, m, sh));
                    }
                }
            }
        }
        for chunk in cases.chunks(16) {
            let mut rq = vec![0i32; 48];
            let mut acc = [0i32; 16];
            for (r, &(a, b, m, sh)) in chunk.iter().enumerate() {
                acc[r] = a;
                rq[r] = b;
                rq[16 + r] = m;
                rq[32 + r] = sh;
            }
            let mut got = [0i32; 16];
            // SAFETY: AVX2 present; rq holds 3 * 16.
            unsafe {
                for h in 0..2 {
                    let c = Rq8::split(&rq, 16, 8 * h, 8);
                    let v = c.apply(_mm256_loadu_si256(acc.as_ptr().add(8 * h) as *const _));
                    _mm256_storeu_si256(got.as_mut_ptr().add(8 * h) as *mut _, v);
                }
            }
            let check = |got: &[i32; 16], kernel: &str| {
                for (r, &(a, b, m, sh)) in chunk.iter().enumerate() {
                    let want = crate::fixed::requantize(a.saturating_add(b), m, sh);
                    assert_eq!(got[r], want, "{kernel}: a {a} bias {b} mult {m} shift {sh}");
                }
            };
            check(&got, "avx2");
            if level() == VNNI {
                // SAFETY: VNNI (so AVX-512 F/BW/VL) present; rq holds 3 * 16.
                unsafe {
                    let c = Rq16::load(&rq, 16, 0, !0);
                    let v = c.apply(_mm512_loadu_si512(acc.as_ptr() as *const _));
                    _mm512_storeu_si512(got.as_mut_ptr() as *mut _, v);
                }
                check(&got, "avx-512");
            }
        }
    }

    /// Both kernels (whichever the CPU has) against the portable
    /// definition, at awkward sizes.
    #[test]
    fn packed_kernels_agree() {
        let mut seed = 12345u64;
        let mut rnd = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for &(rows, cols) in &[
            (16, 4),
            (17, 8),
            (64, 64),
            (40, 36),
            (256, 1024),
            (3, 4),
            (9, 12),
            (24, 16),
        ] {
            for n in [1usize, 5, 8, 9, 16, 65] {
                let w: Vec<i8> = (0..rows * cols)
                    .map(|_| (rnd() % 255) as i8 as i32 as i8)
                    .map(|v| if v == -128 { 127 } else { v })
                    .collect();
                let x: Vec<i8> = (0..n * cols).map(|_| rnd() as u8 as i8).collect();
                let mut p = vec![0i8; packed_len(rows, cols)];
                pack(&w, rows, cols, &mut p);
                let mut want = vec![0i32; n * rows];
                for i in 0..n {
                    matvec_portable(
                        &w,
                        &x[i * cols..(i + 1) * cols],
                        &mut want[i * rows..(i + 1) * rows],
                    );
                }
                // Requantization constants: random biases, multipliers
                // and shifts of both signs, as the model file allows.
                let rq: Vec<i32> = (0..3 * rows)
                    .map(|k| match k / rows {
                        0 => rnd() as i32 >> (rnd() % 24),
                        1 => (rnd() >> 1) as i32,
                        _ => (rnd() % 40) as i32 - 31,
                    })
                    .collect();
                let mut want_rq = want.clone();
                for o in want_rq.chunks_exact_mut(rows) {
                    for (r, v) in o.iter_mut().enumerate() {
                        let z = v.saturating_add(rq[r]);
                        *v = crate::fixed::requantize(z, rq[rows + r], rq[2 * rows + r]);
                    }
                }
                let l = level();
                for (fused, want) in [(None, &want), (Some(&rq[..]), &want_rq)] {
                    let mut dots = vec![];
                    if l >= AVX2 {
                        dots.push(Dot::Maddubs);
                    }
                    if std::is_x86_feature_detected!("avxvnni") {
                        dots.push(Dot::AvxVnni);
                    }
                    if l == VNNI {
                        dots.push(Dot::Vnni256);
                    }
                    for dot in dots {
                        let mut got = vec![0i32; n * rows];
                        // SAFETY: the features `dot` needs are present;
                        // lengths as `matmul` checks.
                        unsafe { matmul_avx2(&p, rows, cols, &x, n, &mut got, fused, dot) };
                        let f = fused.is_some();
                        assert_eq!(&got, want, "{dot:?} {rows}x{cols} n {n} rq {f}");
                    }
                    if l == VNNI {
                        let mut got = vec![0i32; n * rows];
                        // SAFETY: VNNI present; lengths as `matmul` checks.
                        unsafe { matmul_vnni(&p, rows, cols, &x, n, &mut got, fused) };
                        assert_eq!(
                            &got,
                            want,
                            "vnni {rows}x{cols} n {n} rq {}",
                            fused.is_some()
                        );
                    }
                }
            }
        }
    }
}
