//! Streaming compression and decompression in batches of chunks, through
//! `coder-core`'s [`StreamWriter`](coder_core::container::StreamWriter)
//! and [`StreamReader`].
//!
//! Memory is bounded by the batch, never by the input: a batch holds at
//! most [`batch_chunks`] chunks (a few per thread, and at most
//! [`BATCH_BYTES`] of chunk data), each coded or decoded on its own thread
//! with that thread's model, built once per call.

use std::io::{self, Read, Seek, Write};

use coder_core::container::{
    Coding, Header, Method, Mode, Record, StreamReader, HEADER_LEN, MAGIC, MAX_CHUNK_SIZE,
};
use coder_core::media::{sniff, Region, Sniffed};
use coder_core::Crc32;
use rayon::prelude::*;

use crate::coding::{stream_fingerprint, Coded, Place};
use crate::models::{known_as, with_workers, worker_lanes, zeroed, ChunkModel};
use crate::sink::{Members, OneStream, Sink};
use crate::Error;

/// The paper's chunk size, and the default.
pub const DEFAULT_CHUNK_SIZE: u32 = 2048;
/// Upper bound on the chunk data of one batch.
pub const BATCH_BYTES: usize = 32 << 20;
/// Chunks per thread in a batch (so one slow chunk idles little).
pub const CHUNKS_PER_THREAD: usize = 8;

/// Chunks coded together for `threads` threads that each code `lanes` in
/// lockstep: `CHUNKS_PER_THREAD` a thread, or a lockstep group if more,
/// capped so that the batch's data stays under [`BATCH_BYTES`].
pub fn batch_chunks(chunk_size: u32, threads: usize, lanes: usize) -> usize {
    let cap = (BATCH_BYTES / chunk_size.max(1) as usize).max(1);
    (threads.max(1) * CHUNKS_PER_THREAD.max(lanes)).min(cap)
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
    /// Why an input that looked like an image or sound was coded as plain
    /// bytes (e.g. a 24-bit WAV), for the user.
    pub media_note: Option<&'static str>,
}

impl Summary {
    /// A sink's summary of the stream it wrote, with the log-loss if it
    /// was metered.
    pub(crate) fn of(s: coder_core::container::Summary, ideal_bits: Option<f64>) -> Self {
        Summary {
            header: s.header,
            compressed_len: s.compressed_len,
            coded: s.coded,
            stored: s.stored,
            ideal_bits,
            media_note: None,
        }
    }
}

/// What [`compress_with`] does with an input that starts as a PNM image
/// (PGM, PPM, PAM) or a WAV file ([`coder_core::media::sniff`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Media {
    /// Codes it as any other input.
    #[default]
    Off,
    /// With a coding that mixes, models its pixels or samples as an image
    /// or as sound (the header records where they are).
    Detect,
    /// As [`Detect`](Self::Detect), and a mixed coding becomes the
    /// adaptive models alone (no language model: a text model adds little
    /// there for ten times the time). What `lmc` does by default.
    Adaptive,
    /// The whole input is raw pixels or samples of this layout (no
    /// header), modelled as [`Detect`](Self::Detect) models a found one
    /// (`lmc --format`).
    Raw(coder_core::media::Layout),
}

/// How [`compress_with`] codes: the chunk (block) size, the container's
/// [`Coding`] and whether to meter the log-loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Chunk size in bytes, `1..=MAX_CHUNK_SIZE`: chunks code in parallel,
    /// and each starts from fresh models (or, chained, from the previous
    /// window).
    pub chunk_size: u32,
    /// What codes the chunks, as the header records it.
    pub coding: Coding,
    /// Whether to meter the log-loss.
    pub log_loss: LogLoss,
    /// Whether to look for a PNM image or a WAV file at the start of the
    /// input, and what to do on finding one (see [`Media`]).
    pub media: Media,
    /// Whether an input shorter than one chunk is coded as one chunk of
    /// its own length (the header's chunk size), so that the adaptive
    /// models' tables are sized to it: a 5 KB file needs a few MB, not
    /// the 45 MB a 1 MiB block's tables take. What `lmc` does; off by
    /// default, so a chunk size given is the one written.
    pub fit_block: bool,
}

