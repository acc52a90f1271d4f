//! The incremental float reference (KV cache, ring buffer, window) against
//! a naive full-sequence forward pass written straight from
//! `docs/ARCHITECTURE.md`.

use model_int8::{Activation, Config, FloatModel, FloatState, Norm, NormParams};

fn norm(kind: Norm, p: &NormParams, h: &[f32]) -> Vec<f32> {
    let d = h.len() as f64;
    let mean = match kind {
        Norm::Rms => 0.0,
        Norm::Layer => h.iter().map(|&x| x as f64).sum::<f64>() / d,
    };
    let var = h.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / d;
    let inv = 1.0 / (var + 1e-5).sqrt();
    (0..h.len())
        .map(|i| {
            ((h[i] as f64 - mean) * inv * p.gain[i] as f64
                + p.bias.get(i).copied().unwrap_or(0.0) as f64) as f32
        })
        .collect()
}

fn lin(w: &[f32], x: &[f32]) -> Vec<f32> {
    w.chunks_exact(x.len())
        .map(|r| {
            r.iter()
                .zip(x)
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum::<f64>() as f32
        })
        .collect()
}

fn rope(x: &mut [f32], pos: usize, hd: usize, base: f64) {
    let half = hd / 2;
    for head in x.chunks_exact_mut(hd) {
        for i in 0..half {
            let theta = base.powf(-2.0 * i as f64 / hd as f64);
            let (c, s) = ((pos as f64 * theta).cos(), (pos as f64 * theta).sin());
            let (a, b) = (head[i] as f64, head[i + half] as f64);
            head[i] = (a * c - b * s) as f32;
            head[i + half] = (b * c + a * s) as f32;
        }
    }
}

/// Logits at every position of `input` (input[0] is BOS), all at once.
fn naive(m: &FloatModel, input: &[usize]) -> Vec<Vec<f32>> {
    let c = &m.config;
    let d = c.d_model as usize;
    let hd = c.head_dim() as usize;
    let n = input.len();
    let mut h: Vec<Vec<f32>> = input
        .iter()
        .map(|&t| m.embedding[t * d..(t + 1) * d].to_vec())
        .collect();
    for l in &m.layers {
        let a: Vec<Vec<f32>> = h.iter().map(|x| norm(c.norm, &l.attn_norm, x)).collect();
        let mut q: Vec<Vec<f32>> = a.iter().map(|x| lin(&l.wq, x)).collect();
        let mut k: Vec<Vec<f32>> = a.iter().map(|x| lin(&l.wk, x)).collect();
        let v: Vec<Vec<f32>> = a.iter().map(|x| lin(&l.wv, x)).collect();
        for t in 0..n {
            rope(&mut q[t], t, hd, c.rope_base as f64);
            rope(&mut k[t], t, hd, c.rope_base as f64);
        }
        for t in 0..n {
            let lo = (t + 1).saturating_sub(c.window as usize);
            let mut att = vec![0.0f32; d];
            for hh in 0..c.n_heads as usize {
                let r = hh * hd..(hh + 1) * hd;
                let s: Vec<f64> = (lo..=t)
                    .map(|u| {
                        q[t][r.clone()]
                            .iter()
                            .zip(&k[u][r.clone()])
                            .map(|(a, b)| *a as f64 * *b as f64)
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let mx = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = s.iter().map(|x| (x - mx).exp()).sum();
                for (u, sc) in (lo..=t).zip(&s) {
                    let p = (sc - mx).exp() / z;
                    for j in r.clone() {
                        att[j] += (p * v[u][j] as f64) as f32;
                    }
                }
            }
            let o = lin(&l.wo, &att);
            for j in 0..d {
                h[t][j] += o[j];
            }
            let f = norm(c.norm, &l.ffn_norm, &h[t]);
            let mut u = lin(&l.w1, &f);
            for x in u.iter_mut() {
                *x = match c.activation {
                    Activation::Gelu => {
                        (0.5 * *x as f64 * (1.0 + libm_erf(*x as f64 / 2f64.sqrt()))) as f32
                    }
                    Activation::Relu => x.max(0.0),
                };
            }
            let y = lin(&l.w2, &u);
            for j in 0..d {
                h[t][j] += y[j];
            }
        }
    }
    h.iter()
        .map(|x| lin(&m.head, &norm(c.norm, &m.final_norm, x)))
        .collect()
}

/// erf by its Taylor series / continued fraction is overkill here: use the
/// Abramowitz-Stegun 7.1.26 approximation (error < 1.5e-7).
fn libm_erf(x: f64) -> f64 {
    let s = x.signum();
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.3275911 * x);
    let y = 1.0
        - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
            + 0.254829592)
            * t
            * (-x * x).exp();
    s * y
}

#[test]
fn incremental_matches_naive() {
    for (cfg, seed) in [
        (Config::sized(16, 2, 2, 5, 24), 1u64),
        (
            Config {
                norm: Norm::Layer,
                activation: Activation::Relu,
                ..Config::sized(24, 1, 3, 24, 24)
            },
            2,
        ),
    ] {
        let m = FloatModel::random(cfg, seed);
        let bytes: Vec<usize> = b"abracadabra, abracadabra!"
            .iter()
            .map(|&b| b as usize)
            .collect();
        let mut input = vec![cfg.vocab as usize];
        input.extend_from_slice(&bytes[..cfg.max_context as usize - 1]);
        let want = naive(&m, &input);
        let mut st = FloatState::new(&cfg);
        let mut got = vec![0.0f32; cfg.vocab as usize];
        for (t, &tok) in input.iter().enumerate() {
            m.step(&mut st, tok, &mut got);
            let err = got
                .iter()
                .zip(&want[t])
                .fold(0.0f32, |e, (a, b)| e.max((a - b).abs()));
            assert!(err < 2e-3, "{cfg:?} position {t}: max logit error {err}");
        }
    }
}
