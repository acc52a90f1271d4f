//! Coder throughput by CPU time (robust on a loaded, shared machine, where
//! criterion's wall-clock figures swing): `cargo run --release -p coder-core
//! --example coder_throughput [MiB]`. Linux only (reads /proc/self/schedstat).

use coder_core::models::{ContextConfig, ContextModel, StaticModel};
use coder_core::{decode_into, encode_into, max_encoded_len, FreqTable, Model};

fn cpu_ns() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    s.split_whitespace().next().unwrap().parse().unwrap()
}

fn run<M: Model>(name: &str, model: &mut M, data: &[u8]) {
    let mut coded = vec![0u8; max_encoded_len(data.len(), model.precision())];
    let mut back = vec![0u8; data.len()];
    let mut enc = Vec::new();
    let mut dec = Vec::new();
    let mut n = 0;
    for _ in 0..7 {
        let t = cpu_ns();
        n = encode_into(model, data, &mut coded).unwrap();
        enc.push(cpu_ns() - t);
        let t = cpu_ns();
        decode_into(model, &coded[..n], &mut back).unwrap();
        dec.push(cpu_ns() - t);
        assert_eq!(back, data);
    }
    enc.sort();
    dec.sort();
    let mbs = |ns: u64| data.len() as f64 / ns as f64 * 1e9 / (1 << 20) as f64;
    println!(
        "{name}: {:.3} bits/byte, encode {:.1} MiB/s, decode {:.1} MiB/s (median CPU time of 7)",
        8.0 * n as f64 / data.len() as f64,
        mbs(enc[3]),
        mbs(dec[3])
    );
}

fn main() {
    let mib: usize = std::env::args().nth(1).map_or(1, |a| a.parse().unwrap());
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/enwik8/enwik8.head"
    );
    let mut data = std::fs::read(path).expect("enwik8.head");
    data.truncate(mib << 20);
    let mut counts = [0f64; 256];
    for &b in &data {
        counts[b as usize] += 1.0;
    }
    let table = FreqTable::from_probabilities(&counts, 16).unwrap();
    run(
        "static256 p16 binary search",
        &mut StaticModel::new(table.clone()),
        &data,
    );
    run(
        "static256 p16 4096-slot index",
        &mut StaticModel::<_, 4096>::with_index(table).unwrap(),
        &data,
    );
    run(
        "order0 adaptive p16",
        &mut ContextModel::new(ContextConfig::order0_bytes()).unwrap(),
        &data,
    );
    for bits in [12, 16] {
        run(
            &format!("order2 adaptive p16, 2^{bits} contexts"),
            &mut ContextModel::new(ContextConfig::order2_bytes(bits)).unwrap(),
            &data,
        );
    }
}
