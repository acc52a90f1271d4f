//! Coding byte chunks as token streams: each chunk is tokenized on its
//! own, its tokens arithmetic-coded by a token-level model from a reset,
//! and decoded back to exactly its bytes.

use coder_core::{max_encoded_len, Decoder, Encoder, Model};

use crate::{Bpe, Error};

/// A token-level model paired with its tokenizer: the model's predictions,
/// with a fingerprint that also covers the tokenizer file
/// ([`crate::fingerprint`]), so a container header written with one pair
/// refuses any other.
pub struct Tokenized<'b, M> {
    /// The tokenizer.
    pub bpe: &'b Bpe,
    /// The model over `bpe.vocab()` symbols.
    pub model: M,
}

impl<'b, M: Model> Tokenized<'b, M> {
    /// Pairs `model` with `bpe`; [`Error::VocabMismatch`] unless the model
    /// predicts exactly the tokenizer's vocabulary.
    pub fn new(bpe: &'b Bpe, model: M) -> Result<Self, Error> {
        if model.symbols() != bpe.vocab() {
            return Err(Error::VocabMismatch {
                model: model.symbols(),
                tokenizer: bpe.vocab(),
            });
        }
        Ok(Self { bpe, model })
    }

    /// Codes `bytes` as one chunk: its tokens from a reset model. Returns
    /// the coded bytes and the number of tokens.
    pub fn encode_chunk(&mut self, bytes: &[u8]) -> Result<(Vec<u8>, usize), Error> {
        encode_chunk(self.bpe, &mut self.model, bytes)
    }

    /// Decodes a chunk of `len` bytes coded by [`Self::encode_chunk`].
    pub fn decode_chunk(&mut self, coded: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        decode_chunk(self.bpe, &mut self.model, coded, len)
    }
}

impl<M: Model> Model for Tokenized<'_, M> {
    fn symbols(&self) -> usize {
        self.model.symbols()
    }
    fn precision(&self) -> u32 {
        self.model.precision()
    }
    fn frequencies(&mut self) -> coder_core::FreqTable<&[u32]> {
        self.model.frequencies()
    }
    fn observe(&mut self, symbol: usize) {
        self.model.observe(symbol)
    }
    fn reset(&mut self) {
        self.model.reset()
    }
    fn fingerprint(&self) -> u64 {
        crate::fingerprint(self.model.fingerprint(), self.bpe.hash())
    }
    fn lookup(&mut self, target: u32) -> Option<(usize, u32, core::num::NonZeroU32)> {
        self.model.lookup(target)
    }
}

fn check_vocab<M: Model + ?Sized>(bpe: &Bpe, model: &M) -> Result<(), Error> {
    if model.symbols() != bpe.vocab() {
        return Err(Error::VocabMismatch {
            model: model.symbols(),
            tokenizer: bpe.vocab(),
        });
    }
    Ok(())
}

/// Tokenizes `bytes` on their own and codes the tokens with `model` from a
/// reset. Returns the coded bytes and the number of tokens.
pub fn encode_chunk<M: Model + ?Sized>(
    bpe: &Bpe,
    model: &mut M,
    bytes: &[u8],
) -> Result<(Vec<u8>, usize), Error> {
    check_vocab(bpe, model)?;
    let tokens = bpe.encode(bytes);
    let mut out = vec![0u8; max_encoded_len(tokens.len(), model.precision())];
    model.reset();
    let mut enc = Encoder::new(&mut out);
    for &t in &tokens {
        let table = model.frequencies();
        enc.encode_symbol(&table, t as usize)
            .map_err(Error::Coder)?;
        model.observe(t as usize);
    }
    let n = enc.finish().map_err(Error::Coder)?;
    out.truncate(n);
    Ok((out, tokens.len()))
}

/// Decodes a chunk of `len` bytes coded by [`encode_chunk`] with the same
/// tokenizer and model. Only the canonical coding is accepted: the
/// decoded tokens must fill exactly `len` bytes, be the tokenization of
/// those bytes, and use the whole input ([`Error::Corrupt`] or
/// [`Error::Coder`] otherwise).
pub fn decode_chunk<M: Model + ?Sized>(
    bpe: &Bpe,
    model: &mut M,
    coded: &[u8],
    len: usize,
) -> Result<Vec<u8>, Error> {
    check_vocab(bpe, model)?;
    model.reset();
    let mut dec = Decoder::new(coded);
    let mut out = Vec::with_capacity(len);
    let mut tokens = Vec::new();
    while out.len() < len {
        let s = dec.decode_with(model).map_err(Error::Coder)?;
        let piece = bpe.piece(s as u32).ok_or(Error::Corrupt)?;
        out.extend_from_slice(piece);
        tokens.push(s as u32);
    }
    if out.len() != len {
        return Err(Error::Corrupt);
    }
    dec.finish().map_err(Error::Coder)?;
    if bpe.encode(&out) != tokens {
        return Err(Error::Corrupt);
    }
    Ok(out)
}
