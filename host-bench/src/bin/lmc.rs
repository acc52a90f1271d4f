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
use host_bench::codec::{self, models, AtomicFile, CodecError, Int8Source};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle, TermLike};

const SUFFIX: &str = ".lmc";
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

/// An error of one file: printed as `lmc: FILE: message`.
struct Failure(String);

impl From<CodecError> for Failure {
    fn from(e: CodecError) -> Self {
        Failure(e.to_string())
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure(e.to_string())
    }
}

type Res<T> = Result<T, Failure>;

fn fail<T>(msg: impl Into<String>) -> Res<T> {
    Err(Failure(msg.into()))
}

/// A model loaded once for all files.
struct Loaded {
    bytes: Vec<u8>,
    label: String,
}

impl Opts {
    fn model_path(&self) -> Result<(PathBuf, String), CodecError> {
        if let Some(p) = &self.model {
            return Ok((p.clone(), p.display().to_string()));
        }
        let level = if self.l3 {
            3
        } else if self.l2 {
            2
        } else if self.l1 {
            1
        } else {
            self.level.unwrap_or(models::DEFAULT_LEVEL)
        };
        let p = models::shipped_path(level)?;
        let name = models::SHIPPED
            .iter()
            .find(|s| s.level == level)
            .map_or("?", |s| s.name);
        Ok((p, format!("shipped {name} model")))
    }

