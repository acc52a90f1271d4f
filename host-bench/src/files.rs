//! Whole files, as a user compresses them: `lmc` in each of its codings
//! beside the classical compressors at their strongest settings (`xz -9e`,
//! `zstd --ultra -22 --long=27`, `brotli -q 11 -w 24`), on each file whole
//! and cut into the paper's 2048-byte chunks. Every result is decoded back
//! and compared byte for byte; sizes and single-core speeds are reported.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use coder_core::container::{Coding, Mode};
use lmc::{Int8Source, Settings};
use serde::Serialize;

use crate::baselines::{Brotli, Compressor, Xz, Zstd};
use crate::meta::Machine;
use crate::Error;

/// The paper's chunk size.
pub const CHUNK: usize = 2048;

/// One input: a name and its bytes.
#[derive(Clone, Debug)]
pub struct Input {
    /// Name in the report (a path, or a description).
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Input {
    /// The file at `path`, whole.
    pub fn read(path: &Path) -> Result<Self, Error> {
        Ok(Self {
            name: path.display().to_string(),
            bytes: std::fs::read(path).map_err(|e| Error::io(path, e))?,
        })
    }
}

/// How an input is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Blocks {
    /// The whole input at once (`lmc`: one block of its length).
    Whole,
    /// Independent 2048-byte chunks (sizes summed; `lmc`: one stream with
    /// 2048-byte blocks).
    Chunks,
}

/// One compressor on one input.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// Compressor and setting.
    pub compressor: String,
    /// Whole or in chunks.
    pub blocks: Blocks,
    /// Compressed bytes (headers included).
    pub bytes: u64,
    /// `bytes / input bytes`.
    pub rate: f64,
    /// Compression speed, input MB per second of wall time.
    pub compress_mb_s: f64,
    /// Decompression speed, output MB per second of wall time.
    pub decompress_mb_s: f64,
}

/// Every compressor on one input.
#[derive(Clone, Debug, Serialize)]
pub struct FileResult {
    /// The input's name.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The results, in the order run.
    pub entries: Vec<Entry>,
}

impl FileResult {
    /// The smallest classical result of `blocks`.
    pub fn best_classical(&self, blocks: Blocks) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.blocks == blocks && !e.compressor.starts_with("lmc"))
            .min_by_key(|e| e.bytes)
    }
}

/// An `lmc` configuration to run.
#[derive(Clone, Copy, Debug)]
pub struct LmcRun<'a> {
    /// Row label of the model (`None`: the adaptive models alone).
    pub model: Option<(&'a str, &'a Int8Source<'a>)>,
    /// What codes the blocks.
    pub mode: Mode,
}

impl LmcRun<'_> {
    fn label(&self) -> String {
        match (self.mode, self.model) {
            (Mode::Adaptive, _) => "lmc adaptive".into(),
            (Mode::Mixed, Some((n, _))) => format!("lmc mixed {n}"),
            (_, Some((n, _))) => format!("lmc model {n}"),
            (_, None) => "lmc".into(),
        }
    }

    fn coding(&self) -> Coding {
        let preset = match self.mode {
            Mode::Mixed => lmc::coding::MIXED_PRESET,
            Mode::Adaptive => lmc::coding::HOST_PRESET,
            _ => 0,
        };
        Coding {
            mode: self.mode,
            preset,
            chained: false,
            region: None,
        }
    }
}

/// The classical compressors at their strongest settings.
pub fn classical() -> Vec<Box<dyn Compressor>> {
    vec![
        Box::new(Xz::best()),
        Box::new(Zstd::best()),
        Box::new(Brotli::best()),
    ]
}

fn mb_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

