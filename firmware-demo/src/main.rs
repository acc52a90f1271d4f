//! Compresses and decompresses text with an int8 Transformer on a
//! Cortex-M4F (QEMU `mps2-an386`), bit-exact with the host, logging with
//! `defmt` over semihosting.
//!
//! Everything the model needs lives in flash (`include_bytes!`) or in
//! static buffers sized at compile time by `model-int8`'s own
//! [`working_memory_size`]; nothing is allocated.
#![no_std]
#![no_main]

mod clock;
#[cfg(not(feature = "rtt"))]
mod logger;
mod stack;

#[cfg(feature = "rtt")]
use defmt_rtt as _;

use coder_core::container::{compress_into, decompress_into, max_compressed_len};
use coder_core::models::{ContextConfig, ContextModel};
use coder_core::Model;
use cortex_m_rt::{entry, exception, ExceptionFrame};
#[cfg(not(feature = "rtt"))]
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use model_int8::format::{fnv1a64, table_hash};
use model_int8::{working_memory_size, Config, Int8Model, ModelFile};

/// Bytes aligned for zero-copy use.
#[repr(C, align(32))]
pub struct Aligned<T: ?Sized>(pub T);

// MODEL_NAME, MODEL_CONFIG, GOLDEN_CONFIG, ORDER2, CHUNK, SAMPLE_LEN,
// STREAM_LEN, and the embedded MODEL, HOST_BLOB, HOST_STREAM_BLOB,
// HOST_ORDER2_BLOB, GOLDEN_MODEL, GOLDEN_INPUT and TEXT (held-out enwik8
// bytes from 3,600,000 on: the sample and the stream are its first
// SAMPLE_LEN and STREAM_LEN bytes).
include!(concat!(env!("OUT_DIR"), "/generated.rs"));

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Working memory of the int8 model, as `model-int8` sizes it.
const WORK_BYTES: usize = max(
    working_memory_size(&MODEL_CONFIG),
    working_memory_size(&GOLDEN_CONFIG),
);
const _: () = assert!(4 * ORDER2.storage_len() + 4 <= WORK_BYTES);
/// The stream is coded as one chunk, past the model's context.
const STREAM_CHUNK: usize = STREAM_LEN;
const PACKED_BYTES: usize = max(
    max_compressed_len(SAMPLE_LEN, CHUNK),
    max_compressed_len(STREAM_LEN, STREAM_CHUNK),
);
const UNPACKED_BYTES: usize = max(SAMPLE_LEN, STREAM_LEN);

static mut WORK: Aligned<[u8; WORK_BYTES]> = Aligned([0; WORK_BYTES]);
static mut PACKED: [u8; PACKED_BYTES] = [0; PACKED_BYTES];
static mut UNPACKED: [u8; UNPACKED_BYTES] = [0; UNPACKED_BYTES];

#[entry]
fn main() -> ! {
    let core = cortex_m::Peripherals::take().unwrap();
    clock::start(core.SYST);
    defmt::info!("firmware-demo: start");
    // Safety: `main` runs once and these are its only references.
    let (work, packed, unpacked) = unsafe {
        (
            &mut (*core::ptr::addr_of_mut!(WORK)).0,
            &mut *core::ptr::addr_of_mut!(PACKED),
            &mut *core::ptr::addr_of_mut!(UNPACKED),
        )
    };
    defmt::info!(
        "memory: work {=usize} B, packed {=usize} B, unpacked {=usize} B",
        WORK_BYTES,
        PACKED_BYTES,
        UNPACKED_BYTES
    );
    let ok = golden(work) & demo(work, packed, unpacked) & adaptive(work, packed, unpacked);
    let (used, size) = stack::usage();
    defmt::info!("stack: {=usize} B used of {=usize} B", used, size);
    finish(ok)
}

