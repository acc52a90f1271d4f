//! The chunked container format, versions 1 to 3.
//!
//! A stream is a header followed by one record per chunk. The input is cut
//! into chunks of `chunk_size` bytes (the last one shorter); each chunk is
//! coded from a freshly [`reset`](crate::Model::reset) model, so chunks
//! encode and decode independently and in parallel.
//!
//! # Header (36 bytes, integers little-endian)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `4C 4D 43 5A` (`"LMCZ"`) |
//! | 4 | 1 | format version, `1` or `2` |
//! | 5 | 1 | version 2: the [`Mode`] code (version 1: `0`) |
//! | 6 | 1 | version 2: flags, bit 0 = chained (version 1: `0`) |
//! | 7 | 1 | version 2: the mixer preset of the mode (version 1: `0`) |
//! | 8 | 8 | fingerprint of the model ([`Model::fingerprint`]) |
//! | 16 | 4 | chunk size in bytes, `1..=2^24` |
//! | 20 | 8 | length of the original data in bytes |
//! | 28 | 4 | CRC-32 (ISO-HDLC, as zlib) of the original data |
//! | 32 | 4 | CRC-32 of header bytes `0..32` |
//!
//! Version 1 is version 2 with [`Coding::default`] (the model alone, chunks
//! independent): a writer writes version 1 for it, so those streams are
//! byte-identical to what earlier builds wrote, and version 2 only for the
//! other codings. Version 3 is version 2 with a media region
//! ([`Coding::region`]): 28 more header bytes, the region
//! ([`Region::to_bytes`], 24 bytes) and its CRC-32; it is written only for
//! a coding with a region, so text streams are exactly what they were. How a chunk is coded under each [`Mode`] and what
//! *chained* means is the caller's contract ([`Coding`]); the container
//! only records it.
//!
//! The header checksum makes a damaged header a [`Error::BadHeader`], so a
//! [`Error::ModelMismatch`] always means a genuinely different model.
//!
//! # Chunk records
//!
//! There are `ceil(original length / chunk size)` records, in order, and
//! nothing after the last one. Chunk `i` holds original bytes `[i *
//! chunk_size, min((i + 1) * chunk_size, length))`. A record is:
//!
//! | size | field |
//! |---|---|
//! | 1–4 | `tag = payload_len * 2 + method`, unsigned LEB128 (7 bits per byte, low first, high bit = more), minimal |
//! | `payload_len` | payload |
//!
//! * method `0`, stored: the payload is the chunk itself (`payload_len` equals
//!   the chunk's length). The encoder stores a chunk when coding would not
//!   make it smaller.
//! * method `1`, coded: the payload is the arithmetic coding of the chunk's
//!   bytes (each byte one symbol), from a reset model, as
//!   [`encode_into`] writes it; `payload_len` is less
//!   than the chunk's length.
//!
//! # Integrity
//!
//! There is no per-chunk checksum: at the paper's 2048-byte chunks, coded
//! to some 500 bytes, four bytes a chunk would cost close to 1% — the
//! size of the differences the project measures. Instead every coded chunk
//! must be *exactly* the canonical coding of the symbols it decodes to
//! (see [`Decoder::finish`](crate::Decoder::finish)) and every length must
//! agree with the header, which rejects most damage in the chunk that holds
//! it (99% of single-byte damage to an order-2 coded stream in
//! `tests/container.rs`); the CRC-32 of the whole original catches the rest
//! at the end.
//!
//! # Streaming (`std`)
//!
//! [`StreamWriter`] and [`StreamReader`] write and read a stream over
//! `std::io` record by record, so a caller can code chunks on many threads
//! and keep memory bounded on any input size; [`compress_into`] and
//! [`decompress_into`] do the whole job in memory on one thread.

use crate::media::{Region, REGION_LEN};
use crate::{decode_into, encode_into, Crc32, Error, Model};

#[cfg(feature = "std")]
mod stream;
#[cfg(feature = "std")]
pub use stream::{Record, StreamReader, StreamWriter, Summary};