impl Settings {
    /// The Transformer alone ([`Coding::MODEL`]) on `chunk_size`-byte
    /// chunks, not metered: the paper's setting at 2048.
    pub fn new(chunk_size: u32) -> Self {
        Self {
            chunk_size,
            coding: Coding::MODEL,
            log_loss: LogLoss::Skip,
            fit_block: false,
            media: Media::Off,
        }
    }

    /// With `media` (see [`Settings::media`]).
    pub fn media(self, media: Media) -> Self {
        Self { media, ..self }
    }

    /// With `fit_block` (see [`Settings::fit_block`]).
    pub fn fit_block(self, fit_block: bool) -> Self {
        Self { fit_block, ..self }
    }

    /// With `coding`.
    pub fn coding(self, coding: Coding) -> Self {
        Self { coding, ..self }
    }

    /// With `log_loss`.
    pub fn log_loss(self, log_loss: LogLoss) -> Self {
        Self { log_loss, ..self }
    }
}

/// Bytes before a chunk that its model reads first: the model's window
/// when the coding chains chunks, else none.
fn chain_window<M: ChunkModel>(coding: Coding, model: Option<&M>) -> usize {
    match (coding.chained, model) {
        (true, Some(m)) => m.window(),
        _ => 0,
    }
}

/// Checks `settings` against `model` (what [`compress_with`] refuses
/// before reading anything); returns the fingerprint the header carries.
pub fn check_settings<M: ChunkModel>(model: Option<&M>, settings: &Settings) -> Result<u64, Error> {
    let cs = settings.chunk_size;
    if !(1..=MAX_CHUNK_SIZE).contains(&cs) {
        return Err(Error::BadChunkSize(cs));
    }
    let coding = settings.coding.check().map_err(Error::Coder)?;
    let model = model.filter(|_| coding.mode.uses_model());
    if let Some(context) = model.and_then(ChunkModel::max_chunk) {
        if cs > context {
            return Err(Error::ChunkTooLong {
                chunk_size: cs,
                context,
            });
        }
    }
    stream_fingerprint(coding, model.map(ChunkModel::fingerprint), cs)
}

/// Compresses all of `input` into `out` as a `coder-core` container, in
/// chunks of `chunk_size` bytes coded by the Transformer alone, in
/// parallel; [`compress_with`] with [`Settings::new`].
pub fn compress<M: ChunkModel, R: Read, W: Write + Seek>(
    model: &M,
    input: R,
    out: &mut W,
    chunk_size: u32,
    log_loss: LogLoss,
    progress: impl Fn(u64) + Sync,
) -> Result<Summary, Error> {
    let settings = Settings::new(chunk_size).log_loss(log_loss);
    compress_with(Some(model), input, out, &settings, progress)
}

/// Compresses all of `input` into `out` as a `coder-core` container as
/// `settings` say, chunks coded in parallel on the current rayon pool, one
/// [`Worker`](crate::coding::Worker) per thread (no more than the input's
/// chunks need). `model` may be `None` only for
/// [`Mode::Adaptive`](coder_core::container::Mode::Adaptive).
///
/// The header needs the length and CRC-32 of the whole input, which a
/// stream only knows at its end: `out` must be seekable (a file;
/// [`std::io::Cursor`] in memory); [`compress_to_pipe`] writes to any
/// output. Calls `progress` with the input bytes of every chunk coded.
pub fn compress_with<M: ChunkModel, R: Read, W: Write + Seek>(
    model: Option<&M>,
    input: R,
    out: &mut W,
    settings: &Settings,
    progress: impl Fn(u64) + Sync,
) -> Result<Summary, Error> {
    compress_into(model, input, &mut OneStream::new(out), settings, progress)
}

