//! Context-mixing throughput: the host and embedded presets, alone and
//! with an order-2 external model, over 256 KiB of held-out enwik8 (or
//! synthetic text if the data set is missing). Each iteration includes
//! the mixer's reset.
//!
//! `cargo bench -p host-bench --features bench --bench mix -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use coder_core::mix::{max_coded_len, MixConfig, Mixer};
use coder_core::models::{ContextConfig, ContextModel};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LEN: usize = 1 << 18;

fn bench(c: &mut Criterion) {
    let text = host_bench::data::bench_text(3_600_000, LEN);
    let mut g = c.benchmark_group("mix");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(LEN as u64));
    let mut out = vec![0u8; max_coded_len(LEN)];
    for (name, cfg) in [
        ("host", MixConfig::host().fit_to(LEN)),
        ("embedded", MixConfig::embedded()),
    ] {
        let mut mixer = Mixer::new(cfg).unwrap();
        let n = mixer.encode_chunk(&text, &mut out).unwrap();
        let coded = out[..n].to_vec();
        g.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| mixer.encode_chunk(black_box(&text), &mut out).unwrap())
        });
        let mut back = vec![0u8; LEN];
        g.bench_function(format!("decode/{name}"), |b| {
            b.iter(|| mixer.decode_chunk(black_box(&coded), &mut back).unwrap())
        });
        let mut model = ContextModel::new(ContextConfig::order2_bytes(16)).unwrap();
        g.bench_function(format!("encode_with_order2/{name}"), |b| {
            b.iter(|| {
                mixer
                    .encode_chunk_with(&mut model, black_box(&text), &mut out)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
