//! `coder-core`: the exact, `no_std` half of an LM-driven compressor.
//!
//! Bytes (or tokens) flow through a [`Model`], which gives an integer
//! [`FreqTable`] for each next symbol, into a finite-precision arithmetic
//! coder. Everything is integer arithmetic, so a stream decodes to the same
//! bytes on every machine.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod error;
pub mod freq;
mod model;

pub use error::Error;
pub use freq::{FreqTable, MAX_PRECISION, MAX_SYMBOLS};
pub use model::Model;
