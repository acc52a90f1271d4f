//! The model file: a versioned little-endian container of int8 tensors and
//! the integer constants of the quantized model (layout in the crate docs).
//! The reader is `no_std` and zero-copy; it validates the whole file.

use crate::{Config, Error};

/// Magic bytes at the start of every model file.
pub const MAGIC: [u8; 4] = *b"LMI8";
/// The format version this crate reads and writes.
pub const VERSION: u32 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 64;
/// Size of one tensor table entry in bytes.
pub const ENTRY_LEN: usize = 24;
/// Every tensor starts at a file offset that is a multiple of this.
pub const ALIGN: usize = 32;
/// Bytes of the trailing checksum.
pub const CHECKSUM_LEN: usize = 8;
/// Fractional bits of the base-2 log domain of scores and logits; the exp
/// table has `2^EXP_BITS` entries.
pub const EXP_BITS: u32 = 8;
/// Fractional bits of the stored `RoPE` cosines and sines.
pub const ROPE_BITS: u32 = 14;
/// Tensors before the first layer.
pub const GLOBAL_TENSORS: usize = 4;
/// Tensors per layer.
pub const LAYER_TENSORS: usize = 16;
/// Tensors after the last layer.
pub const FINAL_TENSORS: usize = 3;

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u32)]
pub enum DType {
    /// `i8`.
    I8 = 1,
    /// `i16`, little-endian.
    I16 = 2,
    /// `i32`, little-endian.
    I32 = 3,
    /// `u32`, little-endian.
    U32 = 4,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 => 2,
            DType::I32 | DType::U32 => 4,
        }
    }
}

/// Index of each tensor within a layer's group of [`LAYER_TENSORS`].
#[allow(missing_docs)]
pub mod slot {
    pub const ATTN_NORM: usize = 0;
    pub const WQ: usize = 1;
    pub const WQ_RQ: usize = 2;
    pub const WK: usize = 3;
    pub const WK_RQ: usize = 4;
    pub const WV: usize = 5;
    pub const WV_RQ: usize = 6;
    pub const WO: usize = 7;
    pub const WO_RQ: usize = 8;
    pub const FFN_NORM: usize = 9;
    pub const W1: usize = 10;
    pub const W1_RQ: usize = 11;
    pub const W2: usize = 12;
    pub const W2_RQ: usize = 13;
    pub const ACT_LUT: usize = 14;
    pub const CONSTS: usize = 15;
}

/// Global tensor indices.
#[allow(missing_docs)]
pub mod global {
    pub const EXP: usize = 0;
    pub const EMBED: usize = 1;
    pub const EMBED_RQ: usize = 2;
    pub const ROPE: usize = 3;
}

/// Number of tensors of a model with `n_layers` layers.
pub const fn tensor_count(config: &Config) -> usize {
    GLOBAL_TENSORS + LAYER_TENSORS * config.n_layers as usize + FINAL_TENSORS
}

/// Index of tensor `slot` of layer `layer`.
pub const fn layer_tensor(layer: usize, slot: usize) -> usize {
    GLOBAL_TENSORS + LAYER_TENSORS * layer + slot
}

/// Index of the final norm constants; `+ 1` is the head, `+ 2` its
/// requantization table.
pub const fn final_tensor(config: &Config) -> usize {
    GLOBAL_TENSORS + LAYER_TENSORS * config.n_layers as usize
}

/// The type and `[rows][cols]` shape tensor `index` must have.
pub const fn tensor_spec(c: &Config, index: usize) -> (DType, usize, usize) {
    let d = c.d_model as usize;
    let f = c.d_ff as usize;
    let v = c.vocab as usize;
    if index < GLOBAL_TENSORS {
        return match index {
            global::EXP => (DType::U32, 1, 1 << EXP_BITS),
            global::EMBED => (DType::I8, v + 1, d),
            global::EMBED_RQ => (DType::I32, v + 1, 2),
            _ => (DType::I16, c.max_context as usize, c.head_dim() as usize),
        };
    }
    let fin = final_tensor(c);
    if index >= fin {
        return match index - fin {
            0 => (DType::I32, 1, d + 1),
            1 => (DType::I8, v, d),
            _ => (DType::I32, v, 3),
        };
    }
    match (index - GLOBAL_TENSORS) % LAYER_TENSORS {
        slot::ATTN_NORM | slot::FFN_NORM => (DType::I32, 1, d + 1),
        slot::WQ | slot::WK | slot::WV | slot::WO => (DType::I8, d, d),
        slot::WQ_RQ | slot::WK_RQ | slot::WV_RQ | slot::WO_RQ | slot::W2_RQ => (DType::I32, d, 3),
        slot::W1 => (DType::I8, f, d),
        slot::W1_RQ => (DType::I32, f, 3),
        slot::W2 => (DType::I8, d, f),
        slot::ACT_LUT => (DType::I8, 1, 256),
        _ => (DType::I32, 1, 4),
    }
}

