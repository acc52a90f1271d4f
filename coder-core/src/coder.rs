//! The range coder: a 64-bit-state, byte-output arithmetic coder in the
//! Subbotin / Schindler (LZMA) line, with carries propagated exactly.
//!
//! # How it works
//!
//! The encoder keeps the interval `[low, low + range)` as a 64-bit window on
//! an arbitrary-precision number. Coding a symbol with cumulative start `c`
//! and frequency `f` out of `2^p` sets `r = range >> p`, `low += r * c`,
//! `range = r * f`. Whenever `range < 2^56`, the top byte of `low` is shifted
//! out. A byte is held back while a later carry could still change it (a
//! "cache" byte followed by a run of `0xFF` bytes); a carry out of `low`
//! turns the held bytes into `cache + 1, 0x00, …`. Since `range >= 2^56` and
//! `p <= 24`, `r >= 2^32`, so truncating `range` to a multiple of `2^p` costs
//! less than `2^-32` bits per symbol, and every symbol keeps a non-empty
//! sub-range.
//!
//! # Termination
//!
//! [`Encoder::finish`] picks the value in the final interval with the most
//! trailing zero bytes (at most one byte beyond the bytes already shifted
//! out) and writes the held bytes; the decoder reads the bytes after the end
//! as zeros. A chunk is therefore at most one byte longer than `-Σ log2 p /
//! 8` (plus the `2^-32`-bit rounding above).
//!
//! The decoder checks, in [`Decoder::finish`], that the input is exactly
//! the bytes the encoder writes for the symbols it decoded: the same length
//! and the same final value. Decoding damaged data almost never ends in
//! that state, so most damage is caught without a checksum.

use core::num::NonZeroU32;

use crate::lockstep::{run_one, Decode, Encode};
use crate::{Error, FreqTable, Model, MAX_PRECISION};

/// Renormalization threshold: `range` is kept in `[2^56, 2^64)`.
const TOP: u64 = 1 << 56;

// `r = range >> precision` must stay at least 2^32 (rounding under 2^-32
// bits a symbol, and every symbol a non-empty sub-range).
const _: () = assert!(TOP >> MAX_PRECISION >= 1 << 32);

/// A symbol type the convenience functions code: bytes, tokens, indices.
pub trait Symbol: Copy {
    /// The symbol's index in the model's alphabet.
    fn index(self) -> usize;
    /// The symbol with index `i`, or `None` when this type cannot hold it.
    fn from_index(i: usize) -> Option<Self>;
}

macro_rules! impl_symbol {
    ($($t:ty),*) => {$(
        impl Symbol for $t {
            #[inline]
            fn index(self) -> usize {
                self as usize
            }
            #[inline]
            fn from_index(i: usize) -> Option<Self> {
                <$t>::try_from(i).ok()
            }
        }
    )*};
}
impl_symbol!(u8, u16, u32, usize);

/// Arithmetic encoder writing into a caller-provided buffer.
///
/// After any error the encoder's state is undefined: drop it.
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut [u8],
    pos: usize,
    low: u64,
    range: u64,
    /// A carry out of `low` not yet added to the held bytes.
    carry: bool,
    /// The first held byte; a run of `held - 1` bytes `0xFF` follows it.
    cache: u8,
    held: usize,
    /// The first held byte is the virtual integer part (always 0, never
    /// carried into), not output.
    virtual_cache: bool,
}

impl<'a> Encoder<'a> {
    /// An encoder that writes its bytes to `out`, starting at index 0.
    pub fn new(out: &'a mut [u8]) -> Self {
        Self {
            out,
            pos: 0,
            low: 0,
            range: u64::MAX,
            carry: false,
            cache: 0,
            held: 1,
            virtual_cache: true,
        }
    }

    /// Encodes `symbol` with the probabilities of `table`.
    #[inline]
    pub fn encode_symbol<S: AsRef<[u32]>>(
        &mut self,
        table: &FreqTable<S>,
        symbol: usize,
    ) -> Result<(), Error> {
        let (start, freq) = table.interval(symbol).ok_or(Error::SymbolOutOfRange)?;
        self.encode_raw(start, freq.get(), table.precision())
    }

    /// Encodes the interval `[start, start + freq)` of a total `2^precision`
    /// (for callers that keep their own tables).
    pub fn encode_interval(
        &mut self,
        start: u32,
        freq: NonZeroU32,
        precision: u32,
    ) -> Result<(), Error> {
        if !(1..=MAX_PRECISION).contains(&precision) {
            return Err(Error::BadPrecision);
        }
        if u64::from(start) + u64::from(freq.get()) > 1 << precision {
            return Err(Error::BadFrequencies);
        }
        self.encode_raw(start, freq.get(), precision)
    }

