//! Running Table 1: every compressor on every data set, measured the
//! paper's way, with the paper's numbers beside ours.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

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

/// Runs every compressor and LM coder on every data set, reporting to
/// `progress`; `unchunked` also measures the whole streams of the classical
/// compressors. `lm_sample` restricts the (slow) LM rows to a sub-sample of
/// each data set's chunks; every record states its chunk count.
pub fn run(
    datasets: &[Chunks],
    compressors: &[Box<dyn Compressor>],
    lms: &[LmModel<'_>],
    unchunked: bool,
    lm_sample: crate::data::Sample,
    mut meta: crate::meta::Meta,
    progress: &Progress<'_>,
) -> Result<Table1, Error> {
    let t0 = Instant::now();
    let mut records = Vec::new();
    for ds in datasets {
        for c in compressors {
            let done = progress(&format!("{} / {}", ds.kind, c.name()), ds.len() as u64);
            let s = measure_classical_with(c.as_ref(), ds, unchunked, &*done)?;
            records.extend(classical_records(&c.name(), ds.kind, &s));
        }
        let lm_ds = ds.subsample(lm_sample);
        if !lms.is_empty() && lm_ds.len() < ds.len() {
            meta.notes.push(format!(
                "LM rows on {}: {} of the {} chunks ({})",
                ds.kind,
                lm_ds.len(),
                ds.len(),
                lm_sample.describe()
            ));
        }
        for m in lms {
            let done = progress(&format!("{} / {}", ds.kind, m.name()), lm_ds.len() as u64);
            let s = crate::lm::measure_lm(m, &lm_ds, true, &*done)?;
            records.extend(lm_records(m.name(), m.paper_name(), ds.kind, &s));
        }
    }
    meta.seconds = t0.elapsed().as_secs_f64();
    Ok(Table1 { meta, records })
}
