//! Media layouts: where a file's pixels or samples sit and how they are
//! laid out, so the [mixer](crate::mix) can model them as images and
//! sound instead of text.
//!
//! A [`Region`] says that bytes `start..start + len` of the original data
//! are 8-bit pixels in rows of `width` ([`Layout::Image`]) or interleaved
//! PCM samples ([`Layout::Audio`]); everything outside it (a file's header,
//! trailing chunks) is coded as plain bytes. [`sniff`] finds the region of
//! a PNM (PGM, PPM, PAM) or WAV file from its first bytes; a container
//! records it once in its header, so every chunk of the file knows it.
//!
//! ```
//! use coder_core::media::{sniff, Layout, Sniffed};
//!
//! let mut pgm = b"P5\n# a comment\n3 2\n255\n".to_vec();
//! let header = pgm.len() as u64;
//! pgm.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
//! let Sniffed::Media(r) = sniff(&pgm, pgm.len() as u64) else { panic!() };
//! assert_eq!(r.layout, Layout::Image { width: 3, channels: 1 });
//! assert_eq!((r.start, r.len), (header, 6));
//! ```

mod pnm;
mod wav;

/// How the samples of a [`Region`] are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Layout {
    /// 8-bit pixels, `channels` interleaved samples each (1 grey, 2 grey
    /// and alpha, 3 RGB, 4 RGBA), rows of `width` pixels, top row first.
    Image {
        /// Pixels per row, `1..=`[`MAX_WIDTH`].
        width: u32,
        /// Samples per pixel, `1..=4`.
        channels: u8,
    },
    /// Interleaved PCM: `channels` samples per frame, each `bytes` long
    /// (1: unsigned 8-bit; 2: signed 16-bit little-endian).
    Audio {
        /// Samples per frame, `1..=8`.
        channels: u8,
        /// Bytes per sample, 1 or 2.
        bytes: u8,
    },
}

/// Widest image row the image model follows (wider rows are still coded,
/// with the row above out of the mixer's reach beyond its history).
pub const MAX_WIDTH: u32 = 1 << 24;

/// Bytes `start..start + len` of the original data hold samples laid out
/// as `layout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Region {
    /// The layout of the samples.
    pub layout: Layout,
    /// Offset of the first sample in the original data.
    pub start: u64,
    /// Length of the samples in bytes.
    pub len: u64,
}

impl Layout {
    /// Bytes of one pixel or one frame.
    pub const fn frame_bytes(&self) -> u32 {
        match *self {
            Layout::Image { channels, .. } => channels as u32,
            Layout::Audio { channels, bytes } => channels as u32 * bytes as u32,
        }
    }

    /// Whether the fields are in range.
    pub const fn is_valid(&self) -> bool {
        match *self {
            Layout::Image { width, channels } => {
                width >= 1 && width <= MAX_WIDTH && channels >= 1 && channels <= 4
            }
            Layout::Audio { channels, bytes } => {
                channels >= 1 && channels <= 8 && (bytes == 1 || bytes == 2)
            }
        }
    }
}

impl Region {
    /// Whether byte `offset` of the original data is a sample.
    pub const fn contains(&self, offset: u64) -> bool {
        offset >= self.start && offset - self.start < self.len
    }

    /// Bytes after which the models see the same position again: a frame
    /// of sound; eight rows of an image (its contexts know the row modulo
    /// 8, for JPEG's blocks).
    pub const fn period(&self) -> u64 {
        match self.layout {
            Layout::Image { width, channels } => 8 * width as u64 * channels as u64,
            Layout::Audio { .. } => self.layout.frame_bytes() as u64,
        }
    }

