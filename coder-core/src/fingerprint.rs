//! Model fingerprints: a small, stable 64-bit hash (FNV-1a).

/// An incremental FNV-1a 64-bit hash, for [`Model::fingerprint`](crate::Model::fingerprint).
///
/// Stable across machines and versions: integers are hashed as
/// little-endian bytes. Not cryptographic; it tells models apart, it does
/// not resist forgery.
///
/// ```
/// use coder_core::Fingerprinter;
/// let mut h = Fingerprinter::new(b"my-model/1");
/// h.write_u32(256);
/// assert_ne!(h.finish(), Fingerprinter::new(b"my-model/2").finish());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprinter(u64);

impl Fingerprinter {
    /// A hash seeded with `tag` (name the model kind and its version).
    pub const fn new(tag: &[u8]) -> Self {
        Self(0xcbf2_9ce4_8422_2325).with(tag)
    }

    const fn with(mut self, bytes: &[u8]) -> Self {
        let mut i = 0;
        while i < bytes.len() {
            self.0 ^= bytes[i] as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
            i += 1;
        }
        self
    }

    /// Adds `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        *self = self.with(bytes);
    }

    /// Adds a `u32` (little-endian).
    pub fn write_u32(&mut self, x: u32) {
        self.write(&x.to_le_bytes());
    }

    /// Adds a `u64` (little-endian).
    pub fn write_u64(&mut self, x: u64) {
        self.write(&x.to_le_bytes());
    }

    /// The hash.
    pub const fn finish(&self) -> u64 {
        self.0
    }
}
