//! The logistic domain in integers: `stretch(p) = ln(p / (1 - p))` and its
//! inverse `squash`, plus `log2`, all from tables that `const fn` integer
//! code builds at compile time (no floats anywhere, so every machine gets
//! the same bits).
//!
//! Units: probabilities are 16-bit (`p / 2^16`, the chance of a one);
//! stretched values are natural-log odds times 256 (`st = 256` is odds
//! `e : 1`).

/// Largest stretched value squash distinguishes; beyond `±16` nats a
/// 16-bit probability is already clamped.
pub(crate) const ST_MAX: i32 = 4095;

const ONE62: u128 = 1 << 62;

/// `log2(x)` in Q20 (floor of the 20-bit fraction), for `x >= 1`: the
/// mantissa is squared bit by bit.
const fn log2_q20(x: u64) -> i64 {
    let n = 63 - x.leading_zeros() as i64;
    let mut y: u128 = ((x as u128) << 62) >> n;
    let mut frac: i64 = 0;
    let mut k = 0;
    while k < 20 {
        y = (y * y) >> 62;
        frac <<= 1;
        if y >= 2 * ONE62 {
            y >>= 1;
            frac |= 1;
        }
        k += 1;
    }
    (n << 20) + frac
}

/// `ln 2` in Q32 (`round(0.693147180559945 * 2^32)`; a unit test checks it).
const LN2_Q32: i128 = 2_977_044_472;

/// `e^(-x / 256)` in Q62, for `x >= 0`: `e^(-1/256)` by its Taylor series,
/// raised to the `x` by squaring.
const fn exp_neg_q62(x: u32) -> u128 {
    // e^(-1/256) = Σ (-1/256)^k / k!
    let mut sum: i128 = ONE62 as i128;
    let mut term: i128 = ONE62 as i128;
    let mut k = 1;
    while k < 12 {
        term = -term / (256 * k);
        sum += term;
        k += 1;
    }
    let mut base = sum as u128;
    let mut acc = ONE62;
    let mut e = x;
    while e > 0 {
        if e & 1 == 1 {
            acc = (acc * base) >> 62;
        }
        base = (base * base) >> 62;
        e >>= 1;
    }
    acc
}

/// `2^16 / (1 + e^(-x/256))`, rounded, exact in its symmetry.
const fn sigmoid16(x: i32) -> i32 {
    let a = if x < 0 { -x } else { x };
    let d = ONE62 + exp_neg_q62(a as u32);
    let p = (((1u128 << 78) + d / 2) / d) as i32;
    if x < 0 {
        65536 - p
    } else {
        p
    }
}

/// Squash knots every 32 units from `-4096` to `4096`.
const SQUASH_T: [i32; 257] = {
    let mut t = [0i32; 257];
    let mut i = 0;
    while i < 257 {
        t[i] = sigmoid16(32 * i as i32 - 4096);
        i += 1;
    }
    t
};

/// Probability (16-bit, `0..=65536`) of the stretched value `x`, by linear
/// interpolation between knots `1/8` nat apart. Monotone.
#[inline]
pub(crate) fn squash(x: i32) -> i32 {
    let x = x.clamp(-4096, ST_MAX) + 4096;
    let i = (x >> 5) as usize;
    let f = x & 31;
    let (a, b) = (SQUASH_T[i], SQUASH_T[i + 1]);
    a + (((b - a) * f) >> 5)
}

/// `round(256 * ln(p / (1 - p)))` at `p = (2i + 1) / 8192`, `i < 4096`.
const STRETCH_T: [i16; 4096] = {
    let mut t = [0i16; 4096];
    let mut i = 0;
    while i < 4096 {
        let d = log2_q20(2 * i as u64 + 1) - log2_q20(8191 - 2 * i as u64);
        // Q20 * Q32 -> Q52; times 256 -> shift by 44.
        let v = (d as i128 * LN2_Q32 + (1 << 43)) >> 44;
        t[i] = v as i16;
        i += 1;
    }
    t
};

/// The stretched value of a 16-bit probability (`0..=65535`), at 12-bit
/// resolution (`±2306` at the ends).
#[inline]
pub(crate) fn stretch(p16: u32) -> i32 {
    i32::from(STRETCH_T[(p16 >> 4) as usize & 4095])
}

/// `round(2^16 * log2(1 + i / 256))`.
const LOG2_T: [i32; 257] = {
    let mut t = [0i32; 257];
    let mut i = 0;
    while i < 257 {
        t[i] = ((log2_q20(256 + i as u64) - (8 << 20) + 8) >> 4) as i32;
        i += 1;
    }
    t
};

