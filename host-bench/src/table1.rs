//! Running Table 1: every compressor on every data set, measured the
//! paper's way, with the paper's numbers beside ours.

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounting::{ClassicalSizes, LmSizes};
use crate::baselines::Compressor;
use crate::data::{Chunks, Kind};
use crate::lm::LmModel;
use crate::paper;
use crate::Error;

/// Which rate a [`Record`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Paper-comparable raw rate: chunked classical with the header counted
    /// once, unchunked classical, or the LM's summed arithmetic code.
    Raw,
    /// Chunked classical with every chunk's own header.
    ChunkedPlain,
    /// Raw plus model size at 2 bytes/parameter (the paper's adjusted rate);
    /// for classical compressors plus their dictionary.
    AdjustedPaper,
    /// LM raw plus the real int8 model file.
    AdjustedModelFile,
    /// LM ideal rate from the log-loss of the integer tables.
    Ideal,
    /// LM with chunks stored raw when coding would expand them.
    RawFallback,
    /// LM container, all framing included.
    Container,
}

impl Measure {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Measure::Raw => "raw",
            Measure::ChunkedPlain => "raw, header per chunk",
            Measure::AdjustedPaper => "adjusted (2 B/param or dict)",
            Measure::AdjustedModelFile => "adjusted (int8 model file)",
            Measure::Ideal => "ideal (log-loss)",
            Measure::RawFallback => "raw fallback (ours)",
            Measure::Container => "container (ours)",
        }
    }
}

/// One measured rate.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Data set.
    pub dataset: Kind,
    /// Our compressor, with its settings.
    pub compressor: String,
    /// The paper's name for the comparable row.
    pub paper_name: Option<String>,
    /// Chunk size in bytes; `None` is unchunked (the paper's ∞).
    pub chunk: Option<u32>,
    /// What the rate counts.
    pub measure: Measure,
    /// Our rate (compressed / raw).
    pub rate: f64,
    /// The paper's rate for the same row and data set (1 GB), if any.
    pub paper_rate: Option<f64>,
    /// Chunks measured.
    pub chunks: u64,
    /// Raw bytes measured.
    pub bytes: u64,
    /// Compressed bytes behind `rate` (before header correction for
    /// `raw` chunked classical rows).
    pub compressed_bytes: f64,
}

/// Progress of a [`run`]: called at the start of every measurement with
/// its label ("enwik / gzip -9") and number of chunks; the callback it
/// returns is called with 1 for every chunk done, and dropped when the
/// measurement ends.
pub type Progress<'p> = dyn Fn(&str, u64) -> Box<dyn Fn(u64) + Sync + 'p> + 'p;

/// [`Progress`] that shows nothing.
pub fn quiet(_: &str, _: u64) -> Box<dyn Fn(u64) + Sync> {
    Box::new(|_| {})
}

/// Measures a classical compressor on `chunks`: each chunk alone (in
/// parallel), the header, and with `unchunked` the whole stream. Every
/// output is decoded back and compared.
pub fn measure_classical(
    c: &dyn Compressor,
    chunks: &Chunks,
    unchunked: bool,
) -> Result<ClassicalSizes, Error> {
    measure_classical_with(c, chunks, unchunked, |_| {})
}

