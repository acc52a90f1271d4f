//! `host-bench choice`: `lmc`'s model per block ([`lmc::choose`]) on raw
//! data in the paper's byte formats, beside the level's text model alone
//! (`-M mixed`), the adaptive models alone (`-M adaptive`), `xz -9e` and,
//! on sound, FLAC. The inputs are the evaluation sets, which no model
//! trained on: LibriSpeech as 8-bit samples, ImageNet as grey 32 x 64
//! patches (`--kib` KiB of evenly spaced 2048-byte chunks each), held-out
//! enwik8 (its first `--kib` KiB), and the three one after the other. Every
//! output is decoded back and compared; Markdown and JSON.

use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use coder_core::container::Mode;
use lmc::choose::{compress_choosing, shipped_candidates};
use lmc::{Int8Source, Media, Settings};
use serde::Serialize;

use crate::data::{load_imagenet, load_librispeech, Sample, CHUNK, ENWIK_EVAL_START};
use crate::media::find_tool;
use crate::meta::{utc_now, Machine};
use crate::Error;

/// `lmc`'s default block, as the command codes files.
const BLOCK: u32 = 1 << 20;

/// `host-bench choice`'s options.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "choice")]
pub struct ChoiceArgs {
    /// The data folder (`imagenet/`, `librispeech/`, `enwik8/enwik8.head`).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// KiB of each kind (whole 2048-byte chunks).
    #[arg(long, default_value_t = 1024)]
    pub kib: usize,
    /// Only these inputs (`speech.raw`, `patches.raw`, `text.raw`,
    /// `mixed.raw`; all when none is given).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Report folder (`choice.md`, `choice.json`).
    #[arg(long, default_value = "reports/choice")]
    pub out: PathBuf,
}

/// One compressor on one input.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The input's name.
    pub input: String,
    /// Its bytes.
    pub bytes: u64,
    /// Which compressor, as a user would type it.
    pub compressor: String,
    /// Compressed bytes.
    pub compressed: u64,
    /// Seconds to compress.
    pub compress_s: f64,
    /// Decoded back and equal.
    pub verified: bool,
    /// What `lmc`'s blocks chose (its default only).
    pub blocks: Option<String>,
}

/// What `host-bench choice` measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `host-bench` and its version.
    pub tool: String,
    /// The command line.
    pub command: String,
    /// When it started (UTC).
    pub date: String,
    /// Where.
    pub machine: Machine,
    /// `lmc`'s threads.
    pub threads: usize,
    /// The models `lmc` tried, by name and file.
    pub models: Vec<String>,
    /// One row per input and compressor.
    pub rows: Vec<Row>,
}

/// The four inputs: `speech.raw`, `patches.raw`, `text.raw`, `mixed.raw`.
pub fn inputs(data: &Path, kib: usize) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let n = (kib << 10) / CHUNK;
    let speech = load_librispeech(&data.join("librispeech"), Sample::Even(n))?.data;
    let patches = load_imagenet(&data.join("imagenet"), Sample::Even(n))?.data;
    let path = data.join("enwik8/enwik8.head");
    let enwik = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let start = ENWIK_EVAL_START.min(enwik.len());
    let text = enwik[start..(start + (kib << 10)).min(enwik.len())].to_vec();
    let mixed = [&speech[..], &patches[..], &text[..]].concat();
    Ok(vec![
        ("speech.raw".into(), speech),
        ("patches.raw".into(), patches),
        ("text.raw".into(), text),
        ("mixed.raw".into(), mixed),
    ])
}

