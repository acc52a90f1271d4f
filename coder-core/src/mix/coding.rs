//! Coding with a [`Mixer`]: a byte at a time through the arithmetic
//! coder's binary events, and whole chunks into caller buffers.

use super::tables::log2_q16;
use super::Mixer;
use crate::lockstep::{run_one, Decode, Step};
use crate::{max_encoded_len, Decoder, Encoder, Error, FreqTable, Model, MAX_PRECISION};

/// Probability of the leading decision of
/// [`encode_chunk_either`](Mixer::encode_chunk_either): one bit.
const EITHER_P: u16 = 1 << 15;

/// Upper bound on the coded length of `n` bytes: a buffer this large never
/// gives [`Error::OutputFull`]. (Each bit costs at most 16 bits, so this is
/// about 17 times `n`; real data codes to a fraction of `n`.)
pub const fn max_coded_len(n: usize) -> usize {
    max_encoded_len(n.saturating_mul(8), 16)
}

/// Starts a chunk coded with an external model: checks the model (256
/// symbols, a valid precision) and resets it and the mixer.
fn start<S: AsRef<[u8]> + AsMut<[u8]>, M: Model + ?Sized>(
    mixer: &mut Mixer<S>,
    model: &mut M,
) -> Result<(), Error> {
    if model.symbols() != 256 {
        return Err(Error::BadAlphabet);
    }
    if !(1..=MAX_PRECISION).contains(&model.precision()) {
        return Err(Error::BadPrecision);
    }
    mixer.reset();
    model.reset();
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
        let coded = byte.wrapping_sub(self.rot());
        for i in (0..8).rev() {
            let bit = (coded >> i) & 1 != 0;
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
        let rot = self.rot();
        let mut coded = 0u8;
        for _ in 0..8 {
            let p = self.predict(ext)?;
            let bit = dec.decode_bit(p)?;
            self.update(bit);
            coded = (coded << 1) | u8::from(bit);
        }
        Ok(coded.wrapping_add(rot))
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
    /// the byte (256 symbols, else [`Error::BadAlphabet`]). The coding is
    /// [`EncodeWith`] (which codes many chunks in lockstep too).
    pub fn encode_chunk_with<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        run_one(EncodeWith::new(self, input, out), model)
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
    /// with the same model ([`DecodeWith`]).
    pub fn decode_chunk_with<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        coded: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        run_one(DecodeWith::new(self, coded, out), model)
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
    /// ([`Error::OutputFull`] when both do). The coding is [`EncodeEither`].
    pub fn encode_chunk_either<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        input: &[u8],
        out: &mut [u8],
        scratch: &mut [u8],
    ) -> Result<usize, Error> {
        run_one(EncodeEither::new(self, input, out, scratch), model)
    }

    /// Decodes what [`encode_chunk_either`](Self::encode_chunk_either)
    /// coded, with the same model (the mixer runs only if the chunk was
    /// coded mixed; [`DecodeEither`]).
    pub fn decode_chunk_either<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        coded: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        run_one(DecodeEither::new(self, coded, out), model)
    }
}

/// A byte chunk coded by a [`Mixer`] with an external model: the coding of
/// [`Mixer::encode_chunk_with`], a [`Step`] for [`run`](crate::lockstep::run).
/// Gives the coded length.
#[derive(Debug)]
pub struct EncodeWith<'a, S> {
    mixer: &'a mut Mixer<S>,
    input: &'a [u8],
    pos: usize,
    enc: Encoder<'a>,
}

impl<'a, S: AsRef<[u8]> + AsMut<[u8]>> EncodeWith<'a, S> {
    /// Codes `input` into `out` with `mixer` (reset when the coding starts).
    pub fn new(mixer: &'a mut Mixer<S>, input: &'a [u8], out: &'a mut [u8]) -> Self {
        Self {
            mixer,
            input,
            pos: 0,
            enc: Encoder::new(out),
        }
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Step for EncodeWith<'_, S> {
    type Output = usize;

    fn start<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        start(self.mixer, model)
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn step<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        let Some(&b) = self.input.get(self.pos) else {
            return Ok(());
        };
        self.mixer
            .encode_byte(&mut self.enc, b, Some(&model.frequencies()))?;
        model.observe(usize::from(b));
        self.pos += 1;
        Ok(())
    }

