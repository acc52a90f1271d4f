//! A model with one fixed distribution for every symbol.

use core::num::NonZeroU32;

use crate::{Fingerprinter, FreqTable, Model};

/// A memoryless model: every symbol is coded with the same table.
///
/// ```
/// use coder_core::{models::StaticModel, FreqTable, Model};
/// let mut m = StaticModel::new(FreqTable::<[u32; 257]>::uniform(12).unwrap());
/// assert_eq!(m.symbols(), 256);
/// assert_eq!(m.frequencies().frequency(0).unwrap().get(), 16);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticModel<S> {
    table: FreqTable<S>,
    fingerprint: u64,
}

impl<S: AsRef<[u32]>> StaticModel<S> {
    /// A model that always predicts `table`.
    pub fn new(table: FreqTable<S>) -> Self {
        let mut h = Fingerprinter::new(b"coder-core/static/1");
        h.write_u32(table.precision());
        for &c in table.cumulative() {
            h.write_u32(c);
        }
        Self {
            fingerprint: h.finish(),
            table,
        }
    }

    /// The table.
    pub fn table(&self) -> &FreqTable<S> {
        &self.table
    }
}

impl<S: AsRef<[u32]>> Model for StaticModel<S> {
    #[inline]
    fn symbols(&self) -> usize {
        self.table.symbols()
    }
    #[inline]
    fn precision(&self) -> u32 {
        self.table.precision()
    }
    #[inline]
    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        self.table.as_ref()
    }
    #[inline]
    fn observe(&mut self, _symbol: usize) {}
    #[inline]
    fn reset(&mut self) {}
    fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
    #[inline]
    fn lookup(&mut self, target: u32) -> Option<(usize, u32, NonZeroU32)> {
        self.table.lookup(target)
    }
}
