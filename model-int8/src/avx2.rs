//! AVX2 versions of the element-wise kernels of [`crate::kernels`] that
//! also have AVX-512 versions in `simd` (x86-64, `simd` + `std`
//! features): `norm_scale`, `sum_squares`, `rope_row`, `exp_weights`,
//! `shares` and `lookup_i8`. The dispatchers in `simd` call them at the
//! AVX2 level, and at the VNNI level where no AVX-512 version applies
//! (`lookup_i8` without VBMI). Each computes exactly what its portable
//! definition in [`crate::portable`] computes, the elements past the last
//! full vector by the portable function itself:
//!
//! - `sum_squares`: `c = h - mean` in 32-bit lanes and `c^2` as 64-bit
//!   products, summed with wrapping 64-bit adds (as the portable sum in
//!   release builds); relies on `|h - mean| < 2^31` (the contract keeps it
//!   within `2^24`, the dispatcher keeps `|mean| <= 2^24`).
//! - `norm_scale`: `t = |c| k` as a 64-bit product and the high half of
//!   `t * inv` from four 32 x 32-bit products, every partial sum below
//!   `2^64` for any `inv`; relies on `c = h - mean` fitting 32 bits and
//!   `0 <= k` (so `t < 2^62`), well inside the contract's `|c| <= 2^24`,
//!   `0 <= k <= 2^24`. The cap at 127 is a signed 64-bit compare, and the
//!   sign goes on after it (`vpsignd`: `m = 0` where `c = 0`).
//! - `rope_row`: 32-bit lanes as the AVX-512 version (`|a|, |b| <=
//!   32767`, `|cos|, |sin| <= 2^14`, checked at parse: no overflow); the
//!   saturating packs then a byte maximum give the clamp to `-127 ..=
//!   127`.
//! - `exp_weights`: wrapping 32-bit `max - l`, the table gathered by `u &
//!   255`, and `vpsrlvd` (0 for shifts of 32 or more) as the portable
//!   code; exact for any inputs.
//! - `shares`: `e * recip` as 64-bit products (`recip < 2^32`, checked by
//!   the dispatcher: no overflow), the sum taken over the 64-bit quotients
//!   plus one per element, so exact for any `e`.
//! - `lookup_i8`: the inputs narrowed to bytes with saturating packs and a
//!   byte maximum (exactly `sym_i8`), then looked up 32 at a time with
//!   `vpshufb` on the table's sixteen 16-byte rows (faster here than a
//!   gather from an `i32` copy of the table, see [`lookup_i8`]).
//!
//! The kernels are safe `target_feature` functions: they check their own
//! bounds, so their callers only have to make sure the CPU has AVX2.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

/// The sum of the four 64-bit lanes, wrapping.
#[inline]
#[target_feature(enable = "avx2")]
fn hsum_epi64(v: __m256i) -> u64 {
    let s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    (_mm_cvtsi128_si64(s) as u64).wrapping_add(_mm_extract_epi64::<1>(s) as u64)
}

/// Sixteen `i32` lanes in `-128 ..= 127` (two vectors, in order) to 16
/// bytes, in order.
#[inline]
#[target_feature(enable = "avx2")]
fn narrow16(a: __m256i, b: __m256i) -> __m128i {
    // [a0-3 b0-3 | a4-7 b4-7] as words, then as bytes (twice per lane);
    // the saturating packs are exact in range.
    let w = _mm256_packs_epi32(a, b);
    let v = _mm256_packs_epi16(w, w);
    let v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5));
    _mm256_castsi256_si128(v)
}

