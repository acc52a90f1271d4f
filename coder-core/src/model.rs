//! The [`Model`] trait: what the coder asks of a probability model.

use core::num::NonZeroU32;

use crate::FreqTable;

/// A sequential probability model over a fixed alphabet, driven one symbol
/// at a time by the encoder and, identically, by the decoder.
///
/// The coder calls [`frequencies`](Model::frequencies) for the next symbol,
/// codes it, then calls [`observe`](Model::observe) with it. Encoder and
/// decoder only agree if the model is a deterministic function of the
/// symbols observed since the last [`reset`](Model::reset), so a model must
/// not depend on anything else (time, float rounding that differs between
/// machines, uninitialised memory).
pub trait Model {
    /// Number of symbols; every table this model returns has exactly this
    /// many.
    fn symbols(&self) -> usize;

    /// The table total is `2^precision()`, at most
    /// [`MAX_PRECISION`](crate::MAX_PRECISION).
    fn precision(&self) -> u32;

    /// Frequencies of the next symbol, given the history since the last
    /// reset.
    fn frequencies(&mut self) -> FreqTable<&[u32]>;

    /// Appends `symbol` (always `< symbols()`) to the history.
    fn observe(&mut self, symbol: usize);

    /// Forgets the history, as at the start of every chunk.
    fn reset(&mut self);

    /// Identifies the model (its parameters, not its state): a stream coded
    /// with one model is refused by another before any decoding.
    fn fingerprint(&self) -> u64;

    /// The decoder's query: the symbol whose interval holds `target` (`<
    /// 2^precision()`) in the table [`frequencies`](Model::frequencies)
    /// would return now, with that interval. Does not observe the symbol.
    ///
    /// The default searches `frequencies()`; a model with a faster index
    /// (e.g. a direct lookup table for a static distribution) may override
    /// it, but must agree with `frequencies()` exactly.
    #[inline]
    fn lookup(&mut self, target: u32) -> Option<(usize, u32, NonZeroU32)> {
        self.frequencies().lookup(target)
    }
}

impl<M: Model + ?Sized> Model for &mut M {
    fn symbols(&self) -> usize {
        (**self).symbols()
    }
    fn precision(&self) -> u32 {
        (**self).precision()
    }
    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        (**self).frequencies()
    }
    fn observe(&mut self, symbol: usize) {
        (**self).observe(symbol)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn fingerprint(&self) -> u64 {
        (**self).fingerprint()
    }
    fn lookup(&mut self, target: u32) -> Option<(usize, u32, NonZeroU32)> {
        (**self).lookup(target)
    }
}

#[cfg(feature = "alloc")]
impl<M: Model + ?Sized> Model for alloc::boxed::Box<M> {
    fn symbols(&self) -> usize {
        (**self).symbols()
    }
    fn precision(&self) -> u32 {
        (**self).precision()
    }
    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        (**self).frequencies()
    }
    fn observe(&mut self, symbol: usize) {
        (**self).observe(symbol)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn fingerprint(&self) -> u64 {
        (**self).fingerprint()
    }
    fn lookup(&mut self, target: u32) -> Option<(usize, u32, NonZeroU32)> {
        (**self).lookup(target)
    }
}
