//! How `lmc` codes one chunk under each of the container's codings
//! ([`Coding`]): the Transformer alone, the Transformer mixed with
//! `coder-core`'s adaptive context and match models, or those alone; each
//! optionally *chained* (the Transformer first reads the previous chunk's
//! last window). [`Worker`] is one thread's coders, coding a group of
//! chunks in lockstep; the streaming code in [`crate::stream`] hands it
//! chunks.

use coder_core::container::{Coding, Mode};
use coder_core::lockstep::{self, Decode, Encode, Metered, Step};
use coder_core::media::Region;
use coder_core::mix::{max_coded_len, DecodeEither, EncodeEither, MixConfig, Mixer};
use coder_core::models::Primed;
use coder_core::{max_encoded_len, BatchModel, FreqTable, Lane, Model};

use crate::Error;

/// The mixer preset `lmc` writes for the adaptive models alone (and, until
/// 2026-12-07, for mixed streams too): `coder-core`'s host preset
/// ([`MixConfig::preset`]), fitted to the chunk size ([`mix_config`]).
pub const HOST_PRESET: u8 = 1;

/// The mixer preset `lmc` writes for the Transformer mixed with the
/// adaptive models: `coder-core`'s `host2` (more orders and text contexts,
/// two mixer layers): 2.3% smaller than [`HOST_PRESET`] on held-out enwik8
/// for some 12-18% more time (lmc/README.md).
pub const MIXED_PRESET: u8 = 3;

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

/// A thread's batched model as one lockstep run sees it: resetting a lane
/// primes it with its chunk's context (through [`Primed`] on a [`Lane`]),
/// and every [`TICK_BYTES`] symbols observed (all lanes together, priming
/// not counted) are reported, so a bar moves inside big blocks.
struct Run<'r, B: ?Sized> {
    batch: &'r mut B,
    contexts: &'r [&'r [u8]],
    since: u64,
    reported: u64,
    tick: &'r (dyn Fn(u64) + Sync),
}

impl<'r, B: BatchModel + ?Sized> Run<'r, B> {
    fn new(batch: &'r mut B, contexts: &'r [&'r [u8]], tick: &'r (dyn Fn(u64) + Sync)) -> Self {
        Self {
            batch,
            contexts,
            since: 0,
            reported: 0,
            tick,
        }
    }
}

impl<B: BatchModel + ?Sized> BatchModel for Run<'_, B> {
    fn lanes(&self) -> usize {
        self.batch.lanes()
    }
    fn symbols(&self) -> usize {
        self.batch.symbols()
    }
    fn precision(&self) -> u32 {
        self.batch.precision()
    }
    fn fingerprint(&self) -> u64 {
        self.batch.fingerprint()
    }
    fn reset(&mut self, lane: usize) {
        let context = self.contexts.get(lane).copied().unwrap_or_default();
        Primed::new(Lane::new(&mut *self.batch, lane), context).reset();
    }
    fn observe(&mut self, lane: usize, symbol: usize) {
        self.batch.observe(lane, symbol);
        self.since += 1;
        if self.since == TICK_BYTES {
            (self.tick)(TICK_BYTES);
            self.reported += TICK_BYTES;
            self.since = 0;
        }
    }
    fn predict(&mut self, lanes: &[usize]) {
        self.batch.predict(lanes);
    }
    fn frequencies(&mut self, lane: usize) -> FreqTable<&[u32]> {
        self.batch.frequencies(lane)
    }
}

/// Runs `codings` in lockstep on `lm`, lane `i` primed with
/// `contexts[i]`; `done` gets each result. Returns the bytes ticked.
fn lockstep<B: BatchModel + ?Sized, S: Step>(
    lm: &mut B,
    contexts: &[&[u8]],
    tick: &(dyn Fn(u64) + Sync),
    codings: impl IntoIterator<Item = S>,
    done: impl FnMut(usize, Result<S::Output, coder_core::Error>),
) -> Result<u64, Error> {
    let mut run = Run::new(lm, contexts, tick);
    lockstep::run(&mut run, codings, done).map_err(Error::Coder)?;
    Ok(run.reported)
}

/// Where a chunk sits in a media region: the region (as its stream's
/// header records it) and the chunk's offset in that stream's data.
pub type Place = Option<(Region, u64)>;

