//! Batched inference (`no_std`, no allocator): up to [`MAX_LANES`]
//! independent sequences ("lanes") stepped in lockstep, so that each weight
//! matrix is read once for all of them ([`kernels::matmul`], a matrix
//! product instead of one matrix-vector product per sequence).
//!
//! Each lane keeps its own position, KV cache and residual; only the
//! weight reads are shared. Integer arithmetic is exact and every
//! per-sequence step is the one [`Int8Model`](crate::Int8Model) runs (the
//! same functions), so a lane's tables are exactly those of an
//! `Int8Model` fed the same symbols, whatever the batch size and whichever
//! lanes step together.
//!
//! ```
//! use coder_core::{BatchModel, Model};
//! use model_int8::bench::random_int8_model;
//! use model_int8::{batch_memory_size, working_memory_size, Config, Int8Batch, Int8Model, ModelFile};
//!
//! let bytes = random_int8_model(Config::sized(32, 2, 2, 64, 128), 7).unwrap();
//! let file = ModelFile::parse(&bytes).unwrap();
//! let mut work = vec![0u8; batch_memory_size(file.config(), 3)];
//! let mut batch = Int8Batch::new(&file, 3, &mut work).unwrap();
//! let mut one_work = vec![0u8; working_memory_size(file.config())];
//! let mut one = Int8Model::new(&file, &mut one_work).unwrap();
//! for (i, &b) in b"abc".iter().enumerate() {
//!     batch.observe(i, b as usize);
//! }
//! batch.predict(&[0, 1, 2]);
//! one.observe(b'b' as usize);
//! assert_eq!(batch.frequencies(1).cumulative(), one.frequencies().cumulative());
//! ```

use coder_core::{BatchModel, FreqTable};
use heapless::Vec as Fixed;

use crate::format::{self, slot, ModelFile, ALIGN, EXP_BITS};
use crate::int8::{
    activate, area, embed, frequencies, max3, norm_in, residual_add, store_key, store_value, take,
    take_exp, Attend, Pos, Rotations, Scratch,
};
use crate::kernels::{self, packed_len};
use crate::{Config, Error};

/// The most lanes one [`Int8Batch`] steps.
pub const MAX_LANES: usize = 64;

/// One lane's state (as [`Int8Model`](crate::Int8Model) keeps it).
#[derive(Clone, Copy, Debug)]
struct Lane {
    at: Pos,
    /// The symbol the next step reads (`vocab`: the start token).
    input: usize,
    /// The head ran for `input`: the lane's table is ready.
    fresh: bool,
}

/// The weight matrices of a block, in the order they are packed, with
/// their rows and columns.
const fn layer_matrices(c: &Config) -> [(usize, usize, usize); 6] {
    let d = c.d_model as usize;
    let f = c.d_ff as usize;
    [
        (slot::WK, d, d),
        (slot::WV, d, d),
        (slot::WQ, d, d),
        (slot::WO, d, d),
        (slot::W1, f, d),
        (slot::W2, d, f),
    ]
}

/// Bytes of all packed weight matrices (each aligned), the head last.
const fn packed_size(c: &Config) -> usize {
    let m = layer_matrices(c);
    let mut layer = 0;
    let mut i = 0;
    while i < m.len() {
        layer += area(packed_len(m[i].1, m[i].2));
        i += 1;
    }
    c.n_layers as usize * layer + area(packed_len(c.vocab as usize, c.d_model as usize))
}

/// Requantization constants of all matrices, split by field (`[bias;
/// rows] [mult; rows] [shift; rows]` each), in packing order: `i32`s.
const fn split_size(c: &Config) -> usize {
    let d = c.d_model as usize;
    let f = c.d_ff as usize;
    3 * (c.n_layers as usize * (5 * d + f) + c.vocab as usize)
}

/// Bytes of working memory [`Int8Batch::new`] needs for `lanes` lanes of
/// `config`: a packed copy of the weights (shared by the lanes), and per
/// lane a KV cache (`2 * n_layers * window * d_model` bytes), a residual,
/// a frequency table and activations.
pub const fn batch_memory_size(config: &Config, lanes: usize) -> usize {
    let d = config.d_model as usize;
    let f = config.d_ff as usize;
    let v = config.vocab as usize;
    let w = config.window as usize;
    let hd = config.head_dim() as usize;
    let kv = config.n_layers as usize * w * d;
    let b = lanes;
    ALIGN
        + area(4 << EXP_BITS) // exp table
        + packed_size(config)
        + area(4 * split_size(config))
        + area(4 * b * d) // h
        + area(b * kv) // k caches
        + area(b * kv) // v caches
        + area(4 * b * (v + 1)) // cum
        + area(4 * b * max3(d, f, v)) // acc
        + area(b * max3(d, f, 0)) // x8
        + area(b * d) // att8
        + area(d) // q8
        + area(d) // qp8
        + area(4 * w) // scores
        + area(8 * hd) // num
}

