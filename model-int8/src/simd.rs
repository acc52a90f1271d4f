//! AVX2 and AVX-512 VNNI kernels for x86-64 hosts (`simd` + `std`
//! features), picked at run time from what the CPU has (AVX-512 F, BW, VL
//! and VNNI, else AVX2, else the portable kernels). They compute exactly
//! what the portable kernels in [`crate::portable`] compute: integer sums are
//! exact, and the one saturating instruction (`maddubs`) cannot saturate
//! because one operand never holds `-128` (so each product pair is below
//! `2^15`). The VNNI matrix-vector kernel (`vpdpbusd`, no saturation)
//! multiplies `w + 128` (in `1 ..= 255` since `w` never holds `-128`) as
//! unsigned bytes by `x` and subtracts `128 * sum x` once per row; every
//! partial sum is below `16384 * 255 * 128 < 2^29` in magnitude (`cols <=
//! d_ff <= 16384`), so nothing overflows.
//!
//! This is the crate's only `unsafe` code: calling `target_feature`
//! functions (guarded by run-time detection) and raw unaligned loads, each
//! within bounds checked before the loop that makes them.
#![allow(unsafe_code)]

use core::arch::x86_64::*;
use std::sync::atomic::{AtomicU8, Ordering};

const UNKNOWN: u8 = 0;
pub(crate) const NONE: u8 = 1;
pub(crate) const AVX2: u8 = 2;
/// AVX2 plus AVX-512 F, BW, VL and VNNI: the AVX2 kernels, except
/// `matvec`, which uses VNNI.
pub(crate) const VNNI: u8 = 3;

static LEVEL: AtomicU8 = AtomicU8::new(UNKNOWN);

#[inline]
pub(crate) fn level() -> u8 {
    let l = LEVEL.load(Ordering::Relaxed);
    if l != UNKNOWN {
        return l;
    }
    let detected = if !std::is_x86_feature_detected!("avx2") {
        NONE
    } else if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512vnni")
    {
        VNNI
    } else {
        AVX2
    };
    // 256-bit VNNI for the AVX2 level's matrix product: AVX-VNNI (VEX,
    // Alder Lake and later, Zen 5), or AVX-512 VNNI's 256-bit form when a
    // developer asks for the set on an AVX-512 machine.
    let vex = std::is_x86_feature_detected!("avxvnni");
    let forced = std::env::var(crate::kernels::FORCE_VAR);
    let (l, v) = match forced.as_deref() {
        Ok("portable") => (NONE, NONE),
        Ok("avx2") => (detected.min(AVX2), NONE),
        Ok("avx-vnni") if detected >= AVX2 => match (vex, detected) {
            (true, _) => (AVX2, VNNI256_VEX),
            (false, VNNI) => (AVX2, VNNI256_EVEX),
            _ => (AVX2, NONE),
        },
        _ if detected == AVX2 && vex => (AVX2, VNNI256_VEX),
        _ => (detected, NONE),
    };
    VNNI256.store(v, Ordering::Relaxed);
    LEVEL.store(l, Ordering::Relaxed);
    l
}

/// `vpdpbusd` on 256-bit registers at the AVX2 level: with the VEX
/// encoding (AVX-VNNI) or the EVEX one (AVX-512 VNNI + VL).
pub(crate) const VNNI256_VEX: u8 = 2;
pub(crate) const VNNI256_EVEX: u8 = 3;
static VNNI256: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Which 256-bit `vpdpbusd` the AVX2 level's matrix product uses
/// ([`NONE`], [`VNNI256_VEX`] or [`VNNI256_EVEX`]).
#[inline]
pub(crate) fn vnni256() -> u8 {
    level();
    VNNI256.load(Ordering::Relaxed)
}

/// Whether the AVX2 kernels may run (true at the VNNI level too).
#[inline]
fn has_avx2() -> bool {
    level() >= AVX2
}

/// Name of the SIMD kernel set in use, `None` when the CPU lacks AVX2.
pub fn name() -> Option<&'static str> {
    match (level(), vnni256()) {
        (VNNI, _) => Some("avx512-vnni"),
        (AVX2, NONE) => Some("avx2"),
        (AVX2, _) => Some("avx-vnni"),
        _ => None,
    }
}

/// [`crate::kernels::matvec`]; `false` when not handled here.
#[inline]
pub fn matvec(w: &[i8], x: &[i8], out: &mut [i32]) -> bool {
    let cols = x.len();
    let l = level();
    if l < AVX2 || cols == 0 || w.len() < out.len() * cols {
        return false;
    }
    // SAFETY: the features each kernel enables are present (checked above
    // and in `level`); the kernels read `w[..rows * cols]` and `x[..cols]`
    // only, and `w` is long enough (checked above).
    unsafe {
        match (l, cols) {
            (VNNI, 16) => matvec16_vnni512(w, x, out),
            (VNNI, 32) => matvec32_vnni(w, x, out),
            (VNNI, _) => matvec_vnni(w, x, out),
            (_, 16) => matvec16_avx2(w, x, out),
            (_, 32..) if vnni256() == VNNI256_VEX => matvec_avxvnni(w, x, out),
            (_, 32..) if vnni256() == VNNI256_EVEX => matvec_vnni256(w, x, out),
            _ => matvec_avx2(w, x, out),
        }
    }
    true
}

/// [`crate::kernels::weighted_sum`]; `None` when not handled here.
#[inline]
pub fn weighted_sum(wts: &[i32], v: &[i8], stride: usize, out: &mut [i64]) -> Option<i64> {
    let hd = out.len();
    let n = wts.len();
    if !has_avx2() || hd == 0 || n > stride || v.len() < (hd - 1) * stride + n {
        return None;
    }
    // SAFETY: AVX2 (and, at the VNNI level, AVX-512 F/BW/VL/VNNI) is
    // present; reads stay within `v[j * stride ..][..n]` for j < hd
    // (checked above) and `wts`.
    Some(unsafe {
        if level() == VNNI {
            weighted_sum_vnni(wts, v, stride, out)
        } else {
            weighted_sum_avx2(wts, v, stride, out)
        }
    })
}

/// [`crate::kernels::softmax_weights`]; `false` when not handled here
/// (a left-shifting multiplier, which saturates).
#[inline]
pub fn softmax_weights(
    scores: &mut [i32],
    max: i32,
    mult: i32,
    shift: i32,
    exp: &[u32; 256],
) -> bool {
    if !has_avx2() || shift > 0 || mult < 0 {
        return false;
    }
    // SAFETY: AVX2 (and at the VNNI level AVX-512 F/BW/VL) is present;
    // gathers index `exp` with `u & 255`.
    unsafe {
        if level() == VNNI {
            softmax_weights_avx512(scores, max, mult, shift, exp)
        } else {
            softmax_weights_avx2(scores, max, mult, shift, exp)
        }
    };
    true
}

