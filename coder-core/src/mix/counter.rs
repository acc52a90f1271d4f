//! Adaptive probabilities: state maps (bit-history state to probability)
//! and adaptive probability maps (probability and context to probability).

use super::config::APM_BUCKETS;
use super::mem::{rd16, rd32, wr16, wr32};
use super::tables::{squash, RECIPROCAL, STATE_P22};

/// A state map entry: a 22-bit probability over a 10-bit count.
#[inline(always)]
pub(crate) fn sm_p16(m: &[u8], o: usize) -> u32 {
    rd32(m, o) >> 16
}

/// Moves the entry at `o` towards `bit` at rate `1 / (n + 1.5)`, with the
/// count `n` stopping at `limit` (`<= 1023`).
#[inline(always)]
pub(crate) fn sm_update(m: &mut [u8], o: usize, bit: u32, limit: u32) {
    let t = rd32(m, o);
    let n = t & 1023;
    let p = i64::from(t >> 10);
    let target = if bit != 0 { (1 << 22) - 1 } else { 0 };
    let p = p + (((target - p) * i64::from(RECIPROCAL[n as usize])) >> 16);
    let n = if n < limit { n + 1 } else { n };
    wr32(m, o, ((p as u32) << 10) | n);
}

/// Fills a 256-entry state map at `o` with the states' starting values.
pub(crate) fn sm_init(m: &mut [u8], o: usize) {
    for (s, &p) in STATE_P22.iter().enumerate() {
        wr32(m, o + 4 * s, p << 10);
    }
}

/// Bytes of one APM context.
pub(crate) const APM_LEN: usize = 2 * APM_BUCKETS;

/// Sets `contexts` APM contexts at `o` to the identity map.
pub(crate) fn apm_init(m: &mut [u8], o: usize, contexts: usize) {
    let mut row = [0u8; APM_LEN];
    for j in 0..APM_BUCKETS {
        let p = squash((j as i32 - 16) * 128).clamp(0, 65535) as u32;
        wr16(&mut row, 2 * j, p);
    }
    for c in m[o..o + contexts * APM_LEN].chunks_exact_mut(APM_LEN) {
        c.copy_from_slice(&row);
    }
}

/// The refined probability of stretched `st` in the context row at `o`,
/// and the offset of the bucket to update.
#[inline(always)]
pub(crate) fn apm_p(m: &[u8], o: usize, st: i32) -> (u32, usize) {
    let x = (st.clamp(-2047, 2047) + 2048) as u32;
    let (i, w) = ((x >> 7) as usize, x & 127);
    let a = rd16(m, o + 2 * i);
    let b = rd16(m, o + 2 * i + 2);
    let p = (a * (128 - w) + b * w) >> 7;
    (p, o + 2 * (i + (w >> 6) as usize))
}

/// Moves the bucket at `o` towards `bit` by `2^-rate`, rounding towards
/// the target so that it can reach 0 and 65535.
#[inline(always)]
pub(crate) fn apm_update(m: &mut [u8], o: usize, bit: u32, rate: u32) {
    let t = rd16(m, o);
    let r = (1 << rate) - 1;
    let t = if bit != 0 {
        t + ((65535 - t + r) >> rate)
    } else {
        t - ((t + r) >> rate)
    };
    wr16(m, o, t);
}