/// [`measure_classical`], calling `progress` with 1 for every chunk done.
pub fn measure_classical_with(
    c: &dyn Compressor,
    chunks: &Chunks,
    unchunked: bool,
    progress: impl Fn(u64) + Sync,
) -> Result<ClassicalSizes, Error> {
    let sum = chunks
        .data
        .par_chunks(crate::data::CHUNK)
        .map(|ch| {
            let n = c.compress_checked(ch)?.len() as u64;
            progress(1);
            Ok::<u64, Error>(n)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    // The paper's header size: the whole output for one zero byte (only its
    // length is used; claxon refuses FLAC blocks under 16 samples).
    let header = c.compress(&[0])?.len() as u64;
    let unchunked = if unchunked {
        Some(c.compress_checked(&chunks.data)?.len() as u64)
    } else {
        None
    };
    Ok(ClassicalSizes {
        chunks: chunks.len() as u64,
        raw_bytes: chunks.bytes() as u64,
        chunked_sum: sum,
        header,
        unchunked,
        side_bytes: c.side_bytes(),
    })
}

/// The paper's family name for our compressor label.
pub fn paper_family(name: &str) -> Option<&'static str> {
    if name.starts_with("gzip") {
        Some("gzip")
    } else if name == "LZMA2 (xz -6)" {
        Some("LZMA2")
    } else if name == "PNG" {
        Some("PNG")
    } else if name == "FLAC" {
        Some("FLAC")
    } else {
        None
    }
}

fn paper_rate(family: Option<&str>, chunked: bool, kind: Kind, adjusted: bool) -> Option<f64> {
    let row = paper::lookup(family?, chunked)?;
    let v = if adjusted { row.adjusted } else { row.raw }[paper::column(kind)];
    Some(v / 100.0)
}

/// Turns classical sizes into records.
pub fn classical_records(name: &str, kind: Kind, s: &ClassicalSizes) -> Vec<Record> {
    let family = paper_family(name);
    let rec = |chunk, measure, rate: f64, paper_rate, compressed| Record {
        dataset: kind,
        compressor: name.to_string(),
        paper_name: family.map(str::to_string),
        chunk,
        measure,
        rate,
        paper_rate,
        chunks: s.chunks,
        bytes: s.raw_bytes,
        compressed_bytes: compressed,
    };
    let mut out = Vec::new();
    if let Some(u) = s.unchunked {
        out.push(rec(
            None,
            Measure::Raw,
            s.unchunked_rate().unwrap_or_default(),
            paper_rate(family, false, kind, false),
            u as f64,
        ));
    }
    let corrected = s.chunked_rate() * s.raw_bytes as f64;
    out.push(rec(
        Some(2048),
        Measure::Raw,
        s.chunked_rate(),
        paper_rate(family, true, kind, false),
        corrected,
    ));
    out.push(rec(
        Some(2048),
        Measure::ChunkedPlain,
        s.chunked_rate_plain(),
        None,
        s.chunked_sum as f64,
    ));
    if s.side_bytes > 0 {
        out.push(rec(
            Some(2048),
            Measure::AdjustedPaper,
            s.chunked_rate_adjusted(),
            None,
            corrected + s.side_bytes as f64,
        ));
    }
    out
}

/// Turns LM sizes into records.
pub fn lm_records(name: &str, paper_name: Option<&str>, kind: Kind, s: &LmSizes) -> Vec<Record> {
    let rec = |measure, rate: f64, paper_rate, compressed| Record {
        dataset: kind,
        compressor: name.to_string(),
        paper_name: paper_name.map(str::to_string),
        chunk: Some(2048),
        measure,
        rate,
        paper_rate,
        chunks: s.chunks,
        bytes: s.raw_bytes,
        compressed_bytes: compressed,
    };
    let mut out = vec![
        rec(
            Measure::Raw,
            s.raw_rate(),
            paper_rate(paper_name, true, kind, false),
            s.coded_sum as f64,
        ),
        rec(Measure::Ideal, s.ideal_rate(), None, s.ideal_bits / 8.0),
        rec(
            Measure::AdjustedPaper,
            s.adjusted_rate_paper(),
            paper_rate(paper_name, true, kind, true),
            s.coded_sum as f64 + 2.0 * s.parameters as f64,
        ),
        rec(
            Measure::AdjustedModelFile,
            s.adjusted_rate_file(),
            None,
            (s.coded_sum + s.model_file_bytes) as f64,
        ),
        rec(
            Measure::RawFallback,
            s.fallback_rate(),
            None,
            s.fallback_sum as f64,
        ),
    ];
    if let Some(c) = s.container {
        out.push(rec(
            Measure::Container,
            s.container_rate().unwrap_or_default(),
            None,
            c as f64,
        ));
    }
    out
}

/// Everything one `table1` run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Table1 {
    /// Run metadata.
    pub meta: crate::meta::Meta,
    /// Every measured rate.
    pub records: Vec<Record>,
}

