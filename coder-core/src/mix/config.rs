//! [`MixConfig`]: the parameters of a [`Mixer`](super::Mixer), and where
//! its tables sit in the caller's storage.

use crate::{Error, Fingerprinter};

/// Most hashed context models (orders 1..=8, the word model, the sparse
/// contexts and the text contexts of [`MixConfig::text`]).
pub(crate) const MAX_CONTEXTS: usize = 9 + SPARSE_KINDS + TEXT_CONTEXTS;
/// Most hashed contexts the [`MixConfig::text`] features add.
pub(crate) const TEXT_CONTEXTS: usize = 9;
/// Kinds of sparse context ([`MixConfig::sparse`]).
pub(crate) const SPARSE_KINDS: usize = 3;
/// Mixer inputs: bias, external model, two from the match model, order 0
/// and the hashed contexts (two each with [`MixConfig::T_INPUTS2`]), and
/// a second match model's two.
pub(crate) const MAX_INPUTS: usize = 8 + 2 * MAX_CONTEXTS;
/// Inputs of the second mixer layer ([`MixConfig::T_MIX2`]): the three
/// first-layer mixers and a bias.
pub(crate) const MIX2_INPUTS: usize = 4;
/// Buckets of an adaptive probability map (every 128 stretch units over
/// `±2048`).
pub(crate) const APM_BUCKETS: usize = 33;

/// Parameters of a [`Mixer`](super::Mixer). Every field is part of the
/// [`fingerprint`](Self::fingerprint): a stream coded with one
/// configuration only decodes with the same one.
///
/// Start from a preset ([`host`](Self::host), [`embedded`](Self::embedded))
/// and adjust with the `const` builders; [`storage_len`](Self::storage_len)
/// is the number of bytes of memory the mixer needs.
///
/// ```
/// use coder_core::mix::MixConfig;
/// const CFG: MixConfig = MixConfig::embedded();
/// assert!(CFG.storage_len() < 64 * 1024);
/// assert!(MixConfig::host().storage_len() > 16 << 20);
/// // The text preset: under 100 MiB, much less for small blocks.
/// assert!(MixConfig::host2().storage_len() < 100 << 20);
/// assert!(MixConfig::host2().fit_to(1 << 16).storage_len() < 16 << 20);
/// assert_eq!(MixConfig::preset(3), Some(MixConfig::host2()));
/// assert_ne!(CFG.fingerprint(), MixConfig::host().fingerprint());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MixConfig {
    /// Hashed context orders: bit `k - 1` set means a model of the last
    /// `k` bytes (`k` in `1..=8`). An order-0 model is always present.
    pub orders: u8,
    /// A model of the current word (letters since the last non-letter,
    /// case-folded), for text.
    pub word: bool,
    /// Sparse contexts, for binary data with fixed strides (pixels,
    /// samples, records): bit 0 the two bytes before the previous one
    /// (`x[-3], x[-2]`), bit 1 the same channel of the last two 3-byte
    /// pixels (`x[-6], x[-3]`), bit 2 of the last two 4-byte words
    /// (`x[-8], x[-4]`).
    pub sparse: u8,
    /// The context models share `2^table_bits` slots of 16 bytes
    /// (`4..=22`).
    pub table_bits: u32,
    /// The match model's history holds the last `2^history_bits` bytes
    /// (`10..=30`), or 0 for no match model. Matches reach back at most
    /// this far, so make it as large as the blocks coded.
    pub history_bits: u32,
    /// The match model finds earlier occurrences of the last
    /// [`min_match`](Self::min_match) bytes in a table of `2^match_bits`
    /// positions (`8..=26`).
    pub match_bits: u32,
    /// Shortest match the match model follows (`3..=8` bytes).
    pub min_match: u32,
    /// The mixer keeps one weight set per partial byte (256); with
    /// `match_sets`, three times as many, also selected by the match
    /// length (none, short, long).
    pub match_sets: bool,
    /// Context of the first adaptive probability map: 8 (the partial byte)
    /// or 16 (and the previous byte).
    pub apm1_bits: u32,
    /// The second map's context is the partial byte and the two previous
    /// bytes hashed to `2^apm2_bits` (`8..=20`), or 0 for none.
    pub apm2_bits: u32,
    /// Mixer learning rate, `1..=64` (in units of about `2^-10`).
    pub mixer_rate: u32,
    /// Text features, a set of the `T_*` bits (0 in presets 1 and 2,
    /// which never change): each adds contexts or stages that pay on
    /// text and markup.
    pub text: u32,
}

