//! The quantizer (`std` only): calibrates a [`FloatModel`] on sample text
//! and writes the int8 model file. Every float-derived constant of the
//! integer inference is computed here.

use std::vec;
use std::vec::Vec;

use crate::fixed::{quantize_multiplier, sat_i8};
use crate::format::{self, write_file, DType, EXP_BITS, ROPE_BITS};
use crate::numerics::{rope_angle, NORM_EPS};
use crate::reference::{gelu, FloatState, Observer, Site};
use crate::{Activation, Error, FloatModel, NormParams};

/// Options of [`quantize`].
#[derive(Clone, Debug, PartialEq)]
pub struct QuantOptions {
    /// Frequency tables of the int8 model sum to `2^precision` (default
    /// 16); [`quantize`] raises it to [`precision_for_vocab`] when the
    /// vocabulary needs more room.
    pub precision: u32,
    /// Calibration text is run in chunks of this many bytes, each from an
    /// empty context (default 2048, clamped to `max_context`).
    pub chunk: usize,
    /// At most this many calibration bytes are used (default 16 KiB); the
    /// float forward pass is slow, so more costs time for little gain.
    pub max_calibration_bytes: usize,
    /// SmoothQuant migration strength `alpha` for normalized vectors
    /// (default 0.5): channel `j` enters int8 multiplied by `e_j = (|g_j|
    /// max|W_j|)^(1 - alpha) / max|x_j|^alpha` and the following weights'
    /// column by `g_j / e_j`, so outlier channels do not squeeze the others'
    /// resolution. `0.0` turns it off (`e_j = 1`: the gain is folded into
    /// the weights).
    pub smoothing: f32,
    /// Clip the value and feed-forward pre-activation ranges at this
    /// quantile of their calibration magnitudes instead of the maximum
    /// (e.g. `Some(0.9999)`; default `None`, the maximum).
    pub clip_quantile: Option<f32>,
}

impl Default for QuantOptions {
    fn default() -> Self {
        QuantOptions {
            precision: 16,
            chunk: 2048,
            max_calibration_bytes: 16 * 1024,
            smoothing: 0.5,
            clip_quantile: None,
        }
    }
}

/// The smallest table precision that keeps the cost of giving every one of
/// `vocab` symbols a count of at least 1 as low as for bytes at 16 bits:
/// `2^precision >= 256 * vocab` (capped at
/// [`coder_core::MAX_PRECISION`]), so each symbol keeps at least `1 -
/// 1/256` of its share of the table and a symbol costs at most
/// `-log2(1 - 1/256) = 0.0057` bits more than its float probability says.
///
/// ```
/// use model_int8::precision_for_vocab;
/// assert_eq!(precision_for_vocab(256), 16);
/// assert_eq!(precision_for_vocab(1000), 18);
/// assert_eq!(precision_for_vocab(20_000), 23);
/// assert_eq!(precision_for_vocab(32_768), 23);
/// assert_eq!(precision_for_vocab(65_536), 24);
/// ```
pub const fn precision_for_vocab(vocab: u32) -> u32 {
    let bits = u32::BITS - vocab.saturating_sub(1).leading_zeros();
    let p = bits + 8;
    if p > coder_core::MAX_PRECISION {
        coder_core::MAX_PRECISION
    } else {
        p
    }
}

/// Sampled magnitudes, one vector per layer.
type PerLayer = Vec<Vec<f32>>;

/// Ranges of activations seen during calibration.
struct Stats {
    hd: usize,
    resid: f32,
    /// Per-channel maxima of each normalized vector.
    norm: Vec<Vec<f32>>,
    /// Per layer, per (head, pair) maxima of the pair norms of q and k.
    q: Vec<Vec<f32>>,
    k: Vec<Vec<f32>>,
    v: Vec<f32>,
    pre: Vec<f32>,
    /// With a clip quantile: sampled magnitudes of v and pre per layer.
    samples: Option<(PerLayer, PerLayer)>,
}

