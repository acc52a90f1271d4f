//! Builds `firmware-demo` for the Cortex-M4F, runs it in QEMU `mps2-an386`
//! and checks its decoded defmt log: exit status, the round trip on the
//! device, and bit-exactness with this host (the device's compressed bytes
//! are compared with the host's, decoded here, and the device decodes the
//! host's; the `model-int8` golden frequency-table hash is recomputed on the
//! device), for a short sample in paper-sized chunks and for a stream
//! coded as one chunk past the model's 2048-position context (8 KiB, four
//! epochs of the context; `LMC_FIRMWARE_STREAM_LEN=16384` in the full tier
//! of `scripts/test-all.sh`, the length the firmware README measures).
//!
//! Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target
//! (`scripts/test-all.sh` installs both). Without QEMU these tests fail with
//! instructions, unless `LMC_SKIP_QEMU=1` is set.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use coder_core::container::{compress_to_vec, decompress_to_vec};
use coder_core::models::{ContextConfig, ContextModel};
use coder_core::Model;
use integration_tests::firmware::{self, parse_byte_list, Run};
use model_int8::{working_memory_size, Int8Model, ModelFile};

// model-int8's test helpers: the golden input text.
#[path = "../../model-int8/tests/common/mod.rs"]
mod golden_common;

/// Bytes of the held-out sample the firmware compresses: half a paper
/// chunk keeps QEMU at some 15 s (the 200K model costs about 2.5 million
/// instructions a byte); `FIRMWARE_SAMPLE_LEN=4096` in a manual build runs
/// two full chunks.
const SAMPLE_LEN: usize = 1024;
const CHUNK: usize = 2048;
/// Bytes the firmware codes as one chunk by default: four times the 200K
/// model's context (three epoch seams), about 8 K steps to compress and as
/// many to decompress; `LMC_FIRMWARE_STREAM_LEN` (at most the 16 KiB of
/// `firmware-demo/data`) changes it.
const STREAM_LEN: usize = 8192;
const STREAM_LEN_ENV: &str = "LMC_FIRMWARE_STREAM_LEN";

fn stream_len() -> usize {
    std::env::var(STREAM_LEN_ENV)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{STREAM_LEN_ENV}={v}: not a byte count"))
        })
        .unwrap_or(STREAM_LEN)
}
/// The firmware's adaptive model (`firmware-demo/build.rs`).
const ORDER2: ContextConfig = ContextConfig::order2_bytes(6);
/// QEMU normally finishes in a few minutes (mostly the stream); this only
/// stops a hung firmware.
const QEMU_TIMEOUT: Duration = Duration::from_secs(900);

struct Ctx {
    run: Run,
    trained: bool,
    model: Vec<u8>,
    sample: Vec<u8>,
    stream: Vec<u8>,
}

/// Builds and runs the firmware once for all tests (of this process, and
/// of the others a per-test runner starts); `None` when skipped.
fn ctx() -> Option<&'static Ctx> {
    static CTX: OnceLock<Result<Option<Ctx>, String>> = OnceLock::new();
    let r = CTX.get_or_init(|| {
        if !firmware::qemu_or_skip()? {
            return Ok(None);
        }
        let target = firmware::firmware_dir().join("target");
        let (model_path, trained) = firmware::firmware_model(&target)?;
        eprintln!(
            "firmware model: {} ({})",
            model_path.display(),
            if trained {
                "trained"
            } else {
                "random weights: no trained model shipped yet"
            }
        );
        let elf = firmware::build_firmware(
            &target,
            &[
                ("FIRMWARE_MODEL", model_path.clone().into_os_string()),
                ("FIRMWARE_SAMPLE_LEN", SAMPLE_LEN.to_string().into()),
                ("FIRMWARE_STREAM_LEN", stream_len().to_string().into()),
            ],
        )?;
        let run = firmware::run_in_qemu_once(&elf, QEMU_TIMEOUT)?;
        eprintln!("{}QEMU wall time: {:?}", run.transcript_short(), run.wall);
        let model = std::fs::read(&model_path).map_err(|e| e.to_string())?;
        let text = std::fs::read(firmware::firmware_dir().join("data/enwik8-heldout-16k.txt"))
            .map_err(|e| e.to_string())?;
        Ok(Some(Ctx {
            run,
            trained,
            model,
            sample: text[..SAMPLE_LEN].to_vec(),
            stream: text[..stream_len()].to_vec(),
        }))
    });
    match r {
        Ok(c) => c.as_ref(),
        Err(e) => panic!("{e}"),
    }
}

trait Short {
    fn transcript_short(&self) -> String;
}

