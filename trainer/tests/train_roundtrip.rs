//! Train a tiny model for a few steps on real text, check the loss goes
//! down, export it through `model-int8`, load the int8 file and round-trip
//! text through `coder-core` byte for byte.

use std::fs;

use coder_core::{decode_to_vec, encode_to_vec};
use model_int8::{working_memory_size, Config, FloatModel, Int8Model, ModelFile};
use trainer::mixture::Source;
use trainer::run::{read_json, Engine, TrainConfig};
use trainer::ship::{export_run, ExportArgs};
use trainer::train::train;

/// Real English text shipped in the repository.
fn text() -> Vec<u8> {
    let mut t = include_bytes!("../../docs/ARCHITECTURE.md").to_vec();
    t.extend_from_slice(include_bytes!("../../DEVELOPERS.md"));
    t
}

#[test]
fn fused_engine_trains_then_burn_resumes_exports_and_round_trips() {
    tiny_model_trains_exports_and_round_trips(Engine::Fused, Engine::Burn);
}

#[test]
fn burn_engine_trains_then_fused_resumes_exports_and_round_trips() {
    tiny_model_trains_exports_and_round_trips(Engine::Burn, Engine::Fused);
}

/// Trains on `engine`, resumes on `resume_engine` (the checkpoint moves
/// between engines), exports, and codes text with the int8 file.
fn tiny_model_trains_exports_and_round_trips(engine: Engine, resume_engine: Engine) {
    let dir = std::env::temp_dir().join(format!("trainer-test-{}-{engine}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let data = text();
    let data_path = dir.join("text.txt");
    fs::write(&data_path, &data).unwrap();
    let split = data.len() * 9 / 10;

    let config = Config::sized(32, 2, 2, 32, 128);
    let cfg = TrainConfig {
        model: config,
        train: vec![Source::new("text", &data_path, Some(0..split), 1.0)],
        val: vec![Source::new(
            "text",
            &data_path,
            Some(split..data.len()),
            1.0,
        )],
        init_from: None,
        seq_len: 64,
        batch: 8,
        final_seq_len: 96,
        final_frac: 0.2,
        steps: 80,
        time_budget_s: 0.0,
        lr: 1e-2,
        min_lr: 1e-3,
        warmup: 10,
        weight_decay: 0.01,
        beta2: 0.99,
        grad_clip: 1.0,
        checkpoint_every_s: 1e9,
        eval_every_s: 0.0,
        val_chunks: 1,
        seed: 5,
        engine,
        threads: 2,
        // Exercises both engines' dropout; small enough not to slow the fall.
        dropout: 0.05,
        tokenizer: None,
        cpu_clock: false,
        ema: 0.0,
    };
    let run = dir.join("run");
    let st = train(&run, cfg, false, &mut ()).unwrap();
    assert_eq!(st.step, 80);
    assert!(st.finished);

    // Per-step training loss from the metrics: it must fall well below
    // the uniform 8 bits per byte it starts at.
    let metrics = fs::read_to_string(run.join("metrics.csv")).unwrap();
    let bpb: Vec<f64> = metrics
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    assert_eq!(bpb.len(), 80);
    let first: f64 = bpb[..5].iter().sum::<f64>() / 5.0;
    let last: f64 = bpb[75..].iter().sum::<f64>() / 5.0;
    assert!(first > 7.0, "initial loss {first}");
    assert!(
        last < first - 2.0,
        "loss did not go down: {first} -> {last}"
    );

    // Resume continues from the checkpoint.
    let mut more = read_json::<TrainConfig>(&run.join("config.json")).unwrap();
    more.steps = 85;
    more.engine = resume_engine;
    let st = train(&run, more, true, &mut ()).unwrap();
    assert_eq!(st.step, 85);
    let cfg = read_json::<TrainConfig>(&run.join("config.json")).unwrap();
    assert_eq!(cfg.engine, resume_engine);

    // A resume that gives no limit keeps the run's (85 steps: done) and
    // leaves the saved config as it was.
    let mut bare = cfg.clone();
    (bare.steps, bare.time_budget_s) = (0, 0.0);
    assert_eq!(train(&run, bare, true, &mut ()).unwrap().step, 85);
    let kept = read_json::<TrainConfig>(&run.join("config.json")).unwrap();
    assert_eq!((kept.steps, kept.time_budget_s), (85, 0.0));

    let out = dir.join("out");
    let args = |name: &str, float: Option<std::path::PathBuf>| ExportArgs {
        run: run.clone(),
        name: name.into(),
        out_int8: out.join(format!("{name}.lmm")),
        out_float: out.join(format!("{name}.float")),
        manifest: out.join(format!("{name}.json")),
        eval_bytes: 0,
        calibration_bytes: 1024,
        limitations: "test model".into(),
        float,
    };
    let m = export_run(&args("tiny", None), &mut ()).unwrap();
    assert_eq!(m.exported_float, None);
    assert!(m.float_val_bpb < 6.0, "float {}", m.float_val_bpb);
    assert!(m.int8_val.round_trip_ok);
    assert!(
        (m.int8_val.log_loss_bpb - m.float_val_bpb).abs() < 0.05 * m.float_val_bpb,
        "int8 {} vs float {}",
        m.int8_val.log_loss_bpb,
        m.float_val_bpb
    );

    // Load the exported file in model-int8 and code real text with it.
    let file = fs::read(out.join("tiny.lmm")).unwrap();
    let mut words = vec![0u64; file.len().div_ceil(8)];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    bytes[..file.len()].copy_from_slice(&file);
    let mf = ModelFile::parse(&bytes[..file.len()]).unwrap();
    assert_eq!(*mf.config(), config);
    let mut work = vec![0u64; working_memory_size(mf.config()).div_ceil(8)];
    let mut model = Int8Model::new(&mf, bytemuck::cast_slice_mut(&mut work)).unwrap();
    let sample = &data[split..split + 120];
    let coded = encode_to_vec(&mut model, sample).unwrap();
    assert!(
        coded.len() < sample.len(),
        "no compression: {}",
        coded.len()
    );
    let back: Vec<u8> = decode_to_vec(&mut model, &coded, sample.len()).unwrap();
    assert_eq!(back, sample);

    // Another float model of the run's configuration (e.g. `trainer
    // average` of its checkpoints) exports in place of the last
    // checkpoint; one of another shape is refused.
    let untrained = out.join("untrained.float");
    fs::write(&untrained, FloatModel::random(config, 9).to_bytes()).unwrap();
    let m2 = export_run(&args("swapped", Some(untrained.clone())), &mut ()).unwrap();
    assert_eq!(m2.exported_float, Some(untrained.display().to_string()));
    assert!(
        m2.float_val_bpb > m.float_val_bpb + 1.0,
        "{} vs {}",
        m2.float_val_bpb,
        m.float_val_bpb
    );
    assert_eq!(m2.steps, m.steps);
    let smaller = Config::sized(16, 1, 2, 16, 128);
    fs::write(&untrained, FloatModel::random(smaller, 9).to_bytes()).unwrap();
    let err = export_run(&args("refused", Some(untrained)), &mut ()).unwrap_err();
    assert!(matches!(err, trainer::Error::Model(_)), "{err}");
    let _ = fs::remove_dir_all(&dir);
}
