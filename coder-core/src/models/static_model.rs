//! A model with one fixed distribution for every symbol.

use core::num::NonZeroU32;

use crate::{Error, Fingerprinter, FreqTable, Model};

/// A memoryless model: every symbol is coded with the same table.
///
/// With `SLOTS = 0` (the default) the decoder finds symbols by binary
/// search. [`with_index`](Self::with_index) builds a direct index of
/// `SLOTS` entries (a power of two, `u16` each, e.g. 4096 = 8 KiB) that
/// maps the top bits of the decoder's target to a symbol, so decoding a
/// typical symbol takes one table read and a short forward scan.
///
/// ```
/// use coder_core::{models::StaticModel, FreqTable, Model};
/// let table = FreqTable::<[u32; 257]>::uniform(12).unwrap();
/// let mut m = StaticModel::new(table.clone());
/// assert_eq!(m.symbols(), 256);
/// assert_eq!(m.frequencies().frequency(0).unwrap().get(), 16);
/// let mut fast = StaticModel::<_, 1024>::with_index(table).unwrap();
/// assert_eq!(fast.lookup(17), m.lookup(17));
/// assert_eq!(fast.fingerprint(), m.fingerprint());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticModel<S, const SLOTS: usize = 0> {
    table: FreqTable<S>,
    fingerprint: u64,
    /// `index[j]` is the symbol holding target `j << shift`.
    index: [u16; SLOTS],
    shift: u32,
}

fn fingerprint_of<S: AsRef<[u32]>>(table: &FreqTable<S>) -> u64 {
    let mut h = Fingerprinter::new(b"coder-core/static/1");
    h.write_u32(table.precision());
    for &c in table.cumulative() {
        h.write_u32(c);
    }
    h.finish()
}

impl<S: AsRef<[u32]>> StaticModel<S> {
    /// A model that always predicts `table`.
    pub fn new(table: FreqTable<S>) -> Self {
        Self {
            fingerprint: fingerprint_of(&table),
            table,
            index: [],
            shift: 0,
        }
    }
}

impl<S: AsRef<[u32]>, const SLOTS: usize> StaticModel<S, SLOTS> {
    /// A model that always predicts `table`, with a decoding index of
    /// `SLOTS` entries. [`Error::BadConfig`] unless `SLOTS` is a power of
    /// two (or 0, for no index) and every symbol fits in a `u16`.
    pub fn with_index(table: FreqTable<S>) -> Result<Self, Error> {
        if (SLOTS != 0 && !SLOTS.is_power_of_two()) || table.symbols() > 1 << 16 {
            return Err(Error::BadConfig);
        }
        let bits = SLOTS.trailing_zeros().min(table.precision());
        let shift = table.precision() - bits;
        let mut index = [0u16; SLOTS];
        let mut s = 0usize;
        let cum = table.cumulative();
        for (j, slot) in index.iter_mut().enumerate().take(1 << bits) {
            let t = (j as u32) << shift;
            while cum[s + 1] <= t {
                s += 1;
            }
            *slot = s as u16;
        }
        Ok(Self {
            fingerprint: fingerprint_of(&table),
            table,
            index,
            shift,
        })
    }

    /// The table.
    pub fn table(&self) -> &FreqTable<S> {
        &self.table
    }
}

impl<S: AsRef<[u32]>, const SLOTS: usize> Model for StaticModel<S, SLOTS> {
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
        if SLOTS == 0 {
            return self.table.lookup(target);
        }
        let cum = self.table.cumulative();
        let mut s = usize::from(*self.index.get((target >> self.shift) as usize)?);
        // The slot's symbol starts at or below target; scan to the one
        // that ends above it.
        loop {
            let hi = *cum.get(s + 1)?;
            if hi > target {
                let lo = cum[s];
                return NonZeroU32::new(hi - lo).map(|f| (s, lo, f));
            }
            s += 1;
        }
    }
}
