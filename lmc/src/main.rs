//! `lmc`: compress and decompress files with a byte-level language model
//! (an int8 Transformer driving an arithmetic coder), in gzip's habits.
//!
//! ```text
//! lmc FILE...            compress each FILE to FILE.lmc (and remove FILE unless -k)
//! lmc -d FILE.lmc...     restore FILE (and remove FILE.lmc unless -k)
//! lmc < in > out.lmc     stdin to stdout; -c writes to stdout, -o FILE to FILE
//! lmc -t FILE.lmc        test: decode and verify, write nothing
//! lmc info FILE.lmc      print the header: model, sizes, rate, chunks
//! ```
//!
//! Levels pick the shipped model: `-1` 200K (default), `-2` 800K, `-3`
//! 3.2M; `--model FILE` any model file; `-d`, `-t` find the shipped model
//! a file was made with by themselves. Output files appear only when
//! complete and verified: they are written to a temporary file beside the
//! destination that is renamed at the end and deleted on any error.
//! Decompression to stdout streams (a batch of chunks at a time; the
//! CRC-32 is checked at the end, as gzip's trailer); compression to stdout
//! is spooled, since the header is written last.
//!
//! Exit status: 0 success, 1 an error, 2 a usage error or a warning (as
//! gzip), 128 + N on signal N, 141 (SIGPIPE's) when stdout's reader has
//! gone.

mod cli;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::error::{ContextKind, ErrorKind};
use clap::{Args, Parser, Subcommand};
use coder_core::container::{Coding, Mode, HEADER_LEN};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle, TermLike};
use lmc::dest::is_stdin;
use lmc::{models, AtomicFile, Dest, Error, Int8Source, LogLoss, Rules, Settings};
/// Inputs at least this large get a progress bar on a terminal.
const PROGRESS_MIN_BYTES: u64 = 1 << 20;
/// Exit status when stdout's reader has gone: 128 + SIGPIPE (13), what a
/// shell reports for gzip in `gzip -dc f | head`.
const BROKEN_PIPE_STATUS: u8 = 141;