/// [`softmax_weights_avx2`] on 32 scores at a time (the rest by the AVX2
/// kernel).
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn softmax_weights_avx512(
    scores: &mut [i32],
    max: i32,
    mult: i32,
    shift: i32,
    exp: &[u32; 256],
) {
    let n = scores.len();
    let right = (-shift) as u32;
    let vmax = _mm512_set1_epi32(max);
    let vm = _mm512_set1_epi64(mult as i64);
    let half31 = _mm512_set1_epi64(1 << 30);
    let rnd = _mm512_set1_epi32(if right > 0 {
        ((1i64 << right) >> 1) as i32
    } else {
        0
    });
    let rsh = _mm_cvtsi32_si128(right as i32);
    let mask = _mm512_set1_epi32(255);
    let cap = _mm512_set1_epi32(32767);
    let imax = _mm512_set1_epi32(i32::MAX);
    let zero = _mm512_setzero_si512();
    let p = scores.as_mut_ptr();
    // `exp[j] >> sh` with `sh >= 15` is `(exp[j] >> 15) >> (sh - 15)`, and
    // `exp[j] >> 15 <= 2^15` fits 16 bits: the table as 256 words in four
    // pairs of registers, looked up 32 at a time with `vpermt2w` (gathers
    // are slow).
    // Built from the table in registers: entries up to 2^30 (the format's)
    // give words up to 2^15; a table with the top bit set anywhere is not
    // one of the format's and goes to the AVX2 kernel.
    let ep = exp.as_ptr() as *const i32;
    let mut any_top = _mm512_setzero_si512();
    let mut tabs = [_mm512_setzero_si512(); 8];
    for (k, t) in tabs.iter_mut().enumerate() {
        // SAFETY: exp holds 256 entries; k < 8 reads 32k .. 32k + 32.
        let (a, b) = unsafe {
            (
                _mm512_loadu_si512(ep.add(32 * k) as *const _),
                _mm512_loadu_si512(ep.add(32 * k + 16) as *const _),
            )
        };
        any_top = _mm512_or_si512(any_top, _mm512_or_si512(a, b));
        *t = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm512_cvtepi32_epi16(_mm512_srli_epi32::<15>(a))),
            _mm512_cvtepi32_epi16(_mm512_srli_epi32::<15>(b)),
        );
    }
    if _mm512_cmplt_epi32_mask(any_top, _mm512_setzero_si512()) != 0 {
        // SAFETY: AVX2 is present.
        return unsafe { softmax_weights_avx2(scores, max, mult, shift, exp) };
    }
    // u (the requantized distance below the maximum) of 16 scores at `at`.
    let dist = |at: usize| {
        // SAFETY: (callers) at + 16 <= n.
        let s = unsafe { _mm512_loadu_si512(p.add(at) as *const _) };
        let d = _mm512_sub_epi32(vmax, s);
        let d = _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(d, zero), d, imax);
        let even = _mm512_srli_epi64::<31>(_mm512_add_epi64(_mm512_mul_epu32(d, vm), half31));
        let odd = _mm512_srli_epi64::<31>(_mm512_add_epi64(
            _mm512_mul_epu32(_mm512_srli_epi64::<32>(d), vm),
            half31,
        ));
        let hm = _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64::<32>(odd));
        _mm512_srl_epi32(_mm512_add_epi32(hm, rnd), rsh)
    };
    let mut i = 0;
    while i + 32 <= n {
        let (u0, u1) = (dist(i), dist(i + 16));
        let sh0 = _mm512_srli_epi32::<8>(u0);
        let sh1 = _mm512_srli_epi32::<8>(u1);
        let seventeen = _mm512_set1_epi32(17);
        // All 32 weights zero (shifts of 32 or more): skip the lookup.
        if _mm512_cmplt_epi32_mask(sh0, seventeen) == 0
            && _mm512_cmplt_epi32_mask(sh1, seventeen) == 0
        {
            // SAFETY: i + 32 <= n.
            unsafe {
                _mm512_storeu_si512(p.add(i) as *mut _, zero);
                _mm512_storeu_si512(p.add(i + 16) as *mut _, zero);
            }
            i += 32;
            continue;
        }
        let idx = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm512_cvtepi32_epi16(_mm512_and_si512(u0, mask))),
            _mm512_cvtepi32_epi16(_mm512_and_si512(u1, mask)),
        );
        let r0 = _mm512_permutex2var_epi16(tabs[0], idx, tabs[1]);
        let r1 = _mm512_permutex2var_epi16(tabs[2], idx, tabs[3]);
        let r2 = _mm512_permutex2var_epi16(tabs[4], idx, tabs[5]);
        let r3 = _mm512_permutex2var_epi16(tabs[6], idx, tabs[7]);
        let b6 = _mm512_test_epi16_mask(idx, _mm512_set1_epi16(64));
        let b7 = _mm512_test_epi16_mask(idx, _mm512_set1_epi16(128));
        let r = _mm512_mask_blend_epi16(
            b7,
            _mm512_mask_blend_epi16(b6, r0, r1),
            _mm512_mask_blend_epi16(b6, r2, r3),
        );
        let e0 = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(r));
        let e1 = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(r));
        // Shifts of 32 or more give 0, as in the portable code.
        let w0 = _mm512_min_epi32(_mm512_srlv_epi32(e0, sh0), cap);
        let w1 = _mm512_min_epi32(_mm512_srlv_epi32(e1, sh1), cap);
        // SAFETY: i + 32 <= n.
        unsafe {
            _mm512_storeu_si512(p.add(i) as *mut _, w0);
            _mm512_storeu_si512(p.add(i + 16) as *mut _, w1);
        }
        i += 32;
    }
    // SAFETY: as for the whole.
    unsafe { softmax_weights_avx2(&mut scores[i..], max, mult, shift, exp) };
}

/// [`crate::kernels::norm_scale`]; `false` when not handled here (below
/// the AVX2 level, or inputs shorter than `out`).
#[inline]
pub fn norm_scale(h: &[i32], mean: i64, ks: &[u8], inv: u64, out: &mut [i8]) -> bool {
    let n = out.len();
    let l = level();
    if l < AVX2 || h.len() < n || ks.len() < 4 * n || mean.unsigned_abs() > 1 << 24 {
        return false;
    }
    // SAFETY: AVX2 (and at the VNNI level AVX-512 F/BW/VL) is present;
    // the kernels read h[..n], ks[..4n] and write out[..n].
    unsafe {
        if l == VNNI {
            norm_scale_avx512(h, mean as i32, ks, inv, out)
        } else {
            crate::avx2::norm_scale(h, mean as i32, ks, inv, out)
        }
    };
    true
}

/// Eight values at a time in 64-bit lanes: `t = |c| k` (`< 2^50`), and the
/// high half of `t * inv` from four 32 x 32-bit products, exactly:
/// with `t = th 2^32 + tl` and `inv = ih 2^32 + il`, `H = th ih + (tl ih
/// >> 32) + (((tl ih) mod 2^32 + th il + (tl il >> 32)) >> 32)`.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn norm_scale_avx512(h: &[i32], mean: i32, ks: &[u8], inv: u64, out: &mut [i8]) {
    let n = out.len();
    let vmean = _mm256_set1_epi32(mean);
    let ih = _mm512_set1_epi64((inv >> 32) as i64);
    let il = _mm512_set1_epi64((inv & 0xffff_ffff) as i64);
    let lo32 = _mm512_set1_epi64(0xffff_ffff);
    let round = _mm512_set1_epi64(1 << 8);
    let cap = _mm512_set1_epi64(127);
    let mut j = 0;
    while j + 8 <= n {
        // SAFETY: j + 8 <= n <= h.len(), ks.len() / 4.
        let (x, k) = unsafe {
            (
                _mm256_loadu_si256(h.as_ptr().add(j) as *const __m256i),
                _mm256_loadu_si256(ks.as_ptr().add(4 * j) as *const __m256i),
            )
        };
        let c = _mm256_sub_epi32(x, vmean);
        let neg = _mm512_cvtepi32_epi64(_mm256_srai_epi32::<31>(c));
        let ac = _mm512_cvtepu32_epi64(_mm256_abs_epi32(c));
        let t = _mm512_mul_epu32(ac, _mm512_cvtepu32_epi64(k));
        let th = _mm512_srli_epi64::<32>(t);
        let tl = _mm512_and_si512(t, lo32);
        let p2 = _mm512_mul_epu32(tl, ih);
        let mid = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_and_si512(p2, lo32), _mm512_mul_epu32(th, il)),
            _mm512_srli_epi64::<32>(_mm512_mul_epu32(tl, il)),
        );
        let hi = _mm512_add_epi64(
            _mm512_add_epi64(_mm512_mul_epu32(th, ih), _mm512_srli_epi64::<32>(p2)),
            _mm512_srli_epi64::<32>(mid),
        );
        let m = _mm512_min_epu64(_mm512_srli_epi64::<9>(_mm512_add_epi64(hi, round)), cap);
        let s = _mm512_sub_epi64(_mm512_xor_si512(m, neg), neg);
        // |s| <= 127: the truncation to bytes is exact.
        let b = _mm512_cvtepi64_epi8(s);
        // SAFETY: j + 8 <= n = out.len().
        unsafe { _mm_storel_epi64(out.as_mut_ptr().add(j) as *mut __m128i, b) };
        j += 8;
    }
    crate::portable::norm_scale_portable(&h[j..], mean as i64, &ks[4 * j..], inv, &mut out[j..]);
}