/// The first four bytes of every stream.
pub const MAGIC: [u8; 4] = *b"LMCZ";
/// The newest format version, the one this crate writes for every coding
/// but the default (which it writes as version 1).
pub const VERSION: u8 = 3;
/// The oldest format version this crate reads.
pub const MIN_VERSION: u8 = 1;

/// Whether this crate reads streams of format version `v`.
pub const fn reads_version(v: u8) -> bool {
    v >= MIN_VERSION && v <= VERSION
}

/// What codes a stream's chunks: the model alone, the model mixed with
/// adaptive models, or the adaptive models alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Mode {
    /// The model alone, one symbol per byte (version 1's only mode).
    #[default]
    Model,
    /// The model's prediction mixed with adaptive context and match models
    /// (the mixer preset says which), bit by bit.
    Mixed,
    /// The adaptive models alone, no language model: the fast mode. The
    /// header's fingerprint is the mixer configuration's.
    Adaptive,
    /// A token-level model alone: each chunk is cut into the tokens of a
    /// byte-level tokenizer on its own, and a coded payload is the
    /// arithmetic coding of those tokens (one symbol each) from a reset
    /// model, ending where they fill the chunk. The header's fingerprint
    /// covers the model and the tokenizer file; the tokenization is the
    /// caller's (`tokenize` on the host). Never chained, no mixer.
    Tokens,
}

impl Mode {
    /// The header code of the mode.
    pub const fn code(self) -> u8 {
        match self {
            Mode::Model => 0,
            Mode::Mixed => 1,
            Mode::Adaptive => 2,
            Mode::Tokens => 3,
        }
    }

    /// The mode of a header code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Mode::Model),
            1 => Some(Mode::Mixed),
            2 => Some(Mode::Adaptive),
            3 => Some(Mode::Tokens),
            _ => None,
        }
    }

    /// Whether the mode runs a mixer (and so names a preset).
    pub const fn mixes(self) -> bool {
        matches!(self, Mode::Mixed | Mode::Adaptive)
    }

    /// Whether the mode runs the language model.
    pub const fn uses_model(self) -> bool {
        !matches!(self, Mode::Adaptive)
    }
}

/// How a stream's chunks were coded, as its header records it.
///
/// * `mode`: see [`Mode`].
/// * `preset`: the mixer preset of a mixing mode (`0` for [`Mode::Model`]);
///   its meaning is the mixer's (`crate::mix`).
/// * `region`: where the original data holds pixels or samples
///   ([`crate::media`]), which a mixing mode models as such; only with a
///   mode that mixes (format version 3).
/// * `chained`: each chunk but the first is coded by a language model that
///   has first observed the `window` bytes before the chunk (fewer at the
///   start of the stream; `window` is the model's attention window), so
///   decoding follows the chain while encoding stays parallel. Only with a
///   mode that runs the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Coding {
    /// What codes the chunks.
    pub mode: Mode,
    /// The mixer preset (`0` without a mixer).
    pub preset: u8,
    /// Whether each chunk starts from the previous chunk's last window.
    pub chained: bool,
    /// The media region the mixer models as an image or as sound.
    pub region: Option<Region>,
}

impl Coding {
    /// The model alone, independent chunks: version 1's only coding.
    pub const MODEL: Coding = Coding {
        mode: Mode::Model,
        preset: 0,
        chained: false,
        region: None,
    };

    /// Checks the combination: a preset exactly when the mode mixes,
    /// chaining only with a byte-level language model, a valid region only
    /// with a mixer; [`Error::BadConfig`] otherwise.
    pub const fn check(self) -> Result<Self, Error> {
        let preset_ok = self.mode.mixes() == (self.preset != 0);
        let chain_ok =
            !self.chained || (self.mode.uses_model() && !matches!(self.mode, Mode::Tokens));
        let region_ok = match self.region {
            None => true,
            Some(r) => {
                self.mode.mixes() && r.layout.is_valid() && r.start.checked_add(r.len).is_some()
            }
        };
        if preset_ok && chain_ok && region_ok {
            Ok(self)
        } else {
            Err(Error::BadConfig)
        }
    }

