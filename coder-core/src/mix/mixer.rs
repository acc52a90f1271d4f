//! [`Mixer`]: the bitwise predictor. Per bit it gathers the inputs (an
//! external model's bit probability, the match model, order-0 and hashed
//! context models), mixes them in the logistic domain with weights chosen
//! by a small context, refines the result with adaptive probability maps,
//! and after the bit is known, trains every part.

use super::config::{Layout, MixConfig, MAX_CONTEXTS, MAX_INPUTS, MIX2_INPUTS};
use super::counter::{apm_init, apm_p, apm_update, sm_init, sm_p16, sm_update, APM_LEN};
use super::media::{Ctx, Media, Past};
use super::mem::{hash, rd16, rd32, wr16, wr32};
use super::tables::{cost_q16, squash, stretch, stretch_odds, ST_MAX};
use crate::media::Region;
use crate::{Error, FreqTable};

/// A state map's count limit for the context models (slow, stationary).
const SM_LIMIT: u32 = 255;
/// The match model's count limit.
const MATCH_LIMIT: u32 = 1023;
/// Adaptation rates (`2^-rate`) of the two probability maps.
const APM_RATE: u32 = 7;
/// Longest match the match model verifies when it finds a candidate.
const VERIFY: u32 = 32;
/// Mixer weights are Q16 (`1.0 = 65536`) and kept within `±WEIGHT_MAX`.
const WEIGHT_MAX: i32 = 1 << 22;
/// Starting weight of the inputs other than the external model's.
const INIT_WEIGHT: i32 = 0;
/// Starting weights of the final mix (mixer, first map, second map).
const FINAL_INIT: [[i32; 3]; 2] = [[16384, 49152, 0], [16384, 24576, 24576]];
/// Adaptation rate of the map that calibrates the external model.
const EXT_RATE: u32 = 6;
/// Learning rate of the final mix.
const FINAL_RATE: i64 = 2;
/// Salts that keep the contexts' hashes apart.
const SALT: u64 = 0x632B_E59B_D9B4_E019;