impl MixConfig {
    /// The host preset: orders 2, 3, 4, 6, a word model and two sparse
    /// contexts (`x[-3], x[-2]` and `x[-6], x[-3]`) in 16 MiB of slots
    /// (order 1 is left to order 0, the Transformer and the sparse
    /// contexts: it cost a quarter of the time for 0.4% of held-out
    /// enwik8), a 16 MiB history (blocks up to 16 MiB) with a 4 MiB match
    /// index, two 4 MiB maps: about 45 MiB in all.
    /// [`fit_to`](Self::fit_to) shrinks it for small blocks.
    pub const fn host() -> Self {
        Self {
            orders: 0b0010_1110,
            word: true,
            sparse: 0b011,
            table_bits: 20,
            history_bits: 24,
            match_bits: 20,
            min_match: 6,
            match_sets: true,
            apm1_bits: 16,
            apm2_bits: 16,
            mixer_rate: 6,
            text: 0,
        }
    }

    /// The second host preset, for text (id 3): the [`host`](Self::host)
    /// preset plus orders 1, 5 and 8 (orders 1-6 and 8), and the text
    /// features [`T_WORD2`](Self::T_WORD2), [`T_COLUMN`](Self::T_COLUMN),
    /// [`T_INDIRECT`](Self::T_INDIRECT), [`T_WORD3`](Self::T_WORD3),
    /// [`T_MARKUP`](Self::T_MARKUP) (17 contexts in all),
    /// [`T_MIX2`](Self::T_MIX2) (a two-layer mixer) and
    /// [`T_SLOW`](Self::T_SLOW), with a slower mixer (rate 3) and 64 MiB
    /// of slots: about 93 MiB in all at 16 MiB blocks. On held-out enwik8
    /// and Wikipedia prose (half a megabyte each) it codes about 4%
    /// smaller than `host` at a bit over half its speed.
    pub const fn host2() -> Self {
        Self {
            orders: 0b1011_1111,
            table_bits: 22,
            mixer_rate: 3,
            text: Self::T_ALL & !Self::T_INPUTS2,
            ..Self::host()
        }
    }

    /// The microcontroller preset: orders 1 to 4 in 16 KiB of slots, an
    /// 8 KiB history with a 1 KiB match index, 12 KiB of mixer weights,
    /// one 17 KiB map: about 58 KiB in all.
    pub const fn embedded() -> Self {
        Self {
            orders: 0b0000_1111,
            word: false,
            sparse: 0,
            table_bits: 10,
            history_bits: 13,
            match_bits: 8,
            min_match: 5,
            match_sets: false,
            apm1_bits: 8,
            apm2_bits: 0,
            mixer_rate: 6,
            text: 0,
        }
    }

    /// A context of the current and previous words.
    pub const T_WORD2: u32 = 1;
    /// A context of the byte above (same column, previous line) and the
    /// previous byte.
    pub const T_COLUMN: u32 = 1 << 1;
    /// Indirect contexts: the bytes that followed the last occurrences of
    /// the previous byte, and of the previous two bytes.
    pub const T_INDIRECT: u32 = 1 << 2;
    /// Two mixer layers: three weight sets (partial byte and match
    /// state; previous byte; contexts seen before, match state and bit
    /// position) mixed by a small mixer selected by the partial byte.
    pub const T_MIX2: u32 = 1 << 3;
    /// A second input per context model: its stretched probability
    /// again where its bit history is deterministic (only zeros or only
    /// ones so far), else 0.
    pub const T_INPUTS2: u32 = 1 << 4;
    /// Context state maps count to 1023 (slower, more precise).
    pub const T_SLOW: u32 = 1 << 5;
    /// A context of the current and two previous words, and one of the
    /// current word and the one two back.
    pub const T_WORD3: u32 = 1 << 6;
    /// A context of the markup around (inside a tag, a `[[link]]`, a
    /// `{{template}}`, an `&entity;`) and the current word.
    pub const T_MARKUP: u32 = 1 << 7;
    /// All `T_*` bits this build has.
    pub const T_ALL: u32 = (1 << 8) - 1;

