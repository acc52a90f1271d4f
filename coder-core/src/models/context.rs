//! Adaptive order-k context models with exact power-of-two totals.

use core::num::NonZeroU32;

use crate::{Error, Fingerprinter, FreqTable, Model, MAX_PRECISION, MAX_SYMBOLS};

/// Parameters of a [`ContextModel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ContextConfig {
    /// Alphabet size, `1..=MAX_SYMBOLS` and at most `2^precision`.
    pub symbols: usize,
    /// Table totals are `2^precision`, `1..=MAX_PRECISION`.
    pub precision: u32,
    /// Number of previous symbols forming the context, `0..=4`.
    pub order: u32,
    /// The context is hashed to one of `2^hash_bits` tables
    /// (`0..=MAX_HASH_BITS`); ignored (one table) for order 0.
    pub hash_bits: u32,
    /// Slowest adaptation: each observation moves a table
    /// `2^-rate` of the way towards the observed symbol, with `rate`
    /// growing from 1 as `log2(count + 2)` up to `max_rate` (`1..=16`).
    pub max_rate: u32,
}

impl ContextConfig {
    /// Order-0 (no context) over bytes, 16-bit precision.
    pub const fn order0_bytes() -> Self {
        Self {
            symbols: 256,
            precision: 16,
            order: 0,
            hash_bits: 0,
            max_rate: 7,
        }
    }

    /// Order-2 over bytes: contexts hashed to `2^hash_bits` tables.
    pub const fn order2_bytes(hash_bits: u32) -> Self {
        Self {
            symbols: 256,
            precision: 16,
            order: 2,
            hash_bits,
            max_rate: 5,
        }
    }

    /// Number of context tables.
    pub const fn tables(&self) -> usize {
        if self.order == 0 {
            1
        } else {
            1 << self.hash_bits
        }
    }

    /// Length of the `u32` storage a model with this configuration needs:
    /// one cumulative table of `symbols + 1` entries per context, plus two
    /// words of bookkeeping per context.
    pub const fn storage_len(&self) -> usize {
        self.tables() * (self.symbols + 3)
    }

    fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_PRECISION).contains(&self.precision) {
            return Err(Error::BadPrecision);
        }
        if self.symbols == 0 || self.symbols > MAX_SYMBOLS || self.symbols > 1 << self.precision {
            return Err(Error::BadAlphabet);
        }
        if self.order > 4 || self.hash_bits > MAX_HASH_BITS || !(1..=16).contains(&self.max_rate) {
            return Err(Error::BadConfig);
        }
        Ok(())
    }
}

/// Largest [`ContextConfig::hash_bits`].
pub const MAX_HASH_BITS: u32 = 24;

/// An adaptive model: one cumulative table per (hashed) context of the
/// last `order` symbols, each moved towards the symbol it observes.
///
/// Every table keeps an exact total of `2^precision` and every frequency at
/// least 1: with `e[i] = cum[i] - i` (the counts above the minimum of 1),
/// observing `s` sets `e[i] -= e[i] >> rate` for `i <= s` and `e[i] += (E -
/// e[i]) >> rate` above it, where `E = 2^precision - symbols`. Both maps are
/// monotone, so `cum` stays strictly increasing, with no division and no
/// rescaling: a multi-symbol version of the adaptive CDFs of AV1.
///
/// Storage is caller-provided (`&mut [u32]`, an array, or a `Vec` under
/// `alloc`) of [`ContextConfig::storage_len`] words. Tables are reset
/// lazily: [`reset`](Model::reset) is O(1), and a context's table is
/// re-initialized to uniform the first time it is used after a reset, so
/// chunks of a stream can be coded by separate model instances.
///
/// ```
/// use coder_core::models::{ContextConfig, ContextModel};
/// use coder_core::Model;
/// const CFG: ContextConfig = ContextConfig::order0_bytes();
/// let mut m = ContextModel::new_in(CFG, [0u32; CFG.storage_len()]).unwrap();
/// m.reset();
/// let before = m.frequencies().frequency(b'a' as usize).unwrap();
/// m.observe(b'a' as usize);
/// assert!(m.frequencies().frequency(b'a' as usize).unwrap() > before);
/// ```
#[derive(Clone, Debug)]
pub struct ContextModel<S> {
    cfg: ContextConfig,
    storage: S,
    /// Reset generation; a table whose stamp differs is stale.
    generation: u32,
    /// The last `order` symbols, 16 bits each.
    history: u64,
    /// Index of the current context's table.
    current: usize,
    fingerprint: u64,
}

