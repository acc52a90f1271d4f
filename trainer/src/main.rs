//! `trainer`: train, export and evaluate byte-level Transformers.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use model_int8::{Config, FloatStorage};
use trainer::error::Result;
use trainer::mixture::Source;
use trainer::run::{self, Engine, TrainConfig};
use trainer::train::{self, Observer, StepProgress};
use trainer::{data, ship, Error};

#[derive(Parser)]
#[command(version, about = "Train, export and evaluate byte-level Transformers")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Cmd {
    /// Train a model (or resume a run) into a run directory.
    Train(TrainArgs),
    /// Export a run: float model file, quantized int8 model file, manifest.
    Export(ExportCli),
    /// Float and int8 bits per byte of a float model file on held-out data.
    Eval(EvalCli),
    /// Training throughput (tokens/s) for paper sizes and contexts.
    Bench(BenchCli),
    /// Train a byte-level BPE tokenizer (for token-level models, Table 2).
    Tokenizer(TokenizerCli),
    /// Redraw a run's curves (`val_bpb.png`) from its `metrics.csv`.
    Plot {
        /// Run directory.
        #[arg(long)]
        run: PathBuf,
    },
    /// Finished runs side by side: `OUT.md`, `OUT.json` and `OUT.png`
    /// (held-out bits per byte against the attention window, one line per
    /// model size).
    Compare {
        /// Output path without extension.
        #[arg(long)]
        out: PathBuf,
        /// What was run, on what data, when: heads the table and figure.
        #[arg(long)]
        caption: String,
        /// Run directories.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
    },
    /// A model's runs in order (first run, warm restarts, continuations):
    /// `OUT.md`, `OUT.json` and `OUT.png` (headline held-out bits per byte
    /// against cumulative training tokens).
    History {
        /// Output path without extension.
        #[arg(long)]
        out: PathBuf,
        /// What was run, on what data, when: heads the table and figure.
        #[arg(long)]
        caption: String,
        /// Run directories or `PREFIX-metrics.csv` files, oldest first.
        #[arg(required = true)]
        stages: Vec<PathBuf>,
    },
    /// The element-wise mean of float model files of one configuration
    /// (e.g. a run's last checkpoints): a float model file to `eval` or
    /// to `export --float`, in binary16 as `export` ships them.
    Average {
        /// Output float model file.
        #[arg(long)]
        out: PathBuf,
        /// Store the mean in f32 instead of binary16.
        #[arg(long)]
        f32: bool,
        /// Float model files to average.
        #[arg(required = true)]
        models: Vec<PathBuf>,
    },
}

#[derive(Args)]
struct BenchCli {
    /// Sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "200k,800k,3m2")]
    sizes: Vec<Size>,
    /// Contexts (sequence lengths) to measure.
    #[arg(long, value_delimiter = ',', default_value = "256,2048")]
    contexts: Vec<usize>,
    /// Tokens per step (batch = tokens / context).
    #[arg(long, default_value_t = 4096)]
    tokens: usize,
    /// Timed steps per measurement (median reported).
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// Attention window.
    #[arg(long, default_value_t = 256)]
    window: u32,
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    data: PathBuf,
    /// Engine: fused (hand-fused CPU kernels) or burn (Burn autodiff).
    #[arg(long, value_enum, default_value_t = Engine::Fused)]
    engine: Engine,
    /// Worker threads of the fused engine (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Also write the rows (and the machine) to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct ExportCli {
    /// Run directory to export (its last checkpoint).
    #[arg(long)]
    run: PathBuf,
    /// Model name for the manifest (e.g. lm-200k).
    #[arg(long)]
    name: String,
    /// Output folder; writes NAME.lmm, NAME.float and NAME.json.
    #[arg(long, default_value = "model-int8/models")]
    out_dir: PathBuf,
    /// Evaluate on at most this many held-out bytes (0: the whole range).
    #[arg(long, default_value_t = 0)]
    eval_bytes: usize,
    /// Calibration bytes taken from the training range.
    #[arg(long, default_value_t = 16384)]
    calibration_bytes: usize,
    /// What limited this model, for the manifest.
    #[arg(long, default_value = "")]
    limitations: String,
    /// Export this float model file (the run's configuration; e.g.
    /// `trainer average` of its checkpoints) instead of the run's last
    /// checkpoint.
    #[arg(long)]
    float: Option<PathBuf>,
}

