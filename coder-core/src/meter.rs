//! [`Meter`]: the one log-loss meter, a pass-through [`Model`] that sums
//! the ideal code length of every symbol it observes under the integer
//! tables the coder uses.

use core::num::NonZeroU32;

use crate::{FreqTable, Model};

/// Ideal code length in bits of a symbol of frequency `freq` in a table of
/// total `2^precision`: `precision - log2(freq)`.
#[inline]
pub fn symbol_bits(freq: NonZeroU32, precision: u32) -> f64 {
    f64::from(precision) - f64::from(freq.get()).log2()
}

/// Wraps any [`Model`] and, on every [`observe`](Model::observe), adds the
/// symbol's ideal code length ([`symbol_bits`]) under the table the model
/// gives for it; everything else passes through unchanged, so the coder
/// writes the same bytes with or without it. One pass gives both the real
/// coded size and the log-loss.
///
/// The meter asks the model for its table again in `observe`; a model that
/// computes its table once per position (as the int8 Transformer does)
/// answers that from what it already has.
///
/// ```
/// use coder_core::models::{ContextConfig, ContextModel};
/// use coder_core::{encode_to_vec, Meter};
///
/// let model = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
/// let mut meter = Meter::new(model);
/// let text = b"abracadabra, abracadabra";
/// let code = encode_to_vec(&mut meter, &text[..]).unwrap();
/// assert_eq!(meter.count(), text.len() as u64);
/// // The code is the ideal length plus at most a few bytes of termination.
/// assert!(meter.bits() <= 8.0 * code.len() as f64);
/// assert!(8.0 * code.len() as f64 <= meter.bits() + 16.0);
/// println!("{:.3} bits/byte", meter.bits_per_symbol());
/// ```
#[derive(Clone, Debug)]
pub struct Meter<M> {
    model: M,
    bits: f64,
    count: u64,
}

impl<M: Model> Meter<M> {
    /// A meter at zero around `model` (a model, or `&mut` one).
    pub fn new(model: M) -> Self {
        Self {
            model,
            bits: 0.0,
            count: 0,
        }
    }

    /// Ideal bits of the symbols observed since [`new`](Self::new) or
    /// [`clear`](Self::clear) (not reset by [`Model::reset`]).
    pub fn bits(&self) -> f64 {
        self.bits
    }

    /// Symbols observed since [`new`](Self::new) or [`clear`](Self::clear).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// [`bits`](Self::bits) per observed symbol; 0 when none were.
    pub fn bits_per_symbol(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.bits / self.count as f64
        }
    }

    /// Zeroes the tallies (the model is untouched).
    pub fn clear(&mut self) {
        self.bits = 0.0;
        self.count = 0;
    }

    /// The wrapped model.
    pub fn get_ref(&self) -> &M {
        &self.model
    }

    /// The wrapped model, mutably (symbols observed through it directly
    /// are not metered).
    pub fn get_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// The wrapped model.
    pub fn into_inner(self) -> M {
        self.model
    }
}

impl<M: Model> Model for Meter<M> {
    #[inline]
    fn symbols(&self) -> usize {
        self.model.symbols()
    }

    #[inline]
    fn precision(&self) -> u32 {
        self.model.precision()
    }

    #[inline]
    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        self.model.frequencies()
    }

    #[inline]
    fn observe(&mut self, symbol: usize) {
        let t = self.model.frequencies();
        if let Some(f) = t.frequency(symbol) {
            self.bits += symbol_bits(f, t.precision());
        }
        self.count += 1;
        self.model.observe(symbol);
    }

    #[inline]
    fn reset(&mut self) {
        self.model.reset();
    }

    #[inline]
    fn fingerprint(&self) -> u64 {
        self.model.fingerprint()
    }

    #[inline]
    fn lookup(&mut self, target: u32) -> Option<(usize, u32, NonZeroU32)> {
        self.model.lookup(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ContextConfig, ContextModel};
    use std::vec::Vec;

    #[test]
    fn meters_without_changing_the_code() {
        let text = b"the cat sat on the mat; the cat sat on the hat".repeat(3);
        let cfg = ContextConfig::order2_bytes(12);
        let plain = crate::encode_to_vec(&mut ContextModel::new(cfg).unwrap(), &text[..]).unwrap();
        let mut meter = Meter::new(ContextModel::new(cfg).unwrap());
        let metered = crate::encode_to_vec(&mut meter, &text[..]).unwrap();
        assert_eq!(plain, metered);
        assert_eq!(meter.count(), text.len() as u64);
        let bits = meter.bits();
        assert!(bits > 0.0 && bits <= 8.0 * plain.len() as f64, "{bits}");
        assert!(8.0 * plain.len() as f64 <= bits + 16.0);
        // Decoding observes the same symbols under the same tables.
        let mut dec = Meter::new(ContextModel::new(cfg).unwrap());
        let back: Vec<u8> = crate::decode_to_vec(&mut dec, &plain, text.len()).unwrap();
        assert_eq!(back, text);
        assert_eq!(dec.bits(), bits);
        meter.clear();
        assert_eq!(
            (meter.bits(), meter.count(), meter.bits_per_symbol()),
            (0.0, 0, 0.0)
        );
    }

    #[test]
    fn uniform_bytes_cost_eight_bits() {
        let t = FreqTable::<[u32; 257]>::uniform(16).unwrap();
        let f = t.frequency(0).unwrap();
        assert_eq!(symbol_bits(f, 16), 8.0);
    }
}
