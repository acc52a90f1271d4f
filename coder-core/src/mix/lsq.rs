//! The fixed-point least-squares solve the audio and image models share:
//! `(C + ridge I) w = b` by an `LDL^T` decomposition in integers, so a
//! coder and its decoder find the same weights on every machine.

/// Fractional bits of the factor `L`.
const LQ: u32 = 20;

/// Solves `(C + ridge I) w = b` for the symmetric `C` whose lower triangle
/// `entry(i, j)` (`i >= j`) gives, with `ridge = mean diagonal >>
/// ridge_shift + ridge_floor`; writes `w` in `2^-16` and returns true, or
/// leaves `w` alone and returns false when `C` is not positive definite
/// in fixed point.
pub(super) fn solve<const N: usize>(
    entry: impl Fn(usize, usize) -> i64,
    b: &[i64; N],
    ridge_shift: u32,
    ridge_floor: i64,
    w: &mut [i64; N],
) -> bool {
    let top = (0..N).map(|j| entry(j, j)).max().unwrap_or(0);
    let trace: i64 = (0..N).map(|j| entry(j, j)).sum();
    let ridge = ((trace / N as i64) >> ridge_shift) + ridge_floor;
    // Scaled so that products of two entries fit the wide sums.
    let sh = (top + ridge).max(1).ilog2().saturating_sub(30);
    let mut l = [[0i64; N]; N];
    let mut d = [0i64; N];
    let mut v = [0i64; N];
    for j in 0..N {
        for k in 0..j {
            v[k] = ((i128::from(l[j][k]) * i128::from(d[k])) >> LQ) as i64;
        }
        let dot = |row: &[i64; N]| -> i128 {
            (0..j)
                .map(|k| i128::from(row[k]) * i128::from(v[k]))
                .sum::<i128>()
                >> LQ
        };
        let dj = i128::from((entry(j, j) + ridge) >> sh) - dot(&l[j]);
        if dj <= 0 {
            return false;
        }
        d[j] = dj as i64;
        for (i, li) in l.iter_mut().enumerate().skip(j + 1) {
            let r = i128::from(entry(i, j) >> sh) - dot(li);
            // In `i64`, as the wide division is slow.
            let r = r.clamp(-(1 << 40), 1 << 40) as i64;
            li[j] = ((r << LQ) / d[j]).clamp(-(1 << 30), 1 << 30);
        }
    }
    let mut z = [0i128; N];
    for i in 0..N {
        z[i] = i128::from(b[i] >> sh)
            - (0..i)
                .map(|k| (i128::from(l[i][k]) * z[k]) >> LQ)
                .sum::<i128>();
    }
    let mut x = [0i128; N];
    for i in (0..N).rev() {
        x[i] = (z[i] << 16) / i128::from(d[i])
            - (i + 1..N)
                .map(|k| (i128::from(l[k][i]) * x[k]) >> LQ)
                .sum::<i128>();
    }
    for (o, &xi) in w.iter_mut().zip(&x) {
        *o = xi.clamp(-(1 << 24), 1 << 24) as i64;
    }
    true
}
