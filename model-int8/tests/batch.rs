//! Batched inference ([`Int8Batch`]) gives every lane exactly the tables
//! of an [`Int8Model`] fed the same symbols, whatever the batch size,
//! whichever lanes step together, and past the context (streaming); and
//! the batched matrix product equals one matrix-vector product per
//! sequence.

mod common;

use coder_core::{BatchModel, Model};
use model_int8::kernels::{matmul, matvec, pack, packed_len};
use model_int8::{batch_memory_size, working_memory_size, Config, Int8Batch, Int8Model, ModelFile};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Every table an `Int8Model` gives for `seq` (before each symbol, and
/// after the last).
fn reference_tables(file: &ModelFile<'_>, seq: &[u8]) -> Vec<Vec<u32>> {
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(file, &mut work).unwrap();
    let mut out = Vec::new();
    for &b in seq {
        out.push(m.frequencies().cumulative().to_vec());
        m.observe(b as usize);
    }
    out.push(m.frequencies().cumulative().to_vec());
    out
}

/// Steps `lanes` lanes over sequences of unequal lengths, random subsets
/// predicted together, some symbols observed without a table (priming),
/// and checks every table against the reference.
fn check_lockstep(bytes: &[u8], lanes: usize, max_len: usize, seed: u64) {
    let file = ModelFile::parse(bytes).unwrap();
    let mut rng = Rng(seed | 1);
    let text = common::TEXT;
    let seqs: Vec<Vec<u8>> = (0..lanes)
        .map(|_| {
            let len = 1 + rng.below(max_len);
            let at = rng.below(text.len() - 1);
            (0..len).map(|i| text[(at + i) % text.len()]).collect()
        })
        .collect();
    let want: Vec<_> = seqs.iter().map(|s| reference_tables(&file, s)).collect();
    let mut work = vec![0u8; batch_memory_size(file.config(), lanes)];
    let mut batch = Int8Batch::new(&file, lanes, &mut work).unwrap();
    let mut pos = vec![0usize; lanes];
    loop {
        let live: Vec<usize> = (0..lanes).filter(|&l| pos[l] <= seqs[l].len()).collect();
        if live.is_empty() {
            break;
        }
        // A random subset (never empty) predicts together.
        let mut group: Vec<usize> = live.iter().copied().filter(|_| rng.below(4) != 0).collect();
        if group.is_empty() {
            group.push(live[0]);
        }
        batch.predict(&group);
        for &l in &live {
            let p = pos[l];
            // Lanes outside the group sometimes only observe (priming);
            // the rest ask for their table (computed alone if need be).
            let primed = !group.contains(&l) && p < seqs[l].len() && rng.below(3) == 0;
            if !primed {
                assert_eq!(
                    batch.frequencies(l).cumulative(),
                    &want[l][p][..],
                    "lane {l} of {lanes}, position {p}"
                );
            }
            if p < seqs[l].len() {
                batch.observe(l, seqs[l][p] as usize);
            }
            pos[l] += 1;
        }
    }
}

#[test]
fn lanes_match_single_models_for_every_batch_size() {
    // window 64 < max_context 128: lanes stream past their context.
    let (_, bytes) = common::small_model(Config::sized(32, 2, 2, 64, 128), 3);
    for (lanes, seed) in [(1, 1), (2, 2), (7, 3), (16, 4)] {
        check_lockstep(&bytes, lanes, 300, seed);
    }
}

#[test]
fn odd_shapes_and_full_attention_match() {
    // d_model 36 (columns not a multiple of 4 in no matrix but the heads'),
    // full attention (window == max_context), LayerNorm-free config.
    let (_, bytes) = common::small_model(Config::sized(36, 1, 2, 48, 48), 5);
    check_lockstep(&bytes, 5, 100, 9);
    let (_, bytes) = common::small_model(Config::sized(48, 2, 3, 32, 96), 6);
    check_lockstep(&bytes, 3, 150, 10);
}

#[test]
fn reset_lanes_start_over() {
    let (_, bytes) = common::small_model(common::small_config(), 8);
    let file = ModelFile::parse(&bytes).unwrap();
    let want = reference_tables(&file, b"abc");
    let mut work = vec![0u8; batch_memory_size(file.config(), 2)];
    let mut batch = Int8Batch::new(&file, 2, &mut work).unwrap();
    for &b in b"xyz" {
        batch.observe(0, b as usize);
        batch.observe(1, b as usize);
    }
    batch.reset(1);
    for (i, &b) in b"abc".iter().enumerate() {
        batch.predict(&[0, 1]);
        assert_eq!(batch.frequencies(1).cumulative(), &want[i][..]);
        batch.observe(0, b as usize);
        batch.observe(1, b as usize);
    }
}

#[test]
fn lane_counts_are_checked() {
    let (_, bytes) = common::small_model(common::small_config(), 8);
    let file = ModelFile::parse(&bytes).unwrap();
    let mut work = vec![0u8; batch_memory_size(file.config(), 65)];
    assert!(Int8Batch::new(&file, 0, &mut work).is_err());
    assert!(Int8Batch::new(&file, 65, &mut work).is_err());
    let mut small = vec![0u8; batch_memory_size(file.config(), 4) - 1];
    assert!(Int8Batch::new(&file, 4, &mut small).is_err());
}

#[test]
fn matmul_equals_matvec_per_sequence() {
    let mut rng = Rng(77);
    for &(rows, cols) in &[
        (16, 4),
        (64, 64),
        (17, 8),
        (256, 64),
        (33, 36),
        (5, 7),
        (1024, 256),
        (64, 1024),
    ] {
        for &n in &[1usize, 2, 3, 7, 8, 9, 16, 70] {
            // Symmetric int8 weights (never -128); inputs of any value.
            let w: Vec<i8> = (0..rows * cols)
                .map(|_| (rng.below(255) as i32 - 127) as i8)
                .collect();
            let x: Vec<i8> = (0..n * cols).map(|_| rng.next() as u8 as i8).collect();
            let mut p = vec![0i8; packed_len(rows, cols)];
            pack(&w, rows, cols, &mut p);
            let mut got = vec![0i32; n * rows];
            matmul(&w, &p, &x, cols, &mut got);
            for i in 0..n {
                let mut want = vec![0i32; rows];
                matvec(&w, &x[i * cols..(i + 1) * cols], &mut want);
                assert_eq!(
                    &got[i * rows..(i + 1) * rows],
                    &want[..],
                    "{rows}x{cols}, n {n}, seq {i}"
                );
            }
        }
    }
}
