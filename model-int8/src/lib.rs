#![doc = include_str!("../README.md")]
#![no_std]
#![warn(missing_docs)]
// Only the kernel modules (`simd`, `avx2`, `gemm`, `neon`, `dsp`) may opt
// out: their intrinsics and inline assembly need it.
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
mod avx2;
mod batch;
#[cfg(feature = "std")]
pub mod bench;
mod config;
#[cfg(any(model_int8_dsp, test))]
mod dsp;
mod error;
pub mod fixed;
#[cfg(feature = "std")]
pub mod float;
pub mod format;
#[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
mod gemm;
mod int8;
pub mod kernels;
#[cfg(all(feature = "simd", target_arch = "aarch64", target_feature = "neon"))]
mod neon;
pub mod numerics;
mod pack;
mod portable;
#[cfg(feature = "std")]
mod quantize;
#[cfg(feature = "std")]
mod reference;
#[cfg(all(feature = "simd", feature = "std", target_arch = "x86_64"))]
mod simd;

pub use batch::{batch_memory_size, default_lanes, Int8Batch, MAX_LANES};
pub use config::{Activation, Config, Norm};
pub use error::Error;
#[cfg(feature = "std")]
pub use float::{f16_bits, f16_to_f32, FloatLayer, FloatModel, FloatStorage, NormParams};
pub use format::ModelFile;
pub use int8::{working_memory_size, Int8Model, RESIDUAL_LIMIT};
#[cfg(feature = "std")]
pub use numerics::NORM_EPS;
#[cfg(feature = "std")]
pub use quantize::{precision_for_vocab, quantize, quantize_tokens, QuantOptions};
#[cfg(feature = "std")]
pub use reference::{bits_per_byte, FloatRef, FloatState};
