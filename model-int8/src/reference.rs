//! The float reference forward pass (`std` only): the architecture of
//! `docs/ARCHITECTURE.md` in `f32`, incremental with a KV cache. It is the
//! quantizer's calibration engine and the yardstick of the int8 model.

use std::vec;
use std::vec::Vec;

use coder_core::{FreqTable, Meter, Model};

use crate::numerics::{rope_angle, NORM_EPS};
use crate::{Activation, Config, FloatModel, Norm, NormParams};

/// Where in the forward pass an activation vector was seen (calibration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Site {
    /// The residual stream after the embedding and after each block half.
    Residual,
    /// Normalized vector before the gain: index `2 l` is the attention norm
    /// of layer `l`, `2 l + 1` its feed-forward norm, `2 n_layers` the final
    /// norm.
    NormOut { index: usize },
    /// Query before RoPE.
    Q { layer: usize },
    /// Key before RoPE.
    K { layer: usize },
    /// Value.
    V { layer: usize },
    /// Feed-forward pre-activation (output of `w1`).
    Pre { layer: usize },
}

/// Receives activation vectors during a forward pass.
pub(crate) trait Observer {
    fn see(&mut self, site: Site, x: &[f32]);
}

impl Observer for () {
    fn see(&mut self, _: Site, _: &[f32]) {}
}

/// The KV cache and position of an incremental float forward pass.
#[derive(Clone, Debug)]
pub struct FloatState {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    pos: usize,
    // Scratch.
    h: Vec<f32>,
    a: Vec<f32>,
    q: Vec<f32>,
    kk: Vec<f32>,
    vv: Vec<f32>,
    att: Vec<f32>,
    hid: Vec<f32>,
    scores: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl FloatState {
    /// An empty cache for `config`.
    pub fn new(config: &Config) -> Self {
        let d = config.d_model as usize;
        let w = config.window as usize;
        let l = config.n_layers as usize;
        FloatState {
            k: vec![vec![0.0; w * d]; l],
            v: vec![vec![0.0; w * d]; l],
            pos: 0,
            h: vec![0.0; d],
            a: vec![0.0; d],
            q: vec![0.0; d],
            kk: vec![0.0; d],
            vv: vec![0.0; d],
            att: vec![0.0; d],
            hid: vec![0.0; config.d_ff as usize],
            scores: vec![0.0; w],
            cos: vec![0.0; config.head_dim() as usize / 2],
            sin: vec![0.0; config.head_dim() as usize / 2],
        }
    }

    /// Forgets the history.
    pub fn reset(&mut self) {
        self.pos = 0;
    }

    /// Number of tokens processed since the last reset.
    pub fn position(&self) -> usize {
        self.pos
    }
}

/// Exact (erf) GELU.
pub(crate) fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + libm::erf(x / core::f64::consts::SQRT_2))
}

fn matvec(w: &[f32], x: &[f32], out: &mut [f32]) {
    let n = x.len();
    for (o, row) in out.iter_mut().zip(w.chunks_exact(n)) {
        *o = dot(row, x);
    }
}

/// Dot product with eight partial sums (so the compiler can vectorize it).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((s, &p), &q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// Normalizes `h` into `x` without the gain (what the int8 model
/// quantizes), then applies gain and bias into `a`.
fn norm(kind: Norm, p: &NormParams, h: &[f32], a: &mut [f32], obs: &mut impl Observer, site: Site) {
    let d = h.len() as f32;
    let mean = match kind {
        Norm::Rms => 0.0,
        Norm::Layer => h.iter().sum::<f32>() / d,
    };
    let var = h.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / d;
    let inv = 1.0 / (var + NORM_EPS).sqrt();
    for (ai, hi) in a.iter_mut().zip(h) {
        *ai = (hi - mean) * inv;
    }
    obs.see(site, a);
    for (i, ai) in a.iter_mut().enumerate() {
        *ai *= p.gain[i];
        if let Some(b) = p.bias.get(i) {
            *ai += b;
        }
    }
}

