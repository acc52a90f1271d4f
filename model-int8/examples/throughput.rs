//! Prints the int8 model's throughput for the paper's three sizes at
//! context 2048 (random weights; speed does not depend on them).
//!
//! `cargo run --release -p model-int8 --features simd --example throughput [bytes] [200K|800K|3.2M|all] [window]`

use model_int8::bench::{
    kernel_name, measure_parallel, measure_throughput, paper_configs, random_int8_model,
};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048);
    let only = std::env::args().nth(2);
    let window: u32 = std::env::args()
        .nth(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let data: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
    println!(
        "kernels: {}, window {window}, chunks of 2048",
        kernel_name()
    );
    for (name, cfg) in paper_configs(window) {
        if only.as_deref().is_some_and(|o| o != name && o != "all") {
            continue;
        }
        let model = random_int8_model(cfg, 1).expect("quantize");
        let t = measure_throughput(&model, &data, 2048).expect("run");
        let cpu = t.cpu_bytes_per_sec.unwrap_or(f64::NAN);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let par = measure_parallel(&model, &data, 2048, threads).expect("run");
        println!(
            "{name}: {:.1} KB/s wall, {:.1} KB/s per CPU-second, {:.3} M MAC/byte, {:.2} GMAC/CPU-s, {:.1} KB/s wall on {threads} threads",
            t.bytes_per_sec / 1e3,
            cpu / 1e3,
            t.macs_per_byte / 1e6,
            cpu * t.macs_per_byte / 1e9,
            par / 1e3
        );
    }
}