    fn finish(self) -> Result<usize, Error> {
        self.enc.finish()
    }
}

/// Decodes what [`EncodeWith`] coded: the coding of
/// [`Mixer::decode_chunk_with`].
#[derive(Debug)]
pub struct DecodeWith<'a, S> {
    mixer: &'a mut Mixer<S>,
    /// The decoder and the output, as the model alone decodes them.
    alone: Decode<'a, u8>,
}

impl<'a, S: AsRef<[u8]> + AsMut<[u8]>> DecodeWith<'a, S> {
    /// Decodes `out.len()` bytes from `coded` into `out` with `mixer`.
    pub fn new(mixer: &'a mut Mixer<S>, coded: &'a [u8], out: &'a mut [u8]) -> Self {
        Self {
            mixer,
            alone: Decode::new(coded, out),
        }
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Step for DecodeWith<'_, S> {
    type Output = ();

    fn start<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        start(self.mixer, model)
    }

    fn remaining(&self) -> usize {
        self.alone.remaining()
    }

    fn step<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        let mixer = &mut *self.mixer;
        self.alone.step_with(|dec| {
            let b = mixer.decode_byte(dec, Some(&model.frequencies()))?;
            model.observe(usize::from(b));
            Ok(b)
        })
    }

    fn finish(self) -> Result<(), Error> {
        self.alone.finish()
    }
}

/// One of the two encoders of [`EncodeEither`]: coding, or given up for
/// want of room (its buffer kept for the end).
#[derive(Debug)]
enum Slot<'a> {
    Live(Encoder<'a>),
    Full(&'a mut [u8]),
}

impl Default for Slot<'_> {
    fn default() -> Self {
        Slot::Full(&mut [])
    }
}

impl<'a> Slot<'a> {
    fn is_live(&self) -> bool {
        matches!(self, Slot::Live(_))
    }

    /// Runs `code` on a live encoder; one that runs out of room is given
    /// up, other errors are returned.
    fn code(
        &mut self,
        code: impl FnOnce(&mut Encoder<'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Slot::Live(e) = self else { return Ok(()) };
        match code(e) {
            Err(Error::OutputFull) => {
                if let Slot::Live(e) = core::mem::take(self) {
                    *self = Slot::Full(e.into_output());
                }
                Ok(())
            }
            r => r,
        }
    }

    /// The coded length (`None` if it did not fit) and the buffer.
    fn finish(self) -> Result<(Option<usize>, &'a mut [u8]), Error> {
        match self {
            Slot::Full(buf) => Ok((None, buf)),
            Slot::Live(mut e) => match e.terminate() {
                Ok(n) => Ok((Some(n), e.into_output())),
                Err(Error::OutputFull) => Ok((None, e.into_output())),
                Err(err) => Err(err),
            },
        }
    }
}

/// A byte chunk coded mixed and by the model alone in one pass, the
/// shorter kept behind one bit: the coding of
/// [`Mixer::encode_chunk_either`]. Gives the coded length (in `out`).
#[derive(Debug)]
pub struct EncodeEither<'a, S> {
    mixer: &'a mut Mixer<S>,
    input: &'a [u8],
    pos: usize,
    mixed: Slot<'a>,
    alone: Slot<'a>,
    /// The model alone's ideal cost, Q16 bits (the flag's bit first).
    alone_cost: u64,
    precision: u32,
}

