//! The paper's Figures 3–5: compressors as generative models.
//!
//! A compressor `C` defines a distribution over the next byte through its
//! code lengths: `p(b | x) ∝ 2^-(8 len C(x·b) - 8 len C(x))` over all 256
//! bytes ([`CompressorSampler`], gzip and LZMA2 as in the paper). The int8
//! Transformer's distribution is its own integer frequency table,
//! `freq(b) / 2^precision` ([`ModelSampler`]). Sampling is seeded
//! (`model_int8::numerics::SplitMix64`) and conditioned on real context:
//! [`generate`] walks a real chunk, feeds the bytes a [`Given`] rule keeps
//! and samples the others one at a time, each conditioned on everything
//! before it (real bytes and earlier samples).

use coder_core::Model;
use model_int8::numerics::SplitMix64;
use rayon::prelude::*;

use crate::baselines::Compressor;
use crate::Error;

/// Something that predicts the next byte of a growing context.
pub trait Sampler {
    /// Label in reports.
    fn name(&self) -> String;
    /// Forgets the context.
    fn reset(&mut self);
    /// Appends a byte to the context.
    fn push(&mut self, b: u8);
    /// `p(b | context)` for every byte `b` (sums to one).
    fn distribution(&mut self) -> Result<Vec<f64>, Error>;
}

/// The distribution a compressor's code lengths define:
/// `p(b | x) ∝ 2^-(8 len C(x·b) - 8 len C(x))`.
pub struct CompressorSampler<'c> {
    compressor: &'c dyn Compressor,
    context: Vec<u8>,
}

impl<'c> CompressorSampler<'c> {
    /// A sampler for `compressor` with an empty context.
    pub fn new(compressor: &'c dyn Compressor) -> Self {
        Self {
            compressor,
            context: Vec::new(),
        }
    }
}

/// Turns code lengths in bytes into probabilities `∝ 2^(-8 len)`.
pub fn lengths_to_distribution(lens: &[usize]) -> Vec<f64> {
    let min = lens.iter().copied().min().unwrap_or(0);
    let w: Vec<f64> = lens
        .iter()
        .map(|&l| (-8.0 * (l - min) as f64).exp2())
        .collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|x| x / sum).collect()
}

impl Sampler for CompressorSampler<'_> {
    fn name(&self) -> String {
        self.compressor.name()
    }

    fn reset(&mut self) {
        self.context.clear();
    }

    fn push(&mut self, b: u8) {
        self.context.push(b);
    }

    fn distribution(&mut self) -> Result<Vec<f64>, Error> {
        // len C(x) cancels in the normalisation; only differences matter.
        let ctx = &self.context;
        let c = self.compressor;
        let lens = (0..=255u8)
            .into_par_iter()
            .map(|b| {
                let mut x = Vec::with_capacity(ctx.len() + 1);
                x.extend_from_slice(ctx);
                x.push(b);
                Ok(c.compress(&x)?.len())
            })
            .collect::<Result<Vec<usize>, Error>>()?;
        Ok(lengths_to_distribution(&lens))
    }
}

/// The distribution of any `coder_core::Model` over bytes (an int8
/// Transformer): its frequency table over `2^precision`.
pub struct ModelSampler<M> {
    name: String,
    model: M,
}

impl<M: Model> ModelSampler<M> {
    /// A sampler for `model` (reset), labelled `name`.
    pub fn new(name: String, mut model: M) -> Self {
        model.reset();
        Self { name, model }
    }
}

impl<M: Model> Sampler for ModelSampler<M> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn reset(&mut self) {
        self.model.reset();
    }

    fn push(&mut self, b: u8) {
        self.model.observe(usize::from(b));
    }

    fn distribution(&mut self) -> Result<Vec<f64>, Error> {
        let t = self.model.frequencies();
        let total = (1u64 << t.precision()) as f64;
        let mut p = vec![0.0; 256];
        for (b, slot) in p.iter_mut().enumerate().take(t.symbols()) {
            *slot = t.frequency(b).map_or(0.0, |f| f64::from(f.get()) / total);
        }
        Ok(p)
    }
}

/// Draws a byte from `p` with one 53-bit uniform from `rng`.
pub fn draw(p: &[f64], rng: &mut SplitMix64) -> u8 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let total: f64 = p.iter().sum();
    let target = u * total;
    let mut acc = 0.0;
    let mut last = 0;
    for (b, &q) in p.iter().enumerate() {
        if q > 0.0 {
            last = b;
            acc += q;
            if target < acc {
                return b as u8;
            }
        }
    }
    last as u8
}

/// Which positions of a chunk are given (real) rather than sampled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Given {
    /// The first `n` bytes given, the rest sampled (text, audio).
    Prefix(usize),
    /// Rows of `width` bytes: the first `given` of every row given, the
    /// rest sampled (image: 64-byte rows, 32 given).
    RowHalves {
        /// Bytes per row.
        width: usize,
        /// Bytes given at the start of each row.
        given: usize,
    },
}

impl Given {
    /// Whether byte `i` is given.
    pub fn is_given(self, i: usize) -> bool {
        match self {
            Given::Prefix(n) => i < n,
            Given::RowHalves { width, given } => i % width.max(1) < given,
        }
    }

    /// Short description for reports.
    pub fn describe(self, len: usize) -> String {
        match self {
            Given::Prefix(n) => format!("first {n} of {len} bytes given, the rest sampled"),
            Given::RowHalves { width, given } => format!(
                "rows of {width} bytes: the first {given} of each given, the other {} sampled, row by row",
                width - given
            ),
        }
    }
}

/// Walks `real`: feeds the given bytes, samples the others (each from the
/// sampler's distribution given everything before it) with a
/// `SplitMix64(seed)`. Returns the whole generated sequence (given bytes
/// included). Calls `progress` with 1 per sampled byte.
pub fn generate(
    sampler: &mut dyn Sampler,
    real: &[u8],
    given: Given,
    seed: u64,
    progress: &dyn Fn(u64),
) -> Result<Vec<u8>, Error> {
    let mut rng = SplitMix64::new(seed);
    sampler.reset();
    let mut out = Vec::with_capacity(real.len());
    for (i, &r) in real.iter().enumerate() {
        let b = if given.is_given(i) {
            r
        } else {
            let p = sampler.distribution()?;
            let b = draw(&p, &mut rng);
            progress(1);
            b
        };
        sampler.push(b);
        out.push(b);
    }
    Ok(out)
}

/// The sampled positions of `seq` under `given`.
pub fn sampled_part(seq: &[u8], given: Given) -> Vec<u8> {
    seq.iter()
        .enumerate()
        .filter(|(i, _)| !given.is_given(*i))
        .map(|(_, &b)| b)
        .collect()
}

/// An 8-bit unsigned mono WAV (44-byte RIFF header, PCM).
pub fn wav_u8(samples: &[u8], rate: u32) -> Vec<u8> {
    crate::media::wav_mono(rate, 8, samples)
}
