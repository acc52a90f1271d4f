//! `host-bench`: the paper's Table 1 on real data.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use host_bench::baselines::{self, Compressor};
use host_bench::data::{self, Chunks, Sample};
use host_bench::lm::{self, LmModel};
use host_bench::report::{self, DatasetMeta, Meta, ModelMeta};
use host_bench::{table1, Error};
use indicatif::{ProgressBar, ProgressFinish, ProgressStyle};

/// Where the repo's shipped sample lives (for `--quick`).
const SAMPLE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");

#[derive(Parser)]
#[command(
    name = "host-bench",
    version,
    about = "Measure compressors the way \"Language Modeling Is Compression\" does"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run Table 1 and write it as Markdown, JSON and CSV.
    Table1(Box<Table1Args>),
    /// Add the partial results of `table1 --shard I/N` (every shard once)
    /// into the tables a single run writes.
    Merge {
        /// The shards' `table1.partial.json` files.
        #[arg(required = true)]
        partials: Vec<PathBuf>,
        /// Output folder for table1.{md,json,csv}.
        #[arg(long, default_value = "reports/table1")]
        out: PathBuf,
    },
    /// Whole files: lmc beside xz -9e, zstd --ultra -22 --long and brotli
    /// -q 11 -w 24, whole and in 2048-byte chunks (Markdown and JSON).
    Files(Box<host_bench::files::FilesArgs>),
    /// Photos as PGM and PPM, speech as WAV: lmc's image and audio models
    /// beside PNG, WebP, JPEG XL, FLAC, WavPack and xz -9e (Markdown and
    /// JSON).
    Media(Box<host_bench::media::MediaArgs>),
    /// lmc's model per block on raw data in the paper's formats (8-bit
    /// LibriSpeech, ImageNet patches, held-out enwik8, and the three
    /// together), beside one coding for every block, xz and FLAC
    /// (Markdown and JSON).
    Choice(host_bench::choice::ChoiceArgs),
    /// Train the zstd dictionary on an enwik training range.
    TrainDict {
        /// enwik file to train on.
        #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
        enwik: PathBuf,
        /// End of the training range (exclusive); it starts at 0.
        #[arg(long, default_value_t = data::ENWIK_EVAL_START)]
        end: usize,
        /// Dictionary size limit, bytes (zstd's default).
        #[arg(long, default_value_t = 112_640)]
        size: usize,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// int8 compression and decompression speed of the paper's 200K, 800K
    /// and 3.2M sizes, one model per chunk beside chunks coded in lockstep,
    /// per core and on all cores, with multiply-accumulates per byte.
    Throughput {
        /// Text to model (held-out enwik8 from --start).
        #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
        enwik: PathBuf,
        /// First byte used.
        #[arg(long, default_value_t = data::ENWIK_EVAL_START)]
        start: usize,
        /// Bytes modelled per measurement (whole 2048-byte chunks).
        #[arg(long, default_value_t = 16 * 2048)]
        bytes: usize,
        /// Attention windows to measure.
        #[arg(long, value_delimiter = ',', default_values = ["256", "2048"])]
        windows: Vec<u32>,
        /// Threads for the all-cores figure (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Batch sizes: chunks coded in lockstep by one model pass; 1 is
        /// one model per chunk (`single`, always measured as the baseline).
        #[arg(long, value_delimiter = ',', default_values = ["1", "8"], value_parser = clap::value_parser!(u16).range(1..=64))]
        batch: Vec<u16>,
        /// Output folder for throughput.{md,json}.
        #[arg(long, default_value = "reports/throughput")]
        out: PathBuf,
    },
    /// Table 2: the 200K and 800K models on bytes and on BPE tokens of
    /// 1K-20K, raw rate on held-out enwik8 in 2048-byte chunks, each
    /// decoded back (Markdown, JSON, and a PNG/SVG plot of rate against
    /// vocabulary size).
    Table2(Box<Table2Args>),
    /// Figure 6: the rate of the first n bytes of a chunk, n = 1..2048, for
    /// gzip, LZMA2 and the int8 models, per data set (PNG, SVG, CSV, JSON).
    Figure6(Box<Figure6Args>),
    /// Figures 3-5: bytes sampled from gzip, LZMA2 and the int8 models,
    /// conditioned on real text, audio and an image patch.
    Generate(Box<GenerateArgs>),
    /// Figure 2: adjusted rate (compressed + model) / raw against model
    /// size for 10^7, 10^8 and 10^9 bytes of enwik.
    Figure2(Box<Figure2Args>),
    /// Write an int8 model file with random weights (to try the LM rows
    /// before a trained model exists; it compresses badly).
    RandomModel {
        /// d_model: 64 (200K), 128 (800K) or 256 (3.2M) as in the paper.
        #[arg(long, default_value_t = 64)]
        d_model: u32,
        /// Attention window (positions seen).
        #[arg(long, default_value_t = 256)]
        window: u32,
        /// Weight seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Calibration text (its first 16 KiB are used).
        #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
        calibration: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DatasetName {
    Enwik,
    Imagenet,
    Librispeech,
    Random,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CompressorName {
    Gzip,
    Xz,
    Xz9e,
    Png,
    Flac,
    Zstd,
    ZstdDict,
    Brotli,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SampleMode {
    /// The first N chunks (the reference code's choice).
    First,
    /// N chunks evenly spaced over the data set.
    Even,
    /// N chunks drawn with --seed.
    Seeded,
}

#[derive(clap::Args)]
struct Table1Args {
    /// Small run on the real sample shipped in host-bench/data (held-out
    /// enwik8 text, two LibriSpeech utterances, random bytes) and every
    /// shipped model (200K, 800K, 3.2M) unless --model is given; about a
    /// minute.
    #[arg(long)]
    quick: bool,
    /// Output folder for table1.{md,json,csv}.
    #[arg(long, default_value = "reports/table1")]
    out: PathBuf,
    /// Measure only shard I of N of every data set's chunks (0 <= I < N)
    /// and write `table1.partial.json` (and this shard's own tables) to
    /// --out; `host-bench merge` adds the N partials into the full tables.
    #[arg(long, value_parser = table1::Shard::parse)]
    shard: Option<table1::Shard>,
    /// Data sets to measure.
    #[arg(long, value_delimiter = ',', default_values = ["enwik", "imagenet", "librispeech", "random"])]
    datasets: Vec<DatasetName>,
    /// enwik8 / enwik9 (md5 checked when the size is the full file's) or
    /// any byte file.
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    enwik: PathBuf,
    /// First byte evaluated (our models train on enwik8 [0, 3_600_000)).
    #[arg(long, default_value_t = data::ENWIK_EVAL_START)]
    enwik_start: usize,
    /// End of the evaluated range (default: end of file).
    #[arg(long)]
    enwik_end: Option<usize>,
    /// Folder of ImageNet JPEG/PNG photos.
    #[arg(long, default_value = "../shared/data/imagenet")]
    imagenet: PathBuf,
    /// Folder tree of LibriSpeech FLAC files.
    #[arg(long, default_value = "../shared/data/librispeech")]
    librispeech: PathBuf,
    /// Chunks of random data.
    #[arg(long, default_value_t = 256)]
    random_chunks: usize,
    /// Keep at most this many chunks per data set.
    #[arg(long)]
    max_chunks: Option<usize>,
    /// How --max-chunks chooses.
    #[arg(long, value_enum, default_value_t = SampleMode::Even)]
    sample: SampleMode,
    /// Seed for random data and seeded sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Skip the unchunked (whole stream) measurements.
    #[arg(long)]
    no_unchunked: bool,
    /// Classical compressors to run.
    #[arg(long, value_delimiter = ',', default_values = ["gzip", "xz", "xz9e", "png", "flac", "zstd", "zstd-dict", "brotli"])]
    compressors: Vec<CompressorName>,
    /// A trained zstd dictionary (else trained from --zstd-train).
    #[arg(long)]
    zstd_dict: Option<PathBuf>,
    /// enwik file whose [0, 3_600_000) trains the zstd dictionary.
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    zstd_train: PathBuf,
    /// FLAC quantized-LPC order (1..=24).
    #[arg(long, default_value_t = baselines::Flac::default().lpc_order)]
    flac_lpc_order: usize,
    /// FLAC block size in samples.
    #[arg(long, default_value_t = baselines::Flac::default().block_size)]
    flac_block_size: usize,
    /// Run the LM rows on at most this many chunks (evenly spaced) of each
    /// data set.
    #[arg(long)]
    lm_max_chunks: Option<usize>,
    /// int8 model files for the LM rows (repeatable).
    #[arg(long = "model")]
    models: Vec<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Args)]
struct Table2Args {
    /// Output folder (table2.md, table2.json, table2.png, table2.svg).
    #[arg(long, default_value = "reports/table2")]
    out: PathBuf,
    /// Folder of the rows' models: `table2-{size}-{row}.lmm` (size 200k or
    /// 800k; a BPE row with `table2-{size}-{row}.tokenizer.json` beside it)
    /// as `trainer export --name table2-200k-bpe1k` writes them; the
    /// single-column names `table2-ascii.lmm`, `table2-bpe1k.lmm`, ... are
    /// read as the 200K column where no sized file exists. Rows whose model
    /// is missing are skipped with a note.
    #[arg(long, default_value = "model-int8/models/table2")]
    dir: PathBuf,
    /// Rows to look for (`bytes` or `ascii`, `bpe1k`, ...).
    #[arg(long, value_delimiter = ',', default_values = ["bytes", "bpe1k", "bpe2k", "bpe5k", "bpe10k", "bpe20k"])]
    rows: Vec<String>,
    /// Model-size columns to measure.
    #[arg(long, value_delimiter = ',', default_values = ["200k", "800k"])]
    sizes: Vec<host_bench::table2::Size>,
    /// The byte row of a column, `SIZE=PATH` (repeatable), e.g.
    /// `200k=model-int8/models/table2/table2-ascii.lmm`; a
    /// `table2-{size}-bytes.lmm` in --dir still wins. Default: the shipped
    /// enwik8-only byte model of the size in --shipped-dir.
    #[arg(long = "bytes-model", value_name = "SIZE=PATH")]
    bytes_models: Vec<host_bench::table2::BytesModel>,
    /// Folder of the shipped byte models (`lm-200k-enwik8.lmm`,
    /// `lm-800k-enwik8.lmm`).
    #[arg(long, default_value = host_bench::table2::SHIPPED_DIR)]
    shipped_dir: PathBuf,
    /// enwik file (held-out range from --enwik-start).
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    enwik: PathBuf,
    /// First held-out byte.
    #[arg(long, default_value_t = data::ENWIK_EVAL_START)]
    enwik_start: usize,
    /// Evenly spaced chunks to measure (0: all).
    #[arg(long, default_value_t = 0)]
    chunks: usize,
    /// The training budget of the rows, for the table's note.
    #[arg(
        long,
        default_value = "the same raw bytes per row within a column (see the manifests)"
    )]
    budget: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Args)]
