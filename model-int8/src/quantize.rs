//! The quantizer (`std` only): calibrates a [`FloatModel`] on sample text
//! and writes the int8 model file. Every float-derived constant of the
//! integer inference is computed here.

use std::vec;
use std::vec::Vec;

use crate::fixed::{quantize_multiplier, sat_i8};
use crate::format::{self, write_file, DType, EXP_BITS, ROPE_BITS};
use crate::reference::{gelu, rope_angle, FloatState, Observer, Site, NORM_EPS};
use crate::{Activation, Error, FloatModel, NormParams};

/// Options of [`quantize`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantOptions {
    /// Frequency tables of the int8 model sum to `2^precision` (default 16).
    pub precision: u32,
    /// Calibration text is run in chunks of this many bytes, each from an
    /// empty context (default 2048, clamped to `max_context`).
    pub chunk: usize,
    /// At most this many calibration bytes are used (default 16 KiB); the
    /// float forward pass is slow, so more costs time for little gain.
    pub max_calibration_bytes: usize,
}

impl Default for QuantOptions {
    fn default() -> Self {
        QuantOptions {
            precision: 16,
            chunk: 2048,
            max_calibration_bytes: 16 * 1024,
        }
    }
}

/// Ranges of activations seen during calibration.
struct Stats {
    hd: usize,
    resid: f32,
    norm: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    pre: Vec<f32>,
}

