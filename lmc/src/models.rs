//! The models `lmc` codes with: the [`ChunkModel`] trait the streaming
//! code drives (any model many threads can code with at once, each thread
//! a batch of chunks in lockstep), its int8 implementation [`Int8Source`],
//! per-thread state built once ([`Workers`]: coders, or plain models), and
//! the shipped models behind the levels `-1`, `-2`, `-3`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use coder_core::container::Coding;
use coder_core::lockstep::MAX_LANES;
use coder_core::{BatchModel, Model};
use model_int8::{
    batch_memory_size, default_lanes, working_memory_size, Config, Int8Batch, Int8Model, ModelFile,
};

use crate::coding::{mix_config, Worker};
use crate::shelf::{self, Status};
use crate::Error;

/// Mixer memory a thread may give to lanes (each lane of a mixing coding
/// has its own mixer): above it, fewer chunks are coded in lockstep (the
/// same output either way).
pub const MIX_LANE_MEMORY: usize = 64 << 20;

/// A model the codec runs on many threads at once: the weights are
/// shared, and each thread owns working memory (KV caches and
/// activations) and a model over it, built once and reset before every
/// chunk: a [`Batch`](ChunkModel::Batch) that codes
/// [`lanes`](ChunkModel::lanes) chunks in lockstep (what `lmc` codes
/// with), or a plain [`Model`](ChunkModel::Model) (one chunk at a time).
///
/// The one adapter between int8 models and everything that codes chunks
/// in parallel: `lmc` and `host-bench`'s language-model rows.
pub trait ChunkModel: Sync {
    /// Per-thread working memory of a plain model.
    type Work: Send;
    /// A thread's plain model, over its working memory.
    type Model<'w>: Model + Send
    where
        Self: 'w;
    /// Per-thread working memory of a batched model.
    type BatchWork: Send;
    /// A thread's batched model, over its working memory: the same tables
    /// per lane as [`Model`](ChunkModel::Model) alone.
    type Batch<'w>: BatchModel + Send
    where
        Self: 'w;

    /// The fingerprint written in (and checked against) container headers.
    fn fingerprint(&self) -> u64;

    /// Fresh working memory for one thread's plain model
    /// ([`Error::OutOfMemory`] when there is none to give).
    fn new_work(&self) -> Result<Self::Work, Error>;

    /// A plain model over `work`.
    fn model<'w>(&'w self, work: &'w mut Self::Work) -> Result<Self::Model<'w>, Error>;

    /// Chunks a thread codes in lockstep (at most
    /// [`MAX_LANES`]); the output is the same for every value.
    fn lanes(&self) -> usize;

    /// Fresh working memory for one thread's batch of `lanes` lanes
    /// ([`Error::OutOfMemory`] when there is none to give).
    fn new_batch_work(&self, lanes: usize) -> Result<Self::BatchWork, Error>;

    /// A batched model over `work` (with the lanes `work` was made for).
    fn batch<'w>(&'w self, work: &'w mut Self::BatchWork) -> Result<Self::Batch<'w>, Error>;

    /// Bytes of context a chained chunk starts from (the model's attention
    /// window).
    fn window(&self) -> usize;

    /// The longest chunk the model predicts well: `None` when it streams
    /// (any length), else its trained context.
    fn max_chunk(&self) -> Option<u32>;
}

/// One `T` per thread of the current rayon pool (a [`Worker`], or a plain
/// model), each built once; a thread runs on its own.
pub struct Workers<T> {
    slots: Vec<Mutex<T>>,
}

/// One plain model per thread; see [`with_thread_models`].
pub type ThreadModels<'w, M> = Workers<<M as ChunkModel>::Model<'w>>;

impl<T> Workers<T> {
    /// One `T` per thread of the current rayon pool, each built by `build`
    /// over its own element of `works` (one per thread).
    fn build<'w, W>(
        works: &'w mut [W],
        build: impl FnMut(&'w mut W) -> Result<T, Error>,
    ) -> Result<Self, Error> {
        let slots = works
            .iter_mut()
            .map(build)
            .map(|t| t.map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { slots })
    }

