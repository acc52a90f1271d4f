//! The container over `std::io`: [`StreamWriter`] takes chunks with their
//! codes and writes the records, deciding stored or coded by the format's
//! one rule ([`Method::choose`]); [`StreamReader`] yields the records of a
//! stream read from any [`Read`], checked against the header. Coding and
//! decoding stay with the caller, so chunks can be coded on many threads
//! and passed in order.
//!
//! Errors are [`io::Error`]s; a format error is a [`crate::Error`] inside
//! one (kind `InvalidData`), recovered with [`Error::from_io`].

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::vec::Vec;

use super::{
    decode_chunk, ChunkRecord, Coding, Header, Method, RecordHeader, HEADER_LEN, MAX_HEADER_LEN,
    MAX_RECORD_HEADER_LEN,
};
use crate::{Crc32, Error, Model};

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What a [`StreamWriter`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The header written at the start of the stream.
    pub header: Header,
    /// Bytes of the whole stream, header included.
    pub compressed_len: u64,
    /// Chunks written coded.
    pub coded: u64,
    /// Chunks written stored.
    pub stored: u64,
}

/// Writes a stream chunk by chunk to a [`Write`] + [`Seek`] output.
///
/// The header holds the length and CRC-32 of all the data, known only at
/// the end: [`new`](Self::new) writes a placeholder and
/// [`finish`](Self::finish) seeks back to fill it in (a file, or an
/// [`io::Cursor`] in memory). A stream not finished has a zero header,
/// which every reader refuses.
///
/// ```
/// use std::io::Cursor;
/// use coder_core::container::{decompress_to_vec, StreamWriter};
/// use coder_core::encode_to_vec;
/// use coder_core::models::{ContextConfig, ContextModel};
///
/// let mut model = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
/// let text = b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab".to_vec();
/// let mut out = Cursor::new(Vec::new());
/// let mut w = StreamWriter::new(&mut out, model.fingerprint(), 16).unwrap();
/// for chunk in text.chunks(16) {
///     let code = encode_to_vec(&mut model, chunk).unwrap();
///     w.write_chunk(chunk, Some(&code)).unwrap();
/// }
/// let summary = w.finish().unwrap();
/// assert_eq!(summary.compressed_len, out.get_ref().len() as u64);
/// assert_eq!(decompress_to_vec(&mut model, out.get_ref()).unwrap(), text);
/// # use coder_core::Model;
/// ```
#[derive(Debug)]
pub struct StreamWriter<W: Write + Seek> {
    out: W,
    start: u64,
    fingerprint: u64,
    chunk_size: u32,
    coding: Coding,
    crc: Crc32,
    len: u64,
    written: u64,
    coded: u64,
    stored: u64,
    ended: bool,
}

impl<W: Write + Seek> StreamWriter<W> {
    /// Starts a stream of `chunk_size`-byte chunks coded by the model of
    /// `fingerprint` at the current position of `out`; a chunk size outside
    /// `1..=MAX_CHUNK_SIZE` is [`Error::BadConfig`].
    pub fn new(out: W, fingerprint: u64, chunk_size: u32) -> io::Result<Self> {
        Self::with_coding(out, fingerprint, chunk_size, Coding::MODEL)
    }

    /// [`new`](Self::new) for chunks coded as `coding` (which the header
    /// records; a combination [`Coding::check`] refuses is
    /// [`Error::BadConfig`]). The codes passed to
    /// [`write_chunk`](Self::write_chunk) must be that coding's.
    pub fn with_coding(
        mut out: W,
        fingerprint: u64,
        chunk_size: u32,
        coding: Coding,
    ) -> io::Result<Self> {
        let header_len = Header::new(fingerprint, chunk_size, 0, 0)?
            .with_coding(coding)?
            .encoded_len();
        let start = out.stream_position()?;
        out.write_all(&[0u8; MAX_HEADER_LEN][..header_len])?;
        Ok(Self {
            out,
            start,
            fingerprint,
            chunk_size,
            coding,
            crc: Crc32::new(),
            len: 0,
            written: header_len as u64,
            coded: 0,
            stored: 0,
            ended: false,
        })
    }

