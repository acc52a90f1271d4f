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
    /// int8 inference speed of the paper's 200K, 800K and 3.2M sizes, per
    /// core and on all cores, with multiply-accumulates per byte.
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
        /// Output folder for throughput.{md,json}.
        #[arg(long, default_value = "reports/throughput")]
        out: PathBuf,
    },
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Table1(a) => run_table1(*a),
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
            out,
        } => throughput(&enwik, start, bytes, &windows, threads, &out),
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
    let rows = host_bench::throughput::run(data, windows, threads)?;
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
    let t = table1::run(
        &datasets,
        &compressors,
        &lms,
        !a.no_unchunked,
        lm_sample,
        meta,
        &bar,
    )?;
    report::write_all(&t, &a.out)?;
    println!("{}", report::markdown(&t));
    eprintln!("wrote {}/table1.{{md,json,csv}}", a.out.display());
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
