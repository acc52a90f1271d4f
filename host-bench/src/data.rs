//! Data sets cut into the paper's 2048-byte chunks.
//!
//! The rules follow the paper's reference loaders (`data_loaders.py` in
//! google-deepmind/language_modeling_is_compression) and
//! `../shared/data/README.md`:
//!
//! - **enwik**: raw bytes, consecutive chunks, the trailing partial one
//!   dropped. Our models train on enwik8 bytes `[0, 3_600_000)`, so
//!   evaluation starts at [`ENWIK_EVAL_START`] by default.
//! - **ImageNet**: grayscale as the unweighted mean of R, G, B truncated to
//!   `u8` (`np.mean(image, -1).astype(np.uint8)`), then non-overlapping
//!   32-row x 64-column patches on a grid from the top-left corner, partial
//!   patches dropped, each flattened row-major; files in sorted path order.
//! - **LibriSpeech**: FLAC decoded to 16-bit PCM, each sample to unsigned
//!   8-bit as `(s >> 8) + 128` (`audioop.lin2lin(x, 2, 1)` plus bias 128),
//!   2048-byte chunks per utterance, the trailing partial one dropped; files in
//!   sorted path order.
//! - **random**: uniform bytes from a seeded generator ([`SplitMix64`]).

use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use crate::Error;

/// Bytes per chunk, as in the paper.
pub const CHUNK: usize = 2048;
/// Image patch height (rows).
pub const PATCH_ROWS: usize = 32;
/// Image patch width (columns).
pub const PATCH_COLS: usize = 64;
/// First enwik8 byte our models never saw in training.
pub const ENWIK_EVAL_START: usize = 3_600_000;

/// Known enwik files: (size in bytes, md5, name).
pub const KNOWN_ENWIK: [(u64, &str, &str); 3] = [
    (100_000_000, "a1fa5ffddb56f4953e226637dabbb36a", "enwik8"),
    (1_000_000_000, "e206c3450ac99950df65bf70ef61a12d", "enwik9"),
    (4_154_399, "f1e4e2c811309823bb4aff045d4883d4", "enwik8.head"),
];

/// Which data set a [`Chunks`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Wikipedia XML (enwik8 / enwik9).
    Enwik,
    /// ImageNet photos, grayscale patches.
    Imagenet,
    /// LibriSpeech utterances, 8-bit audio.
    Librispeech,
    /// Seeded uniform bytes.
    Random,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Enwik => "enwik",
            Kind::Imagenet => "imagenet",
            Kind::Librispeech => "librispeech",
            Kind::Random => "random",
        })
    }
}

/// How many chunks to keep out of those a data set yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    /// Every chunk.
    All,
    /// The first `n` chunks in order (the reference code's `num_chunks`);
    /// loaders stop reading early.
    First(usize),
    /// `n` chunks evenly spaced over all of them: indices `floor(i * total / n)`.
    Even(usize),
    /// `n` chunks drawn without replacement by a seeded shuffle, kept in
    /// their original order.
    Seeded(usize, u64),
}

impl Sample {
    /// The chunk limit a streaming loader may stop at.
    fn stop_after(self) -> Option<usize> {
        match self {
            Sample::First(n) => Some(n),
            _ => None,
        }
    }

    /// The indices (sorted) of the chunks kept out of `total`.
    pub fn indices(self, total: usize) -> Vec<usize> {
        match self {
            Sample::All => (0..total).collect(),
            Sample::First(n) => (0..n.min(total)).collect(),
            Sample::Even(n) => {
                let n = n.min(total);
                (0..n).map(|i| i * total / n).collect()
            }
            Sample::Seeded(n, seed) => {
                let n = n.min(total);
                let mut idx: Vec<usize> = (0..total).collect();
                let mut rng = SplitMix64::new(seed);
                for i in 0..n {
                    let j = i + (rng.next_u64() % (total - i) as u64) as usize;
                    idx.swap(i, j);
                }
                idx.truncate(n);
                idx.sort_unstable();
                idx
            }
        }
    }

    /// A short description for reports.
    pub fn describe(self) -> String {
        match self {
            Sample::All => "all chunks".into(),
            Sample::First(n) => format!("first {n} chunks"),
            Sample::Even(n) => format!("{n} chunks evenly spaced"),
            Sample::Seeded(n, s) => format!("{n} chunks drawn with seed {s}"),
        }
    }
}

