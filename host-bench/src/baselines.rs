//! Classical compressors, each with its matching decoder.
//!
//! Settings follow the paper's reference code (`compressors/compressor.py`,
//! `png.py`, `flac.py` in google-deepmind/language_modeling_is_compression):
//!
//! - gzip: `gzip.compress(data, compresslevel=9)`; here flate2 level 9 in a
//!   gzip wrapper (10-byte header, 8-byte trailer, like Python's). flate2's
//!   default deflate (miniz_oxide) is not byte-identical to zlib's.
//! - LZMA2: `lzma.compress(data)` is the xz format, preset 6, CRC-64 check;
//!   here liblzma with the same settings, plus preset 9 extreme (`xz -9e`).
//! - PNG: the bytes are reshaped to the "two closest factors" image
//!   (`a = round(sqrt(n))`, decreased until it divides `n`; PIL size `(a,
//!   n / a)`, i.e. `a` columns and `n / a` rows: 32 columns x 64 rows for
//!   2048 bytes), 8-bit grayscale, saved with `optimize=True` (zlib level
//!   9); here the png crate with `Compression::Best` and adaptive filters.
//! - FLAC: the reference hands the bytes to ffmpeg as unsigned 8-bit mono at
//!   16 kHz (`compression_level 12`); ffmpeg's FLAC encoder widens them to
//!   16 bits (`(x - 128) << 8`) and its wasted-bits detection removes the 8
//!   zero bits again, so we encode the same signal directly as signed 8-bit
//!   samples `x - 128` with flacenc at its strongest settings, and decode it
//!   with claxon.
//! - zstd level 19 without and with a dictionary (trained on the training
//!   range; its size counts like model parameters), brotli quality 11,
//!   window 22 (its built-in dictionary is part of every brotli decoder).

use std::io::{Read, Write};
use std::sync::Arc;

use crate::Error;

/// A lossless byte compressor with its decoder.
pub trait Compressor: Sync + Send {
    /// Row label in reports.
    fn name(&self) -> String;

    /// Compresses `data` on its own.
    fn compress(&self, data: &[u8]) -> Result<Vec<u8>, Error>;

    /// Decompresses what [`compress`](Compressor::compress) made from
    /// `len` bytes.
    fn decompress(&self, data: &[u8], len: usize) -> Result<Vec<u8>, Error>;

    /// Bytes the decoder needs besides the stream and a standard library
    /// (a trained dictionary); counted like model parameters.
    fn side_bytes(&self) -> u64 {
        0
    }

    /// Compresses, decompresses and checks the round trip; returns the
    /// compressed bytes.
    fn compress_checked(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let c = self.compress(data)?;
        let d = self.decompress(&c, data.len())?;
        if d != data {
            return Err(Error::codec(
                &self.name(),
                format!(
                    "round trip failed ({} bytes in, {} bytes back)",
                    data.len(),
                    d.len()
                ),
            ));
        }
        Ok(c)
    }
}

/// gzip (deflate in the gzip wrapper) at a given level.
#[derive(Clone, Debug)]
pub struct Gzip {
    /// 0..=9.
    pub level: u32,
}

impl Default for Gzip {
    fn default() -> Self {
        Self { level: 9 }
    }
}

impl Compressor for Gzip {
    fn name(&self) -> String {
        format!("gzip -{}", self.level)
    }

    fn compress(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(self.level));
        e.write_all(data)
            .and_then(|_| e.finish())
            .map_err(|err| Error::codec(&self.name(), err))
    }

    fn decompress(&self, data: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(len);
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|err| Error::codec(&self.name(), err))?;
        Ok(out)
    }
}

/// LZMA2 in the xz container with a CRC-64 check (Python's `lzma.compress`).
#[derive(Clone, Debug)]
pub struct Xz {
    /// 0..=9.
    pub preset: u32,
    /// The `-e` flag.
    pub extreme: bool,
}

impl Xz {
    /// Python's `lzma.compress` default: preset 6, the paper's setting.
    pub fn paper() -> Self {
        Self {
            preset: 6,
            extreme: false,
        }
    }

    /// `xz -9e`.
    pub fn best() -> Self {
        Self {
            preset: 9,
            extreme: true,
        }
    }
}

impl Compressor for Xz {
    fn name(&self) -> String {
        format!(
            "LZMA2 (xz -{}{})",
            self.preset,
            if self.extreme { "e" } else { "" }
        )
    }