struct Figure6Args {
    /// Output folder.
    #[arg(long, default_value = "reports/figures/figure6")]
    out: PathBuf,
    /// Data sets (chunked exactly as in Table 1).
    #[arg(long, value_delimiter = ',', default_values = ["enwik", "imagenet", "librispeech"])]
    datasets: Vec<DatasetName>,
    /// Chunks averaged per data set (evenly spaced).
    #[arg(long, default_value_t = 100)]
    chunks: usize,
    /// enwik file (held-out range from --enwik-start).
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    enwik: PathBuf,
    /// First enwik byte used.
    #[arg(long, default_value_t = data::ENWIK_EVAL_START)]
    enwik_start: usize,
    /// Folder of ImageNet JPEG/PNG photos.
    #[arg(long, default_value = "../shared/data/imagenet")]
    imagenet: PathBuf,
    /// Folder tree of LibriSpeech FLAC files.
    #[arg(long, default_value = "../shared/data/librispeech")]
    librispeech: PathBuf,
    /// Classical compressors (gzip, xz: the paper's settings).
    #[arg(long, value_delimiter = ',', default_values = ["gzip", "xz"])]
    compressors: Vec<CompressorName>,
    /// Classical grid: every length up to this one...
    #[arg(long, default_value_t = 64)]
    dense: usize,
    /// ...then every this many bytes.
    #[arg(long, default_value_t = 16)]
    step: usize,
    /// int8 model files (repeatable; default: every shipped model).
    #[arg(long = "model")]
    models: Vec<PathBuf>,
    /// Skip re-coding the chunks with Table 1's code path to check the
    /// model curves' end.
    #[arg(long)]
    no_check: bool,
    /// Top of the plots' y axis (rate; higher values are clipped).
    #[arg(long, default_value_t = 2.0)]
    y_max: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Modality {
    Text,
    Audio,
    Image,
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// Output folder.
    #[arg(long, default_value = "reports/figures/figure35")]
    out: PathBuf,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// What to condition on.
    #[arg(long, value_delimiter = ',', default_values = ["text", "audio", "image"])]
    modalities: Vec<Modality>,
    /// Classical samplers (gzip, xz).
    #[arg(long, value_delimiter = ',', default_values = ["gzip", "xz"])]
    compressors: Vec<CompressorName>,
    /// int8 model files (repeatable; default: every shipped model).
    #[arg(long = "model")]
    models: Vec<PathBuf>,
    /// enwik file (held-out range from --enwik-start).
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    enwik: PathBuf,
    /// First enwik byte used.
    #[arg(long, default_value_t = data::ENWIK_EVAL_START)]
    enwik_start: usize,
    /// Which held-out enwik chunk (the first 1,948 bytes given, 100 sampled).
    #[arg(long, default_value_t = 100)]
    text_chunk: usize,
    /// Text bytes given before sampling.
    #[arg(long, default_value_t = 1948)]
    text_given: usize,
    /// Folder tree of LibriSpeech FLAC files.
    #[arg(long, default_value = "../shared/data/librispeech")]
    librispeech: PathBuf,
    /// Which LibriSpeech chunk (the first 1,024 bytes given); default: the
    /// loudest (largest variance) of 64 evenly spaced chunks.
    #[arg(long)]
    audio_chunk: Option<usize>,
    /// Audio bytes given before sampling.
    #[arg(long, default_value_t = 1024)]
    audio_given: usize,
    /// Folder of ImageNet JPEG/PNG photos.
    #[arg(long, default_value = "../shared/data/imagenet")]
    imagenet: PathBuf,
    /// Which ImageNet patch (the left half of every row given); default:
    /// of 64 evenly spaced patches, the one at the 75th percentile of
    /// pixel variance (structured, neither flat nor noise).
    #[arg(long)]
    image_chunk: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Args)]
