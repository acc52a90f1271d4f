//! Throughput measurement (`std`), shared by the criterion bench and
//! `host-bench`: bytes per second of the int8 model on one core, and the
//! multiply-accumulates each byte costs.

use std::time::Instant;
use std::vec;
use std::vec::Vec;

use coder_core::{BatchModel, Model};

use crate::{
    batch_memory_size, default_lanes, quantize, working_memory_size, Config, Error, FloatModel,
    Int8Batch, Int8Model, ModelFile, QuantOptions,
};

/// The three paper sizes at a context of 2048 with attention window
/// `window` (2048 is full attention; the trainer's models use 256):
/// `("200K", ..), ("800K", ..), ("3.2M", ..)`.
pub fn paper_configs(window: u32) -> [(&'static str, Config); 3] {
    [
        ("200K", Config::paper_200k(window, 2048)),
        ("800K", Config::paper_800k(window, 2048)),
        ("3.2M", Config::paper_3m2(window, 2048)),
    ]
}

/// Average int8 multiply-accumulates per byte when coding chunks of
/// `chunk` bytes: the linear layers and head, plus attention scores and
/// weighted values over the (windowed) context of each position.
pub fn macs_per_byte(c: &Config, chunk: usize) -> f64 {
    let d = c.d_model as f64;
    let f = c.d_ff as f64;
    let l = c.n_layers as f64;
    let linear = l * (4.0 * d * d + 2.0 * d * f) + c.vocab as f64 * d;
    let n = chunk.max(1);
    let ctx: f64 = (0..n)
        .map(|t| (t + 1).min(c.window as usize) as f64)
        .sum::<f64>()
        / n as f64;
    linear + l * 2.0 * ctx * d
}

/// A random model of `config`, quantized (calibrated on a few hundred
/// bytes of pseudo-text: enough for speed measurements).
pub fn random_int8_model(config: Config, seed: u64) -> Result<Vec<u8>, Error> {
    let m = FloatModel::random(config, seed);
    let text: Vec<u8> = (0..256u32)
        .map(|i| b"the model of bytes "[(i % 19) as usize])
        .collect();
    let opts = QuantOptions {
        max_calibration_bytes: 256,
        ..QuantOptions::default()
    };
    quantize(&m, &text, &opts)
}

/// CPU time this thread has run, in nanoseconds (Linux
/// `/proc/thread-self/schedstat`; `None` elsewhere).
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// One throughput measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    /// Bytes modelled per second of wall-clock time on this thread.
    pub bytes_per_sec: f64,
    /// Bytes modelled per second of this thread's CPU time: the per-core
    /// rate even when the machine is shared (Linux only).
    pub cpu_bytes_per_sec: Option<f64>,
    /// Average multiply-accumulates per byte.
    pub macs_per_byte: f64,
    /// `bytes_per_sec * macs_per_byte`.
    pub macs_per_sec: f64,
}

impl Throughput {
    /// `bytes` modelled in `chunk`-byte chunks of `config` since `start`
    /// (wall) and `cpu0` (this thread's CPU time, if known).
    fn since(
        start: Instant,
        cpu0: Option<u64>,
        bytes: usize,
        config: &Config,
        chunk: usize,
    ) -> Self {
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let cpu_bytes_per_sec = match (cpu0, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => Some(bytes as f64 / ((b - a) as f64 * 1e-9)),
            _ => None,
        };
        let bytes_per_sec = bytes as f64 / secs;
        let macs = macs_per_byte(config, chunk.min(bytes).max(1));
        Throughput {
            bytes_per_sec,
            cpu_bytes_per_sec,
            macs_per_byte: macs,
            macs_per_sec: bytes_per_sec * macs,
        }
    }
}

/// Runs the int8 model over `data` in chunks of `chunk` bytes (as the
/// compressor does: a frequency table and an observe per byte) and times
/// it on the calling thread.
pub fn measure_throughput(
    model_file: &[u8],
    data: &[u8],
    chunk: usize,
) -> Result<Throughput, Error> {
    let file = ModelFile::parse(model_file)?;
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work)?;
    let start = Instant::now();
    let cpu0 = thread_cpu_ns();
    let mut sink = 0u32;
    for c in data.chunks(chunk.max(1)) {
        m.reset();
        for &b in c {
            let t = m.frequencies();
            sink = sink.wrapping_add(t.cumulative()[1]);
            let n = t.symbols();
            m.observe(b as usize % n);
        }
    }
    std::hint::black_box(sink);
    Ok(Throughput::since(
        start,
        cpu0,
        data.len(),
        file.config(),
        chunk,
    ))
}