    /// Encodes one binary decision: `bit`, where a one has probability
    /// `p1 / 2^16` (`p1 >= 1`; a zero gets the other `2^16 - p1`).
    ///
    /// The same as [`encode_interval`](Self::encode_interval) with zeros on
    /// `[0, 2^16 - p1)` and ones on `[2^16 - p1, 2^16)` at precision 16,
    /// for bitwise (context-mixing) models; [`Decoder::decode_bit`] reads
    /// it back. `p1 == 0` is [`Error::BadFrequencies`].
    ///
    /// ```
    /// use coder_core::{Decoder, Encoder};
    /// let bits = [true, true, false, true];
    /// let mut out = [0u8; 8];
    /// let mut enc = Encoder::new(&mut out);
    /// for &b in &bits {
    ///     enc.encode_bit(0xC000, b).unwrap(); // P(1) = 3/4
    /// }
    /// let n = enc.finish().unwrap();
    /// assert_eq!(&out[..n], &[0x79]);
    /// let mut dec = Decoder::new(&out[..n]);
    /// for &b in &bits {
    ///     assert_eq!(dec.decode_bit(0xC000).unwrap(), b);
    /// }
    /// dec.finish().unwrap();
    /// ```
    #[inline]
    pub fn encode_bit(&mut self, p1: u16, bit: bool) -> Result<(), Error> {
        if p1 == 0 {
            return Err(Error::BadFrequencies);
        }
        let p0 = (1u32 << 16) - u32::from(p1);
        if bit {
            self.encode_raw(p0, u32::from(p1), 16)
        } else {
            self.encode_raw(0, p0, 16)
        }
    }

    /// Requires `1 <= precision <= 24`, `freq >= 1`, `start + freq <= 2^precision`.
    #[inline(always)]
    fn encode_raw(&mut self, start: u32, freq: u32, precision: u32) -> Result<(), Error> {
        let r = self.range >> precision;
        let (low, carry) = self.low.overflowing_add(r * u64::from(start));
        self.low = low;
        self.carry |= carry;
        self.range = r * u64::from(freq);
        while self.range < TOP {
            self.range <<= 8;
            self.shift_low()?;
        }
        Ok(())
    }

    /// Moves the top byte of `low` into the held bytes, writing out the held
    /// bytes once no carry can reach them.
    #[inline]
    fn shift_low(&mut self) -> Result<(), Error> {
        let top = (self.low >> 56) as u8;
        if top != 0xFF || self.carry {
            self.release()?;
            self.cache = top;
        }
        self.held += 1;
        self.low <<= 8;
        Ok(())
    }

    /// Writes the held bytes with the pending carry applied.
    #[inline]
    fn release(&mut self) -> Result<(), Error> {
        let c = u8::from(self.carry);
        debug_assert!(!self.carry || (self.cache != 0xFF && !self.virtual_cache));
        if self.virtual_cache {
            self.virtual_cache = false;
        } else {
            // The interval never reaches past `cache + 1`, so this cannot wrap.
            self.put(self.cache.wrapping_add(c))?;
        }
        for _ in 1..self.held {
            self.put(0xFFu8.wrapping_add(c))?;
        }
        self.held = 0;
        self.carry = false;
        Ok(())
    }

    #[inline(always)]
    fn put(&mut self, byte: u8) -> Result<(), Error> {
        let slot = self.out.get_mut(self.pos).ok_or(Error::OutputFull)?;
        *slot = byte;
        self.pos += 1;
        Ok(())
    }

    /// Bytes written so far (held bytes not counted).
    pub fn bytes_written(&self) -> usize {
        self.pos
    }

    /// Terminates the stream and returns the number of bytes written to the
    /// buffer; the coded data is `out[..n]`.
    pub fn finish(mut self) -> Result<usize, Error> {
        self.terminate()
    }

    /// The buffer the encoder writes to, for a coding that keeps its
    /// encoders in a struct and needs the buffer after
    /// [`terminate`](Self::terminate) or after giving up.
    pub(crate) fn into_output(self) -> &'a mut [u8] {
        self.out
    }

    /// [`finish`](Self::finish) in place; the encoder is spent afterwards.
    pub(crate) fn terminate(&mut self) -> Result<usize, Error> {
        let (k, v, carry) = final_value(self.low, self.range);
        self.low = v;
        self.carry |= carry;
        if k == 1 {
            self.shift_low()?;
        }
        // Everything below the shifted-out bytes of `v` is zero.
        self.release()?;
        Ok(self.pos)
    }
}

