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
//! 3.2M; `--model FILE` any model file. Outputs appear only when complete
//! and verified: they are written to a temporary file beside the
//! destination (or, for stdout, in the temp directory) that is renamed or
//! copied out at the end and deleted on any error.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle, TermLike};
use lmc::dest::is_stdin;
use lmc::{models, AtomicFile, Dest, Error, Int8Source, LogLoss, Rules};
/// Inputs at least this large get a progress bar on a terminal.
const PROGRESS_MIN_BYTES: u64 = 1 << 20;

#[derive(Parser, Debug)]
#[command(
    name = "lmc",
    version,
    about = "Compress files with a byte-level language model (int8 Transformer + arithmetic coding)",
    args_conflicts_with_subcommands = true
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
    #[arg(short = 'd', long)]
    decompress: bool,
    /// Test compressed files: decode and verify, write nothing.
    #[arg(short = 't', long)]
    test: bool,
    /// List compressed files' headers (same as `lmc info`).
    #[arg(short = 'l', long)]
    list: bool,
    /// Write to standard output, keep input files.
    #[arg(short = 'c', long)]
    stdout: bool,
    /// Write to FILE (one input only).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite existing outputs; write compressed data to a terminal.
    #[arg(short = 'f', long)]
    force: bool,
    /// Keep (do not delete) input files.
    #[arg(short = 'k', long)]
    keep: bool,
    /// Model file to code with (instead of a shipped one).
    #[arg(short = 'm', long, value_name = "FILE", conflicts_with_all = ["level", "l1", "l2", "l3"])]
    model: Option<PathBuf>,
    /// Shipped model by level: 1 = 200K (default), 2 = 800K, 3 = 3.2M.
    #[arg(short = 'L', long, value_parser = clap::value_parser!(u8).range(1..=3), conflicts_with_all = ["l1", "l2", "l3"])]
    level: Option<u8>,
    /// Same as --level 1 (the 200K model).
    #[arg(short = '1', conflicts_with_all = ["l2", "l3"])]
    l1: bool,
    /// Same as --level 2 (the 800K model).
    #[arg(short = '2', conflicts_with = "l3")]
    l2: bool,
    /// Same as --level 3 (the 3.2M model).
    #[arg(short = '3')]
    l3: bool,
    /// Chunk size when compressing (bytes; K and M suffixes allowed).
    #[arg(short = 'b', long, value_name = "BYTES", value_parser = parse_size, default_value = "2048")]
    chunk_size: u32,
    /// Worker threads (default: all cores).
    #[arg(short = 'T', long, value_name = "N")]
    threads: Option<usize>,
    /// Show a progress bar on stderr even when it is not a terminal.
    #[arg(long, conflicts_with = "no_progress")]
    progress: bool,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Print only errors.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Print sizes, rate and speed of every file.
    #[arg(short = 'v', long)]
    verbose: bool,
}

fn parse_size(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        None => (t, 1u64),
        Some((i, _)) => {
            let m = match t[i..].to_ascii_lowercase().as_str() {
                "k" | "kb" | "kib" => 1 << 10,
                "m" | "mb" | "mib" => 1 << 20,
                _ => return Err(format!("bad size {s:?} (use e.g. 2048, 4K, 1M)")),
            };
            (&t[..i], m)
        }
    };
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let v = n.saturating_mul(mult);
    let max = u64::from(coder_core::container::MAX_CHUNK_SIZE);
    if v == 0 || v > max {
        return Err(format!("chunk size must be 1 to {max} bytes"));
    }
    Ok(v as u32)
}

type Res<T> = Result<T, Error>;