/// Codes `data` in chunks of `chunk` bytes on `threads` threads at once
/// (each with its own model and working memory, chunks dealt round robin)
/// and returns the total bytes per second of wall-clock time.
pub fn measure_parallel(
    model_file: &[u8],
    data: &[u8],
    chunk: usize,
    threads: usize,
) -> Result<f64, Error> {
    let file = ModelFile::parse(model_file)?;
    let chunks: Vec<&[u8]> = data.chunks(chunk.max(1)).collect();
    let threads = threads.clamp(1, chunks.len().max(1));
    let start = Instant::now();
    let results: Vec<Result<u32, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let chunks = &chunks;
                let file = &file;
                s.spawn(move || {
                    let mut work = vec![0u8; working_memory_size(file.config())];
                    let mut m = Int8Model::new(file, &mut work)?;
                    let mut sink = 0u32;
                    for c in chunks.iter().skip(k).step_by(threads) {
                        m.reset();
                        for &b in c.iter() {
                            let t = m.frequencies();
                            sink = sink.wrapping_add(t.cumulative()[1]);
                            let n = t.symbols();
                            m.observe(b as usize % n);
                        }
                    }
                    Ok(sink)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(Error::BadConfig)))
            .collect()
    });
    for r in results {
        std::hint::black_box(r?);
    }
    Ok(data.len() as f64 / start.elapsed().as_secs_f64().max(1e-9))
}

/// Codes `data` in chunks of `chunk` bytes as [`measure_throughput`] does,
/// but `lanes` chunks at a time in lockstep through one [`Int8Batch`]
/// (`lanes == 0`: [`default_lanes`]), on the calling thread.
pub fn measure_batched(
    model_file: &[u8],
    data: &[u8],
    chunk: usize,
    lanes: usize,
) -> Result<Throughput, Error> {
    let file = ModelFile::parse(model_file)?;
    let lanes = if lanes == 0 {
        default_lanes(file.config())
    } else {
        lanes
    };
    let mut work = vec![0u8; batch_memory_size(file.config(), lanes)];
    let mut m = Int8Batch::new(&file, lanes, &mut work)?;
    let chunks: Vec<&[u8]> = data.chunks(chunk.max(1)).collect();
    let start = Instant::now();
    let cpu0 = thread_cpu_ns();
    let mut sink = 0u32;
    let mut live: Vec<usize> = Vec::with_capacity(lanes);
    for group in chunks.chunks(lanes) {
        for l in 0..group.len() {
            m.reset(l);
        }
        let longest = group.iter().map(|c| c.len()).max().unwrap_or(0);
        for i in 0..longest {
            live.clear();
            live.extend((0..group.len()).filter(|&l| i < group[l].len()));
            m.predict(&live);
            for &l in &live {
                let t = m.frequencies(l);
                sink = sink.wrapping_add(t.cumulative()[1]);
                let n = t.symbols();
                m.observe(l, group[l][i] as usize % n);
            }
        }
    }
    std::hint::black_box(sink);
    Ok(Throughput::since(
        start,
        cpu0,
        data.len(),
        file.config(),
        chunk,
    ))
}

/// This core's int8 multiply-accumulates per second from registers alone
/// (no memory traffic), with the widest kernel set it has; the limit the
/// models' GMAC/s are compared with. `None` where no SIMD kernel set
/// applies.
pub fn peak_macs_per_sec() -> Option<f64> {
    #[cfg(all(feature = "simd", target_arch = "x86_64"))]
    return crate::gemm::peak_macs_per_sec();
    #[allow(unreachable_code)]
    None
}

/// Which kernel set the running machine uses (`"avx512-vnni"`, `"avx2"` or
/// `"portable"`).
pub fn kernel_name() -> &'static str {
    crate::kernels::active()
}