/// The lane count [`Int8Batch`] codes about fastest with for `config` on a
/// host. Measured 2026-12-03 (`cargo run --release -p model-int8 --features
/// simd --example batch_speed 2 4 8 12 16`, 2048-byte chunks, window 256,
/// one core of a 2-core AMD EPYC Zen 4 with AVX-512 VNNI): 8 lanes were
/// best or within 5% of best for the 200K, 800K and 3.2M (16 lanes of the
/// 3.2M hold 8 MB of KV caches, past the core's caches, and gain nothing).
pub const fn default_lanes(config: &Config) -> usize {
    let _ = config;
    8
}

/// Up to [`MAX_LANES`] int8 models over one file, stepped in lockstep
/// through [`BatchModel`]; weights packed once into the caller's buffer.
pub struct Int8Batch<'a> {
    file: ModelFile<'a>,
    c: Config,
    lanes: Fixed<Lane, MAX_LANES>,
    exp: &'a mut [u32; 1 << EXP_BITS],
    packed: &'a [i8],
    split: &'a [i32],
    h: &'a mut [i32],
    kc: &'a mut [i8],
    vc: &'a mut [i8],
    cum: &'a mut [u32],
    acc: &'a mut [i32],
    x8: &'a mut [i8],
    att8: &'a mut [i8],
    q8: &'a mut [i8],
    qp8: &'a mut [i8],
    scores: &'a mut [i32],
    num: &'a mut [i64],
}