    /// The format version a stream of this coding is written as.
    pub const fn version(self) -> u8 {
        if self.region.is_some() {
            3
        } else if matches!(self.mode, Mode::Model) && !self.chained {
            1
        } else {
            2
        }
    }

    /// The same coding without a media region.
    pub const fn without_region(self) -> Self {
        Coding {
            region: None,
            ..self
        }
    }

    /// Header bytes `5..8`.
    const fn to_bytes(self) -> [u8; 3] {
        [self.mode.code(), self.chained as u8, self.preset]
    }

    /// Parses header bytes `5..8` of a stream of format `version`.
    fn from_bytes(version: u8, b: [u8; 3]) -> Result<Self, Error> {
        if version == 1 {
            return if b == [0, 0, 0] {
                Ok(Coding::MODEL)
            } else {
                Err(Error::BadHeader)
            };
        }
        let mode = Mode::from_code(b[0]).ok_or(Error::BadHeader)?;
        if b[1] > 1 {
            return Err(Error::BadHeader);
        }
        let c = Coding {
            mode,
            preset: b[2],
            chained: b[1] == 1,
            region: None,
        };
        // Version 2 is never written for the default coding, version 3
        // only for a mode that mixes (the caller adds the region).
        match c.check() {
            Ok(c) if c.version() == 2 && (version == 2 || c.mode.mixes()) => Ok(c),
            _ => Err(Error::BadHeader),
        }
    }
}
/// Length of the header in bytes (versions 1 and 2; see
/// [`Header::encoded_len`]).
pub const HEADER_LEN: usize = 36;
/// Length of a version 3 header: the region and its CRC-32 follow.
pub const MAX_HEADER_LEN: usize = HEADER_LEN + REGION_LEN + 4;
/// Largest chunk size.
pub const MAX_CHUNK_SIZE: u32 = 1 << 24;
/// Largest record header (the LEB128 tag) in bytes.
pub const MAX_RECORD_HEADER_LEN: usize = 4;

/// The stream header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Header {
    /// Fingerprint of the model the stream was coded with.
    pub fingerprint: u64,
    /// Chunk size in bytes, `1..=MAX_CHUNK_SIZE`.
    pub chunk_size: u32,
    /// Length of the original data.
    pub original_len: u64,
    /// CRC-32 of the original data.
    pub crc32: u32,
    /// How the chunks were coded ([`Coding::MODEL`] for version 1).
    pub coding: Coding,
}

impl Header {
    /// A header; fails with [`Error::BadConfig`] for a chunk size outside
    /// `1..=MAX_CHUNK_SIZE`.
    pub fn new(
        fingerprint: u64,
        chunk_size: u32,
        original_len: u64,
        crc32: u32,
    ) -> Result<Self, Error> {
        if !(1..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            return Err(Error::BadConfig);
        }
        Ok(Self {
            fingerprint,
            chunk_size,
            original_len,
            crc32,
            coding: Coding::MODEL,
        })
    }

    /// The header with `coding` (checked by [`Coding::check`]).
    pub fn with_coding(self, coding: Coding) -> Result<Self, Error> {
        Ok(Self {
            coding: coding.check()?,
            ..self
        })
    }

    /// The format version this header is written as.
    pub fn version(&self) -> u8 {
        self.coding.version()
    }

    /// Length of the header's bytes: [`HEADER_LEN`], or
    /// [`MAX_HEADER_LEN`] with a media region.
    pub fn encoded_len(&self) -> usize {
        match self.coding.region {
            Some(_) => MAX_HEADER_LEN,
            None => HEADER_LEN,
        }
    }

