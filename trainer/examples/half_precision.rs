//! Whether a float checkpoint survives half-precision storage: for each
//! float model file, the float bits per byte on held-out enwik8 with its
//! weights as they are, rounded to IEEE binary16 (f16) and rounded to
//! bfloat16 (both round-to-nearest-even), beside the noise of training:
//! the change of the 32 validation chunks' loss after one AdamW step from
//! a fresh optimizer, at a warm restart's first rate (the recipe's peak
//! over its warm-up steps, from the manifest `NAME.json` beside the file)
//! and at the peak rate, and the spread of the step-0 loss over training
//! batches; each seed is another batch of enwik8's training range. Also
//! counts weights that binary16 cannot hold well (beyond its range,
//! subnormal, flushed to zero).
//!
//! ```sh
//! cargo run --release -p trainer --example half_precision -- \
//!     [--data ../shared/data/enwik8/enwik8.head] [--seeds 3] [--json OUT.json] \
//!     model-int8/models/lm-200k.float model-int8/models/lm-800k.float model-int8/models/lm-3m2.float
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use half::{bf16, f16};
use model_int8::FloatModel;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use trainer::fused::{self, Dropout, Engine};
use trainer::{data, run, train};

const HELD_OUT: usize = 3_600_000;
const CHUNK: usize = 2048;

/// Bits per byte of `params` on the whole held-out range and on the 32
/// evenly spread chunks a training run validates on (`--val-chunks 32`).
#[derive(Clone, Copy)]
struct Bpb {
    all: f64,
    val32: f64,
}

struct Eval<'a> {
    engine: Engine,
    text: &'a [u8],
    all: Vec<Range<usize>>,
    val32: Vec<Range<usize>>,
}

impl Eval<'_> {
    fn bpb32(&mut self, params: &[f32]) -> f64 {
        let bytes: usize = self.val32.iter().map(|r| r.len()).sum();
        fused::bits(&mut self.engine, params, self.text, &self.val32.clone(), 4) / bytes as f64
    }

    fn bpb(&mut self, params: &[f32]) -> Bpb {
        let mut on = |chunks: &[Range<usize>]| {
            let bytes: usize = chunks.iter().map(|r| r.len()).sum();
            fused::bits(&mut self.engine, params, self.text, chunks, 4) / bytes as f64
        };
        let all = on(&self.all.clone());
        let val32 = on(&self.val32.clone());
        Bpb { all, val32 }
    }
}

fn rounded(fm: &FloatModel, round: impl Fn(f32) -> f32) -> FloatModel {
    let mut m = fm.clone();
    for t in m.tensors_mut() {
        for x in t.iter_mut() {
            *x = round(*x);
        }
    }
    m
}

/// What binary16 does to the weights.
fn f16_range(fm: &FloatModel) -> Value {
    let (mut n, mut max_abs, mut over, mut subnormal, mut flushed, mut nonfinite) =
        (0usize, 0f32, 0usize, 0usize, 0usize, 0usize);
    let (mut max_rel, mut sum_rel, mut n_rel) = (0f64, 0f64, 0usize);
    for t in fm.tensors() {
        for &x in t {
            n += 1;
            if !x.is_finite() {
                nonfinite += 1;
                continue;
            }
            max_abs = max_abs.max(x.abs());
            let h = f16::from_f32(x);
            if h.is_infinite() {
                over += 1;
            } else if x != 0.0 && h.to_f32() == 0.0 {
                flushed += 1;
            } else if x != 0.0 && !h.is_normal() {
                subnormal += 1;
            } else if x != 0.0 {
                let rel = ((h.to_f32() - x) / x).abs() as f64;
                max_rel = max_rel.max(rel);
                sum_rel += rel;
                n_rel += 1;
            }
        }
    }
    json!({
        "parameters": n,
        "max_abs": max_abs,
        "beyond_f16_max_65504": over,
        "f16_subnormal": subnormal,
        "flushed_to_zero": flushed,
        "non_finite_in_f32": nonfinite,
        "f16_max_rel_error_normal": max_rel,
        "f16_mean_rel_error_normal": sum_rel / n_rel.max(1) as f64,
    })
}

