//! Forward and backward pass of the whole model, by hand, on the CPU.

use model_int8::{Activation, Config};

use crate::error::Error;

use super::attention::{self, Block, Dims};
use super::kernels::{self, exp, gemm, Mat};
use super::layout::Layout;

/// RMSNorm epsilon (the Burn model's and the float reference's).
const EPS: f32 = model_int8::NORM_EPS;

/// Activations of one block, kept for the backward pass.
#[derive(Default)]
struct LayerActs {
    /// Residual stream entering the block `[R][d]`.
    x: Vec<f32>,
    xhat1: Vec<f32>,
    inv1: Vec<f32>,
    /// `[R][3d]`: rotated and scaled q, rotated k, v.
    qkv: Vec<f32>,
    probs: Vec<f32>,
    /// Attention output before `wo` `[R][d]`.
    att: Vec<f32>,
    /// Residual stream after attention `[R][d]`.
    x2: Vec<f32>,
    xhat2: Vec<f32>,
    inv2: Vec<f32>,
    /// Feed-forward pre-activation and activation `[R][ff]`.
    u: Vec<f32>,
    act: Vec<f32>,
    /// Dropout masks of the attention and feed-forward branches `[R][d]`
    /// (0 or `1 / (1 - p)`); empty without dropout.
    mask_att: Vec<f32>,
    mask_ffn: Vec<f32>,
}

/// One worker's buffers (reused across calls).
#[derive(Default)]
struct Workspace {
    layers: Vec<LayerActs>,
    xf: Vec<f32>,
    xhatf: Vec<f32>,
    invf: Vec<f32>,
    /// Gradient of the logits `[R][vocab]`.
    dlogits: Vec<f32>,
    tmp: Vec<f32>,
    dx: Vec<f32>,
    dqkv: Vec<f32>,
    datt: Vec<f32>,
    dff: Vec<f32>,
    scratch: Vec<f32>,
    grad: Vec<f32>,
}

fn sized(v: &mut Vec<f32>, n: usize) -> &mut Vec<f32> {
    v.resize(n, 0.0);
    v
}

/// The fused engine for one model configuration.
pub struct Engine {
    layout: Layout,
    threads: usize,
    workers: Vec<Workspace>,
    rope: Option<(usize, Vec<f32>, Vec<f32>)>,
}

impl Engine {
    /// An engine for `config` using `threads` worker threads.
    pub fn new(config: &Config, threads: usize) -> Result<Self, Error> {
        Ok(Self {
            layout: Layout::new(config)?,
            threads: threads.max(1),
            workers: Vec::new(),
            rope: None,
        })
    }

