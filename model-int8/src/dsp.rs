//! Kernels for Arm cores with the DSP extension (Cortex-M4/M7,
//! `thumbv7em-*`), selected at compile time (the `model_int8_dsp` cfg set by
//! `build.rs`): `SXTB16` sign-extends bytes 0 and 2 (or, rotated, 1 and 3)
//! of a word to two halfwords and `SMLAD` adds both halfword products to an
//! accumulator, so four int8 multiply-accumulates cost two `SXTB16` and two
//! `SMLAD` (the vector operand is unpacked once per call).
//!
//! They compute exactly what the portable kernels in [`crate::portable`]
//! compute: integer sums are exact, and no accumulator can overflow (see
//! [`weighted_sum`] for the one with 16-bit operands). On other targets the
//! two instructions are emulated in plain Rust, bit for bit, so the host's
//! tests run the same algorithm against the portable kernels; the firmware
//! (`tests/firmware_qemu.rs`) runs the real instructions and compares its
//! bytes with the host's.
//!
//! The only `unsafe` code is the `asm!` of the two instructions, which only
//! read and write registers.
#![allow(unsafe_code)]

use core::mem::MaybeUninit;

/// Columns of `x` unpacked at a time (the stack buffer holds `COL_BLOCK /
/// 2` words).
const COL_BLOCK: usize = 256;

/// Positions of `wts` packed at a time (at most 512: `512 * 32767 * 128 <
/// 2^31`, so a block's sum fits the `i32` accumulators of `SMLAD`).
const POS_BLOCK: usize = 256;

/// Rows of `v` [`weighted_sum`] sums at a time (its `i32` accumulators).
const ROW_GROUP: usize = 16;

/// `SXTB16 x`: bytes 0 and 2 of `x`, sign-extended to the low and high
/// halfwords.
#[inline(always)]
fn sxtb16(x: u32) -> u32 {
    #[cfg(model_int8_dsp)]
    {
        let r: u32;
        // SAFETY: SXTB16 reads one register and writes another: no memory,
        // no stack, no flags.
        unsafe {
            core::arch::asm!(
                "sxtb16 {r}, {x}",
                r = lateout(reg) r,
                x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        r
    }
    #[cfg(not(model_int8_dsp))]
    {
        let lo = x as u8 as i8 as i16 as u16 as u32;
        let hi = (x >> 16) as u8 as i8 as i16 as u16 as u32;
        lo | hi << 16
    }
}

/// `SXTB16 x, ROR #8`: bytes 1 and 3 of `x`, sign-extended to the low and
/// high halfwords.
#[inline(always)]
fn sxtb16_ror8(x: u32) -> u32 {
    #[cfg(model_int8_dsp)]
    {
        let r: u32;
        // SAFETY: as in `sxtb16`: registers only.
        unsafe {
            core::arch::asm!(
                "sxtb16 {r}, {x}, ror #8",
                r = lateout(reg) r,
                x = in(reg) x,
                options(pure, nomem, nostack, preserves_flags)
            );
        }
        r
    }
    #[cfg(not(model_int8_dsp))]
    {
        sxtb16(x.rotate_right(8))
    }
}

/// `SMLAD`: `acc + lo(a) * lo(b) + hi(a) * hi(b)` with signed halfwords
/// (the kernels keep every sum inside `i32`, where this is exact).
#[inline(always)]
fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(model_int8_dsp)]
    {
        let r: i32;
        // SAFETY: SMLAD reads three registers and writes one; it may set the
        // sticky Q flag on overflow (so flags are not declared preserved),
        // which nothing here reads.
        unsafe {
            core::arch::asm!(
                "smlad {r}, {a}, {b}, {acc}",
                r = lateout(reg) r,
                a = in(reg) a,
                b = in(reg) b,
                acc = in(reg) acc,
                options(pure, nomem, nostack)
            );
        }
        r
    }
    #[cfg(not(model_int8_dsp))]
    {
        let p = (a as i16 as i64) * (b as i16 as i64)
            + ((a >> 16) as i16 as i64) * ((b >> 16) as i16 as i64);
        (acc as i64 + p) as i32
    }
}