/// [`compress_with`] to an output that cannot seek (a pipe): every
/// [`MEMBER_BYTES`](crate::sink::MEMBER_BYTES) of input, or
/// [`MEMBER_CHUNKS`](crate::sink::MEMBER_CHUNKS) chunks if more (1 MiB of
/// 2048-byte chunks, 8 MiB of the default 1 MiB blocks), is written as a
/// stream of its own as soon as its chunks are coded, and the streams decode to the concatenation. Nothing
/// is spooled, the reader gets data as it is made, and the bytes are the
/// same on any number of threads. The chunks are the same as in one
/// stream, but a chained coding starts afresh with each stream; an input
/// of one stream's length or less is one stream, the same bytes as
/// [`compress_with`] writes. The summary describes all the streams (their
/// total length and the CRC-32 of all the input).
pub fn compress_to_pipe<M: ChunkModel, R: Read, W: Write>(
    model: Option<&M>,
    input: R,
    out: &mut W,
    settings: &Settings,
    progress: impl Fn(u64) + Sync,
) -> Result<Summary, Error> {
    compress_into(model, input, &mut Members::new(out), settings, progress)
}

fn compress_into<M: ChunkModel, R: Read, S: Sink>(
    model: Option<&M>,
    mut input: R,
    sink: &mut S,
    settings: &Settings,
    progress: impl Fn(u64) + Sync,
) -> Result<Summary, Error> {
    check_settings(model, settings)?;
    let Settings {
        mut chunk_size,
        mut coding,
        log_loss,
        fit_block,
        media,
    } = *settings;
    let window = chain_window(coding, model);
    let measure = log_loss == LogLoss::Measure;
    // The first batch is read before any worker is built: when it is all
    // the input, only the workers and lanes its chunks need are built.
    let threads = rayon::current_num_threads().max(1);
    let lanes = worker_lanes(model, coding, chunk_size)?;
    let first = batch_chunks(chunk_size, threads, lanes) * chunk_size as usize;
    let mut buf: Vec<u8> = Vec::new();
    buf.try_reserve_exact(first + window)
        .map_err(|_| Error::OutOfMemory {
            bytes: (first + window) as u64,
        })?;
    let n = read_up_to(&mut input, first, &mut buf)?;
    let whole = n < first;
    if fit_block && whole && n < chunk_size as usize {
        chunk_size = n.max(1) as u32;
    }
    let mut media_note = None;
    if media != Media::Off && coding.mode.mixes() {
        let total = if whole { n as u64 } else { u64::MAX };
        let found = match media {
            Media::Raw(layout) => Sniffed::Media(Region {
                layout,
                start: 0,
                len: if whole { n as u64 } else { u64::MAX >> 1 },
            }),
            _ => sniff(&buf[..n], total),
        };
        match found {
            Sniffed::Media(r) => {
                coding.region = Some(r);
                if media == Media::Adaptive {
                    coding.mode = Mode::Adaptive;
                    coding.preset = crate::coding::HOST_PRESET;
                    coding.chained = false;
                }
            }
            Sniffed::Unsupported(why) => media_note = Some(why),
            _ => {}
        }
    }
    let cs = chunk_size as usize;
    let model = model.filter(|_| coding.mode.uses_model());
    let fingerprint = stream_fingerprint(coding, model.map(ChunkModel::fingerprint), chunk_size)?;
    sink.begin(fingerprint, chunk_size, coding)?;
    let chunks = if whole {
        n.div_ceil(cs) as u64
    } else {
        u64::MAX
    };
    // A chained chunk that starts a stream starts from no context.
    let stream_chunks = sink.stream_chunks();
    let bits = with_workers(
        model,
        coding,
        chunk_size,
        chunks,
        |workers| -> Result<f64, Error> {
            let batch = batch_chunks(chunk_size, workers.len(), workers.lanes()) * cs;
            let mut bits = 0.0;
            // `buf`: the previous batch's last `tail` bytes (a chained chunk's
            // context), then this batch's `n` bytes, from chunk `done` on.
            let (mut tail, mut n, mut more, mut done) = (0, n, !whole, 0u64);
            while n > 0 {
                // Groups of chunks, each coded in lockstep by one worker.
                let group = workers.group(n.div_ceil(cs)) * cs;
                let codes: Vec<Result<Vec<Coded>, Error>> = buf[tail..]
                    .par_chunks(group)
                    .enumerate()
                    .map(|(g, data)| {
                        let start = tail + g * group;
                        let chunks: Vec<&[u8]> = data.chunks(cs).collect();
                        let contexts: Vec<&[u8]> = (start..start + data.len())
                            .step_by(cs)
                            .map(|at| {
                                let index = done + ((at - tail) / cs) as u64;
                                if index.is_multiple_of(stream_chunks) {
                                    &buf[at..at]
                                } else {
                                    &buf[at.saturating_sub(window)..at]
                                }
                            })
                            .collect();
                        // Each member of a piped output sees the region from
                        // where its data starts (`Region::for_stream_at`).
                        let places: Vec<Place> = (start..start + data.len())
                            .step_by(cs)
                            .map(|at| {
                                let index = done + ((at - tail) / cs) as u64;
                                let from = index / stream_chunks * stream_chunks * cs as u64;
                                let r = coding.region?.for_stream_at(from)?;
                                Some((r, index * cs as u64 - from))
                            })
                            .collect();
                        let r = workers.run(|w| {
                            w.encode(coding, &chunks, &places, &contexts, measure, &progress)
                        });
                        progress(data.len() as u64 - r.as_ref().map_or(0, |c| c.1));
                        r.map(|c| c.0)
                    })
                    .collect();
                let mut chunks = buf[tail..].chunks(cs);
                for coded in codes {
                    // (The group's codes first: `zip` takes no chunk past them.)
                    for (coded, chunk) in coded?.into_iter().zip(&mut chunks) {
                        bits += coded.bits;
                        sink.chunk(chunk, coded.code.as_deref())?;
                    }
                }
                sink.end_batch()?;
                if !more {
                    break;
                }
                done += n.div_ceil(cs) as u64;
                tail = buf.len().min(window);
                buf.drain(..buf.len() - tail);
                n = read_up_to(&mut input, batch, &mut buf)?;
                more = n == batch;
            }
            Ok(bits)
        },
    )??;
    Ok(Summary {
        media_note,
        ..Summary::of(sink.finish()?, measure.then_some(bits))
    })
}

