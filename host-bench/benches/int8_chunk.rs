//! Criterion bench: time to model one 2048-byte chunk (a frequency table
//! and an observe per byte, from an empty context) with the paper's three
//! sizes, window 256 (the trained models' setting) and 2048 (full
//! attention). Random weights: speed does not depend on them.
//!
//! `cargo bench -p host-bench --features bench --bench int8_chunk`

use coder_core::Model;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use model_int8::bench::{paper_configs, random_int8_model};
use model_int8::{working_memory_size, Int8Model, ModelFile};

fn chunk(c: &mut Criterion) {
    let data: Vec<u8> = (0..2048usize).map(|i| (i * 31 % 251) as u8).collect();
    let mut g = c.benchmark_group("int8_chunk_2048");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    for window in [256u32, 2048] {
        for (name, cfg) in paper_configs(window) {
            let bytes = random_int8_model(cfg, 1).expect("quantize");
            let file = ModelFile::parse(&bytes).expect("parse");
            let mut work = vec![0u8; working_memory_size(file.config())];
            let mut m = Int8Model::new(&file, &mut work).expect("model");
            g.bench_function(BenchmarkId::new(name, format!("window{window}")), |b| {
                b.iter(|| {
                    m.reset();
                    let mut s = 0u32;
                    for &x in &data {
                        s = s.wrapping_add(m.frequencies().cumulative()[1]);
                        m.observe(x as usize);
                    }
                    s
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, chunk);
criterion_main!(benches);
