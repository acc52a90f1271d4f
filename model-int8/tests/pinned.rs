//! Every model file in `models/` (the shelf, `models/README.md`) codes
//! pinned streams: 4 KiB and 32 KiB of held-out enwik8 (byte models: the
//! bytes; token models: the bytes as token ids, which pins the same
//! arithmetic) as one stream from a reset, past the 2048-byte context
//! where the model streams, in 2048-symbol chunks where it cannot. Their
//! lengths and FNV-1a hashes are pinned, and they decode back. The same
//! pins hold in debug and release, with and without `simd`; the 4 KiB
//! ones also under `qemu-aarch64` (`scripts/test-all.sh`: in the fast tier
//! for the 200K and a token model, `MODEL_INT8_PINNED_ONLY`, as emulation
//! takes about a minute per 3.2M model; for every model in the full tier).
//! The 1 MB streams of `tests/stream.rs` are the long form of this check.
//!
//! A new or retrained model gets its line from the failure message.

mod common;

use std::path::{Path, PathBuf};

use coder_core::{decode_to_vec, encode_to_vec, fnv1a64};
use model_int8::{working_memory_size, Int8Model, ModelFile};

const HELD_OUT_START: usize = 3_600_000;

/// Symbols of the short and the long pinned stream.
const SHORT: usize = 4 * 1024;
const LONG: usize = 32 * 1024;

/// A model's pins: the coded length and FNV-1a hash of each stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pin {
    /// Path under `models/`.
    path: &'static str,
    fingerprint: u64,
    short: (usize, u64),
    long: (usize, u64),
}

const PINS: &[Pin] = &[
    Pin {
        path: "lm-200k-enwik8.lmm",
        fingerprint: 0x737d0557cc87b01e,
        short: (1144, 0x11a31b6379be7d8c),
        long: (9021, 0x43de05ad19bf04a9),
    },
    Pin {
        path: "lm-200k-photos.lmm",
        fingerprint: 0x75097cf816ad95fa,
        short: (3518, 0xa8cbc8e9dd8a4558),
        long: (27926, 0x4defd7fdc59edeca),
    },
    Pin {
        path: "lm-200k-speech.lmm",
        fingerprint: 0x5c924ea2d462c145,
        short: (4272, 0x792a0e6757f2e706),
        long: (33796, 0xe28495a4bb1a073f),
    },
    Pin {
        path: "lm-200k-universal.lmm",
        fingerprint: 0x8c0f79025922171f,
        short: (1171, 0x9ad36c4898d48671),
        long: (9257, 0x090f306c82163fd6),
    },
    Pin {
        path: "lm-200k.lmm",
        fingerprint: 0x91542c38a09ff58c,
        short: (1122, 0x6973286ecb5e2b54),
        long: (8953, 0x8f5e99e0c8a796ac),
    },
    Pin {
        path: "lm-3m2-enwik8.lmm",
        fingerprint: 0xeac30c93a465ab18,
        short: (1031, 0xec8efab54fa4dbb5),
        long: (8388, 0x60fc13f74bf0a46d),
    },
    Pin {
        path: "lm-3m2.lmm",
        fingerprint: 0x1861e2f672ecf1f3,
        short: (889, 0x19bdca1c159d48d6),
        long: (7099, 0x00b040dad3b96fcf),
    },
    Pin {
        path: "lm-800k-enwik8.lmm",
        fingerprint: 0x7ed2a37fcd868c35,
        short: (1054, 0x239a72f90b4856e6),
        long: (8474, 0xb04c195235e28689),
    },
    Pin {
        path: "lm-800k.lmm",
        fingerprint: 0xa65811aee7f6def1,
        short: (941, 0xc6e68de658228bd7),
        long: (7492, 0x86b4c66a35551f04),
    },
    Pin {
        path: "table2/table2-ascii.lmm",
        fingerprint: 0x39e8d86ec6fb3b8f,
        short: (1492, 0x16bc5b4f5fd88372),
        long: (11687, 0x92193f524f7cf87f),
    },
    Pin {
        path: "table2/table2-200k-bpe1k.lmm",
        fingerprint: 0xec642d19fb14399b,
        short: (6723, 0x55873ec61d0af7d9),
        long: (53489, 0xc838ecf5e1119df1),
    },
    Pin {
        path: "table2/table2-200k-bpe2k.lmm",
        fingerprint: 0x148d0601ec0a8cd8,
        short: (7635, 0xc620009992afb903),
        long: (60389, 0x03e985abcb28165c),
    },
    Pin {
        path: "table2/table2-200k-bpe5k.lmm",
        fingerprint: 0xaea98533d12e0f3a,
        short: (7361, 0xcf5c71e4aa7babf2),
        long: (58369, 0x374726d091f7147d),
    },
];