/// A data set cut into [`CHUNK`]-byte chunks, stored back to back.
#[derive(Clone, Debug)]
pub struct Chunks {
    /// Which data set.
    pub kind: Kind,
    /// Where it came from (path or seed), for reports.
    pub source: String,
    /// Chunks the full source yields before sub-sampling (a lower bound when
    /// a `First` sample stopped reading early).
    pub available: usize,
    /// Number of files read (images, utterances; 1 for enwik).
    pub files: usize,
    /// The kept chunks, `CHUNK` bytes each, concatenated.
    pub data: Vec<u8>,
}

impl Chunks {
    /// Number of kept chunks.
    pub fn len(&self) -> usize {
        self.data.len() / CHUNK
    }

    /// True when no chunk was kept.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The kept chunks in order.
    pub fn iter(&self) -> std::slice::ChunksExact<'_, u8> {
        self.data.chunks_exact(CHUNK)
    }

    /// Total kept bytes.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Chunks `range` of these, in order (same kind and source): one
    /// shard of a run ([`crate::table1::Shard`]); these themselves, not a
    /// copy, when the range is all of them (a run that is not sharded).
    pub fn slice(&self, range: std::ops::Range<usize>) -> std::borrow::Cow<'_, Chunks> {
        if range == (0..self.len()) {
            return std::borrow::Cow::Borrowed(self);
        }
        std::borrow::Cow::Owned(Chunks {
            kind: self.kind,
            source: self.source.clone(),
            available: self.available,
            files: self.files,
            data: self.data[range.start * CHUNK..range.end * CHUNK].to_vec(),
        })
    }

    /// The chunks `sample` keeps out of these (same kind and source).
    pub fn subsample(&self, sample: Sample) -> Chunks {
        let mut c = Chunks::from_all(
            self.kind,
            self.source.clone(),
            self.files,
            self.data.clone(),
            sample,
        );
        c.available = self.available;
        c
    }

    fn from_all(kind: Kind, source: String, files: usize, all: Vec<u8>, sample: Sample) -> Self {
        let total = all.len() / CHUNK;
        let data = if matches!(sample, Sample::All) || sample.indices(total).len() == total {
            let mut all = all;
            all.truncate(total * CHUNK);
            all
        } else {
            let mut out = Vec::new();
            for i in sample.indices(total) {
                out.extend_from_slice(&all[i * CHUNK..(i + 1) * CHUNK]);
            }
            out
        };
        Chunks {
            kind,
            source,
            available: total,
            files,
            data,
        }
    }
}

/// md5 of `data` as lowercase hex.
pub fn md5_hex(data: &[u8]) -> String {
    let digest = Md5::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `data` against the known md5 when its size is that of a known
/// enwik file; returns the file's name when it matched one.
pub fn check_enwik(data: &[u8]) -> Result<Option<&'static str>, Error> {
    for (size, md5, name) in KNOWN_ENWIK {
        if data.len() as u64 == size {
            let got = md5_hex(data);
            if got != md5 {
                return Err(Error::Checksum {
                    what: name.into(),
                    expected: md5.into(),
                    got,
                });
            }
            return Ok(Some(name));
        }
    }
    Ok(None)
}

/// Reads an enwik-style byte file and cuts `[start, end)` into chunks
/// (`end` defaults to the file's end). The md5 is checked when the size is
/// that of enwik8, enwik9 or our enwik8 head.
pub fn load_enwik(
    path: &Path,
    start: usize,
    end: Option<usize>,
    sample: Sample,
) -> Result<Chunks, Error> {
    let data = fs::read(path).map_err(|e| Error::io(path, e))?;
    check_enwik(&data)?;
    let end = end.unwrap_or(data.len()).min(data.len());
    if start >= end {
        return Err(Error::Data(format!(
            "{}: range [{start}, {end}) is empty (file has {} bytes)",
            path.display(),
            data.len()
        )));
    }
    Ok(enwik_from_bytes(
        &data[start..end],
        format!("{} [{start}, {end})", path.display()),
        sample,
    ))
}

/// Cuts bytes already in memory into chunks (enwik rules).
pub fn enwik_from_bytes(bytes: &[u8], source: String, sample: Sample) -> Chunks {
    let total = bytes.len() / CHUNK;
    let take = match sample.stop_after() {
        Some(n) => n.min(total),
        None => total,
    };
    let mut c = Chunks::from_all(
        Kind::Enwik,
        source,
        1,
        bytes[..take * CHUNK].to_vec(),
        sample,
    );
    c.available = total;
    c
}