/// The part of every data set's chunks one run measures: shard `index`
/// (from 0) of `count` takes chunks `[index * n / count, (index + 1) * n /
/// count)` of a data set of `n` (after the LM rows' sub-sample, for them),
/// so the shards of a data set are disjoint, in order, and cover it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole data set, one run.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// `I/N` with `0 <= I < N`, as a Slurm array index and its size.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s}: expected I/N with 0 <= I < N (e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// This shard's chunk indices out of `n`.
    pub fn range(self, n: usize) -> std::ops::Range<usize> {
        let at = |k: u32| (n as u128 * u128::from(k) / u128::from(self.count)) as usize;
        at(self.index)..at(self.index + 1)
    }
}

/// The sizes behind one table line group: a compressor on a data set.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    pub dataset: Kind,
    pub compressor: String,
    /// The paper's name for the LM row (classical rows derive theirs).
    pub paper_name: Option<String>,
    pub sizes: Sizes,
}

/// Additive sizes of a [`Measured`]. (Externally tagged: an internally
/// tagged enum buffers its numbers, which breaks under serde_json's
/// `arbitrary_precision`, a feature another crate of the workspace turns
/// on.)
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sizes {
    Classical(ClassicalSizes),
    Lm(LmSizes),
}

impl Measured {
    /// The table's records for these sizes.
    pub fn records(&self) -> Vec<Record> {
        match &self.sizes {
            Sizes::Classical(s) => classical_records(&self.compressor, self.dataset, s),
            Sizes::Lm(s) => lm_records(
                &self.compressor,
                self.paper_name.as_deref(),
                self.dataset,
                s,
            ),
        }
    }
}

/// What one shard of a `table1` run measured (`table1.partial.json`):
/// [`merge`] adds the shards into the table a single run writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Partial {
    pub shard: Shard,
    pub meta: crate::meta::Meta,
    pub measured: Vec<Measured>,
}

impl Partial {
    /// Writes `table1.partial.json` into `dir`; returns its path.
    pub fn write(&self, dir: &std::path::Path) -> Result<std::path::PathBuf, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let p = dir.join("table1.partial.json");
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Data(e.to_string()))?;
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
        Ok(p)
    }

    /// Reads a partial result that [`write`](Self::write) wrote.
    pub fn read(path: &std::path::Path) -> Result<Partial, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Data(format!(
                "{}: not a table1 partial result: {e}",
                path.display()
            ))
        })
    }

    /// The table of this shard alone.
    pub fn table(&self) -> Table1 {
        Table1 {
            meta: self.meta.clone(),
            records: self.measured.iter().flat_map(Measured::records).collect(),
        }
    }
}

/// Adds the shards `0/N .. N-1/N` of one run (any order given) into the
/// table a single run over all the chunks writes: the same records, rate
/// for rate. The metadata is the first shard's, with the shards' machines
/// and times in its notes.
pub fn merge(mut parts: Vec<Partial>) -> Result<Table1, Error> {
    let bad = |m: String| Error::Data(format!("merge: {m}"));
    parts.sort_by_key(|p| p.shard.index);
    let count = parts
        .first()
        .ok_or_else(|| bad("no partial results".into()))?
        .shard
        .count;
    for (k, p) in parts.iter().enumerate() {
        if p.shard
            != (Shard {
                index: k as u32,
                count,
            })
        {
            return Err(bad(format!(
                "expected shards 0/{count} .. {}/{count} once each, found {}/{}",
                count - 1,
                p.shard.index,
                p.shard.count
            )));
        }
    }
    if parts.len() != count as usize {
        return Err(bad(format!("{} of {count} shards given", parts.len())));
    }
    let mut rest = parts.split_off(1);
    let mut first = parts.pop().expect("one shard");
    let mut notes = vec![format!(
        "merged from {count} shards (host-bench merge): {}",
        std::iter::once(&first)
            .chain(&rest)
            .map(|p| format!(
                "{}/{} on {} at {} ({:.0} s)",
                p.shard.index, count, p.meta.machine.cpu, p.meta.started_utc, p.meta.seconds
            ))
            .collect::<Vec<_>>()
            .join("; ")
    )];
    for p in &mut rest {
        if p.measured.len() != first.measured.len() {
            return Err(bad(format!("shard {} measured other rows", p.shard.index)));
        }
        for (a, b) in first.measured.iter_mut().zip(&p.measured) {
            if (a.dataset, &a.compressor) != (b.dataset, &b.compressor) {
                return Err(bad(format!(
                    "shard {} has {} / {} where shard 0 has {} / {}",
                    p.shard.index, b.dataset, b.compressor, a.dataset, a.compressor
                )));
            }
            let added = match (&mut a.sizes, &b.sizes) {
                (Sizes::Classical(x), Sizes::Classical(y)) => x.add_shard(y),
                (Sizes::Lm(x), Sizes::Lm(y)) => x.add_shard(y),
                _ => Err("a row is classical in one shard and LM in another".into()),
            };
            added.map_err(|e| bad(format!("{} / {}: {e}", a.dataset, a.compressor)))?;
        }
        first.meta.seconds = first.meta.seconds.max(p.meta.seconds);
        for n in &p.meta.notes {
            if !first.meta.notes.contains(n) && !n.starts_with("shard ") {
                notes.push(format!("shard {}: {n}", p.shard.index));
            }
        }
    }
    first.meta.notes.retain(|n| !n.starts_with("shard "));
    first.meta.notes.extend(notes);
    Ok(first.table())
}

