//! Small dense kernels of the fused engine: a bounds-checked wrapper over
//! `matrixmultiply::sgemm`, RMSNorm, RoPE, GELU and a branch-free `exp`
//! that the compiler vectorizes.

use model_int8::numerics::rope_angle;

/// A strided matrix view: `base` is the first element, `rs`/`cs` the row
/// and column strides in elements.
#[derive(Clone, Copy, Debug)]
pub struct Mat {
    pub base: usize,
    pub rs: usize,
    pub cs: usize,
}

impl Mat {
    /// Row-major with `cols` columns, starting at `base`.
    pub fn rows(base: usize, row_stride: usize) -> Self {
        Self {
            base,
            rs: row_stride,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with row stride `row_stride`.
    pub fn t(base: usize, row_stride: usize) -> Self {
        Self {
            base,
            rs: 1,
            cs: row_stride,
        }
    }
    fn last(&self, r: usize, c: usize) -> usize {
        self.base + (r - 1) * self.rs + (c - 1) * self.cs
    }
}

/// `C = alpha A B + beta C` with `A` `[m][k]`, `B` `[k][n]`, `C` `[m][n]`.
/// With `beta == 0` the old `C` is not read.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    am: Mat,
    b: &[f32],
    bm: Mat,
    beta: f32,
    c: &mut [f32],
    cm: Mat,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // Nothing to add: C = beta C.
        for i in 0..m {
            for j in 0..n {
                let x = &mut c[cm.base + i * cm.rs + j * cm.cs];
                *x = if beta == 0.0 { 0.0 } else { *x * beta };
            }
        }
        return;
    }
    assert!(am.last(m, k) < a.len(), "gemm: A out of bounds");
    assert!(bm.last(k, n) < b.len(), "gemm: B out of bounds");
    assert!(cm.last(m, n) < c.len(), "gemm: C out of bounds");
    // SAFETY: every element addressed lies inside the slices (checked
    // above: the largest offset of each view is in bounds, strides are
    // non-negative); `c` is borrowed mutably so it cannot alias `a` or `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr().add(am.base),
            am.rs as isize,
            am.cs as isize,
            b.as_ptr().add(bm.base),
            bm.rs as isize,
            bm.cs as isize,
            beta,
            c.as_mut_ptr().add(cm.base),
            cm.rs as isize,
            cm.cs as isize,
        );
    }
}

/// `e^x`, branch-free (Cephes polynomial, ~2 ulp), so loops over slices
/// vectorize; inputs below -87 give ~0, above 88 are clamped.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: rounds to nearest
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + MAGIC) - MAGIC;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 0.166_666_65;
    let p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    let bits = ((n as i32 + 127) as u32) << 23;
    y * f32::from_bits(bits)
}

/// `erf(x)` (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let s = if x < 0.0 { -1.0 } else { 1.0 };
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let y = 1.0
        - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_8) * t - 0.284_496_74) * t
            + 0.254_829_6)
            * t
            * exp(-a * a);
    s * y
}

const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `1 / sqrt(2 pi)`.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// GELU (erf form) of `u` into `out`.
pub fn gelu(u: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(u) {
        *o = 0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2));
    }
}

/// `du = dy * gelu'(u)`, in place over `dy`.
pub fn gelu_backward(u: &[f32], dy: &mut [f32]) {
    for (g, &x) in dy.iter_mut().zip(u) {
        let cdf = 0.5 * (1.0 + erf(x * FRAC_1_SQRT_2));
        let pdf = INV_SQRT_2PI * exp(-0.5 * x * x);
        *g *= cdf + x * pdf;
    }
}

/// ReLU of `u` into `out`.
pub fn relu(u: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(u) {
        *o = x.max(0.0);
    }
}

/// `du = dy * relu'(u)`, in place over `dy`.
pub fn relu_backward(u: &[f32], dy: &mut [f32]) {
    for (g, &x) in dy.iter_mut().zip(u) {
        if x <= 0.0 {
            *g = 0.0;
        }
    }
}

