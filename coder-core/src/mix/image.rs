//! Image contexts: 8-bit pixels in rows, the first channel predicted from
//! its 2-D neighbours (a blend of MED, the median edge detector of LOCO-I /
//! JPEG-LS, and simpler predictors, weighted by their errors nearby) with a
//! least-squares correction from the neighbours, the others by MED on
//! their difference from the earlier channels, and
//! modelled by the local gradients, the neighbours' offsets from the
//! prediction, and the error of the earlier channels of the same pixel.

use super::media::{ctx_hash, q, qa, Ctx, Past};

/// The median edge detector: `N` or `W` across an edge, else the plane
/// through `W`, `N`, `NW`.
#[inline]
pub(super) fn med(w: i32, n: i32, nw: i32) -> i32 {
    let (lo, hi) = if w < n { (w, n) } else { (n, w) };
    if nw >= hi {
        lo
    } else if nw <= lo {
        hi
    } else {
        w + n - nw
    }
}

/// Sub-predictions of a sample from its `W`, `N`, `NW`, `NE`.
const SUBS: usize = 5;

#[inline]
fn subs(w: i32, n: i32, nw: i32, ne: i32) -> [i32; SUBS] {
    [
        med(w, n, nw),
        w,
        n,
        (w + ne - n).clamp(0, 255),
        (w + n + 1) >> 1,
    ]
}

/// Window offsets (across, up) of the causal neighbours the blend and the
/// least-squares predictor see: rows `y-2..=y`, columns `x-2..=x+2`.
const WIN: [(i64, u64); 12] = [
    (-1, 0),
    (0, 1),
    (-1, 1),
    (1, 1),
    (-2, 0),
    (0, 2),
    (-2, 1),
    (-1, 2),
    (1, 2),
    (2, 1),
    (-2, 2),
    (2, 2),
];
const W: usize = 0;
const N: usize = 1;
const NW: usize = 2;
const NE: usize = 3;
const WW: usize = 4;
const NN: usize = 5;
const NWW: usize = 6;
const NNW: usize = 7;
const NNE: usize = 8;
const NNWW: usize = 10;
const NNEE: usize = 11;

/// The [`WIN`] neighbours of sample (`x`, `y`) of a channel whose samples
/// are `step` apart, those outside the image or not yet known filled in
/// from `W` or `N`.
fn window(past: &Past<'_>, x: u64, y: u64, width: u64, step: u64) -> [i32; 12] {
    let row = width * step;
    let at = |dx: i64, dy: u64| -> Option<i32> {
        let xx = x as i64 + dx;
        if dy > y || xx < 0 || xx >= width as i64 || (dy == 0 && dx >= 0) {
            return None;
        }
        let k = (dy * row) as i64 - dx * step as i64;
        past.get(k as u64).map(i32::from)
    };
    let fill = at(-1, 0).or(at(0, 1)).unwrap_or(128);
    WIN.map(|(dx, dy)| at(dx, dy).unwrap_or(fill))
}

/// A blend of the sub-predictions weighted by how well each did at the
/// `W`, `N`, `NW` and `NE` neighbours (recomputed from the history, as the
/// model keeps no state across bytes): a self-correcting predictor in the
/// spirit of JPEG XL's weighted one.
fn blend(v: &[i32; 12]) -> (i32, u32) {
    let (w, n, nw, ne) = (v[W], v[N], v[NW], v[NE]);
    let (ww, nww, nn, nnw, nnww, nne, nnee) =
        (v[WW], v[NWW], v[NN], v[NNW], v[NNWW], v[NNE], v[NNEE]);
    let here = subs(w, n, nw, ne);
    let mut err = [1u32; SUBS];
    for (val, sp) in [
        (w, subs(ww, nw, nww, n)),
        (n, subs(nw, nn, nnw, nne)),
        (nw, subs(nww, nnw, nnww, nn)),
        (ne, subs(n, nne, nn, nnee)),
    ] {
        for (e, p) in err.iter_mut().zip(sp) {
            *e += (val - p).unsigned_abs();
        }
    }
    let mut num = 0i64;
    let mut den = 0i64;
    for (p, e) in here.iter().zip(err) {
        let wt = (1i64 << 30) / i64::from(e);
        num += wt * i64::from(*p);
        den += wt;
    }
    (
        ((num + den / 2) / den.max(1)) as i32,
        err.iter().copied().min().unwrap_or(0),
    )
}

