//! Banded causal attention over query blocks, forward and backward.
//!
//! Query `t` sees keys `s` with `t - window < s <= t`. Queries are taken in
//! blocks of [`BLOCK`]; a block's keys are one contiguous range, so each
//! block is three small matrix products, and masked-out scores are never
//! stored beyond the block's band.

use super::kernels::{exp, gemm, Mat};

/// Queries per block.
pub const BLOCK: usize = 64;

/// One query block: queries `q0..q1`, keys `k0..q1`, probabilities at
/// `offset` (row-major `[q1 - q0][q1 - k0]`) inside a head's region.
#[derive(Clone, Debug)]
pub struct Block {
    pub q0: usize,
    pub q1: usize,
    pub k0: usize,
    pub offset: usize,
}

/// The blocks of a sequence of `len` positions and the size of one head's
/// probability region.
pub fn plan(len: usize, window: usize) -> (Vec<Block>, usize) {
    let mut blocks = Vec::new();
    let mut offset = 0;
    let mut q0 = 0;
    while q0 < len {
        let q1 = (q0 + BLOCK).min(len);
        let k0 = (q0 + 1).saturating_sub(window);
        blocks.push(Block { q0, q1, k0, offset });
        offset += (q1 - q0) * (q1 - k0);
        q0 = q1;
    }
    (blocks, offset)
}

/// Shapes shared by the forward and backward passes of one sequence.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    /// Model width.
    pub d: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub window: usize,
}

/// Forward for one sequence whose rows start at `row0`: `qkv` rows are
/// `[q | k | v]` (q already scaled), writes `att` rows (`[d]`) and the
/// probabilities `probs` (`heads` regions of `region` each).
pub fn forward(
    dm: Dims,
    blocks: &[Block],
    region: usize,
    row0: usize,
    qkv: &[f32],
    att: &mut [f32],
    probs: &mut [f32],
) {
    let (d, hd, w3) = (dm.d, dm.head_dim, 3 * dm.d);
    for h in 0..dm.heads {
        let preg = &mut probs[h * region..(h + 1) * region];
        for b in blocks {
            let (m, l) = (b.q1 - b.q0, b.q1 - b.k0);
            let p = &mut preg[b.offset..b.offset + m * l];
            // S = Q K^T
            gemm(
                m,
                hd,
                l,
                qkv,
                Mat::rows((row0 + b.q0) * w3 + h * hd, w3),
                qkv,
                Mat::t((row0 + b.k0) * w3 + d + h * hd, w3),
                0.0,
                p,
                Mat::rows(0, l),
            );
            for (i, row) in p.chunks_exact_mut(l).enumerate() {
                let t = b.q0 + i;
                let lo = (t + 1).saturating_sub(dm.window).max(b.k0) - b.k0;
                let hi = t + 1 - b.k0;
                softmax_band(row, lo, hi);
            }
            // O = P V
            gemm(
                m,
                l,
                hd,
                p,
                Mat::rows(0, l),
                qkv,
                Mat::rows((row0 + b.k0) * w3 + 2 * d + h * hd, w3),
                0.0,
                att,
                Mat::rows((row0 + b.q0) * d + h * hd, d),
            );
        }
    }
}

/// Softmax over `row[lo..hi]`, zero elsewhere.
fn softmax_band(row: &mut [f32], lo: usize, hi: usize) {
    let band = &mut row[lo..hi];
    let max = band.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for x in band.iter_mut() {
        *x = exp(*x - max);
        sum += *x;
    }
    let inv = 1.0 / sum;
    band.iter_mut().for_each(|x| *x *= inv);
    row[..lo].fill(0.0);
    row[hi..].fill(0.0);
}

/// Backward for one sequence: from `datt` rows, writes the gradients of
/// q, k and v into `dqkv` rows (which must be zero for k and v on entry).
/// `scratch` holds at least one block's probabilities.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    dm: Dims,
    blocks: &[Block],
    region: usize,
    row0: usize,
    qkv: &[f32],
    probs: &[f32],
    datt: &[f32],
    dqkv: &mut [f32],
    scratch: &mut [f32],
) {
    let (d, hd, w3) = (dm.d, dm.head_dim, 3 * dm.d);
    for h in 0..dm.heads {
        let preg = &probs[h * region..(h + 1) * region];
        for b in blocks {
            let (m, l) = (b.q1 - b.q0, b.q1 - b.k0);
            let p = &preg[b.offset..b.offset + m * l];
            let ds = &mut scratch[..m * l];
            // dP = dO V^T
            gemm(
                m,
                hd,
                l,
                datt,
                Mat::rows((row0 + b.q0) * d + h * hd, d),
                qkv,
                Mat::t((row0 + b.k0) * w3 + 2 * d + h * hd, w3),
                0.0,
                ds,
                Mat::rows(0, l),
            );
            // dS = P (dP - rowsum(P dP))
            for (dsr, pr) in ds.chunks_exact_mut(l).zip(p.chunks_exact(l)) {
                let dot: f32 = dsr.iter().zip(pr).map(|(a, b)| a * b).sum();
                for (x, &pv) in dsr.iter_mut().zip(pr) {
                    *x = pv * (*x - dot);
                }
            }
            // dQ = dS K
            gemm(
                m,
                l,
                hd,
                ds,
                Mat::rows(0, l),
                qkv,
                Mat::rows((row0 + b.k0) * w3 + d + h * hd, w3),
                0.0,
                dqkv,
                Mat::rows((row0 + b.q0) * w3 + h * hd, w3),
            );
            // dK += dS^T Q
            gemm(
                l,
                m,
                hd,
                ds,
                Mat::t(0, l),
                qkv,
                Mat::rows((row0 + b.q0) * w3 + h * hd, w3),
                1.0,
                dqkv,
                Mat::rows((row0 + b.k0) * w3 + d + h * hd, w3),
            );
            // dV += P^T dO
            gemm(
                l,
                m,
                hd,
                p,
                Mat::t(0, l),
                datt,
                Mat::rows((row0 + b.q0) * d + h * hd, d),
                1.0,
                dqkv,
                Mat::rows((row0 + b.k0) * w3 + 2 * d + h * hd, w3),
            );
        }
    }
}