/// The value the encoder terminates with, given the final window: `(k, v,
/// carry)` where `k` (0 or 1) more bytes of `v` are shifted out and the
/// remaining `8 - k` bytes of the window are zero. `carry` is set when `v`
/// is `2^64`, i.e. 0 with a carry into the held bytes.
#[inline]
fn final_value(low: u64, range: u64) -> (u32, u64, bool) {
    if low == 0 {
        (0, 0, false)
    } else if low.wrapping_neg() < range {
        (0, 0, true)
    } else {
        // range >= 2^56, so rounding low up to a multiple of 2^56 stays in
        // the interval, and cannot overflow (the branch above took that).
        (1, low.wrapping_add(TOP - 1) & !(TOP - 1), false)
    }
}

/// Arithmetic decoder reading from a byte slice.
///
/// Bytes past the end of the input read as zeros (the encoder does not
/// write the zero bytes its final value ends with), so the decoder never
/// reads out of bounds. It decodes exactly as many symbols as it is asked
/// for, fails with [`Error::Corrupt`] as soon as it has read more than 8
/// bytes past the end (no valid stream does), and
/// [`finish`](Self::finish) then checks that the input was exactly the
/// encoder's output.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    input: &'a [u8],
    /// Bytes consumed, counting zeros read past the end.
    pos: usize,
    /// `value - low`, always `< range`.
    code: u64,
    low: u64,
    range: u64,
}

impl<'a> Decoder<'a> {
    /// A decoder for the coded bytes `input`.
    pub fn new(input: &'a [u8]) -> Self {
        let mut d = Self {
            input,
            pos: 0,
            code: 0,
            low: 0,
            range: u64::MAX,
        };
        for _ in 0..8 {
            d.code = (d.code << 8) | u64::from(d.next_byte());
        }
        d
    }

