//! Integer-only inference (`no_std`, no allocator): the forward pass as
//! small free functions, read top to bottom, over weights borrowed from a
//! [`ModelFile`] and working memory carved from the caller's buffer.

use coder_core::{FreqTable, Model};

use crate::fixed::{isqrt, requantize, round_div, sym_i8};

use crate::format::{self, global, slot, I32s, ModelFile, ALIGN, EXP_BITS, ROPE_BITS};
use crate::kernels;
use crate::{Config, Error, Norm};

/// The residual stream saturates at `±2^23` (in its fixed-point units).
pub const RESIDUAL_LIMIT: i32 = 1 << 23;

pub(crate) const fn area(bytes: usize) -> usize {
    format::align_up(bytes)
}

pub(crate) const fn max3(a: usize, b: usize, c: usize) -> usize {
    let m = if a > b { a } else { b };
    if m > c {
        m
    } else {
        c
    }
}

/// Bytes of working memory [`Int8Model::new`] needs for `config`: the KV
/// cache (`2 * n_layers * window * d_model` bytes) plus activations and
/// alignment slack.
pub const fn working_memory_size(config: &Config) -> usize {
    let d = config.d_model as usize;
    let f = config.d_ff as usize;
    let v = config.vocab as usize;
    let w = config.window as usize;
    let hd = config.head_dim() as usize;
    let kv = config.n_layers as usize * w * d;
    ALIGN
        + area(4 * d) // h
        + area(4 * max3(d, f, v)) // acc
        + area(max3(d, f, 0)) // x8
        + area(d) // q8
        + area(d) // att8
        + area(4 * w) // scores / weights
        + area(8 * hd) // num
        + area(kv) // k cache
        + area(kv) // v cache
        + area(4 * (v + 1)) // cum
        + area(4 << EXP_BITS) // exp table
}

/// Carves an aligned `[T; n]` off the front of `buf`.
pub(crate) fn take<'a, T: bytemuck::Pod>(
    buf: &mut &'a mut [u8],
    n: usize,
) -> Result<&'a mut [T], Error> {
    let b = core::mem::take(buf);
    let pad = b.as_ptr().align_offset(ALIGN);
    let bytes = n * core::mem::size_of::<T>();
    if pad > b.len() || bytes > b.len() - pad {
        return Err(Error::WorkBufferTooSmall);
    }
    let (mine, rest) = b[pad..].split_at_mut(bytes);
    *buf = rest;
    bytemuck::try_cast_slice_mut(mine).map_err(|_| Error::WorkBufferTooSmall)
}

/// The file's exp table, copied into working memory carved off `buf` (read
/// per element in the hot loops; the file's bytes may be unaligned flash).
pub(crate) fn take_exp<'a>(
    file: &ModelFile<'_>,
    buf: &mut &'a mut [u8],
) -> Result<&'a mut [u32; 1 << EXP_BITS], Error> {
    let exp: &mut [u32] = take(buf, 1 << EXP_BITS)?;
    let exp: &mut [u32; 1 << EXP_BITS] = exp.try_into().map_err(|_| Error::WorkBufferTooSmall)?;
    let table = file.tensor_i32(global::EXP);
    for (i, e) in exp.iter_mut().enumerate() {
        *e = table.get(i) as u32;
    }
    Ok(exp)
}

