//! Bits per byte of an int8 model file, measured by really coding the
//! text with `coder-core` and decoding it back.

use coder_core::container::{compress_to_vec, decompress_to_vec};
use coder_core::Meter;
use model_int8::{working_memory_size, Int8Model, ModelFile};
use serde::Serialize;

use crate::error::{Error, Result};

/// Result of coding held-out text with an int8 model.
#[derive(Clone, Debug, Serialize)]
pub struct Int8Eval {
    /// Bytes of text coded.
    pub bytes: usize,
    /// Chunk size (each chunk from an empty context).
    pub chunk: usize,
    /// Log-loss of the integer frequency tables, bits per byte.
    pub log_loss_bpb: f64,
    /// Size of the compressed container stream (headers included).
    pub compressed_bytes: usize,
    /// `8 * compressed_bytes / bytes`.
    pub coded_bpb: f64,
    /// Compressed size over original size.
    pub rate: f64,
    /// The stream decoded back to exactly the input.
    pub round_trip_ok: bool,
}

/// Codes `text` in `chunk`-byte chunks with the int8 model in `file`,
/// decodes it back and compares.
pub fn evaluate(file: &[u8], text: &[u8], chunk: usize) -> Result<Int8Eval> {
    // The file's tensors must be aligned in memory: copy into u64 storage.
    let mut storage = vec![0u64; file.len().div_ceil(8)];
    let aligned: &mut [u8] = bytemuck_bytes(&mut storage, file.len());
    aligned.copy_from_slice(file);
    let aligned: &[u8] = aligned;
    let mf =
        ModelFile::parse(aligned).map_err(|e| Error::Model(format!("bad int8 model file: {e}")))?;
    let mut work = vec![0u64; working_memory_size(mf.config()).div_ceil(8) + 1];
    let work_len = working_memory_size(mf.config());
    let work_bytes = bytemuck_bytes(&mut work, work_len);
    let mut model = Int8Model::new(&mf, work_bytes)
        .map_err(|e| Error::Model(format!("cannot set up the int8 model: {e}")))?;
    let mut meter = Meter::new(&mut model);
    let packed = compress_to_vec(&mut meter, text, chunk)
        .map_err(|e| Error::Model(format!("int8 encoding failed: {e}")))?;
    let log_loss_bpb = meter.bits() / text.len().max(1) as f64;
    let back = decompress_to_vec(&mut model, &packed)
        .map_err(|e| Error::Model(format!("int8 decoding failed: {e}")))?;
    let n = text.len().max(1) as f64;
    Ok(Int8Eval {
        bytes: text.len(),
        chunk,
        log_loss_bpb,
        compressed_bytes: packed.len(),
        coded_bpb: 8.0 * packed.len() as f64 / n,
        rate: packed.len() as f64 / n,
        round_trip_ok: back == text,
    })
}

/// [`evaluate`] for a token-level model: each `chunk`-byte chunk is
/// tokenized on its own by `bpe`, its tokens coded from a reset model
/// (`tokenize::encode_chunk`), decoded back to bytes and compared.
/// `compressed_bytes` is the sum of the coded chunks (no container).
pub fn evaluate_tokens(
    file: &[u8],
    bpe: &tokenize::Bpe,
    text: &[u8],
    chunk: usize,
) -> Result<(Int8Eval, usize)> {
    let mut storage = vec![0u64; file.len().div_ceil(8)];
    let aligned: &mut [u8] = bytemuck_bytes(&mut storage, file.len());
    aligned.copy_from_slice(file);
    let aligned: &[u8] = aligned;
    let mf =
        ModelFile::parse(aligned).map_err(|e| Error::Model(format!("bad int8 model file: {e}")))?;
    let work_len = working_memory_size(mf.config());
    let mut work = vec![0u64; work_len.div_ceil(8) + 1];
    let work_bytes = bytemuck_bytes(&mut work, work_len);
    let mut model = Int8Model::new(&mf, work_bytes)
        .map_err(|e| Error::Model(format!("cannot set up the int8 model: {e}")))?;
    let mut meter = Meter::new(&mut model);
    let (mut coded, mut tokens, mut ok) = (0usize, 0usize, true);
    let err = |e: tokenize::Error| Error::Model(format!("int8 token coding failed: {e}"));
    for c in text.chunks(chunk.max(1)) {
        let (packed, n) = tokenize::encode_chunk(bpe, &mut meter, c).map_err(err)?;
        let back = tokenize::decode_chunk(bpe, meter.get_mut(), &packed, c.len());
        ok &= back.as_deref().ok() == Some(c);
        coded += packed.len();
        tokens += n;
    }
    let log_loss_bpb = meter.bits() / text.len().max(1) as f64;
    let n = text.len().max(1) as f64;
    Ok((
        Int8Eval {
            bytes: text.len(),
            chunk,
            log_loss_bpb,
            compressed_bytes: coded,
            coded_bpb: 8.0 * coded as f64 / n,
            rate: coded as f64 / n,
            round_trip_ok: ok,
        },
        tokens,
    ))
}

/// The first `len` bytes of `words` as a byte slice (8-byte aligned).
fn bytemuck_bytes(words: &mut [u64], len: usize) -> &mut [u8] {
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(words);
    &mut bytes[..len]
}
