//! Builds `firmware-demo`, runs it in QEMU (`mps2-an386`) and decodes its
//! `defmt` log.
//!
//! The firmware writes its defmt frames to `defmt.bin` in QEMU's working
//! directory over semihosting and ends QEMU with a semihosting exit, so a run
//! gives an exit status and a list of decoded log lines.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs, io};

/// The QEMU binary the firmware runs in.
pub const QEMU: &str = "qemu-system-arm";

/// Set to `1` to skip the firmware tests when QEMU is not installed.
pub const SKIP_ENV: &str = "LMC_SKIP_QEMU";

/// How to get QEMU, for error messages.
pub const INSTALL_HINT: &str = "install it with `sudo apt-get install --no-install-recommends \
     qemu-system-arm` (Debian/Ubuntu) and the target with `rustup target add \
     thumbv7em-none-eabihf`, or run `scripts/test-all.sh`, which installs both; \
     set LMC_SKIP_QEMU=1 to skip the firmware tests instead";

/// The `firmware-demo` crate directory.
pub fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("firmware-demo")
}

/// Whether `qemu-system-arm` can be started.
pub fn qemu_available() -> bool {
    Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What to do when QEMU is missing: `Ok(false)` to skip (the user set
/// [`SKIP_ENV`]), `Ok(true)` to run, `Err` with how to install it.
pub fn qemu_or_skip() -> Result<bool, String> {
    if qemu_available() {
        return Ok(true);
    }
    if env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        eprintln!("{QEMU} not found and {SKIP_ENV}=1: skipping the firmware test");
        return Ok(false);
    }
    Err(format!("{QEMU} not found: {INSTALL_HINT}"))
}

/// Builds the firmware in release mode with extra environment variables
/// (read by its build script) into `target_dir`; returns the ELF's path.
pub fn build_firmware(target_dir: &Path, envs: &[(&str, OsString)]) -> Result<PathBuf, String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(firmware_dir())
        .args(["build", "--release"])
        .env("CARGO_TARGET_DIR", target_dir)
        // The firmware's link flags come from its .cargo/config.toml, which
        // RUSTFLAGS would override; the target is fixed there too.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run cargo to build the firmware: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "firmware build failed ({}); is the target installed? \
             (`rustup target add thumbv7em-none-eabihf`)\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(target_dir
        .join("thumbv7em-none-eabihf")
        .join("release")
        .join("firmware-demo"))
}

/// The shipped 200K model the firmware embeds by default.
pub fn shipped_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../model-int8/models/lm-200k.lmm")
}

/// The model file for a firmware build: `$FIRMWARE_MODEL` if set (a path),
/// else the shipped 200K model, or, until one is shipped, a random-weight
/// model of the paper's 200K configuration (window 256, context 2048)
/// written to `dir` (rewritten only when its bytes change, so the firmware
/// is not rebuilt for nothing). Returns the path and whether it is a
/// trained model.
pub fn firmware_model(dir: &Path) -> Result<(PathBuf, bool), String> {
    if let Some(p) = env::var_os("FIRMWARE_MODEL") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok((p, true))
        } else {
            Err(format!("FIRMWARE_MODEL={}: not a file", p.display()))
        };
    }
    let shipped = shipped_model();
    if shipped.exists() {
        return Ok((shipped, true));
    }
    let config = model_int8::Config::paper_200k(256, 2048);
    let float = model_int8::FloatModel::random(config, 0xF1A5);
    let opts = model_int8::QuantOptions {
        max_calibration_bytes: 1024,
        ..model_int8::QuantOptions::default()
    };
    let bytes = model_int8::quantize(&float, CALIBRATION_TEXT, &opts).map_err(|e| e.to_string())?;
    let path = dir.join("random-200k.lmm");
    if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok((path, false))
}

/// Calibration text of the random stand-in model (not the evaluation sample).
const CALIBRATION_TEXT: &[u8] = b"A byte-level language model predicts the next byte; \
an arithmetic coder turns those predictions into a short code. [[Wikipedia]] pages \
have links, dates such as 1984 and 2006, &quot;quotes&quot; and lists:\n* one\n* two\n";

/// One decoded defmt log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// `"TRACE"` … `"ERROR"`, or `"PRINTLN"` for `defmt::println!`.
    pub level: String,
    /// The formatted message.
    pub message: String,
}