/// A stream's reader as [`open`] and [`Streams`] return it: the header
/// bytes already read, then the rest of the input.
pub type Reader<R> = StreamReader<io::Chain<io::Cursor<Vec<u8>>, R>>;

/// Appends up to `n` more bytes of `input` to `buf` (fewer only at its
/// end).
pub(crate) fn read_up_to<R: Read>(input: &mut R, n: usize, buf: &mut Vec<u8>) -> io::Result<usize> {
    input.take(n as u64).read_to_end(buf)
}

/// Refuses a header whose version byte is not ours unless the header's
/// own checksum (bytes `32..36`, the CRC-32 of bytes `0..32`, which every
/// version keeps) holds: a damaged version byte is a damaged header, not a
/// newer format. A header cut short cannot be checked: truncated.
fn check_header_integrity(b: &[u8]) -> Result<(), Error> {
    if b.len() < 5 || b[..4] != MAGIC || coder_core::container::reads_version(b[4]) {
        return Ok(()); // coder-core's checks say what is wrong, if anything
    }
    let Some(h) = b.get(..HEADER_LEN) else {
        return Err(Error::TruncatedHeader);
    };
    if coder_core::crc32(&h[..32]).to_le_bytes() != h[32..36] {
        return Err(Error::BadHeader);
    }
    Ok(())
}

/// Reads the header of the stream at the start of `input` (after
/// `prefix`, bytes of it already read) and checks it: a reader of its
/// records.
fn open_after<R: Read>(prefix: &[u8], mut input: R) -> Result<Reader<R>, Error> {
    let mut b = prefix.to_vec();
    read_up_to(&mut input, HEADER_LEN - prefix.len(), &mut b)?;
    check_header_integrity(&b)?;
    // A header whose checksum holds was written so: its fields are what
    // this build refuses, not damage.
    let sound = b.len() >= HEADER_LEN && coder_core::crc32(&b[..32]).to_le_bytes() == b[32..36];
    StreamReader::new(io::Cursor::new(b).chain(input)).map_err(|e| {
        match Error::from_stream(e, None) {
            Error::BadHeader if sound => Error::HeaderFields,
            e => e,
        }
    })
}

/// Reads and checks the header at the start of `input`: a reader of its
/// records.
pub fn open<R: Read>(input: R) -> Result<Reader<R>, Error> {
    open_after(&[], input)
}

