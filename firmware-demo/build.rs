//! Prepares everything the firmware embeds, on the host:
//!
//! * `memory.x` for the linker;
//! * the model: `$FIRMWARE_MODEL` (a `.lmm` path, or `random-200k` /
//!   `random-800k` for a random-weight model of that size), by default the
//!   shipped `model-int8/models/lm-200k.lmm`, falling back to a random
//!   200K model (with a warning) while none is shipped;
//! * the host's compression of the text sample with that model (the
//!   firmware checks that its own output is byte-identical and that it
//!   decodes this blob), in 2048-byte chunks, and of the first
//!   `$FIRMWARE_STREAM_LEN` bytes (default 16384) as one chunk: a stream
//!   past the model's context;
//! * the text `data/enwik8-heldout-16k.txt`, as far as the sample
//!   (`$FIRMWARE_SAMPLE_LEN` bytes, default 2048) and the stream need;
//! * the `model-int8` golden model and input (the firmware recomputes the
//!   golden frequency-table hash);
//! * `generated.rs`: the constants and `include_bytes!` of all that.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use coder_core::container::compress_to_vec;
use coder_core::models::{ContextConfig, ContextModel};
use model_int8::{quantize, Config, FloatModel, Int8Model, ModelFile, QuantOptions};

// The golden model's recipe, shared with `model-int8`'s tests.
#[allow(unused_imports)]
#[path = "../model-int8/tests/common/mod.rs"]
mod golden_common;

/// `model-int8/tests/golden.rs`: the committed golden model and the length
/// of its input, a prefix of `common::TEXT`.
const GOLDEN_MODEL: &str = "../model-int8/tests/data/golden.lmi8";
const GOLDEN_INPUT_LEN: usize = 300;

