//! Integer frequency tables: the only way a probability reaches the coder.
//!
//! A [`FreqTable`] is a cumulative table `cum[0] = 0 < cum[1] < … < cum[n] =
//! 2^precision`. Strictly increasing means every symbol has a frequency of at
//! least 1, so a symbol the model calls impossible can still be coded; the
//! constructors check this, so a table with a zero frequency or a wrong total
//! cannot exist.

use core::num::NonZeroU32;

use crate::Error;

/// Largest supported `precision` (the table total is `2^precision`).
///
/// The coder keeps a 64-bit range that is never below `2^56` after
/// renormalisation, so at a total of `2^24` every symbol still gets a
/// sub-range of at least `2^32`, and rounding costs under `2^-32` bits a
/// symbol.
pub const MAX_PRECISION: u32 = 24;

/// Largest supported alphabet (BPE vocabularies need about 20K).
pub const MAX_SYMBOLS: usize = 1 << 16;

/// A validated cumulative frequency table over `symbols()` symbols whose
/// frequencies sum to exactly `2^precision()`.
///
/// `S` is the storage of the `symbols() + 1` cumulative counts: an array, a
/// borrowed slice or (with `alloc`) a `Vec`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FreqTable<S> {
    cum: S,
    precision: u32,
}

impl<S: AsRef<[u32]>> FreqTable<S> {
    /// Checks and wraps a cumulative table: `cum[0] == 0`, strictly
    /// increasing, `cum[last] == 2^precision`, at least one symbol, at most
    /// [`MAX_SYMBOLS`], and `1 <= precision <= MAX_PRECISION`.
    pub fn from_cumulative(cum: S, precision: u32) -> Result<Self, Error> {
        check_precision(precision)?;
        let c = cum.as_ref();
        if c.len() < 2 || c.len() - 1 > MAX_SYMBOLS {
            return Err(Error::BadAlphabet);
        }
        if c[0] != 0 {
            return Err(Error::BadFrequencies);
        }
        if c.windows(2).any(|w| w[1] <= w[0]) {
            return Err(Error::BadFrequencies);
        }
        if c[c.len() - 1] != 1 << precision {
            return Err(Error::BadFrequencies);
        }
        Ok(Self { cum, precision })
    }

    /// Wraps a cumulative table that its caller keeps valid by
    /// construction, without the per-symbol check of
    /// [`from_cumulative`](Self::from_cumulative): for a model that rebuilds
    /// its table for every symbol from arithmetic that cannot break the
    /// invariants. The check still runs in debug builds (`debug_assert!`),
    /// so tests catch a broken model.
    ///
    /// A table that breaks the invariants in a release build is a logic
    /// error, not undefined behaviour: coding with it gives wrong output or
    /// an error, never unsafety (this crate has no `unsafe`).
    ///
    /// ```
    /// use coder_core::FreqTable;
    /// // Frequencies 1, 2, 1 out of 2^2.
    /// let t = FreqTable::new_trusted([0u32, 1, 3, 4], 2);
    /// assert_eq!(t.frequency(1).map(|f| f.get()), Some(2));
    /// ```
    #[inline]
    pub fn new_trusted(cum: S, precision: u32) -> Self {
        debug_assert!(FreqTable::from_cumulative(cum.as_ref(), precision).is_ok());
        Self { cum, precision }
    }

    /// Number of symbols in the alphabet.
    #[inline]
    pub fn symbols(&self) -> usize {
        self.cum.as_ref().len() - 1
    }

    /// The table total is `2^precision`.
    #[inline]
    pub fn precision(&self) -> u32 {
        self.precision
    }

    /// The cumulative counts, `symbols() + 1` of them.
    #[inline]
    pub fn cumulative(&self) -> &[u32] {
        self.cum.as_ref()
    }

    /// `(start, frequency)` of `symbol`, or `None` when it is outside the
    /// alphabet.
    #[inline]
    pub fn interval(&self, symbol: usize) -> Option<(u32, NonZeroU32)> {
        let c = self.cum.as_ref();
        let lo = *c.get(symbol)?;
        let hi = *c.get(symbol + 1)?;
        // Strictly increasing by construction.
        NonZeroU32::new(hi - lo).map(|f| (lo, f))
    }