    /// The chunk size.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Appends the record of the next chunk: `chunk`, its bytes (exactly
    /// the chunk size, except a shorter last chunk), and `code`, its
    /// arithmetic coding from a reset model ([`crate::encode_into`]), or
    /// `None` when the caller gave up coding it as too long. Stores the
    /// chunk unless the code is shorter ([`Method::choose`]); returns the
    /// method used. A chunk after a short one, an empty one or one longer
    /// than the chunk size is [`Error::BadConfig`].
    pub fn write_chunk(&mut self, chunk: &[u8], code: Option<&[u8]>) -> io::Result<Method> {
        let cs = self.chunk_size as usize;
        if self.ended || chunk.is_empty() || chunk.len() > cs {
            return Err(Error::BadConfig.into());
        }
        self.ended = chunk.len() < cs;
        let method = Method::choose(chunk.len(), code.map(<[u8]>::len));
        let payload = match (method, code) {
            (Method::Coded, Some(c)) => c,
            _ => chunk,
        };
        let mut tag = [0u8; MAX_RECORD_HEADER_LEN];
        let t = RecordHeader {
            method,
            payload_len: payload.len(),
        }
        .write_to(&mut tag)?;
        self.out.write_all(&tag[..t])?;
        self.out.write_all(payload)?;
        self.crc.update(chunk);
        self.len += chunk.len() as u64;
        self.written += (t + payload.len()) as u64;
        match method {
            Method::Coded => self.coded += 1,
            Method::Stored => self.stored += 1,
        }
        Ok(method)
    }

    /// Writes the header over the placeholder, leaves `out` at the end of
    /// the stream and flushes it.
    pub fn finish(self) -> io::Result<Summary> {
        self.finish_into_inner().map(|(summary, _)| summary)
    }

    /// [`finish`](Self::finish), giving `out` back (e.g. the bytes of a
    /// stream written to an [`io::Cursor`]).
    pub fn finish_into_inner(mut self) -> io::Result<(Summary, W)> {
        let header = Header::new(
            self.fingerprint,
            self.chunk_size,
            self.len,
            self.crc.finish(),
        )?
        .with_coding(self.coding)?;
        self.out.seek(SeekFrom::Start(self.start))?;
        self.out
            .write_all(&header.to_bytes()[..header.encoded_len()])?;
        self.out.seek(SeekFrom::Start(self.start + self.written))?;
        self.out.flush()?;
        let summary = Summary {
            header,
            compressed_len: self.written,
            coded: self.coded,
            stored: self.stored,
        };
        Ok((summary, self.out))
    }
}

/// One chunk's record, read by [`StreamReader`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Index of the chunk.
    pub index: u64,
    /// Offset of the chunk in the original data.
    pub offset: u64,
    /// Length of the chunk in the original data.
    pub len: usize,
    /// How the payload holds the chunk.
    pub method: Method,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Record {
    /// The record as [`decode_chunk`] takes it.
    pub fn as_chunk_record(&self) -> ChunkRecord<'_> {
        ChunkRecord {
            method: self.method,
            payload: &self.payload,
        }
    }

    /// Decodes the chunk into `out` (of [`len`](Self::len) bytes) with
    /// `model`, which must be the stream's (see [`StreamReader::header`]).
    pub fn decode_into<M: Model + ?Sized>(
        &self,
        model: &mut M,
        out: &mut [u8],
    ) -> Result<(), Error> {
        if out.len() != self.len {
            return Err(Error::OutputFull);
        }
        decode_chunk(model, self.as_chunk_record(), out)
    }

    /// [`decode_into`](Self::decode_into) a new `Vec`.
    pub fn decode<M: Model + ?Sized>(&self, model: &mut M) -> Result<Vec<u8>, Error> {
        let mut out = std::vec![0u8; self.len];
        self.decode_into(model, &mut out)?;
        Ok(out)
    }
}