    /// The header's bytes: the first [`encoded_len`](Self::encoded_len) of these.
    pub fn to_bytes(&self) -> [u8; MAX_HEADER_LEN] {
        let mut b = [0u8; MAX_HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4] = self.coding.version();
        b[5..8].copy_from_slice(&self.coding.to_bytes());
        b[8..16].copy_from_slice(&self.fingerprint.to_le_bytes());
        b[16..20].copy_from_slice(&self.chunk_size.to_le_bytes());
        b[20..28].copy_from_slice(&self.original_len.to_le_bytes());
        b[28..32].copy_from_slice(&self.crc32.to_le_bytes());
        let check = crate::crc32(&b[..32]);
        b[32..36].copy_from_slice(&check.to_le_bytes());
        if let Some(r) = self.coding.region {
            b[HEADER_LEN..HEADER_LEN + REGION_LEN].copy_from_slice(&r.to_bytes());
            let check = crate::crc32(&b[HEADER_LEN..HEADER_LEN + REGION_LEN]);
            b[HEADER_LEN + REGION_LEN..].copy_from_slice(&check.to_le_bytes());
        }
        b
    }

    /// Writes the header to the start of `out`; returns its
    /// [`encoded_len`](Self::encoded_len).
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, Error> {
        let n = self.encoded_len();
        out.get_mut(..n)
            .ok_or(Error::OutputFull)?
            .copy_from_slice(&self.to_bytes()[..n]);
        Ok(n)
    }

    /// Parses the header at the start of `bytes` (which may hold more).
    ///
    /// Errors, in the order checked: [`Error::NotAContainer`] (magic),
    /// [`Error::UnsupportedVersion`], [`Error::Truncated`] (fewer than
    /// [`HEADER_LEN`] bytes, or [`MAX_HEADER_LEN`] for version 3),
    /// [`Error::BadHeader`] (checksums, coding bytes, region or chunk
    /// size).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let n = bytes.len().min(4);
        if bytes[..n] != MAGIC[..n] {
            return Err(Error::NotAContainer);
        }
        let version = match bytes.get(4) {
            None => return Err(Error::Truncated),
            Some(&v) if reads_version(v) => v,
            Some(&v) => return Err(Error::UnsupportedVersion(v)),
        };
        let b = bytes.get(..HEADER_LEN).ok_or(Error::Truncated)?;
        let le32 = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let le64 = |i: usize| u64::from(le32(i)) | u64::from(le32(i + 4)) << 32;
        if le32(32) != crate::crc32(&b[..32]) {
            return Err(Error::BadHeader);
        }
        let mut coding = Coding::from_bytes(version, [b[5], b[6], b[7]])?;
        if version == 3 {
            let ext = bytes
                .get(HEADER_LEN..MAX_HEADER_LEN)
                .ok_or(Error::Truncated)?;
            let (r, check) = ext.split_at(REGION_LEN);
            if crate::crc32(r).to_le_bytes() != check {
                return Err(Error::BadHeader);
            }
            let mut rb = [0u8; REGION_LEN];
            rb.copy_from_slice(r);
            coding.region = Some(Region::from_bytes(&rb).ok_or(Error::BadHeader)?);
        }
        Header::new(le64(8), le32(16), le64(20), le32(28))
            .and_then(|h| h.with_coding(coding))
            .map_err(|_| Error::BadHeader)
    }

    /// Fails with [`Error::ModelMismatch`] unless `model` is the one the
    /// stream was coded with.
    pub fn check_model<M: Model + ?Sized>(&self, model: &M) -> Result<(), Error> {
        self.check_fingerprint(model.fingerprint())
    }

    /// Fails with [`Error::ModelMismatch`] unless `fingerprint` is the
    /// stream's (for a caller that has a model's fingerprint before the
    /// model itself).
    pub fn check_fingerprint(&self, fingerprint: u64) -> Result<(), Error> {
        if fingerprint == self.fingerprint {
            Ok(())
        } else {
            Err(Error::ModelMismatch)
        }
    }

    /// Fails with [`Error::UnsupportedCoding`] unless the stream's chunks
    /// were coded as `coding` (what the caller decodes).
    pub fn check_coding(&self, coding: Coding) -> Result<(), Error> {
        if self.coding == coding {
            Ok(())
        } else {
            Err(Error::UnsupportedCoding)
        }
    }

    /// Fails with [`Error::ChecksumMismatch`] unless `crc32` (of all the
    /// decoded data) is the header's.
    pub fn check_crc(&self, crc32: u32) -> Result<(), Error> {
        if crc32 == self.crc32 {
            Ok(())
        } else {
            Err(Error::ChecksumMismatch)
        }
    }

    /// Number of chunk records.
    pub fn chunk_count(&self) -> u64 {
        self.original_len.div_ceil(u64::from(self.chunk_size))
    }

    /// Offset in the original data of chunk `index`.
    pub fn chunk_offset(&self, index: u64) -> u64 {
        index.saturating_mul(u64::from(self.chunk_size))
    }

    /// Length of chunk `index` (0 past the end).
    pub fn chunk_len(&self, index: u64) -> usize {
        let start = self.chunk_offset(index);
        let left = self.original_len.saturating_sub(start);
        left.min(u64::from(self.chunk_size)) as usize
    }
}