    /// Runs `f` on a free `T`: the calling thread's, or, when there are
    /// fewer than threads, the first one free (waiting for its own only if
    /// none is).
    pub fn run<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let n = self.slots.len().max(1);
        let i = rayon::current_thread_index().unwrap_or(0) % n;
        let free = (0..n).find_map(|k| self.slots[(i + k) % n].try_lock().ok());
        let mut t = match free {
            Some(t) => t,
            None => self.slots[i].lock().unwrap_or_else(|e| e.into_inner()),
        };
        f(&mut t)
    }

    /// Number of threads.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Never true (there is at least one thread).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

impl<B: BatchModel> Workers<Worker<B>> {
    /// Chunks a worker codes in lockstep.
    pub fn lanes(&self) -> usize {
        self.slots
            .first()
            .map_or(1, |w| w.lock().unwrap_or_else(|e| e.into_inner()).lanes())
    }

    /// How many of `chunks` chunks to hand a worker at once:
    /// [`lockstep_group`] for these workers.
    pub fn group(&self, chunks: usize) -> usize {
        lockstep_group(chunks, self.len(), self.lanes())
    }
}

/// How many of `chunks` chunks one of `threads` threads codes in one
/// lockstep run of at most `lanes`: every thread gets work when there are
/// fewer chunks than lanes in all.
pub fn lockstep_group(chunks: usize, threads: usize, lanes: usize) -> usize {
    lanes.min(chunks.div_ceil(threads.max(1))).max(1)
}

/// The working memory of one element per thread of the current rayon pool.
fn per_thread<W>(new: impl Fn() -> Result<W, Error>) -> Result<Vec<W>, Error> {
    (0..rayon::current_num_threads().max(1))
        .map(|_| new())
        .collect()
}

/// Builds one plain model of `source` per thread of the current rayon pool
/// and runs `f` with them.
pub fn with_thread_models<M: ChunkModel, R>(
    source: &M,
    f: impl FnOnce(&ThreadModels<'_, M>) -> R,
) -> Result<R, Error> {
    let mut works = per_thread(|| source.new_work())?;
    let models = Workers::build(&mut works, |w| source.model(w))?;
    Ok(f(&models))
}

/// Chunks one [`Worker`] codes in lockstep for `coding` of
/// `chunk_size`-byte chunks: the model's lanes, fewer where the mixers of
/// that many lanes would pass [`MIX_LANE_MEMORY`].
pub fn worker_lanes<M: ChunkModel>(
    source: Option<&M>,
    coding: Coding,
    chunk_size: u32,
) -> Result<usize, Error> {
    let source = source.filter(|_| coding.mode.uses_model());
    let mut lanes = source.map_or(1, ChunkModel::lanes).clamp(1, MAX_LANES);
    if coding.mode.mixes() {
        let mixer = mix_config(coding.preset, chunk_size)?.storage_len().max(1);
        lanes = lanes.min(MIX_LANE_MEMORY / mixer).max(1);
    }
    Ok(lanes)
}

/// Builds [`Worker`]s for `coding` of `chunk_size`-byte chunks, each with
/// its own batch of `source` (`None`: the adaptive models alone), and runs
/// `f` with them: one per thread of the current rayon pool, but no more
/// workers, nor lanes, than `chunks` chunks keep busy (`u64::MAX` when
/// the count is not known), so threads past the work cost nothing.
pub fn with_workers<M: ChunkModel, R>(
    source: Option<&M>,
    coding: Coding,
    chunk_size: u32,
    chunks: u64,
    f: impl FnOnce(&Workers<Worker<M::Batch<'_>>>) -> R,
) -> Result<R, Error> {
    let source = source.filter(|_| coding.mode.uses_model());
    let chunks = chunks.max(1);
    let threads =
        rayon::current_num_threads().clamp(1, usize::try_from(chunks).unwrap_or(usize::MAX));
    let per_worker = chunks.div_ceil(threads as u64);
    let lanes = worker_lanes(source, coding, chunk_size)?
        .min(usize::try_from(per_worker).unwrap_or(usize::MAX))
        .max(1);
    let mut works = (0..threads)
        .map(|_| source.map(|s| s.new_batch_work(lanes)).transpose())
        .collect::<Result<Vec<_>, Error>>()?;
    let workers = Workers::build(&mut works, |w| {
        let lm = match (source, w) {
            (Some(s), Some(w)) => Some(s.batch(w)?),
            _ => None,
        };
        Worker::new(lm, coding, chunk_size)
    })?;
    Ok(f(&workers))
}

/// `n` zero bytes, or [`Error::OutOfMemory`] (not an abort) when the
/// system cannot give them.
pub fn zeroed(n: usize) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::OutOfMemory { bytes: n as u64 })?;
    v.resize(n, 0);
    Ok(v)
}