/// All files under `dir` (recursively) whose extension is one of `exts`
/// (case-insensitive), sorted by path.
pub fn list_files(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(Error::Data(format!(
            "{}: no {} files found",
            dir.display(),
            exts.join("/")
        )));
    }
    Ok(out)
}

/// The reference grayscale: unweighted mean of R, G, B, truncated.
#[inline]
pub fn gray(r: u8, g: u8, b: u8) -> u8 {
    ((u16::from(r) + u16::from(g) + u16::from(b)) / 3) as u8
}

/// Decodes a JPEG or PNG file to the reference grayscale, `(width, height,
/// pixels)` row-major.
pub fn load_gray_image(path: &Path) -> Result<(usize, usize, Vec<u8>), Error> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    let img = image::load_from_memory(&bytes)
        .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?
        .to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let px = img.pixels().map(|p| gray(p[0], p[1], p[2])).collect();
    Ok((w, h, px))
}

/// Appends the non-overlapping 32x64 patches of a grayscale image to `out`,
/// grid from the top-left, row by row, partial patches dropped; returns how
/// many were added.
pub fn push_patches(width: usize, height: usize, pixels: &[u8], out: &mut Vec<u8>) -> usize {
    let (pr, pc) = (height / PATCH_ROWS, width / PATCH_COLS);
    for row in 0..pr {
        for col in 0..pc {
            for y in row * PATCH_ROWS..(row + 1) * PATCH_ROWS {
                let at = y * width + col * PATCH_COLS;
                out.extend_from_slice(&pixels[at..at + PATCH_COLS]);
            }
        }
    }
    pr * pc
}

/// Loads an ImageNet-style folder of JPEG/PNG files into grayscale patches.
pub fn load_imagenet(dir: &Path, sample: Sample) -> Result<Chunks, Error> {
    let files = list_files(dir, &["jpeg", "jpg", "png"])?;
    let mut all = Vec::new();
    let mut read = 0;
    for f in &files {
        if sample.stop_after().is_some_and(|n| all.len() / CHUNK >= n) {
            break;
        }
        let (w, h, px) = load_gray_image(f)?;
        push_patches(w, h, &px, &mut all);
        read += 1;
    }
    Ok(Chunks::from_all(
        Kind::Imagenet,
        format!("{} ({} of {} images)", dir.display(), read, files.len()),
        read,
        all,
        sample,
    ))
}

/// The reference 16-bit to unsigned 8-bit conversion.
#[inline]
pub fn pcm16_to_u8(s: i16) -> u8 {
    ((s >> 8) + 128) as u8
}

/// Decodes one FLAC file to unsigned 8-bit samples (interleaved if it has
/// several channels). Only 16-bit FLAC is accepted, as in LibriSpeech.
pub fn load_flac_u8(path: &Path) -> Result<Vec<u8>, Error> {
    let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    decode_flac_u8(file).map_err(|e| Error::Data(format!("{}: {e}", path.display())))
}

/// As [`load_flac_u8`], from any reader.
pub fn decode_flac_u8<R: Read>(r: R) -> Result<Vec<u8>, String> {
    let mut reader = claxon::FlacReader::new(r).map_err(|e| e.to_string())?;
    let bits = reader.streaminfo().bits_per_sample;
    if bits != 16 {
        return Err(format!("{bits}-bit FLAC; LibriSpeech is 16-bit"));
    }
    let mut out = Vec::new();
    for s in reader.samples() {
        let s = s.map_err(|e| e.to_string())?;
        out.push(pcm16_to_u8(s as i16));
    }
    Ok(out)
}

/// Loads a LibriSpeech-style folder tree of FLAC files into 8-bit chunks,
/// chunked per utterance.
pub fn load_librispeech(dir: &Path, sample: Sample) -> Result<Chunks, Error> {
    let files = list_files(dir, &["flac"])?;
    let mut all = Vec::new();
    let mut read = 0;
    for f in &files {
        if sample.stop_after().is_some_and(|n| all.len() / CHUNK >= n) {
            break;
        }
        let pcm = load_flac_u8(f)?;
        let whole = pcm.len() / CHUNK * CHUNK;
        all.extend_from_slice(&pcm[..whole]);
        read += 1;
    }
    Ok(Chunks::from_all(
        Kind::Librispeech,
        format!("{} ({} of {} utterances)", dir.display(), read, files.len()),
        read,
        all,
        sample,
    ))
}

