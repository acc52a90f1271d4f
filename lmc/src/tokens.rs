//! Token-level models (the paper's Table 2): an int8 model over the
//! vocabulary of a byte-level BPE tokenizer (`tokenize`), coded in the
//! container's [`Mode::Tokens`].
//!
//! The tokenizer file ships beside its model (`NAME.tokenizer.json` next
//! to `NAME.lmm`, [`tokenizer_beside`]). Each chunk is tokenized on its own
//! and its tokens coded from a reset model (`tokenize::encode_chunk`); the
//! header's fingerprint is [`tokenize::fingerprint`] of the model file and
//! the tokenizer file, so a stream is refused by any other pair before
//! decoding.
//!
//! ```
//! use std::io::Cursor;
//! use lmc::tokens::{compress_tokens, decompress_tokens, TokenSource};
//!
//! let text = b"the cat sat on the mat, the cat sat on the hat. ".repeat(30);
//! let bpe = tokenize::Bpe::train(&[&text[..]], 300).unwrap();
//! let model = lmc::tokens::tiny_random_token_model(bpe.vocab() as u32, 1).unwrap();
//! let src = TokenSource::new(lmc::Int8Source::new(&model).unwrap(), bpe).unwrap();
//! let mut packed = Cursor::new(Vec::new());
//! let s = compress_tokens(&src, &text[..], &mut packed, 256, |_| {}).unwrap();
//! assert_eq!(s.header.coding.mode, coder_core::container::Mode::Tokens);
//! let mut back = Vec::new();
//! decompress_tokens(&src, &packed.get_ref()[..], &mut back, |_| {}).unwrap();
//! assert_eq!(back, text);
//! ```

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use coder_core::container::{Coding, Header, Method, Mode, StreamReader};
use coder_core::{Crc32, Meter};
use model_int8::{working_memory_size, Int8Model};
use rayon::prelude::*;
use tokenize::{Bpe, Tokenized};

use crate::sink::{Members, OneStream, Sink};
use crate::{Error, Int8Source, Summary};

/// The container coding of token streams.
pub const TOKENS: Coding = Coding {
    mode: Mode::Tokens,
    preset: 0,
    chained: false,
    region: None,
};

/// Chunks coded per parallel batch.
const BATCH_CHUNKS: usize = 64;

/// Where a model's tokenizer file is: `NAME.tokenizer.json` beside
/// `NAME.lmm` (or beside whatever the model file is called).
pub fn tokenizer_beside(model: &Path) -> PathBuf {
    let mut name = model.file_stem().unwrap_or_default().to_owned();
    name.push(".tokenizer.json");
    model.with_file_name(name)
}

/// The largest tokenizer file read: a vocabulary of
/// [`tokenize::MAX_VOCAB`] tokens and its merges in JSON take a few MB;
/// anything far larger is not a tokenizer.
pub const MAX_TOKENIZER_LEN: u64 = 64 << 20;

/// Reads a tokenizer file (a regular file of at most
/// [`MAX_TOKENIZER_LEN`] bytes), naming it in the error.
pub fn load_tokenizer(path: &Path) -> Result<Bpe, Error> {
    let bytes = crate::models::read_bounded(path, |_| Ok(MAX_TOKENIZER_LEN))?;
    let message = |e: &dyn std::fmt::Display| Error::Tokenizer {
        path: Some(path.to_path_buf()),
        message: e.to_string(),
    };
    let json = std::str::from_utf8(&bytes).map_err(|e| message(&e))?;
    Bpe::from_json(json).map_err(|e| message(&e))
}

fn tok_err(e: tokenize::Error) -> Error {
    match e {
        tokenize::Error::Coder(c) => Error::Coder(c),
        e => Error::Tokenizer {
            path: None,
            message: e.to_string(),
        },
    }
}

/// A token-level int8 model and its tokenizer.
pub struct TokenSource<'a> {
    model: Int8Source<'a>,
    bpe: Bpe,
}