/// The `model-int8` golden test on the device: FNV-1a 64 of the model file
/// and of every step's little-endian cumulative table.
fn golden(work: &mut [u8]) -> bool {
    let file = match ModelFile::parse(&GOLDEN_MODEL.0) {
        Ok(f) => f,
        Err(e) => {
            defmt::error!("golden model: {}", e);
            return false;
        }
    };
    let mut m = match Int8Model::new(&file, work) {
        Ok(m) => m,
        Err(e) => {
            defmt::error!("golden model: {}", e);
            return false;
        }
    };
    let tables = table_hash(&mut m, &GOLDEN_INPUT.0);
    defmt::info!(
        "golden: file {=u64:#018x} tables {=u64:#018x} steps {=usize}",
        fnv1a64(&GOLDEN_MODEL.0),
        tables,
        GOLDEN_INPUT.0.len()
    );
    true
}

/// Compresses the sample in `CHUNK`-byte chunks and the stream as one
/// chunk, checks each against the host's blob, decodes the host's blobs
/// and checks them byte for byte.
fn demo(work: &mut [u8], packed: &mut [u8], unpacked: &mut [u8]) -> bool {
    let t = clock::ticks();
    let file = match ModelFile::parse(&MODEL.0) {
        Ok(f) => f,
        Err(e) => {
            defmt::error!("model {=str}: {}", MODEL_NAME, e);
            return false;
        }
    };
    let parse_cost = cost_since(t);
    let c = *file.config();
    if c != MODEL_CONFIG {
        defmt::error!("model config differs from the build's");
        return false;
    }
    defmt::info!(
        "model: {=str} d {=u32} layers {=u32} heads {=u32} ff {=u32} window {=u32} context {=u32} params {=u64} file {=usize} B fnv {=u64:#018x} parse {=u64} {=str}",
        MODEL_NAME,
        c.d_model,
        c.n_layers,
        c.n_heads,
        c.d_ff,
        c.window,
        c.max_context,
        c.parameters(),
        MODEL.0.len(),
        fnv1a64(&MODEL.0),
        parse_cost,
        clock::UNIT
    );
    let mut m = match Int8Model::new(&file, work) {
        Ok(m) => m,
        Err(e) => {
            defmt::error!("model setup: {}", e);
            return false;
        }
    };
    let sample = Job {
        name: "int8",
        input: &TEXT.0[..SAMPLE_LEN],
        chunk: CHUNK,
        host_blob: &HOST_BLOB.0,
    };
    let stream = Job {
        name: "stream",
        input: &TEXT.0[..STREAM_LEN],
        chunk: STREAM_CHUNK,
        host_blob: &HOST_STREAM_BLOB.0,
    };
    round_trip(&mut m, &sample, packed, unpacked) & round_trip(&mut m, &stream, packed, unpacked)
}

/// The same checks with `coder-core`'s adaptive order-2 context model, whose
/// tables live in the same working memory.
fn adaptive(work: &mut [u8], packed: &mut [u8], unpacked: &mut [u8]) -> bool {
    // Safety: any bit pattern is a valid u32.
    let (_, words, _) = unsafe { work.align_to_mut::<u32>() };
    let Some(storage) = words.get_mut(..ORDER2.storage_len()) else {
        defmt::error!("order2: working memory too small");
        return false;
    };
    let mut m = match ContextModel::new_in(ORDER2, storage) {
        Ok(m) => m,
        Err(e) => {
            defmt::error!("order2 setup: {}", e);
            return false;
        }
    };
    let job = Job {
        name: "order2",
        input: &TEXT.0[..SAMPLE_LEN],
        chunk: CHUNK,
        host_blob: &HOST_ORDER2_BLOB.0,
    };
    round_trip(&mut m, &job, packed, unpacked)
}

/// One compression to check: `input` in `chunk`-byte chunks, which the host
/// compressed to `host_blob`.
struct Job<'a> {
    name: &'a str,
    input: &'a [u8],
    chunk: usize,
    host_blob: &'a [u8],
}