impl<S: AsRef<[u32]> + AsMut<[u32]>> ContextModel<S> {
    /// A model over `storage` (at least [`ContextConfig::storage_len`]
    /// words; any contents), reset and ready to code.
    pub fn new_in(cfg: ContextConfig, mut storage: S) -> Result<Self, Error> {
        cfg.check()?;
        let len = cfg.storage_len();
        let words = storage.as_mut();
        if words.len() < len {
            return Err(Error::BadConfig);
        }
        // Stamps start at 0; generations at 1.
        let meta = cfg.tables() * (cfg.symbols + 1);
        words[meta..len].fill(0);
        let mut h = Fingerprinter::new(b"coder-core/context/1");
        for x in [
            cfg.symbols as u32,
            cfg.precision,
            cfg.order,
            cfg.hash_bits,
            cfg.max_rate,
        ] {
            h.write_u32(x);
        }
        let mut m = Self {
            cfg,
            storage,
            generation: 0,
            history: 0,
            current: 0,
            fingerprint: h.finish(),
        };
        m.reset();
        Ok(m)
    }

    /// The configuration.
    pub fn config(&self) -> &ContextConfig {
        &self.cfg
    }

    fn table_index(&self) -> usize {
        if self.cfg.order == 0 || self.cfg.hash_bits == 0 {
            0
        } else {
            let h = self.history.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (h >> (64 - self.cfg.hash_bits)) as usize
        }
    }

    /// Makes the current context's table fresh if it is stale.
    fn prepare(&mut self) {
        let n = self.cfg.symbols;
        let tables = self.cfg.tables();
        let t = self.current;
        let generation = self.generation;
        let words = self.storage.as_mut();
        let (cums, meta) = words.split_at_mut(tables * (n + 1));
        let stamp = &mut meta[2 * t..2 * t + 2];
        if stamp[0] != generation {
            stamp[0] = generation;
            stamp[1] = 0;
            let cum = &mut cums[t * (n + 1)..(t + 1) * (n + 1)];
            // Cannot fail: the configuration was checked.
            let _ = crate::freq::fill_uniform(cum, self.cfg.precision);
        }
    }
}

#[cfg(feature = "alloc")]
impl ContextModel<alloc::vec::Vec<u32>> {
    /// A model with its storage on the heap.
    pub fn new(cfg: ContextConfig) -> Result<Self, Error> {
        cfg.check()?;
        Self::new_in(cfg, alloc::vec![0; cfg.storage_len()])
    }
}

impl<S: AsRef<[u32]> + AsMut<[u32]>> Model for ContextModel<S> {
    fn symbols(&self) -> usize {
        self.cfg.symbols
    }

    fn precision(&self) -> u32 {
        self.cfg.precision
    }