/// Chunk size of the container, as in the paper.
const CHUNK: usize = 2048;
/// Default number of sample bytes the firmware compresses.
const DEFAULT_SAMPLE_LEN: usize = 2048;
/// Default length of the stream the firmware codes as one chunk (past the
/// models' 2048-position context).
const DEFAULT_STREAM_LEN: usize = 16384;
/// `coder-core`'s adaptive model, run on the device too (it fits in the
/// int8 model's working memory: 66 KiB).
const ORDER2: ContextConfig = ContextConfig::order2_bytes(6);
const SAMPLE_PATH: &str = "data/enwik8-heldout-16k.txt";
const SHIPPED_MODEL: &str = "../model-int8/models/lm-200k.lmm";
/// Window and context of the random stand-in models.
const RANDOM_WINDOW: u32 = 256;
const RANDOM_CONTEXT: u32 = 2048;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    fs::copy("memory.x", out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    for p in [
        "memory.x",
        "build.rs",
        SAMPLE_PATH,
        GOLDEN_MODEL,
        "../model-int8/tests/common/mod.rs",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
    for v in [
        "FIRMWARE_MODEL",
        "FIRMWARE_SAMPLE_LEN",
        "FIRMWARE_STREAM_LEN",
    ] {
        println!("cargo:rerun-if-env-changed={v}");
    }

    let (model, name) = load_model();
    let file = ModelFile::parse(&model).unwrap_or_else(|e| panic!("model {name}: {e}"));
    let config = *file.config();
    fs::write(out.join("model.lmm"), &model).unwrap();

    let text_all = fs::read(SAMPLE_PATH).unwrap();
    let len_var = |var: &str, default: usize| {
        let n = match env::var(var) {
            Ok(v) => v.parse().unwrap_or_else(|_| panic!("{var}: a byte count")),
            Err(_) => default,
        };
        assert!(
            (1..=text_all.len()).contains(&n),
            "{var} must be 1..={}",
            text_all.len()
        );
        n
    };
    let sample_len = len_var("FIRMWARE_SAMPLE_LEN", DEFAULT_SAMPLE_LEN);
    let stream_len = len_var("FIRMWARE_STREAM_LEN", DEFAULT_STREAM_LEN);
    // The sample and the stream are both prefixes of this.
    fs::write(
        out.join("text.bin"),
        &text_all[..sample_len.max(stream_len)],
    )
    .unwrap();
    let sample = &text_all[..sample_len];
    let stream = &text_all[..stream_len];

    // The host's compression, with the same model and container.
    let mut work = vec![0u8; model_int8::working_memory_size(&config)];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let blob = compress_to_vec(&mut m, sample, CHUNK).unwrap();
    fs::write(out.join("host_blob.bin"), &blob).unwrap();
    let blob = compress_to_vec(&mut m, stream, stream_len).unwrap();
    fs::write(out.join("host_stream_blob.bin"), &blob).unwrap();
    let mut ctx = ContextModel::new_in(ORDER2, vec![0u32; ORDER2.storage_len()]).unwrap();
    let blob2 = compress_to_vec(&mut ctx, sample, CHUNK).unwrap();
    fs::write(out.join("host_order2_blob.bin"), &blob2).unwrap();

    let golden = fs::read(GOLDEN_MODEL).unwrap_or_else(|e| panic!("{GOLDEN_MODEL}: {e}"));
    let golden_config = *ModelFile::parse(&golden)
        .unwrap_or_else(|e| panic!("{GOLDEN_MODEL}: {e}"))
        .config();
    fs::write(out.join("golden.lmm"), &golden).unwrap();
    fs::write(
        out.join("golden_input.bin"),
        &golden_common::TEXT[..GOLDEN_INPUT_LEN],
    )
    .unwrap();

    let mut g = String::new();
    writeln!(g, "// Generated by build.rs.").unwrap();
    writeln!(g, "pub const MODEL_NAME: &str = {name:?};").unwrap();
    writeln!(
        g,
        "pub const MODEL_CONFIG: Config = {};",
        config_literal(&config)
    )
    .unwrap();
    writeln!(
        g,
        "pub const GOLDEN_CONFIG: Config = {};",
        config_literal(&golden_config)
    )
    .unwrap();
    writeln!(g, "pub const CHUNK: usize = {CHUNK};").unwrap();
    writeln!(g, "pub const SAMPLE_LEN: usize = {sample_len};").unwrap();
    writeln!(g, "pub const STREAM_LEN: usize = {stream_len};").unwrap();
    writeln!(
        g,
        "pub const ORDER2: ContextConfig = ContextConfig::order2_bytes({});",
        ORDER2.hash_bits
    )
    .unwrap();
    for (item, file) in [
        ("MODEL", "model.lmm"),
        ("HOST_BLOB", "host_blob.bin"),
        ("HOST_STREAM_BLOB", "host_stream_blob.bin"),
        ("HOST_ORDER2_BLOB", "host_order2_blob.bin"),
        ("GOLDEN_MODEL", "golden.lmm"),
        ("GOLDEN_INPUT", "golden_input.bin"),
        ("TEXT", "text.bin"),
    ] {
        let len = fs::metadata(out.join(file)).unwrap().len();
        writeln!(
            g,
            "pub static {item}: &Aligned<[u8; {len}]> = \
             &Aligned(*include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\")));"
        )
        .unwrap();
    }
    fs::write(out.join("generated.rs"), g).unwrap();
}

/// The model bytes and a name for the log.
fn load_model() -> (Vec<u8>, String) {
    let choice = env::var("FIRMWARE_MODEL").ok();
    match choice.as_deref() {
        Some("random-200k") => (
            random_model(Config::paper_200k(RANDOM_WINDOW, RANDOM_CONTEXT)),
            "random-200k".into(),
        ),
        Some("random-800k") => (
            random_model(Config::paper_800k(RANDOM_WINDOW, RANDOM_CONTEXT)),
            "random-800k".into(),
        ),
        Some(path) => (read_model(Path::new(path)), name_of(path)),
        None => {
            // Watch the folder so a newly shipped model is picked up.
            let dir = Path::new(SHIPPED_MODEL).parent().unwrap();
            if dir.exists() {
                println!("cargo:rerun-if-changed={}", dir.display());
            } else {
                println!("cargo:rerun-if-changed=../model-int8");
            }
            if Path::new(SHIPPED_MODEL).exists() {
                println!("cargo:rerun-if-changed={SHIPPED_MODEL}");
                (read_model(Path::new(SHIPPED_MODEL)), name_of(SHIPPED_MODEL))
            } else {
                println!(
                    "cargo:warning={SHIPPED_MODEL} not found: using a random-weight 200K model"
                );
                (
                    random_model(Config::paper_200k(RANDOM_WINDOW, RANDOM_CONTEXT)),
                    "random-200k".into(),
                )
            }
        }
    }
}

fn read_model(path: &Path) -> Vec<u8> {
    println!("cargo:rerun-if-changed={}", path.display());
    fs::read(path).unwrap_or_else(|e| panic!("FIRMWARE_MODEL {}: {e}", path.display()))
}

fn name_of(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or(path.into(), |f| f.to_string_lossy().into_owned())
}

/// A random-weight model of `config`, quantized on the golden test text
/// (not the evaluation sample); for footprint and speed, not for rates.
fn random_model(config: Config) -> Vec<u8> {
    let m = FloatModel::random(config, 0xF1A5);
    let opts = QuantOptions {
        max_calibration_bytes: 1024,
        ..QuantOptions::default()
    };
    quantize(&m, golden_common::TEXT, &opts).unwrap()
}

/// A `const` expression for `c`, through its one encoding.
fn config_literal(c: &Config) -> String {
    format!(
        "match Config::from_words({:?}) {{ Ok(c) => c, Err(_) => panic!(\"bad config\") }}",
        c.to_words()
    )
}
