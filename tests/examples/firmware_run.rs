//! Runs a `firmware-demo` ELF in QEMU `mps2-an386` and prints its decoded
//! defmt log; exits with the firmware's status.
//!
//! ```text
//! (cd firmware-demo && cargo build --release)
//! cargo run -p integration-tests --example firmware_run -- \
//!     firmware-demo/target/thumbv7em-none-eabihf/release/firmware-demo
//! ```

use std::time::Duration;

use integration_tests::firmware;

fn main() {
    let Some(elf) = std::env::args_os().nth(1) else {
        eprintln!("usage: firmware_run <firmware ELF>");
        std::process::exit(2);
    };
    if !firmware::qemu_available() {
        eprintln!("{} not found: {}", firmware::QEMU, firmware::INSTALL_HINT);
        std::process::exit(2);
    }
    let run = match firmware::run_in_qemu(elf.as_ref(), Duration::from_secs(600)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    for l in &run.lines {
        println!("{:<5} {}", l.level, l.message);
    }
    eprint!("{}", run.qemu_output);
    eprintln!(
        "QEMU wall time {:.1} s, exit {:?}",
        run.wall.as_secs_f64(),
        run.exit_code
    );
    std::process::exit(if run.exit_code == Some(0) { 0 } else { 1 });
}