/// The int8 model, ready to predict: weights borrowed from the file, KV
/// cache and activations in the caller's buffer.
///
/// A model that can stream ([`Config::can_stream`]: `window <
/// max_context`) codes a chunk of any length with the quality it has
/// inside its first `max_context` positions: past them, every query–key
/// pair in the window still gets the rotary angle of its true distance (see
/// "Tokens and positions" in `docs/ARCHITECTURE.md`). Positions below
/// `max_context` are computed exactly as without streaming. A model with
/// full attention (`window == max_context`) keeps working past its context
/// deterministically, but degraded: `RoPE` uses position `max_context - 1`
/// for every later position.
///
/// The output head (final norm, output layer, frequency table) runs only
/// when [`Model::frequencies`] asks for it, so [`Model::observe`] alone, or
/// [`Int8Model::prime`], feeds context at the cost of the blocks only.
pub struct Int8Model<'a> {
    file: ModelFile<'a>,
    c: Config,
    at: Pos,
    input: usize,
    /// The head ran for the current input: `cum` holds its table.
    fresh: bool,
    h: &'a mut [i32],
    acc: &'a mut [i32],
    x8: &'a mut [i8],
    q8: &'a mut [i8],
    att8: &'a mut [i8],
    scores: &'a mut [i32],
    num: &'a mut [i64],
    kc: &'a mut [i8],
    vc: &'a mut [i8],
    cum: &'a mut [u32],
    exp: &'a mut [u32; 1 << EXP_BITS],
}