impl<'a> TokenSource<'a> {
    /// Pairs a model with its tokenizer: the model must predict exactly
    /// the tokenizer's vocabulary.
    pub fn new(model: Int8Source<'a>, bpe: Bpe) -> Result<Self, Error> {
        let v = model.config().vocab as usize;
        if v != bpe.vocab() {
            return Err(Error::Tokenizer {
                path: None,
                message: format!(
                    "it has {} tokens but the model predicts {v} symbols: not this model's tokenizer",
                    bpe.vocab()
                ),
            });
        }
        Ok(Self { model, bpe })
    }

    /// The tokenizer.
    pub fn bpe(&self) -> &Bpe {
        &self.bpe
    }

    /// The int8 model.
    pub fn model(&self) -> &Int8Source<'a> {
        &self.model
    }

    /// The fingerprint of the pair, as a stream's header records it.
    pub fn fingerprint(&self) -> u64 {
        tokenize::fingerprint(self.model.file().fingerprint(), self.bpe.hash())
    }

    /// Runs `f` with a fresh int8 model paired with the tokenizer.
    fn with_model<R>(
        &self,
        f: impl FnOnce(&mut Tokenized<'_, Int8Model<'_>>) -> R,
    ) -> Result<R, Error> {
        let mut work = vec![0u8; working_memory_size(self.model.config())];
        let m = Int8Model::new(self.model.file(), &mut work)?;
        let mut t = Tokenized::new(&self.bpe, m).map_err(tok_err)?;
        Ok(f(&mut t))
    }
}

/// Compresses `input` into a token stream of `chunk_size`-byte chunks,
/// chunks coded in parallel on the current rayon pool. Calls `progress`
/// with the input bytes of every chunk coded. `ideal_bits` is always
/// measured (the log-loss of the token tables).
pub fn compress_tokens<R: Read, W: Write + Seek>(
    src: &TokenSource<'_>,
    input: R,
    out: &mut W,
    chunk_size: u32,
    progress: impl Fn(u64) + Sync,
) -> Result<Summary, Error> {
    compress_tokens_into(src, input, &mut OneStream::new(out), chunk_size, progress)
}

/// [`compress_tokens`] to an output that cannot seek (a pipe): a stream
/// per MiB of input or 8 chunks, as [`crate::compress_to_pipe`] writes.
pub fn compress_tokens_to_pipe<R: Read, W: Write>(
    src: &TokenSource<'_>,
    input: R,
    out: &mut W,
    chunk_size: u32,
    progress: impl Fn(u64) + Sync,
) -> Result<Summary, Error> {
    compress_tokens_into(src, input, &mut Members::new(out), chunk_size, progress)
}

fn compress_tokens_into<R: Read, S: Sink>(
    src: &TokenSource<'_>,
    mut input: R,
    sink: &mut S,
    chunk_size: u32,
    progress: impl Fn(u64) + Sync,
) -> Result<Summary, Error> {
    if !(1..=coder_core::container::MAX_CHUNK_SIZE).contains(&chunk_size) {
        return Err(Error::BadChunkSize(chunk_size));
    }
    sink.begin(src.fingerprint(), chunk_size, TOKENS)?;
    let cs = chunk_size as usize;
    let mut buf = Vec::new();
    let mut bits = 0.0;
    loop {
        buf.clear();
        let n = (&mut input)
            .take((BATCH_CHUNKS * cs) as u64)
            .read_to_end(&mut buf)?;
        if n == 0 {
            break;
        }
        let coded: Vec<Result<(Vec<u8>, f64), Error>> = buf
            .par_chunks(cs)
            .map(|chunk| {
                let r = src.with_model(|m| {
                    let mut meter = Meter::new(m);
                    let (code, _) =
                        tokenize::encode_chunk(src.bpe(), &mut meter, chunk).map_err(tok_err)?;
                    Ok((code, meter.bits()))
                })?;
                progress(chunk.len() as u64);
                r
            })
            .collect();
        for (c, chunk) in coded.into_iter().zip(buf.chunks(cs)) {
            let (code, b) = c?;
            bits += b;
            sink.chunk(chunk, Some(code.as_slice()))?;
        }
        sink.end_batch()?;
        if n < BATCH_CHUNKS * cs {
            break;
        }
    }
    Ok(Summary::of(sink.finish()?, Some(bits)))
}