fn rope(x: &mut [f32], hd: usize, cos: &[f32], sin: &[f32]) {
    let half = hd / 2;
    for head in x.chunks_exact_mut(hd) {
        for i in 0..half {
            let (a, b) = (head[i], head[i + half]);
            head[i] = a * cos[i] - b * sin[i];
            head[i + half] = b * cos[i] + a * sin[i];
        }
    }
}

impl FloatModel {
    /// One incremental step: feeds `token` (`vocab` is BOS) at the state's
    /// position and writes the next-symbol logits (`[vocab]`). Positions
    /// past `max_context - 1` reuse the last position's rotation, like the
    /// int8 model.
    ///
    /// # Panics
    ///
    /// If `token > vocab` or `logits.len() != vocab`.
    pub fn step(&self, st: &mut FloatState, token: usize, logits: &mut [f32]) {
        self.step_observed(st, token, logits, &mut ());
    }

    pub(crate) fn step_observed(
        &self,
        st: &mut FloatState,
        token: usize,
        logits: &mut [f32],
        obs: &mut impl Observer,
    ) {
        let c = &self.config;
        let d = c.d_model as usize;
        let hd = c.head_dim() as usize;
        let nh = c.n_heads as usize;
        let window = c.window as usize;
        let pos = st.pos.min(c.max_context as usize - 1);
        for i in 0..hd / 2 {
            let ang = rope_angle(pos, i, hd, c.rope_base);
            st.cos[i] = ang.cos() as f32;
            st.sin[i] = ang.sin() as f32;
        }
        st.h.copy_from_slice(&self.embedding[token * d..(token + 1) * d]);
        obs.see(Site::Residual, &st.h);
        let slot = st.pos % window;
        let n = (st.pos + 1).min(window);
        let scale = 1.0 / (hd as f32).sqrt();
        for (li, l) in self.layers.iter().enumerate() {
            norm(
                c.norm,
                &l.attn_norm,
                &st.h,
                &mut st.a,
                obs,
                Site::NormOut { index: 2 * li },
            );
            matvec(&l.wq, &st.a, &mut st.q);
            matvec(&l.wk, &st.a, &mut st.kk);
            matvec(&l.wv, &st.a, &mut st.vv);
            obs.see(Site::Q { layer: li }, &st.q);
            obs.see(Site::K { layer: li }, &st.kk);
            obs.see(Site::V { layer: li }, &st.vv);
            rope(&mut st.q, hd, &st.cos, &st.sin);
            rope(&mut st.kk, hd, &st.cos, &st.sin);
            st.k[li][slot * d..(slot + 1) * d].copy_from_slice(&st.kk);
            st.v[li][slot * d..(slot + 1) * d].copy_from_slice(&st.vv);
            for h in 0..nh {
                let q = &st.q[h * hd..(h + 1) * hd];
                let mut max = f32::NEG_INFINITY;
                for t in 0..n {
                    let k = &st.k[li][t * d + h * hd..t * d + (h + 1) * hd];
                    let s = dot(q, k) * scale;
                    st.scores[t] = s;
                    max = max.max(s);
                }
                let mut sum = 0.0;
                for s in st.scores[..n].iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                let out = &mut st.att[h * hd..(h + 1) * hd];
                out.fill(0.0);
                for t in 0..n {
                    let w = st.scores[t] / sum;
                    let v = &st.v[li][t * d + h * hd..t * d + (h + 1) * hd];
                    for (o, x) in out.iter_mut().zip(v) {
                        *o += w * x;
                    }
                }
            }
            matvec(&l.wo, &st.att, &mut st.a);
            for (h, x) in st.h.iter_mut().zip(&st.a) {
                *h += x;
            }
            obs.see(Site::Residual, &st.h);
            norm(
                c.norm,
                &l.ffn_norm,
                &st.h,
                &mut st.a,
                obs,
                Site::NormOut { index: 2 * li + 1 },
            );
            matvec(&l.w1, &st.a, &mut st.hid);
            obs.see(Site::Pre { layer: li }, &st.hid);
            for x in st.hid.iter_mut() {
                *x = match c.activation {
                    Activation::Gelu => gelu(*x as f64) as f32,
                    Activation::Relu => x.max(0.0),
                };
            }
            matvec(&l.w2, &st.hid, &mut st.a);
            for (h, x) in st.h.iter_mut().zip(&st.a) {
                *h += x;
            }
            obs.see(Site::Residual, &st.h);
        }
        norm(
            c.norm,
            &self.final_norm,
            &st.h,
            &mut st.a,
            obs,
            Site::NormOut {
                index: 2 * self.layers.len(),
            },
        );
        matvec(&self.head, &st.a, logits);
        st.pos += 1;
    }
}