#[derive(Parser, Debug)]
#[command(
    name = "lmc",
    version = lmc::model_set::version_text(),
    about = "Compress files with a byte-level language model (int8 Transformer + arithmetic coding)",
    args_conflicts_with_subcommands = true,
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    #[command(flatten)]
    opts: Opts,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Compress FILEs (FILE -> FILE.lmc); the default without -d.
    Compress(Opts),
    /// Decompress FILEs (FILE.lmc -> FILE); same as -d.
    Decompress(Opts),
    /// Print the header of compressed FILEs: model, sizes, rate, chunks.
    Info {
        /// Compressed files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Args, Debug, Clone)]
struct Opts {
    /// Files to process; none or "-" reads stdin and writes stdout.
    files: Vec<PathBuf>,
    /// Decompress.
    #[arg(help_heading = "Operation", short = 'd', long)]
    decompress: bool,
    /// Test compressed files: decode and verify, write nothing (silent
    /// unless -v).
    #[arg(help_heading = "Operation", short = 't', long)]
    test: bool,
    /// List compressed files: sizes, ratio, name (with -v: headers, as
    /// `lmc info`).
    #[arg(help_heading = "Operation", short = 'l', long)]
    list: bool,
    /// Write to standard output, keep input files.
    #[arg(help_heading = "Output", short = 'c', long)]
    stdout: bool,
    /// Write to FILE (one input only; not with -c).
    #[arg(help_heading = "Output", short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite existing outputs; write compressed data to a terminal.
    #[arg(help_heading = "Output", short = 'f', long)]
    force: bool,
    /// Keep (do not delete) input files.
    #[arg(help_heading = "Output", short = 'k', long, overrides_with = "rm")]
    keep: bool,
    /// Remove input files once their outputs are written (the default;
    /// undoes an earlier -k).
    #[arg(help_heading = "Output", long, overrides_with = "keep")]
    rm: bool,
    /// Suffix of compressed files (default .lmc).
    #[arg(help_heading = "Output", short = 'S', long, value_name = "SUF")]
    suffix: Option<String>,
    /// Operate on directories recursively.
    #[arg(help_heading = "Operation", short = 'r', long)]
    recursive: bool,
    /// Model file to code with (instead of a shipped one).
    #[arg(help_heading = "Tuning", short = 'm', long, value_name = "FILE", overrides_with_all = LEVELS)]
    model: Option<PathBuf>,
    /// Tokenizer of a token-level model (default: NAME.tokenizer.json
    /// beside the model file, when it exists); its streams are coded token
    /// by token, and the tokenizer is part of the model's fingerprint.
    #[arg(help_heading = "Tuning", long, value_name = "FILE", requires = "model")]
    tokenizer: Option<PathBuf>,
    /// Shipped model by level: 1 = 200K (default), 2 = 800K, 3 = 3.2M.
    #[arg(help_heading = "Tuning", short = 'L', long, value_parser = parse_level, overrides_with_all = LEVELS)]
    level: Option<u8>,
    /// Same as --level 1 (the 200K model).
    #[arg(help_heading = "Tuning", short = '1', overrides_with_all = LEVELS)]
    l1: bool,
    /// Same as --level 2 (the 800K model).
    #[arg(help_heading = "Tuning", short = '2', overrides_with_all = LEVELS)]
    l2: bool,
    /// Same as --level 3 (the 3.2M model).
    #[arg(help_heading = "Tuning", short = '3', overrides_with_all = LEVELS)]
    l3: bool,
    /// The fastest level (-1).
    #[arg(help_heading = "Tuning", long, overrides_with_all = LEVELS)]
    fast: bool,
    /// The largest model (-3; today the 800K, -2, still compresses text best).
    #[arg(help_heading = "Tuning", long, overrides_with_all = LEVELS)]
    best: bool,
    /// Chunk (block) size when compressing (bytes; K and M suffixes
    /// allowed): bigger blocks compress better, smaller ones code in
    /// parallel on more threads. Default: 1M, or a model's context when the
    /// model cannot stream past it.
    #[arg(help_heading = "Tuning", short = 'b', long, value_name = "BYTES", value_parser = parse_size, allow_hyphen_values = true)]
    chunk_size: Option<u32>,
    /// What codes each block: the Transformer mixed with adaptive context
    /// and match models (mixed), the Transformer alone (model, the paper's
    /// coder), or the adaptive models alone (adaptive: no Transformer,
    /// fast).
    #[arg(help_heading = "Tuning", short = 'M', long, value_enum, default_value_t = CliMode::Mixed)]
    mode: CliMode,
    /// Start each block from the previous block's last window (the
    /// Transformer reads it first): better at small blocks, but blocks
    /// then decode one after the other.
    #[arg(help_heading = "Tuning", long)]
    chain: bool,
    /// Worker threads (default: all cores).
    #[arg(help_heading = "Tuning", short = 'T', long, value_name = "N", value_parser = parse_threads, allow_hyphen_values = true)]
    threads: Option<usize>,
    /// Show a progress bar on stderr even when it is not a terminal.
    #[arg(help_heading = "Output", long, overrides_with = "no_progress")]
    progress: bool,
    /// Never show a progress bar.
    #[arg(help_heading = "Output", long, overrides_with = "progress")]
    no_progress: bool,
    /// Print only errors.
    #[arg(help_heading = "Output", short = 'q', long, overrides_with = "verbose")]
    quiet: bool,
    /// Print sizes, rate and speed of every file.
    #[arg(help_heading = "Output", short = 'v', long, overrides_with = "quiet")]
    verbose: bool,
}

/// The default block size, chosen by measurement (lmc/README.md): a
/// block this large holds most files whole, where the adaptive models and
/// the streaming Transformer gain most; bigger files still code in
/// parallel, a block per thread.
const DEFAULT_BLOCK: u32 = 1 << 20;

/// `--mode`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum CliMode {
    /// The Transformer mixed with adaptive context and match models.
    Mixed,
    /// The Transformer alone, one symbol per byte (the paper's coder).
    Model,
    /// The adaptive context and match models alone: no Transformer.
    Adaptive,
}

impl CliMode {
    fn coding(self, chain: bool) -> Coding {
        let (mode, preset) = match self {
            CliMode::Mixed => (Mode::Mixed, lmc::coding::HOST_PRESET),
            CliMode::Model => (Mode::Model, 0),
            CliMode::Adaptive => (Mode::Adaptive, lmc::coding::HOST_PRESET),
        };
        Coding {
            mode,
            preset,
            chained: chain && mode.uses_model(),
        }
    }
}