    /// Where each tensor lives in the parameter vector.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.layout.len
    }

    /// Mean cross-entropy (nats per target) of `batch` sequences of `len`
    /// tokens, and its gradient with respect to `params` written into
    /// `grad` (overwritten). `inputs` are token ids (`vocab` is BOS),
    /// `targets` bytes, both `[batch * len]`.
    pub fn loss_and_grad(
        &mut self,
        params: &[f32],
        inputs: &[i32],
        targets: &[i32],
        batch: usize,
        len: usize,
        grad: &mut [f32],
    ) -> f32 {
        self.loss_and_grad_dropout(params, inputs, targets, batch, len, grad, Dropout::NONE)
    }

    /// As [`Engine::loss_and_grad`], training with residual dropout: each
    /// block's attention and feed-forward outputs are zeroed with
    /// probability `dropout.p` (and the rest scaled by `1 / (1 - p)`)
    /// before they join the residual stream. The masks depend only on
    /// `dropout.seed` and each sequence's index in the batch, not on the
    /// thread count.
    #[allow(clippy::too_many_arguments)]
    pub fn loss_and_grad_dropout(
        &mut self,
        params: &[f32],
        inputs: &[i32],
        targets: &[i32],
        batch: usize,
        len: usize,
        grad: &mut [f32],
        dropout: Dropout,
    ) -> f32 {
        let loss = self.run(params, inputs, targets, batch, len, Some(dropout));
        grad.fill(0.0);
        for w in &self.workers[..self.used(batch)] {
            for (g, x) in grad.iter_mut().zip(&w.grad) {
                *g += x;
            }
        }
        loss
    }

    /// Mean cross-entropy (nats per target) without gradients.
    pub fn loss(
        &mut self,
        params: &[f32],
        inputs: &[i32],
        targets: &[i32],
        batch: usize,
        len: usize,
    ) -> f32 {
        self.run(params, inputs, targets, batch, len, None)
    }

    fn used(&self, batch: usize) -> usize {
        self.threads.min(batch)
    }

    fn run(
        &mut self,
        params: &[f32],
        inputs: &[i32],
        targets: &[i32],
        batch: usize,
        len: usize,
        backward: Option<Dropout>,
    ) -> f32 {
        let cfg = self.layout.config;
        assert_eq!(
            params.len(),
            self.layout.len,
            "parameter vector of the wrong length"
        );
        assert_eq!(inputs.len(), batch * len, "inputs are not batch * len");
        assert_eq!(targets.len(), batch * len, "targets are not batch * len");
        assert!(
            inputs.iter().all(|&t| (0..=cfg.vocab as i32).contains(&t))
                && targets.iter().all(|&t| (0..cfg.vocab as i32).contains(&t)),
            "token out of range"
        );
        let hd = cfg.head_dim() as usize;
        if self.rope.as_ref().is_none_or(|r| r.0 < len) {
            let (c, s) = kernels::rope_tables(len, hd, cfg.rope_base);
            self.rope = Some((len, c, s));
        }
        let rope = self.rope.as_ref().expect("built above");
        let (rope_cos, rope_sin) = (&rope.1[..], &rope.2[..]);
        let workers = self.used(batch);
        if self.workers.len() < workers {
            self.workers.resize_with(workers, Workspace::default);
        }
        let (blocks, region) = attention::plan(len, cfg.window as usize);
        let inv_n = 1.0 / (batch * len) as f32;
        let layout = &self.layout;
        let blocks = &blocks[..];
        let mut losses = vec![0f64; workers];
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            let mut first = 0;
            for (i, (ws, loss)) in self.workers[..workers]
                .iter_mut()
                .zip(losses.iter_mut())
                .enumerate()
            {
                let n = batch / workers + usize::from(i < batch % workers);
                let (s0, s1) = (first * len, (first + n) * len);
                first += n;
                let job = Job {
                    layout,
                    params,
                    inputs: &inputs[s0..s1],
                    targets: &targets[s0..s1],
                    seqs: n,
                    len,
                    blocks,
                    region,
                    rope_cos,
                    rope_sin,
                    inv_n,
                    first_seq: first - n,
                    dropout: backward.filter(|d| d.p > 0.0),
                };
                let mut run = move || {
                    *loss = forward(&job, ws);
                    if backward.is_some() {
                        backward_pass(&job, ws);
                    }
                };
                if i + 1 == workers {
                    run();
                } else {
                    handles.push(scope.spawn(run));
                }
            }
            for h in handles {
                h.join().expect("worker thread panicked");
            }
        });
        (losses.iter().sum::<f64>() * inv_n as f64) as f32
    }
}

/// One worker's share of a batch.
struct Job<'a> {
    layout: &'a Layout,
    params: &'a [f32],
    inputs: &'a [i32],
    targets: &'a [i32],
    seqs: usize,
    len: usize,
    blocks: &'a [Block],
    region: usize,
    rope_cos: &'a [f32],
    rope_sin: &'a [f32],
    /// `1 / (all targets of the batch)`.
    inv_n: f32,
    /// Index of the job's first sequence in the whole batch.
    first_seq: usize,
    /// Residual dropout (training only).
    dropout: Option<Dropout>,
}

/// Residual dropout of one training step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// Probability of zeroing a branch output, in `[0, 1)`.
    pub p: f32,
    /// Seed of the masks; give each step its own.
    pub seed: u64,
}

impl Dropout {
    /// No dropout.
    pub const NONE: Dropout = Dropout { p: 0.0, seed: 0 };
}

/// Which residual branch a mask belongs to.
#[derive(Clone, Copy)]
enum Branch {
    Attention = 0,
    FeedForward = 1,
}