impl<'a, S: AsRef<[u8]> + AsMut<[u8]>> EncodeEither<'a, S> {
    /// Codes `input` into `out` (mixed) and `scratch` (the model alone)
    /// with `mixer`; see [`Mixer::encode_chunk_either`].
    pub fn new(
        mixer: &'a mut Mixer<S>,
        input: &'a [u8],
        out: &'a mut [u8],
        scratch: &'a mut [u8],
    ) -> Self {
        Self {
            mixer,
            input,
            pos: 0,
            mixed: Slot::Live(Encoder::new(out)),
            alone: Slot::Live(Encoder::new(scratch)),
            alone_cost: 1 << 16,
            precision: 0,
        }
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Step for EncodeEither<'_, S> {
    type Output = usize;

    fn start<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        start(self.mixer, model)?;
        self.mixer.clear_cost();
        self.precision = model.precision();
        self.mixed.code(|e| e.encode_bit(EITHER_P, true))?;
        self.alone.code(|e| e.encode_bit(EITHER_P, false))
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn step<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        let Some(&b) = self.input.get(self.pos) else {
            return Ok(());
        };
        if !self.mixed.is_live() && !self.alone.is_live() {
            return Err(Error::OutputFull);
        }
        {
            let t = model.frequencies();
            let (mixer, cost, precision) = (&mut *self.mixer, &mut self.alone_cost, self.precision);
            self.alone.code(|e| {
                e.encode_symbol(&t, usize::from(b))?;
                let f = t.frequency(usize::from(b)).map_or(1, |f| f.get());
                *cost += ((i64::from(precision) << 16) - i64::from(log2_q16(f))) as u64;
                Ok(())
            })?;
            self.mixed.code(|e| mixer.encode_byte(e, b, Some(&t)))?;
        }
        model.observe(usize::from(b));
        self.pos += 1;
        Ok(())
    }

    fn finish(self) -> Result<usize, Error> {
        let (mixed, out) = self.mixed.finish()?;
        let (alone, scratch) = self.alone.finish()?;
        let mixed_cost = self.mixer.cost_q16() + (1 << 16);
        let bits = 8 * self.input.len() as u64 + 1;
        match (mixed, alone) {
            (Some(m), Some(a)) if a < m => {
                out[..a].copy_from_slice(&scratch[..a]);
                self.mixer.set_cost(self.alone_cost, bits);
                Ok(a)
            }
            (Some(m), _) => {
                self.mixer.set_cost(mixed_cost, bits);
                Ok(m)
            }
            (None, Some(a)) => {
                out.get_mut(..a)
                    .ok_or(Error::OutputFull)?
                    .copy_from_slice(&scratch[..a]);
                self.mixer.set_cost(self.alone_cost, bits);
                Ok(a)
            }
            (None, None) => Err(Error::OutputFull),
        }
    }
}

/// Decodes what [`EncodeEither`] coded: the coding of
/// [`Mixer::decode_chunk_either`].
#[derive(Debug)]
pub struct DecodeEither<'a, S> {
    with: DecodeWith<'a, S>,
    /// The leading bit: coded mixed (else by the model alone).
    mixed: bool,
}

impl<'a, S: AsRef<[u8]> + AsMut<[u8]>> DecodeEither<'a, S> {
    /// Decodes `out.len()` bytes from `coded` into `out` with `mixer`.
    pub fn new(mixer: &'a mut Mixer<S>, coded: &'a [u8], out: &'a mut [u8]) -> Self {
        Self {
            with: DecodeWith::new(mixer, coded, out),
            mixed: false,
        }
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Step for DecodeEither<'_, S> {
    type Output = ();

    fn start<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        self.with.start(model)?;
        self.mixed = self.with.alone.dec.decode_bit(EITHER_P)?;
        Ok(())
    }

    fn remaining(&self) -> usize {
        self.with.remaining()
    }

    fn step<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), Error> {
        if self.mixed {
            self.with.step(model)
        } else {
            self.with.alone.step(model)
        }
    }

    fn finish(self) -> Result<(), Error> {
        self.with.finish()
    }
}