/// Bytes of the file that holds a model of `config`, as [`write_file`]
/// lays it out: the header, the tensor table, every tensor at the next
/// [`ALIGN`]ed offset, and the checksum. No model file of that
/// configuration is larger.
pub const fn file_len(config: &Config) -> u64 {
    let n = tensor_count(config);
    let mut end = align_up(HEADER_LEN + n * ENTRY_LEN) as u64;
    let mut i = 0;
    while i < n {
        let (dtype, rows, cols) = tensor_spec(config, i);
        end = (align_up(end as usize) + rows * cols * dtype.size()) as u64;
        i += 1;
    }
    end + CHECKSUM_LEN as u64
}

/// The length a model file declares in its header, once the header's
/// magic, version and configuration are checked and the length is at most
/// [`file_len`] of that configuration: what a reader checks before
/// reading the rest of a file (`lmc` refuses `--model /dev/zero` so).
/// `header` is the file's first [`HEADER_LEN`] bytes (or all of a shorter
/// file).
pub fn declared_len(header: &[u8]) -> Result<u64, Error> {
    if header.len() >= 4 && header[..4] != MAGIC {
        return Err(Error::BadMagic);
    }
    if header.len() < HEADER_LEN {
        return Err(Error::Truncated);
    }
    let version = rd_u32(header, 4);
    if version != VERSION {
        return Err(Error::UnsupportedVersion(version));
    }
    let len = u64::from(rd_u32(header, 8)) | u64::from(rd_u32(header, 12)) << 32;
    let mut words = [0u32; Config::WORDS];
    for (i, w) in words.iter_mut().take(8).enumerate() {
        *w = rd_u32(header, 16 + 4 * i);
    }
    words[8] = u32::from(header[48]);
    words[9] = u32::from(header[49]);
    let config = Config::from_words(words)?;
    config.validate()?;
    if len > file_len(&config) {
        return Err(Error::BadLength);
    }
    Ok(len)
}

/// The file checksum and fingerprint: coder-core's FNV-1a 64.
pub use coder_core::{fnv1a64, fnv1a64_update, FNV_OFFSET};

/// The golden-test hash: resets `model`, then for each symbol of `input`
/// hashes (FNV-1a 64) the little-endian `u32` cumulative counts of the
/// model's table and observes the symbol. Equal hashes on two machines mean
/// identical tables at every step. No allocation (firmware uses it too).
pub fn table_hash<M: coder_core::Model + ?Sized>(model: &mut M, input: &[u8]) -> u64 {
    model.reset();
    let mut h = FNV_OFFSET;
    for &b in input {
        for c in model.frequencies().cumulative() {
            h = fnv1a64_update(h, &c.to_le_bytes());
        }
        model.observe(b as usize);
    }
    h
}

#[inline(always)]
pub(crate) fn rd_u32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[x0, x1, x2, x3]) => u32::from_le_bytes([x0, x1, x2, x3]),
        _ => 0,
    }
}

#[inline(always)]
pub(crate) fn rd_i32(b: &[u8], at: usize) -> i32 {
    rd_u32(b, at) as i32
}

/// A little-endian `i32` tensor read in place (any alignment).
#[derive(Clone, Copy, Debug)]
pub struct I32s<'a>(pub &'a [u8]);

impl I32s<'_> {
    /// Element `i` (0 when `i >= len()`).
    #[inline(always)]
    pub fn get(&self, i: usize) -> i32 {
        rd_i32(self.0, 4 * i)
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// No elements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A parsed, fully validated model file borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct ModelFile<'a> {
    bytes: &'a [u8],
    config: Config,
    precision: u32,
    fingerprint: u64,
}