/// `n` chunks of seeded uniform random bytes.
pub fn random_chunks(n: usize, seed: u64) -> Chunks {
    let mut rng = SplitMix64::new(seed);
    let mut data = Vec::with_capacity(n * CHUNK);
    while data.len() < n * CHUNK {
        data.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    Chunks {
        kind: Kind::Random,
        source: format!("SplitMix64 seed {seed}"),
        available: n,
        files: 0,
        data,
    }
}

/// The workspace's one seeded generator, for test data and sub-sampling.
pub use model_int8::numerics::SplitMix64;

/// `len` bytes of enwik8 from `start` for the criterion benches
/// (`../shared/data/enwik8/enwik8.head`), or, where the data set is
/// missing, synthetic text of words, said on standard error.
pub fn bench_text(start: usize, len: usize) -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/enwik8/enwik8.head"
    );
    match std::fs::read(path) {
        Ok(d) if d.len() >= start + len => d[start..start + len].to_vec(),
        _ => {
            eprintln!("{path} not found: benchmarking synthetic text");
            let words = [
                "the ",
                "of ",
                "and ",
                "compression ",
                "model ",
                "context ",
                "coder\n",
            ];
            let mut x = 12345u32;
            let mut d = Vec::with_capacity(len + 16);
            while d.len() < len {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                d.extend_from_slice(words[(x >> 16) as usize % words.len()].as_bytes());
            }
            d.truncate(len);
            d
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_are_row_major_grid() {
        // 130 x 70 image: 2 x 2 patches, the rest dropped.
        let (w, h) = (130, 70);
        let px: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        assert_eq!(push_patches(w, h, &px, &mut out), 4);
        assert_eq!(out.len(), 4 * CHUNK);
        // Patch 1 (row 0, col 1), its row 3 starts at pixel (3, 64).
        let p1 = &out[CHUNK..2 * CHUNK];
        assert_eq!(p1[3 * 64], px[3 * w + 64]);
        // Patch 2 (row 1, col 0) starts at pixel (32, 0).
        assert_eq!(out[2 * CHUNK], px[32 * w]);
        assert_eq!(out[3 * CHUNK - 1], px[63 * w + 63]);
    }

    #[test]
    fn gray_truncates_the_mean() {
        assert_eq!(gray(255, 255, 255), 255);
        assert_eq!(gray(1, 1, 0), 0); // 0.67 -> 0
        assert_eq!(gray(10, 20, 31), 20); // 20.33 -> 20
        assert_eq!(gray(0, 0, 2), 0);
    }

    #[test]
    fn pcm_conversion_matches_lin2lin_plus_bias() {
        assert_eq!(pcm16_to_u8(0), 128);
        assert_eq!(pcm16_to_u8(255), 128);
        assert_eq!(pcm16_to_u8(256), 129);
        assert_eq!(pcm16_to_u8(-1), 127); // arithmetic shift floors
        assert_eq!(pcm16_to_u8(i16::MIN), 0);
        assert_eq!(pcm16_to_u8(i16::MAX), 255);
    }

    #[test]
    fn samples_are_deterministic_and_in_range() {
        assert_eq!(Sample::Even(4).indices(10), vec![0, 2, 5, 7]);
        assert_eq!(Sample::First(3).indices(2), vec![0, 1]);
        let a = Sample::Seeded(5, 7).indices(100);
        assert_eq!(a, Sample::Seeded(5, 7).indices(100));
        assert_ne!(a, Sample::Seeded(5, 8).indices(100));
        assert_eq!(a.len(), 5);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a[4] < 100);
        assert_eq!(Sample::Seeded(50, 1).indices(10).len(), 10);
    }

    #[test]
    fn random_is_seeded() {
        let a = random_chunks(2, 1);
        assert_eq!(a.len(), 2);
        assert_eq!(a.data, random_chunks(2, 1).data);
        assert_ne!(a.data, random_chunks(2, 2).data);
    }

    #[test]
    fn enwik_bytes_drop_partial_chunk() {
        let bytes = vec![b'a'; 3 * CHUNK + 5];
        let c = enwik_from_bytes(&bytes, "t".into(), Sample::All);
        assert_eq!((c.len(), c.available), (3, 3));
        let c = enwik_from_bytes(&bytes, "t".into(), Sample::First(2));
        assert_eq!((c.len(), c.available), (2, 3));
    }
}