/// RMSNorm of each `d`-row of `x`: writes `xhat = x / rms` and `1 / rms`.
pub fn rms_forward(x: &[f32], d: usize, eps: f32, xhat: &mut [f32], inv: &mut [f32]) {
    for ((row, out), r) in x.chunks_exact(d).zip(xhat.chunks_exact_mut(d)).zip(inv) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
        *r = 1.0 / (ms + eps).sqrt();
        for (o, v) in out.iter_mut().zip(row) {
            *o = v * *r;
        }
    }
}

/// `out = xhat * gain`, row by row.
pub fn scale_rows(xhat: &[f32], gain: &[f32], out: &mut [f32]) {
    let d = gain.len();
    for (row, o) in xhat.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        for ((o, x), g) in o.iter_mut().zip(row).zip(gain) {
            *o = x * g;
        }
    }
}

/// RMSNorm backward: given `dy` (gradient of `xhat * gain`), adds the
/// gain gradient to `dgain` and the input gradient to `dx`.
pub fn rms_backward(
    xhat: &[f32],
    inv: &[f32],
    gain: &[f32],
    dy: &[f32],
    dgain: &mut [f32],
    dx: &mut [f32],
) {
    let d = gain.len();
    for (((xh, dyr), dxr), r) in xhat
        .chunks_exact(d)
        .zip(dy.chunks_exact(d))
        .zip(dx.chunks_exact_mut(d))
        .zip(inv)
    {
        let mut dot = 0f32;
        for i in 0..d {
            dgain[i] += dyr[i] * xh[i];
            dot += dyr[i] * gain[i] * xh[i];
        }
        let mean = dot / d as f32;
        for i in 0..d {
            dxr[i] += r * (dyr[i] * gain[i] - xh[i] * mean);
        }
    }
}

/// RoPE tables for positions `0..len`: `[len][half]` cos and sin.
pub fn rope_tables(len: usize, head_dim: usize, base: u32) -> (Vec<f32>, Vec<f32>) {
    let half = head_dim / 2;
    let mut cos = vec![0f32; len * half];
    let mut sin = vec![0f32; len * half];
    for pos in 0..len {
        for i in 0..half {
            let (s, c) = rope_angle(pos, i, head_dim, base).sin_cos();
            cos[pos * half + i] = c as f32;
            sin[pos * half + i] = s as f32;
        }
    }
    (cos, sin)
}

/// Rotates each head of a `[..][width]` row (`heads` heads of `hd`
/// starting at `col`) by the angles of `pos`; `inverse` rotates back
/// (the backward pass). `scale` multiplies the result.
#[allow(clippy::too_many_arguments)]
pub fn rope_row(
    row: &mut [f32],
    col: usize,
    heads: usize,
    hd: usize,
    cos: &[f32],
    sin: &[f32],
    inverse: bool,
    scale: f32,
) {
    let half = hd / 2;
    for h in 0..heads {
        let x = &mut row[col + h * hd..col + (h + 1) * hd];
        let (x1, x2) = x.split_at_mut(half);
        for i in 0..half {
            let (c, s) = (cos[i], if inverse { -sin[i] } else { sin[i] });
            let (a, b) = (x1[i], x2[i]);
            x1[i] = (a * c - b * s) * scale;
            x2[i] = (b * c + a * s) * scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_the_range_softmax_uses() {
        let mut worst = 0f32;
        for i in -8700..=880 {
            let x = i as f32 * 0.01;
            let (a, b) = (exp(x), x.exp());
            worst = worst.max((a - b).abs() / b.max(f32::MIN_POSITIVE));
        }
        assert!(worst < 1e-6, "relative error {worst}");
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn erf_is_accurate() {
        let mut worst = 0f32;
        for i in -600..=600 {
            let x = i as f32 * 0.01;
            worst = worst.max((erf(x) - libm::erff(x)).abs());
        }
        assert!(worst < 5e-7, "absolute error {worst}");
    }

    #[test]
    fn rope_inverse_undoes_rope() {
        let (cos, sin) = rope_tables(8, 4, 10_000);
        let orig: Vec<f32> = (0..8).map(|i| i as f32 - 3.5).collect();
        let mut row = orig.clone();
        rope_row(&mut row, 0, 2, 4, &cos[10..12], &sin[10..12], false, 1.0);
        assert_ne!(row, orig);
        rope_row(&mut row, 0, 2, 4, &cos[10..12], &sin[10..12], true, 1.0);
        for (a, b) in row.iter().zip(&orig) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
