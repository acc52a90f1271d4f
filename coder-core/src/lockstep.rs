//! Lockstep coding: several independent chunks coded at once with a
//! [`BatchModel`], the model predicting the next symbol of every chunk
//! still coding in one pass.
//!
//! Each coding is a small state machine, a [`Step`]: it starts a chunk
//! (resetting its model), codes one symbol at a time with the table of
//! whatever model it is handed, and finishes. The single-chunk functions
//! ([`encode_into`](crate::encode_into), [`decode_into`](crate::decode_into),
//! [`Mixer::encode_chunk_with`](crate::Mixer::encode_chunk_with), …) run one
//! with the chunk's model ([`run_one`]); [`run`] runs up to
//! [`BatchModel::lanes`] of them in lockstep, coding `i` on lane `i` (handed
//! to it as a [`Lane`]). So a chunk's bytes are the same whichever way it
//! is coded, whatever the batch.
//!
//! The codings: [`Encode`] / [`Decode`] (the model alone, as
//! [`encode_into`](crate::encode_into)), [`Metered`] (any of them, adding
//! up the ideal code length; `std`), and the mixer's
//! [`EncodeWith`](crate::mix::EncodeWith) / [`DecodeWith`](crate::mix::DecodeWith)
//! and [`EncodeEither`](crate::mix::EncodeEither) /
//! [`DecodeEither`](crate::mix::DecodeEither).
//!
//! ```
//! use coder_core::lockstep::{run, Decode, Encode};
//! use coder_core::models::{ContextConfig, ContextModel};
//! use coder_core::{encode_to_vec, Lanes};
//!
//! let cfg = ContextConfig::order2_bytes(10);
//! let chunks: [&[u8]; 3] = [b"one chunk", b"another, longer chunk", b""];
//! let mut models: Vec<_> = (0..3).map(|_| ContextModel::new(cfg).unwrap()).collect();
//! let mut lanes = Lanes(&mut models);
//! let mut outs = vec![vec![0u8; 64]; 3];
//! let codings = chunks.iter().zip(&mut outs).map(|(c, o)| Encode::new(c, o));
//! let mut lens = [0usize; 3];
//! run(&mut lanes, codings, |lane, r| lens[lane] = r.unwrap()).unwrap();
//! // The same bytes as each chunk coded alone.
//! for (i, c) in chunks.iter().enumerate() {
//!     let alone = encode_to_vec(&mut ContextModel::new(cfg).unwrap(), c).unwrap();
//!     assert_eq!(&outs[i][..lens[i]], &alone[..]);
//! }
//! // And back, in lockstep too.
//! let mut backs: Vec<Vec<u8>> = chunks.iter().map(|c| vec![0; c.len()]).collect();
//! let codings = backs.iter_mut().zip(0..).map(|(b, i)| Decode::new(&outs[i][..lens[i]], b));
//! run(&mut lanes, codings, |_, r| r.unwrap()).unwrap();
//! assert_eq!(backs, chunks);
//! ```

use crate::{BatchModel, Decoder, Encoder, Error, Lane, Model, Symbol};

/// The most codings [`run`] takes at once.
pub const MAX_LANES: usize = 64;

/// One chunk's coding in progress: the one implementation of a coding,
/// driven a symbol at a time by [`run_one`] (a chunk with its own model)
/// or [`run`] (a lane of a [`BatchModel`]).
pub trait Step {
    /// What a finished coding gives (the coded length, for encodings).
    type Output;

    /// Starts the chunk: checks and resets `model` (and the coding's own
    /// state). Called once, first.
    fn start<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error>;

    /// Symbols still to code.
    fn remaining(&self) -> usize;

    /// Codes the next symbol with `model`'s table for it, then shows the
    /// symbol to `model`. Does nothing once nothing remains.
    fn step<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error>;

    /// Ends the coding, after the last step.
    fn finish(self) -> Result<Self::Output, Error>;
}

/// Runs `coding` from start to finish with `model`: one chunk alone.
pub fn run_one<S: Step, M: Model + ?Sized>(
    mut coding: S,
    model: &mut M,
) -> Result<S::Output, Error> {
    coding.start(model)?;
    while coding.remaining() > 0 {
        coding.step(model)?;
    }
    coding.finish()
}

