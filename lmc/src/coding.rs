//! How `lmc` codes one chunk under each of the container's codings
//! ([`Coding`]): the Transformer alone, the Transformer mixed with
//! `coder-core`'s adaptive context and match models, or those alone; each
//! optionally *chained* (the Transformer first reads the previous chunk's
//! last window). [`Worker`] is one thread's coders; the streaming code in
//! [`crate::stream`] hands it chunks.

use coder_core::container::{Coding, Mode};
use coder_core::mix::{max_coded_len, MixConfig, Mixer};
use coder_core::models::Primed;
use coder_core::{decode_into, encode_into, max_encoded_len, Meter, Model};

use crate::Error;

/// The mixer preset `lmc` writes: `coder-core`'s host preset
/// ([`MixConfig::preset`]), fitted to the chunk size ([`mix_config`]).
pub const HOST_PRESET: u8 = 1;

/// The mixer configuration of `preset` for chunks of `chunk_size` bytes,
/// exactly as encoder and decoder must both build it.
pub fn mix_config(preset: u8, chunk_size: u32) -> Result<MixConfig, Error> {
    MixConfig::preset(preset)
        .map(|c| c.fit_to(chunk_size as usize))
        .ok_or(Error::UnknownPreset(preset))
}

/// The fingerprint a stream's header carries: the language model's, or,
/// for the adaptive models alone, the mixer configuration's.
pub fn stream_fingerprint(
    coding: Coding,
    model_fingerprint: Option<u64>,
    chunk_size: u32,
) -> Result<u64, Error> {
    match (coding.mode, model_fingerprint) {
        (Mode::Adaptive, _) => Ok(mix_config(coding.preset, chunk_size)?.fingerprint()),
        (_, Some(fp)) => Ok(fp),
        (_, None) => Err(Error::ModelNeeded),
    }
}

/// Bytes between progress reports inside a block.
pub const TICK_BYTES: u64 = 16 << 10;

/// Passes every call to the model and reports progress every
/// [`TICK_BYTES`] symbols observed, so a bar moves inside big blocks.
struct Ticking<'t, M> {
    model: M,
    since: u64,
    reported: u64,
    tick: &'t (dyn Fn(u64) + Sync),
}

impl<M: Model> Model for Ticking<'_, M> {
    fn symbols(&self) -> usize {
        self.model.symbols()
    }
    fn precision(&self) -> u32 {
        self.model.precision()
    }
    fn frequencies(&mut self) -> coder_core::FreqTable<&[u32]> {
        self.model.frequencies()
    }
    fn observe(&mut self, symbol: usize) {
        self.model.observe(symbol);
        self.since += 1;
        if self.since == TICK_BYTES {
            (self.tick)(TICK_BYTES);
            self.reported += TICK_BYTES;
            self.since = 0;
        }
    }
    fn reset(&mut self) {
        self.model.reset();
    }
    fn fingerprint(&self) -> u64 {
        self.model.fingerprint()
    }
    fn lookup(&mut self, target: u32) -> Option<(usize, u32, core::num::NonZeroU32)> {
        self.model.lookup(target)
    }
}

/// One chunk as a worker coded it.
#[derive(Clone, Debug, Default)]
pub struct Coded {
    /// The code; `None` when it was given up as not shorter than the chunk.
    pub code: Option<Vec<u8>>,
    /// Its ideal bits when metered, else 0.
    pub bits: f64,
    /// Bytes already reported through the progress callback.
    pub ticked: u64,
}

fn ticking<'t, M: Model>(model: M, tick: &'t (dyn Fn(u64) + Sync)) -> Ticking<'t, M> {
    Ticking {
        model,
        since: 0,
        reported: 0,
        tick,
    }
}

/// One thread's coders: its language model (`None` for the adaptive
/// models alone) and its mixer (for the mixing modes), each built once
/// and reset for every chunk.
pub struct Worker<L> {
    lm: Option<L>,
    mixer: Option<Mixer<Vec<u8>>>,
}

