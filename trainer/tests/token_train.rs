//! A token-level run: a tiny model over a BPE vocabulary trains on the
//! cached token stream, validates in bits per raw byte, resumes, and
//! exports an int8 model with its tokenizer beside it whose held-out text
//! decodes back byte for byte.

use std::fs;

use trainer::mixture::Source;
use trainer::run::{read_json, Engine, TrainConfig};
use trainer::ship::{export_run, ExportArgs};
use trainer::train::train;

fn text() -> Vec<u8> {
    let mut t = include_bytes!("../../docs/ARCHITECTURE.md").to_vec();
    t.extend_from_slice(include_bytes!("../../DEVELOPERS.md"));
    t.extend_from_slice(include_bytes!("../README.md"));
    t
}

#[test]
fn a_bpe_model_trains_resumes_and_exports_with_its_tokenizer() {
    let dir = std::env::temp_dir().join(format!("trainer-tokens-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let data = text();
    let data_path = dir.join("text.txt");
    fs::write(&data_path, &data).unwrap();
    let split = data.len() * 9 / 10;
    let bpe = tokenize::Bpe::train(&[&data[..split]], 400).unwrap();
    let tok_path = dir.join("bpe.json");
    bpe.save(&tok_path).unwrap();

    let config = model_int8::Config {
        vocab: 400,
        ..model_int8::Config::sized(32, 2, 2, 32, 2048)
    };
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
        final_seq_len: 0,
        final_frac: 0.0,
        steps: 60,
        time_budget_s: 0.0,
        lr: 1e-2,
        min_lr: 1e-3,
        warmup: 10,
        weight_decay: 0.01,
        beta2: 0.99,
        grad_clip: 1.0,
        checkpoint_every_s: 1e9,
        eval_every_s: 0.0,
        val_chunks: 2,
        seed: 3,
        engine: Engine::Fused,
        threads: 1,
        dropout: 0.0,
        tokenizer: Some(tok_path.clone()),
        cpu_clock: false,
        ema: 0.0,
    };
    let run = dir.join("run");
    let st = train(&run, cfg, false, &mut ()).unwrap();
    assert_eq!(st.step, 60);
    // The tokenizer is copied into the run, the token stream cached there.
    assert_eq!(
        tokenize::Bpe::load(&run.join("tokenizer.json"))
            .unwrap()
            .hash(),
        bpe.hash()
    );
    let caches: Vec<_> = fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("tokens-text-"))
        .collect();
    assert_eq!(caches.len(), 1);
    let tokens = bpe.encode(&data[..split]).len();
    // Tokenized in newline-cut pieces: within a few tokens of the whole.
    let cached = caches[0].metadata().unwrap().len() as usize / 2;
    assert!(cached.abs_diff(tokens) < 50, "{cached} vs {tokens}");

    // Validation is in bits per raw byte: it starts near log2(400) bits a
    // token over a few bytes a token and falls well below 8.
    let metrics = fs::read_to_string(run.join("metrics.csv")).unwrap();
    let last = metrics.lines().last().unwrap();
    let val: f64 = last.split(',').nth(5).unwrap().parse().unwrap();
    assert!(val < 5.0, "val {val}");

    // Resume reads the cache and the run's copy of the tokenizer.
    let mut more = read_json::<TrainConfig>(&run.join("config.json")).unwrap();
    more.steps = 65;
    assert_eq!(train(&run, more, true, &mut ()).unwrap().step, 65);

    let out = dir.join("out");
    let args = ExportArgs {
        run: run.clone(),
        name: "tiny-bpe".into(),
        out_int8: out.join("tiny-bpe.lmm"),
        out_float: out.join("tiny-bpe.float"),
        manifest: out.join("tiny-bpe.json"),
        eval_bytes: 0,
        calibration_bytes: 2048,
        limitations: "test model".into(),
        float: None,
    };
    let m = export_run(&args, &mut ()).unwrap();
    assert!(m.int8_val.round_trip_ok);
    assert!((m.int8_val.log_loss_bpb - m.float_val_bpb).abs() < 0.05 * m.float_val_bpb);
    let t = m.tokenizer.as_ref().unwrap();
    assert_eq!((t.vocab, t.file.as_str()), (400, "tiny-bpe.tokenizer.json"));
    assert!(t.bytes_per_token > 1.5, "{}", t.bytes_per_token);
    let shipped = tokenize::Bpe::load(&out.join("tiny-bpe.tokenizer.json")).unwrap();
    assert_eq!(shipped.hash(), bpe.hash());
    let raw = fs::read(out.join("tiny-bpe.lmm")).unwrap();
    let mut words = vec![0u64; raw.len().div_ceil(8)];
    let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    bytes[..raw.len()].copy_from_slice(&raw);
    let file = model_int8::ModelFile::parse(&bytes[..raw.len()])
        .map(|f| (f.config().vocab, f.precision()))
        .unwrap();
    assert_eq!(file, (400, 17));
    let _ = fs::remove_dir_all(&dir);
}
