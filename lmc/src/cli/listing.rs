//! `lmc info` and `lmc -l`: what is in compressed files, read from their
//! headers and records without decoding.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use coder_core::container::{Coding, Mode};
use coder_core::media::{Layout, Region};
use lmc::dest::InputKind;
use lmc::{models, Error};

use super::display;

type Res<T> = Result<T, Error>;

/// A compressed input: a file, or anything readable (stdin for `-`).
fn open_any(path: &Path) -> Res<Box<dyn Read>> {
    match lmc::job::input_kind(path)?.0 {
        InputKind::Stdin => Ok(Box::new(io::stdin().lock())),
        InputKind::Directory => Err(Error::IsDirectory),
        _ => Ok(Box::new(std::fs::File::open(path)?)),
    }
}

/// `lmc info`, `lmc -lv`: every stream's header of each file.
pub fn info(files: &[PathBuf]) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for f in files {
        if let Err(e) = info_one(f) {
            eprintln!("lmc: {}: {e}", display(f));
            status = ExitCode::FAILURE;
        }
    }
    status
}

fn info_one(path: &Path) -> Res<()> {
    let reader = open_any(path)?;
    let mut streams = lmc::Streams::new(BufReader::with_capacity(1 << 16, reader));
    let mut n = 0;
    while let Some(mut r) = streams.next_stream()? {
        n += 1;
        let h = *r.header();
        if n == 1 {
            println!("{}:", display(path));
        } else {
            println!("{} (stream {n}):", display(path));
        }
        print_header(&h);
        let s = lmc::scan(&mut r);
        drop(r);
        let s = s.map_err(|e| streams.locate(e))?;
        println!("  compressed:  {} bytes", s.compressed_len);
        if h.original_len > 0 {
            println!(
                "  rate:        {:.2}% ({:.3} bits/byte)",
                100.0 * s.compressed_len as f64 / h.original_len as f64,
                8.0 * s.compressed_len as f64 / h.original_len as f64
            );
        } else {
            println!("  rate:        - (empty input)");
        }
        println!("  coded/stored chunks: {}/{}", s.coded, s.stored);
    }
    Ok(())
}

/// A row of `-l`'s table, as gzip prints it with the mode and block size
/// before the name.
fn list_row(compressed: u64, original: u64, how: Option<(&str, &str)>, name: &str) {
    // gzip's ratio: the share of the original saved (negative when the
    // file grew).
    let ratio = if original == 0 {
        0.0
    } else {
        100.0 * (original as f64 - compressed as f64) / original as f64
    };
    let (mode, block) = how.unwrap_or(("-", "-"));
    println!("{compressed:>19} {original:>19} {ratio:>5.1}% {mode:<14} {block:>6} {name}");
}

/// `lmc -l`: gzip's table, one line per file (compressed size, original
/// size, ratio, the name it decompresses to), a totals line for several.
pub fn list(files: &[PathBuf], suffix: &str) -> ExitCode {
    let files = if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    };
    let mut status = ExitCode::SUCCESS;
    let (mut compressed, mut original, mut listed) = (0u64, 0u64, 0usize);
    println!(
        "{:>19} {:>19}  ratio {:<14} {:>6} uncompressed_name",
        "compressed", "uncompressed", "mode", "block"
    );
    for f in &files {
        match list_one(f) {
            Ok(l) => {
                let shown = display(f);
                let name = shown.strip_suffix(suffix).unwrap_or(&shown);
                let how = l.how.as_ref().map(|(_, m, b)| (m.as_str(), b.as_str()));
                list_row(l.compressed, l.original, how, name);
                compressed += l.compressed;
                original += l.original;
                listed += 1;
            }
            Err(e) => {
                eprintln!("lmc: {}: {e}", display(f));
                status = ExitCode::FAILURE;
            }
        }
    }
    if listed > 1 {
        list_row(compressed, original, None, "(totals)");
    }
    status
}