/// Fills `mask` `[seqs * len][d]` with 0 (probability `p`) or
/// `1 / (1 - p)`, each sequence from its own stream so the masks do not
/// depend on how the batch is split across threads.
fn dropout_mask(job: &Job, dr: Dropout, layer: usize, branch: Branch, mask: &mut [f32]) {
    let d = job.layout.config.d_model as usize;
    let keep = 1.0 / (1.0 - dr.p);
    // Zero when the top 32 bits fall below p * 2^32.
    let cut = (dr.p as f64 * 4_294_967_296.0) as u64;
    for (s, seq) in mask.chunks_exact_mut(job.len * d).enumerate() {
        let stream = ((job.first_seq + s) as u64) << 16 | (layer as u64) << 1 | branch as u64;
        let mut rng = model_int8::numerics::SplitMix64::new(
            dr.seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03),
        );
        for pair in seq.chunks_mut(2) {
            let r = rng.next_u64();
            for (i, m) in pair.iter_mut().enumerate() {
                let bits = (r >> (32 * i)) & 0xFFFF_FFFF;
                *m = if bits < cut { 0.0 } else { keep };
            }
        }
    }
}

/// `x += y * mask`, element-wise.
fn add_masked(x: &mut [f32], y: &[f32], mask: &[f32]) {
    for ((a, b), m) in x.iter_mut().zip(y).zip(mask) {
        *a += b * m;
    }
}

/// `out = dy * mask`, element-wise.
fn mul_mask<'a>(out: &'a mut [f32], dy: &[f32], mask: &[f32]) -> &'a [f32] {
    for ((o, g), m) in out.iter_mut().zip(dy).zip(mask) {
        *o = g * m;
    }
    out
}

impl Job<'_> {
    fn dims(&self) -> Dims {
        let c = &self.layout.config;
        Dims {
            d: c.d_model as usize,
            heads: c.n_heads as usize,
            head_dim: c.head_dim() as usize,
            window: c.window as usize,
        }
    }
}

/// `y[R][out] (+)= x[R][in] W^T` for `W` `[out][in]`.
fn linear(rows: usize, inp: usize, out: usize, x: &[f32], w: &[f32], beta: f32, y: &mut [f32]) {
    gemm(
        rows,
        inp,
        out,
        x,
        Mat::rows(0, inp),
        w,
        Mat::t(0, inp),
        beta,
        y,
        Mat::rows(0, out),
    );
}

/// Backward of [`linear`]: `dW += dy^T x` and `dx (+)= dy W`.
#[allow(clippy::too_many_arguments)]
fn linear_backward(
    rows: usize,
    inp: usize,
    out: usize,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    dx: &mut [f32],
    dx_beta: f32,
) {
    gemm(
        out,
        rows,
        inp,
        dy,
        Mat::t(0, out),
        x,
        Mat::rows(0, inp),
        1.0,
        dw,
        Mat::rows(0, inp),
    );
    gemm(
        rows,
        out,
        inp,
        dy,
        Mat::rows(0, out),
        w,
        Mat::rows(0, inp),
        dx_beta,
        dx,
        Mat::rows(0, inp),
    );
}

fn rope_rows(job: &Job, buf: &mut [f32], width: usize, col: usize, inverse: bool, scale: f32) {
    let dm = job.dims();
    let half = dm.head_dim / 2;
    for (r, row) in buf.chunks_exact_mut(width).enumerate() {
        let pos = r % job.len;
        let (c, s) = (
            &job.rope_cos[pos * half..(pos + 1) * half],
            &job.rope_sin[pos * half..(pos + 1) * half],
        );
        rope_row(row, col, dm.heads, dm.head_dim, c, s, inverse, scale);
    }
}

use super::kernels::rope_row;

