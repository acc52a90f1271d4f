//! Host trainer for the byte-level Transformers of `docs/ARCHITECTURE.md`:
//! trains them with the hand-fused CPU engine ([`fused`], the CPU default)
//! or Burn's autodiff ([`model`], on `burn-ndarray` or, with the `cuda`
//! feature, `burn-cuda`), and exports the float model and the int8 model of
//! `model-int8`. The two engines compute the same function
//! (`tests/fused_agreement.rs`) and share checkpoints ([`learner`]).
//!
//! ```
//! use model_int8::Config;
//! use trainer::fused::{AdamW, Engine};
//!
//! // One training step of a tiny model on a few bytes of text.
//! let config = Config::sized(32, 2, 2, 32, 128);
//! let mut engine = Engine::new(&config, 2).unwrap();
//! let layout = engine.layout().clone();
//! let mut params = layout.init(1);
//! let mut grad = vec![0.0; layout.len];
//! let text = b"byte-level language models compress text";
//! let inputs: Vec<i32> = std::iter::once(256).chain(text[..text.len() - 1].iter().map(|&b| b as i32)).collect();
//! let targets: Vec<i32> = text.iter().map(|&b| b as i32).collect();
//! let before = engine.loss_and_grad(&params, &inputs, &targets, 1, text.len(), &mut grad);
//! let mut adam = AdamW::new(layout.len, 0.99, 0.0, 1.0);
//! adam.step(1e-2, &mut params, &mut grad, &layout.tensors());
//! let after = engine.loss(&params, &inputs, &targets, 1, text.len());
//! assert!(after < before);
//! ```

pub mod backend;
pub mod bench;
pub mod data;
pub mod eval;
pub mod export;
pub mod fused;
pub mod int8eval;
pub mod learner;
pub mod mixture;
pub mod model;
pub mod plot;
pub mod ship;
pub mod train;