/// An int8 Transformer from `model-int8`, weights borrowed from the file's
/// bytes, which are parsed and checksummed once, in [`new`](Self::new).
#[derive(Clone, Copy, Debug)]
pub struct Int8Source<'a> {
    file: ModelFile<'a>,
    lanes: Option<usize>,
}

impl<'a> Int8Source<'a> {
    /// Parses and validates a model file.
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        Ok(Self {
            file: ModelFile::parse(bytes)?,
            lanes: None,
        })
    }

    /// [`new`](Self::new) for the bytes of the file at `path`, naming it
    /// in the error.
    pub fn from_file(path: &Path, bytes: &'a [u8]) -> Result<Self, Error> {
        let file = ModelFile::parse(bytes).map_err(|source| Error::ModelFile {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self { file, lanes: None })
    }

    /// With `lanes` chunks coded in lockstep per thread (clamped to
    /// `1..=MAX_LANES`) instead of the measured default
    /// ([`model_int8::default_lanes`]): the same output, at another speed
    /// and memory.
    pub fn with_lanes(self, lanes: usize) -> Self {
        Self {
            lanes: Some(lanes.clamp(1, MAX_LANES)),
            ..self
        }
    }

    /// The parsed file.
    pub fn file(&self) -> &ModelFile<'a> {
        &self.file
    }

    /// The model's configuration.
    pub fn config(&self) -> &Config {
        self.file.config()
    }
}

impl ChunkModel for Int8Source<'_> {
    type Work = Vec<u8>;
    type Model<'w>
        = Int8Model<'w>
    where
        Self: 'w;
    /// The lanes and their working memory.
    type BatchWork = (usize, Vec<u8>);
    type Batch<'w>
        = Int8Batch<'w>
    where
        Self: 'w;

    fn fingerprint(&self) -> u64 {
        self.file.fingerprint()
    }

    fn new_work(&self) -> Result<Vec<u8>, Error> {
        zeroed(working_memory_size(self.file.config()))
    }

    fn model<'w>(&'w self, work: &'w mut Vec<u8>) -> Result<Int8Model<'w>, Error> {
        Ok(Int8Model::new(&self.file, work)?)
    }

    fn lanes(&self) -> usize {
        self.lanes
            .unwrap_or_else(|| default_lanes(self.config()))
            .clamp(1, MAX_LANES)
    }

    fn new_batch_work(&self, lanes: usize) -> Result<(usize, Vec<u8>), Error> {
        let lanes = lanes.clamp(1, MAX_LANES);
        Ok((lanes, zeroed(batch_memory_size(self.config(), lanes))?))
    }

    fn batch<'w>(&'w self, work: &'w mut (usize, Vec<u8>)) -> Result<Int8Batch<'w>, Error> {
        Ok(Int8Batch::new(&self.file, work.0, &mut work.1)?)
    }

    fn window(&self) -> usize {
        self.config().window as usize
    }

    fn max_chunk(&self) -> Option<u32> {
        let c = self.config();
        (!c.can_stream()).then_some(c.max_context)
    }
}

/// A model size the project ships, selected by a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shipped {
    /// The level (`-1` is the default).
    pub level: u8,
    /// The paper's name of the size.
    pub name: &'static str,
    /// File names it may have under a models directory, preferred first.
    pub files: &'static [&'static str],
    /// Earlier defaults of this size kept in the tree (the enwik8-only
    /// models of 2026-12-02): not chosen by a level, but still found by
    /// fingerprint so that files compressed with them decode without
    /// `--model`. Defaults retired from the tree are on the
    /// [`crate::shelf`] instead.
    pub retired: &'static [&'static str],
}

/// The shipped sizes: level 1 = 200K (the default), 2 = 800K, 3 = 3.2M.
pub const SHIPPED: [Shipped; 3] = [
    Shipped {
        level: 1,
        name: "200K",
        files: &["lm-200k.lmm"],
        retired: &["lm-200k-enwik8.lmm"],
    },
    Shipped {
        level: 2,
        name: "800K",
        files: &["lm-800k.lmm"],
        retired: &["lm-800k-enwik8.lmm"],
    },
    Shipped {
        level: 3,
        name: "3.2M",
        files: &["lm-3m2.lmm", "lm-3.2m.lmm", "lm-3200k.lmm"],
        retired: &["lm-3m2-enwik8.lmm"],
    },
];