static VBMI: AtomicU8 = AtomicU8::new(UNKNOWN);

/// AVX-512 VBMI (byte permutes) on top of the VNNI level.
#[inline]
fn has_vbmi() -> bool {
    match VBMI.load(Ordering::Relaxed) {
        UNKNOWN => {
            let v = level() == VNNI && std::is_x86_feature_detected!("avx512vbmi");
            VBMI.store(if v { AVX2 } else { NONE }, Ordering::Relaxed);
            v
        }
        v => v == AVX2,
    }
}

/// [`crate::kernels::lookup_i8`]; `false` when not handled here (below the
/// AVX2 level). AVX-512 VBMI where present, else AVX2.
#[inline]
pub fn lookup_i8(pre: &[i32], lut: &[i8; 256], out: &mut [i8]) -> bool {
    if !has_avx2() || pre.len() < out.len() {
        return false;
    }
    // SAFETY: AVX2 is present, and AVX-512 F/BW/VBMI where `has_vbmi`;
    // the kernels read pre[..out.len()].
    unsafe {
        if has_vbmi() {
            lookup_i8_vbmi(pre, lut, out)
        } else {
            crate::avx2::lookup_i8(pre, lut, out)
        }
    };
    true
}

/// 64 values at a time: clamped to `-127 ..= 127`, offset by 128, packed
/// to bytes, and looked up in the table's two halves (`vpermt2b` on 128
/// entries each), picked by the index's top bit.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vbmi")]
unsafe fn lookup_i8_vbmi(pre: &[i32], lut: &[i8; 256], out: &mut [i8]) {
    let n = out.len();
    let lp = lut.as_ptr();
    // SAFETY: lut holds 256 bytes.
    let t = |k: usize| unsafe { _mm512_loadu_si512(lp.add(64 * k) as *const _) };
    let (t0, t1, t2, t3) = (t(0), t(1), t(2), t(3));
    let lo = _mm512_set1_epi32(-127);
    let hi = _mm512_set1_epi32(127);
    let off = _mm512_set1_epi32(128);
    let p = pre.as_ptr();
    let mut i = 0;
    while i + 64 <= n {
        let q = |k: usize| {
            // SAFETY: i + 64 <= n <= pre.len().
            let v = unsafe { _mm512_loadu_si512(p.add(i + 16 * k) as *const _) };
            let v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, lo), hi), off);
            _mm512_cvtepi32_epi8(v)
        };
        let idx = _mm512_inserti64x4::<1>(
            _mm512_castsi256_si512(_mm256_set_m128i(q(1), q(0))),
            _mm256_set_m128i(q(3), q(2)),
        );
        let a = _mm512_permutex2var_epi8(t0, idx, t1);
        let b = _mm512_permutex2var_epi8(t2, idx, t3);
        let r = _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), a, b);
        // SAFETY: i + 64 <= n = out.len().
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(i) as *mut _, r) };
        i += 64;
    }
    crate::portable::lookup_i8_portable(&pre[i..n], lut, &mut out[i..]);
}

/// [`crate::kernels::rope_row`]; `false` when not handled here (below the
/// AVX2 level, or a half head width not a multiple of 8).
#[inline]
pub fn rope_row(x: &[i32], hd: usize, row: &[u8], out: &mut [i8]) -> bool {
    let half = hd / 2;
    let l = level();
    if l < AVX2 || half == 0 || !half.is_multiple_of(8) || row.len() < 2 * hd {
        return false;
    }
    let n = x.len().min(out.len()) / hd * hd;
    // SAFETY: AVX2 is present; the kernel reads row[..2 hd], x[..n] and
    // writes out[..n]. (It is as fast as a 512-bit one on Zen 4: RoPE
    // works on 8 pairs of 32-bit lanes at a time either way.)
    unsafe { crate::avx2::rope_row(&x[..n], hd, row, &mut out[..n]) };
    true
}

/// [`crate::kernels::exp_weights`]; `None` when not handled here (below
/// the AVX2 level).
#[inline]
pub fn exp_weights(logits: &[i32], max: i32, exp: &[u32; 256], out: &mut [u32]) -> Option<u64> {
    let l = level();
    if l < AVX2 || out.len() < logits.len() {
        return None;
    }
    // SAFETY: AVX2 (and at the VNNI level AVX-512 F/BW/VL) is present;
    // the kernels read logits, write out[..logits.len()], gather
    // exp[0..256].
    Some(unsafe {
        if l == VNNI {
            exp_weights_avx512(logits, max, exp, out)
        } else {
            crate::avx2::exp_weights(logits, max, exp, out)
        }
    })
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn exp_weights_avx512(logits: &[i32], max: i32, exp: &[u32; 256], out: &mut [u32]) -> u64 {
    let n = logits.len();
    let vmax = _mm512_set1_epi32(max);
    let mask = _mm512_set1_epi32(255);
    let mut sum = _mm512_setzero_si512();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n <= out.len().
        let l = unsafe { _mm512_loadu_si512(logits.as_ptr().add(i) as *const _) };
        let u = _mm512_sub_epi32(vmax, l);
        let sh = _mm512_srli_epi32::<8>(u);
        // SAFETY: indices are in 0..256.
        let e = unsafe {
            _mm512_i32gather_epi32::<4>(_mm512_and_si512(u, mask), exp.as_ptr() as *const i32)
        };
        // Shifts of 32 or more give 0, as in the portable code.
        let e = _mm512_srlv_epi32(e, sh);
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(i) as *mut _, e) };
        sum = _mm512_add_epi64(sum, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(e)));
        sum = _mm512_add_epi64(
            sum,
            _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64::<1>(e)),
        );
        i += 16;
    }
    _mm512_reduce_add_epi64(sum) as u64
        + crate::portable::exp_weights_portable(&logits[i..], max, exp, &mut out[i..n])
}

/// [`crate::kernels::shares`]; `None` when not handled here (below the
/// AVX2 level, or `recip` of 32 bits or more).
#[inline]
pub fn shares(e: &mut [u32], recip: u64) -> Option<u64> {
    let l = level();
    if l < AVX2 || recip >> 32 != 0 {
        return None;
    }
    // SAFETY: AVX2 (and at the VNNI level AVX-512 F/BW/VL) is present;
    // the kernels read and write e in place.
    Some(unsafe {
        if l == VNNI {
            shares_avx512(e, recip)
        } else {
            crate::avx2::shares(e, recip as u32)
        }
    })
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn shares_avx512(e: &mut [u32], recip: u64) -> u64 {
    let n = e.len();
    let r = _mm512_set1_epi64(recip as i64);
    let one = _mm512_set1_epi32(1);
    let mut given = _mm512_setzero_si512();
    let p = e.as_mut_ptr();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n.
        let v = unsafe { _mm512_loadu_si512(p.add(i) as *const _) };
        // (e * recip) >> 32 per lane: even lanes in place, odd lanes
        // moved down; both products below 2^63.
        let pe = _mm512_srli_epi64::<32>(_mm512_mul_epu32(v, r));
        let po = _mm512_srli_epi64::<32>(_mm512_mul_epu32(_mm512_srli_epi64::<32>(v), r));
        let q = _mm512_mask_blend_epi32(0xaaaa, pe, _mm512_slli_epi64::<32>(po));
        let f = _mm512_add_epi32(q, one);
        unsafe { _mm512_storeu_si512(p.add(i) as *mut _, f) };
        given = _mm512_add_epi64(given, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(f)));
        given = _mm512_add_epi64(
            given,
            _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64::<1>(f)),
        );
        i += 16;
    }
    _mm512_reduce_add_epi64(given) as u64 + crate::portable::shares_portable(&mut e[i..], recip)
}