/// Four bytes as a little-endian word.
#[inline(always)]
fn word(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The dot products of two rows of int8 with a packed vector: `xp` holds
/// two words per four columns, halfwords `(x0, x2)` then `(x1, x3)`.
#[inline(always)]
fn dot2(r0: &[u8], r1: &[u8], xp: &[u32]) -> (i32, i32) {
    let cols = r0.len().min(r1.len()).min(2 * xp.len()) & !3;
    let (r0, r1, xp) = (&r0[..cols], &r1[..cols], &xp[..cols / 2]);
    #[cfg(model_int8_dsp)]
    let (head, a0, a1) = dot2_asm(r0, r1, xp);
    #[cfg(not(model_int8_dsp))]
    let (head, a0, a1) = (0, 0i32, 0i32);
    dot2_rust(&r0[head..], &r1[head..], &xp[head / 2..], a0, a1)
}

/// [`dot2`] in Rust (the emulated instructions on other targets), adding
/// to `a0` and `a1`.
#[inline(always)]
fn dot2_rust(r0: &[u8], r1: &[u8], xp: &[u32], mut a0: i32, mut a1: i32) -> (i32, i32) {
    for ((c0, c1), x) in r0
        .chunks_exact(4)
        .zip(r1.chunks_exact(4))
        .zip(xp.chunks_exact(2))
    {
        let (w0, w1) = (word(c0), word(c1));
        a0 = smlad(sxtb16(w0), x[0], a0);
        a1 = smlad(sxtb16(w1), x[0], a1);
        a0 = smlad(sxtb16_ror8(w0), x[1], a0);
        a1 = smlad(sxtb16_ror8(w1), x[1], a1);
    }
    (a0, a1)
}

/// The first `8 * (cols / 8)` columns of [`dot2`] in one `asm!` loop (the
/// same instructions as [`dot2_rust`], registers allocated by hand: 23
/// instructions for 16 multiply-accumulates). Returns the columns done and
/// the two sums.
#[cfg(model_int8_dsp)]
#[inline(always)]
fn dot2_asm(r0: &[u8], r1: &[u8], xp: &[u32]) -> (usize, i32, i32) {
    let n = r0.len().min(r1.len()).min(2 * xp.len()) / 8;
    if n == 0 {
        return (0, 0, 0);
    }
    let (mut a0, mut a1) = (0i32, 0i32);
    // SAFETY: the loop runs `n >= 1` times and each turn reads 8 bytes of
    // `r0`, 8 of `r1` and 4 words of `xp` (post-incremented pointers), so it
    // reads `8 n` bytes of each row and `4 n` words of `xp`, all in bounds
    // by the choice of `n`; unaligned word loads (`ldr`) are allowed on
    // ARMv7E-M, and `ldm` reads `xp`, a `[u32]`, so aligned. It writes only
    // the registers declared (flags from `subs`, and the sticky Q flag of
    // `smlad`, which cannot overflow here: each sum is below `cols * 2^14`
    // for `matvec` and `256 * 32767 * 128 < 2^31` for `weighted_sum`).
    unsafe {
        core::arch::asm!(
            "2:",
            "ldm {px}!, {{r0, r1, r2, r3}}",
            "ldr r12, [{p0}], #4",
            "sxtb16 lr, r12",
            "smlad {a0}, lr, r0, {a0}",
            "sxtb16 r12, r12, ror #8",
            "smlad {a0}, r12, r1, {a0}",
            "ldr r12, [{p0}], #4",
            "sxtb16 lr, r12",
            "smlad {a0}, lr, r2, {a0}",
            "sxtb16 r12, r12, ror #8",
            "smlad {a0}, r12, r3, {a0}",
            "ldr r12, [{p1}], #4",
            "sxtb16 lr, r12",
            "smlad {a1}, lr, r0, {a1}",
            "sxtb16 r12, r12, ror #8",
            "smlad {a1}, r12, r1, {a1}",
            "ldr r12, [{p1}], #4",
            "sxtb16 lr, r12",
            "smlad {a1}, lr, r2, {a1}",
            "sxtb16 r12, r12, ror #8",
            "smlad {a1}, r12, r3, {a1}",
            "subs {n}, {n}, #1",
            "bne 2b",
            px = inout(reg) xp.as_ptr() => _,
            p0 = inout(reg) r0.as_ptr() => _,
            p1 = inout(reg) r1.as_ptr() => _,
            n = inout(reg) n => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r12") _,
            out("lr") _,
            options(readonly, nostack),
        );
    }
    (8 * n, a0, a1)
}

/// [`dot2`] for one row.
#[inline(always)]
fn dot1(r0: &[u8], xp: &[u32]) -> i32 {
    let mut a0 = 0i32;
    for (c0, x) in r0.chunks_exact(4).zip(xp.chunks_exact(2)) {
        let w0 = word(c0);
        a0 = smlad(sxtb16(w0), x[0], a0);
        a0 = smlad(sxtb16_ror8(w0), x[1], a0);
    }
    a0
}

/// `acc[r] = rows[r] . xp` (`acc[r] += ...` when `ADD`) for every row of
/// `m` (`rows` rows of `cols` bytes, `stride` apart; `acc.len()` rows).
#[inline(always)]
fn rows_dot<const ADD: bool>(m: &[u8], stride: usize, cols: usize, xp: &[u32], acc: &mut [i32]) {
    let mut pairs = acc.chunks_exact_mut(2);
    let mut at = 0;
    for a in &mut pairs {
        let (s0, s1) = dot2(&m[at..at + cols], &m[at + stride..at + stride + cols], xp);
        if ADD {
            a[0] = a[0].wrapping_add(s0);
            a[1] = a[1].wrapping_add(s1);
        } else {
            a[0] = s0;
            a[1] = s1;
        }
        at += 2 * stride;
    }
    if let [a] = pairs.into_remainder() {
        let s = dot1(&m[at..at + cols], xp);
        *a = if ADD { a.wrapping_add(s) } else { s };
    }
}

/// [`crate::kernels::matvec`]; `false` (nothing done) for shapes it does not
/// take (`cols` not a multiple of 4).
pub(crate) fn matvec(w: &[i8], x: &[i8], out: &mut [i32]) -> bool {
    let cols = x.len();
    if cols == 0 || !cols.is_multiple_of(4) {
        return false;
    }
    // As the portable kernel: rows past the end of `w` are left alone.
    let rows = out.len().min(w.len() / cols);
    let out = &mut out[..rows];
    let w: &[u8] = bytemuck::cast_slice(w);
    let x: &[u8] = bytemuck::cast_slice(x);
    let mut buf = [MaybeUninit::<u32>::uninit(); COL_BLOCK / 2];
    let mut c0 = 0;
    while c0 < cols {
        let n = (cols - c0).min(COL_BLOCK);
        let xp = &mut buf[..n / 2];
        for (p, c) in xp.chunks_exact_mut(2).zip(x[c0..c0 + n].chunks_exact(4)) {
            let v = word(c);
            p[0].write(sxtb16(v));
            p[1].write(sxtb16_ror8(v));
        }
        let xp = assume_init(xp);
        if c0 == 0 && contiguous(w, cols, xp, out) {
            // Done: rows of 16, 32, 64 or 128 columns.
        } else if c0 == 0 {
            rows_dot::<false>(w, cols, n, xp, out);
        } else {
            rows_dot::<true>(&w[c0..], cols, n, xp, out);
        }
        c0 += n;
    }
    true
}

/// `out[r] = w[r] . xp` for the rows of `w` (contiguous rows of `cols`
/// columns, `cols` in 16, 32, 64 or 128; `xp` the whole packed vector) with
/// [`pairs_asm`]; `false` (nothing done) for other widths and on targets
/// without the instructions.
#[inline(always)]
fn contiguous(w: &[u8], cols: usize, xp: &[u32], out: &mut [i32]) -> bool {
    #[cfg(model_int8_dsp)]
    {
        let done = match cols {
            16 => pairs_asm::<16>(w, xp, out),
            32 => pairs_asm::<32>(w, xp, out),
            64 => pairs_asm::<64>(w, xp, out),
            128 => pairs_asm::<128>(w, xp, out),
            _ => return false,
        };
        let rest = &mut out[done..];
        if let [o] = rest {
            *o = dot1(&w[done * cols..(done + 1) * cols], xp);
        }
        true
    }
    #[cfg(not(model_int8_dsp))]
    {
        let _ = (w, cols, xp, out);
        false
    }
}

/// `out[r] = w[r] . xp` for the whole pairs of rows of `w` (rows of `COLS`
/// bytes, one after the other) in one `asm!` loop, the columns unrolled
/// (`.rept`): per pair of rows 21 instructions for each 8 columns (16
/// multiply-accumulates) and 7 more. Returns the rows done (even; the last
/// row of an odd count is left).
#[cfg(model_int8_dsp)]
#[inline(always)]
fn pairs_asm<const COLS: usize>(w: &[u8], xp: &[u32], out: &mut [i32]) -> usize {
    let pairs = out.len().min(w.len() / COLS) / 2;
    if pairs == 0 {
        return 0;
    }
    assert!(xp.len() >= COLS / 2 && COLS.is_multiple_of(8));
    // SAFETY: each turn of the loop reads two rows (`2 COLS` bytes from
    // `p0`, which then moves on by `2 COLS`), all of `xp` (`COLS / 2` words
    // from `px`, which is then moved back), and writes two `i32` at `out`
    // (moving on by 8 bytes); `pairs` turns stay inside `w` (`2 pairs COLS
    // <= w.len()`) and `out` (`2 pairs <= out.len()`), and `xp` holds the
    // `COLS / 2` words (asserted). `ldr` may be unaligned on ARMv7E-M; `ldm`
    // reads the `u32` slice `xp` and `strd` writes the `i32` slice `out`,
    // both word-aligned. Only the registers declared are written (and the
    // flags; `smlad` cannot overflow: `|sum| <= 128 * 128 * COLS`).
    unsafe {
        core::arch::asm!(
            "2:",
            "movs {a0}, #0",
            "movs {a1}, #0",
            ".rept {reps}",
            "ldm {px}!, {{r0, r1, r2, r3}}",
            "ldr r12, [{p0}, #{cols}]",
            "sxtb16 lr, r12",
            "smlad {a1}, lr, r0, {a1}",
            "sxtb16 r12, r12, ror #8",
            "smlad {a1}, r12, r1, {a1}",
            "ldr r12, [{p0}, #{cols4}]",
            "sxtb16 lr, r12",
            "smlad {a1}, lr, r2, {a1}",
            "sxtb16 r12, r12, ror #8",
            "smlad {a1}, r12, r3, {a1}",
            "ldr r12, [{p0}], #4",
            "sxtb16 lr, r12",
            "smlad {a0}, lr, r0, {a0}",
            "sxtb16 r12, r12, ror #8",
            "smlad {a0}, r12, r1, {a0}",
            "ldr r12, [{p0}], #4",
            "sxtb16 lr, r12",
            "smlad {a0}, lr, r2, {a0}",
            "sxtb16 r12, r12, ror #8",
            "smlad {a0}, r12, r3, {a0}",
            ".endr",
            "sub {px}, {px}, #{xbytes}",
            "add {p0}, {p0}, #{cols}",
            "strd {a0}, {a1}, [{out}], #8",
            "subs {n}, {n}, #1",
            "bne 2b",
            reps = const COLS / 8,
            cols = const COLS,
            cols4 = const COLS + 4,
            xbytes = const 2 * COLS,
            px = inout(reg) xp.as_ptr() => _,
            p0 = inout(reg) w.as_ptr() => _,
            out = inout(reg) out.as_mut_ptr() => _,
            n = inout(reg) pairs => _,
            a0 = out(reg) _,
            a1 = out(reg) _,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r12") _,
            out("lr") _,
            options(nostack),
        );
    }
    2 * pairs
}

/// `words` as initialized; every caller has just written all of them (`n /
/// 4` pairs for `n / 2` words, `n` a multiple of 4).
#[inline(always)]
fn assume_init(words: &[MaybeUninit<u32>]) -> &[u32] {
    // SAFETY: callers write every element first (above each call: the
    // `chunks_exact_mut(2)` of a slice of even length, zipped with as many
    // `chunks_exact(4)` of the source); `MaybeUninit<u32>` has the layout
    // of `u32`.
    unsafe { &*(words as *const [MaybeUninit<u32>] as *const [u32]) }
}

/// [`crate::kernels::weighted_sum`]; `None` (nothing done) when a weight is
/// outside `0 ..= 32767` (it would not fit a halfword) or a row of `v` is
/// short. Each block of [`POS_BLOCK`] positions is summed in `i32` (at most
/// `256 * 32767 * 128 < 2^31` in magnitude, so exact) and added to `out`.
pub(crate) fn weighted_sum(wts: &[i32], v: &[i8], stride: usize, out: &mut [i64]) -> Option<i64> {
    let n = wts.len();
    let rows = out.len();
    if rows > 0 && (rows - 1) * stride + n > v.len() {
        return None;
    }
    // Checked per block below when there is one block (before `out` is
    // touched), here when there are more.
    if n > POS_BLOCK && wts.iter().any(|&w| w as u32 > 32767) {
        return None;
    }
    let v: &[u8] = bytemuck::cast_slice(v);
    let mut buf = [MaybeUninit::<u32>::uninit(); POS_BLOCK / 2];
    let mut acc = [0i32; ROW_GROUP];
    let mut total = 0i64;
    let mut t0 = 0;
    while t0 < n {
        let len = (n - t0).min(POS_BLOCK);
        let wb = &wts[t0..t0 + len];
        let whole = len & !3;
        let wp = &mut buf[..whole / 2];
        // Weights below 2^15 each: their sum and their bitwise or.
        let (mut sum, mut any) = (0u32, 0u32);
        for (p, w) in wp.chunks_exact_mut(2).zip(wb.chunks_exact(4)) {
            let w = [w[0] as u32, w[1] as u32, w[2] as u32, w[3] as u32];
            p[0].write(w[0] | w[2] << 16);
            p[1].write(w[1] | w[3] << 16);
            sum = sum.wrapping_add(w[0] + w[1] + w[2] + w[3]);
            any |= w[0] | w[1] | w[2] | w[3];
        }
        let tail = &wb[whole..];
        for &w in tail {
            sum = sum.wrapping_add(w as u32);
            any |= w as u32;
        }
        if any > 32767 {
            return None;
        }
        let wp = assume_init(wp);
        total += sum as i64;
        // Rows in groups (the accumulators on the stack).
        for (g, o) in out.chunks_mut(ROW_GROUP).enumerate() {
            let acc = &mut acc[..o.len()];
            let base = g * ROW_GROUP * stride + t0;
            if whole > 0 {
                rows_dot::<false>(&v[base..], stride, whole, wp, acc);
            } else {
                acc.fill(0);
            }
            if tail.is_empty() {
                for (a, o) in acc.iter().zip(o.iter_mut()) {
                    *o += *a as i64;
                }
            } else {
                for (r, (a, o)) in acc.iter().zip(o.iter_mut()).enumerate() {
                    let at = base + r * stride + whole;
                    let rest: i32 = v[at..at + tail.len()]
                        .iter()
                        .zip(tail)
                        .map(|(&x, &w)| x as i8 as i32 * w)
                        .sum();
                    *o += a.wrapping_add(rest) as i64;
                }
            }
        }
        t0 += len;
    }
    Some(total)
}

/// [`crate::fixed::srdhm`] as one 64-bit multiply-add and shift: for a
/// negative product, TFLite's `(ab + 1 - 2^30) / 2^31` truncated toward zero
/// is `floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31)`, the same `(ab + 2^30) >>
/// 31` as for a positive one.
#[inline(always)]
fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    ((a as i64 * b as i64 + (1 << 30)) >> 31) as i32
}

