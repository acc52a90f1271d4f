//! `host-bench throughput`: the paper's three sizes compressing and
//! decompressing 2048-byte chunks, per core and on all cores, one model per
//! chunk (`single`, the baseline) beside batches of chunks coded in
//! lockstep by the batched model (`coder_core::lockstep`), with
//! multiply-accumulates per byte.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use coder_core::lockstep::{self, Decode, Encode, Step};
use coder_core::{decode_into, encode_into, max_encoded_len, BatchModel, MAX_PRECISION};
use lmc::{ChunkModel, Int8Source};
use model_int8::bench::{
    kernel_name, macs_per_byte, paper_configs, random_int8_model, thread_cpu_ns,
};
use serde::Serialize;

use crate::Error;

/// The paper's chunk size.
const CHUNK: usize = 2048;

/// How a measurement codes its chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batch {
    /// One plain model codes one chunk at a time (the baseline).
    Single,
    /// This many chunks coded in lockstep by one batched model.
    Lockstep(usize),
}

impl Batch {
    /// `1` is [`Batch::Single`], `n > 1` lockstep batches of `n`.
    pub fn of(n: usize) -> Self {
        if n <= 1 {
            Batch::Single
        } else {
            Batch::Lockstep(n.min(lockstep::MAX_LANES))
        }
    }

    /// Chunks coded at once.
    pub fn lanes(self) -> usize {
        match self {
            Batch::Single => 1,
            Batch::Lockstep(n) => n,
        }
    }

    /// Its name in reports: `single` or `lockstep N`.
    pub fn name(self) -> String {
        match self {
            Batch::Single => "single".into(),
            Batch::Lockstep(n) => format!("lockstep {n}"),
        }
    }
}

/// One row: a model size at one attention window, coded one way.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// "200K", "800K" or "3.2M".
    pub size: &'static str,
    /// Attention window (positions seen).
    pub window: u32,
    /// Float parameters of the configuration.
    pub parameters: u64,
    /// `single` or `lockstep N`.
    pub batch: String,
    /// Chunks coded at once (1 for `single`).
    pub lanes: usize,
    /// Compression, bytes per second of this thread's CPU time (per core),
    /// if known.
    pub compress_cpu_bytes_per_sec: Option<f64>,
    /// Compression, bytes per second of wall time on one thread.
    pub compress_wall_bytes_per_sec: f64,
    /// Decompression, bytes per second of this thread's CPU time.
    pub decompress_cpu_bytes_per_sec: Option<f64>,
    /// Decompression, bytes per second of wall time on one thread.
    pub decompress_wall_bytes_per_sec: f64,
    /// Compression, bytes per second of wall time on `threads` threads.
    pub parallel_compress_bytes_per_sec: f64,
    /// Threads used for the parallel figure.
    pub threads: usize,
    /// Multiply-accumulates per byte (2048-byte chunks).
    pub macs_per_byte: f64,
    /// Compression's multiply-accumulates per second of one core, 10^9.
    pub gmacs_per_core: f64,
    /// The machine's int8 peak, 10^9 multiply-accumulates per second of
    /// one core (not measured yet: `None`).
    pub peak_gmacs: Option<f64>,
}

/// Compression or decompression timed on one thread.
#[derive(Clone, Copy, Debug)]
struct Timing {
    wall: f64,
    cpu: Option<f64>,
}

impl Timing {
    /// Times `f`, which codes `bytes` bytes: bytes per second.
    fn of<R>(bytes: usize, f: impl FnOnce() -> R) -> (R, Self) {
        let start = Instant::now();
        let cpu0 = thread_cpu_ns();
        let r = f();
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let cpu = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => Some(bytes as f64 / ((b - a) as f64 * 1e-9)),
            _ => None,
        };
        let wall = bytes as f64 / secs;
        (r, Self { wall, cpu })
    }
}

