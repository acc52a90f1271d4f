//! The numeric helpers every implementation of the model shares (the Burn
//! model and fused engine of the trainer, the float reference, the
//! quantizer, the benches): one RoPE angle, one normalisation epsilon, one
//! seeded generator. Changing any of them changes every model's function,
//! so each exists exactly once.

/// Epsilon added to the variance (or mean square) inside every norm.
pub const NORM_EPS: f32 = 1e-5;

/// RoPE angle of pair `i` of a head of width `hd` at position `pos`:
/// `pos * base^(-2i/hd)`, in `f64`. Host-only (the int8 model stores the
/// rotations it needs, computed with this function by the quantizer).
#[cfg(feature = "std")]
pub fn rope_angle(pos: usize, i: usize, hd: usize, base: u32) -> f64 {
    pos as f64 * rope_frequency(i, hd, base)
}

/// The angular frequency `base^(-2i/hd)` of pair `i`.
#[cfg(feature = "std")]
pub fn rope_frequency(i: usize, hd: usize, base: u32) -> f64 {
    (base as f64).powf(-2.0 * i as f64 / hd as f64)
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator for
/// random test models, dropout masks and benchmark data, where statistical
/// quality beyond that does not matter.
///
/// ```
/// use model_int8::numerics::SplitMix64;
/// let mut r = SplitMix64::new(0);
/// assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
/// ```
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`, with 24 random bits.
    pub fn symmetric(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}
