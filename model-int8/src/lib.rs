#![doc = include_str!("../README.md")]
#![no_std]
#![warn(missing_docs)]
// Only the `simd` module may opt out (its intrinsics need it).
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod bench;
mod config;
mod error;
pub mod fixed;
#[cfg(feature = "std")]
pub mod float;
pub mod format;
mod int8;
pub mod kernels;
pub mod numerics;
mod portable;
#[cfg(feature = "std")]
mod quantize;
#[cfg(feature = "std")]
mod reference;
#[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
mod simd;

pub use config::{Activation, Config, Norm};
pub use error::Error;
#[cfg(feature = "std")]
pub use float::{FloatLayer, FloatModel, NormParams};
pub use format::ModelFile;
pub use int8::{working_memory_size, Int8Model, RESIDUAL_LIMIT};
#[cfg(feature = "std")]
pub use numerics::NORM_EPS;
#[cfg(feature = "std")]
pub use quantize::{quantize, QuantOptions};
#[cfg(feature = "std")]
pub use reference::{bits_per_byte, FloatRef, FloatState};
