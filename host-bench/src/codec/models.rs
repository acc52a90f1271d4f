//! The models `lmc` codes with: the [`ChunkModel`] trait the streaming code
//! drives, its int8 implementation, and the shipped models behind the
//! levels `-1`, `-2`, `-3`.

use std::path::{Path, PathBuf};

use coder_core::Model;
use model_int8::{working_memory_size, Int8Model, ModelFile};

use super::CodecError;

/// A model the codec can run on many threads at once: the weights are
/// shared, each thread owns a [`Work`](ChunkModel::Work) (KV cache and
/// activations) and builds a model over it for every chunk.
pub trait ChunkModel: Sync {
    /// Per-thread working memory.
    type Work: Send;

    /// The fingerprint written in (and checked against) container headers.
    fn fingerprint(&self) -> u64;

    /// Fresh working memory for one thread.
    fn new_work(&self) -> Self::Work;

    /// Runs `f` on a reset model over `work`.
    fn with_model<R>(
        &self,
        work: &mut Self::Work,
        f: impl FnOnce(&mut dyn Model) -> R,
    ) -> Result<R, CodecError>;
}

/// An int8 Transformer from `model-int8`, weights borrowed from the file's
/// bytes.
#[derive(Clone, Copy, Debug)]
pub struct Int8Source<'a> {
    file: ModelFile<'a>,
}

impl<'a> Int8Source<'a> {
    /// Parses and validates a model file.
    pub fn new(bytes: &'a [u8]) -> Result<Self, CodecError> {
        Ok(Self {
            file: ModelFile::parse(bytes)?,
        })
    }

    /// The parsed file.
    pub fn file(&self) -> &ModelFile<'a> {
        &self.file
    }
}

impl ChunkModel for Int8Source<'_> {
    type Work = Vec<u8>;

    fn fingerprint(&self) -> u64 {
        self.file.fingerprint()
    }

    fn new_work(&self) -> Vec<u8> {
        vec![0u8; working_memory_size(self.file.config())]
    }

    fn with_model<R>(
        &self,
        work: &mut Vec<u8>,
        f: impl FnOnce(&mut dyn Model) -> R,
    ) -> Result<R, CodecError> {
        let mut m = Int8Model::new(&self.file, work)?;
        Ok(f(&mut m))
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
}

/// The shipped sizes: level 1 = 200K (the default), 2 = 800K, 3 = 3.2M.
pub const SHIPPED: [Shipped; 3] = [
    Shipped {
        level: 1,
        name: "200K",
        files: &["lm-200k.lmm"],
    },
    Shipped {
        level: 2,
        name: "800K",
        files: &["lm-800k.lmm"],
    },
    Shipped {
        level: 3,
        name: "3.2M",
        files: &["lm-3m2.lmm", "lm-3.2m.lmm", "lm-3200k.lmm"],
    },
];

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
pub fn shipped_path(level: u8) -> Result<PathBuf, CodecError> {
    let s = SHIPPED.iter().find(|s| s.level == level).ok_or_else(|| {
        CodecError::BadOption(format!(
            "no level {level}: levels are 1 to {}",
            SHIPPED.len()
        ))
    })?;
    let dirs = model_dirs();
    for d in &dirs {
        for f in s.files {
            let p = d.join(f);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    let looked: Vec<String> = dirs
        .iter()
        .map(|d| d.join(s.files[0]).display().to_string())
        .collect();
    Err(CodecError::BadOption(format!(
        "the {} model (level -{level}) is not shipped with this build (looked for {}); pass a model with --model FILE",
        s.name,
        looked.join(", ")
    )))
}

/// Reads and validates a model file.
pub fn load_model_bytes(path: &Path) -> Result<Vec<u8>, CodecError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CodecError::BadOption(format!("cannot read model {}: {e}", path.display())))?;
    ModelFile::parse(&bytes)
        .map_err(|e| CodecError::BadOption(format!("model {}: {e}", path.display())))?;
    Ok(bytes)
}

/// The shipped model (by name) whose fingerprint is `fingerprint`, if any
/// is found on this machine.
pub fn identify(fingerprint: u64) -> Option<String> {
    for s in &SHIPPED {
        if let Ok(p) = shipped_path(s.level) {
            if let Ok(bytes) = std::fs::read(&p) {
                if let Ok(f) = ModelFile::parse(&bytes) {
                    if f.fingerprint() == fingerprint {
                        return Some(format!("{} (level -{})", s.name, s.level));
                    }
                }
            }
        }
    }
    None
}

/// A tiny random int8 model (d 8, 1 layer, context 64): it compresses
/// nothing well, but exercises every code path fast. For tests and the
/// fuzz target; the same `seed` gives the same bytes.
pub fn tiny_random_model(seed: u64) -> Result<Vec<u8>, CodecError> {
    use model_int8::{quantize, Config, FloatModel, QuantOptions};
    let config = Config::sized(8, 1, 2, 16, 64);
    let text = b"tiny model for tests: the quick brown fox jumps over the lazy dog 0123456789";
    let opts = QuantOptions {
        max_calibration_bytes: 256,
        ..QuantOptions::default()
    };
    Ok(quantize(&FloatModel::random(config, seed), text, &opts)?)
}