fn max_abs(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Largest `sqrt(x[i]^2 + x[i + hd/2]^2)` over heads and pairs: the bound
/// of both rotated components.
fn max_pair(x: &[f32], hd: usize) -> f32 {
    let half = hd / 2;
    let mut m = 0.0f32;
    for h in x.chunks_exact(hd) {
        for i in 0..half {
            m = m.max((h[i] * h[i] + h[i + half] * h[i + half]).sqrt());
        }
    }
    m
}

impl Observer for Stats {
    fn see(&mut self, site: Site, x: &[f32]) {
        let up = |slot: &mut f32, v: f32| *slot = slot.max(v);
        match site {
            Site::Residual => up(&mut self.resid, max_abs(x)),
            Site::NormOut { index } => up(&mut self.norm[index], max_abs(x)),
            Site::Q { layer } => up(&mut self.q[layer], max_pair(x, self.hd)),
            Site::K { layer } => up(&mut self.k[layer], max_pair(x, self.hd)),
            Site::V { layer } => up(&mut self.v[layer], max_abs(x)),
            Site::Pre { layer } => up(&mut self.pre[layer], max_abs(x)),
        }
    }
}

/// Symmetric int8 scale for a range bound (never zero).
fn scale_of(max: f32) -> f64 {
    if max.is_finite() && max > 1e-12 {
        max as f64 / 127.0
    } else {
        1.0
    }
}

/// Scale of a normalized vector: at least 2^-8 so the stored `2^16 / s_a`
/// fits its range (a normalized vector has rms 1, so this only binds for
/// degenerate all-zero activations).
fn norm_scale(max: f32) -> f64 {
    scale_of(max).max(1.0 / 256.0)
}

/// Per-output-channel symmetric int8 weights of `w` (`[rows][cols]`) with
/// `cols` multiplied by `gain`: the quantized bytes and each row's scale.
fn quantize_rows(w: &[f32], cols: usize, gain: Option<&[f32]>) -> (Vec<u8>, Vec<f64>) {
    let mut q = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(w.len() / cols);
    for row in w.chunks_exact(cols) {
        let g = |i: usize| gain.map_or(1.0, |g| g[i] as f64);
        let max = (0..cols).fold(0.0f64, |m, i| m.max((row[i] as f64 * g(i)).abs()));
        let s = if max > 0.0 { max / 127.0 } else { 1.0 };
        for (i, &x) in row.iter().enumerate() {
            q.push(((x as f64 * g(i) / s).round().clamp(-127.0, 127.0) as i8) as u8);
        }
        scales.push(s);
    }
    (q, scales)
}

fn push_i32(out: &mut Vec<u8>, x: i32) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn multiplier(m: f64) -> Result<(i32, i32), Error> {
    quantize_multiplier(m).ok_or(Error::NotQuantizable)
}

/// A linear layer `W (x * gain + bias)` on an int8 input of scale `s_in`
/// and zero point `z_in`, requantized to `out_scale(row)` (the real value of
/// one output step): int8 weights and the `[bias, mult, shift]` rows.
fn linear(
    w: &[f32],
    cols: usize,
    norm: Option<&NormParams>,
    s_in: f64,
    z_in: i32,
    out_scale: &dyn Fn(usize) -> f64,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let gain = norm.map(|n| &n.gain[..]);
    let (q, scales) = quantize_rows(w, cols, gain);
    let mut rq = Vec::with_capacity(scales.len() * 12);
    for (r, (&s_w, row)) in scales.iter().zip(w.chunks_exact(cols)).enumerate() {
        let acc_scale = s_w * s_in;
        // Folded norm bias: W beta, in accumulator units.
        let beta: f64 = match norm {
            Some(n) if !n.bias.is_empty() => row
                .iter()
                .zip(&n.bias)
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum(),
            _ => 0.0,
        };
        let rowsum: i64 = q[r * cols..(r + 1) * cols]
            .iter()
            .map(|&b| b as i8 as i64)
            .sum();
        let bias = (beta / acc_scale).round() as i64 - z_in as i64 * rowsum;
        let bias = i32::try_from(bias).map_err(|_| Error::NotQuantizable)?;
        let (m, sh) = multiplier(acc_scale / out_scale(r))?;
        push_i32(&mut rq, bias);
        push_i32(&mut rq, m);
        push_i32(&mut rq, sh);
    }
    Ok((q, rq))
}

/// Norm constants `[round(2^16 / s_a), round(eps * 2^(2 r))]`.
fn norm_consts(s_a: f64, resid_bits: i32) -> Result<Vec<u8>, Error> {
    let c = (65536.0 / s_a).round();
    if !(1.0..=(1u32 << 24) as f64).contains(&c) {
        return Err(Error::NotQuantizable);
    }
    let eps = (NORM_EPS as f64 * 2f64.powi(2 * resid_bits)).round();
    let mut out = Vec::new();
    push_i32(&mut out, c as i32);
    push_i32(&mut out, eps.min((1u32 << 30) as f64) as i32);
    Ok(out)
}

/// Runs the float model over calibration text, collecting ranges.
fn calibrate(model: &FloatModel, text: &[u8], opts: &QuantOptions) -> Stats {
    let c = &model.config;
    let l = c.n_layers as usize;
    let mut stats = Stats {
        hd: c.head_dim() as usize,
        resid: 0.0,
        norm: vec![0.0; 2 * l + 1],
        q: vec![0.0; l],
        k: vec![0.0; l],
        v: vec![0.0; l],
        pre: vec![0.0; l],
    };
    let mut st = FloatState::new(c);
    let mut logits = vec![0.0; c.vocab as usize];
    let text = &text[..text.len().min(opts.max_calibration_bytes)];
    let chunk = opts.chunk.clamp(1, c.max_context as usize);
    let bos = c.vocab as usize;
    // Even without text, BOS alone gives every range a value.
    model.step_observed(&mut st, bos, &mut logits, &mut stats);
    for ch in text.chunks(chunk) {
        st.reset();
        model.step_observed(&mut st, bos, &mut logits, &mut stats);
        for &b in &ch[..ch.len() - 1] {
            let tok = (b as usize).min(bos - 1);
            model.step_observed(&mut st, tok, &mut logits, &mut stats);
        }
    }
    stats
}

/// Quantizes `model` to the bytes of an int8 model file, calibrating
/// activation ranges on `calibration` text (bytes `>= vocab` are clamped).
///
/// Weights are symmetric int8 per output channel with norm gains folded in;
/// activations int8 with per-tensor scales from the calibration maxima; the
/// residual stream is `i32` fixed point with `r` fractional bits chosen from
/// its range. See the crate docs for the full scheme.
pub fn quantize(
    model: &FloatModel,
    calibration: &[u8],
    opts: &QuantOptions,
) -> Result<Vec<u8>, Error> {
    model.validate()?;
    let c = model.config;
    if opts.precision == 0
        || opts.precision > coder_core::MAX_PRECISION
        || u64::from(c.vocab) >= 1u64 << opts.precision
    {
        return Err(Error::BadConfig);
    }
    let finite = |t: &[f32]| t.iter().all(|x| x.is_finite());
    let all_finite = finite(&model.embedding)
        && finite(&model.head)
        && model.layers.iter().all(|l| {
            [
                &l.wq,
                &l.wk,
                &l.wv,
                &l.wo,
                &l.w1,
                &l.w2,
                &l.attn_norm.gain,
                &l.attn_norm.bias,
            ]
            .iter()
            .all(|t| finite(t))
                && finite(&l.ffn_norm.gain)
                && finite(&l.ffn_norm.bias)
        })
        && finite(&model.final_norm.gain)
        && finite(&model.final_norm.bias);
    if !all_finite {
        return Err(Error::NotQuantizable);
    }
    let stats = calibrate(model, calibration, opts);
    let d = c.d_model as usize;
    let f = c.d_ff as usize;
    let hd = c.head_dim() as usize;
    let log2e = core::f64::consts::LOG2_E;
    let exp_one = (1u32 << EXP_BITS) as f64;

    // Residual fixed point: 2x headroom under 2^22 for the largest value.
    let resid_max = (stats.resid as f64).max(1e-3) * 2.0;
    let r = ((4_194_304.0 / resid_max).log2().floor() as i32).clamp(0, 20);
    let res_scale = 2f64.powi(-r);

    let mut t: Vec<(DType, usize, usize, Vec<u8>)> = Vec::new();
    let push = |index: usize, data: Vec<u8>, t: &mut Vec<(DType, usize, usize, Vec<u8>)>| {
        let (dt, rows, cols) = format::tensor_spec(&c, index);
        debug_assert_eq!(t.len(), index);
        debug_assert_eq!(data.len(), rows * cols * dt.size());
        t.push((dt, rows, cols, data));
    };

    // Exp table: 2^30 * 2^(-j / 2^EXP_BITS).
    let mut exp = Vec::new();
    for j in 0..1u32 << EXP_BITS {
        let v = (2f64.powf(-(j as f64) / exp_one) * (1u64 << 30) as f64).round() as u32;
        exp.extend_from_slice(&v.to_le_bytes());
    }
    push(format::global::EXP, exp, &mut t);

    // Embedding: per-row int8, requantized into the residual.
    let (emb, emb_s) = quantize_rows(&model.embedding, d, None);
    let mut emb_rq = Vec::new();
    for s in emb_s {
        let (m, sh) = multiplier(s / res_scale)?;
        push_i32(&mut emb_rq, m);
        push_i32(&mut emb_rq, sh);
    }
    push(format::global::EMBED, emb, &mut t);
    push(format::global::EMBED_RQ, emb_rq, &mut t);

    // RoPE: [pos][cos .. hd/2, sin .. hd/2] in Q14.
    let mut rope = Vec::new();
    for pos in 0..c.max_context as usize {
        let angles: Vec<f64> = (0..hd / 2)
            .map(|i| rope_angle(pos, i, hd, c.rope_base))
            .collect();
        for x in angles
            .iter()
            .map(|a| a.cos())
            .chain(angles.iter().map(|a| a.sin()))
        {
            let q = (x * (1u32 << ROPE_BITS) as f64).round() as i16;
            rope.extend_from_slice(&q.to_le_bytes());
        }
    }
    push(format::global::ROPE, rope, &mut t);

    for (li, l) in model.layers.iter().enumerate() {
        let base = format::layer_tensor(li, 0);
        let s_a = norm_scale(stats.norm[2 * li]);
        let s_q = scale_of(stats.q[li]);
        let s_k = scale_of(stats.k[li]);
        let s_v = scale_of(stats.v[li]);
        let s_f = norm_scale(stats.norm[2 * li + 1]);
        let s_pre = scale_of(stats.pre[li]);
        // Queries and keys leave the linear at 1/256 of their int8 step, so
        // RoPE rounds only once.
        let (wq, wq_rq) = linear(&l.wq, d, Some(&l.attn_norm), s_a, 0, &|_| s_q / 256.0)?;
        let (wk, wk_rq) = linear(&l.wk, d, Some(&l.attn_norm), s_a, 0, &|_| s_k / 256.0)?;
        let (wv, wv_rq) = linear(&l.wv, d, Some(&l.attn_norm), s_a, 0, &|_| s_v)?;
        // Attention output has the value scale (a convex combination).
        let (wo, wo_rq) = linear(&l.wo, d, None, s_v, 0, &|_| res_scale)?;
        let (w1, w1_rq) = linear(&l.w1, d, Some(&l.ffn_norm), s_f, 0, &|_| s_pre)?;
        // Activation LUT on the int8 pre-activation: asymmetric output.
        let ys: Vec<f64> = (-128i32..128)
            .map(|j| {
                let x = j as f64 * s_pre;
                match c.activation {
                    Activation::Gelu => gelu(x),
                    Activation::Relu => x.max(0.0),
                }
            })
            .collect();
        let lo = ys.iter().cloned().fold(0.0f64, f64::min);
        let hi = ys.iter().cloned().fold(0.0f64, f64::max);
        let s_act = if hi - lo > 1e-12 {
            (hi - lo) / 255.0
        } else {
            1.0
        };
        let z_act = (-128.0 - lo / s_act).round().clamp(-128.0, 127.0) as i32;
        let lut: Vec<u8> = ys
            .iter()
            .map(|&y| sat_i8((y / s_act).round() as i32 + z_act) as u8)
            .collect();
        let (w2, w2_rq) = linear(&l.w2, f, None, s_act, z_act, &|_| res_scale)?;
        let (sm_m, sm_s) = multiplier(s_q * s_k / (hd as f64).sqrt() * log2e * exp_one)?;
        let mut consts = Vec::new();
        for x in [sm_m, sm_s, z_act, 0] {
            push_i32(&mut consts, x);
        }
        let items = [
            (format::slot::ATTN_NORM, norm_consts(s_a, r)?),
            (format::slot::WQ, wq),
            (format::slot::WQ_RQ, wq_rq),
            (format::slot::WK, wk),
            (format::slot::WK_RQ, wk_rq),
            (format::slot::WV, wv),
            (format::slot::WV_RQ, wv_rq),
            (format::slot::WO, wo),
            (format::slot::WO_RQ, wo_rq),
            (format::slot::FFN_NORM, norm_consts(s_f, r)?),
            (format::slot::W1, w1),
            (format::slot::W1_RQ, w1_rq),
            (format::slot::W2, w2),
            (format::slot::W2_RQ, w2_rq),
            (format::slot::ACT_LUT, lut),
            (format::slot::CONSTS, consts),
        ];
        for (s, data) in items {
            push(base + s, data, &mut t);
        }
    }
    let fin = format::final_tensor(&c);
    let s_fin = norm_scale(stats.norm[2 * c.n_layers as usize]);
    // Logits in units of 2^-EXP_BITS of log2.
    let (head, head_rq) = linear(&model.head, d, Some(&model.final_norm), s_fin, 0, &|_| {
        1.0 / (log2e * exp_one)
    })?;
    push(fin, norm_consts(s_fin, r)?, &mut t);
    push(fin + 1, head, &mut t);
    push(fin + 2, head_rq, &mut t);
    Ok(write_file(&c, opts.precision, &t))
}