/// Compressed and original bytes of all the streams of `path` (records
/// are walked and their lengths checked, not decoded).
fn list_one(path: &Path) -> Res<Listed> {
    let reader = open_any(path)?;
    let mut streams = lmc::Streams::new(BufReader::with_capacity(1 << 16, reader));
    let mut l = Listed::default();
    while let Some(mut r) = streams.next_stream()? {
        let h = *r.header();
        l.original += h.original_len;
        // Streams of different models or codings are blocks that each
        // kept their own (`lmc::choose`), or files concatenated.
        let shape = (
            Some(h.fingerprint),
            coding_words(h.coding),
            size_words(h.chunk_size),
        );
        l.how = Some(match l.how.take() {
            None => shape,
            Some(first) if first == shape => first,
            Some((_, _, size)) => {
                let size = if size == shape.2 { size } else { "-".into() };
                (None, "per-block".into(), size)
            }
        });
        let s = lmc::scan(&mut r);
        drop(r);
        l.compressed += s.map_err(|e| streams.locate(e))?.compressed_len;
    }
    Ok(l)
}

/// What `-l` shows of a file.
#[derive(Default)]
struct Listed {
    compressed: u64,
    original: u64,
    /// Model (`None` when the streams' differ), mode (`per-block` when
    /// the streams' differ) and block size (`-` when they differ).
    how: Option<(Option<u64>, String, String)>,
}

/// A stream's coding in a few words, for `-l` and `info`.
pub fn coding_words(c: Coding) -> String {
    let mode = match c.mode {
        Mode::Model => "model".to_string(),
        Mode::Mixed => format!("mixed/{}", c.preset),
        Mode::Adaptive => format!("adaptive/{}", c.preset),
        Mode::Tokens => "tokens".to_string(),
        _ => "unknown".to_string(),
    };
    let mode = match c.region.map(|r| r.layout) {
        Some(Layout::Image { .. }) => mode + "+image",
        Some(Layout::Audio { .. }) => mode + "+audio",
        None => mode,
    };
    if c.chained {
        mode + "+chain"
    } else {
        mode
    }
}

/// A media region in words, for `info`.
pub fn region_words(r: Region) -> String {
    let what = match r.layout {
        Layout::Image { width, channels } => format!(
            "{width}-pixel rows of {}",
            match channels {
                1 => "grey",
                2 => "grey + alpha",
                3 => "RGB",
                _ => "RGBA",
            }
        ),
        Layout::Audio { channels, bytes } => format!("{channels}-channel {}-bit PCM", 8 * bytes),
    };
    let end = r.start.saturating_add(r.len);
    format!(
        "bytes {}..{end} are {what}, coded by the mixer's {} model",
        r.start,
        match r.layout {
            Layout::Image { .. } => "image",
            Layout::Audio { .. } => "audio",
        }
    )
}

/// A block size as `-b` takes it (`64K`, `1M`, or bytes).
pub fn size_words(n: u32) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}M", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}K", n >> 10),
        n => n.to_string(),
    }
}

fn print_header(h: &coder_core::container::Header) {
    if h.coding.mode.uses_model() {
        let known = models::identify(h.fingerprint);
        println!(
            "  model:       {:016x} ({})",
            h.fingerprint,
            known.as_deref().unwrap_or("not a shipped model found here")
        );
        // Unless the user put the retired model where lmc looks.
        let retired = lmc::shelf::retired(h.fingerprint)
            .filter(|_| lmc::find_shipped(h.fingerprint).is_none());
        if let Some(e) = retired {
            println!(
                "  bring back:  {}, then decompress with --model {}",
                e.bring_back(),
                e.file_name()
            );
        }
    } else {
        println!("  model:       none (adaptive models alone)");
    }
    println!("  format:      lmc container version {}", h.version());
    let what = match h.coding.mode {
        Mode::Model => "the Transformer alone".to_string(),
        Mode::Mixed => format!(
            "the Transformer mixed with adaptive context and match models (preset {})",
            h.coding.preset
        ),
        Mode::Adaptive => format!(
            "adaptive context and match models alone (preset {})",
            h.coding.preset
        ),
        Mode::Tokens => {
            "a token-level Transformer alone, each block cut into its BPE tokens; the fingerprint covers the model and its tokenizer".to_string()
        }
        _ => "unknown".to_string(),
    };
    let chained = if h.coding.chained {
        ", each block starting from the previous block's last window"
    } else {
        ""
    };
    println!(
        "  mode:        {} ({what}{chained})",
        coding_words(h.coding)
    );
    if let Some(r) = h.coding.region {
        println!("  media:       {}", region_words(r));
    }
    println!("  original:    {} bytes", h.original_len);
    println!("  chunk size:  {} bytes", h.chunk_size);
    println!("  chunks:      {}", h.chunk_count());
    println!("  crc32:       {:08x}", h.crc32);
}