/// How a chunk's payload holds its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Method {
    /// The payload is the chunk's bytes.
    Stored,
    /// The payload is the chunk's arithmetic coding.
    Coded,
}

impl Method {
    /// The format's one rule for storing versus coding: a chunk of
    /// `chunk_len` bytes is coded when its code (`None`: coding was given
    /// up as too long) is shorter than the chunk, stored otherwise.
    #[inline]
    pub fn choose(chunk_len: usize, code_len: Option<usize>) -> Method {
        match code_len {
            Some(n) if n < chunk_len => Method::Coded,
            _ => Method::Stored,
        }
    }
}

/// The tag in front of a chunk's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordHeader {
    /// How the payload holds the chunk.
    pub method: Method,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl RecordHeader {
    /// Parses a record header from the start of `bytes`; returns it and its
    /// length. [`Error::Truncated`] when `bytes` ends inside it (a reader
    /// can read one byte at a time until the high bit is clear, at most
    /// [`MAX_RECORD_HEADER_LEN`] bytes); [`Error::Corrupt`] when it is not
    /// minimal or too long.
    pub fn parse(bytes: &[u8]) -> Result<(Self, usize), Error> {
        let mut tag = 0u64;
        for i in 0..MAX_RECORD_HEADER_LEN {
            let b = *bytes.get(i).ok_or(Error::Truncated)?;
            tag |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(Error::Corrupt);
                }
                let payload_len = (tag >> 1) as usize;
                if payload_len > MAX_CHUNK_SIZE as usize {
                    return Err(Error::Corrupt);
                }
                let method = if tag & 1 == 1 {
                    Method::Coded
                } else {
                    Method::Stored
                };
                return Ok((
                    Self {
                        method,
                        payload_len,
                    },
                    i + 1,
                ));
            }
        }
        Err(Error::Corrupt)
    }

    /// Writes the record header to the start of `out`; returns its length.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut tag = ((self.payload_len as u64) << 1) | u64::from(self.method == Method::Coded);
        let mut i = 0;
        loop {
            let more = tag >= 0x80;
            let slot = out.get_mut(i).ok_or(Error::OutputFull)?;
            *slot = (tag as u8 & 0x7F) | if more { 0x80 } else { 0 };
            i += 1;
            tag >>= 7;
            if !more {
                return Ok(i);
            }
        }
    }

    /// Checks the record against the length of the chunk it holds.
    pub fn check(&self, chunk_len: usize) -> Result<(), Error> {
        let ok = match self.method {
            Method::Stored => self.payload_len == chunk_len,
            Method::Coded => self.payload_len < chunk_len,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::Corrupt)
        }
    }
}

/// A chunk record: its method and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRecord<'a> {
    /// How the payload holds the chunk.
    pub method: Method,
    /// The payload.
    pub payload: &'a [u8],
}

impl<'a> ChunkRecord<'a> {
    /// Parses a whole record from the start of `bytes`; returns it and its
    /// length in bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<(Self, usize), Error> {
        let (h, n) = RecordHeader::parse(bytes)?;
        let payload = bytes
            .get(n..)
            .and_then(|rest| rest.get(..h.payload_len))
            .ok_or(Error::Truncated)?;
        Ok((
            Self {
                method: h.method,
                payload,
            },
            n + h.payload_len,
        ))
    }
}

