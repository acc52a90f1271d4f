//! Builds `firmware-demo` for the Cortex-M4F, runs it in QEMU `mps2-an386`
//! and checks its decoded defmt log.
//!
//! Needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target
//! (`scripts/test-all.sh` installs both). Without QEMU these tests fail with
//! instructions, unless `LMC_SKIP_QEMU=1` is set.

use std::sync::OnceLock;
use std::time::Duration;

use integration_tests::firmware::{self, Run};

/// QEMU normally finishes in seconds; this only stops a hung firmware.
const QEMU_TIMEOUT: Duration = Duration::from_secs(120);

/// Builds and runs the firmware once for all tests; `None` when skipped.
fn run() -> Option<&'static Run> {
    static RUN: OnceLock<Result<Option<Run>, String>> = OnceLock::new();
    let r = RUN.get_or_init(|| {
        if !firmware::qemu_or_skip()? {
            return Ok(None);
        }
        let target = firmware::firmware_dir().join("target");
        let elf = firmware::build_firmware(&target, &[])?;
        firmware::run_in_qemu(&elf, QEMU_TIMEOUT).map(Some)
    });
    match r {
        Ok(run) => run.as_ref(),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn firmware_exits_with_success_and_logs() {
    let Some(run) = run() else { return };
    let log = run.transcript();
    assert!(!run.timed_out, "QEMU timed out after {:?}\n{log}", run.wall);
    assert_eq!(
        run.exit_code,
        Some(0),
        "QEMU exit status\nlog:\n{log}\nqemu:\n{}",
        run.qemu_output
    );
    assert_eq!(run.lines.first().map(|l| l.message.as_str()), Some("firmware-demo: start"), "{log}");
    assert_eq!(run.lines.last().map(|l| l.message.as_str()), Some("RESULT: PASS"), "{log}");
    assert!(run.lines.iter().all(|l| l.level != "ERROR"), "{log}");
    eprintln!("{log}QEMU wall time: {:?}", run.wall);
}
