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
//! Standard output is written as a stream both ways: decompressing, a
//! batch of chunks at a time (the CRC-32 is checked at the end, as gzip's
//! trailer); compressing, a stream per batch of chunks (gzip's members),
//! since a stream's header, written first, holds its length and CRC-32.
//!
//! Exit status: 0 success, 1 an error, 2 a usage error or a warning (as
//! gzip), 128 + N on signal N, 141 (SIGPIPE's) when stdout's reader has
//! gone.

mod cli;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::error::{ContextKind, ErrorKind};
use clap::{Args, Parser, Subcommand};
use coder_core::container::{Coding, Header, Mode};
use lmc::choose::{self, Candidate};
use lmc::dest::is_stdin;
use lmc::job::{Job, Opened, Out, Warning};
use lmc::{models, Error, Int8Source, LogLoss, Media, Rules, Settings};

use cli::display;
use cli::progress::{progress_bar, tick, Bars};

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
    /// fast). Default: mixed, except for PNM images and WAV sound, which
    /// the adaptive models' image and audio models code alone, and for
    /// other data that is not text, whose blocks each keep the shortest of
    /// the level's model, the shipped speech and photo models (mixed) and
    /// the adaptive models alone. Naming a mode or --model turns the
    /// choice off.
    #[arg(help_heading = "Tuning", short = 'M', long, value_enum)]
    mode: Option<CliMode>,
    /// Start each block from the previous block's last window (the
    /// Transformer reads it first): better at small blocks, but blocks
    /// then decode one after the other.
    #[arg(help_heading = "Tuning", long)]
    chain: bool,
    /// The input is raw pixels or samples without a header: gray:WIDTH,
    /// graya:WIDTH, rgb:WIDTH, rgba:WIDTH (8-bit, rows of WIDTH pixels) or
    /// s16le:CHANNELS, u8:CHANNELS (PCM). PNM and WAV files are found
    /// without it.
    #[arg(help_heading = "Tuning", long, value_name = "LAYOUT", value_parser = lmc::parse_format)]
    format: Option<coder_core::media::Layout>,
    /// Worker threads (default and 0: all cores; at most 4 per core).
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
            CliMode::Mixed => (Mode::Mixed, lmc::coding::MIXED_PRESET),
            CliMode::Model => (Mode::Model, 0),
            CliMode::Adaptive => (Mode::Adaptive, lmc::coding::HOST_PRESET),
        };
        Coding {
            mode,
            preset,
            chained: chain && mode.uses_model(),
            region: None,
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
        let limit = match (self.mode(), model) {
            (CliMode::Adaptive, _) | (_, None) => None,
            (_, Some(m)) => m.max_chunk(),
        };
        self.chunk_size
            .unwrap_or_else(|| limit.map_or(DEFAULT_BLOCK, |l| l.min(DEFAULT_BLOCK)))
    }

    /// The mode given, else mixed (adaptive for raw pixels or samples).
    fn mode(&self) -> CliMode {
        match (self.mode, self.format) {
            (Some(m), _) => m,
            (None, Some(_)) => CliMode::Adaptive,
            (None, None) => CliMode::Mixed,
        }
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

    /// Whether each block of an input that is not text (nor an image or
    /// sound file) keeps the shortest of the shipped models
    /// (`lmc::choose`): unless a mode, a model, raw --format or --chain
    /// says otherwise.
    fn choosing(&self) -> bool {
        self.mode.is_none() && self.model.is_none() && self.format.is_none() && !self.chain
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

impl Opts {
    fn bars(&self) -> Bars {
        Bars {
            forced: self.progress,
            never: self.no_progress || self.quiet,
        }
    }
}

/// Prints `-v`'s line for a file compressed.
fn report_compressed(input: &Path, summary: &lmc::Summary, start: Instant, vocab: Option<usize>) {
    let mut line = rate_line(
        &display(input),
        summary.header.original_len,
        summary.compressed_len,
        start.elapsed().as_secs_f64(),
    );
    if let (Some(bits), n @ 1..) = (summary.ideal_bits, summary.header.original_len) {
        line += &format!(", log-loss {:.3} bits/byte", bits / n as f64);
        if let Some(v) = vocab {
            line += &format!(" ({v}-token vocabulary)");
        }
    }
    eprintln!("{line}");
}

fn compress_one(job: &Job, opts: &Opts, models: &Models<'_>) -> Res<(Option<u64>, Opened)> {
    let mut opened = job.open()?;
    let pb = progress_bar(
        opts.bars(),
        opened.len,
        &format!("compressing {}", display(&job.input)),
    );
    let start = Instant::now();
    let reader = BufReader::with_capacity(1 << 16, &mut opened.reader);
    let (summary, written) = match &models.tokens {
        Some(t) => {
            let block = opts.chunk_size.unwrap_or(DEFAULT_BLOCK);
            job.write(opts.force, |out| match out {
                Out::File(mut w) => {
                    lmc::tokens::compress_tokens(t, reader, &mut w, block, tick(&pb))
                }
                Out::Pipe(mut w) => {
                    lmc::tokens::compress_tokens_to_pipe(t, reader, &mut w, block, tick(&pb))
                }
                Out::Nowhere => Err(Error::TestWithoutDecompress),
            })?
        }
        None => {
            let model = models.named.as_ref();
            let log_loss = if opts.verbose {
                LogLoss::Measure
            } else {
                LogLoss::Skip
            };
            let settings = Settings::new(opts.block_size(model))
                .coding(opts.mode().coding(opts.chain))
                .log_loss(log_loss)
                .fit_block(true)
                .media(match (opts.format, opts.mode) {
                    (Some(layout), _) => Media::Raw(layout),
                    (None, None) => Media::Adaptive,
                    (None, Some(_)) => Media::Detect,
                });
            if opts.choosing() {
                let candidates = models.candidates(settings.chunk_size);
                let (chosen, written) = job.write(opts.force, |out| match out {
                    Out::File(mut w) => {
                        choose::compress_choosing(&candidates, reader, &mut w, &settings, tick(&pb))
                    }
                    Out::Pipe(mut w) => choose::compress_choosing_to_pipe(
                        &candidates,
                        reader,
                        &mut w,
                        &settings,
                        tick(&pb),
                    ),
                    Out::Nowhere => Err(Error::TestWithoutDecompress),
                })?;
                if opts.verbose && chosen.judged {
                    eprintln!(
                        "lmc: {}: blocks: {}",
                        display(&job.input),
                        chosen.words(&candidates)
                    );
                }
                (chosen.summary, written)
            } else {
                job.write(opts.force, |out| match out {
                    Out::File(mut w) => {
                        lmc::compress_with(model, reader, &mut w, &settings, tick(&pb))
                    }
                    Out::Pipe(mut w) => {
                        lmc::compress_to_pipe(model, reader, &mut w, &settings, tick(&pb))
                    }
                    Out::Nowhere => Err(Error::TestWithoutDecompress),
                })?
            }
        }
    };
    pb.finish_and_clear();
    if let Some(note) = summary.media_note {
        eprintln!("lmc: {}: {note}", display(&job.input));
    }
    if opts.verbose {
        let vocab = models.tokens.as_ref().map(|t| t.bpe().vocab());
        report_compressed(&job.input, &summary, start, vocab);
    }
    Ok((written, opened))
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
/// decompressing without one, the shipped model each stream was made
/// with, found by its fingerprint and loaded once.
struct Models<'a> {
    named: Option<Int8Source<'a>>,
    /// The named model with its tokenizer, when it is a token-level one.
    tokens: Option<lmc::tokens::TokenSource<'a>>,
    shipped: Mutex<HashMap<u64, Arc<Loaded>>>,
    /// The shipped models of other data found here, when choosing per
    /// block (`Opts::choosing`).
    data: Vec<(&'static str, Int8Source<'a>)>,
}

impl<'a> Models<'a> {
    /// What each block of a non-text input is tried with
    /// ([`choose::shipped_candidates`]).
    fn candidates(&self, block: u32) -> Vec<Candidate<'_, Int8Source<'a>>> {
        choose::shipped_candidates(self.named.as_ref(), &self.data, block)
    }

    /// The shipped model whose fingerprint is `fp` (a stream's), loaded
    /// once.
    fn shipped_for(&self, fp: u64) -> Res<Arc<Loaded>> {
        let mut cache = self.shipped.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = cache.get(&fp) {
            return Ok(Arc::clone(m));
        }
        let (path, bytes) = lmc::find_shipped(fp)
            .map(|(_, p, b)| (p, b))
            .or_else(|| lmc::find_data_model(fp).map(|(_, p, b)| (p, b)))
            .ok_or_else(|| models::not_found(fp))?;
        let m = Arc::new(Loaded { path, bytes });
        cache.insert(fp, Arc::clone(&m));
        Ok(m)
    }

    /// Decodes one stream with the model its header asks for: the named
    /// one if any, else the shipped model of its fingerprint (so the
    /// streams of one file may each have their own, as gzip's members).
    fn decode<R: Read>(
        &self,
        reader: &mut lmc::Reader<R>,
        out: &mut dyn Write,
        progress: &(impl Fn(u64) + Sync),
    ) -> Res<Header> {
        let header = *reader.header();
        if header.coding.mode == Mode::Tokens {
            return match &self.tokens {
                Some(t) => lmc::tokens::decode_token_stream(t, reader, out, progress),
                None => Err(Error::Tokenizer {
                    path: None,
                    message: "this file was coded by a token-level model: name it with --model (its tokenizer beside it, or --tokenizer)".into(),
                }),
            };
        }
        if !header.coding.mode.uses_model() {
            return lmc::stream::decode_stream::<Int8Source<'_>, _, _>(None, reader, out, progress);
        }
        match &self.named {
            Some(m) => lmc::stream::decode_stream(Some(m), reader, out, progress),
            None => {
                let shipped = self.shipped_for(header.fingerprint)?;
                let m = Int8Source::from_file(&shipped.path, &shipped.bytes)?;
                lmc::stream::decode_stream(Some(&m), reader, out, progress)
            }
        }
    }
}

fn decompress_one(job: &Job, opts: &Opts, models: &Models<'_>) -> Res<(Option<u64>, Opened)> {
    let mut opened = job.open()?;
    // Shown for a large compressed file; its length is the streams'
    // (below).
    let pb = progress_bar(
        opts.bars(),
        opened.len,
        &format!("decompressing {}", display(&job.input)),
    );
    if opened.len.is_some() {
        pb.set_length(0);
    }
    let start = Instant::now();
    let mut reader = Counting {
        inner: BufReader::with_capacity(1 << 16, &mut opened.reader),
        n: 0,
    };
    let mut decode = |out: &mut dyn Write| {
        lmc::stream::decompress_each(&mut reader, out, |r, out| {
            // The bar grows by each stream's length as it is reached.
            pb.inc_length(r.header().original_len);
            models.decode(r, out, &tick(&pb))
        })
    };
    let (header, written) = job.write(opts.force, |out| match out {
        Out::File(w) => decode(w),
        Out::Pipe(w) => decode(w),
        Out::Nowhere => decode(&mut io::sink()),
    })?;
    pb.finish_and_clear();
    if opts.verbose {
        let line = rate_line(
            &display(&job.input),
            header.original_len,
            reader.n,
            start.elapsed().as_secs_f64(),
        );
        if opts.test {
            eprintln!("{line}: OK");
        } else {
            eprintln!("{line}");
        }
    }
    Ok((written, opened))
}

/// Plans `input` and checks the plan ([`Job::prepare`]), codes it, and
/// removes the input when the plan says so and nothing changed
/// ([`Job::finish`]); returns a warning, if any.
fn process(
    input: &Path,
    opts: &Opts,
    decompress: bool,
    models: &Models<'_>,
) -> Res<Option<Warning>> {
    let job = Job::prepare(input, &opts.rules(decompress))?;
    let (written, opened) = if decompress {
        decompress_one(&job, opts, models)?
    } else {
        compress_one(&job, opts, models)?
    };
    job.finish(&opened, written)
}

/// Prints a usage error; its status.
fn usage(message: &str) -> ExitCode {
    eprintln!("lmc: {message}");
    eprintln!("Try 'lmc --help' for more information.");
    ExitCode::from(2)
}

/// Most threads per core `-T` gets: more only cost memory.
const THREADS_PER_CORE: usize = 4;

/// The threads of the pool: `-T`'s (0 or none: all cores), at most
/// [`THREADS_PER_CORE`] per core.
fn threads(asked: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match asked {
        None | Some(0) => cores,
        Some(n) => n.min(cores * THREADS_PER_CORE),
    }
}

fn run(opts: Opts, decompress: bool) -> ExitCode {
    let decompress = decompress || opts.decompress || opts.test;
    if let Some(m) = lmc::dest::conflict(&opts.rules(decompress)) {
        return usage(m);
    }
    if opts.rm && opts.stdout {
        return usage("--rm does not go with -c: -c keeps its inputs");
    }
    if opts.format.is_some() && opts.mode == Some(CliMode::Model) {
        return usage("--format needs the adaptive models (-M adaptive or mixed): -M model has no image or audio model");
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
            let mut errors = Vec::new();
            lmc::job::walk(&f, &suffix, decompress, &mut files, &mut errors);
            for (path, e) in errors {
                eprintln!("lmc: {}: {}", path.display(), lmc::io_message(&e));
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
        opts.mode() == CliMode::Adaptive
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
        let block = opts.block_size(named.as_ref());
        let settings = Settings::new(block).coding(opts.mode().coding(opts.chain));
        if let Err(e) = lmc::check_settings(named.as_ref(), &settings) {
            eprintln!("lmc: {e}");
            return ExitCode::FAILURE;
        }
        let window = named
            .as_ref()
            .map_or(0, |m| lmc::ChunkModel::window(m) as u32);
        if settings.coding.chained && block < window && !opts.quiet {
            eprintln!(
                "lmc: note: with --chain each {block}-byte block first reads the {window} bytes before it: blocks this small code about {}x slower than unchained (use -b {window} or more)",
                window.div_ceil(block) + 1
            );
        }
    }
    // The models of other data the block choice tries, found here.
    let data_files = if !decompress && opts.choosing() {
        lmc::load_data_models()
    } else {
        Vec::new()
    };
    let mut data = Vec::new();
    for (name, path, bytes) in &data_files {
        match Int8Source::from_file(path, bytes) {
            Ok(m) => data.push((*name, m)),
            Err(e) => {
                eprintln!("lmc: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let models = Models {
        named,
        tokens,
        shipped: Mutex::default(),
        data,
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(threads(opts.threads))
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
        Some(Cmd::Info { files }) => cli::listing::info(&files),
        None if cli.opts.list && cli.opts.verbose => cli::listing::info(&cli.opts.files),
        None if cli.opts.list => {
            let suffix = cli.opts.rules(true).suffix().to_string();
            cli::listing::list(&cli.opts.files, &suffix)
        }
        None => run(cli.opts, false),
    }
}