    /// The preset a container header names by `id` (its byte 7, see
    /// [`Coding`](crate::container::Coding)): 1 = [`host`](Self::host),
    /// 2 = [`embedded`](Self::embedded); `None` for an id this build does
    /// not have. A preset never changes once streams use it (a test pins
    /// their fingerprints): a new configuration gets a new id.
    ///
    /// ```
    /// use coder_core::mix::MixConfig;
    /// assert_eq!(MixConfig::preset(1), Some(MixConfig::host()));
    /// assert_eq!(MixConfig::preset(0), None);
    /// ```
    pub const fn preset(id: u8) -> Option<Self> {
        match id {
            1 => Some(Self::host()),
            2 => Some(Self::embedded()),
            3 => Some(Self::host2()),
            _ => None,
        }
    }

    /// This configuration with its tables no larger than a block of
    /// `block_len` bytes can use: the history just holds the block, and
    /// the hashed tables get about 4 slots and 1 match entry per byte. A
    /// [`reset`](super::Mixer::reset) clears all tables, so for small
    /// blocks this is what keeps it cheap. Encoder and decoder must call
    /// it with the same length.
    pub const fn fit_to(mut self, block_len: usize) -> Self {
        let bits = usize::BITS - block_len.saturating_sub(1).leading_zeros();
        let hist = if bits < 10 { 10 } else { bits };
        if self.history_bits > hist {
            self.history_bits = hist;
        }
        if self.match_bits > hist {
            self.match_bits = if hist < 8 { 8 } else { hist };
        }
        let slots = hist + 2;
        if self.table_bits > slots {
            self.table_bits = slots;
        }
        if self.apm2_bits > hist {
            self.apm2_bits = hist;
        }
        self
    }

    /// With the match model's history of `2^bits` bytes (0 turns the
    /// match model off).
    pub const fn with_history_bits(mut self, bits: u32) -> Self {
        self.history_bits = bits;
        self
    }

    /// With `2^bits` context slots.
    pub const fn with_table_bits(mut self, bits: u32) -> Self {
        self.table_bits = bits;
        self
    }

    /// Number of hashed context models.
    pub const fn contexts(&self) -> usize {
        self.orders.count_ones() as usize
            + self.word as usize
            + (self.sparse & ((1 << SPARSE_KINDS) - 1)).count_ones() as usize
            + self.text_contexts()
    }

    /// Number of hashed contexts the text features add.
    pub const fn text_contexts(&self) -> usize {
        let t = self.text;
        (t & Self::T_WORD2 != 0) as usize
            + (t & Self::T_COLUMN != 0) as usize
            + 2 * (t & Self::T_INDIRECT != 0) as usize
            + 2 * (t & Self::T_WORD3 != 0) as usize
            + (t & Self::T_MARKUP != 0) as usize
    }

    /// Number of mixer inputs.
    pub const fn inputs(&self) -> usize {
        // bias, external (two), order 0, hashed contexts, match (two)
        let per = if self.text & Self::T_INPUTS2 != 0 {
            2
        } else {
            1
        };
        4 + per * self.contexts() + if self.history_bits > 0 { 2 } else { 0 }
    }

    /// Weight sets of the second and third first-layer mixers
    /// ([`T_MIX2`](Self::T_MIX2)): 256 by previous byte, then 16 * 3 * 8
    /// by known contexts, match state and bit position.
    pub(crate) const fn mix2_sets(&self) -> usize {
        if self.text & Self::T_MIX2 != 0 {
            256 + 16 * 3 * 8
        } else {
            0
        }
    }

