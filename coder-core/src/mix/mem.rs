//! Little-endian words in the byte storage (no `unsafe`, no alignment
//! needed; the compiler turns these into plain loads and stores).

#[inline(always)]
pub(crate) fn rd32(m: &[u8], o: usize) -> u32 {
    let b = &m[o..o + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

#[inline(always)]
pub(crate) fn wr32(m: &mut [u8], o: usize, v: u32) {
    m[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

#[inline(always)]
pub(crate) fn rd16(m: &[u8], o: usize) -> u32 {
    u32::from(u16::from_le_bytes([m[o], m[o + 1]]))
}

#[inline(always)]
pub(crate) fn wr16(m: &mut [u8], o: usize, v: u32) {
    m[o..o + 2].copy_from_slice(&(v as u16).to_le_bytes());
}

/// A 64-bit integer hashed to 32 well-mixed bits.
#[inline(always)]
pub(crate) fn hash(x: u64) -> u32 {
    let x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let x = (x ^ (x >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x >> 32) as u32
}