/// Forward pass; returns the summed cross-entropy (nats) of the job's
/// targets and leaves `dlogits` holding the loss gradient.
fn forward(job: &Job, ws: &mut Workspace) -> f64 {
    let cfg = &job.layout.config;
    let p = job.params;
    let (d, f, v) = (cfg.d_model as usize, cfg.d_ff as usize, cfg.vocab as usize);
    let rows = job.seqs * job.len;
    let dm = job.dims();
    let scale = 1.0 / (dm.head_dim as f32).sqrt();
    ws.layers
        .resize_with(cfg.n_layers as usize, LayerActs::default);
    let tmp = sized(&mut ws.tmp, rows * f.max(d));

    let emb = &p[job.layout.embedding.clone()];
    let mut x = std::mem::take(&mut ws.xf);
    x.resize(rows * d, 0.0);
    for (row, &t) in x.chunks_exact_mut(d).zip(job.inputs) {
        row.copy_from_slice(&emb[t as usize * d..(t as usize + 1) * d]);
    }
    for (l, (la, at)) in ws.layers.iter_mut().zip(&job.layout.layers).enumerate() {
        sized(&mut la.x, rows * d).copy_from_slice(&x);
        kernels::rms_forward(
            &x,
            d,
            EPS,
            sized(&mut la.xhat1, rows * d),
            sized(&mut la.inv1, rows),
        );
        kernels::scale_rows(&la.xhat1, &p[at.attn_norm.clone()], &mut tmp[..rows * d]);
        let qkv = sized(&mut la.qkv, rows * 3 * d);
        linear(
            rows,
            d,
            3 * d,
            &tmp[..rows * d],
            &p[at.wqkv.clone()],
            0.0,
            qkv,
        );
        rope_rows(job, qkv, 3 * d, 0, false, scale);
        rope_rows(job, qkv, 3 * d, d, false, 1.0);
        sized(&mut la.att, rows * d);
        sized(&mut la.probs, job.seqs * dm.heads * job.region);
        for s in 0..job.seqs {
            let pr = &mut la.probs[s * dm.heads * job.region..(s + 1) * dm.heads * job.region];
            attention::forward(
                dm,
                job.blocks,
                job.region,
                s * job.len,
                &la.qkv,
                &mut la.att,
                pr,
            );
        }
        // x2 = x + drop(att wo^T)
        x.copy_from_slice(&la.x);
        match job.dropout {
            None => linear(rows, d, d, &la.att, &p[at.wo.clone()], 1.0, &mut x),
            Some(dr) => {
                let y = &mut tmp[..rows * d];
                linear(rows, d, d, &la.att, &p[at.wo.clone()], 0.0, y);
                let mask = sized(&mut la.mask_att, rows * d);
                dropout_mask(job, dr, l, Branch::Attention, mask);
                add_masked(&mut x, y, mask);
            }
        }
        sized(&mut la.x2, rows * d).copy_from_slice(&x);
        kernels::rms_forward(
            &x,
            d,
            EPS,
            sized(&mut la.xhat2, rows * d),
            sized(&mut la.inv2, rows),
        );
        kernels::scale_rows(&la.xhat2, &p[at.ffn_norm.clone()], &mut tmp[..rows * d]);
        linear(
            rows,
            d,
            f,
            &tmp[..rows * d],
            &p[at.w1.clone()],
            0.0,
            sized(&mut la.u, rows * f),
        );
        let act = sized(&mut la.act, rows * f);
        match cfg.activation {
            Activation::Gelu => kernels::gelu(&la.u, act),
            Activation::Relu => kernels::relu(&la.u, act),
        }
        match job.dropout {
            None => linear(rows, f, d, &la.act, &p[at.w2.clone()], 1.0, &mut x),
            Some(dr) => {
                let y = &mut tmp[..rows * d];
                linear(rows, f, d, &la.act, &p[at.w2.clone()], 0.0, y);
                let mask = sized(&mut la.mask_ffn, rows * d);
                dropout_mask(job, dr, l, Branch::FeedForward, mask);
                add_masked(&mut x, y, mask);
            }
        }
    }
    kernels::rms_forward(
        &x,
        d,
        EPS,
        sized(&mut ws.xhatf, rows * d),
        sized(&mut ws.invf, rows),
    );
    ws.xf = x;
    kernels::scale_rows(
        &ws.xhatf,
        &p[job.layout.final_norm.clone()],
        &mut tmp[..rows * d],
    );
    let logits = sized(&mut ws.dlogits, rows * v);
    linear(
        rows,
        d,
        v,
        &tmp[..rows * d],
        &p[job.layout.head.clone()],
        0.0,
        logits,
    );
    let mut total = 0f64;
    for (row, &y) in logits.chunks_exact_mut(v).zip(job.targets) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for z in row.iter_mut() {
            *z = exp(*z - max);
            sum += *z;
        }
        let inv = 1.0 / sum;
        total -= ((row[y as usize] * inv) as f64).ln();
        for z in row.iter_mut() {
            *z *= inv * job.inv_n;
        }
        row[y as usize] -= job.inv_n;
    }
    total
}