impl<'a> ModelFile<'a> {
    /// Parses and validates `bytes`: magic, version, length, checksum,
    /// configuration, every tensor's type, shape and placement, and every
    /// stored constant's range. Never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(if bytes.len() >= 4 && bytes[..4] != MAGIC {
                Error::BadMagic
            } else {
                Error::Truncated
            });
        }
        if bytes[..4] != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = rd_u32(bytes, 4);
        if version != VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let len = u64::from(rd_u32(bytes, 8)) | u64::from(rd_u32(bytes, 12)) << 32;
        if len > bytes.len() as u64 {
            return Err(Error::Truncated);
        }
        if len != bytes.len() as u64 {
            return Err(Error::BadLength);
        }
        let body = bytes.len() - CHECKSUM_LEN;
        let sum = u64::from(rd_u32(bytes, body)) | u64::from(rd_u32(bytes, body + 4)) << 32;
        if fnv1a64(&bytes[..body]) != sum {
            return Err(Error::ChecksumMismatch);
        }
        let mut words = [0u32; Config::WORDS];
        for (i, w) in words.iter_mut().take(8).enumerate() {
            *w = rd_u32(bytes, 16 + 4 * i);
        }
        // The two enum codes are single bytes in this header.
        words[8] = u32::from(bytes[48]);
        words[9] = u32::from(bytes[49]);
        let config = Config::from_words(words)?;
        config.validate()?;
        let precision = u32::from(bytes[50]);
        if precision == 0
            || precision > coder_core::MAX_PRECISION
            || u64::from(config.vocab) >= 1u64 << precision
            || bytes[51] != 0
        {
            return Err(Error::BadConfig);
        }
        let n = rd_u32(bytes, 52) as usize;
        if n != tensor_count(&config) {
            return Err(Error::BadTensorCount);
        }
        if rd_u32(bytes, 56) as usize != HEADER_LEN {
            return Err(Error::BadTensorCount);
        }
        let table_end = HEADER_LEN + n * ENTRY_LEN;
        if table_end > body {
            return Err(Error::Truncated);
        }
        let data_start = rd_u32(bytes, 60) as usize;
        if data_start != align_up(table_end) {
            return Err(Error::BadTensorCount);
        }
        let file = ModelFile {
            bytes,
            config,
            precision,
            fingerprint: sum,
        };
        let mut end = data_start;
        for i in 0..n {
            let e = HEADER_LEN + i * ENTRY_LEN;
            let (dtype, rows, cols) = tensor_spec(&config, i);
            let idx = i as u16;
            if rd_u32(bytes, e) != dtype as u32
                || rd_u32(bytes, e + 4) as usize != rows
                || rd_u32(bytes, e + 8) as usize != cols
                || rd_u32(bytes, e + 16) as usize != rows * cols * dtype.size()
                || rd_u32(bytes, e + 20) != 0
            {
                return Err(Error::BadTensorShape(idx));
            }
            let off = rd_u32(bytes, e + 12) as usize;
            let size = rows * cols * dtype.size();
            if !off.is_multiple_of(ALIGN)
                || off < end
                || off.checked_add(size).is_none_or(|x| x > body)
            {
                return Err(Error::BadTensorPlacement(idx));
            }
            end = off + size;
        }
        file.check_constants()?;
        Ok(file)
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Frequency tables sum to `2^precision()`.
    pub fn precision(&self) -> u32 {
        self.precision
    }

    /// Identifies the model: the file's 64-bit FNV-1a checksum.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The raw bytes of tensor `index` (`index < tensor_count`, otherwise
    /// empty).
    pub fn tensor(&self, index: usize) -> &'a [u8] {
        if index >= tensor_count(&self.config) {
            return &[];
        }
        let e = HEADER_LEN + index * ENTRY_LEN;
        let off = rd_u32(self.bytes, e + 12) as usize;
        let size = rd_u32(self.bytes, e + 16) as usize;
        self.bytes.get(off..off.saturating_add(size)).unwrap_or(&[])
    }

    /// Tensor `index` as `i8` values.
    pub fn tensor_i8(&self, index: usize) -> &'a [i8] {
        bytemuck::cast_slice(self.tensor(index))
    }

    /// Tensor `index` as little-endian `i32` values.
    pub fn tensor_i32(&self, index: usize) -> I32s<'a> {
        I32s(self.tensor(index))
    }

    fn check_constants(&self) -> Result<(), Error> {
        let c = &self.config;
        let bad = |i: usize| Error::BadConstant(i as u16);
        // Exp table: 2^30 at 0, strictly decreasing, above 2^29.
        let exp = self.tensor_i32(global::EXP);
        if exp.get(0) != 1 << 30 {
            return Err(bad(global::EXP));
        }
        for j in 1..exp.len() {
            let x = exp.get(j);
            if x >= exp.get(j - 1) || x <= 1 << 29 {
                return Err(bad(global::EXP));
            }
        }
        let rq_ok = |t: I32s<'_>, stride: usize| {
            (0..t.len() / stride).all(|r| {
                let m = t.get(r * stride + stride - 2);
                let s = t.get(r * stride + stride - 1);
                m >= 0 && (-31..=30).contains(&s)
            })
        };
        if !rq_ok(self.tensor_i32(global::EMBED_RQ), 2) {
            return Err(bad(global::EMBED_RQ));
        }
        let rope = self.tensor(global::ROPE);
        if rope
            .chunks_exact(2)
            .any(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs() > 1 << ROPE_BITS)
        {
            return Err(bad(global::ROPE));
        }
        // Matrix weights are symmetric int8 (never -128).
        let weights_ok = |i: usize| !self.tensor(i).contains(&0x80);
        let norm_ok = |i: usize| {
            let t = self.tensor_i32(i);
            (0..=1 << 30).contains(&t.get(0))
                && (1..t.len()).all(|j| (1..=1 << 24).contains(&t.get(j)))
        };
        for l in 0..c.n_layers as usize {
            for s in [slot::ATTN_NORM, slot::FFN_NORM] {
                if !norm_ok(layer_tensor(l, s)) {
                    return Err(bad(layer_tensor(l, s)));
                }
            }
            for s in [slot::WQ, slot::WK, slot::WV, slot::WO, slot::W1, slot::W2] {
                if !weights_ok(layer_tensor(l, s)) {
                    return Err(bad(layer_tensor(l, s)));
                }
            }
            for s in [
                slot::WQ_RQ,
                slot::WK_RQ,
                slot::WV_RQ,
                slot::WO_RQ,
                slot::W1_RQ,
                slot::W2_RQ,
            ] {
                if !rq_ok(self.tensor_i32(layer_tensor(l, s)), 3) {
                    return Err(bad(layer_tensor(l, s)));
                }
            }
            let k = self.tensor_i32(layer_tensor(l, slot::CONSTS));
            if !rq_ok(I32s(&self.tensor(layer_tensor(l, slot::CONSTS))[..8]), 2)
                || !(-128..=127).contains(&k.get(2))
                || k.get(3) != 0
            {
                return Err(bad(layer_tensor(l, slot::CONSTS)));
            }
        }
        let fin = final_tensor(c);
        if !norm_ok(fin) {
            return Err(bad(fin));
        }
        if !weights_ok(fin + 1) {
            return Err(bad(fin + 1));
        }
        if !rq_ok(self.tensor_i32(fin + 2), 3) {
            return Err(bad(fin + 2));
        }
        Ok(())
    }
}

