//! The float model as the trainer hands it over (`std` only): the input of
//! the float reference forward pass and of the quantizer.

use std::vec;
use std::vec::Vec;

use crate::numerics::SplitMix64;
use crate::Config;

/// Parameters of a normalization layer.
#[derive(Clone, Debug, PartialEq)]
pub struct NormParams {
    /// `[d_model]`.
    pub gain: Vec<f32>,
    /// `[d_model]` for LayerNorm, empty for RMSNorm.
    pub bias: Vec<f32>,
}

/// One Transformer block. Linear weights are `[out][in]`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLayer {
    /// Norm before attention.
    pub attn_norm: NormParams,
    /// `[d_model][d_model]`.
    pub wq: Vec<f32>,
    /// `[d_model][d_model]`.
    pub wk: Vec<f32>,
    /// `[d_model][d_model]`.
    pub wv: Vec<f32>,
    /// `[d_model][d_model]`.
    pub wo: Vec<f32>,
    /// Norm before the feed-forward.
    pub ffn_norm: NormParams,
    /// `[d_ff][d_model]`.
    pub w1: Vec<f32>,
    /// `[d_model][d_ff]`.
    pub w2: Vec<f32>,
}

/// A trained float model of the architecture in `docs/ARCHITECTURE.md`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatModel {
    /// Hyper-parameters.
    pub config: Config,
    /// `[vocab + 1][d_model]`; row `vocab` is BOS.
    pub embedding: Vec<f32>,
    /// `n_layers` blocks.
    pub layers: Vec<FloatLayer>,
    /// Norm before the output head.
    pub final_norm: NormParams,
    /// `[vocab][d_model]`.
    pub head: Vec<f32>,
}

/// Magic bytes of a float checkpoint written by [`FloatModel::write_to`].
pub const FLOAT_MAGIC: [u8; 4] = *b"LMFP";
/// Version of the float checkpoint format.
pub const FLOAT_VERSION: u32 = 1;

impl NormParams {
    fn expected_bias(config: &Config) -> usize {
        match config.norm {
            crate::Norm::Rms => 0,
            crate::Norm::Layer => config.d_model as usize,
        }
    }

    fn random(config: &Config, rng: &mut SplitMix64) -> Self {
        let d = config.d_model as usize;
        let gain = (0..d).map(|_| 1.0 + 0.2 * rng.symmetric()).collect();
        let bias = (0..Self::expected_bias(config))
            .map(|_| 0.1 * rng.symmetric())
            .collect();
        NormParams { gain, bias }
    }

    fn check(&self, config: &Config) -> bool {
        self.gain.len() == config.d_model as usize && self.bias.len() == Self::expected_bias(config)
    }
}

fn random_matrix(rng: &mut SplitMix64, rows: usize, cols: usize, amp: f32) -> Vec<f32> {
    (0..rows * cols).map(|_| amp * rng.symmetric()).collect()
}

impl FloatModel {
    /// A model with deterministic pseudo-random weights (for tests and speed
    /// measurements), scaled so activations stay in a realistic range and
    /// the output distribution is far from uniform.
    pub fn random(config: Config, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let d = config.d_model as usize;
        let f = config.d_ff as usize;
        let v = config.vocab as usize;
        // Uniform in [-a, a] has variance a^2 / 3: a = sqrt(3 / fan_in)
        // keeps unit variance through a linear layer.
        let amp = |fan_in: usize| (3.0 / fan_in as f32).sqrt();
        let embedding = random_matrix(&mut rng, v + 1, d, 1.0);
        let layers = (0..config.n_layers)
            .map(|_| FloatLayer {
                attn_norm: NormParams::random(&config, &mut rng),
                wq: random_matrix(&mut rng, d, d, amp(d)),
                wk: random_matrix(&mut rng, d, d, amp(d)),
                wv: random_matrix(&mut rng, d, d, amp(d)),
                wo: random_matrix(&mut rng, d, d, 0.5 * amp(d)),
                ffn_norm: NormParams::random(&config, &mut rng),
                w1: random_matrix(&mut rng, f, d, amp(d)),
                w2: random_matrix(&mut rng, d, f, 0.5 * amp(f)),
            })
            .collect();
        let final_norm = NormParams::random(&config, &mut rng);
        let head = random_matrix(&mut rng, v, d, 2.0 * amp(d));
        FloatModel {
            config,
            embedding,
            layers,
            final_norm,
            head,
        }
    }