/// `e` in the `n`th stream (1-based; the first needs no saying).
fn locate(n: u64, e: Error) -> Error {
    match n {
        0 | 1 => e,
        n => Error::InStream {
            stream: n - 1,
            error: Box::new(e),
        },
    }
}

/// The streams of a file, one after the other: `lmc -c a b > ab.lmc`
/// writes two, and they decode to the concatenation (as gzip members do).
/// Bytes after a stream that do not start another are
/// [`Error::TrailingData`]; errors in the second and later streams say
/// which stream ([`Error::InStream`]).
pub struct Streams<R> {
    input: R,
    index: u64,
}

impl<R: Read> Streams<R> {
    /// The streams of `input`.
    pub fn new(input: R) -> Self {
        Self { input, index: 0 }
    }

    /// Index of the stream last returned (0 for the first).
    pub fn index(&self) -> u64 {
        self.index.saturating_sub(1)
    }

    /// Wraps an error of the current stream with its index (from the
    /// second on).
    pub fn locate(&self, e: Error) -> Error {
        locate(self.index, e)
    }

    /// The next stream's reader, or `None` at the end of the input (the
    /// first is always read: an empty input is not ours). Call it again
    /// only after reading all the records of the previous one
    /// (`reader.index() == reader.header().chunk_count()`).
    pub fn next_stream(&mut self) -> Result<Option<Reader<&mut R>>, Error> {
        let mut prefix = Vec::new();
        if self.index > 0 && read_up_to(&mut self.input, 1, &mut prefix)? == 0 {
            return Ok(None);
        }
        self.index += 1;
        let index = self.index;
        match open_after(&prefix, &mut self.input) {
            Ok(r) => Ok(Some(r)),
            Err(Error::NotOurs) if index > 1 => Err(Error::TrailingData),
            Err(e) => Err(locate(index, e)),
        }
    }
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
/// `header` (for the adaptive models alone, which need none: unless the
/// header's fingerprint is their configuration's).
pub fn check_model<M: ChunkModel>(header: &Header, model: Option<&M>) -> Result<(), Error> {
    let model = model.filter(|_| header.coding.mode.uses_model());
    let expected = stream_fingerprint(
        header.coding,
        model.map(ChunkModel::fingerprint),
        header.chunk_size,
    )?;
    header
        .check_fingerprint(expected)
        .map_err(|_| Error::ModelMismatch {
            stream: header.fingerprint,
            model: expected,
            stream_model: known_as(header.fingerprint),
        })
}

/// Decompresses the container `input` into `out` with `model`:
/// [`decompress_with`] for streams that need one (all but the adaptive
/// coding's, for which `model` is ignored).
pub fn decompress<M: ChunkModel, R: Read, W: Write>(
    model: &M,
    input: R,
    out: &mut W,
    progress: impl Fn(u64) + Sync,
) -> Result<Header, Error> {
    decompress_with(Some(model), input, out, progress)
}

/// Decompresses the container `input` into `out`, decoding chunks in
/// parallel on the current rayon pool (in order when chained), one
/// [`Worker`](crate::coding::Worker) per thread; returns the header.
/// `model` may be `None` for streams of the adaptive models alone.
///
/// Everything is checked: the header, the model's fingerprint (before any
/// decoding), every record's length, the canonical coding of every chunk,
/// the end of the stream, and the CRC-32 of all the output. `out` receives
/// the data as it is decoded (and is flushed after every batch of chunks),
/// so on an error it holds what was decoded before the error, which only
/// the final CRC-32 vouches for: write to a temporary file and keep it only
/// on `Ok` (as `lmc` does for files), or treat anything read from a pipe as
/// unverified until the writer succeeds (as with `gzip -dc`). A chained
/// stream holds each chunk back until the next one has decoded (and the
/// last until the CRC-32 holds), since damage to a chunk may only show in
/// the one that continues it. Calls `progress` with the output bytes of
/// every chunk decoded.
///
/// Concatenated streams ([`Streams`]) decode to the concatenation, each
/// checked as above, all with `model`; [`decompress_each`] lets each find
/// its own. For more than one, the header returned describes all the
/// output (its length and CRC-32) with the first stream's model and chunk
/// size.
pub fn decompress_with<M: ChunkModel, R: Read, W: Write>(
    model: Option<&M>,
    input: R,
    out: &mut W,
    progress: impl Fn(u64) + Sync,
) -> Result<Header, Error> {
    decompress_each(input, out, |reader, out| {
        decode_stream(model, reader, out, &progress)
    })
}

/// Decompresses the concatenated streams of `input` into `out`, each by
/// `decode` (e.g. [`decode_stream`] with the model its header names), as
/// gzip's members: returns the header of all the output ([`decompress_with`]).
pub fn decompress_each<R: Read, W: Write + ?Sized>(
    input: R,
    out: &mut W,
    mut decode: impl FnMut(&mut Reader<&mut R>, &mut dyn Write) -> Result<Header, Error>,
) -> Result<Header, Error> {
    let mut streams = Streams::new(input);
    let mut all = Crc32::new();
    let (mut first, mut total, mut count) = (None, 0u64, 0u64);
    let mut out = Following {
        inner: out,
        crc: &mut all,
    };
    while let Some(mut reader) = streams.next_stream()? {
        let r = decode(&mut reader, &mut out);
        drop(reader);
        let header = r.map_err(|e| streams.locate(e))?;
        total += header.original_len;
        count += 1;
        first.get_or_insert(header);
    }
    out.flush()?;
    let first = first.ok_or(Error::NotOurs)?;
    if count == 1 {
        return Ok(first);
    }
    Header::new(first.fingerprint, first.chunk_size, total, all.finish())
        .and_then(|h| h.with_coding(first.coding))
        .map_err(Error::Coder)
}

/// A writer that follows the CRC-32 of all it passes on.
struct Following<'a, W: ?Sized> {
    inner: &'a mut W,
    crc: &'a mut Crc32,
}