    #[inline(always)]
    fn next_byte(&mut self) -> u8 {
        let b = self.input.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// The target in `[0, 2^precision)` that selects the next symbol, and
    /// the scale `r`.
    #[inline(always)]
    fn target(&self, precision: u32) -> Result<(u32, u64), Error> {
        // A valid stream ends with the decoder 8 - k bytes past its end.
        if self.pos > self.input.len() + 8 {
            return Err(Error::Corrupt);
        }
        let r = self.range >> precision;
        let t = self.code / r;
        if t >> precision != 0 {
            return Err(Error::Corrupt);
        }
        Ok((t as u32, r))
    }

    /// Narrows to the interval `[start, start + freq)` found for target `t`.
    #[inline(always)]
    fn consume(&mut self, r: u64, start: u32, freq: u32) {
        let base = r * u64::from(start);
        self.code -= base;
        self.low = self.low.wrapping_add(base);
        self.range = r * u64::from(freq);
        while self.range < TOP {
            self.range <<= 8;
            self.low <<= 8;
            self.code = (self.code << 8) | u64::from(self.next_byte());
        }
    }

    /// Decodes one symbol with the probabilities of `table`.
    #[inline]
    pub fn decode_symbol<S: AsRef<[u32]>>(&mut self, table: &FreqTable<S>) -> Result<usize, Error> {
        let (t, r) = self.target(table.precision())?;
        let (s, start, freq) = table.lookup(t).ok_or(Error::Corrupt)?;
        self.consume(r, start, freq.get());
        Ok(s)
    }

    /// Decodes one binary decision coded by [`Encoder::encode_bit`] with
    /// the same `p1` (the probability of a one, in `2^-16`). No division:
    /// the bit is `code >= r * (2^16 - p1)`, which is exactly what
    /// [`decode_symbol`](Self::decode_symbol) finds for a two-symbol table.
    #[inline]
    pub fn decode_bit(&mut self, p1: u16) -> Result<bool, Error> {
        if p1 == 0 {
            return Err(Error::BadFrequencies);
        }
        if self.pos > self.input.len() + 8 {
            return Err(Error::Corrupt);
        }
        let r = self.range >> 16;
        // The target `code / r` must be below 2^16.
        if self.code >= r << 16 {
            return Err(Error::Corrupt);
        }
        let p0 = (1u32 << 16) - u32::from(p1);
        let bit = self.code >= r * u64::from(p0);
        if bit {
            self.consume(r, p0, u32::from(p1));
        } else {
            self.consume(r, 0, p0);
        }
        Ok(bit)
    }

    /// Decodes one symbol with `model` (using its [`Model::lookup`]) and
    /// lets the model observe it.
    #[inline]
    pub fn decode_with<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<usize, Error> {
        let precision = model.precision();
        if !(1..=MAX_PRECISION).contains(&precision) {
            return Err(Error::BadPrecision);
        }
        let (t, r) = self.target(precision)?;
        let (s, start, freq) = model.lookup(t).ok_or(Error::Corrupt)?;
        // Guard against a model whose lookup disagrees with its precision.
        if t.wrapping_sub(start) >= freq.get() || freq.get() > (1 << precision) - start {
            return Err(Error::BadFrequencies);
        }
        self.consume(r, start, freq.get());
        model.observe(s);
        Ok(s)
    }

    /// Checks that the input held exactly the encoder's output for the
    /// symbols decoded: the final value is the one the encoder terminates
    /// with, and the length is the encoder's (every byte read, and no more
    /// than the final value's zeros read past the end).
    pub fn finish(self) -> Result<(), Error> {
        let (k, v, _) = final_value(self.low, self.range);
        let value = self.low.wrapping_add(self.code);
        // The encoder wrote (pos - 8) shifted bytes plus k final ones.
        if value != v || self.input.len() != self.pos - 8 + k as usize {
            return Err(Error::Corrupt);
        }
        Ok(())
    }
}

/// Upper bound on the coded length of `n` symbols at `precision` bits:
/// a buffer this large never gives [`Error::OutputFull`].
pub const fn max_encoded_len(n: usize, precision: u32) -> usize {
    // Each symbol narrows the range by at most 2^precision (times 1 + 2^-32).
    let bits = n.saturating_mul(precision as usize + 1);
    bits / 8 + 3
}

/// Encodes `symbols` as one independently decodable stream into `out`,
/// starting from a freshly [`reset`](Model::reset) model. Returns the
/// number of bytes written.
///
/// ```
/// use coder_core::{encode_into, decode_into, models::StaticModel, FreqTable};
///
/// let table = FreqTable::from_cumulative([0u32, 2, 3, 4], 2).unwrap();
/// let mut model = StaticModel::new(table);
/// let mut out = [0u8; 16];
/// let n = encode_into(&mut model, &[0u8, 0, 1, 2, 0], &mut out).unwrap();
/// // 7 bits of information: one byte.
/// assert_eq!(&out[..n], &[0x2c]);
///
/// let mut back = [0u8; 5];
/// decode_into(&mut model, &out[..n], &mut back).unwrap();
/// assert_eq!(back, [0, 0, 1, 2, 0]);
/// ```
pub fn encode_into<M: Model + ?Sized, T: Symbol>(
    model: &mut M,
    symbols: &[T],
    out: &mut [u8],
) -> Result<usize, Error> {
    run_one(Encode::new(symbols, out), model)
}

/// Decodes `out.len()` symbols from `coded` (the output of
/// [`encode_into`]) with a freshly reset model, and checks that `coded` is
/// exactly that stream.
///
/// Damaged, truncated or padded input is [`Error::Corrupt`] (the coder
/// cannot tell these apart; the container records lengths and reports
/// [`Error::Truncated`]), as is a decoded symbol that `T` cannot hold.
pub fn decode_into<M: Model + ?Sized, T: Symbol>(
    model: &mut M,
    coded: &[u8],
    out: &mut [T],
) -> Result<(), Error> {
    run_one(Decode::new(coded, out), model)
}

/// [`encode_into`] into a new `Vec`.
#[cfg(feature = "alloc")]
pub fn encode_to_vec<M: Model + ?Sized, T: Symbol>(
    model: &mut M,
    symbols: &[T],
) -> Result<alloc::vec::Vec<u8>, Error> {
    let mut out = alloc::vec![0u8; max_encoded_len(symbols.len(), model.precision())];
    let n = encode_into(model, symbols, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// [`decode_into`] `n` symbols into a new `Vec`.
#[cfg(feature = "alloc")]
pub fn decode_to_vec<M: Model + ?Sized, T: Symbol + Default>(
    model: &mut M,
    coded: &[u8],
    n: usize,
) -> Result<alloc::vec::Vec<T>, Error> {
    let mut out = alloc::vec::Vec::new();
    out.try_reserve_exact(n).map_err(|_| Error::OutputFull)?;
    out.resize(n, T::default());
    decode_into(model, coded, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_value_is_in_the_interval_and_shortest() {
        let edges = [
            0,
            1,
            TOP - 1,
            TOP,
            TOP + 1,
            5 * TOP,
            u64::MAX - TOP,
            u64::MAX - TOP + 1,
            u64::MAX,
        ];
        let ranges = [TOP, TOP + 1, 2 * TOP - 1, u64::MAX / 2, u64::MAX];
        for &low in &edges {
            for &range in &ranges {
                let (k, v, carry) = final_value(low, range);
                let v128 = u128::from(v) + if carry { 1 << 64 } else { 0 };
                let (lo, hi) = (u128::from(low), u128::from(low) + u128::from(range));
                assert!(lo <= v128 && v128 < hi, "low {low:#x} range {range:#x}");
                // k bytes of v, then zeros.
                assert_eq!(v & (u64::MAX >> (8 * k)), 0);
                if k == 1 {
                    // No zero-byte value (0 or 2^64) was available.
                    assert!(lo > 0 && hi <= 1 << 64);
                }
            }
        }
    }
}
