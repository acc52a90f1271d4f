//! NEON kernels for aarch64 (`simd` feature, NEON enabled: every aarch64
//! target but the soft-float ones). `matvec` uses `SDOT` (the dot-product
//! extension, Armv8.2+) where the CPU has it: detected at run time under
//! `std`, or at compile time (`-C target-feature=+dotprod`) without it;
//! otherwise `SMULL`/`SMLAL2` into 16 bits, pairwise-added into 32. They
//! compute exactly what the portable kernels in [`crate::portable`]
//! compute:
//!
//! - Integer sums are exact. `SDOT` is a plain signed 8 x 8 -> 32 bit
//!   multiply-add (no saturation). The plain NEON `matvec` adds two
//!   products in an `i16` lane before widening: since `w` never holds
//!   `-128`, each product is at most `127 * 128 = 16256` in magnitude and
//!   two stay below `2^15`. Every `i32` partial sum is below `16384 * 2^14
//!   = 2^28` (`cols <= d_ff <= 16384`).
//! - The fixed-point primitives map onto single instructions:
//!   `saturating_mul(x, 2^l)` is `SQSHL`, TFLite's
//!   `SaturatingRoundingDoublingHighMul` is `SQRDMULH` (both compute
//!   `floor((a b + 2^30) / 2^31)`, saturating only `MIN * MIN`), and
//!   `RoundingDivideByPOT` (half away from zero) is `SRSHR` (half up) after
//!   subtracting 1 from negative inputs when the shift is not 0 (gemmlowp's
//!   NEON fix-up; the saturating subtract only touches `i32::MIN`, which is
//!   a multiple of every power of two and rounds the same either way).
//!
//! With the crate's `simd` module this is the only `unsafe` code: calling
//! `target_feature` functions (NEON is enabled in the build configuration;
//! dot-product is detected first), raw loads and stores within bounds
//! checked before the loops that make them, and the `SDOT` instruction as
//! inline assembly (its intrinsic is not stable Rust yet).
#![allow(unsafe_code)]

use core::arch::aarch64::*;
use core::arch::asm;

/// Whether the CPU has the dot-product instructions (`SDOT`).
#[inline]
fn has_dotprod() -> bool {
    #[cfg(target_feature = "dotprod")]
    {
        true
    }
    #[cfg(all(not(target_feature = "dotprod"), feature = "std"))]
    {
        use std::sync::atomic::{AtomicU8, Ordering};
        // 0: not asked yet, 1: no, 2: yes.
        static DOT: AtomicU8 = AtomicU8::new(0);
        match DOT.load(Ordering::Relaxed) {
            0 => {
                let d = std::arch::is_aarch64_feature_detected!("dotprod")
                    && std::env::var(crate::kernels::FORCE_VAR).as_deref() != Ok("neon");
                DOT.store(1 + u8::from(d), Ordering::Relaxed);
                d
            }
            v => v == 2,
        }
    }
    #[cfg(all(not(target_feature = "dotprod"), not(feature = "std")))]
    {
        false
    }
}

/// Name of the kernel set in use (always `Some`).
pub fn name() -> Option<&'static str> {
    Some(if has_dotprod() {
        "neon-dotprod"
    } else {
        "neon"
    })
}

/// [`crate::kernels::matvec`]; `false` when not handled here.
#[inline]
pub fn matvec(w: &[i8], x: &[i8], out: &mut [i32]) -> bool {
    let cols = x.len();
    if cols == 0 || w.len() < out.len() * cols {
        return false;
    }
    // SAFETY: NEON is enabled in the build configuration (this module's
    // cfg) and dot-product was detected before `matvec_sdot` runs; the
    // kernels read `w[..rows * cols]` and `x[..cols]` only, and `w` is long
    // enough (checked above).
    unsafe {
        if has_dotprod() {
            matvec_sdot(w, x, out)
        } else {
            matvec_neon(w, x, out)
        }
    }
    true
}