struct Figure2Args {
    /// Output folder.
    #[arg(long, default_value = "reports/figures/figure2")]
    out: PathBuf,
    /// Read the raw enwik LM rates from this Table 1 JSON instead of
    /// measuring them.
    #[arg(long)]
    table1: Option<PathBuf>,
    /// enwik file (held-out range from --enwik-start) to measure on.
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    enwik: PathBuf,
    /// First enwik byte used.
    #[arg(long, default_value_t = data::ENWIK_EVAL_START)]
    enwik_start: usize,
    /// Measure on at most this many chunks (evenly spaced; default all).
    #[arg(long)]
    max_chunks: Option<usize>,
    /// int8 model files (repeatable; default: every shipped model).
    #[arg(long = "model")]
    models: Vec<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Table1(a) => run_table1(*a),
        Cmd::Merge { partials, out } => run_merge(&partials, &out),
        Cmd::Files(a) => {
            let command = std::env::args().collect::<Vec<_>>().join(" ");
            host_bench::files::run(&a, command).map(|_| ())
        }
        Cmd::Media(a) => host_bench::media::run(&a, command_line()).map(|r| {
            println!("{}", host_bench::media::markdown(&r));
            eprintln!("wrote {}/media.{{md,json}}", a.out.display());
        }),
        Cmd::Choice(a) => host_bench::choice::run(&a, command_line()).and_then(|r| {
            println!("{}", host_bench::choice::markdown(&r));
            host_bench::choice::write_all(&r, &a.out)?;
            eprintln!("wrote {}/choice.{{md,json}}", a.out.display());
            Ok(())
        }),
        Cmd::TrainDict {
            enwik,
            end,
            size,
            out,
        } => train_dict(&enwik, end, size, &out),
        Cmd::Throughput {
            enwik,
            start,
            bytes,
            windows,
            threads,
            batch,
            out,
        } => {
            let batch: Vec<usize> = batch.into_iter().map(usize::from).collect();
            throughput(&enwik, start, bytes, &windows, &batch, threads, &out)
        }
        Cmd::Table2(a) => run_table2(*a),
        Cmd::Figure6(a) => run_figure6(*a),
        Cmd::Generate(a) => run_generate(*a),
        Cmd::Figure2(a) => run_figure2(*a),
        Cmd::RandomModel {
            d_model,
            window,
            seed,
            calibration,
            out,
        } => random_model(d_model, window, seed, &calibration, &out),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("host-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn train_dict(enwik: &Path, end: usize, size: usize, out: &Path) -> Result<(), Error> {
    let bytes =
        std::fs::read(enwik).map_err(|e| Error::Data(format!("{}: {e}", enwik.display())))?;
    data::check_enwik(&bytes)?;
    let end = end.min(bytes.len());
    let dict = baselines::train_zstd_dict(&bytes[..end], size)?;
    std::fs::write(out, &dict).map_err(|e| Error::Data(format!("{}: {e}", out.display())))?;
    eprintln!(
        "wrote {} ({} bytes, trained on {} [0, {end}))",
        out.display(),
        dict.len(),
        enwik.display()
    );
    Ok(())
}

fn throughput(
    enwik: &Path,
    start: usize,
    bytes: usize,
    windows: &[u32],
    batches: &[usize],
    threads: Option<usize>,
    out: &Path,
) -> Result<(), Error> {
    let text =
        std::fs::read(enwik).map_err(|e| Error::Data(format!("{}: {e}", enwik.display())))?;
    let end = text.len().min(start.saturating_add(bytes));
    let data = text.get(start..end).unwrap_or_default();
    if data.is_empty() {
        return Err(Error::Data(format!(
            "{}: no bytes from {start}",
            enwik.display()
        )));
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let rows = host_bench::throughput::run(data, windows, batches, threads)?;
    let md = host_bench::throughput::markdown(&rows, data.len());
    println!("{md}");
    host_bench::throughput::write(&rows, &md, out)?;
    eprintln!("wrote {}/throughput.{{md,json}}", out.display());
    Ok(())
}

fn random_model(d: u32, window: u32, seed: u64, calib: &Path, out: &Path) -> Result<(), Error> {
    let heads = if d >= 256 { 8 } else { 4 };
    let cfg = model_int8::Config::sized(d, 4, heads, window, 2048);
    let float = model_int8::FloatModel::random(cfg, seed);
    let text =
        std::fs::read(calib).map_err(|e| Error::Data(format!("{}: {e}", calib.display())))?;
    let bytes = model_int8::quantize(&float, &text, &model_int8::QuantOptions::default())
        .map_err(|e| Error::Model(e.to_string()))?;
    std::fs::write(out, &bytes).map_err(|e| Error::Data(format!("{}: {e}", out.display())))?;
    eprintln!(
        "wrote {} ({} bytes, {} parameters, random weights)",
        out.display(),
        bytes.len(),
        cfg.parameters()
    );
    Ok(())
}

fn run_table1(mut a: Table1Args) -> Result<(), Error> {
    if let Some(t) = a.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| Error::Data(e.to_string()))?;
    }
    let mut meta = Meta::now();
    if a.quick {
        a.datasets = vec![
            DatasetName::Enwik,
            DatasetName::Librispeech,
            DatasetName::Random,
        ];
        a.enwik = Path::new(SAMPLE_DIR).join("enwik8-heldout-64k.bin");
        a.enwik_start = 0;
        a.librispeech = Path::new(SAMPLE_DIR).join("librispeech");
        a.random_chunks = 16;
        if a.zstd_dict.is_none() {
            a.zstd_dict = Some(Path::new(SAMPLE_DIR).join("zstd-enwik8-train.dict"));
        }
        if a.models.is_empty() {
            // Every shipped size, so the quick table shows how rate scales.
            for s in &lmc::SHIPPED {
                match lmc::shipped_path(s.level) {
                    Ok(p) => a.models.push(p),
                    Err(e) => meta.notes.push(format!("no {} LM row: {e}", s.name)),
                }
            }
        }
        meta.notes.push(
            "quick mode: shipped sample (enwik8 bytes [3_600_000, 3_665_536), two LibriSpeech utterances, 16 random chunks)".into(),
        );
    }
    let sample = match (a.max_chunks, a.sample) {
        (None, _) => Sample::All,
        (Some(n), SampleMode::First) => Sample::First(n),
        (Some(n), SampleMode::Even) => Sample::Even(n),
        (Some(n), SampleMode::Seeded) => Sample::Seeded(n, a.seed),
    };