    #[inline]
    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        let n1 = self.cfg.symbols + 1;
        let cum = &self.storage.as_ref()[self.current * n1..(self.current + 1) * n1];
        // Every table is kept valid by construction (see the type's docs).
        FreqTable::new_trusted(cum, self.cfg.precision)
    }

    #[inline]
    fn lookup(&mut self, target: u32) -> Option<(usize, u32, NonZeroU32)> {
        self.frequencies().lookup(target)
    }

    fn observe(&mut self, symbol: usize) {
        let n = self.cfg.symbols;
        let tables = self.cfg.tables();
        let t = self.current;
        let words = self.storage.as_mut();
        let (cums, meta) = words.split_at_mut(tables * (n + 1));
        let count = &mut meta[2 * t + 1];
        let rate = (31 - (*count + 2).leading_zeros()).clamp(1, self.cfg.max_rate);
        if *count < 1 << 16 {
            *count += 1;
        }
        let cum = &mut cums[t * (n + 1)..(t + 1) * (n + 1)];
        adapt(
            cum,
            symbol.min(n - 1),
            rate,
            (1u32 << self.cfg.precision) - n as u32,
        );
        if self.cfg.order > 0 {
            let mask = if self.cfg.order >= 4 {
                u64::MAX
            } else {
                (1u64 << (16 * self.cfg.order)) - 1
            };
            self.history = ((self.history << 16) | symbol as u64 & 0xFFFF) & mask;
            self.current = self.table_index();
            self.prepare();
        }
    }

    fn reset(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // After 2^32 resets, clear the stamps so none can match by
            // accident.
            let start = self.cfg.tables() * (self.cfg.symbols + 1);
            let len = self.cfg.storage_len();
            self.storage.as_mut()[start..len].fill(0);
            self.generation = 1;
        }
        self.history = 0;
        self.current = self.table_index();
        self.prepare();
    }

    fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// Moves the cumulative table `cum` towards symbol `s` by `2^-rate`, keeping
/// `cum[0] = 0`, `cum[n] = 2^precision` and every frequency at least 1.
/// `excess` is `2^precision - n`.
#[inline]
fn adapt(cum: &mut [u32], s: usize, rate: u32, excess: u32) {
    let n = cum.len() - 1;
    if n < 2 {
        return;
    }
    // Entries 1..=s move down towards their minimum i; s+1..n up towards
    // excess + i. Plain indexed loops over two slices vectorize.
    let (below, above) = cum[1..n].split_at_mut(s.min(n - 1));
    let mut i = 1u32;
    for c in below.iter_mut() {
        let e = *c - i;
        *c -= e >> rate;
        i += 1;
    }
    for c in above.iter_mut() {
        let e = *c - i;
        *c += (excess - e) >> rate;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapt_keeps_tables_valid_and_moves_mass() {
        let mut cum = [0u32; 5];
        crate::freq::fill_uniform(&mut cum, 4).unwrap();
        for &(s, rate) in &[
            (2usize, 1u32),
            (2, 1),
            (0, 3),
            (3, 1),
            (3, 1),
            (3, 1),
            (3, 1),
        ] {
            let before = cum[s + 1] - cum[s];
            adapt(&mut cum, s, rate, 16 - 4);
            assert!(FreqTable::from_cumulative(cum, 4).is_ok(), "{cum:?}");
            assert!(cum[s + 1] - cum[s] >= before);
        }
        // Nearly saturated at symbol 3 (`e >> 1` stalls at e = 1).
        assert_eq!(cum, [0, 2, 3, 4, 16]);
    }

    #[test]
    fn reset_forgets_and_chunks_are_independent() {
        let cfg = ContextConfig::order2_bytes(8);
        let mut a = ContextModel::new_in(cfg, [0u32; 256 * 259]).unwrap();
        let fresh = a.frequencies().cumulative().to_vec();
        for &b in b"abracadabra" {
            a.observe(b as usize);
        }
        a.reset();
        assert_eq!(a.frequencies().cumulative(), &fresh[..]);
        a.observe(b'a' as usize);
        a.observe(b'b' as usize);
        // A context seen before the reset starts uniform again.
        assert_eq!(a.frequencies().cumulative(), &fresh[..]);
    }

    #[test]
    fn rejects_bad_config() {
        let mut cfg = ContextConfig::order0_bytes();
        cfg.order = 5;
        assert_eq!(
            ContextModel::new_in(cfg, [0u32; 300]).err(),
            Some(Error::BadConfig)
        );
        let cfg = ContextConfig::order0_bytes();
        assert_eq!(
            ContextModel::new_in(cfg, [0u32; 10]).err(),
            Some(Error::BadConfig)
        );
    }
}