/// Points `mixer` at a chunk's place (plain bytes without one).
fn place(mixer: &mut Mixer<Vec<u8>>, at: Place) {
    match at {
        Some((r, start)) => mixer.set_region(Some(r), start),
        None => mixer.set_region(None, 0),
    }
}

/// One chunk as a worker coded it.
#[derive(Clone, Debug, Default)]
pub struct Coded {
    /// The code; `None` when it was given up as not shorter than the chunk.
    pub code: Option<Vec<u8>>,
    /// Its ideal bits when metered, else 0.
    pub bits: f64,
}

/// One thread's coders: its batched language model (`None` for the
/// adaptive models alone) and, for the mixing modes, a mixer per lane,
/// each built once and reset for every chunk. It codes up to
/// [`lanes`](Self::lanes) chunks at once, in lockstep
/// ([`coder_core::lockstep`]): the same bytes as one at a time.
pub struct Worker<B> {
    lm: Option<B>,
    mixers: Vec<Mixer<Vec<u8>>>,
}

impl<B: BatchModel> Worker<B> {
    /// A worker for `coding` of `chunk_size`-byte chunks.
    pub fn new(lm: Option<B>, coding: Coding, chunk_size: u32) -> Result<Self, Error> {
        if coding.mode.uses_model() && lm.is_none() {
            return Err(Error::ModelNeeded);
        }
        let lanes = lm.as_ref().map_or(1, B::lanes).max(1);
        let mixers = if coding.mode.mixes() {
            let cfg = mix_config(coding.preset, chunk_size)?;
            (0..lanes)
                .map(|_| {
                    Mixer::new_in(cfg, crate::models::zeroed(cfg.storage_len())?)
                        .map_err(Error::Coder)
                })
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Self { lm, mixers })
    }

    /// Chunks coded at once (the language model's lanes; 1 without one).
    pub fn lanes(&self) -> usize {
        self.lm.as_ref().map_or(1, B::lanes).max(1)
    }

    /// The batched language model.
    pub fn lm(&mut self) -> Option<&mut B> {
        self.lm.as_mut()
    }

    /// Codes `chunks` (at most [`lanes`](Self::lanes)) as `coding` says,
    /// chunk `i` at `places[i]` in a media region (`None` or missing:
    /// plain bytes),
    /// the language model first reading `contexts[i]` before chunk `i`
    /// (the previous chunk's last window when chained, else empty). With
    /// `measure`, codes to the end and gives the ideal bits; otherwise
    /// gives a chunk up (`code: None`) as soon as its code is as long as
    /// the chunk. Calls `tick` with bytes done every [`TICK_BYTES`] (all
    /// chunks together); returns the chunks, in order, and the sum of the
    /// ticks.
    pub fn encode(
        &mut self,
        coding: Coding,
        chunks: &[&[u8]],
        places: &[Place],
        contexts: &[&[u8]],
        measure: bool,
        tick: &(dyn Fn(u64) + Sync),
    ) -> Result<(Vec<Coded>, u64), Error> {
        let cap = |len: usize| match (measure, coding.mode) {
            (true, Mode::Model) => max_encoded_len(len, coder_core::MAX_PRECISION),
            (true, _) => max_coded_len(len),
            (false, _) => len.saturating_sub(1),
        };
        let mut outs = chunks
            .iter()
            .map(|c| crate::models::zeroed(cap(c.len())))
            .collect::<Result<Vec<Vec<u8>>, Error>>()?;
        let mut results: Vec<Result<(usize, f64), coder_core::Error>> =
            vec![Err(coder_core::Error::BadConfig); chunks.len()];
        let mut ticked = 0;
        match (coding.mode, self.lm.as_mut()) {
            (Mode::Model, Some(lm)) => {
                let codings = chunks
                    .iter()
                    .zip(&mut outs)
                    .map(|(c, o)| Metered::new(Encode::new(c, o)));
                ticked = lockstep(lm, contexts, tick, codings, |i, r| results[i] = r)?;
            }
            (Mode::Mixed, Some(lm)) => {
                for (i, m) in self.mixers.iter_mut().enumerate() {
                    place(m, places.get(i).copied().flatten());
                }
                let mut scratch = outs
                    .iter()
                    .map(|o| crate::models::zeroed(o.len()))
                    .collect::<Result<Vec<Vec<u8>>, Error>>()?;
                let codings = self
                    .mixers
                    .iter_mut()
                    .zip(chunks)
                    .zip(outs.iter_mut().zip(&mut scratch))
                    .map(|((m, c), (o, s))| EncodeEither::new(m, c, o, s));
                ticked = lockstep(lm, contexts, tick, codings, |i, r| {
                    results[i] = r.map(|n| (n, 0.0))
                })?;
                for (r, m) in results.iter_mut().zip(&self.mixers) {
                    if let Ok((_, bits)) = r {
                        *bits = m.cost_q16() as f64 / 65536.0;
                    }
                }
            }
            (Mode::Adaptive, _) => {
                let mx = self
                    .mixers
                    .first_mut()
                    .ok_or(Error::Coder(coder_core::Error::UnsupportedCoding))?;
                for (i, ((c, o), r)) in chunks.iter().zip(&mut outs).zip(&mut results).enumerate() {
                    place(mx, places.get(i).copied().flatten());
                    mx.clear_cost();
                    *r = mx
                        .encode_chunk(c, o)
                        .map(|n| (n, mx.cost_q16() as f64 / 65536.0));
                }
            }
            _ => return Err(Error::Coder(coder_core::Error::UnsupportedCoding)),
        }
        let coded = outs
            .into_iter()
            .zip(results)
            .map(|(mut out, r)| match r {
                Ok((n, bits)) => {
                    out.truncate(n);
                    Ok(Coded {
                        code: Some(out),
                        bits: if measure { bits } else { 0.0 },
                    })
                }
                Err(coder_core::Error::OutputFull) if !measure => Ok(Coded::default()),
                Err(e) => Err(Error::Coder(e)),
            })
            .collect::<Result<_, _>>()?;
        Ok((coded, ticked))
    }

