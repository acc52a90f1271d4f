//! The language-model rows: any chunk coder behind [`LmCoder`], measured by
//! real encodes that are decoded back and compared byte for byte.

use indicatif::ProgressBar;
use rayon::prelude::*;

use coder_core::{Encoder, Model};

use crate::accounting::{symbol_bits, LmSizes};
use crate::data::Chunks;
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

/// A model-driven compressor of independent chunks.
pub trait LmCoder: Sync {
    /// Row label in reports.
    fn name(&self) -> String;

    /// The paper's name for the comparable row ("Transformer 200K"), if any.
    fn paper_name(&self) -> Option<&'static str> {
        None
    }

    /// Float parameters of the model (for the paper's 2 bytes/parameter).
    fn parameters(&self) -> u64;

    /// Bytes of the model file a decoder needs.
    fn model_file_bytes(&self) -> u64;

    /// Codes one chunk from an empty context.
    fn encode(&self, chunk: &[u8]) -> Result<CodedChunk, Error>;

    /// Decodes `len` bytes from `code`.
    fn decode(&self, code: &[u8], len: usize) -> Result<Vec<u8>, Error>;

    /// The model fingerprint written in `coder-core` container headers;
    /// `None` when the coder has no container.
    fn fingerprint(&self) -> Option<u64> {
        None
    }
}

/// Codes every chunk in parallel, decodes each back and compares; sums the
/// sizes. With `container` (and a coder that has a fingerprint) it also
/// assembles the `coder-core` container from the verified codes and checks
/// its framing with `coder-core`'s reader.
pub fn measure_lm(
    coder: &dyn LmCoder,
    chunks: &Chunks,
    container: bool,
    progress: &ProgressBar,
) -> Result<LmSizes, Error> {
    let codes: Vec<CodedChunk> = chunks
        .data
        .par_chunks(crate::data::CHUNK)
        .map(|chunk| {
            let coded = coder.encode(chunk)?;
            let back = coder.decode(&coded.bytes, chunk.len())?;
            progress.inc(1);
            if back != chunk {
                return Err(Error::codec(
                    &coder.name(),
                    "decoded chunk differs from the original",
                ));
            }
            Ok(coded)
        })
        .collect::<Result<_, Error>>()?;
    let chunk_len = crate::data::CHUNK as u64;
    let mut s = LmSizes {
        chunks: chunks.len() as u64,
        raw_bytes: chunks.bytes() as u64,
        parameters: coder.parameters(),
        model_file_bytes: coder.model_file_bytes(),
        ..LmSizes::default()
    };
    for c in &codes {
        let len = c.bytes.len() as u64;
        s.coded_sum += len;
        s.ideal_bits += c.ideal_bits;
        s.fallback_sum += len.min(chunk_len);
        s.fallback_chunks += u64::from(len >= chunk_len);
    }
    if let (true, Some(fp)) = (container, coder.fingerprint()) {
        s.container = Some(assemble_container(fp, &chunks.data, &codes)?.len() as u64);
    }
    Ok(s)
}