/// Runs it; writes nothing (see [`write_all`]).
pub fn run(args: &ChoiceArgs, command: String) -> Result<Report, Error> {
    let date = utc_now();
    let text_path = lmc::shipped_path(1)?;
    let text_bytes = lmc::load_model_bytes(&text_path)?;
    let text = Int8Source::from_file(&text_path, &text_bytes)?;
    let files = lmc::load_data_models();
    let data: Vec<(&'static str, Int8Source<'_>)> = files
        .iter()
        .map(|(name, path, bytes)| Ok((*name, Int8Source::from_file(path, bytes)?)))
        .collect::<Result<_, lmc::Error>>()?;
    let mut models = vec![format!("text model: {}", text_path.display())];
    models.extend(
        files
            .iter()
            .map(|(name, path, _)| format!("{name}: {}", path.display())),
    );
    let mut rows = Vec::new();
    for (name, bytes) in inputs(&args.data, args.kib)? {
        if !args.only.is_empty() && !args.only.contains(&name) {
            continue;
        }
        eprintln!("{name}: {} bytes", bytes.len());
        let row = |compressor: &str, compressed: u64, compress_s: f64, blocks| Row {
            input: name.clone(),
            bytes: bytes.len() as u64,
            compressor: compressor.into(),
            compressed,
            compress_s,
            verified: true,
            blocks,
        };
        let settings = Settings::new(BLOCK).fit_block(true).media(Media::Adaptive);
        // lmc's default: a model per block.
        let candidates = shipped_candidates(Some(&text), &data, BLOCK);
        let t = Instant::now();
        let mut packed = Cursor::new(Vec::new());
        let chosen = compress_choosing(&candidates, &bytes[..], &mut packed, &settings, |_| {})?;
        let secs = t.elapsed().as_secs_f64();
        let all: Vec<&Int8Source<'_>> = std::iter::once(&text)
            .chain(data.iter().map(|d| &d.1))
            .collect();
        check(&packed.into_inner(), &bytes, &all)?;
        rows.push(row(
            "lmc",
            chosen.summary.compressed_len,
            secs,
            Some(chosen.words(&candidates)),
        ));
        // One coding for every block.
        for (label, model, coding) in [
            ("lmc -M mixed", Some(&text), candidates[0].coding),
            (
                "lmc -M adaptive",
                None,
                candidates[candidates.len() - 1].coding,
            ),
        ] {
            let t = Instant::now();
            let mut packed = Cursor::new(Vec::new());
            let s = lmc::compress_with(
                model,
                &bytes[..],
                &mut packed,
                &settings.coding(coding),
                |_| {},
            )?;
            let secs = t.elapsed().as_secs_f64();
            check(&packed.into_inner(), &bytes, &all)?;
            rows.push(row(label, s.compressed_len, secs, None));
        }
        for (label, tool, enc, dec) in peers(&name) {
            if let Some((size, secs)) = peer(tool, enc, dec, &bytes)? {
                rows.push(row(label, size, secs, None));
            }
        }
    }
    Ok(Report {
        tool: format!("host-bench {}", env!("CARGO_PKG_VERSION")),
        command,
        date,
        machine: Machine::detect(),
        threads: rayon::current_num_threads(),
        models,
        rows,
    })
}

