//! Byte-level BPE tokenizers for token-level models (the paper's Table 2,
//! "tokenization is compression").
//!
//! A [`Bpe`] wraps a Hugging Face `tokenizers` BPE model with the
//! `ByteLevel` pre-tokenizer (GPT-2's byte alphabet, no prefix space), so
//! that **every byte sequence** encodes and decodes back exactly:
//!
//! - valid UTF-8 runs go through the tokenizer (regex split, byte-level
//!   mapping, BPE merges);
//! - bytes that are not valid UTF-8 (a chunk cut inside a character, binary
//!   data) become the single-byte token of their byte, since the trained
//!   vocabulary always holds all 256 byte tokens;
//! - decoding never goes through a string: each token id maps to its own
//!   bytes, and a sequence decodes to their concatenation.
//!
//! The tokenizer file is the `tokenizers` JSON; its [`Bpe::hash`] (FNV-1a 64
//! of the file's bytes) is what [`fingerprint`] mixes into a token-level
//! model's fingerprint, so a stream cannot be decoded with another
//! tokenizer.
//!
//! ```
//! let text = b"the cat sat on the mat; the cat sat on the hat. \xff\xfe";
//! let bpe = tokenize::Bpe::train(&[&text[..]], 300).unwrap();
//! let ids = bpe.encode(text);
//! assert!(ids.len() < text.len());
//! assert_eq!(bpe.decode(&ids).unwrap(), text);
//! // Files round-trip, hash included.
//! let again = tokenize::Bpe::from_json(bpe.json()).unwrap();
//! assert_eq!((again.hash(), again.encode(text)), (bpe.hash(), ids));
//! ```

use std::fmt;
use std::path::Path;

mod codec;
pub use codec::{decode_chunk, encode_chunk, Tokenized};

use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{
    DecoderWrapper, ModelWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
    Tokenizer, TokenizerBuilder,
};

/// The largest vocabulary a token id may address here (ids are stored as
/// `u16` in token caches, and `coder-core` codes at most 65,536 symbols).
pub const MAX_VOCAB: usize = 1 << 16;

/// The crate's error type.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The `tokenizers` library failed (training, parsing, encoding).
    Library(String),
    /// The tokenizer file is not a byte-level BPE tokenizer this crate can
    /// use losslessly (a missing byte token, a normalizer, a vocabulary
    /// too large ...).
    Unsupported(String),
    /// A token id outside the vocabulary.
    BadToken(u32),
    /// Reading or writing a tokenizer file.
    Io(std::path::PathBuf, std::io::Error),
    /// The model's alphabet is not the tokenizer's vocabulary.
    VocabMismatch {
        /// Symbols of the model.
        model: usize,
        /// Tokens of the tokenizer.
        tokenizer: usize,
    },
    /// The arithmetic coder failed (a corrupt or truncated chunk, ...).
    Coder(coder_core::Error),
    /// A coded chunk decodes to more bytes than its length, or to tokens
    /// that are not the tokenization of its bytes.
    Corrupt,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Library(m) => write!(f, "tokenizer: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported tokenizer: {m}"),
            Error::BadToken(t) => write!(f, "token id {t} is outside the tokenizer's vocabulary"),
            Error::Io(p, e) => write!(f, "cannot access tokenizer file {}: {e}", p.display()),
            Error::VocabMismatch { model, tokenizer } => write!(
                f,
                "the model predicts {model} symbols but the tokenizer has {tokenizer} tokens: not its tokenizer"
            ),
            Error::Coder(e) => write!(f, "token stream: {e:?}"),
            Error::Corrupt => write!(f, "corrupt token stream: it does not decode to its chunk"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

fn lib(e: impl fmt::Display) -> Error {
    Error::Library(e.to_string())
}

/// GPT-2's byte-to-character map (the `ByteLevel` alphabet): printable
/// Latin-1 bytes map to themselves, the others to `U+0100` on.
pub fn byte_chars() -> [char; 256] {
    let mut out = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable = (b'!' as u32..=b'~' as u32).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b);
        out[b as usize] = if printable {
            char::from_u32(b).expect("Latin-1")
        } else {
            n += 1;
            char::from_u32(255 + n).expect("below U+0200")
        };
    }
    out
}

/// A byte-level BPE tokenizer: lossless on any bytes.
pub struct Bpe {
    tok: Tokenizer,
    json: String,
    hash: u64,
    /// The bytes of each token id.
    pieces: Vec<Vec<u8>>,
    /// The id of each single-byte token.
    byte_ids: [u32; 256],
}

impl fmt::Debug for Bpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bpe")
            .field("vocab", &self.pieces.len())
            .field("hash", &format_args!("{:016x}", self.hash))
            .finish()
    }
}

