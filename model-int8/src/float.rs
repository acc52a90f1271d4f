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
/// Version of `f32` float checkpoints: what [`FloatStorage::F32`] writes, byte
/// for byte the format from before half precision existed.
pub const FLOAT_VERSION: u32 = 1;
/// Version with a value-type word after the configuration
/// ([`FloatStorage::code`]); [`FloatStorage::F16`] writes it.
pub const FLOAT_VERSION_TYPED: u32 = 2;

/// How a float checkpoint stores its values; in memory they are `f32`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FloatStorage {
    /// `f32`, exact: version 1. Training checkpoints, so a resumed run
    /// continues bit for bit.
    #[default]
    F32,
    /// IEEE 754 binary16, rounded to nearest, ties to even: version 2,
    /// half the size. Shipped and exported checkpoints (a warm restart
    /// from them starts within noise of the `f32` weights; measured in
    /// `trainer/README.md`).
    F16,
}

impl FloatStorage {
    /// The value-type word of a version-2 header: 0 = `f32`, 1 = `f16`.
    pub const fn code(self) -> u32 {
        match self {
            FloatStorage::F32 => 0,
            FloatStorage::F16 => 1,
        }
    }

    /// Bytes per stored value.
    pub const fn value_bytes(self) -> usize {
        match self {
            FloatStorage::F32 => 4,
            FloatStorage::F16 => 2,
        }
    }

    /// `x` as a checkpoint of this storage holds it.
    pub fn round(self, x: f32) -> f32 {
        match self {
            FloatStorage::F32 => x,
            FloatStorage::F16 => f16_to_f32(f16_bits(x)),
        }
    }
}

/// `x` as IEEE 754 binary16 bits, rounded to nearest with ties to even
/// (the `half` crate): beyond ±65504 it rounds to ±infinity (from
/// 65520 on), below 2^-24 to subnormals or zero, NaN stays NaN.
pub fn f16_bits(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

/// The binary16 value with bits `h` as `f32` (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

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

    /// Writes the `f32` float checkpoint (version 1, [`FloatStorage::F32`]):
    /// little-endian, `"LMFP"`, version `u32`, ten `u32` config fields
    /// (vocab, d_model, n_layers, n_heads, d_ff, window, max_context,
    /// rope_base, norm 0=RMS/1=Layer, activation 0=GELU/1=ReLU), then every
    /// tensor as a `u32` element count followed by its `f32` values, in the
    /// order: embedding; per layer attn gain, attn bias, wq, wk, wv, wo, ffn
    /// gain, ffn bias, w1, w2; final gain, final bias, head.
    pub fn write_to<W: std::io::Write>(&self, w: W) -> std::io::Result<()> {
        self.write_as(w, FloatStorage::F32)
    }

    /// Writes the checkpoint with its values in `storage`. [`FloatStorage::F32`]
    /// is [`write_to`](Self::write_to); [`FloatStorage::F16`] is version 2: the
    /// same layout with a `u32` value type ([`FloatStorage::code`]) after the
    /// config fields and each value as the little-endian `u16` bits of
    /// [`f16_bits`]. A finite value beyond binary16's range is an
    /// `InvalidData` error, not an infinity in the file.
    pub fn write_as<W: std::io::Write>(
        &self,
        mut w: W,
        storage: FloatStorage,
    ) -> std::io::Result<()> {
        self.validate().map_err(invalid)?;
        let c = &self.config;
        let values = self.config.parameters() as usize;
        let mut buf = Vec::with_capacity(values * storage.value_bytes() + 1024);
        buf.extend_from_slice(&FLOAT_MAGIC);
        let (version, typed) = match storage {
            FloatStorage::F32 => (FLOAT_VERSION, None),
            FloatStorage::F16 => (FLOAT_VERSION_TYPED, Some(storage.code())),
        };
        for x in core::iter::once(version).chain(c.to_words()).chain(typed) {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        for (i, t) in self.tensors().into_iter().enumerate() {
            buf.extend_from_slice(&(t.len() as u32).to_le_bytes());
            match storage {
                FloatStorage::F32 => {
                    for x in t.iter() {
                        buf.extend_from_slice(&x.to_le_bytes());
                    }
                }
                FloatStorage::F16 => {
                    for &x in t.iter() {
                        let h = f16_bits(x);
                        if x.is_finite() && !f16_to_f32(h).is_finite() {
                            return Err(invalid(std::format!(
                                "tensor {i} holds {x}, beyond binary16's range (65504): store this model as f32"
                            )));
                        }
                        buf.extend_from_slice(&h.to_le_bytes());
                    }
                }
            }
        }
        w.write_all(&buf)
    }

    /// The `f32` checkpoint as bytes (see [`write_to`](Self::write_to)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v)
            .expect("writing to a Vec cannot fail for a valid model");
        v
    }

    /// The checkpoint in `storage` as bytes (see [`write_as`](Self::write_as)).
    pub fn to_bytes_as(&self, storage: FloatStorage) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::new();
        self.write_as(&mut v, storage)?;
        Ok(v)
    }

    /// The model as a checkpoint in `storage` holds it: every value
    /// through [`FloatStorage::round`].
    pub fn rounded(&self, storage: FloatStorage) -> FloatModel {
        let mut m = self.clone();
        for t in m.tensors_mut() {
            for x in t.iter_mut() {
                *x = storage.round(*x);
            }
        }
        m
    }

    /// Reads a checkpoint written by [`write_to`](Self::write_to) or
    /// [`write_as`](Self::write_as), of either version; errors are
    /// `InvalidData` with a message for a bad magic, version, value type,
    /// config or tensor length.
    pub fn read_from<R: std::io::Read>(r: R) -> std::io::Result<Self> {
        Self::read_with_storage(r).map(|(m, _)| m)
    }

    /// As [`read_from`](Self::read_from), also saying how the file stored
    /// its values.
    pub fn read_with_storage<R: std::io::Read>(mut r: R) -> std::io::Result<(Self, FloatStorage)> {
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
        if version != FLOAT_VERSION && version != FLOAT_VERSION_TYPED {
            return Err(invalid(std::format!(
                "unsupported float checkpoint version {version} (this build reads {FLOAT_VERSION} and {FLOAT_VERSION_TYPED})"
            )));
        }
        let mut f = [0u32; Config::WORDS];
        for x in f.iter_mut() {
            *x = u()?;
        }
        let storage = match version {
            FLOAT_VERSION => FloatStorage::F32,
            _ => match u()? {
                0 => FloatStorage::F32,
                1 => FloatStorage::F16,
                t => {
                    return Err(invalid(std::format!(
                        "unknown float checkpoint value type {t} (0 = f32, 1 = f16)"
                    )))
                }
            },
        };
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
            let mut bytes = vec![0u8; t.len() * storage.value_bytes()];
            r.read_exact(&mut bytes)?;
            match storage {
                FloatStorage::F32 => {
                    for (x, c) in t.iter_mut().zip(bytes.chunks_exact(4)) {
                        *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    }
                }
                FloatStorage::F16 => {
                    for (x, c) in t.iter_mut().zip(bytes.chunks_exact(2)) {
                        *x = f16_to_f32(u16::from_le_bytes([c[0], c[1]]));
                    }
                }
            }
            Ok(())
        };
        for t in m.tensors_mut() {
            read_tensor(t)?;
        }
        Ok((m, storage))
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
