//! Parts of the `lmc` binary that are not the library's: argument checks
//! clap does not make and signal handling.

pub mod args;
#[cfg(unix)]
pub mod signals;