    /// Frequency of `symbol` (`None` outside the alphabet).
    #[inline]
    pub fn frequency(&self, symbol: usize) -> Option<NonZeroU32> {
        self.interval(symbol).map(|(_, f)| f)
    }

    /// The symbol whose interval holds `target` (`target < 2^precision`),
    /// with its interval. Binary search: `O(log symbols)`.
    #[inline]
    pub fn lookup(&self, target: u32) -> Option<(usize, u32, NonZeroU32)> {
        let c = self.cum.as_ref();
        if target >= c[c.len() - 1] {
            return None;
        }
        // Largest i with c[i] <= target; c[0] = 0 <= target always.
        // Branch-free binary search: the answer is in [base, base + len).
        let mut base = 0;
        let mut len = c.len() - 1;
        while len > 1 {
            let half = len / 2;
            if c[base + half] <= target {
                base += half;
            }
            len -= half;
        }
        self.interval(base).map(|(lo, f)| (base, lo, f))
    }

    /// A table borrowing this one's storage.
    #[inline]
    pub fn as_ref(&self) -> FreqTable<&[u32]> {
        FreqTable {
            cum: self.cum.as_ref(),
            precision: self.precision,
        }
    }
}

impl<'a> FreqTable<&'a mut [u32]> {
    /// Builds the cumulative table of `freqs` into `out` (length
    /// `freqs.len() + 1`). Every frequency must be at least 1 and they must
    /// sum to `2^precision`.
    pub fn from_frequencies_into(
        freqs: &[u32],
        precision: u32,
        out: &'a mut [u32],
    ) -> Result<Self, Error> {
        check_precision(precision)?;
        if out.len() != freqs.len() + 1 {
            return Err(Error::BadAlphabet);
        }
        let mut acc: u64 = 0;
        out[0] = 0;
        for (i, &f) in freqs.iter().enumerate() {
            if f == 0 {
                return Err(Error::BadFrequencies);
            }
            acc += u64::from(f);
            if acc > 1 << precision {
                return Err(Error::BadFrequencies);
            }
            out[i + 1] = acc as u32;
        }
        FreqTable::from_cumulative(out, precision)
    }
}

impl<const N: usize> FreqTable<[u32; N]> {
    /// The uniform table over `N - 1` symbols (the cumulative array has `N`
    /// entries); the remainder of `2^precision / (N - 1)` goes to the first
    /// symbols, one count each.
    pub fn uniform(precision: u32) -> Result<Self, Error> {
        let mut cum = [0u32; N];
        fill_uniform(&mut cum, precision)?;
        FreqTable::from_cumulative(cum, precision)
    }
}

#[cfg(feature = "alloc")]
impl FreqTable<alloc::vec::Vec<u32>> {
    /// Quantizes float probabilities (need not be normalized; negative, NaN
    /// and infinite weights count as 0) to a table with total
    /// `2^precision`, every symbol at least 1.
    ///
    /// Deterministic and exact: each symbol gets `1 + floor(p_i * R)` of the
    /// `R = 2^precision - n` spare counts, computed in `f64`, and the counts
    /// left over by rounding go one each to the symbols with the largest
    /// fractional parts (ties: lower index first). For float models on the
    /// host; the int8 path never uses floats.
    pub fn from_probabilities(probs: &[f64], precision: u32) -> Result<Self, Error> {
        check_precision(precision)?;
        let n = probs.len();
        if n == 0 || n > MAX_SYMBOLS || n as u64 > 1u64 << precision {
            return Err(Error::BadAlphabet);
        }
        let clean = |p: f64| if p.is_finite() && p > 0.0 { p } else { 0.0 };
        let sum: f64 = probs.iter().map(|&p| clean(p)).sum();
        let spare = (1u64 << precision) - n as u64;
        let mut freqs = alloc::vec![1u64; n];
        let mut frac = alloc::vec::Vec::with_capacity(n);
        let mut given = 0u64;
        for (i, &p) in probs.iter().enumerate() {
            let share = if sum > 0.0 {
                clean(p) / sum * spare as f64
            } else {
                spare as f64 / n as f64
            };
            // `share >= 0`, so the cast is `floor` (which needs `std`).
            let floor = share as u64;
            let whole = floor.min(spare - given);
            freqs[i] += whole;
            given += whole;
            frac.push((share - floor as f64, i));
        }
        let mut left = spare - given;
        if left > 0 {
            // Largest fractional part first; stable on index for ties.
            frac.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in frac.iter().cycle() {
                if left == 0 {
                    break;
                }
                freqs[i] += 1;
                left -= 1;
            }
        }
        let mut cum = alloc::vec::Vec::with_capacity(n + 1);
        let mut acc = 0u64;
        cum.push(0u32);
        for f in freqs {
            acc += f;
            cum.push(acc as u32);
        }
        FreqTable::from_cumulative(cum, precision)
    }
}