/// `c` on `data`, whole or chunk by chunk, decoded back and compared.
pub fn measure_classical(c: &dyn Compressor, data: &[u8], blocks: Blocks) -> Result<Entry, Error> {
    let parts: Vec<&[u8]> = match blocks {
        Blocks::Whole => vec![data],
        Blocks::Chunks => data.chunks(CHUNK).collect(),
    };
    let t = Instant::now();
    let packed = parts
        .iter()
        .map(|p| c.compress(p))
        .collect::<Result<Vec<_>, _>>()?;
    let ct = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (p, z) in parts.iter().zip(&packed) {
        if c.decompress(z, p.len())? != *p {
            return Err(Error::codec(&c.name(), "round trip failed"));
        }
    }
    let dt = t.elapsed().as_secs_f64();
    let bytes: u64 = packed.iter().map(|z| z.len() as u64).sum();
    Ok(Entry {
        compressor: c.name(),
        blocks,
        bytes,
        rate: bytes as f64 / data.len().max(1) as f64,
        compress_mb_s: mb_s(data.len(), ct),
        decompress_mb_s: mb_s(data.len(), dt),
    })
}

/// `lmc` as `run` says on `data` (one stream: a single block, or
/// 2048-byte blocks), on the current rayon pool, decoded back and
/// compared.
pub fn measure_lmc(run: &LmcRun<'_>, data: &[u8], blocks: Blocks) -> Result<Entry, Error> {
    let block = match blocks {
        Blocks::Whole => data
            .len()
            .clamp(1, coder_core::container::MAX_CHUNK_SIZE as usize),
        Blocks::Chunks => CHUNK,
    } as u32;
    let settings = Settings::new(block).coding(run.coding());
    let model = run.model.map(|(_, m)| m);
    let mut packed = Cursor::new(Vec::new());
    let t = Instant::now();
    lmc::compress_with(model, data, &mut packed, &settings, |_| {})?;
    let ct = t.elapsed().as_secs_f64();
    let packed = packed.into_inner();
    let mut back = Vec::with_capacity(data.len());
    let t = Instant::now();
    lmc::decompress_with(model, &packed[..], &mut back, |_| {})?;
    let dt = t.elapsed().as_secs_f64();
    if back != data {
        return Err(Error::codec(&run.label(), "round trip failed"));
    }
    Ok(Entry {
        compressor: run.label(),
        blocks,
        bytes: packed.len() as u64,
        rate: packed.len() as f64 / data.len().max(1) as f64,
        compress_mb_s: mb_s(data.len(), ct),
        decompress_mb_s: mb_s(data.len(), dt),
    })
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The command line.
    pub command: String,
    /// When it ran (UTC).
    pub date: String,
    /// Where.
    pub machine: Machine,
    /// Worker threads of `lmc` (speeds are wall time on this many).
    pub threads: usize,
    /// Model files used.
    pub models: Vec<PathBuf>,
    /// One result per input.
    pub files: Vec<FileResult>,
}

