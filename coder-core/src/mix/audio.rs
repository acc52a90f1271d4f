//! Audio contexts: interleaved 8- or 16-bit PCM, each channel predicted by
//! whichever of its predictors has lately erred least (fixed polynomial
//! ones of orders 1 to 3 as FLAC's, NLMS cascades on the first difference,
//! an OLS and an NLMS cascade on its residual, and an NLMS blend of them
//! all), and modelled by the recent error energy, the last
//! errors, the disagreement of the predictors and the signal's slope. A
//! 16-bit sample is two bytes, low first as the file has them: the low
//! byte of the error, then the high byte given the low one.

use super::media::{ctx_hash, q, qa, Ctx, Past};

/// Most channels followed.
const CHANNELS: usize = 8;
/// Predictors: the fixed ones of orders 1 to 3, a fast and a long LMS, the
/// long one with a short one on its residual, the OLS, the OLS with an LMS
/// on its residual, and the blend of all those.
const ORDERS: usize = 9;
/// The predictors the final blend weighs.
const BASE: usize = ORDERS - 1;
/// Step size of the blend (`2^-16` of the normalized gradient).
const BLEND_MU: i64 = 2048;
const LONG: usize = 256;
const LONG_MU: i64 = 256;

/// A normalized LMS predictor of the next first difference from the last
/// `TAPS` ones (weights in `2^-16`) with step size `MU` (in `2^-16` of
/// the normalized gradient), integer-only.
#[derive(Clone, Copy, Debug)]
struct Lms<const TAPS: usize, const MU: i64> {
    w: [i32; TAPS],
    /// The last differences, newest first.
    d: [i32; TAPS],
    /// Their sum of squares.
    norm: i64,
}

impl<const TAPS: usize, const MU: i64> Default for Lms<TAPS, MU> {
    fn default() -> Self {
        Lms {
            w: [0; TAPS],
            d: [0; TAPS],
            norm: 0,
        }
    }
}

impl<const TAPS: usize, const MU: i64> Lms<TAPS, MU> {
    fn predict(&self) -> i32 {
        let dot: i64 = self
            .w
            .iter()
            .zip(&self.d)
            .map(|(&w, &d)| i64::from(w) * i64::from(d))
            .sum();
        (dot >> 16).clamp(-65536, 65536) as i32
    }

    /// Learns from the difference `d` that followed (predicted `pred`).
    fn update(&mut self, d: i32, pred: i32) {
        let e = i64::from(d - pred);
        let g = ((MU * e) << 16) / (self.norm + 4096);
        for (w, &x) in self.w.iter_mut().zip(&self.d) {
            *w = (i64::from(*w) + ((g * i64::from(x)) >> 16)).clamp(-(1 << 20), 1 << 20) as i32;
        }
        let old = self.d[TAPS - 1];
        self.norm += i64::from(d) * i64::from(d) - i64::from(old) * i64::from(old);
        self.d.copy_within(..TAPS - 1, 1);
        self.d[0] = d;
    }
}

/// An ordinary least-squares predictor of the next sample from the last
/// `N` ones, integer-only: the decayed covariance (forgetting `2^-DECAY`
/// of it a sample, as paq8px's OLS does) is solved every `EVERY` samples
/// by an `LDL^T` decomposition in fixed point, with a small ridge so that
/// quiet or tonal stretches stay well-posed.
///
/// The covariance costs `O(N)` a sample: as the inputs are a shift
/// register, entry `(i, j)` (`i >= j`) is the decayed lag-`(i - j)`
/// autocorrelation as it stood `j + 1` samples ago, so only the newest
/// autocorrelation is updated and the last `N` are kept.
#[derive(Clone, Debug)]
struct Ols<const N: usize, const DECAY: u32, const EVERY: u32> {
    /// The last samples, newest first.
    x: [i32; N],
    /// Decayed autocorrelation at lag 0 (`x16`).
    a0: i64,
    /// At lags `1..=N` (`x16`): the right-hand side.
    a: [i64; N],
    /// Lags `0..N` of the last `N` autocorrelations, a ring.
    ring: [[i64; N]; N],
    /// Where the newest is in `ring`.
    at: usize,
    /// Weights in `2^-16`.
    w: [i64; N],
    /// Samples since the last solution.
    k: u32,
}

impl<const N: usize, const DECAY: u32, const EVERY: u32> Default for Ols<N, DECAY, EVERY> {
    fn default() -> Self {
        Ols {
            x: [0; N],
            a0: 0,
            a: [0; N],
            ring: [[0; N]; N],
            at: 0,
            w: [0; N],
            k: 0,
        }
    }
}

impl<const N: usize, const DECAY: u32, const EVERY: u32> Ols<N, DECAY, EVERY> {
    fn predict(&self) -> i32 {
        let dot: i64 = self
            .w
            .iter()
            .zip(&self.x)
            .map(|(&w, &x)| w * i64::from(x))
            .sum();
        (dot >> 16).clamp(-65536, 65536) as i32
    }

