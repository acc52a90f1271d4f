//! Models that predict for several independent sequences at once.
//!
//! Chunks are independent, so a model that can compute the next-symbol
//! tables of B sequences ("lanes") in one pass (a Transformer reading its
//! weights once for B bytes instead of once per byte) codes B chunks in
//! lockstep. Every lane must get exactly the tables a [`Model`] would give
//! it alone: batching is a speed-up, never a change of output.
//!
//! [`Lanes`] turns any set of ordinary models into a [`BatchModel`] (one
//! model per lane, no sharing); it is the reference every batched model
//! must agree with.

use crate::{FreqTable, Model};

/// B independent sequences predicted in lockstep.
///
/// Each lane behaves like its own [`Model`]: [`reset`](Self::reset) forgets
/// its history, [`observe`](Self::observe) appends a symbol, and after
/// [`predict`](Self::predict) names it, [`frequencies`](Self::frequencies)
/// gives the table of its next symbol. A lane's tables depend only on its
/// own history, never on the other lanes or on which lanes were predicted
/// together.
pub trait BatchModel {
    /// Number of lanes.
    fn lanes(&self) -> usize;

    /// Number of symbols of every table (as [`Model::symbols`]).
    fn symbols(&self) -> usize;

    /// The table total is `2^precision()` (as [`Model::precision`]).
    fn precision(&self) -> u32;

    /// Identifies the model's parameters (as [`Model::fingerprint`]); the
    /// same as the single-sequence model it batches.
    fn fingerprint(&self) -> u64;

    /// Forgets the history of `lane`.
    fn reset(&mut self, lane: usize);

    /// Appends `symbol` (`< symbols()`) to the history of `lane`.
    fn observe(&mut self, lane: usize, symbol: usize);

    /// Computes the next-symbol tables of `lanes` (distinct lane indices)
    /// in one pass; the other lanes keep their state.
    fn predict(&mut self, lanes: &[usize]);

    /// The next-symbol table of `lane`. Valid after [`predict`](Self::predict)
    /// named `lane` and before its next `observe` or `reset`; a model may
    /// compute it on its own otherwise (correct, without the batch's
    /// speed).
    fn frequencies(&mut self, lane: usize) -> FreqTable<&[u32]>;
}

/// A [`BatchModel`] made of one ordinary [`Model`] per lane: the
/// reference for batched models, and the way to run a model without a
/// batched implementation through the lockstep drivers.
#[derive(Debug)]
pub struct Lanes<'m, M>(pub &'m mut [M]);

impl<M: Model> BatchModel for Lanes<'_, M> {
    fn lanes(&self) -> usize {
        self.0.len()
    }
    fn symbols(&self) -> usize {
        self.0.first().map_or(0, Model::symbols)
    }
    fn precision(&self) -> u32 {
        self.0.first().map_or(0, Model::precision)
    }
    fn fingerprint(&self) -> u64 {
        self.0.first().map_or(0, Model::fingerprint)
    }
    fn reset(&mut self, lane: usize) {
        self.0[lane].reset();
    }
    fn observe(&mut self, lane: usize, symbol: usize) {
        self.0[lane].observe(symbol);
    }
    fn predict(&mut self, _lanes: &[usize]) {}
    fn frequencies(&mut self, lane: usize) -> FreqTable<&[u32]> {
        self.0[lane].frequencies()
    }
}

/// One lane of a [`BatchModel`] as an ordinary [`Model`] (each table
/// computed on its own, without the batch's speed): for code paths that
/// take a `Model`, e.g. priming or a single chunk.
pub struct Lane<'b, B: ?Sized> {
    batch: &'b mut B,
    lane: usize,
}

impl<'b, B: BatchModel + ?Sized> Lane<'b, B> {
    /// Lane `lane` of `batch`.
    pub fn new(batch: &'b mut B, lane: usize) -> Self {
        Self { batch, lane }
    }
}

impl<B: BatchModel + ?Sized> Model for Lane<'_, B> {
    fn symbols(&self) -> usize {
        self.batch.symbols()
    }
    fn precision(&self) -> u32 {
        self.batch.precision()
    }
    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        self.batch.frequencies(self.lane)
    }
    fn observe(&mut self, symbol: usize) {
        self.batch.observe(self.lane, symbol);
    }
    fn reset(&mut self) {
        self.batch.reset(self.lane);
    }
    fn fingerprint(&self) -> u64 {
        self.batch.fingerprint()
    }
}
