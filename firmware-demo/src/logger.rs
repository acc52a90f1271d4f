//! A `defmt` global logger that writes the encoded frames to a host file
//! over semihosting.
//!
//! The frames go to `defmt.bin` in QEMU's working directory rather than to
//! the semihosting console, so nothing QEMU prints can corrupt them. On a
//! real board, use `defmt-rtt` instead (see the README).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m_semihosting::{nr, syscall};

/// The host file the frames are written to (nul-terminated for `SYS_OPEN`).
const LOG_PATH: &[u8] = b"defmt.bin\0";

#[defmt::global_logger]
struct Logger;

struct State {
    encoder: defmt::Encoder,
    /// Semihosting handle of the log file; `None` until first use, or when
    /// the host refused to open it (logging is then dropped).
    handle: Option<usize>,
    opened: bool,
    restore: critical_section::RestoreState,
}

struct Shared {
    taken: AtomicBool,
    state: UnsafeCell<State>,
}

// Safety: `state` is only touched between `acquire` and `release`, inside a
// critical section, and `taken` forbids re-entry.
unsafe impl Sync for Shared {}

static SHARED: Shared = Shared {
    taken: AtomicBool::new(false),
    state: UnsafeCell::new(State {
        encoder: defmt::Encoder::new(),
        handle: None,
        opened: false,
        restore: critical_section::RestoreState::invalid(),
    }),
};

fn open_log() -> Option<usize> {
    let len = LOG_PATH.len() - 1;
    // Safety: a plain semihosting call with a valid nul-terminated path.
    let fd = unsafe { syscall!(OPEN, LOG_PATH.as_ptr(), nr::open::W_TRUNC_BINARY, len) };
    (fd as isize != -1).then_some(fd)
}

fn write_host(handle: Option<usize>, mut bytes: &[u8]) {
    let Some(fd) = handle else { return };
    while !bytes.is_empty() {
        // Safety: a plain semihosting call on a buffer we own.
        let left = unsafe { syscall!(WRITE, fd, bytes.as_ptr(), bytes.len()) };
        if left == 0 || left > bytes.len() {
            return;
        }
        bytes = &bytes[bytes.len() - left..];
    }
}

// Safety: the `defmt::Logger` contract (acquire/write/release in order) is
// upheld by defmt; we add the critical section and the re-entry check.
unsafe impl defmt::Logger for Logger {
    fn acquire() {
        // Safety: paired with the `release` below.
        let restore = unsafe { critical_section::acquire() };
        if SHARED.taken.swap(true, Ordering::Relaxed) {
            panic!("defmt logger taken reentrantly");
        }
        // Safety: exclusive access inside the critical section.
        let s = unsafe { &mut *SHARED.state.get() };
        s.restore = restore;
        if !s.opened {
            s.opened = true;
            s.handle = open_log();
        }
        let h = s.handle;
        s.encoder.start_frame(|b| write_host(h, b));
    }

    unsafe fn flush() {
        // Semihosting writes are synchronous: nothing is buffered here.
    }

    unsafe fn release() {
        // Safety: called after `acquire`, so we hold the critical section.
        let s = unsafe { &mut *SHARED.state.get() };
        let h = s.handle;
        s.encoder.end_frame(|b| write_host(h, b));
        let restore = s.restore;
        SHARED.taken.store(false, Ordering::Relaxed);
        // Safety: paired with the `acquire` above.
        unsafe { critical_section::release(restore) };
    }

    unsafe fn write(bytes: &[u8]) {
        // Safety: called between `acquire` and `release`.
        let s = unsafe { &mut *SHARED.state.get() };
        let h = s.handle;
        s.encoder.write(bytes, |b| write_host(h, b));
    }
}