/// `acc + [sum of a[4i..4i+4] * b[4i..4i+4]]` for each lane `i`: one `SDOT`.
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn sdot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: the instruction reads and writes these registers only (no
    // memory, flags or stack); this function is compiled with the
    // dot-product feature, which its callers checked the CPU has.
    unsafe {
        asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    acc
}

/// `acc + pairwise sums of a * b` over 16 bytes without the dot-product
/// extension: two products per `i16` lane (below `2^15`, see the module
/// docs), then widened and added in pairs into four `i32` lanes.
#[inline]
#[target_feature(enable = "neon")]
fn dot16_neon(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    vpadalq_s16(acc, vmlal_high_s8(p, a, b))
}

/// The four lane sums of `a`, `b`, `c`, `d`, in that order.
#[inline]
#[target_feature(enable = "neon")]
fn hsum4(a: int32x4_t, b: int32x4_t, c: int32x4_t, d: int32x4_t) -> int32x4_t {
    vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d))
}

/// The shared body of the two matrix-vector kernels: 16 columns per step
/// through `dot`, four rows at a time sharing each load of `x`, the last
/// `cols % 16` columns by the portable dot product.
macro_rules! matvec_body {
    ($w:ident, $x:ident, $out:ident, $dot:ident) => {{
        let cols = $x.len();
        let rows = $out.len();
        let c16 = cols / 16 * 16;
        let xp = $x.as_ptr();
        let wp = $w.as_ptr();
        let tail = |r: usize| -> i32 {
            if c16 < cols {
                crate::portable::dot_portable(&$w[r * cols + c16..(r + 1) * cols], &$x[c16..])
            } else {
                0
            }
        };
        let mut r = 0;
        while r + 4 <= rows {
            let mut acc = [vdupq_n_s32(0); 4];
            let mut c = 0;
            while c < c16 {
                // SAFETY: c + 16 <= c16 <= cols, and (r + 3) * cols + c +
                // 16 <= rows * cols <= w.len() (checked by the caller).
                let xv = unsafe { vld1q_s8(xp.add(c)) };
                for (k, a) in acc.iter_mut().enumerate() {
                    let wv = unsafe { vld1q_s8(wp.add((r + k) * cols + c)) };
                    *a = $dot(*a, wv, xv);
                }
                c += 16;
            }
            let t = [tail(r), tail(r + 1), tail(r + 2), tail(r + 3)];
            // SAFETY: `t` holds four i32.
            let s = vaddq_s32(hsum4(acc[0], acc[1], acc[2], acc[3]), unsafe {
                vld1q_s32(t.as_ptr())
            });
            // SAFETY: r + 4 <= rows = out.len().
            unsafe { vst1q_s32($out.as_mut_ptr().add(r), s) };
            r += 4;
        }
        while r < rows {
            let mut acc = vdupq_n_s32(0);
            let mut c = 0;
            while c < c16 {
                // SAFETY: as above, for the one row r < rows.
                let (xv, wv) = unsafe { (vld1q_s8(xp.add(c)), vld1q_s8(wp.add(r * cols + c))) };
                acc = $dot(acc, wv, xv);
                c += 16;
            }
            $out[r] = vaddvq_s32(acc) + tail(r);
            r += 1;
        }
    }};
}

/// [`crate::kernels::matvec`] with `SDOT`. Needs `w.len() >= rows * cols`.
#[target_feature(enable = "neon,dotprod")]
fn matvec_sdot(w: &[i8], x: &[i8], out: &mut [i32]) {
    matvec_body!(w, x, out, sdot)
}

/// [`crate::kernels::matvec`] with plain NEON. Needs `w.len() >= rows *
/// cols`.
#[target_feature(enable = "neon")]
fn matvec_neon(w: &[i8], x: &[i8], out: &mut [i32]) {
    matvec_body!(w, x, out, dot16_neon)
}