    let mut datasets: Vec<Chunks> = Vec::new();
    for d in &a.datasets {
        eprintln!("loading {}", name_of(*d));
        let c = match d {
            DatasetName::Enwik => data::load_enwik(&a.enwik, a.enwik_start, a.enwik_end, sample)?,
            DatasetName::Imagenet => data::load_imagenet(&a.imagenet, sample)?,
            DatasetName::Librispeech => data::load_librispeech(&a.librispeech, sample)?,
            DatasetName::Random => {
                let n = a
                    .max_chunks
                    .map_or(a.random_chunks, |m| m.min(a.random_chunks));
                data::random_chunks(n, a.seed)
            }
        };
        meta.datasets.push(DatasetMeta::of(&c, &sample.describe()));
        datasets.push(c);
    }

    let mut compressors: Vec<Box<dyn Compressor>> = Vec::new();
    for c in &a.compressors {
        compressors.push(match c {
            CompressorName::Gzip => Box::new(baselines::Gzip::default()),
            CompressorName::Xz => Box::new(baselines::Xz::paper()),
            CompressorName::Xz9e => Box::new(baselines::Xz::best()),
            CompressorName::Png => Box::new(baselines::Png),
            CompressorName::Flac => Box::new(baselines::Flac {
                lpc_order: a.flac_lpc_order,
                block_size: a.flac_block_size,
            }),
            CompressorName::Zstd => Box::new(baselines::Zstd::plain()),
            CompressorName::Brotli => Box::new(baselines::Brotli::default()),
            CompressorName::ZstdDict => {
                let dict = match &a.zstd_dict {
                    Some(p) => std::fs::read(p)
                        .map_err(|e| Error::Data(format!("zstd dictionary {}: {e}", p.display())))?,
                    None => {
                        let bytes = std::fs::read(&a.zstd_train).map_err(|e| {
                            Error::Data(format!("{}: {e}", a.zstd_train.display()))
                        })?;
                        data::check_enwik(&bytes)?;
                        let end = data::ENWIK_EVAL_START.min(bytes.len());
                        baselines::train_zstd_dict(&bytes[..end], 112_640)?
                    }
                };
                meta.notes.push(format!(
                    "zstd dictionary: {} bytes, trained on enwik8 [0, 3_600_000); counted in the adjusted rate",
                    dict.len()
                ));
                Box::new(baselines::Zstd::with_dict(dict))
            }
        });
    }