#[derive(Args)]
struct TokenizerCli {
    /// Vocabulary size, the 256 byte tokens included.
    #[arg(long)]
    vocab: usize,
    /// Output tokenizer file (the `tokenizers` JSON).
    #[arg(long)]
    out: PathBuf,
    /// Training text (file or folder).
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    data: PathBuf,
    /// Byte range of the training text.
    #[arg(long, default_value = "0..3600000")]
    range: String,
}

#[derive(Args)]
struct EvalCli {
    /// Float model file (written by `export`).
    #[arg(long)]
    float: PathBuf,
    /// Int8 model file; quantized from the float model when absent.
    #[arg(long)]
    int8: Option<PathBuf>,
    /// Data file or folder.
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    data: PathBuf,
    /// Held-out byte range START..END.
    #[arg(long, default_value = "3600000..")]
    range: String,
    /// Chunk size; each chunk is coded from an empty context.
    #[arg(long, default_value_t = 2048)]
    chunk: usize,
    /// Calibration range when quantizing here.
    #[arg(long, default_value = "0..3600000")]
    calibration_range: String,
}

#[derive(Args)]
struct TrainArgs {
    /// Run directory (config, checkpoints, metrics, plot).
    #[arg(long)]
    run: PathBuf,
    /// Resume the run in `--run` from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Paper size (overridden by --d-model etc.).
    #[arg(long, value_enum, default_value_t = Size::K200)]
    size: Size,
    #[arg(long)]
    d_model: Option<u32>,
    #[arg(long)]
    layers: Option<u32>,
    #[arg(long)]
    heads: Option<u32>,
    #[arg(long)]
    d_ff: Option<u32>,
    /// Attention window (positions seen, itself included).
    #[arg(long, default_value_t = 256)]
    window: u32,
    /// Longest chunk the model codes.
    #[arg(long, default_value_t = 2048)]
    max_context: u32,
    /// Data file or folder (the single source when no --source is given).
    #[arg(long, default_value = "../shared/data/enwik8/enwik8.head")]
    data: PathBuf,
    /// Training byte range of --data, START..END.
    #[arg(long, default_value = "0..3600000")]
    train_range: String,
    /// Validation byte range of --data, START..END (END empty: to the end).
    #[arg(long, default_value = "3600000..")]
    val_range: String,
    /// Training source of a mixture, NAME=PATH[+PATH...][@START..END][*WEIGHT]
    /// (repeat; replaces --data/--train-range). Sequences are drawn from
    /// the sources in proportion to their weights.
    #[arg(long = "source")]
    sources: Vec<String>,
    /// Validation source, NAME=PATH[+PATH...][@START..END] (repeat;
    /// replaces --val-range). The first is the headline curve and what
    /// `export` measures.
    #[arg(long = "val-source")]
    val_sources: Vec<String>,
    /// Warm restart: start from this float model file (e.g. a shipped
    /// `model-int8/models/*.float`) with a fresh optimizer; its
    /// architecture is used (--window and --max-context may change it).
    #[arg(long)]
    init_from: Option<PathBuf>,
    #[arg(long, default_value_t = 256)]
    seq_len: usize,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Sequence length of the final phase (0: none).
    #[arg(long, default_value_t = 512)]
    final_seq_len: usize,
    /// Fraction of the run spent at --final-seq-len.
    #[arg(long, default_value_t = 0.25)]
    final_frac: f64,
    /// Step limit (0: none).
    #[arg(long, default_value_t = 0)]
    steps: u64,
    /// Budget in raw training bytes seen (0: none): sets the step limit
    /// to this over the bytes a step covers (batch x sequence length x the
    /// training mixture's bytes per token), so runs with different
    /// tokenizers see the same text. Not with --steps or --minutes.
    #[arg(long, default_value_t = 0)]
    train_bytes: u64,
    /// Time limit in minutes (0: none). On `--resume`, giving neither
    /// this nor `--steps` keeps the run's own limits.
    #[arg(long, default_value_t = 0.0)]
    minutes: f64,
    #[arg(long, default_value_t = 3e-3)]
    lr: f64,
    #[arg(long, default_value_t = 3e-4)]
    min_lr: f64,
    #[arg(long, default_value_t = 200)]
    warmup: u64,
    /// AdamW weight decay (decoupled, scaled by the learning rate).
    #[arg(long, default_value_t = 0.1)]
    weight_decay: f32,
    #[arg(long, default_value_t = 0.99)]
    beta2: f32,
    /// Gradient norm clip per parameter tensor (0: none).
    #[arg(long, default_value_t = 1.0)]
    grad_clip: f32,
    #[arg(long, default_value_t = 300.0)]
    checkpoint_every_s: f64,
    #[arg(long, default_value_t = 300.0)]
    eval_every_s: f64,
    /// 2048-byte validation chunks for the curve (0: all).
    #[arg(long, default_value_t = 16)]
    val_chunks: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// No progress bar (log lines only).
    #[arg(long)]
    quiet: bool,
    /// Engine: fused (hand-fused CPU kernels, the CPU default) or burn
    /// (Burn autodiff on the build's backend, the CUDA default).
    #[arg(long, value_enum, default_value_t = Engine::DEFAULT)]
    engine: Engine,
    /// Worker threads of the fused engine (0: all cores; on `--resume`,
    /// the run's).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Residual dropout on each block's attention and feed-forward
    /// outputs (0: none); fights over-fitting when a large model sees the
    /// same few MB many times.
    #[arg(long, default_value_t = 0.0)]
    dropout: f32,
    /// Train a token-level model over this BPE tokenizer's vocabulary
    /// (`trainer tokenizer`); the sources are tokenized once and cached
    /// in the run directory, validation is bits of the token streams over
    /// raw bytes.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// `--minutes` counts the process's CPU time (user + system) instead
    /// of wall time: the same compute for every run on a loaded machine.
    #[arg(long)]
    cpu_clock: bool,
    /// Keep an exponential moving average of the weights with this decay
    /// per step (e.g. 0.999: about the last 1000 steps; fused engine) and
    /// validate and export it; given on `--resume`, it turns the average
    /// on (from the current weights) or changes its decay.
    #[arg(long, default_value_t = 0.0)]
    ema: f32,
}