/// Measures every compressor and LM coder on shard `shard` of every data
/// set, reporting to `progress`; `unchunked` also measures the whole
/// streams of the classical compressors (over the whole data set, by shard
/// 0 alone). `lm_sample` restricts the (slow) LM rows to a sub-sample of
/// each data set's chunks; every record states its chunk count.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    datasets: &[Chunks],
    compressors: &[Box<dyn Compressor>],
    lms: &[LmModel<'_>],
    unchunked: bool,
    lm_sample: crate::data::Sample,
    shard: Shard,
    mut meta: crate::meta::Meta,
    progress: &Progress<'_>,
) -> Result<Partial, Error> {
    let t0 = Instant::now();
    let mut measured = Vec::new();
    if shard != Shard::WHOLE {
        meta.notes.push(format!(
            "shard {}/{}: chunks [i * n / {2}, (i + 1) * n / {2}) of each data set",
            shard.index, shard.count, shard.count
        ));
    }
    for ds in datasets {
        let part = ds.slice(shard.range(ds.len()));
        for c in compressors {
            let done = progress(&format!("{} / {}", ds.kind, c.name()), part.len() as u64);
            let mut s = measure_classical_with(c.as_ref(), &part, false, &*done)?;
            if unchunked && shard.index == 0 {
                s.unchunked = Some(c.compress_checked(&ds.data)?.len() as u64);
            }
            measured.push(Measured {
                dataset: ds.kind,
                compressor: c.name(),
                paper_name: None,
                sizes: Sizes::Classical(s),
            });
        }
        let lm_all = ds.subsample(lm_sample);
        let lm_ds = lm_all.slice(shard.range(lm_all.len()));
        if !lms.is_empty() && lm_all.len() < ds.len() {
            meta.notes.push(format!(
                "LM rows on {}: {} of the {} chunks ({})",
                ds.kind,
                lm_all.len(),
                ds.len(),
                lm_sample.describe()
            ));
        }
        for m in lms {
            let done = progress(&format!("{} / {}", ds.kind, m.name()), lm_ds.len() as u64);
            let s = crate::lm::measure_lm(m, &lm_ds, true, &*done)?;
            measured.push(Measured {
                dataset: ds.kind,
                compressor: m.name().to_string(),
                paper_name: m.paper_name().map(str::to_string),
                sizes: Sizes::Lm(s),
            });
        }
    }
    meta.seconds = t0.elapsed().as_secs_f64();
    Ok(Partial {
        shard,
        meta,
        measured,
    })
}

/// Runs every compressor and LM coder on every data set ([`measure`] of
/// the whole): the table.
pub fn run(
    datasets: &[Chunks],
    compressors: &[Box<dyn Compressor>],
    lms: &[LmModel<'_>],
    unchunked: bool,
    lm_sample: crate::data::Sample,
    meta: crate::meta::Meta,
    progress: &Progress<'_>,
) -> Result<Table1, Error> {
    let p = measure(
        datasets,
        compressors,
        lms,
        unchunked,
        lm_sample,
        Shard::WHOLE,
        meta,
        progress,
    )?;
    Ok(p.table())
}
