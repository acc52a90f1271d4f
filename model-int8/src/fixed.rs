//! Fixed-point primitives of the integer inference (TFLite / CMSIS-NN
//! conventions), shared by the quantizer so both sides agree bit for bit.

/// TFLite's `SaturatingRoundingDoublingHighMul`: `round(a * b / 2^31)`,
/// rounding half away from zero, saturating the one overflow case.
#[inline(always)]
pub const fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 {
        1i64 << 30
    } else {
        1 - (1i64 << 30)
    };
    // Division truncates toward zero, as in TFLite.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// TFLite's `RoundingDivideByPOT`: `x / 2^exp` rounded half away from zero
/// (`0 <= exp <= 31`).
#[inline(always)]
pub const fn rdbpot(x: i32, exp: u32) -> i32 {
    let mask = ((1i64 << exp) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exp) + (remainder > threshold) as i32
}

/// CMSIS-NN `arm_nn_requantize`: `x * mult * 2^(shift - 31)` with TFLite's
/// double rounding. `shift` is in `-31 ..= 30`; a left shift saturates.
#[inline(always)]
pub const fn requantize(x: i32, mult: i32, shift: i32) -> i32 {
    let left = if shift > 0 { shift as u32 } else { 0 };
    let right = if shift < 0 { (-shift) as u32 } else { 0 };
    let x = x.saturating_mul(1 << left);
    rdbpot(srdhm(x, mult), right)
}

/// `a / b` rounded half away from zero (`b > 0`).
#[inline(always)]
pub const fn round_div(a: i64, b: i64) -> i64 {
    if a >= 0 {
        (a + b / 2) / b
    } else {
        -((-a + b / 2) / b)
    }
}

/// `floor(sqrt(x))`, exact (core's integer square root: no floats).
#[inline]
pub const fn isqrt(x: u64) -> u64 {
    x.isqrt()
}

/// Clamps to the `i8` range.
#[inline(always)]
pub const fn sat_i8(x: i32) -> i8 {
    if x > 127 {
        127
    } else if x < -128 {
        -128
    } else {
        x as i8
    }
}

/// Clamps to the symmetric range `-127 ..= 127`: every int8 activation
/// that meets another signed int8 in a dot product is kept off `-128`, so
/// SIMD kernels built on `maddubs` (unsigned x signed) never saturate.
#[inline(always)]
pub const fn sym_i8(x: i32) -> i8 {
    if x > 127 {
        127
    } else if x < -127 {
        -127
    } else {
        x as i8
    }
}

/// Splits a positive real multiplier into a Q31 `mult` in `[2^30, 2^31)`
/// and a `shift` (`m = mult * 2^(shift - 31)`). Tiny multipliers become
/// `(0, 0)`; `None` when the shift would exceed 30.
#[cfg(feature = "std")]
pub fn quantize_multiplier(m: f64) -> Option<(i32, i32)> {
    if !m.is_finite() || m < 0.0 {
        return None;
    }
    if m == 0.0 {
        return Some((0, 0));
    }
    let mut e = m.log2().floor() as i32 + 1;
    let mut q = (m / 2f64.powi(e) * (1u64 << 31) as f64).round() as i64;
    // Guard against log2 rounding at exact powers of two.
    while q >= 1i64 << 31 {
        q = (q + 1) / 2;
        e += 1;
    }
    while q < 1i64 << 30 {
        q *= 2;
        e -= 1;
    }
    if e < -31 {
        return Some((0, 0));
    }
    if e > 30 {
        return None;
    }
    Some((q as i32, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantize_matches_real_multiplication() {
        for &m in &[0.0003, 0.01, 0.37, 0.5, 0.999, 1.0, 3.7, 100.0] {
            let (q, s) = quantize_multiplier(m).unwrap();
            for &x in &[0, 1, -1, 77, -77, 12345, -12345, 1_000_000] {
                let want = (x as f64 * m).round();
                let got = requantize(x, q, s) as f64;
                assert!((got - want).abs() <= 1.0, "m {m} x {x}: {got} vs {want}");
            }
        }
        assert_eq!(rdbpot(5, 1), 3);
        assert_eq!(rdbpot(-5, 1), -3);
        assert_eq!(rdbpot(-4, 1), -2);
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
    }

    #[test]
    fn isqrt_is_floor_sqrt() {
        for x in [
            0u64,
            1,
            2,
            3,
            4,
            15,
            16,
            17,
            1 << 40,
            (1 << 62) + 12345,
            u64::MAX,
        ] {
            let r = isqrt(x);
            assert!(r * r <= x);
            assert!((r + 1).checked_mul(r + 1).is_none_or(|s| s > x));
        }
        assert_eq!(round_div(5, 2), 3);
        assert_eq!(round_div(-5, 2), -3);
        assert_eq!(round_div(4, 3), 1);
    }
}
