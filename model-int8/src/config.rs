//! The architecture hyper-parameters shared by the trainer, the float
//! reference and the int8 inference (see `docs/ARCHITECTURE.md`).

use crate::Error;

/// Normalization layer type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Norm {
    /// `x / rms(x) * gain`.
    Rms,
    /// `(x - mean) / std(x) * gain + bias`.
    Layer,
}

/// Feed-forward non-linearity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Activation {
    /// Exact (erf) GELU.
    Gelu,
    /// `max(0, x)`.
    Relu,
}

/// The code of each variant in every file format (`0` RMS, `1` Layer).
impl Norm {
    /// The variant's code.
    pub const fn code(self) -> u32 {
        match self {
            Norm::Rms => 0,
            Norm::Layer => 1,
        }
    }

    /// The variant of a code ([`Error::BadConfig`] for an unknown one).
    pub const fn from_code(code: u32) -> Result<Self, Error> {
        match code {
            0 => Ok(Norm::Rms),
            1 => Ok(Norm::Layer),
            _ => Err(Error::BadConfig),
        }
    }
}

impl From<Norm> for u32 {
    fn from(n: Norm) -> u32 {
        n.code()
    }
}

impl TryFrom<u32> for Norm {
    type Error = Error;
    fn try_from(code: u32) -> Result<Self, Error> {
        Self::from_code(code)
    }
}

/// The code of each variant in every file format (`0` GELU, `1` ReLU).
impl Activation {
    /// The variant's code.
    pub const fn code(self) -> u32 {
        match self {
            Activation::Gelu => 0,
            Activation::Relu => 1,
        }
    }

    /// The variant of a code ([`Error::BadConfig`] for an unknown one).
    pub const fn from_code(code: u32) -> Result<Self, Error> {
        match code {
            0 => Ok(Activation::Gelu),
            1 => Ok(Activation::Relu),
            _ => Err(Error::BadConfig),
        }
    }
}

impl From<Activation> for u32 {
    fn from(a: Activation) -> u32 {
        a.code()
    }
}

impl TryFrom<u32> for Activation {
    type Error = Error;
    fn try_from(code: u32) -> Result<Self, Error> {
        Self::from_code(code)
    }
}

/// Hyper-parameters of a decoder-only byte-level Transformer.
///
/// Its one encoding is [`Config::to_words`] / [`Config::from_words`]: the
/// int8 file, the float checkpoint, the trainer's Burn record and the
/// firmware's build script all store these ten words (with the `serde`
/// feature, JSON uses the field names and lower-case variant names).
///
/// ```
/// use model_int8::Config;
/// let c = Config::paper_200k(256, 2048);
/// let w = c.to_words();
/// assert_eq!(w, [256, 64, 4, 4, 256, 256, 2048, 10_000, 0, 0]);
/// assert_eq!(Config::from_words(w), Ok(c));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Config {
    /// Output alphabet (256 for bytes); the embedding has `vocab + 1` rows,
    /// the last one being BOS.
    pub vocab: u32,
    /// Width of the residual stream.
    pub d_model: u32,
    /// Number of Transformer blocks.
    pub n_layers: u32,
    /// Attention heads; `d_model` is a multiple of it and `d_model /
    /// n_heads` is even (RoPE rotates pairs).
    pub n_heads: u32,
    /// Feed-forward hidden width.
    pub d_ff: u32,
    /// Attention window: a position sees itself and `window - 1` before it.
    pub window: u32,
    /// Longest chunk the model codes (positions `0 .. max_context`).
    pub max_context: u32,
    /// RoPE base (10,000 in the usual configuration).
    pub rope_base: u32,
    /// Normalization type.
    pub norm: Norm,
    /// Feed-forward activation.
    pub activation: Activation,
}

impl Config {
    /// The paper's 200K configuration (d 64, 4 layers, 4 heads, ffn 256).
    pub const fn paper_200k(window: u32, max_context: u32) -> Self {
        Self::sized(64, 4, 4, window, max_context)
    }
    /// The paper's 800K configuration (d 128, 4 layers, 4 heads, ffn 512).
    pub const fn paper_800k(window: u32, max_context: u32) -> Self {
        Self::sized(128, 4, 4, window, max_context)
    }
    /// The paper's 3.2M configuration (d 256, 4 layers, 8 heads, ffn 1024).
    pub const fn paper_3m2(window: u32, max_context: u32) -> Self {
        Self::sized(256, 4, 8, window, max_context)
    }