/// A least-squares predictor of what the base prediction leaves, from `K`
/// features (neighbours' offsets from it), integer-only: the decayed
/// covariance (forgetting `2^-DECAY` of it a sample, as paq8px's OLS does)
/// is solved every [`EVERY`] samples by an `LDL^T` decomposition in fixed
/// point with a ridge, which pulls the correction towards none.
#[derive(Clone, Debug)]
struct Ols<const K: usize> {
    /// Covariance of the features (lower triangle), `x64`.
    cov: [[i64; K]; K],
    /// Their covariance with the target, `x64`.
    b: [i64; K],
    /// Weights in `2^-16`.
    w: [i64; K],
    /// Samples since the last solution.
    n: u32,
}

impl<const K: usize> Default for Ols<K> {
    fn default() -> Self {
        Ols {
            cov: [[0; K]; K],
            b: [0; K],
            w: [0; K],
            n: 0,
        }
    }
}

const DECAY: u32 = 12;
const EVERY: u32 = 4;

impl<const K: usize> Ols<K> {
    /// The prediction in `2^-16`.
    fn predict(&self, x: &[i32]) -> i64 {
        self.w.iter().zip(x).map(|(&w, &x)| w * i64::from(x)).sum()
    }

    fn update(&mut self, x: &[i32], y: i32) {
        for (i, (row, b)) in self.cov.iter_mut().zip(&mut self.b).enumerate() {
            let xi = i64::from(x[i]) << 6;
            for (c, &xj) in row[..=i].iter_mut().zip(x) {
                *c += xi * i64::from(xj) - (*c >> DECAY);
            }
            *b += xi * i64::from(y) - (*b >> DECAY);
        }
        self.n += 1;
        if self.n >= EVERY {
            self.n = 0;
            self.solve();
        }
    }

    /// Solves `(C + ridge) w = b`; keeps the old weights if that fails.
    fn solve(&mut self) {
        let cov = &self.cov;
        super::lsq::solve(|i, j| cov[i][j], &self.b, RIDGE, 1 << 16, &mut self.w);
    }
}

const RIDGE: u32 = 11;

/// The sample in flight.
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    i: u64,
    c: usize,
    x: [i32; 12],
    base: i32,
}

/// The image model's state within a chunk: the first channel's
/// least-squares predictor (about 1.4 KiB).
#[derive(Clone, Debug, Default)]
pub(super) struct ImageState {
    first: Ols<12>,
    pending: Option<Pending>,
}

/// Neighbours of one sample, with the image's edges filled in from the
/// nearest known neighbour.
struct Near {
    w: i32,
    n: i32,
    nw: i32,
    ne: i32,
    ww: i32,
    nn: i32,
    nne: i32,
}

impl Near {
    /// The neighbours of sample `i` in `channels`-sample pixels, rows of
    /// `width`, `back` places behind for each channel offset.
    fn of(past: &Past<'_>, x: u64, y: u64, width: u64, step: u64) -> Self {
        let row = width * step;
        let at = |k: u64| past.get(k).map(i32::from);
        let w = if x > 0 { at(step) } else { None };
        let ww = if x > 1 { at(2 * step) } else { None };
        let n = if y > 0 { at(row) } else { None };
        let nw = if y > 0 && x > 0 { at(row + step) } else { None };
        let ne = if y > 0 && x + 1 < width {
            at(row - step)
        } else {
            None
        };
        let nn = if y > 1 { at(2 * row) } else { None };
        let nne = if y > 1 && x + 1 < width {
            at(2 * row - step)
        } else {
            None
        };
        let w = w.or(n).unwrap_or(128);
        let n = n.unwrap_or(w);
        let nw = nw.unwrap_or(n);
        let ne = ne.unwrap_or(n);
        Near {
            w,
            n,
            nw,
            ne,
            ww: ww.unwrap_or(w),
            nn: nn.unwrap_or(n),
            nne: nne.unwrap_or(ne),
        }
    }
}