/// The largest record [`encode_chunk`] writes for a chunk of `chunk_len`
/// bytes.
pub const fn max_record_len(chunk_len: usize) -> usize {
    MAX_RECORD_HEADER_LEN + chunk_len
}

/// The largest stream [`compress_into`] writes for `input_len` bytes.
pub const fn max_compressed_len(input_len: usize, chunk_size: usize) -> usize {
    let chunks = if chunk_size == 0 {
        0
    } else {
        input_len.div_ceil(chunk_size)
    };
    HEADER_LEN + input_len + chunks * MAX_RECORD_HEADER_LEN
}

/// Codes one chunk (from a reset model) as a record at the start of `out`,
/// stored if coding would not make it smaller; returns the record length.
/// `out` of [`max_record_len`] bytes always suffices.
pub fn encode_chunk<M: Model + ?Sized>(
    model: &mut M,
    chunk: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    if chunk.len() > MAX_CHUNK_SIZE as usize {
        return Err(Error::BadConfig);
    }
    let stored = RecordHeader {
        method: Method::Stored,
        payload_len: chunk.len(),
    };
    // The coded tag is never longer than the stored one.
    let mut tag = [0u8; MAX_RECORD_HEADER_LEN];
    let room = stored.write_to(&mut tag)?;
    let limit = chunk.len().saturating_sub(1);
    let coded = match out.get_mut(room..) {
        Some(rest) => {
            let end = rest.len().min(limit);
            match encode_into(model, chunk, &mut rest[..end]) {
                Ok(n) => Some(n),
                Err(Error::OutputFull) => None,
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    match coded.filter(|_| Method::choose(chunk.len(), coded) == Method::Coded) {
        Some(n) => {
            let h = RecordHeader {
                method: Method::Coded,
                payload_len: n,
            }
            .write_to(&mut tag)?;
            out.copy_within(room..room + n, h);
            out[..h].copy_from_slice(&tag[..h]);
            Ok(h + n)
        }
        None => {
            let end = room + chunk.len();
            out.get_mut(room..end)
                .ok_or(Error::OutputFull)?
                .copy_from_slice(chunk);
            out[..room].copy_from_slice(&tag[..room]);
            Ok(end)
        }
    }
}

/// Decodes one chunk record into `out`, whose length must be the chunk's
/// (see [`Header::chunk_len`]).
pub fn decode_chunk<M: Model + ?Sized>(
    model: &mut M,
    record: ChunkRecord<'_>,
    out: &mut [u8],
) -> Result<(), Error> {
    RecordHeader {
        method: record.method,
        payload_len: record.payload.len(),
    }
    .check(out.len())?;
    match record.method {
        Method::Stored => out.copy_from_slice(record.payload),
        Method::Coded => decode_into(model, record.payload, out)?,
    }
    Ok(())
}

/// One chunk of a stream, as [`ChunkReader`] yields it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// Index of the chunk.
    pub index: u64,
    /// Offset of the chunk in the original data.
    pub offset: u64,
    /// Length of the chunk in the original data.
    pub len: usize,
    /// The record.
    pub record: ChunkRecord<'a>,
}

/// Iterates the chunk records of a stream held in a byte slice, checking
/// each record's length against the header; yields
/// [`Error::TrailingData`] if bytes follow the last record. Stops after the
/// first error.
#[derive(Clone, Debug)]
pub struct ChunkReader<'a> {
    header: Header,
    rest: &'a [u8],
    index: u64,
    done: bool,
}

impl<'a> ChunkReader<'a> {
    /// Parses the header of `stream`.
    pub fn new(stream: &'a [u8]) -> Result<Self, Error> {
        let header = Header::parse(stream)?;
        Ok(Self {
            header,
            rest: &stream[header.encoded_len()..],
            index: 0,
            done: false,
        })
    }

    /// The stream's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    fn read(&mut self) -> Result<Option<Chunk<'a>>, Error> {
        if self.index == self.header.chunk_count() {
            self.done = true;
            return if self.rest.is_empty() {
                Ok(None)
            } else {
                Err(Error::TrailingData)
            };
        }
        let (record, n) = ChunkRecord::parse(self.rest)?;
        let len = self.header.chunk_len(self.index);
        RecordHeader {
            method: record.method,
            payload_len: record.payload.len(),
        }
        .check(len)?;
        self.rest = &self.rest[n..];
        let chunk = Chunk {
            index: self.index,
            offset: self.header.chunk_offset(self.index),
            len,
            record,
        };
        self.index += 1;
        Ok(Some(chunk))
    }
}