/// [`crate::kernels::sum_squares`], sixteen values at a time; `|h_j -
/// mean| < 2^31` (the contract keeps it within `2^24`).
#[target_feature(enable = "avx2")]
pub(crate) fn sum_squares(h: &[i32], mean: i32) -> u64 {
    let n = h.len();
    let p = h.as_ptr();
    let m = _mm256_set1_epi32(mean);
    // c^2 of the even and odd lanes as signed 32 x 32 -> 64-bit products.
    let sq = |c: __m256i| {
        let co = _mm256_srli_epi64::<32>(c);
        _mm256_add_epi64(_mm256_mul_epi32(c, c), _mm256_mul_epi32(co, co))
    };
    let (mut a0, mut a1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n = h.len().
        let (x0, x1) = unsafe {
            (
                _mm256_loadu_si256(p.add(i) as *const __m256i),
                _mm256_loadu_si256(p.add(i + 8) as *const __m256i),
            )
        };
        a0 = _mm256_add_epi64(a0, sq(_mm256_sub_epi32(x0, m)));
        a1 = _mm256_add_epi64(a1, sq(_mm256_sub_epi32(x1, m)));
        i += 16;
    }
    if i + 8 <= n {
        // SAFETY: i + 8 <= n = h.len().
        let x = unsafe { _mm256_loadu_si256(p.add(i) as *const __m256i) };
        a0 = _mm256_add_epi64(a0, sq(_mm256_sub_epi32(x, m)));
        i += 8;
    }
    hsum_epi64(_mm256_add_epi64(a0, a1))
        .wrapping_add(crate::portable::sum_squares_portable(&h[i..], mean as i64))
}

/// `min(127, (H + 2^8) >> 9)` per 64-bit lane, with `H` the high half of
/// `t * inv` (`t` the lane, below `2^62`; `inv = ih 2^32 + il`): with `t =
/// th 2^32 + tl`, `H = th ih + (tl ih >> 32) + (((tl ih) mod 2^32 + th il
/// + (tl il >> 32)) >> 32)`, every partial sum below `2^64`.
#[inline]
#[target_feature(enable = "avx2")]
fn scale_hi(t: __m256i, ih: __m256i, il: __m256i) -> __m256i {
    let lo32 = _mm256_set1_epi64x(0xffff_ffff);
    let cap = _mm256_set1_epi64x(127);
    // `vpmuludq` reads the low 32 bits of each lane: `t` there is `tl`.
    let th = _mm256_srli_epi64::<32>(t);
    let p2 = _mm256_mul_epu32(t, ih);
    let mid = _mm256_add_epi64(
        _mm256_add_epi64(_mm256_and_si256(p2, lo32), _mm256_mul_epu32(th, il)),
        _mm256_srli_epi64::<32>(_mm256_mul_epu32(t, il)),
    );
    let hi = _mm256_add_epi64(
        _mm256_add_epi64(_mm256_mul_epu32(th, ih), _mm256_srli_epi64::<32>(p2)),
        _mm256_srli_epi64::<32>(mid),
    );
    // H <= t < 2^62: the signed compare is exact.
    let m = _mm256_srli_epi64::<9>(_mm256_add_epi64(hi, _mm256_set1_epi64x(1 << 8)));
    _mm256_blendv_epi8(m, cap, _mm256_cmpgt_epi64(m, cap))
}

/// Eight values of [`norm_scale`]: the signed results in 32-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn norm8(x: __m256i, k: __m256i, vmean: __m256i, ih: __m256i, il: __m256i) -> __m256i {
    let c = _mm256_sub_epi32(x, vmean);
    let ac = _mm256_abs_epi32(c);
    // t = |c| k of the even lanes, then of the odd lanes moved down.
    let te = _mm256_mul_epu32(ac, k);
    let to = _mm256_mul_epu32(_mm256_srli_epi64::<32>(ac), _mm256_srli_epi64::<32>(k));
    let me = scale_hi(te, ih, il);
    let mo = scale_hi(to, ih, il);
    let m = _mm256_blend_epi32::<0b1010_1010>(me, _mm256_slli_epi64::<32>(mo));
    // sign(c) m; c = 0 gives t = 0 and m = 0, as `vpsignd` does.
    _mm256_sign_epi32(m, c)
}