impl Short for Run {
    /// The log with the long blob dumps cut.
    fn transcript_short(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            let m: String = l.message.chars().take(200).collect();
            s.push_str(&format!("{:<5} {m}\n", l.level));
        }
        s
    }
}

fn line<'a>(run: &'a Run, prefix: &str) -> &'a str {
    run.find(prefix).unwrap_or_else(|| {
        panic!(
            "no log line starting {prefix:?}\n{}",
            run.transcript_short()
        )
    })
}

/// The whitespace-separated word after `key` in `s`.
fn field<'a>(s: &'a str, key: &str) -> &'a str {
    let rest = s
        .split_once(key)
        .or_else(|| s.strip_prefix(key.trim_start()).map(|r| ("", r)))
        .unwrap_or_else(|| panic!("{key:?} not in {s:?}"))
        .1;
    rest.split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("nothing after {key:?} in {s:?}"))
}

fn hex_u64(s: &str) -> u64 {
    let t = s
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .replace('_', "");
    u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn firmware_exits_with_success_and_logs() {
    let Some(c) = ctx() else { return };
    let run = &c.run;
    let log = run.transcript_short();
    assert!(!run.timed_out, "QEMU timed out after {:?}\n{log}", run.wall);
    assert_eq!(
        run.exit_code,
        Some(0),
        "QEMU exit status\nlog:\n{log}\nqemu:\n{}",
        run.qemu_output
    );
    let first = run.lines.first().map(|l| l.message.as_str());
    let last = run.lines.last().map(|l| l.message.as_str());
    assert_eq!(first, Some("firmware-demo: start"), "{log}");
    assert_eq!(last, Some("RESULT: PASS"), "{log}");
    assert!(run.lines.iter().all(|l| l.level != "ERROR"), "{log}");
    // The build embedded the model we chose.
    let model = line(run, "model: ");
    let fnv = hex_u64(field(model, " fnv "));
    assert_eq!(fnv, model_int8::format::fnv1a64(&c.model), "{model}");
    // The stack was measured and is far from exhausted.
    let stack = line(run, "stack: ");
    let used: usize = stack.split_whitespace().next().unwrap().parse().unwrap();
    assert!(used > 0 && used < 64 * 1024, "{stack}");
}

#[test]
fn golden_table_hash_matches_model_int8_on_device() {
    let Some(c) = ctx() else { return };
    let golden = line(&c.run, "golden: ");
    let device_tables = hex_u64(field(golden, " tables "));
    let device_file = hex_u64(field(golden, " file "));
    assert_eq!(field(golden, " steps "), "300", "{golden}");

    // The committed golden model, and the constant of model-int8's test.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../model-int8/tests");
    let file = std::fs::read(root.join("data/golden.lmi8")).unwrap();
    assert_eq!(device_file, model_int8::format::fnv1a64(&file), "{golden}");
    let src = std::fs::read_to_string(root.join("golden.rs")).unwrap();
    let constant = src
        .lines()
        .find_map(|l| l.trim().strip_prefix("const GOLDEN_TABLES: u64 = "))
        .map(|v| hex_u64(v.split(';').next().unwrap_or(v)))
        .expect("model-int8/tests/golden.rs defines GOLDEN_TABLES");
    assert_eq!(
        device_tables, constant,
        "device vs model-int8 golden constant"
    );

    // And the same hash computed here, on the host.
    let parsed = ModelFile::parse(&file).unwrap();
    let mut work = vec![0u8; working_memory_size(parsed.config())];
    let mut m = Int8Model::new(&parsed, &mut work).unwrap();
    let mut all = Vec::new();
    m.reset();
    for &b in &golden_common::TEXT[..300] {
        for x in m.frequencies().cumulative() {
            all.extend_from_slice(&x.to_le_bytes());
        }
        m.observe(b as usize);
    }
    assert_eq!(
        device_tables,
        model_int8::format::fnv1a64(&all),
        "device vs host"
    );
}

/// The device's blob for `name`, checked against the host: the host
/// compresses to the same bytes and decodes them to the sample.
fn check_cross_arch<M: Model>(c: &Ctx, name: &str, host_model: &mut M) -> Vec<u8> {
    check_cross_arch_of(c, name, host_model, &c.sample, CHUNK)
}

/// [`check_cross_arch`] for `input` in `chunk`-byte chunks.
fn check_cross_arch_of<M: Model>(
    c: &Ctx,
    name: &str,
    host_model: &mut M,
    input: &[u8],
    chunk: usize,
) -> Vec<u8> {
    let run = &c.run;
    let len = input.len();
    let blob = parse_byte_list(line(run, &format!("{name}: device blob ")))
        .expect("device blob is a byte list");
    let host = compress_to_vec(host_model, input, chunk).unwrap();
    assert!(
        host == blob,
        "{name}: device and host compressed bytes differ"
    );
    assert_eq!(decompress_to_vec(host_model, &blob).unwrap(), input);
    // The device's own checks: identical to the blob embedded by the
    // host-side build, and that blob decoded on the device.
    line(run, &format!("{name}: device blob identical to host blob"));
    let dec = line(run, &format!("{name}: decompressed host blob to "));
    assert!(
        dec.starts_with(&format!("{len} B, byte-identical")),
        "{dec}"
    );
    let comp = line(run, &format!("{name}: compressed {len} -> "));
    let n: usize = comp.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(n, blob.len(), "{comp}");
    // The cost was measured (SysTick under QEMU -icount).
    let words: Vec<&str> = comp.split_whitespace().collect();
    let i = words.iter().position(|w| *w == "insns/byte").expect(comp);
    let per_byte: u64 = words[i - 1].parse().unwrap();
    assert!(per_byte > 0, "{comp}");
    blob
}

/// Whether the first chunk record of a container stream is coded (method
/// 1) rather than stored (method 0): the low bit of its LEB128 tag.
fn is_coded(stream: &[u8]) -> bool {
    stream[coder_core::container::HEADER_LEN] & 1 == 1
}

#[test]
fn int8_model_is_bit_exact_between_host_and_device() {
    let Some(c) = ctx() else { return };
    let file = ModelFile::parse(&c.model).unwrap();
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let blob = check_cross_arch(c, "int8", &mut m);
    // A trained model codes the text; a random one leaves it stored.
    assert_eq!(is_coded(&blob), c.trained, "int8: coded chunk");
    eprintln!(
        "int8: {SAMPLE_LEN} -> {} B ({:.3} bits/byte)",
        blob.len(),
        8.0 * blob.len() as f64 / SAMPLE_LEN as f64
    );
}

/// The stream coded as one chunk on the device, past the model's context: the
/// same bytes as the host's, decoded back on the device and here, at a
/// trained model's rate (a model that stopped predicting past its
/// context, as before streaming, codes at about 75%).
#[test]
fn int8_model_streams_past_its_context_bit_exact_with_the_host() {
    let Some(c) = ctx() else { return };
    let file = ModelFile::parse(&c.model).unwrap();
    let context = file.config().max_context as usize;
    let len = c.stream.len();
    assert!(len >= 4 * context, "{len} vs {context}");
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work).unwrap();
    let blob = check_cross_arch_of(c, "stream", &mut m, &c.stream, len);
    // One chunk record, coded.
    let header = coder_core::container::Header::parse(&blob).unwrap();
    assert_eq!(header.chunk_count(), 1);
    assert_eq!(is_coded(&blob), c.trained, "stream: coded chunk");
    let rate = blob.len() as f64 / len as f64;
    eprintln!(
        "stream: {len} -> {} B as one chunk ({:.3} bits/byte)",
        blob.len(),
        8.0 * rate
    );
    if c.trained {
        assert!(rate < 0.35, "stream rate {rate}");
    }
}

