//! Host trainer for the byte-level Transformers of `docs/ARCHITECTURE.md`:
//! trains them in Burn (CPU by default, CUDA with the `cuda` feature),
//! exports the float model and the int8 model of `model-int8`.

pub mod backend;
pub mod bench;
pub mod data;
pub mod eval;
pub mod export;
pub mod fused;
pub mod int8eval;
pub mod learner;
pub mod model;
pub mod plot;
pub mod ship;
pub mod train;