/// One thread's coder: a plain model (one chunk at a time) or a batched
/// one (a group in lockstep).
enum Coder<'w, S: ChunkModel + 'w> {
    Single(S::Model<'w>),
    Lockstep(S::Batch<'w>),
}

/// Working memory of a [`Coder`].
enum Work<S: ChunkModel> {
    Single(S::Work),
    Lockstep(S::BatchWork),
}

fn new_work<S: ChunkModel>(source: &S, batch: Batch) -> Result<Work<S>, Error> {
    let memory = |e: lmc::Error| Error::Model(e.to_string());
    Ok(match batch {
        Batch::Single => Work::Single(source.new_work().map_err(memory)?),
        Batch::Lockstep(n) => Work::Lockstep(source.new_batch_work(n).map_err(memory)?),
    })
}

fn coder<'w, S: ChunkModel>(source: &'w S, work: &'w mut Work<S>) -> Result<Coder<'w, S>, Error> {
    let model = |e: lmc::Error| Error::Model(e.to_string());
    Ok(match work {
        Work::Single(w) => Coder::Single(source.model(w).map_err(model)?),
        Work::Lockstep(w) => Coder::Lockstep(source.batch(w).map_err(model)?),
    })
}

/// Runs `codings` in lockstep on `batch`, every result in order.
fn lockstep_all<B: BatchModel, S: Step>(
    batch: &mut B,
    codings: Vec<S>,
) -> Result<Vec<S::Output>, coder_core::Error> {
    let mut out: Vec<Option<Result<S::Output, coder_core::Error>>> =
        codings.iter().map(|_| None).collect();
    lockstep::run(batch, codings, |i, r| out[i] = Some(r))?;
    out.into_iter()
        .map(|r| r.unwrap_or(Err(coder_core::Error::BadConfig)))
        .collect()
}

impl<S: ChunkModel> Coder<'_, S> {
    /// Codes `chunks` (at most the batch) into `outs`; the coded lengths.
    fn encode(&mut self, chunks: &[&[u8]], outs: &mut [Vec<u8>]) -> Result<Vec<usize>, Error> {
        let err = |e: coder_core::Error| Error::codec("LM", e);
        match self {
            Coder::Single(m) => chunks
                .iter()
                .zip(outs)
                .map(|(c, o)| encode_into(m, c, o).map_err(err))
                .collect(),
            Coder::Lockstep(b) => {
                let codings = chunks.iter().zip(outs).map(|(c, o)| Encode::new(c, o));
                lockstep_all(b, codings.collect()).map_err(err)
            }
        }
    }

    /// Decodes `codes` into `outs` (each of its chunk's length).
    fn decode(&mut self, codes: &[&[u8]], outs: &mut [Vec<u8>]) -> Result<(), Error> {
        let err = |e: coder_core::Error| Error::codec("LM", e);
        match self {
            Coder::Single(m) => {
                for (c, o) in codes.iter().zip(outs) {
                    decode_into(m, c, o).map_err(err)?;
                }
            }
            Coder::Lockstep(b) => {
                let codings = codes.iter().zip(outs).map(|(c, o)| Decode::new(c, o));
                lockstep_all(b, codings.collect()).map_err(err)?;
            }
        }
        Ok(())
    }
}

/// Compresses every group of `data` with `coder`: the codes, in order.
fn compress_groups<S: ChunkModel>(
    coder: &mut Coder<'_, S>,
    groups: &[Vec<&[u8]>],
) -> Result<Vec<Vec<u8>>, Error> {
    let mut codes = Vec::new();
    for g in groups {
        let mut outs: Vec<Vec<u8>> = g
            .iter()
            .map(|c| vec![0u8; max_encoded_len(c.len(), MAX_PRECISION)])
            .collect();
        let lens = coder.encode(g, &mut outs)?;
        for (mut o, n) in outs.into_iter().zip(lens) {
            o.truncate(n);
            codes.push(o);
        }
    }
    Ok(codes)
}

/// `data` in 2048-byte chunks, in groups of `lanes`.
fn groups(data: &[u8], lanes: usize) -> Vec<Vec<&[u8]>> {
    data.chunks(CHUNK * lanes)
        .map(|g| g.chunks(CHUNK).collect())
        .collect()
}

/// Compresses and decompresses `data` on this thread as `batch` says,
/// checks the round trip (and, given the baseline's codes, that the codes
/// are the same), and times both; returns the codes too.
fn measure_one<S: ChunkModel>(
    source: &S,
    data: &[u8],
    batch: Batch,
    expect: Option<&[Vec<u8>]>,
) -> Result<(Timing, Timing, Vec<Vec<u8>>), Error> {
    let mut work = new_work(source, batch)?;
    let mut coder = coder(source, &mut work)?;
    let groups = groups(data, batch.lanes());
    let (codes, enc) = Timing::of(data.len(), || compress_groups(&mut coder, &groups));
    let codes = codes?;
    if expect.is_some_and(|e| e != codes) {
        return Err(Error::codec(
            "LM",
            format!("{} codes differ from single", batch.name()),
        ));
    }
    let mut backs: Vec<Vec<u8>> = data.chunks(CHUNK).map(|c| vec![0u8; c.len()]).collect();
    let (r, dec) = Timing::of(data.len(), || -> Result<(), Error> {
        let lanes = batch.lanes();
        for (codes, outs) in codes.chunks(lanes).zip(backs.chunks_mut(lanes)) {
            let codes: Vec<&[u8]> = codes.iter().map(|c| &c[..]).collect();
            coder.decode(&codes, outs)?;
        }
        Ok(())
    });
    r?;
    if backs.concat() != data {
        return Err(Error::codec("LM", "decoded data differs from the original"));
    }
    Ok((enc, dec, codes))
}

/// Compresses `data` on `threads` threads at once (each with its own
/// coder, groups dealt round robin): bytes per second of wall time.
fn measure_parallel<S: ChunkModel>(
    source: &S,
    data: &[u8],
    batch: Batch,
    threads: usize,
) -> Result<f64, Error> {
    let groups = groups(data, batch.lanes());
    let threads = threads.clamp(1, groups.len().max(1));
    let start = Instant::now();
    let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let groups = &groups;
                s.spawn(move || -> Result<(), Error> {
                    let mut work = new_work(source, batch)?;
                    let mut coder = coder(source, &mut work)?;
                    let mine: Vec<Vec<&[u8]>> =
                        groups.iter().skip(k).step_by(threads).cloned().collect();
                    compress_groups(&mut coder, &mine).map(|_| ())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::codec("LM", "a coding thread panicked")))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    Ok(data.len() as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// Measures every paper size at each window on `data` (2048-byte chunks)
/// for each of `batches` (the baseline `single` first, whatever the
/// order), random weights (speed does not depend on them). Every batch's
/// codes are checked against the baseline's, and every chunk decoded back.
pub fn run(
    data: &[u8],
    windows: &[u32],
    batches: &[usize],
    threads: usize,
) -> Result<Vec<Row>, Error> {
    let model_err = |e: model_int8::Error| Error::Model(e.to_string());
    let mut order: Vec<Batch> = vec![Batch::Single];
    for &b in batches {
        if !order.contains(&Batch::of(b)) {
            order.push(Batch::of(b));
        }
    }
    // The register-only ceiling, measured once, before the models.
    let peak = model_int8::bench::peak_macs_per_sec().map(|p| p / 1e9);
    let mut rows = Vec::new();
    for &w in windows {
        for (size, cfg) in paper_configs(w) {
            let file = random_int8_model(cfg, 1).map_err(model_err)?;
            let source = Int8Source::new(&file).map_err(|e| Error::Model(e.to_string()))?;
            let macs = macs_per_byte(&cfg, CHUNK);
            let mut baseline: Option<Vec<Vec<u8>>> = None;
            for &batch in &order {
                let source = source.with_lanes(batch.lanes());
                let (enc, dec, codes) = measure_one(&source, data, batch, baseline.as_deref())?;
                baseline.get_or_insert(codes);
                let all = measure_parallel(&source, data, batch, threads)?;
                let per_core = enc.cpu.unwrap_or(enc.wall);
                eprintln!(
                    "{size} window {w}, {}: {:.1} / {:.1} KB/s per core (compress / decompress)",
                    batch.name(),
                    per_core / 1e3,
                    dec.cpu.unwrap_or(dec.wall) / 1e3
                );
                rows.push(Row {
                    size,
                    window: w,
                    parameters: cfg.parameters(),
                    batch: batch.name(),
                    lanes: batch.lanes(),
                    compress_cpu_bytes_per_sec: enc.cpu,
                    compress_wall_bytes_per_sec: enc.wall,
                    decompress_cpu_bytes_per_sec: dec.cpu,
                    decompress_wall_bytes_per_sec: dec.wall,
                    parallel_compress_bytes_per_sec: all,
                    threads,
                    macs_per_byte: macs,
                    gmacs_per_core: per_core * macs / 1e9,
                    peak_gmacs: peak,
                });
            }
        }
    }
    Ok(rows)
}

/// The rows as a Markdown table, each batch beside its size's `single`.
pub fn markdown(rows: &[Row], data_bytes: usize) -> String {
    let mut s = format!(
        "int8 compression, {} kernels, {} bytes of held-out enwik8 in 2048-byte chunks \
         (per core: the thread's CPU time; `single`: one model per chunk, \
         `lockstep N`: N chunks per model pass)\n\n\
         | model | window | batch | compress KB/s per core | decompress KB/s per core | vs single | compress KB/s all threads (wall) | threads | MAC/byte | GMAC/s per core | machine int8 peak GMAC/s |\n\
         |---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        kernel_name(),
        data_bytes
    );
    let per_core = |r: &Row| {
        r.compress_cpu_bytes_per_sec
            .unwrap_or(r.compress_wall_bytes_per_sec)
    };
    for r in rows {
        let single = rows
            .iter()
            .find(|b| b.size == r.size && b.window == r.window && b.lanes == 1)
            .map_or(f64::NAN, per_core);
        let dec = r
            .decompress_cpu_bytes_per_sec
            .unwrap_or(r.decompress_wall_bytes_per_sec);
        let peak = r
            .peak_gmacs
            .map_or_else(|| "–".into(), |p| format!("{p:.1}"));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.1} | {:.1} | {:.2}x | {:.1} | {} | {:.0} | {:.2} | {} |",
            r.size,
            r.window,
            r.batch,
            per_core(r) / 1e3,
            dec / 1e3,
            per_core(r) / single,
            r.parallel_compress_bytes_per_sec / 1e3,
            r.threads,
            r.macs_per_byte,
            r.gmacs_per_core,
            peak
        );
    }
    s
}

/// Writes `throughput.md` and `throughput.json` to `out`.
pub fn write(rows: &[Row], md: &str, out: &Path) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Data(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(io)?;
    std::fs::write(out.join("throughput.md"), md).map_err(io)?;
    let json = serde_json::json!({
        "kernels": kernel_name(),
        "chunk": CHUNK,
        "peak_gmacs": rows.iter().find_map(|r| r.peak_gmacs),
        "rows": rows,
    });
    std::fs::write(
        out.join("throughput.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default(),
    )
    .map_err(io)
}