/// Reads a stream from any [`Read`]: the header first, then one
/// [`Record`] per chunk, each checked against the header; after the last
/// one, bytes left in the input are [`Error::TrailingData`]. The model
/// check ([`Header::check_fingerprint`]) and the CRC-32 of the decoded
/// data ([`Header::check_crc`]) are the caller's, who decodes.
///
/// A record the stream ends inside is [`Error::Truncated`], one whose
/// length cannot be its chunk's [`Error::Corrupt`]; after an error
/// [`index`](Self::index) is the chunk it is in.
///
/// ```
/// use coder_core::container::{compress_to_vec, StreamReader};
/// use coder_core::models::{ContextConfig, ContextModel};
/// use coder_core::Crc32;
///
/// let mut model = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
/// let text = b"to be or not to be".repeat(10);
/// let stream = compress_to_vec(&mut model, &text, 64).unwrap();
/// let mut r = StreamReader::new(&stream[..]).unwrap();
/// r.header().check_model(&model).unwrap();
/// let (mut back, mut crc) = (Vec::new(), Crc32::new());
/// while let Some(rec) = r.next_record().unwrap() {
///     let chunk = rec.decode(&mut model).unwrap();
///     crc.update(&chunk);
///     back.extend_from_slice(&chunk);
/// }
/// r.header().check_crc(crc.finish()).unwrap();
/// assert_eq!(back, text);
/// assert_eq!(r.bytes_read(), stream.len() as u64);
/// ```
#[derive(Debug)]
pub struct StreamReader<R: Read> {
    input: R,
    header: Header,
    index: u64,
    read: u64,
    done: bool,
}

impl<R: Read> StreamReader<R> {
    /// Reads and checks the header (errors as [`Header::parse`]'s; an
    /// empty input is [`Error::NotAContainer`]).
    pub fn new(mut input: R) -> io::Result<Self> {
        let mut b = [0u8; MAX_HEADER_LEN];
        let mut n = read_full(&mut input, &mut b[..HEADER_LEN])?;
        if n == 0 {
            return Err(Error::NotAContainer.into());
        }
        if n == HEADER_LEN && b[4] == 3 {
            n += read_full(&mut input, &mut b[HEADER_LEN..])?;
        }
        let header = Header::parse(&b[..n])?;
        Ok(Self {
            input,
            header,
            index: 0,
            read: header.encoded_len() as u64,
            done: false,
        })
    }

    /// The stream's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Index of the next record (or of the one an error is in).
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Bytes read so far, header included (the whole stream's length once
    /// the last record is read).
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The input.
    pub fn into_inner(self) -> R {
        self.input
    }

    /// The next chunk's record, or `None` after the last one (checking
    /// that nothing follows it).
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        if self.done {
            return Ok(None);
        }
        if self.index == self.header.chunk_count() {
            let mut one = [0u8; 1];
            if read_full(&mut self.input, &mut one)? != 0 {
                return Err(Error::TrailingData.into());
            }
            self.done = true;
            return Ok(None);
        }
        let mut tag = [0u8; MAX_RECORD_HEADER_LEN];
        let mut n = 0;
        let rh = loop {
            if read_full(&mut self.input, &mut tag[n..n + 1])? == 0 {
                return Err(Error::Truncated.into());
            }
            n += 1;
            match RecordHeader::parse(&tag[..n]) {
                Ok((rh, _)) => break rh,
                Err(Error::Truncated) if n < MAX_RECORD_HEADER_LEN => {}
                Err(_) => return Err(Error::Corrupt.into()),
            }
        };
        let len = self.header.chunk_len(self.index);
        rh.check(len)?;
        let mut payload = Vec::new();
        (&mut self.input)
            .take(rh.payload_len as u64)
            .read_to_end(&mut payload)?;
        if payload.len() != rh.payload_len {
            return Err(Error::Truncated.into());
        }
        let record = Record {
            index: self.index,
            offset: self.header.chunk_offset(self.index),
            len,
            method: rh.method,
            payload,
        };
        self.read += (n + rh.payload_len) as u64;
        self.index += 1;
        Ok(Some(record))
    }
}

impl<R: Read> Iterator for StreamReader<R> {
    type Item = io::Result<Record>;

    /// [`next_record`](StreamReader::next_record); ends after an error.
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.next_record().transpose();
        if matches!(r, Some(Err(_))) {
            self.done = true;
        }
        r
    }
}