/// [`crate::kernels::sum_squares`]; `None` when not handled here (below
/// the AVX2 level, or a mean out of range).
#[inline]
pub fn sum_squares(h: &[i32], mean: i64) -> Option<u64> {
    let l = level();
    if l < AVX2 || mean.unsigned_abs() > 1 << 24 {
        return None;
    }
    // SAFETY: AVX2 (and at the VNNI level AVX-512 F/BW/VL) is present;
    // the kernels read h only.
    Some(unsafe {
        if l == VNNI {
            sum_squares_avx512(h, mean as i32)
        } else {
            crate::avx2::sum_squares(h, mean as i32)
        }
    })
}

/// Sixteen values at a time: `c = h - mean` (`|c| <= 2^24`), squares of
/// the even and odd lanes as 64-bit products (`< 2^48`), summed in 64 bits.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
unsafe fn sum_squares_avx512(h: &[i32], mean: i32) -> u64 {
    let n = h.len();
    let m = _mm512_set1_epi32(mean);
    let mut acc = _mm512_setzero_si512();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n.
        let c = _mm512_sub_epi32(
            unsafe { _mm512_loadu_si512(h.as_ptr().add(i) as *const _) },
            m,
        );
        let even = _mm512_mul_epi32(c, c);
        let odd = _mm512_mul_epi32(_mm512_srli_epi64::<32>(c), _mm512_srli_epi64::<32>(c));
        acc = _mm512_add_epi64(acc, _mm512_add_epi64(even, odd));
        i += 16;
    }
    _mm512_reduce_add_epi64(acc) as u64
        + crate::portable::sum_squares_portable(&h[i..], mean as i64)
}

/// Non-negative inputs make TFLite's double rounding two round-half-up
/// shifts: `srdhm(x, m) = (x m + 2^30) >> 31` and `rdbpot(y, e) = (y +
/// 2^(e-1)) >> e` (`e > 0`).
#[target_feature(enable = "avx2")]
unsafe fn softmax_weights_avx2(
    scores: &mut [i32],
    max: i32,
    mult: i32,
    shift: i32,
    exp: &[u32; 256],
) {
    let n = scores.len();
    let right = (-shift) as u32;
    let vmax = _mm256_set1_epi32(max);
    let vm = _mm256_set1_epi64x(mult as i64);
    let half31 = _mm256_set1_epi64x(1 << 30);
    let rnd = _mm256_set1_epi32(if right > 0 {
        ((1i64 << right) >> 1) as i32
    } else {
        0
    });
    let rsh = _mm_cvtsi32_si128(right as i32);
    let mask = _mm256_set1_epi32(255);
    let fifteen = _mm256_set1_epi32(15);
    let cap = _mm256_set1_epi32(32767);
    let imax = _mm256_set1_epi32(i32::MAX);
    let p = scores.as_mut_ptr();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n.
        let s = unsafe { _mm256_loadu_si256(p.add(i) as *const __m256i) };
        // max - s saturating: s >= i32::MIN, so only overflow upward.
        let d = _mm256_sub_epi32(vmax, s);
        // Overflow happened where d < 0 (max >= s always): saturate.
        let d = _mm256_blendv_epi8(d, imax, _mm256_cmpgt_epi32(_mm256_setzero_si256(), d));
        // 32 x 32 -> 64 products of even and odd lanes, high part >> 31.
        let even = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epu32(d, vm), half31));
        let odd = _mm256_srli_epi64::<31>(_mm256_add_epi64(
            _mm256_mul_epu32(_mm256_srli_epi64::<32>(d), vm),
            half31,
        ));
        let hm = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
        // Below 2^31 + 2^30: a logical shift is exact.
        let u = _mm256_srl_epi32(_mm256_add_epi32(hm, rnd), rsh);
        let idx = _mm256_and_si256(u, mask);
        let sh = _mm256_add_epi32(_mm256_srli_epi32::<8>(u), fifteen);
        // All eight weights zero (shifts of 32 or more, common with sharp
        // attention): skip the table gather. `sh` is below 2^24 + 15.
        if _mm256_movemask_epi8(_mm256_cmpgt_epi32(_mm256_set1_epi32(32), sh)) == 0 {
            unsafe { _mm256_storeu_si256(p.add(i) as *mut __m256i, _mm256_setzero_si256()) };
            i += 8;
            continue;
        }
        // SAFETY: idx is in 0..256.
        let e = unsafe { _mm256_i32gather_epi32::<4>(exp.as_ptr() as *const i32, idx) };
        // Shifts of 32 or more give 0, as in the portable code.
        let w = _mm256_min_epi32(_mm256_srlv_epi32(e, sh), cap);
        unsafe { _mm256_storeu_si256(p.add(i) as *mut __m256i, w) };
        i += 8;
    }
    crate::portable::softmax_weights_portable(&mut scores[i..], max, mult, shift, exp);
}

/// [`crate::kernels::requantize_rows`]; `false` when not handled here.
#[inline]
pub fn requantize_rows(acc: &mut [i32], rq: &[u8]) -> bool {
    if !has_avx2() || rq.len() < 12 * acc.len() {
        return false;
    }
    // SAFETY: AVX2 is present; gathers read rq[..12 * acc.len()].
    unsafe { requantize_rows_avx2(acc, rq) };
    true
}

/// Eight rows at a time, by [`crate::gemm::Rq8`] (which needs `m >= 0`,
/// checked when the file is parsed; rows that break it take the portable
/// path).
#[target_feature(enable = "avx2")]
unsafe fn requantize_rows_avx2(acc: &mut [i32], rq: &[u8]) {
    let n = acc.len();
    let order_b = _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5);
    let order_m = _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6);
    let order_s = _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7);
    let zero = _mm256_setzero_si256();
    let p = acc.as_mut_ptr();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: rows i .. i + 8 are rq[12 i .. 12 i + 96], within
        // rq[..12 * n].
        let base = unsafe { rq.as_ptr().add(12 * i) } as *const __m256i;
        let (v0, v1, v2) = unsafe {
            (
                _mm256_loadu_si256(base),
                _mm256_loadu_si256(base.add(1)),
                _mm256_loadu_si256(base.add(2)),
            )
        };
        // De-interleave [b m s] x 8: lane j of v0, v1, v2 holds field (j,
        // j + 2, j + 1) mod 3; blend so each lane has the wanted field, then
        // permute rows into order.
        let pick = |a: __m256i, b: __m256i, c: __m256i| {
            let t = _mm256_blend_epi32::<0b1001_0010>(a, b);
            _mm256_blend_epi32::<0b0010_0100>(t, c)
        };
        let bias = _mm256_permutevar8x32_epi32(pick(v0, v1, v2), order_b);
        let mult = _mm256_permutevar8x32_epi32(pick(v2, v0, v1), order_m);
        let shift = _mm256_permutevar8x32_epi32(pick(v1, v2, v0), order_s);
        if _mm256_movemask_epi8(_mm256_cmpgt_epi32(zero, mult)) != 0 {
            requantize_rows_portable_at(acc, rq, i);
            i += 8;
            continue;
        }
        // SAFETY: i + 8 <= n.
        unsafe {
            let a = _mm256_loadu_si256(p.add(i) as *const __m256i);
            let r = crate::gemm::Rq8::new(bias, mult, shift).apply(a);
            _mm256_storeu_si256(p.add(i) as *mut __m256i, r);
        }
        i += 8;
    }
    while i < n {
        requantize_one(acc, rq, i);
        i += 1;
    }
}

