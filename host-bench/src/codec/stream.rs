//! Streaming compression and decompression in batches of chunks.
//!
//! Memory is bounded by the batch, never by the input: a batch holds at
//! most [`batch_chunks`] chunks (a few per thread, and at most
//! [`BATCH_BYTES`] of chunk data), each coded or decoded on its own thread
//! with that thread's model and working memory.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

use coder_core::container::{
    decode_chunk, encode_chunk, max_record_len, ChunkRecord, Header, Method, RecordHeader,
    HEADER_LEN, MAX_CHUNK_SIZE, MAX_RECORD_HEADER_LEN,
};
use coder_core::Crc32;
use indicatif::ProgressBar;
use rayon::prelude::*;

use super::{ChunkModel, CodecError};

/// The paper's chunk size, and the default.
pub const DEFAULT_CHUNK_SIZE: u32 = 2048;
/// Upper bound on the chunk data of one batch.
pub const BATCH_BYTES: usize = 32 << 20;
/// Chunks per thread in a batch (so one slow chunk idles little).
pub const CHUNKS_PER_THREAD: usize = 8;

/// Chunks coded together for `threads` threads: `CHUNKS_PER_THREAD` a
/// thread, capped so that the batch's data stays under [`BATCH_BYTES`].
pub fn batch_chunks(chunk_size: u32, threads: usize) -> usize {
    let cap = (BATCH_BYTES / chunk_size.max(1) as usize).max(1);
    (threads.max(1) * CHUNKS_PER_THREAD).min(cap)
}

/// What [`compress`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The header written at the start of the stream.
    pub header: Header,
    /// Bytes of the whole stream, header included.
    pub compressed_len: u64,
}

/// Checks a chunk size and builds the header for it.
fn header_for(fingerprint: u64, chunk_size: u32, len: u64, crc: u32) -> Result<Header, CodecError> {
    Header::new(fingerprint, chunk_size, len, crc).map_err(|_| {
        CodecError::BadOption(format!(
            "chunk size {chunk_size} is out of range (1 to {MAX_CHUNK_SIZE} bytes)"
        ))
    })
}

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

/// One working memory per thread of the current rayon pool.
fn thread_works<M: ChunkModel>(model: &M) -> Vec<Mutex<M::Work>> {
    (0..rayon::current_num_threads())
        .map(|_| Mutex::new(model.new_work()))
        .collect()
}

/// Runs `f` on a reset model over the calling thread's working memory.
fn on_this_thread<M: ChunkModel, R>(
    model: &M,
    works: &[Mutex<M::Work>],
    f: impl FnOnce(&mut dyn coder_core::Model) -> R,
) -> Result<R, CodecError> {
    let i = rayon::current_thread_index().unwrap_or(0) % works.len();
    let mut work = works[i].lock().unwrap_or_else(|e| e.into_inner());
    model.with_model(&mut work, f)
}

