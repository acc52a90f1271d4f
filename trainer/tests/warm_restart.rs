//! A warm restart from a shipped float model continues that model: the
//! loss of the first step (before its update) is the shipped model's loss
//! on the same batch, computed independently by the Burn implementation.

use std::fs;
use std::path::Path;

use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use model_int8::FloatModel;
use rand::rngs::StdRng;
use rand::SeedableRng;
use trainer::backend::{self, Inner};
use trainer::mixture::{Mixture, Source};
use trainer::model::Aux;
use trainer::run::{RunDir, TrainConfig};
use trainer::train::open_learner;
use trainer::Error;

fn shipped(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../model-int8/models")
        .join(name)
}

#[test]
fn warm_restart_starts_at_the_shipped_models_loss() {
    let float_path = shipped("lm-200k.float");
    let fm = FloatModel::from_bytes(&fs::read(&float_path).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("warm-restart-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();

    // Held-out enwik8 as the batch.
    let enwik8 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/enwik8/enwik8.head");
    let text =
        trainer::data::load_bytes(&enwik8).expect("the shared data sets are beside the checkout");
    let text = text[3_600_000..].to_vec();
    let src = Source::new("enwik8", &enwik8, Some(3_600_000..4_154_399), 1.0);
    let mix = Mixture::from_parts(std::slice::from_ref(&src), vec![text]).unwrap();
    let (batch, len) = (4, 128);
    let mut tokens = Default::default();
    let (inp, tgt) = mix
        .sample_batch(batch, len, 256, &mut StdRng::seed_from_u64(9), &mut tokens)
        .unwrap();

    let cfg: TrainConfig = serde_json::from_value(serde_json::json!({
        "model": fm.config,
        "train": [src.clone()], "val": [src],
        "init_from": float_path,
        "seq_len": len, "batch": batch, "final_seq_len": 0, "final_frac": 0.0,
        "steps": 1, "time_budget_s": 0.0, "lr": 1e-3, "min_lr": 1e-4, "warmup": 1,
        "weight_decay": 0.1, "beta2": 0.99, "grad_clip": 1.0,
        "checkpoint_every_s": 1e9, "eval_every_s": 1e9, "val_chunks": 1, "seed": 1,
        "engine": "fused", "threads": 2, "dropout": 0.0
    }))
    .unwrap();
    let run = RunDir(dir.clone());
    let mut learner = open_learner(&cfg, &run, false).unwrap();
    let first = learner.step(inp.clone(), tgt.clone(), batch, len, 1e-3, 1);

    // The shipped model's loss on the same batch, by the Burn model.
    let device = backend::device();
    let lm = trainer::export::from_float_model::<Inner>(&fm, &device).unwrap();
    let aux = Aux::new(&fm.config, len, &device);
    let t =
        |v: Vec<i32>| Tensor::<Inner, 2, Int>::from_data(TensorData::new(v, [batch, len]), &device);
    let want: f32 = lm.loss(t(inp), t(tgt), &aux).into_scalar().elem();
    assert!(
        (first - want).abs() < 1e-4 * want,
        "first step loss {first}, shipped model's loss {want}"
    );
    // Text like the model's: far below a random model's ln 256 = 5.5 nats.
    assert!(want < 2.0, "{want}");

    // A warm restart refuses another architecture, and a run directory
    // that already holds a checkpoint.
    learner.save(&run).unwrap();
    let err = open_learner(&cfg, &run, false).err().unwrap();
    assert!(matches!(err, Error::Run(_)), "{err:?}");
    assert!(err.to_string().contains("--resume"), "{err}");
    let mut other = cfg.clone();
    other.model.d_model = 128;
    other.model.d_ff = 512;
    let run2 = RunDir(dir.join("other"));
    let err = open_learner(&other, &run2, false).err().unwrap();
    assert!(matches!(err, Error::Model(_)), "{err:?}");
    assert!(err.to_string().contains("not the run's"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}