    fn compress(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let preset = self.preset
            | if self.extreme {
                liblzma::stream::PRESET_EXTREME
            } else {
                0
            };
        let stream =
            liblzma::stream::Stream::new_easy_encoder(preset, liblzma::stream::Check::Crc64)
                .map_err(|e| Error::codec(&self.name(), e))?;
        let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        e.write_all(data)
            .and_then(|_| e.finish())
            .map_err(|err| Error::codec(&self.name(), err))
    }

    fn decompress(&self, data: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(len);
        liblzma::read::XzDecoder::new(data)
            .read_to_end(&mut out)
            .map_err(|err| Error::codec(&self.name(), err))?;
        Ok(out)
    }
}

/// The reference's image shape for `n` bytes: `(columns, rows)`, the two
/// closest factors with the smaller one first (`a = round(sqrt(n))`,
/// decreased until it divides `n`).
pub fn closest_factors(n: usize) -> (usize, usize) {
    if n == 0 {
        return (0, 0);
    }
    let mut a = (n as f64).sqrt().round() as usize;
    while !n.is_multiple_of(a) {
        a -= 1;
    }
    (a, n / a)
}

/// PNG, 8-bit grayscale, best compression, adaptive filters.
#[derive(Clone, Debug, Default)]
pub struct Png;

impl Compressor for Png {
    fn name(&self) -> String {
        "PNG".into()
    }

    fn compress(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let (w, h) = closest_factors(data.len());
        if data.is_empty() || h > u32::MAX as usize {
            return Err(Error::codec("PNG", "cannot make an image of this length"));
        }
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut wr = enc.write_header().map_err(|e| Error::codec("PNG", e))?;
        wr.write_image_data(data)
            .map_err(|e| Error::codec("PNG", e))?;
        wr.finish().map_err(|e| Error::codec("PNG", e))?;
        Ok(out)
    }

    fn decompress(&self, data: &[u8], _len: usize) -> Result<Vec<u8>, Error> {
        let dec = png::Decoder::new(data);
        let mut reader = dec.read_info().map_err(|e| Error::codec("PNG", e))?;
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader
            .next_frame(&mut buf)
            .map_err(|e| Error::codec("PNG", e))?;
        buf.truncate(info.buffer_size());
        Ok(buf)
    }
}

/// FLAC of the bytes as signed 8-bit mono samples at 16 kHz.
#[derive(Clone, Debug)]
pub struct Flac {
    /// Quantized-LPC order (flacenc allows up to 24).
    pub lpc_order: usize,
    /// Frame length in samples.
    pub block_size: usize,
}

impl Default for Flac {
    /// The strongest settings we found on LibriSpeech chunks (see the
    /// crate README).
    fn default() -> Self {
        Self {
            lpc_order: 12,
            block_size: 4096,
        }
    }
}

impl Compressor for Flac {
    fn name(&self) -> String {
        "FLAC".into()
    }

    fn compress(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        use flacenc::component::BitRepr;
        use flacenc::error::Verify;
        let mut cfg = flacenc::config::Encoder::default();
        cfg.block_size = self.block_size;
        cfg.multithread = false;
        cfg.subframe_coding.qlpc.lpc_order = self.lpc_order;
        let cfg = cfg
            .into_verified()
            .map_err(|e| Error::codec("FLAC", format!("{e:?}")))?;
        let samples: Vec<i32> = data.iter().map(|&b| i32::from(b) - 128).collect();
        let src = flacenc::source::MemSource::from_samples(&samples, 1, 8, 16_000);
        let stream = flacenc::encode_with_fixed_block_size(&cfg, src, cfg.block_size)
            .map_err(|e| Error::codec("FLAC", format!("{e:?}")))?;
        let mut sink = flacenc::bitsink::ByteSink::new();
        stream
            .write(&mut sink)
            .map_err(|e| Error::codec("FLAC", format!("{e:?}")))?;
        Ok(sink.as_slice().to_vec())
    }

    fn decompress(&self, data: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        let mut r = claxon::FlacReader::new(data).map_err(|e| Error::codec("FLAC", e))?;
        let mut out = Vec::with_capacity(len);
        for s in r.samples() {
            let s = s.map_err(|e| Error::codec("FLAC", e))?;
            out.push((s + 128) as u8);
        }
        Ok(out)
    }
}

/// Zstandard at a level, optionally with a dictionary or a long window.
#[derive(Clone, Debug)]
pub struct Zstd {
    /// 1..=22.
    pub level: i32,
    /// A trained dictionary the decoder must also have.
    pub dict: Option<Arc<Vec<u8>>>,
    /// `--long=N`: long-distance matching over a `2^N`-byte window (a
    /// decoder needs as much memory; 27 is zstd's default limit).
    pub long: Option<u32>,
}

