//! SIGINT, SIGTERM and SIGHUP: remove the temporary outputs and exit with
//! 128 + the signal's number (130, 143, 129), as a shell reports a process
//! killed by it.
//!
//! The handler only writes the signal's number to a socket (write(2) is
//! async-signal-safe); a thread reading the other end does the rest.
//!
//! SIGXFSZ (a file past `ulimit -f`) is ignored, so the write that crosses
//! the limit fails with EFBIG ("File too large") and takes the error path
//! that deletes the temporary file, instead of killing the process.

use std::io::{self, Read};
use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;
const SIGXFSZ: i32 = 25;
/// `SIG_IGN`.
const IGNORE: usize = 1;

/// The write end of the socket, for the handler.
static PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" {
    /// `handler` is a function pointer or `SIG_IGN`.
    fn signal(signum: i32, handler: usize) -> usize;
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
}

extern "C" fn on_signal(sig: i32) {
    let b = sig as u8;
    // SAFETY: write(2) is async-signal-safe, `b` outlives the call, and the
    // descriptor stays open for the life of the process.
    unsafe {
        write(PIPE.load(Ordering::Relaxed), &b, 1);
    }
}

/// What `lmc` says on the signal.
fn describe(sig: i32) -> &'static str {
    match sig {
        SIGINT => "interrupted",
        SIGTERM => "terminated (SIGTERM)",
        SIGHUP => "hung up (SIGHUP)",
        _ => "stopped by a signal",
    }
}

/// Installs the handlers: on a signal, `cleanup` runs, one line goes to
/// stderr and the process exits with 128 + the signal's number.
pub fn install(cleanup: fn()) -> io::Result<()> {
    let (mut rx, tx) = UnixStream::pair()?;
    PIPE.store(tx.into_raw_fd(), Ordering::Relaxed);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut b = [0u8; 1];
            if rx.read_exact(&mut b).is_ok() {
                cleanup();
                let sig = i32::from(b[0]);
                eprintln!("lmc: {}", describe(sig));
                std::process::exit(128 + sig);
            }
        })?;
    for s in [SIGHUP, SIGINT, SIGTERM] {
        // SAFETY: `on_signal` is async-signal-safe (see above).
        unsafe {
            signal(s, on_signal as extern "C" fn(i32) as usize);
        }
    }
    // SAFETY: ignoring a signal runs no code of ours.
    unsafe {
        signal(SIGXFSZ, IGNORE);
    }
    Ok(())
}