/// [`crate::kernels::norm_scale`], sixteen values at a time; `|h_j -
/// mean| <= 2^24` and `0 <= k_j <= 2^24` (the contract), `mean` as `i32`.
#[target_feature(enable = "avx2")]
pub(crate) fn norm_scale(h: &[i32], mean: i32, ks: &[u8], inv: u64, out: &mut [i8]) {
    let n = out.len().min(h.len()).min(ks.len() / 4);
    let vmean = _mm256_set1_epi32(mean);
    let ih = _mm256_set1_epi64x((inv >> 32) as i64);
    let il = _mm256_set1_epi64x((inv & 0xffff_ffff) as i64);
    let (hp, kp, op) = (h.as_ptr(), ks.as_ptr(), out.as_mut_ptr());
    // SAFETY (all loads and stores): j + 8 (or 16) <= n, which is within
    // h, ks / 4 and out.
    let load = |j: usize| unsafe {
        (
            _mm256_loadu_si256(hp.add(j) as *const __m256i),
            _mm256_loadu_si256(kp.add(4 * j) as *const __m256i),
        )
    };
    let mut j = 0;
    while j + 16 <= n {
        let ((x0, k0), (x1, k1)) = (load(j), load(j + 8));
        let s0 = norm8(x0, k0, vmean, ih, il);
        let s1 = norm8(x1, k1, vmean, ih, il);
        // |s| <= 127: narrowing is exact.
        unsafe { _mm_storeu_si128(op.add(j) as *mut __m128i, narrow16(s0, s1)) };
        j += 16;
    }
    if j + 8 <= n {
        let (x, k) = load(j);
        let s = norm8(x, k, vmean, ih, il);
        // SAFETY: j + 8 <= n; 8 bytes.
        unsafe { _mm_storel_epi64(op.add(j) as *mut __m128i, narrow16(s, s)) };
        j += 8;
    }
    crate::portable::norm_scale_portable(&h[j..n], mean as i64, &ks[4 * j..], inv, &mut out[j..n]);
}

/// [`crate::kernels::rope_row`], eight pairs at a time (every x86-64
/// level from AVX2 up runs it); heads whose half width is not a multiple of 8, or a row
/// shorter than `2 hd` bytes, go to the portable function.
#[target_feature(enable = "avx2")]
pub(crate) fn rope_row(x: &[i32], hd: usize, row: &[u8], out: &mut [i8]) {
    const SHIFT: i32 = crate::format::ROPE_BITS as i32 + 8;
    let half = hd / 2;
    if half == 0 || !half.is_multiple_of(8) || row.len() < 2 * hd {
        return crate::portable::rope_row_portable(x, hd, row, out);
    }
    let n = x.len().min(out.len()) / hd * hd;
    let round = _mm256_set1_epi32(1 << (SHIFT - 1));
    let (lo, hi) = (_mm256_set1_epi32(-32767), _mm256_set1_epi32(32767));
    let lo8 = _mm256_set1_epi8(-127);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let (rp, xp, op) = (row.as_ptr(), x.as_ptr(), out.as_mut_ptr());
    let mut h = 0;
    while h < n {
        let mut i = 0;
        while i < half {
            // SAFETY: i + 8 <= half; row holds 2 hd bytes (cos then sin,
            // hd bytes each); x and out hold h + hd <= n elements.
            let (c, sn, a, b) = unsafe {
                (
                    _mm256_cvtepi16_epi32(_mm_loadu_si128(rp.add(2 * i) as *const __m128i)),
                    _mm256_cvtepi16_epi32(_mm_loadu_si128(rp.add(hd + 2 * i) as *const __m128i)),
                    _mm256_loadu_si256(xp.add(h + i) as *const __m256i),
                    _mm256_loadu_si256(xp.add(h + half + i) as *const __m256i),
                )
            };
            let a = _mm256_min_epi32(_mm256_max_epi32(a, lo), hi);
            let b = _mm256_min_epi32(_mm256_max_epi32(b, lo), hi);
            let r1 = _mm256_sub_epi32(_mm256_mullo_epi32(a, c), _mm256_mullo_epi32(b, sn));
            let r2 = _mm256_add_epi32(_mm256_mullo_epi32(b, c), _mm256_mullo_epi32(a, sn));
            let r1 = _mm256_srai_epi32::<SHIFT>(_mm256_add_epi32(r1, round));
            let r2 = _mm256_srai_epi32::<SHIFT>(_mm256_add_epi32(r2, round));
            // Saturated to -128 ..= 127 by the packs, then to -127: sym_i8.
            // Dwords [r1 0-3, r2 0-3, .. | r1 4-7, r2 4-7, ..], reordered
            // to r1 0-7 then r2 0-7.
            let w = _mm256_packs_epi32(r1, r2);
            let v = _mm256_max_epi8(_mm256_packs_epi16(w, w), lo8);
            let v = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, order));
            // SAFETY: as above; 8 bytes each.
            unsafe {
                _mm_storel_epi64(op.add(h + i) as *mut __m128i, v);
                _mm_storel_epi64(
                    op.add(h + half + i) as *mut __m128i,
                    _mm_unpackhi_epi64(v, v),
                );
            }
            i += 8;
        }
        h += hd;
    }
}