    // Each model file read, parsed and checksummed once for the run.
    let model_bytes = a
        .models
        .iter()
        .map(|p| lm::read_model(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut lms: Vec<LmModel<'_>> = Vec::new();
    for (p, bytes) in a.models.iter().zip(&model_bytes) {
        let m = LmModel::from_file(p, bytes)?;
        meta.models.push(ModelMeta {
            name: m.name().to_string(),
            path: p.display().to_string(),
            parameters: m.parameters(),
            file_bytes: m.model_file_bytes(),
        });
        lms.push(m);
    }

    let lm_sample = a.lm_max_chunks.map_or(Sample::All, Sample::Even);
    let shard = a.shard.unwrap_or(table1::Shard::WHOLE);
    let part = table1::measure(
        &datasets,
        &compressors,
        &lms,
        !a.no_unchunked,
        lm_sample,
        shard,
        meta,
        &bar,
    )?;
    let t = part.table();
    report::write_all(&t, &a.out)?;
    println!("{}", report::markdown(&t));
    eprintln!("wrote {}/table1.{{md,json,csv}}", a.out.display());
    if a.shard.is_some() {
        let p = part.write(&a.out)?;
        eprintln!(
            "wrote {} (shard {}/{})",
            p.display(),
            shard.index,
            shard.count
        );
    }
    Ok(())
}

fn run_merge(partials: &[PathBuf], out: &Path) -> Result<(), Error> {
    let parts = partials
        .iter()
        .map(|p| table1::Partial::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let t = table1::merge(parts)?;
    report::write_all(&t, out)?;
    println!("{}", report::markdown(&t));
    eprintln!("wrote {}/table1.{{md,json,csv}}", out.display());
    Ok(())
}

fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    if let Some(t) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| Error::Data(e.to_string()))?;
    }
    Ok(())
}

/// The command line, for the reports.
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// `models`, or every shipped model found (noting those missing).
fn models_or_shipped(models: Vec<PathBuf>, meta: &mut Meta) -> Vec<PathBuf> {
    if !models.is_empty() {
        return models;
    }
    let mut out = Vec::new();
    for s in &lmc::SHIPPED {
        match lmc::shipped_path(s.level) {
            Ok(p) => out.push(p),
            Err(e) => meta.notes.push(format!("no {} model: {e}", s.name)),
        }
    }
    out
}

fn classical(name: CompressorName) -> Result<Box<dyn Compressor>, Error> {
    Ok(match name {
        CompressorName::Gzip => Box::new(baselines::Gzip::default()),
        CompressorName::Xz => Box::new(baselines::Xz::paper()),
        CompressorName::Xz9e => Box::new(baselines::Xz::best()),
        CompressorName::Zstd => Box::new(baselines::Zstd::plain()),
        CompressorName::Brotli => Box::new(baselines::Brotli::default()),
        _ => {
            return Err(Error::Data(
                "figures take gzip, xz, xz9e, zstd or brotli".into(),
            ))
        }
    })
}