/// Builds the `coder-core` container (format version 1) of `data` cut into
/// 2048-byte chunks from their verified codes: a chunk whose code is not
/// shorter than the chunk is stored. The result is walked with
/// `coder-core`'s [`ChunkReader`](coder_core::container::ChunkReader) and
/// every record compared with what was put in.
pub fn assemble_container(
    fingerprint: u64,
    data: &[u8],
    codes: &[CodedChunk],
) -> Result<Vec<u8>, Error> {
    use coder_core::container::{ChunkReader, Header, Method, RecordHeader};
    let cerr = |e: coder_core::Error| Error::codec("container", e);
    let header = Header::new(
        fingerprint,
        crate::data::CHUNK as u32,
        data.len() as u64,
        coder_core::crc32(data),
    )
    .map_err(cerr)?;
    let mut out = header.to_bytes().to_vec();
    let mut tag = [0u8; coder_core::container::MAX_RECORD_HEADER_LEN];
    for (chunk, code) in data.chunks(crate::data::CHUNK).zip(codes) {
        let (method, payload) = if code.bytes.len() < chunk.len() {
            (Method::Coded, code.bytes.as_slice())
        } else {
            (Method::Stored, chunk)
        };
        let n = RecordHeader {
            method,
            payload_len: payload.len(),
        }
        .write_to(&mut tag)
        .map_err(cerr)?;
        out.extend_from_slice(&tag[..n]);
        out.extend_from_slice(payload);
    }
    let mut seen = 0;
    for (rec, (chunk, code)) in ChunkReader::new(&out)
        .map_err(cerr)?
        .zip(data.chunks(crate::data::CHUNK).zip(codes))
    {
        let rec = rec.map_err(cerr)?.record;
        let ok = match rec.method {
            Method::Coded => rec.payload == code.bytes.as_slice(),
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

/// Codes `chunk` with `model` from a reset state, exactly as
/// [`coder_core::encode_into`] does, and also sums the ideal code length
/// `-log2(freq / 2^precision)` of the tables used.
pub fn encode_with_ideal<M: Model + ?Sized>(
    model: &mut M,
    chunk: &[u8],
) -> Result<CodedChunk, Error> {
    let mut out = vec![0u8; coder_core::max_encoded_len(chunk.len(), model.precision())];
    model.reset();
    let mut bits = 0.0;
    let n = {
        let mut enc = Encoder::new(&mut out);
        for &b in chunk {
            let s = usize::from(b);
            let t = model.frequencies();
            let f = t.frequency(s).map_or(0, |f| f.get());
            bits += symbol_bits(f, 1 << t.precision());
            enc.encode_symbol(&t, s)
                .map_err(|e| Error::Model(e.to_string()))?;
            model.observe(s);
        }
        enc.finish().map_err(|e| Error::Model(e.to_string()))?
    };
    out.truncate(n);
    Ok(CodedChunk {
        bytes: out,
        ideal_bits: bits,
    })
}

/// An int8 model file driving `coder-core`'s arithmetic coder.
pub struct Int8Coder {
    name: String,
    bytes: Vec<u8>,
    config: model_int8::Config,
    fingerprint: u64,
}

impl Int8Coder {
    /// Wraps the bytes of an int8 model file (checked by parsing it).
    pub fn from_bytes(name: String, bytes: Vec<u8>) -> Result<Self, Error> {
        let file = model_int8::ModelFile::parse(&bytes)
            .map_err(|e| Error::Model(format!("{name}: {e}")))?;
        let config = *file.config();
        let fingerprint = file.fingerprint();
        Ok(Self {
            name,
            bytes,
            config,
            fingerprint,
        })
    }

    /// The model file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The model's configuration.
    pub fn config(&self) -> &model_int8::Config {
        &self.config
    }

    fn with_model<T>(
        &self,
        f: impl FnOnce(&mut model_int8::Int8Model<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let file =
            model_int8::ModelFile::parse(&self.bytes).map_err(|e| Error::Model(e.to_string()))?;
        let mut work = vec![0u8; model_int8::working_memory_size(&self.config)];
        let mut m = model_int8::Int8Model::new(&file, &mut work)
            .map_err(|e| Error::Model(e.to_string()))?;
        f(&mut m)
    }
}

impl LmCoder for Int8Coder {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn paper_name(&self) -> Option<&'static str> {
        let c = &self.config;
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

    fn parameters(&self) -> u64 {
        self.config.parameters()
    }

    fn model_file_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn fingerprint(&self) -> Option<u64> {
        Some(self.fingerprint)
    }

    fn encode(&self, chunk: &[u8]) -> Result<CodedChunk, Error> {
        self.with_model(|m| encode_with_ideal(m, chunk))
    }

    fn decode(&self, code: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        self.with_model(|m| {
            coder_core::decode_to_vec::<_, u8>(m, code, len)
                .map_err(|e| Error::Model(e.to_string()))
        })
    }
}

/// Opens an int8 model file as an LM coder.
pub fn open_model(path: &std::path::Path) -> Result<Box<dyn LmCoder>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let stem = path
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let coder = Int8Coder::from_bytes(path.display().to_string(), bytes)?;
    let p = coder.parameters();
    let size = if p >= 1_000_000 {
        format!("{:.1}M", p as f64 / 1e6)
    } else {
        format!("{}K", (p + 500) / 1000)
    };
    let name = format!("LM {stem} (int8, {size} params)");
    Ok(Box::new(Int8Coder { name, ..coder }))
}