fn max_abs(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Updates the per-(head, pair) maxima of `sqrt(x[i]^2 + x[i + hd/2]^2)`:
/// the bound of both components after any rotation.
fn max_pairs(maxima: &mut [f32], x: &[f32], hd: usize) {
    let half = hd / 2;
    for (h, m) in x.chunks_exact(hd).zip(maxima.chunks_exact_mut(half)) {
        for i in 0..half {
            m[i] = m[i].max((h[i] * h[i] + h[i + half] * h[i + half]).sqrt());
        }
    }
}

/// Per-pair scales of q and k with a common product `c = s_q,p * s_k,p`
/// (so int8 dot products stay valid), balanced so every pair uses the int8
/// range as well as possible: `s_q,p = sqrt(c Mq_p / Mk_p)`. Returns
/// `(s_q per pair, s_k per pair, c)`.
fn qk_scales(mq: &[f32], mk: &[f32]) -> (Vec<f64>, Vec<f64>, f64) {
    let c = mq
        .iter()
        .zip(mk)
        .fold(0.0f64, |a, (&q, &k)| a.max(q as f64 * k as f64))
        / (127.0 * 127.0);
    let c = if c > 1e-18 { c } else { 1.0 / (127.0 * 127.0) };
    let mut sq = Vec::with_capacity(mq.len());
    let mut sk = Vec::with_capacity(mq.len());
    for (&q, &k) in mq.iter().zip(mk) {
        let (q, k) = (q as f64, k as f64);
        let ratio = if q > 1e-9 && k > 1e-9 { q / k } else { 1.0 };
        sq.push((c * ratio).sqrt());
        sk.push((c / ratio).sqrt());
    }
    (sq, sk, c)
}

/// Keeps at most this many magnitudes per site for quantiles.
const MAX_SAMPLES: usize = 1 << 20;

fn sample(into: &mut Vec<f32>, x: &[f32]) {
    if into.len() < MAX_SAMPLES {
        into.extend(x.iter().map(|v| v.abs()));
    }
}

/// The `q` quantile of `xs` (in place), at least a tenth of `max` so a
/// quantile of mostly zeros cannot collapse the range.
fn quantile(xs: &mut [f32], q: f32, max: f32) -> f32 {
    if xs.is_empty() {
        return max;
    }
    let k = ((xs.len() - 1) as f64 * q.clamp(0.0, 1.0) as f64).round() as usize;
    let (_, v, _) = xs.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    v.max(0.1 * max)
}

impl Observer for Stats {
    fn see(&mut self, site: Site, x: &[f32]) {
        let up = |slot: &mut f32, v: f32| *slot = slot.max(v);
        match site {
            Site::Residual => up(&mut self.resid, max_abs(x)),
            Site::NormOut { index } => {
                for (m, v) in self.norm[index].iter_mut().zip(x) {
                    *m = m.max(v.abs());
                }
            }
            Site::Q { layer } => max_pairs(&mut self.q[layer], x, self.hd),
            Site::K { layer } => max_pairs(&mut self.k[layer], x, self.hd),
            Site::V { layer } => {
                up(&mut self.v[layer], max_abs(x));
                if let Some((v, _)) = &mut self.samples {
                    sample(&mut v[layer], x);
                }
            }
            Site::Pre { layer } => {
                up(&mut self.pre[layer], max_abs(x));
                if let Some((_, p)) = &mut self.samples {
                    sample(&mut p[layer], x);
                }
            }
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

/// How a normalized vector enters int8: `a_j = round(x_j e_j / s_a)`
/// with `k_j = round(2^16 e_j / s_a)` stored, and the factors its consumers
/// apply to their weight columns (`g_j / e_j`, with `e_j` recomputed from
/// the stored integer so both sides agree exactly).
struct NormQuant {
    consts: Vec<u8>,
    col: Vec<f64>,
    s_a: f64,
}

/// Plans the int8 entry of a normalized vector with per-channel maxima
/// `chan_max`, gain `p`, consumed by the `[rows][d]` matrices `weights`.
fn norm_quant(
    p: &NormParams,
    chan_max: &[f32],
    weights: &[&[f32]],
    alpha: f64,
    resid_bits: i32,
) -> Result<NormQuant, Error> {
    let d = chan_max.len();
    let mut wmax = vec![0.0f64; d];
    for m in weights {
        for row in m.chunks_exact(d) {
            for (w, &x) in wmax.iter_mut().zip(row) {
                *w = w.max((x as f64).abs());
            }
        }
    }
    let e: Vec<f64> = (0..d)
        .map(|j| {
            let m = chan_max[j] as f64;
            let gw = (p.gain[j] as f64).abs() * wmax[j];
            if alpha > 0.0 && m > 1e-9 && gw > 1e-12 {
                gw.powf(1.0 - alpha) / m.powf(alpha)
            } else {
                1.0
            }
        })
        .collect();
    let e_max = e.iter().cloned().fold(0.0f64, f64::max);
    let e: Vec<f64> = e.iter().map(|x| x / e_max).collect();
    let range = (0..d).fold(0.0f64, |a, j| a.max(chan_max[j] as f64 * e[j]));
    let s_a = if range > 1e-12 { range / 127.0 } else { 1.0 };
    let eps = (NORM_EPS as f64 * 2f64.powi(2 * resid_bits)).round();
    let mut consts = Vec::with_capacity(4 * (d + 1));
    push_i32(&mut consts, eps.min((1u32 << 30) as f64) as i32);
    let mut col = Vec::with_capacity(d);
    for (&ej, &g) in e.iter().zip(&p.gain) {
        let k = (65536.0 * ej / s_a).round().clamp(1.0, (1u32 << 24) as f64);
        push_i32(&mut consts, k as i32);
        let e_eff = k * s_a / 65536.0;
        col.push(g as f64 / e_eff);
    }
    Ok(NormQuant { consts, col, s_a })
}

/// Per-output-channel symmetric int8 weights of `w` (`[rows][cols]`) with
/// `cols` multiplied by `gain`: the quantized bytes and each row's scale.
fn quantize_rows(w: &[f32], cols: usize, gain: Option<&[f64]>) -> (Vec<u8>, Vec<f64>) {
    let mut q = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(w.len() / cols);
    for row in w.chunks_exact(cols) {
        let g = |i: usize| gain.map_or(1.0, |g| g[i]);
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

/// A linear layer on an int8 input of scale `s_in` and zero point `z_in`:
/// `W (x * col + beta)` where `x` is the input and, after a norm, `col` its
/// column factors and `beta` the LayerNorm bias. Requantized to
/// `out_scale(row)` (the real value of one output step): int8 weights and
/// the `[bias, mult, shift]` rows.
fn linear(
    w: &[f32],
    cols: usize,
    norm: Option<(&NormParams, &NormQuant)>,
    s_in: f64,
    z_in: i32,
    out_scale: &dyn Fn(usize) -> f64,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let (q, scales) = quantize_rows(w, cols, norm.map(|(_, nq)| &nq.col[..]));
    let mut rq = Vec::with_capacity(scales.len() * 12);
    for (r, (&s_w, row)) in scales.iter().zip(w.chunks_exact(cols)).enumerate() {
        let acc_scale = s_w * s_in;
        // Folded norm bias: W beta, in accumulator units.
        let beta: f64 = match norm {
            Some((n, _)) if !n.bias.is_empty() => row
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

/// Runs the float model over calibration tokens, collecting ranges.
fn calibrate(model: &FloatModel, text: &[u32], opts: &QuantOptions) -> Stats {
    let c = &model.config;
    let l = c.n_layers as usize;
    let mut stats = Stats {
        hd: c.head_dim() as usize,
        resid: 0.0,
        norm: vec![vec![0.0; c.d_model as usize]; 2 * l + 1],
        q: vec![vec![0.0; c.d_model as usize / 2]; l],
        k: vec![vec![0.0; c.d_model as usize / 2]; l],
        v: vec![0.0; l],
        pre: vec![0.0; l],
        samples: opts
            .clip_quantile
            .map(|_| (vec![Vec::new(); l], vec![Vec::new(); l])),
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
    let tokens: Vec<u32> = calibration.iter().map(|&b| u32::from(b)).collect();
    quantize_tokens(model, &tokens, opts)
}

/// [`quantize`] for a token-level model: calibrates on token ids (ids `>=
/// vocab` are clamped; at most `max_calibration_bytes` of them are used).
/// The table precision is at least [`precision_for_vocab`].
pub fn quantize_tokens(
    model: &FloatModel,
    calibration: &[u32],
    opts: &QuantOptions,
) -> Result<Vec<u8>, Error> {
    model.validate()?;
    let c = model.config;
    let opts = &QuantOptions {
        // 0 stays 0, refused below.
        precision: match opts.precision {
            0 => 0,
            p => p.max(precision_for_vocab(c.vocab)),
        },
        ..opts.clone()
    };
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
    let mut stats = calibrate(model, calibration, opts);
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
        let alpha = opts.smoothing.clamp(0.0, 1.0) as f64;
        let na = norm_quant(
            &l.attn_norm,
            &stats.norm[2 * li],
            &[&l.wq, &l.wk, &l.wv],
            alpha,
            r,
        )?;
        let nf = norm_quant(&l.ffn_norm, &stats.norm[2 * li + 1], &[&l.w1], alpha, r)?;
        let (s_a, s_f) = (na.s_a, nf.s_a);
        let (s_q, s_k, qk) = qk_scales(&stats.q[li], &stats.k[li]);
        // Output row o of wq / wk belongs to pair (head, i mod hd/2).
        let half = hd / 2;
        let pair = |o: usize| (o / hd) * half + (o % hd) % half;
        let (v_range, pre_range) = match (&mut stats.samples, opts.clip_quantile) {
            (Some((v, p)), Some(q)) => (
                quantile(&mut v[li], q, stats.v[li]),
                quantile(&mut p[li], q, stats.pre[li]),
            ),
            _ => (stats.v[li], stats.pre[li]),
        };
        let s_v = scale_of(v_range);
        let s_pre = scale_of(pre_range);
        // Queries and keys leave the linear at 1/256 of their int8 step, so
        // RoPE rounds only once.
        let (wq, wq_rq) = linear(&l.wq, d, Some((&l.attn_norm, &na)), s_a, 0, &|o| {
            s_q[pair(o)] / 256.0
        })?;
        let (wk, wk_rq) = linear(&l.wk, d, Some((&l.attn_norm, &na)), s_a, 0, &|o| {
            s_k[pair(o)] / 256.0
        })?;
        let (wv, wv_rq) = linear(&l.wv, d, Some((&l.attn_norm, &na)), s_a, 0, &|_| s_v)?;
        // Attention output has the value scale (a convex combination).
        let (wo, wo_rq) = linear(&l.wo, d, None, s_v, 0, &|_| res_scale)?;
        let (w1, w1_rq) = linear(&l.w1, d, Some((&l.ffn_norm, &nf)), s_f, 0, &|_| s_pre)?;
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
        let (sm_m, sm_s) = multiplier(qk / (hd as f64).sqrt() * log2e * exp_one)?;
        let mut consts = Vec::new();
        for x in [sm_m, sm_s, z_act, 0] {
            push_i32(&mut consts, x);
        }
        let items = [
            (format::slot::ATTN_NORM, na.consts.clone()),
            (format::slot::WQ, wq),
            (format::slot::WQ_RQ, wq_rq),
            (format::slot::WK, wk),
            (format::slot::WK_RQ, wk_rq),
            (format::slot::WV, wv),
            (format::slot::WV_RQ, wv_rq),
            (format::slot::WO, wo),
            (format::slot::WO_RQ, wo_rq),
            (format::slot::FFN_NORM, nf.consts.clone()),
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
    let alpha = opts.smoothing.clamp(0.0, 1.0) as f64;
    let nfin = norm_quant(
        &model.final_norm,
        &stats.norm[2 * c.n_layers as usize],
        &[&model.head],
        alpha,
        r,
    )?;
    let s_fin = nfin.s_a;
    // Logits in units of 2^-EXP_BITS of log2.
    let (head, head_rq) = linear(
        &model.head,
        d,
        Some((&model.final_norm, &nfin)),
        s_fin,
        0,
        &|_| 1.0 / (log2e * exp_one),
    )?;
    push(fin, nfin.consts, &mut t);
    push(fin + 1, head, &mut t);
    push(fin + 2, head_rq, &mut t);
    Ok(write_file(&c, opts.precision, &t))
}