/// The paper's model sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Size {
    #[value(name = "200k")]
    K200,
    #[value(name = "800k")]
    K800,
    #[value(name = "3m2", alias = "3.2m")]
    M3_2,
}

impl Size {
    fn config(self, window: u32, max_context: u32) -> Config {
        match self {
            Size::K200 => Config::paper_200k(window, max_context),
            Size::K800 => Config::paper_800k(window, max_context),
            Size::M3_2 => Config::paper_3m2(window, max_context),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Size::K200 => "200k",
            Size::K800 => "800k",
            Size::M3_2 => "3m2",
        }
    }
}

fn model_config(a: &TrainArgs) -> Result<Config> {
    let mut c = a.size.config(a.window, a.max_context);
    if let Some(d) = a.d_model {
        c.d_model = d;
        c.d_ff = 4 * d;
    }
    if let Some(l) = a.layers {
        c.n_layers = l;
    }
    if let Some(h) = a.heads {
        c.n_heads = h;
    }
    if let Some(f) = a.d_ff {
        c.d_ff = f;
    }
    if c.n_heads == 0 || !c.d_model.is_multiple_of(c.n_heads) || !c.head_dim().is_multiple_of(2) {
        return Err(Error::Usage(
            "d_model must be a multiple of heads with an even head width".into(),
        ));
    }
    if c.window == 0 || c.window > c.max_context {
        return Err(Error::Usage("window must be in 1..=max_context".into()));
    }
    Ok(c)
}

/// The step limit that makes a run see `bytes` raw training bytes: the
/// mixture is tokenized here (into the run's token cache, which training
/// then reads) to learn its bytes per token.
fn steps_for_bytes(a: &TrainArgs, train: &[Source], bytes: u64) -> Result<u64> {
    let mut sources = train.to_vec();
    let mut mix = trainer::mixture::Mixture::load(&mut sources)?;
    if let Some(path) = &a.tokenizer {
        let bpe = tokenize::Bpe::load(path).map_err(|e| Error::Data(e.to_string()))?;
        std::fs::create_dir_all(&a.run).map_err(Error::io("create", &a.run))?;
        mix.tokenize(&bpe, &a.run)?;
    }
    let per_step = (a.batch * a.seq_len) as f64 * mix.bytes_per_token();
    let steps = (bytes as f64 / per_step).ceil() as u64;
    eprintln!(
        "--train-bytes {bytes}: {:.4} bytes per token, {per_step:.0} bytes a step -> {steps} steps",
        mix.bytes_per_token()
    );
    Ok(steps)
}