/// A model of other data than text, shipped beside the levels: no level
/// picks it; `lmc`'s block choice ([`crate::choose`]) tries each found
/// here, and the files it coded decode by themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataModel {
    /// Its size and data, in words (`-v` prints it).
    pub name: &'static str,
    /// Its file name under a models directory.
    pub file: &'static str,
}

/// The shipped models of other data: raw 8-bit sound (the paper's
/// LibriSpeech format) and grey photo patches (its ImageNet format).
pub const DATA_MODELS: [DataModel; 2] = [
    DataModel {
        name: "200K speech",
        file: "lm-200k-speech.lmm",
    },
    DataModel {
        name: "200K photos",
        file: "lm-200k-photos.lmm",
    },
];

/// Where `m` is on this machine (the first models directory that holds
/// it).
pub fn data_model_path(m: &DataModel) -> Option<PathBuf> {
    model_dirs()
        .into_iter()
        .map(|d| d.join(m.file))
        .find(|p| p.is_file())
}

/// The bytes of every shipped model of other data found here, with its
/// name and path (a file that cannot be read is left out: the choice then
/// goes without it).
pub fn load_data_models() -> Vec<(&'static str, PathBuf, Vec<u8>)> {
    DATA_MODELS
        .iter()
        .filter_map(|m| {
            let path = data_model_path(m)?;
            let bytes = load_model_bytes(&path).ok()?;
            Some((m.name, path, bytes))
        })
        .collect()
}

/// The shipped model of other data found here whose fingerprint is
/// `fingerprint`: which, its path and bytes.
pub fn find_data_model(fingerprint: u64) -> Option<(DataModel, PathBuf, Vec<u8>)> {
    DATA_MODELS.iter().find_map(|m| {
        let p = data_model_path(m)?;
        let bytes = load_model_bytes(&p).ok()?;
        let fp = ModelFile::parse(&bytes).ok()?.fingerprint();
        (fp == fingerprint).then_some((*m, p, bytes))
    })
}

/// The default level.
pub const DEFAULT_LEVEL: u8 = 1;