impl<W: Write + ?Sized> Write for Following<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decodes the records of one stream (from [`Streams`] or [`open`]) with
/// `model` into `out` and checks its CRC-32; leaves `reader` after its
/// last record.
pub fn decode_stream<M: ChunkModel, R: Read, W: Write + ?Sized>(
    model: Option<&M>,
    reader: &mut StreamReader<R>,
    out: &mut W,
    progress: &(impl Fn(u64) + Sync),
) -> Result<Header, Error> {
    let header = *reader.header();
    check_model(&header, model)?;
    let chunks = header.chunk_count();
    let coding = header.coding;
    let window = chain_window(coding, model);
    let crc = with_workers(
        model,
        coding,
        header.chunk_size,
        chunks,
        |workers| -> Result<u32, Error> {
            let batch = batch_chunks(header.chunk_size, workers.len(), workers.lanes()) as u64;
            let mut crc = Crc32::new();
            // The last `window` bytes decoded: a chained chunk's context.
            let mut tail: Vec<u8> = Vec::new();
            // A chained chunk decoded, written once the next one decodes.
            let mut held: Option<Vec<u8>> = None;
            while reader.index() < chunks {
                let end = chunks.min(reader.index() + batch);
                let mut records = Vec::new();
                while reader.index() < end {
                    match next_record(reader)? {
                        Some(r) => records.push(r),
                        None => break,
                    }
                }
                let decode = |recs: &[Record], contexts: &[&[u8]]| {
                    decode_group(
                        workers,
                        coding,
                        header.chunk_size,
                        chunks,
                        recs,
                        contexts,
                        progress,
                    )
                };
                if window > 0 {
                    // Each chunk needs the end of the one before: in order.
                    for rec in records.chunks(1) {
                        let Some(d) = decode(rec, &[&tail]).pop() else {
                            break;
                        };
                        let d = d.map_err(|e| match (e, &held) {
                            (Error::CorruptChunk { chunk, chunks }, Some(_)) => {
                                Error::CorruptChained { chunk, chunks }
                            }
                            (e, _) => e,
                        })?;
                        tail.extend_from_slice(&d);
                        tail.drain(..tail.len().saturating_sub(window));
                        if let Some(h) = held.replace(d) {
                            crc.update(&h);
                            out.write_all(&h)?;
                        }
                    }
                } else {
                    let group = workers.group(records.len());
                    let groups: Vec<_> = records
                        .par_chunks(group)
                        .map(|recs| decode(recs, &[]))
                        .collect();
                    drop(records);
                    for d in groups.into_iter().flatten() {
                        let d = d?;
                        crc.update(&d);
                        out.write_all(&d)?;
                    }
                }
                // A pipe gets each batch as soon as it is decoded.
                out.flush()?;
            }
            if let Some(h) = held {
                // Written only if the whole stream's CRC-32 holds.
                let mut all = crc;
                all.update(&h);
                header
                    .check_crc(all.finish())
                    .map_err(|_| Error::ChecksumMismatch {
                        expected: header.crc32,
                        actual: all.finish(),
                    })?;
                crc = all;
                out.write_all(&h)?;
                out.flush()?;
            }
            Ok(crc.finish())
        },
    )??;
    header.check_crc(crc).map_err(|_| Error::ChecksumMismatch {
        expected: header.crc32,
        actual: crc,
    })?;
    Ok(header)
}