    /// Learns the sample `s` that followed.
    fn update(&mut self, s: i32) {
        let s16 = i64::from(s) << 4;
        self.a0 += s16 * i64::from(s) - (self.a0 >> DECAY);
        for (a, &x) in self.a.iter_mut().zip(&self.x) {
            *a += s16 * i64::from(x) - (*a >> DECAY);
        }
        self.k += 1;
        if self.k >= EVERY {
            self.k = 0;
            self.solve();
        }
        self.at = (self.at + 1) % N;
        let row = &mut self.ring[self.at];
        row[0] = self.a0;
        row[1..].copy_from_slice(&self.a[..N - 1]);
        self.x.copy_within(..N - 1, 1);
        self.x[0] = s;
    }

    /// Solves `(R + ridge) w = a`, with `R` from the ring (the pairs seen
    /// so far, as `a`); keeps the old weights if that fails.
    fn solve(&mut self) {
        // R[i][j] = ring[at - j][i - j].
        let (ring, at) = (&self.ring, self.at);
        let entry = |i: usize, j: usize| ring[(at + N - j) % N][i - j];
        super::lsq::solve(entry, &self.a, 10, 64, &mut self.w);
    }
}

/// Per-channel history of the predictors.
#[derive(Clone, Debug, Default)]
struct Channel {
    /// Weights (`2^-16`) of the blend of the other predictors' offsets
    /// from the last sample.
    blend: [i32; BASE],
    fast: Lms<16, 8192>,
    /// The LMS's predictions of the difference in flight.
    lms_pred: [i32; 3],
    /// The OLS's prediction and the LMS's of what it leaves.
    ols_pred: [i32; 2],
    /// Decayed absolute error of each predictor (`x16`).
    cost: [u32; ORDERS],
    /// The chosen predictor's last two errors.
    e: [i32; 2],
    /// Decayed absolute error of the chosen predictor (`x16`).
    energy: u32,
}

/// The predictors with long memories (about 11 KiB), kept for the first
/// [`HEAVY`] channels only, so that a mixer stays small enough to live on
/// a stack; the other channels' slots repeat the order-2 prediction.
#[derive(Clone, Debug, Default)]
struct Heavy {
    ols: Ols<32, 7, 8>,
    /// An LMS on what the OLS leaves.
    ores: Lms<8, 4096>,
    long: Lms<LONG, LONG_MU>,
    /// A fast LMS on what the long one leaves.
    rest: Lms<16, 8192>,
}

/// Channels with the long-memory predictors (stereo).
const HEAVY: usize = 2;

/// The sample in flight.
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    preds: [i32; ORDERS],
    /// The blend's inputs.
    u: [i32; BASE],
    pred: i32,
}

/// The audio model's state within a chunk.
#[derive(Clone, Debug, Default)]
pub(super) struct AudioState {
    ch: [Channel; CHANNELS],
    heavy: [Heavy; HEAVY],
    pending: Pending,
}

/// Where byte `i` of the region sits: channel, byte of the sample.
fn place(i: u64, channels: u8, bytes: u8) -> (usize, u64, u64) {
    let frame = u64::from(channels) * u64::from(bytes);
    let c = (i % frame) / u64::from(bytes);
    (c as usize, i % u64::from(bytes), frame)
}

/// Sample `m >= 1` frames back of the sample whose first byte is `off`
/// places behind the next byte.
fn sample(past: &Past<'_>, m: u64, frame: u64, off: u64, bytes: u8) -> Option<i32> {
    let k = m * frame + off;
    if bytes == 1 {
        past.get(k).map(|b| i32::from(b) - 128)
    } else {
        let lo = past.get(k)?;
        let hi = past.get(k - 1)?;
        Some(i32::from(i16::from_le_bytes([lo, hi])))
    }
}

