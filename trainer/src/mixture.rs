//! Training data as a weighted mixture of sources, and the validation
//! sources beside it.
//!
//! A [`Source`] is one or more files or folders (concatenated in the order
//! given, folders in file-name order), optionally cut to a byte range. A
//! [`Mixture`] holds only the bytes of its training sources, so sampling
//! cannot reach a validation byte; [`check_disjoint`] refuses a training
//! source that shares a file with a validation source unless both name
//! disjoint ranges of the same file. Any data that can be laid out as bytes
//! (text, image patches, audio) plugs in as one more source.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data;
use crate::error::{Error, Result};

/// One data source of a run, as saved in `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// Short name for logs, CSV columns and manifests (e.g. `enwik8`).
    pub name: String,
    /// Files or folders, concatenated in this order.
    pub paths: Vec<PathBuf>,
    /// Byte range of the concatenation (`None`: all of it).
    pub range: Option<Range<usize>>,
    /// Sampling weight among the training sources (unused for validation).
    pub weight: f64,
}

impl Source {
    /// Parses `NAME=PATH[+PATH...][@START..END][*WEIGHT]`, e.g.
    /// `enwik8=../shared/data/enwik8/enwik8.head@0..3600000*0.5` or
    /// `wiki=../shared/data/wikipedia/AA+../shared/data/wikipedia/AB*0.5`.
    /// The weight defaults to 1.
    pub fn parse(spec: &str) -> Result<Self> {
        let (name, rest) = spec.split_once('=').ok_or_else(|| {
            Error::Data(format!("source {spec:?} is not NAME=PATH[@RANGE][*WEIGHT]"))
        })?;
        if name.is_empty() || name.contains(',') {
            return Err(Error::Data(format!(
                "source {spec:?} needs a name without commas"
            )));
        }
        let (rest, weight) = match rest.rsplit_once('*') {
            Some((r, w)) => (
                r,
                w.parse::<f64>().map_err(|e| {
                    Error::Data(format!("bad weight {w:?} in source {spec:?}: {e}"))
                })?,
            ),
            None => (rest, 1.0),
        };
        if !(weight.is_finite() && weight > 0.0) {
            return Err(Error::Data(format!(
                "source {spec:?}: the weight must be positive"
            )));
        }
        let (paths, range) = match rest.rsplit_once('@') {
            Some((p, r)) => (
                p,
                Some(
                    data::parse_range(r)
                        .map_err(|e| Error::Data(format!("source {spec:?}: {e}")))?,
                ),
            ),
            None => (rest, None),
        };
        if paths.is_empty() {
            return Err(Error::Data(format!("source {spec:?} names no path")));
        }
        let paths = paths.split('+').map(PathBuf::from).collect();
        // An open end (`START..`) is resolved against the data on load.
        let range = range.map(|(s, e)| s..e.unwrap_or(usize::MAX));
        Ok(Self {
            name: name.into(),
            paths,
            range,
            weight,
        })
    }

    /// A source over one file or folder.
    pub fn new(name: &str, path: &Path, range: Option<Range<usize>>, weight: f64) -> Self {
        Self {
            name: name.into(),
            paths: vec![path.to_path_buf()],
            range,
            weight,
        }
    }

    /// Reads the source's bytes; fixes an open-ended range to the data's
    /// length so that the saved config names exact bytes.
    pub fn load(&mut self) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        for p in &self.paths {
            bytes.extend_from_slice(&data::load_bytes(p)?);
        }
        if let Some(r) = &mut self.range {
            if r.end == usize::MAX {
                r.end = bytes.len();
            }
            let r = data::resolve((r.start, Some(r.end)), bytes.len())
                .map_err(|e| Error::Data(format!("source {}: {e}", self.name)))?;
            bytes.truncate(r.end);
            bytes.drain(..r.start);
        }
        if bytes.is_empty() {
            return Err(Error::Data(format!("source {} has no bytes", self.name)));
        }
        Ok(bytes)
    }

    /// The source's range, or the whole of its data.
    fn span(&self) -> Range<usize> {
        self.range.clone().unwrap_or(0..usize::MAX)
    }
}

