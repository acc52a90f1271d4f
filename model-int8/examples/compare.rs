//! Int8 against float on held-out enwik8: bits per byte of a float
//! checkpoint (`.float`, as the trainer names it) and of its int8 model, either a given `.lmm` file or
//! one quantized here (calibrated on the start of the training range) with
//! the given SmoothQuant strength and clip quantile. Run from the
//! workspace root (the default data path is relative to it).
//!
//! ```text
//! cargo run --release -p model-int8 --features simd --example compare -- \
//!     models/lm-200k.float [--int8 models/lm-200k.lmm] [--smoothing 0.5] \
//!     [--clip 0.9999] [--bytes 16384] [--data ../shared/data/enwik8/enwik8.head]
//! ```

use model_int8::{
    bits_per_byte, quantize, working_memory_size, FloatModel, FloatRef, Int8Model, ModelFile,
    QuantOptions,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let float_path = args.first().ok_or(
        "usage: compare FLOAT.float [--int8 FILE] [--smoothing A] [--bytes N] [--data PATH]",
    )?;
    let data_path = opt("--data").unwrap_or_else(|| "../shared/data/enwik8/enwik8.head".into());
    let n: usize = opt("--bytes").map_or(Ok(16384), |s| s.parse())?;
    let smoothing: f32 = opt("--smoothing").map_or(Ok(0.5), |s| s.parse())?;
    let clip_quantile: Option<f32> = opt("--clip").map(|s| s.parse()).transpose()?;
    let data = std::fs::read(&data_path)?;
    let held_out = &data[3_600_000.min(data.len())..];
    let held_out = &held_out[..n.min(held_out.len())];
    let fm = FloatModel::from_bytes(&std::fs::read(float_path)?)?;
    let int8 = match opt("--int8") {
        Some(p) => std::fs::read(p)?,
        None => {
            let opts = QuantOptions {
                smoothing,
                clip_quantile,
                ..QuantOptions::default()
            };
            quantize(&fm, &data[..16384.min(data.len())], &opts)?
        }
    };
    let file = ModelFile::parse(&int8)?;
    let mut work = vec![0u8; working_memory_size(file.config())];
    let mut m = Int8Model::new(&file, &mut work)?;
    let chunk = 2048.min(fm.config.max_context as usize);
    let bi = bits_per_byte(&mut m, held_out, chunk);
    let mut f = FloatRef::new(fm, file.precision());
    let bf = bits_per_byte(&mut f, held_out, chunk);
    println!(
        "{} held-out bytes, chunks of {chunk}: int8 {bi:.4} bits/byte, float {bf:.4} ({:+.2}%)",
        held_out.len(),
        (bi / bf - 1.0) * 100.0
    );
    Ok(())
}