/// Positions per block of the weighted sums.
const BLOCK: usize = 512;

/// [`crate::kernels::weighted_sum`]; `None` when not handled here.
#[inline]
pub fn weighted_sum(wts: &[i32], v: &[i8], stride: usize, out: &mut [i64]) -> Option<i64> {
    let hd = out.len();
    let n = wts.len();
    if hd == 0 || n > stride || v.len() < (hd - 1) * stride + n {
        return None;
    }
    // SAFETY: NEON is enabled in the build configuration; reads stay
    // within `v[j * stride ..][..n]` for `j < hd` (checked above) and
    // `wts`.
    Some(unsafe { weighted_sum_neon(wts, v, stride, out) })
}

/// Weights packed to `i16` per block of [`BLOCK`] positions, 16 positions
/// per step with `SMLAL`/`SMLAL2` (`i16 x i16 -> i32`). Per block each
/// `i32` lane sums `BLOCK / 4` products below `32767 * 128 < 2^22`: below
/// `2^29`, no overflow.
#[target_feature(enable = "neon")]
fn weighted_sum_neon(wts: &[i32], v: &[i8], stride: usize, out: &mut [i64]) -> i64 {
    let n = wts.len();
    let vp = v.as_ptr();
    let den: i64 = wts.iter().map(|&w| w as i64).sum();
    let mut w16 = [0i16; BLOCK];
    let mut t0 = 0;
    while t0 < n {
        let len = (n - t0).min(BLOCK);
        // Weights are in 0..=32767: exact as i16.
        for (d, &s) in w16.iter_mut().zip(&wts[t0..t0 + len]) {
            *d = s as i16;
        }
        let l16 = len / 16 * 16;
        let wp = w16.as_ptr();
        for (j, o) in out.iter_mut().enumerate() {
            let col = j * stride + t0;
            let mut a0 = vdupq_n_s32(0);
            let mut a1 = vdupq_n_s32(0);
            let mut t = 0;
            while t < l16 {
                // SAFETY: col + t + 16 <= j * stride + n <= v.len(); t + 16
                // <= len <= BLOCK.
                let (x, wl, wh) = unsafe {
                    (
                        vld1q_s8(vp.add(col + t)),
                        vld1q_s16(wp.add(t)),
                        vld1q_s16(wp.add(t + 8)),
                    )
                };
                let xl = vmovl_s8(vget_low_s8(x));
                let xh = vmovl_high_s8(x);
                a0 = vmlal_s16(a0, vget_low_s16(xl), vget_low_s16(wl));
                a1 = vmlal_high_s16(a1, xl, wl);
                a0 = vmlal_s16(a0, vget_low_s16(xh), vget_low_s16(wh));
                a1 = vmlal_high_s16(a1, xh, wh);
                t += 16;
            }
            let mut s = vaddlvq_s32(vaddq_s32(a0, a1));
            for tt in l16..len {
                s += w16[tt] as i64 * v[col + tt] as i64;
            }
            *o += s;
        }
        t0 += len;
    }
    den
}

/// TFLite / CMSIS-NN `requantize` on four lanes (see the module docs):
/// `SQSHL` by `max(shift, 0)`, `SQRDMULH` by `mult`, then a rounding right
/// shift by `max(-shift, 0)`, half away from zero.
#[inline]
#[target_feature(enable = "neon")]
fn requantize4(x: int32x4_t, mult: int32x4_t, shift: int32x4_t) -> int32x4_t {
    let zero = vdupq_n_s32(0);
    let left = vmaxq_s32(shift, zero);
    // Negative: the right shift `SRSHL` performs.
    let right = vminq_s32(shift, zero);
    let y = vqrdmulhq_s32(vqshlq_s32(x, left), mult);
    // -1 where y < 0 and the shift is not 0.
    let fixup = vshrq_n_s32::<31>(vandq_s32(y, right));
    vrshlq_s32(vqaddq_s32(y, fixup), right)
}