/// The options that choose a model: the last one given wins.
const LEVELS: [&str; 7] = ["model", "level", "l1", "l2", "l3", "fast", "best"];

fn parse_level(s: &str) -> Result<u8, String> {
    match s.trim() {
        "1" => Ok(1),
        "2" => Ok(2),
        "3" => Ok(3),
        _ => Err(format!(
            "no level {s:?}: levels are 1 (200K, the default), 2 (800K) and 3 (3.2M)"
        )),
    }
}

fn parse_threads(s: &str) -> Result<usize, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of threads (0 or more; 0 = all cores)"))
}

fn parse_size(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        None => (t, 1u64),
        Some((i, _)) => {
            let m = match t[i..].to_ascii_lowercase().as_str() {
                "k" | "kb" | "kib" => 1 << 10,
                "m" | "mb" | "mib" => 1 << 20,
                _ => return Err(size_help(s)),
            };
            (&t[..i], m)
        }
    };
    let n: u64 = num.parse().map_err(|_| size_help(s))?;
    let v = n.saturating_mul(mult);
    let max = u64::from(coder_core::container::MAX_CHUNK_SIZE);
    if v == 0 || v > max {
        return Err(format!("chunk size must be 1 to {max} bytes"));
    }
    Ok(v as u32)
}

fn size_help(s: &str) -> String {
    format!(
        "{s:?} is not a chunk size: give a number of bytes from 1 to {} (e.g. 2048, 4K, 1M)",
        coder_core::container::MAX_CHUNK_SIZE
    )
}

type Res<T> = Result<T, Error>;

/// A model loaded once for all files.
struct Loaded {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Opts {
    /// The block size: `-b`, else the default, shortened to the context of
    /// a model that cannot stream past it.
    fn block_size(&self, model: Option<&Int8Source<'_>>) -> u32 {
        use lmc::ChunkModel;
        let limit = match (self.mode, model) {
            (CliMode::Adaptive, _) | (_, None) => None,
            (_, Some(m)) => m.max_chunk(),
        };
        self.chunk_size
            .unwrap_or_else(|| limit.map_or(DEFAULT_BLOCK, |l| l.min(DEFAULT_BLOCK)))
    }

    fn level(&self) -> u8 {
        if self.l3 || self.best {
            3
        } else if self.l2 {
            2
        } else if self.l1 || self.fast {
            1
        } else {
            self.level.unwrap_or(models::DEFAULT_LEVEL)
        }
    }

    /// Whether a model was named (`--model` or a level); otherwise
    /// decompression finds the shipped model a file was made with.
    fn model_named(&self) -> bool {
        self.model.is_some()
            || self.level.is_some()
            || self.l1
            || self.l2
            || self.l3
            || self.fast
            || self.best
    }

    fn model_path(&self) -> Res<PathBuf> {
        match &self.model {
            Some(p) => Ok(p.clone()),
            None => models::shipped_path(self.level()),
        }
    }

    fn load(&self) -> Res<Loaded> {
        let path = self.model_path()?;
        Ok(Loaded {
            bytes: models::load_model_bytes(&path)?,
            path,
        })
    }

    fn rules(&self, decompress: bool) -> Rules {
        Rules {
            decompress,
            test: self.test,
            output: self.output.clone(),
            stdout: self.stdout,
            force: self.force,
            keep: self.keep,
            suffix: self.suffix.clone(),
        }
    }
}

/// A stderr "terminal" for when a progress bar is asked for but stderr is
/// not a terminal: one plain line per redraw.
#[derive(Debug)]
struct PlainStderr;

impl TermLike for PlainStderr {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        writeln!(io::stderr(), "{s}")
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        if s.trim().is_empty() {
            return Ok(());
        }
        writeln!(io::stderr(), "{}", s.trim_end())
    }
    fn clear_line(&self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}

fn progress_bar(opts: &Opts, len: Option<u64>, what: &str) -> ProgressBar {
    let tty = io::stderr().is_terminal();
    let large = len.is_none_or(|n| n >= PROGRESS_MIN_BYTES);
    let show = opts.progress || (!opts.no_progress && !opts.quiet && tty && large);
    if !show {
        return ProgressBar::hidden();
    }
    let target = if tty {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::term_like_with_hz(Box::new(PlainStderr), 1)
    };
    let pb = ProgressBar::with_draw_target(len, target).with_finish(ProgressFinish::AndClear);
    let style = match len {
        Some(_) => ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        ),
        None => ProgressStyle::with_template("{msg} {bytes} {binary_bytes_per_sec} {elapsed}"),
    };
    if let Ok(s) = style {
        pb.set_style(s.progress_chars("=> "));
    }
    pb.set_message(what.to_string());
    pb
}

