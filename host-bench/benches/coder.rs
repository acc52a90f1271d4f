//! Encode and decode throughput: a static 256-symbol model and an adaptive
//! order-2 model, over 1 MiB of enwik8 (or synthetic text if the data set
//! is missing).
//!
//! `cargo bench -p host-bench --features bench --bench coder -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use coder_core::models::{ContextConfig, ContextModel, StaticModel};
use coder_core::{decode_into, encode_into, max_encoded_len, FreqTable, Model};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LEN: usize = 1 << 20;

fn histogram_table(data: &[u8], precision: u32) -> FreqTable<Vec<u32>> {
    let mut counts = [0f64; 256];
    for &b in data {
        counts[b as usize] += 1.0;
    }
    FreqTable::from_probabilities(&counts, precision).unwrap()
}

fn bench_model<M: Model>(c: &mut Criterion, name: &str, model: &mut M, data: &[u8]) {
    let mut coded = vec![0u8; max_encoded_len(data.len(), model.precision())];
    let n = encode_into(model, data, &mut coded).unwrap();
    coded.truncate(n);
    let mut back = vec![0u8; data.len()];
    decode_into(model, &coded, &mut back).unwrap();
    assert_eq!(back, data);
    eprintln!(
        "{name}: {} -> {} bytes ({:.3} bits/byte)",
        data.len(),
        n,
        8.0 * n as f64 / data.len() as f64
    );

    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(data.len() as u64));
    let mut out = vec![0u8; max_encoded_len(data.len(), model.precision())];
    g.bench_function("encode", |b| {
        b.iter(|| encode_into(model, black_box(data), &mut out).unwrap())
    });
    g.bench_function("decode", |b| {
        b.iter(|| decode_into(model, black_box(&coded), &mut back).unwrap())
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let data = host_bench::data::bench_text(0, LEN);
    let mut fixed = StaticModel::<_, 4096>::with_index(histogram_table(&data, 16)).unwrap();
    bench_model(c, "static256_p16", &mut fixed, &data);
    let mut order2 = ContextModel::new(ContextConfig::order2_bytes(12)).unwrap();
    bench_model(c, "order2_adaptive_p16", &mut order2, &data);
}

criterion_group!(coder, benches);
criterion_main!(coder);