/// [`crate::kernels::softmax_weights`]; always handled.
#[inline]
pub fn softmax_weights(
    scores: &mut [i32],
    max: i32,
    mult: i32,
    shift: i32,
    exp: &[u32; 256],
) -> bool {
    // SAFETY: NEON is enabled in the build configuration; reads and writes
    // stay within `scores`, table lookups within `exp`.
    unsafe { softmax_weights_neon(scores, max, mult, shift, exp) };
    true
}

/// Four scores at a time; the table lookups are scalar (NEON has no
/// gather) and skipped when all four weights are 0.
#[target_feature(enable = "neon")]
fn softmax_weights_neon(scores: &mut [i32], max: i32, mult: i32, shift: i32, exp: &[u32; 256]) {
    let n = scores.len();
    let vmax = vdupq_n_s32(max);
    let vmult = vdupq_n_s32(mult);
    let vshift = vdupq_n_s32(shift);
    let zero = vdupq_n_s32(0);
    let fifteen = vdupq_n_u32(15);
    let c32 = vdupq_n_u32(32);
    let cap = vdupq_n_u32(32767);
    let p = scores.as_mut_ptr();
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n.
        let s = unsafe { vld1q_s32(p.add(i)) };
        // u = max(requantize(max -sat s), 0); sh = min((u >> 8) + 15, 32).
        let u = vmaxq_s32(requantize4(vqsubq_s32(vmax, s), vmult, vshift), zero);
        let u = vreinterpretq_u32_s32(u);
        let sh = vminq_u32(vaddq_u32(vshrq_n_u32::<8>(u), fifteen), c32);
        if vminvq_u32(sh) >= 32 {
            // All four weights are 0 (common with sharp attention).
            // SAFETY: i + 4 <= n.
            unsafe { vst1q_s32(p.add(i), zero) };
            i += 4;
            continue;
        }
        // `as u8`: the low 8 bits, an index below 256.
        let e = [
            exp[vgetq_lane_u32::<0>(u) as u8 as usize],
            exp[vgetq_lane_u32::<1>(u) as u8 as usize],
            exp[vgetq_lane_u32::<2>(u) as u8 as usize],
            exp[vgetq_lane_u32::<3>(u) as u8 as usize],
        ];
        // SAFETY: `e` holds four u32.
        let e = unsafe { vld1q_u32(e.as_ptr()) };
        // A right shift by 32 (`USHL` by -32) gives 0, as the portable code.
        let w = vminq_u32(vshlq_u32(e, vnegq_s32(vreinterpretq_s32_u32(sh))), cap);
        // SAFETY: i + 4 <= n.
        unsafe { vst1q_s32(p.add(i), vreinterpretq_s32_u32(w)) };
        i += 4;
    }
    crate::portable::softmax_weights_portable(&mut scores[i..], max, mult, shift, exp);
}

/// [`crate::kernels::requantize_rows`]; `false` when not handled here.
#[inline]
pub fn requantize_rows(acc: &mut [i32], rq: &[u8]) -> bool {
    // The rows are little-endian bytes, reinterpreted as lanes in place.
    if cfg!(target_endian = "big") || rq.len() < 12 * acc.len() {
        return false;
    }
    // SAFETY: NEON is enabled in the build configuration; reads stay within
    // `rq[..12 * acc.len()]` (checked above) and `acc`.
    unsafe { requantize_rows_neon(acc, rq) };
    true
}

/// Byte indices of field `f` (0 bias, 1 mult, 2 shift) of four
/// consecutive 12-byte `[bias, mult, shift]` rows.
const fn field_index(f: u8) -> [u8; 16] {
    let mut idx = [0u8; 16];
    let mut k = 0;
    while k < 16 {
        idx[k] = (k as u8 / 4) * 12 + f * 4 + k as u8 % 4;
        k += 1;
    }
    idx
}

