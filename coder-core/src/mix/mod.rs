//! Context mixing: a bitwise byte coder in the paq8 / lpaq line that can
//! take an external model (the int8 Transformer, or any byte [`Model`])
//! as one of its inputs, and adds what a 256-byte window cannot see:
//! repeats far back (a match model) and adaptive order-0 to order-8
//! statistics.
//!
//! Each byte is coded as 8 binary decisions, most significant bit first,
//! through [`Encoder::encode_bit`](crate::Encoder::encode_bit) with 16-bit
//! probabilities. For every bit the [`Mixer`] takes, in the logistic
//! domain (`stretch(p) = ln(p / (1 - p))`):
//!
//! 1. the external model's probability of a one at this node of the byte's
//!    binary tree (its mass on the one branch over the node's mass, `O(1)`
//!    from the cumulative table), if one is given;
//! 2. the match model: the byte that followed the last occurrence of the
//!    last [`min_match`](MixConfig::min_match) bytes, in a history of the
//!    block so far; while the current byte agrees with it, its next bit,
//!    with a strength learned per match length;
//! 3. order-0 and hashed order-`k` context models: bit-history states in
//!    16-byte slots (one per context and nibble, as in lpaq1), each mapped
//!    to a probability by an adaptive state map;
//!
//! mixes them with one of 256 (or 768) weight sets chosen by the partial
//! byte (and match length), trained online by gradient descent on the
//! coding cost, then refines the mix with one or two adaptive probability
//! maps (APM / SSE), and clamps it to `[2^-16, 1 - 2^-16]`: a run of zeros
//! costs almost nothing, and no bit ever gets probability 0.
//!
//! The external model's weight starts at 1 and every other at 0, and the
//! maps start as the identity, so the mixer starts out coding (nearly)
//! exactly as the external model would, and can only learn away from it
//! where that pays.
//!
//! Everything is integer arithmetic on caller-provided memory (tables
//! from `const fn` integer code): the same bytes on every machine, no
//! allocation, no floats while coding.
//!
//! ```
//! use coder_core::mix::{max_coded_len, MixConfig, Mixer};
//!
//! const CFG: MixConfig = MixConfig::embedded();
//! let mut mixer = Mixer::new_in(CFG, vec![0u8; CFG.storage_len()]).unwrap();
//! let text = b"the cat sat on the mat; the cat sat on the mat.";
//! let mut coded = [0u8; max_coded_len(47)];
//! let n = mixer.encode_chunk(text, &mut coded).unwrap();
//! // Pinned bytes: bit-exact on every machine.
//! assert_eq!(
//!     &coded[..n],
//!     &[116, 105, 162, 6, 4, 55, 73, 67, 119, 153, 200, 170, 76, 56, 246, 139, 132, 211, 75,
//!       166, 177, 244, 247, 231, 56]
//! );
//! println!("{:.3} bits/byte", mixer.bits_per_byte());
//!
//! let mut back = [0u8; 47];
//! mixer.decode_chunk(&coded[..n], &mut back).unwrap();
//! assert_eq!(&back, text);
//! ```
//!
//! With an external model, pass its table per byte
//! ([`Mixer::encode_byte`]) or let the chunk helpers drive it
//! ([`Mixer::encode_chunk_with`]).

mod audio;
mod coding;
mod config;
mod counter;
mod image;
mod lsq;
mod media;
mod mem;
mod mixer;
mod tables;

pub use coding::{max_coded_len, DecodeEither, DecodeWith, EncodeEither, EncodeWith};
pub use config::MixConfig;
pub use mixer::Mixer;

#[cfg(doc)]
use crate::Model;