fn requantize_rows_portable_at(acc: &mut [i32], rq: &[u8], i: usize) {
    for k in i..i + 8 {
        requantize_one(acc, rq, k);
    }
}

#[inline]
fn requantize_one(acc: &mut [i32], rq: &[u8], o: usize) {
    let t = crate::format::I32s(rq);
    let z = acc[o].saturating_add(t.get(3 * o));
    acc[o] = crate::fixed::requantize(z, t.get(3 * o + 1), t.get(3 * o + 2));
}

/// Sum of the eight `i32` lanes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn hsum(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// Eight rows' 8-lane partial sums reduced to one vector of the eight row
/// sums (row `k` in lane `k`).
#[inline]
#[target_feature(enable = "avx2")]
fn reduce8(acc: &[__m256i; 8]) -> __m256i {
    let h01 = _mm256_hadd_epi32(acc[0], acc[1]);
    let h23 = _mm256_hadd_epi32(acc[2], acc[3]);
    let h45 = _mm256_hadd_epi32(acc[4], acc[5]);
    let h67 = _mm256_hadd_epi32(acc[6], acc[7]);
    let a = _mm256_hadd_epi32(h01, h23); // [r0 r1 r2 r3 | r0 r1 r2 r3] halves
    let b = _mm256_hadd_epi32(h45, h67);
    let lo = _mm256_permute2x128_si256::<0x20>(a, b);
    let hi = _mm256_permute2x128_si256::<0x31>(a, b);
    _mm256_add_epi32(lo, hi)
}

/// `|x| (as u8) * (w * sign(x))` summed in pairs, then in fours: eight
/// `i32` partial dot products of 32 bytes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn dot32(xabs: __m256i, x: __m256i, w: __m256i) -> __m256i {
    let p = _mm256_maddubs_epi16(xabs, _mm256_sign_epi8(w, x));
    _mm256_madd_epi16(p, _mm256_set1_epi16(1))
}

/// The 256-bit matrix-vector kernels: eight rows at a time share each
/// 32-byte load of `x`, the columns past the last whole 32 go to the
/// portable dot product. `$x` prepares a chunk of `x` once for the eight
/// rows, `$dot(acc, prepared, w)` adds a row's products to its
/// accumulator, and `$off` (of `x`'s whole chunks) is subtracted from every
/// row: AVX2 takes `|x|` times `w * sign(x)` through `maddubs` (no
/// offset), the VNNI forms take `vpdpbusd` on `w + 128` (unsigned) and `x`
/// minus `128 * sum x` (as [`matvec_vnni`]), in the VEX (AVX-VNNI) or EVEX
/// (AVX-512 VNNI + VL) encoding.
macro_rules! matvec_kernel {
    ($name:ident, $features:literal, |$xv:ident| $x:expr, |$a:ident, $xp:ident, $wv:ident| $dot:expr, |$xs:ident| $off:expr) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(w: &[i8], x: &[i8], out: &mut [i32]) {
            let cols = x.len();
            let rows = out.len();
            let c32 = cols / 32 * 32;
            let off = {
                let $xs = &x[..c32];
                $off
            };
            let xp = x.as_ptr();
            let wp = w.as_ptr();
            let tail = |r: usize| -> i32 {
                let row = &w[r * cols + c32..(r + 1) * cols];
                crate::portable::dot_portable(row, &x[c32..])
            };
            let load = |c: usize| {
                // SAFETY: (callers) c + 32 <= c32 <= cols.
                let $xv = unsafe { _mm256_loadu_si256(xp.add(c) as *const __m256i) };
                $x
            };
            let mut r = 0;
            while r + 8 <= rows {
                let mut acc = [_mm256_setzero_si256(); 8];
                let mut c = 0;
                while c < c32 {
                    let $xp = load(c);
                    for (k, $a) in acc.iter_mut().enumerate() {
                        // SAFETY: (r + 7) * cols + c + 32 <= rows * cols <=
                        // w.len().
                        let $wv = unsafe {
                            _mm256_loadu_si256(wp.add((r + k) * cols + c) as *const __m256i)
                        };
                        *$a = $dot;
                    }
                    c += 32;
                }
                let mut sums = [0i32; 8];
                // SAFETY: `sums` holds 8 i32.
                unsafe {
                    _mm256_storeu_si256(
                        sums.as_mut_ptr() as *mut __m256i,
                        _mm256_sub_epi32(reduce8(&acc), _mm256_set1_epi32(off)),
                    )
                };
                for k in 0..8 {
                    out[r + k] = sums[k] + if c32 < cols { tail(r + k) } else { 0 };
                }
                r += 8;
            }
            while r < rows {
                let mut acc = [_mm256_setzero_si256(); 1];
                let mut c = 0;
                while c < c32 {
                    let $xp = load(c);
                    let $a = &mut acc[0];
                    // SAFETY: as above.
                    let $wv = unsafe { _mm256_loadu_si256(wp.add(r * cols + c) as *const __m256i) };
                    *$a = $dot;
                    c += 32;
                }
                out[r] = hsum(acc[0]) - off + if c32 < cols { tail(r) } else { 0 };
                r += 1;
            }
        }
    };
}
matvec_kernel!(
    matvec_avx2,
    "avx2",
    |xv| (_mm256_abs_epi8(xv), xv),
    |a, x, wv| _mm256_add_epi32(*a, dot32(x.0, x.1, wv)),
    |_x| 0
);
matvec_kernel!(
    matvec_avxvnni,
    "avx2,avxvnni",
    |xv| xv,
    |a, x, wv| _mm256_dpbusd_avx_epi32(*a, _mm256_xor_si256(wv, _mm256_set1_epi8(-128)), x),
    |x| vnni_offset(x)
);
matvec_kernel!(
    matvec_vnni256,
    "avx2,avx512f,avx512vl,avx512vnni",
    |xv| xv,
    |a, x, wv| _mm256_dpbusd_epi32(*a, _mm256_xor_si256(wv, _mm256_set1_epi8(-128)), x),
    |x| vnni_offset(x)
);

/// Rows of 16 (attention scores for head width 16): two rows per vector.
#[target_feature(enable = "avx2")]
unsafe fn matvec16_avx2(w: &[i8], x: &[i8], out: &mut [i32]) {
    let rows = out.len();
    let wp = w.as_ptr();
    // SAFETY: x has 16 bytes.
    let xv = _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(x.as_ptr() as *const __m128i) });
    let xa = _mm256_abs_epi8(xv);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut r = 0;
    while r + 8 <= rows {
        // SAFETY: rows r .. r + 8 lie within w[..rows * 16].
        let m = |k: usize| {
            dot32(xa, xv, unsafe {
                _mm256_loadu_si256(wp.add((r + 2 * k) * 16) as *const __m256i)
            })
        };
        let (m0, m1, m2, m3) = (m(0), m(1), m(2), m(3));
        let h01 = _mm256_hadd_epi32(m0, m1);
        let h23 = _mm256_hadd_epi32(m2, m3);
        let s = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(h01, h23), order);
        // SAFETY: out[r .. r + 8] exists.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(r) as *mut __m256i, s) };
        r += 8;
    }
    for rr in r..rows {
        out[rr] = crate::portable::dot_portable(&w[rr * 16..rr * 16 + 16], x);
    }
}

/// `128 * sum x`, the offset the VNNI kernels subtract from each row:
/// they multiply `w + 128` (unsigned) by `x`. Below `2^21 * 128` in
/// magnitude (`cols <= 16384`).
fn vnni_offset(x: &[i8]) -> i32 {
    128 * x.iter().map(|&v| v as i32).sum::<i32>()
}

/// Sum of the sixteen `i32` lanes folded to eight.
#[inline]
#[target_feature(enable = "avx2,avx512f")]
fn fold512(v: __m512i) -> __m256i {
    _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v))
}