/// Four rows at a time: 48 bytes of `[bias, mult, shift]` rows (any
/// alignment) de-interleaved by three table lookups (`TBL`), the saturating
/// add `acc + bias`, then [`requantize4`].
#[target_feature(enable = "neon")]
fn requantize_rows_neon(acc: &mut [i32], rq: &[u8]) {
    const IB: [u8; 16] = field_index(0);
    const IM: [u8; 16] = field_index(1);
    const IS: [u8; 16] = field_index(2);
    let n = acc.len();
    // SAFETY: each array holds 16 bytes.
    let (ib, im, is) = unsafe {
        (
            vld1q_u8(IB.as_ptr()),
            vld1q_u8(IM.as_ptr()),
            vld1q_u8(IS.as_ptr()),
        )
    };
    let p = acc.as_mut_ptr();
    let q = rq.as_ptr();
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: rows i .. i + 4 are rq[12 i .. 12 i + 48], within
        // rq[..12 n]; acc[i .. i + 4] exists.
        let (t, a) = unsafe {
            (
                uint8x16x3_t(
                    vld1q_u8(q.add(12 * i)),
                    vld1q_u8(q.add(12 * i + 16)),
                    vld1q_u8(q.add(12 * i + 32)),
                ),
                vld1q_s32(p.add(i)),
            )
        };
        // Little-endian (checked by the caller): the bytes are the lanes.
        let bias = vreinterpretq_s32_u8(vqtbl3q_u8(t, ib));
        let mult = vreinterpretq_s32_u8(vqtbl3q_u8(t, im));
        let shift = vreinterpretq_s32_u8(vqtbl3q_u8(t, is));
        let r = requantize4(vqaddq_s32(a, bias), mult, shift);
        // SAFETY: as above.
        unsafe { vst1q_s32(p.add(i), r) };
        i += 4;
    }
    crate::portable::requantize_rows_portable(&mut acc[i..], &rq[12 * i..]);
}

/// [`crate::kernels::max_i32`]; always handled.
#[inline]
pub fn max_i32(x: &[i32]) -> Option<i32> {
    // SAFETY: NEON is enabled in the build configuration; reads stay
    // within `x`.
    Some(unsafe { max_i32_neon(x) })
}

#[target_feature(enable = "neon")]
fn max_i32_neon(x: &[i32]) -> i32 {
    let mut m = vdupq_n_s32(i32::MIN);
    let mut i = 0;
    while i + 4 <= x.len() {
        // SAFETY: i + 4 <= x.len().
        m = vmaxq_s32(m, unsafe { vld1q_s32(x.as_ptr().add(i)) });
        i += 4;
    }
    x[i..].iter().copied().fold(vmaxvq_s32(m), i32::max)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use std::{vec, vec::Vec};

    /// Both matrix-vector kernels (`SDOT` where this CPU has it) against
    /// the portable one; `tests/kernels.rs` checks the dispatched kernels.
    #[test]
    fn matvec_kernels_agree() {
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
            (4, 15),
            (5, 17),
            (17, 32),
            (3, 63),
            (16, 64),
            (11, 65),
        ];
        shapes.extend([(9, 128), (8, 200), (13, 256), (2, 1000), (4, 16384)]);
        for _ in 0..40 {
            shapes.push((1 + rnd() as usize % 40, 1 + rnd() as usize % 300));
        }
        let dotprod = has_dotprod();
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
                // SAFETY: NEON is enabled; w holds rows * cols bytes.
                unsafe { matvec_neon(&w, &x, &mut got) };
                assert_eq!(got, want, "neon {rows}x{cols} fill {fill}");
                if dotprod {
                    got.fill(0);
                    // SAFETY: dot-product is present; as above.
                    unsafe { matvec_sdot(&w, &x, &mut got) };
                    assert_eq!(got, want, "sdot {rows}x{cols} fill {fill}");
                }
            }
        }
    }
}