/// Every `.lmm` under `models/`, as paths relative to it, sorted.
fn models_in_tree() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else if p.extension().is_some_and(|x| x == "lmm") {
                let rel = p.strip_prefix(root).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = models_dir();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// The pinned stream of `bytes` (a model file): its fingerprint, and the
/// coded bytes of `data`, decoded back and compared.
fn pinned_stream(bytes: &[u8], data: &[u8]) -> (u64, Vec<u8>) {
    let file = ModelFile::parse(bytes).unwrap();
    let config = *file.config();
    let mut work = vec![0u8; working_memory_size(&config)];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let chunk = if config.can_stream() {
        data.len()
    } else {
        config.max_context as usize
    };
    let mut coded = Vec::new();
    for part in data.chunks(chunk) {
        let c = if config.vocab == 256 {
            let c = encode_to_vec(&mut m, part).unwrap();
            let back: Vec<u8> = decode_to_vec(&mut m, &c, part.len()).unwrap();
            assert!(back == part, "decoded stream differs");
            c
        } else {
            let ids: Vec<u32> = part.iter().map(|&b| u32::from(b)).collect();
            let c = encode_to_vec(&mut m, &ids[..]).unwrap();
            let back: Vec<u32> = decode_to_vec(&mut m, &c, ids.len()).unwrap();
            assert!(back == ids, "decoded token stream differs");
            c
        };
        coded.extend_from_slice(&c);
    }
    (file.fingerprint(), coded)
}

/// The pins name exactly the models in the tree: a model added, removed
/// or renamed updates this table (and `lmc`'s shelf table).
#[test]
fn every_model_in_the_tree_is_pinned() {
    let tree = models_in_tree();
    let pinned: Vec<&str> = PINS.iter().map(|p| p.path).collect();
    for m in &tree {
        assert!(
            pinned.contains(&m.as_str()),
            "models/{m} has no pinned stream in tests/pinned.rs"
        );
    }
    for p in &pinned {
        assert!(
            tree.iter().any(|m| m == p),
            "tests/pinned.rs pins models/{p}, which is not in the tree"
        );
    }
}

/// `MODEL_INT8_PINNED_ONLY`: a comma-separated list of paths under
/// `models/` to check, the others skipped (for slow emulators); empty or
/// unset, every model.
const ONLY_ENV: &str = "MODEL_INT8_PINNED_ONLY";

/// The models to check: every model in the tree, or those of
/// [`ONLY_ENV`] (each of which must be in the tree).
fn models_to_check() -> Vec<String> {
    let tree = models_in_tree();
    let only = std::env::var(ONLY_ENV).unwrap_or_default();
    if only.trim().is_empty() {
        return tree;
    }
    let only: Vec<String> = only.split(',').map(|s| s.trim().to_string()).collect();
    for m in &only {
        assert!(
            tree.contains(m),
            "{ONLY_ENV}: models/{m} is not in the tree"
        );
    }
    let skipped: Vec<&String> = tree.iter().filter(|m| !only.contains(m)).collect();
    println!("{ONLY_ENV}: not checking {skipped:?}");
    only
}

/// Checks each model's stream of `len` symbols against its pin (`which`
/// picks the pin); on a mismatch prints the lines to paste.
fn check_pins(len: usize, which: fn(&Pin) -> (usize, u64)) {
    let Some(all) = common::shared_enwik8() else {
        return;
    };
    let data = &all[HELD_OUT_START..HELD_OUT_START + len];
    let mut wrong = Vec::new();
    for path in models_to_check() {
        let bytes = std::fs::read(models_dir().join(&path)).unwrap();
        let (fingerprint, coded) = pinned_stream(&bytes, data);
        let got = (coded.len(), fnv1a64(&coded));
        println!(
            "{path}: {len} -> {} B ({:.4} bits/symbol)",
            coded.len(),
            8.0 * coded.len() as f64 / len as f64
        );
        let pin = PINS.iter().find(|p| p.path == path);
        if pin.is_none_or(|p| p.fingerprint != fingerprint || which(p) != got) {
            wrong.push(format!(
                "{path} (fingerprint 0x{fingerprint:016x}): {len} symbols -> ({}, 0x{:016x})",
                got.0, got.1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "pinned streams differ (a changed kernel; or a new model, then these are its pins):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_model_codes_its_pinned_4k_stream() {
    check_pins(SHORT, |p| p.short);
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "release only (the 4 KiB pins run in debug)"
)]
fn every_model_codes_its_pinned_32k_stream() {
    check_pins(LONG, |p| p.long);
}