/// [`crate::kernels::matvec`] with `vpdpbusd` on 64 bytes at a time, the
/// last partial block through masked loads (which read nothing past the
/// mask). Each row is `sum (w + 128) x - 128 sum x` (see the module docs).
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn matvec_vnni(w: &[i8], x: &[i8], out: &mut [i32]) {
    let cols = x.len();
    let rows = out.len();
    let full = cols / 64 * 64;
    let rem = cols - full;
    // rem < 64.
    let mask: __mmask64 = (1u64 << rem) - 1;
    let off = vnni_offset(x);
    let flip = _mm512_set1_epi8(-128);
    let xp = x.as_ptr();
    let wp = w.as_ptr();
    let mut r = 0;
    // Eight rows at a time share each load of `x`.
    while r + 8 <= rows {
        let mut acc = [_mm512_setzero_si512(); 8];
        let mut c = 0;
        while c < full {
            // SAFETY: c + 64 <= full <= cols; (r + 7) * cols + c + 64 <=
            // rows * cols <= w.len().
            let xv = unsafe { _mm512_loadu_si512(xp.add(c) as *const __m512i) };
            for (k, a) in acc.iter_mut().enumerate() {
                let wv =
                    unsafe { _mm512_loadu_si512(wp.add((r + k) * cols + c) as *const __m512i) };
                *a = _mm512_dpbusd_epi32(*a, _mm512_xor_si512(wv, flip), xv);
            }
            c += 64;
        }
        if rem != 0 {
            // SAFETY: the masks cover x[full..cols] and w[(r + k) * cols +
            // full..(r + k + 1) * cols] only; masked-out bytes are neither
            // read nor faulted on, and load as 0 (so add nothing: x is 0).
            let xv = unsafe { _mm512_maskz_loadu_epi8(mask, xp.add(full)) };
            for (k, a) in acc.iter_mut().enumerate() {
                let wv = unsafe { _mm512_maskz_loadu_epi8(mask, wp.add((r + k) * cols + full)) };
                *a = _mm512_dpbusd_epi32(*a, _mm512_xor_si512(wv, flip), xv);
            }
        }
        // Reduce 8 rows x 16 lanes to one vector of 8 row sums.
        let f = [0, 1, 2, 3, 4, 5, 6, 7].map(|k| fold512(acc[k]));
        let s = _mm256_sub_epi32(reduce8(&f), _mm256_set1_epi32(off));
        // SAFETY: out[r .. r + 8] exists.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(r) as *mut __m256i, s) };
        r += 8;
    }
    while r < rows {
        let mut acc = _mm512_setzero_si512();
        let mut c = 0;
        while c < full {
            // SAFETY: as above.
            let xv = unsafe { _mm512_loadu_si512(xp.add(c) as *const __m512i) };
            let wv = unsafe { _mm512_loadu_si512(wp.add(r * cols + c) as *const __m512i) };
            acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(wv, flip), xv);
            c += 64;
        }
        if rem != 0 {
            // SAFETY: as above.
            let xv = unsafe { _mm512_maskz_loadu_epi8(mask, xp.add(full)) };
            let wv = unsafe { _mm512_maskz_loadu_epi8(mask, wp.add(r * cols + full)) };
            acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(wv, flip), xv);
        }
        out[r] = _mm512_reduce_add_epi32(acc) - off;
        r += 1;
    }
}

/// [`matvec16_avx2`] with `vpdpbusd` (256-bit): two rows per vector.
#[target_feature(enable = "avx2,avx512f,avx512vl,avx512vnni")]
unsafe fn matvec16_vnni(w: &[i8], x: &[i8], out: &mut [i32]) {
    let rows = out.len();
    let wp = w.as_ptr();
    // SAFETY: x has 16 bytes.
    let xv = _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(x.as_ptr() as *const __m128i) });
    let flip = _mm256_set1_epi8(-128);
    let off = _mm256_set1_epi32(vnni_offset(x));
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut r = 0;
    while r + 8 <= rows {
        // SAFETY: rows r .. r + 8 lie within w[..rows * 16].
        let m = |k: usize| {
            let wv = unsafe { _mm256_loadu_si256(wp.add((r + 2 * k) * 16) as *const __m256i) };
            _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_xor_si256(wv, flip), xv)
        };
        let (m0, m1, m2, m3) = (m(0), m(1), m(2), m(3));
        let h01 = _mm256_hadd_epi32(m0, m1);
        let h23 = _mm256_hadd_epi32(m2, m3);
        let s = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(h01, h23), order);
        let s = _mm256_sub_epi32(s, off);
        // SAFETY: out[r .. r + 8] exists.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(r) as *mut __m256i, s) };
        r += 8;
    }
    for rr in r..rows {
        out[rr] = crate::portable::dot_portable(&w[rr * 16..rr * 16 + 16], x);
    }
}

/// Rows of 16 (attention scores for head width 16), sixteen rows per
/// round: four rows per 512-bit `vpdpbusd`, then the four partial sums of
/// each row added across the four registers with two rounds of
/// two-register permutes.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn matvec16_vnni512(w: &[i8], x: &[i8], out: &mut [i32]) {
    let rows = out.len();
    let wp = w.as_ptr();
    // SAFETY: x has 16 bytes.
    let xv = _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(x.as_ptr() as *const __m128i) });
    let flip = _mm512_set1_epi8(-128);
    let off = _mm512_set1_epi32(vnni_offset(x));
    // Lane j of z_k holds partial sum j % 4 of row 4k + j / 4. Round one
    // pairs (z0, z1) and (z2, z3): even and odd lanes of each pair, added,
    // give rows' half sums; round two the same on the results.
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    let mut r = 0;
    while r + 16 <= rows {
        // SAFETY: rows r .. r + 16 lie within w[..rows * 16].
        let z = |k: usize| {
            let wv = unsafe { _mm512_loadu_si512(wp.add((r + 4 * k) * 16) as *const _) };
            _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(wv, flip), xv)
        };
        let (z0, z1, z2, z3) = (z(0), z(1), z(2), z(3));
        // Lane i of a: sum of partials 2i % 4 and (2i % 4) + 1 of row i / 2
        // (rows 0..8), of b: rows 8..16.
        let a = _mm512_add_epi32(
            _mm512_permutex2var_epi32(z0, even, z1),
            _mm512_permutex2var_epi32(z0, odd, z1),
        );
        let b = _mm512_add_epi32(
            _mm512_permutex2var_epi32(z2, even, z3),
            _mm512_permutex2var_epi32(z2, odd, z3),
        );
        let s = _mm512_add_epi32(
            _mm512_permutex2var_epi32(a, even, b),
            _mm512_permutex2var_epi32(a, odd, b),
        );
        // SAFETY: out[r .. r + 16] exists.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(r) as *mut _, _mm512_sub_epi32(s, off)) };
        r += 16;
    }
    if r < rows {
        // SAFETY: as for the whole, on the remaining rows.
        unsafe { matvec16_vnni(&w[r * 16..], x, &mut out[r..]) };
    }
}