#[test]
fn adaptive_model_is_bit_exact_between_host_and_device() {
    let Some(c) = ctx() else { return };
    let mut m = ContextModel::new_in(ORDER2, vec![0u32; ORDER2.storage_len()]).unwrap();
    let blob = check_cross_arch(c, "order2", &mut m);
    // English text is arithmetic-coded, not stored.
    assert!(is_coded(&blob), "order2: chunk was stored, not coded");
}

/// The README's table of the largest window that fits 256 KiB and 1 MiB of
/// RAM (needs no QEMU).
#[test]
fn firmware_ram_budget_table() {
    use firmware::largest_window;
    use model_int8::Config;
    let (kib256, mib1) = (256 * 1024, 1024 * 1024);
    let c200 = Config::paper_200k(256, 2048);
    let c800 = Config::paper_800k(256, 2048);
    let table = [
        largest_window(c200, kib256),
        largest_window(c800, kib256),
        largest_window(c200, mib1),
        largest_window(c800, mib1),
    ];
    assert_eq!(
        table,
        [Some(484), Some(241), Some(2008), Some(1006)],
        "update the table in firmware-demo/README.md"
    );
    // The shipped window 256 fits 256 KiB for the 200K model, with room.
    let need = working_memory_size(&c200) + firmware::RAM_OVERHEAD;
    assert!(need < kib256, "{need}");
    assert_eq!(largest_window(c200, 1000), None);
}