impl Bpe {
    /// Trains a BPE tokenizer of `vocab` tokens (the 256 byte tokens
    /// included) on `texts` (each split at newlines and into valid UTF-8
    /// runs; invalid bytes are skipped for training, they still encode).
    pub fn train(texts: &[&[u8]], vocab: usize) -> Result<Self, Error> {
        if !(256..=MAX_VOCAB).contains(&vocab) {
            return Err(Error::Unsupported(format!(
                "a vocabulary of {vocab} (256..={MAX_VOCAB} tokens)"
            )));
        }
        let mut trainer: TrainerWrapper = BpeTrainerBuilder::new()
            .show_progress(false)
            .vocab_size(vocab)
            .min_frequency(0)
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build()
            .into();
        let mut tok = TokenizerBuilder::<
            ModelWrapper,
            NormalizerWrapper,
            PreTokenizerWrapper,
            PostProcessorWrapper,
            DecoderWrapper,
        >::new()
        .with_model(BPE::default().into())
        .with_normalizer(None)
        .with_pre_tokenizer(Some(byte_level().into()))
        .with_post_processor(None)
        .with_decoder(Some(byte_level().into()))
        .build()
        .map_err(lib)?;
        let lines = texts
            .iter()
            .flat_map(|t| t.split_inclusive(|&b| b == b'\n'))
            .flat_map(|line| line.utf8_chunks().map(|c| c.valid()))
            .filter(|s| !s.is_empty());
        tok.train(&mut trainer, lines).map_err(lib)?;
        let json = Tokenizer::from(tok).to_string(false).map_err(lib)?;
        Self::from_json(&json)
    }

    /// Parses a tokenizer file (the `tokenizers` JSON) and checks that it
    /// is byte-level and lossless.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let tok: Tokenizer = json.parse().map_err(lib)?;
        if tok.get_normalizer().is_some() {
            return Err(Error::Unsupported("it has a normalizer".into()));
        }
        match tok.get_pre_tokenizer() {
            Some(PreTokenizerWrapper::ByteLevel(b)) if !b.add_prefix_space => {}
            _ => {
                return Err(Error::Unsupported(
                    "its pre-tokenizer is not ByteLevel without a prefix space".into(),
                ))
            }
        }
        let vocab = tok.get_vocab_size(true);
        if !(256..=MAX_VOCAB).contains(&vocab) {
            return Err(Error::Unsupported(format!("a vocabulary of {vocab}")));
        }
        let mut to_byte = std::collections::HashMap::new();
        for (b, c) in byte_chars().into_iter().enumerate() {
            to_byte.insert(c, b as u8);
        }
        let mut pieces = Vec::with_capacity(vocab);
        for id in 0..vocab as u32 {
            let s = tok.id_to_token(id).ok_or_else(|| {
                Error::Unsupported(format!("token ids are not dense ({id} missing)"))
            })?;
            let bytes = s
                .chars()
                .map(|c| to_byte.get(&c).copied())
                .collect::<Option<Vec<u8>>>()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| {
                    Error::Unsupported(format!("token {id} ({s:?}) is not byte-level"))
                })?;
            pieces.push(bytes);
        }
        let mut byte_ids = [0u32; 256];
        for (b, c) in byte_chars().into_iter().enumerate() {
            byte_ids[b] = tok
                .token_to_id(&c.to_string())
                .ok_or_else(|| Error::Unsupported(format!("no token for byte {b:#04x}")))?;
        }
        Ok(Self {
            tok,
            hash: coder_core::fnv1a64(json.as_bytes()),
            json: json.to_string(),
            pieces,
            byte_ids,
        })
    }

    /// Reads a tokenizer file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let json = std::fs::read_to_string(path).map_err(|e| Error::Io(path.to_path_buf(), e))?;
        Self::from_json(&json)
    }

    /// Writes the tokenizer file (exactly [`Bpe::json`], so its hash stays).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        std::fs::write(path, self.json.as_bytes()).map_err(|e| Error::Io(path.to_path_buf(), e))
    }

    /// The tokenizer file's text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// FNV-1a 64 of the tokenizer file's bytes.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// Number of token ids (`0..vocab`).
    pub fn vocab(&self) -> usize {
        self.pieces.len()
    }

    /// The bytes of token `id`.
    pub fn piece(&self, id: u32) -> Option<&[u8]> {
        self.pieces.get(id as usize).map(|p| p.as_slice())
    }

    /// Token ids of `bytes` (any bytes: see the crate documentation).
    pub fn encode(&self, bytes: &[u8]) -> Vec<u32> {
        let mut out = Vec::with_capacity(bytes.len() / 2 + 1);
        for chunk in bytes.utf8_chunks() {
            let s = chunk.valid();
            if !s.is_empty() {
                match self.tok.encode(s, false) {
                    Ok(enc) => out.extend_from_slice(enc.get_ids()),
                    // Not expected with a byte-level BPE; bytes are still
                    // coded exactly, one token each.
                    Err(_) => out.extend(s.bytes().map(|b| self.byte_ids[b as usize])),
                }
            }
            out.extend(chunk.invalid().iter().map(|&b| self.byte_ids[b as usize]));
        }
        debug_assert_eq!(self.decode(&out).ok().as_deref(), Some(bytes));
        out
    }

    /// The bytes of a token sequence ([`Error::BadToken`] for an id outside
    /// the vocabulary).
    pub fn decode(&self, ids: &[u32]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            out.extend_from_slice(self.piece(id).ok_or(Error::BadToken(id))?);
        }
        Ok(out)
    }
}

fn byte_level() -> ByteLevel {
    ByteLevel::new(false, false, true)
}

/// The fingerprint of a token-level model: the model file's fingerprint
/// mixed with its tokenizer file's hash, so a stream coded with one pair
/// is refused by any other.
pub fn fingerprint(model: u64, tokenizer_hash: u64) -> u64 {
    let mut h = coder_core::Fingerprinter::new(b"lmc-token-model/1");
    h.write_u64(model);
    h.write_u64(tokenizer_hash);
    h.finish()
}