/// Rows of 32 (attention scores for head width 32): one row per 256-bit
/// `vpdpbusd`, eight rows reduced together.
#[target_feature(enable = "avx2,avx512f,avx512vl,avx512vnni")]
unsafe fn matvec32_vnni(w: &[i8], x: &[i8], out: &mut [i32]) {
    let rows = out.len();
    let wp = w.as_ptr();
    // SAFETY: x has 32 bytes.
    let xv = unsafe { _mm256_loadu_si256(x.as_ptr() as *const __m256i) };
    let flip = _mm256_set1_epi8(-128);
    let off = _mm256_set1_epi32(vnni_offset(x));
    let mut r = 0;
    while r + 8 <= rows {
        // SAFETY: rows r .. r + 8 lie within w[..rows * 32].
        let m = |k: usize| {
            let wv = unsafe { _mm256_loadu_si256(wp.add((r + k) * 32) as *const __m256i) };
            _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_xor_si256(wv, flip), xv)
        };
        let h01 = _mm256_hadd_epi32(m(0), m(1));
        let h23 = _mm256_hadd_epi32(m(2), m(3));
        let h45 = _mm256_hadd_epi32(m(4), m(5));
        let h67 = _mm256_hadd_epi32(m(6), m(7));
        let a = _mm256_hadd_epi32(h01, h23);
        let b = _mm256_hadd_epi32(h45, h67);
        let lo = _mm256_permute2x128_si256::<0x20>(a, b);
        let hi = _mm256_permute2x128_si256::<0x31>(a, b);
        let s = _mm256_sub_epi32(_mm256_add_epi32(lo, hi), off);
        // SAFETY: out[r .. r + 8] exists.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(r) as *mut __m256i, s) };
        r += 8;
    }
    for rr in r..rows {
        out[rr] = crate::portable::dot_portable(&w[rr * 32..rr * 32 + 32], x);
    }
}

/// Positions per block of the weighted sums.
const BLOCK: usize = 512;

/// `w16[..wts.len()] = wts` (`wts.len() <= BLOCK`, weights in `0 ..=
/// 32767`).
#[target_feature(enable = "avx2")]
fn pack_block(wts: &[i32], w16: &mut [i16; BLOCK]) {
    let len = wts.len().min(BLOCK);
    let mut k = 0;
    while k + 8 <= len {
        // SAFETY: k + 8 <= len <= wts.len() and k + 8 <= BLOCK.
        let w = unsafe { _mm256_loadu_si256(wts.as_ptr().add(k) as *const __m256i) };
        // Weights are in 0..=32767, so the saturating pack is exact.
        let p = _mm256_permute4x64_epi64::<0b1000>(_mm256_packs_epi32(w, w));
        unsafe {
            _mm_storeu_si128(
                w16.as_mut_ptr().add(k) as *mut __m128i,
                _mm256_castsi256_si128(p),
            )
        };
        k += 8;
    }
    while k < len {
        w16[k] = wts[k] as i16;
        k += 1;
    }
}

/// [`weighted_sum_avx2`] with `vpdpwssd` on 32 positions at a time, the
/// last partial block through masked loads (which read nothing past the
/// mask and give 0 there).
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn weighted_sum_vnni(wts: &[i32], v: &[i8], stride: usize, out: &mut [i64]) -> i64 {
    let n = wts.len();
    let vp = v.as_ptr();
    let den: i64 = wts.iter().map(|&w| w as i64).sum();
    // Per block, each i32 lane sums 2 * BLOCK / 32 products below 2^22: no
    // overflow.
    let mut w16 = [0i16; BLOCK];
    let mut t0 = 0;
    while t0 < n {
        let len = (n - t0).min(BLOCK);
        pack_block(&wts[t0..t0 + len], &mut w16);
        let l32 = len / 32 * 32;
        let rem = len - l32;
        // rem < 32.
        let mask: __mmask32 = (1u32 << rem) - 1;
        // Runs of 32 weights that are all zero (common: sharp attention)
        // add nothing; skip them.
        let mut live = [false; BLOCK / 32];
        for (k, l) in live.iter_mut().enumerate().take(len.div_ceil(32)) {
            *l = w16[32 * k..(32 * k + 32).min(len)].iter().any(|&w| w != 0);
        }
        // Four dimensions at a time share each load of the weights and
        // keep four independent sums.
        let hd = out.len();
        let mut j = 0;
        while j < hd {
            // SAFETY: (all) the dimensions j .. j + K of v hold t0 + len
            // values each (checked by the caller); `lanes` reads within.
            let base = unsafe { vp.add(j * stride + t0) };
            let sums: [i32; 4] = if j + 4 <= hd {
                unsafe { dims::<4>(base, stride, &w16, &live, len, l32, mask) }
            } else {
                let mut one = [0; 4];
                one[0] = unsafe { dims::<1>(base, stride, &w16, &live, len, l32, mask) }[0];
                one
            };
            let k = if j + 4 <= hd { 4 } else { 1 };
            for (q, &v) in sums.iter().enumerate().take(k) {
                out[j + q] += v as i64;
            }
            j += k;
        }
        t0 += len;
    }
    den
}

/// `K` dimensions of [`weighted_sum_vnni`]: the sums over the block's
/// `len` positions (`w16`, skipping the runs of 32 zero weights) of the
/// values at `base + q * stride` (`q < K`). Results beyond `K` are 0.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dims<const K: usize>(
    base: *const i8,
    stride: usize,
    w16: &[i16; BLOCK],
    live: &[bool; BLOCK / 32],
    len: usize,
    l32: usize,
    mask: __mmask32,
) -> [i32; 4] {
    let mut acc = [_mm512_setzero_si512(); K];
    let mut t = 0;
    while t < len {
        if live[t / 32] {
            let m: __mmask32 = if t + 32 <= l32 { !0 } else { mask };
            // SAFETY: (caller) the mask covers w16[t .. min(t + 32, len)]
            // and each dimension's values at the same positions; masked-out
            // elements are not read and load as 0.
            let w = unsafe { _mm512_maskz_loadu_epi16(m, w16.as_ptr().add(t)) };
            for (q, a) in acc.iter_mut().enumerate() {
                let x = unsafe {
                    _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, base.add(q * stride + t)))
                };
                *a = _mm512_dpwssd_epi32(*a, x, w);
            }
        }
        t += 32;
    }
    let mut out = [0i32; 4];
    for (o, a) in out.iter_mut().zip(acc) {
        *o = _mm512_reduce_add_epi32(a);
    }
    out
}

#[target_feature(enable = "avx2")]
unsafe fn weighted_sum_avx2(wts: &[i32], v: &[i8], stride: usize, out: &mut [i64]) -> i64 {
    let n = wts.len();
    let vp = v.as_ptr();
    let den: i64 = wts.iter().map(|&w| w as i64).sum();
    // Per block, each i32 lane sums 2 * BLOCK / 16 products below 2^22: no
    // overflow.
    let mut w16 = [0i16; BLOCK];
    let mut t0 = 0;
    while t0 < n {
        let len = (n - t0).min(BLOCK);
        pack_block(&wts[t0..t0 + len], &mut w16);
        let l16 = len / 16 * 16;
        // Runs of 16 weights that are all zero (common: sharp attention)
        // add nothing; skip them.
        let mut live = [false; BLOCK / 16];
        for (k, l) in live.iter_mut().enumerate().take(l16 / 16) {
            *l = w16[16 * k..16 * k + 16].iter().any(|&w| w != 0);
        }
        // Four dimensions at a time share each load of the weights and
        // keep four independent sums.
        let hd = out.len();
        let mut j = 0;
        while j < hd {
            let k = if j + 4 <= hd { 4 } else { 1 };
            // SAFETY: the dimensions j .. j + k of v hold t0 + len values
            // each (checked by the caller); `dims_avx2` reads within.
            let sums = unsafe {
                let base = vp.add(j * stride + t0);
                if k == 4 {
                    dims_avx2::<4>(base, stride, &w16, &live, l16)
                } else {
                    dims_avx2::<1>(base, stride, &w16, &live, l16)
                }
            };
            for q in 0..k {
                let col = (j + q) * stride + t0;
                let tail: i64 = (l16..len).map(|t| w16[t] as i64 * v[col + t] as i64).sum();
                out[j + q] += sums[q] as i64 + tail;
            }
            j += k;
        }
        t0 += len;
    }
    den
}