/// Backward pass into the worker's gradient buffer.
fn backward_pass(job: &Job, ws: &mut Workspace) {
    let cfg = &job.layout.config;
    let (lay, p) = (job.layout, job.params);
    let (d, f, v) = (cfg.d_model as usize, cfg.d_ff as usize, cfg.vocab as usize);
    let rows = job.seqs * job.len;
    let dm = job.dims();
    let scale = 1.0 / (dm.head_dim as f32).sqrt();
    let g = sized(&mut ws.grad, lay.len);
    g.fill(0.0);
    let tmp = sized(&mut ws.tmp, rows * f.max(d));
    let dx = sized(&mut ws.dx, rows * d);
    let dff = sized(&mut ws.dff, rows * f);
    let datt = sized(&mut ws.datt, rows * d);
    let dqkv = sized(&mut ws.dqkv, rows * 3 * d);
    let max_block = job
        .blocks
        .iter()
        .map(|b| (b.q1 - b.q0) * (b.q1 - b.k0))
        .max()
        .unwrap_or(0);
    let scratch = sized(&mut ws.scratch, max_block);

    // Head and final norm.
    kernels::scale_rows(&ws.xhatf, &p[lay.final_norm.clone()], &mut tmp[..rows * d]);
    let mut da = vec![0f32; rows * d];
    linear_backward(
        rows,
        d,
        v,
        &tmp[..rows * d],
        &p[lay.head.clone()],
        &ws.dlogits,
        &mut g[lay.head.clone()],
        &mut da,
        0.0,
    );
    dx.fill(0.0);
    kernels::rms_backward(
        &ws.xhatf,
        &ws.invf,
        &p[lay.final_norm.clone()],
        &da,
        &mut g[lay.final_norm.clone()],
        dx,
    );

    for (la, at) in ws.layers.iter().zip(&lay.layers).rev() {
        // Feed-forward: x' = x2 + drop(act(u) w2^T).
        let dy = match job.dropout {
            None => &dx[..],
            Some(_) => mul_mask(&mut tmp[..rows * d], dx, &la.mask_ffn),
        };
        linear_backward(
            rows,
            f,
            d,
            &la.act,
            &p[at.w2.clone()],
            dy,
            &mut g[at.w2.clone()],
            dff,
            0.0,
        );
        match cfg.activation {
            Activation::Gelu => kernels::gelu_backward(&la.u, dff),
            Activation::Relu => kernels::relu_backward(&la.u, dff),
        }
        kernels::scale_rows(&la.xhat2, &p[at.ffn_norm.clone()], &mut tmp[..rows * d]);
        linear_backward(
            rows,
            d,
            f,
            &tmp[..rows * d],
            &p[at.w1.clone()],
            dff,
            &mut g[at.w1.clone()],
            &mut da,
            0.0,
        );
        kernels::rms_backward(
            &la.xhat2,
            &la.inv2,
            &p[at.ffn_norm.clone()],
            &da,
            &mut g[at.ffn_norm.clone()],
            dx,
        );
        // Attention: x2 = x + drop(att wo^T).
        let dy = match job.dropout {
            None => &dx[..],
            Some(_) => mul_mask(&mut tmp[..rows * d], dx, &la.mask_att),
        };
        linear_backward(
            rows,
            d,
            d,
            &la.att,
            &p[at.wo.clone()],
            dy,
            &mut g[at.wo.clone()],
            datt,
            0.0,
        );
        dqkv.fill(0.0);
        for s in 0..job.seqs {
            let pr = &la.probs[s * dm.heads * job.region..(s + 1) * dm.heads * job.region];
            attention::backward(
                dm,
                job.blocks,
                job.region,
                s * job.len,
                &la.qkv,
                pr,
                datt,
                dqkv,
                scratch,
            );
        }
        rope_rows(job, dqkv, 3 * d, 0, true, scale);
        rope_rows(job, dqkv, 3 * d, d, true, 1.0);
        kernels::scale_rows(&la.xhat1, &p[at.attn_norm.clone()], &mut tmp[..rows * d]);
        linear_backward(
            rows,
            d,
            3 * d,
            &tmp[..rows * d],
            &p[at.wqkv.clone()],
            dqkv,
            &mut g[at.wqkv.clone()],
            &mut da,
            0.0,
        );
        kernels::rms_backward(
            &la.xhat1,
            &la.inv1,
            &p[at.attn_norm.clone()],
            &da,
            &mut g[at.attn_norm.clone()],
            dx,
        );
    }
    let demb = &mut g[lay.embedding.clone()];
    for (row, &t) in dx.chunks_exact(d).zip(job.inputs) {
        let e = &mut demb[t as usize * d..(t as usize + 1) * d];
        for (a, b) in e.iter_mut().zip(row) {
            *a += b;
        }
    }
}