fn run_train(a: TrainArgs) -> Result<()> {
    let mut config = model_config(&a)?;
    if let Some(path) = &a.init_from {
        config = run::read_float_model(path)?.config;
        config.window = a.window;
        config.max_context = a.max_context.max(a.window);
    }
    if let Some(path) = &a.tokenizer {
        let bpe = tokenize::Bpe::load(path).map_err(|e| Error::Data(e.to_string()))?;
        config.vocab = bpe.vocab() as u32;
    }
    let (train_sources, val_sources) = sources(&a)?;
    if a.seq_len > config.max_context as usize || a.final_seq_len > config.max_context as usize {
        return Err(Error::Usage("sequence length exceeds max_context".into()));
    }
    let steps = match a.train_bytes {
        0 => a.steps,
        _ if a.steps > 0 || a.minutes > 0.0 => {
            return Err(Error::Usage(
                "--train-bytes sets the step limit: give it without --steps or --minutes".into(),
            ))
        }
        bytes => steps_for_bytes(&a, &train_sources, bytes)?,
    };
    let cfg = TrainConfig {
        model: config,
        train: train_sources,
        val: val_sources,
        init_from: a.init_from.clone(),
        seq_len: a.seq_len,
        batch: a.batch,
        final_seq_len: a.final_seq_len,
        final_frac: a.final_frac,
        steps,
        time_budget_s: a.minutes * 60.0,
        lr: a.lr,
        min_lr: a.min_lr,
        warmup: a.warmup,
        weight_decay: a.weight_decay,
        beta2: a.beta2,
        grad_clip: a.grad_clip,
        checkpoint_every_s: a.checkpoint_every_s,
        eval_every_s: a.eval_every_s,
        val_chunks: a.val_chunks,
        seed: a.seed,
        engine: a.engine,
        threads: a.threads,
        dropout: a.dropout,
        tokenizer: a.tokenizer.clone(),
        cpu_clock: a.cpu_clock,
        ema: a.ema,
    };
    if !(0.0..1.0).contains(&a.dropout) {
        return Err(Error::Usage(format!(
            "--dropout {} is not in [0, 1)",
            a.dropout
        )));
    }
    if !(0.0..1.0).contains(&a.ema) {
        return Err(Error::Usage(format!(
            "--ema {} is not in [0, 1) (0.999 averages about the last 1000 steps)",
            a.ema
        )));
    }
    if a.resume && a.run.join("state.json").exists() {
        eprintln!("resuming {} ({} engine)", a.run.display(), a.engine);
    } else {
        let names = |v: &[Source]| {
            v.iter()
                .map(|s| format!("{} (weight {})", s.name, s.weight))
                .collect::<Vec<_>>()
                .join(", ")
        };
        eprintln!(
            "training {} parameters ({} engine{}), sources: {}; validation: {}",
            config.parameters(),
            a.engine,
            a.init_from
                .as_ref()
                .map(|p| format!(", warm restart from {}", p.display()))
                .unwrap_or_default(),
            names(&cfg.train),
            cfg.val
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut bar = Bar::new(&cfg, a.quiet);
    let st = train::train(&a.run, cfg, a.resume, &mut bar);
    bar.finish();
    let st = st?;
    eprintln!(
        "done: {} steps, {} tokens, {:.0} s, last validation {:?} bits/byte",
        st.step, st.tokens, st.elapsed_s, st.last_val_bpb
    );
    Ok(())
}

/// The progress bar of `train` (log lines above it), or with `--quiet`
/// log lines alone.
struct Bar {
    bar: Option<ProgressBar>,
    /// Whether the bar counts seconds of a time budget rather than steps.
    by_time: bool,
}

impl Bar {
    fn new(cfg: &TrainConfig, quiet: bool) -> Self {
        let by_time = cfg.time_budget_s > 0.0;
        let bar = (!quiet).then(|| {
            let (len, unit) = if by_time {
                (cfg.time_budget_s as u64, "s")
            } else {
                (cfg.steps, "steps")
            };
            let b = ProgressBar::new(len);
            b.set_style(
                ProgressStyle::with_template(&format!(
                    "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit} ETA {{eta}} {{msg}}"
                ))
                .expect("valid template"),
            );
            b
        });
        Self { bar, by_time }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}

impl Observer for Bar {
    fn step(&mut self, p: &StepProgress) {
        let Some(b) = &self.bar else { return };
        b.set_position(if self.by_time {
            p.elapsed_s as u64
        } else {
            p.step
        });
        b.set_message(format!(
            "step {} loss {:.3} bpb {:.0} tok/s lr {:.2e}{}",
            p.step,
            p.train_bpb,
            p.tokens_per_s,
            p.lr,
            p.last_val_bpb
                .map(|v| format!(" val {v:.3}"))
                .unwrap_or_default()
        ));
    }

    fn message(&mut self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => Log.message(line),
        }
    }
}

/// Log lines on stderr, no bar.
struct Log;

impl Observer for Log {
    fn message(&mut self, line: &str) {
        eprintln!("{line}");
    }
}

/// The training and validation sources: `--source`/`--val-source`, or
/// `--data` with its two ranges.
fn sources(a: &TrainArgs) -> Result<(Vec<Source>, Vec<Source>)> {
    let parse = |v: &[String]| {
        v.iter()
            .map(|s| Source::parse(s))
            .collect::<Result<Vec<_>, _>>()
    };
    let range =
        |s: &str| data::parse_range(s).map(|(start, end)| Some(start..end.unwrap_or(usize::MAX)));
    let train = if a.sources.is_empty() {
        vec![Source::new("enwik8", &a.data, range(&a.train_range)?, 1.0)]
    } else {
        parse(&a.sources)?
    };
    let val = if a.val_sources.is_empty() {
        vec![Source::new("enwik8", &a.data, range(&a.val_range)?, 1.0)]
    } else {
        parse(&a.val_sources)?
    };
    Ok((train, val))
}

fn run_export(a: ExportCli) -> Result<()> {
    let path = |ext: &str| a.out_dir.join(format!("{}.{ext}", a.name));
    let m = ship::export_run(
        &ship::ExportArgs {
            run: a.run.clone(),
            name: a.name.clone(),
            out_int8: path("lmm"),
            out_float: path("float"),
            manifest: path("json"),
            eval_bytes: a.eval_bytes,
            calibration_bytes: a.calibration_bytes,
            limitations: a.limitations.clone(),
            float: a.float.clone(),
        },
        &mut Log,
    )?;
    println!(
        "{}",
        serde_json::to_string_pretty(&m).expect("serializable")
    );
    Ok(())
}

fn run_tokenizer(a: TokenizerCli) -> Result<()> {
    let bytes = data::load_bytes(&a.data)?;
    let range = data::resolve(data::parse_range(&a.range)?, bytes.len())?;
    let t = std::time::Instant::now();
    let bpe = tokenize::Bpe::train(&[&bytes[range.clone()]], a.vocab)
        .map_err(|e| Error::Data(e.to_string()))?;
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    }
    bpe.save(&a.out).map_err(|e| Error::Data(e.to_string()))?;
    let sample = &bytes[range.end.min(bytes.len().saturating_sub(100_000))..];
    let tokens = bpe.encode(sample).len();
    eprintln!(
        "{}: {} tokens trained on bytes {:?} in {:.1} s; hash {:016x}; {:.3} bytes per token on {} bytes after the range",
        a.out.display(),
        bpe.vocab(),
        range,
        t.elapsed().as_secs_f64(),
        bpe.hash(),
        sample.len() as f64 / tokens.max(1) as f64,
        sample.len()
    );
    Ok(())
}

fn run_eval(a: EvalCli) -> Result<()> {
    let fm = run::read_float_model(&a.float)?;
    let bytes = data::load_bytes(&a.data)?;
    let range = data::resolve(data::parse_range(&a.range)?, bytes.len())?;
    let file = match &a.int8 {
        Some(p) => std::fs::read(p).map_err(Error::io("read", p))?,
        None => {
            let cr = data::resolve(data::parse_range(&a.calibration_range)?, bytes.len())?;
            let calib = ship::calibration_text(&bytes, &cr, 16384, a.chunk);
            model_int8::quantize(&fm, &calib, &model_int8::QuantOptions::default())
                .map_err(Error::Quantize)?
        }
    };
    let (float_bpb, int8) = ship::measure(&fm, &file, &bytes[range.clone()], a.chunk)?;
    println!(
        "{}",
        serde_json::json!({
            "range": [range.start, range.end],
            "chunk": a.chunk,
            "float_bpb": float_bpb,
            "int8": int8,
        })
    );
    Ok(())
}

fn run_average(out: &std::path::Path, models: &[PathBuf], f32: bool) -> Result<()> {
    let ms = models
        .iter()
        .map(|p| run::read_float_model(p))
        .collect::<Result<Vec<_>>>()?;
    let mean = trainer::average::average(&ms)?;
    let (storage, name) = if f32 {
        (FloatStorage::F32, "f32")
    } else {
        (FloatStorage::F16, "f16")
    };
    let bytes = mean
        .to_bytes_as(storage)
        .map_err(|e| Error::Model(format!("{}: {e}", out.display())))?;
    run::write_atomic(out, &bytes)?;
    eprintln!(
        "{}: the mean of {} models ({name})",
        out.display(),
        ms.len()
    );
    Ok(())
}

fn run_bench(a: BenchCli) -> Result<()> {
    let bytes = data::load_bytes(&a.data)?;
    let bytes = &bytes[..bytes.len().min(3_600_000)];
    let threads = threads_or_all(a.threads);
    println!(
        "| engine | size | params | context | window | batch | tokens/s (median of {}) |",
        a.steps
    );
    println!("|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for size in &a.sizes {
        let name = size.name();
        for &ctx in &a.contexts {
            let c = size.config(a.window.min(ctx as u32), 2048.max(ctx as u32));
            let batch = (a.tokens / ctx).max(1);
            let r = match a.engine {
                Engine::Burn => trainer::bench::train_throughput(&c, bytes, ctx, batch, a.steps),
                Engine::Fused => {
                    trainer::bench::fused_throughput(&c, bytes, ctx, batch, a.steps, threads)?
                }
            };
            println!(
                "| {} | {name} | {} | {ctx} | {} | {batch} | {r:.0} |",
                a.engine,
                c.parameters(),
                c.window
            );
            rows.push(serde_json::json!({
                "engine": a.engine.name(), "size": name, "parameters": c.parameters(),
                "context": ctx, "window": c.window, "batch": batch,
                "tokens_per_s": r, "timed_steps": a.steps,
            }));
        }
    }
    if let Some(path) = &a.json {
        let doc = serde_json::json!({
            "machine": ship::hardware(),
            "threads": if a.engine == Engine::Fused { threads } else { 0 },
            "rows": rows,
        });
        run::write_json(path, &doc)?;
    }
    Ok(())
}

/// `n`, or every available core when `n` is 0.
fn threads_or_all(n: usize) -> usize {
    if n > 0 {
        n
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// The fused engine splits the batch across its own threads, so
/// `matrixmultiply` (threaded for Burn's ndarray backend) must run each
/// product on the calling thread: its helper threads would oversubscribe
/// the cores and spin (measured 2026-12-02 on 2 cores, 3.2M model: 3.4K
/// tokens/s with them, 5.5K without). Set before any thread exists;
/// `MATMUL_NUM_THREADS` from the environment wins.
fn single_threaded_gemm_for_fused(cmd: &Cmd) {
    let burn = match cmd {
        Cmd::Train(a) => a.engine == Engine::Burn,
        Cmd::Bench(a) => a.engine == Engine::Burn,
        Cmd::Export(_)
        | Cmd::Eval(_)
        | Cmd::Tokenizer(_)
        | Cmd::Plot { .. }
        | Cmd::Compare { .. }
        | Cmd::History { .. }
        | Cmd::Average { .. } => false,
    };
    if !burn && std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        std::env::set_var("MATMUL_NUM_THREADS", "1");
    }
}

fn run_compare(out: &std::path::Path, caption: &str, runs: &[PathBuf]) -> Result<()> {
    use trainer::compare;
    let runs = runs
        .iter()
        .map(|r| compare::summarize(r))
        .collect::<Result<Vec<_>>>()?;
    compare::write_comparison(&runs, out, caption)?;
    println!("wrote {0}.md, {0}.json, {0}.png", out.display());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    single_threaded_gemm_for_fused(&cli.cmd);
    let r = match cli.cmd {
        Cmd::Train(a) => run_train(a),
        Cmd::Export(a) => run_export(a),
        Cmd::Eval(a) => run_eval(a),
        Cmd::Bench(a) => run_bench(a),
        Cmd::Tokenizer(a) => run_tokenizer(a),
        Cmd::Plot { run } => {
            let dir = trainer::run::RunDir(run);
            trainer::plot::plot_metrics(&dir.metrics(), &dir.plot())
        }
        Cmd::Compare { out, caption, runs } => run_compare(&out, &caption, &runs),
        Cmd::History {
            out,
            caption,
            stages,
        } => stages
            .iter()
            .map(|s| trainer::history::Stage::read(s))
            .collect::<Result<Vec<_>>>()
            .and_then(|stages| trainer::history::write_history(&stages, &out, &caption)),
        Cmd::Average { out, models, f32 } => run_average(&out, &models, f32),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