/// `log2(x)` in Q16 for `x >= 1` (0 for `x == 0`), within `2^-16` or so.
#[inline]
pub(crate) fn log2_q16(x: u32) -> i32 {
    if x == 0 {
        return 0;
    }
    let n = 31 - x.leading_zeros();
    let m = x << (31 - n);
    let i = ((m >> 23) & 255) as usize;
    let f = ((m >> 15) & 255) as i32;
    let (a, b) = (LOG2_T[i], LOG2_T[i + 1]);
    ((n as i32) << 16) + a + (((b - a) * f) >> 8)
}

/// The stretched value of the odds `m1 : m0` (both `>= 1`), exact to the
/// table's `log2`: `256 * ln(m1 / m0)`, clamped to `±ST_MAX`.
#[inline]
pub(crate) fn stretch_odds(m1: u32, m0: u32) -> i32 {
    let d = i64::from(log2_q16(m1) - log2_q16(m0));
    // Q16 * Q32 -> Q48; times 256 -> shift by 40.
    let v = (i128::from(d) * LN2_Q32 + (1 << 39)) >> 40;
    (v as i32).clamp(-ST_MAX, ST_MAX)
}

/// Cost in Q16 bits of an event of 16-bit probability `p` (`1..=65536`).
#[inline]
pub(crate) fn cost_q16(p: u32) -> u32 {
    ((16 << 16) - log2_q16(p)).max(0) as u32
}

/// Bit-history states: counts `n0, n1` of zeros and ones in a context,
/// each `0..=15`, state `16 * n0 + n1`. An observed bit increments its
/// count and, when the other count is above 2, discards about half of it
/// (recent bits weigh more).
pub(crate) const STATE_NEXT: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut s = 0;
    while s < 256 {
        let (n0, n1) = (s >> 4, s & 15);
        t[s][0] = (16 * up(n0) + down(n1)) as u8;
        t[s][1] = (16 * down(n0) + up(n1)) as u8;
        s += 1;
    }
    t
};

const fn up(n: usize) -> usize {
    if n < 15 {
        n + 1
    } else {
        n
    }
}

const fn down(n: usize) -> usize {
    if n > 2 {
        n / 2 + 1
    } else {
        n
    }
}

/// A state map's starting probability (Q22) for each state:
/// `(n1 + 1/2) / (n0 + n1 + 1)`.
pub(crate) const STATE_P22: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut s = 0;
    while s < 256 {
        let (n0, n1) = ((s >> 4) as u64, (s & 15) as u64);
        t[s] = (((2 * n1 + 1) << 22) / (2 * (n0 + n1) + 2)) as u32;
        s += 1;
    }
    t
};

/// `2^17 / (2n + 3)`: the adaptation rate `1 / (n + 1.5)` of a counter
/// that has seen `n` events, in Q16.
pub(crate) const RECIPROCAL: [u32; 1024] = {
    let mut t = [0u32; 1024];
    let mut n = 0;
    while n < 1024 {
        t[n] = (1 << 17) / (2 * n as u32 + 3);
        n += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "std")]
    #[test]
    fn constants_match_floats() {
        // The host may use floats to check the integer tables.
        let ln2 = core::f64::consts::LN_2;
        assert_eq!(LN2_Q32, (ln2 * 4_294_967_296.0).round() as i128);
        for x in (-4096..=4096).step_by(7) {
            let want = 65536.0 / (1.0 + (-(x as f64) / 256.0).exp());
            let got = squash(x) as f64;
            assert!(
                // Linear interpolation 1/8 nat apart: within 2e-4.
                (got - want).abs() <= 16.0,
                "squash({x}) = {got}, want {want}"
            );
        }
        for i in (0..4096).step_by(3) {
            let p = (2 * i + 1) as f64 / 8192.0;
            let want = 256.0 * (p / (1.0 - p)).ln();
            assert!((f64::from(STRETCH_T[i]) - want).abs() <= 1.0, "{i}");
        }
        for x in [1u32, 2, 3, 255, 256, 1000, 65535, 1 << 24, u32::MAX] {
            let want = (x as f64).log2() * 65536.0;
            assert!((log2_q16(x) as f64 - want).abs() <= 2.0, "{x}");
        }
        assert_eq!(stretch_odds(1, 1), 0);
        let want = 256.0 * (3.0f64).ln();
        assert!((stretch_odds(3 << 20, 1 << 20) as f64 - want).abs() <= 1.0);
    }

    #[test]
    fn squash_and_stretch_are_monotone_inverses() {
        for x in -4096..4096 {
            assert!(squash(x) <= squash(x + 1));
        }
        for p in (8..65528).step_by(16) {
            let back = squash(stretch(p));
            assert!((back - p as i32).abs() <= 16 + p as i32 / 200, "{p} {back}");
        }
        assert_eq!(squash(0), 32768);
        assert_eq!(squash(100) + squash(-100), 65536);
    }
}