/// Compresses the job's input with `m`, checks the output against the
/// host's blob byte for byte, decodes the host's blob and checks it against
/// the input.
fn round_trip<M: Model>(m: &mut M, job: &Job<'_>, packed: &mut [u8], unpacked: &mut [u8]) -> bool {
    let Job {
        name,
        input: sample,
        chunk,
        host_blob,
    } = *job;
    let len = sample.len();
    let t = clock::ticks();
    let n = match compress_into(m, sample, chunk, packed) {
        Ok(n) => n,
        Err(e) => {
            defmt::error!("{=str}: compress: {}", name, e);
            return false;
        }
    };
    let enc = cost_since(t);
    let blob = &packed[..n];
    defmt::info!(
        "{=str}: compressed {=usize} -> {=usize} B in {=usize}-byte chunks, {=f32} bits/byte, {=u64} {=str}, {=u64} {=str}/byte",
        name,
        len,
        n,
        chunk,
        (8 * n) as f32 / len as f32,
        enc,
        clock::UNIT,
        enc / len as u64,
        clock::UNIT
    );
    defmt::info!("{=str}: device blob {=[u8]}", name, blob);
    let identical = blob == host_blob;
    if identical {
        defmt::info!(
            "{=str}: device blob identical to host blob ({=usize} B, fnv {=u64:#018x})",
            name,
            n,
            fnv1a64(blob)
        );
    } else {
        let at = blob
            .iter()
            .zip(host_blob)
            .position(|(a, b)| a != b)
            .unwrap_or(blob.len().min(host_blob.len()));
        defmt::error!(
            "{=str}: device blob ({=usize} B) differs from host blob ({=usize} B) at byte {=usize}",
            name,
            n,
            host_blob.len(),
            at
        );
    }

    // Decode the host's blob (when identical, this is also the device's).
    let t = clock::ticks();
    let decoded = decompress_into(m, host_blob, unpacked);
    let dec = cost_since(t);
    let host_ok = match decoded {
        Ok(len) if &unpacked[..len] == sample => {
            defmt::info!(
                "{=str}: decompressed host blob to {=usize} B, byte-identical to the sample, {=u64} {=str}, {=u64} {=str}/byte",
                name,
                len,
                dec,
                clock::UNIT,
                dec / len as u64,
                clock::UNIT
            );
            true
        }
        Ok(len) => {
            defmt::error!(
                "{=str}: host blob decoded to {=usize} B that differ from the sample",
                name,
                len
            );
            false
        }
        Err(e) => {
            defmt::error!("{=str}: decompress host blob: {}", name, e);
            false
        }
    };
    let device_ok = identical || {
        match decompress_into(m, blob, unpacked) {
            Ok(len) if &unpacked[..len] == sample => {
                defmt::info!(
                    "{=str}: decompressed device blob, byte-identical to the sample",
                    name
                );
                true
            }
            Ok(_) => {
                defmt::error!(
                    "{=str}: device blob decoded to bytes that differ from the sample",
                    name
                );
                false
            }
            Err(e) => {
                defmt::error!("{=str}: decompress device blob: {}", name, e);
                false
            }
        }
    };
    identical && host_ok && device_ok
}

/// Instructions (QEMU `-icount shift=0`) or cycles (real chip) since
/// SysTick reading `t`.
fn cost_since(t: u64) -> u64 {
    (clock::ticks() - t) * clock::PER_TICK
}

/// Logs the verdict and ends the run: a semihosting exit with its status
/// under QEMU, a breakpoint (which ends `probe-rs run`) with `rtt`.
fn finish(ok: bool) -> ! {
    if ok {
        defmt::info!("RESULT: PASS");
    } else {
        defmt::error!("RESULT: FAIL");
    }
    #[cfg(not(feature = "rtt"))]
    debug::exit(if ok { EXIT_SUCCESS } else { EXIT_FAILURE });
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if let Some(loc) = info.location() {
        defmt::error!("panic at {=str}:{=u32}", loc.file(), loc.line());
    } else {
        defmt::error!("panic");
    }
    finish(false)
}

#[exception]
unsafe fn HardFault(ef: &ExceptionFrame) -> ! {
    defmt::error!("HardFault at pc {=u32:#x}", ef.pc());
    finish(false)
}