/// Refuses training sources that could read validation bytes: a training
/// and a validation source may share a file only when both consist of that
/// one file and their ranges do not overlap. A path that does not exist is
/// an [`Error::Io`].
pub fn check_disjoint(train: &[Source], val: &[Source]) -> Result<()> {
    // A missing file is named as such, not as an overlap of two unknowns.
    for p in train.iter().chain(val).flat_map(|s| &s.paths) {
        std::fs::metadata(p).map_err(Error::io("read", p))?;
    }
    for t in train {
        for v in val {
            for tp in &t.paths {
                for vp in &v.paths {
                    if !overlapping_paths(tp, vp) {
                        continue;
                    }
                    let same_single_file =
                        t.paths.len() == 1 && v.paths.len() == 1 && tp.is_file() && vp.is_file();
                    let (a, b) = (t.span(), v.span());
                    if same_single_file && (a.end <= b.start || b.end <= a.start) {
                        continue;
                    }
                    return Err(Error::Data(format!(
                        "training source {} ({}) overlaps validation source {} ({}): \
                         give disjoint ranges of one file, or different files",
                        t.name,
                        tp.display(),
                        v.name,
                        vp.display()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Whether two paths are the same file or one folder holds the other.
fn overlapping_paths(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (a, b) = (canon(a), canon(b));
    a.starts_with(&b) || b.starts_with(&a)
}

/// The training symbols of one source: its bytes, or (for a token-level
/// model) its token ids.
pub enum Stream {
    /// Raw bytes, one symbol each.
    Bytes(Vec<u8>),
    /// BPE token ids (`tokenize`), the source tokenized once.
    Tokens(Vec<u16>),
}

impl Stream {
    fn len(&self) -> usize {
        match self {
            Stream::Bytes(b) => b.len(),
            Stream::Tokens(t) => t.len(),
        }
    }
}

/// Loaded training sources and their sampling weights.
pub struct Mixture {
    names: Vec<String>,
    data: Vec<Stream>,
    /// Each source's length in raw bytes (kept when it is tokenized).
    raw_bytes: Vec<usize>,
    /// Cumulative normalised weights; the last is 1.
    cumulative: Vec<f64>,
}

impl Mixture {
    /// Loads every source (fixing open ranges in place).
    pub fn load(sources: &mut [Source]) -> Result<Self> {
        let data = sources
            .iter_mut()
            .map(|s| s.load())
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_parts(sources, data)
    }

    /// A mixture of already loaded bytes, one buffer per source.
    pub fn from_parts(sources: &[Source], data: Vec<Vec<u8>>) -> Result<Self> {
        if sources.is_empty() {
            return Err(Error::Data("no training source".into()));
        }
        if data.len() != sources.len() {
            return Err(Error::Data(format!(
                "{} sources but {} byte buffers",
                sources.len(),
                data.len()
            )));
        }
        let total: f64 = sources.iter().map(|s| s.weight).sum();
        let mut acc = 0.0;
        let mut cumulative: Vec<f64> = sources
            .iter()
            .map(|s| {
                acc += s.weight / total;
                acc
            })
            .collect();
        *cumulative.last_mut().expect("non-empty") = 1.0;
        Ok(Self {
            names: sources.iter().map(|s| s.name.clone()).collect(),
            raw_bytes: data.iter().map(Vec::len).collect(),
            data: data.into_iter().map(Stream::Bytes).collect(),
            cumulative,
        })
    }

    /// Replaces every source's bytes by its BPE tokens, read from
    /// `cache_dir/tokens-NAME-HASH.u16` when a previous call wrote them
    /// (little-endian `u16` ids; `HASH` covers the tokenizer and the bytes),
    /// else tokenized here (in 64 KiB pieces cut at newlines) and cached.
    pub fn tokenize(&mut self, bpe: &tokenize::Bpe, cache_dir: &Path) -> Result<()> {
        if bpe.vocab() > usize::from(u16::MAX) + 1 {
            return Err(Error::Data(format!(
                "a vocabulary of {} does not fit the u16 token cache",
                bpe.vocab()
            )));
        }
        for (name, d) in self.names.iter().zip(self.data.iter_mut()) {
            let Stream::Bytes(bytes) = d else { continue };
            let key = coder_core::fnv1a64_update(bpe.hash(), bytes);
            let path = cache_dir.join(format!("tokens-{name}-{key:016x}.u16"));
            let tokens = match std::fs::read(&path) {
                Ok(raw) if raw.len() % 2 == 0 => raw
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect(),
                _ => {
                    let tokens = tokenize_pieces(bpe, bytes);
                    let raw: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
                    let tmp = path.with_extension("tmp");
                    std::fs::write(&tmp, raw).map_err(Error::io("write", &tmp))?;
                    std::fs::rename(&tmp, &path).map_err(Error::io("rename", &tmp))?;
                    tokens
                }
            };
            *d = Stream::Tokens(tokens);
        }
        Ok(())
    }

    /// Raw bytes a sampled token stands for on average: each source's
    /// bytes per symbol (1 before tokenizing), weighted as sources are
    /// drawn. A step of `T` tokens covers about `T` times this many bytes.
    pub fn bytes_per_token(&self) -> f64 {
        let mut prev = 0.0;
        let mut mean = 0.0;
        for ((d, &raw), &c) in self.data.iter().zip(&self.raw_bytes).zip(&self.cumulative) {
            mean += (c - prev) * raw as f64 / d.len().max(1) as f64;
            prev = c;
        }
        mean
    }

    /// Draws a source by weight.
    fn pick(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.random();
        self.cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.cumulative.len() - 1)
    }

    /// One batch as flat `[batch * len]` token ids (BOS-prefixed inputs,
    /// byte targets), each sequence from a source drawn by weight; adds
    /// the predicted tokens per source to `tokens`.
    pub fn sample_batch(
        &self,
        batch: usize,
        len: usize,
        bos: i32,
        rng: &mut impl Rng,
        tokens: &mut BTreeMap<String, u64>,
    ) -> Result<(Vec<i32>, Vec<i32>)> {
        let mut inputs = Vec::with_capacity(batch * len);
        let mut targets = Vec::with_capacity(batch * len);
        for _ in 0..batch {
            let i = self.pick(rng);
            let d = &self.data[i];
            // `data::sample_batch` needs more symbols than a sequence.
            if d.len() <= len {
                return Err(Error::Data(format!(
                    "source {} has {} symbols, not more than a sequence of {len}",
                    self.names[i],
                    d.len()
                )));
            }
            let (inp, tgt) = match d {
                Stream::Bytes(d) => data::sample_batch(d, &(0..d.len()), 1, len, bos, rng),
                Stream::Tokens(d) => data::sample_batch(d, &(0..d.len()), 1, len, bos, rng),
            };
            inputs.extend(inp);
            targets.extend(tgt);
            *tokens.entry(self.names[i].clone()).or_default() += len as u64;
        }
        Ok((inputs, targets))
    }
}

/// `bpe`'s tokens of `bytes`, tokenized in pieces of about 64 KiB cut
/// after a newline (the tokenizer splits at word boundaries anyway, so
/// this changes almost nothing and keeps memory small).
pub fn tokenize_pieces(bpe: &tokenize::Bpe, bytes: &[u8]) -> Vec<u16> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    let mut rest = bytes;
    while !rest.is_empty() {
        let mut end = rest.len().min(1 << 16);
        if end < rest.len() {
            if let Some(nl) = rest[..end].iter().rposition(|&b| b == b'\n') {
                end = nl + 1;
            }
        }
        out.extend(bpe.encode(&rest[..end]).into_iter().map(|t| t as u16));
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn parses_names_paths_ranges_and_weights() {
        let s = Source::parse("enwik8=a/b.head@0..3_600_000*0.5").unwrap();
        assert_eq!(s.name, "enwik8");
        assert_eq!(s.paths, vec![PathBuf::from("a/b.head")]);
        assert_eq!(s.range, Some(0..3_600_000));
        assert_eq!(s.weight, 0.5);
        let s = Source::parse("wiki=x/AA+x/AB").unwrap();
        assert_eq!(s.paths.len(), 2);
        assert_eq!((s.range, s.weight), (None, 1.0));
        let s = Source::parse("v=f@3600000..").unwrap();
        assert_eq!(s.range, Some(3_600_000..usize::MAX));
        for bad in ["noname", "=p", "a=p*0", "a=p*x", "a=p@5..2", "a=*1"] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bytes_per_token_weights_each_source() {
        let sources = [
            Source::new("a", Path::new("a"), None, 3.0),
            Source::new("b", Path::new("b"), None, 1.0),
        ];
        let mut m = Mixture::from_parts(&sources, vec![vec![b'a'; 1000], vec![b'b'; 600]]).unwrap();
        assert_eq!(m.bytes_per_token(), 1.0);
        // Source a tokenized to a quarter of its bytes: 4 bytes a token
        // drawn 3/4 of the time, 1 byte a token 1/4 of the time.
        m.data[0] = Stream::Tokens(vec![0; 250]);
        assert!((m.bytes_per_token() - (0.75 * 4.0 + 0.25)).abs() < 1e-12);
    }

    #[test]
    fn samples_sources_in_proportion() {
        let sources = [
            Source::new("a", Path::new("a"), None, 3.0),
            Source::new("b", Path::new("b"), None, 1.0),
        ];
        let m = Mixture::from_parts(&sources, vec![vec![b'a'; 1000], vec![b'b'; 1000]]).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut tokens = BTreeMap::new();
        let (mut na, mut nb) = (0usize, 0usize);
        for _ in 0..500 {
            let (inp, tgt) = m.sample_batch(16, 32, 256, &mut rng, &mut tokens).unwrap();
            assert_eq!((inp.len(), tgt.len()), (16 * 32, 16 * 32));
            for seq in tgt.chunks(32) {
                // A sequence never mixes sources.
                assert!(seq.iter().all(|&t| t == seq[0]));
                if seq[0] == b'a' as i32 {
                    na += 1;
                } else {
                    nb += 1;
                }
            }
        }
        let share = na as f64 / (na + nb) as f64;
        // 8000 draws: the standard deviation of the share is 0.005.
        assert!((share - 0.75).abs() < 0.02, "share of a: {share}");
        assert_eq!(tokens["a"], na as u64 * 32);
        assert_eq!(tokens["b"], nb as u64 * 32);
    }

    #[test]
    fn never_reads_a_validation_range_or_file() {
        let dir = std::env::temp_dir().join(format!("mixture-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("val")).unwrap();
        // One file: training bytes 'a', then validation bytes 0xFF.
        let file = dir.join("text");
        let mut bytes = vec![b'a'; 4000];
        bytes.extend(vec![0xFF; 1000]);
        std::fs::write(&file, &bytes).unwrap();
        // A second training file, and a validation folder beside it.
        std::fs::write(dir.join("more"), vec![b'm'; 3000]).unwrap();
        std::fs::write(dir.join("val/held"), vec![0xFE; 3000]).unwrap();

        let mut train = vec![
            Source::parse(&format!("t={}@0..4000*0.5", file.display())).unwrap(),
            Source::parse(&format!("m={}*0.5", dir.join("more").display())).unwrap(),
        ];
        let val = vec![
            Source::parse(&format!("v={}@4000..", file.display())).unwrap(),
            Source::parse(&format!("w={}", dir.join("val").display())).unwrap(),
        ];
        check_disjoint(&train, &val).unwrap();
        let m = Mixture::load(&mut train).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let mut tokens = BTreeMap::new();
        for _ in 0..2000 {
            let (inp, tgt) = m.sample_batch(8, 64, 256, &mut rng, &mut tokens).unwrap();
            assert!(inp
                .iter()
                .chain(&tgt)
                .all(|&t| t == b'a' as i32 || t == b'm' as i32 || t == 256));
        }
        // Both ends of the training range were reachable.
        assert!(tokens["t"] > 0 && tokens["m"] > 0);

        // Overlaps are refused: a range reaching into validation, a whole
        // file, a folder holding a validation file.
        for bad in [
            format!("t={}@0..4001", file.display()),
            format!("t={}", file.display()),
            format!("t={}", dir.display()),
            format!("t={}", dir.join("val/held").display()),
        ] {
            let err = check_disjoint(&[Source::parse(&bad).unwrap()], &val)
                .unwrap_err()
                .to_string();
            assert!(err.contains("overlaps validation"), "{bad}: {err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