impl<'a> Iterator for ChunkReader<'a> {
    type Item = Result<Chunk<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.read().transpose();
        if matches!(r, Some(Err(_))) {
            self.done = true;
        }
        r
    }
}

/// Compresses `input` into `out` in chunks of `chunk_size` bytes; returns
/// the stream length. `out` of [`max_compressed_len`] bytes always
/// suffices.
pub fn compress_into<M: Model + ?Sized>(
    model: &mut M,
    input: &[u8],
    chunk_size: usize,
    out: &mut [u8],
) -> Result<usize, Error> {
    let cs = u32::try_from(chunk_size).map_err(|_| Error::BadConfig)?;
    let header = Header::new(
        model.fingerprint(),
        cs,
        input.len() as u64,
        crate::crc32(input),
    )?;
    let mut pos = header.write_to(out)?;
    for chunk in input.chunks(chunk_size) {
        pos += encode_chunk(model, chunk, &mut out[pos..])?;
    }
    Ok(pos)
}

/// Decompresses `stream` into `out`; returns the original length.
///
/// The header is checked first, and the model's fingerprint against it,
/// before any decoding; `out` must hold the original length. Only streams
/// of the model alone ([`Coding::MODEL`], what [`compress_into`] writes);
/// others are [`Error::UnsupportedCoding`].
pub fn decompress_into<M: Model + ?Sized>(
    model: &mut M,
    stream: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let reader = ChunkReader::new(stream)?;
    let header = *reader.header();
    header.check_model(model)?;
    header.check_coding(Coding::MODEL)?;
    let len = usize::try_from(header.original_len).map_err(|_| Error::OutputFull)?;
    let out = out.get_mut(..len).ok_or(Error::OutputFull)?;
    let mut crc = Crc32::new();
    for chunk in reader {
        let chunk = chunk?;
        let dst = &mut out[chunk.offset as usize..chunk.offset as usize + chunk.len];
        decode_chunk(model, chunk.record, dst)?;
        crc.update(dst);
    }
    if crc.finish() != header.crc32 {
        return Err(Error::ChecksumMismatch);
    }
    Ok(len)
}

/// [`compress_into`] into a new `Vec`.
#[cfg(feature = "alloc")]
pub fn compress_to_vec<M: Model + ?Sized>(
    model: &mut M,
    input: &[u8],
    chunk_size: usize,
) -> Result<alloc::vec::Vec<u8>, Error> {
    if chunk_size == 0 {
        return Err(Error::BadConfig);
    }
    let mut out = alloc::vec![0u8; max_compressed_len(input.len(), chunk_size)];
    let n = compress_into(model, input, chunk_size, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// [`decompress_into`] into a new `Vec`, grown chunk by chunk (a header
/// claiming a huge length allocates nothing up front).
#[cfg(feature = "alloc")]
pub fn decompress_to_vec<M: Model + ?Sized>(
    model: &mut M,
    stream: &[u8],
) -> Result<alloc::vec::Vec<u8>, Error> {
    let reader = ChunkReader::new(stream)?;
    let header = *reader.header();
    header.check_model(model)?;
    header.check_coding(Coding::MODEL)?;
    let mut out = alloc::vec::Vec::new();
    let mut crc = Crc32::new();
    for chunk in reader {
        let chunk = chunk?;
        let start = out.len();
        out.resize(start + chunk.len, 0);
        decode_chunk(model, chunk.record, &mut out[start..])?;
        crc.update(&out[start..]);
    }
    if crc.finish() != header.crc32 {
        return Err(Error::ChecksumMismatch);
    }
    Ok(out)
}