/// Compresses all of `input` into `out` as a `coder-core` container, in
/// chunks of `chunk_size` bytes coded in parallel on the current rayon
/// pool.
///
/// The header needs the length and CRC-32 of the whole input, which a
/// stream only knows at its end: a placeholder is written first and the
/// header is filled in by seeking back, so `out` must be seekable (a file;
/// [`std::io::Cursor`] in memory). Advances `progress` by input bytes.
pub fn compress<M: ChunkModel, R: Read, W: Write + Seek>(
    model: &M,
    mut input: R,
    out: &mut W,
    chunk_size: u32,
    progress: &ProgressBar,
) -> Result<Summary, CodecError> {
    let fingerprint = model.fingerprint();
    header_for(fingerprint, chunk_size, 0, 0)?;
    let start = out.stream_position()?;
    out.write_all(&[0u8; HEADER_LEN])?;
    let works = thread_works(model);
    let cs = chunk_size as usize;
    let mut buf = vec![0u8; batch_chunks(chunk_size, works.len()) * cs];
    let mut crc = Crc32::new();
    let mut total = 0u64;
    let mut written = HEADER_LEN as u64;
    loop {
        let n = read_full(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        total += n as u64;
        let records: Vec<Result<Vec<u8>, CodecError>> = buf[..n]
            .par_chunks(cs)
            .map(|chunk| {
                let mut rec = vec![0u8; max_record_len(chunk.len())];
                let k = on_this_thread(model, &works, |m| encode_chunk(m, chunk, &mut rec))?
                    .map_err(CodecError::Coder)?;
                rec.truncate(k);
                progress.inc(chunk.len() as u64);
                Ok(rec)
            })
            .collect();
        for r in records {
            let r = r?;
            out.write_all(&r)?;
            written += r.len() as u64;
        }
        if n < buf.len() {
            break;
        }
    }
    let header = header_for(fingerprint, chunk_size, total, crc.finish())?;
    out.seek(SeekFrom::Start(start))?;
    out.write_all(&header.to_bytes())?;
    out.seek(SeekFrom::Start(start + written))?;
    out.flush()?;
    Ok(Summary {
        header,
        compressed_len: written,
    })
}

/// Reads and checks the header at the start of `input`.
pub fn read_header<R: Read + ?Sized>(input: &mut R) -> Result<Header, CodecError> {
    let mut b = [0u8; HEADER_LEN];
    let n = read_full(input, &mut b)?;
    if n == 0 {
        return Err(CodecError::NotOurs);
    }
    Header::parse(&b[..n]).map_err(|e| match e {
        coder_core::Error::NotAContainer => CodecError::NotOurs,
        coder_core::Error::UnsupportedVersion => CodecError::UnsupportedVersion(b[4]),
        coder_core::Error::Truncated => CodecError::TruncatedHeader,
        coder_core::Error::BadHeader => CodecError::BadHeader,
        e => CodecError::Coder(e),
    })
}

/// Reads the record of chunk `index`; checks its length against the
/// header.
fn read_record<R: Read + ?Sized>(
    input: &mut R,
    header: &Header,
    index: u64,
) -> Result<(Method, Vec<u8>), CodecError> {
    let chunks = header.chunk_count();
    let truncated = CodecError::Truncated {
        chunk: index,
        chunks,
    };
    let corrupt = || CodecError::CorruptChunk {
        chunk: index,
        chunks,
    };
    let mut tag = [0u8; MAX_RECORD_HEADER_LEN];
    let mut n = 0;
    let rh = loop {
        if read_full(input, &mut tag[n..n + 1])? == 0 {
            return Err(truncated);
        }
        n += 1;
        match RecordHeader::parse(&tag[..n]) {
            Ok((rh, _)) => break rh,
            Err(coder_core::Error::Truncated) if n < MAX_RECORD_HEADER_LEN => {}
            Err(_) => return Err(corrupt()),
        }
    };
    rh.check(header.chunk_len(index)).map_err(|_| corrupt())?;
    let mut payload = Vec::new();
    input
        .take(rh.payload_len as u64)
        .read_to_end(&mut payload)?;
    if payload.len() != rh.payload_len {
        return Err(truncated);
    }
    Ok((rh.method, payload))
}

/// Fails with [`CodecError::ModelMismatch`] unless `model` made the stream.
pub fn check_model<M: ChunkModel>(header: &Header, model: &M) -> Result<(), CodecError> {
    if header.fingerprint == model.fingerprint() {
        Ok(())
    } else {
        Err(CodecError::ModelMismatch {
            stream: header.fingerprint,
            model: model.fingerprint(),
            stream_model: super::models::identify(header.fingerprint),
        })
    }
}

/// Decompresses the container `input` into `out`, decoding chunks in
/// parallel on the current rayon pool; returns the header.
///
/// Everything is checked: the header, the model's fingerprint (before any
/// decoding), every record's length, the canonical coding of every chunk,
/// the end of the stream, and the CRC-32 of all the output. `out` receives
/// the data as it is decoded, so on an error it holds a prefix: write to a
/// temporary file and keep it only on `Ok` (as `lmc` does). Advances
/// `progress` by output bytes.
pub fn decompress<M: ChunkModel, R: Read, W: Write>(
    model: &M,
    mut input: R,
    out: &mut W,
    progress: &ProgressBar,
) -> Result<Header, CodecError> {
    let header = read_header(&mut input)?;
    check_model(&header, model)?;
    let works = thread_works(model);
    let batch = batch_chunks(header.chunk_size, works.len()) as u64;
    let chunks = header.chunk_count();
    let mut crc = Crc32::new();
    let mut index = 0u64;
    while index < chunks {
        let end = chunks.min(index + batch);
        let records = (index..end)
            .map(|i| read_record(&mut input, &header, i))
            .collect::<Result<Vec<_>, _>>()?;
        let decoded: Vec<Result<Vec<u8>, CodecError>> = records
            .par_iter()
            .enumerate()
            .map(|(j, (method, payload))| {
                let i = index + j as u64;
                let mut dst = vec![0u8; header.chunk_len(i)];
                let record = ChunkRecord {
                    method: *method,
                    payload,
                };
                on_this_thread(model, &works, |m| decode_chunk(m, record, &mut dst))?
                    .map_err(|_| CodecError::CorruptChunk { chunk: i, chunks })?;
                progress.inc(dst.len() as u64);
                Ok(dst)
            })
            .collect();
        drop(records);
        for d in decoded {
            let d = d?;
            crc.update(&d);
            out.write_all(&d)?;
        }
        index = end;
    }
    if read_full(&mut input, &mut [0u8; 1])? != 0 {
        return Err(CodecError::TrailingData);
    }
    let actual = crc.finish();
    if actual != header.crc32 {
        return Err(CodecError::ChecksumMismatch {
            expected: header.crc32,
            actual,
        });
    }
    out.flush()?;
    Ok(header)
}

/// What [`scan`] found in a stream's records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordStats {
    /// Chunks stored as arithmetic code.
    pub coded: u64,
    /// Chunks stored verbatim (coding would not have made them smaller).
    pub stored: u64,
    /// Bytes of the whole stream, header included.
    pub compressed_len: u64,
}

/// Walks the records after the header (already read by [`read_header`])
/// without decoding: checks their lengths and the end of the stream.
pub fn scan<R: Read + ?Sized>(input: &mut R, header: &Header) -> Result<RecordStats, CodecError> {
    let mut s = RecordStats {
        compressed_len: HEADER_LEN as u64,
        ..RecordStats::default()
    };
    for i in 0..header.chunk_count() {
        let (method, payload) = read_record(input, header, i)?;
        let mut tag = [0u8; MAX_RECORD_HEADER_LEN];
        let t = RecordHeader {
            method,
            payload_len: payload.len(),
        }
        .write_to(&mut tag)
        .map_err(CodecError::Coder)?;
        s.compressed_len += (t + payload.len()) as u64;
        match method {
            Method::Coded => s.coded += 1,
            Method::Stored => s.stored += 1,
        }
    }
    if read_full(input, &mut [0u8; 1])? != 0 {
        return Err(CodecError::TrailingData);
    }
    Ok(s)
}
