//! The mixer's contexts for a media [`Region`]: where each byte of the
//! region sits (channel, row, byte of a sample), the integer prediction it
//! is coded against, and the hashed contexts that replace the text
//! contexts there. One file per kind of data, as in paq8px:
//! [`image`](super::image), [`audio`](super::audio).
//!
//! A byte in a region is coded as its difference from the prediction
//! (`byte - rot`, wrapping), so that every context learns the shape of
//! the prediction's error rather than each pixel value anew; the history
//! keeps the original bytes, from which the next predictions are made.

use super::audio::AudioState;
use super::image::ImageState;
use super::mem::hash;
use crate::media::{Layout, Region};

/// What the media model says about the next byte.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Ctx {
    /// The prediction: the byte is coded as `byte - rot` (wrapping).
    pub rot: u8,
    /// Weight-set selector of the mixer, `0..3`.
    pub set: u8,
    /// The first map's context byte (in place of the previous byte).
    pub apm1: u8,
    /// The second map's context key (in place of the last two bytes).
    pub apm2: u64,
}

/// The original bytes coded so far in this chunk, as far back as the
/// history reaches.
pub(super) struct Past<'a> {
    pub hist: &'a [u8],
    /// Position of the next byte in the history ring (`len` a power of 2).
    pub pos: usize,
    /// Bytes that can be looked back at.
    pub avail: u64,
}

impl Past<'_> {
    /// The byte `k >= 1` places back, if still there.
    #[inline]
    pub fn get(&self, k: u64) -> Option<u8> {
        if k == 0 || k > self.avail {
            return None;
        }
        let mask = self.hist.len() - 1;
        Some(self.hist[self.pos.wrapping_sub(k as usize) & mask])
    }
}

/// A signed difference in 15 buckets (0, ±1, ±2, ±3..4, ±5..8, ±9..16,
/// ±17..32, ±33..), as `0..15`.
#[inline]
pub(super) fn q(d: i32) -> u64 {
    let m = d.unsigned_abs();
    let b = if m <= 2 { m } else { 1 + (m - 1).ilog2() + 1 }.min(7);
    (if d < 0 { 7 - b } else { 7 + b }) as u64
}

/// A magnitude in 12 logarithmic buckets.
#[inline]
pub(super) fn qa(a: u32) -> u64 {
    if a == 0 {
        0
    } else {
        u64::from((a.ilog2() + 1).min(11))
    }
}

/// The hash of context number `k` with key `key`.
#[inline]
pub(super) fn ctx_hash(k: u64, key: u64) -> u32 {
    hash(key ^ (k + 1).wrapping_mul(0xA076_1D64_78BD_642F) ^ 0x005E_ED0F_1A6E)
}

/// The state of the model of one kind of data: a region holds one kind,
/// so they share the space (a mixer must stay small enough for a stack).
#[derive(Clone, Debug, Default)]
#[allow(clippy::large_enum_variant)] // no allocation: boxing is no option
enum State {
    #[default]
    None,
    Audio(AudioState),
    Image(ImageState),
}

/// The media model's state within a chunk.
#[derive(Clone, Debug, Default)]
pub(super) struct Media {
    region: Option<Region>,
    /// Offset of the chunk being coded in the original data.
    chunk_start: u64,
    state: State,
}

impl Media {
    pub fn set(&mut self, region: Option<Region>, chunk_start: u64) {
        self.region = region;
        self.chunk_start = chunk_start;
        self.reset();
    }

    pub fn reset(&mut self) {
        self.state = match self.region.map(|r| r.layout) {
            Some(Layout::Audio { .. }) => State::Audio(AudioState::default()),
            Some(Layout::Image { .. }) => State::Image(ImageState::default()),
            None => State::None,
        };
    }

    /// The contexts of the byte `done` bytes into the chunk, into `out`
    /// (as many as it holds); `None` outside the region.
    pub fn contexts(&mut self, past: &Past<'_>, done: u64, out: &mut [u32]) -> Option<Ctx> {
        let r = self.region?;
        let at = self.chunk_start.checked_add(done)?;
        if !r.contains(at) {
            return None;
        }
        // Neighbours before the region are not samples.
        let past = Past {
            avail: past.avail.min(at - r.start),
            ..*past
        };
        let i = at - r.start;
        Some(match (r.layout, &mut self.state) {
            (Layout::Image { width, channels }, State::Image(s)) => {
                s.contexts(&past, i, width, channels, out)
            }
            (Layout::Audio { channels, bytes }, State::Audio(s)) => {
                s.contexts(&past, i, channels, bytes, out)
            }
            _ => return None,
        })
    }

    /// After the byte `done` bytes into the chunk was coded as `byte`.
    pub fn coded(&mut self, past: &Past<'_>, done: u64, byte: u8) {
        let Some(r) = self.region else { return };
        let Some(at) = self.chunk_start.checked_add(done) else {
            return;
        };
        if !r.contains(at) {
            return;
        }
        let past = Past {
            avail: past.avail.min(at - r.start),
            ..*past
        };
        match (r.layout, &mut self.state) {
            (Layout::Audio { channels, bytes }, State::Audio(s)) => {
                s.coded(&past, at - r.start, channels, bytes, byte);
            }
            (Layout::Image { .. }, State::Image(s)) => s.coded(at - r.start, byte),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        let got: [u64; 11] = [-40, -20, -5, -3, -1, 0, 1, 2, 3, 9, 100].map(q);
        assert_eq!(got, [0, 1, 3, 4, 6, 7, 8, 9, 10, 12, 14]);
        assert_eq!((qa(0), qa(1), qa(3), qa(1 << 20)), (0, 1, 2, 11));
    }
}
