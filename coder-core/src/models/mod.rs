//! Simple models: a fixed distribution and adaptive context models. They
//! drive tests and benchmarks, run on the firmware, and are the baselines
//! the Transformer models are measured against.

mod context;
mod primed;
mod static_model;

pub use context::{ContextConfig, ContextModel, MAX_HASH_BITS};
pub use primed::Primed;
pub use static_model::StaticModel;