impl<'a> Int8Model<'a> {
    /// Sets up inference over `file`, carving all working memory from
    /// `work` (at least [`working_memory_size`] bytes).
    pub fn new(file: &ModelFile<'a>, work: &'a mut [u8]) -> Result<Self, Error> {
        let c = *file.config();
        if work.len() < working_memory_size(&c) {
            return Err(Error::WorkBufferTooSmall);
        }
        let d = c.d_model as usize;
        let f = c.d_ff as usize;
        let v = c.vocab as usize;
        let w = c.window as usize;
        let kv = c.n_layers as usize * w * d;
        let mut buf = work;
        let exp = take_exp(file, &mut buf)?;
        Ok(Int8Model {
            exp,
            file: *file,
            c,
            at: Pos::default(),
            input: v,
            fresh: false,
            h: take(&mut buf, d)?,
            acc: take(&mut buf, max3(d, f, v))?,
            x8: take(&mut buf, max3(d, f, 0))?,
            q8: take(&mut buf, d)?,
            att8: take(&mut buf, d)?,
            scores: take(&mut buf, w)?,
            num: take(&mut buf, c.head_dim() as usize)?,
            kc: take(&mut buf, kv)?,
            vc: take(&mut buf, kv)?,
            cum: take(&mut buf, v + 1)?,
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &Config {
        &self.c
    }

    /// Symbols observed since the last reset.
    pub fn position(&self) -> usize {
        // `pos` counts the steps run; a fresh table's step ran ahead.
        self.at.pos - self.fresh as usize
    }

    /// The next-symbol logits of the last [`Model::frequencies`], in units
    /// of `2^-8` of a bit (`log2`), `[vocab]`.
    pub fn logits(&self) -> &[i32] {
        &self.acc[..self.c.vocab as usize]
    }

    /// Feeds `context` as if each byte were passed to [`Model::observe`]
    /// (usually right after a reset, e.g. the last `window` bytes of the
    /// previous chunk), without computing any frequency table: the next
    /// [`Model::frequencies`] equals that of observing the bytes one by
    /// one.
    pub fn prime(&mut self, context: &[u8]) {
        for &b in context {
            self.observe(b as usize);
        }
    }

    /// Runs the blocks on `self.input` at the current position (filling
    /// its KV-cache slot and leaving the final residual in `h`) and moves
    /// to the next position.
    fn body(&mut self) {
        let c = self.c;
        let file = self.file;
        let d = c.d_model as usize;
        let f = c.d_ff as usize;
        let lw = c.window as usize * d;
        let rot = Rotations::new(&c, &file, &self.at);

        embed(&file, self.input, self.h);
        for l in 0..c.n_layers as usize {
            let t = |s: usize| format::layer_tensor(l, s);
            let kc = &mut self.kc[l * lw..(l + 1) * lw];
            let vc = &mut self.vc[l * lw..(l + 1) * lw];
            // Attention half.
            norm_in(&file, &c, t(slot::ATTN_NORM), self.h, &mut self.x8[..d]);
            let x = &self.x8[..d];
            linear(&file, t(slot::WK), x, &mut self.acc[..d]);
            store_key(&c, &rot, &self.at, &self.acc[..d], kc);
            linear(&file, t(slot::WV), x, &mut self.acc[..d]);
            store_value(&c, &self.at, &self.acc[..d], vc);
            // The query last: its second rotation (previous epoch) goes to
            // `x8`, free once q, k and v are computed.
            linear(&file, t(slot::WQ), x, &mut self.acc[..d]);
            let scratch = Scratch {
                q8: self.q8,
                qp8: &mut self.x8[..d],
                scores: self.scores,
                num: self.num,
            };
            let att = Attend {
                c: &c,
                file: &file,
                layer: l,
                rot: &rot,
                at: &self.at,
                exp: self.exp,
            };
            att.run(&self.acc[..d], kc, vc, scratch, self.att8);
            linear(&file, t(slot::WO), self.att8, &mut self.acc[..d]);
            residual_add(self.h, &self.acc[..d]);
            // Feed-forward half.
            norm_in(&file, &c, t(slot::FFN_NORM), self.h, &mut self.x8[..d]);
            linear(&file, t(slot::W1), &self.x8[..d], &mut self.acc[..f]);
            activate(&file, t(slot::ACT_LUT), &self.acc[..f], &mut self.x8[..f]);
            linear(&file, t(slot::W2), &self.x8[..f], &mut self.acc[..d]);
            residual_add(self.h, &self.acc[..d]);
        }
        self.at.advance(&c);
    }

    /// The output head on the final residual: logits in `acc`, the
    /// cumulative table in `cum`.
    fn head(&mut self) {
        let c = self.c;
        let file = self.file;
        let d = c.d_model as usize;
        let v = c.vocab as usize;
        let fin = format::final_tensor(&c);
        norm(
            self.h,
            file.tensor_i32(fin),
            c.norm == Norm::Layer,
            &mut self.x8[..d],
        );
        linear(&file, fin + 1, &self.x8[..d], &mut self.acc[..v]);
        frequencies(&mut self.acc[..v], self.exp, file.precision(), self.cum);
    }
}

/// Rows the SIMD `matvec` kernels take at a time (a split of the scores
/// keeps to whole blocks where it can).
const ROW_BLOCK: usize = 8;

/// The keys of the previous epoch still in the window (see
/// [`Pos::rotations`]).
#[derive(Clone, Copy)]
struct Previous {
    /// The two table rows whose angles add up to the query's rotation.
    rows: (usize, usize),
    /// Ring slot of the oldest key in the window.
    first_slot: usize,
    /// How many keys (from `first_slot` on, wrapping) belong to it.
    keys: usize,
}

/// The `len` slots of a ring of `w` from `start` on, as at most two
/// `[a, b)` ranges (the second empty unless they wrap).
fn ring_ranges(start: usize, len: usize, w: usize) -> [(usize, usize); 2] {
    if start + len <= w {
        [(start, start + len), (0, 0)]
    } else {
        [(start, w), (0, start + len - w)]
    }
}

/// Where a sequence stands: the position of its next step and what the
/// KV cache and `RoPE` need of it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pos {
    /// Steps run since the reset (saturating): the position of the next
    /// step.
    pub pos: usize,
    /// `pos % window`: the KV-cache slot of the current position.
    pub slot: usize,
    /// `pos % max_context`: the `RoPE` table row of the current position.
    pub phase: usize,
    /// `pos >= max_context`.
    pub wrapped: bool,
}

impl Pos {
    /// Moves on by one position.
    pub fn advance(&mut self, c: &Config) {
        self.pos = self.pos.saturating_add(1);
        self.slot += 1;
        if self.slot == c.window as usize {
            self.slot = 0;
        }
        self.phase += 1;
        if self.phase == c.max_context as usize {
            self.phase = 0;
            self.wrapped = true;
        }
    }

    /// Cached positions the current one attends to (itself included).
    fn visible(&self, c: &Config) -> usize {
        (self.pos + 1).min(c.window as usize)
    }

    /// The `RoPE` rows of this step: the row of the current position (its
    /// key and its query against keys of the same epoch), and, when the
    /// window still holds keys of the previous epoch, that epoch's
    /// rotation for the query with the ring slots of those keys.
    fn rotations(&self, c: &Config) -> (usize, Option<Previous>) {
        let m = c.max_context as usize;
        let w = c.window as usize;
        if !c.can_stream() {
            let row = if self.wrapped { m - 1 } else { self.phase };
            return (row, None);
        }
        // Keys are rotated by their position modulo `max_context` (so the
        // first `max_context` positions are exactly as without streaming).
        // A query at `p` (phase `r`) meets keys of its own epoch with row
        // `r`. Keys of the previous epoch, still in the window while `r <
        // window - 1`, were rotated `max_context` positions less than this
        // epoch's rows would, so the query meets them with the angle of
        // `max_context + r`: past the table, composed from rows
        // `max_context - 1` and `r + 1` (both in the table since `r + 1 <
        // window < max_context`). Every pair gets the angle of `p - j`.
        let prev = (self.wrapped && self.phase + 1 < w).then(|| Previous {
            rows: (m - 1, self.phase + 1),
            first_slot: (self.slot + 1) % w,
            keys: w - 1 - self.phase,
        });
        (self.phase, prev)
    }
}

/// The rotations of one step (see [`Pos::rotations`]) as table rows.
pub(crate) struct Rotations<'t> {
    cur: Rotation<'t>,
    prev: Option<(Previous, Rotation<'t>)>,
}

impl<'t> Rotations<'t> {
    pub fn new(c: &Config, file: &ModelFile<'t>, at: &Pos) -> Self {
        let hd = c.head_dim() as usize;
        let table = file.tensor(global::ROPE);
        let row = |r: usize| &table[r * hd * 2..(r + 1) * hd * 2];
        let (r, prev) = at.rotations(c);
        Rotations {
            cur: Rotation::Row(row(r)),
            prev: prev.map(|p| (p, Rotation::Sum(row(p.rows.0), row(p.rows.1)))),
        }
    }
}

/// Rotates the key projection `k` (`[d]`, before rounding to int8) into
/// its slot of one layer's key cache (`[head][slot][dim]`).
pub(crate) fn store_key(c: &Config, rot: &Rotations<'_>, at: &Pos, k: &[i32], kc: &mut [i8]) {
    let hd = c.head_dim() as usize;
    let window = c.window as usize;
    for (h, k) in k.chunks_exact(hd).enumerate() {
        let o = (h * window + at.slot) * hd;
        rope_q(k, rot.cur, hd, &mut kc[o..o + hd]);
    }
}

/// Stores the value projection `v` (`[d]`) in its slot of one layer's
/// value cache, transposed (`[head][dim][slot]`) so the weighted sum reads
/// each dimension contiguously.
pub(crate) fn store_value(c: &Config, at: &Pos, v: &[i32], vc: &mut [i8]) {
    let window = c.window as usize;
    for (j, &src) in v.iter().enumerate() {
        vc[j * window + at.slot] = sym_i8(src);
    }
}

/// Per-sequence scratch of [`Attend::run`].
pub(crate) struct Scratch<'s> {
    /// The rotated query, `[d]`.
    pub q8: &'s mut [i8],
    /// The query rotated for the previous epoch's keys, `[d]`.
    pub qp8: &'s mut [i8],
    /// `[window]`.
    pub scores: &'s mut [i32],
    /// `[head_dim]`.
    pub num: &'s mut [i64],
}

/// One layer's attention step for one sequence at one position.
pub(crate) struct Attend<'x, 't> {
    pub c: &'x Config,
    pub file: &'x ModelFile<'t>,
    pub layer: usize,
    pub rot: &'x Rotations<'t>,
    pub at: &'x Pos,
    pub exp: &'x [u32; 1 << EXP_BITS],
}

impl Attend<'_, '_> {
    /// Rotates the query projection `q` (`[d]`), scores it against the
    /// layer's cached keys `kc` in every head, and writes the weighted
    /// means of the values `vc` to `out` (`[d]`, int8).
    pub fn run(&self, q: &[i32], kc: &[i8], vc: &[i8], s: Scratch<'_>, out: &mut [i8]) {
        let c = self.c;
        let hd = c.head_dim() as usize;
        let window = c.window as usize;
        let n = self.at.visible(c);
        let consts = self
            .file
            .tensor_i32(format::layer_tensor(self.layer, slot::CONSTS));
        rope_q(q, self.rot.cur, hd, s.q8);
        if let Some((_, r)) = self.rot.prev {
            rope_q(q, r, hd, s.qp8);
        }
        for h in 0..c.n_heads as usize {
            let keys = &kc[h * window * hd..(h * window + n) * hd];
            let q = &s.q8[h * hd..(h + 1) * hd];
            let scores = &mut s.scores[..n];
            match self.rot.prev {
                None => kernels::matvec(keys, q, scores),
                Some((p, _)) => {
                    let qp = &s.qp8[h * hd..(h + 1) * hd];
                    let cur = (p.first_slot + p.keys) % window;
                    let [c0, c1] = ring_ranges(cur, window - p.keys, window);
                    let [p0, p1] = ring_ranges(p.first_slot, p.keys, window);
                    let mut pieces = [(c0, q), (c1, q), (p0, qp), (p1, qp)];
                    pieces.sort_unstable_by_key(|&((a, _), _)| a);
                    // Left to right, each piece rounded up to whole row
                    // blocks of the SIMD kernels: the extra rows belong to
                    // later pieces, which overwrite them.
                    for ((a, b), q) in pieces {
                        if a < b {
                            let end = (a + (b - a).next_multiple_of(ROW_BLOCK)).min(n);
                            kernels::matvec(&keys[a * hd..end * hd], q, &mut scores[a..end]);
                        }
                    }
                }
            }
            attention(
                &vc[h * window * hd..(h + 1) * window * hd],
                window,
                (consts.get(0), consts.get(1)),
                self.exp,
                scores,
                s.num,
                &mut out[h * hd..(h + 1) * hd],
            );
        }
    }
}

/// [`norm`] with the file's constants `t` and the model's kind of norm.
pub(crate) fn norm_in(file: &ModelFile<'_>, c: &Config, t: usize, h: &[i32], out: &mut [i8]) {
    norm(h, file.tensor_i32(t), c.norm == Norm::Layer, out);
}

/// [`activation`] through the file's table `t`.
pub(crate) fn activate(file: &ModelFile<'_>, t: usize, pre: &[i32], out: &mut [i8]) {
    activation(pre, file.tensor_i8(t), out);
}

/// `h = embedding[token]` in residual units.
pub(crate) fn embed(file: &ModelFile<'_>, token: usize, h: &mut [i32]) {
    let d = h.len();
    let row = &file.tensor_i8(global::EMBED)[token * d..(token + 1) * d];
    let rq = file.tensor_i32(global::EMBED_RQ);
    let (m, s) = (rq.get(2 * token), rq.get(2 * token + 1));
    for (x, &e) in h.iter_mut().zip(row) {
        *x = requantize(e as i32, m, s).clamp(-RESIDUAL_LIMIT, RESIDUAL_LIMIT);
    }
}

/// Integer RMSNorm / LayerNorm without the gain (folded into the next
/// linear): `out_j = round((h_j - mean) / rms * k_j / 2^16)` with `consts =
/// [eps, k_0 .. k_d]` (`k_j = 2^16 e_j / s_a`, the channel's smoothing factor
/// over the int8 scale). One division per vector, by `rms`.
fn norm(h: &[i32], consts: I32s<'_>, centered: bool, out: &mut [i8]) {
    let d = h.len() as i64;
    let mean = if centered {
        round_div(h.iter().map(|&x| x as i64).sum(), d)
    } else {
        0
    };
    let ss = kernels::sum_squares(h, mean);
    let ms = ss / d as u64 + consts.get(0) as u64;
    // r = rms * 2^7 (at least 2), inv = 2^64 / r.
    let r = isqrt(ms << 14).max(2);
    let inv = u64::MAX / r;
    kernels::norm_scale(h, mean, consts.0.get(4..).unwrap_or(&[]), inv, out);
}

/// `acc[o] = requantize(W[o] . x + bias[o], mult[o], shift[o])` for the
/// weight tensor `w` of the file (its `[bias, mult, shift]` rows follow it).
fn linear(file: &ModelFile<'_>, w: usize, x: &[i8], acc: &mut [i32]) {
    kernels::matvec(file.tensor_i8(w), x, acc);
    kernels::requantize_rows(acc, file.tensor(w + 1));
}

/// A `RoPE` rotation: one row of the stored table (`[cos .. hd/2, sin ..
/// hd/2]` in Q14), or the sum of the angles of two rows (positions past the
/// table).
#[derive(Clone, Copy)]
enum Rotation<'t> {
    Row(&'t [u8]),
    Sum(&'t [u8], &'t [u8]),
}

/// `(cos, sin)` of pair `i` of a table row, in Q14.
#[inline(always)]
fn row_cos_sin(row: &[u8], i: usize, half: usize) -> (i32, i32) {
    let tab = |i: usize| i16::from_le_bytes([row[2 * i], row[2 * i + 1]]) as i32;
    (tab(i), tab(half + i))
}

/// `RoPE` (NeoX half split) on values at 1/256 of their int8 step, rounding
/// once to int8.
fn rope_q(x: &[i32], rot: Rotation<'_>, hd: usize, out: &mut [i8]) {
    let half = hd / 2;
    match rot {
        Rotation::Row(r) => kernels::rope_row(x, hd, r, out),
        Rotation::Sum(a, b) => rotate(x, hd, out, |i| {
            // cos(A + B), sin(A + B), rounded once to Q14; clamped to the
            // table's range (|x| <= 2^14, checked at parse) so that
            // `rotate` cannot overflow.
            let ((ca, sa), (cb, sb)) = (row_cos_sin(a, i, half), row_cos_sin(b, i, half));
            let round = 1 << (ROPE_BITS - 1);
            let lim = 1 << ROPE_BITS;
            (
                ((ca * cb - sa * sb + round) >> ROPE_BITS).clamp(-lim, lim),
                ((sa * cb + ca * sb + round) >> ROPE_BITS).clamp(-lim, lim),
            )
        }),
    }
}

/// [`rope_q`] with `(cos, sin)` of pair `i` from `cs`.
#[inline(always)]
fn rotate(x: &[i32], hd: usize, out: &mut [i8], cs: impl Fn(usize) -> (i32, i32)) {
    let half = hd / 2;
    let shift = ROPE_BITS + 8;
    let round = 1i32 << (shift - 1);
    for (xh, oh) in x.chunks_exact(hd).zip(out.chunks_exact_mut(hd)) {
        for i in 0..half {
            let a = xh[i].clamp(-32767, 32767);
            let b = xh[i + half].clamp(-32767, 32767);
            let (cs, sn) = cs(i);
            oh[i] = sym_i8((a * cs - b * sn + round) >> shift);
            oh[i + half] = sym_i8((b * cs + a * sn + round) >> shift);
        }
    }
}

/// One head: integer softmax over the scores of the `n` cached positions
/// (`q . k` per slot), then the weighted mean of the values (the result
/// keeps the value scale).
fn attention(
    values: &[i8],
    stride: usize,
    (sm_mult, sm_shift): (i32, i32),
    exp: &[u32; 1 << EXP_BITS],
    scores: &mut [i32],
    num: &mut [i64],
    out: &mut [i8],
) {
    let max = kernels::max_i32(scores);
    // Weights in Q15, capped at 2^15 - 1 so they fit an i16 lane.
    kernels::softmax_weights(scores, max, sm_mult, sm_shift, exp);
    num.fill(0);
    let den = kernels::weighted_sum(scores, values, stride, num).max(1);
    // round(num / den) through one division: 1 / den in Q56. |num| / den
    // is at most 128, so the product stays below 2^63.
    let recip = (1u64 << 56) / den as u64;
    for (o, &x) in out.iter_mut().zip(num.iter()) {
        let m = (x
            .unsigned_abs()
            .saturating_mul(recip)
            .saturating_add(1 << 55)
            >> 56)
            .min(127) as i32;
        *o = sym_i8(if x < 0 { -m } else { m });
    }
}

/// `h += y`, saturating at [`RESIDUAL_LIMIT`].
pub(crate) fn residual_add(h: &mut [i32], y: &[i32]) {
    for (x, &a) in h.iter_mut().zip(y) {
        *x = x.saturating_add(a).clamp(-RESIDUAL_LIMIT, RESIDUAL_LIMIT);
    }
}

/// The non-linearity through its 256-entry table on the int8
/// pre-activation.
fn activation(pre: &[i32], lut: &[i8], out: &mut [i8]) {
    match <&[i8; 256]>::try_from(lut) {
        Ok(lut) => kernels::lookup_i8(pre, lut, out),
        // Unreachable for a parsed file (its table has 256 entries).
        Err(_) => out.fill(0),
    }
}

/// Logits (units of `2^-8` bit) to the cumulative frequency table with
/// total `2^precision`: `1 + floor(p_i * (2^precision - vocab))` each, the
/// remainder to the (first) most likely symbol.
pub(crate) fn frequencies(
    logits: &mut [i32],
    exp: &[u32; 1 << EXP_BITS],
    precision: u32,
    cum: &mut [u32],
) {
    const LOGIT_LIMIT: i32 = 1 << 24;
    let mut max = i32::MIN;
    let mut arg = 0;
    for (i, l) in logits.iter_mut().enumerate() {
        *l = (*l).clamp(-LOGIT_LIMIT, LOGIT_LIMIT);
        if *l > max {
            max = *l;
            arg = i;
        }
    }
    let sum = kernels::exp_weights(logits, max, exp, &mut cum[1..]);
    let total = 1u64 << precision;
    let spare = total - logits.len() as u64;
    // One division: floor(e * spare / sum) as e * (spare * 2^32 / sum) >>
    // 32 (never more than the exact share, so the sum stays <= spare).
    // sum >= 2^30 and spare < 2^24, so recip < 2^26 and e * recip < 2^56.
    let recip = (spare << 32) / sum;
    let given = kernels::shares(&mut cum[1..], recip);
    cum[arg + 1] += (total - given) as u32;
    cum[0] = 0;
    for i in 1..cum.len() {
        cum[i] += cum[i - 1];
    }
}

impl Model for Int8Model<'_> {
    fn symbols(&self) -> usize {
        self.c.vocab as usize
    }

    fn precision(&self) -> u32 {
        self.file.precision()
    }

    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        if !self.fresh {
            self.body();
            self.head();
            self.fresh = true;
        }
        // Valid by construction (`frequencies` gives every symbol at least
        // 1 and the total exactly; `vocab < 2^precision` is checked when
        // the file is parsed): checked in debug builds only.
        FreqTable::new_trusted(&*self.cum, self.file.precision())
    }

    fn observe(&mut self, symbol: usize) {
        // The blocks must see the current input; its table is not needed.
        if !self.fresh {
            self.body();
        }
        self.input = symbol.min(self.c.vocab as usize - 1);
        self.fresh = false;
    }

    fn reset(&mut self) {
        self.at = Pos::default();
        self.input = self.c.vocab as usize;
        self.fresh = false;
    }

    fn fingerprint(&self) -> u64 {
        self.file.fingerprint()
    }
}
