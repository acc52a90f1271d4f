//! Coding with a [`Mixer`]: a byte at a time through the arithmetic
//! coder's binary events, and whole chunks into caller buffers.

use super::tables::log2_q16;
use super::Mixer;
use crate::{max_encoded_len, Decoder, Encoder, Error, FreqTable, Model, MAX_PRECISION};

/// Probability of the leading decision of
/// [`encode_chunk_either`](Mixer::encode_chunk_either): one bit.
const EITHER_P: u16 = 1 << 15;

/// Keeps `enc` only while it has room; other errors are returned.
fn alive<'a>(enc: &mut Option<Encoder<'a>>, r: Result<(), Error>) -> Result<(), Error> {
    match r {
        Ok(()) => Ok(()),
        Err(Error::OutputFull) => {
            *enc = None;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Upper bound on the coded length of `n` bytes: a buffer this large never
/// gives [`Error::OutputFull`]. (Each bit costs at most 16 bits, so this is
/// about 17 times `n`; real data codes to a fraction of `n`.)
pub const fn max_coded_len(n: usize) -> usize {
    max_encoded_len(n.saturating_mul(8), 16)
}

fn check_model<M: Model + ?Sized>(model: &M) -> Result<(), Error> {
    if model.symbols() != 256 {
        return Err(Error::BadAlphabet);
    }
    if !(1..=MAX_PRECISION).contains(&model.precision()) {
        return Err(Error::BadPrecision);
    }
    Ok(())
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Mixer<S> {
    /// Encodes `byte` as 8 binary decisions, most significant bit first,
    /// optionally helped by an external model's distribution `ext` of this
    /// byte (see [`predict`](Self::predict)).
    pub fn encode_byte(
        &mut self,
        enc: &mut Encoder<'_>,
        byte: u8,
        ext: Option<&FreqTable<&[u32]>>,
    ) -> Result<(), Error> {
        for i in (0..8).rev() {
            let bit = (byte >> i) & 1 != 0;
            let p = self.predict(ext)?;
            enc.encode_bit(p, bit)?;
            self.update(bit);
        }
        Ok(())
    }

    /// Decodes a byte coded by [`encode_byte`](Self::encode_byte) with the
    /// same external distribution.
    pub fn decode_byte(
        &mut self,
        dec: &mut Decoder<'_>,
        ext: Option<&FreqTable<&[u32]>>,
    ) -> Result<u8, Error> {
        let mut byte = 0u8;
        for _ in 0..8 {
            let p = self.predict(ext)?;
            let bit = dec.decode_bit(p)?;
            self.update(bit);
            byte = (byte << 1) | u8::from(bit);
        }
        Ok(byte)
    }

    /// Codes `input` as one independently decodable stream into `out`,
    /// from a [`reset`](Self::reset) mixer and no external model. Returns
    /// the number of bytes written (see [`max_coded_len`]).
    pub fn encode_chunk(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.reset();
        let mut enc = Encoder::new(out);
        for &b in input {
            self.encode_byte(&mut enc, b, None)?;
        }
        enc.finish()
    }

    /// [`encode_chunk`](Self::encode_chunk) with an external byte model:
    /// `model` is reset, asked for the distribution of each byte and shown
    /// the byte (256 symbols, else [`Error::BadAlphabet`]).
    pub fn encode_chunk_with<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        check_model(model)?;
        self.reset();
        model.reset();
        let mut enc = Encoder::new(out);
        for &b in input {
            self.encode_byte(&mut enc, b, Some(&model.frequencies()))?;
            model.observe(usize::from(b));
        }
        enc.finish()
    }

    /// Decodes `out.len()` bytes from `coded` (the output of
    /// [`encode_chunk`](Self::encode_chunk)) and checks that `coded` is
    /// exactly that stream ([`Error::Corrupt`] otherwise).
    pub fn decode_chunk(&mut self, coded: &[u8], out: &mut [u8]) -> Result<(), Error> {
        self.reset();
        let mut dec = Decoder::new(coded);
        for slot in out.iter_mut() {
            *slot = self.decode_byte(&mut dec, None)?;
        }
        dec.finish()
    }

    /// Decodes what [`encode_chunk_with`](Self::encode_chunk_with) coded,
    /// with the same model.
    pub fn decode_chunk_with<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        coded: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        check_model(model)?;
        self.reset();
        model.reset();
        let mut dec = Decoder::new(coded);
        self.decode_mixed(&mut dec, model, out)?;
        dec.finish()
    }

    /// Decodes `out.len()` bytes mixed with `model`, showing it each.
    fn decode_mixed<M: Model + ?Sized>(
        &mut self,
        dec: &mut Decoder<'_>,
        model: &mut M,
        out: &mut [u8],
    ) -> Result<(), Error> {
        for slot in out.iter_mut() {
            let b = self.decode_byte(dec, Some(&model.frequencies()))?;
            model.observe(usize::from(b));
            *slot = b;
        }
        Ok(())
    }

    /// Codes `input` with `model` twice in one pass over the model: mixed
    /// (as [`encode_chunk_with`](Self::encode_chunk_with)) into `out`, and
    /// with the model alone (one symbol per byte) into `scratch`; keeps the
    /// shorter in `out`, behind one leading binary decision (probability
    /// 1/2) that says which. So a chunk never costs more than the model
    /// alone plus one bit, whatever the mixer learns. Returns the coded
    /// length; [`cost_q16`](Self::cost_q16) is then the chosen coding's.
    /// `out` and `scratch` of [`max_coded_len`] bytes always suffice;
    /// shorter ones give up on a coding that outgrows them
    /// ([`Error::OutputFull`] when both do).
    pub fn encode_chunk_either<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        input: &[u8],
        out: &mut [u8],
        scratch: &mut [u8],
    ) -> Result<usize, Error> {
        check_model(model)?;
        self.reset();
        self.clear_cost();
        model.reset();
        let precision = model.precision();
        let mut mixed = Some(Encoder::new(out));
        let mut alone = Some(Encoder::new(scratch));
        if let Some(e) = mixed.as_mut() {
            let r = e.encode_bit(EITHER_P, true);
            alive(&mut mixed, r)?;
        }
        if let Some(e) = alone.as_mut() {
            let r = e.encode_bit(EITHER_P, false);
            alive(&mut alone, r)?;
        }
        // The model alone's ideal cost, Q16 bits (the flag's bit first).
        let mut alone_cost = 1u64 << 16;
        for &b in input {
            if mixed.is_none() && alone.is_none() {
                return Err(Error::OutputFull);
            }
            {
                let t = model.frequencies();
                if let Some(e) = alone.as_mut() {
                    let r = e.encode_symbol(&t, usize::from(b));
                    alive(&mut alone, r)?;
                    let f = t.frequency(usize::from(b)).map_or(1, |f| f.get());
                    alone_cost += ((i64::from(precision) << 16) - i64::from(log2_q16(f))) as u64;
                }
                if let Some(e) = mixed.as_mut() {
                    let r = self.encode_byte(e, b, Some(&t));
                    alive(&mut mixed, r)?;
                }
            }
            model.observe(usize::from(b));
        }
        let finish = |e: Option<Encoder<'_>>| -> Result<Option<usize>, Error> {
            match e.map(Encoder::finish) {
                None | Some(Err(Error::OutputFull)) => Ok(None),
                Some(Err(e)) => Err(e),
                Some(Ok(n)) => Ok(Some(n)),
            }
        };
        let mixed_cost = self.cost_q16() + (1 << 16);
        let bits = 8 * input.len() as u64 + 1;
        match (finish(mixed)?, finish(alone)?) {
            (Some(m), Some(a)) if a < m => {
                out[..a].copy_from_slice(&scratch[..a]);
                self.set_cost(alone_cost, bits);
                Ok(a)
            }
            (Some(m), _) => {
                self.set_cost(mixed_cost, bits);
                Ok(m)
            }
            (None, Some(a)) => {
                out.get_mut(..a)
                    .ok_or(Error::OutputFull)?
                    .copy_from_slice(&scratch[..a]);
                self.set_cost(alone_cost, bits);
                Ok(a)
            }
            (None, None) => Err(Error::OutputFull),
        }
    }

    /// Decodes what [`encode_chunk_either`](Self::encode_chunk_either)
    /// coded, with the same model (the mixer runs only if the chunk was
    /// coded mixed).
    pub fn decode_chunk_either<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        coded: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        check_model(model)?;
        self.reset();
        model.reset();
        let mut dec = Decoder::new(coded);
        if dec.decode_bit(EITHER_P)? {
            self.decode_mixed(&mut dec, model, out)?;
        } else {
            for slot in out.iter_mut() {
                *slot = dec.decode_with(model)? as u8;
            }
        }
        dec.finish()
    }
}
