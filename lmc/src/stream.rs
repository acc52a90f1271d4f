//! Streaming compression and decompression in batches of chunks, through
//! `coder-core`'s [`StreamWriter`] and [`StreamReader`].
//!
//! Memory is bounded by the batch, never by the input: a batch holds at
//! most [`batch_chunks`] chunks (a few per thread, and at most
//! [`BATCH_BYTES`] of chunk data), each coded or decoded on its own thread
//! with that thread's model, built once per call.

use std::io::{Read, Seek, Write};

use coder_core::container::{Header, Method, StreamReader, StreamWriter, MAX_CHUNK_SIZE};
use coder_core::{encode_into, max_encoded_len, Crc32, Meter, Model};
use rayon::prelude::*;

use crate::models::{identify, with_thread_models, ChunkModel};
use crate::Error;

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

/// Whether [`compress`] measures the log-loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogLoss {
    /// Do not: a chunk whose code grows past its length is given up as
    /// soon as it does, and stored.
    #[default]
    Skip,
    /// Meter every byte under the model's integer tables
    /// ([`coder_core::Meter`]), coding every chunk to its end (the same
    /// output; slower only on incompressible data).
    Measure,
}

/// What [`compress`] wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The header written at the start of the stream.
    pub header: Header,
    /// Bytes of the whole stream, header included.
    pub compressed_len: u64,
    /// Chunks stored as arithmetic code.
    pub coded: u64,
    /// Chunks stored verbatim.
    pub stored: u64,
    /// With [`LogLoss::Measure`]: the ideal code length of all the input
    /// under the model's tables, bits.
    pub ideal_bits: Option<f64>,
}

/// One chunk coded by a worker thread.
struct Coded {
    /// The code; `None` when it was given up as not shorter than the chunk.
    code: Option<Vec<u8>>,
    /// Its ideal bits when metered, else 0.
    bits: f64,
}

/// Codes one chunk with `model` (reset).
fn code_chunk<M: Model>(model: &mut M, chunk: &[u8], log_loss: LogLoss) -> Result<Coded, Error> {
    match log_loss {
        LogLoss::Measure => {
            let mut meter = Meter::new(model);
            let mut code = vec![0u8; max_encoded_len(chunk.len(), meter.precision())];
            let n = encode_into(&mut meter, chunk, &mut code).map_err(Error::Coder)?;
            code.truncate(n);
            Ok(Coded {
                code: Some(code),
                bits: meter.bits(),
            })
        }
        LogLoss::Skip => {
            let mut code = vec![0u8; chunk.len().saturating_sub(1)];
            match encode_into(model, chunk, &mut code) {
                Ok(n) => {
                    code.truncate(n);
                    Ok(Coded {
                        code: Some(code),
                        bits: 0.0,
                    })
                }
                Err(coder_core::Error::OutputFull) => Ok(Coded {
                    code: None,
                    bits: 0.0,
                }),
                Err(e) => Err(Error::Coder(e)),
            }
        }
    }
}

/// Compresses all of `input` into `out` as a `coder-core` container, in
/// chunks of `chunk_size` bytes coded in parallel on the current rayon
/// pool, one model per thread.
///
/// The header needs the length and CRC-32 of the whole input, which a
/// stream only knows at its end: `out` must be seekable (a file;
/// [`std::io::Cursor`] in memory). Calls `progress` with the input bytes
/// of every chunk coded.
pub fn compress<M: ChunkModel, R: Read, W: Write + Seek>(
    model: &M,
    mut input: R,
    out: &mut W,
    chunk_size: u32,
    log_loss: LogLoss,
    progress: impl Fn(u64) + Sync,
) -> Result<Summary, Error> {
    if !(1..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        return Err(Error::BadChunkSize(chunk_size));
    }
    let mut writer = StreamWriter::new(out, model.fingerprint(), chunk_size)?;
    let cs = chunk_size as usize;
    let bits = with_thread_models(model, |threads| -> Result<f64, Error> {
        let batch = batch_chunks(chunk_size, threads.len()) * cs;
        let mut buf = Vec::with_capacity(batch);
        let mut bits = 0.0;
        loop {
            buf.clear();
            let n = (&mut input).take(batch as u64).read_to_end(&mut buf)?;
            if n == 0 {
                break;
            }
            let codes: Vec<Result<Coded, Error>> = buf[..n]
                .par_chunks(cs)
                .map(|chunk| {
                    let r = threads.run(|m| code_chunk(m, chunk, log_loss));
                    progress(chunk.len() as u64);
                    r
                })
                .collect();
            for (chunk, coded) in buf[..n].chunks(cs).zip(codes) {
                let coded = coded?;
                bits += coded.bits;
                writer.write_chunk(chunk, coded.code.as_deref())?;
            }
            if n < batch {
                break;
            }
        }
        Ok(bits)
    })??;
    let s = writer.finish()?;
    Ok(Summary {
        header: s.header,
        compressed_len: s.compressed_len,
        coded: s.coded,
        stored: s.stored,
        ideal_bits: (log_loss == LogLoss::Measure).then_some(bits),
    })
}