impl<L: Model> Worker<L> {
    /// A worker for `coding` of `chunk_size`-byte chunks.
    pub fn new(lm: Option<L>, coding: Coding, chunk_size: u32) -> Result<Self, Error> {
        if coding.mode.uses_model() && lm.is_none() {
            return Err(Error::ModelNeeded);
        }
        let mixer = if coding.mode.mixes() {
            let cfg = mix_config(coding.preset, chunk_size)?;
            Some(Mixer::new(cfg).map_err(Error::Coder)?)
        } else {
            None
        };
        Ok(Self { lm, mixer })
    }

    /// The language model.
    pub fn lm(&mut self) -> Option<&mut L> {
        self.lm.as_mut()
    }

    /// Codes `chunk` as `coding` says, the language model first reading
    /// `context` (the previous chunk's last window when chained, else
    /// empty). With `measure`, codes to the end and returns the ideal bits;
    /// otherwise gives up (`code: None`) as soon as the code is as long as
    /// the chunk. Calls `tick` with bytes done every [`TICK_BYTES`] inside
    /// the chunk; [`Coded::ticked`] is their sum.
    pub fn encode(
        &mut self,
        coding: Coding,
        chunk: &[u8],
        context: &[u8],
        measure: bool,
        tick: &(dyn Fn(u64) + Sync),
    ) -> Result<Coded, Error> {
        let cap = if measure {
            match coding.mode {
                Mode::Model => max_encoded_len(chunk.len(), coder_core::MAX_PRECISION),
                _ => max_coded_len(chunk.len()),
            }
        } else {
            chunk.len().saturating_sub(1)
        };
        let mut out = vec![0u8; cap];
        let mut ticked = 0;
        let (r, bits) = match (coding.mode, self.lm.as_mut(), self.mixer.as_mut()) {
            (Mode::Model, Some(lm), _) => {
                let mut m = Meter::new(ticking(Primed::new(lm, context), tick));
                let r = encode_into(&mut m, chunk, &mut out);
                let bits = m.bits();
                ticked = m.into_inner().reported;
                (r, bits)
            }
            (Mode::Mixed, Some(lm), Some(mx)) => {
                let mut scratch = vec![0u8; cap];
                let mut lm = ticking(Primed::new(lm, context), tick);
                let r = mx.encode_chunk_either(&mut lm, chunk, &mut out, &mut scratch);
                ticked = lm.reported;
                (r, mx.cost_q16() as f64 / 65536.0)
            }
            (Mode::Adaptive, _, Some(mx)) => {
                mx.clear_cost();
                let r = mx.encode_chunk(chunk, &mut out);
                (r, mx.cost_q16() as f64 / 65536.0)
            }
            _ => return Err(Error::Coder(coder_core::Error::UnsupportedCoding)),
        };
        match r {
            Ok(n) => {
                out.truncate(n);
                Ok(Coded {
                    code: Some(out),
                    bits: if measure { bits } else { 0.0 },
                    ticked,
                })
            }
            Err(coder_core::Error::OutputFull) if !measure => Ok(Coded {
                ticked,
                ..Coded::default()
            }),
            Err(e) => Err(Error::Coder(e)),
        }
    }

    /// Decodes the coded payload of a chunk into `out` (the chunk's
    /// length), with the same `coding` and `context` it was coded with;
    /// returns the bytes reported through `tick` on the way (as
    /// [`encode`](Self::encode)).
    pub fn decode(
        &mut self,
        coding: Coding,
        payload: &[u8],
        context: &[u8],
        out: &mut [u8],
        tick: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, Error> {
        let (r, ticked) = match (coding.mode, self.lm.as_mut(), self.mixer.as_mut()) {
            (Mode::Model, Some(lm), _) => {
                let mut lm = ticking(Primed::new(lm, context), tick);
                (decode_into(&mut lm, payload, out), lm.reported)
            }
            (Mode::Mixed, Some(lm), Some(mx)) => {
                let mut lm = ticking(Primed::new(lm, context), tick);
                (mx.decode_chunk_either(&mut lm, payload, out), lm.reported)
            }
            (Mode::Adaptive, _, Some(mx)) => (mx.decode_chunk(payload, out), 0),
            _ => (Err(coder_core::Error::UnsupportedCoding), 0),
        };
        r.map(|()| ticked).map_err(Error::Coder)
    }
}