    /// Byte vocabulary, RMSNorm, GELU, `d_ff = 4 d`, RoPE base 10,000.
    pub const fn sized(
        d_model: u32,
        n_layers: u32,
        n_heads: u32,
        window: u32,
        max_context: u32,
    ) -> Self {
        Self {
            vocab: 256,
            d_model,
            n_layers,
            n_heads,
            d_ff: 4 * d_model,
            window,
            max_context,
            rope_base: 10_000,
            norm: Norm::Rms,
            activation: Activation::Gelu,
        }
    }

    /// Number of words of [`Config::to_words`].
    pub const WORDS: usize = 10;

    /// The configuration as ten words: vocab, d_model, n_layers, n_heads,
    /// d_ff, window, max_context, rope_base, norm code, activation code.
    pub const fn to_words(&self) -> [u32; Self::WORDS] {
        [
            self.vocab,
            self.d_model,
            self.n_layers,
            self.n_heads,
            self.d_ff,
            self.window,
            self.max_context,
            self.rope_base,
            self.norm.code(),
            self.activation.code(),
        ]
    }

    /// Decodes [`Config::to_words`]; unknown norm or activation codes are
    /// [`Error::BadConfig`]. Sizes are not checked here: see
    /// [`Config::validate`].
    pub const fn from_words(w: [u32; Self::WORDS]) -> Result<Self, Error> {
        let norm = match Norm::from_code(w[8]) {
            Ok(n) => n,
            Err(e) => return Err(e),
        };
        let activation = match Activation::from_code(w[9]) {
            Ok(a) => a,
            Err(e) => return Err(e),
        };
        Ok(Self {
            vocab: w[0],
            d_model: w[1],
            n_layers: w[2],
            n_heads: w[3],
            d_ff: w[4],
            window: w[5],
            max_context: w[6],
            rope_base: w[7],
            norm,
            activation,
        })
    }

    /// Whether the model codes chunks longer than `max_context` with the
    /// quality it has inside them: true when it attends over a sliding
    /// window shorter than its context (`window < max_context`), trained
    /// on sequences longer than the window, so it knows the positions that
    /// no longer see BOS and, with `RoPE`, depends only on distances within
    /// the window. A model with full attention (`window == max_context`)
    /// never learned positions past its context and cannot stream.
    ///
    /// ```
    /// use model_int8::Config;
    /// assert!(Config::paper_200k(256, 2048).can_stream());
    /// assert!(!Config::paper_200k(2048, 2048).can_stream());
    /// ```
    pub const fn can_stream(&self) -> bool {
        self.window < self.max_context
    }

    /// Per-head width.
    pub const fn head_dim(&self) -> u32 {
        self.d_model / self.n_heads
    }

    /// Checks the invariants every implementation relies on: non-zero
    /// sizes, `n_heads` dividing `d_model` with an even head width, `1 <=
    /// window <= max_context`, and the size limits of the int8 format
    /// (`vocab <= 32768`, `d_model <= 4096`, `d_ff <= 16384`, `max_context
    /// <= 65536`, `n_layers <= 64`).
    pub const fn validate(&self) -> Result<(), Error> {
        let ok = self.vocab >= 1
            && self.vocab <= 32_768
            && self.d_model >= 2
            && self.d_model <= 4096
            && self.n_layers >= 1
            && self.n_layers <= 64
            && self.n_heads >= 1
            && self.d_model.is_multiple_of(self.n_heads)
            && (self.d_model / self.n_heads).is_multiple_of(2)
            && self.d_ff >= 1
            && self.d_ff <= 16_384
            && self.window >= 1
            && self.window <= self.max_context
            && self.max_context <= 65_536
            && self.rope_base >= 2;
        if ok {
            Ok(())
        } else {
            Err(Error::BadConfig)
        }
    }

    /// Number of float parameters (embedding incl. BOS, blocks, norms, head).
    pub const fn parameters(&self) -> u64 {
        let d = self.d_model as u64;
        let f = self.d_ff as u64;
        let v = self.vocab as u64;
        let norm = match self.norm {
            Norm::Rms => d,
            Norm::Layer => 2 * d,
        };
        let block = 4 * d * d + 2 * d * f + 2 * norm;
        (v + 1) * d + self.n_layers as u64 * block + norm + v * d
    }
}