/// `K` dimensions of [`weighted_sum_avx2`]: the sums over the block's
/// first `l16` positions (`w16`, skipping the runs of 16 zero weights) of
/// the values at `base + q * stride` (`q < K`). Results beyond `K` are 0.
#[target_feature(enable = "avx2")]
unsafe fn dims_avx2<const K: usize>(
    base: *const i8,
    stride: usize,
    w16: &[i16; BLOCK],
    live: &[bool; BLOCK / 16],
    l16: usize,
) -> [i32; 4] {
    let mut acc = [_mm256_setzero_si256(); K];
    let mut t = 0;
    while t < l16 {
        if live[t / 16] {
            // SAFETY: t + 16 <= l16 <= BLOCK; (caller) each dimension
            // holds l16 values from base + q * stride.
            let w = unsafe { _mm256_loadu_si256(w16.as_ptr().add(t) as *const __m256i) };
            for (q, a) in acc.iter_mut().enumerate() {
                let x = unsafe {
                    _mm256_cvtepi8_epi16(
                        _mm_loadu_si128(base.add(q * stride + t) as *const __m128i),
                    )
                };
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(x, w));
            }
        }
        t += 16;
    }
    let mut sums = [0i32; 4];
    for (s, a) in sums.iter_mut().zip(acc) {
        *s = hsum(a);
    }
    sums
}

/// [`crate::kernels::max_i32`]; `None` when not handled here.
#[inline]
pub fn max_i32(x: &[i32]) -> Option<i32> {
    if !has_avx2() {
        return None;
    }
    // SAFETY: AVX2 is present; reads stay within x.
    Some(unsafe { max_i32_avx2(x) })
}

#[target_feature(enable = "avx2")]
unsafe fn max_i32_avx2(x: &[i32]) -> i32 {
    let mut m = _mm256_set1_epi32(i32::MIN);
    let mut i = 0;
    while i + 8 <= x.len() {
        // SAFETY: i + 8 <= len.
        m = _mm256_max_epi32(m, unsafe {
            _mm256_loadu_si256(x.as_ptr().add(i) as *const __m256i)
        });
        i += 8;
    }
    let mut lanes = [0i32; 8];
    // SAFETY: 8 i32.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, m) };
    lanes
        .iter()
        .chain(&x[i..])
        .copied()
        .fold(i32::MIN, i32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{vec, vec::Vec};

    /// Every matvec kernel this CPU can run against the portable one.
    #[test]
    fn matvec_kernels_agree() {
        let l = level();
        let mut s = 2024u64;
        let mut rnd = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let mut shapes = vec![
            (1, 1),
            (9, 16),
            (8, 16),
            (17, 32),
            (3, 63),
            (16, 64),
            (11, 65),
        ];
        shapes.extend([(9, 128), (8, 200), (13, 256), (2, 1000), (4, 16384)]);
        shapes.extend([(8, 32), (17, 32), (256, 32), (3, 32)]);
        shapes.extend([(16, 16), (33, 16), (256, 16), (5, 16), (250, 16)]);
        for _ in 0..40 {
            shapes.push((1 + rnd() as usize % 40, 1 + rnd() as usize % 300));
        }
        for (rows, cols) in shapes {
            for fill in 0..3 {
                // Weights never hold -128 (the kernels' contract); inputs may.
                let (w, x): (Vec<i8>, Vec<i8>) = match fill {
                    0 => (
                        (0..rows * cols).map(|_| (rnd() as i8).max(-127)).collect(),
                        (0..cols).map(|_| rnd() as i8).collect(),
                    ),
                    1 => (vec![-127; rows * cols], vec![-128; cols]),
                    _ => (vec![127; rows * cols], vec![127; cols]),
                };
                let mut want = vec![0; rows];
                crate::portable::matvec_portable(&w, &x, &mut want);
                let mut got = vec![0; rows];
                if l >= AVX2 {
                    // SAFETY: AVX2 is present; w holds rows * cols bytes.
                    unsafe { matvec_avx2(&w, &x, &mut got) };
                    assert_eq!(got, want, "avx2 {rows}x{cols} fill {fill}");
                    if cols == 16 {
                        unsafe { matvec16_avx2(&w, &x, &mut got) };
                        assert_eq!(got, want, "avx2 16 {rows} fill {fill}");
                    }
                }
                if std::is_x86_feature_detected!("avxvnni") {
                    got.fill(0);
                    // SAFETY: AVX-VNNI is present; as above.
                    unsafe { matvec_avxvnni(&w, &x, &mut got) };
                    assert_eq!(got, want, "avx-vnni {rows}x{cols} fill {fill}");
                }
                if l == VNNI {
                    got.fill(0);
                    // SAFETY: AVX-512 F/VL/VNNI are present; as above.
                    unsafe { matvec_vnni256(&w, &x, &mut got) };
                    assert_eq!(got, want, "vnni256 {rows}x{cols} fill {fill}");
                    got.fill(0);
                    // SAFETY: AVX-512 F/BW/VL/VNNI are present; as above.
                    unsafe { matvec_vnni(&w, &x, &mut got) };
                    assert_eq!(got, want, "vnni {rows}x{cols} fill {fill}");
                    if cols == 16 {
                        got.fill(0);
                        unsafe { matvec16_vnni(&w, &x, &mut got) };
                        assert_eq!(got, want, "vnni 16 {rows} fill {fill}");
                    }
                    if cols == 16 {
                        got.fill(0);
                        unsafe { matvec16_vnni512(&w, &x, &mut got) };
                        assert_eq!(got, want, "vnni512 16 {rows} fill {fill}");
                    }
                    if cols == 32 {
                        got.fill(0);
                        unsafe { matvec32_vnni(&w, &x, &mut got) };
                        assert_eq!(got, want, "vnni 32 {rows} fill {fill}");
                    }
                }
                got.fill(0);
                assert!(matvec(&w, &x, &mut got) || l < AVX2);
                if l >= AVX2 {
                    assert_eq!(got, want, "dispatched {rows}x{cols} fill {fill}");
                }
            }
        }
    }

    /// Every weighted-sum kernel this CPU can run against the portable one.
    #[test]
    fn weighted_sum_kernels_agree() {
        let l = level();
        let mut s = 77u64;
        let mut rnd = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let mut shapes = vec![(1, 16), (31, 16), (32, 32), (33, 8), (511, 16), (513, 32)];
        shapes.extend([(1024, 16), (2048, 32), (700, 3)]);
        for _ in 0..20 {
            shapes.push((1 + rnd() as usize % 1200, 1 + rnd() as usize % 40));
        }
        for (n, hd) in shapes {
            // Random, extreme, and sparse weights (runs of zeros that the
            // kernels skip, as sharp attention gives).
            for mode in 0..3 {
                let extreme = mode == 1;
                let wts: Vec<i32> = (0..n)
                    .map(|t| match mode {
                        0 => (rnd() & 0x7fff) as i32,
                        1 => 32767,
                        _ if (t / 16) % 3 == 1 || rnd() % 7 == 0 => (rnd() & 0x7fff) as i32,
                        _ => 0,
                    })
                    .collect();
                let stride = n + (rnd() as usize % 5);
                let v: Vec<i8> = (0..hd * stride)
                    .map(|_| if extreme { -128 } else { rnd() as i8 })
                    .collect();
                let mut want = vec![3i64; hd];
                let dw = crate::portable::weighted_sum_portable(&wts, &v, stride, &mut want);
                if l >= AVX2 {
                    let mut got = vec![3i64; hd];
                    // SAFETY: AVX2 is present; v holds hd * stride values.
                    let d = unsafe { weighted_sum_avx2(&wts, &v, stride, &mut got) };
                    assert_eq!((d, &got), (dw, &want), "avx2 {n}x{hd}");
                }
                if l == VNNI {
                    let mut got = vec![3i64; hd];
                    // SAFETY: AVX-512 F/BW/VL/VNNI are present; as above.
                    let d = unsafe { weighted_sum_vnni(&wts, &v, stride, &mut got) };
                    assert_eq!((d, &got), (dw, &want), "vnni {n}x{hd}");
                }
            }
        }
    }
}