/// A context-mixing bit predictor over caller-provided memory (see the
/// [module docs](super) for the design and an example).
///
/// `S` is the storage, at least [`MixConfig::storage_len`] bytes: an array,
/// `&mut [u8]`, or (with `alloc`) a `Vec<u8>`. The mixer is a deterministic
/// function of the bits it has been told since the last
/// [`reset`](Self::reset) and of the external tables it was given, so an
/// encoder and a decoder with the same configuration agree bit for bit on
/// every machine.
#[derive(Clone, Debug)]
pub struct Mixer<S> {
    cfg: MixConfig,
    lay: Layout,
    mem: S,
    fingerprint: u64,
    n_inputs: usize,
    /// The current byte's bits so far, after a leading 1.
    c0: u32,
    /// Bits of the current byte coded (`0..8`).
    bits: u32,
    /// The last 8 bytes, the newest in the low byte.
    hist: u64,
    word: u32,
    /// The previous word's hash ([`MixConfig::T_WORD2`]).
    word1: u32,
    word2: u32,
    /// Markup nesting ([`MixConfig::T_MARKUP`]): bit 0 in a tag, 1 in a
    /// link, 2 in a template, 3 in an entity; bits 8.. the byte before
    /// the last one opened.
    nest: u32,
    /// History positions of the current and previous lines' starts
    /// ([`MixConfig::T_COLUMN`]).
    line_start: u32,
    prev_line: u32,
    /// Each hashed context's hash for the current byte.
    ctx_hash: [u32; MAX_CONTEXTS],
    /// Byte offset of each hashed context's current 16-byte slot.
    slot: [usize; MAX_CONTEXTS],
    /// Bytes coded since the reset.
    pos: u32,
    /// The match model: position of the predicted byte and match length
    /// (0: no match).
    mptr: u32,
    mlen: u32,
    // The prediction in flight.
    predicted: bool,
    x: [i32; MAX_INPUTS],
    /// Offsets of the state bytes used (order 0, then the contexts).
    state_at: [usize; MAX_CONTEXTS + 1],
    match_bit: Option<(u32, usize)>,
    weights_at: usize,
    p_mix: i32,
    /// The second and third first-layer mixers' weights, the second
    /// layer's, and the three first-layer outputs ([`MixConfig::T_MIX2`]).
    weights2_at: [usize; 3],
    p_l1: [i32; 3],
    x2: [i32; MIX2_INPUTS],
    apm_at: [usize; 2],
    ext_at: Option<usize>,
    final_w: [[i32; 3]; 8],
    final_x: [i32; 3],
    p_final: i32,
    p1: u16,
    // The ideal cost of what was coded.
    cost_q16: u64,
    bits_coded: u64,
    /// The media model (inactive without a region).
    media: Media,
    /// Its view of the current byte (`None`: a text byte).
    mctx: Option<Ctx>,
    /// Bytes coded since the reset.
    done: u64,
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> Mixer<S> {
    /// A mixer over `storage` (at least [`MixConfig::storage_len`] bytes;
    /// any contents), reset and ready to code. [`Error::BadConfig`] for an
    /// out-of-range configuration or too little storage.
    pub fn new_in(cfg: MixConfig, storage: S) -> Result<Self, Error> {
        cfg.check()?;
        if storage.as_ref().len() < cfg.storage_len() {
            return Err(Error::BadConfig);
        }
        let mut m = Self {
            cfg,
            lay: cfg.layout(),
            mem: storage,
            fingerprint: cfg.fingerprint(),
            n_inputs: cfg.inputs(),
            c0: 1,
            bits: 0,
            hist: 0,
            word: 0,
            word1: 0,
            word2: 0,
            nest: 0,
            line_start: 0,
            prev_line: 0,
            ctx_hash: [0; MAX_CONTEXTS],
            slot: [0; MAX_CONTEXTS],
            pos: 0,
            mptr: 0,
            mlen: 0,
            predicted: false,
            x: [0; MAX_INPUTS],
            state_at: [0; MAX_CONTEXTS + 1],
            match_bit: None,
            weights_at: 0,
            p_mix: 32768,
            weights2_at: [0; 3],
            p_l1: [32768; 3],
            x2: [0; MIX2_INPUTS],
            apm_at: [0; 2],
            ext_at: None,
            final_w: [[0; 3]; 8],
            final_x: [0; 3],
            p_final: 32768,
            p1: 32768,
            cost_q16: 0,
            bits_coded: 0,
            media: Media::default(),
            mctx: None,
            done: 0,
        };
        m.reset();
        Ok(m)
    }

    /// The configuration.
    pub fn config(&self) -> &MixConfig {
        &self.cfg
    }

    /// [`MixConfig::fingerprint`] of the configuration.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Tells the mixer that bytes `region.start..region.start +
    /// region.len` of the original data are pixels or samples
    /// ([`crate::media`]), and that the chunks it codes from now on start
    /// at byte `chunk_start` of that data (encoder and decoder must say
    /// the same). It then codes those bytes with the image or audio model
    /// in place of the text contexts. `None` turns that off (the
    /// default). Kept across [`reset`](Self::reset); the model only looks
    /// back as far as the history reaches ([`MixConfig::history_bits`]).
    pub fn set_region(&mut self, region: Option<Region>, chunk_start: u64) {
        self.media.set(region, chunk_start);
        self.byte_contexts();
    }

    /// Forgets everything learned, as at the start of every chunk: clears
    /// or re-initializes all tables (`O(storage_len)`, except the match
    /// history, which is only read where written). The cost accumulator is
    /// not touched.
    pub fn reset(&mut self) {
        let lay = self.lay;
        let cfg = self.cfg;
        let n = self.n_inputs;
        let m = self.mem.as_mut();
        m[lay.table..lay.state_maps].fill(0);
        for c in 0..=cfg.contexts() {
            sm_init(m, lay.state_maps + 1024 * c);
        }
        m[lay.match_index..lay.match_map].fill(0);
        for o in (lay.match_map..lay.weights).step_by(4) {
            wr32(m, o, 1 << 31);
        }
        for set in 0..cfg.weight_sets() {
            let o = lay.weights + 4 * n * set;
            for i in 0..n {
                let w = if i == 1 { 65536 } else { INIT_WEIGHT };
                wr32(m, o + 4 * i, w as u32);
            }
        }
        for set in 0..cfg.mix2_sets() {
            let o = lay.weights2 + 4 * n * set;
            for i in 0..n {
                let w = if i == 1 { 65536 } else { INIT_WEIGHT };
                wr32(m, o + 4 * i, w as u32);
            }
        }
        if cfg.text & MixConfig::T_MIX2 != 0 {
            let o = lay.weights2 + 4 * n * cfg.mix2_sets();
            for set in 0..256 {
                for i in 0..MIX2_INPUTS {
                    let w = if i < 3 { 65536 / 3 } else { 0 };
                    wr32(m, o + 4 * (MIX2_INPUTS * set + i), w as u32);
                }
            }
        }
        m[lay.indirect..lay.apm1].fill(0);
        apm_init(m, lay.apm1, 1 << cfg.apm1_bits);
        apm_init(m, lay.ext_apm, cfg.ext_contexts());
        if cfg.apm2_bits > 0 {
            apm_init(m, lay.apm2, 1 << cfg.apm2_bits);
        }
        self.final_w = [FINAL_INIT[usize::from(cfg.apm2_bits > 0)]; 8];
        self.c0 = 1;
        self.bits = 0;
        self.hist = 0;
        self.word = 0;
        self.word1 = 0;
        self.word2 = 0;
        self.nest = 0;
        self.line_start = 0;
        self.prev_line = 0;
        self.pos = 0;
        self.mptr = 0;
        self.mlen = 0;
        self.predicted = false;
        self.done = 0;
        self.media.reset();
        self.byte_contexts();
    }

    /// Ideal code length, in `2^-16` bits, of the bits coded (or told to
    /// [`update`](Self::update)) since [`new_in`](Self::new_in) or
    /// [`clear_cost`](Self::clear_cost): `Σ -log2 p` of the probabilities
    /// given to the bits that occurred, from an integer `log2` table
    /// (within about `2^-14` bits a bit).
    pub fn cost_q16(&self) -> u64 {
        self.cost_q16
    }

    /// Bits predicted and updated since [`new_in`](Self::new_in) or
    /// [`clear_cost`](Self::clear_cost).
    pub fn bits_coded(&self) -> u64 {
        self.bits_coded
    }

    /// [`cost_q16`](Self::cost_q16) as bits per byte (for reports).
    pub fn bits_per_byte(&self) -> f64 {
        if self.bits_coded == 0 {
            0.0
        } else {
            self.cost_q16 as f64 / 65536.0 / (self.bits_coded as f64 / 8.0)
        }
    }

    /// Sets the cost accumulator (for a chunk coded another way, see
    /// [`encode_chunk_either`](Self::encode_chunk_either)).
    pub(super) fn set_cost(&mut self, cost_q16: u64, bits_coded: u64) {
        self.cost_q16 = cost_q16;
        self.bits_coded = bits_coded;
    }

    /// Zeroes the cost accumulator.
    pub fn clear_cost(&mut self) {
        self.cost_q16 = 0;
        self.bits_coded = 0;
    }

    /// The probability, in `2^-16` (`1..=65535`), that the next bit (most
    /// significant first) of the current byte is a one.
    ///
    /// `ext` is the external model's distribution of the whole current
    /// byte (256 symbols, any precision), the same table for each of the
    /// byte's 8 bits; its bit probability is its mass on the one branch
    /// over the mass of the current node. Without one the mixer predicts
    /// on its own. A table of another size is [`Error::BadAlphabet`].
    pub fn predict(&mut self, ext: Option<&FreqTable<&[u32]>>) -> Result<u16, Error> {
        let st_ext = match ext {
            Some(t) => {
                let cum = t.cumulative();
                if cum.len() != 257 {
                    return Err(Error::BadAlphabet);
                }
                let k = self.bits;
                // The coded byte is `byte - rot`: its node covers the
                // original bytes `lo + rot ..`, wrapping at 256.
                let lo = ((self.c0 - (1 << k)) << (8 - k)) as usize + self.rot() as usize;
                let half = 1usize << (7 - k);
                let mass = |from: usize| {
                    let (a, b) = (from & 255, (from & 255) + half);
                    if b <= 256 {
                        cum[b].wrapping_sub(cum[a])
                    } else {
                        cum[256].wrapping_sub(cum[a]).wrapping_add(cum[b - 256])
                    }
                };
                let m0 = mass(lo);
                let m1 = mass(lo + half);
                stretch_odds(m1.max(1), m0.max(1))
            }
            None => 0,
        };
        Ok(self.predict_inner(st_ext, ext.is_some()))
    }

    fn predict_inner(&mut self, st_ext: i32, has_ext: bool) -> u16 {
        let lay = self.lay;
        let cfg = self.cfg;
        let m = self.mem.as_mut();
        let c0 = self.c0 as usize;
        let mut x = [0i32; MAX_INPUTS];
        x[0] = 256;
        x[1] = st_ext;
        // The external model calibrated: a map from its stretched
        // probability to what it turned out to be worth.
        self.ext_at = None;
        if has_ext {
            let ctx = if cfg.ext_contexts() == 256 {
                c0
            } else {
                self.bits as usize
            };
            let (pe, at) = apm_p(m, lay.ext_apm + APM_LEN * ctx, st_ext);
            self.ext_at = Some(at);
            x[2] = stretch(pe);
        }
        // Order 0, then the hashed contexts at their nibble node.
        let at = lay.order0 + c0;
        self.state_at[0] = at;
        x[3] = stretch(sm_p16(m, lay.state_maps + 4 * m[at] as usize));
        let k = self.bits & 3;
        let node = ((1 << k) | (self.c0 & ((1 << k) - 1))) as usize;
        let nc = cfg.contexts();
        let mut known = 0;
        for i in 0..nc {
            let at = self.slot[i] + node;
            self.state_at[i + 1] = at;
            known += usize::from(m[at] != 0);
            let sm = lay.state_maps + 1024 * (i + 1) + 4 * m[at] as usize;
            x[4 + i] = stretch(sm_p16(m, sm));
        }
        let mut n = 4 + nc;
        // The match model, while the current byte agrees with its guess.
        let mut mstate = 0;
        self.match_bit = None;
        if cfg.history_bits > 0 {
            if self.mlen > 0 {
                let hmask = (1usize << cfg.history_bits) - 1;
                let guess = u32::from(m[lay.history + (self.mptr as usize & hmask)]) | 256;
                if guess >> (8 - self.bits) == self.c0 {
                    let bit = (guess >> (7 - self.bits)) & 1;
                    let len = self.mlen;
                    let bucket = if len < 16 { len } else { 12 + len.ilog2() };
                    let sm = lay.match_map + 4 * (2 * bucket + bit) as usize;
                    self.match_bit = Some((bit, sm));
                    let st = stretch(sm_p16(m, sm));
                    let sure = (len.min(32) * 64) as i32;
                    x[n] = st;
                    x[n + 1] = if bit != 0 { sure } else { -sure };
                    mstate = if len < 16 { 1 } else { 2 };
                } else {
                    self.mlen = 0;
                }
            }
            n += 2;
        }
        if cfg.text & MixConfig::T_INPUTS2 != 0 {
            for i in 0..nc {
                let s = m[self.state_at[i + 1]];
                let det = (s >> 4 == 0) != (s & 15 == 0);
                x[n + i] = if det { x[4 + i] } else { 0 };
            }
            n += nc;
        }
        // Mix.
        if let Some(mc) = self.mctx {
            mstate = usize::from(mc.set);
        }
        let set = if cfg.match_sets {
            c0 + 256 * mstate
        } else {
            c0
        };
        let wo = lay.weights + 4 * self.n_inputs * set;
        self.weights_at = wo;
        let mut st = dot(m, wo, &x[..n]);
        if cfg.text & MixConfig::T_MIX2 != 0 {
            // Two more weight sets, and a second layer that mixes the
            // three mixers' opinions.
            let c1 = (self.hist & 0xFF) as usize;
            let b = self.bits as usize;
            let wb = lay.weights2 + 4 * self.n_inputs * c1;
            let sc = (known.min(15) * 3 + mstate) * 8 + b;
            let wc = lay.weights2 + 4 * self.n_inputs * (256 + sc);
            let stb = dot(m, wb, &x[..n]);
            let stc = dot(m, wc, &x[..n]);
            self.p_l1 = [st, stb, stc].map(|s| squash(s).clamp(1, 65535));
            let w2 = lay.weights2 + 4 * self.n_inputs * cfg.mix2_sets() + 4 * MIX2_INPUTS * c0;
            self.weights2_at = [wb, wc, w2];
            self.x2 = [st, stb, stc, 256];
            st = dot(m, w2, &self.x2);
        }
        let p_mix = squash(st).clamp(1, 65535);
        self.p_mix = p_mix;
        self.x = x;
        // Refine.
        let c1 = match self.mctx {
            Some(mc) => usize::from(mc.apm1),
            None => (self.hist & 0xFF) as usize,
        };
        let ctx1 = if cfg.apm1_bits == 16 {
            c0 | c1 << 8
        } else {
            c0
        };
        let (pa, at) = apm_p(m, lay.apm1 + APM_LEN * ctx1, st);
        self.apm_at[0] = at;
        let mut f = [st, stretch(pa), 0];
        if cfg.apm2_bits > 0 {
            // Rows of one byte context sit together (fewer cache misses).
            let key = self
                .mctx
                .map_or((self.hist & 0xFFFF) | 1 << 40, |mc| mc.apm2);
            let h = hash(key) as usize;
            let ctx2 = (h + c0) & ((1 << cfg.apm2_bits) - 1);
            let (pb, at) = apm_p(m, lay.apm2 + APM_LEN * ctx2, st);
            self.apm_at[1] = at;
            f[2] = stretch(pb);
        }
        // The final mix of the mixer's and the maps' opinions.
        let fw = &self.final_w[self.bits as usize];
        let fdot: i64 = (0..3).map(|i| i64::from(fw[i]) * i64::from(f[i])).sum();
        let p = squash((fdot >> 16).clamp(-i64::from(ST_MAX), i64::from(ST_MAX)) as i32) as u32;
        self.final_x = f;
        self.p_final = p as i32;
        let p = p.clamp(1, 65535) as u16;
        self.p1 = p;
        self.predicted = true;
        p
    }

    /// Trains on the bit that occurred, after [`predict`](Self::predict)
    /// (without one, it first predicts with no external model).
    pub fn update(&mut self, bit: bool) {
        if !self.predicted {
            self.predict_inner(0, false);
        }
        self.predicted = false;
        let y = u32::from(bit);
        let lay = self.lay;
        let cfg = self.cfg;
        let m = self.mem.as_mut();
        let p_bit = if bit {
            self.p1 as u32
        } else {
            65536 - self.p1 as u32
        };
        self.cost_q16 += u64::from(cost_q16(p_bit));
        self.bits_coded += 1;
        // Bit histories and their maps.
        let nc = cfg.contexts();
        let limit = if cfg.text & MixConfig::T_SLOW != 0 {
            1023
        } else {
            SM_LIMIT
        };
        for (i, &at) in self.state_at[..=nc].iter().enumerate() {
            let s = m[at] as usize;
            sm_update(m, lay.state_maps + 1024 * i + 4 * s, y, limit);
            m[at] = super::tables::STATE_NEXT[s][y as usize];
        }
        if let Some((expected, sm)) = self.match_bit {
            sm_update(m, sm, y, MATCH_LIMIT);
            if expected != y {
                self.mlen = 0;
            }
        }
        // The mixer: gradient step on the coding cost.
        // Faster at first, while the weights are far from where they settle.
        let boost = 16 + 240 / (1 + i64::from(self.pos >> 10));
        let rate = i64::from(cfg.mixer_rate) * boost;
        let n = self.n_inputs;
        if cfg.text & MixConfig::T_MIX2 != 0 {
            let [wb, wc, w2] = self.weights2_at;
            let err = |p: i32| (((y << 16) as i32 - p) as i64 * rate) >> 4;
            train(m, self.weights_at, &self.x[..n], err(self.p_l1[0]));
            train(m, wb, &self.x[..n], err(self.p_l1[1]));
            train(m, wc, &self.x[..n], err(self.p_l1[2]));
            train(m, w2, &self.x2, err(self.p_mix));
        } else {
            let err = (((y << 16) as i32 - self.p_mix) as i64 * rate) >> 4;
            train(m, self.weights_at, &self.x[..n], err);
        }
        let err = ((y << 16) as i32 - self.p_final) as i64 * FINAL_RATE;
        for (w, &xi) in self.final_w[self.bits as usize]
            .iter_mut()
            .zip(&self.final_x)
        {
            *w = (i64::from(*w) + ((i64::from(xi) * err) >> 18))
                .clamp(-i64::from(WEIGHT_MAX), i64::from(WEIGHT_MAX)) as i32;
        }
        apm_update(m, self.apm_at[0], y, APM_RATE);
        if let Some(at) = self.ext_at {
            apm_update(m, at, y, EXT_RATE);
        }
        if cfg.apm2_bits > 0 {
            apm_update(m, self.apm_at[1], y, APM_RATE);
        }
        // Next bit.
        self.c0 = (self.c0 << 1) | y;
        self.bits += 1;
        if self.bits == 8 {
            self.end_byte((self.c0 as u8).wrapping_add(self.rot()));
        } else if self.bits == 4 {
            for i in 0..nc {
                let h = hash(u64::from(self.ctx_hash[i]) << 8 | u64::from(self.c0));
                self.slot[i] = self.find_slot(h);
            }
        }
    }

    /// What the current byte is coded against: it is coded as `byte -
    /// rot` (wrapping); 0 outside a media region.
    #[inline]
    pub(super) fn rot(&self) -> u8 {
        self.mctx.map_or(0, |mc| mc.rot)
    }

    /// The original bytes coded so far in this chunk, as the media model
    /// sees them.
    fn past<'m>(mem: &'m [u8], cfg: &MixConfig, lay: &Layout, pos: u32, done: u64) -> Past<'m> {
        let (hist, pos) = if cfg.history_bits > 0 {
            (&mem[lay.history..lay.match_index], pos as usize)
        } else {
            (&[][..], 0)
        };
        let avail = done.min(hist.len() as u64);
        Past { hist, pos, avail }
    }

    /// Byte boundary: the match model and the contexts move on.
    fn end_byte(&mut self, byte: u8) {
        if self.mctx.is_some() {
            let past = Self::past(self.mem.as_ref(), &self.cfg, &self.lay, self.pos, self.done);
            self.media.coded(&past, self.done, byte);
        }
        self.done += 1;
        self.c0 = 1;
        self.bits = 0;
        let cfg = self.cfg;
        if cfg.text & MixConfig::T_INDIRECT != 0 {
            // What followed the previous byte, and the previous two bytes.
            let lay = self.lay;
            let m = self.mem.as_mut();
            let o1 = lay.indirect + 2 * (self.hist & 0xFF) as usize;
            let o2 = lay.indirect + 512 + 2 * (self.hist & 0xFFFF) as usize;
            for o in [o1, o2] {
                wr16(m, o, rd16(m, o) << 8 | u32::from(byte));
            }
        }
        if !byte.is_ascii_alphabetic() && self.word != 0 {
            self.word2 = self.word1;
            self.word1 = self.word;
        }
        if cfg.text & MixConfig::T_MARKUP != 0 {
            let prev = (self.hist & 0xFF) as u8;
            let bit = match (prev, byte) {
                (_, b'<') | (_, b'>') => 1,
                (b'[', b'[') | (b']', b']') => 2,
                (b'{', b'{') | (b'}', b'}') => 4,
                (_, b'&') | (_, b';') => 8,
                _ => 0,
            };
            if bit != 0 {
                if matches!(byte, b'<' | b'[' | b'{' | b'&') {
                    self.nest = (self.nest | bit) & 0xFF | u32::from(prev) << 8;
                } else {
                    self.nest &= !bit;
                }
            }
            if self.nest & 8 != 0 && (byte == b' ' || byte == b'\n') {
                self.nest &= !8;
            }
        }
        self.hist = (self.hist << 8) | u64::from(byte);
        self.word = if byte.is_ascii_alphabetic() {
            (self.word ^ u32::from(byte.to_ascii_lowercase())).wrapping_mul(0x2F0B_4F27)
        } else {
            0
        };
        if cfg.history_bits > 0 {
            let lay = self.lay;
            let m = self.mem.as_mut();
            let size = 1u32 << cfg.history_bits.min(31);
            let hmask = (size - 1) as usize;
            m[lay.history + (self.pos as usize & hmask)] = byte;
            self.pos = self.pos.wrapping_add(1);
            if byte == b'\n' {
                self.prev_line = self.line_start;
                self.line_start = self.pos;
            }
            if self.mlen > 0 {
                // The whole byte agreed (a wrong bit zeroes `mlen`).
                self.mlen = (self.mlen + 1).min(65535);
                self.mptr = self.mptr.wrapping_add(1);
            }
            if self.pos >= cfg.min_match && self.pos < u32::MAX {
                let key = self.hist & (u64::MAX >> (64 - 8 * cfg.min_match));
                let at = lay.match_index + 4 * (hash(key) >> (32 - cfg.match_bits)) as usize;
                if self.mlen == 0 {
                    let cand = rd32(m, at);
                    let dist = self.pos.wrapping_sub(cand);
                    if cand > 0 && cand < self.pos && dist < size {
                        let mut len = 0;
                        while len < VERIFY
                            && len < cand
                            && dist + 1 + len <= size
                            && m[lay.history + ((cand - 1 - len) as usize & hmask)]
                                == m[lay.history + ((self.pos - 1 - len) as usize & hmask)]
                        {
                            len += 1;
                        }
                        if len >= cfg.min_match {
                            self.mlen = len;
                            self.mptr = cand;
                        }
                    }
                }
                wr32(m, at, self.pos);
            }
        }
        self.byte_contexts();
    }

    /// The hashed contexts of a new byte, and their first-nibble slots.
    fn byte_contexts(&mut self) {
        let nc = self.cfg.contexts();
        let past = Self::past(self.mem.as_ref(), &self.cfg, &self.lay, self.pos, self.done);
        let mut hashes = [0u32; MAX_CONTEXTS];
        if self.cfg.text != 0 {
            // Contexts the media model leaves alone stay apart (order 0).
            for (j, h) in hashes.iter_mut().enumerate() {
                *h = hash(SALT.wrapping_mul(32 + j as u64));
            }
        }
        self.mctx = self.media.contexts(&past, self.done, &mut hashes[..nc]);
        if self.mctx.is_some() {
            self.ctx_hash = hashes;
            for j in 0..nc {
                self.slot[j] = self.find_slot(self.ctx_hash[j]);
            }
            return;
        }
        let mut i = 0;
        for k in 1..=8u32 {
            if self.cfg.orders & (1 << (k - 1)) != 0 {
                let key = self.hist & (u64::MAX >> (64 - 8 * k));
                self.ctx_hash[i] = hash(key ^ SALT.wrapping_mul(u64::from(k)));
                i += 1;
            }
        }
        if self.cfg.word {
            let key = u64::from(self.word) << 8 | (self.hist & 0xFF);
            self.ctx_hash[i] = hash(key ^ SALT.wrapping_mul(9));
            i += 1;
        }
        let byte = |k: u32| (self.hist >> (8 * (k - 1))) & 0xFF;
        for (kind, key) in [
            byte(3) << 8 | byte(2),
            byte(6) << 8 | byte(3),
            byte(8) << 8 | byte(4),
        ]
        .into_iter()
        .enumerate()
        {
            if self.cfg.sparse & (1 << kind) != 0 {
                self.ctx_hash[i] = hash(key ^ SALT.wrapping_mul(10 + kind as u64));
                i += 1;
            }
        }
        let t = self.cfg.text;
        let mut text = |key: u64, k: u64| {
            self.ctx_hash[i] = hash(key ^ SALT.wrapping_mul(16 + k));
            i += 1;
        };
        if t & MixConfig::T_WORD2 != 0 {
            text(u64::from(self.word) << 32 | u64::from(self.word1), 0);
        }
        if t & MixConfig::T_WORD3 != 0 {
            let w01 = u64::from(self.word) << 32 | u64::from(self.word1);
            text(w01 ^ u64::from(self.word2).wrapping_mul(SALT), 4);
            text(u64::from(self.word) << 32 | u64::from(self.word2), 5);
        }
        if t & MixConfig::T_MARKUP != 0 {
            let w = if self.word != 0 {
                u64::from(self.word)
            } else {
                self.hist & 0xFF
            };
            text(u64::from(self.nest) << 32 | w, 6);
        }
        if t & MixConfig::T_COLUMN != 0 {
            let col = self.pos.wrapping_sub(self.line_start);
            let above =
                col < self.line_start.wrapping_sub(self.prev_line) && self.cfg.history_bits > 0;
            let above = if above {
                let hmask = (1usize << self.cfg.history_bits) - 1;
                let at = self.lay.history + (self.prev_line.wrapping_add(col) as usize & hmask);
                u64::from(self.mem.as_ref()[at])
            } else {
                0
            };
            text(above << 8 | (self.hist & 0xFF), 1);
        }
        if t & MixConfig::T_INDIRECT != 0 {
            let m = self.mem.as_ref();
            let c1 = self.hist & 0xFF;
            let c2 = self.hist & 0xFFFF;
            let t1 = u64::from(rd16(m, self.lay.indirect + 2 * c1 as usize));
            let t2 = u64::from(rd16(m, self.lay.indirect + 512 + 2 * c2 as usize));
            text(c1 | t1 << 8, 2);
            text(c2 | t2 << 16, 3);
        }
        for j in 0..i {
            self.slot[j] = self.find_slot(self.ctx_hash[j]);
        }
    }

    /// The slot for hash `h`: one of three neighbours whose check byte
    /// matches, else the least used of them, cleared.
    fn find_slot(&mut self, h: u32) -> usize {
        let base = self.lay.table;
        let mask = (1usize << self.cfg.table_bits) - 1;
        let check = (h >> 24) as u8;
        let m = self.mem.as_mut();
        let i0 = h as usize & mask;
        let mut best = base + 16 * i0;
        let mut best_use = u32::MAX;
        for c in [i0, i0 ^ 1, i0 ^ 2] {
            let o = base + 16 * c;
            if m[o] == check {
                return o;
            }
            let s = u32::from(m[o + 1]);
            let used = (s >> 4) + (s & 15);
            if used < best_use {
                best_use = used;
                best = o;
            }
        }
        m[best..best + 16].fill(0);
        m[best] = check;
        best
    }
}

