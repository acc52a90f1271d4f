//! `coder-core`: the exact, `no_std` half of an LM-driven compressor.
//!
//! Bytes (or tokens) flow through a [`Model`], which gives an integer
//! [`FreqTable`] for each next symbol, into a finite-precision arithmetic
//! coder ([`Encoder`], [`Decoder`]), and chunk by chunk into the
//! [`container`] format. Everything is integer arithmetic, so a stream
//! decodes to the same bytes on every machine.
//!
//! Nothing here allocates unless the `alloc` feature is on (it only adds
//! `Vec` wrappers); `std` adds `std::error::Error`, the streaming
//! [`container::StreamWriter`] / [`container::StreamReader`] over
//! `std::io`, and the log-loss [`Meter`]; `defmt` derives `defmt::Format`.
//!
//! ```
//! use coder_core::container::{compress_into, decompress_into, max_compressed_len};
//! use coder_core::models::{ContextConfig, ContextModel};
//!
//! const CFG: ContextConfig = ContextConfig::order0_bytes();
//! let mut model = ContextModel::new_in(CFG, [0u32; CFG.storage_len()]).unwrap();
//! let text = b"to be or not to be, that is the question";
//! let mut packed = [0u8; max_compressed_len(40, 16)];
//! let n = compress_into(&mut model, text, 16, &mut packed).unwrap();
//! let mut back = [0u8; 40];
//! let m = decompress_into(&mut model, &packed[..n], &mut back).unwrap();
//! assert_eq!(&back[..m], text);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod batch;
pub mod coder;
pub mod container;
mod crc32;
mod error;
mod fingerprint;
pub mod freq;
pub mod lockstep;
pub mod media;
#[cfg(feature = "std")]
mod meter;
pub mod mix;
mod model;
pub mod models;

pub use batch::{BatchModel, Lane, Lanes};
pub use coder::{decode_into, encode_into, max_encoded_len, Decoder, Encoder, Symbol};
#[cfg(feature = "alloc")]
pub use coder::{decode_to_vec, encode_to_vec};
pub use crc32::{crc32, Crc32};
pub use error::Error;
pub use fingerprint::{fnv1a64, fnv1a64_update, Fingerprinter, FNV_OFFSET};
pub use freq::{FreqTable, MAX_PRECISION, MAX_SYMBOLS};
#[cfg(feature = "std")]
pub use meter::{symbol_bits, Meter};
pub use mix::{MixConfig, Mixer};
pub use model::Model;

/// The README's examples run as doc tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
