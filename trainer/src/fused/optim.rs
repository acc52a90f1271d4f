//! AdamW over the flat parameter vector, with per-tensor gradient-norm
//! clipping (what Burn's `GradientClippingConfig::Norm` does per
//! parameter), saved and restored byte for byte.

use std::ops::Range;

use crate::error::Error;

/// AdamW state and hyper-parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamW {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// Per-tensor gradient norm limit (0: none).
    pub clip: f32,
    /// Steps taken (for bias correction).
    pub t: u64,
    m: Vec<f32>,
    v: Vec<f32>,
}

const MAGIC: &[u8; 8] = b"LMADAMW1";

impl AdamW {
    /// Fresh state for `n` parameters.
    pub fn new(n: usize, beta2: f32, weight_decay: f32, clip: f32) -> Self {
        Self {
            beta1: 0.9,
            beta2,
            eps: 1e-8,
            weight_decay,
            clip,
            t: 0,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// One update of `params` by `grad` (clipped in place per tensor).
    pub fn step(
        &mut self,
        lr: f32,
        params: &mut [f32],
        grad: &mut [f32],
        tensors: &[Range<usize>],
    ) {
        assert_eq!(
            params.len(),
            self.m.len(),
            "optimizer state of another size"
        );
        if self.clip > 0.0 {
            for r in tensors {
                let g = &mut grad[r.clone()];
                let norm = g.iter().map(|x| x * x).sum::<f32>().sqrt();
                if norm > self.clip {
                    let s = self.clip / (norm + 1e-6);
                    g.iter_mut().for_each(|x| *x *= s);
                }
            }
        }
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t as i32);
        let c2 = 1.0 - self.beta2.powi(self.t as i32);
        let (b1, b2, eps, wd) = (self.beta1, self.beta2, self.eps, self.weight_decay);
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grad.iter())
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            let update = (*m / c1) / ((*v / c2).sqrt() + eps);
            *p -= lr * (update + wd * *p);
        }
    }

    /// The state as bytes (magic, step, length, moments).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + 8 * self.m.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.t.to_le_bytes());
        out.extend_from_slice(&(self.m.len() as u64).to_le_bytes());
        for x in self.m.iter().chain(&self.v) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Restores the moments and step written by [`Self::to_bytes`].
    pub fn load_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let n = self.m.len();
        if bytes.len() != 24 + 8 * n || &bytes[..8] != MAGIC {
            return Err(Error::Model(
                "the optimizer state is not for this model".into(),
            ));
        }
        let u = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        if u(16) != n as u64 {
            return Err(Error::Model(
                "the optimizer state is not for this model".into(),
            ));
        }
        self.t = u(8);
        let f = |i: usize| {
            f32::from_le_bytes(bytes[24 + 4 * i..28 + 4 * i].try_into().expect("4 bytes"))
        };
        for i in 0..n {
            self.m[i] = f(i);
            self.v[i] = f(n + i);
        }
        Ok(())
    }
}