/// Reads and checks the header at the start of `input`: a reader of its
/// records.
pub fn open<R: Read>(input: R) -> Result<StreamReader<R>, Error> {
    StreamReader::new(input).map_err(|e| Error::from_stream(e, None))
}

/// The next record of `reader`, errors naming the chunk.
fn next_record<R: Read>(
    reader: &mut StreamReader<R>,
) -> Result<Option<coder_core::container::Record>, Error> {
    let chunks = reader.header().chunk_count();
    reader
        .next_record()
        .map_err(|e| Error::from_stream(e, Some((reader.index(), chunks))))
}

/// Fails with [`Error::ModelMismatch`] unless `model` made the stream of
/// `header`.
pub fn check_model<M: ChunkModel>(header: &Header, model: &M) -> Result<(), Error> {
    header
        .check_fingerprint(model.fingerprint())
        .map_err(|_| Error::ModelMismatch {
            stream: header.fingerprint,
            model: model.fingerprint(),
            stream_model: identify(header.fingerprint),
        })
}

/// Decompresses the container `input` into `out`, decoding chunks in
/// parallel on the current rayon pool, one model per thread; returns the
/// header.
///
/// Everything is checked: the header, the model's fingerprint (before any
/// decoding), every record's length, the canonical coding of every chunk,
/// the end of the stream, and the CRC-32 of all the output. `out` receives
/// the data as it is decoded, so on an error it holds a prefix: write to a
/// temporary file and keep it only on `Ok` (as `lmc` does). Calls
/// `progress` with the output bytes of every chunk decoded.
pub fn decompress<M: ChunkModel, R: Read, W: Write>(
    model: &M,
    input: R,
    out: &mut W,
    progress: impl Fn(u64) + Sync,
) -> Result<Header, Error> {
    let mut reader = open(input)?;
    let header = *reader.header();
    check_model(&header, model)?;
    let chunks = header.chunk_count();
    let crc = with_thread_models(model, |threads| -> Result<u32, Error> {
        let batch = batch_chunks(header.chunk_size, threads.len()) as u64;
        let mut crc = Crc32::new();
        while reader.index() < chunks {
            let end = chunks.min(reader.index() + batch);
            let mut records = Vec::new();
            while reader.index() < end {
                match next_record(&mut reader)? {
                    Some(r) => records.push(r),
                    None => break,
                }
            }
            let decoded: Vec<Result<Vec<u8>, Error>> = records
                .par_iter()
                .map(|rec| {
                    let mut dst = vec![0u8; rec.len];
                    threads.run(|m| rec.decode_into(m, &mut dst)).map_err(|_| {
                        Error::CorruptChunk {
                            chunk: rec.index,
                            chunks,
                        }
                    })?;
                    progress(dst.len() as u64);
                    Ok(dst)
                })
                .collect();
            drop(records);
            for d in decoded {
                let d = d?;
                crc.update(&d);
                out.write_all(&d)?;
            }
        }
        Ok(crc.finish())
    })??;
    // The end of the stream: nothing may follow the last record.
    next_record(&mut reader)?;
    header.check_crc(crc).map_err(|_| Error::ChecksumMismatch {
        expected: header.crc32,
        actual: crc,
    })?;
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

/// Walks the records of `reader` (from [`open`]) without decoding: checks
/// their lengths and the end of the stream.
pub fn scan<R: Read>(reader: &mut StreamReader<R>) -> Result<RecordStats, Error> {
    let mut s = RecordStats::default();
    while let Some(r) = next_record(reader)? {
        match r.method {
            Method::Coded => s.coded += 1,
            Method::Stored => s.stored += 1,
        }
    }
    s.compressed_len = reader.bytes_read();
    Ok(s)
}