fn recipe(float_path: &Path) -> Value {
    let manifest = float_path.with_extension("json");
    let v: Value = run::read_json(&manifest).unwrap_or_else(|e| panic!("{e}"));
    v["recipe"].clone()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut data_path = PathBuf::from("../shared/data/enwik8/enwik8.head");
    let (mut seeds, mut json_out, mut models) = (3u64, None, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data_path = args.next().expect("--data PATH").into(),
            "--seeds" => seeds = args.next().expect("--seeds N").parse().expect("a number"),
            "--json" => json_out = Some(PathBuf::from(args.next().expect("--json PATH"))),
            _ => models.push(PathBuf::from(a)),
        }
    }
    assert!(!models.is_empty(), "give float model files");
    let bytes = data::load_bytes(&data_path).unwrap_or_else(|e| panic!("{e}"));
    let held = HELD_OUT..bytes.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows = Vec::new();
    println!(
        "| model | f32 | f16 | bf16 | f16 − f32 | bf16 − f32 | 32 chunks: f32 | f16 − f32 | first step: mean abs Δ | peak-rate step: mean abs Δ | step-0 batch bpb, sd over batches | f16 − f32 on those batches |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for path in &models {
        let t0 = Instant::now();
        let fm = run::read_float_model(path).unwrap_or_else(|e| panic!("{e}"));
        let r = recipe(path);
        let engine = Engine::new(&fm.config, threads).expect("a fused-engine model");
        let layout = engine.layout().clone();
        let mut ev = Eval {
            engine,
            text: &bytes,
            all: data::chunks(&held, CHUNK),
            val32: train::val_chunks(&held, CHUNK, 32),
        };
        let p32 = layout.flatten(&fm).unwrap();
        let p16 = layout
            .flatten(&rounded(&fm, |x| f16::from_f32(x).to_f32()))
            .unwrap();
        let pb16 = layout
            .flatten(&rounded(&fm, |x| bf16::from_f32(x).to_f32()))
            .unwrap();
        let (b32, b16, bb16) = (ev.bpb(&p32), ev.bpb(&p16), ev.bpb(&pb16));

        // Noise: one AdamW step from the f32 weights with a fresh
        // optimizer, as a warm restart's first step (the recipe's rate
        // over its warm-up steps) and at the recipe's peak rate; each seed
        // another batch of the training range; measured on the 32 chunks.
        let (len, batch) = (
            r["seq_len"].as_u64().unwrap() as usize,
            r["batch"].as_u64().unwrap() as usize,
        );
        let peak = r["lr"].as_f64().unwrap() as f32;
        let first = peak / r["warmup"].as_u64().unwrap().max(1) as f32;
        let dropout = r["dropout"].as_f64().unwrap_or(0.0) as f32;
        let bos = fm.config.vocab as i32;
        let ln2 = std::f64::consts::LN_2;
        let mut steps = Vec::new();
        for seed in 1..=seeds {
            let mut rng = StdRng::seed_from_u64(seed);
            let (inp, tgt) = data::sample_batch(&bytes, &(0..HELD_OUT), batch, len, bos, &mut rng);
            // The step-0 loss on this batch for each storage.
            let step0: Vec<f64> = [&p32, &p16, &pb16]
                .iter()
                .map(|p| ev.engine.loss(p, &inp, &tgt, batch, len) as f64 / ln2)
                .collect();
            let mut after = Vec::new();
            for lr in [first, peak] {
                let mut grad = vec![0f32; layout.len];
                ev.engine.loss_and_grad_dropout(
                    &p32,
                    &inp,
                    &tgt,
                    batch,
                    len,
                    &mut grad,
                    Dropout { p: dropout, seed },
                );
                let mut p = p32.clone();
                let mut opt = fused::AdamW::new(
                    layout.len,
                    r["beta2"].as_f64().unwrap() as f32,
                    r["weight_decay"].as_f64().unwrap() as f32,
                    r["grad_clip_per_tensor"].as_f64().unwrap() as f32,
                );
                opt.step(lr, &mut p, &mut grad, &layout.tensors());
                after.push(ev.bpb32(&p) - b32.val32);
            }
            steps.push(json!({
                "seed": seed,
                "step0_batch_bpb": {"f32": step0[0], "f16": step0[1], "bf16": step0[2]},
                "delta_val32_first_lr": after[0],
                "delta_val32_peak_lr": after[1],
            }));
        }
        let col = |k: &str| -> Vec<f64> { steps.iter().map(|s| s[k].as_f64().unwrap()).collect() };
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let abs_mean = |v: &[f64]| mean(&v.iter().map(|x| x.abs()).collect::<Vec<_>>());
        let (d_first, d_peak) = (col("delta_val32_first_lr"), col("delta_val32_peak_lr"));
        let batch_bpb: Vec<f64> = steps
            .iter()
            .map(|s| s["step0_batch_bpb"]["f32"].as_f64().unwrap())
            .collect();
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64).sqrt()
        };
        let f16_batch: Vec<f64> = steps
            .iter()
            .map(|s| {
                s["step0_batch_bpb"]["f16"].as_f64().unwrap()
                    - s["step0_batch_bpb"]["f32"].as_f64().unwrap()
            })
            .collect();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        println!(
            "| {name} | {:.6} | {:.6} | {:.6} | {:+.6} | {:+.6} | {:.6} | {:+.6} | {:.6} | {:.6} | {:.4} | {:+.6} |",
            b32.all,
            b16.all,
            bb16.all,
            b16.all - b32.all,
            bb16.all - b32.all,
            b32.val32,
            b16.val32 - b32.val32,
            abs_mean(&d_first),
            abs_mean(&d_peak),
            sd(&batch_bpb),
            mean(&f16_batch),
        );
        rows.push(json!({
            "model": path.display().to_string(),
            "config": fm.config,
            "held_out": [held.start, held.end],
            "chunk": CHUNK,
            "bpb_all": {"f32": b32.all, "f16": b16.all, "bf16": bb16.all},
            "bpb_val32": {"f32": b32.val32, "f16": b16.val32, "bf16": bb16.val32},
            "f16_weights": f16_range(&fm),
            "noise_one_adamw_step": {
                "first_lr": first, "peak_lr": peak, "seq_len": len, "batch": batch,
                "dropout": dropout,
                "steps": steps,
                "mean_abs_delta_val32_first_lr": abs_mean(&d_first),
                "mean_abs_delta_val32_peak_lr": abs_mean(&d_peak),
                "step0_batch_bpb_sd": sd(&batch_bpb),
                "f16_minus_f32_step0_batch_mean": mean(&f16_batch),
            },
            "seconds": t0.elapsed().as_secs_f64(),
        }));
        eprintln!(
            "{name}: {:.0} s; f16 weights: {}",
            t0.elapsed().as_secs_f64(),
            rows.last().unwrap()["f16_weights"]
        );
    }
    let doc = json!({
        "data": data_path.display().to_string(),
        "machine": trainer::ship::hardware(),
        "threads": threads,
        "rows": rows,
    });
    match json_out {
        Some(p) => run::write_json(&p, &doc).unwrap_or_else(|e| panic!("{e}")),
        None => println!("{}", serde_json::to_string_pretty(&doc).unwrap()),
    }
}