    /// Decodes the coded payloads of chunks into `outs` (each of its
    /// chunk's length), at most [`lanes`](Self::lanes) at once, with the
    /// same `coding` and `contexts` they were coded with. Returns each
    /// chunk's result (an error stays in its chunk) and the bytes reported
    /// through `tick` on the way (as [`encode`](Self::encode)).
    pub fn decode(
        &mut self,
        coding: Coding,
        payloads: &[&[u8]],
        places: &[Place],
        contexts: &[&[u8]],
        outs: &mut [Vec<u8>],
        tick: &(dyn Fn(u64) + Sync),
    ) -> Result<(Vec<Result<(), coder_core::Error>>, u64), Error> {
        let mut results = vec![Ok(()); payloads.len()];
        let mut ticked = 0;
        match (coding.mode, self.lm.as_mut()) {
            (Mode::Model, Some(lm)) => {
                let codings = payloads
                    .iter()
                    .zip(outs.iter_mut())
                    .map(|(p, o)| Decode::new(p, o));
                ticked = lockstep(lm, contexts, tick, codings, |i, r| results[i] = r)?;
            }
            (Mode::Mixed, Some(lm)) => {
                for (i, m) in self.mixers.iter_mut().enumerate() {
                    place(m, places.get(i).copied().flatten());
                }
                let codings = self
                    .mixers
                    .iter_mut()
                    .zip(payloads)
                    .zip(outs.iter_mut())
                    .map(|((m, p), o)| DecodeEither::new(m, p, o));
                ticked = lockstep(lm, contexts, tick, codings, |i, r| results[i] = r)?;
            }
            (Mode::Adaptive, _) => {
                let mx = self
                    .mixers
                    .first_mut()
                    .ok_or(Error::Coder(coder_core::Error::UnsupportedCoding))?;
                for (i, ((p, o), r)) in payloads
                    .iter()
                    .zip(outs.iter_mut())
                    .zip(&mut results)
                    .enumerate()
                {
                    place(mx, places.get(i).copied().flatten());
                    *r = mx.decode_chunk(p, o);
                }
            }
            _ => return Err(Error::Coder(coder_core::Error::UnsupportedCoding)),
        }
        Ok((results, ticked))
    }
}