/// A model loaded once for all files.
struct Loaded {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Opts {
    fn level(&self) -> u8 {
        if self.l3 {
            3
        } else if self.l2 {
            2
        } else if self.l1 {
            1
        } else {
            self.level.unwrap_or(models::DEFAULT_LEVEL)
        }
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
    if !opts.force && fs::symlink_metadata(dest).is_ok() {
        return Err(Error::OutputExists(dest.to_path_buf()));
    }
    Ok(())
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
/// input's permissions and time, from `meta`).
fn write_verified<T>(
    dest: &Dest,
    opts: &Opts,
    meta: Option<&fs::Metadata>,
    pb: &ProgressBar,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> Res<T>,
) -> Res<T> {
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
            let mut spool = tempfile::tempfile()?;
            let t = run(&mut spool)?;
            copy_to_stdout(spool)?;
            Ok(t)
        }
        Dest::File(d) => {
            let mut out = AtomicFile::create(d)?;
            let t = run(out.file())?;
            if let Some(m) = meta {
                out.copy_metadata(m)?;
            }
            out.commit(opts.force)?;
            Ok(t)
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

/// `progress`'s callback for the library: advances the bar.
fn tick(pb: &ProgressBar) -> impl Fn(u64) + Sync + '_ {
    move |n| pb.inc(n)
}

fn compress_one(input: &Path, opts: &Opts, model: &Int8Source<'_>, dest: &Dest) -> Res<()> {
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
    let summary = write_verified(dest, opts, meta.as_ref(), &pb, |w| {
        lmc::compress(model, reader, w, opts.chunk_size, log_loss, tick(&pb))
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
    Ok(())
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

fn decompress_one(input: &Path, opts: &Opts, model: &Int8Source<'_>, dest: &Dest) -> Res<()> {
    let (reader, meta) = open_input(input)?;
    let mut reader = Counting {
        inner: BufReader::with_capacity(1 << 16, reader),
        n: 0,
    };
    // The header (read once more here) gives the bar its length.
    let len = match meta {
        Some(_) => File::open(input)
            .ok()
            .and_then(|f| lmc::open(f).ok())
            .map(|r| r.header().original_len),
        None => None,
    };
    let pb = progress_bar(opts, len, &format!("decompressing {}", display(input)));
    let start = Instant::now();
    let header = match dest {
        Dest::Nowhere => lmc::decompress(model, &mut reader, &mut io::sink(), tick(&pb))?,
        _ => write_verified(dest, opts, meta.as_ref(), &pb, |w| {
            lmc::decompress(model, &mut reader, w, tick(&pb))
        })?,
    };
    pb.finish_and_clear();
    if opts.verbose || (opts.test && !opts.quiet) {
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
    Ok(())
}

/// Decides the destination of `input` ([`lmc::plan`]), checks it against
/// the file system and the terminal, and runs one file.
fn process(input: &Path, opts: &Opts, decompress: bool, model: &Int8Source<'_>) -> Res<()> {
    let stdin = is_stdin(input);
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
    if decompress {
        decompress_one(input, opts, model, &plan.dest)?;
    } else {
        compress_one(input, opts, model, &plan.dest)?;
    }
    if plan.remove_input {
        fs::remove_file(input)?;
    }
    Ok(())
}

fn run(opts: Opts, decompress: bool) -> ExitCode {
    let decompress = decompress || opts.decompress || opts.test;
    let mut files = opts.files.clone();
    if files.is_empty() {
        files.push(PathBuf::from("-"));
    }
    if opts.output.is_some() && files.len() > 1 {
        eprintln!("lmc: -o takes one input file, got {}", files.len());
        return ExitCode::from(2);
    }
    let loaded = match opts.load() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("lmc: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Parsed and checksummed once, for every file and thread.
    let model = match Int8Source::from_file(&loaded.path, &loaded.bytes) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("lmc: {e}");
            return ExitCode::FAILURE;
        }
    };
    let context = model.config().max_context;
    if !decompress && opts.chunk_size > context && !opts.quiet {
        eprintln!(
            "lmc: warning: chunk size {} is longer than the model's context ({context} bytes): \
             bytes past it are predicted less well",
            opts.chunk_size
        );
    }
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
    let mut status = ExitCode::SUCCESS;
    for f in &files {
        if let Err(e) = pool.install(|| process(f, &opts, decompress, &model)) {
            eprintln!("lmc: {}: {e}", display(f));
            status = ExitCode::FAILURE;
        }
    }
    status
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
    let mut r = lmc::open(BufReader::with_capacity(1 << 16, reader))?;
    let h = *r.header();
    let known = models::identify(h.fingerprint);
    println!("{}:", display(path));
    println!(
        "  model:       {:016x} ({})",
        h.fingerprint,
        known.as_deref().unwrap_or("not a shipped model found here")
    );
    println!(
        "  format:      lmc container version {}",
        coder_core::container::VERSION
    );
    println!("  original:    {} bytes", h.original_len);
    println!("  chunk size:  {} bytes", h.chunk_size);
    println!("  chunks:      {}", h.chunk_count());
    println!("  crc32:       {:08x}", h.crc32);
    let s = lmc::scan(&mut r)?;
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
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // An exit on a signal skips destructors: remove the temporary output
    // ourselves (the destination is never touched before the rename).
    let _ = ctrlc::set_handler(|| {
        lmc::output::remove_temporary_files();
        eprintln!("lmc: interrupted");
        std::process::exit(130);
    });
    match cli.cmd {
        Some(Cmd::Compress(o)) => run(o, false),
        Some(Cmd::Decompress(o)) => run(o, true),
        Some(Cmd::Info { files }) => info(&files),
        None if cli.opts.list => info(&cli.opts.files),
        None => run(cli.opts, false),
    }
}