/// [`crate::fixed::rdbpot`] for `1 <= e <= 31`: `floor((x + 2^(e-1) - [x <
/// 0]) / 2^e)`, rounding half away from zero.
#[inline(always)]
fn rdbpot(x: i32, e: u32) -> i32 {
    ((x as i64 + (1i64 << (e - 1)) - (x < 0) as i64) >> e) as i32
}

/// [`crate::fixed::requantize`] for `shift` in `-31 ..= 30` (the range
/// model files are checked for), the same for every `x` and `mult`.
#[inline(always)]
fn requantize(x: i32, mult: i32, shift: i32) -> i32 {
    if shift > 0 {
        srdhm(x.saturating_mul(1 << shift), mult)
    } else if shift == 0 {
        srdhm(x, mult)
    } else {
        rdbpot(srdhm(x, mult), shift.unsigned_abs())
    }
}

/// [`crate::kernels::requantize_rows`]; `false` (nothing done) when `rq`
/// is short or a shift is outside `-31 ..= 30`.
pub(crate) fn requantize_rows(acc: &mut [i32], rq: &[u8]) -> bool {
    let rq = match rq.get(..12 * acc.len()) {
        Some(r) => r,
        None => return false,
    };
    if rq
        .chunks_exact(12)
        .any(|r| !(-31..=30).contains(&(word(&r[8..]) as i32)))
    {
        return false;
    }
    for (a, r) in acc.iter_mut().zip(rq.chunks_exact(12)) {
        let (bias, mult, shift) = (word(r) as i32, word(&r[4..]) as i32, word(&r[8..]) as i32);
        *a = requantize(a.saturating_add(bias), mult, shift);
    }
    true
}