    /// The region as a stream sees it whose data starts at byte `offset`
    /// of the original (a member of a piped output): moved back by
    /// `offset`, and where it began before the stream, started at the
    /// first byte in the same place of a [`period`](Self::period), the
    /// bytes before it (part of a frame or of eight rows) coded as plain
    /// bytes. Every later byte keeps its channel, column and row modulo 8,
    /// so a coder and a decoder that both use this agree. `None` when
    /// nothing of it is left.
    ///
    /// ```
    /// use coder_core::media::{Layout, Region};
    /// let r = Region { layout: Layout::Audio { channels: 2, bytes: 2 }, start: 44, len: 1000 };
    /// assert_eq!(r.for_stream_at(0), Some(r));
    /// // 4-byte frames: 46 bytes in, the next frame starts 2 bytes later.
    /// let m = r.for_stream_at(90).unwrap();
    /// assert_eq!((m.start, m.len), (2, 952));
    /// assert_eq!(r.for_stream_at(1044), None);
    /// ```
    pub fn for_stream_at(&self, offset: u64) -> Option<Region> {
        let end = self.start.checked_add(self.len)?;
        let (start, end) = if offset <= self.start {
            (self.start - offset, end - offset)
        } else {
            let into = offset - self.start;
            let p = self.period().max(1);
            ((p - into % p) % p, end.checked_sub(offset)?)
        };
        // `then`, not `then_some`: the length is only defined when
        // something is left.
        (start < end).then(|| Region {
            start,
            len: end - start,
            ..*self
        })
    }

    /// The region's bytes: 1 kind byte (1 image, 2 audio), 1 channel
    /// count, 1 byte count per sample (images: 1), the
    /// [`MODELS_VERSION`], the width (audio: 0) as `u32`, start and length
    /// as `u64`, all little-endian.
    pub fn to_bytes(&self) -> [u8; REGION_LEN] {
        let (kind, ch, bytes, width) = match self.layout {
            Layout::Image { width, channels } => (1, channels, 1, width),
            Layout::Audio { channels, bytes } => (2, channels, bytes, 0),
        };
        let mut b = [0u8; REGION_LEN];
        b[..4].copy_from_slice(&[kind, ch, bytes, MODELS_VERSION]);
        b[4..8].copy_from_slice(&width.to_le_bytes());
        b[8..16].copy_from_slice(&self.start.to_le_bytes());
        b[16..24].copy_from_slice(&self.len.to_le_bytes());
        b
    }

    /// Parses [`to_bytes`](Self::to_bytes); `None` for anything it never
    /// writes.
    pub fn from_bytes(b: &[u8; REGION_LEN]) -> Option<Self> {
        let le32 = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let le64 = |i: usize| u64::from(le32(i)) | u64::from(le32(i + 4)) << 32;
        let layout = match (b[0], b[2], b[3], le32(4)) {
            (1, 1, MODELS_VERSION, width) => Layout::Image {
                width,
                channels: b[1],
            },
            (2, bytes, MODELS_VERSION, 0) => Layout::Audio {
                channels: b[1],
                bytes,
            },
            _ => return None,
        };
        let r = Region {
            layout,
            start: le64(8),
            len: le64(16),
        };
        (layout.is_valid() && r.start.checked_add(r.len).is_some()).then_some(r)
    }
}

/// Length of [`Region::to_bytes`].
pub const REGION_LEN: usize = 24;

/// Version of the mixer's image and audio models that a region in a
/// container header promises (its byte 3): a stream decodes only with the
/// models it was coded with, so a change to their output is a new
/// version (and the old code kept to decode the old one); tests pin their
/// bytes.
pub const MODELS_VERSION: u8 = 1;

/// What [`sniff`] found at the start of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// Samples the mixer models as an image or as sound.
    Media(Region),
    /// A PNM or WAV file whose samples the mixer has no model for (the
    /// reason, for the user); its bytes are coded as they are.
    Unsupported(&'static str),
    /// Not a PNM or WAV file (or its header is incomplete or damaged).
    Other,
}

/// The media region of a file of `total_len` bytes that starts with
/// `prefix` (a few hundred bytes are plenty for any header this reads;
/// the whole file is fine too). Recognizes binary PGM (`P5`), PPM
/// (`P6`) and PAM (`P7`) with 8-bit samples, and RIFF WAVE with 8- or
/// 16-bit PCM. A region never reaches past `total_len`.
pub fn sniff(prefix: &[u8], total_len: u64) -> Sniffed {
    let found = if prefix.starts_with(b"RIFF") {
        wav::parse(prefix)
    } else if prefix.len() >= 2 && prefix[0] == b'P' && matches!(prefix[1], b'5' | b'6' | b'7') {
        pnm::parse(prefix)
    } else {
        return Sniffed::Other;
    };
    match found {
        Sniffed::Media(mut r) => {
            if r.start >= total_len {
                return Sniffed::Other;
            }
            r.len = r.len.min(total_len - r.start);
            Sniffed::Media(r)
        }
        other => other,
    }
}