fn display(p: &Path) -> String {
    if is_stdin(p) {
        "stdin".into()
    } else {
        p.display().to_string()
    }
}

fn refuse_existing(dest: &Path, opts: &Opts) -> Res<()> {
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Err(Error::OutputIsDirectory(dest.to_path_buf())),
        Ok(_) if !opts.force => Err(Error::OutputExists(dest.to_path_buf())),
        _ => Ok(()),
    }
}

/// An error creating or renaming the output `dest`, named after it.
fn output_error(dest: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::AlreadyExists {
        Error::OutputAppeared(dest.to_path_buf())
    } else if dest.is_dir() || e.kind() == io::ErrorKind::IsADirectory {
        Error::OutputIsDirectory(dest.to_path_buf())
    } else {
        Error::Output {
            path: dest.to_path_buf(),
            source: e,
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Opens the input (stdin for "-"): a reader, its metadata and its length
/// when known. Refuses what is not a regular file.
fn open_input(path: &Path) -> Res<(Box<dyn Read>, Option<fs::Metadata>)> {
    if is_stdin(path) {
        return Ok((Box::new(io::stdin().lock()), None));
    }
    let meta = fs::metadata(path)?;
    if meta.is_dir() {
        return Err(Error::IsDirectory);
    }
    if !meta.is_file() {
        return Err(Error::NotRegularFile);
    }
    let f = File::open(path)?;
    Ok((Box::new(f), Some(meta)))
}

/// Writes a verified temporary file to stdout.
fn copy_to_stdout(mut spool: File) -> Res<()> {
    spool.seek(SeekFrom::Start(0))?;
    let mut out = io::stdout().lock();
    io::copy(&mut spool, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Runs `write` into the output of `dest` (stdout or a file) and keeps
/// the output only if it succeeds: through a spool copied to stdout at the
/// end, or an [`AtomicFile`] renamed over the destination (with the
/// input's permissions and time, from `meta`). Returns `write`'s result
/// and, for a file, the length written.
fn write_verified<T>(
    dest: &Dest,
    opts: &Opts,
    meta: Option<&fs::Metadata>,
    pb: &ProgressBar,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> Res<T>,
) -> Res<(T, Option<u64>)> {
    let run = |file: &mut File| -> Res<T> {
        let mut w = BufWriter::new(file);
        let t = write(&mut w)?;
        w.flush()?;
        pb.finish_and_clear();
        Ok(t)
    };
    match dest {
        Dest::Nowhere => Err(Error::TestWithoutDecompress),
        Dest::Stdout => {
            let mut spool =
                tempfile::tempfile().map_err(|e| output_error(&std::env::temp_dir(), e))?;
            let t = run(&mut spool)?;
            copy_to_stdout(spool)?;
            Ok((t, None))
        }
        Dest::File(d) => {
            let mut out = AtomicFile::create(d).map_err(|e| output_error(d, e))?;
            let t = run(out.file())?;
            let len = out.file().metadata()?.len();
            if let Some(m) = meta {
                out.copy_metadata(m)?;
            }
            out.commit(opts.force).map_err(|e| output_error(d, e))?;
            Ok((t, Some(len)))
        }
    }
}

/// Checks, before its input is removed, that `dest` is the file just
/// committed: a regular file of the length written.
fn verify_output(dest: &Path, written: Option<u64>) -> Res<()> {
    let found = fs::symlink_metadata(dest).map_err(|e| output_error(dest, e))?;
    match written {
        Some(n) if found.is_file() && found.len() == n => Ok(()),
        _ => Err(Error::Output {
            path: dest.to_path_buf(),
            source: io::Error::other(format!(
                "it is not the file just written ({} bytes expected, {} found); input kept",
                written.unwrap_or(0),
                found.len()
            )),
        }),
    }
}

fn rate_line(name: &str, original: u64, compressed: u64, secs: f64) -> String {
    let rate = if original == 0 {
        0.0
    } else {
        100.0 * compressed as f64 / original as f64
    };
    format!(
        "{name}: {original} -> {compressed} bytes ({rate:.2}%, {:.3} bits/byte), {:.3} MB/s",
        if original == 0 {
            0.0
        } else {
            8.0 * compressed as f64 / original as f64
        },
        original as f64 / 1e6 / secs.max(1e-9)
    )
}

/// `progress`'s callback for the library: advances the bar.
fn tick(pb: &ProgressBar) -> impl Fn(u64) + Sync + '_ {
    move |n| pb.inc(n)
}

fn compress_one(
    input: &Path,
    opts: &Opts,
    model: Option<&Int8Source<'_>>,
    dest: &Dest,
) -> Res<Option<u64>> {
    let (reader, meta) = open_input(input)?;
    let len = meta.as_ref().map(|m| m.len());
    let pb = progress_bar(opts, len, &format!("compressing {}", display(input)));
    let start = Instant::now();
    let reader = BufReader::with_capacity(1 << 16, reader);
    let log_loss = if opts.verbose {
        LogLoss::Measure
    } else {
        LogLoss::Skip
    };
    let settings = Settings::new(opts.block_size(model))
        .coding(opts.mode.coding(opts.chain))
        .log_loss(log_loss);
    let (summary, written) = write_verified(dest, opts, meta.as_ref(), &pb, |w| {
        lmc::compress_with(model, reader, w, &settings, tick(&pb))
    })?;
    if opts.verbose {
        let mut line = rate_line(
            &display(input),
            summary.header.original_len,
            summary.compressed_len,
            start.elapsed().as_secs_f64(),
        );
        if let (Some(bits), n @ 1..) = (summary.ideal_bits, summary.header.original_len) {
            line += &format!(", log-loss {:.3} bits/byte", bits / n as f64);
        }
        eprintln!("{line}");
    }
    Ok(written)
}

/// [`compress_one`] with a token-level model: the container's token
/// coding, blocks of `-b` bytes (default 1M).
fn compress_tokens_one(
    input: &Path,
    opts: &Opts,
    model: &lmc::tokens::TokenSource<'_>,
    dest: &Dest,
) -> Res<Option<u64>> {
    let (reader, meta) = open_input(input)?;
    let len = meta.as_ref().map(|m| m.len());
    let pb = progress_bar(opts, len, &format!("compressing {}", display(input)));
    let start = Instant::now();
    let reader = BufReader::with_capacity(1 << 16, reader);
    let block = opts.chunk_size.unwrap_or(DEFAULT_BLOCK);
    let (summary, written) = write_verified(dest, opts, meta.as_ref(), &pb, |w| {
        lmc::tokens::compress_tokens(model, reader, w, block, tick(&pb))
    })?;
    if opts.verbose {
        let mut line = rate_line(
            &display(input),
            summary.header.original_len,
            summary.compressed_len,
            start.elapsed().as_secs_f64(),
        );
        if let (Some(bits), n @ 1..) = (summary.ideal_bits, summary.header.original_len) {
            line += &format!(
                ", log-loss {:.3} bits/byte ({}-token vocabulary)",
                bits / n as f64,
                model.bpe().vocab()
            );
        }
        eprintln!("{line}");
    }
    Ok(written)
}

/// Counts the bytes read through it (the compressed size of a stream).
struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

/// The models of a run: the one named (`--model`, a level), or, when
/// decompressing without one, the shipped model each file was made with,
/// found by its fingerprint and loaded once.
struct Models<'a> {
    named: Option<Int8Source<'a>>,
    /// The named model with its tokenizer, when it is a token-level one.
    tokens: Option<lmc::tokens::TokenSource<'a>>,
    shipped: Mutex<HashMap<u64, Arc<Loaded>>>,
}

impl Models<'_> {
    /// The shipped model whose fingerprint is `fp` (a stream's), loaded
    /// once.
    fn shipped_for(&self, fp: u64) -> Res<Arc<Loaded>> {
        let mut cache = self.shipped.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = cache.get(&fp) {
            return Ok(Arc::clone(m));
        }
        let (_, path, bytes) = lmc::find_shipped(fp).ok_or_else(|| models::not_found(fp))?;
        let m = Arc::new(Loaded { path, bytes });
        cache.insert(fp, Arc::clone(&m));
        Ok(m)
    }
}

fn decompress_one(input: &Path, opts: &Opts, models: &Models<'_>, dest: &Dest) -> Res<Option<u64>> {
    let (reader, meta) = open_input(input)?;
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    // The header, read ahead: it names the model and gives the bar its
    // length.
    let mut head = Vec::with_capacity(HEADER_LEN);
    (&mut reader)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut head)?;
    let shipped;
    let header = *lmc::open(&head[..])?.header();
    let tokens = match (header.coding.mode, &models.tokens) {
        (Mode::Tokens, Some(t)) => Some(t),
        (Mode::Tokens, None) => {
            return Err(Error::Tokenizer {
                path: None,
                message: "this file was coded by a token-level model: name it with --model (its tokenizer beside it, or --tokenizer)".into(),
            })
        }
        _ => None,
    };
    let model = match models.named {
        _ if !header.coding.mode.uses_model() || tokens.is_some() => None,
        Some(m) => Some(m),
        None => {
            shipped = models.shipped_for(header.fingerprint)?;
            Some(Int8Source::from_file(&shipped.path, &shipped.bytes)?)
        }
    };
    let len = meta.as_ref().map(|_| header.original_len);
    let mut reader = Counting {
        inner: io::Cursor::new(head).chain(reader),
        n: 0,
    };
    let pb = progress_bar(opts, len, &format!("decompressing {}", display(input)));
    let start = Instant::now();
    let (header, written) = match dest {
        Dest::Nowhere => (
            match tokens {
                Some(t) => {
                    lmc::tokens::decompress_tokens(t, &mut reader, &mut io::sink(), tick(&pb))?
                }
                None => {
                    lmc::decompress_with(model.as_ref(), &mut reader, &mut io::sink(), tick(&pb))?
                }
            },
            None,
        ),
        // Streamed, a batch of chunks at a time: the pipe's reader gets
        // data before the end, and only the exit status says it was whole.
        Dest::Stdout => {
            let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            let header = match tokens {
                Some(t) => lmc::tokens::decompress_tokens(t, &mut reader, &mut out, tick(&pb))?,
                None => lmc::decompress_with(model.as_ref(), &mut reader, &mut out, tick(&pb))?,
            };
            (header, None)
        }
        Dest::File(_) => write_verified(dest, opts, meta.as_ref(), &pb, |w| match tokens {
            Some(t) => lmc::tokens::decompress_tokens(t, &mut reader, w, tick(&pb)),
            None => lmc::decompress_with(model.as_ref(), &mut reader, w, tick(&pb)),
        })?,
    };
    pb.finish_and_clear();
    if opts.verbose {
        let compressed = reader.n;
        let line = rate_line(
            &display(input),
            header.original_len,
            compressed,
            start.elapsed().as_secs_f64(),
        );
        if opts.test {
            eprintln!("{line}: OK");
        } else {
            eprintln!("{line}");
        }
    }
    Ok(written)
}

/// Decides the destination of `input` ([`lmc::plan`]), checks it against
/// the file system and the terminal, and runs one file; returns a
/// warning, if any (the input could not be removed).
fn process(
    input: &Path,
    opts: &Opts,
    decompress: bool,
    models: &Models<'_>,
) -> Res<Option<String>> {
    let stdin = is_stdin(input);
    if !stdin {
        // A missing input is the problem to report, not its output.
        fs::metadata(input)?;
    }
    let plan = lmc::plan(input, &opts.rules(decompress))?;
    match &plan.dest {
        Dest::File(d) => {
            if !stdin && same_file(input, d) {
                return Err(Error::SameFile);
            }
            refuse_existing(d, opts)?;
        }
        Dest::Stdout => {
            if !decompress && !opts.force && io::stdout().is_terminal() {
                return Err(Error::CompressedToTerminal);
            }
        }
        Dest::Nowhere => {}
    }
    if decompress && stdin && !opts.force && io::stdin().is_terminal() {
        return Err(Error::CompressedFromTerminal);
    }
    let written = if decompress {
        decompress_one(input, opts, models, &plan.dest)?
    } else if let Some(t) = &models.tokens {
        compress_tokens_one(input, opts, t, &plan.dest)?
    } else {
        compress_one(input, opts, models.named.as_ref(), &plan.dest)?
    };
    match &plan.dest {
        Dest::File(d) if plan.remove_input => {
            verify_output(d, written)?;
            if let Err(e) = fs::remove_file(input) {
                return Ok(Some(format!(
                    "{}: warning: cannot remove the input ({}); {} is complete and the input is kept",
                    display(input),
                    lmc::io_message(&e),
                    d.display()
                )));
            }
        }
        _ => {}
    }
    Ok(None)
}

/// Prints a usage error; its status.
fn usage(message: &str) -> ExitCode {
    eprintln!("lmc: {message}");
    eprintln!("Try 'lmc --help' for more information.");
    ExitCode::from(2)
}

/// The files under `dir` (for `-r`), sorted, that the run would take:
/// files ending in the suffix to decompress, the others to compress;
/// never temporary files. Symbolic links are not followed.
fn walk(dir: &Path, suffix: &str, decompress: bool, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort();
    for p in entries {
        let m = fs::symlink_metadata(&p)?;
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        if m.is_dir() {
            walk(&p, suffix, decompress, out)?;
        } else if m.is_file()
            && !name.ends_with(lmc::output::TEMP_SUFFIX)
            && name.ends_with(suffix) == decompress
        {
            out.push(p);
        }
    }
    Ok(())
}

fn run(opts: Opts, decompress: bool) -> ExitCode {
    let decompress = decompress || opts.decompress || opts.test;
    if let Some(m) = lmc::dest::conflict(&opts.rules(decompress)) {
        return usage(m);
    }
    if opts.rm && opts.stdout {
        return usage("--rm does not go with -c: -c keeps its inputs");
    }
    let mut failed = false;
    let mut files = Vec::new();
    let given = if opts.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        opts.files.clone()
    };
    let suffix = opts.rules(decompress).suffix().to_string();
    for f in given {
        let dir = !is_stdin(&f) && fs::symlink_metadata(&f).is_ok_and(|m| m.is_dir());
        if opts.recursive && dir {
            if let Err(e) = walk(&f, &suffix, decompress, &mut files) {
                eprintln!("lmc: {}: {}", f.display(), lmc::io_message(&e));
                failed = true;
            }
        } else {
            files.push(f);
        }
    }
    if opts.output.is_some() && files.len() > 1 {
        return usage(&format!("-o takes one input file, got {}", files.len()));
    }
    let no_model = if decompress {
        !opts.model_named()
    } else {
        opts.mode == CliMode::Adaptive
    };
    let loaded = if no_model {
        None
    } else {
        match opts.load() {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("lmc: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    // Parsed and checksummed once, for every file and thread.
    let named = match loaded
        .as_ref()
        .map(|l| Int8Source::from_file(&l.path, &l.bytes))
    {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            eprintln!("lmc: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A named model with a tokenizer (given, or beside it) is token-level.
    let tokens = match (&loaded, &named) {
        (Some(l), Some(m))
            if opts.tokenizer.is_some() || lmc::tokens::tokenizer_beside(&l.path).exists() =>
        {
            let path = opts
                .tokenizer
                .clone()
                .unwrap_or_else(|| lmc::tokens::tokenizer_beside(&l.path));
            match lmc::tokens::load_tokenizer(&path)
                .and_then(|b| lmc::tokens::TokenSource::new(*m, b))
            {
                Ok(t) => Some(t),
                Err(e) => {
                    eprintln!("lmc: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        _ => None,
    };
    if !decompress && tokens.is_none() {
        let settings =
            Settings::new(opts.block_size(named.as_ref())).coding(opts.mode.coding(opts.chain));
        if let Err(e) = lmc::check_settings(named.as_ref(), &settings) {
            eprintln!("lmc: {e}");
            return ExitCode::FAILURE;
        }
    }
    let models = Models {
        named,
        tokens,
        shipped: Mutex::default(),
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("lmc: cannot start threads: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut warned = false;
    for f in &files {
        match pool.install(|| process(f, &opts, decompress, &models)) {
            Ok(None) => {}
            Ok(Some(w)) => {
                if !opts.quiet {
                    eprintln!("lmc: {w}");
                }
                warned = true;
            }
            // The reader of stdout went away (`lmc -dc f | head`): stop
            // quietly with the status of gzip killed by SIGPIPE.
            Err(e) if e.is_broken_pipe() => return ExitCode::from(BROKEN_PIPE_STATUS),
            Err(e) => {
                eprintln!("lmc: {}: {e}", display(f));
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else if warned {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn info(files: &[PathBuf]) -> ExitCode {
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
    let (reader, _) = open_input(path)?;
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
fn list_row(compressed: u64, original: u64, how: Option<&(String, String)>, name: &str) {
    // gzip's ratio: the share of the original saved (negative when the
    // file grew).
    let ratio = if original == 0 {
        0.0
    } else {
        100.0 * (original as f64 - compressed as f64) / original as f64
    };
    let (mode, block) = how.map_or(("-", "-"), |(m, b)| (m.as_str(), b.as_str()));
    println!("{compressed:>19} {original:>19} {ratio:>5.1}% {mode:<14} {block:>6} {name}");
}

/// `lmc -l`: gzip's table, one line per file (compressed size, original
/// size, ratio, the name it decompresses to), a totals line for several.
fn list(opts: &Opts) -> ExitCode {
    let files = if opts.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        opts.files.clone()
    };
    let suffix = opts.rules(true).suffix().to_string();
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
                let name = shown.strip_suffix(suffix.as_str()).unwrap_or(&shown);
                list_row(l.compressed, l.original, l.how.as_ref(), name);
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
    let (reader, _) = open_input(path)?;
    let mut streams = lmc::Streams::new(BufReader::with_capacity(1 << 16, reader));
    let mut l = Listed::default();
    while let Some(mut r) = streams.next_stream()? {
        let h = *r.header();
        l.original += h.original_len;
        let how = (coding_words(h.coding), size_words(h.chunk_size));
        match &l.how {
            None => l.how = Some(how),
            Some(first) if *first != how => l.how = Some(("various".into(), "-".into())),
            Some(_) => {}
        }
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
    /// Mode and block size (of every stream, or "various").
    how: Option<(String, String)>,
}

/// A stream's coding in a few words, for `-l` and `info`.
fn coding_words(c: Coding) -> String {
    let mode = match c.mode {
        Mode::Model => "model".to_string(),
        Mode::Mixed => format!("mixed/{}", c.preset),
        Mode::Adaptive => format!("adaptive/{}", c.preset),
        Mode::Tokens => "tokens".to_string(),
        _ => "unknown".to_string(),
    };
    if c.chained {
        mode + "+chain"
    } else {
        mode
    }
}

/// A block size as `-b` takes it (`64K`, `1M`, or bytes).
fn size_words(n: u32) -> String {
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
    println!("  original:    {} bytes", h.original_len);
    println!("  chunk size:  {} bytes", h.chunk_size);
    println!("  chunks:      {}", h.chunk_count());
    println!("  crc32:       {:08x}", h.crc32);
}

/// Reports a command line clap refused: a bad value as one line naming
/// the option, the rest as clap says it.
fn clap_error(e: clap::Error) -> ExitCode {
    if e.kind() == ErrorKind::ValueValidation {
        if let (Some(arg), Some(why)) = (
            e.get(ContextKind::InvalidArg),
            std::error::Error::source(&e),
        ) {
            return usage(&format!("{arg}: {why}"));
        }
    }
    let _ = e.print();
    ExitCode::from(if e.use_stderr() { 2 } else { 0 })
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(m) = cli::args::bad_level(args.get(1..).unwrap_or_default()) {
        return usage(&m);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    // An exit on a signal skips destructors: remove the temporary output
    // ourselves (the destination is never touched before the rename).
    #[cfg(unix)]
    let _ = cli::signals::install(lmc::output::remove_temporary_files);
    match cli.cmd {
        Some(Cmd::Compress(o)) => run(o, false),
        Some(Cmd::Decompress(o)) => run(o, true),
        Some(Cmd::Info { files }) => info(&files),
        None if cli.opts.list && cli.opts.verbose => info(&cli.opts.files),
        None if cli.opts.list => list(&cli.opts),
        None => run(cli.opts, false),
    }
}