/// Decompresses the token streams of `input` (one, or several
/// concatenated) into `out` (chunks decoded in parallel), checking the
/// model, the coding and the CRC-32; returns the header.
pub fn decompress_tokens<R: Read, W: Write>(
    src: &TokenSource<'_>,
    input: R,
    out: &mut W,
    progress: impl Fn(u64) + Sync,
) -> Result<Header, Error> {
    crate::stream::decompress_each(input, out, |reader, out| {
        decode_token_stream(src, reader, out, &progress)
    })
}

/// Decodes one token stream (from [`crate::Streams`] or [`crate::open`])
/// into `out`; leaves `reader` after its last record.
pub fn decode_token_stream<R: Read, W: Write + ?Sized>(
    src: &TokenSource<'_>,
    reader: &mut StreamReader<R>,
    out: &mut W,
    progress: &(impl Fn(u64) + Sync),
) -> Result<Header, Error> {
    let header = *reader.header();
    if header.coding != TOKENS {
        return Err(Error::Tokenizer {
            path: None,
            message: "this stream was not coded by a token-level model".into(),
        });
    }
    if header.fingerprint != src.fingerprint() {
        return Err(Error::ModelMismatch {
            stream: header.fingerprint,
            model: src.fingerprint(),
            stream_model: None,
        });
    }
    let chunks = header.chunk_count();
    let mut crc = Crc32::new();
    while reader.index() < chunks {
        let mut batch = Vec::with_capacity(BATCH_CHUNKS);
        while batch.len() < BATCH_CHUNKS && reader.index() < chunks {
            let at = Some((reader.index(), chunks));
            match reader
                .next_record()
                .map_err(|e| Error::from_stream(e, at))?
            {
                Some(r) => batch.push(r),
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        let decoded: Vec<Result<Vec<u8>, Error>> = batch
            .par_iter()
            .map(|r| {
                let bytes = match r.method {
                    Method::Stored => Ok(r.payload.clone()),
                    Method::Coded => src
                        .with_model(|m| tokenize::decode_chunk(src.bpe(), m, &r.payload, r.len))?
                        .map_err(|e| match e {
                            tokenize::Error::Coder(_) | tokenize::Error::Corrupt => {
                                Error::CorruptChunk {
                                    chunk: r.index,
                                    chunks,
                                }
                            }
                            e => tok_err(e),
                        }),
                };
                progress(r.len as u64);
                bytes
            })
            .collect();
        for d in decoded {
            let d = d?;
            crc.update(&d);
            out.write_all(&d)?;
        }
    }
    out.flush()?;
    let actual = crc.finish();
    if actual != header.crc32 {
        return Err(Error::ChecksumMismatch {
            expected: header.crc32,
            actual,
        });
    }
    Ok(header)
}

/// A small random token-level model file (for tests and examples): the
/// 200K-style shape at width 16, `vocab` symbols.
pub fn tiny_random_token_model(vocab: u32, seed: u64) -> Result<Vec<u8>, Error> {
    let c = model_int8::Config {
        vocab,
        ..model_int8::Config::sized(16, 1, 2, 32, 256)
    };
    let fm = model_int8::FloatModel::random(c, seed);
    let calib: Vec<u32> = (0..256).map(|i| i % vocab).collect();
    Ok(model_int8::quantize_tokens(
        &fm,
        &calib,
        &model_int8::QuantOptions::default(),
    )?)
}