/// Directories searched for shipped models: `$LMC_MODEL_DIR` alone when
/// it is set; otherwise `models/` beside the executable, then
/// `model-int8/models` of the source tree this binary was built from.
pub fn model_dirs() -> Vec<PathBuf> {
    if let Some(d) = std::env::var_os("LMC_MODEL_DIR") {
        return vec![PathBuf::from(d)];
    }
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("models"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../model-int8/models"));
    dirs
}

/// The path of the shipped model of `level`, or an error naming what is
/// missing and where it was looked for.
pub fn shipped_path(level: u8) -> Result<PathBuf, Error> {
    let s = SHIPPED
        .iter()
        .find(|s| s.level == level)
        .ok_or(Error::NoLevel(level))?;
    let dirs = model_dirs();
    for d in &dirs {
        for f in s.files {
            let p = d.join(f);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(Error::NotShipped {
        name: s.name,
        level,
        looked: dirs.iter().map(|d| d.join(s.files[0])).collect(),
    })
}

/// Reads a model file (checked once, by [`Int8Source::from_file`]): a
/// regular file no longer than its header declares, a length checked
/// against the configuration the header gives before anything more is
/// read, so that `--model /dev/zero` or a huge file is refused at once.
pub fn load_model_bytes(path: &Path) -> Result<Vec<u8>, Error> {
    read_bounded(path, |head| {
        model_int8::format::declared_len(head).map_err(|source| Error::ModelFile {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Reads `path`, a regular file of at most `max(first bytes)` bytes
/// (`max` sees up to the first 64 bytes, e.g. a header that declares the
/// file's length, and may refuse them): for model and tokenizer files.
pub(crate) fn read_bounded(
    path: &Path,
    max: impl Fn(&[u8]) -> Result<u64, Error>,
) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let unreadable = |source| Error::ModelUnreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    let meta = f.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(Error::NotAModelFile {
            path: path.to_path_buf(),
        });
    }
    let mut head = Vec::with_capacity(64);
    (&mut f)
        .take(64)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    let limit = max(&head)?;
    if meta.len() > limit {
        return Err(Error::ModelTooLarge {
            path: path.to_path_buf(),
            len: meta.len(),
            max: limit,
        });
    }
    // The file may still grow: never read past the limit.
    let mut bytes = zeroed(0)?;
    bytes
        .try_reserve_exact(meta.len() as usize)
        .map_err(|_| Error::OutOfMemory { bytes: meta.len() })?;
    bytes.extend_from_slice(&head);
    f.take(limit.saturating_sub(head.len() as u64))
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    Ok(bytes)
}

/// The shipped model found on this machine whose fingerprint is
/// `fingerprint`: its size, path and bytes (what `lmc -d` decodes a file
/// with when no model is named).
pub fn find_shipped(fingerprint: u64) -> Option<(Shipped, PathBuf, Vec<u8>)> {
    let matches = |p: PathBuf| {
        let bytes = load_model_bytes(&p).ok()?;
        let fp = ModelFile::parse(&bytes).ok()?.fingerprint();
        (fp == fingerprint).then_some((p, bytes))
    };
    SHIPPED.iter().find_map(|s| {
        let current = shipped_path(s.level).ok().and_then(matches);
        current
            .or_else(|| {
                model_dirs()
                    .iter()
                    .flat_map(|d| s.retired.iter().map(move |f| d.join(f)))
                    .filter(|p| p.is_file())
                    .find_map(matches)
            })
            .map(|(p, bytes)| (*s, p, bytes))
    })
}

/// Why no model for a stream of `fingerprint` was found here: it was made
/// with a retired model (the shelf says how to bring it back), with one
/// of the tree's that is not installed here, or with one `lmc` never
/// shipped.
pub fn not_found(fingerprint: u64) -> Error {
    match shelf::on_shelf(fingerprint) {
        Some(e) if e.status == Status::Retired => Error::RetiredModel(e),
        Some(e) => Error::ModelNotHere(e),
        None => Error::UnknownModel(fingerprint),
    }
}

/// What the model of `fingerprint` is, for `lmc info`: the shipped model
/// found on this machine (its size and level), else the shelf's entry.
pub fn identify(fingerprint: u64) -> Option<String> {
    if let Some((s, _, _)) = find_shipped(fingerprint) {
        return Some(format!("{} (level -{})", s.name, s.level));
    }
    if let Some((m, _, _)) = find_data_model(fingerprint) {
        return Some(format!("{} (no level: tried per block)", m.name));
    }
    shelf::on_shelf(fingerprint).map(|e| match e.status {
        Status::Retired => format!("{}, a retired {} model shipped {}", e.name, e.size, e.date),
        Status::InTree => format!(
            "{}, a {} model of lmc's source tree ({}), not found here",
            e.name, e.size, e.path
        ),
    })
}

/// The model of `fingerprint` in a few words, for a model mismatch: the
/// shipped model found here, or the shelf's name for it.
pub fn known_as(fingerprint: u64) -> Option<String> {
    if let Some((s, _, _)) = find_shipped(fingerprint) {
        return Some(format!("the shipped {} (level -{}) model", s.name, s.level));
    }
    if let Some((m, _, _)) = find_data_model(fingerprint) {
        return Some(format!("the shipped {} model", m.name));
    }
    shelf::on_shelf(fingerprint).map(|e| match e.status {
        Status::Retired => format!(
            "the retired {} model {}, see lmc info for how to bring it back",
            e.size, e.name
        ),
        Status::InTree => format!("the model {} of lmc's source tree", e.name),
    })
}

/// A tiny random int8 model (d 8, 1 layer, context 64): it compresses
/// nothing well, but exercises every code path fast. For tests and the
/// fuzz target; the same `seed` gives the same bytes.
pub fn tiny_random_model(seed: u64) -> Result<Vec<u8>, Error> {
    use model_int8::{quantize, Config, FloatModel, QuantOptions};
    let config = Config::sized(8, 1, 2, 16, 64);
    let text = b"tiny model for tests: the quick brown fox jumps over the lazy dog 0123456789";
    let opts = QuantOptions {
        max_calibration_bytes: 256,
        ..QuantOptions::default()
    };
    Ok(quantize(&FloatModel::random(config, seed), text, &opts)?)
}