/// Rounds up to a multiple of [`ALIGN`].
pub const fn align_up(x: usize) -> usize {
    x.div_ceil(ALIGN) * ALIGN
}

/// Assembles a model file from its configuration and tensors (in table
/// order, each with its type and shape), adding table, padding and
/// checksum. Does not validate; [`ModelFile::parse`] does.
#[cfg(feature = "std")]
pub fn write_file(
    config: &Config,
    precision: u32,
    tensors: &[(DType, usize, usize, std::vec::Vec<u8>)],
) -> std::vec::Vec<u8> {
    let mut out = std::vec::Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // length, patched below
    let words = config.to_words();
    for x in &words[..8] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    // The two enum codes are single bytes in this header.
    out.push(words[8] as u8);
    out.push(words[9] as u8);
    out.push(precision as u8);
    out.push(0);
    let n = tensors.len();
    let data_start = align_up(HEADER_LEN + n * ENTRY_LEN);
    for x in [n as u32, HEADER_LEN as u32, data_start as u32] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    let mut off = data_start;
    for (dtype, rows, cols, data) in tensors {
        for x in [
            *dtype as u32,
            *rows as u32,
            *cols as u32,
            off as u32,
            data.len() as u32,
            0,
        ] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        off = align_up(off + data.len());
    }
    for (_, _, _, data) in tensors {
        out.resize(align_up(out.len()), 0);
        out.extend_from_slice(data);
    }
    let total = out.len() + CHECKSUM_LEN;
    out[8..16].copy_from_slice(&(total as u64).to_le_bytes());
    let sum = fnv1a64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}