    /// Checks the configuration and that every tensor has the length the
    /// configuration implies.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let c = &self.config;
        c.validate()?;
        let d = c.d_model as usize;
        let f = c.d_ff as usize;
        let v = c.vocab as usize;
        let ok = self.embedding.len() == (v + 1) * d
            && self.layers.len() == c.n_layers as usize
            && self.layers.iter().all(|l| {
                l.attn_norm.check(c)
                    && l.ffn_norm.check(c)
                    && l.wq.len() == d * d
                    && l.wk.len() == d * d
                    && l.wv.len() == d * d
                    && l.wo.len() == d * d
                    && l.w1.len() == f * d
                    && l.w2.len() == d * f
            })
            && self.final_norm.check(c)
            && self.head.len() == v * d;
        if ok {
            Ok(())
        } else {
            Err(crate::Error::BadFloatModel)
        }
    }

    /// All tensors in checkpoint order.
    pub fn tensors(&self) -> Vec<&Vec<f32>> {
        let mut t = vec![&self.embedding];
        for l in &self.layers {
            t.extend([
                &l.attn_norm.gain,
                &l.attn_norm.bias,
                &l.wq,
                &l.wk,
                &l.wv,
                &l.wo,
                &l.ffn_norm.gain,
                &l.ffn_norm.bias,
                &l.w1,
                &l.w2,
            ]);
        }
        t.extend([&self.final_norm.gain, &self.final_norm.bias, &self.head]);
        t
    }

    /// All tensors in checkpoint order, mutable.
    pub fn tensors_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut t = vec![&mut self.embedding];
        for l in &mut self.layers {
            t.extend([
                &mut l.attn_norm.gain,
                &mut l.attn_norm.bias,
                &mut l.wq,
                &mut l.wk,
                &mut l.wv,
                &mut l.wo,
                &mut l.ffn_norm.gain,
                &mut l.ffn_norm.bias,
                &mut l.w1,
                &mut l.w2,
            ]);
        }
        t.extend([
            &mut self.final_norm.gain,
            &mut self.final_norm.bias,
            &mut self.head,
        ]);
        t
    }

    /// Writes the float checkpoint: little-endian, `"LMFP"`, version `u32`,
    /// ten `u32` config fields (vocab, d_model, n_layers, n_heads, d_ff,
    /// window, max_context, rope_base, norm 0=RMS/1=Layer, activation
    /// 0=GELU/1=ReLU), then every tensor as a `u32` element count followed by
    /// its `f32` values, in the order: embedding; per layer attn gain, attn
    /// bias, wq, wk, wv, wo, ffn gain, ffn bias, w1, w2; final gain, final
    /// bias, head.
    pub fn write_to<W: std::io::Write>(&self, mut w: W) -> std::io::Result<()> {
        self.validate().map_err(invalid)?;
        let c = &self.config;
        let mut buf = Vec::with_capacity(self.config.parameters() as usize * 4 + 1024);
        buf.extend_from_slice(&FLOAT_MAGIC);
        for x in core::iter::once(FLOAT_VERSION).chain(c.to_words()) {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        for t in self.tensors() {
            buf.extend_from_slice(&(t.len() as u32).to_le_bytes());
            for x in t.iter() {
                buf.extend_from_slice(&x.to_le_bytes());
            }
        }
        w.write_all(&buf)
    }

    /// The checkpoint as bytes (see [`write_to`](Self::write_to)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v)
            .expect("writing to a Vec cannot fail for a valid model");
        v
    }

    /// Reads a checkpoint written by [`write_to`](Self::write_to); errors
    /// are `InvalidData` with a message for a bad magic, version, config or
    /// tensor length.
    pub fn read_from<R: std::io::Read>(mut r: R) -> std::io::Result<Self> {
        let mut magic = [0u8; 4];
        r.read_exact(&mut magic)?;
        if magic != FLOAT_MAGIC {
            return Err(invalid("not a float checkpoint (bad magic)"));
        }
        let mut u = || -> std::io::Result<u32> {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
            Ok(u32::from_le_bytes(b))
        };
        let version = u()?;
        if version != FLOAT_VERSION {
            return Err(invalid("unsupported float checkpoint version"));
        }
        let mut f = [0u32; Config::WORDS];
        for x in f.iter_mut() {
            *x = u()?;
        }
        let config = Config::from_words(f).map_err(|_| invalid("bad norm or activation type"))?;
        config.validate().map_err(invalid)?;
        // Shapes come from the config; read into a zero model of that shape.
        let mut m = FloatModel::zeros(config);
        let mut read_tensor = |t: &mut Vec<f32>| -> std::io::Result<()> {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
            if u32::from_le_bytes(b) as usize != t.len() {
                return Err(invalid("tensor length does not match the config"));
            }
            let mut bytes = vec![0u8; t.len() * 4];
            r.read_exact(&mut bytes)?;
            for (x, c) in t.iter_mut().zip(bytes.chunks_exact(4)) {
                *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
            Ok(())
        };
        for t in m.tensors_mut() {
            read_tensor(t)?;
        }
        Ok(m)
    }

    /// Reads a checkpoint from bytes (see [`read_from`](Self::read_from)).
    pub fn from_bytes(bytes: &[u8]) -> std::io::Result<Self> {
        Self::read_from(bytes)
    }

    /// A model of this configuration with all weights zero and gains one.
    pub fn zeros(config: Config) -> Self {
        let d = config.d_model as usize;
        let f = config.d_ff as usize;
        let v = config.vocab as usize;
        let norm = || NormParams {
            gain: vec![1.0; d],
            bias: vec![0.0; NormParams::expected_bias(&config)],
        };
        FloatModel {
            config,
            embedding: vec![0.0; (v + 1) * d],
            layers: (0..config.n_layers)
                .map(|_| FloatLayer {
                    attn_norm: norm(),
                    wq: vec![0.0; d * d],
                    wk: vec![0.0; d * d],
                    wv: vec![0.0; d * d],
                    wo: vec![0.0; d * d],
                    ffn_norm: norm(),
                    w1: vec![0.0; f * d],
                    w2: vec![0.0; d * f],
                })
                .collect(),
            final_norm: norm(),
            head: vec![0.0; v * d],
        }
    }
}

fn invalid<E: core::fmt::Display>(e: E) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, std::format!("{e}"))
}