impl Zstd {
    /// Level 19, no dictionary.
    pub fn plain() -> Self {
        Self {
            level: 19,
            dict: None,
            long: None,
        }
    }

    /// Level 19 with `dict`.
    pub fn with_dict(dict: Vec<u8>) -> Self {
        Self {
            level: 19,
            dict: Some(Arc::new(dict)),
            long: None,
        }
    }

    /// `zstd --ultra -22 --long=27`, its strongest setting for whole files.
    pub fn best() -> Self {
        Self {
            level: 22,
            dict: None,
            long: Some(27),
        }
    }
}

/// Trains a zstd dictionary of at most `max_size` bytes on `training`, cut
/// into 2048-byte samples (the chunk size it will be used on).
pub fn train_zstd_dict(training: &[u8], max_size: usize) -> Result<Vec<u8>, Error> {
    let n = training.len() / crate::data::CHUNK;
    let sizes = vec![crate::data::CHUNK; n];
    zstd::dict::from_continuous(&training[..n * crate::data::CHUNK], &sizes, max_size)
        .map_err(|e| Error::codec("zstd dictionary", e))
}

impl Compressor for Zstd {
    fn name(&self) -> String {
        let ultra = if self.level > 19 { "--ultra " } else { "" };
        let long = self
            .long
            .map(|w| format!(" --long={w}"))
            .unwrap_or_default();
        match &self.dict {
            None => format!("zstd {ultra}-{}{long}", self.level),
            Some(d) => format!("zstd -{} + {} KiB dict", self.level, d.len() / 1024),
        }
    }

    fn compress(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        if let Some(w) = self.long {
            use zstd::zstd_safe::CParameter;
            let mut c = zstd::bulk::Compressor::new(self.level)
                .map_err(|e| Error::codec(&self.name(), e))?;
            c.set_parameter(CParameter::EnableLongDistanceMatching(true))
                .and_then(|_| c.set_parameter(CParameter::WindowLog(w)))
                .map_err(|e| Error::codec(&self.name(), e))?;
            return c.compress(data).map_err(|e| Error::codec(&self.name(), e));
        }
        let dict = self.dict.as_deref().map(Vec::as_slice).unwrap_or(&[]);
        zstd::bulk::Compressor::with_dictionary(self.level, dict)
            .and_then(|mut c| c.compress(data))
            .map_err(|e| Error::codec(&self.name(), e))
    }

    fn decompress(&self, data: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        let dict = self.dict.as_deref().map(Vec::as_slice).unwrap_or(&[]);
        zstd::bulk::Decompressor::with_dictionary(dict)
            .and_then(|mut d| d.decompress(data, len))
            .map_err(|e| Error::codec(&self.name(), e))
    }

    fn side_bytes(&self) -> u64 {
        self.dict.as_ref().map_or(0, |d| d.len() as u64)
    }
}

/// Brotli at a quality and window.
#[derive(Clone, Debug)]
pub struct Brotli {
    /// 0..=11.
    pub quality: u32,
    /// log2 of the window, 10..=24.
    pub lgwin: u32,
}

impl Default for Brotli {
    fn default() -> Self {
        Self {
            quality: 11,
            lgwin: 22,
        }
    }
}

impl Brotli {
    /// `brotli -q 11 -w 24`: the largest standard window, its strongest
    /// setting for whole files.
    pub fn best() -> Self {
        Self {
            quality: 11,
            lgwin: 24,
        }
    }
}

impl Compressor for Brotli {
    fn name(&self) -> String {
        if self.lgwin == 22 {
            format!("brotli -q{}", self.quality)
        } else {
            format!("brotli -q{} -w{}", self.quality, self.lgwin)
        }
    }

    fn compress(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, self.quality, self.lgwin);
            w.write_all(data)
                .and_then(|_| w.flush())
                .map_err(|e| Error::codec(&self.name(), e))?;
        }
        Ok(out)
    }

    fn decompress(&self, data: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(len);
        brotli::Decompressor::new(data, 4096)
            .read_to_end(&mut out)
            .map_err(|e| Error::codec(&self.name(), e))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_factors_match_the_reference() {
        assert_eq!(closest_factors(2048), (32, 64));
        assert_eq!(closest_factors(1), (1, 1));
        assert_eq!(closest_factors(4096), (64, 64));
        assert_eq!(closest_factors(6), (2, 3));
        assert_eq!(closest_factors(7), (1, 7));
    }
}
