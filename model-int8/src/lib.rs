//! Integer-only int8 Transformer inference for `coder-core` (in progress).
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod config;
#[cfg(feature = "std")]
pub mod float;

pub use config::{Activation, Config, Norm};
#[cfg(feature = "std")]
pub use float::{FloatLayer, FloatModel, NormParams};