/// Decodes a group of records, the coded ones by one worker in lockstep,
/// chunk `i` after `contexts[i]`: each chunk's bytes, or the error naming
/// it.
fn decode_group<B: coder_core::BatchModel>(
    workers: &crate::models::Workers<crate::coding::Worker<B>>,
    coding: Coding,
    chunk_size: u32,
    chunks: u64,
    recs: &[Record],
    contexts: &[&[u8]],
    progress: &(impl Fn(u64) + Sync),
) -> Vec<Result<Vec<u8>, Error>> {
    let dsts: Result<Vec<Vec<u8>>, Error> = recs.iter().map(|r| zeroed(r.len)).collect();
    let Ok(mut dsts) = dsts else {
        let bytes = recs.iter().map(|r| r.len as u64).sum();
        return recs
            .iter()
            .map(|_| Err(Error::OutOfMemory { bytes }))
            .collect();
    };
    let (mut payloads, mut ctxs, mut outs, mut at) = (vec![], vec![], vec![], vec![]);
    let mut places = vec![];
    for (i, (rec, dst)) in recs.iter().zip(&mut dsts).enumerate() {
        match rec.method {
            Method::Stored => dst.copy_from_slice(&rec.payload),
            Method::Coded => {
                payloads.push(&rec.payload[..]);
                places.push(
                    coding
                        .region
                        .map(|r| (r, rec.index * u64::from(chunk_size))),
                );
                ctxs.push(contexts.get(i).copied().unwrap_or_default());
                outs.push(std::mem::take(dst));
                at.push(i);
            }
        }
    }
    let (results, ticked) = if outs.is_empty() {
        (Vec::new(), 0)
    } else {
        workers
            .run(|w| w.decode(coding, &payloads, &places, &ctxs, &mut outs, progress))
            .unwrap_or_else(|_| (vec![Err(coder_core::Error::Corrupt); outs.len()], 0))
    };
    let mut ok = vec![true; recs.len()];
    for ((i, out), r) in at.into_iter().zip(outs).zip(results) {
        dsts[i] = out;
        ok[i] = r.is_ok();
    }
    let len: usize = recs.iter().map(|r| r.len).sum();
    progress(len as u64 - ticked);
    recs.iter()
        .zip(dsts)
        .zip(ok)
        .map(|((rec, dst), ok)| {
            ok.then_some(dst).ok_or(Error::CorruptChunk {
                chunk: rec.index,
                chunks,
            })
        })
        .collect()
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

/// Walks the records of `reader` (from [`open`] or [`Streams`]) without
/// decoding, checking their lengths; stops after the last one (what
/// follows is [`Streams::next_stream`]'s to check).
pub fn scan<R: Read>(reader: &mut StreamReader<R>) -> Result<RecordStats, Error> {
    let mut s = RecordStats::default();
    while reader.index() < reader.header().chunk_count() {
        let Some(r) = next_record(reader)? else { break };
        match r.method {
            Method::Coded => s.coded += 1,
            Method::Stored => s.stored += 1,
        }
    }
    s.compressed_len = reader.bytes_read();
    Ok(s)
}
