//! Image contexts: 8-bit pixels in rows, the first channel predicted from
//! its 2-D neighbours (a blend of MED, the median edge detector of LOCO-I /
//! JPEG-LS, and simpler predictors, weighted by their errors nearby), the
//! others by MED on their difference from the earlier channels, and
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

/// A blend of the sub-predictions weighted by how well each did at the
/// `W`, `N`, `NW` and `NE` neighbours (recomputed from the history, as the
/// model keeps no state across bytes): a self-correcting predictor in the
/// spirit of JPEG XL's weighted one. `step` is the distance between
/// samples of a channel.
fn blend(past: &Past<'_>, x: u64, y: u64, width: u64, step: u64) -> (i32, u32) {
    let row = width * step;
    // The sample `dx` across and `dy` up, if known and inside the image.
    let at = |dx: i64, dy: u64| -> Option<i32> {
        let xx = x as i64 + dx;
        if dy > y || xx < 0 || xx >= width as i64 || (dy == 0 && dx >= 0) {
            return None;
        }
        let k = (dy * row) as i64 - dx * step as i64;
        past.get(k as u64).map(i32::from)
    };
    let w = at(-1, 0);
    let n = at(0, 1);
    let fill = w.or(n).unwrap_or(128);
    // Window: rows y-2..=y, columns x-2..=x+2.
    let v = |dx: i64, dy: u64| at(dx, dy).unwrap_or(fill);
    let (w, n, nw, ne) = (v(-1, 0), v(0, 1), v(-1, 1), v(1, 1));
    let (ww, nww, nn, nnw, nnww, nne, nnee) = (
        v(-2, 0),
        v(-2, 1),
        v(0, 2),
        v(-1, 2),
        v(-2, 2),
        v(1, 2),
        v(2, 2),
    );
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

/// The contexts of byte `i` of an image region.
pub(super) fn contexts(past: &Past<'_>, i: u64, width: u32, channels: u8, out: &mut [u32]) -> Ctx {
    let ch = u64::from(channels);
    let c = i % ch;
    let p = i / ch;
    let (x, y, width) = (p % u64::from(width), p / u64::from(width), u64::from(width));
    let s = Near::of(past, x, y, width, ch);
    let (pred, best_err) = blend(past, x, y, width, ch);
    // The earlier channels' errors at this pixel (their neighbours sit
    // `c - k` bytes further back).
    let mut err = [0i32; 2];
    let mut diff = [0i32; 2];
    for (k, e) in (1..=c.min(2)).zip(err.iter_mut()) {
        let t = Near::of(
            &Past {
                avail: past.avail.saturating_sub(k),
                pos: past.pos.wrapping_sub(k as usize),
                ..*past
            },
            x,
            y,
            width,
            ch,
        );
        let v = past.get(k).map_or(0, i32::from);
        *e = v - med(t.w, t.n, t.nw);
        // MED on the difference from the earlier channel.
        diff[k as usize - 1] = v + med(s.w - t.w, s.n - t.n, s.nw - t.nw);
    }
    // Colour channels follow the first one's error.
    let pred = match c {
        0 => pred,
        1 => diff[0].clamp(0, 255),
        _ => ((diff[0] + diff[1] + 1) >> 1).clamp(0, 255),
    };
    let act = (s.w - s.nw).unsigned_abs()
        + (s.n - s.nw).unsigned_abs()
        + (s.n - s.ne).unsigned_abs()
        + (s.w - s.ww).unsigned_abs()
        + (s.n - s.nn).unsigned_abs();
    let a = qa(act);
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
        set: (a / 4).min(2) as u8,
        apm1: (a.min(15) << 4 | q(s.w - pred).min(15)) as u8,
        apm2: q(s.w - pred) << 12 | q(s.n - pred) << 8 | q(s.ne - pred) << 4 | c | 1 << 40,
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
