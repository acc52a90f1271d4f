//! Where the records of a compression go: one stream on a seekable output
//! (`OneStream`: its header is filled in at the end), or, on an output
//! that cannot seek back (a pipe), one stream per [`MEMBER_BYTES`] of
//! input or [`MEMBER_CHUNKS`] chunks, whichever is more (`Members`), each
//! written as soon as its chunks are coded, so a reader gets data long
//! before the end and nothing is spooled. Concatenated streams decode to
//! the concatenation ([`crate::Streams`]), as gzip's members do. Where
//! members begin depends on the input and the chunk size only, never on
//! the thread count: the bytes written are the same on any number of
//! threads.

use std::io::{self, Cursor, Seek, Write};

use coder_core::container::{Coding, Header, Method, StreamWriter, Summary};
use coder_core::Crc32;

/// Input bytes per member on a pipe, unless [`MEMBER_CHUNKS`] chunks are
/// more: a 36-byte header a MiB costs nothing, and a reader waits for no
/// more than a member.
pub const MEMBER_BYTES: u64 = 1 << 20;
/// Fewest chunks per member: members decode one after the other, so each
/// holds enough blocks to spread over threads (eight 1 MiB blocks at the
/// default). A member's code waits in memory until its last chunk is in.
pub const MEMBER_CHUNKS: u64 = 8;

/// A destination of records, batch by batch.
pub(crate) trait Sink {
    /// Chunks per stream: a chained chunk whose index is a multiple of it
    /// starts a stream, and with it from no context (`u64::MAX`: one
    /// stream).
    fn stream_chunks(&self) -> u64;
    /// Starts the output for streams of `chunk_size`-byte chunks coded as
    /// `coding` by the model of `fingerprint`.
    fn begin(&mut self, fingerprint: u64, chunk_size: u32, coding: Coding) -> io::Result<()>;
    /// The record of the next chunk (see [`StreamWriter::write_chunk`]).
    fn chunk(&mut self, chunk: &[u8], code: Option<&[u8]>) -> io::Result<Method>;
    /// The end of a batch of chunks.
    fn end_batch(&mut self) -> io::Result<()>;
    /// The end of the input: what was written, in all.
    fn finish(&mut self) -> io::Result<Summary>;
}

/// One stream on a seekable output.
pub(crate) struct OneStream<'a, W: Write + Seek> {
    out: Option<&'a mut W>,
    writer: Option<StreamWriter<&'a mut W>>,
}

impl<'a, W: Write + Seek> OneStream<'a, W> {
    pub(crate) fn new(out: &'a mut W) -> Self {
        Self {
            out: Some(out),
            writer: None,
        }
    }

    fn writer(&mut self) -> io::Result<&mut StreamWriter<&'a mut W>> {
        self.writer
            .as_mut()
            .ok_or_else(|| io::Error::other("a stream written before it began"))
    }
}

impl<W: Write + Seek> Sink for OneStream<'_, W> {
    fn stream_chunks(&self) -> u64 {
        u64::MAX
    }

    fn begin(&mut self, fingerprint: u64, chunk_size: u32, coding: Coding) -> io::Result<()> {
        let out = self
            .out
            .take()
            .ok_or_else(|| io::Error::other("a stream begun twice"))?;
        self.writer = Some(StreamWriter::with_coding(
            out,
            fingerprint,
            chunk_size,
            coding,
        )?);
        Ok(())
    }

    fn chunk(&mut self, chunk: &[u8], code: Option<&[u8]>) -> io::Result<Method> {
        self.writer()?.write_chunk(chunk, code)
    }

    fn end_batch(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<Summary> {
        self.writer
            .take()
            .ok_or_else(|| io::Error::other("a stream finished before it began"))?
            .finish()
    }
}

/// One stream per [`MEMBER_BYTES`] of input or [`MEMBER_CHUNKS`] chunks,
/// each written whole when its
/// last chunk is in.
pub(crate) struct Members<'a, W: Write> {
    out: &'a mut W,
    /// Fingerprint, chunk size and coding of every member.
    shape: Option<(u64, u32, Coding)>,
    /// The member being written (its records are in memory until the
    /// batch ends: about one batch of compressed data).
    current: Option<StreamWriter<Cursor<Vec<u8>>>>,
    /// Chunks in `current`.
    in_current: u64,
    crc: Crc32,
    len: u64,
    written: u64,
    coded: u64,
    stored: u64,
    members: u64,
}

impl<'a, W: Write> Members<'a, W> {
    pub(crate) fn new(out: &'a mut W) -> Self {
        Self {
            out,
            shape: None,
            current: None,
            in_current: 0,
            crc: Crc32::new(),
            len: 0,
            written: 0,
            coded: 0,
            stored: 0,
            members: 0,
        }
    }

    fn shape(&self) -> io::Result<(u64, u32, Coding)> {
        self.shape
            .ok_or_else(|| io::Error::other("a stream written before it began"))
    }

    /// Writes the member being built, if any.
    fn flush_member(&mut self) -> io::Result<()> {
        let Some(w) = self.current.take() else {
            return Ok(());
        };
        let (summary, bytes) = w.finish_into_inner()?;
        self.out.write_all(bytes.get_ref())?;
        self.out.flush()?;
        self.written += summary.compressed_len;
        self.members += 1;
        self.in_current = 0;
        Ok(())
    }
}

impl<W: Write> Sink for Members<'_, W> {
    fn stream_chunks(&self) -> u64 {
        let chunk = self.shape.map_or(1, |(_, cs, _)| u64::from(cs.max(1)));
        (MEMBER_BYTES / chunk).max(MEMBER_CHUNKS)
    }

    fn begin(&mut self, fingerprint: u64, chunk_size: u32, coding: Coding) -> io::Result<()> {
        // Checked now, as a single stream's writer would.
        Header::new(fingerprint, chunk_size, 0, 0)?.with_coding(coding)?;
        self.shape = Some((fingerprint, chunk_size, coding));
        Ok(())
    }

    fn chunk(&mut self, chunk: &[u8], code: Option<&[u8]>) -> io::Result<Method> {
        let (fingerprint, chunk_size, coding) = self.shape()?;
        // Each member sees the media region from where its data starts
        // (as `compress_into` codes its chunks).
        let coding = Coding {
            region: coding.region.and_then(|r| r.for_stream_at(self.len)),
            ..coding
        };
        let w = match self.current.take() {
            Some(w) => w,
            None => {
                StreamWriter::with_coding(Cursor::new(Vec::new()), fingerprint, chunk_size, coding)?
            }
        };
        let method = self.current.insert(w).write_chunk(chunk, code)?;
        self.crc.update(chunk);
        self.len += chunk.len() as u64;
        match method {
            Method::Coded => self.coded += 1,
            Method::Stored => self.stored += 1,
        }
        self.in_current += 1;
        if self.in_current == self.stream_chunks() {
            self.flush_member()?;
        }
        Ok(method)
    }

    fn end_batch(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<Summary> {
        let (fingerprint, chunk_size, coding) = self.shape()?;
        self.flush_member()?;
        if self.members == 0 {
            // An empty input is one empty stream, as on a file.
            self.current = Some(StreamWriter::with_coding(
                Cursor::new(Vec::new()),
                fingerprint,
                chunk_size,
                coding,
            )?);
            self.flush_member()?;
        }
        // The header of all the data: what `decompress_with` reports for
        // concatenated streams.
        let header = Header::new(fingerprint, chunk_size, self.len, self.crc.finish())?
            .with_coding(coding)?;
        Ok(Summary {
            header,
            compressed_len: self.written,
            coded: self.coded,
            stored: self.stored,
        })
    }
}