/// Fills `cum` (length `n + 1`) with the uniform table over `n` symbols.
pub fn fill_uniform(cum: &mut [u32], precision: u32) -> Result<(), Error> {
    check_precision(precision)?;
    let n = cum.len().checked_sub(1).ok_or(Error::BadAlphabet)?;
    if n == 0 || n > MAX_SYMBOLS || n as u64 > 1u64 << precision {
        return Err(Error::BadAlphabet);
    }
    let total = 1u32 << precision;
    let base = total / n as u32;
    let extra = total as usize % n;
    cum[0] = 0;
    for i in 0..n {
        cum[i + 1] = cum[i] + base + u32::from(i < extra);
    }
    Ok(())
}

fn check_precision(precision: u32) -> Result<(), Error> {
    if (1..=MAX_PRECISION).contains(&precision) {
        Ok(())
    } else {
        Err(Error::BadPrecision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_zero_frequency_and_wrong_total() {
        assert_eq!(
            FreqTable::from_cumulative([0u32, 4, 4, 16], 4),
            Err(Error::BadFrequencies)
        );
        assert_eq!(
            FreqTable::from_cumulative([0u32, 4, 8, 15], 4),
            Err(Error::BadFrequencies)
        );
        assert_eq!(
            FreqTable::from_cumulative([0u32, 16], 25),
            Err(Error::BadPrecision)
        );
        let mut out = [0u32; 3];
        assert_eq!(
            FreqTable::from_frequencies_into(&[16, 0], 4, &mut out).err(),
            Some(Error::BadFrequencies)
        );
    }

    #[test]
    fn lookup_finds_every_target() {
        let t = FreqTable::from_cumulative([0u32, 1, 9, 16], 4).unwrap();
        let syms: [usize; 16] = core::array::from_fn(|x| t.lookup(x as u32).unwrap().0);
        assert_eq!(syms, [0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]);
        assert_eq!(t.lookup(16), None);
        assert_eq!(t.interval(3), None);
    }

    #[test]
    fn uniform_sums_exactly() {
        let t = FreqTable::<[u32; 256]>::uniform(12).unwrap();
        assert_eq!(t.symbols(), 255);
        // 4096 = 255 * 16 + 16: the first 16 symbols get one more.
        assert_eq!(t.frequency(15).unwrap().get(), 17);
        assert_eq!(t.frequency(16).unwrap().get(), 16);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn from_probabilities_is_exact_with_extremes() {
        let mut p = alloc::vec![0.0; 65536];
        p[7] = 1.0;
        let t = FreqTable::from_probabilities(&p, 24).unwrap();
        assert_eq!(t.symbols(), 65536);
        assert_eq!(t.frequency(0).unwrap().get(), 1);
        assert_eq!(t.frequency(7).unwrap().get(), (1 << 24) - 65535);
        let t = FreqTable::from_probabilities(&[f64::NAN, 0.5, 0.25, -1.0], 3).unwrap();
        assert_eq!(t.cumulative(), &[0, 1, 5, 7, 8]);
        assert_eq!(
            FreqTable::from_probabilities(&[1.0; 9], 3),
            Err(Error::BadAlphabet)
        );
    }
}
