//! Prints the int8 model's throughput for the paper's three sizes at
//! context 2048 (random weights; speed does not depend on them).
//!
//! `cargo run --release -p model-int8 --features simd --example throughput [bytes]`

use model_int8::bench::{kernel_name, measure_throughput, paper_configs, random_int8_model};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2048);
    let data: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
    println!("kernels: {}", kernel_name());
    for (name, cfg) in paper_configs() {
        let model = random_int8_model(cfg, 1).expect("quantize");
        let t = measure_throughput(&model, &data, 2048).expect("run");
        println!(
            "{name}: {:.1} KB/s, {:.2} M MAC/byte, {:.2} GMAC/s",
            t.bytes_per_sec / 1e3,
            t.macs_per_byte / 1e6,
            t.macs_per_sec / 1e9
        );
    }
}