/// The outcome of one QEMU run.
#[derive(Debug)]
pub struct Run {
    /// QEMU's exit code (0 after a semihosting success exit, 1 after a
    /// failure exit); `None` if it was killed (e.g. on timeout).
    pub exit_code: Option<i32>,
    /// The run was killed after the timeout.
    pub timed_out: bool,
    /// The decoded defmt log.
    pub lines: Vec<LogLine>,
    /// What QEMU printed.
    pub qemu_output: String,
    /// Wall-clock time of the run.
    pub wall: Duration,
}

impl Run {
    /// The messages of all lines, for assertion messages.
    pub fn transcript(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(&format!("{:<5} {}\n", l.level, l.message));
        }
        s
    }

    /// The first message starting with `prefix`, with the prefix removed.
    pub fn find(&self, prefix: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.message.strip_prefix(prefix))
    }

    /// Every message starting with `prefix`, with the prefix removed.
    pub fn find_all<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines
            .iter()
            .filter_map(move |l| l.message.strip_prefix(prefix))
    }
}

/// Runs `elf` in QEMU `mps2-an386` with `-icount shift=0`, in a fresh
/// directory, killing it after `timeout`; decodes its defmt log.
pub fn run_in_qemu(elf: &Path, timeout: Duration) -> Result<Run, String> {
    let (elf, elf_bytes) = read_elf(elf)?;
    let raw = qemu(&elf, timeout)?;
    raw.decode(&elf_bytes)
}

/// [`run_in_qemu`] once per exact ELF for every test process that asks:
/// the first runs QEMU and leaves the run in `qemu-runs/` beside the ELF,
/// keyed by a hash of its bytes, the others (waiting on a lock meanwhile)
/// read it. Test runners that start a process per test (cargo-nextest)
/// then run the firmware once, as `cargo test` does; the firmware is
/// deterministic (`-icount`), so the run is a function of the ELF.
pub fn run_in_qemu_once(elf: &Path, timeout: Duration) -> Result<Run, String> {
    let (elf, elf_bytes) = read_elf(elf)?;
    let key = format!("{:016x}", coder_core::fnv1a64(&elf_bytes));
    let dir = elf.with_file_name("qemu-runs").join(&key);
    let io_err = |what: &str, e: io::Error| format!("{what} {}: {e}", dir.display());
    fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", e))?;
    let lock = fs::File::create(dir.join("lock")).map_err(|e| io_err("cannot lock", e))?;
    lock.lock().map_err(|e| io_err("cannot lock", e))?;
    let raw = match RawRun::load(&dir) {
        Some(raw) => raw,
        None => {
            let raw = qemu(&elf, timeout)?;
            // A run cut off by the timeout is not the ELF's run: not kept.
            if !raw.timed_out {
                raw.save(&dir)
                    .map_err(|e| io_err("cannot save the run in", e))?;
            }
            raw
        }
    };
    drop(lock);
    raw.decode(&elf_bytes)
}

fn read_elf(elf: &Path) -> Result<(PathBuf, Vec<u8>), String> {
    let elf = elf
        .canonicalize()
        .map_err(|e| format!("firmware {}: {e}", elf.display()))?;
    let bytes =
        fs::read(&elf).map_err(|e| format!("cannot read firmware {}: {e}", elf.display()))?;
    Ok((elf, bytes))
}

/// A QEMU run before its log is decoded.
struct RawRun {
    exit_code: Option<i32>,
    timed_out: bool,
    log: Vec<u8>,
    qemu_output: String,
    wall: Duration,
}

impl RawRun {
    fn decode(self, elf_bytes: &[u8]) -> Result<Run, String> {
        Ok(Run {
            exit_code: self.exit_code,
            timed_out: self.timed_out,
            lines: decode_defmt(elf_bytes, &self.log)?,
            qemu_output: self.qemu_output,
            wall: self.wall,
        })
    }

    /// Writes the run into `dir`, the `status` file last (its presence
    /// marks a complete run).
    fn save(&self, dir: &Path) -> io::Result<()> {
        fs::write(dir.join("defmt.bin"), &self.log)?;
        fs::write(dir.join("qemu-output.txt"), &self.qemu_output)?;
        let code = self
            .exit_code
            .map_or("killed".to_string(), |c| c.to_string());
        let status = format!("{code} {} {}", self.timed_out, self.wall.as_millis());
        let tmp = dir.join("status.tmp");
        fs::write(&tmp, status)?;
        fs::rename(tmp, dir.join("status"))
    }