impl<'a> Int8Batch<'a> {
    /// `lanes` models over `file` (1 ..= [`MAX_LANES`]), each reset, with
    /// all working memory carved from `work` (at least
    /// [`batch_memory_size`] bytes).
    pub fn new(file: &ModelFile<'a>, lanes: usize, work: &'a mut [u8]) -> Result<Self, Error> {
        let c = *file.config();
        if !(1..=MAX_LANES).contains(&lanes) {
            return Err(Error::BadLanes);
        }
        if work.len() < batch_memory_size(&c, lanes) {
            return Err(Error::WorkBufferTooSmall);
        }
        let d = c.d_model as usize;
        let f = c.d_ff as usize;
        let v = c.vocab as usize;
        let w = c.window as usize;
        let kv = c.n_layers as usize * w * d;
        let b = lanes;
        let mut buf = work;
        let exp = take_exp(file, &mut buf)?;
        let packed: &mut [i8] = take(&mut buf, packed_size(&c))?;
        let split: &mut [i32] = take(&mut buf, split_size(&c))?;
        let (mut at, mut at_rq) = (0, 0);
        let mut put = |t: usize, rows: usize, cols: usize| {
            let n = packed_len(rows, cols);
            kernels::pack(file.tensor_i8(t), rows, cols, &mut packed[at..at + n]);
            at += area(n);
            let rq = file.tensor_i32(t + 1);
            for r in 0..rows {
                for field in 0..3 {
                    split[at_rq + field * rows + r] = rq.get(3 * r + field);
                }
            }
            at_rq += 3 * rows;
        };
        for l in 0..c.n_layers as usize {
            for (s, rows, cols) in layer_matrices(&c) {
                put(format::layer_tensor(l, s), rows, cols);
            }
        }
        put(format::final_tensor(&c) + 1, v, d);
        let mut states = Fixed::new();
        for _ in 0..lanes {
            // Cannot fail: lanes <= MAX_LANES.
            let _ = states.push(Lane {
                at: Pos::default(),
                input: v,
                fresh: false,
            });
        }
        Ok(Int8Batch {
            file: *file,
            c,
            lanes: states,
            exp,
            packed,
            split,
            h: take(&mut buf, b * d)?,
            kc: take(&mut buf, b * kv)?,
            vc: take(&mut buf, b * kv)?,
            cum: take(&mut buf, b * (v + 1))?,
            acc: take(&mut buf, b * max3(d, f, v))?,
            x8: take(&mut buf, b * max3(d, f, 0))?,
            att8: take(&mut buf, b * d)?,
            q8: take(&mut buf, d)?,
            qp8: take(&mut buf, d)?,
            scores: take(&mut buf, w)?,
            num: take(&mut buf, c.head_dim() as usize)?,
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &Config {
        &self.c
    }

    /// Runs the blocks for `act` (distinct lanes, each with an input not
    /// yet run), as [`Int8Model`](crate::Int8Model)'s body does for one,
    /// and moves those lanes on.
    fn body(&mut self, act: &[usize]) {
        let c = self.c;
        let file = self.file;
        let packed = (self.packed, self.split);
        let d = c.d_model as usize;
        let f = c.d_ff as usize;
        let lw = c.window as usize * d;
        let kv = c.n_layers as usize * lw;
        let n = act.len();
        // Split borrows: the buffers are disjoint fields.
        let Int8Batch {
            lanes,
            exp,
            h,
            kc,
            vc,
            acc,
            x8,
            att8,
            q8,
            qp8,
            scores,
            num,
            ..
        } = self;
        let exp: &[u32; 1 << EXP_BITS] = exp;
        for &l in act {
            embed(&file, lanes[l].input, &mut h[l * d..(l + 1) * d]);
        }
        for layer in 0..c.n_layers as usize {
            let t = |s: usize| format::layer_tensor(layer, s);
            let w = |m: usize| packed_matrix(&c, packed, layer, m);
            let cache = |l: usize| l * kv + layer * lw..l * kv + (layer + 1) * lw;
            // Attention half.
            for (k, &l) in act.iter().enumerate() {
                let hl = &h[l * d..(l + 1) * d];
                norm_in(
                    &file,
                    &c,
                    t(slot::ATTN_NORM),
                    hl,
                    &mut x8[k * d..(k + 1) * d],
                );
            }
            let x = &x8[..n * d];
            linear(&file, t(slot::WK), w(0), x, d, &mut acc[..n * d]);
            for (k, &l) in act.iter().enumerate() {
                let at = &lanes[l].at;
                let rot = Rotations::new(&c, &file, at);
                store_key(&c, &rot, at, &acc[k * d..(k + 1) * d], &mut kc[cache(l)]);
            }
            linear(&file, t(slot::WV), w(1), x, d, &mut acc[..n * d]);
            for (k, &l) in act.iter().enumerate() {
                store_value(
                    &c,
                    &lanes[l].at,
                    &acc[k * d..(k + 1) * d],
                    &mut vc[cache(l)],
                );
            }
            linear(&file, t(slot::WQ), w(2), x, d, &mut acc[..n * d]);
            for (k, &l) in act.iter().enumerate() {
                let at = &lanes[l].at;
                let rot = Rotations::new(&c, &file, at);
                let att = Attend {
                    c: &c,
                    file: &file,
                    layer,
                    rot: &rot,
                    at,
                    exp,
                };
                let scratch = Scratch {
                    q8,
                    qp8,
                    scores,
                    num,
                };
                let q = &acc[k * d..(k + 1) * d];
                att.run(
                    q,
                    &kc[cache(l)],
                    &vc[cache(l)],
                    scratch,
                    &mut att8[k * d..(k + 1) * d],
                );
            }
            linear(
                &file,
                t(slot::WO),
                w(3),
                &att8[..n * d],
                d,
                &mut acc[..n * d],
            );
            for (k, &l) in act.iter().enumerate() {
                residual_add(&mut h[l * d..(l + 1) * d], &acc[k * d..(k + 1) * d]);
            }
            // Feed-forward half.
            for (k, &l) in act.iter().enumerate() {
                let hl = &h[l * d..(l + 1) * d];
                norm_in(
                    &file,
                    &c,
                    t(slot::FFN_NORM),
                    hl,
                    &mut x8[k * d..(k + 1) * d],
                );
            }
            linear(&file, t(slot::W1), w(4), &x8[..n * d], d, &mut acc[..n * f]);
            activate(&file, t(slot::ACT_LUT), &acc[..n * f], &mut x8[..n * f]);
            linear(&file, t(slot::W2), w(5), &x8[..n * f], f, &mut acc[..n * d]);
            for (k, &l) in act.iter().enumerate() {
                residual_add(&mut h[l * d..(l + 1) * d], &acc[k * d..(k + 1) * d]);
            }
        }
        for &l in act {
            lanes[l].at.advance(&c);
        }
    }

    /// The output head for `act`: their tables in `cum`.
    fn head(&mut self, act: &[usize]) {
        let c = self.c;
        let file = self.file;
        let d = c.d_model as usize;
        let v = c.vocab as usize;
        let n = act.len();
        let fin = format::final_tensor(&c);
        let w = packed_matrix(&c, (self.packed, self.split), c.n_layers as usize, 0);
        for (k, &l) in act.iter().enumerate() {
            let hl = &self.h[l * d..(l + 1) * d];
            norm_in(&file, &c, fin, hl, &mut self.x8[k * d..(k + 1) * d]);
        }
        linear(
            &file,
            fin + 1,
            w,
            &self.x8[..n * d],
            d,
            &mut self.acc[..n * v],
        );
        for (k, &l) in act.iter().enumerate() {
            let cum = &mut self.cum[l * (v + 1)..(l + 1) * (v + 1)];
            frequencies(
                &mut self.acc[k * v..(k + 1) * v],
                self.exp,
                file.precision(),
                cum,
            );
        }
    }
}

/// A packed weight matrix and its split requantization constants.
type Packed<'p> = (&'p [i8], &'p [i32]);

/// The packed matrix `m` (index into [`layer_matrices`]) of `layer`, with
/// its constants; `layer == n_layers` is the output layer.
fn packed_matrix<'p>(
    c: &Config,
    (packed, split): Packed<'p>,
    layer: usize,
    m: usize,
) -> Packed<'p> {
    let mats = layer_matrices(c);
    let size = |&(_, r, c): &(usize, usize, usize)| area(packed_len(r, c));
    let rows = |&(_, r, _): &(usize, usize, usize)| 3 * r;
    let per_layer: usize = mats.iter().map(size).sum();
    let per_layer_rq: usize = mats.iter().map(rows).sum();
    let at = layer * per_layer + mats[..m].iter().map(size).sum::<usize>();
    let at_rq = layer * per_layer_rq + mats[..m].iter().map(rows).sum::<usize>();
    let (r, cols) = if layer == c.n_layers as usize {
        (c.vocab as usize, c.d_model as usize)
    } else {
        (mats[m].1, mats[m].2)
    };
    (
        &packed[at..at + packed_len(r, cols)],
        &split[at_rq..at_rq + 3 * r],
    )
}

/// Row `k` of `acc` = requantized `W x_k` for the file's weight tensor `t`
/// (packed: `p`) and the inputs `x` (`[k][cols]`).
fn linear(file: &ModelFile<'_>, t: usize, p: Packed<'_>, x: &[i8], cols: usize, acc: &mut [i32]) {
    kernels::matmul_requantize(
        file.tensor_i8(t),
        p.0,
        file.tensor(t + 1),
        p.1,
        x,
        cols,
        acc,
    );
}

impl BatchModel for Int8Batch<'_> {
    fn lanes(&self) -> usize {
        self.lanes.len()
    }

