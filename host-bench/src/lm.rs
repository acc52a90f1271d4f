//! The language-model rows: an int8 model file driven through `lmc`'s
//! [`ChunkModel`] (one batched model per thread, built once, coding
//! chunks in lockstep), measured by real encodes that are decoded back and
//! compared byte for byte, metered by [`coder_core::Meter`], and framed by
//! `coder-core`'s [`StreamWriter`].

use std::io::Cursor;
use std::path::Path;

use coder_core::container::{Coding, Method, StreamReader, StreamWriter};
use lmc::{with_workers, ChunkModel, Int8Source};
use rayon::prelude::*;

use crate::accounting::LmSizes;
use crate::data::{Chunks, CHUNK};
use crate::Error;

/// One chunk coded from an empty context.
#[derive(Clone, Debug)]
pub struct CodedChunk {
    /// The arithmetic code (no framing).
    pub bytes: Vec<u8>,
    /// `Σ -log2(freq / total)` over the chunk's symbols under the integer
    /// tables the coder used, bits.
    pub ideal_bits: f64,
}

/// An int8 model file as a Table 1 row: weights borrowed from the file's
/// bytes, parsed and checksummed once.
#[derive(Clone, Debug)]
pub struct LmModel<'a> {
    name: String,
    source: Int8Source<'a>,
    file_bytes: u64,
}

impl<'a> LmModel<'a> {
    /// The model in `bytes`, labelled `name`.
    pub fn new(name: String, bytes: &'a [u8]) -> Result<Self, Error> {
        let source = Int8Source::new(bytes).map_err(|e| Error::Model(format!("{name}: {e}")))?;
        Ok(Self {
            name,
            source,
            file_bytes: bytes.len() as u64,
        })
    }

    /// The model in `bytes`, read from `path`, labelled with the file's
    /// stem and size ("LM lm-200k (int8, 200K params)").
    pub fn from_file(path: &Path, bytes: &'a [u8]) -> Result<Self, Error> {
        let lm = Self::new(path.display().to_string(), bytes)?;
        let stem = path
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        let p = lm.parameters();
        let size = if p >= 1_000_000 {
            format!("{:.1}M", p as f64 / 1e6)
        } else {
            format!("{}K", (p + 500) / 1000)
        };
        Ok(Self {
            name: format!("LM {stem} (int8, {size} params)"),
            ..lm
        })
    }

    /// Row label in reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The paper's name for the comparable row ("Transformer 200K"), if any.
    pub fn paper_name(&self) -> Option<&'static str> {
        let c = self.source.config();
        if c.vocab != 256 || c.n_layers != 4 {
            return None;
        }
        match c.d_model {
            64 => Some("Transformer 200K"),
            128 => Some("Transformer 800K"),
            256 => Some("Transformer 3.2M"),
            _ => None,
        }
    }

    /// Float parameters of the model (for the paper's 2 bytes/parameter).
    pub fn parameters(&self) -> u64 {
        self.source.config().parameters()
    }

    /// Bytes of the model file a decoder needs.
    pub fn model_file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// The model, for coding.
    pub fn source(&self) -> &Int8Source<'a> {
        &self.source
    }
}