/// Decodes `packed` (each stream with the model its header names among
/// `models`, or none) and compares it with `original`.
fn check(packed: &[u8], original: &[u8], models: &[&Int8Source<'_>]) -> Result<(), Error> {
    let mut back = Vec::with_capacity(original.len());
    lmc::decompress_each(packed, &mut back, |r, w| {
        let h = *r.header();
        let model = match h.coding.mode {
            Mode::Adaptive => None,
            _ => Some(
                *models
                    .iter()
                    .find(|m| lmc::ChunkModel::fingerprint(**m) == h.fingerprint)
                    .ok_or(lmc::Error::UnknownModel(h.fingerprint))?,
            ),
        };
        lmc::decode_stream(model, r, w, &|_| {})
    })?;
    if back != original {
        return Err(Error::codec("lmc", "round trip failed"));
    }
    Ok(())
}

/// A command-line peer: its label, tool, and the arguments that encode
/// and decode standard input to standard output.
type Peer = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// Raw unsigned 8-bit mono samples, for FLAC.
const FLAC_RAW: [&str; 6] = [
    "--force-raw-format",
    "--endian=little",
    "--sign=unsigned",
    "--channels=1",
    "--bps=8",
    "--sample-rate=16000",
];

/// The peers of an input: `xz -9e`, and FLAC on the sound.
fn peers(name: &str) -> Vec<Peer> {
    const FLAC_ENC: [&str; 9] = [
        "-8",
        "-s",
        "-c",
        FLAC_RAW[0],
        FLAC_RAW[1],
        FLAC_RAW[2],
        FLAC_RAW[3],
        FLAC_RAW[4],
        FLAC_RAW[5],
    ];
    const FLAC_DEC: [&str; 6] = ["-d", "-s", "-c", FLAC_RAW[0], FLAC_RAW[1], FLAC_RAW[2]];
    let mut p: Vec<Peer> = vec![("xz -9e", "xz", &["-9e", "-c"], &["-d", "-c"])];
    if name == "speech.raw" {
        p.push(("flac -8", "flac", &FLAC_ENC, &FLAC_DEC));
    }
    p
}

/// `tool` on `input`, standard input to standard output, decoded back and
/// compared: the size and seconds, or `None` when it is not installed.
fn peer(tool: &str, enc: &[&str], dec: &[&str], input: &[u8]) -> Result<Option<(u64, f64)>, Error> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Some(path) = find_tool(tool) else {
        eprintln!("{tool}: not installed, its row left out");
        return Ok(None);
    };
    let run = |args: &[&str], data: &[u8]| -> Result<Vec<u8>, Error> {
        let mut child = Command::new(&path)
            .args(args)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::codec(tool, e))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| Error::codec(tool, "no stdin"))?;
        let data = data.to_vec();
        let feed = std::thread::spawn(move || stdin.write_all(&data));
        let out = child
            .wait_with_output()
            .map_err(|e| Error::codec(tool, e))?;
        let fed = feed
            .join()
            .map_err(|_| Error::codec(tool, "writer panicked"))?;
        fed.map_err(|e| Error::codec(tool, e))?;
        if !out.status.success() {
            return Err(Error::codec(
                tool,
                format!("{tool} {}: {}", args.join(" "), out.status),
            ));
        }
        Ok(out.stdout)
    };
    let t = Instant::now();
    let packed = run(enc, input)?;
    let secs = t.elapsed().as_secs_f64();
    if run(dec, &packed)? != input {
        return Err(Error::codec(tool, "round trip failed"));
    }
    Ok(Some((packed.len() as u64, secs)))
}

/// The report as Markdown: one row per input and compressor.
pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "`{}` ({}, {}; {} on {}, {} cores, {} lmc threads)\n",
        r.command, r.date, r.tool, r.machine.os, r.machine.cpu, r.machine.cores, r.threads
    );
    let _ = writeln!(
        s,
        "| input | compressor | bytes | rate | compress | what the blocks chose |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---|");
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} ({} B) | {} | {} | {:.2}% | {:.1} s | {} |",
            row.input,
            row.bytes,
            row.compressor,
            row.compressed,
            100.0 * row.compressed as f64 / row.bytes.max(1) as f64,
            row.compress_s,
            row.blocks.as_deref().unwrap_or("")
        );
    }
    let _ = writeln!(s, "\nModels: {}.", r.models.join("; "));
    s
}

/// Writes `choice.md` and `choice.json` under `dir`.
pub fn write_all(r: &Report, dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let md = dir.join("choice.md");
    std::fs::write(&md, markdown(r)).map_err(|e| Error::io(&md, e))?;
    let json = dir.join("choice.json");
    let text = serde_json::to_string_pretty(r).map_err(|e| Error::Data(e.to_string()))?;
    std::fs::write(&json, text).map_err(|e| Error::io(&json, e))?;
    Ok(())
}