impl ImageState {
    /// The contexts of byte `i` of an image region.
    pub fn contexts(
        &mut self,
        past: &Past<'_>,
        i: u64,
        width: u32,
        channels: u8,
        out: &mut [u32],
    ) -> Ctx {
        let ch = u64::from(channels);
        let c = i % ch;
        let p = i / ch;
        let (x, y, width) = (p % u64::from(width), p / u64::from(width), u64::from(width));
        let s = Near::of(past, x, y, width, ch);
        // The colour channels' prediction needs no window of their own.
        let win = if c == 0 {
            window(past, x, y, width, ch)
        } else {
            [0; 12]
        };
        let (pred, best_err) = if c == 0 { blend(&win) } else { (0, 0) };
        // The earlier channels' errors at this pixel (their neighbours sit
        // `c - k` bytes further back).
        let mut err = [0i32; 2];
        let mut diff = [0i32; 2];
        let mut flat = [1i32; 2];
        for (k, e) in (1..=c.min(2)).zip(err.iter_mut()) {
            let back = Past {
                avail: past.avail.saturating_sub(k),
                pos: past.pos.wrapping_sub(k as usize),
                ..*past
            };
            let t = Near::of(&back, x, y, width, ch);
            let v = past.get(k).map_or(0, i32::from);
            *e = v - med(t.w, t.n, t.nw);
            // MED on the difference from the earlier channel.
            diff[k as usize - 1] = v + med(s.w - t.w, s.n - t.n, s.nw - t.nw);
            // How rough that difference plane is nearby.
            let (dw, dn, dnw, dne) = (s.w - t.w, s.n - t.n, s.nw - t.nw, s.ne - t.ne);
            flat[k as usize - 1] = 1 + (dw - dnw).abs() + (dn - dnw).abs() + (dne - dn).abs();
        }
        // Colour channels follow the first one's error.
        let pred = match c {
            0 => pred,
            1 => diff[0].clamp(0, 255),
            // The smoother difference plane weighs more.
            _ => {
                let t = flat[0] + flat[1];
                ((diff[0] * flat[1] + diff[1] * flat[0] + t / 2) / t).clamp(0, 255)
            }
        };
        let mut f = [0i32; 12];
        // The first channel's least-squares correction, from the
        // neighbours' offsets from the prediction (for colour channels it
        // lost: their difference-plane prediction leaves too little).
        let base_pred = pred;
        let corr = if c == 0 {
            for (f, v) in f.iter_mut().zip(win) {
                *f = v - pred;
            }
            self.first.predict(&f)
        } else {
            0
        };
        let pred = (pred + ((corr + (1 << 15)) >> 16) as i32).clamp(0, 255);
        let act = (s.w - s.nw).unsigned_abs()
            + (s.n - s.nw).unsigned_abs()
            + (s.n - s.ne).unsigned_abs()
            + (s.w - s.ww).unsigned_abs()
            + (s.n - s.nn).unsigned_abs();
        let a = qa(act);
        self.pending = Some(Pending {
            i,
            c: c as usize,
            x: f,
            base: base_pred,
        });
        let c_ = c << 60;
        let keys = [
            a << 8 | q(s.n - s.w),
            q(s.w - pred) << 8 | q(s.n - pred) << 4 | q(s.ne - pred),
            if c > 0 {
                (err[0].clamp(-63, 63) as u64 & 0x7F) << 8 | q(err[1])
            } else {
                q(s.nw - pred) << 8 | q(s.nn - s.n) << 4 | q(s.ww - s.w)
            },
            a << 8 | qa(best_err) << 4 | c,
            q(s.w + s.ne - s.n - pred) << 8 | q(s.n - s.nw) << 4 | a >> 1,
            q(s.w - s.ww) << 8 | q(s.n - s.nn) << 4 | q(s.ne - s.nne),
            (pred as u64 >> 2) << 8 | a,
        ];
        for (k, (o, key)) in out.iter_mut().zip(keys).enumerate() {
            *o = ctx_hash(k as u64, key | c_);
        }
        Ctx {
            rot: pred as u8,
            // Colour channels: by how far off the first channel was.
            set: if c > 0 {
                match err[0].unsigned_abs() {
                    0..=2 => 0,
                    3..=8 => 1,
                    _ => 2,
                }
            } else {
                (a / 4).min(2) as u8
            },
            apm1: (a.min(15) << 4 | q(s.w - pred).min(15)) as u8,
            apm2: q(s.w - pred) << 12 | q(s.n - pred) << 8 | q(s.ne - pred) << 4 | c | 1 << 40,
        }
    }

    /// Learns byte `i`, coded as `byte`.
    pub fn coded(&mut self, i: u64, byte: u8) {
        let Some(p) = self.pending.take() else { return };
        if p.i != i {
            return;
        }
        let y = i32::from(byte) - p.base;
        if p.c == 0 {
            self.first.update(&p.x, y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::med;

    #[test]
    fn med_picks_across_edges() {
        assert_eq!(med(10, 20, 25), 10);
        assert_eq!(med(10, 20, 5), 20);
        assert_eq!(med(10, 20, 15), 15);
    }
}
