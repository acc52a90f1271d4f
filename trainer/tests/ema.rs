//! `--ema`: the fused learner keeps an exponential moving average of its
//! weights, checkpoints it beside them, continues it on resume, validates
//! with it, and `export` (through `load_run`) takes it.

use std::fs;
use std::ops::Range;

use model_int8::{Config, FloatModel};
use trainer::learner::ema_update;
use trainer::mixture::Source;
use trainer::run::{load_run, read_float_model, write_json, Engine, RunDir, RunState, TrainConfig};
use trainer::train::open_learner;
use trainer::Error;

const DECAY: f32 = 0.75;

fn config(text: &std::path::Path, ema: f32) -> TrainConfig {
    let len = fs::metadata(text).unwrap().len() as usize;
    TrainConfig {
        model: Config::sized(32, 1, 2, 32, 128),
        train: vec![Source::new("readme", text, Some(0..len / 2), 1.0)],
        val: vec![Source::new("readme", text, Some(len / 2..len), 1.0)],
        init_from: None,
        seq_len: 64,
        batch: 2,
        final_seq_len: 0,
        final_frac: 0.0,
        steps: 3,
        time_budget_s: 0.0,
        lr: 1e-2,
        min_lr: 1e-3,
        warmup: 1,
        weight_decay: 0.01,
        beta2: 0.99,
        grad_clip: 1.0,
        checkpoint_every_s: 1e9,
        eval_every_s: 1e9,
        val_chunks: 1,
        seed: 1,
        engine: Engine::Fused,
        threads: 1,
        dropout: 0.0,
        tokenizer: None,
        cpu_clock: false,
        ema,
    }
}

/// `avg` after one more step towards `x`, tensor by tensor.
fn stepped(avg: &FloatModel, x: &FloatModel) -> FloatModel {
    let mut out = avg.clone();
    for (a, t) in out.tensors_mut().into_iter().zip(x.tensors()) {
        ema_update(a, t, DECAY);
    }
    out
}

#[test]
fn the_average_is_kept_checkpointed_resumed_validated_and_exported() {
    let dir = std::env::temp_dir().join(format!("ema-test-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let text = dir.join("text");
    fs::write(&text, include_str!("../README.md")).unwrap();
    let cfg = config(&text, DECAY);
    let bytes = fs::read(&text).unwrap();
    let run = RunDir(dir.join("run"));
    fs::create_dir_all(&run.0).unwrap();
    let batch = |k: usize| -> (Vec<i32>, Vec<i32>) {
        let s = &bytes[k * 200..k * 200 + 2 * 64];
        let inp = s.iter().map(|&b| b as i32).collect::<Vec<_>>();
        let tgt = bytes[k * 200 + 1..k * 200 + 1 + 2 * 64]
            .iter()
            .map(|&b| b as i32)
            .collect();
        (inp, tgt)
    };
    let read = |p: std::path::PathBuf| read_float_model(&p).unwrap();

    // Before any step the average is the weights.
    let mut learner = open_learner(&cfg, &run, false).unwrap();
    learner.save(&run).unwrap();
    let (p0, e0) = (read(run.float_model()), read(run.ema_model()));
    assert_eq!(p0, e0);

    // One step: avg += (1 - decay) * (weights - avg), exactly.
    let (i, t) = batch(1);
    learner.step(i, t, 2, 64, 1e-2, 1);
    learner.save(&run).unwrap();
    let (p1, e1) = (read(run.float_model()), read(run.ema_model()));
    assert_ne!(p1, p0);
    assert_eq!(e1, stepped(&e0, &p1));

    // Resumed, the average continues from its checkpoint.
    drop(learner);
    let mut learner = open_learner(&cfg, &run, true).unwrap();
    let (i, t) = batch(2);
    learner.step(i, t, 2, 64, 1e-2, 2);
    learner.save(&run).unwrap();
    let (p2, e2) = (read(run.float_model()), read(run.ema_model()));
    assert_eq!(e2, stepped(&e1, &p2));
    assert_ne!(e2, p2);

    // Validation measures the average: the same figure as a learner
    // without one, started from the average's weights.
    let chunks: Vec<Range<usize>> = vec![3000..3000 + 128, 5000..5000 + 128];
    let with_avg = learner.val_bpb(&bytes, &chunks);
    let mut plain_cfg = cfg.clone();
    plain_cfg.ema = 0.0;
    plain_cfg.init_from = Some(run.ema_model());
    let mut plain = open_learner(&plain_cfg, &RunDir(dir.join("plain")), false).unwrap();
    assert_eq!(with_avg, plain.val_bpb(&bytes, &chunks));

    // Export reads the run through load_run: the average.
    write_json(&run.config(), &cfg).unwrap();
    write_json(&run.state(), &RunState::default()).unwrap();
    assert_eq!(load_run(&run.0).unwrap().2, e2);

    // The Burn engine keeps no average: refused, not ignored.
    let mut burn = cfg.clone();
    burn.engine = Engine::Burn;
    let err = open_learner(&burn, &RunDir(dir.join("burn")), false)
        .err()
        .unwrap();
    assert!(matches!(err, Error::Usage(_)), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}