/// [`crate::kernels::exp_weights`], eight logits at a time (table
/// gathers); exact for any inputs.
#[target_feature(enable = "avx2")]
pub(crate) fn exp_weights(logits: &[i32], max: i32, exp: &[u32; 256], out: &mut [u32]) -> u64 {
    let n = logits.len().min(out.len());
    let vmax = _mm256_set1_epi32(max);
    let mask = _mm256_set1_epi32(255);
    let lo32 = _mm256_set1_epi64x(0xffff_ffff);
    let (lp, op, ep) = (
        logits.as_ptr(),
        out.as_mut_ptr(),
        exp.as_ptr() as *const i32,
    );
    let mut sum = _mm256_setzero_si256();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, within logits and out.
        let l = unsafe { _mm256_loadu_si256(lp.add(i) as *const __m256i) };
        let u = _mm256_sub_epi32(vmax, l);
        // SAFETY: indices are `u & 255`, within the 256 entries of exp.
        let e = unsafe { _mm256_i32gather_epi32::<4>(ep, _mm256_and_si256(u, mask)) };
        // Shifts of 32 or more give 0, as in the portable code.
        let e = _mm256_srlv_epi32(e, _mm256_srli_epi32::<8>(u));
        // SAFETY: as for the load.
        unsafe { _mm256_storeu_si256(op.add(i) as *mut __m256i, e) };
        sum = _mm256_add_epi64(sum, _mm256_and_si256(e, lo32));
        sum = _mm256_add_epi64(sum, _mm256_srli_epi64::<32>(e));
        i += 8;
    }
    hsum_epi64(sum) + crate::portable::exp_weights_portable(&logits[i..n], max, exp, &mut out[i..n])
}

/// [`crate::kernels::shares`], eight at a time; `recip < 2^32` (so `e
/// recip < 2^64`).
#[target_feature(enable = "avx2")]
pub(crate) fn shares(e: &mut [u32], recip: u32) -> u64 {
    let n = e.len();
    let r = _mm256_set1_epi64x(recip as i64);
    let one = _mm256_set1_epi32(1);
    let p = e.as_mut_ptr();
    // Sum of the quotients (e recip) >> 32; the ones are added at the end.
    let mut given = _mm256_setzero_si256();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n.
        let v = unsafe { _mm256_loadu_si256(p.add(i) as *const __m256i) };
        // Products of the even lanes, and of the odd lanes moved down: the
        // quotients are their high halves.
        let pe = _mm256_mul_epu32(v, r);
        let po = _mm256_mul_epu32(_mm256_srli_epi64::<32>(v), r);
        let qe = _mm256_srli_epi64::<32>(pe);
        let q = _mm256_blend_epi32::<0b1010_1010>(qe, po);
        // SAFETY: as for the load. 1 + q wraps as `f as u32` does.
        unsafe { _mm256_storeu_si256(p.add(i) as *mut __m256i, _mm256_add_epi32(q, one)) };
        given = _mm256_add_epi64(given, _mm256_add_epi64(qe, _mm256_srli_epi64::<32>(po)));
        i += 8;
    }
    hsum_epi64(given) + i as u64 + crate::portable::shares_portable(&mut e[i..], recip as u64)
}