/// Runs `codings` in lockstep, coding `i` on lane `i` of `model`: each
/// step predicts the lanes still coding in one
/// [`predict`](BatchModel::predict), then lets each code one symbol. Every
/// coding ends in one call `done(i, result)`, as soon as it finishes or
/// fails; a lane that fails (corrupt input, output full) stops there and
/// the others go on.
///
/// [`Error::BadConfig`], before anything is coded, for more codings than
/// `model` has lanes (or than [`MAX_LANES`]).
pub fn run<B, S, F>(
    model: &mut B,
    codings: impl IntoIterator<Item = S>,
    mut done: F,
) -> Result<(), Error>
where
    B: BatchModel + ?Sized,
    S: Step,
    F: FnMut(usize, Result<S::Output, Error>),
{
    let mut lanes: [Option<S>; MAX_LANES] = core::array::from_fn(|_| None);
    let cap = model.lanes().min(MAX_LANES);
    let mut n = 0;
    for c in codings {
        let slot = lanes[..cap].get_mut(n).ok_or(Error::BadConfig)?;
        *slot = Some(c);
        n += 1;
    }
    for (i, slot) in lanes[..n].iter_mut().enumerate() {
        if let Some(Err(e)) = slot.as_mut().map(|c| c.start(&mut Lane::new(model, i))) {
            *slot = None;
            done(i, Err(e));
        }
    }
    let mut active = [0usize; MAX_LANES];
    loop {
        let mut k = 0;
        for (i, slot) in lanes[..n].iter_mut().enumerate() {
            match slot.take() {
                Some(c) if c.remaining() == 0 => done(i, c.finish()),
                Some(c) => {
                    *slot = Some(c);
                    active[k] = i;
                    k += 1;
                }
                None => {}
            }
        }
        if k == 0 {
            return Ok(());
        }
        model.predict(&active[..k]);
        for &i in &active[..k] {
            let slot = &mut lanes[i];
            if let Some(Err(e)) = slot.as_mut().map(|c| c.step(&mut Lane::new(model, i))) {
                *slot = None;
                done(i, Err(e));
            }
        }
    }
}

/// Symbols coded with the model alone, one per table: the coding of
/// [`encode_into`](crate::encode_into). Gives the coded length.
#[derive(Debug)]
pub struct Encode<'a, T> {
    symbols: &'a [T],
    pos: usize,
    enc: Encoder<'a>,
}

impl<'a, T: Symbol> Encode<'a, T> {
    /// Codes `symbols` into `out`.
    pub fn new(symbols: &'a [T], out: &'a mut [u8]) -> Self {
        Self {
            symbols,
            pos: 0,
            enc: Encoder::new(out),
        }
    }
}

impl<T: Symbol> Step for Encode<'_, T> {
    type Output = usize;

    fn start<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        model.reset();
        Ok(())
    }

    fn remaining(&self) -> usize {
        self.symbols.len() - self.pos
    }

    #[inline]
    fn step<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        let Some(s) = self.symbols.get(self.pos) else {
            return Ok(());
        };
        let s = s.index();
        self.enc.encode_symbol(&model.frequencies(), s)?;
        model.observe(s);
        self.pos += 1;
        Ok(())
    }

    fn finish(self) -> Result<usize, Error> {
        self.enc.finish()
    }
}

/// Decodes what [`Encode`] coded, into a caller's buffer of the chunk's
/// length: the coding of [`decode_into`](crate::decode_into), with its
/// checks (a symbol `T` cannot hold and input that is not exactly the
/// encoder's are [`Error::Corrupt`]).
#[derive(Debug)]
pub struct Decode<'a, T> {
    pub(crate) dec: Decoder<'a>,
    out: &'a mut [T],
    pos: usize,
}

impl<'a, T: Symbol> Decode<'a, T> {
    /// Decodes `out.len()` symbols from `coded` into `out`.
    pub fn new(coded: &'a [u8], out: &'a mut [T]) -> Self {
        Self {
            dec: Decoder::new(coded),
            out,
            pos: 0,
        }
    }
}

impl<'a, T> Decode<'a, T> {
    /// Decodes the next symbol with `decode` into the output, if any
    /// remains.
    #[inline]
    pub(crate) fn step_with(
        &mut self,
        decode: impl FnOnce(&mut Decoder<'a>) -> Result<T, Error>,
    ) -> Result<(), Error> {
        let Some(slot) = self.out.get_mut(self.pos) else {
            return Ok(());
        };
        *slot = decode(&mut self.dec)?;
        self.pos += 1;
        Ok(())
    }
}

impl<T: Symbol> Step for Decode<'_, T> {
    type Output = ();

    fn start<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        model.reset();
        Ok(())
    }

    fn remaining(&self) -> usize {
        self.out.len() - self.pos
    }

    #[inline]
    fn step<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        self.step_with(|dec| T::from_index(dec.decode_with(model)?).ok_or(Error::Corrupt))
    }

    fn finish(self) -> Result<(), Error> {
        self.dec.finish()
    }
}

/// Any coding, metered: adds up the ideal code length of every symbol it
/// codes under the model's tables ([`Meter`](crate::Meter), one symbol at
/// a time), without changing a byte. Gives `(output, bits)`.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct Metered<S> {
    coding: S,
    bits: f64,
}

#[cfg(feature = "std")]
impl<S: Step> Metered<S> {
    /// `coding`, metered.
    pub fn new(coding: S) -> Self {
        Self { coding, bits: 0.0 }
    }
}

#[cfg(feature = "std")]
impl<S: Step> Step for Metered<S> {
    type Output = (S::Output, f64);

    fn start<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        self.coding.start(model)
    }

    fn remaining(&self) -> usize {
        self.coding.remaining()
    }

    fn step<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        let mut meter = crate::Meter::new(&mut *model);
        let r = self.coding.step(&mut meter);
        self.bits += meter.bits();
        r
    }

    fn finish(self) -> Result<Self::Output, Error> {
        Ok((self.coding.finish()?, self.bits))
    }
}