impl AudioState {
    /// The contexts of byte `i` of an audio region.
    pub fn contexts(
        &mut self,
        past: &Past<'_>,
        i: u64,
        channels: u8,
        bytes: u8,
        out: &mut [u32],
    ) -> Ctx {
        let (c, b, frame) = place(i, channels, bytes);
        let chan = &self.ch[c];
        let s: [Option<i32>; 3] =
            core::array::from_fn(|m| sample(past, m as u64 + 1, frame, b, bytes));
        let (max, min) = if bytes == 1 {
            (127, -128)
        } else {
            (32767, -32768)
        };
        if b == 0 {
            let (s1, s2, s3) = (s[0], s[1], s[2]);
            let p1 = s1.unwrap_or(0);
            let p2 = match (s1, s2) {
                (Some(a), Some(b)) => 2 * a - b,
                _ => p1,
            };
            let p3 = match (s1, s2, s3) {
                (Some(a), Some(b), Some(c)) => 3 * a - 3 * b + c,
                _ => p2,
            };
            let (lp, po, ps) = match self.heavy.get(c) {
                Some(h) => {
                    let po = h.ols.predict();
                    let lp = [chan.fast.predict(), h.long.predict(), h.rest.predict()];
                    (lp, po, po + h.ores.predict())
                }
                None => ([chan.fast.predict(), p2 - p1, 0], p2, p2),
            };
            let base = [
                p1,
                p2,
                p3,
                p1 + lp[0],
                p1 + lp[1],
                p1 + lp[1] + lp[2],
                po,
                ps,
            ]
            .map(|p| p.clamp(min, max));
            let u = base.map(|b| b - p1);
            let mix: i64 = u
                .iter()
                .zip(&chan.blend)
                .map(|(&u, &w)| i64::from(u) * i64::from(w))
                .sum();
            let mut preds = [0; ORDERS];
            preds[..BASE].copy_from_slice(&base);
            preds[BASE] = (p1 + (mix >> 16) as i32).clamp(min, max);
            let best = (0..ORDERS).min_by_key(|&k| chan.cost[k]).unwrap_or(0);
            self.pending = Pending {
                preds,
                u,
                pred: preds[best],
            };
            self.ch[c].lms_pred = lp;
            self.ch[c].ols_pred = [po, ps - po];
        }
        let chan = &self.ch[c];
        let pend = self.pending;
        let p = pend.pred;
        let qe = qa(chan.energy);
        let shift = qe.saturating_sub(3) as u32;
        let n = |d: i32| q(d >> shift);
        // Where another predictor puts the sample, relative to ours.
        let off = |pk: i32| ((pk - p) >> shift.saturating_sub(1)).clamp(-32, 31) as u64 & 63;
        let alt =
            pend.preds
                .iter()
                .map(|&a| a - p)
                .fold(0i32, |acc, d| if d.abs() > acc.abs() { d } else { acc });
        let s1 = s[0].unwrap_or(0);
        let slope = s1 - s[1].unwrap_or(s1);
        // The high byte of a 16-bit sample: its prediction carries the low
        // byte's borrow, and the low byte's error is part of its context.
        let (rot, role, lo) = if bytes == 1 {
            ((p + 128) as u8, 2u64, 0u64)
        } else if b == 0 {
            (p as u8, 0, 0)
        } else {
            let got = past.get(1).unwrap_or(0);
            let carry = u8::from(got < p as u8);
            (
                ((p >> 8) as u8).wrapping_add(carry),
                1,
                16 + u64::from(got.wrapping_sub(p as u8) >> 4),
            )
        };
        let tag = role << 56 | lo << 48;
        // The energy in quarter-octave steps.
        let en = chan.energy.max(1);
        let fe = u64::from(en.ilog2() * 4 + ((en << 2 >> en.ilog2()) & 3));
        let keys = [
            fe,
            fe << 8 | n(chan.e[0]),
            n(chan.e[0]) << 8 | n(chan.e[1]),
            n(alt) << 8 | qe >> 1,
            off(pend.preds[3]) << 8 | qe >> 1,
            off(pend.preds[5]) << 8 | qe >> 1,
            off(pend.preds[1]) << 8 | n(slope),
        ];
        for (k, (o, key)) in out.iter_mut().zip(keys).enumerate() {
            *o = ctx_hash(k as u64 + 16, key | tag);
        }
        Ctx {
            rot,
            set: role as u8,
            apm1: (qe << 4 | role << 2 | lo >> 2 & 3) as u8,
            apm2: n(chan.e[0]) << 12 | qe << 8 | lo << 2 | role | 2 << 40,
        }
    }

    /// After byte `i` was coded as `byte` (`past` not yet holding it).
    pub fn coded(&mut self, past: &Past<'_>, i: u64, channels: u8, bytes: u8, byte: u8) {
        let (c, b, _) = place(i, channels, bytes);
        if b + 1 != u64::from(bytes) {
            return;
        }
        let s = if bytes == 1 {
            i32::from(byte) - 128
        } else {
            i32::from(i16::from_le_bytes([past.get(1).unwrap_or(0), byte]))
        };
        let chan = &mut self.ch[c];
        let d = s - self.pending.preds[0];
        chan.fast.update(d, chan.lms_pred[0]);
        if let Some(h) = self.heavy.get_mut(c) {
            h.long.update(d, chan.lms_pred[1]);
            h.rest.update(d - chan.lms_pred[1], chan.lms_pred[2]);
            h.ols.update(s);
            h.ores.update(s - chan.ols_pred[0], chan.ols_pred[1]);
        }
        for (cost, &p) in chan.cost.iter_mut().zip(&self.pending.preds) {
            *cost = *cost - (*cost >> 4) + (s - p).unsigned_abs();
        }
        let u = &self.pending.u;
        let norm: i64 = u.iter().map(|&u| i64::from(u) * i64::from(u)).sum();
        let g = ((BLEND_MU * i64::from(s - self.pending.preds[BASE])) << 16) / (norm + 64);
        for (w, &u) in chan.blend.iter_mut().zip(u) {
            *w = (i64::from(*w) + ((g * i64::from(u)) >> 16)).clamp(-(1 << 20), 1 << 20) as i32;
        }
        let e = s - self.pending.pred;
        chan.e = [e, chan.e[0]];
        chan.energy = chan.energy - (chan.energy >> 4) + e.unsigned_abs();
    }
}