/// The float model as a [`coder_core::Model`]: softmax probabilities
/// quantized by [`FreqTable::from_probabilities`]. Host-only: float
/// rounding may differ between machines, so streams coded with it are only
/// for comparison, not for exchange.
#[derive(Clone, Debug)]
pub struct FloatRef {
    model: FloatModel,
    state: FloatState,
    precision: u32,
    input: usize,
    fresh: bool,
    logits: Vec<f32>,
    table: FreqTable<Vec<u32>>,
    fingerprint: u64,
}

impl FloatRef {
    /// Wraps `model`; tables have total `2^precision`.
    ///
    /// # Panics
    ///
    /// If `precision` is not in `1..=MAX_PRECISION` or `vocab >=
    /// 2^precision`.
    pub fn new(model: FloatModel, precision: u32) -> Self {
        let state = FloatState::new(&model.config);
        let v = model.config.vocab as usize;
        let table = FreqTable::from_probabilities(&vec![1.0; v], precision)
            .expect("precision must be in 1..=MAX_PRECISION with vocab < 2^precision");
        FloatRef {
            fingerprint: crate::format::fnv1a64(&model.to_bytes()),
            input: v,
            logits: vec![0.0; v],
            model,
            state,
            precision,
            fresh: false,
            table,
        }
    }

    /// The wrapped model.
    pub fn model(&self) -> &FloatModel {
        &self.model
    }

    fn compute(&mut self) {
        if !self.fresh {
            self.model
                .step(&mut self.state, self.input, &mut self.logits);
            let max = self
                .logits
                .iter()
                .cloned()
                .fold(f32::NEG_INFINITY, f32::max);
            let probs: Vec<f64> = self
                .logits
                .iter()
                .map(|&l| ((l - max) as f64).exp())
                .collect();
            self.table =
                FreqTable::from_probabilities(&probs, self.precision).expect("valid probabilities");
            self.fresh = true;
        }
    }
}

impl Model for FloatRef {
    fn symbols(&self) -> usize {
        self.model.config.vocab as usize
    }
    fn precision(&self) -> u32 {
        self.precision
    }
    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        self.compute();
        self.table.as_ref()
    }
    fn observe(&mut self, symbol: usize) {
        self.compute();
        self.input = symbol;
        self.fresh = false;
    }
    fn reset(&mut self) {
        self.state.reset();
        self.input = self.model.config.vocab as usize;
        self.fresh = false;
    }
    fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// Log-loss of `model` over `data` in bits per symbol, coding it in chunks
/// of `chunk` symbols, each from a reset model (as the container does):
/// `sum(-log2(freq / 2^precision)) / len`, metered by
/// [`coder_core::Meter`]. Symbols must be `< symbols()`.
pub fn bits_per_byte<M: Model + ?Sized>(model: &mut M, data: &[u8], chunk: usize) -> f64 {
    let mut meter = Meter::new(model);
    for c in data.chunks(chunk.max(1)) {
        meter.reset();
        for &b in c {
            meter.observe(usize::from(b));
        }
    }
    meter.bits_per_symbol()
}