    /// Contexts of the map that calibrates the external model: the partial
    /// byte with a 16-bit first map, else the bit position.
    pub(crate) const fn ext_contexts(&self) -> usize {
        if self.apm1_bits == 16 {
            256
        } else {
            8
        }
    }

    /// Number of mixer weight sets.
    pub const fn weight_sets(&self) -> usize {
        if self.match_sets {
            3 * 256
        } else {
            256
        }
    }

    /// Bytes of storage a [`Mixer`](super::Mixer) with this configuration
    /// needs (see [`Mixer::new_in`](super::Mixer::new_in)).
    pub const fn storage_len(&self) -> usize {
        self.layout().end
    }

    pub(crate) const fn layout(&self) -> Layout {
        let table = 0;
        let order0 = table + (16usize << self.table_bits);
        let state_maps = order0 + 256;
        let history = state_maps + 4 * 256 * (1 + self.contexts());
        let (hist_len, index_len, match_map_len) = if self.history_bits > 0 {
            (
                1usize << self.history_bits,
                4usize << self.match_bits,
                4 * 64,
            )
        } else {
            (0, 0, 0)
        };
        let match_index = history + hist_len;
        let match_map = match_index + index_len;
        let weights = match_map + match_map_len;
        let weights2 = weights + 4 * self.inputs() * self.weight_sets();
        let indirect = weights2
            + 4 * self.inputs() * self.mix2_sets()
            + if self.text & Self::T_MIX2 != 0 {
                4 * MIX2_INPUTS * 256
            } else {
                0
            };
        let apm1 = indirect
            + if self.text & Self::T_INDIRECT != 0 {
                2 * (256 + 65536)
            } else {
                0
            };
        let apm2 = apm1 + 2 * APM_BUCKETS * (1usize << self.apm1_bits);
        let ext_apm = apm2
            + if self.apm2_bits > 0 {
                2 * APM_BUCKETS * (1usize << self.apm2_bits)
            } else {
                0
            };
        let end = ext_apm + 2 * APM_BUCKETS * self.ext_contexts();
        Layout {
            table,
            order0,
            state_maps,
            history,
            match_index,
            match_map,
            weights,
            weights2,
            indirect,
            apm1,
            apm2,
            ext_apm,
            end,
        }
    }

    /// Checks every field's range.
    pub const fn check(&self) -> Result<(), Error> {
        let ok = self.sparse < (1 << SPARSE_KINDS)
            && self.table_bits >= 4
            && self.table_bits <= 22
            && (self.history_bits == 0 || (self.history_bits >= 10 && self.history_bits <= 30))
            && self.match_bits >= 8
            && self.match_bits <= 26
            && self.min_match >= 3
            && self.min_match <= 8
            && (self.apm1_bits == 8 || self.apm1_bits == 16)
            && (self.apm2_bits == 0 || (self.apm2_bits >= 8 && self.apm2_bits <= 20))
            && self.mixer_rate >= 1
            && self.mixer_rate <= 64
            && self.text & !Self::T_ALL == 0;
        if ok {
            Ok(())
        } else {
            Err(Error::BadConfig)
        }
    }

    /// Identifies the configuration (and this coder's version): a stream
    /// coded with one configuration is refused by another.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fingerprinter::new(b"coder-core/mix/1");
        for x in [
            u32::from(self.orders),
            u32::from(self.word),
            u32::from(self.sparse),
            self.table_bits,
            self.history_bits,
            self.match_bits,
            self.min_match,
            u32::from(self.match_sets),
            self.apm1_bits,
            self.apm2_bits,
            self.mixer_rate,
        ] {
            h.write_u32(x);
        }
        // Only configurations with text features hash it, so that those
        // without keep the fingerprints they always had.
        if self.text != 0 {
            h.write_u32(self.text);
        }
        h.finish()
    }
}

/// Byte offsets of the tables in the storage.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub table: usize,
    pub order0: usize,
    pub state_maps: usize,
    pub history: usize,
    pub match_index: usize,
    pub match_map: usize,
    pub weights: usize,
    pub weights2: usize,
    pub indirect: usize,
    pub apm1: usize,
    pub apm2: usize,
    pub ext_apm: usize,
    pub end: usize,
}