/// [`crate::kernels::lookup_i8`], 32 values at a time. The inputs become
/// `p = sym_i8(pre)` bytes; the entry is row `s` of the table (16 bytes,
/// `vpshufb` on the low nibble), `s = (p + 128) >> 4`. Each half of the
/// table is looked up by telescoping: with `D_0 = T_0` and `D_k = T_k ^
/// T_(k-1)`, the XOR of `vpshufb(D_k, i - 16 k)` over `k < 8` is
/// `T_(i >> 4)[i & 15]` for `i` in `0 ..= 127`, since `vpshufb` gives 0
/// where its index is negative, which is where `16 k > i`. The
/// subtraction saturates, so an index of the other half (negative) stays
/// negative and adds nothing: `i = p ^ 0x80` for the low half (`p < 0`),
/// `i = p` for the high half (`p >= 0`). 48 simple operations per 32
/// bytes; on a Zen 4 this ran about twice as fast as a gather from an
/// `i32` copy of the table.
#[target_feature(enable = "avx2")]
pub(crate) fn lookup_i8(pre: &[i32], lut: &[i8; 256], out: &mut [i8]) {
    let n = out.len().min(pre.len());
    let lp = lut.as_ptr();
    // SAFETY: k < 16: lut[16 k .. 16 k + 16] is within the 256 bytes.
    let row = |k: usize| unsafe {
        _mm256_broadcastsi128_si256(_mm_loadu_si128(lp.add(16 * k) as *const __m128i))
    };
    let mut lo = [_mm256_setzero_si256(); 8];
    let mut hi = [_mm256_setzero_si256(); 8];
    for k in 0..8 {
        lo[k] = if k == 0 {
            row(0)
        } else {
            _mm256_xor_si256(row(k), row(k - 1))
        };
        hi[k] = _mm256_xor_si256(row(8 + k), row(7 + k));
    }
    hi[0] = row(8);
    let lo8 = _mm256_set1_epi8(-127);
    let flip = _mm256_set1_epi8(-128);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let (pp, op) = (pre.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: i + 32 <= n <= pre.len().
        let q = |k: usize| unsafe { _mm256_loadu_si256(pp.add(i + 8 * k) as *const __m256i) };
        // sym_i8 of the 32 inputs, in order (saturating packs, then -127).
        let w0 = _mm256_packs_epi32(q(0), q(1));
        let w1 = _mm256_packs_epi32(q(2), q(3));
        let b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w0, w1), order);
        let p = _mm256_max_epi8(b, lo8);
        let il = _mm256_xor_si256(p, flip);
        let mut r = _mm256_xor_si256(
            _mm256_shuffle_epi8(lo[0], il),
            _mm256_shuffle_epi8(hi[0], p),
        );
        for k in 1..8 {
            let d = _mm256_set1_epi8(16 * k as i8);
            r = _mm256_xor_si256(r, _mm256_shuffle_epi8(lo[k], _mm256_subs_epi8(il, d)));
            r = _mm256_xor_si256(r, _mm256_shuffle_epi8(hi[k], _mm256_subs_epi8(p, d)));
        }
        // SAFETY: i + 32 <= n <= out.len().
        unsafe { _mm256_storeu_si256(op.add(i) as *mut __m256i, r) };
        i += 32;
    }
    crate::portable::lookup_i8_portable(&pre[i..n], lut, &mut out[i..n]);
}
