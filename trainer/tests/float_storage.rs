//! Which float files are binary16 and which stay f32: a run's checkpoints
//! (`model.float`, `ema.float`) hold the exact weights, so a resume
//! continues bit for bit; `export` and `average` write binary16, and the
//! manifest's float figure is that of the weights the file holds.

use std::fs;
use std::path::Path;
use std::process::Command;

use model_int8::{Config, FloatModel, FloatStorage};
use trainer::mixture::Source;
use trainer::run::{read_float_model, Engine, RunDir, TrainConfig};
use trainer::ship::{export_run, measure, ExportArgs};
use trainer::train::{open_learner, train};

fn storage(path: &Path) -> (FloatModel, FloatStorage) {
    FloatModel::read_with_storage(&fs::read(path).unwrap()[..]).unwrap()
}

fn config(text: &Path, steps: u64) -> TrainConfig {
    let len = fs::metadata(text).unwrap().len() as usize;
    TrainConfig {
        model: Config::sized(32, 1, 2, 32, 128),
        train: vec![Source::new("docs", text, Some(0..len * 9 / 10), 1.0)],
        val: vec![Source::new("docs", text, Some(len * 9 / 10..len), 1.0)],
        init_from: None,
        seq_len: 64,
        batch: 4,
        final_seq_len: 0,
        final_frac: 0.0,
        steps,
        time_budget_s: 0.0,
        lr: 1e-2,
        min_lr: 1e-3,
        warmup: 2,
        weight_decay: 0.01,
        beta2: 0.99,
        grad_clip: 1.0,
        checkpoint_every_s: 1e9,
        eval_every_s: 1e9,
        val_chunks: 1,
        seed: 3,
        engine: Engine::Fused,
        threads: 2,
        dropout: 0.0,
        tokenizer: None,
        cpu_clock: false,
        ema: 0.9,
    }
}

#[test]
fn checkpoints_stay_f32_and_exports_are_f16() {
    let dir = std::env::temp_dir().join(format!("float-storage-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let text_path = dir.join("docs.txt");
    let mut text = include_bytes!("../../docs/ARCHITECTURE.md").to_vec();
    text.extend_from_slice(include_bytes!("../../DEVELOPERS.md"));
    fs::write(&text_path, &text).unwrap();

    // A learner's checkpoint holds its weights exactly, in f32.
    let cfg = config(&text_path, 6);
    let direct = RunDir(dir.join("direct"));
    fs::create_dir_all(&direct.0).unwrap();
    let mut learner = open_learner(&cfg, &direct, false).unwrap();
    let (inp, tgt): (Vec<i32>, Vec<i32>) = (
        text[..4 * 64].iter().map(|&b| b as i32).collect(),
        text[1..4 * 64 + 1].iter().map(|&b| b as i32).collect(),
    );
    for step in 0..3 {
        learner.step(inp.clone(), tgt.clone(), 4, 64, 1e-2, step);
    }
    learner.save(&direct).unwrap();
    let (saved, s) = storage(&direct.float_model());
    assert_eq!(s, FloatStorage::F32);
    assert_eq!(saved, learner.float_model());
    assert_ne!(saved, saved.rounded(FloatStorage::F16));
    assert_eq!(storage(&direct.ema_model()).1, FloatStorage::F32);

    // A run and its export.
    let run = dir.join("run");
    train(&run, cfg, false, &mut ()).unwrap();
    let rd = RunDir(run.clone());
    let (last, s) = storage(&rd.ema_model());
    assert_eq!(s, FloatStorage::F32);
    assert_eq!(storage(&rd.float_model()).1, FloatStorage::F32);
    let out = dir.join("out");
    let args = ExportArgs {
        run: run.clone(),
        name: "tiny".into(),
        out_int8: out.join("tiny.lmm"),
        out_float: out.join("tiny.float"),
        manifest: out.join("tiny.json"),
        eval_bytes: 0,
        calibration_bytes: 1024,
        limitations: "test model".into(),
        float: None,
    };
    let m = export_run(&args, &mut ()).unwrap();
    let (shipped, s) = storage(&args.out_float);
    assert_eq!(s, FloatStorage::F16);
    assert_eq!(shipped, last.rounded(FloatStorage::F16));
    // Two bytes a value (plus the header and tensor lengths).
    let (tensors, values) = (
        shipped.tensors().len(),
        shipped.config.parameters() as usize,
    );
    let len = |p: &Path| fs::metadata(p).unwrap().len() as usize;
    assert_eq!(len(&args.out_float), 52 + 4 * tensors + 2 * values);
    assert_eq!(len(&rd.ema_model()), 48 + 4 * tensors + 4 * values);
    // The manifest measured the weights the file holds.
    let int8 = fs::read(&args.out_int8).unwrap();
    let val = &text[text.len() * 9 / 10..];
    let (float_bpb, _) = measure(&shipped, &int8, val, 128).unwrap();
    assert_eq!(m.float_val_bpb, float_bpb);
    // A warm restart reads the binary16 file.
    let read = read_float_model(&args.out_float).unwrap();
    assert_eq!(read, shipped);

    // `trainer average` writes binary16 unless asked for f32.
    let bin = env!("CARGO_BIN_EXE_trainer");
    let avg = |extra: &[&str], out: &Path| {
        let st = Command::new(bin)
            .args(["average", "--out"])
            .arg(out)
            .args(extra)
            .arg(rd.float_model())
            .arg(rd.ema_model())
            .status()
            .unwrap();
        assert!(st.success());
        storage(out)
    };
    let mean =
        trainer::average::average(&[read_float_model(&rd.float_model()).unwrap(), last.clone()])
            .unwrap();
    let (half, s) = avg(&[], &dir.join("avg16.float"));
    assert_eq!(
        (half, s),
        (mean.rounded(FloatStorage::F16), FloatStorage::F16)
    );
    let (full, s) = avg(&["--f32"], &dir.join("avg32.float"));
    assert_eq!((full, s), (mean, FloatStorage::F32));
    let _ = fs::remove_dir_all(&dir);
}
