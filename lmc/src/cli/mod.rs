//! Parts of the `lmc` binary that are not the library's: argument checks
//! clap does not make, signal handling, progress bars, and the listings
//! of `lmc info` and `-l`.

pub mod args;
pub mod listing;
pub mod progress;
#[cfg(unix)]
pub mod signals;

use std::path::Path;

use lmc::dest::is_stdin;

/// A path as messages show it ("stdin" for `-`).
pub fn display(p: &Path) -> String {
    if is_stdin(p) {
        "stdin".into()
    } else {
        p.display().to_string()
    }
}