/// [`crate::kernels::softmax_weights`]; `false` (nothing done) when `shift`
/// is outside `-31 ..= 30`.
pub(crate) fn softmax_weights(
    scores: &mut [i32],
    max: i32,
    mult: i32,
    shift: i32,
    exp: &[u32; 256],
) -> bool {
    if !(-31..=30).contains(&shift) {
        return false;
    }
    // One loop per kind of shift, so none is tested per score.
    if shift > 0 {
        weights(scores, exp, |s| {
            srdhm(max.saturating_sub(s).saturating_mul(1 << shift), mult)
        });
    } else if shift == 0 {
        weights(scores, exp, |s| srdhm(max.saturating_sub(s), mult));
    } else {
        let e = shift.unsigned_abs();
        weights(scores, exp, |s| {
            rdbpot(srdhm(max.saturating_sub(s), mult), e)
        });
    }
    true
}

/// `s = min(32767, exp[u & 255] >> ((u >> 8) + 15))` with `u = max(0,
/// rq(s))` (0 when the shift reaches 32, i.e. `u >= 17 * 256`).
#[inline(always)]
fn weights(scores: &mut [i32], exp: &[u32; 256], rq: impl Fn(i32) -> i32) {
    for s in scores.iter_mut() {
        let u = rq(*s).max(0) as u32;
        *s = if u >= 17 << 8 {
            0
        } else {
            (exp[(u & 255) as usize] >> ((u >> 8) + 15)).min(32767) as i32
        };
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;
    use crate::portable::{matvec_portable, weighted_sum_portable};

    /// A small deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn i8s(&mut self, n: usize) -> Vec<i8> {
            (0..n).map(|_| self.next() as i8).collect()
        }
    }

    #[test]
    fn primitives_match_the_instructions() {
        assert_eq!(sxtb16(0x80_7f_ff_01), 0x007f_0001);
        assert_eq!(sxtb16_ror8(0x80_7f_ff_01), 0xff80_ffff);
        assert_eq!(smlad(0x8000_8000, 0x8000_8000, -1), i32::MAX);
        assert_eq!(smlad(0x0003_fffe, 0x0005_0007, 10), 10 + 15 - 14);
    }

    #[test]
    fn matvec_matches_portable() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for &(rows, cols) in &[
            (1, 4),
            (2, 16),
            (3, 16),
            (255, 16),
            (64, 64),
            (7, 260),
            (256, 64),
            (64, 256),
            (5, 1028),
            (4, 6),
        ] {
            // Extremes included: -128 in both operands.
            let mut w = rng.i8s(rows * cols);
            let mut x = rng.i8s(cols);
            w[0] = -128;
            x[0] = -128;
            let mut want = std::vec![7i32; rows + 1];
            let mut got = want.clone();
            matvec_portable(&w, &x, &mut want);
            if matvec(&w, &x, &mut got) {
                assert_eq!(got, want, "{rows}x{cols}");
            } else {
                assert!(cols % 4 != 0);
            }
            let all = std::vec![-128i8; rows * cols];
            let xs = std::vec![-128i8; cols];
            matvec_portable(&all, &xs, &mut want);
            if matvec(&all, &xs, &mut got) {
                assert_eq!(got, want, "{rows}x{cols} extreme");
            }
        }
    }

    #[test]
    fn weighted_sum_matches_portable() {
        let mut rng = Rng(12345);
        for &(rows, n, stride) in &[
            (16, 256, 256),
            (16, 1, 256),
            (16, 7, 256),
            (16, 255, 256),
            (3, 130, 131),
            (65, 9, 9),
            (16, 2048, 2048),
            (2, 1027, 1100),
        ] {
            let v = rng.i8s((rows - 1) * stride + n);
            let mut wts: Vec<i32> = (0..n).map(|_| (rng.next() % 32768) as i32).collect();
            wts[0] = 32767;
            let mut want = std::vec![-3i64; rows];
            let mut got = want.clone();
            let s = weighted_sum_portable(&wts, &v, stride, &mut want);
            assert_eq!(
                weighted_sum(&wts, &v, stride, &mut got),
                Some(s),
                "{rows} {n} {stride}"
            );
            assert_eq!(got, want, "{rows} {n} {stride}");
            // The largest sums: every weight 32767, every value -128.
            let v = std::vec![-128i8; v.len()];
            let wts = std::vec![32767i32; n];
            let s = weighted_sum_portable(&wts, &v, stride, &mut want);
            assert_eq!(weighted_sum(&wts, &v, stride, &mut got), Some(s));
            assert_eq!(got, want);
        }
        // Shapes it declines.
        let mut out = [0i64; 2];
        assert_eq!(weighted_sum(&[32768], &[1, 2], 1, &mut out), None);
        assert_eq!(weighted_sum(&[-1], &[1, 2], 1, &mut out), None);
        assert_eq!(weighted_sum(&[1, 2], &[1, 2], 1, &mut out), None);
    }
    #[test]
    fn requantize_matches_fixed() {
        let mut rng = Rng(777);
        let xs = [
            i32::MIN,
            i32::MIN + 1,
            -1 << 30,
            -3,
            -2,
            -1,
            0,
            1,
            2,
            3,
            1 << 30,
            i32::MAX,
        ];
        let mults = [0, 1, 1 << 30, i32::MAX, i32::MIN, -1, 1_518_500_250];
        for shift in -31..=30 {
            for &x in &xs {
                for &m in &mults {
                    assert_eq!(
                        requantize(x, m, shift),
                        crate::fixed::requantize(x, m, shift),
                        "{x} {m} {shift}"
                    );
                }
            }
            for _ in 0..2000 {
                let x = (rng.next() as i32) >> (rng.next() % 32);
                let m = (rng.next() as i32) >> (rng.next() % 4);
                assert_eq!(
                    requantize(x, m, shift),
                    crate::fixed::requantize(x, m, shift),
                    "{x} {m} {shift}"
                );
            }
        }
    }

    #[test]
    fn requantize_rows_and_softmax_match_portable() {
        use crate::portable::{requantize_rows_portable, softmax_weights_portable};
        let mut rng = Rng(4242);
        let exp: [u32; 256] =
            core::array::from_fn(|j| ((1u64 << 30) as f64 * (-(j as f64) / 256.0).exp2()) as u32);
        for shift in -31..=30 {
            let mut rq = Vec::new();
            let mut acc: Vec<i32> = (0..67)
                .map(|_| (rng.next() as i32) >> (rng.next() % 32))
                .collect();
            acc[0] = i32::MAX;
            acc[1] = i32::MIN;
            for o in 0..acc.len() {
                let bias = (rng.next() as i32) >> (rng.next() % 32);
                let mult = ((rng.next() as u32) >> 1) as i32 | if o % 3 == 0 { 1 << 30 } else { 0 };
                let sh = if o % 2 == 0 {
                    shift
                } else {
                    (rng.next() % 62) as i32 - 31
                };
                for v in [bias, mult, sh] {
                    rq.extend_from_slice(&v.to_le_bytes());
                }
            }
            let mut want = acc.clone();
            requantize_rows_portable(&mut want, &rq);
            assert!(requantize_rows(&mut acc, &rq));
            assert_eq!(acc, want, "shift {shift}");

            let mut scores: Vec<i32> = (0..300)
                .map(|_| (rng.next() as i32) >> (rng.next() % 32))
                .collect();
            scores[0] = i32::MIN;
            scores[1] = i32::MAX;
            for max in [*scores.iter().max().unwrap(), 12345, -7] {
                let mult = ((rng.next() as u32) >> 1) as i32 | 1 << 30;
                let mut want = scores.clone();
                let mut got = scores.clone();
                softmax_weights_portable(&mut want, max, mult, shift, &exp);
                assert!(softmax_weights(&mut got, max, mult, shift, &exp));
                assert_eq!(got, want, "shift {shift} max {max}");
            }
        }
        let mut acc = [1i32, 2];
        assert!(!requantize_rows(&mut acc, &[0u8; 12]));
    }
}