/// Reads a model file (checked when it becomes an [`LmModel`]).
pub fn read_model(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Codes every chunk in parallel (one model per thread), decodes each back
/// and compares; sums the sizes and the log-loss. With `container` it also
/// writes the `coder-core` container from the verified codes and reads it
/// back. Calls `progress` with 1 for every chunk done.
pub fn measure_lm(
    lm: &LmModel<'_>,
    chunks: &Chunks,
    container: bool,
    progress: impl Fn(u64) + Sync,
) -> Result<LmSizes, Error> {
    let codes = code_chunks(lm.source(), chunks, progress)?;
    let chunk_len = CHUNK as u64;
    let mut s = LmSizes {
        chunks: chunks.len() as u64,
        raw_bytes: chunks.bytes() as u64,
        parameters: lm.parameters(),
        model_file_bytes: lm.model_file_bytes(),
        ..LmSizes::default()
    };
    for c in &codes {
        let len = c.bytes.len() as u64;
        s.coded_sum += len;
        s.add_ideal_bits(c.ideal_bits);
        s.fallback_sum += len.min(chunk_len);
        s.fallback_chunks += u64::from(len >= chunk_len);
    }
    if container {
        let fp = lm.source().fingerprint();
        s.container = Some(assemble_container(fp, &chunks.data, &codes)?.len() as u64);
    }
    Ok(s)
}

/// Every chunk of `chunks` coded (metered) and decoded back, in parallel:
/// each thread codes a group of chunks in lockstep with its batched model
/// (`lmc`'s [`Worker`](lmc::coding::Worker), the Transformer alone), the
/// same bytes as one chunk at a time.
pub fn code_chunks<M: ChunkModel>(
    model: &M,
    chunks: &Chunks,
    progress: impl Fn(u64) + Sync,
) -> Result<Vec<CodedChunk>, Error> {
    let codec = |e: lmc::Error| Error::codec("LM", e);
    let coding = Coding::MODEL;
    let count = chunks.len() as u64;
    with_workers(Some(model), coding, CHUNK as u32, count, |workers| {
        let group = workers.group(chunks.len()) * CHUNK;
        let groups: Vec<Vec<CodedChunk>> = chunks
            .data
            .par_chunks(group)
            .map(|data| {
                let chunks: Vec<&[u8]> = data.chunks(CHUNK).collect();
                let empty = vec![&[][..]; chunks.len()];
                let coded = workers.run(|w| -> Result<Vec<CodedChunk>, Error> {
                    let (coded, _) = w
                        .encode(coding, &chunks, &[], &empty, true, &|_| {})
                        .map_err(codec)?;
                    let codes: Vec<CodedChunk> = coded
                        .into_iter()
                        .map(|c| CodedChunk {
                            bytes: c.code.unwrap_or_default(),
                            ideal_bits: c.bits,
                        })
                        .collect();
                    let payloads: Vec<&[u8]> = codes.iter().map(|c| &c.bytes[..]).collect();
                    let mut back: Vec<Vec<u8>> = chunks.iter().map(|c| vec![0; c.len()]).collect();
                    let (decoded, _) = w
                        .decode(coding, &payloads, &[], &empty, &mut back, &|_| {})
                        .map_err(codec)?;
                    for ((r, back), chunk) in decoded.into_iter().zip(&back).zip(&chunks) {
                        r.map_err(|e| Error::codec("LM", e))?;
                        if back != chunk {
                            return Err(Error::codec(
                                "LM",
                                "decoded chunk differs from the original",
                            ));
                        }
                    }
                    Ok(codes)
                })?;
                progress(chunks.len() as u64);
                Ok(coded)
            })
            .collect::<Result<_, Error>>()?;
        Ok(groups.into_iter().flatten().collect())
    })?
}

/// Writes the `coder-core` container (format version 1) of `data` cut into
/// 2048-byte chunks from their verified codes with `coder-core`'s
/// [`StreamWriter`] (which stores a chunk whose code is not shorter), then
/// reads it back with [`StreamReader`] and compares every record with what
/// was put in.
pub fn assemble_container(
    fingerprint: u64,
    data: &[u8],
    codes: &[CodedChunk],
) -> Result<Vec<u8>, Error> {
    let cerr = |e: std::io::Error| Error::codec("container", e);
    let mut out = Cursor::new(Vec::new());
    let mut w = StreamWriter::new(&mut out, fingerprint, CHUNK as u32).map_err(cerr)?;
    for (chunk, code) in data.chunks(CHUNK).zip(codes) {
        w.write_chunk(chunk, Some(&code.bytes)).map_err(cerr)?;
    }
    w.finish().map_err(cerr)?;
    let out = out.into_inner();
    let mut seen = 0;
    let reader = StreamReader::new(&out[..]).map_err(cerr)?;
    for (rec, (chunk, code)) in reader.zip(data.chunks(CHUNK).zip(codes)) {
        let rec = rec.map_err(cerr)?;
        let ok = match rec.method {
            Method::Coded => rec.payload == code.bytes,
            Method::Stored => rec.payload == chunk,
        };
        if !ok {
            return Err(Error::codec("container", "record differs from its chunk"));
        }
        seen += 1;
    }
    if seen != codes.len() {
        return Err(Error::codec("container", "record count differs"));
    }
    Ok(out)
}