fn load_models<'a>(
    paths: &[PathBuf],
    bytes: &'a [Vec<u8>],
    meta: &mut Meta,
) -> Result<Vec<LmModel<'a>>, Error> {
    let mut lms = Vec::new();
    for (p, b) in paths.iter().zip(bytes) {
        let m = LmModel::from_file(p, b)?;
        meta.models.push(ModelMeta {
            name: m.name().to_string(),
            path: p.display().to_string(),
            parameters: m.parameters(),
            file_bytes: m.model_file_bytes(),
        });
        lms.push(m);
    }
    Ok(lms)
}

fn run_table2(a: Table2Args) -> Result<(), Error> {
    use host_bench::table2;
    set_threads(a.threads)?;
    let t0 = std::time::Instant::now();
    let mut meta = Meta::now();
    let sample = if a.chunks == 0 {
        Sample::All
    } else {
        Sample::Even(a.chunks)
    };
    let rows = a
        .rows
        .iter()
        .map(|r| table2::row_slug(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sizes = a.sizes.clone();
    sizes.sort();
    sizes.dedup();
    let plan = table2::find_rows(&a.dir, &sizes, &rows, &a.bytes_models, &a.shipped_dir)?;
    for note in &plan.skipped {
        eprintln!("skipping {note}");
        meta.notes.push(format!("row {note}"));
    }
    let chunks = data::load_enwik(&a.enwik, a.enwik_start, None, sample)?;
    meta.datasets
        .push(DatasetMeta::of(&chunks, &sample.describe()));
    let mut measured = Vec::new();
    for spec in &plan.specs {
        meta.notes.push(format!(
            "{} {}: {} ({})",
            spec.size,
            spec.name,
            spec.model.display(),
            spec.source.describe()
        ));
        let done = bar(
            &format!("table2 / {} / {}", spec.size, spec.name),
            chunks.len() as u64,
        );
        let row = table2::measure_row(spec, &chunks, &*done)?;
        drop(done);
        if !row.round_trip_ok {
            return Err(Error::Data(format!(
                "{} {}: a chunk did not decode back",
                row.size, row.name
            )));
        }
        meta.models.push(ModelMeta {
            name: format!("{} {}", row.size, row.name),
            path: row.model_path.clone(),
            parameters: row.params_total,
            file_bytes: row.model_file_bytes as u64,
        });
        measured.push(row);
    }
    meta.seconds = t0.elapsed().as_secs_f64();
    let t = table2::Table2 {
        meta,
        command: command_line(),
        budget: a.budget.clone(),
        rows: measured,
    };
    table2::write_all(&t, &a.out)?;
    println!("{}", table2::markdown(&t));
    eprintln!("wrote {}/table2.{{md,json,png,svg}}", a.out.display());
    Ok(())
}

fn run_figure6(a: Figure6Args) -> Result<(), Error> {
    use host_bench::figure6;
    set_threads(a.threads)?;
    let t0 = std::time::Instant::now();
    let mut meta = Meta::now();
    let sample = Sample::Even(a.chunks);
    let paths = models_or_shipped(a.models, &mut meta);
    let bytes = paths
        .iter()
        .map(|p| lm::read_model(p))
        .collect::<Result<Vec<_>, _>>()?;
    let lms = load_models(&paths, &bytes, &mut meta)?;
    let compressors = a
        .compressors
        .iter()
        .map(|&c| classical(c))
        .collect::<Result<Vec<_>, _>>()?;
    let grid = figure6::classical_grid(data::CHUNK, a.dense, a.step);
    let mut out = Vec::new();
    for d in &a.datasets {
        eprintln!("loading {}", name_of(*d));
        let chunks = match d {
            DatasetName::Enwik => data::load_enwik(&a.enwik, a.enwik_start, None, sample)?,
            DatasetName::Imagenet => data::load_imagenet(&a.imagenet, sample)?,
            DatasetName::Librispeech => data::load_librispeech(&a.librispeech, sample)?,
            DatasetName::Random => data::random_chunks(a.chunks, 0),
        };
        meta.datasets
            .push(DatasetMeta::of(&chunks, &sample.describe()));
        let mut curves = Vec::new();
        let mut checks = Vec::new();
        for m in &lms {
            let done = bar(
                &format!("{} / {} trace", chunks.kind, m.name()),
                chunks.len() as u64,
            );
            let traced = figure6::trace_chunks(m.source(), &chunks, &*done)?;
            drop(done);
            let curve = figure6::model_curve(m.name(), &traced);
            if !a.no_check {
                // Table 1's own path: encode, decode, compare, container.
                let done = bar(
                    &format!("{} / {} table1", chunks.kind, m.name()),
                    chunks.len() as u64,
                );
                let codes = lm::code_chunks(m.source(), &chunks, &*done)?;
                drop(done);
                // What `lm::measure_lm` sums for Table 1's raw and ideal rows.
                let coded_sum: u64 = codes.iter().map(|c| c.bytes.len() as u64).sum();
                let ideal_bits: f64 = codes.iter().map(|c| c.ideal_bits).sum();
                let identical = codes.len() == traced.len()
                    && codes.iter().zip(&traced).all(|(c, t)| c.bytes == t.code);
                let check = figure6::Table1Check {
                    compressor: m.name().to_string(),
                    traced_coded_bytes: curve.coded_bytes.unwrap_or(0),
                    table1_coded_bytes: coded_sum,
                    table1_ideal_rate: ideal_bits / 8.0 / chunks.bytes() as f64,
                    curve_end_rate: curve.end_rate(),
                    identical,
                };
                if !identical || check.traced_coded_bytes != check.table1_coded_bytes {
                    return Err(Error::Data(format!(
                        "{}: the trace pass's codes differ from Table 1's",
                        m.name()
                    )));
                }
                checks.push(check);
            }
            curves.push(curve);
        }
        for c in &compressors {
            let done = bar(
                &format!("{} / {}", chunks.kind, c.name()),
                chunks.len() as u64,
            );
            curves.push(figure6::classical_curve(
                c.as_ref(),
                &chunks,
                &grid,
                &*done,
            )?);
        }
        out.push(figure6::DatasetCurves {
            dataset: chunks.kind,
            chunks: chunks.len(),
            curves,
            table1_checks: checks,
        });
    }
    meta.notes.push(
        "figure6.json keeps the model curves at the classical grid's lengths; figure6-<dataset>.csv has every n".into(),
    );
    meta.seconds = t0.elapsed().as_secs_f64();
    let f = figure6::Figure6 {
        meta,
        command: command_line(),
        classical_grid: format!(
            "every n in 1..={}, then every {} up to {}",
            a.dense,
            a.step,
            data::CHUNK
        ),
        datasets: out,
    };
    figure6::write_all(&f, &a.out, a.y_max)?;
    println!("{}", figure6::markdown(&f));
    eprintln!("wrote {}/figure6*", a.out.display());
    Ok(())
}

fn chunk_at(c: &Chunks, i: usize) -> Result<Vec<u8>, Error> {
    c.iter().nth(i).map(<[u8]>::to_vec).ok_or_else(|| {
        Error::Data(format!(
            "{}: chunk {i} asked for, {} available",
            c.source,
            c.len()
        ))
    })
}

fn run_generate(a: GenerateArgs) -> Result<(), Error> {
    use host_bench::figure35::{self, Task};
    use host_bench::generate::{CompressorSampler, Given, ModelSampler, Sampler};
    use lmc::ChunkModel;
    set_threads(a.threads)?;
    let t0 = std::time::Instant::now();
    let mut meta = Meta::now();
    let mut tasks = Vec::new();
    for m in &a.modalities {
        match m {
            Modality::Text => {
                let c = data::load_enwik(&a.enwik, a.enwik_start, None, Sample::All)?;
                meta.datasets.push(DatasetMeta::of(&c, "all"));
                let start = a.enwik_start + a.text_chunk * data::CHUNK;
                tasks.push(Task::new(
                    "text",
                    format!(
                        "{} bytes [{start}, {}) (held-out chunk {})",
                        a.enwik.display(),
                        start + data::CHUNK,
                        a.text_chunk
                    ),
                    chunk_at(&c, a.text_chunk)?,
                    Given::Prefix(a.text_given),
                ));
            }
            Modality::Audio => {
                let c = data::load_librispeech(&a.librispeech, Sample::All)?;
                meta.datasets.push(DatasetMeta::of(&c, "all"));
                let k = a
                    .audio_chunk
                    .unwrap_or_else(|| figure35::pick_by_variance(&c, 64, 1.0));
                tasks.push(Task::new(
                    "audio",
                    format!("{} chunk {} (of {})", a.librispeech.display(), k, c.len()),
                    chunk_at(&c, k)?,
                    Given::Prefix(a.audio_given),
                ));
            }
            Modality::Image => {
                let c = data::load_imagenet(&a.imagenet, Sample::All)?;
                meta.datasets.push(DatasetMeta::of(&c, "all"));
                let k = a
                    .image_chunk
                    .unwrap_or_else(|| figure35::pick_by_variance(&c, 64, 0.75));
                tasks.push(Task::new(
                    "image",
                    format!("{} patch {} (of {})", a.imagenet.display(), k, c.len()),
                    chunk_at(&c, k)?,
                    Given::RowHalves {
                        width: data::PATCH_COLS,
                        given: data::PATCH_COLS / 2,
                    },
                ));
            }
        }
    }
    let paths = models_or_shipped(a.models, &mut meta);
    let bytes = paths
        .iter()
        .map(|p| lm::read_model(p))
        .collect::<Result<Vec<_>, _>>()?;
    let lms = load_models(&paths, &bytes, &mut meta)?;
    let compressors = a
        .compressors
        .iter()
        .map(|&c| classical(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut works: Vec<Vec<u8>> = lms
        .iter()
        .map(|m| {
            m.source()
                .new_work()
                .map_err(|e| Error::Model(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let mut samplers: Vec<(String, Box<dyn Sampler + '_>)> = Vec::new();
    for (c, name) in compressors.iter().zip(&a.compressors) {
        let slug = match name {
            CompressorName::Gzip => "gzip",
            CompressorName::Xz => "lzma2",
            CompressorName::Xz9e => "lzma2-9e",
            CompressorName::Zstd => "zstd",
            CompressorName::Brotli => "brotli",
            _ => "classical",
        };
        samplers.push((slug.into(), Box::new(CompressorSampler::new(c.as_ref()))));
    }
    for ((m, w), p) in lms.iter().zip(works.iter_mut()).zip(&paths) {
        let slug = p
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        let model = m.source().model(w)?;
        samplers.push((
            slug,
            Box::new(ModelSampler::new(m.name().to_string(), model)),
        ));
    }
    let progress = |msg: &str, n: u64| -> Box<dyn Fn(u64)> { bar(msg, n) };
    let mut results = Vec::new();
    for t in &tasks {
        let r = figure35::run_task(t, &mut samplers, a.seed, &progress)?;
        if t.modality == "text" {
            println!(
                "--- context (last 300 of {} bytes) ---",
                t.original.len() - r.original_sampled.len()
            );
            let ctx = &t.original[..t.original.len() - r.original_sampled.len()];
            println!(
                "{}",
                String::from_utf8_lossy(&ctx[ctx.len().saturating_sub(300)..])
            );
            println!(
                "--- original continuation ---\n{}",
                String::from_utf8_lossy(&r.original_sampled)
            );
            for s in &r.samples {
                println!(
                    "--- {} ---\n{}",
                    s.sampler,
                    String::from_utf8_lossy(&s.sampled)
                );
            }
        }
        results.push(r);
    }
    drop(samplers);
    meta.seconds = t0.elapsed().as_secs_f64();
    let f = figure35::Figure35 {
        meta,
        command: command_line(),
        seed: a.seed,
        method: vec![
            "compressors: p(b | x) proportional to 2^-(8 len C(x.b) - 8 len C(x)) over all 256 bytes, len in bytes of the whole compressed output".into(),
            "models: p(b | x) = freq(b) / 2^precision, the int8 model's integer table the coder uses".into(),
            "one SplitMix64(seed) stream per sampler and task; a byte is drawn from a 53-bit uniform by inverse CDF".into(),
        ],
        tasks: results,
    };
    figure35::write_all(&f, &a.out)?;
    eprintln!("wrote {}/", a.out.display());
    Ok(())
}

fn run_figure2(a: Figure2Args) -> Result<(), Error> {
    use host_bench::figure2::{self, ModelRate};
    set_threads(a.threads)?;
    let t0 = std::time::Instant::now();
    let mut meta = Meta::now();
    let paths = models_or_shipped(a.models, &mut meta);
    let bytes = paths
        .iter()
        .map(|p| lm::read_model(p))
        .collect::<Result<Vec<_>, _>>()?;
    let lms = load_models(&paths, &bytes, &mut meta)?;
    let rates = match &a.table1 {
        Some(p) => {
            let json = std::fs::read_to_string(p)
                .map_err(|e| Error::Data(format!("{}: {e}", p.display())))?;
            let all = figure2::rates_from_table1(&json, &p.display().to_string())?;
            // Only rows of the models given (same label, parameters and file size).
            let mut keep = Vec::new();
            for m in &lms {
                match all.iter().find(|r| {
                    r.name == m.name()
                        && r.parameters == m.parameters()
                        && r.file_bytes == m.model_file_bytes()
                }) {
                    Some(r) => keep.push(r.clone()),
                    None => meta.notes.push(format!(
                        "{}: not in {} (or a different file); left out",
                        m.name(),
                        p.display()
                    )),
                }
            }
            keep
        }
        None => {
            let sample = a.max_chunks.map_or(Sample::All, Sample::Even);
            let chunks = data::load_enwik(&a.enwik, a.enwik_start, None, sample)?;
            meta.datasets
                .push(DatasetMeta::of(&chunks, &sample.describe()));
            let mut out = Vec::new();
            for m in &lms {
                let done = bar(&format!("enwik / {}", m.name()), chunks.len() as u64);
                let s = lm::measure_lm(m, &chunks, false, &*done)?;
                out.push(ModelRate {
                    name: m.name().to_string(),
                    parameters: m.parameters(),
                    file_bytes: m.model_file_bytes(),
                    raw_rate: s.raw_rate(),
                    eval_bytes: s.raw_bytes,
                    source: format!(
                        "measured: {} [{}..], {} chunks, real codes decoded back",
                        a.enwik.display(),
                        a.enwik_start,
                        s.chunks
                    ),
                });
            }
            out
        }
    };
    if rates.is_empty() {
        return Err(Error::Data("no model rates to plot".into()));
    }
    meta.seconds = t0.elapsed().as_secs_f64();
    let f = figure2::Figure2 {
        meta,
        command: command_line(),
        legend: figure2::legend(&rates),
        points: figure2::points(&rates, &figure2::DATA_SIZES),
        models: rates,
    };
    figure2::write_all(&f, &a.out)?;
    println!("{}", figure2::markdown(&f));
    eprintln!("wrote {}/figure2.{{json,csv,png,svg}}", a.out.display());
    Ok(())
}

/// A progress bar for one measurement of `table1::run` (finished, and
/// left on screen, when the callback is dropped).
fn bar(msg: &str, len: u64) -> Box<dyn Fn(u64) + Sync> {
    let pb = ProgressBar::new(len).with_finish(ProgressFinish::AndLeave);
    pb.set_style(
        ProgressStyle::with_template("{msg:32} [{bar:30}] {pos}/{len} chunks {per_sec} eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_string());
    Box::new(move |n| pb.inc(n))
}

fn name_of(d: DatasetName) -> &'static str {
    match d {
        DatasetName::Enwik => "enwik",
        DatasetName::Imagenet => "imagenet",
        DatasetName::Librispeech => "librispeech",
        DatasetName::Random => "random",
    }
}