/// The stretched mix of inputs `x` with the weights at `wo`.
#[inline(always)]
fn dot(m: &[u8], wo: usize, x: &[i32]) -> i32 {
    let mut dot: i64 = 0;
    for (i, &xi) in x.iter().enumerate() {
        dot += i64::from(rd32(m, wo + 4 * i) as i32) * i64::from(xi);
    }
    (dot >> 16).clamp(-i64::from(ST_MAX), i64::from(ST_MAX)) as i32
}

/// A gradient step of the weights at `wo` on inputs `x` with error `err`.
#[inline(always)]
fn train(m: &mut [u8], wo: usize, x: &[i32], err: i64) {
    for (i, &xi) in x.iter().enumerate() {
        if xi != 0 {
            let w = rd32(m, wo + 4 * i) as i32;
            let w = (i64::from(w) + ((i64::from(xi) * err) >> 18))
                .clamp(-i64::from(WEIGHT_MAX), i64::from(WEIGHT_MAX));
            wr32(m, wo + 4 * i, w as i32 as u32);
        }
    }
}

#[cfg(feature = "alloc")]
impl Mixer<alloc::vec::Vec<u8>> {
    /// A mixer with its storage on the heap.
    pub fn new(cfg: MixConfig) -> Result<Self, Error> {
        cfg.check()?;
        Self::new_in(cfg, alloc::vec![0; cfg.storage_len()])
    }
}