/// The report as Markdown: per block mode, a rate table (best classical in
/// bold reference, `lmc`'s gain over it) and a speed table.
pub fn markdown(r: &Report) -> String {
    let mut s = format!(
        "Whole files: `{}`, {} on {} ({} cores), lmc on {} thread(s). \
         Every result decoded back and compared.\n",
        r.command, r.date, r.machine.cpu, r.machine.cores, r.threads
    );
    for blocks in [Blocks::Whole, Blocks::Chunks] {
        let names: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for f in &r.files {
                for e in f.entries.iter().filter(|e| e.blocks == blocks) {
                    if !v.contains(&e.compressor) {
                        v.push(e.compressor.clone());
                    }
                }
            }
            v
        };
        if names.is_empty() {
            continue;
        }
        s += &format!(
            "\n### {}\n\nSize as % of the input; in brackets, against the best classical compressor.\n\n| file | bytes | {} |\n|---|---:|{}\n",
            match blocks {
                Blocks::Whole => "Whole files",
                Blocks::Chunks => "2048-byte chunks",
            },
            names.join(" | "),
            "---:|".repeat(names.len())
        );
        for f in &r.files {
            let best = f.best_classical(blocks).map(|e| e.bytes);
            let cells: Vec<String> = names
                .iter()
                .map(|n| {
                    match f
                        .entries
                        .iter()
                        .find(|e| e.blocks == blocks && &e.compressor == n)
                    {
                        None => "–".into(),
                        Some(e) => {
                            let rel = match best {
                                Some(b) if n.starts_with("lmc") && b > 0 => {
                                    format!(" ({:+.1}%)", 100.0 * (e.bytes as f64 / b as f64 - 1.0))
                                }
                                _ => String::new(),
                            };
                            format!("{:.2}%{rel}", 100.0 * e.rate)
                        }
                    }
                })
                .collect();
            s += &format!("| {} | {} | {} |\n", f.name, f.bytes, cells.join(" | "));
        }
        s += &format!(
            "\nSpeed, MB/s (compress / decompress):\n\n| file | {} |\n|---|{}\n",
            names.join(" | "),
            "---:|".repeat(names.len())
        );
        for f in &r.files {
            let cells: Vec<String> = names
                .iter()
                .map(|n| {
                    f.entries
                        .iter()
                        .find(|e| e.blocks == blocks && &e.compressor == n)
                        .map_or("–".into(), |e| {
                            format!("{:.3} / {:.3}", e.compress_mb_s, e.decompress_mb_s)
                        })
                })
                .collect();
            s += &format!("| {} | {} |\n", f.name, cells.join(" | "));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classical_chunks_sum_and_round_trip() {
        let data: Vec<u8> = b"to be or not to be, that is the question. "
            .iter()
            .cycle()
            .take(5000)
            .copied()
            .collect();
        let whole = measure_classical(&Xz::best(), &data, Blocks::Whole).unwrap();
        let chunks = measure_classical(&Xz::best(), &data, Blocks::Chunks).unwrap();
        // Three chunks pay three headers and learn three times.
        assert!(chunks.bytes > whole.bytes, "{chunks:?} vs {whole:?}");
        assert!(whole.rate < 0.1);
    }

    #[test]
    fn lmc_adaptive_beats_xz_on_repetitive_text_and_reports_it() {
        let data: Vec<u8> = (0..3000u32)
            .flat_map(|i| {
                format!("<row id=\"{i}\"><name>item {}</name></row>\n", i % 97).into_bytes()
            })
            .collect();
        let run = LmcRun {
            model: None,
            mode: Mode::Adaptive,
        };
        let lmc = measure_lmc(&run, &data, Blocks::Whole).unwrap();
        let xz = measure_classical(&Xz::best(), &data, Blocks::Whole).unwrap();
        assert!(lmc.bytes < xz.bytes, "{lmc:?} vs {xz:?}");
        let r = Report {
            command: "test".into(),
            date: "now".into(),
            machine: Machine::detect(),
            threads: 1,
            models: vec![],
            files: vec![FileResult {
                name: "rows".into(),
                bytes: data.len() as u64,
                entries: vec![xz, lmc],
            }],
        };
        let md = markdown(&r);
        assert!(md.contains("| rows | "), "{md}");
        assert!(md.contains("lmc adaptive"), "{md}");
    }
}

/// `host-bench files`: its options.
#[derive(clap::Args, Debug, Clone)]
pub struct FilesArgs {
    /// Files (or folders: each file in them) to compress whole.
    pub inputs: Vec<PathBuf>,
    /// Also the raw bytes of these data sets (Table 1's chunks, in order,
    /// the first `--dataset-bytes`): imagenet, librispeech.
    #[arg(long, value_delimiter = ',')]
    pub datasets: Vec<String>,
    /// Bytes taken from each data set.
    #[arg(long, default_value_t = 256 * 1024)]
    pub dataset_bytes: usize,
    /// ImageNet folder.
    #[arg(long, default_value = "../shared/data/imagenet")]
    pub imagenet: PathBuf,
    /// LibriSpeech folder.
    #[arg(long, default_value = "../shared/data/librispeech")]
    pub librispeech: PathBuf,
    /// Shipped model levels for the Transformer rows (1 = 200K, 2 = 800K,
    /// 3 = 3.2M).
    #[arg(long, value_delimiter = ',', default_values = ["1"])]
    pub levels: Vec<u8>,
    /// lmc modes: mixed, model, adaptive.
    #[arg(long, value_delimiter = ',', default_values = ["adaptive", "mixed"])]
    pub modes: Vec<String>,
    /// Also cut every input into 2048-byte chunks.
    #[arg(long)]
    pub chunks: bool,
    /// lmc worker threads (1: speeds per core).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Output folder (files.md, files.json).
    #[arg(long, default_value = "reports/files")]
    pub out: PathBuf,
}

fn parse_mode(s: &str) -> Result<Mode, Error> {
    match s {
        "mixed" => Ok(Mode::Mixed),
        "model" => Ok(Mode::Model),
        "adaptive" => Ok(Mode::Adaptive),
        _ => Err(Error::Data(format!(
            "no lmc mode {s:?}: mixed, model or adaptive"
        ))),
    }
}

/// The inputs `args` name, read whole.
fn inputs(args: &FilesArgs) -> Result<Vec<Input>, Error> {
    use crate::data::{load_imagenet, load_librispeech, Sample};
    let mut v = Vec::new();
    for p in &args.inputs {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Error::io(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for f in files {
                v.push(Input::read(&f)?);
            }
        } else {
            v.push(Input::read(p)?);
        }
    }
    let chunks = args.dataset_bytes.div_ceil(CHUNK);
    for d in &args.datasets {
        let c = match d.as_str() {
            "imagenet" => load_imagenet(&args.imagenet, Sample::First(chunks))?,
            "librispeech" => load_librispeech(&args.librispeech, Sample::First(chunks))?,
            _ => {
                return Err(Error::Data(format!(
                    "no data set {d:?}: imagenet or librispeech"
                )))
            }
        };
        let mut bytes = c.data;
        bytes.truncate(args.dataset_bytes);
        v.push(Input {
            name: format!("{d} ({} bytes of Table 1's chunks, raw)", bytes.len()),
            bytes,
        });
    }
    Ok(v)
}

/// Runs `host-bench files`: every input through every compressor, the
/// report written to `args.out` and returned.
pub fn run(args: &FilesArgs, command: String) -> Result<Report, Error> {
    let modes = args
        .modes
        .iter()
        .map(|m| parse_mode(m))
        .collect::<Result<Vec<_>, _>>()?;
    let mut paths = Vec::new();
    let mut bytes = Vec::new();
    for &level in &args.levels {
        let p = lmc::shipped_path(level)?;
        bytes.push(crate::lm::read_model(&p)?);
        paths.push(p);
    }
    let models = bytes
        .iter()
        .zip(&paths)
        .map(|(b, p)| Int8Source::from_file(p, b))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<String> = args
        .levels
        .iter()
        .map(|&l| {
            lmc::SHIPPED
                .iter()
                .find(|s| s.level == l)
                .map_or(format!("level {l}"), |s| s.name.to_string())
        })
        .collect();
    let mut runs = Vec::new();
    for &mode in &modes {
        if mode == Mode::Adaptive {
            runs.push(LmcRun { model: None, mode });
        } else {
            for (n, m) in names.iter().zip(&models) {
                runs.push(LmcRun {
                    model: Some((n.as_str(), m)),
                    mode,
                });
            }
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .map_err(|e| Error::Data(format!("threads: {e}")))?;
    let mut files = Vec::new();
    let blocks: &[Blocks] = if args.chunks {
        &[Blocks::Whole, Blocks::Chunks]
    } else {
        &[Blocks::Whole]
    };
    for input in inputs(args)? {
        let mut entries = Vec::new();
        for &b in blocks {
            let mut done = |e: Entry| {
                eprintln!(
                    "{}: {} {b:?}: {:.2}%",
                    input.name,
                    e.compressor,
                    100.0 * e.rate
                );
                entries.push(e);
            };
            for c in classical() {
                done(measure_classical(c.as_ref(), &input.bytes, b)?);
            }
            for r in &runs {
                done(pool.install(|| measure_lmc(r, &input.bytes, b))?);
            }
        }
        files.push(FileResult {
            name: input.name,
            bytes: input.bytes.len() as u64,
            entries,
        });
    }
    let report = Report {
        command,
        date: crate::meta::utc_now(),
        machine: Machine::detect(),
        threads: args.threads,
        models: paths,
        files,
    };
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let md = args.out.join("files.md");
    std::fs::write(&md, markdown(&report)).map_err(|e| Error::io(&md, e))?;
    let js = args.out.join("files.json");
    let json =
        serde_json::to_string_pretty(&report).map_err(|e| Error::Data(format!("json: {e}")))?;
    std::fs::write(&js, json).map_err(|e| Error::io(&js, e))?;
    Ok(report)
}
