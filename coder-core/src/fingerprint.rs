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

/// FNV-1a 64 offset basis.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Continues a 64-bit FNV-1a hash `h` over `bytes`.
pub const fn fnv1a64_update(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// 64-bit FNV-1a hash of `bytes`.
///
/// ```
/// assert_eq!(coder_core::fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
/// assert_eq!(coder_core::fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
/// ```
pub const fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_update(FNV_OFFSET, bytes)
}

impl Fingerprinter {
    /// A hash seeded with `tag` (name the model kind and its version).
    pub const fn new(tag: &[u8]) -> Self {
        Self(FNV_OFFSET).with(tag)
    }

    const fn with(self, bytes: &[u8]) -> Self {
        Self(fnv1a64_update(self.0, bytes))
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