    fn load(&self) -> Result<Loaded, CodecError> {
        let (path, label) = self.model_path()?;
        Ok(Loaded {
            bytes: models::load_model_bytes(&path)?,
            label,
        })
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

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

fn display(p: &Path) -> String {
    if is_stdin(p) {
        "stdin".into()
    } else {
        p.display().to_string()
    }
}

/// Where the output of one input goes.
enum Dest {
    Stdout,
    File(PathBuf),
    /// Decode and verify only (`-t`).
    Nowhere,
}

fn refuse_existing(dest: &Path, opts: &Opts) -> Res<()> {
    if !opts.force && fs::symlink_metadata(dest).is_ok() {
        return fail(format!(
            "{} already exists; use -f to overwrite",
            dest.display()
        ));
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
    let meta = fs::metadata(path).map_err(|e| Failure(e.to_string()))?;
    if meta.is_dir() {
        return fail("is a directory -- ignored");
    }
    if !meta.is_file() {
        return fail("not a regular file -- ignored");
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

fn compress_one(input: &Path, opts: &Opts, model: &Int8Source<'_>, dest: Dest) -> Res<()> {
    let (reader, meta) = open_input(input)?;
    let len = meta.as_ref().map(|m| m.len());
    let pb = progress_bar(opts, len, &format!("compressing {}", display(input)));
    let start = Instant::now();
    let reader = BufReader::with_capacity(1 << 16, reader);
    let summary = match &dest {
        Dest::Nowhere => return fail("-t only applies to decompression"),
        Dest::Stdout => {
            let mut spool = tempfile::tempfile()?;
            let s = codec::compress(
                model,
                reader,
                &mut BufWriter::new(&mut spool),
                opts.chunk_size,
                &pb,
            )?;
            pb.finish_and_clear();
            copy_to_stdout(spool)?;
            s
        }
        Dest::File(d) => {
            let mut out = AtomicFile::create(d)?;
            let s = {
                let mut w = BufWriter::new(out.file());
                let s = codec::compress(model, reader, &mut w, opts.chunk_size, &pb)?;
                w.flush()?;
                s
            };
            pb.finish_and_clear();
            if let Some(m) = &meta {
                out.copy_metadata(m)?;
            }
            out.commit(opts.force)?;
            s
        }
    };
    if opts.verbose {
        eprintln!(
            "{}",
            rate_line(
                &display(input),
                summary.header.original_len,
                summary.compressed_len,
                start.elapsed().as_secs_f64()
            )
        );
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

fn decompress_one(input: &Path, opts: &Opts, model: &Int8Source<'_>, dest: Dest) -> Res<()> {
    let (reader, meta) = open_input(input)?;
    let mut reader = Counting {
        inner: BufReader::with_capacity(1 << 16, reader),
        n: 0,
    };
    // The header (read once more here) gives the bar its length.
    let len = match meta {
        Some(_) => File::open(input)
            .ok()
            .and_then(|mut f| codec::read_header(&mut f).ok())
            .map(|h| h.original_len),
        None => None,
    };
    let pb = progress_bar(opts, len, &format!("decompressing {}", display(input)));
    let start = Instant::now();
    let header = match &dest {
        Dest::Nowhere => codec::decompress(model, &mut reader, &mut io::sink(), &pb)?,
        Dest::Stdout => {
            let mut spool = tempfile::tempfile()?;
            let h = {
                let mut w = BufWriter::new(&mut spool);
                let h = codec::decompress(model, &mut reader, &mut w, &pb)?;
                w.flush()?;
                h
            };
            pb.finish_and_clear();
            copy_to_stdout(spool)?;
            h
        }
        Dest::File(d) => {
            let mut out = AtomicFile::create(d)?;
            let h = {
                let mut w = BufWriter::new(out.file());
                let h = codec::decompress(model, &mut reader, &mut w, &pb)?;
                w.flush()?;
                h
            };
            pb.finish_and_clear();
            if let Some(m) = &meta {
                out.copy_metadata(m)?;
            }
            out.commit(opts.force)?;
            h
        }
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

/// Decides the destination of `input` and runs one file.
fn process(input: &Path, opts: &Opts, decompress: bool, model: &Int8Source<'_>) -> Res<()> {
    let stdin = is_stdin(input);
    let dest = if opts.test {
        Dest::Nowhere
    } else if let Some(o) = &opts.output {
        if is_stdin(o) {
            Dest::Stdout
        } else {
            Dest::File(o.clone())
        }
    } else if opts.stdout || stdin {
        Dest::Stdout
    } else if decompress {
        let name = input.to_string_lossy();
        match name.strip_suffix(SUFFIX) {
            Some(stem) if !stem.is_empty() && !stem.ends_with('/') => {
                Dest::File(PathBuf::from(stem))
            }
            _ => {
                return fail(format!(
                    "unknown suffix (expected {SUFFIX}); use -o FILE or -c"
                ))
            }
        }
    } else {
        if input.to_string_lossy().ends_with(SUFFIX) && !opts.force {
            return fail(format!(
                "already has the {SUFFIX} suffix -- unchanged (use -f to compress anyway)"
            ));
        }
        let mut s = input.as_os_str().to_owned();
        s.push(SUFFIX);
        Dest::File(PathBuf::from(s))
    };
    match &dest {
        Dest::File(d) => {
            if !stdin && same_file(input, d) {
                return fail("input and output are the same file");
            }
            refuse_existing(d, opts)?;
        }
        Dest::Stdout => {
            if !decompress && !opts.force && io::stdout().is_terminal() {
                return fail("compressed data not written to a terminal (use -f to force, -o FILE, or redirect)");
            }
        }
        Dest::Nowhere => {}
    }
    if decompress && stdin && !opts.force && io::stdin().is_terminal() {
        return fail("compressed data not read from a terminal (use -f to force)");
    }
    let keeps = opts.keep || stdin || matches!(dest, Dest::Stdout | Dest::Nowhere);
    if decompress {
        decompress_one(input, opts, model, dest)?;
    } else {
        compress_one(input, opts, model, dest)?;
    }
    if !keeps {
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
    let model = match Int8Source::new(&loaded.bytes) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("lmc: {}: {e}", loaded.label);
            return ExitCode::FAILURE;
        }
    };
    let context = model.file().config().max_context;
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
        if let Err(Failure(msg)) = pool.install(|| process(f, &opts, decompress, &model)) {
            eprintln!("lmc: {}: {msg}", display(f));
            status = ExitCode::FAILURE;
        }
    }
    status
}

fn info(files: &[PathBuf]) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for f in files {
        if let Err(Failure(msg)) = info_one(f) {
            eprintln!("lmc: {}: {msg}", display(f));
            status = ExitCode::FAILURE;
        }
    }
    status
}

fn info_one(path: &Path) -> Res<()> {
    let (reader, _) = open_input(path)?;
    let mut r = BufReader::with_capacity(1 << 16, reader);
    let h = codec::read_header(&mut r)?;
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
    let s = codec::scan(&mut r, &h)?;
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
        codec::output::remove_temporary_files();
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
