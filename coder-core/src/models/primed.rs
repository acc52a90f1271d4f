//! [`Primed`]: a model that, on every reset, first observes a fixed
//! context: how a chunk starts from the previous chunk's last window.

use core::num::NonZeroU32;

use crate::{FreqTable, Model};

/// Wraps a [`Model`] so that [`reset`](Model::reset) resets it and then
/// shows it `context` (without coding it). A chunk coded through it is
/// coded as if it continued `context`; the decoder wraps the same model
/// with the same bytes (the end of what it has already decoded).
///
/// The fingerprint is the inner model's: the context is data, not a
/// parameter.
///
/// ```
/// use coder_core::models::{ContextConfig, ContextModel, Primed};
/// use coder_core::{decode_to_vec, encode_to_vec};
///
/// let cfg = ContextConfig::order2_bytes(12);
/// let text = b"the cat sat on the mat";
/// let plain = encode_to_vec(&mut ContextModel::new(cfg).unwrap(), &text[..]).unwrap();
/// let mut primed = Primed::new(ContextModel::new(cfg).unwrap(), &b"the cat sat on the mat. "[..]);
/// let code = encode_to_vec(&mut primed, &text[..]).unwrap();
/// assert!(code.len() < plain.len());
/// assert_eq!(decode_to_vec::<_, u8>(&mut primed, &code, text.len()).unwrap(), text);
/// ```
#[derive(Clone, Debug)]
pub struct Primed<'c, M> {
    model: M,
    context: &'c [u8],
}

impl<'c, M: Model> Primed<'c, M> {
    /// `model`, primed with `context` on every reset.
    pub fn new(model: M, context: &'c [u8]) -> Self {
        Self { model, context }
    }

    /// The inner model.
    pub fn into_inner(self) -> M {
        self.model
    }
}

impl<M: Model> Model for Primed<'_, M> {
    fn symbols(&self) -> usize {
        self.model.symbols()
    }

    fn precision(&self) -> u32 {
        self.model.precision()
    }

    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        self.model.frequencies()
    }

    fn observe(&mut self, symbol: usize) {
        self.model.observe(symbol)
    }

    fn reset(&mut self) {
        self.model.reset();
        for &b in self.context {
            self.model.observe(usize::from(b));
        }
    }

    fn fingerprint(&self) -> u64 {
        self.model.fingerprint()
    }

    fn lookup(&mut self, target: u32) -> Option<(usize, u32, NonZeroU32)> {
        self.model.lookup(target)
    }
}
