//! Quick per-core speed of one chunk at a time against lockstep batches:
//! `cargo run --release -p model-int8 --features simd --example batch_speed`
use model_int8::bench::{
    measure_batched, measure_throughput, paper_configs, peak_macs_per_sec, random_int8_model,
};

fn main() {
    let data: Vec<u8> = (0..32768usize).map(|i| (i * 31 % 251) as u8).collect();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let lanes = if args.is_empty() {
        vec![1, 4, 8, 16, 32]
    } else {
        args
    };
    println!(
        "peak {:.1} GMAC/s",
        peak_macs_per_sec().unwrap_or(0.0) / 1e9
    );
    let only = std::env::var("SIZE").ok();
    for (name, cfg) in paper_configs(256) {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let f = random_int8_model(cfg, 1).unwrap();
        let r = |t: &model_int8::bench::Throughput| t.cpu_bytes_per_sec.unwrap_or(t.bytes_per_sec);
        // Best of three: other work on the machine only slows a run down.
        let best = |m: &dyn Fn() -> model_int8::bench::Throughput| {
            (0..3)
                .map(|_| m())
                .max_by(|a, b| r(a).total_cmp(&r(b)))
                .unwrap()
        };
        print!("{name}:");
        if std::env::var("NOSINGLE").is_err() {
            let one = best(&|| measure_throughput(&f, &data, 2048).unwrap());
            print!(" single {:.1} KB/s", r(&one) / 1e3);
        }
        for &b in &lanes {
            let t = best(&|| measure_batched(&f, &data, 2048, b).unwrap());
            print!(
                " | B{b} {:.1} KB/s ({:.1} GMAC/s)",
                r(&t) / 1e3,
                r(&t) * t.macs_per_byte / 1e9
            );
        }
        println!();
    }
}