    fn symbols(&self) -> usize {
        self.c.vocab as usize
    }

    fn precision(&self) -> u32 {
        self.file.precision()
    }

    fn fingerprint(&self) -> u64 {
        self.file.fingerprint()
    }

    fn reset(&mut self, lane: usize) {
        self.lanes[lane] = Lane {
            at: Pos::default(),
            input: self.c.vocab as usize,
            fresh: false,
        };
    }

    fn observe(&mut self, lane: usize, symbol: usize) {
        // The blocks must see the current input; its table is not needed.
        if !self.lanes[lane].fresh {
            self.body(&[lane]);
        }
        let s = &mut self.lanes[lane];
        s.input = symbol.min(self.c.vocab as usize - 1);
        s.fresh = false;
    }

    fn predict(&mut self, lanes: &[usize]) {
        let mut act: Fixed<usize, MAX_LANES> = Fixed::new();
        for &l in lanes {
            if !self.lanes[l].fresh && !act.contains(&l) {
                // Cannot fail: at most MAX_LANES distinct lanes.
                let _ = act.push(l);
            }
        }
        if act.is_empty() {
            return;
        }
        self.body(&act);
        self.head(&act);
        for &l in &act {
            self.lanes[l].fresh = true;
        }
    }

    fn frequencies(&mut self, lane: usize) -> FreqTable<&[u32]> {
        if !self.lanes[lane].fresh {
            self.predict(&[lane]);
        }
        let v = self.c.vocab as usize;
        // Valid by construction, as in `Int8Model::frequencies`.
        FreqTable::new_trusted(
            &self.cum[lane * (v + 1)..(lane + 1) * (v + 1)],
            self.file.precision(),
        )
    }
}