    fn load(dir: &Path) -> Option<RawRun> {
        let status = fs::read_to_string(dir.join("status")).ok()?;
        let mut f = status.split_whitespace();
        let exit_code = f.next()?.parse().ok();
        let timed_out = f.next()?.parse().ok()?;
        let wall = Duration::from_millis(f.next()?.parse().ok()?);
        Some(RawRun {
            exit_code,
            timed_out,
            log: fs::read(dir.join("defmt.bin")).ok()?,
            qemu_output: fs::read_to_string(dir.join("qemu-output.txt")).ok()?,
            wall,
        })
    }
}

fn qemu(elf: &Path, timeout: Duration) -> Result<RawRun, String> {
    let dir = scratch_dir().map_err(|e| format!("cannot create a scratch directory: {e}"))?;
    let start = Instant::now();
    let mut child = Command::new(QEMU)
        .current_dir(&dir)
        .args([
            "-M",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-semihosting-config",
            "enable=on,target=native",
            "-icount",
            "shift=0",
            "-kernel",
        ])
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {QEMU}: {e}; {INSTALL_HINT}"))?;
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(s);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = start.elapsed();
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let mut qemu_output = String::from_utf8_lossy(&out.stdout).into_owned();
    qemu_output.push_str(&String::from_utf8_lossy(&out.stderr));
    let log = fs::read(dir.join("defmt.bin")).unwrap_or_default();
    let _ = fs::remove_dir_all(&dir);
    Ok(RawRun {
        exit_code: status.and_then(|s| s.code()),
        timed_out,
        log,
        qemu_output,
        wall,
    })
}

/// Decodes a defmt byte stream with the ELF's defmt table.
pub fn decode_defmt(elf: &[u8], log: &[u8]) -> Result<Vec<LogLine>, String> {
    let table = defmt_decoder::Table::parse(elf)
        .map_err(|e| format!("cannot read the ELF's defmt table: {e}"))?
        .ok_or("the ELF has no defmt table")?;
    let mut decoder = table.new_stream_decoder();
    decoder.received(log);
    let mut lines = Vec::new();
    loop {
        match decoder.decode() {
            Ok(frame) => lines.push(LogLine {
                level: frame
                    .level()
                    .map_or("PRINTLN".to_string(), |l| format!("{l:?}").to_uppercase()),
                message: frame.display_message().to_string(),
            }),
            // End of the log (possibly a frame cut short by a crash).
            Err(defmt_decoder::DecodeError::UnexpectedEof) => break,
            Err(defmt_decoder::DecodeError::Malformed) => {
                return Err(format!(
                    "malformed defmt frame after {} lines:\n{lines:?}",
                    lines.len()
                ))
            }
        }
    }
    Ok(lines)
}

/// Parses defmt's display of a byte slice, `[1, 2, 255]`.
pub fn parse_byte_list(s: &str) -> Option<Vec<u8>> {
    let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    inner.split(',').map(|x| x.trim().parse().ok()).collect()
}

fn scratch_dir() -> io::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = env::temp_dir().join(format!("lmc-qemu-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// RAM a firmware needs besides the model's working memory, as the README's
/// budget table counts it: a 2048-byte chunk in, its container record out
/// and the stack (8 KiB together; the demo measures 4 KiB of buffers and a
/// stack peak near 1.3 KiB) and 64 B of other statics (52 measured).
pub const RAM_OVERHEAD: usize = 8 * 1024 + 64;

/// The largest attention window for `config` (other fields unchanged) whose
/// [`model_int8::working_memory_size`] plus [`RAM_OVERHEAD`] fits in
/// `budget` bytes of RAM; `None` if not even window 1 fits.
pub fn largest_window(config: model_int8::Config, budget: usize) -> Option<u32> {
    let fits = |w: u32| {
        let c = model_int8::Config {
            window: w,
            max_context: config.max_context.max(w),
            ..config
        };
        model_int8::working_memory_size(&c) + RAM_OVERHEAD <= budget
    };
    // Working memory grows with the window.
    let (mut lo, mut hi) = (0u32, 65_536u32);
    if !fits(1) {
        return None;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_byte_lists() {
        assert_eq!(parse_byte_list("[1, 2, 255]"), Some(vec![1, 2, 255]));
        assert_eq!(parse_byte_list("[]"), Some(vec![]));
        assert_eq!(parse_byte_list("[256]"), None);
        assert_eq!(parse_byte_list("1, 2"), None);
    }
}
